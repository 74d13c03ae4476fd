// Idempotent execution: beginning a write, replaying a stored answer, running one command
// with its idempotency record, and the checks and locks every command shares (person, visit).
// Compiled once per backend; see lib.rs.

/// Begins the transaction of one command (or of an import).
///
/// PostgreSQL: READ COMMITTED, said explicitly because the per-person lock is what orders
/// commands, and each statement after it must see what the commands before it committed (a
/// server default of REPEATABLE READ would keep the snapshot of the first statement, taken
/// before the lock, and fail every queued command instead).
///
/// SQLite: IMMEDIATE, which takes the write lock at `BEGIN`, where the busy timeout applies. A
/// deferred transaction reads first and asks for the write lock at its first write; if another
/// connection holds it then, SQLite fails at once with SQLITE_BUSY instead of waiting, because
/// waiting with a read snapshot open could deadlock.
async fn begin_write(pool: &Pool) -> Result<Tx<'static>, StoreError> {
    let sql = if IS_PG {
        "BEGIN ISOLATION LEVEL READ COMMITTED"
    } else {
        "BEGIN IMMEDIATE"
    };
    Ok(pool.begin_with(sql).await?)
}

/// Runs `$body` (which uses `$tx`) in a write transaction ([`begin_write`]): commits on `Ok`,
/// rolls back at once on `Err` — a dropped SQLite transaction would hold the write lock until
/// its connection is next used.
macro_rules! in_write_tx {
    ($pool:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = begin_write($pool).await?;
        match $body {
            Ok(value) => {
                $tx.commit().await?;
                Ok(value)
            }
            Err(err) => {
                let _ = $tx.rollback().await;
                Err(err)
            }
        }
    }};
}

pub(crate) async fn replay(pool: &Pool, env: &Envelope) -> Result<Option<Reply>, StoreError> {
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
    if hash != hex(&env.request_hash) {
        return Err(StoreError::MsgidConflict {
            msgid: env.msgid.clone(),
            infno,
        });
    }
    Ok(Some(Reply::Replayed {
        response: row.try_get(2)?,
    }))
}

pub(crate) async fn execute(
    pool: &Pool,
    ctx: &Ctx<'_>,
    cmd: Command,
    render: &(dyn Fn(&Outcome) -> String + Send + Sync),
) -> Result<Reply, StoreError> {
    let env = ctx.env;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // No replay probe on a first attempt: a replay runs into its own effect (the visit is
        // settled, or the msgid row exists when the idempotency record is inserted) and is then
        // answered from the stored response below. This saves a round trip on every first-time
        // message, the common case; a replay costs one rolled-back transaction instead.
        if attempt > 1 {
            if let Some(reply) = replay(pool, env).await? {
                return Ok(reply);
            }
        }
        let mut tx = begin_write(pool).await?;
        if IS_PG && matches!(cmd, Command::AuditCheck(_)) {
            // A 3101/3102 answer is advice before payment: its findings are recorded without
            // waiting for the WAL to reach the disk (never inconsistent; a crash may lose the
            // last few, and the hospital's retry of the msgid then checks again). What review
            // works on — a settlement's findings — commits durably with the settlement.
            sqlx::query("SET LOCAL synchronous_commit TO OFF")
                .execute(&mut *tx)
                .await?;
        }
        let result = run(&mut tx, ctx, &cmd).await;
        let (outcome, effect_kind, effect_ref) = match result {
            Ok(done) => done,
            Err(e) => {
                tx.rollback().await?;
                if retryable(&e) && attempt < limits::TRANSACTION_ATTEMPTS_MAX {
                    continue;
                }
                // A twin of this message (a client retry) may have committed while we waited for
                // the person's lock; its effect is why we failed, and its answer is ours.
                if let Some(reply) = replay(pool, env).await? {
                    return Ok(reply);
                }
                return Err(e);
            }
        };
        let response = render(&outcome);
        let inserted = match insert_idempotency(&mut tx, env, &response, effect_kind, &effect_ref)
            .await
        {
            // The call's access-log record commits with its change.
            Ok(true) => outbox_command(&mut tx, env, &cmd, &response)
                .await
                .map(|()| true),
            other => other,
        };
        match inserted {
            Ok(true) => {}
            Ok(false) => {
                // The same msgid committed meanwhile (a concurrent retry): ours must not count.
                tx.rollback().await?;
                if attempt >= limits::TRANSACTION_ATTEMPTS_MAX {
                    return Err(StoreError::Invariant(format!(
                        "msgid {} kept colliding with an idempotency record that cannot be read",
                        env.msgid
                    )));
                }
                continue;
            }
            Err(e) => {
                tx.rollback().await?;
                if retryable(&e) && attempt < limits::TRANSACTION_ATTEMPTS_MAX {
                    continue;
                }
                return Err(e);
            }
        }
        match tx.commit().await {
            Ok(()) => return Ok(Reply::Fresh { outcome, response }),
            Err(e) => {
                let e = StoreError::Database(e);
                if retryable(&e) && attempt < limits::TRANSACTION_ATTEMPTS_MAX {
                    continue;
                }
                return Err(e);
            }
        }
    }
}

