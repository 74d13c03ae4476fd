// Staff access (crate::staff_access): service sessions, break-glass and its alarms, reveals, and
// what a case says about its subject: the SQL, included in `pg` and `sq` by `backend!`.

use crate::staff_access::{
    BreakGlassCategory, BreakGlassEvent, CaseAccess, CaseRef, NewBreakGlass, NewServiceSession,
    SecurityAlarm, ServiceSession,
};

const SESSION_COLUMNS: &str = "session_id, staff_id, psn_no, reason, started_at_ms, until_ms";
const GLASS_COLUMNS: &str =
    "glass_id, staff_id, psn_no, category, document_no, reason, started_at_ms, until_ms";

fn access_session_of(r: &<Db as sqlx::Database>::Row) -> Result<ServiceSession, StoreError> {
    Ok(ServiceSession {
        session_id: r.try_get("session_id")?,
        staff_id: r.try_get("staff_id")?,
        psn_no: r.try_get("psn_no")?,
        reason: r.try_get("reason")?,
        started_at_ms: r.try_get("started_at_ms")?,
        until_ms: r.try_get("until_ms")?,
    })
}

fn access_glass_of(r: &<Db as sqlx::Database>::Row) -> Result<BreakGlassEvent, StoreError> {
    let category: String = r.try_get("category")?;
    Ok(BreakGlassEvent {
        glass_id: r.try_get("glass_id")?,
        staff_id: r.try_get("staff_id")?,
        psn_no: r.try_get("psn_no")?,
        category: BreakGlassCategory::parse(&category).ok_or_else(|| {
            StoreError::Invariant(format!(
                "stored break-glass category {category:?} is unknown"
            ))
        })?,
        document_no: r.try_get("document_no")?,
        reason: r.try_get("reason")?,
        started_at_ms: r.try_get("started_at_ms")?,
        until_ms: r.try_get("until_ms")?,
    })
}

pub(crate) async fn access_session_open(
    pool: &Pool,
    new: &NewServiceSession,
    now_ms: i64,
    until_ms: i64,
) -> Result<ServiceSession, StoreError> {
    let mut tx = pool.begin().await?;
    let certno: Option<String> = sqlx::query_scalar("SELECT certno FROM person WHERE psn_no = $1")
        .bind(&new.psn_no)
        .fetch_optional(&mut *tx)
        .await?;
    let certno = certno.ok_or_else(|| StoreError::not_found("psn_no", new.psn_no.clone()))?;
    if !certno.eq_ignore_ascii_case(new.certno.trim()) {
        return Err(StoreError::refused(
            "certno",
            "is not the ID number of this person: a session opens only for the person present",
        ));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO service_session (staff_id, psn_no, reason, started_at_ms, until_ms) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {SESSION_COLUMNS}"
    ))
    .bind(new.staff_id)
    .bind(&new.psn_no)
    .bind(new.reason.trim())
    .bind(now_ms)
    .bind(until_ms)
    .fetch_one(&mut *tx)
    .await?;
    let session = access_session_of(&row)?;
    tx.commit().await?;
    Ok(session)
}

pub(crate) async fn access_session_read(
    pool: &Pool,
    session_id: i64,
) -> Result<Option<ServiceSession>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM service_session WHERE session_id = $1"
    ))
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(access_session_of).transpose()
}

