//! `spawn_app()`: a real server on port 0 over a fresh migrated database (SQLite file or a new
//! PostgreSQL database) holding a small generated city, and a signing HTTP client.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::Datelike;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde_json::{json, Value};
use yibao_server::{RequestClock, ServerConfig, SignInRule};
use yibao_store::{Institution, Store};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A new database on the PostgreSQL server at `DATABASE_URL`.
    Postgres,
}

/// Persons of the generated city, for building messages.
#[derive(Debug, Clone)]
pub struct Person {
    pub psn_no: String,
    pub certno: String,
    pub insutype: String,
    pub psn_type: String,
    pub insuplc_admdvs: String,
    pub balance_fen: Option<i64>,
}

/// A catalogue item with a price the hospital may charge.
#[derive(Debug, Clone)]
pub struct Item {
    pub med_list_codg: String,
    pub pric_micro: i64,
    /// 收费项目等级 (`01` 甲, `02` 乙, `03` 丙).
    pub chrgitm_lv: String,
    /// Restricted use (限制使用): covered only with the hospital's approval.
    pub lmt_used_flag: bool,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub institutions: Vec<Arc<Institution>>,
    pub persons: Vec<Person>,
    pub items: Vec<Item>,
    /// Persons whose bills family accounts may pay (共济), from `family_bindings.csv`.
    pub family_bound: Vec<String>,
    /// Chronic disease recognitions, `psn_no` → (`opsp_dise_code`, `begndate`), from
    /// `chronic_recognitions.csv`.
    pub chronic: HashMap<String, (String, String)>,
    pub region: String,
    server: Option<yibao_server::RunningServer>,
    /// The per-test PostgreSQL database, dropped by [`TestApp::stop`].
    pg_database: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
    _dir: tempfile::TempDir,
}

const PERSONS: u64 = 400;
/// The generated city's seed (its credentials are derived from it).
pub const SEED: u64 = 20_260_101;

