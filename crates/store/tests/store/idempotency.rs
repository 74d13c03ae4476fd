//! Idempotency and refusals: replays, msgid conflicts, bad and out-of-order requests, 2601 and simultaneous retries.

use super::common::*;
use yibao_store::*;

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
                    maternity: Maternity::default(),
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
