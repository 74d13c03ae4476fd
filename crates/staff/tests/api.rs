//! The staff API end to end: a real server (the national interface with the staff routes
//! merged in) on port 0 over a fresh SQLite file and a fresh PostgreSQL database, called over
//! HTTP; and the OpenAPI document checked against the router in-process.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::{json, Value};
use sqlx::Connection as _;
use tower::ServiceExt as _;
use yibao_staff::{Clock, StaffConfig};
use yibao_store::{
    AcctUsedFlag, Command, Envelope, FeeLineIn, NewStaff, Outcome, RegisterOutpatient, Reply, Role,
    SessionPolicy, Settle, Store, UploadFees, VisitKind,
};

const T0: i64 = 1_780_000_000_000;
const HOSPITAL: &str = "H14050000001";

/// A fresh store holding the store crate's fixture registry; `None` for PostgreSQL when it is
/// unreachable (and `YIBAO_REQUIRE_PG` is not set).
async fn fresh_store(postgres: bool, dir: &Path) -> Option<(Store, Option<String>)> {
    let (url, pg_name) = if postgres {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(err) => {
                assert!(
                    std::env::var("YIBAO_REQUIRE_PG").is_err(),
                    "PostgreSQL required but unreachable: {err}"
                );
                eprintln!("notice: PostgreSQL unreachable ({err}); skipping the PostgreSQL run");
                return None;
            }
        };
        let name = format!(
            "yibao_staff_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        (format!("{base}/{name}"), Some(name))
    } else {
        (
            format!("sqlite://{}?mode=rwc", dir.join("staff.db").display()),
            None,
        )
    };
    let store = Store::connect(&url).await.unwrap();
    let registry = dir.join("registry");
    std::fs::create_dir_all(registry.join("policies")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/registry");
    for entry in std::fs::read_dir(fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), registry.join(entry.file_name())).unwrap();
    }
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(registry.join(name), text).unwrap();
    }
    store.import_registry(&registry).await.unwrap();
    Some((store, pg_name))
}

