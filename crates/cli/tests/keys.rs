//! Issue 15 item 8: `yibao keys` with the real binary, on SQLite and (when reachable)
//! PostgreSQL: generate a key file, seal visits under it, rotate, rewrap in batches until no
//! value is under the old version, retire it, and every value still opens; retiring too early
//! and a value under a retired version are refused with the version named.

use std::path::Path;
use std::process::{Command as Process, Output};

use sqlx::Connection as _;
use yibao_store::sealing::{self, VISIT_CERT, VISIT_CERT_FAMILY};
use yibao_store::{Command, Envelope, Keyring, Outcome, RegisterOutpatient, Reply, Store};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");
const CLINIC: &str = "H14050000002";

fn yibao(args: &[&str]) -> Output {
    Process::new(BIN)
        .args(args)
        .env_remove("YIBAO_DATA_KEY")
        .env_remove("YIBAO_LOG_KEY")
        .output()
        .expect("run yibao")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn keyring(path: &Path) -> Keyring {
    Keyring::from_text(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str("2025-05-10 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Opens visits at the clinic for the fixture's 310 persons with tokens `tok-{tag}-{n}`,
/// under the key file; their ids and tokens.
async fn visits(url: &str, key: &Path, tag: &str) -> Vec<(String, String)> {
    let store = Store::connect(url)
        .await
        .unwrap()
        .with_keyring(keyring(key));
    let mut opened = Vec::new();
    for (n, psn_no) in ["P001", "P002", "P005"].into_iter().enumerate() {
        let token = format!("tok-{tag}-{n}");
        let cmd = Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: psn_no.into(),
            insutype: "310".into(),
            begntime: now(),
            mdtrt_cert_type: "01".into(),
            mdtrt_cert_no: token.clone(),
            ipt_otp_no: format!("OTP-{tag}-{n}"),
            atddr_no: "D001".into(),
            dr_name: "医生".into(),
            dept_code: "A03".into(),
            dept_name: "内科".into(),
            caty: "A03".into(),
            referral: false,
        });
        let mut request_hash = [0u8; 32];
        request_hash[..token.len().min(32)]
            .copy_from_slice(&token.as_bytes()[..token.len().min(32)]);
        let env = Envelope {
            fixmedins_code: CLINIC.into(),
            msgid: format!("K-{tag}-{n}"),
            infno: "2201".into(),
            request_hash,
            mdtrtarea_admvs: "140500".into(),
            now: now(),
        };
        let reply = store
            .execute(&env, cmd, &|o: &Outcome| format!("{o:?}"))
            .await
            .unwrap();
        match reply {
            Reply::Fresh {
                outcome: Outcome::VisitOpened { mdtrt_id, .. },
                ..
            } => opened.push((mdtrt_id, token)),
            other => panic!("2201 gave {other:?}"),
        }
    }
    store.close().await;
    opened
}

async fn stored(url: &str, mdtrt_id: &str) -> String {
    let sql = "SELECT mdtrt_cert_no FROM visit WHERE mdtrt_id = $1";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(mdtrt_id)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(mdtrt_id)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

async fn logged_actions(url: &str) -> Vec<String> {
    let sql = "SELECT action FROM access_log ORDER BY idx";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}

async fn put(url: &str, mdtrt_id: &str, value: &str) {
    let sql = "UPDATE visit SET mdtrt_cert_no = $1 WHERE mdtrt_id = $2";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(value)
            .bind(mdtrt_id)
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(value)
            .bind(mdtrt_id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn all_open(url: &str, key: &Path, opened: &[(String, String)], version: u32) {
    let keyring = keyring(key);
    for (mdtrt_id, token) in opened {
        let value = stored(url, mdtrt_id).await;
        assert!(
            value.starts_with(&format!("v{version}:")),
            "{mdtrt_id}: {value}"
        );
        assert_eq!(
            sealing::open_field(&keyring, &VISIT_CERT, mdtrt_id, &value).unwrap(),
            *token
        );
    }
}

async fn import(url: &str, key: &Path, dir: &Path) {
    let store = Store::connect(url)
        .await
        .unwrap()
        .with_keyring(keyring(key));
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
    store.close().await;
}

async fn rotation_procedure(url: &str, dir: &Path) {
    let key = dir.join("data.key");
    let key_arg = key.to_str().unwrap();
    ok(yibao(&["keys", "generate", "--out", key_arg]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!yibao(&["keys", "generate", "--out", key_arg])
        .status
        .success());
    import(url, &key, dir).await;
    let first = visits(url, &key, "a").await;
    let old_value = stored(url, &first[0].0).await;
    let db = ["--db", url, "--data-key", key_arg];

    let out = ok(yibao(&[&["keys", "rotate"][..], &db[..]].concat()));
    assert_eq!(out.trim(), "rotated: visit.mdtrt_cert_no v2");
    let second = visits(url, &key, "b").await;
    all_open(url, &key, &first, 1).await;
    all_open(url, &key, &second, 2).await;
    let out = ok(yibao(&[&["keys", "status"][..], &db[..]].concat()));
    assert_eq!(
        out,
        "visit.mdtrt_cert_no family=visit.mdtrt_cert_no active=v2 v1=3 v2=3 clear=0 unknown_version=0\n\
         ec_token indexed=2 clear=0\nrewrap pending=3\n"
    );
    let early = yibao(
        &[
            &[
                "keys",
                "retire",
                "--family",
                VISIT_CERT_FAMILY,
                "--version",
                "1",
            ][..],
            &db[..],
        ]
        .concat(),
    );
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(
        String::from_utf8_lossy(&early.stderr)
            .contains("3 values of visit.mdtrt_cert_no are still sealed under version 1"),
        "{}",
        text(&early)
    );

    let out = ok(yibao(
        &[&["keys", "rewrap", "--batch", "2"][..], &db[..]].concat(),
    ));
    assert_eq!(
        out.trim(),
        "rewrapped: 3 values re-sealed, 0 tokens indexed in 2 batches"
    );
    let out = ok(yibao(&[&["keys", "rewrap"][..], &db[..]].concat()));
    assert_eq!(
        out.trim(),
        "rewrapped: 0 values re-sealed, 0 tokens indexed in 0 batches"
    );
    ok(yibao(
        &[
            &[
                "keys",
                "retire",
                "--family",
                VISIT_CERT_FAMILY,
                "--version",
                "1",
            ][..],
            &db[..],
        ]
        .concat(),
    ));
    assert_eq!(keyring(&key).versions(VISIT_CERT_FAMILY), vec![2]);
    assert_eq!(
        logged_actions(url).await,
        [
            "yibao keys rotate",
            "yibao keys rewrap",
            "yibao keys rewrap",
            "yibao keys retire"
        ]
    );
    all_open(url, &key, &first, 2).await;
    all_open(url, &key, &second, 2).await;

    // A value under the retired version fails, naming it.
    put(url, &first[0].0, &old_value).await;
    let out = yibao(&[&["keys", "rewrap"][..], &db[..]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("key version 1 of visit.mdtrt_cert_no is not in the key file"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn rotate_rewrap_retire_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display());
    rotation_procedure(&url, dir.path()).await;
}

#[tokio::test]
async fn rotate_rewrap_retire_on_postgres() {
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) => {
            assert!(
                std::env::var("YIBAO_REQUIRE_PG").is_err(),
                "PostgreSQL required but unreachable: {e}"
            );
            return;
        }
    };
    let name = format!("yibao_cli_keys_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    let dir = tempfile::tempdir().unwrap();
    rotation_procedure(&format!("{base}/{name}"), dir.path()).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// `yibao serve` on a SQLite file without `--data-key` creates `FILE.datakey` beside it, and
/// the maintenance commands find it there; once tokens are indexed under it, serve refuses to
/// replace a lost file with a new one.
#[test]
fn a_sqlite_database_gets_its_key_file_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("side.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let missing = yibao(&["keys", "status", "--db", &url]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("side.db.datakey does not exist"),
        "{}",
        text(&missing)
    );
    let mut server = Process::new(BIN)
        .args(["serve", "--db", &url, "--addr", "127.0.0.1:0", "--no-auth"])
        .env_remove("YIBAO_DATA_KEY")
        .env_remove("YIBAO_LOG_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let killed = Process::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(server.wait().unwrap().success(), "{stderr}");
    assert!(stderr.contains("created the data key file"), "{stderr}");
    let mut key_file = db.as_os_str().to_owned();
    key_file.push(".datakey");
    assert_eq!(
        Keyring::from_text(&std::fs::read_to_string(&key_file).unwrap())
            .unwrap()
            .versions(VISIT_CERT_FAMILY),
        vec![1]
    );
    let out = ok(yibao(&["keys", "status", "--db", &url]));
    assert!(out.contains("active=v1 v1=0 clear=0"), "{out}");

    // Tokens indexed under that file; with the file gone, serve refuses to make a new one.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(import(&url, Path::new(&key_file), dir.path()));
    std::fs::remove_file(&key_file).unwrap();
    let refused = yibao(&["serve", "--db", &url, "--addr", "127.0.0.1:0", "--no-auth"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("restore that key file"),
        "{}",
        text(&refused)
    );
    assert!(!Path::new(&key_file).exists());
}
