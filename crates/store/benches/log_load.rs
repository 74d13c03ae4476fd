//! The access log under load (issue 15's speed target: "the decision plus the log append
//! ≤ 1 ms p99 at 2,000 calls/s"): an open loop of calls at a fixed rate against a fresh store,
//! each timed from its scheduled start to its durable commit (a late start counts), with the
//! sequencer turning the outbox into leaves every 25 ms beside it, as `yibao serve` runs it.
//!
//! `cargo bench -p yibao-store --bench log_load -- [--rate N] [--secs S] [--kinds K,…] [--db sqlite|postgres|both]`
//!
//! Kinds:
//! - `interface`: a hospital's read (1101): its outbox record committed before the answer.
//! - `grant`: a grantee's data call (§6.3): grant locked, decision, use counted, leaf, data read
//!   (the person's settlements) and the call recorded, in one transaction.
//! - `staff`: a staff read's leaf appended directly at the log's head and committed.
//!
//! It prints one line per database and kind: achieved rate, p50, p99, p99.9 and max in ms, and
//! the leaves the log holds after a final drain (every call must be there).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use yibao_privacy::grant::{
    DataScope, FactorKind, FactorUse, GrantDraft, Grantee, Grantor, Notice,
};
use yibao_privacy::time::{DAY_MS, MINUTE_MS};
use yibao_privacy::{Millis, Mode, OutputForm, Purpose};
use yibao_store::access_outbox::InterfaceAccess;
use yibao_store::grants::{CallQuery, GrantCall, GranteeKind, NewGrantee, TokenKey};
use yibao_store::{AccessEntry, Decision, Store};

use common::*;

struct Args {
    rate: u32,
    secs: u64,
    kinds: Vec<String>,
    dbs: Vec<String>,
    /// With `--proofs N`: time proofs on a PostgreSQL log of N leaves instead.
    proofs: Option<i64>,
}

fn args() -> Args {
    let mut out = Args {
        rate: 2_000,
        secs: 10,
        kinds: vec!["interface".into(), "grant".into(), "staff".into()],
        dbs: vec!["sqlite".into(), "postgres".into()],
        proofs: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rate" => out.rate = it.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--secs" => out.secs = it.next().and_then(|v| v.parse().ok()).expect("--secs S"),
            "--kinds" => {
                out.kinds = it
                    .next()
                    .expect("--kinds K,…")
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "--db" => {
                out.dbs = match it.next().as_deref() {
                    Some("both") => vec!["sqlite".into(), "postgres".into()],
                    Some(one) => vec![one.to_owned()],
                    None => panic!("--db sqlite|postgres|both"),
                }
            }
            "--proofs" => {
                out.proofs = Some(it.next().and_then(|v| v.parse().ok()).expect("--proofs N"))
            }
            // `cargo bench` passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    out
}

/// 2026-03-02 10:00:00 UTC.
fn t0() -> i64 {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn key() -> TokenKey {
    TokenKey::from_bytes([42; 32])
}

/// Grants the calls take in turn. A grant's calls run one at a time (each locks its grant to
/// count its use) and a MULTI grant allows 50 uses a day (`yibao_privacy::limits`), so calls at
/// 2,000/s are necessarily spread over many grants: here one MULTI P04 grant from each person of
/// the fixture registry to each of [`GRANTEES`] insurers (`insurer-l0` …).
const GRANTEES: u64 = 40;

/// People of the fixture registry who give grants.
const SUBJECTS: u64 = 5;

/// Grants in all: one per insurer and person.
const GRANTS: u64 = GRANTEES * SUBJECTS;

/// The grants' tokens, grant `g` being from person `g % SUBJECTS` to insurer `g / SUBJECTS`.
async fn grant_setup(store: &Store) -> Vec<String> {
    let mut tokens = Vec::new();
    for insurer in 0..GRANTEES {
        let grantee = format!("insurer-l{insurer}");
        register_insurer(store, &grantee).await;
        for person in 0..SUBJECTS {
            tokens.push(grant_one(store, &grantee, &format!("P00{}", person + 1)).await);
        }
    }
    tokens
}

async fn register_insurer(store: &Store, grantee: &str) {
    let signing = yibao_gm::SigningKey::generate().unwrap();
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: grantee.into(),
                name: "负载保险".into(),
                kind: GranteeKind::Insurer,
                public_key: signing.verifying_key(),
                purposes: vec![Purpose::P04],
            },
            t0(),
        )
        .await
        .unwrap();
}

async fn grant_one(store: &Store, grantee: &str, subject: &str) -> String {
    let items = yibao_privacy::builtin().parse_items("ST01 ST04").unwrap();
    let now = Millis(t0());
    let draft = GrantDraft {
        grant_id: format!("g-{grantee}-{subject}"),
        subject: subject.into(),
        subject_age_years: Some(46),
        grantor: Grantor::Subject,
        grantee: Grantee::Organisation(grantee.into()),
        product_id: "L-2026".into(),
        purpose: Purpose::P04,
        items: items.clone(),
        confirmed_items: items,
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        },
        output_form: OutputForm::MaskedFields,
        mode: Mode::Multi,
        not_before: now,
        not_after: now.plus(300 * DAY_MS),
        policy_end: Some(now.plus(120 * DAY_MS)),
        notice: Notice {
            text_version: "P04-v1".into(),
            text_digest: yibao_gm::hash("理赔数据调取".as_bytes()),
            retention: "3 年".into(),
        },
        factors: vec![FactorUse {
            kind: FactorKind::Face,
            verified_at: now.plus(-MINUTE_MS),
            evidence_ref: "face-1".into(),
        }],
        consented_at: now,
    };
    store.give_grant(draft, &key()).await.unwrap().token
}

