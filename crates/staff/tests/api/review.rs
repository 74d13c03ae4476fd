//! Issue 12's review chain over the staff API.

use super::*;

/// Beijing time of a clock reading.
fn beijing(ms: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .unwrap()
        .naive_utc()
}

/// Runs one hospital command on the store directly (the national interface has its own tests).
async fn hospital_command(
    store: &Store,
    msgid: &str,
    infno: &str,
    at: i64,
    cmd: Command,
) -> Outcome {
    let env = Envelope {
        fixmedins_code: HOSPITAL.into(),
        msgid: msgid.into(),
        infno: infno.into(),
        request_hash: [infno.len() as u8; 32],
        mdtrtarea_admvs: String::new(),
        now: beijing(at),
    };
    match store
        .execute(&env, cmd, &|o: &Outcome| format!("{o:?}"))
        .await
        .unwrap_or_else(|err| panic!("{infno}: {err}"))
    {
        Reply::Fresh { outcome, .. } => outcome,
        Reply::Replayed { .. } => panic!("{infno} replayed"),
    }
}

/// A man (P001) settles one female-only item of the shipped knowledge at the hospital: the
/// settlement records a finding for review. Returns the money of the line in fen.
async fn settle_a_planted_visit(store: &Store, at: i64) -> i64 {
    let code = yibao_audit::builtin()
        .unwrap()
        .knowledge
        .sex_limit
        .iter()
        .find(|e| e.gend == yibao_audit::Gend::Female && e.scope.admdvs.is_none())
        .unwrap()
        .med_list_codg
        .clone();
    let mdtrt_id = match hospital_command(
        store,
        "RV-2201",
        "2201",
        at,
        Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: "P001".into(),
            insutype: "310".into(),
            begntime: beijing(at),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502198001011234".into(),
            ipt_otp_no: "OTP-RV".into(),
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
    let amount_fen = 12_345;
    hospital_command(
        store,
        "RV-2204",
        "2204",
        at,
        Command::UploadFees(UploadFees {
            kind: VisitKind::Outpatient,
            lines: vec![FeeLineIn {
                feedetl_sn: "1".into(),
                mdtrt_id: mdtrt_id.clone(),
                psn_no: "P001".into(),
                chrg_bchno: "B1".into(),
                fee_ocur_time: beijing(at),
                med_list_codg: code.clone(),
                medins_list_codg: code,
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
    hospital_command(
        store,
        "RV-2207",
        "2207",
        at,
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

/// Issue 12's review chain over HTTP: a settled finding becomes a case; 初审, the institution's
/// appeal, 复审 and 终审 by three different people with their roles; every refusal (no purpose,
/// the wrong role, another institution, out of order, the same reviewer twice, an amount above
/// the last step's) writes nothing; the confirmation is a receivable and the report counts it.
async fn review_scenario(store: Store) {
    // 2025-06-02 10:00 Beijing time: a day the fixture's policies are in force.
    let start = 1_748_829_600_000;
    let now = Arc::new(AtomicI64::new(start));
    let clock_now = now.clone();
    let config = StaffConfig {
        clock: Clock::new(move || clock_now.load(Ordering::SeqCst)),
        review: yibao_store::review::ReviewSettings { appeal_days: 10 },
        ..StaffConfig::default()
    };
    for (name, roles, institution) in [
        ("dual", &[Role::Reviewer, Role::SeniorReviewer][..], None),
        ("sen1", &[Role::SeniorReviewer][..], None),
        ("fin1", &[Role::FinalReviewer][..], None),
        ("audit1", &[Role::Auditor][..], None),
        ("hosp1", &[Role::Institution][..], Some(HOSPITAL)),
        ("clinic1", &[Role::Institution][..], Some("H14050000002")),
    ] {
        store
            .staff_create(&staff(name, roles, institution), None, start)
            .await
            .unwrap();
    }
    let flagged = settle_a_planted_visit(&store, start).await;
    let server = yibao_server::spawn_with(
        store.clone(),
        yibao_server::ServerConfig::default(),
        yibao_staff::router(store.clone(), config),
    )
    .await
    .unwrap();
    let api = Api {
        base: format!("http://{}", server.addr()),
        client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
    };
    let dual = api.login("dual").await;
    let sen1 = api.login("sen1").await;
    let fin1 = api.login("fin1").await;
    let hosp1 = api.login("hosp1").await;
    let clinic1 = api.login("clinic1").await;
    let send = |token: &'static str, body: Option<Value>| Send {
        token: Some(token),
        purpose: Some("case_review"),
        body: body.map(|b| b.to_string()),
        headers: Vec::new(),
    };
    let leak = |s: &String| -> &'static str { Box::leak(s.clone().into_boxed_str()) };
    let (dual, sen1, fin1, hosp1, clinic1) = (
        leak(&dual),
        leak(&sen1),
        leak(&fin1),
        leak(&hosp1),
        leak(&clinic1),
    );

    // Opening is a reviewer's; twice opens nothing new.
    let (status, body) = api
        .call(Method::POST, "/api/v1/audit/cases/open", send(hosp1, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .call(Method::POST, "/api/v1/audit/cases/open", send(dual, None))
        .await;
    assert_eq!(
        (status, &body["opened"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    let (_, body) = api
        .call(Method::POST, "/api/v1/audit/cases/open", send(dual, None))
        .await;
    assert_eq!(body["opened"], json!(0));

    // Listing names persons: a purpose is required.
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/audit/cases",
            Send {
                token: Some(dual),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "X-Purpose")
    );
    let (status, cases) = api
        .call(
            Method::GET,
            "/api/v1/audit/cases?state=awaiting_first",
            send(dual, None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    assert_eq!(cases.as_array().unwrap().len(), 1);
    let case = &cases[0];
    assert_eq!(case["psn_no"], json!("P001"));
    assert_eq!(
        case["flagged"],
        json!(format!("{}.{:02}", flagged / 100, flagged % 100))
    );
    let id = case["case_id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/audit/cases/{id}{tail}");
    // The institution sees its own case, another institution sees none and may not read it.
    let (_, own) = api
        .call(Method::GET, "/api/v1/audit/cases", send(hosp1, None))
        .await;
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    let (_, other) = api
        .call(Method::GET, "/api/v1/audit/cases", send(clinic1, None))
        .await;
    assert_eq!(other.as_array().unwrap().len(), 0, "{other}");
    let (status, _) = api.call(Method::GET, &path(""), send(clinic1, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let log_before = log_size(&store).await;
    let counts_before = store.row_counts().await.unwrap();
    let decision = |step: &str, verdict: &str, amount: Option<&str>| {
        let mut body = json!({"step": step, "verdict": verdict, "reason": "审核意见"});
        if let Some(amount) = amount {
            body["amount"] = json!(amount);
        }
        Some(body)
    };
    // Out of order, the wrong role, bad input: refused, nothing written but the log.
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(sen1, decision("second", "dismiss", None)),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "step"),
        "{body}"
    );
    let (status, _) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(fin1, decision("first", "dismiss", None)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(dual, decision("first", "uphold", None)),
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "amount"));
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(dual, decision("first", "uphold", Some("9999999.00"))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "amount"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(dual, Some(json!({"step": "first", "verdict": "uphold", "amount": "1.00", "reason": "x", "extra": 1}))),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let counts_after = store.row_counts().await.unwrap();
    assert_eq!(counts_before, counts_after);
    assert!(
        log_size(&store).await > log_before,
        "reads and denials are logged"
    );

    // 初审 upholds 100.00.
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(dual, decision("first", "uphold", Some("100.00"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], json!("appeal_window"));
    assert_eq!(body["upheld"], json!("100.00"));
    // 复审 waits for the appeal; the institution appeals, another cannot.
    let (status, _) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(sen1, decision("second", "dismiss", None)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let appeal = || Some(json!({"reason": "该患者为女性，登记错误，附身份证复印件"}));
    let (status, _) = api
        .call(Method::POST, &path("/appeals"), send(clinic1, appeal()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .call(Method::POST, &path("/appeals"), send(dual, appeal()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Three days later (sessions have expired meanwhile: everyone logs in again).
    now.fetch_add(3 * 86_400_000, Ordering::SeqCst);
    let (dual, sen1, fin1, audit1, hosp1) = (
        leak(&api.login("dual").await),
        leak(&api.login("sen1").await),
        leak(&api.login("fin1").await),
        leak(&api.login("audit1").await),
        leak(&api.login("hosp1").await),
    );
    let (status, body) = api
        .call(Method::POST, &path("/appeals"), send(hosp1, appeal()))
        .await;
    assert_eq!(
        (status, &body["state"]),
        (StatusCode::OK, &json!("awaiting_second")),
        "{body}"
    );
    let (status, _) = api
        .call(Method::POST, &path("/appeals"), send(hosp1, appeal()))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The first reviewer holds the senior role too, but may not decide twice.
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(dual, decision("second", "uphold", Some("50.00"))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "actor"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(sen1, decision("second", "uphold", Some("60.00"))),
        )
        .await;
    assert_eq!(
        (status, &body["state"]),
        (StatusCode::OK, &json!("awaiting_final")),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(fin1, decision("final", "uphold", Some("60.01"))),
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::CONFLICT, "amount"));
    let (status, body) = api
        .call(
            Method::POST,
            &path("/decisions"),
            send(fin1, decision("final", "uphold", Some("60.00"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], json!("confirmed"));
    assert_eq!(body["receivable"], json!("60.00"));
    assert_eq!(body["events"].as_array().unwrap().len(), 4);
    assert_eq!(body["lines"].as_array().unwrap().len(), 1);
    assert!(store.check_ledger().await.unwrap().is_balanced());

    // The report (no person's data) for the auditor; an institution may not read it.
    let (status, report) = api
        .call(Method::GET, "/api/v1/audit/report", send(audit1, None))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["funnel"]["confirmed"], json!(1));
    assert_eq!(report["funnel"]["confirmed_amount"], json!("60.00"));
    assert_eq!(report["funnel"]["appealed"], json!(1));
    assert_eq!(report["precision"][0]["precision"], json!("1.0000"));
    let (status, _) = api
        .call(Method::GET, "/api/v1/audit/report", send(hosp1, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, rules) = api
        .call(Method::GET, "/api/v1/audit/rules", send(audit1, None))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(rules.as_array().unwrap().len() >= 28);
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_chain_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    review_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_chain_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        review_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
