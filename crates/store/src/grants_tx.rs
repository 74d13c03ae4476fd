// Grants and data calls: the SQL (see `grants.rs`). Included into the two backend modules
// (`pg`, `sq`) after the other files, so it shares their imports and helpers; every name here is
// prefixed (`grant_`, `grantee_`, `gr_`) to stay unique among the included files. Every
// lifecycle change and every data call appends its access-log leaf in its own transaction.

use crate::grants as gr;
use yibao_privacy as yp;

type GrRow = <Db as sqlx::Database>::Row;

/// The one place a grant event becomes an access-log entry: grantees are not staff, so the
/// grantee and the grant go into `reason`, the endpoint into `action`.
fn gr_log_entry(
    ts_ms: i64,
    event: &str,
    action: &str,
    subject: Option<&str>,
    purpose: &str,
    permit: bool,
    reason: String,
) -> crate::staff::AccessEntry {
    crate::staff::AccessEntry {
        ts_ms,
        event: event.to_owned(),
        staff_id: None,
        action: action.to_owned(),
        subject_ref: subject
            .map(crate::staff::subject_ref_psn)
            .unwrap_or_default(),
        purpose: purpose.to_owned(),
        decision: if permit {
            crate::staff::Decision::Permit
        } else {
            crate::staff::Decision::Deny
        },
        reason,
    }
}

/// A grantee's call's leaf extras: the grantee as actor (a per-leaf pseudonym in the leaf) and
/// the request's digest.
fn gr_call_extras(call: &gr::GrantCall) -> crate::access_log::LeafExtras {
    crate::access_log::LeafExtras {
        actor: Some(format!("grantee:{}", call.grantee_id)),
        request_digest: Some(call.request_digest),
        ..Default::default()
    }
}

// ------------------------------------------------------------------ grantees

fn grantee_of_row(r: &GrRow) -> Result<gr::GranteeRecord, StoreError> {
    let kind: String = r.try_get("kind")?;
    let key_hex: String = r.try_get("public_key_hex")?;
    let purposes: String = r.try_get("purposes")?;
    Ok(gr::GranteeRecord {
        grantee_id: r.try_get("grantee_id")?,
        name: r.try_get("name")?,
        kind: gr::GranteeKind::parse(&kind)
            .ok_or_else(|| StoreError::Invariant(format!("stored grantee kind {kind:?}")))?,
        public_key: yibao_gm::VerifyingKey::from_hex(&key_hex)
            .map_err(|e| StoreError::Invariant(format!("stored grantee key: {e}")))?,
        purposes: purposes
            .split(',')
            .filter(|code| !code.is_empty())
            .map(|code| {
                yp::Purpose::parse(code)
                    .map_err(|e| StoreError::Invariant(format!("stored grantee purpose: {e}")))
            })
            .collect::<Result<_, _>>()?,
        active: r.try_get::<i64, _>("active")? == 1,
    })
}

const GRANTEE_COLUMNS: &str = "grantee_id, name, kind, public_key_hex, purposes, active";

async fn grantee_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    grantee_id: &str,
) -> Result<Option<gr::GranteeRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {GRANTEE_COLUMNS} FROM grantee WHERE grantee_id = $1"
    ))
    .bind(grantee_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(grantee_of_row).transpose()
}

pub(crate) async fn grantee_read(
    pool: &Pool,
    grantee_id: &str,
) -> Result<Option<gr::GranteeRecord>, StoreError> {
    let mut conn = pool.acquire().await?;
    grantee_in(&mut conn, grantee_id).await
}

pub(crate) async fn grantee_insert(
    pool: &Pool,
    new: &gr::NewGrantee,
    now_ms: i64,
) -> Result<gr::GranteeRecord, StoreError> {
    let mut tx = pool.begin().await?;
    if grantee_in(&mut tx, &new.grantee_id).await?.is_some() {
        return Err(StoreError::refused(
            "grantee_id",
            format!("`{}` is registered already", new.grantee_id),
        ));
    }
    let mut purposes: Vec<yp::Purpose> = new.purposes.clone();
    purposes.sort();
    purposes.dedup();
    let codes = purposes
        .iter()
        .map(|p| p.code())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query(
        "INSERT INTO grantee (grantee_id, name, kind, public_key_hex, purposes, active, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 1, $6)",
    )
    .bind(&new.grantee_id)
    .bind(&new.name)
    .bind(new.kind.code())
    .bind(new.public_key.to_hex())
    .bind(&codes)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    access_append(
        &mut tx,
        &gr_log_entry(
            now_ms,
            "grantee.register",
            "grantee.register",
            None,
            &codes,
            true,
            format!("grantee={} key={}", new.grantee_id, new.public_key.key_id()),
        ),
    )
    .await?;
    let record = grantee_in(&mut tx, &new.grantee_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the new grantee is not there".into()))?;
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn grantee_set_active(
    pool: &Pool,
    grantee_id: &str,
    active: bool,
    now_ms: i64,
) -> Result<gr::GranteeRecord, StoreError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query("UPDATE grantee SET active = $2 WHERE grantee_id = $1")
        .bind(grantee_id)
        .bind(i64::from(active))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::not_found("grantee_id", grantee_id));
    }
    let event = if active {
        "grantee.reinstate"
    } else {
        "grantee.suspend"
    };
    access_append(
        &mut tx,
        &gr_log_entry(
            now_ms,
            event,
            event,
            None,
            "",
            true,
            format!("grantee={grantee_id}"),
        ),
    )
    .await?;
    let record = grantee_in(&mut tx, grantee_id)
        .await?
        .ok_or_else(|| StoreError::Invariant("the grantee vanished".into()))?;
    tx.commit().await?;
    Ok(record)
}

