// The review of findings: opening cases, appending decisions and appeals after the audit
// crate's checks, posting a confirmed case's receivable to the ledger, and the funnel.
// Compiled once per backend; see lib.rs.

use crate::review::{
    CaseEventView, CaseFilter, CaseSummary, CaseView, Decision as CaseDecision, Funnel,
    ReviewSettings, RulePrecision,
};
use yibao_audit::review::{CaseEvent, CaseState, ReviewError, Step, Verdict};

const CASE_COLUMNS: &str =
    "c.case_id, c.jr_id, c.fixmedins_code, c.patn_id, c.setl_id, c.rule_id, \
    c.sev_deg, c.flagged_fen, c.opened_at";

/// Opens a case for every finding recorded with a settlement that has none yet; the case id is
/// the finding's with `C` for `J`, so opening twice opens nothing new. Returns the count opened.
pub(crate) async fn review_open_cases(
    pool: &Pool,
    opened_by: &str,
    now: NaiveDateTime,
) -> Result<u64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let opened = sqlx::query(
        "INSERT INTO audit_case (case_id, jr_id, fixmedins_code, patn_id, setl_id, rule_id, \
         sev_deg, flagged_fen, opened_by, opened_at) \
         SELECT 'C' || substr(f.jr_id, 2), f.jr_id, f.fixmedins_code, f.patn_id, f.setl_id, \
                f.rule_id, f.sev_deg, f.vola_amt_fen, $1, $2 \
         FROM audit_finding f \
         WHERE f.setl_id IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM audit_case c WHERE c.jr_id = f.jr_id)",
    )
    .bind(opened_by)
    .bind(ts(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(opened)
}

fn summary_from_row(r: &<Db as sqlx::Database>::Row) -> Result<CaseSummary, StoreError> {
    Ok(CaseSummary {
        case_id: r.try_get(0)?,
        jr_id: r.try_get(1)?,
        fixmedins_code: r.try_get(2)?,
        patn_id: r.try_get(3)?,
        setl_id: r.try_get(4)?,
        rule_id: r.try_get(5)?,
        sev_deg: u8::try_from(r.try_get::<i64, _>(6)?).unwrap_or(0),
        flagged: Fen(r.try_get(7)?),
        state: CaseState::AwaitingFirst,
        opened_at: parse_ts(&r.try_get::<String, _>(8)?)?,
    })
}

fn event_from_row(r: &<Db as sqlx::Database>::Row) -> Result<CaseEventView, StoreError> {
    Ok(CaseEventView {
        seq: r.try_get("seq")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        verdict: r.try_get("verdict")?,
        amount: Fen(r.try_get("amount_fen")?),
        reason: r.try_get("reason")?,
        at: parse_ts(&r.try_get::<String, _>("at")?)?,
    })
}

/// The audit crate's view of a stored history.
fn case_events(events: &[CaseEventView]) -> Result<Vec<CaseEvent>, StoreError> {
    events
        .iter()
        .map(|e| {
            if e.kind == "appeal" {
                return Ok(CaseEvent::Appealed {
                    actor: e.actor.clone(),
                    at: e.at,
                });
            }
            let step = Step::parse(&e.kind)
                .ok_or_else(|| StoreError::Invariant(format!("case event kind {:?}", e.kind)))?;
            let verdict = match e.verdict.as_str() {
                "uphold" => Verdict::Uphold(e.amount),
                "dismiss" => Verdict::Dismiss,
                other => {
                    return Err(StoreError::Invariant(format!(
                        "case event verdict {other:?}"
                    )))
                }
            };
            Ok(CaseEvent::Decided {
                step,
                actor: e.actor.clone(),
                verdict,
                at: e.at,
            })
        })
        .collect()
}

async fn load_events<'e, E>(executor: E, case_id: &str) -> Result<Vec<CaseEventView>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    sqlx::query(
        "SELECT seq, kind, actor, verdict, amount_fen, reason, at FROM audit_case_event \
         WHERE case_id = $1 ORDER BY seq",
    )
    .bind(case_id)
    .fetch_all(executor)
    .await?
    .iter()
    .map(event_from_row)
    .collect()
}

