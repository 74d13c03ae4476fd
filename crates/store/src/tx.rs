// Included twice by lib.rs (`mod pg` and `mod sq`), with `Db` the backend's database type and
// `IS_PG` telling them apart. SQL uses `$n` placeholders, BIGINT and TEXT only, so each
// statement runs unchanged on both; PostgreSQL-only lock clauses are guarded by `IS_PG`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use sqlx::Row;

use crate::cmd::*;
use crate::engine::{self, Computed, LineFacts, SettleInput, StoredLine, Ytd};
use crate::error::StoreError;
use crate::import::{ImportSummary, Parsed};
use crate::ledger::{self, LedgerReport};
use crate::limits;
use crate::registry::*;
use crate::Ctx;

type Pool = sqlx::Pool<Db>;
type Tx<'c> = sqlx::Transaction<'c, Db>;

const TS: &str = "%Y-%m-%d %H:%M:%S";

fn ts(t: NaiveDateTime) -> String {
    t.format(TS).to_string()
}

fn parse_ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, TS).unwrap_or_default()
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn retryable(e: &StoreError) -> bool {
    if let StoreError::Database(sqlx::Error::Database(db)) = e {
        return matches!(db.code().as_deref(), Some("40001") | Some("40P01"));
    }
    false
}

// ------------------------------------------------------------------------------------------
// Registry cache and import

pub(crate) async fn load_cache(
    pool: &Pool,
) -> Result<(RegistryCache, Vec<(String, String, String)>), StoreError> {
    let mut cache = RegistryCache::default();
    let rows = sqlx::query(
        "SELECT fixmedins_code, fixmedins_name, fixmedins_type, hosp_lv, hi_setl_lv, admdvs, status, \
         access_key, secret_key FROM institution",
    )
    .fetch_all(pool)
    .await?;
    let mut kinds: HashMap<String, Vec<String>> = HashMap::new();
    for r in sqlx::query("SELECT fixmedins_code, kind FROM institution_kind ORDER BY fixmedins_code, kind")
        .fetch_all(pool)
        .await?
    {
        kinds
            .entry(r.try_get(0)?)
            .or_default()
            .push(r.try_get(1)?);
    }
    for r in rows {
        let code: String = r.try_get(0)?;
        let inst = std::sync::Arc::new(Institution {
            kinds: kinds.remove(&code).unwrap_or_default(),
            fixmedins_code: code,
            fixmedins_name: r.try_get(1)?,
            fixmedins_type: r.try_get(2)?,
            hosp_lv: r.try_get(3)?,
            hi_setl_lv: r.try_get(4)?,
            admdvs: r.try_get(5)?,
            active: r.try_get::<String, _>(6)? == "1",
            access_key: r.try_get(7)?,
            secret_key: r.try_get(8)?,
        });
        cache
            .by_access_key
            .insert(inst.access_key.clone(), inst.clone());
        cache.institutions.insert(inst.fixmedins_code.clone(), inst);
    }
    let docs = sqlx::query("SELECT kind, name, body FROM registry_document ORDER BY kind, name")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((cache, docs))
}

/// A value bound into a multi-row insert.
enum V<'a> {
    T(&'a str),
    S(String),
    I(i64),
    N(Option<i64>),
}

/// Inserts `rows` into `table` in as few statements as the parameter limit allows.
async fn insert_rows(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V<'_>>>,
    suffix: &str,
) -> Result<u64, sqlx::Error> {
    let per_stmt = (limits::STATEMENT_PARAMS_MAX / columns.len()).max(1);
    let mut affected = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V<'_>>> = rows.by_ref().take(per_stmt).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            debug_assert_eq!(row.len(), columns.len());
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..row.len() {
                n += 1;
                if j > 0 {
                    sql.push_str(", ");
                }
                // SQLite resolves a named or numbered parameter by a linear scan of the
                // statement's parameter list, which makes a statement of thousands of `$n`
                // quadratic; anonymous `?` parameters bind in order at no cost.
                if IS_PG {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    V::T(s) => q.bind(s),
                    V::S(s) => q.bind(s),
                    V::I(i) => q.bind(i),
                    V::N(o) => q.bind(o),
                };
            }
        }
        affected += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(affected)
}

pub(crate) async fn import(pool: &Pool, p: &Parsed) -> Result<ImportSummary, crate::ImportError> {
    let persons: i64 = sqlx::query("SELECT COUNT(*) FROM person")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    if persons > 0 {
        return Err(crate::ImportError::NotEmpty { persons });
    }
    let mut tx = begin_write(pool).await?;
    insert_rows(
        &mut tx,
        "person",
        &[
            "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
        ],
        p.persons
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.certno),
                    V::T(&r.psn_name),
                    V::T(&r.gend),
                    V::T(&r.brdy),
                    V::T(&r.naty),
                    V::T(&r.tel),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "insurance",
        &[
            "psn_no",
            "insutype",
            "psn_type",
            "insuplc_admdvs",
            "emp_name",
            "begndate",
            "enddate",
            "psn_insu_stas",
        ],
        p.insurance
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.insutype),
                    V::T(&r.psn_type),
                    V::T(&r.insuplc_admdvs),
                    V::T(&r.emp_name),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.psn_insu_stas),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "identity",
        &[
            "psn_no",
            "sp_psn_type",
            "begndate",
            "enddate",
            "source_dept",
        ],
        p.identities
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.sp_psn_type),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.source_dept),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "family_binding",
        &[
            "psn_no",
            "family_psn_no",
            "bind_order",
            "begndate",
            "enddate",
        ],
        p.bindings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.family_psn_no),
                    V::I(r.bind_order),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "institution",
        &[
            "fixmedins_code",
            "fixmedins_name",
            "fixmedins_type",
            "hosp_lv",
            "hi_setl_lv",
            "admdvs",
            "status",
            "access_key",
            "secret_key",
        ],
        p.institutions
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.fixmedins_code),
                    V::T(&r.fixmedins_name),
                    V::T(&r.fixmedins_type),
                    V::T(&r.hosp_lv),
                    V::T(&r.hi_setl_lv),
                    V::T(&r.admdvs),
                    V::T(&r.status),
                    V::T(&r.access_key),
                    V::T(&r.secret_key),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "filing",
        &[
            "trt_dcla_detl_sn",
            "psn_no",
            "dcla_type",
            "insuplc_admdvs",
            "mdtrtarea_admvs",
            "begndate",
            "enddate",
        ],
        p.filings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.trt_dcla_detl_sn),
                    V::T(&r.psn_no),
                    V::T(&r.dcla_type),
                    V::T(&r.insuplc_admdvs),
                    V::T(&r.mdtrtarea_admvs),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ec_token",
        &["ec_token", "psn_no", "begndate", "enddate"],
        p.ec_tokens
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.ec_token),
                    V::T(&r.psn_no),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ss_card",
        &["card_no", "card_sn", "psn_no", "begndate", "enddate"],
        p.ss_cards
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.card_no),
                    V::T(&r.card_sn),
                    V::T(&r.psn_no),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "chronic_recognition",
        &[
            "psn_no",
            "opsp_dise_code",
            "opsp_dise_name",
            "begndate",
            "enddate",
            "fixmedins_code",
        ],
        p.chronic
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.opsp_dise_code),
                    V::T(&r.opsp_dise_name),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                    V::T(&r.fixmedins_code),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "contribution_tier",
        &["psn_no", "insutype", "clct_tier", "begndate", "enddate"],
        p.tiers
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::T(&r.insutype),
                    V::T(&r.clct_tier),
                    V::T(&r.begndate),
                    V::T(&r.enddate),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ytd_opening",
        crate::import::YTD_OPENING_COLUMNS,
        p.openings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::I(r.year),
                    V::I(r.inpatient_admissions),
                    V::I(r.hifp_inpatient),
                    V::I(r.hifp_outpatient),
                    V::I(r.outpatient_deductible),
                    V::I(r.hifmi_base),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "ytd",
        &[
            "psn_no",
            "year",
            "inpatient_admissions",
            "hifp_inpatient",
            "hifp_outpatient",
            "outpatient_deductible",
            "hifob",
            "hifmi_base",
            "hifmi",
            "maf",
            "maf_deductible",
        ],
        p.openings
            .iter()
            .map(|r| {
                vec![
                    V::T(&r.psn_no),
                    V::I(r.year),
                    V::I(r.inpatient_admissions),
                    V::I(r.hifp_inpatient),
                    V::I(r.hifp_outpatient),
                    V::I(r.outpatient_deductible),
                    V::I(0),
                    V::I(r.hifmi_base),
                    V::I(0),
                    V::I(0),
                    V::I(0),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    insert_rows(
        &mut tx,
        "institution_kind",
        &["fixmedins_code", "kind"],
        p.institution_kinds
            .iter()
            .map(|r| vec![V::T(&r.fixmedins_code), V::T(&r.kind)])
            .collect(),
        "",
    )
    .await?;
    let docs = p.documents();
    insert_rows(
        &mut tx,
        "registry_document",
        &["kind", "name", "body"],
        docs.iter()
            .map(|(k, n, b)| vec![V::T(k), V::T(n), V::T(b)])
            .collect(),
        "",
    )
    .await?;

    // Ledger accounts: every fund of every scheme in every insured region, every institution,
    // every personal account, the patients' cash and the opening counter-account.
    let mut accounts: BTreeMap<String, (&'static str, String, i64)> = BTreeMap::new();
    accounts.insert(
        ledger::CASH_ACCOUNT.to_string(),
        ("cash", "patients".into(), 1),
    );
    accounts.insert(
        ledger::OPENING_ACCOUNT.to_string(),
        ("opening", "registry".into(), 1),
    );
    for r in &p.insurance {
        for fund in engine::NATIONAL_FUNDS {
            accounts
                .entry(ledger::fund_account(fund, &r.insuplc_admdvs))
                .or_insert(("fund", format!("{fund}:{}", r.insuplc_admdvs), 1));
        }
    }
    for r in &p.institutions {
        accounts.insert(
            ledger::institution_account(&r.fixmedins_code),
            ("institution", r.fixmedins_code.clone(), 1),
        );
    }
    for (psn_no, _) in &p.accounts {
        accounts.insert(
            ledger::personal_account(psn_no),
            ("personal", psn_no.clone(), 0),
        );
    }
    let n_ledger_accounts = accounts.len();
    insert_rows(
        &mut tx,
        "ledger_account",
        &["account_code", "kind", "owner", "may_go_negative"],
        accounts
            .iter()
            .map(|(code, (kind, owner, neg))| vec![V::T(code), V::T(kind), V::T(owner), V::I(*neg)])
            .collect(),
        "",
    )
    .await?;
    // Opening balances: opening → personal, one transfer each, and the balances they make.
    let total_opening: i64 = p.accounts.iter().map(|(_, fen)| *fen).sum();
    insert_rows(
        &mut tx,
        "ledger_transfer",
        &[
            "ref_id",
            "seq",
            "debit_account",
            "credit_account",
            "amount_fen",
            "kind",
        ],
        p.accounts
            .iter()
            .filter(|(_, fen)| *fen > 0)
            .map(|(psn_no, fen)| {
                vec![
                    V::S(format!("open:{psn_no}")),
                    V::I(1),
                    V::T(ledger::OPENING_ACCOUNT),
                    V::S(ledger::personal_account(psn_no)),
                    V::I(*fen),
                    V::T(ledger::KIND_OPENING),
                ]
            })
            .collect(),
        "",
    )
    .await?;
    let mut balances: Vec<Vec<V<'_>>> = p
        .accounts
        .iter()
        .map(|(psn_no, fen)| {
            vec![
                V::S(ledger::personal_account(psn_no)),
                V::I(0),
                V::I(0),
                V::I(*fen),
            ]
        })
        .collect();
    balances.push(vec![
        V::T(ledger::OPENING_ACCOUNT),
        V::I(0),
        V::I(1),
        V::I(-total_opening),
    ]);
    insert_rows(
        &mut tx,
        "ledger_balance",
        &["account_code", "shard", "may_go_negative", "balance_fen"],
        balances,
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(ImportSummary {
        persons: p.persons.len(),
        insurance_relations: p.insurance.len(),
        identities: p.identities.len(),
        accounts: p.accounts.len(),
        family_bindings: p.bindings.len(),
        institutions: p.institutions.len(),
        filings: p.filings.len(),
        ec_tokens: p.ec_tokens.len(),
        ss_cards: p.ss_cards.len(),
        chronic_recognitions: p.chronic.len(),
        policies: p.policies.len(),
        ledger_accounts: n_ledger_accounts,
    })
}

// ------------------------------------------------------------------------------------------
// Idempotent execution

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
        let inserted = sqlx::query(
            "INSERT INTO idempotency (fixmedins_code, msgid, infno, request_hash, response, effect_kind, effect_ref, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (fixmedins_code, msgid) DO NOTHING",
        )
        .bind(&env.fixmedins_code)
        .bind(&env.msgid)
        .bind(&env.infno)
        .bind(hex(&env.request_hash))
        .bind(&response)
        .bind(effect_kind)
        .bind(&effect_ref)
        .bind(ts(env.now))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(r) if r.rows_affected() == 1 => {}
            Ok(_) => {
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
                let e = StoreError::Database(e);
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

type Done = (Outcome, &'static str, String);

async fn run(tx: &mut Tx<'_>, ctx: &Ctx<'_>, cmd: &Command) -> Result<Done, StoreError> {
    match cmd {
        Command::SignIn(c) => sign_in(tx, ctx, c).await,
        Command::SignOut(c) => sign_out(tx, ctx, c).await,
        Command::RegisterOutpatient(c) => register_outpatient(tx, ctx, c).await,
        Command::CancelRegistration(c) => {
            cancel_visit(tx, ctx, c, "otp").await?;
            Ok((Outcome::Done, "none", String::new()))
        }
        Command::UploadVisitInfo(c) => upload_visit_info(tx, ctx, c).await,
        Command::UploadFees(c) => upload_fees(tx, ctx, c).await,
        Command::CancelFees(c) => cancel_fees(tx, ctx, c).await,
        Command::Settle(c) => settle(tx, ctx, c).await,
        Command::ReverseSettlement(c) => {
            lock_person(tx, &c.psn_no).await?;
            let view = reverse(
                tx,
                ctx,
                &c.psn_no,
                &c.mdtrt_id,
                &c.setl_id,
                Some(kind_of_infno(&ctx.env.infno)?),
            )
            .await?;
            let setl_id = view.setl_id.clone();
            Ok((Outcome::Settled(Box::new(view)), "settlement", setl_id))
        }
        Command::Admit(c) => admit(tx, ctx, c).await,
        Command::Discharge(c) => discharge(tx, ctx, c).await,
        Command::UpdateAdmission(c) => update_admission(tx, ctx, c).await,
        Command::CancelAdmission(c) => {
            cancel_visit(tx, ctx, c, "ipt").await?;
            Ok((Outcome::Done, "none", String::new()))
        }
        Command::UndoDischarge(c) => undo_discharge(tx, ctx, c).await,
        Command::Revoke(c) => revoke(tx, ctx, c).await,
        Command::UploadSetlList(c) => setl_list_upload(tx, ctx, c).await,
    }
}

/// `otp` for outpatient/pharmacy transactions (22xx), `ipt` for inpatient ones (23xx/24xx).
fn kind_of_infno(infno: &str) -> Result<&'static str, StoreError> {
    match infno.get(..2) {
        Some("22") => Ok("otp"),
        Some("23") | Some("24") => Ok("ipt"),
        _ => Err(StoreError::bad(
            "infno",
            format!("{infno} does not name an outpatient or inpatient transaction"),
        )),
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

/// The person's active relation for `insutype` on `date`: (psn_type, insuplc_admdvs).
async fn active_relation(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    date: NaiveDate,
) -> Result<(String, String), StoreError> {
    let d = date.to_string();
    let row = sqlx::query(
        "SELECT psn_type, insuplc_admdvs, psn_insu_stas FROM insurance WHERE psn_no = $1 AND insutype = $2 \
         AND begndate <= $3 AND (enddate = '' OR enddate >= $3) ORDER BY psn_insu_stas LIMIT 1",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(&d)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no} has no {insutype} relation on {d}"),
        ));
    };
    let stas: String = row.try_get(2)?;
    if stas != "1" {
        return Err(StoreError::refused(
            "insutype",
            format!("{psn_no}'s {insutype} relation is not active (psn_insu_stas {stas})"),
        ));
    }
    Ok((row.try_get(0)?, row.try_get(1)?))
}

struct VisitRow {
    mdtrt_id: String,
    fixmedins_code: String,
    psn_no: String,
    insutype: String,
    kind: String,
    status: String,
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

/// The visit in `VISIT_COLUMNS` order from column `at` of `r`, checked to be the calling
/// institution's and the person's; `None` when the columns are null (no such visit).
fn visit_from_row(
    r: &<Db as sqlx::Database>::Row,
    at: usize,
    ctx: &Ctx<'_>,
    mdtrt_id: &str,
    psn_no: &str,
) -> Result<Option<VisitRow>, StoreError> {
    let Some(id) = r.try_get::<Option<String>, _>(at)? else {
        return Ok(None);
    };
    let v = VisitRow {
        mdtrt_id: id,
        fixmedins_code: r.try_get(at + 1)?,
        psn_no: r.try_get(at + 2)?,
        insutype: r.try_get(at + 3)?,
        kind: r.try_get(at + 4)?,
        status: r.try_get(at + 5)?,
        med_type: r.try_get(at + 6)?,
        begntime: r.try_get(at + 7)?,
        endtime: r.try_get(at + 8)?,
        mdtrt_cert_type: r.try_get(at + 9)?,
        dise_codg: r.try_get(at + 10)?,
        mdtrtarea_admvs: r.try_get(at + 11)?,
        n_fee_lines: r.try_get(at + 12)?,
        referral: r.try_get::<i64, _>(at + 13)? == 1,
        transfer_in: r.try_get::<i64, _>(at + 14)? == 1,
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
    visit_from_row(&row, 0, ctx, mdtrt_id, psn_no)?
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
    check_id("psn_no", psn_no)?;
    check_id("mdtrt_id", mdtrt_id)?;
    if IS_PG {
        // A statement that waits for a row lock returns the other rows of the snapshot it took
        // before the wait: a join of person and visit that queued behind a settlement would see
        // the visit still open (issue 10). So the visit is read by a second statement, which
        // starts after the lock is held and, in READ COMMITTED, sees every commit before it.
        let person = lock_person(tx, psn_no).await?;
        let visit = load_visit(tx, ctx, mdtrt_id, psn_no).await?;
        return Ok((person, visit));
    }
    // SQLite has one writer at a time, so nothing changes between the transaction's first read
    // and its commit: one round trip reads both.
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
    let v = visit_from_row(&r, 5, ctx, mdtrt_id, psn_no)?
        .ok_or_else(|| StoreError::not_found("mdtrt_id", mdtrt_id))?;
    Ok((person, v))
}

fn expect_kind(v: &VisitRow, kind: &str) -> Result<(), StoreError> {
    if v.kind != kind {
        let what = if v.kind == "otp" {
            "an outpatient visit"
        } else {
            "an inpatient stay"
        };
        return Err(StoreError::refused(
            "mdtrt_id",
            format!("{} is {what}", v.mdtrt_id),
        ));
    }
    Ok(())
}

fn expect_status(v: &VisitRow, allowed: &[&str]) -> Result<(), StoreError> {
    if !allowed.contains(&v.status.as_str()) {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!("{} is {}", v.mdtrt_id, v.status),
        ));
    }
    Ok(())
}

async fn sign_in(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &SignIn) -> Result<Done, StoreError> {
    check_id("opter_no", &c.opter_no)?;
    check_text("mac", &c.mac)?;
    check_text("ip", &c.ip)?;
    let sign_no = ctx.ids.next('G');
    sqlx::query("INSERT INTO sign_in (sign_no, fixmedins_code, opter_no, mac, ip, sign_time) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&sign_no)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.opter_no)
        .bind(&c.mac)
        .bind(&c.ip)
        .bind(ts(ctx.env.now))
        .execute(&mut **tx)
        .await?;
    Ok((
        Outcome::SignedIn {
            sign_no: sign_no.clone(),
            sign_time: ctx.env.now,
        },
        "none",
        sign_no,
    ))
}

async fn sign_out(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &SignOut) -> Result<Done, StoreError> {
    if c.sign_no.is_empty() {
        return Err(StoreError::bad("sign_no", "is empty"));
    }
    if c.sign_no.chars().count() > limits::SIGN_NO_CHARS_MAX {
        return Err(StoreError::bad(
            "sign_no",
            format!("is longer than {} characters", limits::SIGN_NO_CHARS_MAX),
        ));
    }
    let r = sqlx::query(
        "UPDATE sign_in SET sign_out_time = $1 WHERE sign_no = $2 AND fixmedins_code = $3 AND sign_out_time IS NULL",
    )
    .bind(ts(ctx.env.now))
    .bind(&c.sign_no)
    .bind(&ctx.inst.fixmedins_code)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::refused(
            "sign_no",
            format!("{} is not an open sign-in of this institution", c.sign_no),
        ));
    }
    Ok((
        Outcome::SignedOut {
            sign_time: ctx.env.now,
        },
        "none",
        String::new(),
    ))
}

/// Where care happens: the institution's own region, never the message's (`Store::execute`
/// refuses a message naming another).
fn mdtrtarea(ctx: &Ctx<'_>) -> String {
    ctx.inst.admdvs.clone()
}

async fn register_outpatient(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &RegisterOutpatient,
) -> Result<Done, StoreError> {
    check_id("ipt_otp_no", &c.ipt_otp_no)?;
    for (f, v) in [
        ("mdtrt_cert_no", &c.mdtrt_cert_no),
        ("dept_name", &c.dept_name),
        ("dr_name", &c.dr_name),
        ("dept_code", &c.dept_code),
        ("atddr_no", &c.atddr_no),
    ] {
        check_text(f, v)?;
    }
    lock_person(tx, &c.psn_no).await?;
    active_relation(tx, &c.psn_no, &c.insutype, c.begntime.date()).await?;
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) FROM visit WHERE psn_no = $1 AND status = 'open' AND kind = 'otp'",
    )
    .bind(&c.psn_no)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    if open >= limits::OPEN_OUTPATIENT_VISITS_PER_PERSON_MAX {
        return Err(StoreError::refused(
            "psn_no",
            format!(
                "{} already has {open} open outpatient visits (limit {})",
                c.psn_no,
                limits::OPEN_OUTPATIENT_VISITS_PER_PERSON_MAX
            ),
        ));
    }
    let mdtrt_id = ctx.ids.next('M');
    insert_visit(
        tx,
        ctx,
        &mdtrt_id,
        &c.psn_no,
        &c.insutype,
        "otp",
        "11",
        &c.ipt_otp_no,
        c.begntime,
        &c.mdtrt_cert_type,
        &c.mdtrt_cert_no,
        &c.dept_code,
        &c.dept_name,
        &c.atddr_no,
        &c.dr_name,
        "",
        "",
        "",
        (c.referral, false),
    )
    .await?;
    Ok((
        Outcome::VisitOpened {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: c.psn_no.clone(),
            ipt_otp_no: c.ipt_otp_no.clone(),
        },
        "visit",
        mdtrt_id,
    ))
}

async fn insert_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    mdtrt_id: &str,
    psn_no: &str,
    insutype: &str,
    kind: &str,
    med_type: &str,
    ipt_otp_no: &str,
    begntime: NaiveDateTime,
    mdtrt_cert_type: &str,
    mdtrt_cert_no: &str,
    dept_code: &str,
    dept_name: &str,
    atddr_no: &str,
    dr_name: &str,
    dise_codg: &str,
    dise_name: &str,
    main_cond_dscr: &str,
    (referral, transfer_in): (bool, bool),
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO visit (mdtrt_id, fixmedins_code, psn_no, insutype, kind, status, med_type, ipt_otp_no, begntime, endtime, \
         mdtrt_cert_type, mdtrt_cert_no, dept_code, dept_name, atddr_no, dr_name, dise_codg, dise_name, main_cond_dscr, dscg_way, \
         mdtrtarea_admvs, n_fee_lines, created_at, referral, transfer_in) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, '', $9, $10, $11, $12, $13, $14, $15, $16, $17, '', $18, 0, $19, $20, $21)",
    )
    .bind(mdtrt_id)
    .bind(&ctx.inst.fixmedins_code)
    .bind(psn_no)
    .bind(insutype)
    .bind(kind)
    .bind(med_type)
    .bind(ipt_otp_no)
    .bind(ts(begntime))
    .bind(mdtrt_cert_type)
    .bind(mdtrt_cert_no)
    .bind(dept_code)
    .bind(dept_name)
    .bind(atddr_no)
    .bind(dr_name)
    .bind(dise_codg)
    .bind(dise_name)
    .bind(main_cond_dscr)
    .bind(mdtrtarea(ctx))
    .bind(ts(ctx.env.now))
    .bind(i64::from(referral))
    .bind(i64::from(transfer_in))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const OTP_MED_TYPES: &[&str] = &["11", "12", "13", "14", "16", "19", "41", "51"];
