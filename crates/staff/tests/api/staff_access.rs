//! Staff access to persons' records (spec data-authorization.md §11, §12 T4) over the staff API:
//! a read needs an open case, a service session or break-glass; values are masked unless
//! revealed with a reason, which is logged; break-glass raises an alarm; roles keep 三员分立.

use super::*;

/// The last `data.read` entry of the access log: (decision, reason).
async fn last_read(store: &Store) -> (String, String) {
    let rows = store.access_log(0, 500).await.unwrap();
    let row = rows
        .iter()
        .rev()
        .find(|row| row.entry.event == "data.read")
        .expect("a data.read entry");
    (
        row.entry.decision.code().to_owned(),
        row.entry.reason.clone(),
    )
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

async fn access_scenario(store: Store) {
    let now = Arc::new(AtomicI64::new(T0));
    let clock_now = now.clone();
    for (name, roles) in [
        ("rev1", &[Role::Reviewer][..]),
        ("desk1", &[Role::FrontDesk][..]),
        ("insp1", &[Role::Inspector][..]),
        ("sysadm1", &[Role::SystemAdmin][..]),
        ("secadm1", &[Role::SecurityAdmin][..]),
        ("secaud1", &[Role::SecurityAuditor][..]),
    ] {
        store
            .staff_create(&staff(name, roles, None), None, T0)
            .await
            .unwrap();
    }
    let config = StaffConfig {
        clock: Clock::new(move || clock_now.load(Ordering::SeqCst)),
        ..StaffConfig::default()
    };
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
    let rev1 = api.login("rev1").await;
    let desk1 = api.login("desk1").await;
    let insp1 = api.login("insp1").await;
    let sysadm1 = api.login("sysadm1").await;
    let secaud1 = api.login("secaud1").await;
    let read = |token: &str, path: &str, headers: Vec<(&'static str, String)>| {
        let api = &api;
        let token = token.to_owned();
        let path = path.to_owned();
        async move {
            api.call_with_headers(
                Method::GET,
                &path,
                Send {
                    token: Some(&token),
                    purpose: Some("service_request"),
                    headers,
                    ..Send::default()
                },
            )
            .await
        }
    };
    let p001 = "/api/v1/persons/P001";

    // No case, no session: 403 naming the header, and the denial is logged.
    let before = log_size(&store).await;
    let (status, _, body) = read(&rev1, p001, Vec::new()).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "X-Case"));
    assert!(log_size(&store).await > before);
    assert_eq!(
        last_read(&store).await,
        ("deny".into(), "NO_OPEN_CASE".into())
    );
    // A case that does not exist opens nothing; a malformed one is bad input.
    let (status, _, body) = read(&rev1, p001, vec![("X-Case", "registry:999".into())]).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "X-Case"));
    let (status, _, body) = read(&rev1, p001, vec![("X-Case", "case:1".into())]).await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "X-Case"));

    // A session opens only for the person present: their own ID number.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/service-sessions",
            Send {
                token: Some(&rev1),
                body: Some(
                    json!({"psn_no": "P001", "certno": "140502198502021235", "reason": "窗口"})
                        .to_string(),
                ),
                ..Send::default()
            },
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::CONFLICT, "certno"));
    let session = api.open_session(&rev1, "P001", "140502198001011234").await;

    // With the session: 200, masked, the items named.
    let (status, headers, person) = read(&rev1, p001, in_session(session)).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["certno_masked"], "140***********1234");
    assert_eq!(header(&headers, "X-Data-View"), "masked");
    let items: Vec<&str> = header(&headers, "X-Data-Items").split(',').collect();
    for code in ["ID01", "ID02", "ID04", "IN05"] {
        assert!(items.contains(&code), "{items:?}");
    }
    assert_eq!(
        last_read(&store).await,
        ("permit".into(), format!("service_session:{session}"))
    );
    // The session is P001's and rev1's: not P002's, not desk1's.
    let (status, _, body) = read(&rev1, "/api/v1/persons/P002", in_session(session)).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "X-Case"));
    let (status, _, body) =
        read(&desk1, "/api/v1/registry/persons/P001", in_session(session)).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "X-Case"));

    // Unmasked with a reason: in clear, and the reason is in the log entry of the read.
    let mut unmask = in_session(session);
    unmask.push(("X-Unmask-Reason", "核对身份证件".into()));
    let (status, headers, person) = read(&rev1, p001, unmask).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["certno_masked"], "140502198001011234");
    assert_eq!(header(&headers, "X-Data-View"), "revealed");
    let (decision, reason) = last_read(&store).await;
    assert_eq!(decision, "permit");
    assert!(reason.contains("unmask: 核对身份证件"), "{reason}");
    // Asking with a blank reason reveals nothing.
    let mut blank = in_session(session);
    blank.push(("X-Unmask-Reason", "   ".into()));
    let (status, headers, person) = read(&rev1, p001, blank).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(person["certno_masked"], "140***********1234");
    assert_eq!(header(&headers, "X-Data-View"), "masked");

    // The front desk's own session opens the registry file.
    let desk_session = api.open_session(&desk1, "P001", "140502198001011234").await;
    let (status, headers, file) = read(
        &desk1,
        "/api/v1/registry/persons/P001",
        in_session(desk_session),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["certno_masked"], "140***********1234");
    assert!(header(&headers, "X-Data-Items").contains("ID04"));

    // 三员: the system administrator reads no person.
    let (status, _, body) = read(&sysadm1, p001, Vec::new()).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    assert_eq!(
        last_read(&store).await,
        ("deny".into(), "role_missing".into())
    );

    // Break-glass: not for a reviewer; needs a known category, a document for the police.
    let glass = |token: &str, body: Value| {
        let api = &api;
        let token = token.to_owned();
        async move {
            api.call(
                Method::POST,
                "/api/v1/break-glass",
                Send {
                    token: Some(&token),
                    body: Some(body.to_string()),
                    ..Send::default()
                },
            )
            .await
        }
    };
    let fraud = json!({"psn_no": "P002", "category": "fraud_in_progress",
                       "reason": "疑似冒名就医, 正在结算"});
    let (status, body) = glass(&rev1, fraud.clone()).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let (status, body) = glass(
        &insp1,
        json!({"psn_no": "P002", "category": "curiosity", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "category")
    );
    let (status, body) = glass(
        &insp1,
        json!({"psn_no": "P002", "category": "court_or_police", "reason": "协查"}),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "document_no")
    );
    let (status, granted) = glass(&insp1, fraud).await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    let glass_id = granted["glass_id"].as_i64().unwrap();
    assert_eq!(
        granted["until_ms"].as_i64().unwrap() - granted["started_at_ms"].as_i64().unwrap(),
        2 * 3_600_000
    );
    let p002 = "/api/v1/persons/P002";
    let (status, _, person) =
        read(&insp1, p002, vec![("X-Break-Glass", glass_id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["psn_no"], "P002");
    assert_eq!(
        last_read(&store).await,
        ("permit".into(), format!("break_glass:{glass_id}"))
    );
    // The alarm, for the security auditor only; the safe box shows the event.
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/alarms",
            Send {
                token: Some(&rev1),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, alarms) = api
        .call(
            Method::GET,
            "/api/v1/alarms",
            Send {
                token: Some(&secaud1),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{alarms}");
    let alarms = alarms.as_array().unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0]["kind"], "break_glass");
    assert_eq!(alarms[0]["ref_id"], glass_id);
    assert!(!alarms[0]["subject_ref"].as_str().unwrap().contains("P002"));
    let safe_box = store.person_break_glass("P002").await.unwrap();
    assert_eq!(
        safe_box.iter().map(|e| e.glass_id).collect::<Vec<_>>(),
        [glass_id]
    );
    assert!(store.person_break_glass("P001").await.unwrap().is_empty());

    // After 31 minutes the session is over; after 2 hours the glass is.
    now.fetch_add(31 * 60_000, Ordering::SeqCst);
    let rev1 = api.login("rev1").await;
    let (status, _, body) = read(&rev1, p001, in_session(session)).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::FORBIDDEN, "X-Service-Session")
    );
    now.fetch_add(90 * 60_000, Ordering::SeqCst);
    let insp1 = api.login("insp1").await;
    let (status, _, body) = read(&insp1, p002, vec![("X-Break-Glass", glass_id.to_string())]).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::FORBIDDEN, "X-Break-Glass")
    );
    assert_eq!(
        last_read(&store).await,
        ("deny".into(), "BREAK_GLASS_EXPIRED".into())
    );

    // Roles: the security administrator assigns them, within the separation of duties; no
    // management role over the API; the system administrator assigns nothing.
    let secadm1 = api.login("secadm1").await;
    let sysadm1 = api.login("sysadm1").await;
    let create = |token: &str, roles: Value| {
        let api = &api;
        let token = token.to_owned();
        async move {
            api.call(
                Method::POST,
                "/api/v1/accounts",
                Send {
                    token: Some(&token),
                    body: Some(
                        json!({"username": "new1", "password": "new1-password-1",
                               "display_name": "New", "roles": roles})
                        .to_string(),
                    ),
                    ..Send::default()
                },
            )
            .await
        }
    };
    let (status, body) = create(&secadm1, json!(["reviewer", "finance"])).await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "roles"));
    let (status, body) = create(&secadm1, json!(["security_auditor"])).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let (status, body) = create(&sysadm1, json!(["reviewer"])).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let (status, created) = create(&secadm1, json!(["reviewer"])).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new1 = created["staff_id"].as_i64().unwrap();
    let set_roles = |token: &str, roles: Value| {
        let api = &api;
        let token = token.to_owned();
        async move {
            api.call(
                Method::PUT,
                &format!("/api/v1/accounts/{new1}/roles"),
                Send {
                    token: Some(&token),
                    body: Some(json!({ "roles": roles }).to_string()),
                    ..Send::default()
                },
            )
            .await
        }
    };
    let (status, body) = set_roles(&secadm1, json!(["reviewer", "inspector"])).await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "roles"));
    let (status, body) = set_roles(&secadm1, json!(["system_admin"])).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let (status, body) = set_roles(&sysadm1, json!(["inspector"])).await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let (status, body) = set_roles(&secadm1, json!(["inspector"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["inspector"]));
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/accounts/{new1}/deactivate"),
            Send {
                token: Some(&sysadm1),
                ..Send::default()
            },
        )
        .await;
    assert_eq!((status, &body["active"]), (StatusCode::OK, &json!(false)));

    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_access_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    access_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_access_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        access_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
