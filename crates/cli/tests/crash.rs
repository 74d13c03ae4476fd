//! Crash safety, end to end with the real binary: build a small city, start `yibao serve` as a
//! child process, drive it with `yibao load`, kill the server with SIGKILL in the middle of the
//! traffic, restart it on the same database, drive it again, kill it again, and check the ledger:
//! balanced, every settlement's transfers equal to its amounts, every reversal the exact negation
//! of its original — nothing half-written. Runs on SQLite always and on PostgreSQL at
//! `DATABASE_URL` (default the local server) in a fresh database; an unreachable PostgreSQL is
//! skipped with a notice unless `YIBAO_REQUIRE_PG=1`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_yibao");
/// Persons in the test city: enough for concurrent traffic, small enough to import quickly.
const PERSONS: &str = "1500";
/// How long a child may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);

fn setup_city(db_url: &str, dir: &Path) -> std::path::PathBuf {
    let sample = dir.join("sample.json");
    let output = Command::new(BIN)
        .args([
            "demo",
            "--setup-only",
            "--db",
            db_url,
            "--persons",
            PERSONS,
            "--sample-out",
        ])
        .arg(&sample)
        .current_dir(dir)
        .output()
        .expect("run yibao demo --setup-only");
    assert!(
        output.status.success(),
        "demo --setup-only failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    sample
}

/// The store's group-commit counters as `yibao serve --stats-every-ms` prints them.
#[derive(Debug, Clone, Copy, Default)]
struct BatchStats {
    batches: u64,
    commands: u64,
    in_store: u64,
}

impl BatchStats {
    fn parse(line: &str) -> Option<BatchStats> {
        let mut stats = BatchStats::default();
        for field in line.strip_prefix("stats ")?.split(' ') {
            let (name, value) = field.split_once('=')?;
            let value: u64 = value.parse().ok()?;
            match name {
                "batches" => stats.batches = value,
                "commands" => stats.commands = value,
                "in_store" => stats.in_store = value,
                _ => {}
            }
        }
        Some(stats)
    }
}

/// Starts `yibao serve` on a free port and returns the child, its address and its group-commit
/// counters, printed every few milliseconds.
fn start_server(db_url: &str, dir: &Path) -> (Child, String, mpsc::Receiver<BatchStats>) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db_url,
            "--addr",
            "127.0.0.1:0",
            "--stats-every-ms",
            "2",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yibao serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    let (stats_tx, stats_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                let _ = tx.send(addr.trim().to_owned());
            } else if let Some(stats) = BatchStats::parse(&line) {
                let _ = stats_tx.send(stats);
            }
        }
    });
    let addr = rx
        .recv_timeout(START_TIMEOUT)
        .expect("yibao serve prints its address");
    (child, addr, stats_rx)
}

/// Waits (bounded) until the server reports commands inside the store while earlier batches
/// have shared commits, and returns that report: the moment to kill it.
fn batches_in_flight(stats: &mpsc::Receiver<BatchStats>) -> BatchStats {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = BatchStats::default();
    while std::time::Instant::now() < deadline {
        match stats.recv_timeout(Duration::from_secs(1)) {
            Ok(first) => {
                // The newest report: older ones queued while nobody read.
                let now = stats.try_iter().last().unwrap_or(first);
                last = now;
                if now.in_store >= 2 && now.commands > now.batches && now.batches > 10 {
                    return now;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("the server never had batches in flight under load: last report {last:?}");
}

fn start_load(addr: &str, sample: &Path, duration: &str) -> Child {
    Command::new(BIN)
        .args([
            "load",
            "--addr",
            addr,
            "--duration",
            duration,
            "--concurrency",
            "8",
            "--seed",
            "7",
            "--sample",
        ])
        .arg(sample)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yibao load")
}

fn crash_and_recover(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sample = setup_city(db_url, dir.path());

    // Load, then SIGKILL the server while commands are inside the store, in batches that share
    // commits: the report read just before the kill says so (it is at most a couple of
    // milliseconds old, and the load keeps the store busy in between).
    let (mut server, addr, stats) = start_server(db_url, dir.path());
    let mut load = start_load(&addr, &sample, "30s");
    std::thread::sleep(Duration::from_secs(2));
    let in_flight = batches_in_flight(&stats);
    server.kill().expect("SIGKILL the server");
    eprintln!("killed with batches in flight: {in_flight:?}");
    server.wait().unwrap();
    load.kill().expect("stop the load");
    load.wait().unwrap();

    // Restart on the same database: it must come up and settle again, and every answer must
    // satisfy the identities (the load command exits non-zero otherwise).
    let (mut server, addr, _stats) = start_server(db_url, dir.path());
    let load = start_load(&addr, &sample, "3s");
    let output = load.wait_with_output().unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("load prints a JSON summary");
    assert_eq!(summary["identity_violations"], 0, "{summary:#}");
    assert!(
        summary["settlements_total"].as_u64().unwrap() > 0,
        "{summary:#}"
    );
    assert!(output.status.success(), "{summary:#}");
    server.kill().unwrap();
    server.wait().unwrap();

    // The ledger after two crashes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = yibao_store::Store::connect(db_url).await.unwrap();
        let report = store.check_ledger().await.unwrap();
        assert!(report.is_balanced(), "{:?}", report.problems);
        assert_eq!(report.balance_sum_fen, 0);
        assert!(report.n_settlements > 0, "the traffic settled something");
        store.close().await;
    });
}

#[test]
fn sqlite_survives_kill_9_during_load() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    crash_and_recover(&url);
}

#[test]
fn postgres_survives_kill_9_during_load() {
    on_fresh_postgres(crash_and_recover);
}

/// Runs `scenario` on a fresh PostgreSQL database at `DATABASE_URL`'s server, dropped after;
/// skipped with a notice when unreachable unless `YIBAO_REQUIRE_PG=1`.
fn on_fresh_postgres(scenario: fn(&str)) {
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let required = std::env::var("YIBAO_REQUIRE_PG").is_ok_and(|v| v == "1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = format!(
        "yibao_crash_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let created = runtime.block_on(async {
        use sqlx::Connection as _;
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) if !required => {
                eprintln!("notice: PostgreSQL unreachable at {admin_url} ({e}); skipping the PostgreSQL crash test");
                return false;
            }
            Err(e) => panic!("PostgreSQL required (YIBAO_REQUIRE_PG=1) but unreachable at {admin_url}: {e}"),
        };
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create the test database");
        true
    });
    if !created {
        return;
    }
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    scenario(&format!("{base}/{name}"));
    runtime.block_on(async {
        use sqlx::Connection as _;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    });
}

