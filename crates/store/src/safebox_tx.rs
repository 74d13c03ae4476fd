// The person's safe box and proxies: the SQL (see `safebox.rs`). Included into the two backend
// modules after the other files, so it shares their imports and helpers (`Conn` from
// staff_tx.rs, `access_append` from access_log_tx.rs, `grant_insert_in` from grants_tx.rs);
// every name here starts with `sb_` to stay unique among the included files.

use crate::safebox as sb;

/// The one place a safe-box event becomes an access-log entry: the subject is the person whose
/// data it is; a proxy's action says `actor=proxy` and the relation (the proxy's own number stays
/// out of the leaf; the `proxy_action` row ties it to them).
fn sb_entry(event: &sb::SafeboxEvent) -> crate::staff::AccessEntry {
    let actor = if event.who.is_proxy() {
        format!("actor=proxy relation={}", event.relation)
    } else {
        "actor=self".to_owned()
    };
    let reason = if event.detail.is_empty() {
        actor
    } else {
        format!("{actor} {}", event.detail)
    };
    crate::staff::AccessEntry {
        ts_ms: event.ts_ms,
        event: event.event.clone(),
        staff_id: None,
        action: event.action.clone(),
        subject_ref: if event.who.subject.is_empty() {
            String::new()
        } else {
            crate::staff::subject_ref_psn(&event.who.subject)
        },
        purpose: if event.who.is_proxy() {
            sb::PURPOSE_PROXY.to_owned()
        } else {
            sb::PURPOSE_SELF.to_owned()
        },
        decision: event.decision,
        reason: reason
            .chars()
            .take(crate::limits::LOG_FIELD_CHARS_MAX)
            .collect(),
    }
}

