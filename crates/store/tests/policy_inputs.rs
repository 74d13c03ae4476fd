//! Issue 10: the store gives the settlement engine what the policy language's conditions read,
//! on SQLite and PostgreSQL — an institution's kinds, a person's contribution tier and chronic
//! recognitions from the registry, the place of care's 乙类 shares at upload, and accumulators
//! counted under the policy's insurance year.

mod common;

use common::*;
use sqlx::Connection;
use yibao_store::*;

/// A 2025 policy for the fixture region written to use the registry facts above.
const POLICY: &str = r#"
id = "140500-2025"
admdvs = "140500"
effective_from = "2025-01-01"
effective_until = "2025-12-31"

[cross_region]
unfiled_points = "-0.20"
emergency_counts_as_filed = true

[[schemes]]
insutype = "310"
pooling_fund = "310100"
class_b_selfpay = [{ list_types = ["service"], share = "0.30" }]

[schemes.inpatient]
med_types = ["21"]
deductible_per_admission = { level1 = "300", level2 = "500", level3 = "700" }
repeat_admission_factor = "0.5"
transfer_factor = "0"
annual_cap = "150000"
ratios = [{ all_levels = "0.90" }]

[[schemes.outpatient]]
med_types = ["11", "13"]
annual_deductible = "0"
annual_cap = "3000"
ratios = [
  { when = { institution_kinds = ["village"] }, all_levels = "0.85" },
  { all_levels = "0.50" },
]
adjustments = [{ when = { referral = true }, points = "0.10" }]

[schemes.chronic]
med_types = ["14"]
require_recognition = true
ratios = [{ all_levels = "0.80" }]

[[schemes.chronic.diseases]]
key = "hypertension"
codes = ["I10-I15"]
quota = "1000"

[[schemes.chronic.diseases]]
key = "diabetes"
codes = ["E10-E14"]
quota = "1000"

[schemes.personal_account]
mutual_aid = true

[[schemes]]
insutype = "390"
pooling_fund = "390100"
tiers = ["1", "2"]

[[schemes.outpatient]]
med_types = ["11", "13"]
annual_deductible = "0"
annual_cap = "400"
ratios = [{ when = { tiers = ["2"] }, all_levels = "0.70" }, { all_levels = "0.40" }]
"#;

/// The fixture registry with `policy` as the region's only 140500 policy, the clinic a village
/// clinic and P003 in tier 2 of the residents' scheme.
async fn imported_with(db: &TestDb, policy_file: &str, policy: &str) {
    let dir = registry_dir();
    std::fs::remove_file(dir.path().join("policies/140500-2025.toml")).expect("shipped policy");
    std::fs::write(dir.path().join("policies").join(policy_file), policy).expect("policy");
    std::fs::write(
        dir.path().join("institution_kinds.csv"),
        "fixmedins_code,kind\nH14050000002,village\n",
    )
    .expect("kinds");
    std::fs::write(
        dir.path().join("contribution_tiers.csv"),
        "psn_no,insutype,clct_tier,begndate,enddate\nP003,390,2,2025-01-01,\n",
    )
    .expect("tiers");
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the registry");
}

