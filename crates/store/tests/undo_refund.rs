//! Issue 13, deliver 4 "refunds" and 5 "can be undone", on SQLite and PostgreSQL: undoing a
//! 免申即享 decision withdraws its effect from the undo day on (assistance at settlement and in
//! 1101, the subsidy in the residents' run, reversed between the funds when the year was already
//! assessed, a newborn's pre-registered relation ended), and contribution refunds (退费) by
//! command: the individual part to the person, subsidies reversed between funds, refused after
//! benefits were drawn or once the benefit year started, refused twice; the ledger check holds
//! throughout.

// Amounts are written as yuan_fen (`1_100_00` is 1,100.00 yuan), as the spec prints them.
#![allow(clippy::inconsistent_digit_grouping)]

#[path = "common/mod.rs"]
mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::*;
use yibao_core_types::Fen;
use yibao_enrollment::builtin_params;
use yibao_store::contributions::{
    collection_account, AssessmentView, Employer, RunOptions, WageDeclaration,
};
use yibao_store::ledger::fund_account;
use yibao_store::refund::{person_payout_account, RefundRequest};
use yibao_store::staff::NewStaff;
use yibao_store::*;

const IDENTITY: &str = "certno,psn_name,idet_type,begn_date,end_date\n";
const POLICE: &str = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n";
/// P003 (王五) of the fixture with a valid citizen ID, so a department row can match her.
const P003_CERTNO: &str = "140502199003031235";

fn day(s: &str) -> NaiveDate {
    date(s)
}

fn feed(kind: FeedKind, today: &str) -> FeedImport {
    FeedImport {
        kind,
        file_name: "test.csv".into(),
        source_dept: kind.default_dept().into(),
        actor: "tester".into(),
        today: day(today),
        recorded_at: at(today, "09:00:00"),
    }
}

async fn import(db: &TestDb, kind: FeedKind, today: &str, file: &str) -> FeedReport {
    let report = db
        .store
        .import_feed(&feed(kind, today), file.as_bytes(), &|_| {})
        .await
        .expect("import");
    assert_eq!(report.rows_refused, 0, "{report:?}");
    report
}

/// The fixture registry with P003's valid ID and `extra` persons (`psn_no,certno,name,brdy`)
/// insured as residents of 140500 from 2015.
async fn registry(db: &TestDb, extra: &[(&str, &str, &str, &str)]) {
    let dir = registry_dir();
    let persons = dir.path().join("persons.csv");
    let mut text = std::fs::read_to_string(&persons)
        .unwrap()
        .replace("140502199003031236", P003_CERTNO);
    let insurance = dir.path().join("insurance.csv");
    let mut relations = std::fs::read_to_string(&insurance).unwrap();
    for (psn_no, certno, name, brdy) in extra {
        text.push_str(&format!("{psn_no},{certno},{name},2,{brdy},01,\n"));
        relations.push_str(&format!("{psn_no},390,1501,140500,,2015-01-01,,1\n"));
    }
    std::fs::write(&persons, text).unwrap();
    std::fs::write(&insurance, relations).unwrap();
    db.store.import_registry(dir.path()).await.expect("import");
}

/// A reviewer's account, for undo rows.
async fn reviewer(db: &TestDb) -> i64 {
    db.store
        .staff_create(
            &NewStaff {
                username: "rev1".into(),
                password: "rev1-long-password".into(),
                display_name: "Reviewer".into(),
                roles: vec![Role::Reviewer],
                fixmedins_code: None,
                admdvs: "140500".into(),
            },
            None,
            0,
        )
        .await
        .expect("staff")
        .staff_id
}

/// Imports a civil-affairs list and takes its 免申即享 decisions on `today`.
async fn identity_decided(db: &TestDb, today: &str, rows: &str) {
    let report = import(db, FeedKind::Identity, today, &format!("{IDENTITY}{rows}")).await;
    let params = builtin_params().unwrap();
    db.store
        .decide_on_batch(&report.batch_id, &params, day(today), at(today, "10:00:00"))
        .await
        .expect("decide");
}