const IPT_MED_TYPES: &[&str] = &["21", "22", "23", "24", "25", "26", "28", "52"];

fn check_diagnoses(diagnoses: &[Diagnosis]) -> Result<(), StoreError> {
    if diagnoses.len() > limits::DIAGNOSES_PER_MESSAGE_MAX {
        return Err(StoreError::bad(
            "diseinfo",
            format!(
                "has more than {} diagnoses",
                limits::DIAGNOSES_PER_MESSAGE_MAX
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in diagnoses.iter().enumerate() {
        if d.diag_code.is_empty() {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_code"),
                "is empty",
            ));
        }
        if d.diag_code.len() > 20 {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_code"),
                "is longer than 20 characters",
            ));
        }
        check_text(&format!("diseinfo[{i}].diag_name"), &d.diag_name)?;
        if !(0..=99).contains(&d.diag_srt_no) {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_srt_no"),
                "is not 0..=99",
            ));
        }
        if !seen.insert((d.diag_type.clone(), d.diag_srt_no)) {
            return Err(StoreError::bad(
                format!("diseinfo[{i}].diag_srt_no"),
                "appears twice for the same diag_type",
            ));
        }
    }
    Ok(())
}

/// Upserts diagnoses by (diag_type, diag_srt_no); `vali_flag = 0` deletes.
async fn save_diagnoses(
    tx: &mut Tx<'_>,
    mdtrt_id: &str,
    diagnoses: &[Diagnosis],
) -> Result<(), StoreError> {
    // Withdrawn diagnoses (vali_flag 0) are deleted; the others are upserted by sort number.
    for d in diagnoses.iter().filter(|d| d.vali_flag == "0") {
        sqlx::query(
            "DELETE FROM diagnosis WHERE mdtrt_id = $1 AND diag_type = $2 AND diag_srt_no = $3",
        )
        .bind(mdtrt_id)
        .bind(&d.diag_type)
        .bind(d.diag_srt_no)
        .execute(&mut **tx)
        .await?;
    }
    let rows: Vec<Vec<V<'_>>> = diagnoses
        .iter()
        .filter(|d| d.vali_flag != "0")
        .map(|d| {
            vec![
                V::T(mdtrt_id),
                V::T(&d.diag_type),
                V::I(d.diag_srt_no),
                V::T(&d.diag_code),
                V::T(&d.diag_name),
                V::T(&d.diag_dept),
                V::T(&d.dise_dor_no),
                V::T(&d.dise_dor_name),
                V::S(ts(d.diag_time)),
                V::T(&d.maindiag_flag),
                V::T(&d.vali_flag),
            ]
        })
        .collect();
    if !rows.is_empty() {
        insert_rows(
            tx,
            "diagnosis",
            &[
                "mdtrt_id",
                "diag_type",
                "diag_srt_no",
                "diag_code",
                "diag_name",
                "diag_dept",
                "dise_dor_no",
                "dise_dor_name",
                "diag_time",
                "maindiag_flag",
                "vali_flag",
            ],
            rows,
            "ON CONFLICT (mdtrt_id, diag_type, diag_srt_no) DO UPDATE SET diag_code = excluded.diag_code, \
             diag_name = excluded.diag_name, diag_dept = excluded.diag_dept, dise_dor_no = excluded.dise_dor_no, \
             dise_dor_name = excluded.dise_dor_name, diag_time = excluded.diag_time, \
             maindiag_flag = excluded.maindiag_flag, vali_flag = excluded.vali_flag",
        )
        .await?;
    }
    Ok(())
}

async fn upload_visit_info(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &UploadVisitInfo,
) -> Result<Done, StoreError> {
    if !OTP_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{:?} is not an outpatient medical type {OTP_MED_TYPES:?}",
                c.med_type
            ),
        ));
    }
    if c.med_type == "14" && c.dise_codg.is_empty() {
        return Err(StoreError::bad(
            "dise_codg",
            "is required for a chronic outpatient visit (med_type 14)",
        ));
    }
    check_id_opt("dise_codg", &c.dise_codg)?;
    check_text("dise_name", &c.dise_name)?;
    check_text("main_cond_dscr", &c.main_cond_dscr)?;
    check_diagnoses(&c.diagnoses)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, "otp")?;
    expect_status(&v, &["open"])?;
    sqlx::query("UPDATE visit SET med_type = $1, dise_codg = $2, dise_name = $3, main_cond_dscr = $4, begntime = $5 WHERE mdtrt_id = $6")
        .bind(&c.med_type)
        .bind(&c.dise_codg)
        .bind(&c.dise_name)
        .bind(&c.main_cond_dscr)
        .bind(ts(c.begntime))
        .bind(&c.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses).await?;
    save_maternity(tx, &c.mdtrt_id, &c.maternity).await?;
    Ok((Outcome::Done, "none", String::new()))
}

fn check_id_opt(field: &str, value: &str) -> Result<(), StoreError> {
    if value.chars().count() > limits::ID_CHARS_MAX {
        return Err(StoreError::bad(
            field,
            format!("is longer than {} characters", limits::ID_CHARS_MAX),
        ));
    }
    Ok(())
}

