//! Issue 13 item 4: contributions on both databases — spec enrollment.md §14 example 1 through
//! the store (A's and B's amounts, A's account +84.00 a month, a retiree's fixed credit), the
//! idempotent re-run, a run cut short and completed without double posting, a closed relation
//! refused, a missing wage made a case, residents' payer lines with the subsidies of example 2's
//! reference column, and the ledger check.

// Amounts are written as yuan_fen (`1_680_00` is 1,680.00 yuan), as the spec prints them.
#![allow(clippy::inconsistent_digit_grouping)]

use std::path::Path;

use yibao_core_types::Fen;
use yibao_enrollment::{builtin_params, YearMonth};
use yibao_store::contributions::{
    collection_account, Employer, RunOptions, RunReport, WageDeclaration,
};
use yibao_store::ledger::{fund_account, personal_account};
use yibao_store::*;

use crate::common::*;

fn append(dir: &Path, file: &str, rows: &str) {
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path).expect("fixture file");
    text.push_str(rows);
    std::fs::write(path, text).expect("write fixture file");
}

/// The fixture registry plus employees A (declared 3,800.00), B (26,000.00), a retiree C, D
/// whose relation closes on 15 July 2025, E with no declaration, and residents: one in 低保
/// (sp_psn_type 2), one in 低保 and 返贫致贫 (2 and 3), a child.
async fn contribution_registry(db: &TestDb) {
    let dir = registry_dir();
    append(
        dir.path(),
        "persons.csv",
        "E01,140502198006011001,甲,1,1980-06-01,01,\n\
         E02,140502197506011002,乙,2,1975-06-01,01,\n\
         E03,140502195506011003,丙,1,1955-06-01,01,\n\
         E04,140502198806011004,丁,1,1988-06-01,01,\n\
         E05,140502199006011005,戊,2,1990-06-01,01,\n\
         R01,140502197006011006,己,2,1970-06-01,01,\n\
         R02,140502196006011007,庚,1,1960-06-01,01,\n\
         R03,140502201506011008,辛,1,2015-06-01,01,\n",
    );
    append(
        dir.path(),
        "insurance.csv",
        "E01,310,1101,140500,晋城煤业,2015-01-01,,1\n\
         E02,310,1101,140500,晋城煤业,2015-01-01,,1\n\
         E03,310,1201,140500,晋城煤业,2015-01-01,,1\n\
         E04,310,1101,140500,泽州电厂,2015-01-01,2025-07-14,1\n\
         E04,310,1101,140500,泽州电厂,2025-07-15,,4\n\
         E05,310,1101,140500,泽州电厂,2015-01-01,,1\n\
         R01,390,1501,140500,,2015-01-01,,1\n\
         R02,390,1501,140500,,2015-01-01,,1\n\
         R03,390,1501,140500,,2015-06-01,,1\n",
    );
    append(
        dir.path(),
        "identities.csv",
        "R01,2,2020-01-01,,民政\n\
         R02,2,2020-01-01,,民政\n\
         R02,3,2020-01-01,,乡村振兴\n",
    );
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the registry");
    db.store
        .record_employers(&[
            Employer {
                emp_no: "EMP001".into(),
                emp_name: "晋城煤业".into(),
                insu_admdvs: "140500".into(),
            },
            Employer {
                emp_no: "EMP002".into(),
                emp_name: "泽州电厂".into(),
                insu_admdvs: "140500".into(),
            },
        ])
        .await
        .expect("employers");
    let wage = |psn_no: &str, emp_no: &str, yuan: i64| WageDeclaration {
        psn_no: psn_no.into(),
        year: 2025,
        emp_no: emp_no.into(),
        wage: Fen(yuan * 100),
        source: "employer".into(),
    };
    let written = db
        .store
        .declare_wages(
            &[
                wage("E01", "EMP001", 3_800),
                wage("E02", "EMP001", 26_000),
                wage("E04", "EMP002", 7_000),
                wage("P001", "EMP001", 7_000),
            ],
            now(),
        )
        .await
        .expect("declarations");
    assert_eq!(written, 4);
}

fn month(text: &str) -> YearMonth {
    let (y, m) = text.split_once('-').expect("YYYY-MM");
    YearMonth::new(y.parse().unwrap(), m.parse().unwrap()).expect("a month")
}

async fn run(db: &TestDb, m: &str, options: &RunOptions) -> Result<RunReport, StoreError> {
    let params = builtin_params().expect("shipped parameters");
    db.store
        .run_employee_month(month(m), &params, options, now(), &|_, _| {})
        .await
}

async fn balance(db: &TestDb, account: &str) -> i64 {
    db.store
        .account_balance(account)
        .await
        .expect("balance")
        .unwrap_or(0)
}

async fn assert_balanced(db: &TestDb) {
    let report = db.store.check_ledger().await.expect("ledger check");
    assert!(report.is_balanced(), "{}: {:?}", db.label, report.problems);
}