/// The person's decision of one kind.
async fn decision(db: &TestDb, psn_no: &str, kind: &str) -> i64 {
    db.store
        .auto_decisions(psn_no)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.result_kind == kind)
        .unwrap_or_else(|| panic!("{psn_no} has no {kind} decision"))
        .decision_id
}

async fn balance(db: &TestDb, account: &str) -> i64 {
    db.store
        .account_balance(account)
        .await
        .expect("balance")
        .unwrap_or(0)
}

/// Executes a command as if the server received it at `now`.
async fn exec_at(
    db: &TestDb,
    msgid: &str,
    infno: &str,
    cmd: Command,
    now: NaiveDateTime,
) -> Outcome {
    let mut envelope = env(HOSPITAL, msgid, infno, &format!("{cmd:?}"));
    envelope.now = now;
    fresh(
        db.store
            .execute(&envelope, cmd, &render)
            .await
            .unwrap_or_else(|e| panic!("{msgid}: {e}")),
    )
}

/// An inpatient stay of P003 with the spec's fee lines, admitted on 1 May 2025.
async fn p003_stay(db: &TestDb) -> String {
    let admit = Command::Admit(Admit {
        adm_bed: None,
        psn_no: "P003".into(),
        insutype: "390".into(),
        begntime: at("2025-05-01", "08:00:00"),
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: P003_CERTNO.into(),
        med_type: "21".into(),
        ipt_no: "IPT-U".into(),
        atddr_no: "D002".into(),
        chfpdr_name: "主治".into(),
        adm_dept_codg: "A03".into(),
        adm_dept_name: "内科".into(),
        dscg_maindiag_code: "I10.x00".into(),
        dscg_maindiag_name: "高血压".into(),
        main_cond_dscr: String::new(),
        diagnoses: vec![],
        transfer_in: false,
    });
    let mdtrt_id = match exec_at(db, "U-2401", "2401", admit, at("2025-05-01", "08:00:00")).await {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2401 gave {other:?}"),
    };
    exec_at(
        db,
        "U-2301",
        "2301",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Inpatient,
            lines: spec_lines(&mdtrt_id, "P003"),
        }),
        at("2025-05-02", "08:00:00"),
    )
    .await;
    mdtrt_id
}

/// The assistance fund's payment of a pre-settlement (2303) of the stay on `when`.
async fn maf_on(db: &TestDb, mdtrt_id: &str, msgid: &str, when: NaiveDateTime) -> i64 {
    let cmd = settle_kind_cmd(
        VisitKind::Inpatient,
        true,
        mdtrt_id,
        "P003",
        "390",
        410_000,
        "0",
    );
    settled(exec_at(db, msgid, "2303", cmd, when).await)
        .amounts
        .maf_pay
        .0
}

/// The 2303 (低保) record as 1101 answers it: (begntime, endtime).
async fn dibao_in_1101(db: &TestDb) -> Vec<(String, String)> {
    db.store
        .person_info("P003")
        .await
        .unwrap()
        .identities
        .into_iter()
        .filter(|i| i.sp_psn_type == "2303")
        .map(|i| (i.begndate, i.enddate))
        .collect()
}

