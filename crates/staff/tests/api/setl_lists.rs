//! Issue 14's settlement lists over the staff API: the lists with their status and quality
//! checks (reviewer or auditor, with a purpose, logged), and the review of a submitted list
//! (reviewer only).

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
        request_hash: [msgid.len() as u8; 32],
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

/// P001 settles a visit at the hospital and the hospital uploads and submits a passing list;
/// returns the list version's id.
async fn settle_and_submit_a_list(store: &Store, at: i64) -> String {
    let mdtrt_id = match hospital_command(
        store,
        "SLS-2201",
        "2201",
        at,
        Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: "P001".into(),
            insutype: "310".into(),
            begntime: beijing(at),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502198001011234".into(),
            ipt_otp_no: "OTP-SLS".into(),
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
    hospital_command(
        store,
        "SLS-2204",
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
                med_list_codg: "X-DRUG-A".into(),
                medins_list_codg: "X-DRUG-A".into(),
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
    let setl_id = match hospital_command(
        store,
        "SLS-2207",
        "2207",
        at,
        Command::Settle(Settle {
            kind: VisitKind::Outpatient,
            pre: false,
            psn_no: "P001".into(),
            mdtrt_id: mdtrt_id.clone(),
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
    .await
    {
        Outcome::Settled(view) => view.setl_id.clone(),
        other => panic!("2207: {other:?}"),
    };
    // A grouped reference case of the carried CHS-DRG 1.1 tables: an adult with a procedure.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/chs-drg-1.1/testcases.jsonl"
    ))
    .unwrap();
    let case = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|case| {
            case["expected"]["status"] == "分组成功"
                && case["age_years"].as_i64().is_some_and(|age| age >= 18)
                && case["procedures"].as_array().is_some_and(|p| !p.is_empty())
        })
        .unwrap();
    let codes = |key: &str| -> Vec<String> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    let day = beijing(at).date();
    let list = yibao_store::SetlListUpload {
        psn_no: "P001".into(),
        mdtrt_id,
        setl_id: setl_id.clone(),
        medcasno: "BA-1".into(),
        dscg_way: "1".into(),
        chfpdr_code: "D001".into(),
        gend: Some("1".into()),
        age_years: Some(45),
        setl_begn_date: day,
        setl_end_date: day,
        diagnoses: codes("diagnoses")
            .into_iter()
            .enumerate()
            .map(|(idx, diag_code)| yibao_store::SetlListDiagnosis {
                diag_type: "1".into(),
                diag_code,
                diag_name: "诊断".into(),
                maindiag_flag: idx == 0,
                ..Default::default()
            })
            .collect(),
        operations: codes("procedures")
            .into_iter()
            .enumerate()
            .map(|(idx, oprn_oprt_code)| yibao_store::SetlListOperation {
                oprn_oprt_code,
                oprn_oprt_name: "手术".into(),
                oprn_oprt_date: Some(day),
                main_oprn_flag: idx == 0,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let stored = match hospital_command(
        store,
        "SLS-4101A",
        "4101A",
        at,
        Command::UploadSetlList(Box::new(list)),
    )
    .await
    {
        Outcome::SetlListStored(stored) => stored,
        other => panic!("4101A: {other:?}"),
    };
    assert!(stored.qc.passed, "{:?}", stored.qc);
    store
        .change_setl_list_status(
            HOSPITAL,
            "SLS-4102",
            &yibao_store::setl_list_status::StatusChangeRequest {
                setl_list_id: Some(stored.setl_list_id.clone()),
                setl_id: None,
                stas_type: "1".into(),
                deadline: Default::default(),
            },
            beijing(at),
        )
        .await
        .unwrap();
    stored.setl_list_id
}

async fn setl_lists_scenario(store: Store) {
    // 2025-06-02 10:00 Beijing time: a day the fixture's policies are in force.
    let start = 1_748_829_600_000;
    for (name, roles) in [
        ("rev1", &[Role::Reviewer][..]),
        ("aud1", &[Role::Auditor][..]),
        ("desk1", &[Role::FrontDesk][..]),
    ] {
        store
            .staff_create(&staff(name, roles, None), None, start)
            .await
            .unwrap();
    }
    let setl_list_id = settle_and_submit_a_list(&store, start).await;
    let (server, api) = serve_at(&store, start).await;
    let rev1 = api.login("rev1").await;
    let aud1 = api.login("aud1").await;
    let desk1 = api.login("desk1").await;
    let get = |token: &str, query: &str, purpose: Option<&'static str>| {
        let token = token.to_owned();
        let path = format!("/api/v1/setl-lists{query}");
        let api = &api;
        async move {
            api.call(
                Method::GET,
                &path,
                Send {
                    token: Some(&token),
                    purpose,
                    body: None,
                    headers: Vec::new(),
                },
            )
            .await
        }
    };
    let purpose = Some("service_request");

    // Reading needs a purpose and the role; a denial is logged.
    let (status, body) = get(&aud1, "", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let before = log_size(&store).await;
    let (status, body) = get(&desk1, "", purpose).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(log_size(&store).await > before, "the denial is logged");
    for (query, bad) in [
        ("?status=5", "status"),
        ("?month=2025-13", "month"),
        ("?month=202506", "month"),
        ("?limit=0", "limit"),
        ("?colour=red", "query"),
    ] {
        let (status, body) = get(&aud1, query, purpose).await;
        assert_eq!(
            (status, field(&body)),
            (StatusCode::BAD_REQUEST, bad),
            "{query}: {body}"
        );
    }
    let before = log_size(&store).await;
    let (status, body) = get(&aud1, "?status=1&month=2025-06", purpose).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(log_size(&store).await > before, "the read is logged");
    let rows = body.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["setl_list_id"], json!(setl_list_id));
    assert_eq!(rows[0]["fixmedins_code"], json!(HOSPITAL));
    assert_eq!(rows[0]["status"], json!("1"));
    assert_eq!(rows[0]["qc_passed"], json!(true));
    assert!(rows[0]["problems"].is_array());
    for query in [
        "?month=2025-05",
        "?status=2",
        "?fixmedins_code=H99999999999",
    ] {
        let (status, body) = get(&rev1, query, purpose).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!([]), "{query}");
    }

    // The review: a reviewer only, a known decision, a reason; once.
    let review = |token: &str, id: &str, body: Value| {
        let token = token.to_owned();
        let path = format!("/api/v1/setl-lists/{id}/review");
        let api = &api;
        async move {
            api.call(
                Method::POST,
                &path,
                Send {
                    token: Some(&token),
                    purpose: None,
                    body: Some(body.to_string()),
                    headers: Vec::new(),
                },
            )
            .await
        }
    };
    let approve = json!({"decision": "approve", "reason": "病案核实无误"});
    let (status, body) = review(&aud1, &setl_list_id, approve.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = review(
        &rev1,
        &setl_list_id,
        json!({"decision": "maybe", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "decision"),
        "{body}"
    );
    let (status, body) = review(
        &rev1,
        &setl_list_id,
        json!({"decision": "approve", "reason": " "}),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "reason"),
        "{body}"
    );
    let (status, body) = review(
        &rev1,
        &setl_list_id,
        json!({"decision": "approve", "reason": "x", "extra": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = review(&rev1, "L-NO-SUCH", approve.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = review(&rev1, &setl_list_id, approve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((&body["from"], &body["to"]), (&json!("1"), &json!("2")));
    let (status, body) = review(&rev1, &setl_list_id, approve).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = get(&rev1, "?status=2", purpose).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");

    assert!(store.check_ledger().await.unwrap().is_balanced());
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setl_lists_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    setl_lists_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setl_lists_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        setl_lists_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