async fn upload_fees(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &UploadFees) -> Result<Done, StoreError> {
    let kind = kind_of_infno(&ctx.env.infno)?;
    let Some(first) = c.lines.first() else {
        return Err(StoreError::bad("feedetail", "is empty"));
    };
    if c.lines.len() > limits::FEE_LINES_PER_UPLOAD_MAX {
        return Err(StoreError::bad(
            "feedetail",
            format!(
                "has {} lines, more than {}",
                c.lines.len(),
                limits::FEE_LINES_PER_UPLOAD_MAX
            ),
        ));
    }
    let mut sns = std::collections::HashSet::new();
    let mut amounts = Vec::with_capacity(c.lines.len());
    let mut classified = Vec::with_capacity(c.lines.len());
    for (i, l) in c.lines.iter().enumerate() {
        let f = |name: &str| format!("feedetail[{i}].{name}");
        check_id(&f("feedetl_sn"), &l.feedetl_sn)?;
        if l.mdtrt_id != first.mdtrt_id {
            return Err(StoreError::bad(
                f("mdtrt_id"),
                "differs from the first line's: one upload is for one visit",
            ));
        }
        if l.psn_no != first.psn_no {
            return Err(StoreError::bad(
                f("psn_no"),
                "differs from the first line's",
            ));
        }
        if !sns.insert(l.feedetl_sn.as_str()) {
            return Err(StoreError::bad(
                f("feedetl_sn"),
                format!("{} appears twice", l.feedetl_sn),
            ));
        }
        check_id(&f("chrg_bchno"), &l.chrg_bchno)?;
        check_id_opt(&f("med_list_codg"), &l.med_list_codg).and_then(|_| {
            if l.med_list_codg.is_empty() {
                Err(StoreError::bad(f("med_list_codg"), "is empty"))
            } else {
                Ok(())
            }
        })?;
        if l.medins_list_codg.chars().count() > 150 {
            return Err(StoreError::bad(
                f("medins_list_codg"),
                "is longer than 150 characters",
            ));
        }
        if l.pric_micro < 0 {
            return Err(StoreError::bad(
                f("pric"),
                "is negative (refund lines make cnt negative, not pric)",
            ));
        }
        if l.pric_micro > limits::PRICE_MICRO_MAX {
            return Err(StoreError::bad(f("pric"), "exceeds 10,000,000.00"));
        }
        if l.cnt_e4 == 0 {
            return Err(StoreError::bad(f("cnt"), "is zero"));
        }
        if l.cnt_e4.abs() > limits::COUNT_E4_MAX {
            return Err(StoreError::bad(f("cnt"), "exceeds 1,000,000"));
        }
        if !["0", "1", "2"].contains(&l.hosp_appr_flag.as_str()) {
            return Err(StoreError::bad(
                f("hosp_appr_flag"),
                format!("{:?} is not 0, 1 or 2", l.hosp_appr_flag),
            ));
        }
        let amount = engine::line_amount_fen(l.pric_micro, l.cnt_e4);
        if amount.abs() > limits::LINE_AMOUNT_FEN_MAX {
            return Err(StoreError::bad(
                f("det_item_fee_sumamt"),
                "exceeds 10,000,000.00",
            ));
        }
        if (l.det_item_fee_sumamt_fen - amount).abs() > 1 {
            return Err(StoreError::bad(
                f("det_item_fee_sumamt"),
                format!(
                    "{} differs from pric × cnt = {} by more than 0.01",
                    engine::render_fen(l.det_item_fee_sumamt_fen),
                    engine::render_fen(amount)
                ),
            ));
        }
        amounts.push(amount);
    }
    let (_, v) = lock_visit(tx, ctx, &first.psn_no, &first.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    expect_status(&v, &["open", "discharged"])?;
    // Priced by the catalogue in force on each fee's day and the place of care's 乙类 shares
    // for the visit's scheme.
    for (i, (l, &amount)) in c.lines.iter().zip(&amounts).enumerate() {
        let pricing = engine::Pricing {
            fee_date: l.fee_ocur_time.date(),
            region: &ctx.inst.admdvs,
            insutype: &v.insutype,
        };
        let stored = ctx
            .engine
            .classify(
                &l.feedetl_sn,
                &l.med_list_codg,
                l.pric_micro,
                l.cnt_e4,
                amount,
                &l.hosp_appr_flag,
                pricing,
            )
            .map_err(|reason| {
                StoreError::bad(format!("feedetail[{i}].med_list_codg"), reason)
            })?;
        classified.push(stored);
    }
    let n = c.lines.len() as i64;
    if v.n_fee_lines + n > limits::FEE_LINES_PER_VISIT_MAX {
        return Err(StoreError::refused(
            "feedetail",
            format!(
                "the visit would have more than {} fee lines",
                limits::FEE_LINES_PER_VISIT_MAX
            ),
        ));
    }
    // Already-uploaded serial numbers are refused (a correction is withdraw + upload).
    if v.n_fee_lines > 0 {
        let mut sql =
            String::from("SELECT feedetl_sn FROM fee_line WHERE mdtrt_id = $1 AND feedetl_sn IN (");
        for i in 0..c.lines.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i + 2));
        }
        sql.push_str(") LIMIT 1");
        let mut q = sqlx::query(&sql).bind(&first.mdtrt_id);
        for l in &c.lines {
            q = q.bind(&l.feedetl_sn);
        }
        if let Some(row) = q.fetch_optional(&mut **tx).await? {
            let sn: String = row.try_get(0)?;
            let i = c.lines.iter().position(|l| l.feedetl_sn == sn).unwrap_or(0);
            return Err(StoreError::refused(
                format!("feedetail[{i}].feedetl_sn"),
                format!("{sn} was already uploaded for this visit"),
            ));
        }
    }
    let rows: Vec<Vec<V<'_>>> = c
        .lines
        .iter()
        .zip(&classified)
        .map(|(l, s)| {
            vec![
                V::T(&l.mdtrt_id),
                V::T(&l.feedetl_sn),
                V::T(&l.chrg_bchno),
                V::T(&ctx.env.msgid),
                V::T(&l.med_list_codg),
                V::T(&l.medins_list_codg),
                V::S(ts(l.fee_ocur_time)),
                V::T(&l.hosp_appr_flag),
                V::I(l.pric_micro),
                V::I(l.cnt_e4),
                V::I(s.amount_fen),
                V::I(s.facts.in_catalogue as i64),
                V::T(&s.facts.chrgitm_lv),
                V::T(&s.facts.med_chrgitm_type),
                V::I(s.facts.selfpay_prop_ppm),
                V::N(s.facts.pric_uplmt_micro),
                V::T(&s.facts.lmt_used_flag),
                V::I(s.fulamt_ownpay_fen),
                V::I(s.overlmt_selfpay_fen),
                V::I(s.preselfpay_fen),
                V::I(s.inscp_scp_fen),
            ]
        })
        .collect();
    insert_rows(tx, "fee_line", FEE_LINE_COLUMNS, rows, "").await?;
    sqlx::query("UPDATE visit SET n_fee_lines = n_fee_lines + $1 WHERE mdtrt_id = $2")
        .bind(n)
        .bind(&first.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    let results = classified.iter().map(|s| s.result()).collect();
    Ok((
        Outcome::FeesUploaded(results),
        "fees",
        first.mdtrt_id.clone(),
    ))
}

const FEE_LINE_COLUMNS: &[&str] = &[
    "mdtrt_id",
    "feedetl_sn",
    "chrg_bchno",
    "upload_msgid",
    "med_list_codg",
    "medins_list_codg",
    "fee_ocur_time",
    "hosp_appr_flag",
    "pric_micro",
    "cnt_e4",
    "amount_fen",
    "in_catalogue",
    "chrgitm_lv",
    "med_chrgitm_type",
    "selfpay_prop_ppm",
    "pric_uplmt_micro",
    "lmt_used_flag",
    "fulamt_ownpay_fen",
    "overlmt_selfpay_fen",
    "preselfpay_fen",
    "inscp_scp_fen",
];

async fn cancel_fees(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &CancelFees) -> Result<Done, StoreError> {
    let kind = kind_of_infno(&ctx.env.infno)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    let n = delete_fee_lines(tx, &c.mdtrt_id, &c.chrg_bchno, &c.feedetl_sns, None).await?;
    if n == 0 {
        return Err(StoreError::not_found(
            if c.feedetl_sns.is_empty() {
                "chrg_bchno"
            } else {
                "feedetl_sn"
            },
            "no unsettled fee line matches",
        ));
    }
    Ok((Outcome::Done, "none", String::new()))
}

/// Deletes unsettled lines of a visit (by batch, by serial numbers or by upload message) and
/// returns how many; a named line that is settled refuses the whole deletion.
async fn delete_fee_lines(
    tx: &mut Tx<'_>,
    mdtrt_id: &str,
    chrg_bchno: &str,
    feedetl_sns: &[String],
    upload_msgid: Option<&str>,
) -> Result<i64, StoreError> {
    let mut filter = String::from("mdtrt_id = $1");
    let mut binds: Vec<&str> = vec![mdtrt_id];
    if let Some(m) = upload_msgid {
        binds.push(m);
        filter.push_str(&format!(" AND upload_msgid = ${}", binds.len()));
    } else if !feedetl_sns.is_empty() {
        filter.push_str(" AND feedetl_sn IN (");
        for (i, sn) in feedetl_sns.iter().enumerate() {
            binds.push(sn);
            if i > 0 {
                filter.push_str(", ");
            }
            filter.push_str(&format!("${}", binds.len()));
        }
        filter.push(')');
    } else if chrg_bchno != "0000" {
        binds.push(chrg_bchno);
        filter.push_str(&format!(" AND chrg_bchno = ${}", binds.len()));
    }
    let named_settled =
        format!("SELECT feedetl_sn FROM fee_line WHERE {filter} AND setl_id IS NOT NULL LIMIT 1");
    // "0000" withdraws every unsettled line: settled lines are simply kept.
    if chrg_bchno != "0000" || !feedetl_sns.is_empty() || upload_msgid.is_some() {
        let mut q = sqlx::query(&named_settled);
        for b in &binds {
            q = q.bind(*b);
        }
        if let Some(row) = q.fetch_optional(&mut **tx).await? {
            let sn: String = row.try_get(0)?;
            return Err(StoreError::refused(
                "feedetl_sn",
                format!("{sn} is settled and cannot be withdrawn"),
            ));
        }
    }
    let sql = format!("DELETE FROM fee_line WHERE {filter} AND setl_id IS NULL");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(*b);
    }
    let n = q.execute(&mut **tx).await?.rows_affected() as i64;
    if n > 0 {
        sqlx::query("UPDATE visit SET n_fee_lines = n_fee_lines - $1 WHERE mdtrt_id = $2")
            .bind(n)
            .bind(mdtrt_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(n)
}

async fn cancel_visit(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &VisitRef,
    kind: &str,
) -> Result<(), StoreError> {
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    expect_status(&v, &["open"])?;
    let settled: i64 =
        sqlx::query("SELECT COUNT(*) FROM fee_line WHERE mdtrt_id = $1 AND setl_id IS NOT NULL")
            .bind(&c.mdtrt_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    if settled > 0 {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!(
                "{} has settled fee lines; reverse the settlement first",
                c.mdtrt_id
            ),
        ));
    }
    if kind == "ipt" && v.n_fee_lines > 0 {
        return Err(StoreError::refused(
            "mdtrt_id",
            format!(
                "{} has {} fee lines; withdraw them (2302) first",
                c.mdtrt_id, v.n_fee_lines
            ),
        ));
    }
    delete_fee_lines(tx, &c.mdtrt_id, "0000", &[], None).await?;
    sqlx::query("UPDATE visit SET status = 'cancelled' WHERE mdtrt_id = $1")
        .bind(&c.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn admit(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Admit) -> Result<Done, StoreError> {
    check_id("ipt_no", &c.ipt_no)?;
    if !IPT_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{:?} is not an inpatient medical type {IPT_MED_TYPES:?}",
                c.med_type
            ),
        ));
    }
    if ctx.inst.fixmedins_type != "1" {
        return Err(StoreError::refused(
            "fixmedins_code",
            "a pharmacy cannot admit patients",
        ));
    }
    check_id_opt("dscg_maindiag_code", &c.dscg_maindiag_code)?;
    for (f, v) in [
        ("adm_dept_name", &c.adm_dept_name),
        ("chfpdr_name", &c.chfpdr_name),
        ("main_cond_dscr", &c.main_cond_dscr),
        ("dscg_maindiag_name", &c.dscg_maindiag_name),
        ("mdtrt_cert_no", &c.mdtrt_cert_no),
    ] {
        check_text(f, v)?;
    }
    check_diagnoses(&c.diagnoses)?;
    lock_person(tx, &c.psn_no).await?;
    active_relation(tx, &c.psn_no, &c.insutype, c.begntime.date()).await?;
    let open = sqlx::query("SELECT mdtrt_id, fixmedins_code FROM visit WHERE psn_no = $1 AND kind = 'ipt' AND (status IN ('open', 'discharged') OR (status = 'settled' AND endtime = '')) LIMIT 1")
        .bind(&c.psn_no)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = open {
        let id: String = row.try_get(0)?;
        let inst: String = row.try_get(1)?;
        return Err(StoreError::refused(
            "psn_no",
            format!(
                "{} is in hospital (visit {id} at {inst}); cannot admit again",
                c.psn_no
            ),
        ));
    }
    let mdtrt_id = ctx.ids.next('M');
    insert_visit(
        tx,
        ctx,
        &mdtrt_id,
        &c.psn_no,
        &c.insutype,
        "ipt",
        &c.med_type,
        &c.ipt_no,
        c.begntime,
        &c.mdtrt_cert_type,
        &c.mdtrt_cert_no,
        &c.adm_dept_codg,
        &c.adm_dept_name,
        &c.atddr_no,
        &c.chfpdr_name,
        &c.dscg_maindiag_code,
        &c.dscg_maindiag_name,
        &c.main_cond_dscr,
        (false, c.transfer_in),
    )
    .await?;
    save_diagnoses(tx, &mdtrt_id, &c.diagnoses).await?;
    Ok((
        Outcome::VisitOpened {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: c.psn_no.clone(),
            ipt_otp_no: c.ipt_no.clone(),
        },
        "visit",
        mdtrt_id,
    ))
}

async fn discharge(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Discharge) -> Result<Done, StoreError> {
    check_diagnoses(&c.diagnoses)?;
    check_id_opt("dscg_way", &c.dscg_way)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, "ipt")?;
    // A stay settled before its discharge (2304 → 2402) is still in hospital until this 2402.
    let settled_in_hospital = v.status == "settled" && v.endtime.is_empty();
    if !settled_in_hospital {
        expect_status(&v, &["open"])?;
    }
    if ts(c.endtime) < v.begntime {
        return Err(StoreError::bad(
            "endtime",
            format!("is before the admission time {}", v.begntime),
        ));
    }
    sqlx::query(
        "UPDATE visit SET status = $4, endtime = $1, dscg_way = $2 WHERE mdtrt_id = $3",
    )
    .bind(ts(c.endtime))
    .bind(&c.dscg_way)
    .bind(&c.mdtrt_id)
    .bind(if settled_in_hospital {
        "settled"
    } else {
        "discharged"
    })
    .execute(&mut **tx)
    .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses).await?;
    Ok((Outcome::Done, "none", String::new()))
}

