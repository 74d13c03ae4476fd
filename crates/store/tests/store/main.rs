//! Store tests; each runs on a fresh SQLite database and on a fresh PostgreSQL database.

#[path = "../common/mod.rs"]
mod common;
mod group_commit;
mod issue10;

use common::*;
use yibao_store::*;

#[tokio::test]
async fn import_loads_the_registry_and_opens_the_ledger() {
    on_both(|db| async move {
        let dir = registry_dir();
        let summary = db.store.import_registry(dir.path()).await.expect("import");
        assert_eq!(summary.persons, 5);
        assert_eq!(summary.accounts, 3);
        assert_eq!(summary.institutions, 4);
        assert_eq!((summary.ec_tokens, summary.ss_cards), (2, 3));
        assert_eq!(summary.chronic_recognitions, 4);
        assert_eq!(
            summary.policies,
            yibao_policy::builtin::BUILTIN_POLICY_FILES.len()
        );
        let inst = db
            .store
            .institution_by_access_key("AK002")
            .expect("by access key");
        assert_eq!(inst.fixmedins_code, CLINIC);
        assert_eq!(inst.hi_setl_lv, "1");
        assert!(
            !db.store
                .institution_by_code(SUSPENDED)
                .expect("suspended")
                .active
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P001"))
                .await
                .unwrap(),
            Some(50_000)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P003"))
                .await
                .unwrap(),
            None
        );
        let info = db
            .store
            .person_info("140502198502021235")
            .await
            .expect("1101 by certno");
        assert_eq!(info.base.psn_no, "P002");
        assert_eq!(info.insurance[0].balc_fen, 10_000);
        assert_eq!(
            db.store.person_info("P004").await.unwrap().identities[0].sp_psn_type,
            "1"
        );
        assert_balanced(&db).await;
        // A second import into the same store is refused and changes nothing.
        let before = counts(&db).await;
        assert!(matches!(
            db.store.import_registry(dir.path()).await,
            Err(ImportError::NotEmpty { persons: 5 })
        ));
        assert_eq!(counts(&db).await, before);
        db
    })
    .await;
}

