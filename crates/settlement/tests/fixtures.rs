//! Data-driven settlement tests: every `fixtures/*.json` is a settle file (spec section 10) plus
//! an `expected` block computed by hand from the spec (the arithmetic is in each file's
//! `arithmetic` lines), or an `expected_error` naming the field the engine must refuse.
//!
//! Rules of the block: every `setlinfo` amount not listed must be `0.00`; `pool_prop_selfpay`,
//! `setldetail` and `ytd_delta` are checked when listed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::value::RawValue;
use serde_json::Value;
use yibao_core_types::{Fen, Ratio};
use yibao_policy::builtin_policy;
use yibao_settlement::settle;
use yibao_settlement::settle_file::{parse_settle_file, render_settlement_json};

/// The `setlinfo` amounts every fixture checks (unlisted ones must be zero).
const AMOUNT_FIELDS: [&str; 20] = [
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
];

fn expected_fen(name: &str, field: &str, value: &Value) -> Fen {
    let text = match value {
        Value::String(text) => text.clone(),
        other => panic!("{name}: expected.{field} must be a string, got {other}"),
    };
    Fen::parse(&text).unwrap_or_else(|error| panic!("{name}: expected.{field}: {error}"))
}

/// A policy written for the tests (`fixtures/policies/<id>.toml`), for ids no shipped policy has.
fn test_policy(id: &str) -> Result<yibao_policy::Policy, yibao_policy::PolicyError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies")
        .join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("unknown policy {id}: {}: {error}", path.display()));
    yibao_policy::parse_policy(&format!("{id}.toml"), &text)
}

/// Runs one fixture and returns the list of mismatches.
fn check(name: &str, text: &str) -> Vec<String> {
    let document: Value =
        serde_json::from_str(text).unwrap_or_else(|error| panic!("{name}: not JSON: {error}"));
    let mut problems = Vec::new();
    let outcome = parse_settle_file(text)
        .map_err(|error| error.to_string())
        .and_then(|file| {
            let policy = builtin_policy(&file.policy_id)
                .unwrap_or_else(|| test_policy(&file.policy_id))
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            settle(&policy, &file.input_for(&policy))
                .map(|settlement| (file, settlement))
                .map_err(|error| error.to_string())
        });
    if let Some(expected_error) = document.get("expected_error") {
        let expected_error = expected_error.as_str().expect("expected_error is a string");
        match outcome {
            Ok(_) => problems.push(format!("expected error {expected_error:?}, but it settled")),
            Err(message) if !message.starts_with(expected_error) => problems.push(format!(
                "expected error starting {expected_error:?}, got {message:?}"
            )),
            Err(_) => {}
        }
        return problems;
    }
    let (file, settlement) = match outcome {
        Ok(pair) => pair,
        Err(message) => return vec![format!("unexpected error: {message}")],
    };
    let expected = document
        .get("expected")
        .unwrap_or_else(|| panic!("{name}: no expected block"));
    let rendered = render_settlement_json(&file.input, &settlement);
    let output: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(&rendered).expect("output is JSON");
    let setlinfo: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(output["setlinfo"].get()).expect("setlinfo is an object");
    let expected_setlinfo = expected["setlinfo"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: expected.setlinfo"));
    for key in expected_setlinfo.keys() {
        if !AMOUNT_FIELDS.contains(&key.as_str()) && key != "pool_prop_selfpay" {
            panic!("{name}: expected.setlinfo.{key} is not a checked field");
        }
    }
    for field in AMOUNT_FIELDS {
        let want = expected_setlinfo
            .get(field)
            .map_or(Fen::ZERO, |value| expected_fen(name, field, value));
        let got_text = setlinfo[field].get();
        if got_text != want.to_string() {
            problems.push(format!("setlinfo.{field}: expected {want}, got {got_text}"));
        }
    }
    if let Some(want) = expected_setlinfo.get("pool_prop_selfpay") {
        let want = Ratio::parse(want.as_str().expect("pool_prop_selfpay string")).expect("ratio");
        if setlinfo["pool_prop_selfpay"].get() != want.render(4) {
            problems.push(format!(
                "setlinfo.pool_prop_selfpay: expected {}, got {}",
                want.render(4),
                setlinfo["pool_prop_selfpay"].get()
            ));
        }
    }
    if let Some(want) = expected.get("setldetail") {
        let want: Vec<(String, Fen)> = want
            .as_array()
            .expect("setldetail array")
            .iter()
            .map(|row| {
                let fund = row["fund_pay_type"]
                    .as_str()
                    .expect("fund_pay_type")
                    .to_owned();
                (
                    fund,
                    expected_fen(name, "setldetail.fund_payamt", &row["fund_payamt"]),
                )
            })
            .collect();
        let got: Vec<(String, Fen)> = settlement
            .setldetail
            .iter()
            .map(|(fund, amount)| (fund.to_string(), *amount))
            .collect();
        if got != want {
            problems.push(format!("setldetail: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = expected.get("ytd_delta") {
        let delta = &settlement.ytd_delta;
        for (key, value) in want.as_object().expect("ytd_delta object") {
            let got = match key.as_str() {
                "inpatient_admissions" => Fen(delta.inpatient_admissions * 100),
                "hifp_inpatient" => delta.hifp_inpatient,
                "hifp_outpatient" => delta.hifp_outpatient,
                "outpatient_deductible" => delta.outpatient_deductible,
                "hifob" => delta.hifob,
                "hifmi_base" => delta.hifmi_base,
                "hifmi" => delta.hifmi,
                "maf" => delta.maf,
                "maf_deductible" => delta.maf_deductible,
                other => match other.split_once('.') {
                    Some(("chronic", disease)) => delta.chronic_used(disease),
                    Some(("other", accumulator)) => delta.other_used(accumulator),
                    _ => panic!("{name}: unknown ytd_delta key {other}"),
                },
            };
            // `inpatient_admissions` is a count; it is read like an amount ("1" = 100) and
            // compared against the count times 100.
            let want = expected_fen(name, key, value);
            if got != want {
                problems.push(format!("ytd_delta.{key}: expected {want}, got {got}"));
            }
        }
    }
    if let Some(want) = expected.get("account_draws") {
        let own = expected_fen(name, "account_draws.own", &want["own"]);
        let family: Vec<Fen> = want["family"]
            .as_array()
            .expect("family")
            .iter()
            .map(|value| expected_fen(name, "account_draws.family", value))
            .collect();
        if settlement.account_draws.own != own || settlement.account_draws.family != family {
            problems.push(format!(
                "account_draws: expected {own} {family:?}, got {:?}",
                settlement.account_draws
            ));
        }
    }
    problems
}

#[test]
fn fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    let mut n_fixtures = 0;
    for path in entries
        .iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
    {
        n_fixtures += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("read fixture");
        for problem in check(&name, &text) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(n_fixtures >= 2, "no fixtures found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