pub(crate) async fn access_break_glass_insert(
    pool: &Pool,
    new: &NewBreakGlass,
    subject_ref: &str,
) -> Result<BreakGlassEvent, StoreError> {
    let mut tx = pool.begin().await?;
    let known: Option<String> = sqlx::query_scalar("SELECT psn_no FROM person WHERE psn_no = $1")
        .bind(&new.psn_no)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::not_found("psn_no", new.psn_no.clone()));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO break_glass (staff_id, psn_no, category, document_no, reason, \
         started_at_ms, until_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {GLASS_COLUMNS}"
    ))
    .bind(new.staff_id)
    .bind(&new.psn_no)
    .bind(new.category.code())
    .bind(new.document_no.trim())
    .bind(new.reason.trim())
    .bind(new.started_at_ms)
    .bind(new.until_ms)
    .fetch_one(&mut *tx)
    .await?;
    let event = access_glass_of(&row)?;
    let detail = format!(
        "break-glass {}: {}",
        event.category.code(),
        event.reason.chars().take(200).collect::<String>()
    );
    sqlx::query(
        "INSERT INTO security_alarm (at_ms, kind, staff_id, subject_ref, ref_id, detail) \
         VALUES ($1, 'break_glass', $2, $3, $4, $5)",
    )
    .bind(event.started_at_ms)
    .bind(event.staff_id)
    .bind(subject_ref)
    .bind(event.glass_id)
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(event)
}

pub(crate) async fn access_break_glass_read(
    pool: &Pool,
    glass_id: i64,
) -> Result<Option<BreakGlassEvent>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {GLASS_COLUMNS} FROM break_glass WHERE glass_id = $1"
    ))
    .bind(glass_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(access_glass_of).transpose()
}

pub(crate) async fn access_break_glass_of_person(
    pool: &Pool,
    psn_no: &str,
    limit: i64,
) -> Result<Vec<BreakGlassEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {GLASS_COLUMNS} FROM break_glass WHERE psn_no = $1 \
         ORDER BY glass_id DESC LIMIT $2"
    ))
    .bind(psn_no)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(access_glass_of).collect()
}

pub(crate) async fn access_alarms_page(
    pool: &Pool,
    after: i64,
    limit: i64,
) -> Result<Vec<SecurityAlarm>, StoreError> {
    let rows = sqlx::query(
        "SELECT alarm_id, at_ms, kind, staff_id, subject_ref, ref_id, detail \
         FROM security_alarm WHERE alarm_id > $1 ORDER BY alarm_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SecurityAlarm {
                alarm_id: r.try_get("alarm_id")?,
                at_ms: r.try_get("at_ms")?,
                kind: r.try_get("kind")?,
                staff_id: r.try_get("staff_id")?,
                subject_ref: r.try_get("subject_ref")?,
                ref_id: r.try_get("ref_id")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

pub(crate) async fn access_case_read(
    pool: &Pool,
    case: &CaseRef,
) -> Result<Option<CaseAccess>, StoreError> {
    match case {
        CaseRef::Audit(case_id) => {
            let row = sqlx::query(
                "SELECT c.patn_id, c.opened_by, \
                 CAST((SELECT COUNT(*) FROM audit_case_event e \
                       WHERE e.case_id = c.case_id AND e.kind = 'final') AS BIGINT) AS finals \
                 FROM audit_case c WHERE c.case_id = $1",
            )
            .bind(case_id)
            .fetch_optional(pool)
            .await?;
            row.map(|r| {
                Ok(CaseAccess {
                    psn_no: r.try_get("patn_id")?,
                    open: r.try_get::<i64, _>("finals")? == 0,
                    opened_by: r.try_get("opened_by")?,
                })
            })
            .transpose()
        }
        CaseRef::Registry(case_id) => {
            let row = sqlx::query("SELECT psn_no, status FROM registry_case WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| {
                Ok(CaseAccess {
                    psn_no: r.try_get("psn_no")?,
                    open: r.try_get::<String, _>("status")? == "open",
                    opened_by: String::new(),
                })
            })
            .transpose()
        }
    }
}

pub(crate) async fn access_reveal_insert(
    pool: &Pool,
    staff_id: i64,
    subject_ref: &str,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO staff_reveal (staff_id, at_ms, subject_ref, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(staff_id)
    .bind(now_ms)
    .bind(subject_ref)
    .bind(reason.trim())
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn access_reveals_count(
    pool: &Pool,
    staff_id: i64,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM staff_reveal WHERE staff_id = $1 AND at_ms >= $2",
    )
    .bind(staff_id)
    .bind(since_ms)
    .fetch_one(pool)
    .await?;
    Ok(count)
}
