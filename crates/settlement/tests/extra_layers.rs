//! The further layers of spec 4.5 (civil-servant subsidy, commercial inclusive insurance) on a
//! policy written for this test, and chronic use recorded under a full disease code.

use yibao_core_types::{Fen, FundPayType};
use yibao_policy::parse_policy;
use yibao_settlement::settle;
use yibao_settlement::settle_file::parse_settle_file;

const POLICY: &str = r#"
id = "999999-2025"
admdvs = "999999"
effective_from = "2025-01-01"
effective_until = "2025-12-31"

[cross_region]
unfiled_points = "-0.20"
emergency_counts_as_filed = true

[[schemes]]
insutype = "310"
pooling_fund = "310100"

[schemes.inpatient]
med_types = ["21"]
deductible_per_admission = { level1 = "300", level2 = "500", level3 = "700" }
repeat_admission_factor = "0.5"
annual_cap = "150000"
ratios = [{ level1 = "0.95", level2 = "0.93", level3 = "0.92" }]

[schemes.chronic]
med_types = ["14"]
disease_prefix_len = 3
ratios = [{ all_levels = "0.75" }]
quotas = { I10 = "1200" }

[[schemes.extra_layers]]
fund = "320100"
name = "公务员医疗补助"
med_types = ["21"]
psn_types = ["11"]
base = "policy_range"
annual_deductible = "0"
ratio = "0.80"

[[schemes.extra_layers]]
fund = "620100"
name = "惠民保"
med_types = ["21", "14"]
base = "with_selfpay"
annual_deductible = "100"
ratio = "0.50"
annual_cap = "300"
"#;

const BILL: &str = r#"{
  "policy": "999999-2025", "settle_date": "2025-03-01",
  "person": {"psn_no": "P9", "insutype": "310", "psn_type": "1101", "age": 50, "sp_psn_types": [],
             "insuplc_admdvs": "999999", "acct_balance": "0", "mulaid_balances": [], "ytd": {}},
  "visit": {"med_type": "21", "hi_setl_lv": "3", "mdtrtarea_admvs": "999999", "cross_region_filed": false,
            "emergency": false, "dise_codg": "", "acct_used_flag": "0"},
  "lines": [
    {"med_list_codg": "A", "chrgitm_lv": "01", "selfpay_prop": "0", "pric": "100", "cnt": "10", "pric_uplmt_amt": null, "lmt_used_flag": "0", "hosp_appr_flag": "0", "in_catalogue": true},
    {"med_list_codg": "B", "chrgitm_lv": "02", "selfpay_prop": "0.10", "pric": "2000", "cnt": "1", "pric_uplmt_amt": "", "lmt_used_flag": "0", "hosp_appr_flag": "0", "in_catalogue": true},
    {"med_list_codg": "C", "chrgitm_lv": "03", "selfpay_prop": "0", "pric": "500", "cnt": "1", "pric_uplmt_amt": null, "lmt_used_flag": "0", "hosp_appr_flag": "0", "in_catalogue": true},
    {"med_list_codg": "D", "chrgitm_lv": "01", "selfpay_prop": "0", "pric": "300", "cnt": "2", "pric_uplmt_amt": "250", "lmt_used_flag": "0", "hosp_appr_flag": "0", "in_catalogue": true}
  ]
}"#;

