//! The month end (issue 14): three months and a year end of a small city with two regions —
//! payment runs prepared and approved by two officers, DRG pricing on uploaded settlement lists,
//! a held case paid once its list arrives, a reversal of a priced case, cross-region clearing
//! and reimbursement, the quality holdback and its release, and fund statements that agree with
//! the ledger after every step.

use super::common::*;
use chrono::NaiveDateTime;
use yibao_audit::review::{Step, Verdict};
use yibao_store::funds::{month_bounds, PrepareRun};
use yibao_store::*;

/// A female-only item of the shipped knowledge.
fn female_only_code() -> String {
    let base = yibao_audit::builtin().expect("shipped rules");
    base.knowledge
        .sex_limit
        .iter()
        .find(|e| e.gend == yibao_audit::Gend::Female && e.scope.admdvs.is_none())
        .expect("a female-only item")
        .med_list_codg
        .clone()
}

const REGION: &str = include_str!("../../../../regions/demo.toml");
const OTHER: &str = "H11000000001";

async fn try_run_at(
    db: &TestDb,
    inst: &str,
    area: &str,
    msgid: &str,
    infno: &str,
    cmd: Command,
    at: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    let content = format!("{cmd:?}");
    let mut e = env(inst, msgid, infno, &content);
    e.now = at;
    e.mdtrtarea_admvs = area.into();
    db.store.execute(&e, cmd, &render).await.map(fresh)
}

async fn run_at(
    db: &TestDb,
    inst: &str,
    area: &str,
    msgid: &str,
    infno: &str,
    cmd: Command,
    at: NaiveDateTime,
) -> Outcome {
    try_run_at(db, inst, area, msgid, infno, cmd, at)
        .await
        .unwrap_or_else(|err| panic!("{infno} {msgid}: {err}"))
}

/// Admits, uploads the spec's four lines (4,100.00), settles (2304) and discharges on `day`.
async fn inpatient(
    db: &TestDb,
    (inst, area): (&str, &str),
    tag: &str,
    (psn_no, insutype, certno): (&str, &str, &str),
    day: &str,
) -> String {
    let at0 = at(day, "08:00:00");
    let mdtrt_id = match run_at(
        db,
        inst,
        area,
        &format!("{tag}-2401"),
        "2401",
        Command::Admit(Admit {
            adm_bed: None,
            psn_no: psn_no.into(),
            insutype: insutype.into(),
            begntime: at0,
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: certno.into(),
            med_type: "21".into(),
            ipt_no: format!("IPT-{tag}"),
            atddr_no: "D002".into(),
            chfpdr_name: "主治".into(),
            adm_dept_codg: "A03".into(),
            adm_dept_name: "内科".into(),
            dscg_maindiag_code: "I10.x00".into(),
            dscg_maindiag_name: "高血压".into(),
            main_cond_dscr: String::new(),
            diagnoses: vec![],
            transfer_in: false,
        }),
        at0,
    )
    .await
    {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2401 gave {other:?}"),
    };
    let mut lines = spec_lines(&mdtrt_id, psn_no);
    for l in &mut lines {
        l.fee_ocur_time = at(day, "09:00:00");
    }
    run_at(
        db,
        inst,
        area,
        &format!("{tag}-2301"),
        "2301",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Inpatient,
            lines,
        }),
        at(day, "09:30:00"),
    )
    .await;
    let s = settled(
        run_at(
            db,
            inst,
            area,
            &format!("{tag}-2304"),
            "2304",
            settle_kind_cmd(
                VisitKind::Inpatient,
                false,
                &mdtrt_id,
                psn_no,
                insutype,
                410_000,
                "0",
            ),
            at(day, "16:00:00"),
        )
        .await,
    );
    run_at(
        db,
        inst,
        area,
        &format!("{tag}-2402"),
        "2402",
        Command::Discharge(Discharge {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: psn_no.into(),
            insutype: insutype.into(),
            dscg_dept_codg: "A03".into(),
            dscg_dept_name: "内科".into(),
            die_date: None,
            maternity: Maternity::default(),
            endtime: at(day, "17:00:00"),
            dscg_way: "1".into(),
            diagnoses: vec![],
        }),
        at(day, "17:00:00"),
    )
    .await;
    s.setl_id
}

