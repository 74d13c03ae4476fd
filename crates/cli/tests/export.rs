//! Issue 16 item 1: `yibao export parquet` with the real binary on SQLite and PostgreSQL: the
//! per-table report, the default key file beside the export (mode 0600), a second run that
//! changes nothing, and refusals that name the argument.

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command as Process, Output};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn yibao(args: &[&str]) -> Output {
    Process::new(BIN).args(args).output().expect("run yibao")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The fixture registry of the store's tests.
async fn import_fixture(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/registry");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    db.store.import_registry(dir.path()).await.unwrap();
}

/// The report line of `table`: (written, unchanged, rows).
fn line_of(stdout: &str, table: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no line for {table} in {stdout}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

#[tokio::test]
async fn export_parquet_reports_and_a_second_run_changes_nothing() {
    on_both(|db| async move {
        import_fixture(&db).await;
        settle_one(
            &db,
            CLINIC,
            "X1",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("claims");
        let out_arg = out.to_str().unwrap();
        let first = yibao(&["export", "parquet", "--db", &db.url, "--out", out_arg]);
        assert!(first.status.success(), "{}", text(&first));
        let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
        assert_eq!(line_of(&stdout, "settlements"), (1, 0, 1), "{stdout}");
        assert_eq!(line_of(&stdout, "persons"), (1, 0, 5), "{stdout}");
        assert!(stdout.contains("manifest: written"), "{stdout}");
        assert!(out
            .join("settlements/admdvs=140500/month=2025-05/part-0.parquet")
            .is_file());
        let key = dir.path().join("claims.pseudonym-key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let second = yibao(&["export", "parquet", "--db", &db.url, "--out", out_arg]);
        assert!(second.status.success(), "{}", text(&second));
        let stdout = String::from_utf8_lossy(&second.stdout).into_owned();
        assert_eq!(line_of(&stdout, "settlements"), (0, 1, 1), "{stdout}");
        assert_eq!(line_of(&stdout, "fee_lines"), (0, 1, 1), "{stdout}");
        assert!(stdout.contains("manifest: unchanged"), "{stdout}");

        let inside = out.join("k");
        let refused = yibao(&[
            "export",
            "parquet",
            "--db",
            &db.url,
            "--out",
            out_arg,
            "--pseudonym-key",
            inside.to_str().unwrap(),
        ]);
        assert!(!refused.status.success());
        assert!(
            text(&refused).contains("pseudonym-key"),
            "{}",
            text(&refused)
        );
        assert!(!inside.exists(), "no key written inside the export");

        let refused = yibao(&[
            "export", "parquet", "--db", &db.url, "--out", out_arg, "--month", "2025-13",
        ]);
        assert!(!refused.status.success());
        assert!(
            text(&refused).contains("month: `2025-13`"),
            "{}",
            text(&refused)
        );
        db
    })
    .await;
}