// ------------------------------------------------------------------ grants

const GRANT_COLUMNS: &str =
    "grant_id, subject, subject_age_years, grantee_id, product_id, purpose, \
    items, confirmed_items, separate_level3, scope_from, scope_to, scope_event, output_form, mode, \
    uses_total, uses_left, uses_count, not_before_ms, not_after_ms, policy_end_ms, notice_version, \
    notice_digest, notice_retention, factors, consented_at_ms, status, created_leaf, ended_leaf, \
    ended_at_ms";

fn gr_output_form(code: &str) -> Option<yp::OutputForm> {
    use yp::OutputForm::*;
    [Derived, Computed, MaskedFields, Fields]
        .into_iter()
        .find(|form| form.code() == code)
}

fn gr_status(code: &str) -> Option<yp::GrantStatus> {
    use yp::GrantStatus::*;
    [Active, Exhausted, Expired, Revoked, Suspended]
        .into_iter()
        .find(|status| status.code() == code)
}

fn gr_factor_kind(code: &str) -> Option<yp::grant::FactorKind> {
    use yp::grant::FactorKind::*;
    [EVoucher, Sms, Face]
        .into_iter()
        .find(|kind| kind.code() == code)
}

fn gr_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Invariant(format!("stored grant date {text:?}")))
}

fn gr_bad_row(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Invariant(format!("stored grant {what}: {detail}"))
}