/// Undoing the assistance of a 低保 record: a settlement dated before the undo still gets the
/// assistance fund, one dated from the undo day does not; 1101 shows the record ending the day
/// before the undo; a second undo is refused.
#[tokio::test]
async fn undoing_assistance_stops_it_from_the_undo_day() {
    on_both(|db| async move {
        registry(&db, &[]).await;
        let staff = reviewer(&db).await;
        let mdtrt_id = p003_stay(&db).await;
        identity_decided(
            &db,
            "2025-05-03",
            &format!("{P003_CERTNO},王五,2303,2025-01-01,\n"),
        )
        .await;
        assert!(maf_on(&db, &mdtrt_id, "U-a", at("2025-05-10", "10:00:00")).await > 0);
        assert_eq!(
            dibao_in_1101(&db).await,
            [("2025-01-01".into(), String::new())]
        );

        let id = decision(&db, "P003", "assistance").await;
        let undone = db
            .store
            .undo_auto_decision(
                id,
                staff,
                "民政撤销该低保认定",
                at("2025-05-20", "09:00:00"),
            )
            .await
            .expect("undo");
        assert!(undone.undone.is_some());
        // History is not rewritten: a bill of a day before the undo keeps the assistance.
        assert!(maf_on(&db, &mdtrt_id, "U-b", at("2025-05-19", "10:00:00")).await > 0);
        assert_eq!(
            maf_on(&db, &mdtrt_id, "U-c", at("2025-05-20", "10:00:00")).await,
            0
        );
        assert_eq!(
            maf_on(&db, &mdtrt_id, "U-d", at("2025-06-01", "10:00:00")).await,
            0
        );
        assert_eq!(
            dibao_in_1101(&db).await,
            [("2025-01-01".into(), "2025-05-19".into())]
        );
        // The subsidy decision of the same record is its own: still standing.
        let subsidy = decision(&db, "P003", "subsidy").await;
        let decisions = db.store.auto_decisions("P003").await.unwrap();
        assert!(decisions
            .iter()
            .any(|d| d.decision_id == subsidy && d.undone.is_none()));
        let err = db
            .store
            .undo_auto_decision(id, staff, "again", at("2025-05-21", "09:00:00"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { field, .. } if field == "decision_id"),
            "{err:?}"
        );
        assert_balanced(&db).await;
        db
    })
    .await;
}

fn line(v: &[AssessmentView], payer: &str) -> Fen {
    v.iter()
        .flat_map(|a| a.payer_lines.iter())
        .filter(|(p, _)| p == payer)
        .map(|(_, a)| *a)
        .sum()
}

async fn resident_run(db: &TestDb, assessed_on: &str) -> yibao_store::contributions::RunReport {
    db.store
        .run_resident_year(
            2025,
            day(assessed_on),
            &builtin_params().unwrap(),
            &RunOptions::default(),
            at(assessed_on, "12:00:00"),
            &|_, _| {},
        )
        .await
        .expect("the residents' run")
}