/// 2201 → 2204 → 2207 of one 200.00 line at `inst` in region `area` on `day`.
async fn outpatient(
    db: &TestDb,
    inst: &str,
    area: &str,
    tag: &str,
    person: (&str, &str, &str),
    day: &str,
) -> String {
    settled(
        try_outpatient(db, inst, area, tag, person, day)
            .await
            .unwrap_or_else(|e| panic!("{tag}-2207: {e}")),
    )
    .setl_id
}

/// [`outpatient`], giving the settlement's (2207's) answer as it is.
async fn try_outpatient(
    db: &TestDb,
    inst: &str,
    area: &str,
    tag: &str,
    (psn_no, insutype, certno): (&str, &str, &str),
    day: &str,
) -> Result<Outcome, StoreError> {
    let mdtrt_id = match run_at(
        db,
        inst,
        area,
        &format!("{tag}-2201"),
        "2201",
        Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: psn_no.into(),
            insutype: insutype.into(),
            begntime: at(day, "09:00:00"),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: certno.into(),
            ipt_otp_no: format!("OTP{tag}"),
            atddr_no: "D001".into(),
            dr_name: "医生".into(),
            dept_code: "A03".into(),
            dept_name: "内科".into(),
            caty: "A03".into(),
            referral: false,
        }),
        at(day, "09:00:00"),
    )
    .await
    {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201 gave {other:?}"),
    };
    let mut l = line(&mdtrt_id, psn_no, "1", "X-ITEM-B", 200_000_000, 10_000);
    l.fee_ocur_time = at(day, "09:10:00");
    run_at(
        db,
        inst,
        area,
        &format!("{tag}-2204"),
        "2204",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Outpatient,
            lines: vec![l],
        }),
        at(day, "09:20:00"),
    )
    .await;
    try_run_at(
        db,
        inst,
        area,
        &format!("{tag}-2207"),
        "2207",
        settle_cmd(false, &mdtrt_id, psn_no, insutype, 20_000, "0"),
        at(day, "09:30:00"),
    )
    .await
}

/// Uploads the settlement list (4101A) of a stay on `day`.
async fn list(db: &TestDb, inst: &str, tag: &str, setl_id: &str, day: &str) {
    let row = sql_row(
        db,
        "SELECT mdtrt_id, psn_no FROM settlement WHERE setl_id = $1",
        setl_id,
    )
    .await;
    let d = date(day);
    let upload = setl_list::SetlListUpload {
        psn_no: row.1.clone(),
        mdtrt_id: row.0.clone(),
        setl_id: setl_id.into(),
        medcasno: format!("MC-{tag}"),
        gend: None,
        age_years: Some(50),
        nwb_age_days: None,
        nwb_bir_wt_g: None,
        nwb_adm_wt_g: None,
        ntly: "CHN".into(),
        prfs: "90".into(),
        adm_way: "1".into(),
        trt_type: "1".into(),
        adm_time: None,
        adm_caty: "A03".into(),
        dscg_time: None,
        dscg_caty: "A03".into(),
        dscg_way: "1".into(),
        act_ipt_days: Some(1),
        vent_used_dura: String::new(),
        setl_begn_date: d,
        setl_end_date: d,
        hi_paymtd: "1".into(),
        bill_code: String::new(),
        bill_no: String::new(),
        biz_sn: String::new(),
        chfpdr_code: "D002".into(),
        medins_fill_dept: "病案科".into(),
        medins_fill_psn: "填报人".into(),
        diagnoses: vec![setl_list::SetlListDiagnosis {
            diag_type: "1".into(),
            diag_code: "M84.000x052".into(),
            diag_name: "骨折不连接".into(),
            adm_cond_type: "1".into(),
            maindiag_flag: true,
        }],
        operations: vec![],
        icu_stays: vec![],
        payments: vec![],
        blood: vec![],
        opsp_diagnoses: vec![],
        deadline: setl_list_status::SetlListDeadline::default(),
    };
    run_at(
        db,
        inst,
        "140500",
        &format!("{tag}-4101A"),
        "4101A",
        Command::UploadSetlList(Box::new(upload)),
        at(day, "18:00:00"),
    )
    .await;
}