fn grant_of_row(r: &GrRow, key: &gr::TokenKey) -> Result<gr::GrantRecord, StoreError> {
    let grantee_id: String = r.try_get("grantee_id")?;
    let subject: String = r.try_get("subject")?;
    let purpose: String = r.try_get("purpose")?;
    let form: String = r.try_get("output_form")?;
    let mode: String = r.try_get("mode")?;
    let uses_total: Option<i64> = r.try_get("uses_total")?;
    let uses_left: Option<i64> = r.try_get("uses_left")?;
    let scope = match r.try_get::<Option<String>, _>("scope_event")? {
        Some(event) => yp::grant::DataScope::Event(event),
        None => yp::grant::DataScope::Period {
            from: gr_date(
                &r.try_get::<Option<String>, _>("scope_from")?
                    .unwrap_or_default(),
            )?,
            to: gr_date(
                &r.try_get::<Option<String>, _>("scope_to")?
                    .unwrap_or_default(),
            )?,
        },
    };
    let mode = match (mode.as_str(), uses_total) {
        ("ONCE", _) => yp::Mode::Once,
        ("LIMITED", Some(n)) => {
            yp::Mode::Limited(u32::try_from(n).map_err(|e| gr_bad_row("uses_total", e))?)
        }
        ("MULTI", _) => yp::Mode::Multi,
        (other, _) => return Err(gr_bad_row("mode", other)),
    };
    let digest_hex: String = r.try_get("notice_digest")?;
    let text_digest: [u8; 32] = gr::unhex(&digest_hex)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| gr_bad_row("notice digest", &digest_hex))?;
    let factors_json: String = r.try_get("factors")?;
    let factors_value: serde_json::Value =
        serde_json::from_str(&factors_json).map_err(|e| gr_bad_row("factors", e))?;
    let mut factors = Vec::new();
    for factor in factors_value.as_array().into_iter().flatten() {
        let kind = factor["kind"].as_str().and_then(gr_factor_kind);
        let verified_at = factor["verified_at_ms"].as_i64();
        let evidence_ref = factor["evidence_ref"].as_str();
        match (kind, verified_at, evidence_ref) {
            (Some(kind), Some(at), Some(evidence)) => factors.push(yp::grant::FactorUse {
                kind,
                verified_at: yp::Millis(at),
                evidence_ref: evidence.to_owned(),
            }),
            _ => return Err(gr_bad_row("factors", &factors_json)),
        }
    }
    let items_of = |column: &str| -> Result<yp::ItemSet, StoreError> {
        let text: String = r.try_get(column)?;
        yp::ItemSet::parse(&text).map_err(|e| gr_bad_row(column, e))
    };
    let terms = yp::GrantDraft {
        grant_id: r.try_get("grant_id")?,
        subject: subject.clone(),
        subject_age_years: r
            .try_get::<Option<i64>, _>("subject_age_years")?
            .map(|age| u32::try_from(age).map_err(|e| gr_bad_row("subject age", e)))
            .transpose()?,
        grantor: yp::grant::Grantor::Subject,
        grantee: yp::grant::Grantee::Organisation(grantee_id.clone()),
        product_id: r.try_get("product_id")?,
        purpose: yp::Purpose::parse(&purpose).map_err(|e| gr_bad_row("purpose", e))?,
        items: items_of("items")?,
        confirmed_items: items_of("confirmed_items")?,
        separate_level3_consent: r.try_get::<i64, _>("separate_level3")? == 1,
        scope,
        output_form: gr_output_form(&form).ok_or_else(|| gr_bad_row("output form", &form))?,
        mode,
        not_before: yp::Millis(r.try_get("not_before_ms")?),
        not_after: yp::Millis(r.try_get("not_after_ms")?),
        policy_end: r
            .try_get::<Option<i64>, _>("policy_end_ms")?
            .map(yp::Millis),
        notice: yp::grant::Notice {
            text_version: r.try_get("notice_version")?,
            text_digest,
            retention: r.try_get("notice_retention")?,
        },
        factors,
        consented_at: yp::Millis(r.try_get("consented_at_ms")?),
    };
    let status: String = r.try_get("status")?;
    let status = gr_status(&status).ok_or_else(|| gr_bad_row("status", &status))?;
    let uses_left = uses_left
        .map(|left| u32::try_from(left).map_err(|e| gr_bad_row("uses_left", e)))
        .transpose()?;
    let uses_count = u64::try_from(r.try_get::<i64, _>("uses_count")?)
        .map_err(|e| gr_bad_row("uses_count", e))?;
    let grant = yp::Grant::restore(terms, status, uses_left, uses_count)
        .map_err(|e| gr_bad_row("terms or state", e))?;
    Ok(gr::GrantRecord {
        grant,
        sub: key.pairwise_sub(&grantee_id, &subject),
        created_leaf: r.try_get("created_leaf")?,
        ended_leaf: r.try_get("ended_leaf")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
    })
}

fn grantee_id_of(grant: &yp::Grant) -> &str {
    match grant.grantee() {
        yp::grant::Grantee::Organisation(id) | yp::grant::Grantee::Person(id) => id,
    }
}

pub(crate) async fn grant_insert(
    pool: &Pool,
    grant: &yp::Grant,
    token_mac: &str,
    key: &gr::TokenKey,
) -> Result<gr::GrantRecord, StoreError> {
    let mut tx = pool.begin().await?;
    let record = grant_insert_in(&mut tx, grant, token_mac, key, "").await?;
    tx.commit().await?;
    Ok(record)
}