/// The PostgreSQL server the tests use.
fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn write_registry(dir: &Path, today: chrono::NaiveDate) -> String {
    let config = yibao_city::CityConfig::new(PERSONS, SEED, today);
    yibao_city::write::write_registry(dir, &config).unwrap();
    let catalogue = yibao_policy::demo_catalogue(SEED);
    std::fs::write(
        dir.join("catalogue.csv"),
        yibao_policy::write_catalogue_csv(&catalogue).unwrap(),
    )
    .unwrap();
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for (file, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        let name = Path::new(file).file_name().unwrap();
        std::fs::write(policies.join(name), text).unwrap();
        // The reference policies are for a past year; the server settles at today's date, so the
        // same rules are carried forward to this year.
        let year = today.year();
        let id = name.to_str().unwrap().trim_end_matches(".toml");
        let (admdvs, policy_year) = id.split_once('-').unwrap();
        if policy_year != year.to_string() {
            let carried = text
                .replace(
                    &format!("id = \"{id}\""),
                    &format!("id = \"{admdvs}-{year}\""),
                )
                .replace(
                    &format!("effective_from = \"{policy_year}-"),
                    &format!("effective_from = \"{year}-"),
                )
                .replace(
                    &format!("effective_until = \"{policy_year}-"),
                    &format!("effective_until = \"{year}-"),
                );
            std::fs::write(policies.join(format!("{admdvs}-{year}.toml")), carried).unwrap();
        }
    }
    config.region
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A fresh PostgreSQL database for one test, or `None` (with a notice) when the server is not
/// reachable and `YIBAO_REQUIRE_PG` is not set.
async fn fresh_pg_database() -> Option<String> {
    use sqlx::Connection as _;
    let admin_url = pg_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(err) => {
            assert!(
                std::env::var("YIBAO_REQUIRE_PG").is_err(),
                "PostgreSQL required but unreachable: {err}"
            );
            eprintln!("notice: PostgreSQL at {admin_url} unreachable ({err}); skipping the PostgreSQL run");
            return None;
        }
    };
    let name = format!(
        "yibao_server_{}_{}",
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
    Some(format!("{base}/{name}"))
}

/// Starts a server with authentication on over a fresh database with the generated city.
/// Returns `None` only for PostgreSQL when it is unreachable (and not required).
pub async fn spawn_app(db: Db) -> Option<TestApp> {
    spawn_app_with(db, SignInRule::Count).await
}

/// [`spawn_app`] with a sign-in rule.
pub async fn spawn_app_with(db: Db, sign_in: SignInRule) -> Option<TestApp> {
    spawn_app_config(
        db,
        ServerConfig {
            auth: true,
            sign_in,
            ..Default::default()
        },
    )
    .await
}

/// [`spawn_app`] with a server configuration.
pub async fn spawn_app_config(db: Db, config: ServerConfig) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let today = RequestClock::now().beijing.date();
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let region = write_registry(&registry, today);
    let url = match db {
        Db::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("yibao.db").display()
        ),
        Db::Postgres => fresh_pg_database().await?,
    };
    let store = Store::connect(&url).await.unwrap();
    store.import_registry(&registry).await.unwrap();
    let server = yibao_server::spawn(store.clone(), config).await.unwrap();

    let balances: HashMap<String, i64> = read_csv(&registry.join("accounts.csv"))
        .into_iter()
        .map(|row| {
            (
                row["psn_no"].clone(),
                yibao_server::wire::scalar::parse_decimal(&row["balance"], 2).unwrap(),
            )
        })
        .collect();
    let certnos: HashMap<String, String> = read_csv(&registry.join("persons.csv"))
        .into_iter()
        .map(|row| (row["psn_no"].clone(), row["certno"].clone()))
        .collect();
    let persons = read_csv(&registry.join("insurance.csv"))
        .into_iter()
        .filter(|row| {
            row["psn_insu_stas"] == "1"
                && row["enddate"].is_empty()
                && row["insuplc_admdvs"] == region
        })
        .map(|row| Person {
            certno: certnos[&row["psn_no"]].clone(),
            balance_fen: balances.get(&row["psn_no"]).copied(),
            psn_no: row["psn_no"].clone(),
            insutype: row["insutype"].clone(),
            psn_type: row["psn_type"].clone(),
            insuplc_admdvs: row["insuplc_admdvs"].clone(),
        })
        .collect();
    let items = yibao_policy::demo_catalogue(SEED)
        .into_iter()
        .map(|entry| Item {
            // Charge within the cap (or 12.34 yuan where there is none).
            pric_micro: entry.pric_uplmt_amt.map(|cap| cap.0).unwrap_or(12_340_000),
            chrgitm_lv: entry.chrgitm_lv.code().to_owned(),
            lmt_used_flag: entry.lmt_used_flag,
            med_list_codg: entry.med_list_codg,
        })
        .collect();
    let family_bound = read_csv(&registry.join("family_bindings.csv"))
        .into_iter()
        .filter(|row| row["enddate"].is_empty())
        .map(|row| row["psn_no"].clone())
        .collect();
    let chronic = read_csv(&registry.join("chronic_recognitions.csv"))
        .into_iter()
        .map(|row| {
            (
                row["psn_no"].clone(),
                (row["opsp_dise_code"].clone(), row["begndate"].clone()),
            )
        })
        .collect();
    let institutions = store
        .institutions()
        .into_iter()
        .filter(|inst| inst.active && inst.admdvs == region)
        .collect();
    Some(TestApp {
        addr: server.addr(),
        store,
        institutions,
        persons,
        items,
        family_bound,
        chronic,
        region,
        server: Some(server),
        pg_database: (db == Db::Postgres).then(|| url.rsplit_once('/').unwrap().1.to_owned()),
        client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        _dir: dir,
    })
}

/// A message id in the spec's shape: institution code + time + a sequence.
pub fn msgid(inst: &Institution, sequence: u32) -> String {
    let stamp = RequestClock::now()
        .beijing
        .format("%Y%m%d%H%M%S")
        .to_string();
    let id = format!("{}{stamp}{sequence:04}", inst.fixmedins_code);
    id.chars().take(30).collect()
}

