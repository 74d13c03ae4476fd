//! `yibao settle` end to end: the binary on settle files, its JSON and `--explain` output, and
//! its refusals of bad files (non-zero exit, a message naming the field).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn project_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn fixture(name: &str) -> PathBuf {
    project_file(&format!("crates/settlement/tests/fixtures/{name}"))
}

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .output()
        .expect("run yibao")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

#[test]
fn worked_example_1_prints_national_fields_with_two_decimals() {
    let path = fixture("001_worked_example_1.json");
    let output = yibao(&["settle", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "\"medfee_sumamt\": 4100.00,",
        "\"fulamt_ownpay_amt\": 500.00,",
        "\"overlmt_selfpay\": 100.00,",
        "\"preselfpay_amt\": 200.00,",
        "\"inscp_scp_amt\": 3300.00,",
        "\"act_pay_dedc\": 1000.00,",
        "\"hifp_pay\": 1380.00,",
        "\"fund_pay_sumamt\": 1380.00,",
        "\"psn_part_amt\": 2720.00,",
        "\"psn_cash_pay\": 2720.00,",
        "\"fund_pay_type\": \"390100\",",
        "\"fund_payamt\": 1380.00",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let document: serde_json::Value = serde_json::from_str(&text).expect("stdout is JSON");
    let keys: Vec<&str> = document
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["setldetail", "setlinfo", "trace"]);
    assert!(document["trace"]
        .as_array()
        .is_some_and(|steps| steps.len() >= 4 + 2));
}

#[test]
fn worked_example_2_pays_assistance() {
    let path = fixture("002_worked_example_2.json");
    let output = yibao(&["settle", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "\"maf_pay\": 1920.00,",
        "\"fund_pay_sumamt\": 3300.00,",
        "\"psn_part_amt\": 800.00,",
        "\"fund_pay_type\": \"610100\",",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn explain_prints_the_trace_for_a_clerk() {
    let path = fixture("030_serious_illness_band_crossed_in_one_bill.json");
    let output = yibao(&["settle", "--explain", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "政策 140500-2025",
        "年内再次住院",
        "99500.00 × 60%",
        "支付 59700.00",
        "年度累计基数 64999.99 → 105299.99",
        "支付 28210.00",
        "结果：医疗费总额 100000.00 = 基金支付 87910.00",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn bad_files_exit_non_zero_naming_the_field() {
    let cases = [
        (
            "901_bad_price_exponent.json",
            "lines[0].pric: not a plain decimal number",
        ),
        (
            "900_bad_missing_psn_type.json",
            "person.psn_type: is missing",
        ),
        ("907_bad_insured_elsewhere.json", "person.insuplc_admdvs"),
        (
            "910_bad_refund_exceeds_charges.json",
            "lines: the bill's medfee_sumamt would be negative",
        ),
    ];
    for (name, expected) in cases {
        let path = fixture(name);
        let output = yibao(&["settle", path.to_str().unwrap()]);
        assert!(!output.status.success(), "{name} settled");
        assert!(stdout(&output).is_empty(), "{name} printed an answer");
        let message = stderr(&output);
        assert!(
            message.contains(expected),
            "{name}: expected {expected:?} in {message:?}"
        );
    }
}

#[test]
fn unreadable_or_unknown_inputs_are_refused() {
    let output = yibao(&["settle", "does-not-exist.json"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("cannot read settle file does-not-exist.json"));

    let text = std::fs::read_to_string(fixture("001_worked_example_1.json"))
        .unwrap()
        .replace("140500-2025", "999999-2025");
    let path = std::env::temp_dir().join(format!(
        "yibao-settle-unknown-policy-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let output = yibao(&["settle", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("policy: no shipped policy \"999999-2025\""),
        "{}",
        stderr(&output)
    );

    let path = fixture("001_worked_example_1.json");
    let other_policy = project_file("policies/370200-2019.toml");
    let output = yibao(&[
        "settle",
        "--policy-file",
        other_policy.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains(
        "policy: the settle file asks for \"140500-2025\" but the policy file is \"370200-2019\""
    ));
}

#[test]
fn policy_file_option_loads_a_policy_from_disk() {
    let path = fixture("001_worked_example_1.json");
    let policy = project_file("policies/140500-2025.toml");
    let output = yibao(&[
        "settle",
        "--policy-file",
        policy.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"hifp_pay\": 1380.00,"));
}
