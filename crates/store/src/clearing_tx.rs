// Monthly clearing (3203/3204) and the file exchange (9101, 3202, 9102): the bureau's month
// totals, the append-only applications and withdrawals, exchange files, each write with its
// idempotency record. Compiled once per backend; see lib.rs and clearing.rs.

use crate::clearing::{
    apply_differences, ClearingApplication, ClearingApply, ClearingMonth, ClearingOutcome,
    ClearingReply, ClearingTotal, ClearingWithdraw, DetailRow, ExchangeFile, FileToStore,
};

/// Settlements read for one detail reconciliation: a large hospital settles some 100,000 bills
/// a month; twice that bounds the memory of one 3202.
const STMT_DETAIL_ROWS_MAX: i64 = 200_000;

/// The totals query, grouped by institution, scheme and clearing type; `$1`/`$2` the half-open
/// day range, `$3` an institution, `$4` a region, `$5` a scheme, `$6` a clearing type (each
/// NULL for all).
const CLEARING_TOTALS_SQL: &str = "SELECT s.fixmedins_code, s.insutype, s.clr_type, \
     CAST(COALESCE(SUM(s.medfee_sumamt), 0) AS BIGINT), \
     CAST(COALESCE(SUM(s.fund_pay_sumamt), 0) AS BIGINT), \
     CAST(COALESCE(SUM(s.acct_pay), 0) AS BIGINT), \
     CAST(COALESCE(SUM(s.psn_cash_pay), 0) AS BIGINT), \
     CAST(COALESCE(SUM(s.hosp_part_amt), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN s.setl_sign = 1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN s.setl_sign = -1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
     FROM settlement s JOIN institution i ON i.fixmedins_code = s.fixmedins_code \
     WHERE s.setl_date >= $1 AND s.setl_date < $2 \
     AND (CAST($3 AS TEXT) IS NULL OR s.fixmedins_code = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR i.admdvs = $4) \
     AND (CAST($5 AS TEXT) IS NULL OR s.insutype = $5) \
     AND (CAST($6 AS TEXT) IS NULL OR s.clr_type = $6) \
     GROUP BY s.fixmedins_code, s.insutype, s.clr_type \
     ORDER BY s.fixmedins_code, s.insutype, s.clr_type";

fn clearing_total_row(row: &<Db as sqlx::Database>::Row) -> Result<ClearingTotal, StoreError> {
    Ok(ClearingTotal {
        fixmedins_code: row.try_get(0)?,
        insutype: row.try_get(1)?,
        clr_type: row.try_get(2)?,
        medfee_sumamt_fen: row.try_get(3)?,
        fund_pay_sumamt_fen: row.try_get(4)?,
        acct_pay_fen: row.try_get(5)?,
        cash_pay_fen: row.try_get(6)?,
        hosp_part_fen: row.try_get(7)?,
        settlements: row.try_get(8)?,
        reversals: row.try_get(9)?,
    })
}

pub(crate) async fn clearing_totals(
    pool: &Pool,
    fixmedins_code: Option<&str>,
    from: NaiveDate,
    until: NaiveDate,
    admdvs: Option<&str>,
) -> Result<Vec<ClearingTotal>, StoreError> {
    let rows = sqlx::query(CLEARING_TOTALS_SQL)
        .bind(from.to_string())
        .bind(until.to_string())
        .bind(fixmedins_code)
        .bind(admdvs)
        .bind(None::<&str>)
        .bind(None::<&str>)
        .fetch_all(pool)
        .await?;
    rows.iter().map(clearing_total_row).collect()
}

const APPLICATION_COLUMNS: &str = "a.clr_appy_evt_id, a.fixmedins_code, a.clr_ym, a.insutype, \
     a.clr_type, a.setl_optins, a.medfee_sumamt, a.fund_pay_sumamt, a.acct_pay, a.cash_payamt, \
     a.fixmedins_setl_cnt, a.msgid, a.opter, a.opter_name, a.created_at, a.locked_by_run, \
     w.msgid, w.created_at";

