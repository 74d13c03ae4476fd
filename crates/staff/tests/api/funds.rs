//! Issue 14's fund operations over the staff API: the statement, and a payment run prepared by
//! one finance officer and approved by another.

use super::*;

/// The residents' 2025 contributions are booked in October 2024: the statement of that month
/// shows them as the resident fund's income and agrees with the ledger. A reviewer may read it
/// but not prepare a run (403, logged); a finance officer prepares the region's run, cannot
/// approve it herself (409); another approves it once (a second approval is 409); bad input
/// names the field.
async fn funds_scenario(store: Store) {
    // 2024-12-01 10:00 Beijing time.
    let start = 1_733_018_400_000;
    for (name, roles) in [
        ("rev1", &[Role::Reviewer][..]),
        ("fin1", &[Role::Finance][..]),
        ("fin2", &[Role::Finance][..]),
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
    let rev1 = leak(api.login("rev1").await);
    let fin1 = leak(api.login("fin1").await);
    let fin2 = leak(api.login("fin2").await);
    let get = |token: &'static str| Send {
        token: Some(token),
        purpose: Some("payment_clearing"),
        body: None,
        headers: Vec::new(),
    };
    let post = |token: &'static str, body: Value| Send {
        token: Some(token),
        purpose: Some("payment_clearing"),
        body: Some(body.to_string()),
        headers: Vec::new(),
    };
    // The statement of October 2024.
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/funds/statements?month=2024-10",
            get(rev1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let funds = body["funds"].as_array().unwrap();
    let resident = funds
        .iter()
        .find(|f| f["fund"] == "390100" && f["admdvs"] == "140500")
        .unwrap_or_else(|| panic!("{body}"));
    let income: f64 = resident["income"].as_str().unwrap().parse().unwrap();
    assert!(income > 0.0, "{resident}");
    assert_eq!(resident["opening"], "0.00");
    assert_eq!(resident["closing"], resident["income"], "{resident}");
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/funds/statements?month=2024-13",
            get(rev1),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "month"),
        "{body}"
    );

    // The run: the reviewer may not prepare it.
    let runs = "/api/v1/funds/payment-runs";
    let month = json!({"admdvs": "140500", "month": "2024-11"});
    let before = log_size(&store).await;
    let (status, body) = api
        .call(Method::POST, runs, post(rev1, month.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(log_size(&store).await > before, "the denial is logged");
    let (status, body) = api
        .call(
            Method::POST,
            runs,
            post(fin1, json!({"admdvs": "1405", "month": "2024-11"})),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "admdvs"),
        "{body}"
    );
    let (status, body) = api
        .call(Method::POST, runs, post(fin1, month.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["prepared_by"], "fin1");
    assert!(body["approved_by"].is_null(), "{body}");
    let run_id = body["run_id"].as_str().unwrap().to_string();
    let approval = format!("/api/v1/funds/payment-runs/{run_id}/approval");
    let (status, body) = api
        .call(Method::POST, &approval, post(fin1, json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = api
        .call(Method::POST, &approval, post(fin2, json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["approved_by"], "fin2");
    let (status, body) = api
        .call(Method::POST, &approval, post(fin2, json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = api
        .call(Method::GET, &format!("{runs}?month=2024-11"), get(rev1))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    let (status, body) = api
        .call(Method::GET, &format!("{runs}/{run_id}/orders"), get(fin1))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Interest from the bank's statement: a reviewer may not record it; a finance officer
    // does, once; the same again is not fresh; another amount is 409; it shows as income.
    let interest = "/api/v1/funds/interest";
    let body =
        json!({"fund": "390100", "admdvs": "140500", "month": "2024-11", "amount": "123.45"});
    let (status, _) = api
        .call(Method::POST, interest, post(rev1, body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, reply) = api
        .call(Method::POST, interest, post(fin1, body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        (reply["fresh"].as_bool(), reply["amount"].as_str()),
        (Some(true), Some("123.45"))
    );
    let (status, reply) = api
        .call(Method::POST, interest, post(fin2, body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        (reply["fresh"].as_bool(), reply["recorded_by"].as_str()),
        (Some(false), Some("fin1"))
    );
    let mut other = body.clone();
    other["amount"] = json!("120.00");
    let (status, reply) = api.call(Method::POST, interest, post(fin1, other)).await;
    assert_eq!(
        (status, field(&reply)),
        (StatusCode::CONFLICT, "amount"),
        "{reply}"
    );
    let mut bad = body.clone();
    bad["amount"] = json!("12.345");
    let (status, reply) = api.call(Method::POST, interest, post(fin1, bad)).await;
    assert_eq!(
        (status, field(&reply)),
        (StatusCode::BAD_REQUEST, "amount"),
        "{reply}"
    );
    let (status, reply) = api
        .call(
            Method::GET,
            "/api/v1/funds/statements?month=2024-11",
            get(fin1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let resident = reply["funds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fund"] == "390100" && f["admdvs"] == "140500")
        .cloned()
        .unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(resident["income"], "123.45", "{resident}");

    // Budgets: the DRG/DIP pool's (fund `drg`) and a fund's; a bad fund is named.
    let budgets = "/api/v1/funds/budgets";
    for (fund, want) in [
        ("drg", StatusCode::NO_CONTENT),
        ("390100", StatusCode::NO_CONTENT),
    ] {
        let (status, reply) = api
            .call(
                Method::POST,
                budgets,
                post(
                    fin1,
                    json!({"fund": fund, "admdvs": "140500", "year": 2025, "amount": "1200000.00"}),
                ),
            )
            .await;
        assert_eq!(status, want, "{fund}: {reply}");
    }
    let (status, reply) = api
        .call(
            Method::POST,
            budgets,
            post(
                fin1,
                json!({"fund": "39", "admdvs": "140500", "year": 2025, "amount": "1.00"}),
            ),
        )
        .await;
    assert_eq!(
        (status, field(&reply)),
        (StatusCode::BAD_REQUEST, "fund"),
        "{reply}"
    );
    assert!(store.check_ledger().await.unwrap().is_balanced());
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    funds_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funds_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        funds_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
