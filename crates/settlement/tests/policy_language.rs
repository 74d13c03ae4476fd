//! The policy language's rules explain themselves: every worked bill of the test policy
//! (`fixtures/2xx_lang_*.json`) settles with a trace that names the rule it used, and an
//! insurance year that is not the calendar year charges a stay that began before it to the
//! year of discharge, saying so.

use std::path::Path;

use yibao_policy::parse_policy;
use yibao_settlement::settle;
use yibao_settlement::settle_file::parse_settle_file;

fn test_policy(id: &str) -> yibao_policy::Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies")
        .join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&path).expect("test policy");
    parse_policy(&format!("{id}.toml"), &text).expect("valid test policy")
}

/// The trace of a fixture, rendered for clerks.
fn trace_of(fixture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let file = parse_settle_file(&text).expect("valid fixture");
    let policy = test_policy(&file.policy_id);
    let settlement = settle(&policy, &file.input_for(&policy)).expect("settles");
    settlement.trace.render_text()
}

#[test]
fn each_rule_is_named_in_the_trace() {
    let cases: &[(&str, &[&str])] = &[
        ("200_lang_age_band_ratio.json", &["比例表第 1 行适用条件：年龄 ≥70"]),
        (
            "201_lang_tcm_and_referral_adjustments.json",
            &["比例调整 5%（机构 tcm）", "比例调整 3%（转诊）"],
        ),
        (
            "202_lang_cost_segments.json",
            &["分段比例：20000.00 × 80% + 30000.00 × 82% + 10000.00 × 85% = 49100.00"],
        ),
        ("203_lang_third_admission_no_deductible.json", &["年内第 3 次住院：起付线 × 0"]),
        ("204_lang_deductible_halved_for_category.json", &["起付线减免（特殊人员 2）：× 0.5"]),
        ("205_lang_transfer_in_exempt.json", &["转院转入：起付线 × 0"]),
        (
            "207_lang_outpatient_period_caps.json",
            &["每次限额 200.00", "日限额 300.00，当日已付 150.00，余 150.00", "月限额 600.00，当月已付 500.00，余 100.00"],
        ),
        ("208_lang_village_clinic_ratio.json", &["适用条件：机构 village"]),
        ("211_lang_chronic_range_ratio_and_deductible.json", &["门慢认定：病种 diabetes 有效", "病种 diabetes（年度限额 2500.00）"]),
        ("212_lang_chronic_combined_quota.json", &["合并病种 hypertension、diabetes：最高限额 2500.00 + 每增加一病种 500.00 → 合并限额 3000.00，已用 2400.00"]),
        ("214_lang_dialysis_shares_inpatient_cap.json", &["与住院统筹共用年度限额，住院限额余 500.00"]),
        ("215_lang_negotiated_drug_outside_quota.json", &["国家谈判药品（双通道）政策范围内 1000.00 单独支付"]),
        ("217_lang_negotiated_at_other_pharmacy.json", &["不支付（非双通道定点药店）"]),
        ("218_lang_day_surgery.json", &["基本医疗保险统筹基金（日间手术）"]),
        ("219_lang_maternity_fixed_caesarean.json", &["生育类别 3 定额 5000.00"]),
        ("221_lang_cross_region_long_term.json", &["跨省异地就医（异地长期居住备案）：异地规则，统筹比例调整 0%"]),
        (
            "222_lang_cross_region_temporary_out_of_province.json",
            &["跨省异地就医（临时外出就医备案）：异地规则，统筹比例调整 -10%，起付线 × 1.5"],
        ),
        ("223_lang_cross_region_emergency_counts_as_temporary.json", &["省内异地就医（急诊视同临时外出就医备案）"]),
        ("224_lang_cross_region_unfiled.json", &["跨省异地就医（未备案）"]),
        ("225_lang_class_b_share_by_region.json", &["先行自付 100.00（比例 5%）", "先行自付 200.00（比例 20%）"]),
        (
            "226_lang_extra_layers_identity_all_costs_and_bands.json",
            &["「特惠保」适用：特殊人员 3", "基数含丙类及目录外费用", "年度累计基数 18000.00 → 24500.00"],
        ),
        ("230_lang_contribution_tier_ratios.json", &["适用条件：缴费档次 2"]),
        ("231_lang_accident_outpatient_not_for_adults.json", &["不支付（该待遇不适用于此参保人）"]),
    ];
    let mut missing = Vec::new();
    for (fixture, phrases) in cases {
        let trace = trace_of(fixture);
        for phrase in *phrases {
            if !trace.contains(phrase) {
                missing.push(format!("{fixture}: {phrase:?} not in\n{trace}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n\n"));
}

const JULY_YEAR: &str = r#"
id = "990300-2025"
admdvs = "990300"
effective_from = "2025-07-01"
effective_until = "2026-06-30"

[cross_region]
unfiled_points = "0"
emergency_counts_as_filed = true

[[schemes]]
insutype = "390"
pooling_fund = "390100"

[schemes.inpatient]
med_types = ["21"]
deductible_per_admission = { level1 = "100", level2 = "300", level3 = "600" }
repeat_admission_factor = "0.5"
annual_cap = "100000"
ratios = [{ all_levels = "0.70" }]
"#;

const STAY: &str = r#"{
  "policy": "990300-2025", "settle_date": "2025-07-03",
  "person": {"psn_no": "P1", "insutype": "390", "psn_type": "1501", "age": 40, "sp_psn_types": [],
             "insuplc_admdvs": "990300", "acct_balance": "0", "mulaid_balances": [], "ytd": {}},
  "visit": {"med_type": "21", "hi_setl_lv": "3", "mdtrtarea_admvs": "990300", "filing": "none",
            "emergency": false, "acct_used_flag": "0", "begin_date": "2025-06-25"},
  "lines": [{"med_list_codg": "A", "chrgitm_lv": "01", "selfpay_prop": "0", "pric": "5600", "cnt": "1",
             "pric_uplmt_amt": null, "lmt_used_flag": "0", "hosp_appr_flag": "0", "in_catalogue": true}]
}"#;

#[test]
fn an_insurance_year_from_july_charges_a_stay_to_the_year_of_discharge() {
    let policy = parse_policy("july.toml", JULY_YEAR).expect("an insurance year from July loads");
    assert_eq!(policy.year, 2025);
    let file = parse_settle_file(STAY).expect("valid bill");
    let settlement = settle(&policy, &file.input).expect("settles");
    // (5600 − 600) × 70% = 3500.00, counted in the 2025/26 insurance year.
    assert_eq!(settlement.amounts.hifp_pay.to_string(), "3500.00");
    let trace = settlement.trace.render_text();
    assert!(
        trace.contains("跨年度住院：入院 2025-06-25，出院结算日 2025-07-03 属 2025 医保年度"),
        "{trace}"
    );
    // The same policy settles in the next calendar year, up to its last day, and not after.
    let spring = STAY.replace("2025-07-03", "2026-06-30");
    let file = parse_settle_file(&spring).expect("valid bill");
    assert!(settle(&policy, &file.input).is_ok());
    let summer = STAY.replace("2025-07-03", "2026-07-01");
    let file = parse_settle_file(&summer).expect("valid bill");
    let error = settle(&policy, &file.input).expect_err("outside the insurance year");
    assert!(
        error
            .to_string()
            .starts_with("settle_date: 2026-07-01 is outside"),
        "{error}"
    );
    // An insurance year longer than a year is refused at load.
    let long = JULY_YEAR.replace("2026-06-30", "2026-07-01");
    let error = parse_policy("july.toml", &long).expect_err("too long");
    assert!(
        error
            .to_string()
            .contains("effective_until: an insurance year is at most one year long"),
        "{error}"
    );
}