fn application_row(row: &<Db as sqlx::Database>::Row) -> Result<ClearingApplication, StoreError> {
    let month: String = row.try_get(2)?;
    let withdrawn_msgid: Option<String> = row.try_get(16)?;
    let withdrawn_at: Option<String> = row.try_get(17)?;
    let withdrawn = match (withdrawn_msgid, withdrawn_at) {
        (Some(msgid), Some(at)) => Some((msgid, parse_ts(&at)?)),
        _ => None,
    };
    Ok(ClearingApplication {
        clr_appy_evt_id: row.try_get(0)?,
        fixmedins_code: row.try_get(1)?,
        month: ClearingMonth::parse(&month, "clr_ym").map_err(|_| {
            StoreError::Invariant(format!("stored clearing month {month:?} is not YYYY-MM"))
        })?,
        insutype: row.try_get(3)?,
        clr_type: row.try_get(4)?,
        setl_optins: row.try_get(5)?,
        medfee_sumamt_fen: row.try_get(6)?,
        fund_pay_sumamt_fen: row.try_get(7)?,
        acct_pay_fen: row.try_get(8)?,
        cash_payamt_fen: row.try_get(9)?,
        fixmedins_setl_cnt: row.try_get(10)?,
        msgid: row.try_get(11)?,
        opter: row.try_get(12)?,
        opter_name: row.try_get(13)?,
        created_at: parse_ts(&row.try_get::<String, _>(14)?)?,
        locked_by_run: row.try_get(15)?,
        withdrawn,
    })
}

/// The applications of a month (for one region or all), sorted by institution, scheme,
/// clearing type and attempt.
pub(crate) async fn clearing_applications(
    pool: &Pool,
    month: &str,
    admdvs: Option<&str>,
) -> Result<Vec<ClearingApplication>, StoreError> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM clearing_application a \
         JOIN institution i ON i.fixmedins_code = a.fixmedins_code \
         LEFT JOIN clearing_withdrawal w ON w.clr_appy_evt_id = a.clr_appy_evt_id \
         WHERE a.clr_ym = $1 AND (CAST($2 AS TEXT) IS NULL OR i.admdvs = $2) \
         ORDER BY a.fixmedins_code, a.insutype, a.clr_type, a.attempt"
    );
    let rows = sqlx::query(&sql)
        .bind(month)
        .bind(admdvs)
        .fetch_all(pool)
        .await?;
    rows.iter().map(application_row).collect()
}

pub(crate) async fn clearing_replay(
    pool: &Pool,
    env: &Envelope,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT infno, request_hash, response, effect_kind, effect_ref FROM idempotency \
         WHERE fixmedins_code = $1 AND msgid = $2",
    )
    .bind(&env.fixmedins_code)
    .bind(&env.msgid)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let infno: String = row.try_get(0)?;
    let hash: String = row.try_get(1)?;
    let effect_kind: String = row.try_get(3)?;
    if effect_kind == "barred" {
        let by: String = row.try_get(4)?;
        return Err(StoreError::refused(
            "msgid",
            format!(
                "{} was revoked by 2601 message {by} before it arrived",
                env.msgid
            ),
        ));
    }
    if hash != hex(&env.request_hash) || infno != env.infno {
        return Err(StoreError::MsgidConflict {
            msgid: env.msgid.clone(),
            infno,
        });
    }
    Ok(Some(row.try_get(2)?))
}

