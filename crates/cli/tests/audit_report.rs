//! Issue 12: a short demo on SQLite plants violations of every kind, settles them through the
//! normal chain and writes the manifest; `yibao audit report --planted` finds every planted
//! severity-1 violation and prints the funnel in JSON; `yibao load --audit3102` then sends 3102
//! checks of 50 orders to `yibao serve` on the same database.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

#[test]
fn issue12_a_planted_demo_reports_full_recall_on_severity_1() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let output = Command::new(BIN)
        .args([
            "demo",
            "--db",
            &url,
            "--persons",
            "1500",
            "--duration",
            "5s",
            "--concurrency",
            "4",
            "--seed",
            "12",
            "--mix",
            "outpatient",
            "--plant",
            "all=90",
            "--sample-out",
            "sample.json",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The demo prints the report itself, and the manifest sits beside the database.
    for expected in ["planted violations settled", "疑点数据", "severity 1 found"] {
        assert!(
            stdout.contains(expected),
            "{expected} missing in:\n{stdout}"
        );
    }
    let manifest = dir.path().join("demo.planted.jsonl");
    let lines = std::fs::read_to_string(&manifest).unwrap();
    let records: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 10, "{} planted:\n{stdout}", records.len());
    for r in &records {
        for field in ["mdtrt_id", "psn_no", "setl_id", "kind"] {
            assert!(r[field].as_str().is_some_and(|v| !v.is_empty()), "{r}");
        }
        assert!(r["codes"].is_array() && r["rule_ids"].is_array(), "{r}");
        assert!((1..=3).contains(&r["sev_deg"].as_u64().unwrap()), "{r}");
    }

    let output = Command::new(BIN)
        .args(["audit", "report", "--db", &url, "--json", "--planted"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let settlement = &report["funnel"]["settlement"];
    assert!(
        settlement["findings"].as_i64().unwrap() >= records.len() as i64,
        "{report}"
    );
    assert!(settlement["persons"].as_i64().unwrap() > 0);
    // Money in yuan with two decimals, as text from integer fen.
    let yuan = settlement["vola_amt_yuan"].as_str().unwrap();
    assert_eq!(yuan.split_once('.').unwrap().1.len(), 2, "{yuan}");
    // No case is opened in the demo: the review's stages are there and empty.
    let review = &report["funnel"]["review"];
    for field in [
        "cases",
        "first_review_upheld",
        "second_review_upheld",
        "confirmed",
    ] {
        assert_eq!(review[field], serde_json::json!(0), "{field} in {review}");
    }
    assert!(report["settlements"].as_i64().unwrap() > 0);
    for row in report["by_rule"].as_array().unwrap() {
        for field in [
            "rule_id",
            "kind",
            "category",
            "sev_deg",
            "findings",
            "persons",
            "vola_amt_yuan",
        ] {
            assert!(!row[field].is_null(), "{field} in {row}");
        }
    }
    assert!(!report["by_category"].as_array().unwrap().is_empty());
    let planted = &report["planted"];
    assert_eq!(planted["planted"].as_u64().unwrap(), records.len() as u64);
    let sev1 = &planted["severity_1"];
    assert!(sev1["planted"].as_u64().unwrap() > 0, "{planted}");
    assert_eq!(sev1["found"], sev1["planted"], "{planted}");
    assert_eq!(sev1["recall"], "100.0%", "{planted}");
    let kinds = planted["by_kind"].as_array().unwrap();
    assert!(kinds.len() >= 6, "{planted}");
    for kind in kinds.iter().filter(|k| k["sev_deg"] == 1) {
        assert_eq!(kind["found"], kind["planted"], "{kind}");
        assert_eq!(kind["recall"], "100.0%", "{kind}");
    }
    assert!(planted["misses"].is_array());
    let precision = &planted["precision"];
    assert!(precision["on_planted_visits"].as_u64().unwrap() >= sev1["found"].as_u64().unwrap());
    assert!(precision["share_on_planted"]
        .as_str()
        .unwrap()
        .ends_with('%'));

    load_3102(&url, &dir.path().join("sample.json"));
}

/// Serves `url` on a free port and drives it with 3102 checks only (planted in half of them):
/// every check is answered, no planted severity-1 violation goes unnamed, and the summary counts
/// the checks and their latency.
fn load_3102(url: &str, sample: &std::path::Path) {
    let mut server = Command::new(BIN)
        .args(["serve", "--db", url, "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening on http://") {
            break addr.to_owned();
        }
    };
    let output = Command::new(BIN)
        .args([
            "load",
            "--addr",
            &addr,
            "--mix",
            "outpatient",
            "--no-chaos",
            "--plant",
            "all=50",
            "--audit3102",
            "1000",
            "--audit-lines",
            "50",
            "--duration",
            "2s",
            "--rate",
            "20",
            "--sample",
        ])
        .arg(sample)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
    assert_eq!(summary["identity_violations"], 0, "{summary}");
    let checks = summary["audit3102_checks"].as_u64().unwrap();
    assert!(checks >= 30, "{summary}");
    assert_eq!(summary["latency"]["3102"]["count"].as_u64(), Some(checks));
    assert!(summary["latency"]["3102"]["p99_ms"].is_number());
}