/// Now in Beijing time, `yyyy-MM-dd HH:mm:ss`.
pub fn now_text() -> String {
    RequestClock::now()
        .beijing
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl TestApp {
    /// An envelope from `inst` around `input`.
    pub fn envelope(&self, inst: &Institution, infno: &str, msgid: &str, input: Value) -> Value {
        json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": inst.admdvs, "insuplc_admdvs": self.region,
            "recer_sys_code": "FSI_LOCAL", "dev_no": "1", "dev_safe_info": "1", "cainfo": "1", "signtype": "1",
            "infver": "1.0", "opter_type": "1", "opter": "123", "opter_name": "测试", "inf_time": now_text(),
            "fixmedins_code": inst.fixmedins_code, "fixmedins_name": inst.fixmedins_name, "sign_no": "",
            "input": input
        })
    }

    /// Posts `body` to `path` signed as `inst` (or unsigned); returns the status and JSON body.
    pub async fn post_raw(
        &self,
        path: &str,
        signer: Option<(&Institution, &str)>,
        body: String,
    ) -> (u16, Value) {
        let mut request = hyper::Request::post(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json;charset=utf-8");
        if let Some((inst, api_name)) = signer {
            let timestamp = RequestClock::now().unix_ms;
            let signature = yibao_server::auth::sign(
                &inst.secret_key,
                &inst.access_key,
                api_name,
                timestamp,
                "1.0.0",
            );
            request = request
                .header("_api_name", api_name)
                .header("_api_version", "1.0.0")
                .header("_api_timestamp", timestamp.to_string())
                .header("_api_access_key", &inst.access_key)
                .header("_api_signature", signature);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/json;charset=utf-8"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("not JSON ({err}): {bytes:?}")),
        )
    }

    /// Declares a body larger than the limit and sends only its first byte: the server must
    /// answer from the declared length alone, before reading (or parsing) the body.
    pub async fn post_declared_oversized(&self, inst: &Institution) -> (u16, Value) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let timestamp = RequestClock::now().unix_ms;
        let signature = yibao_server::auth::sign(
            &inst.secret_key,
            &inst.access_key,
            "2204",
            timestamp,
            "1.0.0",
        );
        let head = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             _api_name: 2204\r\n_api_version: 1.0.0\r\n_api_timestamp: {timestamp}\r\n\
             _api_access_key: {}\r\n_api_signature: {signature}\r\n\r\n{{",
            yibao_server::infno::CALL_SERVICE_PATH,
            self.addr,
            yibao_server::limits::BODY_BYTES_MAX + 1,
            inst.access_key,
        );
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0_u8; 4096];
        loop {
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buffer))
                    .await
                    .expect("the server answers without waiting for the body")
                    .unwrap();
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap();
                if body.len() >= length || n == 0 {
                    let status = head[9..12].parse().unwrap();
                    return (status, serde_json::from_str(&body[..length]).unwrap());
                }
            }
            assert!(n > 0, "connection closed early: {text}");
        }
    }

    /// Sends one transaction signed as `inst` to the single endpoint.
    pub async fn call(&self, inst: &Institution, infno: &str, msgid: &str, input: Value) -> Value {
        let body = self.envelope(inst, infno, msgid, input).to_string();
        let (status, value) = self
            .post_raw(
                yibao_server::infno::CALL_SERVICE_PATH,
                Some((inst, infno)),
                body,
            )
            .await;
        assert_eq!(status, 200, "{value}");
        value
    }

    /// Like [`TestApp::call`] with the envelope's `sign_no` set to `sign_no`.
    pub async fn call_signed(
        &self,
        inst: &Institution,
        infno: &str,
        msgid: &str,
        sign_no: &str,
        input: Value,
    ) -> Value {
        let mut envelope = self.envelope(inst, infno, msgid, input);
        envelope["sign_no"] = json!(sign_no);
        let (status, value) = self
            .post_raw(
                yibao_server::infno::CALL_SERVICE_PATH,
                Some((inst, infno)),
                envelope.to_string(),
            )
            .await;
        assert_eq!(status, 200, "{value}");
        value
    }

    /// Messages of `fixmedins_code` the server served today without a valid sign-in.
    pub fn unsigned_calls(&self, fixmedins_code: &str) -> u64 {
        self.server
            .as_ref()
            .expect("the server runs")
            .unsigned_calls(fixmedins_code)
    }

    /// Requests of `infno` the server has timed since it started.
    pub fn timed(&self, infno: &str) -> u64 {
        self.server
            .as_ref()
            .expect("the server runs")
            .latency()
            .summaries()
            .iter()
            .find(|s| s.infno == infno)
            .map_or(0, |s| s.count)
    }

    /// Like [`TestApp::call`], asserting success; returns `output`.
    pub async fn ok(&self, inst: &Institution, infno: &str, msgid: &str, input: Value) -> Value {
        let value = self.call(inst, infno, msgid, input).await;
        assert_eq!(value["infcode"], json!(0), "{infno}: {value}");
        value["output"].clone()
    }

    /// Like [`TestApp::call`], asserting failure; returns `err_msg`.
    pub async fn refused(
        &self,
        inst: &Institution,
        infno: &str,
        msgid: &str,
        input: Value,
    ) -> String {
        let value = self.call(inst, infno, msgid, input).await;
        assert_eq!(value["infcode"], json!(-1), "{infno}: {value}");
        value["err_msg"].as_str().unwrap().to_owned()
    }

    /// Row counts of every table (to show a refused request wrote nothing).
    pub async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        self.store.row_counts().await.unwrap()
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        self.store.close().await;
        if let Some(name) = self.pg_database.take() {
            // Best effort: a database left behind by a failed drop is only clutter.
            use sqlx::Connection as _;
            if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_url()).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(err) = sqlx::query(&drop).execute(&mut admin).await {
                    eprintln!("notice: could not drop the test database {name}: {err}");
                }
            }
        }
    }
}