/// Records a command's answer under its msgid, in the command's transaction; false when the
/// msgid is already recorded (a twin committed first, or came earlier in the same batch).
async fn insert_idempotency(
    tx: &mut Tx<'_>,
    env: &Envelope,
    response: &str,
    effect_kind: &str,
    effect_ref: &str,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (fixmedins_code, msgid, infno, request_hash, response, effect_kind, effect_ref, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (fixmedins_code, msgid) DO NOTHING",
    )
    .bind(&env.fixmedins_code)
    .bind(&env.msgid)
    .bind(&env.infno)
    .bind(hex(&env.request_hash))
    .bind(response)
    .bind(effect_kind)
    .bind(effect_ref)
    .bind(ts(env.now))
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

type Done = (Outcome, &'static str, String);

async fn run(tx: &mut Tx<'_>, ctx: &Ctx<'_>, cmd: &Command) -> Result<Done, StoreError> {
    match cmd {
        Command::SignIn(c) => sign_in(tx, ctx, c).await,
        Command::SignOut(c) => sign_out(tx, ctx, c).await,
        Command::RegisterOutpatient(c) => register_outpatient(tx, ctx, c).await,
        Command::CancelRegistration(c) => {
            cancel_visit(tx, ctx, c, VisitKind::Outpatient).await?;
            Ok((Outcome::Done, "none", String::new()))
        }
        Command::UploadVisitInfo(c) => upload_visit_info(tx, ctx, c).await,
        Command::UploadFees(c) => upload_fees(tx, ctx, c).await,
        Command::CancelFees(c) => cancel_fees(tx, ctx, c).await,
        Command::Settle(c) => settle(tx, ctx, c).await,
        Command::ReverseSettlement(c) => {
            lock_person(tx, &c.visit.psn_no).await?;
            let view = reverse(
                tx,
                ctx,
                &c.visit.psn_no,
                &c.visit.mdtrt_id,
                &c.setl_id,
                Some(c.kind),
            )
            .await?;
            let setl_id = view.setl_id.clone();
            Ok((Outcome::Settled(Box::new(view)), "settlement", setl_id))
        }
        Command::Admit(c) => admit(tx, ctx, c).await,
        Command::Discharge(c) => discharge(tx, ctx, c).await,
        Command::UpdateAdmission(c) => update_admission(tx, ctx, c).await,
        Command::CancelAdmission(c) => {
            cancel_visit(tx, ctx, c, VisitKind::Inpatient).await?;
            Ok((Outcome::Done, "none", String::new()))
        }
        Command::UndoDischarge(c) => undo_discharge(tx, ctx, c).await,
        Command::Revoke(c) => revoke(tx, ctx, c).await,
        Command::UploadSetlList(c) => setl_list_upload(tx, ctx, c).await,
        Command::AuditCheck(c) => audit_check(tx, ctx, c).await,
        Command::AuditFeedback(c) => audit_feedback(tx, ctx, c).await,
    }
}

fn check_id(field: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::bad(field, "is empty"));
    }
    if value.chars().count() > limits::ID_CHARS_MAX {
        return Err(StoreError::bad(
            field,
            format!("is longer than {} characters", limits::ID_CHARS_MAX),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str) -> Result<(), StoreError> {
    if value.chars().count() > limits::TEXT_CHARS_MAX {
        return Err(StoreError::bad(
            field,
            format!("is longer than {} characters", limits::TEXT_CHARS_MAX),
        ));
    }
    Ok(())
}

/// Locks the person for the rest of the transaction (PostgreSQL; SQLite has one writer) and
/// checks that it exists.
async fn lock_person(tx: &mut Tx<'_>, psn_no: &str) -> Result<PersonRow, StoreError> {
    check_id("psn_no", psn_no)?;
    let sql = if IS_PG {
        "SELECT psn_name, certno, gend, naty, brdy FROM person WHERE psn_no = $1 FOR UPDATE"
    } else {
        "SELECT psn_name, certno, gend, naty, brdy FROM person WHERE psn_no = $1"
    };
    let r = sqlx::query(sql)
        .bind(psn_no)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("psn_no", psn_no))?;
    Ok(PersonRow {
        psn_name: r.try_get(0)?,
        certno: r.try_get(1)?,
        gend: r.try_get(2)?,
        naty: r.try_get(3)?,
        brdy: r.try_get(4)?,
    })
}

/// The person's active relation for `insutype` on `date`: (psn_type, insuplc_admdvs); for a
/// resident relation, with the coverage of `date` (spec enrollment.md §4.2,
/// [`crate::tax::resident_coverage`]) read in the same round trip (the year's assessment and
/// payments, its benefit period).
async fn active_relation(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    date: NaiveDate,
) -> Result<(String, String), StoreError> {
    let d = date.to_string();
    let rows = sqlx::query(
        "SELECT CAST(0 AS BIGINT) AS tag, psn_type, insuplc_admdvs, psn_insu_stas, CAST(0 AS BIGINT) AS due, \
                CAST(0 AS BIGINT) AS paid \
         FROM insurance WHERE psn_no = $1 AND insutype = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), COALESCE((SELECT b.start_date FROM benefit_period b WHERE b.psn_no = a.psn_no \
                AND b.insutype = a.insutype AND b.year = $5), ''), a.clct_type, '', a.psn_clct_fen, \
                COALESCE((SELECT CAST(SUM(p.amount_fen) AS BIGINT) FROM contribution_payment p \
                WHERE p.assessment_id = a.assessment_id), CAST(0 AS BIGINT)) \
         FROM contribution_assessment a WHERE a.psn_no = $1 AND a.insutype = $2 AND a.insutype = '390' \
              AND a.period = $4 AND (a.clct_type = 'normal' OR a.part = 'refund')",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(&d)
    .bind(format!("{:04}", date.year()))
    .bind(i64::from(date.year()))
    .fetch_all(&mut **tx)
    .await?;
    // The relation with the lowest status, as settlement picks it.
    let mut relation: Option<(String, String, String)> = None;
    let mut resident_year: Option<(i64, i64)> = None;
    let mut benefit_start: Option<NaiveDate> = None;
    let mut refunded = false;
    for r in rows {
        if r.try_get::<i64, _>(0)? == 0 {
            let found: (String, String, String) = (r.try_get(3)?, r.try_get(1)?, r.try_get(2)?);
            if relation.as_ref().is_none_or(|best| found.0 < best.0) {
                relation = Some(found);
            }
        } else {
            // A year's parts (the run's and a correction's) are owed and paid together; a
            // refund by command takes the year back.
            if r.try_get::<String, _>(2)? == "refund" {
                refunded = true;
            } else {
                let (due, paid): (i64, i64) = (r.try_get(4)?, r.try_get(5)?);
                let (d0, p0) = resident_year.unwrap_or((0, 0));
                resident_year = Some((d0 + due, p0 + paid));
            }
            let start: String = r.try_get(1)?;
            if !start.is_empty() {
                benefit_start = Some(stored_day(&start)?);
            }
        }
    }
    let Some((stas, psn_type, insuplc_admdvs)) = relation else {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no} has no {insutype} relation on {d}"),
        ));
    };
    if stas != "1" {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no}'s {insutype} relation is not active (psn_insu_stas {stas})"),
        ));
    }
    crate::tax::resident_coverage(psn_no, date, resident_year, benefit_start, refunded)?;
    Ok((psn_type, insuplc_admdvs))
}