async fn update_admission(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    c: &UpdateAdmission,
) -> Result<Done, StoreError> {
    check_diagnoses(&c.diagnoses)?;
    if !c.med_type.is_empty() && !IPT_MED_TYPES.contains(&c.med_type.as_str()) {
        return Err(StoreError::bad(
            "med_type",
            format!("{:?} is not an inpatient medical type", c.med_type),
        ));
    }
    check_id_opt("dscg_maindiag_code", &c.dscg_maindiag_code)?;
    check_text("dscg_maindiag_name", &c.dscg_maindiag_name)?;
    check_text("main_cond_dscr", &c.main_cond_dscr)?;
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, "ipt")?;
    expect_status(&v, &["open"])?;
    sqlx::query(
        "UPDATE visit SET begntime = CASE WHEN $1 = '' THEN begntime ELSE $1 END, \
         med_type = CASE WHEN $2 = '' THEN med_type ELSE $2 END, \
         dise_codg = CASE WHEN $3 = '' THEN dise_codg ELSE $3 END, \
         dise_name = CASE WHEN $4 = '' THEN dise_name ELSE $4 END, \
         main_cond_dscr = CASE WHEN $5 = '' THEN main_cond_dscr ELSE $5 END WHERE mdtrt_id = $6",
    )
    .bind(c.begntime.map(ts).unwrap_or_default())
    .bind(&c.med_type)
    .bind(&c.dscg_maindiag_code)
    .bind(&c.dscg_maindiag_name)
    .bind(&c.main_cond_dscr)
    .bind(&c.mdtrt_id)
    .execute(&mut **tx)
    .await?;
    save_diagnoses(tx, &c.mdtrt_id, &c.diagnoses).await?;
    Ok((Outcome::Done, "none", String::new()))
}

async fn undo_discharge(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &VisitRef) -> Result<Done, StoreError> {
    let (_, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, "ipt")?;
    expect_status(&v, &["discharged"])?;
    sqlx::query(
        "UPDATE visit SET status = 'open', endtime = '', dscg_way = '' WHERE mdtrt_id = $1",
    )
    .bind(&c.mdtrt_id)
    .execute(&mut **tx)
    .await?;
    Ok((Outcome::Done, "none", String::new()))
}

// ------------------------------------------------------------------------------------------
// Settlement

struct PersonRow {
    psn_name: String,
    certno: String,
    gend: String,
    naty: String,
    brdy: String,
}

