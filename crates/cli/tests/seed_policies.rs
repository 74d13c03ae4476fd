//! Every figure a seed report publishes about a shipped policy, coming out of `yibao settle`:
//! one test per figure, each a bill written for it and settled by the binary.

use std::process::Command;

use serde_json::{json, Value};

/// A settle file for `policy` with one 甲类 line of `amount` yuan; `patch` overrides fields of
/// `person` and `visit`.
fn bill(
    policy: &str,
    insutype: &str,
    psn_type: &str,
    med_type: &str,
    level: &str,
    amount: &str,
    patch: Value,
) -> Value {
    let region = &policy[..6];
    let year = &policy[7..];
    let mut bill = json!({
        "policy": policy,
        "settle_date": format!("{year}-06-10"),
        "person": {"psn_no": "P1", "insutype": insutype, "psn_type": psn_type, "age": 45,
                   "sp_psn_types": [], "insuplc_admdvs": region, "acct_balance": "0",
                   "mulaid_balances": [], "ytd": {}},
        "visit": {"med_type": med_type, "hi_setl_lv": level, "mdtrtarea_admvs": region,
                  "filing": "none", "emergency": false, "dise_codg": "", "acct_used_flag": "0"},
        "lines": [{"med_list_codg": "A", "chrgitm_lv": "01", "selfpay_prop": "0", "pric": amount,
                   "cnt": "1", "pric_uplmt_amt": null, "lmt_used_flag": "0",
                   "hosp_appr_flag": "0", "in_catalogue": true}]
    });
    for part in ["person", "visit"] {
        if let Some(fields) = patch.get(part).and_then(Value::as_object) {
            for (key, value) in fields {
                bill[part][key] = value.clone();
            }
        }
    }
    bill
}

/// Runs `yibao settle` on the bill and returns its JSON answer.
fn settle(bill: &Value) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bill.json");
    std::fs::write(&path, bill.to_string()).expect("write bill");
    let output = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(["settle", path.to_str().expect("utf-8 path")])
        .output()
        .expect("run yibao");
    assert!(
        output.status.success(),
        "yibao settle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON answer")
}

/// An amount of the answer's `setlinfo` in fen.
fn fen(answer: &Value, field: &str) -> i64 {
    let text = answer["setlinfo"][field].to_string();
    let (yuan, cents) = text.split_once('.').unwrap_or((&text, "00"));
    yuan.parse::<i64>().expect("yuan") * 100 + cents.parse::<i64>().expect("fen")
}

/// `part / whole` as a percentage with two decimals, exactly (`9200` = 92.00%).
fn percent_e2(part: i64, whole: i64) -> i64 {
    part * 10_000 / whole
}

// ---------------------------------------------------------------- Jincheng 2025 (seed 004)

#[test]
fn jincheng_employees_inpatient_pays_92_percent_of_the_policy_range_at_level_3() {
    let answer = settle(&bill(
        "140500-2025",
        "310",
        "1101",
        "21",
        "3",
        "20700",
        json!({}),
    ));
    let above_deductible = fen(&answer, "inscp_scp_amt") - fen(&answer, "act_pay_dedc");
    assert_eq!(percent_e2(fen(&answer, "hifp_pay"), above_deductible), 9200);
    // Every other employee (retired, lower levels) gets at least 92%.
    for (psn_type, level) in [
        ("1101", "1"),
        ("1101", "2"),
        ("1201", "1"),
        ("1201", "2"),
        ("1201", "3"),
    ] {
        let answer = settle(&bill(
            "140500-2025",
            "310",
            psn_type,
            "21",
            level,
            "20700",
            json!({}),
        ));
        let above_deductible = fen(&answer, "inscp_scp_amt") - fen(&answer, "act_pay_dedc");
        assert!(
            percent_e2(fen(&answer, "hifp_pay"), above_deductible) >= 9200,
            "{psn_type} level {level}"
        );
    }
}

#[test]
fn jincheng_residents_inpatient_pays_60_to_85_percent() {
    let level1 = settle(&bill(
        "140500-2025",
        "390",
        "1501",
        "21",
        "1",
        "10200",
        json!({}),
    ));
    let level3 = settle(&bill(
        "140500-2025",
        "390",
        "1501",
        "21",
        "3",
        "11000",
        json!({}),
    ));
    let ratio = |answer: &Value| {
        percent_e2(
            fen(answer, "hifp_pay"),
            fen(answer, "inscp_scp_amt") - fen(answer, "act_pay_dedc"),
        )
    };
    assert_eq!(ratio(&level1), 8500);
    assert_eq!(ratio(&level3), 6000);
}

#[test]
fn jincheng_chronic_outpatient_pays_70_to_75_percent() {
    let patch = json!({"visit": {"dise_codg": "E11.900"}});
    let employees = settle(&bill(
        "140500-2025",
        "310",
        "1101",
        "14",
        "2",
        "1000",
        patch.clone(),
    ));
    let residents = settle(&bill(
        "140500-2025",
        "390",
        "1501",
        "14",
        "2",
        "1000",
        patch,
    ));
    assert_eq!(percent_e2(fen(&employees, "hifp_pay"), 100_000), 7500);
    assert_eq!(percent_e2(fen(&residents, "hifp_pay"), 100_000), 7000);
}

