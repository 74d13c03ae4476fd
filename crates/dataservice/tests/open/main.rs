//! The data service end to end: the router on a free local port over a fresh SQLite file and a
//! fresh PostgreSQL database, called over HTTP with SM2-signed requests (spec §6.1, §12 T1–T3).

use std::path::Path;

use chrono::NaiveDate;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::{json, Value};
use sqlx::Connection as _;
use yibao_dataservice::signing::{answer_message, hex, signing_message, unhex};
use yibao_dataservice::{Clock, DataServiceConfig};
use yibao_gm::SigningKey;
use yibao_privacy::grant::{
    DataScope, FactorKind, FactorUse, GrantDraft, Grantee, Grantor, Notice,
};
use yibao_privacy::time::{DAY_MS, MINUTE_MS};
use yibao_privacy::{Millis, Mode, OutputForm, Purpose};
use yibao_store::grants::{GranteeKind, NewGrantee, TokenKey};
use yibao_store::{LogKeys, Store, WitnessKey};
use yibao_translog::{NoteVerifier, TrustPolicy};

/// 2026-03-02 10:00:00 UTC.
fn t0() -> i64 {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh store with the store crate's fixture registry; `None` for PostgreSQL when it is
/// unreachable (and `YIBAO_REQUIRE_PG` is not set).
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
            "yibao_open_{}_{}",
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
            format!("sqlite://{}?mode=rwc", dir.join("open.db").display()),
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
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

fn token_key() -> TokenKey {
    TokenKey::from_bytes([9; 32])
}

/// A grantee's client: its key, the server's address.
struct GranteeClient {
    id: String,
    key: SigningKey,
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// One response.
struct Answer {
    status: StatusCode,
    body: Value,
    raw: Bytes,
    bureau_signature: Option<String>,
    replayed: bool,
}

impl GranteeClient {
    /// Sends `body` to `path`, signed with `key` at `timestamp_ms` with `nonce`.
    async fn send_with(
        &self,
        key: &SigningKey,
        path: &str,
        body: &Value,
        timestamp_ms: i64,
        nonce: &str,
    ) -> Answer {
        let bytes = body.to_string().into_bytes();
        let message = signing_message("POST", path, timestamp_ms, nonce, &bytes, &self.id);
        let signature = hex(&yibao_gm::sign(key, &message).to_bytes());
        let request = hyper::Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("x-grantee", &self.id)
            .header("x-timestamp", timestamp_ms.to_string())
            .header("x-nonce", nonce)
            .header("x-signature", signature)
            .body(Full::new(Bytes::from(bytes)))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status();
        let bureau_signature = response
            .headers()
            .get("x-bureau-signature")
            .map(|v| v.to_str().unwrap().to_owned());
        let replayed = response.headers().contains_key("x-replayed");
        let raw = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            raw,
            bureau_signature,
            replayed,
        }
    }

    /// `GET path`, signed with `key` (an empty body) at `timestamp_ms` with `nonce`.
    async fn get_with(
        &self,
        key: &SigningKey,
        path: &str,
        timestamp_ms: i64,
        nonce: &str,
    ) -> Answer {
        let message = signing_message("GET", path, timestamp_ms, nonce, b"", &self.id);
        let signature = hex(&yibao_gm::sign(key, &message).to_bytes());
        let request = hyper::Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base))
            .header("x-grantee", &self.id)
            .header("x-timestamp", timestamp_ms.to_string())
            .header("x-nonce", nonce)
            .header("x-signature", signature)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status();
        let raw = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            raw,
            bureau_signature: None,
            replayed: false,
        }
    }

    async fn send(&self, path: &str, body: &Value, nonce: &str) -> Answer {
        self.send_with(&self.key, path, body, t0(), nonce).await
    }
}

fn draft(grant_id: &str, grantee: &str, purpose: Purpose) -> GrantDraft {
    let now = Millis(t0());
    let items = |text: &str| yibao_privacy::builtin().parse_items(text).unwrap();
    let base = GrantDraft {
        grant_id: grant_id.into(),
        subject: "P001".into(),
        subject_age_years: Some(46),
        grantor: Grantor::Subject,
        grantee: Grantee::Organisation(grantee.into()),
        product_id: "A-MED-2026".into(),
        purpose: Purpose::P01,
        items: items("ID02 ID04 IN01 IN03"),
        confirmed_items: items("ID04"),
        separate_level3_consent: false,
        scope: DataScope::Period {
            from: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        },
        output_form: OutputForm::Derived,
        mode: Mode::Once,
        not_before: now,
        not_after: now.plus(30 * MINUTE_MS),
        policy_end: None,
        notice: Notice {
            text_version: "v1".into(),
            text_digest: yibao_gm::hash(b"notice"),
            retention: "30 days".into(),
        },
        factors: vec![FactorUse {
            kind: FactorKind::EVoucher,
            verified_at: now.plus(-MINUTE_MS),
            evidence_ref: "ec-1".into(),
        }],
        consented_at: now,
    };
    match purpose {
        Purpose::P05 => GrantDraft {
            purpose: Purpose::P05,
            items: items("ST01 ST04"),
            confirmed_items: items("ST01 ST04"),
            scope: DataScope::Period {
                from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            },
            output_form: OutputForm::MaskedFields,
            mode: Mode::Limited(3),
            not_after: now.plus(30 * DAY_MS),
            ..base
        },
        _ => base,
    }
}