fn age_years(brdy: &str, on: NaiveDate) -> i64 {
    let Ok(b) = NaiveDate::parse_from_str(brdy, "%Y-%m-%d") else {
        return 0;
    };
    let mut age = i64::from(on.year() - b.year());
    if (on.month(), on.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    age.max(0)
}

async fn account_balance_tx(tx: &mut Tx<'_>, account: &str) -> Result<Option<i64>, StoreError> {
    let sql = if IS_PG {
        "SELECT balance_fen FROM ledger_balance WHERE account_code = $1 AND shard = 0 FOR UPDATE"
    } else {
        "SELECT balance_fen FROM ledger_balance WHERE account_code = $1 AND shard = 0"
    };
    Ok(sqlx::query(sql)
        .bind(account)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// What a settlement reads about its person besides the accounts.
struct PersonState {
    psn_type: String,
    insuplc_admdvs: String,
    /// Identity categories in force, sorted.
    sp_psn_types: Vec<String>,
    /// Contribution tier (缴费档次) in force for the insurance type, if any.
    tier: Option<String>,
    /// Chronic disease recognitions in force: (disease code, begndate, enddate, institution).
    recognitions: Vec<(String, String, String, String)>,
    /// Year-to-date accumulators by insurance-year label (the two candidate labels only).
    ytd_by_year: BTreeMap<i64, Ytd>,
}

/// The person's insurance relation for `insutype` on `date` (as [`active_relation`]), identity
/// categories, contribution tier and chronic recognitions in force, and year-to-date
/// accumulators of the insurance years `years` (the settle date's calendar year and the one
/// before: the policy says which label counts), in one round trip: the six reads are one
/// `UNION ALL`, each arm tagged in its first column. The caller holds the person's lock, and
/// these rows change only under it.
async fn person_state(
    tx: &mut Tx<'_>,
    psn_no: &str,
    insutype: &str,
    date: NaiveDate,
    years: [i64; 2],
) -> Result<PersonState, StoreError> {
    let d = date.to_string();
    let rows = sqlx::query(
        "SELECT CAST(0 AS BIGINT), psn_type, insuplc_admdvs, psn_insu_stas, CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM insurance WHERE psn_no = $1 AND insutype = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(1 AS BIGINT), sp_psn_type, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM identity WHERE psn_no = $1 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(2 AS BIGINT), CAST(year AS TEXT), '', '', inpatient_admissions, hifp_inpatient, hifp_outpatient, \
                outpatient_deductible, hifob, hifmi_base, hifmi, maf, maf_deductible \
         FROM ytd WHERE psn_no = $1 AND (year = $4 OR year = $5) \
         UNION ALL \
         SELECT CAST(3 AS BIGINT), key, CAST(year AS TEXT), '', amount_fen, CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         FROM ytd_keyed WHERE psn_no = $1 AND (year = $4 OR year = $5) \
         UNION ALL \
         SELECT CAST(4 AS BIGINT), clct_tier, '', '', CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT) \
         FROM contribution_tier WHERE psn_no = $1 AND insutype = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) \
         UNION ALL \
         SELECT CAST(5 AS BIGINT), opsp_dise_code, begndate || '|' || enddate, fixmedins_code, CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
                CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         FROM chronic_recognition WHERE psn_no = $1 AND begndate <= $3 AND (enddate = '' OR enddate >= $3)",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(&d)
    .bind(years[0])
    .bind(years[1])
    .fetch_all(&mut **tx)
    .await?;
    // (psn_insu_stas, psn_type, insuplc_admdvs) of the relation that `active_relation` picks:
    // the lowest status.
    let mut relation: Option<(String, String, String)> = None;
    let mut sp_psn_types = Vec::new();
    let mut tier = None;
    let mut recognitions = Vec::new();
    let mut ytd_by_year: BTreeMap<i64, Ytd> = BTreeMap::new();
    let year_of = |text: String| -> Result<i64, StoreError> {
        text.parse()
            .map_err(|_| StoreError::Invariant(format!("accumulator year {text:?} is not a number")))
    };
    for r in rows {
        let tag: i64 = r.try_get(0)?;
        match tag {
            0 => {
                let found: (String, String, String) = (r.try_get(3)?, r.try_get(1)?, r.try_get(2)?);
                if relation.as_ref().is_none_or(|best| found.0 < best.0) {
                    relation = Some(found);
                }
            }
            1 => sp_psn_types.push(r.try_get(1)?),
            2 => {
                let ytd = ytd_by_year.entry(year_of(r.try_get(1)?)?).or_default();
                ytd.inpatient_admissions = r.try_get(4)?;
                ytd.hifp_inpatient = r.try_get(5)?;
                ytd.hifp_outpatient = r.try_get(6)?;
                ytd.outpatient_deductible = r.try_get(7)?;
                ytd.hifob = r.try_get(8)?;
                ytd.hifmi_base = r.try_get(9)?;
                ytd.hifmi = r.try_get(10)?;
                ytd.maf = r.try_get(11)?;
                ytd.maf_deductible = r.try_get(12)?;
            }
            3 => {
                let ytd = ytd_by_year.entry(year_of(r.try_get(2)?)?).or_default();
                ytd.keyed.insert(r.try_get(1)?, r.try_get(4)?);
            }
            4 => tier = Some(r.try_get(1)?),
            _ => {
                let period: String = r.try_get(2)?;
                let (begndate, enddate) = period.split_once('|').unwrap_or((&period, ""));
                recognitions.push((
                    r.try_get(1)?,
                    begndate.to_owned(),
                    enddate.to_owned(),
                    r.try_get(3)?,
                ));
            }
        }
    }
    sp_psn_types.sort();
    recognitions.sort();
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
    Ok(PersonState {
        psn_type,
        insuplc_admdvs,
        sp_psn_types,
        tier,
        recognitions,
        ytd_by_year,
    })
}

/// Adds `delta` to the person-year accumulators.
async fn apply_ytd(tx: &mut Tx<'_>, psn_no: &str, year: i64, d: &Ytd) -> Result<(), StoreError> {
    let fields = [
        d.inpatient_admissions,
        d.hifp_inpatient,
        d.hifp_outpatient,
        d.outpatient_deductible,
        d.hifob,
        d.hifmi_base,
        d.hifmi,
        d.maf,
        d.maf_deductible,
    ];
    // A settlement only adds (one upsert); a reversal subtracts from a row that must exist (an
    // update, so that the CHECKs see the result, never a negative insert).
    let sql = if fields.iter().all(|x| *x >= 0) {
        "INSERT INTO ytd (psn_no, year, inpatient_admissions, hifp_inpatient, hifp_outpatient, outpatient_deductible, hifob, hifmi_base, hifmi, maf, maf_deductible) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (psn_no, year) DO UPDATE SET \
         inpatient_admissions = ytd.inpatient_admissions + excluded.inpatient_admissions, \
         hifp_inpatient = ytd.hifp_inpatient + excluded.hifp_inpatient, \
         hifp_outpatient = ytd.hifp_outpatient + excluded.hifp_outpatient, \
         outpatient_deductible = ytd.outpatient_deductible + excluded.outpatient_deductible, \
         hifob = ytd.hifob + excluded.hifob, hifmi_base = ytd.hifmi_base + excluded.hifmi_base, \
         hifmi = ytd.hifmi + excluded.hifmi, maf = ytd.maf + excluded.maf, maf_deductible = ytd.maf_deductible + excluded.maf_deductible"
    } else {
        "UPDATE ytd SET inpatient_admissions = inpatient_admissions + $3, hifp_inpatient = hifp_inpatient + $4, \
         hifp_outpatient = hifp_outpatient + $5, outpatient_deductible = outpatient_deductible + $6, hifob = hifob + $7, \
         hifmi_base = hifmi_base + $8, hifmi = hifmi + $9, maf = maf + $10, maf_deductible = maf_deductible + $11 \
         WHERE psn_no = $1 AND year = $2"
    };
    let mut q = sqlx::query(sql).bind(psn_no).bind(year);
    for x in fields {
        q = q.bind(x);
    }
    if q.execute(&mut **tx).await?.rows_affected() != 1 {
        return Err(StoreError::Invariant(format!(
            "no accumulator row for {psn_no} in {year} to take a reversal from"
        )));
    }
    for (key, fen) in &d.keyed {
        let sql = if *fen >= 0 {
            "INSERT INTO ytd_keyed (psn_no, year, key, amount_fen) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (psn_no, year, key) DO UPDATE SET amount_fen = ytd_keyed.amount_fen + excluded.amount_fen"
        } else {
            "UPDATE ytd_keyed SET amount_fen = amount_fen + $4 WHERE psn_no = $1 AND year = $2 AND key = $3"
        };
        let n = sqlx::query(sql)
            .bind(psn_no)
            .bind(year)
            .bind(key)
            .bind(fen)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::Invariant(format!(
                "no accumulator {key} for {psn_no} in {year} to take a reversal from"
            )));
        }
    }
    Ok(())
}

/// One ledger movement: (debit, credit, amount > 0, kind).
type Transfer = (String, String, i64, String);

/// Writes transfers under `ref_id` and applies them to the balance shards.
async fn post_transfers(
    tx: &mut Tx<'_>,
    ref_id: &str,
    psn_no: &str,
    transfers: &[Transfer],
) -> Result<(), StoreError> {
    if transfers.is_empty() {
        return Ok(());
    }
    for (d, c, amount, _) in transfers {
        if *amount <= 0 || d == c {
            return Err(StoreError::Invariant(format!(
                "transfer {d} → {c} of {amount} fen"
            )));
        }
    }
    let rows = transfers
        .iter()
        .enumerate()
        .map(|(i, (d, c, a, k))| {
            vec![
                V::T(ref_id),
                V::I(i as i64 + 1),
                V::T(d),
                V::T(c),
                V::I(*a),
                V::T(k),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "ledger_transfer",
        &[
            "ref_id",
            "seq",
            "debit_account",
            "credit_account",
            "amount_fen",
            "kind",
        ],
        rows,
        "",
    )
    .await?;
    // Net change per (account, shard), applied in key order (a fixed lock order).
    let mut deltas: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (d, c, a, _) in transfers {
        *deltas
            .entry((d.clone(), ledger::shard(d, psn_no)))
            .or_default() -= a;
        *deltas
            .entry((c.clone(), ledger::shard(c, psn_no)))
            .or_default() += a;
    }
    let negative = |e: sqlx::Error| match &e {
        sqlx::Error::Database(db)
            if db.message().contains("CHECK") || db.code().as_deref() == Some("23514") =>
        {
            StoreError::Invariant(format!("a transfer would make an account negative: {db}"))
        }
        _ => StoreError::Database(e),
    };
    // Personal accounts (one row each, opened at import, never negative): a plain update, so the
    // CHECK sees the new balance. Shared accounts: an upsert that opens a shard on first use.
    let mut shared = Vec::new();
    for ((acct, shard), delta) in &deltas {
        if *delta == 0 {
            continue;
        }
        if acct.starts_with("personal:") {
            let updated = sqlx::query("UPDATE ledger_balance SET balance_fen = balance_fen + $1 WHERE account_code = $2 AND shard = $3")
                .bind(delta)
                .bind(acct)
                .bind(shard)
                .execute(&mut **tx)
                .await
                .map_err(negative)?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Invariant(format!(
                    "personal account {acct} has no balance row"
                )));
            }
        } else {
            shared.push(vec![V::T(acct), V::I(*shard), V::I(1), V::I(*delta)]);
        }
    }
    if !shared.is_empty() {
        insert_rows(
            tx,
            "ledger_balance",
            &["account_code", "shard", "may_go_negative", "balance_fen"],
            shared,
            "ON CONFLICT (account_code, shard) DO UPDATE SET balance_fen = ledger_balance.balance_fen + excluded.balance_fen",
        )
        .await
        .map_err(negative)?;
    }
    Ok(())
}

/// Makes sure every fund account named exists (a region first seen after import).
async fn ensure_accounts(
    tx: &mut Tx<'_>,
    accounts: &[(String, &'static str, String)],
) -> Result<(), StoreError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let rows = accounts
        .iter()
        .map(|(code, kind, owner)| vec![V::T(code), V::T(kind), V::T(owner), V::I(1)])
        .collect();
    insert_rows(
        tx,
        "ledger_account",
        &["account_code", "kind", "owner", "may_go_negative"],
        rows,
        "ON CONFLICT (account_code) DO NOTHING",
    )
    .await?;
    Ok(())
}

fn clr_type(kind: &str, med_type: &str) -> &'static str {
    if med_type == "41" {
        "41"
    } else if kind == "ipt" {
        "21"
    } else {
        "11"
    }
}

async fn settle(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Settle) -> Result<Done, StoreError> {
    let kind = kind_of_infno(&ctx.env.infno)?;
    if !["0", "1", "2"].contains(&c.acct_used_flag.as_str()) {
        return Err(StoreError::bad(
            "acct_used_flag",
            format!("{:?} is not 0, 1 or 2", c.acct_used_flag),
        ));
    }
    if c.medfee_sumamt_fen < 0 {
        return Err(StoreError::bad("medfee_sumamt", "is negative"));
    }
    check_id_opt("chrg_bchno", &c.chrg_bchno)?;
    check_id_opt("invono", &c.invono)?;
    let (person, v) = lock_visit(tx, ctx, &c.psn_no, &c.mdtrt_id).await?;
    expect_kind(&v, kind)?;
    // An inpatient stay settles either after its discharge (2402 → 2304) or at the end of the
    // stay before the discharge is recorded (2304 → 2402, the order many hospitals use); either
    // way the settlement closes the visit's bill, and 2402 may still follow it.
    expect_status(&v, &["open", "discharged"])?;
    if c.insutype != v.insutype {
        return Err(StoreError::bad(
            "insutype",
            format!("{} differs from the visit's {}", c.insutype, v.insutype),
        ));
    }
    let med_type = if c.med_type.is_empty() {
        v.med_type.clone()
    } else {
        c.med_type.clone()
    };
    if med_type != v.med_type {
        return Err(StoreError::bad(
            "med_type",
            format!(
                "{med_type} differs from the visit's {} (2203 sets it)",
                v.med_type
            ),
        ));
    }
    let today = ctx.env.now.date();
    // The insurance year's label: this calendar year's, or last year's for an insurance year
    // that began then (the policy in force says which, below).
    let candidate_years = [i64::from(today.year()), i64::from(today.year()) - 1];

    // The lines this settlement covers.
    let by_batch = kind == "otp" && !c.chrg_bchno.is_empty() && c.chrg_bchno != "0000";
    let sql = format!(
        "SELECT feedetl_sn, med_list_codg, pric_micro, cnt_e4, amount_fen, hosp_appr_flag, in_catalogue, chrgitm_lv, \
         med_chrgitm_type, selfpay_prop_ppm, pric_uplmt_micro, lmt_used_flag, fulamt_ownpay_fen, overlmt_selfpay_fen, \
         preselfpay_fen, inscp_scp_fen, fee_ocur_time FROM fee_line WHERE mdtrt_id = $1 AND setl_id IS NULL{} ORDER BY feedetl_sn",
        if by_batch { " AND chrg_bchno = $2" } else { "" }
    );
    let mut q = sqlx::query(&sql).bind(&c.mdtrt_id);
    if by_batch {
        q = q.bind(&c.chrg_bchno);
    }
    let lines = q
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| {
            let fee_ocur_time: String = r.try_get(16)?;
            Ok(StoredLine {
                fee_date: fee_ocur_time
                    .get(..10)
                    .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
                    .unwrap_or(today),
                feedetl_sn: r.try_get(0)?,
                med_list_codg: r.try_get(1)?,
                pric_micro: r.try_get(2)?,
                cnt_e4: r.try_get(3)?,
                amount_fen: r.try_get(4)?,
                hosp_appr_flag: r.try_get(5)?,
                facts: LineFacts {
                    in_catalogue: r.try_get::<i64, _>(6)? == 1,
                    chrgitm_lv: r.try_get(7)?,
                    med_chrgitm_type: r.try_get(8)?,
                    selfpay_prop_ppm: r.try_get(9)?,
                    pric_uplmt_micro: r.try_get(10)?,
                    lmt_used_flag: r.try_get(11)?,
                },
                fulamt_ownpay_fen: r.try_get(12)?,
                overlmt_selfpay_fen: r.try_get(13)?,
                preselfpay_fen: r.try_get(14)?,
                inscp_scp_fen: r.try_get(15)?,
                memo: String::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if lines.is_empty() {
        return Err(StoreError::refused(
            if by_batch { "chrg_bchno" } else { "mdtrt_id" },
            "there are no unsettled fee lines to settle (upload them with 2204/2301 first)",
        ));
    }
    let total: i64 = lines.iter().map(|l| l.amount_fen).sum();
    if total != c.medfee_sumamt_fen {
        return Err(StoreError::bad(
            "medfee_sumamt",
            format!(
                "{} differs from the uploaded lines' total {}",
                engine::render_fen(c.medfee_sumamt_fen),
                engine::render_fen(total)
            ),
        ));
    }
    if total < 0 {
        return Err(StoreError::refused(
            "medfee_sumamt",
            "the lines total a negative amount",
        ));
    }
    // The person as of today.
    let d = today.to_string();
    let PersonState {
        psn_type,
        insuplc_admdvs,
        sp_psn_types,
        tier,
        recognitions,
        mut ytd_by_year,
    } = person_state(tx, &c.psn_no, &c.insutype, today, candidate_years).await?;
    let year = ctx
        .engine
        .policy_year(&insuplc_admdvs, today)
        .map_or(candidate_years[0], i64::from);
    let ytd = ytd_by_year.remove(&year).unwrap_or_default();
    // The filing that covers a visit outside the insured region: its kind (dcla_type) decides
    // the cross-region rule; none is unfiled. A local visit needs none.
    let filing = if v.mdtrtarea_admvs != insuplc_admdvs {
        sqlx::query(
            "SELECT dcla_type FROM filing WHERE psn_no = $1 AND mdtrtarea_admvs = $2 AND begndate <= $3 AND (enddate = '' OR enddate >= $3) ORDER BY dcla_type LIMIT 1",
        )
        .bind(&c.psn_no)
        .bind(&v.mdtrtarea_admvs)
        .bind(&d)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?
        .map(|dcla_type| engine::filing_kind(&dcla_type))
    } else {
        None
    };
    // The delivery type (2203A) matters only to a maternity bill: read it only for one.
    let matn_type = if ctx
        .engine
        .is_maternity(&insuplc_admdvs, today, &c.insutype, &med_type)
    {
        visit_maternity(&mut **tx, &c.mdtrt_id)
            .await?
            .and_then(|maternity| maternity.matn_type)
    } else {
        None
    };
    let own_account = ledger::personal_account(&c.psn_no);
    let own_balance = account_balance_tx(tx, &own_account).await?;
    // Family accounts in binding order, locked in account-code order (a fixed lock order).
    let mut family: Vec<(String, i64)> = Vec::new();
    if c.acct_used_flag == "2" {
        let bound = sqlx::query(
            "SELECT family_psn_no FROM family_binding WHERE psn_no = $1 AND begndate <= $2 AND (enddate = '' OR enddate >= $2) ORDER BY bind_order",
        )
        .bind(&c.psn_no)
        .bind(&d)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<String>, sqlx::Error>>()?;
        let mut sorted = bound.clone();
        sorted.sort();
        let mut balances = BTreeMap::new();
        for f in &sorted {
            if let Some(b) = account_balance_tx(tx, &ledger::personal_account(f)).await? {
                balances.insert(f.clone(), b);
            }
        }
        family = bound
            .into_iter()
            .filter_map(|f| balances.get(&f).map(|b| (f, *b)))
            .collect();
    }
    let input = SettleInput {
        settle_date: today,
        insutype: &c.insutype,
        psn_type: &psn_type,
        age_years: age_years(&person.brdy, today),
        sp_psn_types: &sp_psn_types,
        insuplc_admdvs: &insuplc_admdvs,
        acct_balance_fen: own_balance.unwrap_or(0),
        mulaid_balances: &family,
        ytd: &ytd,
        med_type: &med_type,
        hi_setl_lv: &ctx.inst.hi_setl_lv,
        mdtrtarea_admvs: &v.mdtrtarea_admvs,
        filing,
        emergency: med_type == "13" || med_type == "24",
        tier: tier.as_deref(),
        recognitions: &recognitions,
        fixmedins_code: &ctx.inst.fixmedins_code,
        institution_kinds: &ctx.inst.kinds,
        begin_date: v.begntime.get(..10).and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()),
        matn_type: matn_type.as_deref(),
        referral: v.referral,
        transfer_in: v.transfer_in,
        dise_codg: &v.dise_codg,
        acct_used_flag: &c.acct_used_flag,
        psn_no: &c.psn_no,
        lines: &lines,
    };
    let computed: Computed = ctx.engine.settle(&input)?;
    let a = &computed.amounts;
    a.check(1).map_err(StoreError::Invariant)?;
    if a.medfee_sumamt != total {
        return Err(StoreError::Invariant(format!(
            "engine total {} differs from the lines' {total}",
            a.medfee_sumamt
        )));
    }
    let mulaid_total: i64 = computed.mulaid_draws.iter().map(|(_, f)| *f).sum();
    if mulaid_total != a.acct_mulaid_pay
        || a.acct_pay - a.acct_mulaid_pay > own_balance.unwrap_or(0)
    {
        return Err(StoreError::Invariant(
            "personal account draws disagree with acct_pay".into(),
        ));
    }
    for (psn, f) in &computed.mulaid_draws {
        let available = family
            .iter()
            .find(|(p, _)| p == psn)
            .map(|(_, b)| *b)
            .unwrap_or(0);
        if *f > available {
            return Err(StoreError::Invariant(format!(
                "mutual aid draws {f} from {psn} who has {available}"
            )));
        }
    }
    let fund_total: i64 = computed.detail.iter().map(|(_, f)| *f).sum();
    if fund_total != a.fund_pay_sumamt {
        return Err(StoreError::Invariant(format!(
            "setldetail funds {fund_total} ≠ fund_pay_sumamt {}",
            a.fund_pay_sumamt
        )));
    }
    let balc = own_balance.unwrap_or(0) - (a.acct_pay - a.acct_mulaid_pay);
    let setl_id = if c.pre {
        String::new()
    } else {
        ctx.ids.next('S')
    };
    let mut detail: Vec<FundPayment> = computed
        .detail
        .iter()
        .filter(|(_, f)| *f != 0)
        .map(|(code, f)| FundPayment {
            fund_pay_type: code.clone(),
            fund_payamt_fen: *f,
        })
        .collect();
    if a.acct_pay != 0 {
        detail.push(FundPayment {
            fund_pay_type: ledger::PERSONAL_ACCOUNT_FUND.into(),
            fund_payamt_fen: a.acct_pay,
        });
    }
    let view = SettlementView {
        setl_id: setl_id.clone(),
        orig_setl_id: None,
        refd_setl_flag: false,
        mdtrt_id: c.mdtrt_id.clone(),
        psn_no: c.psn_no.clone(),
        psn_name: person.psn_name,
        psn_cert_type: "01".into(),
        certno: person.certno,
        gend: person.gend,
        naty: person.naty,
        brdy: person.brdy,
        age_years: input.age_years,
        insutype: c.insutype.clone(),
        psn_type: psn_type.clone(),
        cvlserv_flag: "0".into(),
        setl_time: ctx.env.now,
        mdtrt_cert_type: v.mdtrt_cert_type.clone(),
        med_type: med_type.clone(),
        clr_type: clr_type(kind, &med_type).into(),
        insuplc_admdvs: insuplc_admdvs.clone(),
        mdtrtarea_admvs: v.mdtrtarea_admvs.clone(),
        fixmedins_code: ctx.inst.fixmedins_code.clone(),
        fixmedins_name: ctx.inst.fixmedins_name.clone(),
        hosp_lv: ctx.inst.hosp_lv.clone(),
        hi_setl_lv: ctx.inst.hi_setl_lv.clone(),
        medins_setl_id: ctx.env.msgid.clone(),
        invono: c.invono.clone(),
        dise_codg: v.dise_codg.clone(),
        begndate: v.begntime.get(..10).unwrap_or("").to_string(),
        enddate: if v.endtime.is_empty() {
            d.clone()
        } else {
            v.endtime.get(..10).unwrap_or("").to_string()
        },
        medfee_sumamt: a.medfee_sumamt,
        fulamt_ownpay_amt: a.fulamt_ownpay_amt,
        overlmt_selfpay: a.overlmt_selfpay,
        preselfpay_amt: a.preselfpay_amt,
        inscp_scp_amt: a.inscp_scp_amt,
        act_pay_dedc: a.act_pay_dedc,
        hifp_pay: a.hifp_pay,
        pool_prop_selfpay_ppm: a.pool_prop_selfpay_ppm,
        cvlserv_pay: a.cvlserv_pay,
        hifes_pay: a.hifes_pay,
        hifmi_pay: a.hifmi_pay,
        hifob_pay: a.hifob_pay,
        maf_pay: a.maf_pay,
        oth_pay: a.oth_pay,
        fund_pay_sumamt: a.fund_pay_sumamt,
        psn_part_amt: a.psn_part_amt,
        acct_pay: a.acct_pay,
        acct_mulaid_pay: a.acct_mulaid_pay,
        psn_cash_pay: a.psn_cash_pay,
        hosp_part_amt: a.hosp_part_amt,
        balc,
        detail,
        setl_proc_info: computed.trace.clone(),
    };
    if c.pre {
        return Ok((Outcome::Settled(Box::new(view)), "none", String::new()));
    }

    // Write: the settlement, its lines, its transfers and balances, the accumulators, the visit.
    insert_settlement(
        tx,
        &view,
        &ctx.env.infno,
        year,
        &c.chrg_bchno,
        &c.acct_used_flag,
        1,
        &computed.ytd_delta,
    )
    .await?;
    let sql = format!(
        "UPDATE fee_line SET setl_id = $1 WHERE mdtrt_id = $2 AND setl_id IS NULL{}",
        if by_batch { " AND chrg_bchno = $3" } else { "" }
    );
    let mut q = sqlx::query(&sql).bind(&setl_id).bind(&c.mdtrt_id);
    if by_batch {
        q = q.bind(&c.chrg_bchno);
    }
    let n = q.execute(&mut **tx).await?.rows_affected();
    if n != lines.len() as u64 {
        return Err(StoreError::Invariant(format!(
            "settled {n} lines, computed on {}",
            lines.len()
        )));
    }
    let inst_account = ledger::institution_account(&ctx.inst.fixmedins_code);
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut new_accounts = Vec::new();
    for (fund, fen) in &computed.detail {
        if *fen > 0 {
            let acct = ledger::fund_account(fund, &insuplc_admdvs);
            if !engine::NATIONAL_FUNDS.contains(&fund.as_str()) {
                new_accounts.push((acct.clone(), "fund", format!("{fund}:{insuplc_admdvs}")));
            }
            transfers.push((acct, inst_account.clone(), *fen, fund.clone()));
        }
    }
    let own_part = a.acct_pay - a.acct_mulaid_pay;
    if own_part > 0 {
        transfers.push((
            own_account.clone(),
            inst_account.clone(),
            own_part,
            ledger::KIND_ACCT.into(),
        ));
    }
    for (psn, fen) in &computed.mulaid_draws {
        if *fen > 0 {
            transfers.push((
                ledger::personal_account(psn),
                inst_account.clone(),
                *fen,
                ledger::KIND_MULAID.into(),
            ));
        }
    }
    if a.psn_cash_pay > 0 {
        transfers.push((
            ledger::CASH_ACCOUNT.into(),
            inst_account.clone(),
            a.psn_cash_pay,
            ledger::KIND_CASH.into(),
        ));
    }
    ensure_accounts(tx, &new_accounts).await?;
    post_transfers(tx, &setl_id, &c.psn_no, &transfers).await?;
    apply_ytd(tx, &c.psn_no, year, &computed.ytd_delta).await?;
    if !(kind == "ipt" && c.mid_setl_flag) {
        sqlx::query("UPDATE visit SET status = 'settled' WHERE mdtrt_id = $1")
            .bind(&c.mdtrt_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok((Outcome::Settled(Box::new(view)), "settlement", setl_id))
}

#[allow(clippy::too_many_arguments)]
async fn insert_settlement(
    tx: &mut Tx<'_>,
    v: &SettlementView,
    infno: &str,
    year: i64,
    chrg_bchno: &str,
    acct_used_flag: &str,
    sign: i64,
    ytd: &Ytd,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settlement (setl_id, setl_sign, orig_setl_id, refd_setl_flag, mdtrt_id, psn_no, fixmedins_code, medins_setl_id, infno, \
         setl_time, setl_date, year, insutype, psn_type, med_type, clr_type, insuplc_admdvs, mdtrtarea_admvs, hi_setl_lv, acct_used_flag, \
         chrg_bchno, invono, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, \
         pool_prop_selfpay_ppm, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay, fund_pay_sumamt, psn_part_amt, \
         acct_pay, acct_mulaid_pay, psn_cash_pay, hosp_part_amt, balc, ytd_inpatient_admissions, ytd_hifp_inpatient, ytd_hifp_outpatient, \
         ytd_outpatient_deductible, ytd_hifob, ytd_hifmi_base, ytd_hifmi, ytd_maf, ytd_maf_deductible, setl_proc_info) \
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, \
         $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51, $52)",
    )
    .bind(&v.setl_id)
    .bind(sign)
    .bind(&v.orig_setl_id)
    .bind(&v.mdtrt_id)
    .bind(&v.psn_no)
    .bind(&v.fixmedins_code)
    .bind(&v.medins_setl_id)
    .bind(infno)
    .bind(ts(v.setl_time))
    .bind(v.setl_time.date().to_string())
    .bind(year)
    .bind(&v.insutype)
    .bind(&v.psn_type)
    .bind(&v.med_type)
    .bind(&v.clr_type)
    .bind(&v.insuplc_admdvs)
    .bind(&v.mdtrtarea_admvs)
    .bind(&v.hi_setl_lv)
    .bind(acct_used_flag)
    .bind(chrg_bchno)
    .bind(&v.invono)
    .bind(v.medfee_sumamt)
    .bind(v.fulamt_ownpay_amt)
    .bind(v.overlmt_selfpay)
    .bind(v.preselfpay_amt)
    .bind(v.inscp_scp_amt)
    .bind(v.act_pay_dedc)
    .bind(v.pool_prop_selfpay_ppm)
    .bind(v.hifp_pay)
    .bind(v.cvlserv_pay)
    .bind(v.hifes_pay)
    .bind(v.hifmi_pay)
    .bind(v.hifob_pay)
    .bind(v.maf_pay)
    .bind(v.oth_pay)
    .bind(v.fund_pay_sumamt)
    .bind(v.psn_part_amt)
    .bind(v.acct_pay)
    .bind(v.acct_mulaid_pay)
    .bind(v.psn_cash_pay)
    .bind(v.hosp_part_amt)
    .bind(v.balc)
    .bind(ytd.inpatient_admissions)
    .bind(ytd.hifp_inpatient)
    .bind(ytd.hifp_outpatient)
    .bind(ytd.outpatient_deductible)
    .bind(ytd.hifob)
    .bind(ytd.hifmi_base)
    .bind(ytd.hifmi)
    .bind(ytd.maf)
    .bind(ytd.maf_deductible)
    .bind(&v.setl_proc_info)
    .execute(&mut **tx)
    .await?;
    let rows: Vec<Vec<V<'_>>> = ytd
        .keyed
        .iter()
        .filter(|(_, fen)| **fen != 0)
        .map(|(key, fen)| vec![V::T(&v.setl_id), V::T(key), V::I(*fen)])
        .collect();
    if !rows.is_empty() {
        insert_rows(
            tx,
            "settlement_ytd_keyed",
            &["setl_id", "key", "delta_fen"],
            rows,
            "",
        )
        .await?;
    }
    Ok(())
}

const VIEW_COLUMNS: &str = "s.setl_id, s.orig_setl_id, s.refd_setl_flag, s.mdtrt_id, s.psn_no, p.psn_name, p.certno, p.gend, p.naty, p.brdy, \
    s.insutype, s.psn_type, s.setl_time, v.mdtrt_cert_type, s.med_type, s.clr_type, s.insuplc_admdvs, s.mdtrtarea_admvs, s.fixmedins_code, \
    i.fixmedins_name, i.hosp_lv, s.hi_setl_lv, s.medins_setl_id, s.invono, v.dise_codg, v.begntime, v.endtime, s.medfee_sumamt, \
    s.fulamt_ownpay_amt, s.overlmt_selfpay, s.preselfpay_amt, s.inscp_scp_amt, s.act_pay_dedc, s.hifp_pay, s.pool_prop_selfpay_ppm, \
    s.cvlserv_pay, s.hifes_pay, s.hifmi_pay, s.hifob_pay, s.maf_pay, s.oth_pay, s.fund_pay_sumamt, s.psn_part_amt, s.acct_pay, \
    s.acct_mulaid_pay, s.psn_cash_pay, s.hosp_part_amt, s.balc, s.setl_proc_info, s.setl_date, s.setl_sign, s.year, s.acct_used_flag, \
    s.chrg_bchno, s.ytd_inpatient_admissions, s.ytd_hifp_inpatient, s.ytd_hifp_outpatient, s.ytd_outpatient_deductible, s.ytd_hifob, \
    s.ytd_hifmi_base, s.ytd_hifmi, s.ytd_maf, s.ytd_maf_deductible";

struct StoredSettlement {
    view: SettlementView,
    sign: i64,
    year: i64,
    acct_used_flag: String,
    chrg_bchno: String,
    ytd: Ytd,
}

async fn load_settlement(
    conn: &mut <Db as sqlx::Database>::Connection,
    setl_id: &str,
) -> Result<Option<StoredSettlement>, StoreError> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM settlement s JOIN person p ON p.psn_no = s.psn_no JOIN visit v ON v.mdtrt_id = s.mdtrt_id \
         JOIN institution i ON i.fixmedins_code = s.fixmedins_code WHERE s.setl_id = $1"
    );
    let Some(r) = sqlx::query(&sql)
        .bind(setl_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let setl_time: String = r.try_get(12)?;
    let begntime: String = r.try_get(25)?;
    let endtime: String = r.try_get(26)?;
    let setl_date: String = r.try_get(49)?;
    let setl_time = parse_ts(&setl_time);
    let brdy: String = r.try_get(9)?;
    let view = SettlementView {
        setl_id: r.try_get(0)?,
        orig_setl_id: r.try_get(1)?,
        refd_setl_flag: r.try_get::<i64, _>(2)? == 1,
        mdtrt_id: r.try_get(3)?,
        psn_no: r.try_get(4)?,
        psn_name: r.try_get(5)?,
        psn_cert_type: "01".into(),
        certno: r.try_get(6)?,
        gend: r.try_get(7)?,
        naty: r.try_get(8)?,
        age_years: age_years(&brdy, setl_time.date()),
        brdy,
        insutype: r.try_get(10)?,
        psn_type: r.try_get(11)?,
        cvlserv_flag: "0".into(),
        setl_time,
        mdtrt_cert_type: r.try_get(13)?,
        med_type: r.try_get(14)?,
        clr_type: r.try_get(15)?,
        insuplc_admdvs: r.try_get(16)?,
        mdtrtarea_admvs: r.try_get(17)?,
        fixmedins_code: r.try_get(18)?,
        fixmedins_name: r.try_get(19)?,
        hosp_lv: r.try_get(20)?,
        hi_setl_lv: r.try_get(21)?,
        medins_setl_id: r.try_get(22)?,
        invono: r.try_get(23)?,
        dise_codg: r.try_get(24)?,
        begndate: begntime.get(..10).unwrap_or("").to_string(),
        enddate: if endtime.is_empty() {
            setl_date
        } else {
            endtime.get(..10).unwrap_or("").to_string()
        },
        medfee_sumamt: r.try_get(27)?,
        fulamt_ownpay_amt: r.try_get(28)?,
        overlmt_selfpay: r.try_get(29)?,
        preselfpay_amt: r.try_get(30)?,
        inscp_scp_amt: r.try_get(31)?,
        act_pay_dedc: r.try_get(32)?,
        hifp_pay: r.try_get(33)?,
        pool_prop_selfpay_ppm: r.try_get(34)?,
        cvlserv_pay: r.try_get(35)?,
        hifes_pay: r.try_get(36)?,
        hifmi_pay: r.try_get(37)?,
        hifob_pay: r.try_get(38)?,
        maf_pay: r.try_get(39)?,
        oth_pay: r.try_get(40)?,
        fund_pay_sumamt: r.try_get(41)?,
        psn_part_amt: r.try_get(42)?,
        acct_pay: r.try_get(43)?,
        acct_mulaid_pay: r.try_get(44)?,
        psn_cash_pay: r.try_get(45)?,
        hosp_part_amt: r.try_get(46)?,
        balc: r.try_get(47)?,
        detail: Vec::new(),
        setl_proc_info: r.try_get(48)?,
    };
    let mut keyed = BTreeMap::new();
    for k in sqlx::query("SELECT key, delta_fen FROM settlement_ytd_keyed WHERE setl_id = $1")
        .bind(setl_id)
        .fetch_all(&mut *conn)
        .await?
    {
        keyed.insert(k.try_get(0)?, k.try_get(1)?);
    }
    Ok(Some(StoredSettlement {
        view,
        sign: r.try_get(50)?,
        year: r.try_get(51)?,
        acct_used_flag: r.try_get(52)?,
        chrg_bchno: r.try_get(53)?,
        ytd: Ytd {
            inpatient_admissions: r.try_get(54)?,
            hifp_inpatient: r.try_get(55)?,
            hifp_outpatient: r.try_get(56)?,
            outpatient_deductible: r.try_get(57)?,
            hifob: r.try_get(58)?,
            hifmi_base: r.try_get(59)?,
            hifmi: r.try_get(60)?,
            maf: r.try_get(61)?,
            maf_deductible: r.try_get(62)?,
            keyed,
        },
    }))
}

async fn load_transfers<'e, E>(conn: E, ref_id: &str) -> Result<Vec<Transfer>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    Ok(sqlx::query("SELECT debit_account, credit_account, amount_fen, kind FROM ledger_transfer WHERE ref_id = $1 ORDER BY seq")
        .bind(ref_id)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?)
}

/// `setldetail[]` from a settlement's transfers: funds by code, both personal-account kinds
/// under `310200`; signed by `sign`.
fn detail_from_transfers(transfers: &[Transfer], sign: i64) -> Vec<FundPayment> {
    let mut by_code: Vec<FundPayment> = Vec::new();
    for (_, _, amount, kind) in transfers {
        let code = match kind.as_str() {
            ledger::KIND_CASH => continue,
            ledger::KIND_ACCT | ledger::KIND_MULAID => ledger::PERSONAL_ACCOUNT_FUND,
            fund => fund,
        };
        match by_code.iter_mut().find(|p| p.fund_pay_type == code) {
            Some(p) => p.fund_payamt_fen += sign * amount,
            None => by_code.push(FundPayment {
                fund_pay_type: code.to_string(),
                fund_payamt_fen: sign * amount,
            }),
        }
    }
    by_code
}

fn negate(v: &SettlementView, setl_id: String, msgid: &str, now: NaiveDateTime) -> SettlementView {
    let mut r = v.clone();
    r.setl_id = setl_id;
    r.orig_setl_id = Some(v.setl_id.clone());
    r.refd_setl_flag = false;
    r.setl_time = now;
    r.medins_setl_id = msgid.to_string();
    for x in [
        &mut r.medfee_sumamt,
        &mut r.fulamt_ownpay_amt,
        &mut r.overlmt_selfpay,
        &mut r.preselfpay_amt,
        &mut r.inscp_scp_amt,
        &mut r.act_pay_dedc,
        &mut r.hifp_pay,
        &mut r.cvlserv_pay,
        &mut r.hifes_pay,
        &mut r.hifmi_pay,
        &mut r.hifob_pay,
        &mut r.maf_pay,
        &mut r.oth_pay,
        &mut r.fund_pay_sumamt,
        &mut r.psn_part_amt,
        &mut r.acct_pay,
        &mut r.acct_mulaid_pay,
        &mut r.psn_cash_pay,
        &mut r.hosp_part_amt,
    ] {
        *x = -*x;
    }
    r
}

fn negate_ytd(y: &Ytd) -> Ytd {
    Ytd {
        inpatient_admissions: -y.inpatient_admissions,
        hifp_inpatient: -y.hifp_inpatient,
        hifp_outpatient: -y.hifp_outpatient,
        outpatient_deductible: -y.outpatient_deductible,
        hifob: -y.hifob,
        hifmi_base: -y.hifmi_base,
        hifmi: -y.hifmi,
        maf: -y.maf,
        maf_deductible: -y.maf_deductible,
        keyed: y.keyed.iter().map(|(k, v)| (k.clone(), -v)).collect(),
    }
}

/// Reverses settlement `setl_id` (person already locked): a new record with every amount
/// negated, the transfers swapped, the accumulators taken back, the original marked refunded.
async fn reverse(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    psn_no: &str,
    mdtrt_id: &str,
    setl_id: &str,
    kind: Option<&str>,
) -> Result<SettlementView, StoreError> {
    check_id("setl_id", setl_id)?;
    let orig = load_settlement(tx, setl_id)
        .await?
        .ok_or_else(|| StoreError::not_found("setl_id", setl_id))?;
    if orig.view.fixmedins_code != ctx.inst.fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "setl_id".into(),
            value: setl_id.into(),
        });
    }
    if orig.view.psn_no != psn_no {
        return Err(StoreError::bad(
            "psn_no",
            format!("settlement {setl_id} belongs to another person"),
        ));
    }
    if !mdtrt_id.is_empty() && orig.view.mdtrt_id != mdtrt_id {
        return Err(StoreError::bad(
            "mdtrt_id",
            format!("settlement {setl_id} is of visit {}", orig.view.mdtrt_id),
        ));
    }
    if orig.sign != 1 {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is itself a reversal"),
        ));
    }
    if orig.view.refd_setl_flag {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is already reversed (refd_setl_flag = 1)"),
        ));
    }
    let v = load_visit(tx, ctx, &orig.view.mdtrt_id, psn_no).await?;
    if let Some(kind) = kind {
        expect_kind(&v, kind)?;
    }
    let new_id = ctx.ids.next('S');
    let mut rev = negate(&orig.view, new_id.clone(), &ctx.env.msgid, ctx.env.now);
    let transfers = load_transfers(&mut **tx, setl_id).await?;
    rev.detail = detail_from_transfers(&transfers, -1);
    rev.balc = orig.view.balc; // replaced below once the account is credited back
    let ytd = negate_ytd(&orig.ytd);
    let updated = sqlx::query(
        "UPDATE settlement SET refd_setl_flag = 1 WHERE setl_id = $1 AND refd_setl_flag = 0",
    )
    .bind(setl_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::refused(
            "setl_id",
            format!("{setl_id} is already reversed"),
        ));
    }
    let own_account = ledger::personal_account(psn_no);
    let swapped: Vec<Transfer> = transfers
        .iter()
        .map(|(d, c, a, k)| (c.clone(), d.clone(), *a, k.clone()))
        .collect();
    // The balance after: locked read now, plus what this reversal gives back to the own account.
    let own_before = account_balance_tx(tx, &own_account).await?.unwrap_or(0);
    let own_back: i64 = transfers
        .iter()
        .filter(|(d, _, _, _)| *d == own_account)
        .map(|(_, _, a, _)| *a)
        .sum();
    rev.balc = own_before + own_back;
    insert_settlement(
        tx,
        &rev,
        &ctx.env.infno,
        orig.year,
        &orig.chrg_bchno,
        &orig.acct_used_flag,
        -1,
        &ytd,
    )
    .await?;
    post_transfers(tx, &new_id, psn_no, &swapped).await?;
    apply_ytd(tx, psn_no, orig.year, &ytd).await?;
    sqlx::query("UPDATE fee_line SET setl_id = NULL WHERE setl_id = $1")
        .bind(setl_id)
        .execute(&mut **tx)
        .await?;
    let status = if v.kind == "ipt" && !v.endtime.is_empty() {
        "discharged"
    } else {
        "open"
    };
    sqlx::query("UPDATE visit SET status = $1 WHERE mdtrt_id = $2 AND status IN ('settled', 'open', 'discharged')")
        .bind(status)
        .bind(&orig.view.mdtrt_id)
        .execute(&mut **tx)
        .await?;
    Ok(rev)
}