/// Undoing a subsidy: before the year is assessed, the run does not count the record (R01 pays
/// the whole individual standard); after (P003), the assistance fund's 200.00 line is reversed
/// to the fund it came from and 200.00 more is due from P003, the residents' fund keeping the
/// full 1,100.00; the run's own assessment is untouched, and the ledger check holds. A person
/// holding another category that year is left to a clerk.
#[tokio::test]
async fn undoing_a_subsidy_reverses_it_between_funds() {
    on_both(|db| async move {
        let r01 = cid("140502", "1970-06-01", 6);
        let r02 = cid("140502", "1960-06-01", 7);
        registry(
            &db,
            &[
                ("R01", &r01, "己", "1970-06-01"),
                ("R02", &r02, "庚", "1960-06-01"),
            ],
        )
        .await;
        sql(
            &db,
            "INSERT INTO identity (psn_no, sp_psn_type, begndate, enddate, source_dept) \
             VALUES ('R02', '1', '2020-01-01', '', '民政')",
            &[],
        )
        .await;
        let staff = reviewer(&db).await;
        identity_decided(
            &db,
            "2025-01-10",
            &format!(
                "{P003_CERTNO},王五,2303,2025-01-01,\n{r01},己,2303,2025-01-01,\n\
                 {r02},庚,2303,2025-01-01,\n"
            ),
        )
        .await;
        let early = decision(&db, "R01", "subsidy").await;
        db.store
            .undo_auto_decision(early, staff, "名单有误", at("2025-01-12", "09:00:00"))
            .await
            .expect("undo before the run");
        resident_run(&db, "2025-01-15").await;
        let r01_lines = db.store.assessments("R01").await.unwrap();
        assert_eq!(
            (
                line(&r01_lines, "individual"),
                line(&r01_lines, "assistance_fund")
            ),
            (Fen(400_00), Fen::ZERO)
        );
        let before = db.store.assessments("P003").await.unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(
            (
                line(&before, "individual"),
                line(&before, "assistance_fund")
            ),
            (Fen(200_00), Fen(200_00))
        );
        let assistance = fund_account("610100", "140500");
        let pool = fund_account("390100", "140500");
        let (assist_0, pool_0, tax_0) = (
            balance(&db, &assistance).await,
            balance(&db, &pool).await,
            balance(&db, &collection_account("140500")).await,
        );

        let id = decision(&db, "P003", "subsidy").await;
        db.store
            .undo_auto_decision(
                id,
                staff,
                "民政撤销该低保认定",
                at("2025-02-01", "09:00:00"),
            )
            .await
            .expect("undo after the run");
        let after = db.store.assessments("P003").await.unwrap();
        let parts: Vec<(&str, &str, Fen, Fen)> = after
            .iter()
            .map(|a| {
                (
                    a.clct_type.as_str(),
                    a.part.as_str(),
                    a.individual,
                    a.other_payers,
                )
            })
            .collect();
        let undo_part = format!("undo:{id}");
        assert_eq!(
            parts,
            [
                ("normal", "", Fen(200_00), Fen(900_00)),
                ("normal", undo_part.as_str(), Fen(200_00), Fen::ZERO),
                ("refund", undo_part.as_str(), Fen::ZERO, Fen(-200_00)),
            ]
        );
        assert_eq!(
            (line(&after, "individual"), line(&after, "assistance_fund")),
            (Fen(400_00), Fen::ZERO)
        );
        assert_eq!(balance(&db, &assistance).await, assist_0 + 200_00);
        assert_eq!(balance(&db, &pool).await, pool_0);
        assert_eq!(
            balance(&db, &collection_account("140500")).await,
            tax_0 - 200_00
        );
        assert_balanced(&db).await;
        // R02 is 特困 in the registry's own rows too (the full subsidy): which category the
        // run applied is not stored, so undoing her 低保 subsidy reverses nothing and asks a
        // clerk.
        let r02_subsidy = decision(&db, "R02", "subsidy").await;
        db.store
            .undo_auto_decision(
                r02_subsidy,
                staff,
                "民政撤销该低保认定",
                at("2025-02-01", "09:30:00"),
            )
            .await
            .expect("undo R02's");
        let r02_rows = db.store.assessments("R02").await.unwrap();
        assert_eq!(r02_rows.len(), 1);
        assert_eq!(line(&r02_rows, "assistance_fund"), Fen(400_00));
        let cases = db.store.contribution_cases("2025").await.unwrap();
        assert!(
            cases
                .iter()
                .any(|c| c.psn_no == "R02" && c.reason == "subsidy_undo"),
            "{cases:?}"
        );
        assert!(resident_run(&db, "2025-02-02").await.nothing_new());
        db
    })
    .await;
}