pub(crate) async fn sb_proxy_action_insert(
    tx: &mut Tx<'_>,
    leaf_idx: i64,
    proxy: &str,
    subject: &str,
    relation: &str,
    action: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO proxy_action (leaf_idx, proxy, subject, relation, action, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(leaf_idx)
    .bind(proxy)
    .bind(subject)
    .bind(relation)
    .bind(action)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends the event's leaf in `tx` (and its proxy action); returns the leaf.
async fn sb_append(tx: &mut Tx<'_>, event: &sb::SafeboxEvent) -> Result<i64, StoreError> {
    let entry = sb_entry(event);
    crate::staff::check_entry(&entry)?;
    let leaf = access_append(&mut *tx, &entry).await?;
    if event.who.is_proxy() {
        sb_proxy_action_insert(
            tx,
            leaf,
            &event.who.actor,
            &event.who.subject,
            &event.relation,
            &event.event,
            event.ts_ms,
        )
        .await?;
    }
    Ok(leaf)
}

pub(crate) async fn sb_log_alone(pool: &Pool, event: &sb::SafeboxEvent) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    let leaf = sb_append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(leaf)
}

// ------------------------------------------------------------------ sessions

const SB_SESSION_COLUMNS: &str =
    "psn_no, started_at_ms, last_seen_ms, factor_at_ms, factor_ref, ended_at_ms";

fn sb_session_of_row(r: &DbRow) -> Result<sb::SafeboxSession, StoreError> {
    Ok(sb::SafeboxSession {
        psn_no: r.try_get("psn_no")?,
        started_at_ms: r.try_get("started_at_ms")?,
        last_seen_ms: r.try_get("last_seen_ms")?,
        factor_at_ms: r.try_get("factor_at_ms")?,
        factor_ref: r.try_get("factor_ref")?,
    })
}

fn sb_login_event(now_ms: i64, psn_no: &str, event: &str, decision: Decision) -> sb::SafeboxEvent {
    sb::SafeboxEvent {
        ts_ms: now_ms,
        who: sb::SafeboxActor::own(psn_no),
        relation: String::new(),
        event: event.to_owned(),
        action: "POST /self/v1/sessions".to_owned(),
        decision,
        detail: "factor=e_voucher".to_owned(),
    }
}

pub(crate) async fn sb_sign_in(
    pool: &Pool,
    person: Option<&str>,
    session_mac: &str,
    factor_ref: &str,
    now_ms: i64,
) -> Result<(Option<sb::SafeboxSession>, i64), StoreError> {
    let mut tx = pool.begin().await?;
    let Some(psn_no) = person else {
        let leaf = sb_append(
            &mut tx,
            &sb_login_event(now_ms, "", "safebox.sign_in", Decision::Deny),
        )
        .await?;
        tx.commit().await?;
        return Ok((None, leaf));
    };
    sqlx::query(
        "INSERT INTO safebox_session (session_mac, psn_no, started_at_ms, last_seen_ms, \
         factor_kind, factor_at_ms, factor_ref) VALUES ($1, $2, $3, $3, 'e_voucher', $3, $4)",
    )
    .bind(session_mac)
    .bind(psn_no)
    .bind(now_ms)
    .bind(factor_ref)
    .execute(&mut *tx)
    .await?;
    let leaf = sb_append(
        &mut tx,
        &sb_login_event(now_ms, psn_no, "safebox.sign_in", Decision::Permit),
    )
    .await?;
    tx.commit().await?;
    Ok((
        Some(sb::SafeboxSession {
            psn_no: psn_no.to_owned(),
            started_at_ms: now_ms,
            last_seen_ms: now_ms,
            factor_at_ms: now_ms,
            factor_ref: factor_ref.to_owned(),
        }),
        leaf,
    ))
}

pub(crate) async fn sb_session_touch(
    pool: &Pool,
    session_mac: &str,
    now_ms: i64,
) -> Result<Option<sb::SafeboxSession>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(r) = sqlx::query(&format!(
        "SELECT {SB_SESSION_COLUMNS} FROM safebox_session WHERE session_mac = $1"
    ))
    .bind(session_mac)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let ended: Option<i64> = r.try_get("ended_at_ms")?;
    let session = sb_session_of_row(&r)?;
    if ended.is_some() || now_ms >= session.expires_at_ms() || now_ms < session.started_at_ms {
        return Ok(None);
    }
    let now = now_ms.max(session.last_seen_ms);
    sqlx::query("UPDATE safebox_session SET last_seen_ms = $2 WHERE session_mac = $1")
        .bind(session_mac)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(sb::SafeboxSession {
        last_seen_ms: now,
        ..session
    }))
}

pub(crate) async fn sb_factor(
    pool: &Pool,
    session_mac: &str,
    psn_no: &str,
    matches: bool,
    factor_ref: &str,
    now_ms: i64,
) -> Result<Option<sb::SafeboxSession>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut event = sb_login_event(now_ms, psn_no, "safebox.factor", Decision::Permit);
    event.action = "POST /self/v1/sessions/factor".to_owned();
    if !matches {
        event.decision = Decision::Deny;
        sb_append(&mut tx, &event).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let changed = sqlx::query(
        "UPDATE safebox_session SET factor_at_ms = $2, factor_ref = $3, factor_kind = 'e_voucher', \
         last_seen_ms = $2 WHERE session_mac = $1 AND psn_no = $4 AND ended_at_ms IS NULL",
    )
    .bind(session_mac)
    .bind(now_ms)
    .bind(factor_ref)
    .bind(psn_no)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(None);
    }
    sb_append(&mut tx, &event).await?;
    let r = sqlx::query(&format!(
        "SELECT {SB_SESSION_COLUMNS} FROM safebox_session WHERE session_mac = $1"
    ))
    .bind(session_mac)
    .fetch_one(&mut *tx)
    .await?;
    let session = sb_session_of_row(&r)?;
    tx.commit().await?;
    Ok(Some(session))
}