async fn revoke(tx: &mut Tx<'_>, ctx: &Ctx<'_>, c: &Revoke) -> Result<Done, StoreError> {
    check_id("omsgid", &c.omsgid)?;
    const REVOCABLE: &[&str] = &[
        "2201", "2204", "2207", "2207A", "2301", "2304", "2304A", "2401",
    ];
    if !REVOCABLE.contains(&c.oinfno.as_str()) {
        return Err(StoreError::bad(
            "oinfno",
            format!("{} cannot be revoked (revocable: {REVOCABLE:?})", c.oinfno),
        ));
    }
    if c.omsgid == ctx.env.msgid {
        return Err(StoreError::bad("omsgid", "names this message itself"));
    }
    lock_person(tx, &c.psn_no).await?;
    let sql = if IS_PG {
        "SELECT infno, effect_kind, effect_ref, revoked_by FROM idempotency WHERE fixmedins_code = $1 AND msgid = $2 FOR UPDATE"
    } else {
        "SELECT infno, effect_kind, effect_ref, revoked_by FROM idempotency WHERE fixmedins_code = $1 AND msgid = $2"
    };
    let row = sqlx::query(sql)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        // The original never arrived (or failed): bar it, so that it cannot happen later.
        sqlx::query(
            "INSERT INTO idempotency (fixmedins_code, msgid, infno, request_hash, response, effect_kind, effect_ref, revoked_by, created_at) \
             VALUES ($1, $2, $3, '', '', 'barred', $4, $4, $5)",
        )
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .bind(&c.oinfno)
        .bind(&ctx.env.msgid)
        .bind(ts(ctx.env.now))
        .execute(&mut **tx)
        .await?;
        return Ok((
            Outcome::Revoked(RevokeResult::NothingToUndo),
            "none",
            String::new(),
        ));
    };
    let infno: String = row.try_get(0)?;
    let effect_kind: String = row.try_get(1)?;
    let effect_ref: String = row.try_get(2)?;
    let revoked_by: Option<String> = row.try_get(3)?;
    // A message barred by an earlier 2601 is revoked already, whatever its record says of it
    // (bars written before issue 10 have no `revoked_by`).
    if effect_kind == "barred" {
        return Err(StoreError::refused(
            "omsgid",
            format!(
                "{} was already revoked by message {effect_ref} before it arrived",
                c.omsgid
            ),
        ));
    }
    if infno != c.oinfno {
        return Err(StoreError::bad(
            "oinfno",
            format!("message {} was a {infno}, not a {}", c.omsgid, c.oinfno),
        ));
    }
    if let Some(by) = revoked_by {
        return Err(StoreError::refused(
            "omsgid",
            format!("{} was already revoked by message {by}", c.omsgid),
        ));
    }
    let result = match effect_kind.as_str() {
        "settlement" => {
            let view = reverse(tx, ctx, &c.psn_no, "", &effect_ref, None).await?;
            RevokeResult::SettlementReversed {
                reversal_setl_id: view.setl_id,
            }
        }
        "visit" => {
            let v = load_visit(tx, ctx, &effect_ref, &c.psn_no).await?;
            let kind = v.kind.clone();
            cancel_visit(
                tx,
                ctx,
                &VisitRef {
                    psn_no: c.psn_no.clone(),
                    mdtrt_id: effect_ref.clone(),
                },
                &kind,
            )
            .await?;
            RevokeResult::VisitCancelled {
                mdtrt_id: effect_ref.clone(),
            }
        }
        "fees" => {
            load_visit(tx, ctx, &effect_ref, &c.psn_no).await?;
            let n = delete_fee_lines(tx, &effect_ref, "", &[], Some(&c.omsgid)).await?;
            RevokeResult::FeesDeleted { n_lines: n }
        }
        _ => RevokeResult::NoEffect,
    };
    sqlx::query("UPDATE idempotency SET revoked_by = $1 WHERE fixmedins_code = $2 AND msgid = $3")
        .bind(&ctx.env.msgid)
        .bind(&ctx.inst.fixmedins_code)
        .bind(&c.omsgid)
        .execute(&mut **tx)
        .await?;
    let (kind, reference) = match &result {
        RevokeResult::SettlementReversed { reversal_setl_id } => {
            ("settlement", reversal_setl_id.clone())
        }
        _ => ("none", String::new()),
    };
    Ok((Outcome::Revoked(result), kind, reference))
}