async fn sql_row(db: &TestDb, q: &str, bind: &str) -> (String, String) {
    use sqlx::Connection;
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_as(q)
            .bind(bind)
            .fetch_one(&mut conn)
            .await
            .expect("row")
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query_as(q)
            .bind(bind)
            .fetch_one(&mut conn)
            .await
            .expect("row")
    }
}

async fn scalar(db: &TestDb, q: &str, bind: &str) -> i64 {
    use sqlx::Connection;
    if db.label == "postgres" {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_scalar(q)
            .bind(bind)
            .fetch_one(&mut conn)
            .await
            .expect("scalar")
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query_scalar(q)
            .bind(bind)
            .fetch_one(&mut conn)
            .await
            .expect("scalar")
    }
}

fn prepare(admdvs: &str, month: &str, by: &str) -> PrepareRun {
    let (_, last) = month_bounds(month).unwrap();
    PrepareRun {
        admdvs: admdvs.into(),
        month: month.into(),
        prepared_by: by.into(),
        config: yibao_funds::config::parse_funds(REGION).unwrap(),
        region: yibao_drg_payment::region::parse_region(REGION).unwrap(),
        or_procedures: Default::default(),
        pay_by: last,
        now: at(&last.to_string(), "20:00:00"),
    }
}

/// Runs and approves a month for both regions, reimburses, and checks every institution's
/// order against what its paid settlements and priced cases add up to.
async fn month_end(db: &TestDb, month: &str) -> Vec<yibao_store::funds::RunSummary> {
    let mut runs = Vec::new();
    for admdvs in ["110000", "140500"] {
        let p = db
            .store
            .prepare_payment_run(&prepare(admdvs, month, "fin.a"))
            .await
            .unwrap();
        assert!(p.fresh && p.approved_by.is_none(), "{p:?}");
        // The same officer may not approve it; another does, once.
        let same = db
            .store
            .approve_payment_run(&p.run_id, "fin.a", now())
            .await;
        assert!(matches!(same, Err(StoreError::Refused { .. })), "{same:?}");
        let a = db
            .store
            .approve_payment_run(&p.run_id, "fin.b", now())
            .await
            .unwrap();
        assert_eq!(a.approved_by.as_deref(), Some("fin.b"));
        let twice = db
            .store
            .approve_payment_run(&p.run_id, "fin.c", now())
            .await;
        assert!(
            matches!(twice, Err(StoreError::Refused { .. })),
            "{twice:?}"
        );
        // Preparing again changes nothing.
        let again = db
            .store
            .prepare_payment_run(&prepare(admdvs, month, "fin.c"))
            .await
            .unwrap();
        assert!(!again.fresh);
        assert_eq!(again.total_fen, a.total_fen);
        check_orders(db, &a.run_id).await;
        runs.push(a);
    }
    db.store
        .reimburse_regions("140500", month, "fin.a", "fin.b", now())
        .await
        .unwrap();
    assert_balanced(db).await;
    let statement = db.store.fund_statement(month).await.unwrap();
    for row in &statement {
        let m = &row.month;
        assert_eq!(
            m.closing,
            m.opening + m.income - m.expenditure - m.adjustments
        );
        assert_eq!(m.closing, row.ledger_closing);
    }
    runs
}

