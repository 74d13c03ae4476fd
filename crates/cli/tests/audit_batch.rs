//! Issue 16 item 2: `yibao audit batch` with the real binary over an export written by
//! `yibao export parquet` on SQLite and PostgreSQL: hits per rule with samples, the findings as
//! JSON lines in `--out` (and nothing else left beside it), and exit code 2 with the argument
//! named for a year without data, a parameter out of range and an unknown rule.

#[path = "../../store/tests/common/mod.rs"]
mod common;
#[path = "../../batch/tests/plant/mod.rs"]
mod plant;

use std::process::{Command as Process, Output};

use common::*;
use plant::*;

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

#[tokio::test]
async fn audit_batch_reports_hits_writes_findings_and_refuses_by_name() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        stay(
            &db,
            HOSPITAL,
            "A",
            "P001",
            ("2025-03-01", "2025-03-10"),
            "I10.x00",
        )
        .await;
        let later = stay(
            &db,
            CLINIC,
            "B",
            "P001",
            ("2025-03-08", "2025-03-12"),
            "J18.900",
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("claims");
        let out_arg = out.to_str().unwrap();
        let export = yibao(&["export", "parquet", "--db", &db.url, "--out", out_arg]);
        assert!(export.status.success(), "{}", text(&export));

        let findings = dir.path().join("findings.jsonl");
        let run = yibao(&[
            "audit",
            "batch",
            "--parquet",
            out_arg,
            "--year",
            "2025",
            "--out",
            findings.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", text(&run));
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(stdout.contains("BHV-08 重叠住院: 1 hits"), "{stdout}");
        assert!(stdout.contains("BHV-01 分解住院: 0 hits"), "{stdout}");
        assert!(
            stdout.contains(&later.setl_id),
            "a sample names the settlement: {stdout}"
        );
        assert!(!stdout.contains("P001"), "only pseudonyms: {stdout}");
        assert!(
            stdout.contains("recall: n/a (no planted cases"),
            "no planted cases in a store's export: {stdout}"
        );
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("[4/") && l.contains("] BHV-08 重叠住院: running")),
            "progress on stderr: {stderr}"
        );

        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&findings)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["rule_id"], "BHV-08");
        assert_eq!(lines[0]["setl_id"], later.setl_id.as_str());
        assert_eq!(lines[0]["measure"], 2);
        assert_eq!(
            lines[0]["fund_pay_sumamt"],
            yuan(later.amounts.fund_pay_sumamt.0).as_str(),
            "money as exact decimal text"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "no temporary file left: {left:?}");

        for (args, named) in [
            (vec!["--year", "2024"], "2024"),
            (
                vec!["--year", "2025", "--param", "BHV-01.interval_days=99"],
                "BHV-01.interval_days",
            ),
            (vec!["--year", "2025", "--rule", "BHV-99"], "BHV-99"),
        ] {
            let mut all = vec!["audit", "batch", "--parquet", out_arg];
            all.extend(args);
            let refused = yibao(&all);
            assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
            assert!(
                String::from_utf8_lossy(&refused.stderr).contains(named),
                "{}",
                text(&refused)
            );
        }
        db
    })
    .await;
}
