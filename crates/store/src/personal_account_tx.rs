// Personal accounts (crate::personal_account): the statement and the payouts, written once for
// both backends: included in `pg` and `sq` by `backend!`.

/// Posts a payout's transfers: the one place this module calls `post_transfers`, so that the
/// ledger's booking day can be passed along with it (`booked_on`, kept on the payout's row).
async fn post_payout(
    tx: &mut Tx<'_>,
    payout_id: &str,
    psn_no: &str,
    transfers: &[Transfer],
    booked_on: NaiveDate,
) -> Result<(), StoreError> {
    post_transfers(tx, payout_id, psn_no, &booked_on.to_string(), transfers).await
}

/// A personal account's balance (its one shard), or `None` when the person has none; with
/// `lock` (PostgreSQL) the row stays locked until the commit, for a payout from it.
async fn personal_balance(
    tx: &mut Tx<'_>,
    psn_no: &str,
    lock: bool,
) -> Result<Option<i64>, StoreError> {
    account_balance_tx(tx, &ledger::personal_account(psn_no), lock).await
}

/// What the rules need about the holder on `today`: the balance, the confirmed death date, an
/// employee relation in force, and the region whose parameters apply (the latest employee
/// relation's, else any relation's).
async fn account_facts(
    tx: &mut Tx<'_>,
    psn_no: &str,
    today: NaiveDate,
) -> Result<(yibao_enrollment::personal_account::AccountFacts, String), StoreError> {
    let balance = personal_balance(tx, psn_no, true)
        .await?
        .ok_or_else(|| StoreError::not_found("psn_no", format!("{psn_no}'s personal account")))?;
    let death: Option<String> =
        sqlx::query_scalar("SELECT death_date FROM death_confirmed WHERE psn_no = $1")
            .bind(psn_no)
            .fetch_optional(&mut **tx)
            .await?;
    let death_date = death.as_deref().map(stored_day).transpose()?;
    let d = today.to_string();
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insurance WHERE psn_no = $1 AND insutype = '310' \
         AND psn_insu_stas = '1' AND begndate <= $2 AND (enddate = '' OR enddate >= $2)",
    )
    .bind(psn_no)
    .bind(&d)
    .fetch_one(&mut **tx)
    .await?;
    let admdvs: Option<String> = sqlx::query_scalar(
        "SELECT insuplc_admdvs FROM insurance WHERE psn_no = $1 \
         ORDER BY CASE WHEN insutype = '310' THEN 0 ELSE 1 END, begndate DESC LIMIT 1",
    )
    .bind(psn_no)
    .fetch_optional(&mut **tx)
    .await?;
    let admdvs = admdvs.ok_or_else(|| {
        StoreError::refused("psn_no", format!("{psn_no} has no insurance relation"))
    })?;
    Ok((
        yibao_enrollment::personal_account::AccountFacts {
            balance: Fen(balance),
            death_date,
            employee_relation_active: active > 0,
        },
        admdvs,
    ))
}

fn params_in_force<'p>(
    params: &'p yibao_enrollment::ParamSet,
    admdvs: &str,
    today: NaiveDate,
) -> Result<&'p yibao_enrollment::Params, StoreError> {
    params.get_pooled(admdvs, today.year()).ok_or_else(|| {
        StoreError::refused(
            "psn_no",
            format!("no enrollment parameters for {admdvs} in {}", today.year()),
        )
    })
}

fn payout_refused(err: yibao_enrollment::EngineError, inheritance: bool) -> StoreError {
    match err {
        yibao_enrollment::EngineError::PayoutRefused { rule, reason } => StoreError::refused(
            crate::personal_account::refusal_field(rule, inheritance),
            format!("{reason} (rule {rule})"),
        ),
        other => StoreError::bad(
            if inheritance { "heirs" } else { "amount" },
            other.to_string(),
        ),
    }
}