#[test]
fn jincheng_large_amount_cap_is_500000_for_employees() {
    // Basic cap used up; 499,000 of the large-amount cap used: only 1,000.00 is left to pay.
    let patch = json!({"person": {"ytd": {"hifp_inpatient": "150000", "hifob": "499000", "inpatient_admissions": 1}}});
    let answer = settle(&bill(
        "140500-2025",
        "310",
        "1101",
        "21",
        "3",
        "50350",
        patch,
    ));
    assert_eq!(fen(&answer, "hifp_pay"), 0);
    assert_eq!(fen(&answer, "hifob_pay"), 100_000);
}

#[test]
fn jincheng_serious_illness_cap_is_400000_for_residents() {
    let patch = json!({"person": {"ytd": {"hifmi_base": "500000", "hifmi": "399500", "hifp_inpatient": "150000", "inpatient_admissions": 1}}});
    let answer = settle(&bill(
        "140500-2025",
        "390",
        "1501",
        "21",
        "3",
        "20500",
        patch,
    ));
    assert_eq!(fen(&answer, "hifmi_pay"), 50_000);
}

// ---------------------------------------------------------------- Qingdao 2019 (seed 001)

#[test]
fn qingdao_tier_2_adults_serious_illness_62_percent() {
    // Accumulated base already above the threshold: every further yuan at the rule's ratio.
    let patch = json!({"person": {"tier": "2", "ytd": {"hifmi_base": "20000"}}});
    let answer = settle(&bill(
        "370200-2019",
        "390",
        "1501",
        "21",
        "3",
        "10800",
        patch,
    ));
    let base = fen(&answer, "inscp_scp_amt") - fen(&answer, "hifp_pay");
    assert_eq!(percent_e2(fen(&answer, "hifmi_pay"), base), 6200);
}

#[test]
fn qingdao_tier_2_adults_dialysis_and_transplant_65_percent() {
    for dise_codg in ["N18.500", "Z94.001"] {
        let patch = json!({"person": {"tier": "2", "ytd": {"hifmi_base": "20000"}},
                           "visit": {"dise_codg": dise_codg}});
        let answer = settle(&bill(
            "370200-2019",
            "390",
            "1501",
            "21",
            "3",
            "10800",
            patch,
        ));
        let base = fen(&answer, "inscp_scp_amt") - fen(&answer, "hifp_pay");
        assert_eq!(
            percent_e2(fen(&answer, "hifmi_pay"), base),
            6500,
            "{dise_codg}"
        );
    }
    // Tier 1 adults and children are not in these rules.
    for (tier, psn_type) in [("1", "1501"), ("2", "1403")] {
        let patch = json!({"person": {"tier": tier, "ytd": {"hifmi_base": "20000"}}, "visit": {"dise_codg": "N18.500"}});
        let answer = settle(&bill(
            "370200-2019",
            "390",
            psn_type,
            "21",
            "3",
            "10800",
            patch,
        ));
        let base = fen(&answer, "inscp_scp_amt") - fen(&answer, "hifp_pay");
        assert_ne!(
            percent_e2(fen(&answer, "hifmi_pay"), base),
            6500,
            "{tier} {psn_type}"
        );
    }
}

#[test]
fn qingdao_children_and_students_outpatient_plus_10_points() {
    let child = settle(&bill(
        "370200-2019",
        "390",
        "1403",
        "11",
        "1",
        "100",
        json!({"person": {"tier": "2"}}),
    ));
    let student = settle(&bill(
        "370200-2019",
        "390",
        "1404",
        "11",
        "1",
        "100",
        json!({"person": {"tier": "1"}}),
    ));
    let adult = settle(&bill(
        "370200-2019",
        "390",
        "1501",
        "11",
        "1",
        "100",
        json!({"person": {"tier": "1"}}),
    ));
    assert_eq!(fen(&child, "hifp_pay") - fen(&adult, "hifp_pay"), 1000);
    assert_eq!(fen(&student, "hifp_pay") - fen(&adult, "hifp_pay"), 1000);
}

#[test]
fn qingdao_children_accident_outpatient_cap_3000() {
    let patch = json!({"person": {"tier": "2", "ytd": {"other": {"accident_outpatient": "2900", "accident_outpatient.deductible": "100"}}}});
    let child = settle(&bill(
        "370200-2019",
        "390",
        "1403",
        "9903",
        "1",
        "1000",
        patch.clone(),
    ));
    assert_eq!(fen(&child, "hifp_pay"), 10_000, "3000 − 2900 left");
    let adult = settle(&bill(
        "370200-2019",
        "390",
        "1501",
        "9903",
        "1",
        "1000",
        patch,
    ));
    assert_eq!(
        fen(&adult, "hifp_pay"),
        0,
        "adults have no accident outpatient benefit"
    );
}