/// Example 1: A on the floor, B on the ceiling, C's fixed credit, P001 inside the band; D (closed
/// in July) not assessed; E, P002 and P005 without a declaration become cases. Re-running the
/// month writes nothing; A's account grows 84.00 a month and 1101 shows it.
#[tokio::test]
async fn example_1_monthly_run_posts_every_fen() {
    on_both(|db| async move {
        contribution_registry(&db).await;
        let july = run(&db, "2025-07", &RunOptions::default())
            .await
            .expect("July");
        assert_eq!(july.run_id, "E2025-07");
        assert_eq!(july.assessed, 4, "{}: {july:?}", db.label);
        assert_eq!(july.retiree_credits, 1);
        assert_eq!(july.cases, 3);
        assert_eq!(july.employer, Fen(336_00 + 1_680_00 + 560_00));
        assert_eq!(july.individual, Fen(84_00 + 420_00 + 140_00));
        assert_eq!(july.into_accounts, Fen(84_00 + 420_00 + 140_00 + 60_00));
        assert_eq!(july.into_pool, Fen(336_00 + 1_680_00 + 560_00));

        let a = db.store.assessments("E01").await.expect("A's assessments");
        assert_eq!(a.len(), 1);
        assert_eq!(
            (
                a[0].base,
                a[0].employer,
                a[0].individual,
                a[0].into_account,
                a[0].into_pool
            ),
            (
                Fen(4_200_00),
                Fen(336_00),
                Fen(84_00),
                Fen(84_00),
                Fen(336_00)
            )
        );
        assert_eq!(a[0].params_id, "140500-2025");
        let b = &db.store.assessments("E02").await.expect("B")[0];
        assert_eq!(
            (b.base, b.employer, b.individual),
            (Fen(21_000_00), Fen(1_680_00), Fen(420_00))
        );
        let c = &db.store.assessments("E03").await.expect("C")[0];
        assert_eq!(
            (c.clct_type.as_str(), c.into_account),
            ("retiree_credit", Fen(60_00))
        );
        assert!(db.store.assessments("E04").await.expect("D").is_empty());

        let cases = db.store.contribution_cases("2025-07").await.expect("cases");
        let who: Vec<(&str, &str)> = cases
            .iter()
            .map(|c| (c.psn_no.as_str(), c.reason.as_str()))
            .collect();
        assert_eq!(
            who,
            [("E05", "no_wage"), ("P002", "no_wage"), ("P005", "no_wage")]
        );

        assert_eq!(balance(&db, &personal_account("E01")).await, 84_00);
        assert_eq!(balance(&db, &personal_account("E02")).await, 420_00);
        assert_eq!(balance(&db, &personal_account("E03")).await, 60_00);
        assert_eq!(
            balance(&db, &personal_account("P001")).await,
            500_00 + 140_00
        );
        assert_eq!(
            balance(&db, &fund_account("310100", "140500")).await,
            336_00 + 1_680_00 + 560_00 - 60_00
        );
        assert_eq!(
            balance(&db, &collection_account("140500")).await,
            -(336_00 + 1_680_00 + 560_00 + 84_00 + 420_00 + 140_00)
        );
        assert_balanced(&db).await;

        // The same month again: nothing written, and the report says so.
        let counts = db.store.row_counts().await.expect("counts");
        let again = run(&db, "2025-07", &RunOptions::default())
            .await
            .expect("July again");
        assert!(again.nothing_new(), "{again:?}");
        assert_eq!(db.store.row_counts().await.expect("counts"), counts);
        assert_eq!(balance(&db, &personal_account("E01")).await, 84_00);

        // August: A's account is credited again; 1101 shows it.
        run(&db, "2025-08", &RunOptions::default())
            .await
            .expect("August");
        assert_eq!(balance(&db, &personal_account("E01")).await, 2 * 84_00);
        let info = db.store.person_info("E01").await.expect("1101");
        let employee = info
            .insurance
            .iter()
            .find(|i| i.insutype == "310")
            .expect("310");
        assert_eq!(employee.balc_fen, 2 * 84_00);
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// A run cut short after its first chunks is completed by the next call: every relation
/// assessed once, every fen posted once, the same balances as an uninterrupted run.
#[tokio::test]
async fn a_run_cut_short_is_completed_without_double_posting() {
    on_both(|db| async move {
        contribution_registry(&db).await;
        let cut = RunOptions {
            chunk_rows: 1,
            stop_after_chunks: Some(2),
        };
        match run(&db, "2025-07", &cut).await {
            Err(StoreError::Crashed) => {}
            other => panic!("{}: expected the simulated crash, got {other:?}", db.label),
        }
        assert_balanced(&db).await;
        let rest = run(&db, "2025-07", &RunOptions::default())
            .await
            .expect("the rest");
        assert!(rest.resumed, "{rest:?}");
        assert_eq!(rest.assessed, 2, "{}: {rest:?}", db.label);
        for (psn_no, fen) in [
            ("E01", 84_00),
            ("E02", 420_00),
            ("E03", 60_00),
            ("P001", 640_00),
        ] {
            assert_eq!(
                balance(&db, &personal_account(psn_no)).await,
                fen,
                "{psn_no}"
            );
        }
        assert_eq!(
            balance(&db, &fund_account("310100", "140500")).await,
            336_00 + 1_680_00 + 560_00 - 60_00
        );
        assert!(run(&db, "2025-07", &RunOptions::default())
            .await
            .expect("done")
            .nothing_new());
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// An explicit assessment for a closed relation is refused naming `psn_insu_stas`; one without a
/// declaration names `wage`; the month before the closing is assessed once, and asked again
/// returns the same assessment.
#[tokio::test]
async fn a_closed_relation_is_refused_and_a_missing_wage_named() {
    on_both(|db| async move {
        contribution_registry(&db).await;
        let params = builtin_params().expect("parameters");
        let counts = db.store.row_counts().await.expect("counts");
        match db
            .store
            .assess_employee("E04", month("2025-07"), &params, now())
            .await
        {
            Err(StoreError::Refused { field, reason }) => {
                assert_eq!(field, "psn_insu_stas", "{reason}")
            }
            other => panic!("{}: expected a refusal, got {other:?}", db.label),
        }
        match db
            .store
            .assess_employee("E05", month("2025-07"), &params, now())
            .await
        {
            Err(StoreError::Refused { field, .. }) => assert_eq!(field, "wage"),
            other => panic!("{}: expected a refusal, got {other:?}", db.label),
        }
        assert_eq!(db.store.row_counts().await.expect("counts"), counts);
        let june = db
            .store
            .assess_employee("E04", month("2025-06"), &params, now())
            .await
            .expect("June is before the closing");
        assert_eq!((june.employer, june.individual), (Fen(560_00), Fen(140_00)));
        assert_eq!(june.run_id, None);
        let again = db
            .store
            .assess_employee("E04", month("2025-06"), &params, now())
            .await
            .expect("the same");
        assert_eq!(again, june);
        let run_june = run(&db, "2025-06", &RunOptions::default())
            .await
            .expect("June run");
        assert_eq!(run_june.assessed, 4, "{run_june:?}");
        assert_eq!(balance(&db, &personal_account("E04")).await, 140_00);
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// Residents under the reference set `140500-2025` (example 2's last column): 400.00 individual
/// without a category, 0.00 for 特困 (the assistance fund pays 400.00), 200.00 for 低保, 200.00
/// for 低保 with 返贫致贫 (fixed 200 each: the most favourable single subsidy, not 400); the children's tier for
/// the child. The fund's income is the full 1,100.00 for each; a re-run writes nothing.
#[tokio::test]
async fn residents_pay_by_tier_with_their_subsidies() {
    on_both(|db| async move {
        contribution_registry(&db).await;
        let params = builtin_params().expect("parameters");
        let on = chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
        let report = db
            .store
            .run_resident_year(2025, on, &params, &RunOptions::default(), now(), &|_, _| {})
            .await
            .expect("the residents' run");
        assert_eq!(report.run_id, "R2025");
        assert_eq!(report.assessed, 5, "{}: {report:?}", db.label);
        assert_eq!(report.into_pool, Fen(5 * 1_100_00));
        let individual = |v: &[yibao_store::contributions::AssessmentView]| {
            v[0].payer_lines
                .iter()
                .find(|(p, _)| p == "individual")
                .map_or(Fen::ZERO, |(_, a)| *a)
        };
        let line = |v: &[yibao_store::contributions::AssessmentView], payer: &str| {
            v[0].payer_lines
                .iter()
                .find(|(p, _)| p == payer)
                .map_or(Fen::ZERO, |(_, a)| *a)
        };
        let p003 = db.store.assessments("P003").await.unwrap();
        assert_eq!(individual(&p003), Fen(400_00));
        let p004 = db.store.assessments("P004").await.unwrap();
        assert_eq!(individual(&p004), Fen::ZERO);
        assert_eq!(line(&p004, "assistance_fund"), Fen(400_00));
        assert_eq!(line(&p004, "finance_base"), Fen(700_00));
        let r01 = db.store.assessments("R01").await.unwrap();
        assert_eq!(individual(&r01), Fen(200_00));
        let r02 = db.store.assessments("R02").await.unwrap();
        assert_eq!(individual(&r02), Fen(200_00));
        let r03 = db.store.assessments("R03").await.unwrap();
        assert_eq!(individual(&r03), Fen(400_00));
        for v in [&p003, &p004, &r01, &r02, &r03] {
            assert_eq!(v[0].into_pool, Fen(1_100_00));
            assert_eq!(v[0].insutype, "390");
        }
        assert_eq!(
            balance(&db, &fund_account("390100", "140500")).await,
            5 * 1_100_00
        );
        assert_eq!(
            balance(&db, &collection_account("140500")).await,
            -(400_00 + 200_00 + 200_00 + 400_00)
        );
        assert_balanced(&db).await;
        let again = db
            .store
            .run_resident_year(2025, on, &params, &RunOptions::default(), now(), &|_, _| {})
            .await
            .expect("again");
        assert!(again.nothing_new());
        db
    })
    .await;
}