// ------------------------------------------------------------------------------------------
// Reads

/// Checks a credential number of 1101 (`mdtrt_cert_no`).
fn check_cert_no(value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::bad("mdtrt_cert_no", "is empty"));
    }
    if value.chars().count() > limits::CERT_NO_CHARS_MAX {
        return Err(StoreError::bad(
            "mdtrt_cert_no",
            format!("is longer than {} characters", limits::CERT_NO_CHARS_MAX),
        ));
    }
    Ok(())
}

/// Refuses a credential that is not in force on `date`.
fn check_in_force(what: &str, begndate: &str, enddate: &str, date: NaiveDate) -> Result<(), StoreError> {
    let d = date.to_string();
    if begndate > d.as_str() || (!enddate.is_empty() && enddate < d.as_str()) {
        let until = if enddate.is_empty() { "open-ended" } else { enddate };
        return Err(StoreError::refused(
            "mdtrt_cert_no",
            format!("{what} is in force from {begndate} to {until}, not on {d}"),
        ));
    }
    Ok(())
}

const PERSON_COLUMNS: &str = "p.psn_no, p.certno, p.psn_name, p.gend, p.brdy, p.naty, p.tel";

pub(crate) async fn person_info(
    pool: &Pool,
    key: &PersonKey,
    date: NaiveDate,
) -> Result<PersonInfo, StoreError> {
    let r = match key {
        PersonKey::PsnNoOrCertno(key) => {
            check_id("psn_no", key).or_else(|_| check_id("certno", key))?;
            sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS} FROM person p WHERE p.psn_no = $1 OR p.certno = $1 LIMIT 1"
            ))
            .bind(key)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::not_found("mdtrt_cert_no", key))?
        }
        PersonKey::EcToken(token) => {
            check_cert_no(token)?;
            let r = sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS}, t.begndate, t.enddate FROM ec_token t JOIN person p ON p.psn_no = t.psn_no \
                 WHERE t.ec_token = $1"
            ))
            .bind(token)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::not_found("mdtrt_cert_no", format!("e-voucher token {token}")))?;
            let (begndate, enddate): (String, String) = (r.try_get(7)?, r.try_get(8)?);
            check_in_force(&format!("e-voucher token {token}"), &begndate, &enddate, date)?;
            r
        }
        PersonKey::SsCard { card_no, card_sn } => {
            check_cert_no(card_no)?;
            let r = sqlx::query(&format!(
                "SELECT {PERSON_COLUMNS}, c.begndate, c.enddate, c.card_sn FROM ss_card c JOIN person p ON p.psn_no = c.psn_no \
                 WHERE c.card_no = $1"
            ))
            .bind(card_no)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| {
                StoreError::not_found("mdtrt_cert_no", format!("social security card {card_no}"))
            })?;
            let (begndate, enddate, stored_sn): (String, String, String) =
                (r.try_get(7)?, r.try_get(8)?, r.try_get(9)?);
            if let Some(sent) = card_sn {
                if !stored_sn.is_empty() && *sent != stored_sn {
                    return Err(StoreError::refused(
                        "card_sn",
                        format!("does not identify social security card {card_no}"),
                    ));
                }
            }
            check_in_force(&format!("social security card {card_no}"), &begndate, &enddate, date)?;
            r
        }
    };
    let base = PersonBase {
        psn_no: r.try_get(0)?,
        certno: r.try_get(1)?,
        psn_name: r.try_get(2)?,
        gend: r.try_get(3)?,
        brdy: r.try_get(4)?,
        naty: r.try_get(5)?,
        tel: r.try_get(6)?,
    };
    let balance = sqlx::query(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
    )
    .bind(ledger::personal_account(&base.psn_no))
    .fetch_one(pool)
    .await?
    .try_get::<i64, _>(0)?;
    let insurance = sqlx::query(
        "SELECT insutype, psn_type, psn_insu_stas, begndate, enddate, insuplc_admdvs, emp_name FROM insurance WHERE psn_no = $1 ORDER BY insutype, begndate",
    )
    .bind(&base.psn_no)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        let insutype: String = r.try_get(0)?;
        Ok(InsuranceInfo {
            balc_fen: if insutype == "310" { balance } else { 0 },
            insutype,
            psn_type: r.try_get(1)?,
            psn_insu_stas: r.try_get(2)?,
            begndate: r.try_get(3)?,
            enddate: r.try_get(4)?,
            insuplc_admdvs: r.try_get(5)?,
            emp_name: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let identities = sqlx::query("SELECT sp_psn_type, begndate, enddate, source_dept FROM identity WHERE psn_no = $1 ORDER BY begndate, sp_psn_type")
        .bind(&base.psn_no)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Ok(IdentityInfo { sp_psn_type: r.try_get(0)?, begndate: r.try_get(1)?, enddate: r.try_get(2)?, source_dept: r.try_get(3)? }))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(PersonInfo {
        base,
        insurance,
        identities,
    })
}

/// 5301 and the settlement engine: the person's chronic disease recognitions in force on
/// `date`, by disease code; `NotFound` when the person does not exist.
pub(crate) async fn chronic_recognitions(
    pool: &Pool,
    psn_no: &str,
    date: NaiveDate,
) -> Result<Vec<ChronicRecognition>, StoreError> {
    check_id("psn_no", psn_no)?;
    let rows = sqlx::query(
        "SELECT p.psn_no, r.opsp_dise_code, r.opsp_dise_name, r.begndate, r.enddate, r.fixmedins_code \
         FROM person p LEFT JOIN chronic_recognition r ON r.psn_no = p.psn_no AND r.begndate <= $2 \
         AND (r.enddate = '' OR r.enddate >= $2) WHERE p.psn_no = $1 ORDER BY r.opsp_dise_code, r.begndate",
    )
    .bind(psn_no)
    .bind(date.to_string())
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::not_found("psn_no", psn_no));
    }
    let mut found = Vec::new();
    for r in rows {
        let Some(opsp_dise_code) = r.try_get::<Option<String>, _>(1)? else {
            continue;
        };
        found.push(ChronicRecognition {
            opsp_dise_code,
            opsp_dise_name: r.try_get(2)?,
            begndate: r.try_get(3)?,
            enddate: r.try_get(4)?,
            fixmedins_code: r.try_get(5)?,
        });
    }
    Ok(found)
}

pub(crate) async fn query_settlement(
    pool: &Pool,
    fixmedins_code: &str,
    psn_no: &str,
    setl_id: &str,
) -> Result<SettlementView, StoreError> {
    check_id("setl_id", setl_id)?;
    let mut conn = pool.acquire().await?;
    let s = load_settlement(&mut conn, setl_id)
        .await?
        .ok_or_else(|| StoreError::not_found("setl_id", setl_id))?;
    if s.view.fixmedins_code != fixmedins_code {
        return Err(StoreError::Forbidden {
            field: "setl_id".into(),
            value: setl_id.into(),
        });
    }
    if s.view.psn_no != psn_no {
        return Err(StoreError::bad(
            "psn_no",
            format!("settlement {setl_id} belongs to another person"),
        ));
    }
    let transfers = load_transfers(pool, setl_id).await?;
    let mut view = s.view;
    // A reversal's transfers are swapped copies: the amounts are the original's, negated.
    view.detail = detail_from_transfers(&transfers, s.sign);
    Ok(view)
}

pub(crate) async fn reconcile(
    pool: &Pool,
    fixmedins_code: &str,
    q: &ReconcileRequest,
) -> Result<ReconcileResult, StoreError> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT), \
         CAST(COALESCE(SUM(setl_sign), 0) AS BIGINT), CAST(COALESCE(SUM(hosp_part_amt), 0) AS BIGINT) FROM settlement \
         WHERE fixmedins_code = $1 AND insutype = $2 AND clr_type = $3 AND insuplc_admdvs = $4 AND setl_date >= $5 AND setl_date <= $6",
    )
    .bind(fixmedins_code)
    .bind(&q.insutype)
    .bind(&q.clr_type)
    .bind(&q.setl_optins)
    .bind(q.begndate.to_string())
    .bind(q.enddate.to_string())
    .fetch_one(pool)
    .await?;
    let medfee: i64 = r.try_get(0)?;
    let fund: i64 = r.try_get(1)?;
    let acct: i64 = r.try_get(2)?;
    let cnt: i64 = r.try_get(3)?;
    let hosp_part: i64 = r.try_get(4)?;
    let inst = ledger::institution_account(fixmedins_code);
    let l = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN t.credit_account = $1 THEN t.amount_fen ELSE 0 END), 0) AS BIGINT) - \
         CAST(COALESCE(SUM(CASE WHEN t.debit_account = $1 THEN t.amount_fen ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_transfer t JOIN settlement s ON s.setl_id = t.ref_id \
         WHERE s.fixmedins_code = $2 AND s.insutype = $3 AND s.clr_type = $4 AND s.insuplc_admdvs = $5 AND s.setl_date >= $6 AND s.setl_date <= $7",
    )
    .bind(&inst)
    .bind(fixmedins_code)
    .bind(&q.insutype)
    .bind(&q.clr_type)
    .bind(&q.setl_optins)
    .bind(q.begndate.to_string())
    .bind(q.enddate.to_string())
    .fetch_one(pool)
    .await?;
    let payable: i64 = l.try_get(0)?;
    if payable != medfee - hosp_part {
        return Err(StoreError::Invariant(format!(
            "ledger payable {payable} differs from the settlements' medfee_sumamt − hosp_part_amt {}",
            medfee - hosp_part
        )));
    }
    let mut diffs = Vec::new();
    for (name, theirs, ours) in [
        ("medfee_sumamt", q.medfee_sumamt_fen, medfee),
        ("fund_pay_sumamt", q.fund_pay_sumamt_fen, fund),
        ("acct_pay", q.acct_pay_fen, acct),
    ] {
        if theirs != ours {
            diffs.push(format!(
                "{name}: institution {} platform {}",
                engine::render_fen(theirs),
                engine::render_fen(ours)
            ));
        }
    }
    if q.fixmedins_setl_cnt != cnt {
        diffs.push(format!(
            "fixmedins_setl_cnt: institution {} platform {cnt}",
            q.fixmedins_setl_cnt
        ));
    }
    Ok(ReconcileResult {
        balanced: diffs.is_empty(),
        description: if diffs.is_empty() {
            "平".to_string()
        } else {
            diffs.join("; ")
        },
        medfee_sumamt_fen: medfee,
        fund_pay_sumamt_fen: fund,
        acct_pay_fen: acct,
        setl_cnt: cnt,
        ledger_payable_fen: payable,
    })
}

/// The day of sign-in `sign_no` of the institution when it is still open (not signed out).
pub(crate) async fn open_sign_in_date(
    pool: &Pool,
    fixmedins_code: &str,
    sign_no: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT sign_time FROM sign_in WHERE sign_no = $1 AND fixmedins_code = $2 AND sign_out_time IS NULL",
    )
    .bind(sign_no)
    .bind(fixmedins_code)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let sign_time: String = row.try_get(0)?;
    Ok(sign_time.get(..10).map(str::to_string))
}

