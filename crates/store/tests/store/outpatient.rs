//! The outpatient chain: settlement, reversal, accounts and mutual aid, and concurrent settlements of one person.

use super::common::*;
use yibao_store::*;

/// Spec settlement.md section 9, example 1, through the store: 2201 → 2203 → 2204 → 2206 →
/// 2207 → 2208, with the ledger checked after each write.
#[tokio::test]
async fn outpatient_chain_settles_reverses_and_keeps_the_ledger() {
    on_both(|db| async move {
        imported(&db).await;
        let (mdtrt_id, uploaded) = spec_visit(&db, "M").await;
        let Outcome::FeesUploaded(results) = uploaded else {
            panic!("2204 gave {uploaded:?}")
        };
        let split: Vec<_> = results
            .iter()
            .map(|r| {
                (
                    r.fulamt_ownpay_fen,
                    r.overlmt_selfpay_fen,
                    r.preselfpay_fen,
                    r.inscp_scp_fen,
                )
            })
            .collect();
        assert_eq!(
            split,
            vec![
                (0, 0, 0, 100_000),
                (0, 0, 20_000, 180_000),
                (50_000, 0, 0, 0),
                (0, 10_000, 0, 50_000)
            ]
        );

        let pre = settled(fresh(
            exec(
                &db,
                CLINIC,
                "M-2206",
                "2206",
                settle_cmd(true, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .expect("2206"),
        ));
        assert_eq!(pre.setl_id, "");
        let after_pre = counts(&db).await;
        let s = settled(fresh(
            exec(
                &db,
                CLINIC,
                "M-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .expect("2207"),
        ));
        assert!(!s.setl_id.is_empty());
        assert_eq!(s.medins_setl_id, "M-2207");
        // Pre-settlement and settlement agree; the split is the spec's.
        assert_eq!(
            (
                pre.amounts.medfee_sumamt.0,
                pre.amounts.hifp_pay.0,
                pre.amounts.psn_cash_pay.0
            ),
            (
                s.amounts.medfee_sumamt.0,
                s.amounts.hifp_pay.0,
                s.amounts.psn_cash_pay.0
            )
        );
        assert_eq!(
            (
                s.amounts.medfee_sumamt.0,
                s.amounts.fulamt_ownpay_amt.0,
                s.amounts.overlmt_selfpay.0,
                s.amounts.preselfpay_amt.0,
                s.amounts.inscp_scp_amt.0
            ),
            (410_000, 50_000, 10_000, 20_000, 330_000)
        );
        // Residents' level-1 outpatient pooling: 60 %, no deductible, annual cap 400.00.
        assert_eq!(s.amounts.hifp_pay.0, 40_000);
        assert_eq!(
            s.amounts.fund_pay_sumamt.0 + s.amounts.psn_part_amt.0 + s.amounts.hosp_part_amt.0,
            s.amounts.medfee_sumamt.0
        );
        assert_eq!(
            s.detail,
            vec![FundPayment {
                fund_pay_type: "390100".into(),
                fund_payamt_fen: 40_000
            }]
        );
        let report = assert_balanced(&db).await;
        assert_eq!(report.n_settlements, 1);
        assert!(counts(&db)
            .await
            .iter()
            .zip(&after_pre)
            .any(|(a, b)| a != b));
        assert_eq!(
            db.store
                .account_balance(&ledger::institution_account(CLINIC))
                .await
                .unwrap(),
            Some(410_000)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::fund_account("390100", "140500"))
                .await
                .unwrap(),
            Some(-40_000)
        );
        let cum = db.store.query_cumulative("P003", 2025, None).await.unwrap();
        // The residents' pooling fund on 普通门诊 (med_type 11), under its national code.
        assert!(
            cum.iter()
                .any(|r| r.cum_type_code == "D390101_BIZ11" && r.cum == 40_000),
            "{cum:?}"
        );

        // 5203 reads it back, setldetail included.
        let q = db
            .store
            .query_settlement(CLINIC, "P003", &s.setl_id)
            .await
            .expect("5203");
        assert_eq!(q.amounts.hifp_pay.0, s.amounts.hifp_pay.0);
        assert_eq!(q.detail, s.detail);
        // Another institution may not read it.
        assert!(matches!(
            db.store
                .query_settlement(HOSPITAL, "P003", &s.setl_id)
                .await,
            Err(StoreError::Forbidden { .. })
        ));

        // 2208: the exact negation; the accumulators and balances go back.
        let r = settled(fresh(
            exec(
                &db,
                CLINIC,
                "M-2208",
                "2208",
                Command::ReverseSettlement(ReverseSettlement {
                    kind: VisitKind::Outpatient,
                    visit: VisitRef {
                        psn_no: "P003".into(),
                        mdtrt_id: mdtrt_id.clone(),
                        ipt_otp_no: None,
                    },
                    setl_id: s.setl_id.clone(),
                }),
            )
            .await
            .expect("2208"),
        ));
        assert_eq!(r.orig_setl_id.as_deref(), Some(s.setl_id.as_str()));
        assert_ne!(r.setl_id, s.setl_id);
        assert_eq!(r.setl_type(), "2");
        assert_eq!(
            (
                r.amounts.medfee_sumamt.0,
                r.amounts.hifp_pay.0,
                r.amounts.psn_cash_pay.0
            ),
            (
                -s.amounts.medfee_sumamt.0,
                -s.amounts.hifp_pay.0,
                -s.amounts.psn_cash_pay.0
            )
        );
        assert_eq!(
            r.detail,
            vec![FundPayment {
                fund_pay_type: "390100".into(),
                fund_payamt_fen: -40_000
            }]
        );
        let report = assert_balanced(&db).await;
        assert_eq!((report.n_settlements, report.n_reversals), (1, 1));
        assert_eq!(
            db.store
                .account_balance(&ledger::institution_account(CLINIC))
                .await
                .unwrap(),
            Some(0)
        );
        let cum = db.store.query_cumulative("P003", 2025, None).await.unwrap();
        assert!(cum.iter().all(|r| r.cum == 0), "{cum:?}");
        assert!(
            db.store
                .query_settlement(CLINIC, "P003", &s.setl_id)
                .await
                .unwrap()
                .refd_setl_flag
        );

        // Reversing twice is refused and writes nothing.
        let before = counts(&db).await;
        let twice = exec(
            &db,
            CLINIC,
            "M-2208b",
            "2208",
            Command::ReverseSettlement(ReverseSettlement {
                kind: VisitKind::Outpatient,
                visit: VisitRef {
                    psn_no: "P003".into(),
                    mdtrt_id: mdtrt_id.clone(),
                    ipt_otp_no: None,
                },
                setl_id: s.setl_id.clone(),
            }),
        )
        .await;
        assert!(
            matches!(&twice, Err(StoreError::Refused { field, .. }) if field == "setl_id"),
            "{twice:?}"
        );
        assert_eq!(counts(&db).await, before);

        // The lines are free again: the visit settles anew, identically.
        let again = settled(fresh(
            exec(
                &db,
                CLINIC,
                "M-2207b",
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .expect("2207 again"),
        ));
        assert_eq!(again.amounts.hifp_pay.0, s.amounts.hifp_pay.0);
        assert_balanced(&db).await;

        // 3201: the institution's totals against the store's.
        let req = ReconcileRequest {
            insutype: "390".into(),
            clr_type: "11".into(),
            setl_optins: "140500".into(),
            begndate: date("2025-05-01"),
            enddate: date("2025-05-31"),
            medfee_sumamt_fen: 410_000,
            fund_pay_sumamt_fen: 40_000,
            acct_pay_fen: 0,
            fixmedins_setl_cnt: 1,
        };
        let rec = db.store.reconcile(CLINIC, &req).await.expect("3201");
        assert!(rec.balanced, "{rec:?}");
        let rec = db
            .store
            .reconcile(
                CLINIC,
                &ReconcileRequest {
                    medfee_sumamt_fen: 410_001,
                    ..req
                },
            )
            .await
            .expect("3201");
        assert!(
            !rec.balanced && rec.description.contains("medfee_sumamt"),
            "{rec:?}"
        );
        db
    })
    .await;
}

#[tokio::test]
async fn employee_account_and_family_mutual_aid_are_drawn_and_returned() {
    on_both(|db| async move {
        imported(&db).await;
        // P002 has 100.00 of their own and is bound to P001 (500.00): a 4100.00 level-3 outpatient
        // bill paid with acct_used_flag 2 draws own first, then the family account.
        let mdtrt_id = register(&db, HOSPITAL, "A-2201", "P002", "310").await;
        fresh(
            exec(
                &db,
                HOSPITAL,
                "A-2203",
                "2203",
                visit_info(&mdtrt_id, "P002", "11", ""),
            )
            .await
            .unwrap(),
        );
        fresh(
            exec(
                &db,
                HOSPITAL,
                "A-2204",
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: spec_lines(&mdtrt_id, "P002"),
                }),
            )
            .await
            .unwrap(),
        );
        let s = settled(fresh(
            exec(
                &db,
                HOSPITAL,
                "A-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P002", "310", 410_000, "2"),
            )
            .await
            .expect("2207"),
        ));
        assert_eq!(s.amounts.acct_pay.0, 60_000, "{s:?}");
        assert_eq!(s.amounts.acct_mulaid_pay.0, 50_000);
        assert_eq!(s.amounts.balc.0, 0);
        assert_eq!(
            s.amounts.psn_part_amt.0,
            s.amounts.acct_pay.0 + s.amounts.psn_cash_pay.0
        );
        assert!(
            s.detail.contains(&FundPayment {
                fund_pay_type: "310200".into(),
                fund_payamt_fen: 60_000
            }),
            "{:?}",
            s.detail
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P002"))
                .await
                .unwrap(),
            Some(0)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P001"))
                .await
                .unwrap(),
            Some(0)
        );
        assert_balanced(&db).await;
        // The reversal gives both accounts back.
        let r = settled(fresh(
            exec(
                &db,
                HOSPITAL,
                "A-2208",
                "2208",
                Command::ReverseSettlement(ReverseSettlement {
                    kind: VisitKind::Outpatient,
                    visit: VisitRef {
                        psn_no: "P002".into(),
                        mdtrt_id,
                        ipt_otp_no: None,
                    },
                    setl_id: s.setl_id.clone(),
                }),
            )
            .await
            .expect("2208"),
        ));
        assert_eq!(
            (
                r.amounts.acct_pay.0,
                r.amounts.acct_mulaid_pay.0,
                r.amounts.balc.0
            ),
            (-60_000, -50_000, 10_000)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P002"))
                .await
                .unwrap(),
            Some(10_000)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P001"))
                .await
                .unwrap(),
            Some(50_000)
        );
        assert_balanced(&db).await;
        db
    })
    .await;
}

