//! The staff API end to end: a real server (the national interface with the staff routes
//! merged in) on port 0 over a fresh SQLite file and a fresh PostgreSQL database, called over
//! HTTP; and the OpenAPI document checked against the router in-process. The sessions, accounts
//! and access log are here; the review chain, the registry and the refunds in their modules.

mod clearing;
mod funds;
mod personal_account;
mod refunds;
mod registry;
mod review;
mod setl_lists;
mod staff_access;

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

/// The national interface and the staff API on a free local port, the staff clock fixed at
/// `start_ms` (UTC milliseconds).
async fn serve_at(store: &Store, start_ms: i64) -> (yibao_server::RunningServer, Api) {
    let config = StaffConfig {
        clock: Clock::new(move || start_ms),
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
    (server, api)
}

/// What a call sends besides its method and path.
#[derive(Default)]
struct Send<'a> {
    token: Option<&'a str>,
    purpose: Option<&'a str>,
    body: Option<String>,
    /// Other request headers (`X-Service-Session`, `X-Case`, `X-Unmask-Reason` …).
    headers: Vec<(&'static str, String)>,
}

/// The header that opens a person's record under service session `session_id`.
fn in_session(session_id: i64) -> Vec<(&'static str, String)> {
    vec![("X-Service-Session", session_id.to_string())]
}

impl Api {
    async fn call(&self, method: Method, path: &str, send: Send<'_>) -> (StatusCode, Value) {
        let (status, _, value) = self.call_with_headers(method, path, send).await;
        (status, value)
    }

    /// A call that also returns the response's headers.
    async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        send: Send<'_>,
    ) -> (StatusCode, hyper::HeaderMap, Value) {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = send.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(purpose) = send.purpose {
            request = request.header("X-Purpose", purpose);
        }
        for (name, value) in &send.headers {
            request = request.header(*name, value.as_str());
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
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, value)
    }

    /// Opens a service session of `token` for `psn_no`, whose ID number is `certno`; its id.
    async fn open_session(&self, token: &str, psn_no: &str, certno: &str) -> i64 {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/service-sessions",
                Send {
                    token: Some(token),
                    body: Some(
                        json!({"psn_no": psn_no, "certno": certno, "reason": "参保人到窗口办理"})
                            .to_string(),
                    ),
                    ..Send::default()
                },
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["session_id"].as_i64().unwrap()
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
    // Without a case or a service session: 403 naming the header, and logged.
    let (status, body) = api
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
    assert_eq!((status, field(&body)), (StatusCode::FORBIDDEN, "X-Case"));
    let session = api
        .open_session(&reviewer, "P001", "140502198001011234")
        .await;
    let (status, person) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001",
            Send {
                token: Some(&reviewer),
                purpose: Some("case_review"),
                headers: in_session(session),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    // The case view (§11.4): the name in clear, the ID number first 3 and last 4.
    assert_eq!(person["psn_name_masked"], "张三");
    assert_eq!(person["certno_masked"], "140***********1234");
    let (status, _) = api
        .call(
            Method::GET,
            "/api/v1/persons/P001?purpose=appeal_handling",
            Send {
                token: Some(&reviewer),
                headers: in_session(session),
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
    let via = format!("service_session:{session}");
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
            ("case_review", "deny", "NO_OPEN_CASE"),
            ("case_review", "permit", via.as_str()),
            ("appeal_handling", "permit", via.as_str()),
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

    // Proofs for the auditor: an inclusion proof of the first read against a signed checkpoint,
    // and a consistency proof between two sizes, both checked with translog.
    let keys = yibao_store::LogKeys::generate("yibao.test/access-log/v1").unwrap();
    let checkpoint = store.sign_checkpoint(&keys).await.unwrap();
    let read_idx = entries.iter().find(|e| e["event"] == "data.read").unwrap()["idx"]
        .as_i64()
        .unwrap();
    let (status, proof) = api
        .call(
            Method::GET,
            &format!("/api/v1/access-log/proof?idx={read_idx}"),
            Send {
                token: Some(&auditor),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["size"], checkpoint.size);
    let unhex = |v: &Value| -> Vec<u8> {
        let text = v.as_str().unwrap();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    };
    let hashes = |v: &Value| -> Vec<[u8; 32]> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| unhex(h).try_into().unwrap())
            .collect()
    };
    let verifier = yibao_translog::NoteVerifier::log(keys.origin(), keys.verifying_key()).unwrap();
    let signed =
        yibao_translog::open_checkpoint(proof["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    yibao_translog::verify_inclusion(
        &unhex(&proof["leaf"]),
        read_idx as u64,
        signed.size,
        &signed.root,
        &yibao_translog::InclusionProof {
            hashes: hashes(&proof["hashes"]),
        },
    )
    .unwrap();
    let (status, consistency) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/access-log/consistency?from=3&to={}",
                checkpoint.size
            ),
            Send {
                token: Some(&auditor),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{consistency}");
    let old_root = store.inclusion_proof(0, 3).await.unwrap().root;
    yibao_translog::verify_consistency(
        3,
        &old_root,
        signed.size,
        &signed.root,
        &yibao_translog::ConsistencyProof {
            hashes: hashes(&consistency["hashes"]),
        },
    )
    .unwrap();
    let (status, body) = api
        .call(
            Method::GET,
            "/api/v1/access-log/proof?idx=100000",
            Send {
                token: Some(&auditor),
                ..Send::default()
            },
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, "idx"),
        "{body}"
    );

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
    ("get", "/api/v1/access-log/consistency"),
    ("get", "/api/v1/access-log/proof"),
    ("get", "/api/v1/access-log/verify"),
    ("get", "/api/v1/accounts"),
    ("get", "/api/v1/alarms"),
    ("get", "/api/v1/audit/cases"),
    ("get", "/api/v1/audit/cases/{case_id}"),
    ("get", "/api/v1/audit/report"),
    ("get", "/api/v1/audit/rules"),
    ("get", "/api/v1/funds/clearing"),
    ("get", "/api/v1/funds/payment-runs"),
    ("get", "/api/v1/funds/payment-runs/{run_id}/orders"),
    ("get", "/api/v1/funds/statements"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/persons/{psn_no}"),
    ("get", "/api/v1/persons/{psn_no}/personal-account"),
    ("get", "/api/v1/registry/cases"),
    ("get", "/api/v1/registry/cases/{case_id}"),
    ("get", "/api/v1/registry/coverage"),
    ("get", "/api/v1/registry/followups"),
    ("get", "/api/v1/registry/persons/{psn_no}"),
    ("get", "/api/v1/registry/persons/{psn_no}/decisions"),
    ("get", "/api/v1/setl-lists"),
    ("post", "/api/v1/accounts"),
    ("post", "/api/v1/accounts/{staff_id}/deactivate"),
    ("post", "/api/v1/audit/cases/open"),
    ("post", "/api/v1/audit/cases/{case_id}/appeals"),
    ("post", "/api/v1/audit/cases/{case_id}/decisions"),
    ("post", "/api/v1/break-glass"),
    ("post", "/api/v1/contributions/refunds"),
    ("post", "/api/v1/funds/budgets"),
    ("post", "/api/v1/funds/interest"),
    ("post", "/api/v1/funds/payment-runs"),
    ("post", "/api/v1/funds/payment-runs/{run_id}/approval"),
    (
        "post",
        "/api/v1/persons/{psn_no}/personal-account/inheritance",
    ),
    (
        "post",
        "/api/v1/persons/{psn_no}/personal-account/withdrawals",
    ),
    ("post", "/api/v1/registry/cases/{case_id}/steps"),
    ("post", "/api/v1/registry/decisions/{decision_id}/confirm"),
    ("post", "/api/v1/registry/decisions/{decision_id}/undo"),
    ("post", "/api/v1/registry/followups/{followup_id}/outcome"),
    ("post", "/api/v1/service-sessions"),
    ("post", "/api/v1/session"),
    ("post", "/api/v1/setl-lists/{setl_list_id}/review"),
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
            .replace("{decision_id}", "1")
            .replace("{setl_list_id}", "L1");
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