async fn scenario(store: Store) {
    let bureau = SigningKey::generate().unwrap();
    let config = DataServiceConfig {
        token_key: token_key(),
        bureau_key: Some(bureau.clone()),
        clock: Clock::new(|| t0() + 1_000),
    };
    let app = yibao_dataservice::router(store.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let key = SigningKey::generate().unwrap();
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: "insurer-a".into(),
                name: "保险 A".into(),
                kind: GranteeKind::Insurer,
                public_key: key.verifying_key(),
                purposes: vec![Purpose::P01, Purpose::P05],
            },
            t0(),
        )
        .await
        .unwrap();
    let a = GranteeClient {
        id: "insurer-a".into(),
        key,
        base: format!("http://{addr}"),
        client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
    };
    let once = store
        .give_grant(draft("g1", "insurer-a", Purpose::P01), &token_key())
        .await
        .unwrap();
    let limited = store
        .give_grant(draft("g5", "insurer-a", Purpose::P05), &token_key())
        .await
        .unwrap();

    let identity = json!({
        "grant_token": once.token,
        "request_id": "u-1",
        "name": "张三",
        "id_number_sm3": hex(&yibao_gm::hash(b"140502198001011234")),
    });
    let ok = a.send("/open/v1/identity-checks", &identity, "n-1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["items"], json!(["ID02", "ID04", "IN01", "IN03"]));
    assert_eq!(
        ok.body["answer"],
        json!({"name_matches": true, "id_matches": true, "insured": true, "insutype": "310"})
    );
    // The bureau signed what it answered.
    let signature =
        yibao_gm::Signature::from_bytes(&unhex(&ok.bureau_signature.unwrap()).unwrap()).unwrap();
    let message = answer_message("/open/v1/identity-checks", "insurer-a", "n-1", &ok.raw);
    assert!(yibao_gm::verify(&bureau.verifying_key(), &message, &signature).is_ok());

    // The same signed request again: its nonce was used.
    let again = a.send("/open/v1/identity-checks", &identity, "n-1").await;
    assert_eq!(
        (again.status, again.body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("REPLAY"))
    );
    // A retry under a new nonce: the stored answer, nothing consumed.
    let retry = a.send("/open/v1/identity-checks", &identity, "n-2").await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(retry.replayed);
    assert_eq!(retry.raw, ok.raw);
    // A new request id on the ONCE grant.
    let mut second = identity.clone();
    second["request_id"] = json!("u-2");
    let exhausted = a.send("/open/v1/identity-checks", &second, "n-3").await;
    assert_eq!(
        exhausted.body["error"]["code"],
        json!("GRANT_EXHAUSTED"),
        "{}",
        exhausted.body
    );

    // Signed by another key.
    let query = json!({"grant_token": limited.token, "request_id": "s-1"});
    let intruder = SigningKey::generate().unwrap();
    let forged = a
        .send_with(&intruder, "/open/v1/settlements/query", &query, t0(), "n-4")
        .await;
    assert_eq!(
        (forged.status, forged.body["error"]["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("SIGNATURE_INVALID"))
    );
    // Six minutes old.
    let stale = a
        .send_with(
            &a.key,
            "/open/v1/settlements/query",
            &query,
            t0() - 6 * MINUTE_MS,
            "n-5",
        )
        .await;
    assert_eq!(
        (stale.status, stale.body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("REPLAY"))
    );
    // An item outside the grant.
    let wide =
        json!({"grant_token": limited.token, "request_id": "s-2", "items": ["ST01", "ST02"]});
    let denied = a.send("/open/v1/settlements/query", &wide, "n-6").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["error"]["code"], json!("SCOPE_DENIED"));
    assert_eq!(denied.body["error"]["refused_items"], json!(["ST02"]));
    // In scope: masked settlement summaries (none settled in the fixture) with the items carried.
    let fine = a.send("/open/v1/settlements/query", &query, "n-7").await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    assert_eq!(fine.body["items"], json!(["ST01", "ST04"]));
    assert_eq!(fine.body["output_form"], json!("masked_fields"));
    assert_eq!(fine.body["answer"]["settlements"], json!([]));

    // The receipt of that call: pending until the sequencer takes its record, then its leaf,
    // then, once a checkpoint is signed and witnessed, a proof that verifies offline.
    let log_ref = fine.body["log_ref"].as_i64().unwrap();
    let path = format!("/open/v1/receipts/{log_ref}");
    let pending = a.get_with(&a.key, &path, t0(), "r-1").await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    assert!(pending.body["pending"].is_string(), "{}", pending.body);
    store.drain_outbox().await.unwrap();
    let sequenced = a.get_with(&a.key, &path, t0(), "r-2").await;
    assert!(sequenced.body["leaf_index"].is_i64(), "{}", sequenced.body);
    assert!(sequenced.body["pending"].is_string(), "{}", sequenced.body);
    let log_keys = LogKeys::generate("yibao.test/access-log/v1").unwrap();
    store.sign_checkpoint(&log_keys).await.unwrap();
    let witness = WitnessKey::generate("audit-office.test").unwrap();
    store
        .witness_cosign(&witness, (t0() / 1_000) as u64)
        .await
        .unwrap();
    let proven = a.get_with(&a.key, &path, t0(), "r-3").await;
    assert_eq!(proven.body["verified"], json!(true), "{}", proven.body);
    assert_eq!(proven.body["log_ref"], json!(log_ref));
    let policy = TrustPolicy {
        log: NoteVerifier::log(log_keys.origin(), log_keys.verifying_key()).unwrap(),
        witnesses: vec![NoteVerifier::witness(
            "audit-office.test",
            yibao_gm::VerifyingKey::from_hex(&witness.public_hex()).unwrap(),
        )
        .unwrap()],
        quorum: 1,
    };
    let proof = yibao_translog::InclusionProof {
        hashes: proven.body["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| unhex(h.as_str().unwrap()).unwrap().try_into().unwrap())
            .collect(),
    };
    let (leaf, _) = yibao_translog::verify_receipt(
        &unhex(proven.body["leaf_hex"].as_str().unwrap()).unwrap(),
        proven.body["leaf_index"].as_u64().unwrap(),
        &proof,
        proven.body["checkpoint_note"].as_str().unwrap(),
        &policy,
    )
    .unwrap();
    assert_eq!(leaf.event_type, "data.call");
    // Only the grantee that made the call gets its receipt; a forged or stale request, none.
    let b_key = SigningKey::generate().unwrap();
    store
        .register_grantee(
            &NewGrantee {
                grantee_id: "insurer-b".into(),
                name: "保险 B".into(),
                kind: GranteeKind::Insurer,
                public_key: b_key.verifying_key(),
                purposes: vec![Purpose::P05],
            },
            t0(),
        )
        .await
        .unwrap();
    let b = GranteeClient {
        id: "insurer-b".into(),
        key: b_key,
        base: a.base.clone(),
        client: a.client.clone(),
    };
    let foreign = b.get_with(&b.key, &path, t0(), "r-4").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    assert_eq!(foreign.body["error"]["field"], json!("log_ref"));
    let forged = a.get_with(&intruder, &path, t0(), "r-5").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let stale = a.get_with(&a.key, &path, t0() - 6 * MINUTE_MS, "r-6").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let bad = a
        .get_with(&a.key, "/open/v1/receipts/abc", t0(), "r-7")
        .await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("log_ref"))
    );

    // Revoked by the person: the next call is refused.
    store
        .revoke_grant("g5", "P001", &token_key(), t0() + 500)
        .await
        .unwrap();
    let after = a
        .send(
            "/open/v1/settlements/query",
            &json!({"grant_token": limited.token, "request_id": "s-3"}),
            "n-8",
        )
        .await;
    assert_eq!(
        (after.status, after.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("GRANT_INVALID"))
    );
    let stored = store.grant("g5", &token_key()).await.unwrap().unwrap();
    assert_eq!(stored.grant.uses_left(), Some(2));

    // P03 without a grant for this grantee's token: the claims endpoint refuses like the others.
    let claims = a
        .send(
            "/open/v1/claims/results",
            &json!({"grant_token": once.token, "request_id": "c-1"}),
            "n-11",
        )
        .await;
    assert_eq!(
        claims.body["error"]["code"],
        json!("GRANT_INVALID"),
        "{}",
        claims.body
    );

    // Bad input is 400 and writes nothing; an unknown path is 404.
    let bad = a
        .send(
            "/open/v1/settlements/query",
            &json!({"grant_token": "x"}),
            "n-9",
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = a.send("/open/v1/nothing", &json!({}), "n-10").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    server.abort();
}

#[tokio::test]
async fn signed_calls_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_store(false, dir.path()).await.unwrap();
    scenario(store).await;
}

#[tokio::test]
async fn signed_calls_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let Some((store, name)) = fresh_store(true, dir.path()).await else {
        return;
    };
    scenario(store.clone()).await;
    store.close().await;
    drop_pg(name).await;
}