#[test]
fn civil_servant_and_commercial_layers() {
    let policy = parse_policy("test.toml", POLICY).expect("valid policy");
    let file = parse_settle_file(BILL).expect("valid bill");
    let s = settle(&policy, &file.input).expect("settles");
    // E 3300.00 (worked-example lines), preselfpay 200.00, over-cap 100.00, fully self-paid 500.00.
    // Basic: 3300 − 700 = 2600.00 × 92% = 2392.00.
    assert_eq!(s.amounts.hifp_pay, Fen(239_200));
    // Civil servant, policy range: 3300 − 2392 = 908.00 × 80% = 726.40.
    assert_eq!(s.amounts.cvlserv_pay, Fen(72_640));
    // Commercial, with self-pay: 3300 + 200 + 100 − 2392 − 726.40 = 481.60; deductible 100.00
    // → 381.60 × 50% = 190.80 (cap 300).
    assert_eq!(s.amounts.oth_pay, Fen(19_080));
    assert_eq!(s.amounts.fund_pay_sumamt, Fen(239_200 + 72_640 + 19_080));
    // 4100.00 − 3309.20 = 790.80.
    assert_eq!(s.amounts.psn_part_amt, Fen(79_080));
    let detail: Vec<(String, Fen)> = s
        .setldetail
        .iter()
        .map(|(fund, amount)| (fund.to_string(), *amount))
        .collect();
    assert_eq!(
        detail,
        [
            ("310100".to_owned(), Fen(239_200)),
            ("320100".to_owned(), Fen(72_640)),
            ("620100".to_owned(), Fen(19_080))
        ]
    );
    assert_eq!(s.ytd_delta.other_used("320100"), Fen(72_640));
    assert_eq!(s.ytd_delta.other_used("620100"), Fen(19_080));
    assert_eq!(s.ytd_delta.other_used("620100.deductible"), Fen(10_000));
    assert_eq!(FundPayType::CIVIL_SERVANT.to_string(), "320100");
}

#[test]
fn commercial_cap_and_deductible_carry_over_the_year() {
    let policy = parse_policy("test.toml", POLICY).expect("valid policy");
    let bill = BILL.replace(
        r#""ytd": {}"#,
        r#""ytd": {"other": {"620100": "250", "620100.deductible": "100"}}"#,
    );
    let file = parse_settle_file(&bill).expect("valid bill");
    let s = settle(&policy, &file.input).expect("settles");
    // Deductible already used: 481.60 × 50% = 240.80, but cap room 300 − 250 = 50.00.
    assert_eq!(s.amounts.oth_pay, Fen(5_000));
}

#[test]
fn chronic_use_recorded_under_a_full_code_counts() {
    let policy = parse_policy("test.toml", POLICY).expect("valid policy");
    let bill = BILL
        .replace(
            r#""ytd": {}"#,
            r#""ytd": {"chronic": {"I10.x05": "1000", "I10": "100"}}"#,
        )
        .replace(r#""med_type": "21""#, r#""med_type": "14""#)
        .replace(r#""dise_codg": """#, r#""dise_codg": "I10.x00""#);
    let file = parse_settle_file(&bill).expect("valid bill");
    let s = settle(&policy, &file.input).expect("settles");
    // Quota 1200 − (1000 + 100) = 100.00 room; 3300 × 75% = 2475.00 → 100.00. The civil-servant
    // layer is inpatient only; the commercial layer: 3600 − 100 = 3500 − 100 deductible = 3400
    // × 50% = 1700 → cap 300.00.
    assert_eq!(s.amounts.hifp_pay, Fen(10_000));
    assert_eq!(s.amounts.cvlserv_pay, Fen::ZERO);
    assert_eq!(s.amounts.oth_pay, Fen(30_000));
    assert_eq!(s.ytd_delta.chronic_used("I10"), Fen(10_000));
}

#[test]
fn fractional_age_and_compact_trace() {
    let policy = parse_policy("test.toml", POLICY).expect("valid policy");
    let file =
        parse_settle_file(&BILL.replace(r#""age": 50"#, r#""age": "50.5""#)).expect("valid bill");
    assert_eq!(file.input.person.age, 50);
    let bad =
        parse_settle_file(&BILL.replace(r#""age": 50"#, r#""age": "50.x""#)).expect_err("bad age");
    assert_eq!(bad.field, "person.age");
    let s = settle(&policy, &file.input).expect("settles");
    assert_eq!(
        s.trace.compact(),
        concat!(
            r#"[{"fundPayType":"310100","base":3300.00,"dedc":700.00,"ratio":0.92,"pay":2392.00,"capRoom":150000.00},"#,
            r#"{"fundPayType":"320100","base":908.00,"dedc":0.00,"ratio":0.8,"pay":726.40},"#,
            r#"{"fundPayType":"620100","base":481.60,"dedc":100.00,"ratio":0.5,"pay":190.80,"capRoom":300.00}]"#
        )
    );
}