/// Every case with its history, grouped by case (for listings and reports).
async fn cases_with_events(
    pool: &Pool,
    filter: &CaseFilter,
) -> Result<Vec<(CaseSummary, Vec<CaseEventView>)>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS}, e.seq, e.kind, e.actor, e.verdict, e.amount_fen, e.reason, e.at \
         FROM audit_case c LEFT JOIN audit_case_event e ON e.case_id = c.case_id \
         WHERE ($1 = '' OR c.fixmedins_code = $1) AND ($2 = '' OR c.rule_id = $2) \
           AND c.case_id > $3 \
         ORDER BY c.case_id, e.seq"
    );
    let rows = sqlx::query(&sql)
        .bind(filter.fixmedins_code.as_deref().unwrap_or(""))
        .bind(filter.rule_id.as_deref().unwrap_or(""))
        .bind(filter.after.as_deref().unwrap_or(""))
        .fetch_all(pool)
        .await?;
    let mut out: Vec<(CaseSummary, Vec<CaseEventView>)> = Vec::new();
    for r in &rows {
        let case_id: String = r.try_get(0)?;
        if out.last().is_none_or(|(c, _)| c.case_id != case_id) {
            out.push((summary_from_row(r)?, Vec::new()));
        }
        if r.try_get::<Option<i64>, _>("seq")?.is_some() {
            let event = event_from_row(r)?;
            out.last_mut().expect("pushed above").1.push(event);
        }
    }
    Ok(out)
}