pub(crate) async fn sb_sign_out(
    pool: &Pool,
    session_mac: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(r) = sqlx::query(
        "SELECT psn_no FROM safebox_session WHERE session_mac = $1 AND ended_at_ms IS NULL",
    )
    .bind(session_mac)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let psn_no: String = r.try_get("psn_no")?;
    sqlx::query("UPDATE safebox_session SET ended_at_ms = $2 WHERE session_mac = $1")
        .bind(session_mac)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let mut event = sb_login_event(now_ms, &psn_no, "safebox.sign_out", Decision::Permit);
    event.action = "DELETE /self/v1/sessions".to_owned();
    event.detail = String::new();
    sb_append(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(true)
}

// ------------------------------------------------------------------ holdings

/// The tables a person's rows are counted in: (table, how the person's rows are found, the
/// column of their latest date or "" when the table has none).
const SB_SOURCES: &[(&str, &str, &str)] = &[
    ("person", "psn_no = $1", ""),
    ("person_identifier", "psn_no = $1", ""),
    ("insurance", "psn_no = $1", "begndate"),
    ("identity", "psn_no = $1", "begndate"),
    ("identity_assignment", "psn_no = $1", "begn_date"),
    ("disability_certificate", "psn_no = $1", "begn_date"),
    ("household_member", "psn_no = $1", ""),
    (
        "family_binding",
        "psn_no = $1 OR family_psn_no = $1",
        "begndate",
    ),
    ("ss_card", "psn_no = $1", "begndate"),
    ("filing", "psn_no = $1", "begndate"),
    ("chronic_recognition", "psn_no = $1", "begndate"),
    ("contribution_assessment", "psn_no = $1", ""),
    ("payroll_base", "psn_no = $1", ""),
    ("personal_account_payout", "psn_no = $1", ""),
    ("visit", "psn_no = $1", "begntime"),
    (
        "diagnosis",
        "mdtrt_id IN (SELECT mdtrt_id FROM visit WHERE psn_no = $1)",
        "diag_time",
    ),
    (
        "fee_line",
        "mdtrt_id IN (SELECT mdtrt_id FROM visit WHERE psn_no = $1)",
        "fee_ocur_time",
    ),
    ("settlement", "psn_no = $1", "setl_time"),
    ("setl_list", "psn_no = $1", "setl_begn_date"),
    ("maternity_allowance", "psn_no = $1", "delivery_date"),
    ("ytd", "psn_no = $1", ""),
];

pub(crate) async fn sb_holdings(
    pool: &Pool,
    event: &sb::SafeboxEvent,
) -> Result<sb::Holdings, StoreError> {
    let psn_no = event.who.subject.as_str();
    let mut tx = pool.begin().await?;
    // No log, no data: the view's leaf is in the transaction that reads.
    let leaf_idx = sb_append(&mut tx, event).await?;
    let mut tables = Vec::new();
    for (table, filter, date) in SB_SOURCES {
        let latest = if date.is_empty() {
            "NULL".to_owned()
        } else {
            format!("MAX({date})")
        };
        let r = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, {latest} AS latest FROM {table} WHERE {filter}"
        ))
        .bind(psn_no)
        .fetch_one(&mut *tx)
        .await?;
        tables.push(sb::TableHeld {
            table,
            rows: r.try_get("n")?,
            latest: r.try_get::<Option<String>, _>("latest")?,
        });
    }
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    let mut age_years = None;
    if let Some(r) = sqlx::query(
        "SELECT psn_no, certno, psn_name, gend, brdy, naty, tel FROM person WHERE psn_no = $1",
    )
    .bind(psn_no)
    .fetch_optional(&mut *tx)
    .await?
    {
        for column in [
            "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
        ] {
            values.push((format!("person.{column}"), vec![r.try_get(column)?]));
        }
        let brdy: String = r.try_get("brdy")?;
        age_years = NaiveDate::parse_from_str(&brdy, "%Y-%m-%d")
            .ok()
            .map(|birth| yibao_privacy::proxy::age_on(birth, crate::grants::day_of(event.ts_ms)));
    }
    let insurance_columns = [
        "insutype",
        "psn_type",
        "psn_insu_stas",
        "begndate",
        "enddate",
        "insuplc_admdvs",
        "emp_name",
    ];
    let rows = sqlx::query(&format!(
        "SELECT {} FROM insurance WHERE psn_no = $1 ORDER BY insutype, begndate",
        insurance_columns.join(", ")
    ))
    .bind(psn_no)
    .fetch_all(&mut *tx)
    .await?;
    for column in insurance_columns {
        let list = rows
            .iter()
            .map(|r| r.try_get::<String, _>(column))
            .collect::<Result<Vec<_>, _>>()?;
        values.push((format!("insurance.{column}"), list));
    }
    let identities: Vec<String> = sqlx::query(
        "SELECT sp_psn_type FROM identity WHERE psn_no = $1 ORDER BY begndate, sp_psn_type",
    )
    .bind(psn_no)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("sp_psn_type"))
    .collect::<Result<_, _>>()?;
    values.push(("identity.sp_psn_type".to_owned(), identities));
    // The last year's settlements, summed (reversals are stored negated).
    let since = (crate::grants::day_of(event.ts_ms) - chrono::Duration::days(365)).to_string();
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(setl_sign), 0) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT) AS medfee, \
         CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT) AS fund, \
         CAST(COALESCE(SUM(psn_cash_pay), 0) AS BIGINT) AS cash \
         FROM settlement WHERE psn_no = $1 AND setl_date >= $2",
    )
    .bind(psn_no)
    .bind(&since)
    .fetch_one(&mut *tx)
    .await?;
    for (column, name) in [
        ("setl_id", "n"),
        ("medfee_sumamt", "medfee"),
        ("fund_pay_sumamt", "fund"),
        ("psn_cash_pay", "cash"),
    ] {
        let value: i64 = r.try_get(name)?;
        values.push((format!("settlement.{column}"), vec![value.to_string()]));
    }
    tx.commit().await?;
    Ok(sb::Holdings {
        leaf_idx,
        tables,
        values,
        age_years,
    })
}

