//! Every expected result of `data/chs-drg-1.1/testcases.jsonl` (from the reference grouper,
//! QY check off, MDC fall-through on) reproduced: status, MDC, ADRG and DRG. One test that lists
//! all mismatches.

mod common;

use yibao_drg::{group, parse_case_json, GroupConfig};

#[derive(serde::Deserialize)]
struct Expected {
    status: String,
    mdc: String,
    adrg: String,
    drg: String,
}

#[derive(serde::Deserialize)]
struct Line {
    id: String,
    expected: Expected,
}

#[test]
fn reproduces_every_reference_result() {
    let scheme = common::scheme();
    let text = common::scheme_file("testcases.jsonl");
    let config = GroupConfig::default();
    let mut mismatches = Vec::new();
    let mut n_cases = 0;
    for (line_idx, line) in text.lines().enumerate() {
        let case = parse_case_json(line).unwrap_or_else(|e| panic!("line {}: {e}", line_idx + 1));
        let meta: Line = serde_json::from_str(line).unwrap();
        let result = group(&case.record, scheme, &config);
        let got = (
            result.status.as_str(),
            result.mdc_code(scheme),
            result.adrg_code(scheme),
            result.drg_code(scheme),
        );
        let want = (
            meta.expected.status.as_str(),
            meta.expected.mdc.as_str(),
            meta.expected.adrg.as_str(),
            meta.expected.drg.as_str(),
        );
        if got != want {
            mismatches.push(format!(
                "{}: got {got:?}, want {want:?} ({})",
                meta.id,
                result.explain(scheme, &case.record)
            ));
        }
        n_cases += 1;
    }
    assert_eq!(n_cases, 1656, "the test file has 1,656 cases");
    assert!(
        mismatches.is_empty(),
        "{} of {n_cases} cases differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
