//! `yibao log` with the real binary, on SQLite and (when reachable) PostgreSQL: keygen,
//! checkpoint, proof, witness and verify; the log tampered with behind the server's back (an
//! UPDATE after dropping the append-only trigger, a DELETE, two rows swapped, a forged row)
//! exits 1 naming the leaf; intact exits 0; a bad URL exits 2. And `yibao serve` stopped by
//! SIGTERM signs a checkpoint covering every leaf.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use sqlx::Connection as _;
use yibao_store::{AccessEntry, Decision, Store};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn yibao(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("YIBAO_LOG_KEY")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A database to test on: its URL and, for PostgreSQL, the admin URL and name to drop.
struct Db {
    url: String,
    pg: Option<(String, String)>,
}

impl Db {
    fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    async fn sql(&self, sql: &str) -> Result<(), sqlx::Error> {
        if self.is_pg() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            sqlx::query(sql).execute(&mut conn).await?;
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            sqlx::query(sql).execute(&mut conn).await?;
        }
        Ok(())
    }

    /// Runs `sql` as the database owner would, dropping the append-only triggers first.
    async fn tamper(&self, sql: &str) {
        let drops: &[&str] = if self.is_pg() {
            &["DROP TRIGGER IF EXISTS access_log_append_only ON access_log"]
        } else {
            &[
                "DROP TRIGGER IF EXISTS log_leaf_no_update",
                "DROP TRIGGER IF EXISTS log_leaf_no_delete",
            ]
        };
        for drop in drops {
            self.sql(drop).await.unwrap();
        }
        self.sql(sql).await.unwrap();
    }

    async fn drop_pg(&self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

async fn sqlite(dir: &Path, name: &str) -> Db {
    Db {
        url: format!("sqlite://{}?mode=rwc", dir.join(name).display()),
        pg: None,
    }
}

async fn postgres(label: &str) -> Option<Db> {
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
    let name = format!("yibao_cli_log_{label}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(Db {
        url: format!("{base}/{name}"),
        pg: Some((admin, name)),
    })
}

/// Six leaves, and a checkpoint of size 6 signed by the binary with a new key file.
async fn six_signed(db: &Db, dir: &Path) {
    let store = Store::connect(&db.url).await.unwrap();
    for n in 0..6 {
        store
            .log_access(&AccessEntry {
                ts_ms: 1_780_000_000_000 + n,
                event: "data.read".into(),
                staff_id: Some(7),
                action: "GET /api/v1/persons/{psn_no}".into(),
                subject_ref: yibao_store::staff::subject_ref_psn("P001"),
                purpose: "case_review".into(),
                decision: Decision::Permit,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    store.close().await;
    let key = dir.join("log.key");
    if !key.exists() {
        let out = yibao(&["log", "keygen", "--out", key.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    let out = yibao(&[
        "log",
        "checkpoint",
        "--db",
        &db.url,
        "--log-key",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n6\n"));
}

fn verify(db: &Db) -> Output {
    yibao(&["log", "verify", "--db", &db.url])
}

fn assert_fault(db: &Db, leaf: i64) {
    let out = verify(db);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("leaf {leaf}: ")),
        "{}",
        text(&out)
    );
}

async fn make(pg: bool, dir: &Path, label: &str) -> Option<Db> {
    if pg {
        postgres(label).await
    } else {
        Some(sqlite(dir, &format!("{label}.db")).await)
    }
}

/// A byte string as an SQL literal of the backend.
fn blob(db: &Db, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if db.is_pg() {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

async fn scenario(pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let make = |label: &'static str| make(pg, dir.path(), label);

    // Intact: exit 0; a proof; a witness.
    let Some(db) = make("intact").await else {
        return;
    };
    let out = verify(&db);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no checkpoint yet: {}",
        text(&out)
    );
    six_signed(&db, dir.path()).await;
    let out = verify(&db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = yibao(&["log", "proof", "--db", &db.url, "--idx", "4"]);
    assert!(out.status.success(), "{}", text(&out));
    let proof: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (proof["idx"].as_i64(), proof["size"].as_i64()),
        (Some(4), Some(6))
    );
    assert_eq!(proof["hashes"].as_array().unwrap().len(), 2);
    let witness = dir.path().join("witness.key");
    let out = yibao(&[
        "log",
        "keygen",
        "--witness",
        "audit-office.test",
        "--out",
        witness.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = yibao(&[
        "log",
        "witness",
        "--db",
        &db.url,
        "--witness-key",
        witness.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("size 6"));
    db.drop_pg().await;

    // An UPDATE of a leaf's bytes.
    let db = make("update").await.unwrap();
    six_signed(&db, dir.path()).await;
    let store = Store::connect(&db.url).await.unwrap();
    let row = store.access_log(2, 1).await.unwrap().remove(0);
    store.close().await;
    let mut leaf: Vec<u8> = (0..row.leaf.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&row.leaf[i..i + 2], 16).unwrap())
        .collect();
    // A character of the event type: `data.read` becomes `data.reXd`.
    leaf[39] = b'X';
    db.tamper(&format!(
        "UPDATE access_log SET leaf = {} WHERE idx = 3",
        blob(&db, &leaf)
    ))
    .await;
    assert_fault(&db, 3);
    db.drop_pg().await;

    // A DELETE.
    let db = make("delete").await.unwrap();
    six_signed(&db, dir.path()).await;
    db.tamper("DELETE FROM access_log WHERE idx = 2").await;
    assert_fault(&db, 2);
    db.drop_pg().await;

    // Two rows' contents swapped.
    let db = make("swap").await.unwrap();
    six_signed(&db, dir.path()).await;
    db.tamper("UPDATE access_log SET idx = 100 WHERE idx = 1")
        .await;
    db.tamper("UPDATE access_log SET idx = 1 WHERE idx = 4")
        .await;
    db.tamper("UPDATE access_log SET idx = 4 WHERE idx = 100")
        .await;
    assert_fault(&db, 1);
    db.drop_pg().await;

    // A forged row after the last.
    let db = make("forged").await.unwrap();
    six_signed(&db, dir.path()).await;
    db.tamper(
        "INSERT INTO access_log (idx, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt) \
         SELECT 6, leaf, leaf_hash, staff_id, action, subject_label, reason_text, detail_salt FROM access_log WHERE idx = 5",
    )
    .await;
    assert_fault(&db, 6);
    db.drop_pg().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_verify_on_sqlite() {
    scenario(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_verify_on_postgres() {
    scenario(true).await;
}

#[test]
fn a_bad_url_exits_2() {
    for url in ["nonsense://x", "postgres://nobody@127.0.0.1:1/none"] {
        let out = yibao(&["log", "verify", "--db", url]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    }
}

/// Sends one HTTP/1.1 request and returns the status line.
fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn serve_signs_a_checkpoint_of_every_leaf_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut server = Command::new(BIN)
        .args(["serve", "--db", &url, "--addr", "127.0.0.1:0", "--no-auth"])
        .env_remove("YIBAO_LOG_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // A login with an unknown user is refused and logged: two leaves.
    for _ in 0..2 {
        let status = http(
            &addr,
            "POST",
            "/api/v1/session",
            r#"{"username": "nobody", "password": "not-a-password"}"#,
        );
        assert!(status.contains("401"), "{status}");
    }
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?} {stderr}");
    assert!(
        stderr.contains("created the access-log key file"),
        "{stderr}"
    );
    assert!(stderr.contains("checkpoint of size 2"), "{stderr}");
    let mut key_file = db.as_os_str().to_owned();
    key_file.push(".logkey");
    assert!(Path::new(&key_file).exists());
    let out = yibao(&["log", "verify", "--db", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("checkpoint of size 2 verified"),
        "{}",
        text(&out)
    );
}