async fn drop_pg(name: Option<String>) {
    if let Some(name) = name {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

fn staff(username: &str, roles: &[Role], fixmedins_code: Option<&str>) -> NewStaff {
    NewStaff {
        username: username.into(),
        password: format!("{username}-password-1"),
        display_name: username.into(),
        roles: roles.to_vec(),
        fixmedins_code: fixmedins_code.map(str::to_owned),
        admdvs: "140500".into(),
    }
}

struct Api {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// What a call sends besides its method and path.
#[derive(Default)]
struct Send<'a> {
    token: Option<&'a str>,
    purpose: Option<&'a str>,
    body: Option<String>,
}

impl Api {
    async fn call(&self, method: Method, path: &str, send: Send<'_>) -> (StatusCode, Value) {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = send.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(purpose) = send.purpose {
            request = request.header("X-Purpose", purpose);
        }
        let body = match send.body {
            Some(body) => {
                request = request.header("Content-Type", "application/json");
                body
            }
            None => String::new(),
        };
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/session",
                Send {
                    body: Some(
                        json!({"username": username, "password": format!("{username}-password-1")})
                            .to_string(),
                    ),
                    ..Send::default()
                },
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

fn field(body: &Value) -> &str {
    body["error"]["field"].as_str().unwrap_or("")
}

async fn log_size(store: &Store) -> i64 {
    store.verify_access_log().await.unwrap().head_size
}

async fn scenario(store: Store) {
    let now = Arc::new(AtomicI64::new(T0));
    let clock_now = now.clone();
    let policy = SessionPolicy::default();
    let config = StaffConfig {
        session: policy,
        clock: Clock::new(move || clock_now.load(Ordering::SeqCst)),
        ..StaffConfig::default()
    };
    for (name, roles, institution) in [
        ("admin1", &[Role::Admin][..], None),
        ("rev1", &[Role::Reviewer][..], None),
        ("audit1", &[Role::Auditor][..], None),
        ("fin1", &[Role::Finance][..], None),
        ("hosp1", &[Role::Institution][..], Some(HOSPITAL)),
    ] {
        store
            .staff_create(&staff(name, roles, institution), None, T0)
            .await
            .unwrap();
    }
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

    // No session.
    let (status, body) = api.call(Method::GET, "/api/v1/me", Send::default()).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::UNAUTHORIZED, "Authorization")
    );

    // Wrong password and unknown user: one answer.
    let wrong =
        |username: &str| json!({"username": username, "password": "not-the-password"}).to_string();
    let (status, wrong_password) = api
        .call(
            Method::POST,
            "/api/v1/session",
            Send {
                body: Some(wrong("rev1")),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown_user) = api
        .call(
            Method::POST,
            "/api/v1/session",
            Send {
                body: Some(wrong("ghost")),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_user);

    let reviewer = api.login("rev1").await;
    let (status, me) = api
        .call(
            Method::GET,
            "/api/v1/me",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], json!(["reviewer"]));

    // A person's data: the purpose first, then the role; both writes checked.
    let before = log_size(&store).await;
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "X-Purpose"),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&reviewer),
                purpose: Some("curiosity"),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "X-Purpose")
    );
    assert_eq!(
        log_size(&store).await,
        before,
        "a refused purpose writes nothing"
    );
    let (status, person) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&reviewer),
                purpose: Some("case_review"),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["psn_name_masked"], "张*");
    assert_eq!(person["certno_masked"], "140***********1234");
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001?purpose=appeal_handling",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let finance = api.login("fin1").await;
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&finance),
                purpose: Some("payment_clearing"),
                ..Send::default()
            },
        )
        .await;
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "roles"));
    let hospital = api.login("hosp1").await;
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&hospital),
                purpose: Some("case_review"),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/access-log",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Administration: bad input writes nothing; then a real account, then a taken name.
    let admin = api.login("admin1").await;
    let accounts_before = store.staff_accounts().await.unwrap().len();
    let before = log_size(&store).await;
    let post_account = |body: String| {
        let api = &api;
        let admin = admin.clone();
        async move {
            api.call(
                Method::POST,
                "/api/v1/accounts",
                Send {
                    token: Some(&admin),
                    body: Some(body),
                    ..Send::default()
                },
            )
            .await
        }
    };
    let (status, body) = post_account("{\"username\": ".into()).await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "body"));
    let (status, body) = post_account(
        json!({"username": "rev2", "password": "rev2-password-1", "display_name": "R",
               "roles": ["reviewer"], "superuser": true})
        .to_string(),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "superuser")
    );
    let (status, body) = post_account(
        json!({"username": "rev2", "password": "rev2-password-1", "display_name": "R",
               "roles": ["reviewer", "wizard"]})
        .to_string(),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "roles[1]")
    );
    let (status, body) = post_account(
        json!({"username": "rev2", "password": "rev2-password-1", "display_name": "R",
               "roles": ["reviewer", "admin"]})
        .to_string(),
    )
    .await;
    assert_eq!((status, field(&body)), (StatusCode::BAD_REQUEST, "roles"));
    let (status, body) =
        post_account(format!("{{\"username\": \"{}\"}}", "x".repeat(20_000))).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body")
    );
    assert_eq!(store.staff_accounts().await.unwrap().len(), accounts_before);
    assert_eq!(log_size(&store).await, before, "bad input writes nothing");
    let new_account = json!({"username": "rev2", "password": "rev2-password-1",
                             "display_name": "Reviewer Two", "roles": ["reviewer"]})
    .to_string();
    let (status, created) = post_account(new_account.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["admdvs"], "140500");
    let (status, body) = post_account(new_account).await;
    assert_eq!((status, field(&body)), (StatusCode::CONFLICT, "username"));
    let rev2 = created["staff_id"].as_i64().unwrap();
    let (status, body) = api
        .call(
            Method::PUT,
            "/api/v1/accounts/abc/roles",
            Send {
                token: Some(&admin),
                body: Some(json!({"roles": ["reviewer"]}).to_string()),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "staff_id")
    );
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/accounts/{rev2}/roles"),
            Send {
                token: Some(&admin),
                body: Some(json!({"roles": ["reviewer", "senior_reviewer"]}).to_string()),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["reviewer", "senior_reviewer"]));
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/accounts/{rev2}/deactivate"),
            Send {
                token: Some(&admin),
                ..Send::default()
            },
        )
        .await;
    assert_eq!((status, &body["active"]), (StatusCode::OK, &json!(false)));
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/accounts",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The auditor reads the log and checks the chain.
    let auditor = api.login("audit1").await;
    let (status, page) = api
        .call(
            Method::GET,
            "/api/v1/access-log?limit=500",
            Send {
                token: Some(&auditor),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let reads: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter(|e| e["event"] == "data.read")
        .map(|e| {
            (
                e["purpose"].as_str().unwrap(),
                e["decision"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        [
            ("case_review", "permit", ""),
            ("appeal_handling", "permit", ""),
            ("payment_clearing", "deny", "role_missing"),
            ("case_review", "deny", "role_missing"),
        ]
    );
    let subject = entries.iter().find(|e| e["event"] == "data.read").unwrap()["subject_ref"]
        .as_str()
        .unwrap();
    assert!(subject.starts_with("psn:") && !subject.contains("P001"));
    for event in [
        "session.login",
        "account.create",
        "account.roles",
        "account.deactivate",
        "access.deny",
    ] {
        assert!(
            entries.iter().any(|e| e["event"] == event),
            "no {event} entry"
        );
    }
    let (status, report) = api
        .call(
            Method::GET,
            "/api/v1/access-log/verify",
            Send {
                token: Some(&auditor),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["intact"], true, "{report}");

    // Expiry: unused past the idle timeout.
    now.fetch_add(policy.idle_ms + 1, Ordering::SeqCst);
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/me",
            Send {
                token: Some(&reviewer),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // Logout.
    let token = api.login("rev1").await;
    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/v1/session",
            Send {
                token: Some(&token),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/me",
            Send {
                token: Some(&token),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Other paths: a JSON 404 under /api/v1; the national interface is still served beside it.
    let (status, body) = api
        .call(Method::GET, "/api/v1/nothing-here", Send::default())
        .await;
    assert_eq!((status, field(&body)), (StatusCode::NOT_FOUND, "path"));
    let (status, _) = api
        .call(
            Method::POST,
            "/fsi/api/rsfComIfsService/callService",
            Send {
                body: Some("{}".into()),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the gateway answers: the interface is there"
    );
    assert!(store.verify_access_log().await.unwrap().is_intact());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    scenario(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((store, name)) = fresh_store(true, dir.path()).await {
        scenario(store.clone()).await;
        store.close().await;
        drop_pg(name).await;
    }
}

/// Every route: (method, path) as documented.
const ENDPOINTS: &[(&str, &str)] = &[
    ("delete", "/api/v1/session"),
    ("get", "/api/v1/access-log"),
    ("get", "/api/v1/access-log/verify"),
    ("get", "/api/v1/accounts"),
    ("get", "/api/v1/audit/cases"),
    ("get", "/api/v1/audit/cases/{case_id}"),
    ("get", "/api/v1/audit/report"),
    ("get", "/api/v1/audit/rules"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/persons/{psn_no}"),
    ("get", "/api/v1/registry/cases"),
    ("get", "/api/v1/registry/cases/{case_id}"),
    ("get", "/api/v1/registry/coverage"),
    ("get", "/api/v1/registry/followups"),
    ("get", "/api/v1/registry/persons/{psn_no}"),
    ("get", "/api/v1/registry/persons/{psn_no}/decisions"),
    ("post", "/api/v1/accounts"),
    ("post", "/api/v1/accounts/{staff_id}/deactivate"),
    ("post", "/api/v1/audit/cases/open"),
    ("post", "/api/v1/audit/cases/{case_id}/appeals"),
    ("post", "/api/v1/audit/cases/{case_id}/decisions"),
    ("post", "/api/v1/contributions/refunds"),
    ("post", "/api/v1/registry/cases/{case_id}/steps"),
    ("post", "/api/v1/registry/decisions/{decision_id}/confirm"),
    ("post", "/api/v1/registry/decisions/{decision_id}/undo"),
    ("post", "/api/v1/registry/followups/{followup_id}/outcome"),
    ("post", "/api/v1/session"),
    ("put", "/api/v1/accounts/{staff_id}/roles"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    let app = yibao_staff::router(store.clone(), StaffConfig::default());
    let response = app
        .clone()
        .oneshot(
            axum::http::Request::get("/api/v1/openapi.json")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let expected: Vec<(String, String)> = ENDPOINTS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);
    // Each documented route is served (no 404 or 405 from the router).
    for (method, path) in &documented {
        let uri = path
            .replace("{psn_no}", "P001")
            .replace("{staff_id}", "1")
            .replace("{case_id}", "C1")
            .replace("{decision_id}", "1");
        let response = app
            .clone()
            .oneshot(
                axum::http::Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status()),
            "{method} {uri}: {}",
            response.status()
        );
    }
    store.close().await;
}

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
    let (status, file) = api
        .call(
            Method::GET,
            &format!("{path}?as_of=2026-03-02"),
            send(desk1, None),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["psn_name_masked"], json!("周*"));
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
            send(desk1, None),
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
            send(desk1, None),
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
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The decisions, with the data that triggered them; a reviewer undoes one, once.
    let (status, decisions) = api
        .call(Method::GET, &format!("{path}/decisions"), send(desk1, None))
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

/// Issue 13, §5.6: a contribution refund through the staff API. The front desk may not refund
/// (403, logged); a reviewer refunds P003's 2025 resident year before it starts (her 400.00 back
/// to her, finance's 700.00 back to finance), a second time is refused (409); bad input names
/// the field; a finance officer's refund of P004 once the year started is refused (409).
async fn refund_scenario(store: Store) {
    // 2024-12-01 10:00 Beijing time.
    let start = 1_733_018_400_000;
    let config = StaffConfig {
        clock: Clock::new(move || start),
        ..StaffConfig::default()
    };
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
    let fin1 = leak(api.login("fin1").await);
    let send = |token: &'static str, body: Value| Send {
        token: Some(token),
        purpose: Some("service_request"),
        body: Some(body.to_string()),
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
    assert_eq!(body["paid_to"], json!("payout:person:P003"));
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
