//! The safe box end to end: the router on a free local port over a fresh SQLite file and a
//! fresh PostgreSQL database, called over HTTP (spec data-authorization.md §7, §5.7, §9.6,
//! §12 T7): signing in with good, unknown and expired e-voucher tokens, my data by category, my
//! uses with receipts checked offline against the witnessed checkpoint, a staff read and a
//! break-glass in my uses, give → use → revoke, pausing sharing, proxies (T7), a foreign session
//! token and hostile input.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::{json, Value};
use sqlx::Connection as _;
use yibao_privacy::decision::DenyCode;
use yibao_privacy::Purpose;
use yibao_safebox::{Clock, SafeboxConfig};
use yibao_store::grants::{CallQuery, GrantCall, GranteeKind, NewGrantee, TokenKey};
use yibao_store::safebox::NewGuardianship;
use yibao_store::{AccessEntry, Decision, LogKeys, NewStaff, Role, Store, WitnessKey};
use yibao_translog::{NoteVerifier, TrustPolicy};

/// P001's e-voucher token (in force in 2025).
const P001_TOKEN: &str = "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e";
/// P002's token of 2024 (expired in 2025).
const P002_OLD_TOKEN: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a";
/// P002's token of 2025.
const P002_TOKEN: &str = "b2c3d4e5f60718293a4b5c6d7e8f9a0b";
/// P016's token (a minor of 14).
const P016_TOKEN: &str = "c3d4e5f60718293a4b5c6d7e8f9a0b1c";