/// Writes a payout's row and lines.
async fn write_payout(
    tx: &mut Tx<'_>,
    done: &crate::personal_account::PayoutDone,
) -> Result<(), StoreError> {
    let lines_total: i64 = done.lines.iter().map(|l| l.amount.0).sum();
    if lines_total != done.amount.0 || done.amount.0 <= 0 {
        return Err(StoreError::Invariant(format!(
            "payout {}: lines {lines_total} differ from the amount {}",
            done.payout_id, done.amount
        )));
    }
    sqlx::query(
        "INSERT INTO personal_account_payout (payout_id, psn_no, kind, reason, rule, params_id, \
         amount_fen, bank_account, evidence, decided_by, decided_at, booked_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&done.payout_id)
    .bind(&done.psn_no)
    .bind(&done.kind)
    .bind(&done.reason)
    .bind(&done.rule)
    .bind(&done.params_id)
    .bind(done.amount.0)
    .bind(&done.bank_account)
    .bind(&done.evidence)
    .bind(&done.decided_by)
    .bind(&done.decided_at)
    .bind(&done.booked_on)
    .execute(&mut **tx)
    .await?;
    for line in &done.lines {
        sqlx::query(
            "INSERT INTO personal_account_payout_line (payout_id, seq, heir_psn_no, share, amount_fen, paid_to) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&done.payout_id)
        .bind(line.seq)
        .bind(line.heir_psn_no.as_deref())
        .bind(line.share)
        .bind(line.amount.0)
        .bind(&line.paid_to)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The payouts stored for a person (or the one payout `payout_id`), with their lines.
async fn stored_payouts<'e, E>(
    executor: E,
    psn_no: &str,
    payout_id: Option<&str>,
) -> Result<Vec<crate::personal_account::PayoutDone>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let rows = sqlx::query(
        "SELECT p.payout_id, p.kind, p.reason, p.rule, p.params_id, p.amount_fen, p.bank_account, \
         p.evidence, p.decided_by, p.decided_at, p.booked_on, l.seq, l.heir_psn_no, l.share, \
         l.amount_fen, l.paid_to FROM personal_account_payout p \
         JOIN personal_account_payout_line l ON l.payout_id = p.payout_id \
         WHERE p.psn_no = $1 AND ($2 = '' OR p.payout_id = $2) ORDER BY p.decided_at, p.payout_id, l.seq",
    )
    .bind(psn_no)
    .bind(payout_id.unwrap_or(""))
    .fetch_all(executor)
    .await?;
    let mut out: Vec<crate::personal_account::PayoutDone> = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        if out.last().is_none_or(|p| p.payout_id != id) {
            out.push(crate::personal_account::PayoutDone {
                payout_id: id,
                psn_no: psn_no.to_owned(),
                kind: r.try_get(1)?,
                reason: r.try_get(2)?,
                rule: r.try_get(3)?,
                params_id: r.try_get(4)?,
                amount: Fen(r.try_get(5)?),
                lines: Vec::new(),
                bank_account: r.try_get(6)?,
                evidence: r.try_get(7)?,
                decided_by: r.try_get(8)?,
                decided_at: r.try_get(9)?,
                booked_on: r.try_get(10)?,
                replayed: false,
            });
        }
        let payout = out.last_mut().expect("pushed above");
        payout.lines.push(crate::personal_account::PayoutLine {
            seq: r.try_get(11)?,
            heir_psn_no: r.try_get(12)?,
            share: r.try_get(13)?,
            amount: Fen(r.try_get(14)?),
            paid_to: r.try_get(15)?,
        });
    }
    Ok(out)
}

pub(crate) async fn withdraw_personal_account(
    pool: &Pool,
    request: &crate::personal_account::WithdrawalRequest,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::personal_account::PayoutDone, StoreError> {
    in_write_tx!(pool, |tx| withdraw_in(&mut tx, request, params, now).await)
}

async fn withdraw_in(
    tx: &mut Tx<'_>,
    request: &crate::personal_account::WithdrawalRequest,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::personal_account::PayoutDone, StoreError> {
    use crate::personal_account::{PayoutDone, PayoutLine, KIND_ACCT_WITHDRAWAL};
    let psn_no = request.psn_no.trim();
    lock_person(tx, psn_no).await?;
    let (facts, admdvs) = account_facts(tx, psn_no, request.today).await?;
    let set = params_in_force(params, &admdvs, request.today)?;
    let allowed = yibao_enrollment::personal_account::decide_withdrawal(
        set,
        request.reason,
        &facts,
        request.amount,
    )
    .map_err(|e| payout_refused(e, false))?;
    let earlier: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM personal_account_payout WHERE psn_no = $1 AND kind = 'withdrawal'",
    )
    .bind(psn_no)
    .fetch_one(&mut **tx)
    .await?;
    let payout_id = format!("W:{psn_no}:{}", earlier + 1);
    let paid_to = crate::refund::person_payout_account(psn_no);
    ensure_accounts(tx, &[(paid_to.clone(), "cash", psn_no.to_owned())]).await?;
    post_payout(
        tx,
        &payout_id,
        psn_no,
        &[(
            ledger::personal_account(psn_no),
            paid_to.clone(),
            allowed.amount.0,
            KIND_ACCT_WITHDRAWAL.to_owned(),
        )],
        request.today,
    )
    .await?;
    let done = PayoutDone {
        payout_id,
        psn_no: psn_no.to_owned(),
        kind: "withdrawal".to_owned(),
        reason: request.reason.key().to_owned(),
        rule: allowed.rule.to_owned(),
        params_id: set.id(),
        amount: allowed.amount,
        lines: vec![PayoutLine {
            seq: 1,
            heir_psn_no: None,
            share: 1,
            amount: allowed.amount,
            paid_to,
        }],
        bank_account: request.bank_account.trim().to_owned(),
        evidence: request.evidence.trim().to_owned(),
        decided_by: request.actor.trim().to_owned(),
        decided_at: ts(now),
        booked_on: request.today.to_string(),
        replayed: false,
    };
    write_payout(tx, &done).await?;
    Ok(done)
}

pub(crate) async fn inherit_personal_account(
    pool: &Pool,
    request: &crate::personal_account::InheritanceRequest,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::personal_account::PayoutDone, StoreError> {
    in_write_tx!(pool, |tx| inherit_in(&mut tx, request, params, now).await)
}

async fn inherit_in(
    tx: &mut Tx<'_>,
    request: &crate::personal_account::InheritanceRequest,
    params: &yibao_enrollment::ParamSet,
    now: NaiveDateTime,
) -> Result<crate::personal_account::PayoutDone, StoreError> {
    use crate::personal_account::{PayoutDone, PayoutLine, KIND_ACCT_INHERITANCE};
    let psn_no = request.psn_no.trim();
    // Every person the payout touches, locked in one order (the holder and the heirs).
    let mut persons: Vec<&str> = request.heirs.iter().map(|h| h.psn_no.as_str()).collect();
    persons.push(psn_no);
    persons.sort_unstable();
    for person in &persons {
        lock_person(tx, person).await.map_err(|e| match e {
            StoreError::NotFound { value, .. } if *person != psn_no => {
                StoreError::not_found("heirs", value)
            }
            other => other,
        })?;
    }
    let payout_id = format!("I:{psn_no}");
    // A person is inherited once: the same heirs again get the stored payout.
    if let Some(mut stored) = stored_payouts(&mut **tx, psn_no, Some(&payout_id))
        .await?
        .pop()
    {
        let same = stored.lines.len() == request.heirs.len()
            && stored.lines.iter().zip(&request.heirs).all(|(line, heir)| {
                line.heir_psn_no.as_deref() == Some(heir.psn_no.as_str())
                    && line.share == i64::from(heir.share)
            });
        if !same {
            return Err(StoreError::refused(
                "heirs",
                format!(
                    "{psn_no}'s account was inherited before ({payout_id}) by other heirs or shares"
                ),
            ));
        }
        stored.replayed = true;
        return Ok(stored);
    }
    let (facts, admdvs) = account_facts(tx, psn_no, request.today).await?;
    let set = params_in_force(params, &admdvs, request.today)?;
    for heir in &request.heirs {
        let dead: Option<String> =
            sqlx::query_scalar("SELECT death_date FROM death_confirmed WHERE psn_no = $1")
                .bind(&heir.psn_no)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(date) = dead {
            return Err(StoreError::refused(
                "heirs",
                format!("heir {} died on {date}", heir.psn_no),
            ));
        }
    }
    let parts = yibao_enrollment::personal_account::decide_inheritance(set, &facts, &request.heirs)
        .map_err(|e| payout_refused(e, true))?;
    let from = ledger::personal_account(psn_no);
    let mut accounts = Vec::new();
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut lines = Vec::new();
    for (idx, part) in parts.iter().enumerate() {
        // An heir with a personal account (an insured employee) is credited there; any other
        // heir is paid in cash through the heir's payout account.
        let paid_to = if personal_balance(tx, &part.psn_no, false).await?.is_some() {
            ledger::personal_account(&part.psn_no)
        } else {
            let payout = crate::refund::person_payout_account(&part.psn_no);
            accounts.push((payout.clone(), "cash", part.psn_no.clone()));
            payout
        };
        if part.amount.0 > 0 {
            transfers.push((
                from.clone(),
                paid_to.clone(),
                part.amount.0,
                KIND_ACCT_INHERITANCE.to_owned(),
            ));
        }
        lines.push(PayoutLine {
            seq: idx as i64 + 1,
            heir_psn_no: Some(part.psn_no.clone()),
            share: i64::from(part.share),
            amount: part.amount,
            paid_to,
        });
    }
    ensure_accounts(tx, &accounts).await?;
    post_payout(tx, &payout_id, psn_no, &transfers, request.today).await?;
    let left = personal_balance(tx, psn_no, false).await?.unwrap_or(0);
    if left != 0 {
        return Err(StoreError::Invariant(format!(
            "{from} holds {} after its inheritance",
            Fen(left)
        )));
    }
    let done = PayoutDone {
        payout_id,
        psn_no: psn_no.to_owned(),
        kind: "inheritance".to_owned(),
        reason: "death".to_owned(),
        rule: "personal_account.inherit_on_death".to_owned(),
        params_id: set.id(),
        amount: facts.balance,
        lines,
        bank_account: request.bank_account.trim().to_owned(),
        evidence: request.evidence.trim().to_owned(),
        decided_by: request.actor.trim().to_owned(),
        decided_at: ts(now),
        booked_on: request.today.to_string(),
        replayed: false,
    };
    write_payout(tx, &done).await?;
    Ok(done)
}

pub(crate) async fn personal_account_statement(
    pool: &Pool,
    psn_no: &str,
) -> Result<crate::personal_account::AccountStatement, StoreError> {
    use crate::personal_account::{AccountStatement, StatementEntry, STATEMENT_ENTRIES_MAX};
    let account = ledger::personal_account(psn_no);
    // Read in one transaction so that the transfers and the balance row agree.
    let mut tx = pool.begin().await?;
    let balance = personal_balance(&mut tx, psn_no, false)
        .await?
        .ok_or_else(|| StoreError::not_found("psn_no", format!("{psn_no}'s personal account")))?;
    // Each arm matches its partial index (migration 0025) literally. The time is the
    // referenced record's where the ledger knows it: a settlement, an assessment (and its
    // refund), a payout, a transfer between regions (`TRANSFER_ID` out, `TRANSFER_ID:in`).
    let rows = sqlx::query(
        "SELECT t.ref_id, t.seq, t.kind, t.credit_account, -t.amount_fen, \
                COALESCE(s.setl_time, a.assessed_at, p.decided_at, \
                (SELECT MIN(r.recorded_at) FROM relation_transfer r WHERE r.psn_no = $2 \
                 AND (r.transfer_id = t.ref_id OR r.transfer_id || ':in' = t.ref_id)), '') \
         FROM ledger_transfer t \
         LEFT JOIN settlement s ON s.setl_id = t.ref_id \
         LEFT JOIN contribution_assessment a ON a.assessment_id = t.ref_id \
         LEFT JOIN personal_account_payout p ON p.payout_id = t.ref_id \
         WHERE t.debit_account = $1 AND t.debit_account LIKE 'personal:%' \
         UNION ALL \
         SELECT t.ref_id, t.seq, t.kind, t.debit_account, t.amount_fen, \
                COALESCE(s.setl_time, a.assessed_at, p.decided_at, \
                (SELECT MIN(r.recorded_at) FROM relation_transfer r WHERE r.psn_no = $2 \
                 AND (r.transfer_id = t.ref_id OR r.transfer_id || ':in' = t.ref_id)), '') \
         FROM ledger_transfer t \
         LEFT JOIN settlement s ON s.setl_id = t.ref_id \
         LEFT JOIN contribution_assessment a ON a.assessment_id = t.ref_id \
         LEFT JOIN personal_account_payout p ON p.payout_id = t.ref_id \
         WHERE t.credit_account = $1 AND t.credit_account LIKE 'personal:%'",
    )
    .bind(&account)
    .bind(psn_no)
    .fetch_all(&mut *tx)
    .await?;
    let death_date: Option<String> =
        sqlx::query_scalar("SELECT death_date FROM death_confirmed WHERE psn_no = $1")
            .bind(psn_no)
            .fetch_optional(&mut *tx)
            .await?;
    let payouts = stored_payouts(&mut *tx, psn_no, None).await?;
    tx.commit().await?;
    let mut opening = 0_i64;
    let mut moves: Vec<(String, String, i64, String, String, i64)> = Vec::new();
    for r in rows {
        let kind: String = r.try_get(2)?;
        let amount: i64 = r.try_get(4)?;
        if kind == ledger::KIND_OPENING {
            opening += amount;
            continue;
        }
        moves.push((
            r.try_get(5)?,
            r.try_get(0)?,
            r.try_get(1)?,
            kind,
            r.try_get(3)?,
            amount,
        ));
    }
    // Oldest first; movements whose time the ledger does not know come first, by reference.
    moves.sort();
    if moves.len() > STATEMENT_ENTRIES_MAX {
        let carried = moves.len() - STATEMENT_ENTRIES_MAX;
        opening += moves.drain(..carried).map(|m| m.5).sum::<i64>();
    }
    let (mut running, mut credits, mut debits) = (opening, 0_i64, 0_i64);
    let entries = moves
        .into_iter()
        .map(|(at, ref_id, seq, kind, counter_account, amount)| {
            running += amount;
            if amount > 0 {
                credits += amount;
            } else {
                debits -= amount;
            }
            StatementEntry {
                ref_id,
                seq,
                at,
                kind,
                counter_account,
                amount: Fen(amount),
                balance_after: Fen(running),
            }
        })
        .collect();
    if running != balance {
        return Err(StoreError::Invariant(format!(
            "{account}: the transfers add up to {}, the balance row holds {}",
            Fen(running),
            Fen(balance)
        )));
    }
    Ok(AccountStatement {
        psn_no: psn_no.to_owned(),
        account,
        opening: Fen(opening),
        credits: Fen(credits),
        debits: Fen(debits),
        entries,
        balance: Fen(balance),
        death_date,
        payouts,
    })
}