/// Each case: a file, a text replacement that breaks it, and the issue expected (file, line,
/// column, a fragment of the reason). Listed in file order.
/// (file, text to replace, replacement, (file, line, column, reason fragment) expected).
type Defect = (
    &'static str,
    &'static str,
    &'static str,
    (&'static str, u64, &'static str, &'static str),
);

const IMPORT_DEFECTS: &[Defect] = &[
    (
        "chronic_recognitions.csv",
        "E11.900,2型糖尿病,2025-01-01",
        "E11.900,2型糖尿病,2024-12-01",
        (
            "chronic_recognitions.csv",
            4,
            "begndate",
            "recognised for E11.900 twice",
        ),
    ),
    (
        "chronic_recognitions.csv",
        "2025-06-01,,H14050000001",
        "2025-06-01,,H14059999999",
        (
            "chronic_recognitions.csv",
            5,
            "fixmedins_code",
            "not in institutions.csv",
        ),
    ),
    (
        "chronic_recognitions.csv",
        "P004,N18.500,慢性肾脏病5期(透析)",
        "P004,,慢性肾脏病5期(透析)",
        ("chronic_recognitions.csv", 5, "opsp_dise_code", "is empty"),
    ),
    (
        "ec_tokens.csv",
        "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a,P002",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P002",
        ("ec_tokens.csv", 3, "ec_token", "appears twice"),
    ),
    (
        "ec_tokens.csv",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P001",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P009",
        ("ec_tokens.csv", 2, "psn_no", "not in persons.csv"),
    ),
    (
        "ss_cards.csv",
        "P004,2015-01-01,2024-12-31",
        "P004,2015-01-01,2025-01-01",
        ("ss_cards.csv", 4, "begndate", "two cards in force"),
    ),
    (
        "ss_cards.csv",
        "A00000004,",
        "A00000003,",
        ("ss_cards.csv", 3, "card_no", "appears twice"),
    ),
    (
        "persons.csv",
        "140502199003031236",
        "14050219900303123",
        ("persons.csv", 4, "certno", "18-character resident id"),
    ),
    (
        "persons.csv",
        "P005,",
        "P001,",
        ("persons.csv", 6, "psn_no", "appears twice"),
    ),
    (
        "persons.csv",
        "psn_no,certno",
        "psn_no,cert_no",
        ("persons.csv", 1, "cert_no", "unknown column"),
    ),
    (
        "insurance.csv",
        "P003,390,1501",
        "P099,390,1501",
        ("insurance.csv", 4, "psn_no", "not in persons.csv"),
    ),
    (
        "insurance.csv",
        "P004,390,1501,140500,,2015-01-01,,1",
        "P004,390,1501,140500,,2015-01-01,2014-01-01,1",
        ("insurance.csv", 5, "enddate", "before begndate"),
    ),
    (
        "insurance.csv",
        "P005,310,1101,140500,泽州电厂,2020-01-01,,1",
        "P005,310,1101,140500,泽州电厂,2020-01-01,,1\nP005,310,1201,140500,泽州电厂,2021-01-01,,1",
        ("insurance.csv", 7, "begndate", "two active 310 relations"),
    ),
    (
        "insurance.csv",
        "P003,390,1501,140500",
        "P003,390,1501,14050",
        ("insurance.csv", 4, "insuplc_admdvs", "not 6 digits"),
    ),
    (
        "identities.csv",
        "P004,1,",
        "P004,7,",
        ("identities.csv", 2, "sp_psn_type", "not one of"),
    ),
    (
        "accounts.csv",
        "P002,100.00",
        "P002,-1.00",
        ("accounts.csv", 3, "balance", "negative"),
    ),
    (
        "accounts.csv",
        "P005,0",
        "P003,0",
        ("accounts.csv", 4, "psn_no", "no 310 relation"),
    ),
    (
        "accounts.csv",
        "P001,500.00",
        "P001,500.001",
        ("accounts.csv", 2, "balance", "more than two decimals"),
    ),
    (
        "family_bindings.csv",
        "P002,P001,1",
        "P002,P002,1",
        (
            "family_bindings.csv",
            2,
            "family_psn_no",
            "bound to themselves",
        ),
    ),
    (
        "institutions.csv",
        "AK002",
        "AK001",
        ("institutions.csv", 3, "access_key", "appears twice"),
    ),
    (
        "institutions.csv",
        "H14050000002,泽州县社区卫生服务中心,1,1,1",
        "H14050000002,泽州县社区卫生服务中心,1,1,4",
        ("institutions.csv", 3, "hi_setl_lv", "not one of"),
    ),
    (
        "filings.csv",
        "F0001,2",
        "F0001,9",
        ("filings.csv", 2, "dcla_type", "not one of"),
    ),
    (
        "catalogue.csv",
        "X-ITEM-B,彩色多普勒超声,service,02,0.10",
        "X-ITEM-B,彩色多普勒超声,service,02,1.10",
        ("catalogue.csv", 0, "", "selfpay_prop"),
    ),
];

#[tokio::test]
async fn import_errors_name_file_line_column_and_write_nothing() {
    on_both(|db| async move {
        let empty = counts(&db).await;
        for (file, from, to, (e_file, e_line, e_column, e_reason)) in IMPORT_DEFECTS {
            let dir = registry_dir();
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(from), "fixture {file} lacks {from:?}");
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            let err = db.store.import_registry(dir.path()).await.expect_err(&format!("{file}: {to:?} must be refused"));
            let ImportError::Invalid(issues) = err else { panic!("{file}: {to:?}: unexpected error {err}") };
            let found = issues.iter().any(|i| {
                (i.file == *e_file || i.file.is_empty() || e_file.is_empty())
                    && (i.line == *e_line || *e_line == 0)
                    && (i.column == *e_column || e_column.is_empty())
                    && (i.reason.contains(e_reason) || i.to_string().contains(e_reason))
            });
            assert!(found, "[{}] {file}: {to:?}: expected {e_file}:{e_line} {e_column} {e_reason:?}, got {issues:#?}", db.label);
            assert_eq!(counts(&db).await, empty, "a refused import wrote something");
        }
        // A missing file is an I/O error naming it.
        let dir = registry_dir();
        std::fs::remove_file(dir.path().join("filings.csv")).unwrap();
        match db.store.import_registry(dir.path()).await {
            Err(ImportError::Io { file, .. }) => assert_eq!(file, "filings.csv"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert_eq!(counts(&db).await, empty);
        db
    })
    .await;
}

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

#[tokio::test]
async fn replays_return_the_stored_answer_and_conflicts_are_refused() {
    on_both(|db| async move {
        imported(&db).await;
        let cmd = |ipt_otp_no: &str| {
            Command::RegisterOutpatient(RegisterOutpatient {
                psn_no: "P003".into(),
                insutype: "390".into(),
                begntime: now(),
                mdtrt_cert_type: "02".into(),
                mdtrt_cert_no: "140502199003031236".into(),
                ipt_otp_no: ipt_otp_no.into(),
                atddr_no: String::new(),
                dr_name: String::new(),
                dept_code: "A03".into(),
                dept_name: "内科".into(),
                caty: "A03".into(),
                referral: false,
            })
        };
        let first = exec(&db, CLINIC, "R-1", "2201", cmd("OTP-1"))
            .await
            .expect("first");
        let Reply::Fresh { response, .. } = &first else {
            panic!("first must be fresh")
        };
        let after_first = counts(&db).await;
        let replay = exec(&db, CLINIC, "R-1", "2201", cmd("OTP-1"))
            .await
            .expect("replay");
        match &replay {
            Reply::Replayed { response: again } => assert_eq!(again, response),
            Reply::Fresh { .. } => panic!("a replay must not execute again"),
        }
        assert_eq!(counts(&db).await, after_first, "a replay wrote something");
        // Same msgid, other content: refused, naming the msgid and the first use.
        let conflict = exec(&db, CLINIC, "R-1", "2201", cmd("OTP-2")).await;
        match conflict {
            Err(StoreError::MsgidConflict { msgid, infno }) => {
                assert_eq!((msgid.as_str(), infno.as_str()), ("R-1", "2201"))
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(counts(&db).await, after_first);
        // The same msgid from another institution is another message.
        fresh(
            exec(&db, HOSPITAL, "R-1", "2201", cmd("OTP-1"))
                .await
                .expect("other institution"),
        );
        // A refused request writes nothing, not even its idempotency record: once fixed, the
        // same msgid goes through.
        let before = counts(&db).await;
        let bad = exec(
            &db,
            CLINIC,
            "R-2",
            "2201",
            Command::RegisterOutpatient(RegisterOutpatient {
                psn_no: "P999".into(),
                ..match cmd("x") {
                    Command::RegisterOutpatient(c) => c,
                    _ => unreachable!(),
                }
            }),
        )
        .await;
        assert!(
            matches!(&bad, Err(StoreError::NotFound { field, .. }) if field == "psn_no"),
            "{bad:?}"
        );
        assert_eq!(counts(&db).await, before);
        fresh(
            exec(&db, CLINIC, "R-2", "2201", cmd("OTP-3"))
                .await
                .expect("fixed request"),
        );
        // A suspended institution is refused.
        assert!(matches!(
            exec(&db, SUSPENDED, "R-3", "2201", cmd("OTP-4")).await,
            Err(StoreError::Refused { .. })
        ));
        db
    })
    .await;
}

#[tokio::test]
async fn bad_and_out_of_order_requests_name_the_field_and_write_nothing() {
    on_both(|db| async move {
        imported(&db).await;
        let mdtrt_id = register(&db, CLINIC, "B-2201", "P003", "390").await;
        let before = counts(&db).await;
        let mut wrong_amount = spec_lines(&mdtrt_id, "P003");
        wrong_amount[2].det_item_fee_sumamt_fen += 2;
        let mut negative_price = spec_lines(&mdtrt_id, "P003");
        negative_price[1].pric_micro = -1;
        let mut duplicate = spec_lines(&mdtrt_id, "P003");
        duplicate[3].feedetl_sn = "1".into();
        let mut too_many = Vec::new();
        for i in 0..=limits::FEE_LINES_PER_UPLOAD_MAX {
            too_many.push(line(
                &mdtrt_id,
                "P003",
                &i.to_string(),
                "X-DRUG-A",
                1_000_000,
                10_000,
            ));
        }
        // An `acct_used_flag` other than 0, 1 or 2 cannot reach the store: it is parsed once,
        // at the edge, into the enum, and refused there naming the field.
        assert_eq!(
            AcctUsedFlag::parse("7").unwrap_err().field,
            "acct_used_flag"
        );
        let cases: Vec<(&str, Command, &str)> = vec![
            (
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: wrong_amount,
                }),
                "feedetail[2].det_item_fee_sumamt",
            ),
            (
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: negative_price,
                }),
                "feedetail[1].pric",
            ),
            (
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: duplicate,
                }),
                "feedetail[3].feedetl_sn",
            ),
            (
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: too_many,
                }),
                "feedetail",
            ),
            (
                "2204",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Outpatient,
                    lines: vec![],
                }),
                "feedetail",
            ),
            (
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 0, "0"),
                "mdtrt_id",
            ),
            (
                "2207",
                settle_cmd(false, &mdtrt_id, "P001", "310", 0, "0"),
                "psn_no",
            ),
            (
                "2207",
                settle_cmd(false, "NOPE", "P003", "390", 0, "0"),
                "mdtrt_id",
            ),
            ("2203", visit_info(&mdtrt_id, "P003", "21", ""), "med_type"),
            ("2203", visit_info(&mdtrt_id, "P003", "14", ""), "dise_codg"),
            (
                "2402",
                Command::Discharge(Discharge {
                    mdtrt_id: mdtrt_id.clone(),
                    psn_no: "P003".into(),
                    insutype: "390".into(),
                    dscg_dept_codg: "A03".into(),
                    dscg_dept_name: "内科".into(),
                    die_date: None,
                    endtime: now(),
                    dscg_way: "1".into(),
                    diagnoses: vec![],
                }),
                "mdtrt_id",
            ),
            (
                "2601",
                Command::Revoke(Revoke {
                    psn_no: "P003".into(),
                    omsgid: "B-2201".into(),
                    oinfno: "2203".into(),
                }),
                "oinfno",
            ),
        ];
        for (infno, cmd, field_prefix) in cases {
            let label = format!("{infno} {cmd:?}");
            let label = &label[..label.len().min(120)];
            let err = exec(&db, CLINIC, "B-bad", infno, cmd)
                .await
                .expect_err(label);
            assert!(err.is_user_error(), "[{}] {label}: {err}", db.label);
            assert!(
                err.to_string().starts_with(field_prefix),
                "[{}] {label}: {err}",
                db.label
            );
            assert_eq!(
                counts(&db).await,
                before,
                "[{}] {label} wrote something",
                db.label
            );
        }
        // Another institution may not touch the visit.
        let err = exec(
            &db,
            HOSPITAL,
            "B-other",
            "2203",
            visit_info(&mdtrt_id, "P003", "11", ""),
        )
        .await
        .expect_err("forbidden");
        assert!(matches!(err, StoreError::Forbidden { .. }), "{err}");
        assert_eq!(counts(&db).await, before);
        // Issue 10: a message naming another visit region than the institution's is refused.
        let mut other_region = env(CLINIC, "B-region", "2203", "region");
        other_region.mdtrtarea_admvs = "110100".into();
        let err = db
            .store
            .execute(
                &other_region,
                visit_info(&mdtrt_id, "P003", "11", ""),
                &render,
            )
            .await
            .expect_err("another region");
        assert!(
            err.to_string().starts_with("mdtrtarea_admvs"),
            "[{}] {err}",
            db.label
        );
        assert_eq!(counts(&db).await, before);
        db
    })
    .await;
}

