//! The inpatient chain: admission states, settlement before and after discharge.

use super::common::*;
use yibao_store::*;

/// Issue 3's inpatient chain order: 2401 → 2301 → 2303 → 2304 → 2402. The stay settles before
/// its discharge is recorded; the person counts as in hospital until the 2402, which is then
/// accepted once.
#[tokio::test]
async fn inpatient_settles_before_discharge_then_discharges() {
    on_both(|db| async move {
        imported(&db).await;
        let admit = Command::Admit(Admit {
            adm_bed: None,
            psn_no: "P004".into(),
            insutype: "390".into(),
            begntime: at("2025-05-01", "08:00:00"),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502195004041237".into(),
            med_type: "21".into(),
            ipt_no: "IPT-2".into(),
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
        let mdtrt_id = match fresh(
            exec(&db, HOSPITAL, "J-2401", "2401", admit.clone())
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
                "J-2301",
                "2301",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Inpatient,
                    lines: spec_lines(&mdtrt_id, "P004"),
                }),
            )
            .await
            .expect("2301"),
        );
        let ipt_settle = |pre: bool| {
            settle_kind_cmd(
                VisitKind::Inpatient,
                pre,
                &mdtrt_id,
                "P004",
                "390",
                410_000,
                "0",
            )
        };
        let pre = settled(fresh(
            exec(&db, HOSPITAL, "J-2303", "2303", ipt_settle(true))
                .await
                .expect("2303 while in hospital"),
        ));
        let s = settled(fresh(
            exec(&db, HOSPITAL, "J-2304", "2304", ipt_settle(false))
                .await
                .expect("2304 while in hospital"),
        ));
        assert_eq!(pre.amounts.fund_pay_sumamt.0, s.amounts.fund_pay_sumamt.0);
        // Worked example 2 of spec settlement.md section 9.
        assert_eq!(
            (
                s.amounts.hifp_pay.0,
                s.amounts.maf_pay.0,
                s.amounts.fund_pay_sumamt.0,
                s.amounts.psn_part_amt.0
            ),
            (138_000, 192_000, 330_000, 80_000)
        );
        assert_balanced(&db).await;
        // Settled but not yet discharged: still in hospital, so a new admission is refused.
        let again = exec(&db, CLINIC, "J-2401b", "2401", admit.clone()).await;
        assert!(
            matches!(&again, Err(StoreError::Refused { field, .. }) if field == "psn_no"),
            "{again:?}"
        );
        let discharge = |msgid: &'static str| {
            let cmd = Command::Discharge(Discharge {
                mdtrt_id: mdtrt_id.clone(),
                psn_no: "P004".into(),
                insutype: "390".into(),
                dscg_dept_codg: "A03".into(),
                dscg_dept_name: "内科".into(),
                die_date: None,
                maternity: Maternity::default(),
                endtime: at("2025-05-09", "10:00:00"),
                dscg_way: "1".into(),
                diagnoses: vec![],
            });
            (msgid, cmd)
        };
        let (msgid, cmd) = discharge("J-2402");
        fresh(exec(&db, HOSPITAL, msgid, "2402", cmd).await.expect("2402"));
        // Discharged once: a second 2402 (a new message) is refused.
        let (msgid, cmd) = discharge("J-2402b");
        let twice = exec(&db, HOSPITAL, msgid, "2402", cmd).await;
        assert!(
            matches!(&twice, Err(StoreError::Refused { field, .. }) if field == "mdtrt_id"),
            "{twice:?}"
        );
        // Out of hospital now: the person may be admitted again.
        fresh(
            exec(&db, CLINIC, "J-2401c", "2401", admit)
                .await
                .expect("2401 after discharge"),
        );
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// Spec settlement.md section 9, example 2 (a 特困 resident, level 3, inpatient) through
/// 2401 → 2301 → 2402 → 2303 → 2304 → 2305 → 2405 → 2302 → 2404.
#[tokio::test]
async fn inpatient_chain_follows_the_admission_states() {
    on_both(|db| async move {
        imported(&db).await;
        let admit = Command::Admit(Admit {
            adm_bed: None,
            psn_no: "P004".into(),
            insutype: "390".into(),
            begntime: at("2025-05-01", "08:00:00"),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502195004041237".into(),
            med_type: "21".into(),
            ipt_no: "IPT-1".into(),
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
        let mdtrt_id = match fresh(
            exec(&db, HOSPITAL, "I-2401", "2401", admit.clone())
                .await
                .expect("2401"),
        ) {
            Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
            other => panic!("2401 gave {other:?}"),
        };
        // In hospital already: a second admission anywhere is refused.
        let again = exec(&db, CLINIC, "I-2401b", "2401", admit).await;
        assert!(
            matches!(&again, Err(StoreError::Refused { field, .. }) if field == "psn_no"),
            "{again:?}"
        );
        fresh(
            exec(
                &db,
                HOSPITAL,
                "I-2301",
                "2301",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Inpatient,
                    lines: spec_lines(&mdtrt_id, "P004"),
                }),
            )
            .await
            .expect("2301"),
        );
        let ipt_settle = |pre: bool| {
            settle_kind_cmd(
                VisitKind::Inpatient,
                pre,
                &mdtrt_id,
                "P004",
                "390",
                410_000,
                "0",
            )
        };
        let discharge = Command::Discharge(Discharge {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: "P004".into(),
            insutype: "390".into(),
            dscg_dept_codg: "A03".into(),
            dscg_dept_name: "内科".into(),
            die_date: None,
            maternity: Maternity::default(),
            endtime: at("2025-05-09", "10:00:00"),
            dscg_way: "1".into(),
            diagnoses: vec![],
        });
        fresh(
            exec(&db, HOSPITAL, "I-2402", "2402", discharge)
                .await
                .expect("2402"),
        );
        let pre = settled(fresh(
            exec(&db, HOSPITAL, "I-2303", "2303", ipt_settle(true))
                .await
                .expect("2303"),
        ));
        let s = settled(fresh(
            exec(&db, HOSPITAL, "I-2304", "2304", ipt_settle(false))
                .await
                .expect("2304"),
        ));
        assert_eq!(pre.amounts.fund_pay_sumamt.0, s.amounts.fund_pay_sumamt.0);
        assert_eq!(
            (
                s.amounts.hifp_pay.0,
                s.amounts.hifmi_pay.0,
                s.amounts.maf_pay.0,
                s.amounts.fund_pay_sumamt.0,
                s.amounts.psn_part_amt.0
            ),
            (138_000, 0, 192_000, 330_000, 80_000)
        );
        assert_eq!(s.clr_type, "21");
        assert_eq!(s.enddate, "2025-05-09");
        let codes: Vec<_> = s.detail.iter().map(|d| d.fund_pay_type.as_str()).collect();
        assert_eq!(codes, vec!["390100", "610100"]);
        assert_balanced(&db).await;
        // Settled: cannot be undischarged or cancelled; reverse first.
        let visit = VisitRef {
            psn_no: "P004".into(),
            mdtrt_id: mdtrt_id.clone(),
            ipt_otp_no: None,
        };
        assert!(exec(
            &db,
            HOSPITAL,
            "I-2405a",
            "2405",
            Command::UndoDischarge(visit.clone())
        )
        .await
        .is_err());
        let r = settled(fresh(
            exec(
                &db,
                HOSPITAL,
                "I-2305",
                "2305",
                Command::ReverseSettlement(ReverseSettlement {
                    kind: VisitKind::Inpatient,
                    visit: VisitRef {
                        psn_no: "P004".into(),
                        mdtrt_id: mdtrt_id.clone(),
                        ipt_otp_no: None,
                    },
                    setl_id: s.setl_id.clone(),
                }),
            )
            .await
            .expect("2305"),
        ));
        assert_eq!(r.amounts.maf_pay.0, -192_000);
        let cum = db.store.query_cumulative("P004", 2025, None).await.unwrap();
        assert!(cum.iter().all(|c| c.cum == 0), "{cum:?}");
        fresh(
            exec(
                &db,
                HOSPITAL,
                "I-2405",
                "2405",
                Command::UndoDischarge(visit.clone()),
            )
            .await
            .expect("2405"),
        );
        let blocked = exec(
            &db,
            HOSPITAL,
            "I-2404a",
            "2404",
            Command::CancelAdmission(visit.clone()),
        )
        .await;
        assert!(
            matches!(&blocked, Err(StoreError::Refused { .. })),
            "{blocked:?}"
        );
        let cancel_fees = Command::CancelFees(CancelFees {
            kind: VisitKind::Inpatient,
            mdtrt_id: mdtrt_id.clone(),
            psn_no: "P004".into(),
            selection: FeeSelection::All,
        });
        fresh(
            exec(&db, HOSPITAL, "I-2302", "2302", cancel_fees)
                .await
                .expect("2302"),
        );
        fresh(
            exec(
                &db,
                HOSPITAL,
                "I-2404",
                "2404",
                Command::CancelAdmission(visit),
            )
            .await
            .expect("2404"),
        );
        let report = assert_balanced(&db).await;
        assert_eq!((report.n_settlements, report.n_reversals), (1, 1));
        db
    })
    .await;
}
