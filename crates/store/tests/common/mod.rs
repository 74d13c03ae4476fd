//! Shared test helpers: a fresh database per test on SQLite (a temp file) and on PostgreSQL
//! (`CREATE DATABASE yibao_test_…` on `DATABASE_URL`, default the local server), the fixture
//! registry, and builders for envelopes and commands.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::Connection;
use yibao_store::*;

pub const HOSPITAL: &str = "H14050000001";
pub const CLINIC: &str = "H14050000002";
pub const PHARMACY: &str = "P14050000003";
pub const SUSPENDED: &str = "H14050000009";

/// One fresh, migrated database.
pub struct TestDb {
    pub store: Store,
    pub label: &'static str,
    /// The database's URL, for tests that open their own connection beside the store's.
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn drop_database(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A fresh SQLite database in a temp folder.
pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let store = Store::connect(&url).await.expect("open SQLite");
    TestDb {
        store,
        label: "sqlite",
        url,
        pg: None,
        _dir: Some(dir),
    }
}

pub async fn postgres_db() -> Option<TestDb> {
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let required = std::env::var("YIBAO_REQUIRE_PG").is_ok_and(|v| v == "1");
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) if !required => {
            eprintln!(
                "notice: PostgreSQL unreachable at {admin_url} ({e}); skipping the PostgreSQL half"
            );
            return None;
        }
        Err(e) => {
            panic!("PostgreSQL required (YIBAO_REQUIRE_PG=1) but unreachable at {admin_url}: {e}")
        }
    };
    let name = format!("yibao_test_{}", unique_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    let store = Store::connect(&url).await.expect("open PostgreSQL");
    Some(TestDb {
        store,
        label: "postgres",
        url,
        pg: Some((admin_url, name)),
        _dir: None,
    })
}

/// Runs `test` on a fresh SQLite database and then on a fresh PostgreSQL database.
pub async fn on_both<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let db = test(sqlite_db().await).await;
    db.drop_database().await;
    if let Some(db) = postgres_db().await {
        let db = test(db).await;
        db.drop_database().await;
    }
}

/// Runs `test` on a fresh PostgreSQL database only (for PostgreSQL's own locking behaviour);
/// skipped like the PostgreSQL half of [`on_both`] when no server is reachable.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    if let Some(db) = postgres_db().await {
        let db = test(db).await;
        db.drop_database().await;
    }
}

/// The fixture registry plus the shipped policies, in a temp folder.
pub fn registry_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_fixture(dir.path());
    dir
}

pub fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/registry")
}

pub fn copy_fixture(to: &Path) {
    for entry in std::fs::read_dir(fixture_path()).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy fixture");
    }
    std::fs::create_dir_all(to.join("policies")).expect("policies folder");
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(to.join(name), text).expect("write policy");
    }
}

pub async fn imported(db: &TestDb) {
    let dir = registry_dir();
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the fixture registry");
}

pub fn at(date: &str, time: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S")
        .expect("test time")
}

pub fn now() -> NaiveDateTime {
    at("2025-05-10", "10:00:00")
}

/// An envelope whose request hash is derived from `content` (same content, same hash).
pub fn env(inst: &str, msgid: &str, infno: &str, content: &str) -> Envelope {
    let mut hash = [0u8; 32];
    // A simple deterministic digest is enough for tests: FNV-1a spread over the 32 bytes.
    for (i, chunk) in hash.chunks_mut(8).enumerate() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (i as u64);
        for b in content.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    Envelope {
        fixmedins_code: inst.to_string(),
        msgid: msgid.to_string(),
        infno: infno.to_string(),
        request_hash: hash,
        mdtrtarea_admvs: "140500".to_string(),
        now: now(),
    }
}

/// The renderer the tests store: the outcome's debug text (deterministic).
pub fn render(outcome: &Outcome) -> String {
    format!("{outcome:?}")
}

pub async fn exec(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    infno: &str,
    cmd: Command,
) -> Result<Reply, StoreError> {
    let content = format!("{cmd:?}");
    db.store
        .execute(&env(inst, msgid, infno, &content), cmd, &render)
        .await
}

pub fn fresh(reply: Reply) -> Outcome {
    match reply {
        Reply::Fresh { outcome, .. } => outcome,
        Reply::Replayed { .. } => panic!("expected a fresh reply"),
    }
}