/// Finishes a clearing write: renders the outcome, records it under the msgid and commits; a
/// msgid recorded meanwhile (a concurrent twin) rolls ours back and answers with the twin's.
async fn finish_clearing(
    pool: &Pool,
    mut tx: Tx<'static>,
    env: &Envelope,
    outcome: ClearingOutcome,
    effect_kind: &str,
    effect_ref: &str,
    render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
) -> Result<ClearingReply, StoreError> {
    let response = render(&outcome);
    let inserted = insert_idempotency(&mut tx, env, &response, effect_kind, effect_ref).await;
    match inserted {
        Ok(true) => {
            tx.commit().await?;
            Ok(ClearingReply {
                response,
                outcome: Some(outcome),
            })
        }
        Ok(false) => {
            tx.rollback().await?;
            match clearing_replay(pool, env).await? {
                Some(response) => Ok(ClearingReply {
                    response,
                    outcome: None,
                }),
                None => Err(StoreError::Invariant(format!(
                    "msgid {} collided with an idempotency record that cannot be read",
                    env.msgid
                ))),
            }
        }
        Err(err) => {
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

/// What a clearing write did: its outcome and its idempotency record's effect.
type ClearingDone = (ClearingOutcome, &'static str, String);

/// Runs a clearing write: the replay check, then `$body` (which uses `$tx` and yields a
/// [`ClearingDone`]) in a write transaction, rolled back at once on a refusal, else finished
/// with its idempotency record.
macro_rules! clearing_write {
    ($pool:expr, $env:expr, $render:expr, |$tx:ident| $body:expr) => {{
        if let Some(response) = clearing_replay($pool, $env).await? {
            return Ok(ClearingReply {
                response,
                outcome: None,
            });
        }
        let mut $tx = begin_write($pool).await?;
        let done: Result<ClearingDone, StoreError> = $body;
        match done {
            Ok((outcome, kind, reference)) => {
                finish_clearing($pool, $tx, $env, outcome, kind, &reference, $render).await
            }
            Err(err) => {
                let _ = $tx.rollback().await;
                Err(err)
            }
        }
    }};
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) async fn clearing_apply(
    pool: &Pool,
    env: &Envelope,
    apply: &ClearingApply,
    clr_appy_evt_id: &str,
    render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
) -> Result<ClearingReply, StoreError> {
    clearing_write!(pool, env, render, |tx| apply_in(
        &mut tx,
        env,
        apply,
        clr_appy_evt_id
    )
    .await)
}

async fn apply_in(
    tx: &mut Tx<'_>,
    env: &Envelope,
    apply: &ClearingApply,
    clr_appy_evt_id: &str,
) -> Result<ClearingDone, StoreError> {
    let month = apply.month.text();
    let prior = sqlx::query(
        "SELECT a.clr_appy_evt_id, w.clr_appy_evt_id FROM clearing_application a \
         LEFT JOIN clearing_withdrawal w ON w.clr_appy_evt_id = a.clr_appy_evt_id \
         WHERE a.fixmedins_code = $1 AND a.clr_ym = $2 AND a.insutype = $3 AND a.clr_type = $4 \
         ORDER BY a.attempt",
    )
    .bind(&env.fixmedins_code)
    .bind(&month)
    .bind(&apply.insutype)
    .bind(&apply.clr_type)
    .fetch_all(&mut **tx)
    .await?;
    for row in &prior {
        let id: String = row.try_get(0)?;
        let withdrawn: Option<String> = row.try_get(1)?;
        if withdrawn.is_none() {
            return Err(StoreError::refused(
                "input.data",
                format!(
                    "clr_type {}: application {id} for {month} (insutype {}) stands; \
                     withdraw it with 3204 before applying again",
                    apply.clr_type, apply.insutype
                ),
            ));
        }
    }
    let attempt = prior.len() as i64;
    let next_month = apply
        .month
        .last_day()
        .succ_opt()
        .unwrap_or(apply.month.last_day());
    let found = sqlx::query(CLEARING_TOTALS_SQL)
        .bind(apply.month.first_day().to_string())
        .bind(next_month.to_string())
        .bind(&env.fixmedins_code)
        .bind(None::<&str>)
        .bind(&apply.insutype)
        .bind(&apply.clr_type)
        .fetch_optional(&mut **tx)
        .await?;
    let totals = match found {
        Some(row) => clearing_total_row(&row)?,
        None => ClearingTotal {
            fixmedins_code: env.fixmedins_code.clone(),
            insutype: apply.insutype.clone(),
            clr_type: apply.clr_type.clone(),
            ..ClearingTotal::default()
        },
    };
    let diffs = apply_differences(apply, &totals);
    if !diffs.is_empty() {
        return Err(StoreError::refused(
            "input.data",
            format!("clr_type {}: {}", apply.clr_type, diffs.join("; ")),
        ));
    }
    let inserted = sqlx::query(
        "INSERT INTO clearing_application (clr_appy_evt_id, fixmedins_code, clr_ym, insutype, \
         clr_type, setl_optins, attempt, medfee_sumamt, fund_pay_sumamt, acct_pay, cash_payamt, \
         fixmedins_setl_cnt, msgid, opter, opter_name, created_at, locked_by_run) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL)",
    )
    .bind(clr_appy_evt_id)
    .bind(&env.fixmedins_code)
    .bind(&month)
    .bind(&apply.insutype)
    .bind(&apply.clr_type)
    .bind(&apply.setl_optins)
    .bind(attempt)
    .bind(apply.medfee_sumamt_fen)
    .bind(apply.fund_pay_sumamt_fen)
    .bind(apply.acct_pay_fen)
    .bind(apply.cash_payamt_fen.unwrap_or(totals.cash_pay_fen))
    .bind(apply.fixmedins_setl_cnt)
    .bind(&env.msgid)
    .bind(&apply.opter)
    .bind(&apply.opter_name)
    .bind(ts(env.now))
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => {}
        // Two applications of one key at once: the attempt number collides.
        Err(err) if is_unique_violation(&err) => {
            return Err(StoreError::refused(
                "input.data",
                format!(
                    "clr_type {}: another application for {month} (insutype {}) was \
                     accepted at the same time",
                    apply.clr_type, apply.insutype
                ),
            ))
        }
        Err(err) => return Err(err.into()),
    }
    let outcome = ClearingOutcome::Applied {
        clr_appy_evt_id: clr_appy_evt_id.to_owned(),
        totals,
    };
    Ok((outcome, "clearing_application", clr_appy_evt_id.to_owned()))
}

pub(crate) async fn clearing_withdraw(
    pool: &Pool,
    env: &Envelope,
    withdraw: &ClearingWithdraw,
    render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
) -> Result<ClearingReply, StoreError> {
    clearing_write!(pool, env, render, |tx| clearing_withdraw_in(&mut tx, env, withdraw)
        .await)
}

async fn clearing_withdraw_in(
    tx: &mut Tx<'_>,
    env: &Envelope,
    withdraw: &ClearingWithdraw,
) -> Result<ClearingDone, StoreError> {
    let id = &withdraw.clr_appy_evt_id;
    let absent = || StoreError::NotFound {
        field: "clr_appy_evt_id".into(),
        value: id.clone(),
    };
    // PostgreSQL: the row lock orders a withdrawal and the payment run that locks the same
    // application; SQLite has one writer.
    let sql = if IS_PG {
        "SELECT a.fixmedins_code, a.locked_by_run FROM clearing_application a \
         WHERE a.clr_appy_evt_id = $1 FOR UPDATE"
    } else {
        "SELECT a.fixmedins_code, a.locked_by_run FROM clearing_application a \
         WHERE a.clr_appy_evt_id = $1"
    };
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(absent)?;
    let owner: String = row.try_get(0)?;
    let locked_by_run: Option<String> = row.try_get(1)?;
    // Another institution's application is reported as absent: no existence leak.
    if owner != env.fixmedins_code {
        return Err(absent());
    }
    let withdrawn = sqlx::query("SELECT msgid FROM clearing_withdrawal WHERE clr_appy_evt_id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = withdrawn {
        let by: String = row.try_get(0)?;
        return Err(StoreError::refused(
            "clr_appy_evt_id",
            format!("{id} was already withdrawn by message {by}"),
        ));
    }
    if let Some(run) = locked_by_run {
        return Err(StoreError::refused(
            "clr_appy_evt_id",
            format!("{id} was paid by payment run {run} and can no longer be withdrawn"),
        ));
    }
    let inserted = sqlx::query(
        "INSERT INTO clearing_withdrawal (clr_appy_evt_id, msgid, opter, opter_name, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(&env.msgid)
    .bind(&withdraw.opter)
    .bind(&withdraw.opter_name)
    .bind(ts(env.now))
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            return Err(StoreError::refused(
                "clr_appy_evt_id",
                format!("{id} was withdrawn by another message at the same time"),
            ))
        }
        Err(err) => return Err(err.into()),
    }
    let outcome = ClearingOutcome::Withdrawn {
        clr_appy_evt_id: id.clone(),
    };
    Ok((outcome, "clearing_withdrawal", id.clone()))
}

pub(crate) async fn exchange_store(
    pool: &Pool,
    env: &Envelope,
    file: &FileToStore,
    file_qury_no: &str,
    render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
) -> Result<ClearingReply, StoreError> {
    clearing_write!(pool, env, render, |tx| store_file_in(
        &mut tx,
        env,
        file,
        file_qury_no
    )
    .await)
}

async fn store_file_in(
    tx: &mut Tx<'_>,
    env: &Envelope,
    file: &FileToStore,
    file_qury_no: &str,
) -> Result<ClearingDone, StoreError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let dld_endtime = env.now + chrono::Duration::hours(crate::clearing::EXCHANGE_FILE_HOURS);
    let digest: [u8; 32] = sha2::Sha256::digest(&file.content).into();
    sqlx::query(
        "INSERT INTO exchange_file (file_qury_no, fixmedins_code, kind, filename, size_bytes, \
         sha256, content_base64, msgid, created_at, dld_endtime) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(file_qury_no)
    .bind(&env.fixmedins_code)
    .bind(file.kind.code())
    .bind(&file.filename)
    .bind(file.content.len() as i64)
    .bind(hex(&digest))
    .bind(base64::engine::general_purpose::STANDARD.encode(&file.content))
    .bind(&env.msgid)
    .bind(ts(env.now))
    .bind(ts(dld_endtime))
    .execute(&mut **tx)
    .await?;
    let outcome = ClearingOutcome::FileStored {
        file_qury_no: file_qury_no.to_owned(),
        filename: file.filename.clone(),
        dld_endtime,
        balanced: file.balanced,
    };
    Ok((outcome, "exchange_file", file_qury_no.to_owned()))
}

pub(crate) async fn exchange_file(
    pool: &Pool,
    file_qury_no: &str,
) -> Result<Option<ExchangeFile>, StoreError> {
    use base64::Engine as _;
    let row = sqlx::query(
        "SELECT file_qury_no, fixmedins_code, filename, content_base64, dld_endtime, size_bytes \
         FROM exchange_file WHERE file_qury_no = $1",
    )
    .bind(file_qury_no)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.try_get(3)?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|err| {
            StoreError::Invariant(format!("stored file {file_qury_no} is not base64: {err}"))
        })?;
    let size: i64 = row.try_get(5)?;
    if content.len() as i64 != size {
        return Err(StoreError::Invariant(format!(
            "stored file {file_qury_no} has {} bytes, its row says {size}",
            content.len()
        )));
    }
    Ok(Some(ExchangeFile {
        file_qury_no: row.try_get(0)?,
        fixmedins_code: row.try_get(1)?,
        filename: row.try_get(2)?,
        content,
        dld_endtime: parse_ts(&row.try_get::<String, _>(4)?)?,
    }))
}

pub(crate) async fn stmt_detail_rows(
    pool: &Pool,
    fixmedins_code: &str,
    begndate: NaiveDate,
    enddate: NaiveDate,
    clr_type: &str,
    insutype: Option<&str>,
) -> Result<Vec<DetailRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.setl_id, s.orig_setl_id, s.mdtrt_id, s.psn_no, s.medfee_sumamt, \
         s.fund_pay_sumamt, s.acct_pay, s.setl_sign, s.medins_setl_id FROM settlement s \
         WHERE s.fixmedins_code = $1 AND s.setl_date >= $2 AND s.setl_date <= $3 \
         AND s.clr_type = $4 AND (CAST($5 AS TEXT) IS NULL OR s.insutype = $5) \
         ORDER BY s.setl_time, s.setl_id LIMIT $6",
    )
    .bind(fixmedins_code)
    .bind(begndate.to_string())
    .bind(enddate.to_string())
    .bind(clr_type)
    .bind(insutype)
    .bind(STMT_DETAIL_ROWS_MAX + 1)
    .fetch_all(pool)
    .await?;
    if rows.len() as i64 > STMT_DETAIL_ROWS_MAX {
        return Err(StoreError::bad(
            "stmt_enddate",
            format!(
                "more than {STMT_DETAIL_ROWS_MAX} settlements in the period: reconcile a shorter one"
            ),
        ));
    }
    rows.iter()
        .map(|row| {
            let setl_id: String = row.try_get(0)?;
            let orig: Option<String> = row.try_get(1)?;
            let sign: i64 = row.try_get(7)?;
            Ok(DetailRow {
                setl_id: orig.unwrap_or(setl_id),
                mdtrt_id: row.try_get(2)?,
                psn_no: row.try_get(3)?,
                medfee_sumamt_fen: row.try_get(4)?,
                fund_pay_sumamt_fen: row.try_get(5)?,
                acct_pay_fen: row.try_get(6)?,
                refd_setl_flag: if sign < 0 { "1" } else { "0" }.to_owned(),
                msgid: row.try_get(8)?,
            })
        })
        .collect()
}

pub(crate) async fn clearing_row_counts(
    pool: &Pool,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut out = Vec::new();
    for table in [
        "exchange_file",
        "clearing_application",
        "clearing_withdrawal",
    ] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        out.push((table, n));
    }
    Ok(out)
}
