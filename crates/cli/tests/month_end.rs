//! Issue 14: `yibao month-end` and `yibao funds report` with the real binary on the store's
//! fixture registry in SQLite — who may prepare and approve, the prepared run that pays nothing,
//! the approval by another officer, a second run that changes nothing, and the JSON statement.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use yibao_store::{NewStaff, Role, Store};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn yibao(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run yibao")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "the command succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn setup(dir: &Path, url: &str) {
    let store = Store::connect(url).await.unwrap();
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
    for (username, role) in [
        ("fin1", Role::Finance),
        ("fin2", Role::Finance),
        ("rev1", Role::Reviewer),
    ] {
        store
            .staff_create(
                &NewStaff {
                    username: username.into(),
                    password: format!("{username}-password-1"),
                    display_name: username.into(),
                    roles: vec![role],
                    fixmedins_code: None,
                    admdvs: "140500".into(),
                },
                None,
                0,
            )
            .await
            .unwrap();
    }
    store.close().await;
}

#[test]
fn issue14_month_end_is_prepared_approved_once_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("funds.db").display()
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(setup(dir.path(), &url));
    let run = |extra: &[&str]| {
        let mut args = vec!["month-end", "--db", &url, "--month", "2025-05", "--quiet"];
        args.extend_from_slice(extra);
        yibao(&args)
    };
    let err = failed(&run(&["--by", "rev1"]));
    assert!(err.contains("rev1: not a finance officer"), "{err}");
    let err = failed(&run(&["--by", "fin1", "--approved-by", "fin1"]));
    assert!(err.contains("--approved-by"), "{err}");
    let err = failed(&run(&["--by", "nobody"]));
    assert!(err.contains("nobody: no such staff account"), "{err}");
    let err = failed(&yibao(&[
        "month-end",
        "--db",
        &url,
        "--month",
        "2025-13",
        "--by",
        "fin1",
        "--quiet",
    ]));
    assert!(err.contains("month"), "{err}");

    // Prepared: nothing paid.
    let prepared = json_of(&run(&["--by", "fin1", "--json"]));
    let runs = prepared["runs"].as_array().unwrap();
    assert!(!runs.is_empty(), "{prepared}");
    assert!(runs
        .iter()
        .all(|r| r["approved_by"].is_null() && r["fresh"] == true));
    // Approved by another officer: paid now.
    let paid = json_of(&run(&["--by", "fin1", "--approved-by", "fin2", "--json"]));
    assert!(paid["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["approved_by"] == "fin2" && r["fresh"] == true));
    // Again: nothing changes.
    let again = json_of(&run(&["--by", "fin1", "--approved-by", "fin2", "--json"]));
    assert!(again["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["fresh"] == false));
    assert_eq!(again["funds"], paid["funds"]);

    let report = json_of(&yibao(&[
        "funds", "report", "--db", &url, "--month", "2025-05", "--json",
    ]));
    assert!(report["funds"].is_array(), "{report}");
    for f in report["funds"].as_array().unwrap() {
        let fen = |k: &str| -> i64 {
            let text = f[k].as_str().unwrap();
            let (y, c) = text.trim_start_matches('-').split_once('.').unwrap();
            let v = y.parse::<i64>().unwrap() * 100 + c.parse::<i64>().unwrap();
            if text.starts_with('-') {
                -v
            } else {
                v
            }
        };
        assert_eq!(
            fen("closing"),
            fen("opening") + fen("income") - fen("expenditure") - fen("adjustments"),
            "{f}"
        );
    }
    let err = failed(&yibao(&[
        "funds", "report", "--db", &url, "--month", "May", "--json",
    ]));
    assert!(err.contains("month"), "{err}");
}
