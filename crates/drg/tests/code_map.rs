//! The project's code maps (`data/codes/`): a record written in another edition's codes groups,
//! after translation, exactly like the 医保版 2.0 record it stands for.

mod common;

use std::collections::HashMap;

use yibao_drg::{
    group, parse_case_json, CodeMap, CodeMapFiles, GroupConfig, TranslateError, UnmappedCodes,
};

fn code_map() -> CodeMap {
    let diagnosis_csv = common::codes_file(CodeMapFiles::DIAGNOSIS_CSV);
    let procedure_csv = common::codes_file(CodeMapFiles::PROCEDURE_CSV);
    CodeMap::load(&CodeMapFiles {
        diagnosis_csv: &diagnosis_csv,
        procedure_csv: &procedure_csv,
    })
    .expect("the project's code maps load")
}

/// For each target code, one `from_code` of another edition that the map rewrites into it.
fn other_edition(csv: &str) -> HashMap<String, String> {
    let mut reverse = HashMap::new();
    for line in csv.lines().skip(1) {
        let (from, to) = line.split_once(',').expect("two columns");
        if from != to {
            reverse
                .entry(to.to_string())
                .or_insert_with(|| from.to_string());
        }
    }
    reverse
}

#[test]
fn translated_test_cases_group_like_the_originals() {
    let scheme = common::scheme();
    let map = code_map();
    let dx_back = other_edition(&common::codes_file(CodeMapFiles::DIAGNOSIS_CSV));
    let px_back = other_edition(&common::codes_file(CodeMapFiles::PROCEDURE_CSV));
    let config = GroupConfig::default();
    let mut n_rewritten = 0;
    let mut mismatches = Vec::new();
    for line in common::scheme_file("testcases.jsonl").lines() {
        let case = parse_case_json(line).unwrap();
        let mut foreign = case.record.clone();
        for code in foreign.diagnoses.iter_mut() {
            if let Some(from) = dx_back.get(code.as_str()) {
                *code = from.clone();
                n_rewritten += 1;
            }
        }
        for code in foreign.procedures.iter_mut() {
            if let Some(from) = px_back.get(code.as_str()) {
                *code = from.clone();
                n_rewritten += 1;
            }
        }
        let translated = map.translate(&foreign, UnmappedCodes::Keep).unwrap();
        let want = group(&case.record, scheme, &config);
        let got = group(&translated, scheme, &config);
        if (got.status, got.drg) != (want.status, want.drg) {
            mismatches.push(format!("{:?}: {:?} vs {:?}", case.id, got.drg, want.drg));
        }
    }
    assert!(
        n_rewritten > 500,
        "only {n_rewritten} codes had another edition's form"
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn strict_translation_refuses_a_code_without_a_row() {
    let map = code_map();
    // A04.701 is an MCC code of the scheme that the diagnosis map has no row for.
    let case = parse_case_json(
        r#"{"sex": 1, "age_years": 50, "diagnoses": ["A00.000x001", "A04.701"], "procedures": []}"#,
    )
    .unwrap();
    assert_eq!(map.diagnosis("A00.000x001"), Some("A00.000x001"));
    assert_eq!(
        map.translate(&case.record, UnmappedCodes::Reject),
        Err(TranslateError::Diagnosis {
            diagnosis_idx: 1,
            code: "A04.701".into()
        })
    );
    assert_eq!(
        map.translate(&case.record, UnmappedCodes::Keep).unwrap(),
        case.record
    );
}