/// Stores a checked grant and its `grant.created` leaf in the caller's transaction; `note` ends
/// the leaf's reason (a proxy's grant says who acted and as what).
pub(crate) async fn grant_insert_in(
    tx: &mut Tx<'_>,
    grant: &yp::Grant,
    token_mac: &str,
    key: &gr::TokenKey,
    note: &str,
) -> Result<gr::GrantRecord, StoreError> {
    let terms = grant.terms();
    let grantee_id = grantee_id_of(grant);
    let grantee = grantee_in(&mut *tx, grantee_id)
        .await?
        .ok_or_else(|| StoreError::not_found("grantee", grantee_id))?;
    if !grantee.active {
        return Err(StoreError::refused("grantee", "the grantee is suspended"));
    }
    if !grantee.purposes.contains(&terms.purpose) {
        return Err(StoreError::refused(
            "purpose",
            format!("{} is not approved for grantee {grantee_id}", terms.purpose),
        ));
    }
    let taken = sqlx::query("SELECT grant_id FROM data_grant WHERE grant_id = $1")
        .bind(grant.id())
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::refused(
            "grant_id",
            format!("`{}` exists", grant.id()),
        ));
    }
    let person = sqlx::query("SELECT psn_no FROM person WHERE psn_no = $1")
        .bind(&terms.subject)
        .fetch_optional(&mut **tx)
        .await?;
    if person.is_none() {
        return Err(StoreError::not_found("subject", &terms.subject));
    }
    let leaf = access_append(
        &mut *tx,
        &gr_log_entry(
            terms.consented_at.0,
            "grant.created",
            "grant.created",
            Some(&terms.subject),
            terms.purpose.code(),
            true,
            format!(
                "grantee={grantee_id} grant={} items={} mode={} factors={}",
                grant.id(),
                terms.items,
                terms.mode,
                terms
                    .factors
                    .iter()
                    .map(|f| f.kind.code())
                    .collect::<Vec<_>>()
                    .join(",")
            ) + note,
        ),
    )
    .await?;
    let (scope_from, scope_to, scope_event) = match &terms.scope {
        yp::grant::DataScope::Period { from, to } => {
            (Some(from.to_string()), Some(to.to_string()), None)
        }
        yp::grant::DataScope::Event(event) => (None, None, Some(event.clone())),
    };
    let mode = match terms.mode {
        yp::Mode::Once => "ONCE",
        yp::Mode::Limited(_) => "LIMITED",
        yp::Mode::Multi => "MULTI",
    };
    let factors = serde_json::Value::Array(
        terms
            .factors
            .iter()
            .map(|f| {
                serde_json::json!({
                    "kind": f.kind.code(),
                    "verified_at_ms": f.verified_at.0,
                    "evidence_ref": f.evidence_ref,
                })
            })
            .collect(),
    )
    .to_string();
    sqlx::query(
        "INSERT INTO data_grant (grant_id, token_mac, subject, subject_age_years, grantor, grantee_id, \
         product_id, purpose, items, confirmed_items, separate_level3, scope_from, scope_to, scope_event, \
         output_form, mode, uses_total, uses_left, uses_count, not_before_ms, not_after_ms, policy_end_ms, \
         notice_version, notice_digest, notice_retention, factors, consented_at_ms, status, created_leaf) \
         VALUES ($1, $2, $3, $4, 'self', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
    )
    .bind(grant.id())
    .bind(token_mac)
    .bind(&terms.subject)
    .bind(terms.subject_age_years.map(i64::from))
    .bind(grantee_id)
    .bind(&terms.product_id)
    .bind(terms.purpose.code())
    .bind(terms.items.to_string())
    .bind(terms.confirmed_items.to_string())
    .bind(i64::from(terms.separate_level3_consent))
    .bind(scope_from)
    .bind(scope_to)
    .bind(scope_event)
    .bind(terms.output_form.code())
    .bind(mode)
    .bind(terms.mode.uses_total().map(i64::from))
    .bind(grant.uses_left().map(i64::from))
    .bind(grant.uses_count() as i64)
    .bind(terms.not_before.0)
    .bind(terms.not_after.0)
    .bind(terms.policy_end.map(|m| m.0))
    .bind(&terms.notice.text_version)
    .bind(gr::hex(&terms.notice.text_digest))
    .bind(&terms.notice.retention)
    .bind(factors)
    .bind(terms.consented_at.0)
    .bind(grant.status().code())
    .bind(leaf)
    .execute(&mut **tx)
    .await?;
    let record = grant_in(&mut *tx, grant.id(), key, false)
        .await?
        .ok_or_else(|| StoreError::Invariant("the new grant is not there".into()))?;
    Ok(record)
}

async fn grant_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    grant_id: &str,
    key: &gr::TokenKey,
    for_update: bool,
) -> Result<Option<gr::GrantRecord>, StoreError> {
    let lock = if IS_PG && for_update {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM data_grant WHERE grant_id = $1{lock}"
    ))
    .bind(grant_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| grant_of_row(r, key)).transpose()
}

pub(crate) async fn grant_read(
    pool: &Pool,
    grant_id: &str,
    key: &gr::TokenKey,
) -> Result<Option<gr::GrantRecord>, StoreError> {
    let mut conn = pool.acquire().await?;
    grant_in(&mut conn, grant_id, key, false).await
}

pub(crate) async fn grants_of_subject(
    pool: &Pool,
    subject: &str,
    key: &gr::TokenKey,
) -> Result<Vec<gr::GrantRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM data_grant WHERE subject = $1 \
         ORDER BY consented_at_ms DESC, grant_id LIMIT $2"
    ))
    .bind(subject)
    .bind(gr::GRANTS_PER_PERSON_MAX)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| grant_of_row(r, key)).collect()
}