// ------------------------------------------------------------------ uses and receipts

/// The newest leaves about a person (by the person index) and those where they acted as a
/// proxy, newest first.
pub(crate) async fn sb_person_leaves_newest(
    pool: &Pool,
    person_key: &[u8],
    psn_no: &str,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT leaf_idx FROM (SELECT leaf_idx FROM log_person WHERE person_key = $1 \
         UNION SELECT leaf_idx FROM proxy_action WHERE proxy = $2) mine \
         ORDER BY leaf_idx DESC LIMIT $3",
    )
    .bind(person_key)
    .bind(psn_no)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("leaf_idx")?))
        .collect()
}

/// Whether leaf `idx` is about the person or one of their proxy actions.
pub(crate) async fn sb_leaf_is_theirs(
    pool: &Pool,
    person_key: &[u8],
    psn_no: &str,
    idx: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT leaf_idx FROM log_person WHERE person_key = $1 AND leaf_idx = $3 \
         UNION SELECT leaf_idx FROM proxy_action WHERE proxy = $2 AND leaf_idx = $3",
    )
    .bind(person_key)
    .bind(psn_no)
    .bind(idx)
    .fetch_optional(pool)
    .await?
    .is_some())
}

pub(crate) async fn sb_uses_read(
    pool: &Pool,
    idxs: &[i64],
) -> Result<Vec<sb::PersonUse>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut out = Vec::with_capacity(idxs.len());
    for &idx in idxs {
        let Some(r) = sqlx::query(
            "SELECT idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text \
             FROM access_log WHERE idx = $1",
        )
        .bind(idx)
        .fetch_optional(&mut *conn)
        .await?
        else {
            continue;
        };
        let row = crate::access_log::log_row_of(
            r.try_get("idx")?,
            &r.try_get::<Vec<u8>, _>("leaf")?,
            &r.try_get::<Vec<u8>, _>("leaf_hash")?,
            r.try_get("staff_id")?,
            r.try_get("action")?,
            r.try_get("subject_label")?,
            r.try_get("reason_text")?,
        )?;
        let proxy =
            sqlx::query("SELECT proxy, subject, relation FROM proxy_action WHERE leaf_idx = $1")
                .bind(idx)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| -> Result<_, StoreError> {
                    Ok((
                        r.try_get("proxy")?,
                        r.try_get("subject")?,
                        r.try_get("relation")?,
                    ))
                })
                .transpose()?;
        out.push(sb::PersonUse {
            row,
            staff: None,
            proxy,
        });
    }
    Ok(out)
}