pub(crate) async fn account_balance(pool: &Pool, account: &str) -> Result<Option<i64>, StoreError> {
    let exists = sqlx::query("SELECT 1 FROM ledger_account WHERE account_code = $1")
        .bind(account)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let b: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
    )
    .bind(account)
    .fetch_one(pool)
    .await?
    .try_get(0)?;
    Ok(Some(b))
}

pub(crate) async fn row_counts(pool: &Pool) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut out = Vec::new();
    for t in [
        "person",
        "insurance",
        "identity",
        "family_binding",
        "institution",
        "filing",
        "ec_token",
        "ss_card",
        "chronic_recognition",
        "contribution_tier",
        "institution_kind",
        "ytd_opening",
        "registry_document",
        "ledger_account",
        "ledger_balance",
        "ledger_transfer",
        "sign_in",
        "visit",
        "visit_maternity",
        "diagnosis",
        "fee_line",
        "settlement",
        "settlement_ytd_keyed",
        "ytd",
        "ytd_keyed",
        "idempotency",
        "setl_list",
        "setl_list_diagnosis",
        "setl_list_operation",
        "setl_list_icu",
        "setl_list_payment",
        "setl_list_blood",
        "setl_list_opsp_diagnosis",
        "setl_list_group",
    ] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(pool)
            .await?
            .try_get(0)?;
        out.push((t, n));
    }
    Ok(out)
}

async fn problems(
    pool: &Pool,
    report: &mut LedgerReport,
    what: &str,
    sql: &str,
) -> Result<(), StoreError> {
    for r in sqlx::query(sql).fetch_all(pool).await? {
        let key: String = r.try_get(0)?;
        report.problems.push(format!("{what}: {key}"));
    }
    Ok(())
}

pub(crate) async fn check_ledger(pool: &Pool) -> Result<LedgerReport, StoreError> {
    let mut report = LedgerReport::default();
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM ledger_account), (SELECT COUNT(*) FROM ledger_transfer), \
         (SELECT COUNT(*) FROM settlement WHERE setl_sign = 1), (SELECT COUNT(*) FROM settlement WHERE setl_sign = -1), \
         (SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance), (SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_transfer)",
    )
    .fetch_one(pool)
    .await?;
    report.n_accounts = r.try_get(0)?;
    report.n_transfers = r.try_get(1)?;
    report.n_settlements = r.try_get(2)?;
    report.n_reversals = r.try_get(3)?;
    report.balance_sum_fen = r.try_get(4)?;
    report.transferred_fen = r.try_get(5)?;
    if report.balance_sum_fen != 0 {
        report.problems.push(format!(
            "the balances sum to {} fen, not 0",
            report.balance_sum_fen
        ));
    }
    // Every account's balance equals its credits minus its debits.
    problems(
        pool,
        &mut report,
        "balance differs from its transfers",
        "SELECT a.account_code FROM ledger_account a \
         LEFT JOIN (SELECT account_code, SUM(balance_fen) AS b FROM ledger_balance GROUP BY account_code) b ON b.account_code = a.account_code \
         LEFT JOIN (SELECT credit_account AS account_code, SUM(amount_fen) AS c FROM ledger_transfer GROUP BY credit_account) c ON c.account_code = a.account_code \
         LEFT JOIN (SELECT debit_account AS account_code, SUM(amount_fen) AS d FROM ledger_transfer GROUP BY debit_account) d ON d.account_code = a.account_code \
         WHERE COALESCE(b.b, 0) <> COALESCE(c.c, 0) - COALESCE(d.d, 0) ORDER BY a.account_code LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "balance row of an unknown account",
        "SELECT DISTINCT b.account_code FROM ledger_balance b LEFT JOIN ledger_account a ON a.account_code = b.account_code \
         WHERE a.account_code IS NULL LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "negative account that must not go negative",
        "SELECT a.account_code FROM ledger_account a JOIN ledger_balance b ON b.account_code = a.account_code \
         WHERE a.may_go_negative = 0 GROUP BY a.account_code HAVING SUM(b.balance_fen) < 0 LIMIT 20",
    )
    .await?;
    // Every settlement's identities (section 6), restated here whatever the CHECKs say.
    problems(
        pool,
        &mut report,
        "settlement identities broken",
        "SELECT setl_id FROM settlement WHERE \
         medfee_sumamt <> fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt \
         OR medfee_sumamt <> fund_pay_sumamt + psn_part_amt + hosp_part_amt \
         OR fund_pay_sumamt <> hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay \
         OR psn_part_amt <> acct_pay + psn_cash_pay \
         OR setl_sign * (acct_pay - acct_mulaid_pay) < 0 \
         OR setl_sign * (inscp_scp_amt - hifp_pay - hifob_pay - hifmi_pay - maf_pay) < 0 LIMIT 20",
    )
    .await?;
    // Every settlement's transfers carry exactly its payer buckets into its institution.
    problems(
        pool,
        &mut report,
        "settlement transfers disagree with its amounts",
        "SELECT s.setl_id FROM settlement s LEFT JOIN (SELECT ref_id, \
           SUM(CASE WHEN kind = 'cash' THEN amount_fen ELSE 0 END) AS cash, \
           SUM(CASE WHEN kind = 'acct' OR kind = 'mulaid' THEN amount_fen ELSE 0 END) AS acct, \
           SUM(CASE WHEN kind = 'mulaid' THEN amount_fen ELSE 0 END) AS mulaid, \
           SUM(CASE WHEN kind NOT IN ('cash', 'acct', 'mulaid') THEN amount_fen ELSE 0 END) AS fund, \
           SUM(CASE WHEN credit_account LIKE 'inst:%' THEN amount_fen ELSE 0 END) AS to_inst, \
           SUM(CASE WHEN debit_account LIKE 'inst:%' THEN amount_fen ELSE 0 END) AS from_inst \
           FROM ledger_transfer GROUP BY ref_id) t ON t.ref_id = s.setl_id \
         WHERE COALESCE(t.cash, 0) <> s.setl_sign * s.psn_cash_pay OR COALESCE(t.acct, 0) <> s.setl_sign * s.acct_pay \
         OR COALESCE(t.mulaid, 0) <> s.setl_sign * s.acct_mulaid_pay OR COALESCE(t.fund, 0) <> s.setl_sign * s.fund_pay_sumamt \
         OR (s.setl_sign = 1 AND (COALESCE(t.to_inst, 0) <> s.medfee_sumamt - s.hosp_part_amt OR COALESCE(t.from_inst, 0) <> 0)) \
         OR (s.setl_sign = -1 AND (COALESCE(t.from_inst, 0) <> s.hosp_part_amt - s.medfee_sumamt OR COALESCE(t.to_inst, 0) <> 0)) \
         LIMIT 20",
    )
    .await?;
    // Every reversal is the exact negation of its original, which is marked refunded.
    problems(
        pool,
        &mut report,
        "reversal is not the exact negation of its original",
        "SELECT r.setl_id FROM settlement r JOIN settlement o ON o.setl_id = r.orig_setl_id WHERE r.setl_sign = -1 AND ( \
         o.setl_sign <> 1 OR o.refd_setl_flag <> 1 OR r.psn_no <> o.psn_no OR r.mdtrt_id <> o.mdtrt_id OR r.fixmedins_code <> o.fixmedins_code \
         OR r.medfee_sumamt <> -o.medfee_sumamt OR r.fulamt_ownpay_amt <> -o.fulamt_ownpay_amt OR r.overlmt_selfpay <> -o.overlmt_selfpay \
         OR r.preselfpay_amt <> -o.preselfpay_amt OR r.inscp_scp_amt <> -o.inscp_scp_amt OR r.act_pay_dedc <> -o.act_pay_dedc \
         OR r.hifp_pay <> -o.hifp_pay OR r.cvlserv_pay <> -o.cvlserv_pay OR r.hifes_pay <> -o.hifes_pay OR r.hifmi_pay <> -o.hifmi_pay \
         OR r.hifob_pay <> -o.hifob_pay OR r.maf_pay <> -o.maf_pay OR r.oth_pay <> -o.oth_pay OR r.fund_pay_sumamt <> -o.fund_pay_sumamt \
         OR r.psn_part_amt <> -o.psn_part_amt OR r.acct_pay <> -o.acct_pay OR r.acct_mulaid_pay <> -o.acct_mulaid_pay \
         OR r.psn_cash_pay <> -o.psn_cash_pay OR r.hosp_part_amt <> -o.hosp_part_amt \
         OR r.ytd_inpatient_admissions <> -o.ytd_inpatient_admissions OR r.ytd_hifp_inpatient <> -o.ytd_hifp_inpatient \
         OR r.ytd_hifp_outpatient <> -o.ytd_hifp_outpatient OR r.ytd_outpatient_deductible <> -o.ytd_outpatient_deductible \
         OR r.ytd_hifob <> -o.ytd_hifob OR r.ytd_hifmi_base <> -o.ytd_hifmi_base OR r.ytd_hifmi <> -o.ytd_hifmi \
         OR r.ytd_maf <> -o.ytd_maf OR r.ytd_maf_deductible <> -o.ytd_maf_deductible) LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "reversal transfers are not the original's swapped",
        "SELECT r.setl_id FROM settlement r JOIN ledger_transfer o ON o.ref_id = r.orig_setl_id \
         LEFT JOIN ledger_transfer t ON t.ref_id = r.setl_id AND t.seq = o.seq AND t.debit_account = o.credit_account \
           AND t.credit_account = o.debit_account AND t.amount_fen = o.amount_fen AND t.kind = o.kind \
         WHERE r.setl_sign = -1 AND t.ref_id IS NULL LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "refunded settlement without exactly one reversal",
        "SELECT o.setl_id FROM settlement o LEFT JOIN settlement r ON r.orig_setl_id = o.setl_id \
         WHERE o.setl_sign = 1 AND ((o.refd_setl_flag = 1) <> (r.setl_id IS NOT NULL)) LIMIT 20",
    )
    .await?;
    // The accumulators are exactly what was brought in (ytd_opening) plus what the settlements added.
    problems(
        pool,
        &mut report,
        "year-to-date accumulators differ from the settlements",
        "SELECT y.psn_no FROM ytd y LEFT JOIN (SELECT psn_no, year, SUM(ytd_inpatient_admissions) a, SUM(ytd_hifp_inpatient) b, \
           SUM(ytd_hifp_outpatient) c, SUM(ytd_outpatient_deductible) d, SUM(ytd_hifob) e, SUM(ytd_hifmi_base) f, SUM(ytd_hifmi) g, \
           SUM(ytd_maf) h, SUM(ytd_maf_deductible) i FROM settlement GROUP BY psn_no, year) s ON s.psn_no = y.psn_no AND s.year = y.year \
           LEFT JOIN ytd_opening o ON o.psn_no = y.psn_no AND o.year = y.year \
         WHERE y.inpatient_admissions <> COALESCE(s.a, 0) + COALESCE(o.inpatient_admissions, 0) \
         OR y.hifp_inpatient <> COALESCE(s.b, 0) + COALESCE(o.hifp_inpatient, 0) \
         OR y.hifp_outpatient <> COALESCE(s.c, 0) + COALESCE(o.hifp_outpatient, 0) \
         OR y.outpatient_deductible <> COALESCE(s.d, 0) + COALESCE(o.outpatient_deductible, 0) \
         OR y.hifob <> COALESCE(s.e, 0) OR y.hifmi_base <> COALESCE(s.f, 0) + COALESCE(o.hifmi_base, 0) \
         OR y.hifmi <> COALESCE(s.g, 0) OR y.maf <> COALESCE(s.h, 0) OR y.maf_deductible <> COALESCE(s.i, 0) LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "keyed accumulators differ from the settlements",
        "SELECT y.psn_no FROM ytd_keyed y LEFT JOIN (SELECT s.psn_no, s.year, k.key, SUM(k.delta_fen) AS total \
           FROM settlement_ytd_keyed k JOIN settlement s ON s.setl_id = k.setl_id GROUP BY s.psn_no, s.year, k.key) s \
           ON s.psn_no = y.psn_no AND s.year = y.year AND s.key = y.key \
         WHERE y.amount_fen <> COALESCE(s.total, 0) LIMIT 20",
    )
    .await?;
    problems(
        pool,
        &mut report,
        "reversal's keyed accumulators are not the original's negated",
        "SELECT r.setl_id FROM settlement r JOIN settlement_ytd_keyed o ON o.setl_id = r.orig_setl_id \
         LEFT JOIN settlement_ytd_keyed k ON k.setl_id = r.setl_id AND k.key = o.key AND k.delta_fen = -o.delta_fen \
         WHERE r.setl_sign = -1 AND k.setl_id IS NULL LIMIT 20",
    )
    .await?;
    // Every settled fee line belongs to a live settlement of its visit, and the lines add up.
    problems(
        pool,
        &mut report,
        "settlement total differs from its fee lines",
        "SELECT s.setl_id FROM settlement s LEFT JOIN (SELECT setl_id, SUM(amount_fen) AS amt, SUM(inscp_scp_fen) AS inscp FROM fee_line \
           WHERE setl_id IS NOT NULL GROUP BY setl_id) l ON l.setl_id = s.setl_id \
         WHERE s.setl_sign = 1 AND s.refd_setl_flag = 0 AND (COALESCE(l.amt, 0) <> s.medfee_sumamt OR COALESCE(l.inscp, 0) <> s.inscp_scp_amt) LIMIT 20",
    )
    .await?;
    Ok(report)
}