/// Writes a grant's new state (after a transition of the engine) and its end, if it ended.
async fn grant_write_state(
    tx: &mut Tx<'_>,
    before: &yp::Grant,
    after: &yp::Grant,
    ended: Option<(i64, i64)>,
) -> Result<(), StoreError> {
    let changed = sqlx::query(
        "UPDATE data_grant SET status = $2, uses_left = $3, uses_count = $4, \
         ended_leaf = COALESCE($5, ended_leaf), ended_at_ms = COALESCE($6, ended_at_ms) \
         WHERE grant_id = $1 AND status = $7 AND uses_count = $8",
    )
    .bind(after.id())
    .bind(after.status().code())
    .bind(after.uses_left().map(i64::from))
    .bind(after.uses_count() as i64)
    .bind(ended.map(|(leaf, _)| leaf))
    .bind(ended.map(|(_, at)| at))
    .bind(before.status().code())
    .bind(before.uses_count() as i64)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(StoreError::Invariant(format!(
            "grant {} changed under its lock",
            after.id()
        )));
    }
    Ok(())
}

pub(crate) async fn grant_revoke(
    pool: &Pool,
    grant_id: &str,
    subject: &str,
    key: &gr::TokenKey,
    now_ms: i64,
) -> Result<gr::GrantRecord, StoreError> {
    let mut tx = pool.begin().await?;
    let record = match grant_in(&mut tx, grant_id, key, true).await? {
        Some(record) if record.grant.terms().subject == subject => record,
        // Someone else's grant reads as no grant at all.
        _ => return Err(StoreError::not_found("grant_id", grant_id)),
    };
    let revoked = record
        .grant
        .revoke()
        .map_err(|e| StoreError::refused("grant_id", e.to_string()))?;
    let leaf = access_append(
        &mut tx,
        &gr_log_entry(
            now_ms,
            "grant.revoked",
            "grant.revoked",
            Some(subject),
            record.grant.purpose().code(),
            true,
            format!(
                "grantee={} grant={grant_id} by=subject",
                grantee_id_of(&record.grant)
            ),
        ),
    )
    .await?;
    grant_write_state(&mut tx, &record.grant, &revoked, Some((leaf, now_ms))).await?;
    let after = grant_in(&mut tx, grant_id, key, false)
        .await?
        .ok_or_else(|| StoreError::Invariant("the grant vanished".into()))?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn grants_expire(pool: &Pool, now_ms: i64) -> Result<Vec<String>, StoreError> {
    let mut tx = pool.begin().await?;
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT grant_id FROM data_grant WHERE status IN ('ACTIVE', 'SUSPENDED') AND not_after_ms <= $1 \
         ORDER BY grant_id LIMIT $2{lock}"
    ))
    .bind(now_ms)
    .bind(gr::EXPIRE_SWEEP_MAX)
    .fetch_all(&mut *tx)
    .await?;
    // The token key only derives `sub`, which an expiry does not use.
    let key = gr::TokenKey::from_bytes([0; 32]);
    let mut expired = Vec::with_capacity(rows.len());
    for r in rows {
        let grant_id: String = r.try_get("grant_id")?;
        let record = grant_in(&mut tx, &grant_id, &key, false)
            .await?
            .ok_or_else(|| StoreError::Invariant("the grant vanished".into()))?;
        let after = record
            .grant
            .expire(yp::Millis(now_ms))
            .map_err(|e| StoreError::Invariant(format!("expiring {grant_id}: {e}")))?;
        let leaf = access_append(
            &mut tx,
            &gr_log_entry(
                now_ms,
                "grant.expired",
                "grant.expired",
                Some(&record.grant.terms().subject),
                record.grant.purpose().code(),
                true,
                format!("grantee={} grant={grant_id}", grantee_id_of(&record.grant)),
            ),
        )
        .await?;
        grant_write_state(&mut tx, &record.grant, &after, Some((leaf, now_ms))).await?;
        expired.push(grant_id);
    }
    tx.commit().await?;
    Ok(expired)
}

// ------------------------------------------------------------------ calls

/// Whether `grantee_id` made the call whose log record is `log_ref`.
pub(crate) async fn grant_call_owned(
    pool: &Pool,
    grantee_id: &str,
    log_ref: i64,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM grant_call WHERE grantee_id = $1 AND log_ref = $2")
            .bind(grantee_id)
            .bind(log_ref)
            .fetch_optional(pool)
            .await?
            .is_some(),
    )
}