/// Calls are 5 minutes apart on the grants' clock, taking the grants in turn, so the per-grant,
/// per-grantee and per-subject rate limits (`yibao_privacy::limits`) let every call through
/// (288 calls a day, under 60 per person) and 20,000 calls end before the grants' policy does:
/// each one decides, counts its use, writes its log record and reads.
const CALL_CLOCK_STEP_MS: i64 = 5 * MINUTE_MS;

/// How often the bench's sequencer drains the outbox (as `yibao serve`'s does).
const SEQUENCE_EVERY: Duration = Duration::from_millis(25);

/// Grant calls denied in the current run.
static DENIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn one_call(store: &Store, kind: &str, tokens: &[String], n: u64) {
    match kind {
        "interface" => store
            .log_interface(&[InterfaceAccess {
                ts_ms: t0() + n as i64,
                fixmedins_code: HOSPITAL.into(),
                infno: "1101".into(),
                psn_no: format!("P{:03}", n % 5 + 1),
                write: false,
                request_digest: Some(yibao_gm::hash(&n.to_be_bytes())),
                response_digest: None,
            }])
            .await
            .unwrap(),
        "grant" => {
            let id = format!("r-{n}");
            let at = t0() + 1_000 + n as i64 * CALL_CLOCK_STEP_MS;
            let which = (n % GRANTS) as usize;
            let answer = store
                .grant_call(
                    &GrantCall {
                        grantee_id: format!("insurer-l{}", which as u64 / SUBJECTS),
                        signature_valid: true,
                        timestamp_ms: at,
                        nonce: format!("n-{n}"),
                        request_id: id.clone(),
                        request_digest: yibao_gm::hash(id.as_bytes()),
                        action: "POST /open/v1/settlements/query".into(),
                        purpose: Purpose::P04,
                        token: tokens[which].clone(),
                        items: None,
                        scope: None,
                        output_form: None,
                        query: CallQuery::Settlements,
                    },
                    &key(),
                    at,
                )
                .await
                .unwrap();
            // A denial (a rate limit when concurrent calls commit out of their clock's order)
            // is decided and logged like a permit; the summary counts both.
            if answer.code.is_some() {
                DENIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        "staff" => {
            store
                .log_access(&AccessEntry {
                    ts_ms: t0() + n as i64,
                    event: "data.read".into(),
                    staff_id: Some(1),
                    action: "GET /api/v1/persons/{psn_no}".into(),
                    subject_ref: yibao_store::staff::subject_ref_psn("P001"),
                    purpose: "case".into(),
                    decision: Decision::Permit,
                    reason: String::new(),
                })
                .await
                .unwrap();
        }
        other => panic!("unknown kind {other}"),
    }
}

async fn run(db: &TestDb, kind: &str, rate: u32, secs: u64) {
    let tokens = if kind == "grant" {
        grant_setup(&db.store).await
    } else {
        Vec::new()
    };
    let store = db.store.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sequencer = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(SEQUENCE_EVERY).await;
                store.drain_outbox().await.unwrap();
            }
        })
    };
    DENIED.store(0, std::sync::atomic::Ordering::SeqCst);
    let histogram = Arc::new(std::sync::Mutex::new(
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
    ));
    let total = u64::from(rate) * secs;
    let interval = Duration::from_secs(1) / rate;
    let start = Instant::now() + Duration::from_millis(50);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(4_096));
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let store = store.clone();
        let histogram = histogram.clone();
        let tokens = tokens.clone();
        let kind = kind.to_owned();
        tasks.push(tokio::spawn(async move {
            one_call(&store, &kind, &tokens, n).await;
            let micros = due.elapsed().as_micros() as u64;
            histogram.lock().unwrap().saturating_record(micros.max(1));
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    sequencer.await.unwrap();
    db.store.drain_outbox().await.unwrap();
    let leaves = db.store.verify_log().await.unwrap();
    let h = histogram.lock().unwrap();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "{:<8} {:<9} calls {:>6} ({} denied)  {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  p99.9 {:>6.2} ms  max {:>7.2} ms  log {} leaves, intact {}",
        db.label,
        kind,
        total,
        DENIED.load(std::sync::atomic::Ordering::SeqCst),
        total as f64 / elapsed.as_secs_f64(),
        ms(0.50),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1_000.0,
        leaves.entries,
        leaves.is_intact(),
    );
}

/// Proofs on a log of `size` leaves (PostgreSQL): the stored subtrees of every level are filled
/// in SQL with stand-in hashes (SHA-256 of the position: computing 2·size SM3 nodes and inserting
/// them row by row would take the bench an hour), so the timings are of what a proof costs the
/// store — the O(log n) subtree reads in one query, the leaf row, the checkpoint lookup — not a
/// check of the hashes, which the tests do on real logs. 1,000 inclusion proofs of random leaves
/// and 1,000 consistency proofs from random sizes, one after another.
async fn proofs(size: i64) {
    let Some(db) = postgres_db().await else {
        return;
    };
    let setup = Instant::now();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let levels = 64 - (size as u64).leading_zeros() as i64;
    for level in 0..levels {
        sqlx::query(
            "INSERT INTO log_subtree (level, idx, hash) \
             SELECT $1, i, sha256(int8send($1 * 1000000000000 + i)) FROM generate_series(0, ($2 >> CAST($1 AS INT)) - 1) AS i",
        )
        .bind(level)
        .bind(size)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let sample: Vec<i64> = (0..1_000u64)
        .map(|n| ((n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) % size as u64) as i64)
        .collect();
    for idx in &sample {
        sqlx::query(
            "INSERT INTO access_log (idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt) \
             VALUES ($1, $2, $3, NULL, 'bench', '', '', $4) ON CONFLICT DO NOTHING",
        )
        .bind(idx)
        .bind(vec![7u8; 180])
        .bind(vec![0u8; 32])
        .bind(vec![0u8; 16])
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE access_log_head SET size = $1 WHERE id = 1")
        .bind(size)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("VACUUM ANALYZE log_subtree")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("VACUUM ANALYZE access_log")
        .execute(&mut conn)
        .await
        .unwrap();
    println!(
        "postgres log of {size} leaves: {} subtrees stored in {:.1} s",
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM log_subtree")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        setup.elapsed().as_secs_f64()
    );
    let mut inclusion = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let mut hashes = 0;
    for idx in &sample {
        let started = Instant::now();
        let proof = db.store.inclusion_proof(*idx, size).await.unwrap();
        inclusion
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
        hashes = hashes.max(proof.proof.hashes.len());
    }
    let mut consistency = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for idx in &sample {
        let started = Instant::now();
        db.store.consistency_proof(idx + 1, size).await.unwrap();
        consistency
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
    }
    for (what, h) in [("inclusion", &inclusion), ("consistency", &consistency)] {
        println!(
            "postgres {what:<11} proofs 1000 at size {size}  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (≤ {hashes} hashes)",
            h.value_at_quantile(0.5) as f64 / 1_000.0,
            h.value_at_quantile(0.99) as f64 / 1_000.0,
            h.max() as f64 / 1_000.0,
        );
    }
    drop(conn);
    db.drop_database().await;
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(size) = args.proofs {
        runtime.block_on(proofs(size));
        return;
    }
    runtime.block_on(async {
        for label in &args.dbs {
            for kind in &args.kinds {
                let db = match label.as_str() {
                    "sqlite" => sqlite_db().await,
                    "postgres" => match postgres_db().await {
                        Some(db) => db,
                        None => continue,
                    },
                    other => panic!("unknown database {other}"),
                };
                imported(&db).await;
                if kind == "grant" {
                    settle_one(
                        &db,
                        CLINIC,
                        "LOAD",
                        ("P003", "390"),
                        ("11", ""),
                        ("X-DRUG-A", 100),
                    )
                    .await
                    .expect("a settlement for the grant to read");
                }
                run(&db, kind, args.rate, args.secs).await;
                db.drop_database().await;
            }
        }
    });
}
