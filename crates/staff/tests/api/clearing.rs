//! Issue 14's monthly clearing over the staff API.

use super::*;

/// Beijing time of a clock reading.
fn beijing(ms: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .unwrap()
        .naive_utc()
}

fn hospital_env(msgid: &str, infno: &str, at: i64) -> Envelope {
    Envelope {
        fixmedins_code: HOSPITAL.into(),
        msgid: msgid.into(),
        infno: infno.into(),
        request_hash: [infno.len() as u8; 32],
        mdtrtarea_admvs: String::new(),
        now: beijing(at),
    }
}

/// Settles one outpatient bill of P001 at the hospital at `at` (2201 → 2204 → 2207 on the store
/// directly); returns its total in fen.
async fn settle_one(store: &Store, at: i64) -> i64 {
    let run = |msgid: &'static str, infno: &'static str, cmd: Command| async move {
        match store
            .execute(&hospital_env(msgid, infno, at), cmd, &|o: &Outcome| {
                format!("{o:?}")
            })
            .await
            .unwrap_or_else(|err| panic!("{infno}: {err}"))
        {
            Reply::Fresh { outcome, .. } => outcome,
            Reply::Replayed { .. } => panic!("{infno} replayed"),
        }
    };
    let mdtrt_id = match run(
        "CL-2201",
        "2201",
        Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: "P001".into(),
            insutype: "310".into(),
            begntime: beijing(at),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502198001011234".into(),
            ipt_otp_no: "OTP-CL".into(),
            atddr_no: String::new(),
            dr_name: String::new(),
            dept_code: "A03".into(),
            dept_name: "内科".into(),
            caty: "A03".into(),
            referral: false,
        }),
    )
    .await
    {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201: {other:?}"),
    };
    let amount_fen = 10_000;
    run(
        "CL-2204",
        "2204",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Outpatient,
            lines: vec![FeeLineIn {
                feedetl_sn: "1".into(),
                mdtrt_id: mdtrt_id.clone(),
                psn_no: "P001".into(),
                chrg_bchno: "B1".into(),
                fee_ocur_time: beijing(at),
                med_list_codg: "X-DRUG-A".into(),
                medins_list_codg: "H-X-DRUG-A".into(),
                det_item_fee_sumamt_fen: amount_fen,
                cnt_e4: 10_000,
                pric_micro: amount_fen * 10_000,
                bilg_dept_codg: "A03".into(),
                bilg_dept_name: "内科".into(),
                bilg_dr_codg: "D001".into(),
                bilg_dr_name: "医生".into(),
                hosp_appr_flag: "0".into(),
                ..FeeLineIn::default()
            }],
        }),
    )
    .await;
    run(
        "CL-2207",
        "2207",
        Command::Settle(Settle {
            kind: VisitKind::Outpatient,
            pre: false,
            psn_no: "P001".into(),
            mdtrt_id,
            insutype: "310".into(),
            med_type: String::new(),
            medfee_sumamt_fen: amount_fen,
            acct_used_flag: AcctUsedFlag::NotUsed,
            chrg_bchno: String::new(),
            psn_setlway: "01".into(),
            invono: String::new(),
            mid_setl_flag: false,
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: None,
            dscg_time: None,
            declared: None,
            audit_gate: Default::default(),
        }),
    )
    .await;
    amount_fen
}

/// `GET /api/v1/funds/clearing`: finance and reviewers read the month's lines with the bureau's
/// totals and the application status; other roles are refused (403, logged); a bad month or
/// region names the field (400) and writes nothing.
async fn clearing_scenario(store: Store) {
    // 2025-06-02 10:00 Beijing time: a day the fixture's policies are in force.
    let start = 1_748_829_600_000;
    for (name, roles) in [
        ("fin1", &[Role::Finance][..]),
        ("rev1", &[Role::Reviewer][..]),
        ("desk1", &[Role::FrontDesk][..]),
    ] {
        store
            .staff_create(&staff(name, roles, None), None, start)
            .await
            .unwrap();
    }
    let total = settle_one(&store, start).await;
    // The institution applies for June with the bureau's totals.
    let totals = store
        .clearing_totals(Some(HOSPITAL), "2025-06")
        .await
        .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].medfee_sumamt_fen, total);
    let declared = yibao_store::clearing::ClearingApply {
        month: yibao_store::clearing::ClearingMonth::parse("2025-06", "m").unwrap(),
        insutype: totals[0].insutype.clone(),
        clr_type: totals[0].clr_type.clone(),
        setl_optins: "140500".into(),
        medfee_sumamt_fen: totals[0].medfee_sumamt_fen,
        fund_pay_sumamt_fen: totals[0].fund_pay_sumamt_fen,
        acct_pay_fen: totals[0].acct_pay_fen,
        cash_payamt_fen: None,
        fixmedins_setl_cnt: 1,
        opter: "op".into(),
        opter_name: "经办".into(),
    };
    let reply = store
        .clearing_apply(
            &hospital_env("CL-3203", "3203", start),
            &declared,
            &|o: &yibao_store::clearing::ClearingOutcome| format!("{o:?}"),
        )
        .await
        .unwrap();
    assert!(reply.outcome.is_some());

    let (server, api) = serve_at(&store, start).await;
    let fin1 = api.login("fin1").await;
    let rev1 = api.login("rev1").await;
    let desk1 = api.login("desk1").await;
    let get = |token: &str, query: &str| {
        let path = format!("/api/v1/funds/clearing{query}");
        let token = token.to_owned();
        let api = &api;
        async move {
            api.call(
                Method::GET,
                &path,
                Send {
                    token: Some(&token),
                    ..Send::default()
                },
            )
            .await
        }
    };

    let (status, body) = get(&fin1, "?month=2025-06").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lines = body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{body}");
    let line = &lines[0];
    assert_eq!(line["fixmedins_code"], json!(HOSPITAL));
    assert_eq!(line["admdvs"], json!("140500"));
    assert_eq!(line["medfee_sumamt_fen"], json!(total));
    assert_eq!(line["settlements"], json!(1));
    assert_eq!(line["reversals"], json!(0));
    assert_eq!(line["status"], json!("accepted"));
    assert_eq!(line["application"]["msgid"], json!("CL-3203"));
    assert_eq!(line["application"]["medfee_sumamt_fen"], json!(total));
    assert_eq!(line["application"]["locked_by_run"], Value::Null);
    // A reviewer reads it too, by region; another region and another month have nothing.
    let (status, body) = get(&rev1, "?month=2025-06&admdvs=140500").await;
    assert_eq!(
        (status, body["lines"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (status, body) = get(&rev1, "?month=2025-06&admdvs=110000").await;
    assert_eq!(
        (status, body["lines"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (status, body) = get(&rev1, "?month=2025-05").await;
    assert_eq!(
        (status, body["lines"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );

    // The front desk may not (403, logged); bad input names the field and logs nothing.
    let before = log_size(&store).await;
    let (status, _) = get(&desk1, "?month=2025-06").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(log_size(&store).await > before, "the denial is logged");
    let before = log_size(&store).await;
    for (query, expected) in [
        ("?month=2025-13", "month"),
        ("?month=2025-06&admdvs=14", "admdvs"),
        ("", "query"),
        ("?month=2025-06&other=1", "query"),
    ] {
        let (status, body) = get(&fin1, query).await;
        assert_eq!(
            (status, field(&body)),
            (StatusCode::BAD_REQUEST, expected),
            "{query}: {body}"
        );
    }
    assert_eq!(log_size(&store).await, before);
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/funds/clearing?month=2025-06",
            Send::default(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    clearing_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        clearing_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