pub(crate) async fn sb_leaf_bytes(pool: &Pool, idx: i64) -> Result<Vec<u8>, StoreError> {
    Ok(sqlx::query("SELECT leaf FROM access_log WHERE idx = $1")
        .bind(idx)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("idx", idx.to_string()))?
        .try_get("leaf")?)
}

pub(crate) async fn sb_cosignatures(pool: &Pool, size: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT line FROM log_cosignature WHERE size = $1 ORDER BY witness_name, witness_key_id",
    )
    .bind(size)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("line")?))
        .collect()
}

// ------------------------------------------------------------------ proxies

pub(crate) async fn sb_guardianship_insert(
    pool: &Pool,
    new: &sb::NewGuardianship,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (field, psn_no) in [("subject", &new.subject), ("guardian", &new.guardian)] {
        if sqlx::query("SELECT psn_no FROM person WHERE psn_no = $1")
            .bind(psn_no)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Err(StoreError::not_found(field, psn_no.as_str()));
        }
    }
    let kind = if new.court { "court" } else { "minor" };
    let leaf = access_append(
        &mut tx,
        &crate::staff::AccessEntry {
            ts_ms: now_ms,
            event: "guardianship.recorded".to_owned(),
            staff_id: Some(new.verified_by),
            action: "guardianship.recorded".to_owned(),
            subject_ref: crate::staff::subject_ref_psn(&new.subject),
            purpose: sb::PURPOSE_PROXY.to_owned(),
            decision: Decision::Permit,
            reason: format!("kind={kind}"),
        },
    )
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO guardianship (subject, guardian, kind, document_no, verified_by, \
         recorded_at_ms, recorded_leaf) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subject, guardian) DO NOTHING",
    )
    .bind(&new.subject)
    .bind(&new.guardian)
    .bind(kind)
    .bind(&new.document_no)
    .bind(new.verified_by)
    .bind(now_ms)
    .bind(leaf)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::refused(
            "guardian",
            "this guardianship is recorded already",
        ));
    }
    tx.commit().await?;
    Ok(())
}

const SB_DELEGATION_COLUMNS: &str = "delegation_id, subject, proxy, items, level3_ticked, \
    not_before_ms, not_after_ms, created_leaf, ended_at_ms, ended_by, ended_leaf";

fn sb_delegation_of_row(r: &DbRow) -> Result<sb::DelegationRecord, StoreError> {
    let items: String = r.try_get("items")?;
    let ended_at: Option<i64> = r.try_get("ended_at_ms")?;
    let ended_by: Option<String> = r.try_get("ended_by")?;
    let ended_leaf: Option<i64> = r.try_get("ended_leaf")?;
    Ok(sb::DelegationRecord {
        delegation_id: r.try_get("delegation_id")?,
        subject: r.try_get("subject")?,
        proxy: r.try_get("proxy")?,
        items: yibao_privacy::ItemSet::parse(&items)
            .map_err(|e| StoreError::Invariant(format!("stored delegation items: {e}")))?,
        level3_ticked: r.try_get::<i64, _>("level3_ticked")? == 1,
        not_before_ms: r.try_get("not_before_ms")?,
        not_after_ms: r.try_get("not_after_ms")?,
        created_leaf: r.try_get("created_leaf")?,
        ended: match (ended_at, ended_leaf) {
            (Some(at), Some(leaf)) => Some((at, ended_by.unwrap_or_default(), leaf)),
            _ => None,
        },
    })
}