#[tokio::test]
async fn issue10_institution_kinds_and_tiers_come_from_the_registry() {
    on_both(|db| async move {
        imported_with(&db, "140500-2025.toml", POLICY).await;
        // The clinic is a village clinic: 85%; the hospital 50%.
        let village = settle_one(
            &db,
            CLINIC,
            "K1",
            ("P001", "310"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        assert_eq!(village.amounts.hifp_pay.0, 8_500, "{}", db.label);
        let hospital = settle_one(
            &db,
            HOSPITAL,
            "K2",
            ("P002", "310"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        assert_eq!(hospital.amounts.hifp_pay.0, 5_000, "{}", db.label);
        // P003 is in tier 2 (70%); P004 has no tier (40%).
        let tier2 = settle_one(
            &db,
            HOSPITAL,
            "K3",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        assert_eq!(tier2.amounts.hifp_pay.0, 7_000, "{}", db.label);
        let untiered = settle_one(
            &db,
            HOSPITAL,
            "K4",
            ("P004", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        assert_eq!(untiered.amounts.hifp_pay.0, 4_000, "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn issue10_a_chronic_bill_needs_a_recognition_in_force() {
    on_both(|db| async move {
        imported_with(&db, "140500-2025.toml", POLICY).await;
        // P001 is recognised for I10.x00 since 2024-03-01: 80%.
        let recognised = settle_one(
            &db,
            HOSPITAL,
            "C1",
            ("P001", "310"),
            ("14", "I10.x00"),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        assert_eq!(recognised.amounts.hifp_pay.0, 8_000, "{}", db.label);
        // Their E11.900 recognition of 2025 names the hospital as the designated institution:
        // at the hospital it pays, at the clinic the bill is refused and nothing is written.
        let designated = settle_one(
            &db,
            HOSPITAL,
            "C2",
            ("P001", "310"),
            ("14", "E11.900"),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles at the designated institution");
        assert_eq!(designated.amounts.hifp_pay.0, 8_000, "{}", db.label);
        let before = counts(&db).await;
        let error = settle_one(
            &db,
            CLINIC,
            "C3",
            ("P001", "310"),
            ("14", "E11.900"),
            ("X-DRUG-A", 100),
        )
        .await
        .expect_err("no recognition in force");
        let message = error.to_string();
        assert!(
            message.contains("visit.dise_codg"),
            "{}: {message}",
            db.label
        );
        assert!(
            message.contains("not a chronic disease recognised"),
            "{}: {message}",
            db.label
        );
        let after = counts(&db).await;
        let settlements = |counts: &[(&str, i64)]| {
            counts
                .iter()
                .find(|(table, _)| *table == "settlement")
                .map(|(_, n)| *n)
        };
        assert_eq!(settlements(&before), settlements(&after), "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn issue10_the_region_s_class_b_share_prices_the_upload() {
    on_both(|db| async move {
        imported_with(&db, "140500-2025.toml", POLICY).await;
        // X-ITEM-B is a 乙类 service item at 10% in the catalogue; the region says 30%.
        let s = settle_one(
            &db,
            HOSPITAL,
            "B1",
            ("P001", "310"),
            ("11", ""),
            ("X-ITEM-B", 2000),
        )
        .await
        .expect("settles");
        assert_eq!(s.amounts.preselfpay_amt.0, 60_000, "{}", db.label);
        assert_eq!(s.amounts.inscp_scp_amt.0, 140_000, "{}", db.label);
        assert_eq!(s.amounts.hifp_pay.0, 70_000, "{}", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn issue10_accumulators_count_in_the_policy_s_insurance_year() {
    // An insurance year from July 2024 to June 2025: a bill of 2025-05-10 counts under 2024.
    let july = POLICY
        .replace("id = \"140500-2025\"", "id = \"140500-2024\"")
        .replace("2025-01-01", "2024-07-01")
        .replace("2025-12-31", "2025-06-30");
    on_both(|db| {
        let july = july.clone();
        async move {
            imported_with(&db, "140500-2024.toml", &july).await;
            settle_one(
                &db,
                HOSPITAL,
                "Y1",
                ("P002", "310"),
                ("11", ""),
                ("X-DRUG-A", 100),
            )
            .await
            .expect("settles");
            let sql = "SELECT year, hifp_outpatient FROM ytd WHERE psn_no = 'P002'";
            let rows: Vec<(i64, i64)> = if db.label == "sqlite" {
                let mut conn = sqlx::SqliteConnection::connect(&db.url)
                    .await
                    .expect("sqlite");
                sqlx::query_as(sql).fetch_all(&mut conn).await.expect("ytd")
            } else {
                let mut conn = sqlx::PgConnection::connect(&db.url)
                    .await
                    .expect("postgres");
                sqlx::query_as(sql).fetch_all(&mut conn).await.expect("ytd")
            };
            assert_eq!(rows, vec![(2024, 5_000)], "{}", db.label);
            db
        }
    })
    .await;
}

#[tokio::test]
async fn issue10_year_to_date_openings_are_imported_and_counted() {
    on_both(|db| async move {
        let dir = registry_dir();
        std::fs::write(
            dir.path().join("ytd_openings.csv"),
            "psn_no,year,inpatient_admissions,hifp_inpatient,hifp_outpatient,outpatient_deductible,hifmi_base\n\
             P002,2025,1,3000.00,100.00,200.00,0\n",
        )
        .expect("openings");
        db.store
            .import_registry(dir.path())
            .await
            .expect("import the registry");
        // The reference policy's employees' outpatient deductible is 200 a year. P002 brought it
        // in used: 100 × 70% at the clinic = 70.00. P001 starts at zero: the 100 goes to the
        // deductible.
        let opened = settle_one(&db, CLINIC, "O1", ("P002", "310"), ("11", ""), ("X-DRUG-A", 100))
            .await
            .expect("settles");
        assert_eq!(opened.amounts.hifp_pay.0, 7_000, "{}", db.label);
        let fresh_person = settle_one(&db, CLINIC, "O2", ("P001", "310"), ("11", ""), ("X-DRUG-A", 100))
            .await
            .expect("settles");
        assert_eq!(fresh_person.amounts.hifp_pay.0, 0, "{}", db.label);
        assert_eq!(fresh_person.amounts.act_pay_dedc.0, 10_000, "{}", db.label);
        // The books still prove: the accumulators are the openings plus the settlements.
        assert_balanced(&db).await;
        db
    })
    .await;
    // A negative amount is refused at import, naming the file, line and column.
    let db = sqlite_db().await;
    let dir = registry_dir();
    std::fs::write(
        dir.path().join("ytd_openings.csv"),
        "psn_no,year,inpatient_admissions,hifp_inpatient,hifp_outpatient,outpatient_deductible,hifmi_base\n\
         P002,2025,1,-1.00,0,0,0\n",
    )
    .expect("openings");
    let error = db
        .store
        .import_registry(dir.path())
        .await
        .expect_err("negative opening");
    let message = format!("{error:?}");
    assert!(
        message.contains("ytd_openings.csv") && message.contains("hifp_inpatient"),
        "{message}"
    );
}

#[tokio::test]
async fn issue10_referral_and_transfer_reach_the_settlement() {
    on_both(|db| async move {
        imported_with(&db, "140500-2025.toml", POLICY).await;
        // A referred outpatient visit (2201 exp_content OTP_ER_REFL_FLAG 2): 50% + 10 points.
        let cmd = Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: "P002".into(),
            insutype: "310".into(),
            begntime: now(),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502198502021235".into(),
            ipt_otp_no: "OTP-R1".into(),
            atddr_no: "D001".into(),
            dr_name: "医生".into(),
            dept_code: "A03".into(),
            dept_name: "内科".into(),
            caty: "A03".into(),
            referral: true,
        });
        let mdtrt_id = match fresh(
            exec(&db, HOSPITAL, "R-2201", "2201", cmd)
                .await
                .expect("2201"),
        ) {
            Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
            other => panic!("2201 gave {other:?}"),
        };
        fresh(
            exec(
                &db,
                HOSPITAL,
                "R-2203",
                "2203",
                visit_info(&mdtrt_id, "P002", "11", ""),
            )
            .await
            .expect("2203"),
        );
        fresh(
            exec(
                &db,
                HOSPITAL,
                "R-2204",
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: vec![line(
                        &mdtrt_id,
                        "P002",
                        "1",
                        "X-DRUG-A",
                        100_000_000,
                        10_000,
                    )],
                }),
            )
            .await
            .expect("2204"),
        );
        let referred = settled(fresh(
            exec(
                &db,
                HOSPITAL,
                "R-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P002", "310", 10_000, "0"),
            )
            .await
            .expect("2207"),
        ));
        assert_eq!(referred.amounts.hifp_pay.0, 6_000, "{}", db.label);
        // An admission transferred in (2401 exp_content IPT_TYPE 3) pays no deductible: 90% of
        // 1000.00 instead of 90% of (1000 − 700).
        for (tag, transfer_in, expected) in [("T1", true, 90_000), ("T2", false, 27_000)] {
            let psn_no = if transfer_in { "P001" } else { "P005" };
            let admit = Command::Admit(Admit {
                adm_bed: None,
                psn_no: psn_no.into(),
                insutype: "310".into(),
                begntime: at("2025-05-01", "08:00:00"),
                mdtrt_cert_type: "02".into(),
                mdtrt_cert_no: "X".into(),
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
                transfer_in,
            });
            let mdtrt_id = match fresh(
                exec(&db, HOSPITAL, &format!("{tag}-2401"), "2401", admit)
                    .await
                    .expect("2401"),
            ) {
                Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
                other => panic!("2401 gave {other:?}"),
            };
            fresh(
                exec(
                    &db,
                    HOSPITAL,
                    &format!("{tag}-2301"),
                    "2301",
                    Command::UploadFees(UploadFees {
                        kind: VisitKind::Inpatient,
                        lines: vec![line(
                            &mdtrt_id,
                            psn_no,
                            "1",
                            "X-DRUG-A",
                            1_000_000_000,
                            10_000,
                        )],
                    }),
                )
                .await
                .expect("2301"),
            );
            let s = settled(fresh(
                exec(
                    &db,
                    HOSPITAL,
                    &format!("{tag}-2304"),
                    "2304",
                    settle_kind_cmd(
                        VisitKind::Inpatient,
                        false,
                        &mdtrt_id,
                        psn_no,
                        "310",
                        100_000,
                        "0",
                    ),
                )
                .await
                .expect("2304"),
            ));
            assert_eq!(s.amounts.hifp_pay.0, expected, "{tag} {}", db.label);
        }
        assert_balanced(&db).await;
        db
    })
    .await;
}
