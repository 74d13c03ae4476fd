//! Issue 14's personal accounts over the staff API: a person's statement (finance or reviewer,
//! logged with its purpose), a withdrawal refused by the region's rule, and an inheritance by
//! share after a confirmed death, made once.

use super::*;

/// Confirms a death beside the store (no command of the API does: deaths come from department
/// files, whose identity numbers the fixture's persons do not have).
async fn confirm_death(url: &str, psn_no: &str, day: &str) {
    let statement = "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) \
                     VALUES ($1, $2, 'police', $2 || ' 12:00:00')";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(statement)
            .bind(psn_no)
            .bind(day)
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(statement)
            .bind(psn_no)
            .bind(day)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// The front desk may not read a statement (403, logged); finance reads P001's 500.00 opened at
/// import. Settling abroad with the relation in force is refused naming the rule (409); an
/// unknown reason is bad input. After P002's death a reviewer has the 100.00 inherited 1:2 —
/// P003 (no account) 33.33 in cash, P001 66.67 into his account (the larger remainder takes the
/// fen left over) — and the same call again pays nothing.
async fn personal_account_scenario(store: Store, url: String) {
    // 2025-09-01 10:00 Beijing time.
    let start = 1_756_692_000_000;
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
    let (server, api) = serve_at(&store, start).await;
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let desk1 = leak(api.login("desk1").await);
    let rev1 = leak(api.login("rev1").await);
    let fin1 = leak(api.login("fin1").await);
    // The clerks serve the persons at the counter: a service session for each they read.
    let mut sessions = Vec::new();
    for (token, psn_no, certno) in [
        (fin1, "P001", "140502198001011234"),
        (fin1, "P002", "140502198502021235"),
        (fin1, "P003", "140502199003031236"),
        (rev1, "P002", "140502198502021235"),
    ] {
        sessions.push((
            (token, psn_no),
            api.open_session(token, psn_no, certno).await,
        ));
    }
    let send = |token: &'static str, psn_no: &str, body: Option<Value>| Send {
        token: Some(token),
        purpose: Some("service_request"),
        body: body.map(|b| b.to_string()),
        headers: sessions
            .iter()
            .find(|((t, p), _)| *t == token && *p == psn_no)
            .map(|(_, id)| in_session(*id))
            .unwrap_or_default(),
    };

    let p001 = "/api/v1/persons/P001/personal-account";
    let before = log_size(&store).await;
    let (status, body) = api.call(Method::GET, p001, send(desk1, "P001", None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(log_size(&store).await > before, "the denial is logged");
    let (status, body) = api.call(Method::GET, p001, send(fin1, "P001", None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["opening_fen"].clone(), body["balance_fen"].clone()),
        (json!(50_000), json!(50_000)),
        "{body}"
    );
    assert_eq!(body["entries"], json!([]));
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/persons/P003/personal-account",
            send(fin1, "P003", None),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a resident has no account: {body}"
    );

    let withdrawals = "/api/v1/persons/P001/personal-account/withdrawals";
    let abroad = json!({"reason": "abroad", "bank_account": "6222020000000000001",
        "evidence": "出国定居注销户口证明 2025-118"});
    let (status, body) = api
        .call(
            Method::POST,
            withdrawals,
            send(fin1, "P001", Some(abroad.clone())),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "reason"),
        "{body}"
    );
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("rule personal_account.abroad_requires_relation_ended"),
        "{body}"
    );
    let mut bad = abroad.clone();
    bad["reason"] = json!("holiday");
    let (status, body) = api
        .call(Method::POST, withdrawals, send(fin1, "P001", Some(bad)))
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "reason"),
        "{body}"
    );
    let (status, body) = api
        .call(Method::POST, withdrawals, send(desk1, "P001", Some(abroad)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let inheritance = "/api/v1/persons/P002/personal-account/inheritance";
    let heirs = json!({"heirs": [{"psn_no": "P003", "share": 1}, {"psn_no": "P001", "share": 2}],
        "bank_account": "6222020000000000002", "evidence": "继承公证书 (2025) 晋城证字 77"});
    let (status, body) = api
        .call(
            Method::POST,
            inheritance,
            send(rev1, "P002", Some(heirs.clone())),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "psn_no"),
        "{body}"
    );
    confirm_death(&url, "P002", "2025-08-15").await;
    let (status, body) = api
        .call(
            Method::POST,
            inheritance,
            send(rev1, "P002", Some(heirs.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payout_id"], json!("I:P002"));
    assert_eq!(body["amount_fen"], json!(10_000));
    assert_eq!(body["replayed"], json!(false));
    assert_eq!(body["booked_on"], json!("2025-09-01"));
    let lines: Vec<(Value, Value, Value)> = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["heir_psn_no"].clone(),
                l["amount_fen"].clone(),
                l["paid_to"].clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // Where each share went, masked to its last 4 (§11.4, account numbers).
            (json!("P003"), json!(3_333), json!("**************P003")),
            (json!("P001"), json!(6_667), json!("*********P001")),
        ]
    );
    let (status, body) = api
        .call(Method::POST, inheritance, send(fin1, "P002", Some(heirs)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["replayed"], json!(true));
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/persons/P002/personal-account",
            send(fin1, "P002", None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["balance_fen"], json!(0));
    assert_eq!(body["death_date"], json!("2025-08-15"));
    assert_eq!(body["payouts"].as_array().unwrap().len(), 1);
    let (status, body) = api.call(Method::GET, p001, send(fin1, "P001", None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["balance_fen"], json!(56_667));
    assert!(store.check_ledger().await.unwrap().is_balanced());
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_accounts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("staff.db").display());
    personal_account_scenario(store.clone(), url).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_accounts_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{}", name.as_deref().unwrap());
        personal_account_scenario(store.clone(), url).await;
        store.close().await;
        drop_pg(name).await;
    }
}