pub(crate) async fn sb_proxy_facts(
    conn: &mut Conn,
    proxy: &str,
    subject: &str,
    now_ms: i64,
) -> Result<Option<yibao_privacy::proxy::ProxyFacts>, StoreError> {
    use yibao_privacy::proxy::Relation;
    let day = crate::grants::day_of(now_ms);
    let Some(person) = sqlx::query("SELECT brdy FROM person WHERE psn_no = $1")
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let brdy: String = person.try_get("brdy")?;
    let subject_age_years = NaiveDate::parse_from_str(&brdy, "%Y-%m-%d")
        .map(|birth| yibao_privacy::proxy::age_on(birth, day))
        .map_err(|_| StoreError::Invariant(format!("stored birth date {brdy:?}")))?;
    let guardianship: Option<String> =
        sqlx::query("SELECT kind FROM guardianship WHERE subject = $1 AND guardian = $2")
            .bind(subject)
            .bind(proxy)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("kind"))
            .transpose()?;
    let delegation = sqlx::query(&format!(
        "SELECT {SB_DELEGATION_COLUMNS} FROM delegation WHERE subject = $1 AND proxy = $2 \
         AND ended_at_ms IS NULL AND not_before_ms <= $3 AND not_after_ms > $3 \
         ORDER BY created_leaf DESC LIMIT 1"
    ))
    .bind(subject)
    .bind(proxy)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| sb_delegation_of_row(&r))
    .transpose()?;
    let day_text = day.to_string();
    let family = sqlx::query(
        "SELECT psn_no FROM family_binding WHERE ((psn_no = $1 AND family_psn_no = $2) \
         OR (psn_no = $2 AND family_psn_no = $1)) AND begndate <= $3 \
         AND (enddate = '' OR enddate >= $3)",
    )
    .bind(subject)
    .bind(proxy)
    .bind(&day_text)
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    let deceased = sqlx::query("SELECT psn_no FROM death_confirmed WHERE psn_no = $1")
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    let relation = match (guardianship.as_deref(), &delegation, family) {
        (Some("court"), _, _) => Relation::CourtGuardian,
        (Some(_), _, _) => Relation::Guardian,
        (None, Some(_), _) => Relation::Delegate,
        (None, None, true) => Relation::FamilyAccount,
        (None, None, false) => return Ok(None),
    };
    Ok(Some(yibao_privacy::proxy::ProxyFacts {
        proxy: proxy.to_owned(),
        relation,
        subject_age_years,
        subject_deceased: deceased,
        // The e-voucher activation of a minor is not visible here (the token store is the
        // registry's); every minor of 14 to 17 is taken to hold one, so their confirmation is
        // always asked (the stricter reading of §5.7).
        minor_holds_evoucher: true,
        minor_confirmed: false,
        court_order_verified: guardianship.as_deref() == Some("court"),
        delegation: delegation.map(|d| d.engine()),
        proxy_face_checked: false,
    }))
}