/// A 2201 of `psn_no` under `insutype`, its hospital visit number made from `msgid`.
pub fn registration_cmd(psn_no: &str, insutype: &str, msgid: &str) -> Command {
    Command::RegisterOutpatient(RegisterOutpatient {
        psn_no: psn_no.into(),
        insutype: insutype.into(),
        begntime: now(),
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: "140502198001011234".into(),
        ipt_otp_no: format!("OTP{msgid}"),
        atddr_no: "D001".into(),
        dr_name: "医生".into(),
        dept_code: "A03".into(),
        dept_name: "内科".into(),
        caty: "A03".into(),
        referral: false,
    })
}

pub async fn register(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    psn_no: &str,
    insutype: &str,
) -> String {
    let cmd = registration_cmd(psn_no, insutype, msgid);
    match fresh(exec(db, inst, msgid, "2201", cmd).await.expect("2201")) {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201 gave {other:?}"),
    }
}

/// 2201 → 2203 → 2204 of the spec's lines for P003 at the clinic, under msgids `{tag}-2201` …;
/// the visit and the 2204's outcome.
pub async fn spec_visit(db: &TestDb, tag: &str) -> (String, Outcome) {
    let mdtrt_id = register(db, CLINIC, &format!("{tag}-2201"), "P003", "390").await;
    fresh(
        exec(
            db,
            CLINIC,
            &format!("{tag}-2203"),
            "2203",
            visit_info(&mdtrt_id, "P003", "11", ""),
        )
        .await
        .expect("2203"),
    );
    let uploaded = fresh(
        exec(
            db,
            CLINIC,
            &format!("{tag}-2204"),
            "2204",
            Command::UploadFees(UploadFees {
                kind: VisitKind::Outpatient,
                lines: spec_lines(&mdtrt_id, "P003"),
            }),
        )
        .await
        .expect("2204"),
    );
    (mdtrt_id, uploaded)
}

pub fn visit_info(mdtrt_id: &str, psn_no: &str, med_type: &str, dise_codg: &str) -> Command {
    Command::UploadVisitInfo(UploadVisitInfo {
        mdtrt_id: mdtrt_id.into(),
        psn_no: psn_no.into(),
        med_type: med_type.into(),
        begntime: now(),
        main_cond_dscr: String::new(),
        dise_codg: dise_codg.into(),
        dise_name: String::new(),
        diagnoses: vec![Diagnosis {
            diag_type: "1".into(),
            diag_srt_no: 1,
            diag_code: "J06.900".into(),
            diag_name: "急性上呼吸道感染".into(),
            diag_dept: "内科".into(),
            dise_dor_no: "D001".into(),
            dise_dor_name: "医生".into(),
            diag_time: Some(now()),
            maindiag_flag: Some(true),
            valid: true,
        }],
        maternity: Maternity::default(),
    })
}

/// A fee line: `pric` in yuan × 1_000_000 (micro-yuan), `cnt` in units × 10_000.
pub fn line(
    mdtrt_id: &str,
    psn_no: &str,
    sn: &str,
    code: &str,
    pric_micro: i64,
    cnt_e4: i64,
) -> FeeLineIn {
    let amount = ((i128::from(pric_micro) * i128::from(cnt_e4) + 50_000_000) / 100_000_000) as i64;
    FeeLineIn {
        feedetl_sn: sn.into(),
        mdtrt_id: mdtrt_id.into(),
        psn_no: psn_no.into(),
        chrg_bchno: "B1".into(),
        fee_ocur_time: now(),
        med_list_codg: code.into(),
        medins_list_codg: format!("H-{code}"),
        det_item_fee_sumamt_fen: amount,
        cnt_e4,
        pric_micro,
        bilg_dept_codg: "A03".into(),
        bilg_dept_name: "内科".into(),
        bilg_dr_codg: "D001".into(),
        bilg_dr_name: "医生".into(),
        hosp_appr_flag: "0".into(),
        ..FeeLineIn::default()
    }
}

/// The four lines of spec settlement.md section 9: 4100.00 in total.
pub fn spec_lines(mdtrt_id: &str, psn_no: &str) -> Vec<FeeLineIn> {
    vec![
        line(mdtrt_id, psn_no, "1", "X-DRUG-A", 100_000_000, 100_000),
        line(mdtrt_id, psn_no, "2", "X-ITEM-B", 2_000_000_000, 10_000),
        line(mdtrt_id, psn_no, "3", "X-CONS-C", 500_000_000, 10_000),
        line(mdtrt_id, psn_no, "4", "X-ITEM-D", 300_000_000, 20_000),
    ]
}