/// Each institution is paid what its traces add up to: the fund and personal-account parts of
/// the settlements the run paid, plus the DRG adjustments of its cases, plus true-up and
/// released holdback, less holdback and recoveries.
async fn check_orders(db: &TestDb, run_id: &str) {
    let orders = db.store.payment_orders(run_id).await.unwrap();
    for o in &orders {
        let settled = scalar(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(s.fund_pay_sumamt + s.acct_pay), 0) AS BIGINT) FROM settlement s \
                 JOIN payment_item p ON p.setl_id = s.setl_id WHERE p.run_id = '{run_id}' AND p.fixmedins_code = $1"
            ),
            &o.fixmedins_code,
        )
        .await;
        let cases = scalar(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(adjustment_fen), 0) AS BIGINT) FROM payment_case \
                 WHERE run_id = '{run_id}' AND fixmedins_code = $1"
            ),
            &o.fixmedins_code,
        )
        .await;
        assert_eq!(o.owed_fen, settled, "{o:?}");
        let lines = db.store.payment_lines(run_id).await.unwrap();
        let drg: i64 = lines
            .iter()
            .filter(|l| l.fixmedins_code == o.fixmedins_code && l.kind == "drg")
            .map(|l| l.amount_fen)
            .sum();
        assert_eq!(drg, cases, "{o:?}");
        assert_eq!(
            o.paid_fen,
            o.owed_fen + o.drg_fen - o.holdback_fen - o.recovery_fen,
            "{o:?}"
        );
    }
}

