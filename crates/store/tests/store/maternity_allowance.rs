//! 生育津贴 without a claim (issue 13 item 7): a delivery reported at discharge (2402) and
//! settled in a month gets the allowance — the employer's average declared wage ÷ 30 × the
//! region's leave days — paid from the employees' pooled fund to the employer, once; a stay
//! that misses a condition is refused with it.

use super::common::*;
use yibao_core_types::Fen;
use yibao_enrollment::{builtin_params, YearMonth};
use yibao_store::contributions::{Employer, RunOptions, WageDeclaration};
use yibao_store::*;

/// Runs a command as if it arrived at `when`.
async fn exec_at(db: &TestDb, when: &str, msgid: &str, infno: &str, cmd: Command) -> Outcome {
    let mut envelope = env(HOSPITAL, msgid, infno, &format!("{cmd:?}"));
    envelope.now = at(when, "10:00:00");
    fresh(
        db.store
            .execute(&envelope, cmd, &render)
            .await
            .unwrap_or_else(|e| panic!("{infno}: {e}")),
    )
}

/// Admits, bills, discharges with `maternity` and settles a stay of `psn_no` (310).
async fn delivery(db: &TestDb, psn_no: &str, tag: &str, maternity: Maternity) {
    let admit = Command::Admit(Admit {
        adm_bed: None,
        psn_no: psn_no.into(),
        insutype: "310".into(),
        begntime: at("2025-07-01", "08:00:00"),
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: "140502198502021235".into(),
        med_type: "21".into(),
        ipt_no: format!("IPT-{tag}"),
        atddr_no: "D002".into(),
        chfpdr_name: "主治".into(),
        adm_dept_codg: "A05".into(),
        adm_dept_name: "产科".into(),
        dscg_maindiag_code: "O80.x00".into(),
        dscg_maindiag_name: "单胎顺产".into(),
        main_cond_dscr: String::new(),
        diagnoses: vec![],
        transfer_in: false,
    });
    let mdtrt_id = match exec_at(db, "2025-07-01", &format!("{tag}-2401"), "2401", admit).await {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2401 gave {other:?}"),
    };
    exec_at(
        db,
        "2025-07-02",
        &format!("{tag}-2301"),
        "2301",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Inpatient,
            lines: spec_lines(&mdtrt_id, psn_no),
        }),
    )
    .await;
    exec_at(
        db,
        "2025-07-06",
        &format!("{tag}-2402"),
        "2402",
        Command::Discharge(Discharge {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: psn_no.into(),
            insutype: "310".into(),
            dscg_dept_codg: "A05".into(),
            dscg_dept_name: "产科".into(),
            die_date: None,
            maternity,
            endtime: at("2025-07-06", "09:00:00"),
            dscg_way: "1".into(),
            diagnoses: vec![],
        }),
    )
    .await;
    exec_at(
        db,
        "2025-07-06",
        &format!("{tag}-2304"),
        "2304",
        settle_kind_cmd(
            VisitKind::Inpatient,
            false,
            &mdtrt_id,
            psn_no,
            "310",
            410_000,
            "0",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_delivery_settled_in_a_month_pays_the_allowance_to_the_employer_once() {
    on_both(|db| async move {
        imported(&db).await;
        let params = builtin_params().unwrap();
        let now = at("2025-08-01", "09:00:00");
        // The employer's declared wages for 2025: 6,000.00 and 8,000.00, an average of 7,000.00.
        db.store
            .record_employers(&[Employer {
                emp_no: "E1".into(),
                emp_name: "晋城煤业".into(),
                insu_admdvs: "140500".into(),
            }])
            .await
            .unwrap();
        let declare = |psn: &str, yuan: i64| WageDeclaration {
            psn_no: psn.into(),
            year: 2025,
            emp_no: "E1".into(),
            wage: Fen(yuan * 100),
            source: "employer".into(),
        };
        db.store
            .declare_wages(&[declare("P002", 6_000), declare("P005", 8_000)], now)
            .await
            .unwrap();
        // Contributions January–June: six continuous months, the region's qualifying period.
        for m in 1..=6 {
            db.store
                .run_employee_month(
                    YearMonth::new(2025, m).unwrap(),
                    &params,
                    &RunOptions::default(),
                    now,
                    &|_, _| {},
                )
                .await
                .unwrap();
        }
        // P002: a caesarean (difficult delivery, 113 days) with twins (+15): 128 days.
        delivery(
            &db,
            "P002",
            "M1",
            Maternity {
                matn_type: Some("3".into()),
                fetus_cnt: Some(2),
                birctrl_matn_date: Some(chrono::NaiveDate::from_ymd_opt(2025, 7, 3).unwrap()),
                ..Maternity::default()
            },
        )
        .await;
        // P005: a miscarriage whose weeks were not reported.
        delivery(
            &db,
            "P005",
            "M2",
            Maternity {
                matn_type: Some("5".into()),
                ..Maternity::default()
            },
        )
        .await;
        let july = YearMonth::new(2025, 7).unwrap();
        let report = db
            .store
            .maternity_allowances(july, &params, now)
            .await
            .unwrap();
        assert_eq!(report.candidates, 2, "{report:?}");
        assert_eq!(report.paid, 1, "{report:?}");
        // 7,000.00 ÷ 30 × 128 = 29,866.666… → 29,866.67.
        assert_eq!(report.amount, Fen(2_986_667), "{report:?}");
        assert_eq!(report.refused.len(), 1);
        assert!(report.refused[0].1.contains("geso_val"), "{report:?}");
        let paid_to = yibao_store::maternity::employer_payout_account("E1");
        assert_eq!(
            db.store.account_balance(&paid_to).await.unwrap(),
            Some(2_986_667)
        );
        // The month again: nothing new; another month: nothing.
        let again = db
            .store
            .maternity_allowances(july, &params, now)
            .await
            .unwrap();
        assert_eq!((again.candidates, again.paid), (0, 0), "{again:?}");
        let june = db
            .store
            .maternity_allowances(YearMonth::new(2025, 6).unwrap(), &params, now)
            .await
            .unwrap();
        assert_eq!(june.candidates, 0);
        assert_balanced(&db).await;
        db
    })
    .await;
}