/// An outpatient (2206/2207) settlement of every unsettled line of the visit.
pub fn settle_cmd(
    pre: bool,
    mdtrt_id: &str,
    psn_no: &str,
    insutype: &str,
    total_fen: i64,
    acct_used_flag: &str,
) -> Command {
    settle_kind_cmd(
        VisitKind::Outpatient,
        pre,
        mdtrt_id,
        psn_no,
        insutype,
        total_fen,
        acct_used_flag,
    )
}

/// [`settle_cmd`] for either visit chain (2303/2304 are inpatient).
pub fn settle_kind_cmd(
    kind: VisitKind,
    pre: bool,
    mdtrt_id: &str,
    psn_no: &str,
    insutype: &str,
    total_fen: i64,
    acct_used_flag: &str,
) -> Command {
    Command::Settle(Settle {
        kind,
        pre,
        psn_no: psn_no.into(),
        mdtrt_id: mdtrt_id.into(),
        insutype: insutype.into(),
        med_type: String::new(),
        medfee_sumamt_fen: total_fen,
        acct_used_flag: AcctUsedFlag::parse(acct_used_flag).expect("acct_used_flag"),
        chrg_bchno: String::new(),
        psn_setlway: "01".into(),
        invono: String::new(),
        mid_setl_flag: false,
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: None,
        dscg_time: None,
        declared: None,
        audit_gate: Default::default(),
    })
}

pub fn settled(outcome: Outcome) -> SettlementView {
    match outcome {
        Outcome::Settled(view) => *view,
        other => panic!("expected a settlement, got {other:?}"),
    }
}

pub async fn counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    db.store.row_counts().await.expect("row counts")
}

pub async fn assert_balanced(db: &TestDb) -> LedgerReport {
    let report = db.store.check_ledger().await.expect("check ledger");
    assert!(
        report.is_balanced(),
        "[{}] ledger problems: {:#?}",
        db.label,
        report.problems
    );
    report
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// 2201 → 2203 → 2204 → 2207 of one line of `code` at `price_yuan`; the settlement or the
/// refusal.
pub async fn settle_one(
    db: &TestDb,
    inst: &str,
    tag: &str,
    (psn_no, insutype): (&str, &str),
    (med_type, dise_codg): (&str, &str),
    (code, price_yuan): (&str, i64),
) -> Result<SettlementView, StoreError> {
    let mdtrt_id = register(db, inst, &format!("{tag}-2201"), psn_no, insutype).await;
    fresh(
        exec(
            db,
            inst,
            &format!("{tag}-2203"),
            "2203",
            visit_info(&mdtrt_id, psn_no, med_type, dise_codg),
        )
        .await
        .expect("2203"),
    );
    fresh(
        exec(
            db,
            inst,
            &format!("{tag}-2204"),
            "2204",
            Command::UploadFees(UploadFees {
                kind: VisitKind::Outpatient,
                lines: vec![line(
                    &mdtrt_id,
                    psn_no,
                    "1",
                    code,
                    price_yuan * 1_000_000,
                    10_000,
                )],
            }),
        )
        .await
        .expect("2204"),
    );
    exec(
        db,
        inst,
        &format!("{tag}-2207"),
        "2207",
        settle_cmd(false, &mdtrt_id, psn_no, insutype, price_yuan * 100, "0"),
    )
    .await
    .map(|reply| settled(fresh(reply)))
}

/// A valid citizen ID (GB 11643 check character) for a region, birth date (`YYYY-MM-DD`) and
/// sequence.
pub fn cid(area: &str, brdy: &str, seq: u32) -> String {
    let body = format!("{area}{}{seq:03}", brdy.replace('-', ""));
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    let first17: [u8; 17] = digits.try_into().expect("17 digits");
    format!("{body}{}", yibao_enrollment::id::check_char(&first17))
}

/// Runs one statement with text parameters on the test database, beside the store (rows a test
/// needs that no command writes).
pub async fn sql(db: &TestDb, statement: &str, binds: &[&str]) {
    macro_rules! run {
        ($conn:expr) => {{
            let mut q = sqlx::query(statement);
            for b in binds {
                q = q.bind(*b);
            }
            q.execute(&mut $conn).await.expect("test statement");
        }};
    }
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        run!(conn);
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        run!(conn);
    }
}