pub(crate) async fn grantee_nonces_prune(pool: &Pool, before_ms: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM grantee_nonce WHERE seen_at_ms < $1")
            .bind(before_ms)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// A call's stored answer, if its request id was seen, and what it counts against the rate
/// limits, read inside its transaction in one statement (after the grant's lock, so the counts
/// include every call that used the grant before).
#[allow(clippy::type_complexity)]
async fn gr_stored_and_counters(
    tx: &mut Tx<'_>,
    call: &gr::GrantCall,
    grant: Option<&yp::Grant>,
    now_ms: i64,
) -> Result<
    (
        Option<(String, String, String, i64)>,
        yp::decision::Counters,
    ),
    StoreError,
> {
    let day_start = yp::Millis::at_date(gr::day_of(now_ms)).0;
    let row = sqlx::query(
        "SELECT \
         (SELECT COUNT(*) FROM grant_call WHERE grantee_id = $1 AND at_ms > $3 AND at_ms <= $4) AS n_second, \
         (SELECT COUNT(*) FROM grant_call WHERE grant_id = $5 AND consumed = 1 AND at_ms >= $7) AS n_grant, \
         (SELECT COUNT(*) FROM grant_call WHERE subject = $6 AND consumed = 1 AND at_ms >= $7) AS n_subject, \
         s.request_digest, s.code, s.response, s.log_ref \
         FROM (SELECT 1 AS one) AS gr_one \
         LEFT JOIN grant_call s ON s.grantee_id = $1 AND s.request_id = $2",
    )
    .bind(&call.grantee_id)
    .bind(&call.request_id)
    .bind(now_ms - 1_000)
    .bind(now_ms)
    .bind(grant.map(|g| g.id()))
    .bind(grant.map(|g| g.terms().subject.as_str()))
    .bind(day_start)
    .fetch_one(&mut **tx)
    .await?;
    let count = |column: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(u32::MAX))
    };
    let counters = yp::decision::Counters {
        grant_uses_today: count("n_grant")?,
        grantee_calls_this_second: count("n_second")?,
        subject_uses_today: count("n_subject")?,
    };
    let stored = match row.try_get::<Option<String>, _>("request_digest")? {
        None => None,
        Some(digest) => Some((
            digest,
            row.try_get("code")?,
            row.try_get("response")?,
            row.try_get("log_ref")?,
        )),
    };
    Ok((stored, counters))
}

fn gr_deny_body(call: &gr::GrantCall, reason: &yp::DenyReason, log_ref: i64) -> String {
    let mut error = serde_json::json!({
        "code": reason.code().as_str(),
        "reason": reason.public_message(),
    });
    if let yp::DenyReason::ItemsOutOfScope(items) = reason {
        error["refused_items"] = items.iter().map(|c| c.as_str().to_owned()).collect();
    }
    serde_json::json!({
        "request_id": call.request_id,
        "decision": "deny",
        "error": error,
        "log_ref": log_ref,
    })
    .to_string()
}

/// A refusal that writes no call row (bad signature, stale timestamp, reused nonce, a request
/// id reused with another body): its leaf only.
async fn gr_refuse_early(
    mut tx: Tx<'_>,
    call: &gr::GrantCall,
    reason: &yp::DenyReason,
    detail: &str,
    now_ms: i64,
) -> Result<gr::CallAnswer, StoreError> {
    let log_ref = outbox_append(
        &mut tx,
        &gr_log_entry(
            now_ms,
            "data.call",
            &call.action,
            None,
            call.purpose.code(),
            false,
            format!(
                "grantee={} request={} code={} why={detail}",
                call.grantee_id,
                call.request_id,
                reason.code()
            ),
        ),
        &gr_call_extras(call),
    )
    .await?;
    tx.commit().await?;
    Ok(gr::CallAnswer {
        code: Some(reason.code()),
        body: gr_deny_body(call, reason, log_ref),
        log_ref,
        replayed: false,
    })
}

async fn gr_stored_call(
    conn: &mut <Db as sqlx::Database>::Connection,
    call: &gr::GrantCall,
) -> Result<Option<(String, String, String, i64)>, StoreError> {
    let row = sqlx::query(
        "SELECT request_digest, code, response, log_ref FROM grant_call \
         WHERE grantee_id = $1 AND request_id = $2",
    )
    .bind(&call.grantee_id)
    .bind(&call.request_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| -> Result<_, StoreError> {
        Ok((
            r.try_get("request_digest")?,
            r.try_get("code")?,
            r.try_get("response")?,
            r.try_get("log_ref")?,
        ))
    })
    .transpose()
}

fn gr_deny_code(code: &str) -> Option<yp::decision::DenyCode> {
    use yp::decision::DenyCode::*;
    [
        GrantInvalid,
        GrantExhausted,
        ScopeDenied,
        RateLimited,
        SignatureInvalid,
        Replay,
    ]
    .into_iter()
    .find(|c| c.as_str() == code)
}

