//! Issue 16 item 4: the simulator's pharmacies report what they buy, count and sell (3501, 3503,
//! 3505 with traceability codes) consistently with what they settle. A short `yibao demo` run is
//! exported (`yibao export parquet`) and the pharmacy models run over it (`yibao audit batch
//! --rule S-04 --rule S-05`): the inventory is in the export, and neither model finds anything.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The months (`YYYY-MM`) of a table's partitions in an export.
fn months_of(out: &Path, table: &str) -> Vec<String> {
    let mut months = Vec::new();
    let Ok(regions) = std::fs::read_dir(out.join(table)) else {
        return months;
    };
    for region in regions.flatten() {
        for month in std::fs::read_dir(region.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = month.file_name().to_string_lossy().into_owned();
            if let Some(month) = name.strip_prefix("month=") {
                months.push(month.to_owned());
            }
        }
    }
    months.sort();
    months
}

#[test]
fn the_demo_pharmacies_stock_reconciles_with_their_sales() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let demo = Command::new(BIN)
        .args([
            "demo",
            "--db",
            &url,
            "--persons",
            "800",
            "--duration",
            "3s",
            "--concurrency",
            "4",
            "--seed",
            "7",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", text(&demo));

    let out = dir.path().join("claims");
    let export = Command::new(BIN)
        .args(["export", "parquet", "--db", &url, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(&export));
    let months = months_of(&out, "inventory_moves");
    assert!(
        !months.is_empty(),
        "no inventory exported: {}",
        text(&export)
    );
    assert_eq!(
        months_of(&out, "trace_codes"),
        months,
        "every inventory partition has its codes"
    );
    let findings = dir.path().join("findings.jsonl");
    let mut years: Vec<&str> = months.iter().map(|m| &m[..4]).collect();
    years.dedup();
    for year in years {
        let run = Command::new(BIN)
            .args(["audit", "batch", "--parquet"])
            .arg(&out)
            .args(["--year", year, "--rule", "S-04", "--rule", "S-05", "--out"])
            .arg(&findings)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", text(&run));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains("S-04") && stdout.contains("S-05"),
            "{stdout}"
        );
        let lines = std::fs::read_to_string(&findings).unwrap();
        assert!(
            lines.trim().is_empty(),
            "the simulator's pharmacies should reconcile in {year}:\n{lines}"
        );
    }
}
