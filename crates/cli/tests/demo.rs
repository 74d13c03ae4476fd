//! `yibao demo` end to end with the real binary: the sample file an outside client gets, and a
//! short full run (city → SQLite → in-process server → simulator → report → ledger check).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

#[test]
fn setup_only_writes_a_sample_an_outside_client_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("city.db").display());
    let sample = dir.path().join("sample.json");
    let registry = dir.path().join("registry");
    let output = Command::new(BIN)
        .args([
            "demo",
            "--setup-only",
            "--db",
            &url,
            "--persons",
            "800",
            "--seed",
            "11",
            "--sample-out",
        ])
        .arg(&sample)
        .arg("--registry-dir")
        .arg(&registry)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The city prints its rates beside the targets.
    assert!(
        stdout.contains("employees : residents") && stdout.contains("35 : 65"),
        "{stdout}"
    );
    for file in [
        "persons.csv",
        "insurance.csv",
        "identities.csv",
        "accounts.csv",
        "family_bindings.csv",
        "institutions.csv",
        "filings.csv",
        "catalogue.csv",
        "police.csv",
        "identity.csv",
    ] {
        assert!(registry.join(file).is_file(), "{file}");
    }
    // The enrollment year: the departments' feeds take every row, the identity list's
    // categories decide without an application, and contributions reach the funds.
    assert!(
        stdout.contains("== police.csv: taken 800, matched 800, refused 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains(", refused 0, created 0, cases 0\n== 免申即享: "),
        "{stdout}"
    );
    assert!(stdout.contains("== employees' contributions "), "{stdout}");
    assert!(stdout.contains("== residents' contributions "), "{stdout}");
    // The tax bureau's payments of the residents' year: every row matches an assessment.
    let tax = stdout
        .lines()
        .find(|l| l.starts_with("== tax.csv: "))
        .unwrap_or_else(|| panic!("no tax line in {stdout}"));
    assert!(tax.contains(", refused 0, payments "), "{tax}");
    assert!(tax.contains("have not paid (未缴费)"), "{tax}");
    // The year's registry check counts them: every resident who did not pay is uninsured.
    let not_paid: u64 = tax
        .split("; ")
        .find(|part| part.contains("residents with something to pay have not paid"))
        .and_then(|part| part.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of non-payers in {tax}"));
    let check = stdout
        .lines()
        .find(|l| l.starts_with("== registry check "))
        .unwrap_or_else(|| panic!("no registry check in {stdout}"));
    let uninsured: u64 = check
        .split("; uninsured ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no uninsured count in {check}"));
    assert!(uninsured >= not_paid, "{tax}\n{check}");
    assert!(check.contains(", coverage "), "{check}");
    assert!(!stdout.contains("assessments; employers 0.00"), "{stdout}");
    assert!(registry.join("policies/140500-2025.toml").is_file());

    let text = std::fs::read_to_string(&sample).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let persons = value["persons"].as_array().unwrap();
    assert!(persons.len() >= 20);
    for p in persons {
        for field in ["psn_no", "certno", "insutype", "psn_type"] {
            assert!(
                p[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field} in {p}"
            );
        }
        assert!(["310", "390"].contains(&p["insutype"].as_str().unwrap()));
        assert_eq!(p["certno"].as_str().unwrap().len(), 18);
    }
    let institutions = value["institutions"].as_array().unwrap();
    assert!(institutions.iter().any(|i| i["hi_setl_lv"] == "3"));
    for i in institutions {
        for field in [
            "fixmedins_code",
            "fixmedins_name",
            "hi_setl_lv",
            "admdvs",
            "access_key",
            "secret_key",
        ] {
            assert!(
                i[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field} in {i}"
            );
        }
        // Every institution in the sample is in the registry with the same keys.
        let registry_text = std::fs::read_to_string(registry.join("institutions.csv")).unwrap();
        let row = format!("{},", i["fixmedins_code"].as_str().unwrap());
        let line = registry_text
            .lines()
            .find(|l| l.starts_with(&row))
            .expect("institution in the registry");
        assert!(line.ends_with(&format!(
            "{},{}",
            i["access_key"].as_str().unwrap(),
            i["secret_key"].as_str().unwrap()
        )));
    }
    // Demo staff: two of every bureau role and two institution users of two institutions.
    let staff = value["staff"].as_array().unwrap();
    for role in [
        "reviewer",
        "senior_reviewer",
        "final_reviewer",
        "auditor",
        "admin",
        "finance",
        "institution",
    ] {
        let holders: Vec<&serde_json::Value> = staff
            .iter()
            .filter(|s| s["roles"].as_array().unwrap().iter().any(|r| r == role))
            .collect();
        assert!(holders.len() >= 2, "{role}: {holders:?}");
        for s in &holders {
            assert!(s["password"].as_str().unwrap().len() >= 12, "{s}");
            assert!(s["username"].as_str().is_some_and(|u| !u.is_empty()));
        }
    }
    let mut codes: Vec<&str> = staff
        .iter()
        .filter_map(|s| s["fixmedins_code"].as_str())
        .collect();
    codes.dedup();
    assert!(codes.len() >= 2, "{codes:?}");
    let catalogue = value["catalogue"].as_array().unwrap();
    assert!(catalogue.len() >= 20);
    for c in catalogue {
        assert!(c["pric"].is_number(), "{c}");
        assert!(["01", "02", "03"].contains(&c["chrgitm_lv"].as_str().unwrap()));
    }
}

#[test]
fn a_short_demo_settles_and_balances() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let output = Command::new(BIN)
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
            "5",
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
    for expected in [
        "settlements:",
        "fund totals",
        "latency (ms)",
        "2207",
        // The pharmacies report what they buy and sell (issue 16, item 4).
        "3503",
        "3505",
        "identity violations: 0",
        "BALANCED",
        "== month end",
        "clearing (清算):",
        "payment run pay:",
        "paid now, approved by finance-2",
        "fund statement (yuan)",
        "ledger after the month end",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected} missing in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("NOT BALANCED"), "{stdout}");
}