pub(crate) async fn sb_delegation_insert(
    pool: &Pool,
    new: &sb::NewDelegation,
) -> Result<sb::DelegationRecord, StoreError> {
    let mut tx = pool.begin().await?;
    if sqlx::query("SELECT psn_no FROM person WHERE psn_no = $1")
        .bind(&new.proxy)
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(StoreError::not_found("proxy", new.proxy.as_str()));
    }
    if sqlx::query("SELECT delegation_id FROM delegation WHERE delegation_id = $1")
        .bind(&new.delegation_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some()
    {
        return Err(StoreError::refused(
            "delegation_id",
            format!("`{}` exists", new.delegation_id),
        ));
    }
    let in_force: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM delegation WHERE subject = $1 AND ended_at_ms IS NULL \
         AND not_after_ms > $2",
    )
    .bind(&new.subject)
    .bind(new.now_ms)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if in_force >= sb::DELEGATIONS_IN_FORCE_MAX {
        return Err(StoreError::refused(
            "proxy",
            format!(
                "at most {} delegations may be in force; end one first",
                sb::DELEGATIONS_IN_FORCE_MAX
            ),
        ));
    }
    let leaf = sb_append(
        &mut tx,
        &sb::SafeboxEvent {
            ts_ms: new.now_ms,
            who: sb::SafeboxActor::own(&new.subject),
            relation: String::new(),
            event: "delegation.created".to_owned(),
            action: "POST /self/v1/delegations".to_owned(),
            decision: Decision::Permit,
            detail: format!(
                "delegation={} items={} level3={}",
                new.delegation_id,
                new.items,
                u8::from(new.level3_ticked)
            ),
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO delegation (delegation_id, subject, proxy, items, level3_ticked, \
         not_before_ms, not_after_ms, factor_kind, factor_at_ms, created_leaf) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'e_voucher', $8, $9)",
    )
    .bind(&new.delegation_id)
    .bind(&new.subject)
    .bind(&new.proxy)
    .bind(new.items.to_string())
    .bind(i64::from(new.level3_ticked))
    .bind(new.not_before_ms)
    .bind(new.not_after_ms)
    .bind(new.factor_at_ms)
    .bind(leaf)
    .execute(&mut *tx)
    .await?;
    // The proxy sees it in their safe box too.
    sb_proxy_action_insert(
        &mut tx,
        leaf,
        &new.proxy,
        &new.subject,
        "delegate",
        "delegation.created",
        new.now_ms,
    )
    .await?;
    let record = sb_delegation_read(&mut tx, &new.delegation_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the new delegation is not there".into()))?;
    tx.commit().await?;
    Ok(record)
}

async fn sb_delegation_read(
    conn: &mut Conn,
    delegation_id: &str,
) -> Result<Option<sb::DelegationRecord>, StoreError> {
    sqlx::query(&format!(
        "SELECT {SB_DELEGATION_COLUMNS} FROM delegation WHERE delegation_id = $1"
    ))
    .bind(delegation_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| sb_delegation_of_row(&r))
    .transpose()
}

pub(crate) async fn sb_delegation_end(
    pool: &Pool,
    delegation_id: &str,
    by: &str,
    now_ms: i64,
) -> Result<sb::DelegationRecord, StoreError> {
    let mut tx = pool.begin().await?;
    let record = match sb_delegation_read(&mut tx, delegation_id).await? {
        Some(record) if record.subject == by || record.proxy == by => record,
        // Someone else's delegation reads as none.
        _ => return Err(StoreError::not_found("delegation_id", delegation_id)),
    };
    if record.ended.is_some() {
        return Err(StoreError::refused("delegation_id", "has ended already"));
    }
    let by_proxy = record.proxy == by;
    let leaf = sb_append(
        &mut tx,
        &sb::SafeboxEvent {
            ts_ms: now_ms,
            who: sb::SafeboxActor {
                actor: by.to_owned(),
                subject: record.subject.clone(),
            },
            relation: "delegate".to_owned(),
            event: "delegation.ended".to_owned(),
            action: "POST /self/v1/delegations/{id}/end".to_owned(),
            decision: Decision::Permit,
            detail: format!("delegation={delegation_id}"),
        },
    )
    .await?;
    if !by_proxy {
        // Ended by the subject: the proxy sees it too.
        sb_proxy_action_insert(
            &mut tx,
            leaf,
            &record.proxy,
            &record.subject,
            "delegate",
            "delegation.ended",
            now_ms,
        )
        .await?;
    }
    sqlx::query(
        "UPDATE delegation SET ended_at_ms = $2, ended_by = $3, ended_leaf = $4 \
         WHERE delegation_id = $1 AND ended_at_ms IS NULL",
    )
    .bind(delegation_id)
    .bind(now_ms)
    .bind(by)
    .bind(leaf)
    .execute(&mut *tx)
    .await?;
    let record = sb_delegation_read(&mut tx, delegation_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the delegation vanished".into()))?;
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn sb_family(
    pool: &Pool,
    psn_no: &str,
    day: &str,
) -> Result<sb::Family, StoreError> {
    let mut conn = pool.acquire().await?;
    let delegations = sqlx::query(&format!(
        "SELECT {SB_DELEGATION_COLUMNS} FROM delegation WHERE subject = $1 OR proxy = $1 \
         ORDER BY created_leaf DESC LIMIT $2"
    ))
    .bind(psn_no)
    .bind(sb::FAMILY_ROWS_MAX)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(sb_delegation_of_row)
    .collect::<Result<Vec<_>, _>>()?;
    let guardianships = sqlx::query(
        "SELECT subject, guardian, kind FROM guardianship WHERE subject = $1 OR guardian = $1 \
         ORDER BY subject, guardian",
    )
    .bind(psn_no)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| -> Result<_, StoreError> {
        Ok((
            r.try_get("subject")?,
            r.try_get("guardian")?,
            r.try_get::<String, _>("kind")? == "court",
        ))
    })
    .collect::<Result<Vec<_>, _>>()?;
    let family_accounts = sqlx::query(
        "SELECT psn_no, family_psn_no FROM family_binding WHERE (psn_no = $1 OR family_psn_no = $1) \
         AND begndate <= $2 AND (enddate = '' OR enddate >= $2) ORDER BY psn_no, bind_order",
    )
    .bind(psn_no)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| -> Result<_, StoreError> { Ok((r.try_get("psn_no")?, r.try_get("family_psn_no")?)) })
    .collect::<Result<Vec<_>, _>>()?;
    let actions = sqlx::query(
        "SELECT leaf_idx, proxy, subject, relation, action, at_ms FROM proxy_action \
         WHERE proxy = $1 OR subject = $1 ORDER BY leaf_idx DESC LIMIT $2",
    )
    .bind(psn_no)
    .bind(sb::FAMILY_ROWS_MAX)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| -> Result<_, StoreError> {
        Ok(sb::ProxyActionRow {
            leaf_idx: r.try_get("leaf_idx")?,
            proxy: r.try_get("proxy")?,
            subject: r.try_get("subject")?,
            relation: r.try_get("relation")?,
            action: r.try_get("action")?,
            at_ms: r.try_get("at_ms")?,
        })
    })
    .collect::<Result<Vec<_>, _>>()?;
    Ok(sb::Family {
        delegations,
        guardianships,
        family_accounts,
        actions,
    })
}

