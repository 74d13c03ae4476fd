// Registry case work (crate::casework), written once for both backends: included in `pg` and
// `sq` by `backend!`.

/// The columns of a registry case, in `RegistryCase` order.
const REGISTRY_CASE_COLUMNS: &str = "case_id, kind, psn_no, certno, reason, batch_id, line, status";

fn registry_case_of(
    row: &<Db as sqlx::Database>::Row,
) -> Result<crate::feed::RegistryCase, StoreError> {
    Ok(crate::feed::RegistryCase {
        case_id: row.try_get(0)?,
        kind: row.try_get(1)?,
        psn_no: row.try_get(2)?,
        certno: row.try_get(3)?,
        reason: row.try_get(4)?,
        batch_id: row.try_get(5)?,
        line: u64::try_from(row.try_get::<i64, _>(6)?).unwrap_or(0),
        status: row.try_get(7)?,
    })
}

pub(crate) async fn casework_list(
    pool: &Pool,
    query: &crate::casework::CaseQuery,
) -> Result<Vec<crate::feed::RegistryCase>, StoreError> {
    let limit = query.limit.clamp(1, crate::casework::CASES_PAGE_MAX) as i64;
    let sql = format!(
        "SELECT {REGISTRY_CASE_COLUMNS} FROM registry_case \
         WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2) \
         ORDER BY case_id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(query.status.as_deref().unwrap_or(""))
        .bind(query.kind.as_deref().unwrap_or(""))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(registry_case_of).collect()
}

pub(crate) async fn casework_file(
    pool: &Pool,
    case_id: i64,
) -> Result<crate::casework::CaseFile, StoreError> {
    let mut conn = pool.acquire().await?;
    casework_file_in(&mut conn, case_id).await
}

async fn casework_file_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    case_id: i64,
) -> Result<crate::casework::CaseFile, StoreError> {
    let sql = format!("SELECT {REGISTRY_CASE_COLUMNS} FROM registry_case WHERE case_id = $1");
    let row = sqlx::query(&sql)
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::not_found("case_id", case_id.to_string()))?;
    let case = registry_case_of(&row)?;
    let steps = sqlx::query(
        "SELECT seq, staff_id, action, outcome, psn_no, reason, at FROM registry_case_step \
         WHERE case_id = $1 ORDER BY seq",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(crate::casework::CaseStep {
            seq: r.try_get(0)?,
            staff_id: r.try_get(1)?,
            action: r.try_get(2)?,
            outcome: r.try_get(3)?,
            psn_no: r.try_get(4)?,
            reason: r.try_get(5)?,
            at: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(crate::casework::CaseFile { case, steps })
}

pub(crate) async fn casework_step(
    pool: &Pool,
    case_id: i64,
    staff_id: i64,
    action: &crate::casework::CaseAction,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    in_write_tx!(pool, |tx| {
        casework_step_in(&mut tx, case_id, staff_id, action, reason, now).await
    })
}

async fn casework_step_in(
    tx: &mut Tx<'_>,
    case_id: i64,
    staff_id: i64,
    action: &crate::casework::CaseAction,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    use crate::casework::{CaseAction, CaseOutcome};
    let lock = if IS_PG { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT kind, status FROM registry_case WHERE case_id = $1{lock}");
    let (kind, status): (String, String) = sqlx::query_as(&sql)
        .bind(case_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("case_id", case_id.to_string()))?;
    if status != "open" {
        return Err(StoreError::refused("case_id", "the case is closed"));
    }
    let (steps, noted_by_actor): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN staff_id = $2 AND action = 'note' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM registry_case_step WHERE case_id = $1",
    )
    .bind(case_id)
    .bind(staff_id)
    .fetch_one(&mut **tx)
    .await?;
    let (action_code, outcome, psn_no) = match action {
        CaseAction::Note => ("note", "", ""),
        CaseAction::Resolve { outcome, psn_no } => {
            if noted_by_actor > 0 {
                return Err(StoreError::refused(
                    "staff",
                    "who filed a note on a case may not resolve it (separation of duties)",
                ));
            }
            if *outcome == CaseOutcome::Matched {
                // A fallback match (§8.2) is confirmed the same way: the reviewer names the
                // person, whom the case proposed or another.
                if kind != "unmatched" && kind != "fallback_match" {
                    return Err(StoreError::refused(
                        "outcome",
                        format!("a `{kind}` case is not resolved by matching a person"),
                    ));
                }
                let psn_no = psn_no.as_deref().unwrap_or("");
                let known: Option<(String,)> =
                    sqlx::query_as("SELECT psn_no FROM person WHERE psn_no = $1")
                        .bind(psn_no)
                        .fetch_optional(&mut **tx)
                        .await?;
                if known.is_none() {
                    return Err(StoreError::not_found("psn_no", psn_no));
                }
            }
            ("resolve", outcome.code(), psn_no.as_deref().unwrap_or(""))
        }
    };
    sqlx::query(
        "INSERT INTO registry_case_step (case_id, seq, staff_id, action, outcome, psn_no, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case_id)
    .bind(steps + 1)
    .bind(staff_id)
    .bind(action_code)
    .bind(outcome)
    .bind(psn_no)
    .bind(reason.trim())
    .bind(now.format("%Y-%m-%d %H:%M:%S").to_string())
    .execute(&mut **tx)
    .await?;
    if action_code == "resolve" {
        sqlx::query("UPDATE registry_case SET status = 'closed' WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