#[tokio::test]
async fn three_months_and_a_year_end() {
    on_both(|db| async move {
        // The fixture city and one hospital of another region (Beijing, 110000).
        let dir = registry_dir();
        let path = dir.path().join("institutions.csv");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!("{OTHER},北京测试医院,1,3,3,110000,1,AK110,SK110\n"));
        std::fs::write(&path, text).unwrap();
        db.store.import_registry(dir.path()).await.unwrap();
        // March: two stays with lists, one without (held), one cross-region visit.
        let a = inpatient(&db, (HOSPITAL, "140500"), "M3A", ("P001", "310", "140502198001011234"), "2025-03-05").await;
        let b = inpatient(&db, (CLINIC, "140500"), "M3B", ("P004", "390", "140502195004041237"), "2025-03-06").await;
        let c = inpatient(&db, (HOSPITAL, "140500"), "M3C", ("P002", "310", "140502198502021235"), "2025-03-07").await;
        list(&db, HOSPITAL, "M3A", &a, "2025-03-20").await;
        list(&db, CLINIC, "M3B", &b, "2025-03-20").await;
        let x = inpatient(&db, (OTHER, "110000"), "X1", ("P003", "390", "140502199003031236"), "2025-03-10").await;
        // An outpatient visit there too (under the deductible: no fund money, cash only).
        outpatient(&db, OTHER, "110000", "X2", ("P003", "390", "140502199003031236"), "2025-03-11").await;
        let runs = month_end(&db, "2025-03").await;
        let local = runs.iter().find(|r| r.admdvs == "140500").unwrap();
        assert_eq!(local.n_cases, 2, "{local:?}");
        assert_eq!(local.n_held, 1, "the stay without a list waits: {local:?}");
        // The Beijing hospital was paid for P003 by its region, which 140500 reimbursed.
        let pairs = db.store.clearing_statement("2025-03").await.unwrap();
        let fund_x = scalar(
            &db,
            "SELECT CAST(SUM(fund_pay_sumamt + acct_pay) AS BIGINT) FROM settlement WHERE setl_id = $1",
            &x,
        )
        .await;
        let advanced: i64 = pairs.iter().map(|p| p.advanced_fen).sum();
        let reimbursed: i64 = pairs.iter().map(|p| p.reimbursed_fen).sum();
        assert!(fund_x > 0);
        assert_eq!((advanced, reimbursed), (fund_x, fund_x), "{pairs:?}");
        assert!(pairs.iter().all(|p| p.debtor == "140500" && p.creditor == "110000" && p.outstanding_fen == 0));
        // The held stay's money is still owed to the hospital; the paid ones are cleared.
        let owed_c = scalar(
            &db,
            "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM ledger_transfer WHERE ref_id = $1",
            &c,
        )
        .await;
        let inst_balance = scalar(
            &db,
            "SELECT CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
            &format!("inst:{HOSPITAL}"),
        )
        .await;
        assert_eq!(inst_balance, owed_c);

        // April: the late list arrives and the held stay is paid; stay A is reversed.
        list(&db, HOSPITAL, "M3C", &c, "2025-04-02").await;
        let _ = b;
        let runs = month_end(&db, "2025-04").await;
        let local = runs.iter().find(|r| r.admdvs == "140500").unwrap();
        assert_eq!((local.n_cases, local.n_held), (1, 0), "{local:?}");
        for inst in [HOSPITAL, CLINIC] {
            let bal = scalar(
                &db,
                "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
                &format!("inst:{inst}"),
            )
            .await;
            assert_eq!(bal, 0, "{inst} is paid everything it is owed");
        }

        // May: a confirmed audit case (a man billed a female-only item) is recovered from the
        // hospital's payment; one more stay; December: the year end releases every holdback.
        let code = female_only_code();
        settle_one(&db, HOSPITAL, "RV1", ("P001", "310"), ("11", "J06.900"), (&code, 88))
            .await
            .expect("a warning region settles");
        let settings = yibao_store::review::ReviewSettings { appeal_days: 10 };
        let t0 = now();
        assert_eq!(db.store.open_cases("admin", t0).await.unwrap(), 1);
        let case_id = db
            .store
            .cases(
                &yibao_store::review::CaseFilter {
                    limit: 10,
                    ..Default::default()
                },
                t0,
                settings,
            )
            .await
            .unwrap()[0]
            .case_id
            .clone();
        let t1 = t0 + chrono::Duration::days(11);
        for (step, actor, t) in [
            (Step::First, "r1", t0),
            (Step::Second, "r2", t1),
            (Step::Final, "r3", t1),
        ] {
            let d = yibao_store::review::Decision {
                step,
                verdict: Verdict::Uphold(yibao_core_types::Fen(6_000)),
                reason: format!("{} 审核意见", step.zh()),
            };
            db.store.decide(&case_id, actor, &d, t, settings).await.unwrap();
        }
        let recv = format!("recv:{HOSPITAL}");
        let owed = -scalar(
            &db,
            "SELECT CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
            &recv,
        )
        .await;
        assert!(owed >= 6_000, "{owed}");
        let d = inpatient(&db, (HOSPITAL, "140500"), "M5D", ("P005", "310", "14050220000505123X"), "2025-05-08").await;
        list(&db, HOSPITAL, "M5D", &d, "2025-05-09").await;
        let runs = month_end(&db, "2025-05").await;
        let may = runs.iter().find(|r| r.admdvs == "140500").unwrap();
        let recovered: i64 = db
            .store
            .payment_lines(&may.run_id)
            .await
            .unwrap()
            .iter()
            .filter(|l| l.fixmedins_code == HOSPITAL && l.kind == "recovery")
            .map(|l| l.amount_fen)
            .sum();
        assert_eq!(recovered, owed, "the confirmed case is recovered from the payment");
        let left = scalar(
            &db,
            "SELECT CAST(SUM(balance_fen) AS BIGINT) FROM ledger_balance WHERE account_code = $1",
            &recv,
        )
        .await;
        assert_eq!(left, 0);
        let runs = month_end(&db, "2025-12").await;
        assert!(runs.iter().all(|r| r.year_end));
        let held_back = scalar(
            &db,
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'holdback' THEN amount_fen ELSE -amount_fen END), 0) AS BIGINT) \
             FROM payment_line WHERE kind IN ('holdback', 'holdback_release') AND fixmedins_code = $1",
            HOSPITAL,
        )
        .await;
        assert_eq!(held_back, 0, "the year end releases what the months held back");
        // Months are paid in order, and once.
        let late = db.store.prepare_payment_run(&prepare("140500", "2025-06", "fin.a")).await;
        assert!(matches!(late, Err(StoreError::Refused { .. })), "{late:?}");
        db
    })
    .await;
}