// ---------------------------------------------------------------- Xiangtan 2024 (seed 000)

#[test]
fn xiangtan_assistance_in_three_categories_without_applying() {
    let mut paid = Vec::new();
    for category in ["1", "2", "903"] {
        let patch = json!({"person": {"sp_psn_types": [category]}});
        let answer = settle(&bill(
            "430300-2024",
            "390",
            "1501",
            "21",
            "2",
            "10000",
            patch,
        ));
        assert!(
            fen(&answer, "maf_pay") > 0,
            "category {category} is assisted from its identity alone"
        );
        paid.push(fen(&answer, "maf_pay"));
    }
    paid.dedup();
    assert_eq!(paid.len(), 3, "three categories, three standards: {paid:?}");
    let none = settle(&bill(
        "430300-2024",
        "390",
        "1501",
        "21",
        "2",
        "10000",
        json!({}),
    ));
    assert_eq!(fen(&none, "maf_pay"), 0);
}

// ---------------------------------------------------------------- Zhongshan 2022 (seed 002)

#[test]
fn zhongshan_tcm_special_treatment_75_percent() {
    let patch = json!({"visit": {"institution_kinds": ["tcm"]}});
    for insutype in ["310", "390"] {
        let psn_type = if insutype == "310" { "1101" } else { "1501" };
        let answer = settle(&bill(
            "442000-2022",
            insutype,
            psn_type,
            "21",
            "2",
            "10600",
            patch.clone(),
        ));
        let above_deductible = fen(&answer, "inscp_scp_amt") - fen(&answer, "act_pay_dedc");
        assert_eq!(
            percent_e2(fen(&answer, "hifp_pay"), above_deductible),
            7500,
            "{insutype}"
        );
    }
}

#[test]
fn zhongshan_boaikang_can_pay_the_published_largest_claim_of_358000() {
    // A large self-paid and policy-range cost after the basic and large-amount funds.
    let patch = json!({"person": {"ytd": {"hifp_inpatient": "250000", "hifob": "400000", "inpatient_admissions": 1}}});
    let answer = settle(&bill(
        "442000-2022",
        "310",
        "1101",
        "21",
        "3",
        "495333.33",
        patch,
    ));
    // (495333.33 − 18000 deductible) × 75% = 357999.9975 → 358000.00.
    assert_eq!(fen(&answer, "oth_pay"), 35_800_000);
}

#[test]
fn zhongshan_maternity_for_employees_and_residents() {
    let patch = json!({"visit": {"matn_type": "3"}});
    let employee = settle(&bill(
        "442000-2022",
        "310",
        "1101",
        "52",
        "2",
        "9000",
        patch.clone(),
    ));
    assert!(
        fen(&employee, "oth_pay") > 0,
        "employees: maternity fund 510100"
    );
    let resident = settle(&bill(
        "442000-2022",
        "390",
        "1501",
        "52",
        "2",
        "9000",
        patch,
    ));
    assert!(
        fen(&resident, "hifp_pay") > 0,
        "residents: maternity settled as inpatient care"
    );
}

// ---------------------------------------------------------------- Tancheng 2023 (seed 003)

#[test]
fn tancheng_unfiled_emergency_settles_as_a_temporary_trip() {
    let temporary = json!({"visit": {"mdtrtarea_admvs": "330100", "filing": "temporary"}});
    let emergency =
        json!({"visit": {"mdtrtarea_admvs": "330100", "emergency": true, "med_type": "24"}});
    let unfiled = json!({"visit": {"mdtrtarea_admvs": "330100"}});
    let filed = settle(&bill(
        "371322-2023",
        "390",
        "1501",
        "21",
        "3",
        "11000",
        temporary,
    ));
    let urgent = settle(&bill(
        "371322-2023",
        "390",
        "1501",
        "21",
        "3",
        "11000",
        emergency,
    ));
    let plain = settle(&bill(
        "371322-2023",
        "390",
        "1501",
        "21",
        "3",
        "11000",
        unfiled,
    ));
    assert_eq!(fen(&urgent, "hifp_pay"), fen(&filed, "hifp_pay"));
    assert!(fen(&plain, "hifp_pay") < fen(&filed, "hifp_pay"));
}

#[test]
fn tancheng_transplant_and_cancer_chronic_benefits_need_only_the_recognition() {
    for dise_codg in ["Z94.001", "C34.900"] {
        let recognition =
            json!([{"dise_codg": dise_codg, "begndate": "2023-01-01", "enddate": "2023-12-31"}]);
        let patch = json!({"person": {"chronic_recognitions": recognition}, "visit": {"dise_codg": dise_codg}});
        let answer = settle(&bill(
            "371322-2023",
            "390",
            "1501",
            "14",
            "2",
            "1000",
            patch,
        ));
        assert_eq!(fen(&answer, "hifp_pay"), 75_000, "{dise_codg}");
    }
}