// ------------------------------------------------------------------ sharing pause

pub(crate) async fn sb_sharing_paused(pool: &Pool, psn_no: &str) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT psn_no FROM sharing_pause WHERE psn_no = $1 AND resumed_at_ms IS NULL")
            .bind(psn_no)
            .fetch_optional(pool)
            .await?
            .is_some(),
    )
}

pub(crate) async fn sb_sharing_set(
    pool: &Pool,
    event: &sb::SafeboxEvent,
    paused: bool,
) -> Result<bool, StoreError> {
    let psn_no = event.who.subject.as_str();
    let mut tx = pool.begin().await?;
    if sqlx::query("SELECT psn_no FROM person WHERE psn_no = $1")
        .bind(psn_no)
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(StoreError::not_found("psn_no", psn_no));
    }
    let open = sqlx::query(
        "SELECT paused_at_ms FROM sharing_pause WHERE psn_no = $1 AND resumed_at_ms IS NULL",
    )
    .bind(psn_no)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get::<i64, _>("paused_at_ms"))
    .transpose()?;
    let leaf = sb_append(&mut tx, event).await?;
    match (paused, open) {
        (true, None) => {
            sqlx::query(
                "INSERT INTO sharing_pause (psn_no, paused_at_ms, paused_leaf) VALUES ($1, $2, $3)",
            )
            .bind(psn_no)
            .bind(event.ts_ms)
            .bind(leaf)
            .execute(&mut *tx)
            .await?;
        }
        (false, Some(paused_at)) => {
            sqlx::query(
                "UPDATE sharing_pause SET resumed_at_ms = $3, resumed_leaf = $4 \
                 WHERE psn_no = $1 AND paused_at_ms = $2",
            )
            .bind(psn_no)
            .bind(paused_at)
            .bind(event.ts_ms)
            .bind(leaf)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(paused)
}
