//! `yibao staff add` with the real binary: the first administrator of a deployment, the
//! password from the environment or standard input, and refusals that write nothing.

use std::io::Write as _;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn add(url: &str, username: &str, roles: &[&str], password: Option<&str>) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.args([
        "staff",
        "add",
        "--db",
        url,
        "--username",
        username,
        "--admdvs",
        "140500",
    ]);
    for role in roles {
        command.args(["--role", role]);
    }
    command.env_remove("YIBAO_STAFF_PASSWORD");
    match password {
        Some(password) => {
            command.env("YIBAO_STAFF_PASSWORD", password);
            command.output().unwrap()
        }
        None => {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"from-stdin-password\n")
                .unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

#[test]
fn staff_add_creates_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("staff.db").display()
    );
    let output = add(
        &url,
        "root.admin",
        &["admin"],
        Some("a-long-admin-password"),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("`root.admin` with roles admin"), "{stdout}");
    let output = add(&url, "reviewer.one", &["reviewer", "senior_reviewer"], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Refused: a taken name, roles that may not be held together, a short password.
    for (username, roles, password, expected) in [
        (
            "root.admin",
            &["admin"][..],
            "a-long-admin-password",
            "is taken",
        ),
        (
            "mixed",
            &["admin", "auditor"][..],
            "a-long-admin-password",
            "separation of duties",
        ),
        ("short", &["finance"][..], "short", "password"),
    ] {
        let output = add(&url, username, roles, Some(password));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains(expected), "{stderr}");
    }
    let output = add(&url, "x.y", &["wizard"], Some("a-long-admin-password"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a role"));

    // What was written: two accounts, whose logins work.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = yibao_store::Store::connect(&url).await.unwrap();
        assert_eq!(store.staff_accounts().await.unwrap().len(), 2);
        let policy = yibao_store::SessionPolicy::default();
        let login = store
            .staff_login("reviewer.one", "from-stdin-password", &policy, 1)
            .await
            .unwrap();
        assert!(login.is_ok());
        store.close().await;
    });
}
