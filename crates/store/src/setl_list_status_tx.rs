// Settlement list status (4102), the bureau's review and the quality-check reads (4104): the
// SQL. Included into the two backend modules (`pg`, `sq`) after `tx/`, sharing its imports and
// helpers (`Tx`, `ts`, `parse_ts`, `in_write_tx!`). `$n` placeholders, BIGINT and TEXT only.

/// Writes the quality checks of a new list version (in the upload's transaction).
async fn setl_list_qc_insert(
    tx: &mut Tx<'_>,
    setl_list_id: &str,
    qc: &crate::setl_list_qc::QcResult,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO setl_list_qc (setl_list_id, passed, checked_at) VALUES ($1, $2, $3)")
        .bind(setl_list_id)
        .bind(i64::from(qc.passed))
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
    for (seq, p) in qc.problems.iter().enumerate() {
        sqlx::query(
            "INSERT INTO setl_list_qc_problem (setl_list_id, seq, code, field, severity, message) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(setl_list_id)
        .bind(seq as i64)
        .bind(&p.code)
        .bind(&p.field)
        .bind(p.severity.as_str())
        .bind(&p.message)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The status of a list version now: its last status row's, `0` when it has none.
async fn setl_list_status_now(
    tx: &mut Tx<'_>,
    setl_list_id: &str,
) -> Result<(crate::setl_list_status::ListStatus, i64), StoreError> {
    let row = sqlx::query(
        "SELECT to_stas, seq FROM setl_list_status WHERE setl_list_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(setl_list_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok((crate::setl_list_status::ListStatus::Unsubmitted, 0)),
        Some(row) => {
            let to: String = row.try_get(0)?;
            let seq: i64 = row.try_get(1)?;
            Ok((crate::setl_list_status::status_of(&to)?, seq + 1))
        }
    }
}

/// The status of the latest version of `setl_id`'s list at `fixmedins_code`, when it has one (a
/// correction checks it before it becomes the next version).
async fn setl_list_latest_status(
    tx: &mut Tx<'_>,
    fixmedins_code: &str,
    setl_id: &str,
) -> Result<Option<crate::setl_list_status::ListStatus>, StoreError> {
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT setl_list_id FROM setl_list WHERE fixmedins_code = $1 AND setl_id = $2 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(fixmedins_code)
    .bind(setl_id)
    .fetch_optional(&mut **tx)
    .await?;
    match latest {
        None => Ok(None),
        Some(id) => Ok(Some(setl_list_status_now(tx, &id).await?.0)),
    }
}

/// The version a status change is about, locked on PostgreSQL: its id, institution,
/// settlement, whether it is its settlement's latest, the settlement's day, and its checks.
struct VersionForChange {
    setl_list_id: String,
    fixmedins_code: String,
    setl_id: String,
    latest: bool,
    setl_date: NaiveDate,
    qc: crate::setl_list_qc::QcResult,
}

async fn setl_list_version_for_change(
    tx: &mut Tx<'_>,
    setl_list_id: &str,
) -> Result<Option<VersionForChange>, StoreError> {
    // The person's lock first, as a 4101A takes it: a correction and a status change of the same
    // list run one after the other, so "the latest version" cannot change under either.
    let psn_no: Option<String> =
        sqlx::query_scalar("SELECT psn_no FROM setl_list WHERE setl_list_id = $1")
            .bind(setl_list_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(psn_no) = psn_no else {
        return Ok(None);
    };
    lock_person(tx, &psn_no).await?;
    let lock = if IS_PG { " FOR UPDATE OF l" } else { "" };
    let row = sqlx::query(&format!(
        "SELECT l.setl_list_id, l.fixmedins_code, l.setl_id, \
         (SELECT MAX(v.version) FROM setl_list v WHERE v.fixmedins_code = l.fixmedins_code AND v.setl_id = l.setl_id) - l.version, \
         st.setl_date, q.passed \
         FROM setl_list l JOIN settlement st ON st.setl_id = l.setl_id \
         JOIN setl_list_qc q ON q.setl_list_id = l.setl_list_id \
         WHERE l.setl_list_id = $1{lock}"
    ))
    .bind(setl_list_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let setl_date: String = row.try_get(4)?;
    let passed: i64 = row.try_get(5)?;
    let problems = setl_list_problems_of(&mut **tx, &[row.try_get::<String, _>(0)?])
        .await?
        .remove(setl_list_id)
        .unwrap_or_default();
    Ok(Some(VersionForChange {
        setl_list_id: row.try_get(0)?,
        fixmedins_code: row.try_get(1)?,
        setl_id: row.try_get(2)?,
        latest: row.try_get::<i64, _>(3)? == 0,
        setl_date: NaiveDate::parse_from_str(&setl_date, "%Y-%m-%d")
            .map_err(|_| StoreError::Invariant(format!("settlement setl_date {setl_date:?}")))?,
        qc: crate::setl_list_qc::QcResult {
            passed: passed == 1,
            problems,
        },
    }))
}

/// Appends a status row.
#[allow(clippy::too_many_arguments)]
async fn setl_list_status_insert(
    tx: &mut Tx<'_>,
    v: &VersionForChange,
    seq: i64,
    from: crate::setl_list_status::ListStatus,
    to: crate::setl_list_status::ListStatus,
    actor: &str,
    msgid: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO setl_list_status (setl_list_id, seq, from_stas, to_stas, actor, fixmedins_code, msgid, reason, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&v.setl_list_id)
    .bind(seq)
    .bind(from.code())
    .bind(to.code())
    .bind(actor)
    .bind(&v.fixmedins_code)
    .bind(msgid)
    .bind(reason)
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// 4102 for `fixmedins_code`: replay by `msgid`, else check and append the change.
pub(crate) async fn setl_list_change_status(
    pool: &Pool,
    fixmedins_code: &str,
    msgid: &str,
    request: &crate::setl_list_status::StatusChangeRequest,
    to: crate::setl_list_status::ListStatus,
    now: NaiveDateTime,
) -> Result<crate::setl_list_status::StatusChanged, StoreError> {
    use crate::setl_list_status::{institution_transition, status_of, StatusChanged};
    in_write_tx!(pool, |tx| {
        async {
            // A replay: the same msgid of this institution answers its first change, if it is
            // the same change; any other use of the msgid is refused.
            let done = sqlx::query(
                "SELECT s.setl_list_id, l.setl_id, s.from_stas, s.to_stas, s.changed_at \
                 FROM setl_list_status s JOIN setl_list l ON l.setl_list_id = s.setl_list_id \
                 WHERE s.fixmedins_code = $1 AND s.msgid = $2",
            )
            .bind(fixmedins_code)
            .bind(msgid)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = done {
                let changed = StatusChanged {
                    setl_list_id: row.try_get(0)?,
                    setl_id: row.try_get(1)?,
                    from: status_of(&row.try_get::<String, _>(2)?)?,
                    to: status_of(&row.try_get::<String, _>(3)?)?,
                    changed_at: parse_ts(&row.try_get::<String, _>(4)?)?,
                };
                let same = changed.to == to
                    && request
                        .setl_list_id
                        .as_ref()
                        .is_none_or(|id| *id == changed.setl_list_id)
                    && request
                        .setl_id
                        .as_ref()
                        .is_none_or(|id| *id == changed.setl_id);
                if same {
                    return Ok(changed);
                }
                return Err(StoreError::MsgidConflict {
                    msgid: msgid.to_owned(),
                    infno: "4102".to_owned(),
                });
            }
            msgid_unused_by_settlement_path(&mut tx, fixmedins_code, msgid).await?;

            // The version: the one named, else the settlement's latest.
            let setl_list_id = match (&request.setl_list_id, &request.setl_id) {
                (Some(id), _) => id.clone(),
                (None, Some(setl_id)) => sqlx::query_scalar::<_, String>(
                    "SELECT setl_list_id FROM setl_list WHERE fixmedins_code = $1 AND setl_id = $2 \
                     ORDER BY version DESC LIMIT 1",
                )
                .bind(fixmedins_code)
                .bind(setl_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found("data.setl_id", setl_id))?,
                (None, None) => {
                    return Err(StoreError::bad("data.setl_list_id", "is required (or setl_id)"))
                }
            };
            let field = if request.setl_list_id.is_some() {
                "data.setl_list_id"
            } else {
                "data.setl_id"
            };
            let shown = request
                .setl_list_id
                .clone()
                .or_else(|| request.setl_id.clone())
                .unwrap_or_default();
            let v = setl_list_version_for_change(&mut tx, &setl_list_id)
                .await?
                .ok_or_else(|| StoreError::not_found(field, &shown))?;
            // Another institution's list is answered as absent.
            if v.fixmedins_code != fixmedins_code {
                return Err(StoreError::Forbidden {
                    field: field.to_owned(),
                    value: shown,
                });
            }
            if request.setl_id.as_ref().is_some_and(|id| *id != v.setl_id) {
                return Err(StoreError::bad(
                    "data.setl_id",
                    format!("list {} is for settlement {}", v.setl_list_id, v.setl_id),
                ));
            }
            if !v.latest {
                return Err(StoreError::refused(
                    field,
                    format!(
                        "{} is not the latest version of settlement {}'s list",
                        v.setl_list_id, v.setl_id
                    ),
                ));
            }
            request.deadline.check(field, v.setl_date, now.date())?;
            let (from, seq) = setl_list_status_now(&mut tx, &v.setl_list_id).await?;
            institution_transition(from, to, v.qc.passed, &v.qc.blocking_summary())?;
            let actor = format!("inst:{fixmedins_code}");
            setl_list_status_insert(&mut tx, &v, seq, from, to, &actor, msgid, "", now).await?;
            Ok(StatusChanged {
                setl_list_id: v.setl_list_id,
                setl_id: v.setl_id,
                from,
                to,
                changed_at: now,
            })
        }
        .await
    })
}

/// The bureau's review: a submitted version becomes approved (2) or rejected (3).
pub(crate) async fn setl_list_review(
    pool: &Pool,
    setl_list_id: &str,
    approve: bool,
    staff_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<crate::setl_list_status::StatusChanged, StoreError> {
    in_write_tx!(pool, |tx| {
        async {
            let v = setl_list_version_for_change(&mut tx, setl_list_id)
                .await?
                .ok_or_else(|| StoreError::not_found("setl_list_id", setl_list_id))?;
            if !v.latest {
                return Err(StoreError::refused(
                    "setl_list_id",
                    format!("{setl_list_id} is not the latest version of its list"),
                ));
            }
            let (from, seq) = setl_list_status_now(&mut tx, setl_list_id).await?;
            let to = crate::setl_list_status::review_transition(from, approve)?;
            let actor = format!("staff:{staff_id}");
            setl_list_status_insert(&mut tx, &v, seq, from, to, &actor, "", reason, now).await?;
            Ok(crate::setl_list_status::StatusChanged {
                setl_list_id: v.setl_list_id,
                setl_id: v.setl_id,
                from,
                to,
                changed_at: now,
            })
        }
        .await
    })
}

/// The problems of some versions, by version, in their order.
async fn setl_list_problems_of<'e, E>(
    executor: E,
    ids: &[String],
) -> Result<HashMap<String, Vec<crate::setl_list_qc::QcProblem>>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let mut out: HashMap<String, Vec<crate::setl_list_qc::QcProblem>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT setl_list_id, code, field, severity, message FROM setl_list_qc_problem \
         WHERE setl_list_id IN ({}) ORDER BY setl_list_id, seq",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    for row in query.fetch_all(executor).await? {
        let severity: String = row.try_get(3)?;
        out.entry(row.try_get(0)?)
            .or_default()
            .push(crate::setl_list_qc::QcProblem {
                code: row.try_get(1)?,
                field: row.try_get(2)?,
                severity: crate::setl_list_status::severity_of(&severity)?,
                message: row.try_get(4)?,
            });
    }
    Ok(out)
}

/// 4104 (one institution's) and the staff list (any institution's, by status and month): list
/// versions with their status and checks, newest first.
pub(crate) async fn setl_list_qc_views(
    pool: &Pool,
    fixmedins_code: Option<&str>,
    q: &crate::setl_list_status::QcQuery,
    staff: Option<&crate::setl_list_status::StaffListQuery>,
) -> Result<Vec<crate::setl_list_status::QcView>, StoreError> {
    const STATUS: &str =
        "COALESCE((SELECT s.to_stas FROM setl_list_status s WHERE s.setl_list_id = l.setl_list_id \
                          ORDER BY s.seq DESC LIMIT 1), '0')";
    let sql = format!(
        "SELECT l.setl_list_id, l.fixmedins_code, l.setl_id, l.mdtrt_id, l.psn_no, l.version, l.uploaded_at, \
         st.setl_date, {STATUS}, g.status, g.drg, q.passed, q.checked_at \
         FROM setl_list l JOIN settlement st ON st.setl_id = l.setl_id \
         JOIN setl_list_group g ON g.setl_list_id = l.setl_list_id \
         JOIN setl_list_qc q ON q.setl_list_id = l.setl_list_id \
         WHERE ($1 = '' OR l.fixmedins_code = $1) AND ($2 = '' OR l.setl_id = $2) \
           AND ($3 = '' OR l.setl_list_id = $3) \
           AND ($3 <> '' OR l.version = (SELECT MAX(v.version) FROM setl_list v WHERE v.fixmedins_code = l.fixmedins_code AND v.setl_id = l.setl_id)) \
           AND ($4 = '' OR l.uploaded_at >= $4) AND ($5 = '' OR l.uploaded_at <= $5) \
           AND ($6 = '' OR {STATUS} = $6) AND ($7 = '' OR substr(st.setl_date, 1, 7) = $7) \
         ORDER BY l.uploaded_at DESC, l.setl_list_id DESC LIMIT $8 OFFSET $9"
    );
    let rows = sqlx::query(&sql)
        .bind(fixmedins_code.unwrap_or(""))
        .bind(q.setl_id.as_deref().unwrap_or(""))
        .bind(q.setl_list_id.as_deref().unwrap_or(""))
        .bind(
            q.begin_date
                .map(|d| format!("{d} 00:00:00"))
                .unwrap_or_default(),
        )
        .bind(
            q.end_date
                .map(|d| format!("{d} 23:59:59"))
                .unwrap_or_default(),
        )
        .bind(staff.and_then(|s| s.status).map(|s| s.code()).unwrap_or(""))
        .bind(
            staff
                .and_then(|s| s.month)
                .map(|(year, month)| format!("{year:04}-{month:02}"))
                .unwrap_or_default(),
        )
        .bind(q.page_size)
        .bind((q.page_num - 1) * q.page_size)
        .fetch_all(pool)
        .await?;
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    let mut problems = setl_list_problems_of(pool, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get(0)?;
        let setl_date: String = r.try_get(7)?;
        let status: String = r.try_get(8)?;
        let passed: i64 = r.try_get(11)?;
        out.push(crate::setl_list_status::QcView {
            problems: problems.remove(&id).unwrap_or_default(),
            setl_list_id: id,
            fixmedins_code: r.try_get(1)?,
            setl_id: r.try_get(2)?,
            mdtrt_id: r.try_get(3)?,
            psn_no: r.try_get(4)?,
            version: r.try_get(5)?,
            uploaded_at: parse_ts(&r.try_get::<String, _>(6)?)?,
            setl_date: NaiveDate::parse_from_str(&setl_date, "%Y-%m-%d").map_err(|_| {
                StoreError::Invariant(format!("settlement setl_date {setl_date:?}"))
            })?,
            status: crate::setl_list_status::status_of(&status)?,
            group_status: r.try_get(9)?,
            drg: r.try_get(10)?,
            passed: passed == 1,
            checked_at: parse_ts(&r.try_get::<String, _>(12)?)?,
        });
    }
    Ok(out)
}