fn gr_replayed(stored: (String, String, String, i64)) -> gr::CallAnswer {
    let (_, code, body, log_ref) = stored;
    gr::CallAnswer {
        code: gr_deny_code(&code),
        body,
        log_ref,
        replayed: true,
    }
}

pub(crate) async fn grant_call_run(
    pool: &Pool,
    call: &gr::GrantCall,
    key: &gr::TokenKey,
    now_ms: i64,
) -> Result<gr::CallAnswer, StoreError> {
    let now = yp::Millis(now_ms);
    let mut tx = pool.begin().await?;
    let grantee = grantee_in(&mut tx, &call.grantee_id).await?;
    let signature_valid = call.signature_valid && grantee.is_some();

    // The nonce is recorded only for a verified signature: nobody else can burn a grantee's
    // nonces. A nonce last seen before the replay window counts as new (the skew check refuses
    // requests that old anyway); old rows are pruned in bulk (`Store::prune_nonces`), not here.
    let mut nonce_seen = false;
    if signature_valid {
        nonce_seen = sqlx::query(
            "INSERT INTO grantee_nonce (grantee_id, nonce, seen_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (grantee_id, nonce) DO UPDATE SET seen_at_ms = excluded.seen_at_ms \
             WHERE grantee_nonce.seen_at_ms < $4",
        )
        .bind(&call.grantee_id)
        .bind(&call.nonce)
        .bind(now_ms)
        .bind(now_ms - gr::NONCE_WINDOW_MS)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 0;
    }

    // The grant, locked for the rest of the transaction (PostgreSQL; SQLite has one writer),
    // with its subject's state in the same statement.
    let lock = if IS_PG {
        " FOR UPDATE OF data_grant"
    } else {
        ""
    };
    let grant_row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS}, \
         (SELECT COUNT(*) FROM death_confirmed d WHERE d.psn_no = data_grant.subject) AS gr_deceased, \
         (SELECT COUNT(*) FROM sharing_pause p WHERE p.psn_no = data_grant.subject \
          AND p.resumed_at_ms IS NULL) AS gr_paused \
         FROM data_grant WHERE token_mac = $1{lock}"
    ))
    .bind(key.token_mac(&call.token))
    .fetch_optional(&mut *tx)
    .await?;
    let record = grant_row
        .as_ref()
        .map(|r| grant_of_row(r, key))
        .transpose()?;
    let grant = record.as_ref().map(|r| &r.grant);

    let served = call.query.served_items();
    let fixed_form = match call.query {
        gr::CallQuery::Settlements => None,
        gr::CallQuery::DirectClaims => Some(yp::OutputForm::Computed),
        _ => Some(yp::OutputForm::Derived),
    };
    let request = yp::CallRequest {
        request_id: call.request_id.clone(),
        grantee: call.grantee_id.clone(),
        // The settlements query serves P04 and P05 alike: it asks under the grant's purpose.
        endpoint_purpose: match (&call.query, grant.map(|g| g.purpose())) {
            (gr::CallQuery::Settlements, Some(p @ (yp::Purpose::P04 | yp::Purpose::P05))) => p,
            _ => call.purpose,
        },
        items: call
            .items
            .clone()
            .or_else(|| grant.map(|g| g.items().intersection(&served)))
            .unwrap_or_else(|| served.clone()),
        scope: call
            .scope
            .clone()
            .or_else(|| grant.map(|g| g.terms().scope.clone()))
            .unwrap_or_else(|| {
                let today = gr::day_of(now_ms);
                yp::grant::DataScope::Period {
                    from: today,
                    to: today,
                }
            }),
        output_form: fixed_form.unwrap_or_else(|| {
            call.output_form
                .or_else(|| grant.map(|g| g.terms().output_form))
                .unwrap_or(yp::OutputForm::MaskedFields)
        }),
        timestamp: yp::Millis(call.timestamp_ms),
    };
    let subject_state = match &grant_row {
        None => yp::decision::SubjectState::default(),
        Some(row) => yp::decision::SubjectState {
            legal_hold: false,
            deceased: row.try_get::<i64, _>("gr_deceased")? > 0,
            sharing_paused: row.try_get::<i64, _>("gr_paused")? > 0,
        },
    };
    let mut context = yp::CallContext {
        now,
        nonce_seen,
        grantee: yp::decision::GranteeState {
            signature_valid,
            active: grantee.as_ref().is_some_and(|g| g.active),
            purposes_enabled: grantee
                .as_ref()
                .map(|g| g.purposes.clone())
                .unwrap_or_default(),
        },
        subject: subject_state,
        counters: yp::decision::Counters::default(),
    };

    // Signature, timestamp and nonce come before anything else, and write no call row.
    if let yp::Decision::Deny(
        reason @ (yp::DenyReason::SignatureInvalid
        | yp::DenyReason::StaleTimestamp
        | yp::DenyReason::NonceReused),
    ) = yp::decide(&request, None, &context)
    {
        let detail = format!("{reason:?}");
        return gr_refuse_early(tx, call, &reason, &detail, now_ms).await;
    }

    // A retried request id gets the stored answer and consumes nothing; the same id with
    // another body is a replay. Read under the grant's lock, with the counters, in one statement.
    let (stored, counters) = gr_stored_and_counters(&mut tx, call, grant, now_ms).await?;
    if let Some(stored) = stored {
        if stored.0 == gr::hex(&call.request_digest) {
            tx.commit().await?;
            return Ok(gr_replayed(stored));
        }
        return gr_refuse_early(
            tx,
            call,
            &yp::DenyReason::NonceReused,
            "request id reused with another body",
            now_ms,
        )
        .await;
    }

    context.counters = counters;
    let decision = yp::decide(&request, grant, &context);
    let subject = grant.map(|g| g.terms().subject.clone());
    let purpose = grant.map(|g| g.purpose()).unwrap_or(call.purpose);

    let mut consumed = false;
    if let (yp::Decision::Permit(_), Some(grant)) = (&decision, grant) {
        let after = grant.consume(now).map_err(|e| {
            StoreError::Invariant(format!("a permitted call could not use its grant: {e}"))
        })?;
        grant_write_state(&mut tx, grant, &after, None).await?;
        consumed = true;
    }
    let code = match &decision {
        yp::Decision::Permit(_) => String::new(),
        yp::Decision::Deny(reason) => reason.code().as_str().to_owned(),
    };
    // The log record first: no data is read before the call is in the log; it commits with the
    // call, and the sequencer makes it a leaf (the answer names the record, `log_ref`).
    let log_ref = outbox_append(
        &mut tx,
        &gr_log_entry(
            now_ms,
            "data.call",
            &call.action,
            subject.as_deref(),
            purpose.code(),
            consumed,
            format!(
                "grantee={} grant={} request={} digest={} items={} code={} why={}",
                call.grantee_id,
                grant.map(|g| g.id()).unwrap_or(""),
                call.request_id,
                gr::hex(&call.request_digest),
                request.items,
                if consumed { "PERMIT" } else { code.as_str() },
                match &decision {
                    yp::Decision::Permit(_) => String::new(),
                    yp::Decision::Deny(reason) => format!("{reason:?}"),
                }
            ),
        ),
        &gr_call_extras(call),
    )
    .await?;

    let body = match (&decision, grant, &record) {
        (yp::Decision::Permit(permit), Some(grant), Some(record)) => {
            let answer =
                gr_read_answer(&mut tx, call, grant, &request.scope, permit, now_ms).await?;
            serde_json::json!({
                "request_id": call.request_id,
                "decision": "permit",
                "sub": record.sub,
                "purpose": grant.purpose().code(),
                "output_form": permit.output_form.code(),
                "items": permit.items.iter().map(|c| c.as_str().to_owned()).collect::<Vec<_>>(),
                "answer": answer,
                "as_of": gr::day_of(now_ms).to_string(),
                "log_ref": log_ref,
            })
            .to_string()
        }
        (yp::Decision::Deny(reason), _, _) => gr_deny_body(call, reason, log_ref),
        _ => return Err(StoreError::Invariant("a permit without a grant".into())),
    };
    let inserted = sqlx::query(
        "INSERT INTO grant_call (grantee_id, request_id, request_digest, grant_id, subject, decision, code, \
         consumed, log_ref, response, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&call.grantee_id)
    .bind(&call.request_id)
    .bind(gr::hex(&call.request_digest))
    .bind(grant.map(|g| g.id()))
    .bind(subject.as_deref())
    .bind(if consumed { "permit" } else { "deny" })
    .bind(&code)
    .bind(i64::from(consumed))
    .bind(log_ref)
    .bind(&body)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // The same request id committed meanwhile under another grant lock: drop this attempt
        // (its use and leaf roll back) and give the stored answer.
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        let stored = gr_stored_call(&mut conn, call)
            .await?
            .ok_or_else(|| StoreError::Invariant("a conflicting call row vanished".into()))?;
        return Ok(gr_replayed(stored));
    }
    tx.commit().await?;
    Ok(gr::CallAnswer {
        code: match &decision {
            yp::Decision::Permit(_) => None,
            yp::Decision::Deny(reason) => Some(reason.code()),
        },
        body,
        log_ref,
        replayed: false,
    })
}