struct VisitRow {
    mdtrt_id: String,
    fixmedins_code: String,
    psn_no: String,
    insutype: String,
    kind: VisitKind,
    status: VisitStatus,
    med_type: String,
    begntime: String,
    endtime: String,
    mdtrt_cert_type: String,
    dise_codg: String,
    mdtrtarea_admvs: String,
    n_fee_lines: i64,
    referral: bool,
    transfer_in: bool,
}

const VISIT_COLUMNS: &str = "v.mdtrt_id, v.fixmedins_code, v.psn_no, v.insutype, v.kind, v.status, v.med_type, \
    v.begntime, v.endtime, v.mdtrt_cert_type, v.dise_codg, v.mdtrtarea_admvs, v.n_fee_lines, v.referral, v.transfer_in";

/// The visit in `r`'s `VISIT_COLUMNS`, read by name, checked to be the calling
/// institution's and the person's; `None` when the columns are null (no such visit).
fn visit_from_row(
    r: &<Db as sqlx::Database>::Row,
    ctx: &Ctx<'_>,
    mdtrt_id: &str,
    psn_no: &str,
) -> Result<Option<VisitRow>, StoreError> {
    let Some(id) = r.try_get::<Option<String>, _>("mdtrt_id")? else {
        return Ok(None);
    };
    let v = VisitRow {
        mdtrt_id: id,
        fixmedins_code: r.try_get("fixmedins_code")?,
        psn_no: r.try_get("psn_no")?,
        insutype: r.try_get("insutype")?,
        kind: VisitKind::parse_stored(&r.try_get::<String, _>("kind")?)?,
        status: VisitStatus::parse_stored(&r.try_get::<String, _>("status")?)?,
        med_type: r.try_get("med_type")?,
        begntime: r.try_get("begntime")?,
        endtime: r.try_get("endtime")?,
        mdtrt_cert_type: r.try_get("mdtrt_cert_type")?,
        dise_codg: r.try_get("dise_codg")?,
        mdtrtarea_admvs: r.try_get("mdtrtarea_admvs")?,
        n_fee_lines: r.try_get("n_fee_lines")?,
        referral: r.try_get::<i64, _>("referral")? == 1,
        transfer_in: r.try_get::<i64, _>("transfer_in")? == 1,
    };
    if v.fixmedins_code != ctx.inst.fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "mdtrt_id".into(),
            value: mdtrt_id.into(),
        });
    }
    if v.psn_no != psn_no {
        return Err(StoreError::bad(
            "psn_no",
            format!("visit {mdtrt_id} belongs to another person"),
        ));
    }
    Ok(Some(v))
}