#[tokio::test]
async fn revoke_undoes_what_happened_and_bars_what_did_not() {
    on_both(|db| async move {
        imported(&db).await;
        let (mdtrt_id, _) = spec_visit(&db, "V").await;
        let s = settled(fresh(
            exec(
                &db,
                CLINIC,
                "V-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .unwrap(),
        ));
        // The hospital never saw the 2207 answer: 2601 reverses it.
        let revoke = |msgid: &str, omsgid: &str, oinfno: &str| {
            (
                msgid.to_string(),
                Command::Revoke(Revoke {
                    psn_no: "P003".into(),
                    omsgid: omsgid.into(),
                    oinfno: oinfno.into(),
                }),
            )
        };
        let (m, c) = revoke("V-2601", "V-2207", "2207");
        match fresh(exec(&db, CLINIC, &m, "2601", c).await.expect("2601")) {
            Outcome::Revoked(RevokeResult::SettlementReversed { reversal_setl_id }) => {
                assert_ne!(reversal_setl_id, s.setl_id)
            }
            other => panic!("2601 gave {other:?}"),
        }
        assert!(
            db.store
                .query_settlement(CLINIC, "P003", &s.setl_id)
                .await
                .unwrap()
                .refd_setl_flag
        );
        assert_balanced(&db).await;
        // Revoking it again is refused.
        let (m, c) = revoke("V-2601b", "V-2207", "2207");
        assert!(matches!(
            exec(&db, CLINIC, &m, "2601", c).await,
            Err(StoreError::Refused { .. })
        ));
        // The fee upload can be revoked too: its lines go.
        let (m, c) = revoke("V-2601c", "V-2204", "2204");
        let undone = fresh(
            exec(&db, CLINIC, &m, "2601", c)
                .await
                .expect("2601 of 2204"),
        );
        assert!(
            matches!(
                undone,
                Outcome::Revoked(RevokeResult::FeesDeleted { n_lines: 4 })
            ),
            "{undone:?}"
        );
        // And the registration.
        let (m, c) = revoke("V-2601d", "V-2201", "2201");
        assert!(matches!(
            fresh(
                exec(&db, CLINIC, &m, "2601", c)
                    .await
                    .expect("2601 of 2201")
            ),
            Outcome::Revoked(RevokeResult::VisitCancelled { .. })
        ));
        // A message that never arrived is barred: when it turns up late, it is refused.
        let (m, c) = revoke("V-2601e", "V-LOST", "2201");
        assert!(matches!(
            fresh(
                exec(&db, CLINIC, &m, "2601", c)
                    .await
                    .expect("2601 of a lost message")
            ),
            Outcome::Revoked(RevokeResult::NothingToUndo)
        ));
        let late = exec(
            &db,
            CLINIC,
            "V-LOST",
            "2201",
            Command::CancelRegistration(VisitRef {
                psn_no: "P003".into(),
                mdtrt_id: mdtrt_id.clone(),
                ipt_otp_no: None,
            }),
        )
        .await;
        assert!(
            matches!(&late, Err(StoreError::Refused { field, .. }) if field == "msgid"),
            "{late:?}"
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

/// A client resending the same 2207 while the first is still running: one settlement, and every
/// answer is the same response.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_retries_of_one_msgid_settle_once() {
    on_both(|db| async move {
        imported(&db).await;
        let (mdtrt_id, _) = spec_visit(&db, "D").await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = db.store.clone();
            let cmd = settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0");
            tasks.push(tokio::spawn(async move {
                let content = format!("{cmd:?}");
                store
                    .execute(&env(CLINIC, "D-2207", "2207", &content), cmd, &render)
                    .await
            }));
        }
        let mut responses = Vec::new();
        let mut n_fresh = 0;
        for t in tasks {
            let reply = t.await.expect("task").expect("2207 or its replay");
            n_fresh += usize::from(matches!(reply, Reply::Fresh { .. }));
            responses.push(reply.response().to_string());
        }
        assert_eq!(n_fresh, 1, "[{}] exactly one execution", db.label);
        assert!(responses.windows(2).all(|w| w[0] == w[1]));
        let report = assert_balanced(&db).await;
        assert_eq!(report.n_settlements, 1);
        db
    })
    .await;
}