/// Cases matching `filter`, with their state at `now`.
pub(crate) async fn review_cases(
    pool: &Pool,
    filter: &CaseFilter,
    now: NaiveDateTime,
    settings: ReviewSettings,
) -> Result<Vec<CaseSummary>, StoreError> {
    let limit = filter.limit.clamp(1, crate::review::CASES_PAGE_MAX);
    let mut out = Vec::new();
    for (mut summary, events) in cases_with_events(pool, filter).await? {
        summary.state =
            yibao_audit::review::state(&case_events(&events)?, now, settings.appeal_days);
        if filter
            .state
            .as_deref()
            .is_some_and(|s| s != summary.state.code())
        {
            continue;
        }
        out.push(summary);
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// One case with everything about it; another institution's case is not found.
pub(crate) async fn review_case(
    pool: &Pool,
    case_id: &str,
    fixmedins_code: Option<&str>,
    now: NaiveDateTime,
    settings: ReviewSettings,
) -> Result<CaseView, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS}, f.mdtrt_id, f.vola_cont, f.evidence \
         FROM audit_case c JOIN audit_finding f ON f.jr_id = c.jr_id WHERE c.case_id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(case_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("case_id", case_id))?;
    let mut summary = summary_from_row(&row)?;
    if fixmedins_code.is_some_and(|code| code != summary.fixmedins_code) {
        return Err(StoreError::not_found("case_id", case_id));
    }
    let events = load_events(pool, case_id).await?;
    summary.state = yibao_audit::review::state(&case_events(&events)?, now, settings.appeal_days);
    let lines = sqlx::query(
        "SELECT jrd_id, mdtrt_id, rx_id, feedetl_sn, vola_item_type, vola_amt_fen \
         FROM audit_finding_line WHERE jr_id = $1 ORDER BY jrd_id",
    )
    .bind(&summary.jr_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::audit::AuditResultLine {
            jrd_id: r.try_get(0)?,
            patn_id: summary.patn_id.clone(),
            mdtrt_id: r.try_get(1)?,
            rx_id: r.try_get(2)?,
            feedetl_sn: r.try_get(3)?,
            vola_item_type: u8::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
            vola_amt: Fen(r.try_get(5)?),
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    let receivable =
        sqlx::query("SELECT amount_fen, penalty_fen FROM audit_receivable WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(pool)
            .await?
            .map(|r| -> Result<(Fen, Fen), StoreError> {
                Ok((Fen(r.try_get(0)?), Fen(r.try_get(1)?)))
            })
            .transpose()?;
    let mdtrt_id: String = row.try_get(9)?;
    let prior_warnings = sqlx::query(
        "SELECT f.jr_id, f.warn_type, d.dspo_way, d.dspo_way_rea FROM audit_finding f \
         LEFT JOIN audit_disposition d ON d.jr_id = f.jr_id \
         WHERE f.mdtrt_id = $1 AND f.rule_id = $2 AND f.setl_id IS NULL \
         ORDER BY f.created_at, f.jr_id",
    )
    .bind(&mdtrt_id)
    .bind(&summary.rule_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::review::PriorWarning {
            jr_id: r.try_get(0)?,
            warn_type: r.try_get(1)?,
            dspo_way: r.try_get(2)?,
            dspo_way_rea: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    let rule_name = crate::audit::base()?
        .rules
        .rules
        .iter()
        .find(|rule| rule.rule_id == summary.rule_id)
        .map(|rule| rule.name.clone())
        .unwrap_or_default();
    Ok(CaseView {
        mdtrt_id,
        prior_warnings,
        vola_cont: row.try_get(10)?,
        evidence: row.try_get(11)?,
        rule_name,
        summary,
        lines,
        events,
        receivable,
    })
}

fn review_refusal(err: ReviewError) -> StoreError {
    let field = match &err {
        ReviewError::Amount { .. } => "amount",
        ReviewError::SameReviewer { .. } => "actor",
        ReviewError::AppealLate { .. } | ReviewError::NoAppealOpen { .. } => "case_id",
        ReviewError::OutOfOrder { .. } | ReviewError::AppealPending { .. } => "step",
    };
    StoreError::refused(field, err.to_string())
}

fn check_reason(reason: &str) -> Result<(), StoreError> {
    if reason.trim().is_empty() {
        return Err(StoreError::bad("reason", "is required"));
    }
    if reason.chars().count() > 1_000 {
        return Err(StoreError::bad("reason", "is longer than 1000 characters"));
    }
    Ok(())
}

/// Locks the case (PostgreSQL) and reads its flagged amount, rule, institution and history.
async fn lock_case(
    tx: &mut Tx<'_>,
    case_id: &str,
) -> Result<(CaseSummary, Vec<CaseEventView>), StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM audit_case c WHERE c.case_id = $1{}",
        if IS_PG { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(case_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("case_id", case_id))?;
    let summary = summary_from_row(&row)?;
    let events = load_events(&mut **tx, case_id).await?;
    Ok((summary, events))
}

async fn append_event(
    tx: &mut Tx<'_>,
    case_id: &str,
    seq: i64,
    kind: &str,
    actor: &str,
    verdict: &str,
    amount: Fen,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_case_event (case_id, seq, kind, actor, verdict, amount_fen, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case_id)
    .bind(seq)
    .bind(kind)
    .bind(actor)
    .bind(verdict)
    .bind(amount.0)
    .bind(reason)
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends a reviewer's decision after the audit crate's checks; a confirmation posts the
/// receivable (and the rule's penalty) to the ledger in the same transaction.
pub(crate) async fn review_decide(
    pool: &Pool,
    case_id: &str,
    actor: &str,
    decision: &CaseDecision,
    now: NaiveDateTime,
    settings: ReviewSettings,
) -> Result<(), StoreError> {
    check_reason(&decision.reason)?;
    let mut tx = begin_write(pool).await?;
    let (summary, events) = lock_case(&mut tx, case_id).await?;
    let after = yibao_audit::review::decide(
        &case_events(&events)?,
        summary.flagged,
        decision.step,
        actor,
        decision.verdict,
        now,
        settings.appeal_days,
    )
    .map_err(review_refusal)?;
    let (verdict, amount) = match decision.verdict {
        Verdict::Uphold(amount) => ("uphold", amount),
        Verdict::Dismiss => ("dismiss", Fen(0)),
    };
    append_event(
        &mut tx,
        case_id,
        events.len() as i64 + 1,
        decision.step.code(),
        actor,
        verdict,
        amount,
        &decision.reason,
        now,
    )
    .await?;
    if let CaseState::Confirmed { amount } = after {
        post_receivable(&mut tx, &summary, amount, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The receivable of a confirmed case: the institution owes the amount to the region's
/// recovery account and the rule's penalty to its penalty account (ledger ref = case id).
async fn post_receivable(
    tx: &mut Tx<'_>,
    summary: &CaseSummary,
    amount: Fen,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let admdvs: String = sqlx::query("SELECT admdvs FROM institution WHERE fixmedins_code = $1")
        .bind(&summary.fixmedins_code)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let multiple = crate::review::penalties()?
        .iter()
        .find(|p| p.rule_id == summary.rule_id)
        .map(|p| p.multiple)
        .unwrap_or_default();
    let (amount, penalty) = yibao_audit::review::receivable(amount, multiple);
    sqlx::query(
        "INSERT INTO audit_receivable (case_id, fixmedins_code, admdvs, amount_fen, penalty_fen, \
         posted_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&summary.case_id)
    .bind(&summary.fixmedins_code)
    .bind(&admdvs)
    .bind(amount.0)
    .bind(penalty.0)
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    let receivable = ledger::receivable_account(&summary.fixmedins_code);
    let recovery = ledger::recovery_account(&admdvs);
    let penalties = ledger::penalty_account(&admdvs);
    ensure_accounts(
        tx,
        &[
            (
                receivable.clone(),
                "institution",
                summary.fixmedins_code.clone(),
            ),
            (recovery.clone(), "fund", format!("recovery:{admdvs}")),
            (penalties.clone(), "fund", format!("penalty:{admdvs}")),
        ],
    )
    .await?;
    let mut transfers: Vec<Transfer> = vec![(
        receivable.clone(),
        recovery,
        amount.0,
        ledger::KIND_RECOVERY.into(),
    )];
    if penalty.0 > 0 {
        transfers.push((
            receivable,
            penalties,
            penalty.0,
            ledger::KIND_PENALTY.into(),
        ));
    }
    post_transfers(
        tx,
        &summary.case_id,
        &summary.case_id,
        &now.date().to_string(),
        &transfers,
    )
    .await
}

/// Appends the institution's appeal (申诉): its own case only, once, within the deadline.
pub(crate) async fn review_appeal(
    pool: &Pool,
    case_id: &str,
    fixmedins_code: &str,
    actor: &str,
    reason: &str,
    now: NaiveDateTime,
    settings: ReviewSettings,
) -> Result<(), StoreError> {
    check_reason(reason)?;
    let mut tx = begin_write(pool).await?;
    let (summary, events) = lock_case(&mut tx, case_id).await?;
    if summary.fixmedins_code != fixmedins_code {
        return Err(StoreError::not_found("case_id", case_id));
    }
    yibao_audit::review::appeal(&case_events(&events)?, now, settings.appeal_days)
        .map_err(review_refusal)?;
    append_event(
        &mut tx,
        case_id,
        events.len() as i64 + 1,
        "appeal",
        actor,
        "appeal",
        Fen(0),
        reason,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The funnel and each rule's precision.
pub(crate) async fn review_report(
    pool: &Pool,
    now: NaiveDateTime,
    settings: ReviewSettings,
) -> Result<(Funnel, Vec<RulePrecision>), StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*), COUNT(DISTINCT patn_id), CAST(COALESCE(SUM(vola_amt_fen), 0) AS BIGINT) \
         FROM audit_finding WHERE setl_id IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    let mut funnel = Funnel {
        findings: row.try_get(0)?,
        findings_persons: row.try_get(1)?,
        findings_flagged: Fen(row.try_get::<i64, _>(2)?),
        ..Funnel::default()
    };
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT), \
         CAST(COALESCE(SUM(penalty_fen), 0) AS BIGINT) FROM audit_receivable",
    )
    .fetch_one(pool)
    .await?;
    funnel.confirmed_amount = Fen(row.try_get::<i64, _>(0)?);
    funnel.penalties = Fen(row.try_get::<i64, _>(1)?);
    let mut confirmed_persons = std::collections::BTreeSet::new();
    let mut by_rule: BTreeMap<String, RulePrecision> = BTreeMap::new();
    for (summary, events) in cases_with_events(pool, &CaseFilter::default()).await? {
        funnel.cases += 1;
        let upheld = |kind: &str| {
            events
                .iter()
                .any(|e| e.kind == kind && e.verdict == "uphold")
        };
        funnel.first_upheld += i64::from(upheld("first"));
        funnel.second_upheld += i64::from(upheld("second"));
        funnel.appealed += i64::from(events.iter().any(|e| e.kind == "appeal"));
        let state = yibao_audit::review::state(&case_events(&events)?, now, settings.appeal_days);
        let rule = by_rule
            .entry(summary.rule_id.clone())
            .or_insert_with(|| RulePrecision {
                rule_id: summary.rule_id.clone(),
                cases: 0,
                reviewed: 0,
                confirmed: 0,
            });
        rule.cases += 1;
        rule.reviewed += i64::from(state.is_closed());
        if let CaseState::Confirmed { .. } = state {
            rule.confirmed += 1;
            funnel.confirmed += 1;
            confirmed_persons.insert(summary.patn_id);
        }
    }
    funnel.confirmed_persons = confirmed_persons.len() as i64;
    Ok((funnel, by_rule.into_values().collect()))
}
