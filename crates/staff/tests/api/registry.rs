//! Issue 13's registry cases, persons, decisions, coverage report and follow-ups over the staff API.

use super::*;

/// Issue 13: registry cases through the staff API. A police feed registers a person and an
/// identity list names them and a stranger; the stranger's row becomes an `unmatched` case that
/// the front desk notes and a second reviewer resolves by matching it to the person (the one who
/// noted it may not); a closed case takes no step; the person's file shows the category; every
/// read is logged.
async fn registry_scenario(store: Store) {
    // 2026-03-02 10:00 Beijing time.
    let start = 1_772_416_800_000;
    let now = Arc::new(AtomicI64::new(start));
    let clock_now = now.clone();
    let config = StaffConfig {
        clock: Clock::new(move || clock_now.load(Ordering::SeqCst)),
        ..StaffConfig::default()
    };
    for (name, roles) in [
        ("desk1", &[Role::FrontDesk][..]),
        ("rev1", &[Role::Reviewer][..]),
        ("rev2", &[Role::Reviewer][..]),
        ("audit1", &[Role::Auditor][..]),
    ] {
        store
            .staff_create(&staff(name, roles, None), None, start)
            .await
            .unwrap();
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let feed = |kind| yibao_store::feed::FeedImport {
        kind,
        file_name: "feed.csv".into(),
        source_dept: yibao_store::feed::FeedKind::default_dept(kind).into(),
        actor: "tester".into(),
        today,
        recorded_at: today.and_hms_opt(1, 0, 0).unwrap(),
    };
    let known = "140525199003150028";
    let stranger = "140525198505050030";
    let police = format!(
        "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n{known},周丙,2,1990-03-15,140525,HH1,02\n"
    );
    let report = store
        .import_feed(
            &feed(yibao_store::feed::FeedKind::Police),
            police.as_bytes(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.rows_refused, 0, "{report:?}");
    let identity = format!(
        "certno,psn_name,idet_type,begn_date,end_date\n\
         {known},周丙,2303,2026-01-01,\n\
         {stranger},路人,2303,2026-01-01,\n"
    );
    let report = store
        .import_feed(
            &feed(yibao_store::feed::FeedKind::Identity),
            identity.as_bytes(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.cases_opened, 1, "{report:?}");
    let psn_no = store.person_info(known).await.unwrap().base.psn_no;
    let roster = yibao_store::RosterImport {
        feed: feed(yibao_store::feed::FeedKind::Education),
        region: "1405".into(),
    };
    let students = format!(
        "certno,psn_name,gend,brdy,school_code,school_admdvs,stu_type,entry_date,grad_date\n\
         {known},周丙,2,1990-03-15,U9,140525,1404,2026-02-01,\n"
    );
    let roster_report = store
        .import_roster(&roster, students.as_bytes(), &|_| {})
        .await
        .unwrap();
    assert_eq!(roster_report.rows_matched, 1, "{roster_report:?}");
    // 免申即享: the 低保 record decides the subsidy, the assistance and the enrollment.
    let params = yibao_enrollment::builtin::builtin_params().unwrap();
    let decided = store
        .decide_on_batch(
            &report.batch_id,
            &params,
            today,
            today.and_hms_opt(9, 0, 0).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            decided.decided,
            decided.subsidies,
            decided.assistance,
            decided.enrollments
        ),
        (3, 1, 1, 1),
        "{decided:?}"
    );
    let again = store
        .decide_on_batch(
            &report.batch_id,
            &params,
            today,
            today.and_hms_opt(9, 5, 0).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(again.decided, 0, "{again:?}");

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
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let desk1 = leak(api.login("desk1").await);
    let rev1 = leak(api.login("rev1").await);
    let rev2 = leak(api.login("rev2").await);
    let audit1 = leak(api.login("audit1").await);
    let send = |token: &'static str, body: Option<Value>| Send {
        token: Some(token),
        purpose: Some("service_request"),
        body: body.map(|b| b.to_string()),
        headers: Vec::new(),
    };

    // The listing needs a purpose and a clerk's role; both refusals and the read are logged.
    let before = log_size(&store).await;
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/registry/cases?status=open",
            Send {
                token: Some(desk1),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api
        .call(Method::GET, "/api/v1/registry/cases", send(audit1, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/registry/cases?status=shut",
            send(desk1, None),
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "status"));
    let (status, cases) = api
        .call(
            Method::GET,
            "/api/v1/registry/cases?status=open&kind=unmatched",
            send(desk1, None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    let cases = cases.as_array().unwrap().clone();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["certno_masked"], json!("140***********0030"));
    assert!(log_size(&store).await >= before + 2);
    let case_id = cases[0]["case_id"].as_i64().unwrap();
    let steps = format!("/api/v1/registry/cases/{case_id}/steps");

    // The front desk may note but not resolve.
    let resolve = |outcome: &str, psn: Option<&str>| {
        let mut body =
            json!({"action": "resolve", "outcome": outcome, "reason": "户籍核实为同一人"});
        if let Some(psn) = psn {
            body["psn_no"] = json!(psn);
        }
        Some(body)
    };
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(desk1, resolve("matched", Some(&psn_no))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(
                rev1,
                Some(json!({"action": "note", "reason": "与户籍库姓名不符，待核"})),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["steps"].as_array().unwrap().len(), 1);
    // Bad input is named and writes nothing.
    for (bad, field_name) in [
        (json!({"action": "note", "reason": " "}), "reason"),
        (json!({"action": "close", "reason": "x"}), "action"),
        (json!({"action": "resolve", "reason": "x"}), "outcome"),
        (
            json!({"action": "resolve", "outcome": "matched", "reason": "x"}),
            "psn_no",
        ),
        (
            json!({"action": "resolve", "outcome": "rejected", "psn_no": psn_no, "reason": "x"}),
            "psn_no",
        ),
    ] {
        let (status, body) = api.call(Method::POST, &steps, send(rev2, Some(bad))).await;
        assert_eq!(
            (status, field(&body)),
            (StatusCode::BAD_REQUEST, field_name),
            "{body}"
        );
    }
    // Whoever noted it may not resolve it.
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(rev1, resolve("matched", Some(&psn_no))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "staff"),
        "{body}"
    );
    // A person who does not exist is not found; the right one resolves it.
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(rev2, resolve("matched", Some("NOBODY"))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::NOT_FOUND, "psn_no"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(rev2, resolve("matched", Some(&psn_no))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["case"]["status"], json!("closed"));
    assert_eq!(body["steps"][1]["psn_no"], json!(psn_no));
    assert_eq!(body["steps"][1]["at"], json!("2026-03-02 10:00:00"));
    // A closed case takes no step.
    let (status, body) = api
        .call(
            Method::POST,
            &steps,
            send(rev1, Some(json!({"action": "note", "reason": "补充"}))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "case_id"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::GET,
            &format!("/api/v1/registry/cases/{case_id}"),
            send(audit1, None),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The person's file as of a date: the household from the police record's day, the category
    // from its start; neither before.
    let path = format!("/api/v1/registry/persons/{psn_no}");
    // The person's file is read for the person at the counter: a service session first.
    let desk_session = api.open_session(desk1, &psn_no, known).await;
    let at_desk = |body: Option<Value>| Send {
        headers: in_session(desk_session),
        ..send(desk1, body)
    };
    let (status, file) = api
        .call(
            Method::GET,
            &format!("{path}?as_of=2026-03-02"),
            at_desk(None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    // The case view (§11.4): the name in clear.
    assert_eq!(file["psn_name_masked"], json!("周丙"));
    assert_eq!(file["household"]["hh_id"], json!("HH1"));
    assert_eq!(file["identities"][0]["idet_type"], json!("2303"));
    assert_eq!(file["identities"][0]["begn_date"], json!("2026-01-01"));
    assert_eq!(file["students"][0]["psn_type"], json!("1404"));
    assert_eq!(file["students"][0]["school_code"], json!("U9"));
    assert_eq!(file["disabilities"], json!([]));
    let (status, file) = api
        .call(
            Method::GET,
            &format!("{path}?as_of=2025-12-31"),
            at_desk(None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["identities"], json!([]));
    assert_eq!(file["students"], json!([]));
    assert_eq!(file["household"], Value::Null);
    let (status, body) = api
        .call(
            Method::GET,
            &format!("{path}?as_of=2026-13-01"),
            at_desk(None),
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "as_of"));
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/registry/persons/NOBODY",
            send(rev1, None),
        )
        .await;
    // Nobody's record opens without a session, and no session opens for nobody.
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The decisions, with the data that triggered them; a reviewer undoes one, once.
    let (status, decisions) = api
        .call(Method::GET, &format!("{path}/decisions"), at_desk(None))
        .await;
    assert_eq!(status, StatusCode::OK, "{decisions}");
    let decisions = decisions.as_array().unwrap().clone();
    let kinds: Vec<&str> = decisions
        .iter()
        .map(|d| d["result_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["subsidy", "assistance", "enroll"]);
    // The reference region's fixed 200-yuan subsidy for 低保, out of a 400-yuan standard.
    assert_eq!(decisions[0]["result"]["amount_fen"], json!(20_000));
    assert_eq!(decisions[0]["result"]["individual_due_fen"], json!(20_000));
    assert_eq!(decisions[1]["result"]["from"], json!("2026-01-01"));
    assert!(decisions[0]["trigger"].as_str().unwrap().contains("低保"));
    let undo = format!(
        "/api/v1/registry/decisions/{}/undo",
        decisions[1]["decision_id"]
    );
    let reason = json!({"reason": "民政撤销该低保认定"});
    let (status, _) = api
        .call(Method::POST, &undo, send(desk1, Some(reason.clone())))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(Method::POST, &undo, send(rev2, Some(json!({"reason": ""}))))
        .await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "reason"));
    let (status, body) = api
        .call(Method::POST, &undo, send(rev2, Some(reason.clone())))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["undone"]["reason"], json!("民政撤销该低保认定"));
    let (status, body) = api
        .call(Method::POST, &undo, send(rev1, Some(reason)))
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "decision_id"),
        "{body}"
    );
    // A subsidy took effect by itself: there is nothing to confirm.
    let confirm = format!(
        "/api/v1/registry/decisions/{}/confirm",
        decisions[0]["decision_id"]
    );
    let (status, body) = api
        .call(
            Method::POST,
            &confirm,
            send(rev2, Some(json!({"reason": "核实"}))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "decision_id"),
        "{body}"
    );

    // The coverage report: counts by county, for clerks and finance; not for the auditor.
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/registry/coverage?year=2026",
            send(audit1, None),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/registry/coverage?year=20x6",
            send(desk1, None),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "query"),
        "{body}"
    );
    let (status, report) = api
        .call(
            Method::GET,
            "/api/v1/registry/coverage?year=2026",
            send(desk1, None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["reference"], "2026-03-02");
    let county = report["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["admdvs"] == "140525")
        .expect("the household's county")
        .clone();
    // The 低保 person is the county's one person and holds a subsidised category.
    assert_eq!(county["base"], 1, "{county}");
    assert_eq!(county["category_persons"], 1, "{county}");
    let uninsured: u64 = county["uninsured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["persons"].as_u64().unwrap())
        .sum();
    let insured =
        county["insured_employee"].as_u64().unwrap() + county["insured_resident"].as_u64().unwrap();
    assert_eq!(insured + uninsured, 1, "{county}");
    assert_eq!(county["category_insured"].as_u64().unwrap(), insured);
    let total_base: u64 = report["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["base"].as_u64().unwrap())
        .sum();
    assert_eq!(report["total"]["base"].as_u64().unwrap(), total_base);
    assert_eq!(report["total"]["base"].as_u64().unwrap(), total_base);

    // The follow-ups of the uninsured: opened by the check, listed with a purpose (logged),
    // closed once with an outcome.
    let check = store.registry_check(2026, today, &params).await.unwrap();
    let opened = store
        .open_followups(&check, today.and_hms_opt(10, 0, 0).unwrap())
        .await
        .unwrap();
    assert_eq!(
        opened, 1,
        "the 低保 person is not enrolled yet: {:?}",
        check.findings
    );
    let list = "/api/v1/registry/followups?year=2026&admdvs=140525&status=open";
    let (status, body) = api.call(Method::GET, list, send(audit1, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/registry/followups?year=2026&status=later",
            send(desk1, None),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "status"),
        "{body}"
    );
    let before = log_size(&store).await;
    let (status, followups) = api.call(Method::GET, list, send(desk1, None)).await;
    assert_eq!(status, StatusCode::OK, "{followups}");
    assert_eq!(log_size(&store).await, before + 1, "the listing is logged");
    let followups = followups.as_array().unwrap().clone();
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0]["psn_no"], psn_no.as_str());
    assert_eq!(followups[0]["reason"], "category_not_enrolled");
    assert_ne!(followups[0]["certno_masked"], known, "masked");
    let outcome = format!(
        "/api/v1/registry/followups/{}/outcome",
        followups[0]["followup_id"]
    );
    let (status, body) = api
        .call(
            Method::POST,
            &outcome,
            send(desk1, Some(json!({"outcome": "other"}))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "note"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &outcome,
            send(
                desk1,
                Some(json!({"outcome": "enrolled", "note": "已代缴"})),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["outcome"].as_str()),
        (Some("closed"), Some("enrolled"))
    );
    let (status, body) = api
        .call(
            Method::POST,
            &outcome,
            send(rev1, Some(json!({"outcome": "moved"}))),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::CONFLICT, "followup_id"),
        "{body}"
    );

    assert!(store.verify_access_log().await.unwrap().is_intact());
    let _ = now;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_cases_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    registry_scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_cases_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        registry_scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}
