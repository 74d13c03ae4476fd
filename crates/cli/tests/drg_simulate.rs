//! `yibao drg simulate-year` end to end: generate, group, learn, pay; the pool is shared out to
//! the fen, the run is deterministic in its seed, and bad arguments are refused by name.

use std::process::{Command, Output};

use serde_json::Value;

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["drg", "simulate-year"])
        .args(args)
        .output()
        .expect("running yibao")
}

fn simulate_json(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = simulate(&all);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn sum(rows: &Value, key: &str) -> i64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row[key].as_i64().unwrap())
        .sum()
}

#[test]
fn a_simulated_year_pays_out_exactly_the_pool_by_drg_and_dip() {
    let report = simulate_json(&[
        "--cases",
        "4000",
        "--hospitals",
        "12",
        "--seed",
        "7",
        "--budget",
        "25000000.00",
    ]);
    assert_eq!(report["budget_fen"], 2_500_000_000_i64);
    let year = &report["grouping"]["year"];
    assert_eq!(year["cases"], 4000);
    // Codes come from the scheme's lists, so nearly every case groups where it was drawn.
    let drawn = year["drawn_for_an_adrg"].as_i64().unwrap();
    assert!(
        year["grouped_to_that_adrg"].as_i64().unwrap() * 100 >= drawn * 95,
        "{year}"
    );
    for method in ["drg", "dip"] {
        let section = &report[method];
        let hospitals = &section["hospitals"];
        assert_eq!(hospitals.as_array().unwrap().len(), 12);
        // Budget + insured share = the pool = the hospitals' settlements, to the fen.
        let pool = section["point_value"]["pool_fen"].as_i64().unwrap();
        assert_eq!(
            pool,
            2_500_000_000 + section["insured_share_fen"].as_i64().unwrap()
        );
        assert_eq!(sum(hospitals, "settlement_fen"), pool, "{method}");
        assert_eq!(sum(hospitals, "cases"), 4000);
        // Each month's provisional budget adds up to the annual budget.
        assert_eq!(sum(&section["months"], "budget_fen"), 2_500_000_000);
        // Fund payment = settlement − insured share − recovered surplus + shared overspend.
        for row in hospitals.as_array().unwrap() {
            let get = |key: &str| row[key].as_i64().unwrap();
            assert_eq!(
                get("fund_payment_fen"),
                get("settlement_fen") - get("insured_share_fen") - get("recovered_surplus_fen")
                    + get("shared_overspend_fen")
            );
        }
    }
    // Costs per stay sit near spec/demo-city.md's median ~6,000 and mean ~10,000 yuan.
    let median = report["calibration"]["median_cost_fen"].as_i64().unwrap();
    let mean = report["calibration"]["mean_cost_fen"].as_i64().unwrap();
    assert!((450_000..=800_000).contains(&median), "median {median}");
    assert!((800_000..=1_300_000).contains(&mean), "mean {mean}");
    assert!(mean > median, "a long right tail");
    // DRG hospitals carry CMI and consumption indices.
    assert!(report["drg"]["hospitals"][0]["cmi_ppm"].as_i64().unwrap() > 0);
}

#[test]
fn the_same_seed_gives_the_same_year_and_another_seed_another() {
    let args = ["--cases", "1500", "--hospitals", "6", "--method", "drg"];
    let first = simulate_json(&[&args[..], &["--seed", "3"]].concat());
    let again = simulate_json(&[&args[..], &["--seed", "3"]].concat());
    let other = simulate_json(&[&args[..], &["--seed", "4"]].concat());
    assert_eq!(first, again);
    assert_ne!(first["drg"]["hospitals"], other["drg"]["hospitals"]);
    assert!(first["dip"].is_null(), "--method drg computes no DIP");
}

#[test]
fn the_table_shows_point_values_and_hospitals() {
    let output = simulate(&["--cases", "1500", "--hospitals", "5", "--seed", "2"]);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "annual point value",
        "monthly provisional point values",
        "DRG points:",
        "DIP scores:",
        "H0005",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn bad_arguments_are_refused_by_name() {
    for (args, message) in [
        (
            vec!["--budget", "12.345"],
            "configuration field `--budget` `12.345` has more than 2 decimals",
        ),
        (vec!["--budget=-5"], "--budget: `-5` is negative"),
        (vec!["--cases", "0"], "--cases: 0 is not 1 to 5000000"),
        (vec!["--hospitals", "0"], "--hospitals: 0 is not 1 to 10000"),
    ] {
        let output = simulate(&args);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let dir = std::env::temp_dir().join(format!("yibao-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let region = dir.join("region.toml");
    std::fs::write(&region, "[region]\nname = \"x\"\n").unwrap();
    let output = simulate(&["--region", region.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("missing field `weights`"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