/// Many simultaneous settlements for one person that together exceed the outpatient pooling
/// cap and the personal account: no cap or balance is exceeded, and the accumulators are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_settlements_for_one_person_never_exceed_a_cap_or_a_balance() {
    on_both(|db| async move {
        imported(&db).await;
        const N: usize = 12;
        let mut visits = Vec::new();
        for i in 0..N {
            let mdtrt_id = register(&db, CLINIC, &format!("C-2201-{i}"), "P001", "310").await;
            fresh(
                exec(
                    &db,
                    CLINIC,
                    &format!("C-2203-{i}"),
                    "2203",
                    visit_info(&mdtrt_id, "P001", "11", ""),
                )
                .await
                .unwrap(),
            );
            // One 甲类 line of 1000.00.
            let lines = vec![line(
                &mdtrt_id,
                "P001",
                "1",
                "X-DRUG-A",
                1_000_000_000,
                10_000,
            )];
            fresh(
                exec(
                    &db,
                    CLINIC,
                    &format!("C-2204-{i}"),
                    "2204",
                    Command::UploadFees(UploadFees {
                        kind: VisitKind::Outpatient,
                        lines,
                    }),
                )
                .await
                .unwrap(),
            );
            visits.push(mdtrt_id);
        }
        let mut tasks = Vec::new();
        for (i, mdtrt_id) in visits.iter().enumerate() {
            let store = db.store.clone();
            let cmd = settle_cmd(false, mdtrt_id, "P001", "310", 100_000, "1");
            tasks.push(tokio::spawn(async move {
                let content = format!("{cmd:?}");
                store
                    .execute(
                        &env(CLINIC, &format!("C-2207-{i}"), "2207", &content),
                        cmd,
                        &render,
                    )
                    .await
            }));
        }
        let mut views = Vec::new();
        for t in tasks {
            views.push(settled(fresh(t.await.expect("task").expect("2207"))));
        }
        let hifp: i64 = views.iter().map(|v| v.amounts.hifp_pay.0).sum();
        let acct: i64 = views.iter().map(|v| v.amounts.acct_pay.0).sum();
        let dedc: i64 = views.iter().map(|v| v.amounts.act_pay_dedc.0).sum();
        // Employees' level-1 outpatient pooling: deductible 200.00 a year, 70 %, cap 3000.00 a
        // year. 12 × 1000.00 would pay 8260.00 uncapped: the cap binds exactly.
        assert_eq!(
            hifp,
            300_000,
            "[{}] {:?}",
            db.label,
            views
                .iter()
                .map(|v| v.amounts.hifp_pay.0)
                .collect::<Vec<_>>()
        );
        assert_eq!(dedc, 20_000);
        // The 500.00 account is drawn to zero, never below.
        assert_eq!(acct, 50_000);
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P001"))
                .await
                .unwrap(),
            Some(0)
        );
        assert!(views.iter().all(|v| v.amounts.balc.0 >= 0));
        let cum = db.store.query_cumulative("P001", 2025, None).await.unwrap();
        let get = |name: &str| {
            cum.iter()
                .filter(|r| r.cum_type_code == name)
                .map(|r| r.cum)
                .sum::<i64>()
        };
        // The employees' pooling fund and the deductible paid on 普通门诊 (med_type 11).
        assert_eq!(
            (get("D310101_BIZ11"), get("Q0000_BIZ11")),
            (300_000, 20_000)
        );
        let report = assert_balanced(&db).await;
        assert_eq!(report.n_settlements, N as i64);
        db
    })
    .await;
}
