//! Issue 14 item 6: `yibao accounts show | withdraw | inherit` with the real binary on the store's
//! fixture registry in SQLite: a statement as JSON, a withdrawal refused by the region's rule and
//! by a staff account without the role, and an inheritance by share after a death, made once.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::Connection as _;
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

/// The store's fixture registry, a finance officer and a front-desk clerk, and P002's death.
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
    for (username, role) in [("fin1", Role::Finance), ("desk1", Role::FrontDesk)] {
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
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) \
         VALUES ('P002', '2025-08-15', 'police', '2025-08-16 00:00:00')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

#[test]
fn issue14_accounts_show_withdraw_and_inherit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("accounts.db").display()
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(setup(dir.path(), &url));

    let shown = json_of(&yibao(&[
        "accounts", "show", "P001", "--db", &url, "--json",
    ]));
    assert_eq!(shown["opening"], "500.00");
    assert_eq!(shown["balance"], "500.00");

    let withdraw = |by: &str| {
        yibao(&[
            "accounts",
            "withdraw",
            "P001",
            "--reason",
            "abroad",
            "--bank-account",
            "6222020000000000001",
            "--evidence",
            "出国定居注销户口证明 2025-118",
            "--by",
            by,
            "--db",
            &url,
            "--today",
            "2025-09-01",
        ])
    };
    let err = failed(&withdraw("desk1"));
    assert!(err.contains("finance or reviewer role"), "{err}");
    let err = failed(&withdraw("fin1"));
    assert!(
        err.contains("rule personal_account.abroad_requires_relation_ended"),
        "{err}"
    );
    let err = failed(&yibao(&[
        "accounts",
        "withdraw",
        "P001",
        "--reason",
        "holiday",
        "--bank-account",
        "1",
        "--evidence",
        "x",
        "--by",
        "fin1",
        "--db",
        &url,
    ]));
    assert!(err.contains("--reason `holiday`"), "{err}");

    let inherit = || {
        yibao(&[
            "accounts",
            "inherit",
            "P002",
            "--heir",
            "P003:1",
            "--heir",
            "P001:2",
            "--evidence",
            "继承公证书 (2025) 晋城证字 77",
            "--by",
            "fin1",
            "--db",
            &url,
            "--today",
            "2025-09-01",
            "--json",
        ])
    };
    let done = json_of(&inherit());
    assert_eq!(done["payout_id"], "I:P002");
    assert_eq!(done["ledger_balanced"], true);
    assert_eq!(done["replayed"], false);
    let lines: Vec<(&str, &str, &str)> = done["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["heir_psn_no"].as_str().unwrap(),
                l["amount"].as_str().unwrap(),
                l["paid_to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("P003", "33.33", "payout:person:P003"),
            ("P001", "66.67", "personal:P001"),
        ]
    );
    assert_eq!(json_of(&inherit())["replayed"], true);
    let shown = json_of(&yibao(&[
        "accounts", "show", "P002", "--db", &url, "--json",
    ]));
    assert_eq!(shown["balance"], "0.00");
    assert_eq!(shown["death_date"], "2025-08-15");
    let text = yibao(&["accounts", "show", "P001", "--db", &url]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("acct_inheritance"), "{text}");
    assert!(
        text.contains("balance 566.67 (agrees with the ledger)"),
        "{text}"
    );
}