/// Loads a visit of the calling institution for the person already locked.
async fn load_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    mdtrt_id: &str,
    psn_no: &str,
) -> Result<VisitRow, StoreError> {
    check_id("mdtrt_id", mdtrt_id)?;
    let row = sqlx::query(&format!(
        "SELECT {VISIT_COLUMNS} FROM visit v WHERE v.mdtrt_id = $1"
    ))
    .bind(mdtrt_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::not_found("mdtrt_id", mdtrt_id))?;
    visit_from_row(&row, ctx, mdtrt_id, psn_no)?
        .ok_or_else(|| StoreError::not_found("mdtrt_id", mdtrt_id))
}

/// Locks the person and then loads one of their visits of the calling institution (the two
/// reads every visit command starts with).
async fn lock_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    psn_no: &str,
    mdtrt_id: &str,
) -> Result<(PersonRow, VisitRow), StoreError> {
    person_and_visit(tx, ctx, psn_no, mdtrt_id, true).await
}

/// The person and one of their visits of the calling institution; with `lock`, the person is
/// locked first ([`lock_visit`]). A read-only command (2206/2303 pre-settlement) reads both in
/// one statement without a lock: it writes nothing the lock would guard.
async fn person_and_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    psn_no: &str,
    mdtrt_id: &str,
    lock: bool,
) -> Result<(PersonRow, VisitRow), StoreError> {
    check_id("psn_no", psn_no)?;
    check_id("mdtrt_id", mdtrt_id)?;
    if IS_PG && lock {
        // One statement locks both rows. A statement that waits for a row lock returns the
        // other rows of the snapshot it took before the wait, unless they are locked too: then
        // READ COMMITTED re-reads every locked row at its latest committed version once the lock
        // is granted. So a 2204 queued behind a 2207 sees the visit the 2207 settled (issue 10),
        // while the person lock still orders the person's commands. The visit's row lock is
        // taken only together with the person's, so the order is always person first.
        let sql = format!(
            "SELECT p.psn_name, p.certno, p.gend, p.naty, p.brdy, {VISIT_COLUMNS} \
             FROM person p JOIN visit v ON v.mdtrt_id = $2 AND v.psn_no = p.psn_no WHERE p.psn_no = $1 FOR UPDATE"
        );
        let row = sqlx::query(&sql)
            .bind(psn_no)
            .bind(mdtrt_id)
            .fetch_optional(&mut **tx)
            .await?;
        let Some(r) = row else {
            // No such person, no such visit, or another person's: the two reads say which (and
            // lock only the person).
            let person = lock_person(tx, psn_no).await?;
            let visit = load_visit(tx, ctx, mdtrt_id, psn_no).await?;
            return Ok((person, visit));
        };
        let person = PersonRow {
            psn_name: r.try_get("psn_name")?,
            certno: r.try_get("certno")?,
            gend: r.try_get("gend")?,
            naty: r.try_get("naty")?,
            brdy: r.try_get("brdy")?,
        };
        let v = visit_from_row(&r, ctx, mdtrt_id, psn_no)?
            .ok_or_else(|| StoreError::not_found("mdtrt_id", mdtrt_id))?;
        return Ok((person, v));
    }
    // SQLite has one writer at a time, so nothing changes between the transaction's first read
    // and its commit: one round trip reads both (and so does a read without a lock).
    let sql = format!(
        "SELECT p.psn_name, p.certno, p.gend, p.naty, p.brdy, {VISIT_COLUMNS} \
         FROM person p LEFT JOIN visit v ON v.mdtrt_id = $2 WHERE p.psn_no = $1"
    );
    let r = sqlx::query(&sql)
        .bind(psn_no)
        .bind(mdtrt_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("psn_no", psn_no))?;
    let person = PersonRow {
        psn_name: r.try_get(0)?,
        certno: r.try_get(1)?,
        gend: r.try_get(2)?,
        naty: r.try_get(3)?,
        brdy: r.try_get(4)?,
    };
    let v = visit_from_row(&r, ctx, mdtrt_id, psn_no)?
        .ok_or_else(|| StoreError::not_found("mdtrt_id", mdtrt_id))?;
    Ok((person, v))
}

fn expect_kind(v: &VisitRow, kind: VisitKind) -> Result<(), StoreError> {
    if v.kind != kind {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!("{} is {}", v.mdtrt_id, v.kind.described()),
        ));
    }
    Ok(())
}

fn expect_status(v: &VisitRow, allowed: &[VisitStatus]) -> Result<(), StoreError> {
    if !allowed.contains(&v.status) {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!("{} is {}", v.mdtrt_id, v.status.code()),
        ));
    }
    Ok(())
}
