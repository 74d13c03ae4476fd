//! `yibao audit rules --json` and `yibao audit knowledge --json`: the shapes outside checks read
//! (issue 12 item 8), from the compiled-in files, without a database.

use std::process::{Command, Output};

use serde_json::Value;

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .output()
        .expect("run yibao")
}

fn json_of(args: &[&str]) -> Value {
    let output = yibao(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn rules_list_id_category_severity_phases_and_knowledge() {
    let rules = json_of(&["audit", "rules", "--json"]);
    let rules = rules.as_array().expect("a list");
    assert!(rules.len() >= 60, "{} rules", rules.len());
    let knowledge = json_of(&["audit", "knowledge", "--json"]);
    for rule in rules {
        assert!(rule["rule_id"].is_string(), "{rule}");
        let category = rule["category"].as_str().unwrap();
        assert!(
            ["POL", "PRC", "MED", "MGT", "BHV", "STA"].contains(&category),
            "{rule}"
        );
        assert!(
            (1..=3).contains(&rule["sev_deg"].as_u64().unwrap()),
            "{rule}"
        );
        assert!(!rule["phases"].as_array().unwrap().is_empty(), "{rule}");
        for table in rule["knowledge"].as_array().unwrap() {
            let table = table.as_str().unwrap();
            assert!(
                knowledge.get(table).is_some(),
                "{rule}: table {table} not printed"
            );
        }
    }
    let pol10 = rules
        .iter()
        .find(|r| r["rule_id"] == "POL-10")
        .expect("POL-10");
    assert_eq!(pol10["knowledge"], serde_json::json!(["level_limit"]));
    assert_eq!(
        pol10["phases"],
        serde_json::json!(["before", "during", "after"])
    );
}

#[test]
fn knowledge_tables_carry_exactly_the_issue_fields_and_the_scope() {
    let knowledge = json_of(&["audit", "knowledge", "--json"]);
    let expected: &[(&str, &[&str])] = &[
        (
            "sex_limit",
            &["admdvs", "begn_date", "end_date", "gend", "med_list_codg"],
        ),
        (
            "age_limit",
            &[
                "admdvs",
                "begn_date",
                "end_date",
                "max_age",
                "med_list_codg",
                "min_age",
            ],
        ),
        (
            "quantity_limit",
            &[
                "admdvs",
                "begn_date",
                "end_date",
                "max_cnt",
                "med_list_codg",
                "per",
            ],
        ),
        (
            "exclusive_pair",
            &[
                "admdvs",
                "begn_date",
                "end_date",
                "med_list_codg_a",
                "med_list_codg_b",
                "within",
            ],
        ),
        (
            "min_interval",
            &[
                "admdvs",
                "begn_date",
                "end_date",
                "med_list_codg",
                "min_days",
            ],
        ),
        (
            "level_limit",
            &[
                "admdvs",
                "begn_date",
                "end_date",
                "med_list_codg",
                "min_hosp_lv",
            ],
        ),
    ];
    for (table, fields) in expected {
        let entries = knowledge[table]
            .as_array()
            .unwrap_or_else(|| panic!("table {table}"));
        assert!(!entries.is_empty(), "{table} is empty");
        for entry in entries {
            assert_eq!(&keys(entry), fields, "{table}: {entry}");
        }
    }
    let sex = &knowledge["sex_limit"][0];
    assert!(sex["gend"] == "1" || sex["gend"] == "2", "{sex}");
    assert!(sex["admdvs"].is_null(), "{sex}");
    for entry in knowledge["quantity_limit"].as_array().unwrap() {
        assert!(entry["per"] == "day" || entry["per"] == "visit", "{entry}");
    }
    for entry in knowledge["level_limit"].as_array().unwrap() {
        assert!(
            (1..=3).contains(&entry["min_hosp_lv"].as_u64().unwrap()),
            "{entry}"
        );
    }
}

#[test]
fn every_category_has_rules_and_tagged_rules_name_tags_their_table_has() {
    let rules = json_of(&["audit", "rules", "--json"]);
    let knowledge = json_of(&["audit", "knowledge", "--json"]);
    for category in ["POL", "PRC", "MED", "MGT", "BHV", "STA"] {
        let n = rules
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["category"] == category)
            .count();
        assert!(n >= 4, "{category}: {n} rules");
    }
    // The five tables of the issue print exactly their fields; the others print their tags.
    let exact = [
        "sex_limit",
        "age_limit",
        "quantity_limit",
        "exclusive_pair",
        "level_limit",
    ];
    for rule in rules.as_array().unwrap() {
        let Some(tag) = rule.get("tag") else {
            continue;
        };
        let table = rule["knowledge"][0].as_str().unwrap();
        if exact.contains(&table) {
            continue;
        }
        let tagged = knowledge[table]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry.get("tag") == Some(tag));
        assert!(tagged, "{rule}: no entry of {table} has tag {tag}");
    }
}