/// 2025-06-01 10:00:00 UTC.
fn t0() -> i64 {
    NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

const MINUTE: i64 = 60_000;

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh store with the store crate's fixture registry plus two minors (P015, 10; P016, 14)
/// and 2025 tokens for P002 and P016; `None` for PostgreSQL when it is unreachable (and
/// `YIBAO_REQUIRE_PG` is not set).
async fn fresh_store(postgres: bool, dir: &Path) -> Option<(Store, Option<String>)> {
    let (url, pg_name) = if postgres {
        let mut admin = match sqlx::PgConnection::connect(&admin_url()).await {
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
            "yibao_self_{}_{}",
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
        let (base, _) = admin_url()
            .rsplit_once('/')
            .map(|(b, n)| (b.to_owned(), n.to_owned()))
            .unwrap();
        (format!("{base}/{name}"), Some(name))
    } else {
        (
            format!("sqlite://{}?mode=rwc", dir.join("self.db").display()),
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
    let append = |file: &str, lines: &str| {
        let path = registry.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(lines);
        std::fs::write(path, text).unwrap();
    };
    append(
        "persons.csv",
        "P015,140502201503051238,小明,1,2015-03-05,01,\nP016,140502201012011239,小红,2,2010-12-01,01,\n",
    );
    append(
        "ec_tokens.csv",
        &format!(
            "{P002_TOKEN},P002,2025-01-01,2025-12-31\n{P016_TOKEN},P016,2025-01-01,2025-12-31\n"
        ),
    );
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(registry.join(name), text).unwrap();
    }
    store.import_registry(&registry).await.unwrap();
    Some((store, pg_name))
}

async fn drop_pg(name: Option<String>) {
    if let Some(name) = name {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

fn token_key() -> TokenKey {
    TokenKey::from_bytes([7; 32])
}

/// The person's browser: the server's address and the clock the server reads.
struct Browser {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    now: Arc<AtomicI64>,
}

/// One response.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Browser {
    async fn raw(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = session {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let raw = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, path: &str, session: &str) -> Answer {
        self.raw(Method::GET, path, Some(session), Vec::new()).await
    }

    async fn post(&self, path: &str, session: Option<&str>, body: &Value) -> Answer {
        self.raw(Method::POST, path, session, body.to_string().into_bytes())
            .await
    }

    async fn sign_in(&self, ec_token: &str) -> String {
        let answer = self
            .post("/self/v1/sessions", None, &json!({"ec_token": ec_token}))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["session_token"].as_str().unwrap().to_owned()
    }

    fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

fn grant_body(grantee: &str) -> Value {
    json!({
        "grantee_id": grantee,
        "product_id": "A-MED-2025",
        "purpose": "P01",
        "items": ["ID02", "ID04", "IN01", "IN03"],
        "confirmed_items": ["ID02", "ID04", "IN01", "IN03"],
        "scope": {"from": "2025-06-01", "to": "2025-06-01"},
        "output_form": "derived",
        "mode": "ONCE",
        "valid_minutes": 30,
        "notice": {"text_version": "v1", "text": "保险 A 将核验您的身份与参保状态。", "retention": "30 days"},
    })
}

fn item<'a>(data: &'a Value, code: &str) -> &'a Value {
    data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["items"].as_array().unwrap())
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("item {code} missing"))
}

fn use_call(grantee: &str, token: &str, request_id: &str, now_ms: i64) -> GrantCall {
    GrantCall {
        grantee_id: grantee.into(),
        signature_valid: true,
        timestamp_ms: now_ms,
        nonce: format!("n-{request_id}"),
        request_id: request_id.into(),
        request_digest: yibao_gm::hash(request_id.as_bytes()),
        action: "POST /open/v1/identity-checks".into(),
        purpose: Purpose::P01,
        token: token.into(),
        items: None,
        scope: None,
        output_form: None,
        query: CallQuery::IdentityCheck {
            name: "张三".into(),
            id_number_sm3: yibao_gm::hash(b"140502198001011234")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        },
    }
}

async fn scenario(store: Store) {
    let now = Arc::new(AtomicI64::new(t0()));
    let clock_now = now.clone();
    let config = SafeboxConfig {
        token_key: token_key(),
        clock: Clock::new(move || clock_now.load(Ordering::SeqCst)),
    };
    let app = yibao_safebox::router(store.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let web = Browser {
        base: format!("http://{addr}"),
        client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        now,
    };

    // --- Signing in: unknown, expired, good.
    let unknown = web
        .post(
            "/self/v1/sessions",
            None,
            &json!({"ec_token": "ffffffffffffffffffffffffffffffff"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.body);
    assert_eq!(unknown.body["error"]["code"], "AUTH_FAILED");
    let expired = web
        .post(
            "/self/v1/sessions",
            None,
            &json!({"ec_token": P002_OLD_TOKEN}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    // Neither answer says whether a person exists.
    assert_eq!(expired.body, unknown.body);
    let p001 = web.sign_in(P001_TOKEN).await;
    let none = web.get("/self/v1/data", "").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let foreign = web
        .get("/self/v1/data", "0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        (foreign.status, foreign.body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("SESSION_INVALID"))
    );

    // --- My data by category: 11 categories, level badges, sources, values; level 3 opens
    // only while the factor is fresh.
    let data = web.get("/self/v1/data", &p001).await;
    assert_eq!(data.status, StatusCode::OK, "{}", data.body);
    assert_eq!(data.body["categories"].as_array().unwrap().len(), 11);
    let name = item(&data.body, "ID02");
    assert_eq!(name["level"], 1);
    assert_eq!(name["held"], true);
    assert_eq!(name["sources"][0]["table"], "person");
    assert_eq!(name["values"], json!(["张三"]));
    assert_eq!(item(&data.body, "IN03")["values"], json!(["1"]));
    assert_eq!(item(&data.body, "ID04")["level"], 2);
    assert_eq!(
        data.body["settlements_last_year"]["count"], 0,
        "{}",
        data.body["settlements_last_year"]
    );
    assert_eq!(item(&data.body, "ST01")["held"], false);
    assert_eq!(data.body["level3_open"], true);
    web.advance(6 * MINUTE);
    let later = web.get("/self/v1/data", &p001).await;
    assert_eq!(later.body["level3_open"], false);
    let unknown_param = web.get("/self/v1/data?colour=red", &p001).await;
    assert_eq!(
        (
            unknown_param.status,
            unknown_param.body["error"]["field"].clone()
        ),
        (StatusCode::BAD_REQUEST, json!("colour"))
    );

    // --- A staff read under a case and a break-glass read appear in my uses.
    let staff = store
        .staff_create(
            &NewStaff {
                username: "inspector1".into(),
                password: "correct horse battery".into(),
                display_name: "王稽核".into(),
                roles: vec![Role::Inspector],
                fixmedins_code: None,
                admdvs: "140500".into(),
            },
            None,
            web.now(),
        )
        .await
        .unwrap();
    for reason in ["case:registry:3", "break_glass:1; urgent_medical"] {
        store
            .log_access(&AccessEntry {
                ts_ms: web.now(),
                event: "data.read".into(),
                staff_id: Some(staff.staff_id),
                action: "GET /api/v1/persons/{psn_no}".into(),
                subject_ref: yibao_store::staff::subject_ref_psn("P001"),
                purpose: "case_review".into(),
                decision: Decision::Permit,
                reason: reason.into(),
            })
            .await
            .unwrap();
    }

    // --- Give → use → revoke. A consent needs a fresh factor.
    let signing = yibao_gm::SigningKey::generate().unwrap();
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: "insurer-a".into(),
                name: "保险 A".into(),
                kind: GranteeKind::Insurer,
                public_key: signing.verifying_key(),
                purposes: vec![Purpose::P01],
            },
            web.now(),
        )
        .await
        .unwrap();
    let stale = web
        .post("/self/v1/grants", Some(&p001), &grant_body("insurer-a"))
        .await;
    assert_eq!(
        (stale.status, stale.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("FACTOR_REQUIRED"))
    );
    let wrong_factor = web
        .post(
            "/self/v1/sessions/factor",
            Some(&p001),
            &json!({"ec_token": P002_TOKEN}),
        )
        .await;
    assert_eq!(
        wrong_factor.status,
        StatusCode::FORBIDDEN,
        "{}",
        wrong_factor.body
    );
    let factor = web
        .post(
            "/self/v1/sessions/factor",
            Some(&p001),
            &json!({"ec_token": P001_TOKEN}),
        )
        .await;
    assert_eq!(factor.status, StatusCode::OK, "{}", factor.body);
    let given = web
        .post("/self/v1/grants", Some(&p001), &grant_body("insurer-a"))
        .await;
    assert_eq!(given.status, StatusCode::CREATED, "{}", given.body);
    let _grant_id = given.body["grant_id"].as_str().unwrap().to_owned();
    let grant_token = given.body["grant_token"].as_str().unwrap().to_owned();
    assert_eq!(given.body["grant"]["status"], "ACTIVE");
    let used = store
        .grant_call(
            &use_call("insurer-a", &grant_token, "u-1", web.now()),
            &token_key(),
            web.now(),
        )
        .await
        .unwrap();
    assert_eq!(used.code, None, "{}", used.body);
    let listed = web.get("/self/v1/grants", &p001).await;
    assert_eq!(listed.body["grants"][0]["status"], "EXHAUSTED");
    assert_eq!(listed.body["grants"][0]["uses_count"], 1);
    // A second grant, revoked before it is used.
    let second = web
        .post("/self/v1/grants", Some(&p001), &grant_body("insurer-a"))
        .await;
    let second_id = second.body["grant_id"].as_str().unwrap().to_owned();
    let second_token = second.body["grant_token"].as_str().unwrap().to_owned();
    let revoked = web
        .raw(
            Method::POST,
            &format!("/self/v1/grants/{second_id}/revoke"),
            Some(&p001),
            Vec::new(),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.body["grant"]["status"], "REVOKED");
    let refused = store
        .grant_call(
            &use_call("insurer-a", &second_token, "u-2", web.now()),
            &token_key(),
            web.now(),
        )
        .await
        .unwrap();
    assert_eq!(refused.code, Some(DenyCode::GrantInvalid));

    // --- Pausing sharing refuses every call; resuming lets them through again.
    let third = web
        .post("/self/v1/grants", Some(&p001), &grant_body("insurer-a"))
        .await;
    let third_token = third.body["grant_token"].as_str().unwrap().to_owned();
    let paused = web
        .post("/self/v1/sharing/pause", Some(&p001), &json!({}))
        .await;
    assert_eq!(paused.body["sharing_paused"], true, "{}", paused.body);
    let blocked = store
        .grant_call(
            &use_call("insurer-a", &third_token, "u-3", web.now()),
            &token_key(),
            web.now(),
        )
        .await
        .unwrap();
    assert_eq!(blocked.code, Some(DenyCode::GrantInvalid));
    let resumed = web
        .post("/self/v1/sharing/resume", Some(&p001), &json!({}))
        .await;
    assert_eq!(resumed.body["sharing_paused"], false);
    let through = store
        .grant_call(
            &use_call("insurer-a", &third_token, "u-4", web.now()),
            &token_key(),
            web.now(),
        )
        .await
        .unwrap();
    assert_eq!(through.code, None, "{}", through.body);

    // --- T7: a family-account binding (P002's bills paid by P001) cannot grant the other's data.
    let p002 = web.sign_in(P002_TOKEN).await;
    let mut for_p001 = grant_body("insurer-a");
    for_p001["for"] = json!("P001");
    let t7 = web.post("/self/v1/grants", Some(&p002), &for_p001).await;
    assert_eq!(
        (t7.status, t7.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("PROXY_DENIED")),
        "{}",
        t7.body
    );
    assert!(t7.body["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("family-account"));
    let t7_view = web.get("/self/v1/data?for=P001", &p002).await;
    assert_eq!(t7_view.body["error"]["code"], "PROXY_DENIED");
    // A stranger is no proxy at all.
    let stranger = web.get("/self/v1/data?for=P004", &p002).await;
    assert_eq!(stranger.body["error"]["code"], "PROXY_DENIED");

    // P001 delegates identity items to P002 (fresh factor): P002 may now view those.
    web.advance(6 * MINUTE);
    let delegation = json!({"proxy": "P002", "items": ["ID02", "IN03"], "valid_days": 30});
    let no_factor = web
        .post("/self/v1/delegations", Some(&p001), &delegation)
        .await;
    assert_eq!(no_factor.body["error"]["code"], "FACTOR_REQUIRED");
    web.post(
        "/self/v1/sessions/factor",
        Some(&p001),
        &json!({"ec_token": P001_TOKEN}),
    )
    .await;
    let delegated = web
        .post("/self/v1/delegations", Some(&p001), &delegation)
        .await;
    assert_eq!(delegated.status, StatusCode::CREATED, "{}", delegated.body);
    let delegation_id = delegated.body["delegation"]["delegation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_delegate = web.get("/self/v1/data?for=P001", &p002).await;
    assert_eq!(as_delegate.status, StatusCode::OK, "{}", as_delegate.body);
    assert_eq!(as_delegate.body["as_proxy"], "delegate");
    assert_eq!(item(&as_delegate.body, "ID02")["values"], json!(["张三"]));
    assert!(item(&as_delegate.body, "ID04")["values"]["withheld"].is_string());
    let family = web.get("/self/v1/family", &p001).await;
    assert_eq!(
        family.body["may_act_for_me"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["relation"] == "delegate")
            .count(),
        1
    );
    // What P002 did shows in both safe boxes.
    assert!(family.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["proxy"] == "P002" && a["action"] == "safebox.view"));
    let family2 = web.get("/self/v1/family", &p002).await;
    assert!(family2.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["subject"] == "P001" && a["action"] == "safebox.view"));
    let ended = web
        .raw(
            Method::POST,
            &format!("/self/v1/delegations/{delegation_id}/end"),
            Some(&p001),
            Vec::new(),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let after_end = web.get("/self/v1/data?for=P001", &p002).await;
    assert_eq!(after_end.body["error"]["code"], "PROXY_DENIED");

    // Guardians: P001 of P015 (10) grants alone; of P016 (14) only with the minor's confirmation.
    for subject in ["P015", "P016"] {
        store
            .record_guardianship(
                &NewGuardianship {
                    subject: subject.into(),
                    guardian: "P001".into(),
                    court: false,
                    document_no: format!("户口簿-{subject}"),
                    verified_by: staff.staff_id,
                },
                web.now(),
            )
            .await
            .unwrap();
    }
    web.post(
        "/self/v1/sessions/factor",
        Some(&p001),
        &json!({"ec_token": P001_TOKEN}),
    )
    .await;
    let mut for_child = grant_body("insurer-a");
    for_child["for"] = json!("P015");
    let child = web.post("/self/v1/grants", Some(&p001), &for_child).await;
    assert_eq!(child.status, StatusCode::CREATED, "{}", child.body);
    let mut for_teen = grant_body("insurer-a");
    for_teen["for"] = json!("P016");
    let teen_alone = web.post("/self/v1/grants", Some(&p001), &for_teen).await;
    assert_eq!(
        teen_alone.body["error"]["code"], "PROXY_DENIED",
        "{}",
        teen_alone.body
    );
    assert!(teen_alone.body["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("14 to 17"));
    for_teen["minor_ec_token"] = json!(P016_TOKEN);
    let teen = web.post("/self/v1/grants", Some(&p001), &for_teen).await;
    assert_eq!(teen.status, StatusCode::CREATED, "{}", teen.body);
    // The teen sees the grant in their own safe box, given by a proxy.
    let p016 = web.sign_in(P016_TOKEN).await;
    let teen_grants = web.get("/self/v1/grants", &p016).await;
    assert_eq!(teen_grants.body["grants"].as_array().unwrap().len(), 1);
    let teen_uses = web.get("/self/v1/uses", &p016).await;
    assert!(teen_uses.body["uses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["event"] == "grant.created" && u["actor"]["kind"] == "proxy"));

    // --- A hospital looked me up (1101): its record, sequenced into the log by the checkpoint.
    store
        .log_interface(&[yibao_store::access_outbox::InterfaceAccess {
            ts_ms: web.now(),
            fixmedins_code: "H14050000001".into(),
            infno: "1101".into(),
            psn_no: "P001".into(),
            write: false,
            request_digest: Some([1; 32]),
            response_digest: None,
        }])
        .await
        .unwrap();

    // --- My uses, each with a receipt that verifies offline against the witnessed checkpoint.
    let log_keys = LogKeys::generate("yibao.test/access-log/v1").unwrap();
    let checkpoint = store.sign_checkpoint(&log_keys).await.unwrap();
    let witness = WitnessKey::generate("audit-office.test").unwrap();
    store
        .witness_cosign(&witness, (web.now() / 1000) as u64)
        .await
        .unwrap();
    let uses = web.get("/self/v1/uses", &p001).await;
    assert_eq!(uses.status, StatusCode::OK, "{}", uses.body);
    let list = uses.body["uses"].as_array().unwrap();
    assert!(
        list.iter().any(|u| u["actor"]["kind"] == "hospital"
            && u["actor"]["fixmedins_code"] == "H14050000001"
            && u["actor"]["infno"] == "1101"),
        "{}",
        uses.body
    );
    let staff_uses: Vec<&Value> = list
        .iter()
        .filter(|u| u["actor"]["kind"] == "staff")
        .collect();
    assert_eq!(staff_uses.len(), 2, "{}", uses.body);
    assert!(staff_uses
        .iter()
        .any(|u| u["actor"]["case_type"] == "registry" && u["actor"]["break_glass"] == false));
    assert!(staff_uses.iter().any(|u| u["actor"]["break_glass"] == true));
    assert_eq!(staff_uses[0]["actor"]["roles"], json!(["inspector"]));
    assert_eq!(staff_uses[0]["actor"]["name_masked"], "王**");
    assert!(list
        .iter()
        .any(|u| u["actor"]["kind"] == "grantee" && u["actor"]["grantee_id"] == "insurer-a"));
    assert!(list.iter().any(|u| u["event"] == "grant.revoked"));
    assert!(list.iter().any(|u| u["event"] == "sharing.paused"));
    assert!(list
        .iter()
        .any(|u| u["actor"]["kind"] == "proxy" && u["actor"]["proxy"] == "P002"));
    let policy = TrustPolicy {
        log: NoteVerifier::log(log_keys.origin(), log_keys.verifying_key()).unwrap(),
        witnesses: vec![NoteVerifier::witness(
            "audit-office.test",
            yibao_gm::VerifyingKey::from_hex(&witness.public_hex()).unwrap(),
        )
        .unwrap()],
        quorum: 1,
    };
    let mut verified = 0;
    for one in list {
        let receipt = &one["receipt"];
        if receipt["pending"].is_string() {
            // Newer than the checkpoint (this trace's own leaf).
            assert!(one["leaf_index"].as_i64().unwrap() >= checkpoint.size);
            continue;
        }
        assert_eq!(receipt["verified"], true);
        let leaf = unhex(receipt["leaf_hex"].as_str().unwrap());
        let proof = yibao_translog::InclusionProof {
            hashes: receipt["proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| unhex(h.as_str().unwrap()).try_into().unwrap())
                .collect(),
        };
        let note = receipt["checkpoint_note"].as_str().unwrap();
        let (decoded, witnessed) = yibao_translog::verify_receipt(
            &leaf,
            receipt["leaf_index"].as_u64().unwrap(),
            &proof,
            note,
            &policy,
        )
        .unwrap();
        assert_eq!(decoded.event_type, one["event"].as_str().unwrap());
        assert_eq!(witnessed.cosigned_by.len(), 1);
        // A receipt moved to another index does not verify.
        assert!(yibao_translog::verify_receipt(
            &leaf,
            receipt["leaf_index"].as_u64().unwrap() + 1,
            &proof,
            note,
            &policy
        )
        .is_err());
        verified += 1;
    }
    assert!(verified >= 10, "only {verified} receipts verified");
    let idx = list.last().unwrap()["leaf_index"].as_i64().unwrap();
    let one = web
        .get(&format!("/self/v1/uses/{idx}/receipt"), &p001)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["verified"], true);
    // Another person's leaf is not mine to ask for.
    let teen_idx = teen_uses.body["uses"][0]["leaf_index"].as_i64().unwrap();
    let theirs = web
        .get(&format!("/self/v1/uses/{teen_idx}/receipt"), &p002)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // --- Hostile input: an oversized body, bad JSON, unknown fields; nothing is written.
    let huge = web
        .raw(
            Method::POST,
            "/self/v1/grants",
            Some(&p001),
            vec![b'{'; 40 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.body["error"]["code"], "TOO_LARGE");
    let bad_json = web
        .raw(
            Method::POST,
            "/self/v1/grants",
            Some(&p001),
            b"{\"grantee_id\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (bad_json.status, bad_json.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("body"))
    );
    let extra = web
        .post(
            "/self/v1/sessions",
            None,
            &json!({"ec_token": P001_TOKEN, "psn_no": "P002"}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    let odd_token = web
        .post(
            "/self/v1/sessions",
            None,
            &json!({"ec_token": "'; DROP TABLE person; --"}),
        )
        .await;
    assert_eq!(
        (odd_token.status, odd_token.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("ec_token"))
    );
    let missing = web.get("/self/v1/nothing", &p001).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // --- Signing out ends the session; an idle session ends by itself.
    let out = web
        .raw(Method::DELETE, "/self/v1/sessions", Some(&p002), Vec::new())
        .await;
    assert_eq!(out.body["signed_out"], true);
    assert_eq!(
        web.get("/self/v1/data", &p002).await.status,
        StatusCode::UNAUTHORIZED
    );
    web.advance(31 * MINUTE);
    assert_eq!(
        web.get("/self/v1/data", &p001).await.status,
        StatusCode::UNAUTHORIZED
    );
    server.abort();
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn safe_box_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    scenario(store).await;
}

#[tokio::test]
async fn safe_box_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, name)) = fresh_store(true, dir.path()).await else {
        return;
    };
    scenario(store.clone()).await;
    store.close().await;
    drop_pg(name).await;
}