/// The same month end with a region that pays by DIP scores: the month's cases are scored on
/// their lists' diagnoses and procedures, the orders still add up to their traces and the
/// ledger balances.
#[tokio::test]
async fn a_dip_region_prices_its_month_by_scores() {
    on_both(|db| async move {
        imported(&db).await;
        let a = inpatient(
            &db,
            (HOSPITAL, "140500"),
            "D1",
            ("P001", "310", "140502198001011234"),
            "2025-03-05",
        )
        .await;
        let b = inpatient(
            &db,
            (CLINIC, "140500"),
            "D2",
            ("P004", "390", "140502195004041237"),
            "2025-03-06",
        )
        .await;
        list(&db, HOSPITAL, "D1", &a, "2025-03-20").await;
        list(&db, CLINIC, "D2", &b, "2025-03-20").await;
        let text = REGION.replace("method = \"drg\"", "method = \"dip\"");
        assert_ne!(text, REGION);
        let mut request = prepare("140500", "2025-03", "fin.a");
        request.config = yibao_funds::config::parse_funds(&text).unwrap();
        let run = db.store.prepare_payment_run(&request).await.unwrap();
        assert_eq!(
            (run.method.as_str(), run.n_cases, run.n_held),
            ("dip", 2, 0),
            "{run:?}"
        );
        assert!(run.points_e4 > 0, "{run:?}");
        let paid = db
            .store
            .approve_payment_run(&run.run_id, "fin.b", now())
            .await
            .unwrap();
        check_orders(&db, &paid.run_id).await;
        assert_balanced(&db).await;
        for row in db.store.fund_statement("2025-03").await.unwrap() {
            assert_eq!(row.month.closing, row.ledger_closing);
        }
        db
    })
    .await;
}

/// The pool a run shared by points: its month's budget plus what the insured paid themselves
/// on the cases it priced.
async fn budget_pool(db: &TestDb, run_id: &str, month_budget: i64) -> i64 {
    let insured = scalar(
        db,
        "SELECT CAST(SUM(cost_fen - fund_paid_fen) AS BIGINT) FROM payment_case WHERE run_id = $1",
        run_id,
    )
    .await;
    month_budget + insured
}

