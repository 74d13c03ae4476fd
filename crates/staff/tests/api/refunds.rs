//! Issue 13's contribution refunds over the staff API.

use super::*;

/// Issue 13, §5.6: a contribution refund through the staff API. The front desk may not refund
/// (403, logged); a reviewer refunds P003's 2025 resident year before it starts (the tax bureau
/// collected nothing, so her 400.00 is cancelled against the collection and finance's 700.00 goes
/// back to finance), a second time is refused (409); bad input names the field; a finance officer's refund of P004 once the year started is refused (409).
async fn refund_scenario(store: Store) {
    // 2024-12-01 10:00 Beijing time.
    let start = 1_733_018_400_000;
    for (name, roles) in [
        ("desk1", &[Role::FrontDesk][..]),
        ("rev1", &[Role::Reviewer][..]),
        ("fin1", &[Role::Finance][..]),
    ] {
        store
            .staff_create(&staff(name, roles, None), None, start)
            .await
            .unwrap();
    }
    let params = yibao_enrollment::builtin::builtin_params().unwrap();
    let assessed_on = chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
    store
        .run_resident_year(
            2025,
            assessed_on,
            &params,
            &yibao_store::contributions::RunOptions::default(),
            assessed_on.and_hms_opt(12, 0, 0).unwrap(),
            &|_, _| {},
        )
        .await
        .unwrap();
    let (server, api) = serve_at(&store, start).await;
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let desk1 = leak(api.login("desk1").await);
    let rev1 = leak(api.login("rev1").await);
    let fin1 = leak(api.login("fin1").await);
    // Each refund is for a person at the counter: a service session of the clerk for them.
    let rev1_p003 = api.open_session(rev1, "P003", "140502199003031236").await;
    let fin1_p004 = api.open_session(fin1, "P004", "140502195004041237").await;
    let send = |token: &'static str, body: Value| Send {
        token: Some(token),
        purpose: Some("service_request"),
        body: Some(body.to_string()),
        headers: in_session(if token == fin1 { fin1_p004 } else { rev1_p003 }),
    };
    let path = "/api/v1/contributions/refunds";
    let p003 = json!({"certno": "140502199003031236", "insutype": "390", "period": "2025",
        "reason": "参保人申请退费"});
    let before = log_size(&store).await;
    let (status, body) = api
        .call(Method::POST, path, send(desk1, p003.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(log_size(&store).await > before, "the denial is logged");
    let mut bad = p003.clone();
    bad["reason"] = json!("");
    let (status, body) = api.call(Method::POST, path, send(rev1, bad)).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "reason"),
        "{body}"
    );
    let mut bad = p003.clone();
    bad["today"] = json!("2024-13-01");
    let (status, body) = api.call(Method::POST, path, send(rev1, bad)).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "today"),
        "{body}"
    );
    // The tax bureau sent no payment of her individual part: nothing goes to her, the 400.00
    // assessed is cancelled against the collection account.
    let (status, body) = api.call(Method::POST, path, send(rev1, p003.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["to_person_fen"], json!(0));
    // Where the money goes, masked to its last 4 (§11.4, account numbers).
    assert_eq!(body["paid_to"], json!("**************P003"));
    assert_eq!(
        body["reversed"],
        json!([
            {"payer": "individual", "amount_fen": 40_000},
            {"payer": "finance_base", "amount_fen": 70_000}
        ])
    );
    let (status, body) = api.call(Method::POST, path, send(rev1, p003)).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "period"),
        "{body}"
    );
    let p004 = json!({"certno": "140502195004041237", "insutype": "390", "period": "2025",
        "reason": "参保人申请退费", "today": "2025-02-01"});
    let (status, body) = api.call(Method::POST, path, send(fin1, p004)).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "period"),
        "{body}"
    );
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("benefit year"),
        "{body}"
    );
    assert!(store.check_ledger().await.unwrap().is_balanced());
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    refund_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        refund_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