/// Undoing a newborn's pre-registration ends the child resident relation it opened the day
/// before the undo (status 4); the undo is recorded once.
#[tokio::test]
async fn undoing_a_newborn_ends_the_pre_registered_relation() {
    on_both(|db| async move {
        registry(&db, &[]).await;
        let staff = reviewer(&db).await;
        let baby = cid("140502", "2025-03-01", 8);
        let report = import(
            &db,
            FeedKind::Police,
            "2025-03-10",
            &format!("{POLICE}{baby},小宝,1,2025-03-01,140502,HH-U,20\n"),
        )
        .await;
        db.store
            .decide_on_batch(
                &report.batch_id,
                &builtin_params().unwrap(),
                day("2025-03-10"),
                at("2025-03-10", "10:00:00"),
            )
            .await
            .expect("decide");
        let psn_no = db.store.person_info(&baby).await.unwrap().base.psn_no;
        let relations = |info: PersonInfo| {
            info.insurance
                .into_iter()
                .map(|i| (i.insutype, i.begndate, i.enddate, i.psn_insu_stas))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            relations(db.store.person_info(&psn_no).await.unwrap()),
            [("390".into(), "2025-03-01".into(), String::new(), "1".into())]
        );
        let id = decision(&db, &psn_no, "newborn").await;
        db.store
            .undo_auto_decision(id, staff, "户籍登记有误", at("2025-03-20", "09:00:00"))
            .await
            .expect("undo");
        assert_eq!(
            relations(db.store.person_info(&psn_no).await.unwrap()),
            [(
                "390".into(),
                "2025-03-01".into(),
                "2025-03-19".into(),
                "4".into()
            )]
        );
        let err = db
            .store
            .undo_auto_decision(id, staff, "again", at("2025-03-21", "09:00:00"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Refused { .. }), "{err:?}");
        db
    })
    .await;
}

fn request(certno: &str, insutype: &str, period: &str, today: &str) -> RefundRequest {
    RefundRequest {
        certno: certno.into(),
        insutype: insutype.into(),
        period: period.into(),
        reason: "参保人申请退费".into(),
        today: day(today),
        actor: "tester".into(),
        from_duplicate: false,
    }
}

/// Records the tax bureau's payment of `amount_fen` against the person's 2025 resident
/// assessment (the run's row).
async fn pay(db: &TestDb, psn_no: &str, amount_fen: i64) {
    let rows = db.store.assessments(psn_no).await.unwrap();
    let run_row = rows
        .iter()
        .find(|a| a.clct_type == "normal" && a.part.is_empty() && a.period == "2025")
        .expect("the 2025 assessment");
    sql(
        db,
        &format!(
            "INSERT INTO contribution_payment (payment_id, assessment_id, amount_fen, \
             elec_taxrpt_no, clct_time, recorded_at) VALUES ($1, $2, {amount_fen}, $3, \
             '2024-11-01', '2024-11-02 00:00:00')"
        ),
        &[
            &format!("pay:{psn_no}"),
            &run_row.assessment_id,
            &format!("TAX-{psn_no}"),
        ],
    )
    .await;
}

fn refused(err: StoreError) -> (String, String) {
    match err {
        StoreError::Refused { field, reason } | StoreError::BadInput { field, reason } => {
            (field, reason)
        }
        StoreError::NotFound { field, value } => (field, value),
        other => panic!("{other:?}"),
    }
}