/// A region that refuses late settlements and has a DRG budget: the budget's month share sets
/// the pool; once March is paid a settlement dated in March is refused (`setl_date`) and writes
/// nothing, while April settles; interest is recorded once and shows as income; and a year
/// without a budget takes last year's spending grown by the region's growth.
#[tokio::test]
async fn a_closed_month_refuses_late_settlements_and_budgets_set_the_pool() {
    use yibao_funds::pricing::{grown_budget, month_budget};
    on_both(|db| async move {
        imported(&db).await;
        let a = inpatient(&db, (HOSPITAL, "140500"), "L1", ("P001", "310", "140502198001011234"), "2025-03-05").await;
        let b = inpatient(&db, (CLINIC, "140500"), "L2", ("P004", "390", "140502195004041237"), "2025-03-06").await;
        list(&db, HOSPITAL, "L1", &a, "2025-03-20").await;
        list(&db, CLINIC, "L2", &b, "2025-03-20").await;
        let budget = 7_200_000;
        let bad = db.store.set_fund_budget("31010", "140500", 2025, budget, "fin.a", now()).await;
        assert!(matches!(&bad, Err(StoreError::BadInput { field, .. }) if field == "fund"), "{bad:?}");
        db.store
            .set_fund_budget(yibao_store::funds::DRG_BUDGET_FUND, "140500", 2025, budget, "fin.a", now())
            .await
            .unwrap();
        let text = REGION.replace("late_settlements = \"carry\"", "late_settlements = \"refuse\"");
        assert_ne!(text, REGION);
        let request = |month: &str| {
            let mut r = prepare("140500", month, "fin.a");
            r.config = yibao_funds::config::parse_funds(&text).unwrap();
            r
        };
        let march = db.store.prepare_payment_run(&request("2025-03")).await.unwrap();
        assert_eq!(march.n_cases, 2, "{march:?}");
        assert_eq!(
            march.pool_fen,
            budget_pool(&db, &march.run_id, month_budget(budget, 3).unwrap()).await,
            "the pool is March's twelfth of the budget plus the insured's share: {march:?}"
        );
        // Prepared but not approved: March is still open.
        let open = try_outpatient(&db, HOSPITAL, "140500", "L3", ("P002", "310", "140502198502021235"), "2025-03-27").await;
        assert!(open.is_ok(), "{open:?}");
        db.store.approve_payment_run(&march.run_id, "fin.b", now()).await.unwrap();
        check_orders(&db, &march.run_id).await;
        let before = scalar(&db, "SELECT COUNT(*) FROM settlement WHERE setl_date >= $1", "2025-03-01").await;
        let late = try_outpatient(&db, HOSPITAL, "140500", "L4", ("P002", "310", "140502198502021235"), "2025-03-28").await;
        match &late {
            Err(StoreError::Refused { field, reason }) => {
                assert_eq!(field, "setl_date");
                assert!(reason.contains("2025-03-28") && reason.contains("closed for payment"), "{reason}");
            }
            other => panic!("a settlement in a closed month gave {other:?}"),
        }
        let after = scalar(&db, "SELECT COUNT(*) FROM settlement WHERE setl_date >= $1", "2025-03-01").await;
        assert_eq!(before, after, "the refused settlement wrote nothing");
        outpatient(&db, HOSPITAL, "140500", "L5", ("P002", "310", "140502198502021235"), "2025-04-01").await;
        assert_balanced(&db).await;

        // Interest from the bank's statement: recorded once, income of the fund's month.
        let fund = "310100";
        let future = db.store.record_interest(fund, "140500", "2099-01", 100, "fin.a", now()).await;
        assert!(matches!(&future, Err(StoreError::Refused { field, .. }) if field == "month"), "{future:?}");
        let r = db.store.record_interest(fund, "140500", "2025-03", 12_345, "fin.a", now()).await.unwrap();
        assert!(r.fresh);
        let again = db.store.record_interest(fund, "140500", "2025-03", 12_345, "fin.b", now()).await.unwrap();
        assert!(!again.fresh && again.recorded_by == "fin.a", "{again:?}");
        let other = db.store.record_interest(fund, "140500", "2025-03", 12_000, "fin.a", now()).await;
        assert!(matches!(&other, Err(StoreError::Refused { field, .. }) if field == "amount"), "{other:?}");
        let statement = db.store.fund_statement("2025-03").await.unwrap();
        let row = statement
            .iter()
            .find(|r| r.month.fund == fund && r.month.admdvs == "140500")
            .expect("the fund's row");
        assert!(row.income_by_kind.contains(&("interest".to_string(), 12_345)), "{row:?}");
        for row in &statement {
            assert_eq!(row.month.closing, row.ledger_closing, "{row:?}");
        }
        assert_balanced(&db).await;

        // December: a stay without its list waits; January 2026 prices it from a budget grown
        // from 2025's spending (no 2026 budget is set).
        let c = inpatient(&db, (HOSPITAL, "140500"), "L6", ("P005", "310", "14050220000505123X"), "2025-12-30").await;
        let december = db.store.prepare_payment_run(&request("2025-12")).await.unwrap();
        assert!(december.year_end && december.n_held == 1, "{december:?}");
        db.store.approve_payment_run(&december.run_id, "fin.b", now()).await.unwrap();
        check_orders(&db, &december.run_id).await;
        list(&db, HOSPITAL, "L6", &c, "2026-01-05").await;
        let spent = scalar(
            &db,
            "SELECT CAST(SUM(c.fund_paid_fen + c.adjustment_fen) AS BIGINT) FROM payment_case c \
             JOIN payment_run r ON r.run_id = c.run_id WHERE r.admdvs = $1 AND r.month LIKE '2025-%'",
            "140500",
        )
        .await;
        let true_up = scalar(
            &db,
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM payment_line WHERE run_id = $1 AND kind = 'true_up'",
            &december.run_id,
        )
        .await;
        let growth = yibao_drg_payment::region::parse_region(REGION).unwrap().budget_growth_ppm;
        let annual = grown_budget(spent + true_up, growth).unwrap();
        let january = db.store.prepare_payment_run(&request("2026-01")).await.unwrap();
        assert_eq!(january.n_cases, 1, "{january:?}");
        assert_eq!(
            january.pool_fen,
            budget_pool(&db, &january.run_id, month_budget(annual, 1).unwrap()).await,
            "{january:?}"
        );
        db.store.approve_payment_run(&january.run_id, "fin.b", now()).await.unwrap();
        check_orders(&db, &january.run_id).await;
        assert_balanced(&db).await;
        db
    })
    .await;
}