/// One 1101 over plain HTTP/1.1 to a `--no-auth` server; `Some(true)` when it was answered with
/// the person's record, `Some(false)` when answered otherwise, `None` when the server was gone.
fn lookup_1101(addr: &str, inst: &serde_json::Value, certno: &str, seq: u64) -> Option<bool> {
    use std::io::{Read, Write};
    let now = chrono::Utc::now() + chrono::Duration::hours(8);
    let code = inst["fixmedins_code"].as_str().unwrap();
    let body = serde_json::json!({
        "infno": "1101",
        "msgid": format!("{code}{}{:04}", now.format("%Y%m%d%H%M%S"), seq % 10_000),
        "mdtrtarea_admvs": inst["admdvs"], "insuplc_admdvs": inst["admdvs"],
        "recer_sys_code": "FSI_LOCAL", "dev_no": "1", "dev_safe_info": "1", "cainfo": "1",
        "signtype": "1", "infver": "1.0", "opter_type": "1", "opter": "1", "opter_name": "测试",
        "inf_time": now.format("%Y-%m-%d %H:%M:%S").to_string(),
        "fixmedins_code": code, "fixmedins_name": inst["fixmedins_name"], "sign_no": "",
        "input": {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno, "psn_name": ""}}
    })
    .to_string();
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json;charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (_, json) = answer.split_once("\r\n\r\n")?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(value["infcode"] == 0 && value["output"]["baseinfo"]["certno"] == certno)
}

/// T6 of the privacy spec ("no log, no data"), with the real binary: four clients look people up
/// (1101) as fast as the server answers, the server is SIGKILLed in the middle, and after it
/// every answer any client received has its log record — a leaf once the outbox is sequenced.
fn lookups_answered_before_a_kill_9_are_all_logged(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sample_path = setup_city(db_url, dir.path());
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sample_path).unwrap()).unwrap();
    let inst = sample["institutions"][0].clone();
    let people: Vec<(String, String)> = sample["persons"]
        .as_array()
        .unwrap()
        .iter()
        .take(12)
        .map(|p| {
            (
                p["psn_no"].as_str().unwrap().to_owned(),
                p["certno"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The log's keys, which the server and the check below share (a person's leaves are found
    // through a keyed index).
    let key_file = dir.path().join("log.key");
    let keygen = Command::new(BIN)
        .args(["log", "keygen", "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db_url,
            "--addr",
            "127.0.0.1:0",
            "--no-auth",
            "--log-key",
        ])
        .arg(&key_file)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn yibao serve");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let answered = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        u64,
    >::new()));
    let clients: Vec<_> = (0..4u64)
        .map(|c| {
            let (addr, inst, people, answered) =
                (addr.clone(), inst.clone(), people.clone(), answered.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    let (psn_no, certno) = &people[((n * 4 + c) % people.len() as u64) as usize];
                    match lookup_1101(&addr, &inst, certno, c * 2_500 + n % 2_500) {
                        Some(true) => {
                            *answered.lock().unwrap().entry(psn_no.clone()).or_default() += 1
                        }
                        Some(false) => {}
                        None => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_500));
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let total: u64 = answered.values().sum();
    assert!(
        total > 20,
        "the clients got answers before the kill: {answered:?}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let keys =
            yibao_store::LogKeys::from_text(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
        let store = yibao_store::Store::connect(db_url)
            .await
            .unwrap()
            .with_log_keys(keys);
        // The next server's sequencer would do this; the records committed before each answer
        // are still in the outbox.
        store.drain_outbox().await.unwrap();
        for (psn_no, count) in &answered {
            let mut logged = 0;
            for idx in store.person_leaves(psn_no).await.unwrap() {
                let row = store.access_log(idx - 1, 1).await.unwrap();
                if row[0].entry.action.starts_with("1101 ") {
                    logged += 1;
                }
            }
            assert!(
                logged >= *count,
                "{psn_no}: {count} answers received, {logged} logged"
            );
        }
        let report = store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{:?}", report.problem);
        store.close().await;
    });
}

#[test]
fn sqlite_answers_nothing_unlogged_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t6.db").display());
    lookups_answered_before_a_kill_9_are_all_logged(&url);
}

#[test]
fn postgres_answers_nothing_unlogged_across_kill_9() {
    on_fresh_postgres(lookups_answered_before_a_kill_9_are_all_logged);
}