/// A resident refund before the benefit year: of P003's 400.00 individual part the 150.00 the
/// tax bureau collected goes to her payout account and the 250.00 never paid is cancelled
/// against the collection account; the finance line (700.00) goes back to finance, the
/// residents' fund giving back the whole 1,100.00; a second refund is refused. P004 (特困, the assistance fund paid her
/// individual part) after the year started is refused, and once she drew a benefit it is
/// refused for that. Bad input names the field. The ledger check holds.
#[tokio::test]
async fn resident_refunds_follow_the_rules() {
    on_both(|db| async move {
        registry(&db, &[]).await;
        resident_run(&db, "2024-10-01").await;
        let params = builtin_params().unwrap();
        let pool = fund_account("390100", "140500");
        let pool_0 = balance(&db, &pool).await;
        let refund = |r: RefundRequest| {
            let db = &db;
            let params = &params;
            async move {
                db.store
                    .refund_contribution(&r, params, at("2024-12-01", "10:00:00"))
                    .await
            }
        };
        pay(&db, "P003", 150_00).await;
        let tax = &yibao_store::contributions::collection_account("140500");
        let tax_0 = balance(&db, tax).await;
        let done = refund(request(P003_CERTNO, "390", "2025", "2024-12-01"))
            .await
            .expect("refund");
        assert_eq!(done.to_person, Fen(150_00));
        assert_eq!(
            done.reversed,
            [
                ("individual".to_owned(), Fen(250_00)),
                ("finance_base".to_owned(), Fen(700_00))
            ]
        );
        assert_eq!(balance(&db, &person_payout_account("P003")).await, 150_00);
        assert_eq!(balance(&db, tax).await, tax_0 + 250_00);
        // A refunded year is no insurance: the registry check finds her uninsured.
        let check = db
            .store
            .registry_check(2025, day("2025-03-01"), &params)
            .await
            .unwrap();
        assert!(
            check
                .findings
                .iter()
                .any(|f| f.psn_no == "P003" && f.finding == "uninsured"),
            "{:?}",
            check.findings
        );
        assert_eq!(balance(&db, &pool).await, pool_0 - 1_100_00);
        assert_eq!(
            balance(&db, "clct:finance_base:140500").await,
            -(2 * 700_00) + 700_00
        );
        let rows = db.store.assessments("P003").await.unwrap();
        assert_eq!(
            rows.iter()
                .map(|a| (a.clct_type.as_str(), a.part.as_str(), a.into_pool))
                .collect::<Vec<_>>(),
            [
                ("normal", "", Fen(1_100_00)),
                ("refund", "refund", Fen(-1_100_00))
            ]
        );
        assert_eq!(line(&rows, "individual"), Fen::ZERO);
        assert_balanced(&db).await;

        let cases: Vec<(RefundRequest, &str, &str)> = vec![
            (
                request(P003_CERTNO, "390", "2025", "2024-12-02"),
                "period",
                "refunded before",
            ),
            (
                request("140502195004041237", "390", "2025", "2025-01-02"),
                "period",
                "benefit year has started",
            ),
            (
                request(P003_CERTNO, "320", "2025", "2024-12-02"),
                "insutype",
                "neither",
            ),
            (
                request(P003_CERTNO, "390", "2025-01", "2024-12-02"),
                "period",
                "YYYY",
            ),
            (
                request(P003_CERTNO, "390", "2024", "2024-12-02"),
                "period",
                "no contribution",
            ),
            (
                request("140502000000000000", "390", "2025", "2024-12-02"),
                "certno",
                "140502000000000000",
            ),
            (
                RefundRequest {
                    reason: " ".into(),
                    ..request(P003_CERTNO, "390", "2025", "2024-12-02")
                },
                "reason",
                "needs a reason",
            ),
        ];
        for (r, field, why) in cases {
            let (f, reason) = refused(refund(r.clone()).await.unwrap_err());
            assert_eq!(f, field, "{r:?}: {reason}");
            assert!(reason.contains(why), "{r:?}: {reason}");
        }
        // P004 draws a benefit in 2025: refused for it, whatever the day.
        let drawn = settle_one(
            &db,
            CLINIC,
            "U-P004",
            ("P004", "390"),
            ("11", "J06.900"),
            ("X-ITEM-B", 300),
        )
        .await
        .expect("a settlement of P004");
        assert!(drawn.amounts.fund_pay_sumamt.0 > 0, "{:?}", drawn.amounts);
        let (f, reason) = refused(
            refund(request("140502195004041237", "390", "2025", "2024-12-02"))
                .await
                .unwrap_err(),
        );
        assert_eq!(f, "period");
        assert!(reason.contains("benefit was drawn"), "{reason}");
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// An employee's month: the employee's share comes back out of the personal account to the
/// person; the employer's share leaves the pooled fund for the collection, never the person.
#[tokio::test]
async fn an_employee_month_is_refunded_from_the_account() {
    on_both(|db| async move {
        registry(&db, &[]).await;
        db.store
            .record_employers(&[Employer {
                emp_no: "EMP001".into(),
                emp_name: "晋城煤业".into(),
                insu_admdvs: "140500".into(),
            }])
            .await
            .unwrap();
        db.store
            .declare_wages(
                &[WageDeclaration {
                    psn_no: "P001".into(),
                    year: 2025,
                    emp_no: "EMP001".into(),
                    wage: Fen(7_000_00),
                    source: "employer".into(),
                }],
                now(),
            )
            .await
            .unwrap();
        let params = builtin_params().unwrap();
        db.store
            .assess_employee(
                "P001",
                yibao_enrollment::YearMonth::new(2025, 7).unwrap(),
                &params,
                now(),
            )
            .await
            .expect("July");
        let july = db.store.assessments("P001").await.unwrap();
        let (employee, employer) = (july[0].individual, july[0].employer);
        assert!(employee.0 > 0 && employer.0 > 0);
        let account_0 = balance(&db, "personal:P001").await;
        let done = db
            .store
            .refund_contribution(
                &request("140502198001011234", "310", "2025-07", "2025-08-01"),
                &params,
                at("2025-08-01", "10:00:00"),
            )
            .await
            .expect("refund");
        assert_eq!(done.to_person, employee);
        assert_eq!(done.reversed, [("employer".to_owned(), employer)]);
        assert_eq!(balance(&db, "personal:P001").await, account_0 - employee.0);
        assert_eq!(
            balance(&db, &person_payout_account("P001")).await,
            employee.0
        );
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// §10.3 through the refund path: a resident insured as an employee too loses the resident
/// relation by the region's rules (the employee one was paid first); a clerk executes the
/// duplicate decision's refund, recorded as its source. A person not insured twice is refused.
#[tokio::test]
async fn a_duplicate_decision_is_refunded_through_the_same_path() {
    on_both(|db| async move {
        registry(&db, &[]).await;
        let certno = cid("140502", "1990-05-05", 11);
        sql(
            &db,
            "INSERT INTO person (psn_no, certno, psn_name, gend, brdy, naty, tel) \
             VALUES ('D001', $1, '赵一', '1', '1990-05-05', '01', '')",
            &[&certno],
        )
        .await;
        let insurance = "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, \
             emp_name, begndate, enddate, psn_insu_stas) VALUES ('D001', $1, $2, '140500', '', $3, '', '1')";
        sql(&db, insurance, &["310", "1101", "2020-01-01"]).await;
        sql(&db, insurance, &["390", "1501", "2025-01-01"]).await;
        resident_run(&db, "2024-10-01").await;
        pay(&db, "D001", 400_00).await;
        let params = builtin_params().unwrap();
        let today = day("2024-12-01");
        let decided = db
            .store
            .duplicate_decisions(2025, &params, today)
            .await
            .unwrap();
        let d = decided.iter().find(|d| d.psn_no == "D001").expect("D001 is a duplicate");
        assert_eq!((d.keep.as_str(), d.end.as_str()), ("310@140500", "390@140500"), "{d:?}");
        assert_eq!(d.refund_to_person, Some(Fen(400_00)), "{d:?}");
        let mut r = request(&certno, "390", "2025", "2024-12-01");
        r.from_duplicate = true;
        let done = db
            .store
            .refund_contribution(&r, &params, at("2024-12-01", "10:00:00"))
            .await
            .expect("the duplicate's refund");
        assert_eq!(done.to_person, d.refund_to_person.unwrap());
        let reversed: Vec<(String, Fen)> = d.reversals.clone();
        assert_eq!(done.reversed, reversed);
        assert_eq!(balance(&db, &person_payout_account("D001")).await, 400_00);
        let mut p003 = request(P003_CERTNO, "390", "2025", "2024-12-01");
        p003.from_duplicate = true;
        let (field, reason) = refused(
            db.store
                .refund_contribution(&p003, &params, at("2024-12-01", "10:00:00"))
                .await
                .unwrap_err(),
        );
        assert_eq!(field, "from_duplicate", "{reason}");
        assert!(reason.contains("not insured twice"), "{reason}");
        assert_balanced(&db).await;
        db
    })
    .await;
}
