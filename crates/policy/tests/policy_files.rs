//! The shipped policies load and say what the spec says; bad policy files are refused with the
//! file, the field path and the reason, in order of precedence.

use yibao_core_types::{Fen, HiSetlLv, Insutype, PsnType, Ratio};
use yibao_policy::builtin::BUILTIN_POLICY_FILES;
use yibao_policy::{builtin_policies, builtin_policy, parse_policy, PolicyError, Subject};

/// A person of this type, 40 years old, with nothing else about them or the visit.
fn subject(psn_type: PsnType) -> Subject<'static> {
    Subject {
        psn_type,
        age: 40,
        sp_psn_types: &[],
        tier: None,
        institution_kinds: &[],
        referral: false,
        dise_codg: "",
    }
}

#[test]
fn shipped_policies_parse() {
    let policies = builtin_policies().expect("shipped policies are valid");
    let ids: Vec<&str> = policies.iter().map(|policy| policy.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "140500-2025",
            "370200-2019",
            "371322-2023",
            "430300-2024",
            "442000-2022"
        ]
    );
    for (policy, (file, _)) in policies.iter().zip(BUILTIN_POLICY_FILES) {
        assert_eq!(*file, format!("policies/{}.toml", policy.id));
    }
}

#[test]
fn reference_policy_matches_spec_section_8() {
    let policy = builtin_policy("140500-2025")
        .expect("shipped")
        .expect("valid");
    assert_eq!(policy.year, 2025);
    assert_eq!(policy.cross_region.unfiled_points, Ratio::percent(-20));
    let employees = policy.scheme(Insutype::EMPLOYEE).expect("310");
    let inpatient = employees.inpatient.as_ref().expect("inpatient");
    assert_eq!(
        inpatient.deductible_per_admission,
        [Fen::yuan(300), Fen::yuan(500), Fen::yuan(700)]
    );
    let retired = PsnType::parse("1201").unwrap();
    let employed = PsnType::parse("1101").unwrap();
    let ratio = |psn_type, level| {
        inpatient
            .ratios
            .lookup(level, &subject(psn_type))
            .map(|lookup| lookup.table_ratio)
    };
    assert_eq!(ratio(employed, HiSetlLv::Level3), Some(Ratio::percent(92)));
    assert_eq!(ratio(retired, HiSetlLv::Level1), Some(Ratio::percent(97)));
    assert_eq!(
        employees
            .large_amount
            .as_ref()
            .map(|layer| layer.annual_cap),
        Some(Fen::yuan(500_000))
    );
    let chronic = employees.chronic.as_ref().expect("chronic");
    assert_eq!(
        chronic.disease("N18.500").map(|disease| disease.quota),
        Some(Fen::yuan(60_000))
    );
    assert!(chronic.disease("J45").is_none());
    let residents = policy.scheme(Insutype::RESIDENT).expect("390");
    let outpatient = &residents.outpatient[0];
    let adult = PsnType::parse("1501").unwrap();
    assert!(
        outpatient
            .ratios
            .lookup(HiSetlLv::Level2, &subject(adult))
            .is_none(),
        "no pooling at level 2"
    );
    let serious_illness = residents.serious_illness.as_ref().expect("serious illness");
    assert_eq!(serious_illness.rules[0].threshold, Fen::yuan(7_500));
    assert_eq!(serious_illness.rules[0].annual_cap, None);
    assert_eq!(
        serious_illness.rules[1].annual_cap,
        Some(Fen::yuan(400_000))
    );
    assert!(residents.personal_account.is_none());
}

const GOOD: &str = r#"
id = "140500-2025"
admdvs = "140500"
effective_from = "2025-01-01"
effective_until = "2025-12-31"

[cross_region]
unfiled_points = "-0.20"
emergency_counts_as_filed = true

[[schemes]]
insutype = "390"
pooling_fund = "390100"

[schemes.inpatient]
med_types = ["21"]
deductible_per_admission = { level1 = "200", level2 = "500", level3 = "1000" }
repeat_admission_factor = "0.5"
annual_cap = "150000"
ratios = [{ level1 = "0.85", level2 = "0.75", level3 = "0.60" }]

[schemes.serious_illness]
fund = "390200"
med_types = ["21"]
[[schemes.serious_illness.rules]]
threshold = "15000"
bands = [{ width = "50000", ratio = "0.60" }, { ratio = "0.80" }]
"#;

/// Bad files, each one change away from `GOOD`, with the error each must give.
const BAD: &[(&str, &str, &str)] = &[
    ("syntax", "admdvs = \"140500\"", "admdvs = 140500 140500"),
    ("unknown key", "repeat_admission_factor", "repeat_factor"),
    ("id", "id = \"140500-2025\"", "id = \"140500-2024\""),
    ("admdvs", "admdvs = \"140500\"", "admdvs = \"1405\""),
    (
        "date",
        "effective_from = \"2025-01-01\"",
        "effective_from = \"2025-13-01\"",
    ),
    (
        "dates reversed",
        "effective_until = \"2025-12-31\"",
        "effective_until = \"2024-12-31\"",
    ),
    (
        "points",
        "unfiled_points = \"-0.20\"",
        "unfiled_points = \"-2\"",
    ),
    ("insutype", "insutype = \"390\"", "insutype = \"39x\""),
    (
        "fund",
        "pooling_fund = \"390100\"",
        "pooling_fund = \"3901\"",
    ),
    (
        "med type",
        "med_types = [\"21\"]\ndeductible",
        "med_types = [\"2a\"]\ndeductible",
    ),
    (
        "deductible",
        "level2 = \"500\", level3 = \"1000\" }",
        "level2 = \"-500\", level3 = \"1000\" }",
    ),
    ("ratio above one", "level1 = \"0.85\"", "level1 = \"1.5\""),
    ("float ratio", "level1 = \"0.85\"", "level1 = 0.85"),
    (
        "no ratio",
        "ratios = [{ level1 = \"0.85\", level2 = \"0.75\", level3 = \"0.60\" }]",
        "ratios = [{ psn_types = [\"14\"] }]",
    ),
    (
        "unbounded band not last",
        "bands = [{ width = \"50000\", ratio = \"0.60\" }",
        "bands = [{ ratio = \"0.60\" }",
    ),
    (
        "money decimals",
        "annual_cap = \"150000\"",
        "annual_cap = \"150000.001\"",
    ),
];

const BAD_ERRORS: &[&str] = &[
    "t.toml: TOML parse error at line 3",
    "t.toml: TOML parse error at line 18, column 1",
    "t.toml: id: must be <admdvs>-<year> = \"140500-2025\" (got \"140500-2024\")",
    "t.toml: admdvs: admdvs: has the wrong length (got \"1405\")",
    "t.toml: effective_from: must be a date yyyy-MM-dd (got \"2025-13-01\")",
    "t.toml: effective_until: is before effective_from",
    "t.toml: cross_region.unfiled_points: points must lie in [-1, 1]",
    "t.toml: schemes[0].insutype: insutype: must be digits (got \"39x\")",
    "t.toml: schemes[0].pooling_fund: fund_pay_type: has the wrong length (got \"3901\")",
    "t.toml: schemes[0].inpatient.med_types[0]: med_type: must be digits (got \"2a\")",
    "t.toml: schemes[0].inpatient.deductible_per_admission.level2: must not be negative",
    "t.toml: schemes[0].inpatient.ratios[0].level1: out of range (largest magnitude 1.000000) (a share in [0, 1])",
    "t.toml: TOML parse error at line 20, column 22",
    "t.toml: schemes[0].inpatient.ratios[0]: gives no ratio for any level",
    "t.toml: schemes[0].serious_illness.rules[0].bands[0].width: only the last band may be unbounded",
    "t.toml: schemes[0].inpatient.annual_cap: more than 2 decimal places",
];

#[test]
fn good_policy_parses() {
    let policy = parse_policy("t.toml", GOOD).expect("valid");
    assert_eq!(policy.id, "140500-2025");
}

#[test]
fn bad_policies_name_file_field_and_reason() {
    assert_eq!(BAD.len(), BAD_ERRORS.len());
    for ((name, from, to), expected) in BAD.iter().zip(BAD_ERRORS) {
        assert!(GOOD.contains(from), "{name}: pattern not in GOOD");
        let text = GOOD.replacen(from, to, 1);
        let error = parse_policy("t.toml", &text).expect_err(name);
        let message = error.to_string();
        assert!(
            message.starts_with(expected),
            "{name}: expected {expected:?}, got {message:?}"
        );
        match error {
            PolicyError::Syntax { file, .. } | PolicyError::Invalid { file, .. } => {
                assert_eq!(file, "t.toml")
            }
        }
    }
}

/// A policy using the newer parts of the language, each mutation below one change away.
const RICH: &str = r#"
id = "990100-2025"
admdvs = "990100"
effective_from = "2025-01-01"
effective_until = "2025-12-31"

[cross_region]
unfiled_points = "-0.20"
emergency_counts_as_filed = true
rules = [{ filing = "temporary", scope = "out_of_province", points = "-0.10" }]

[[schemes]]
insutype = "310"
pooling_fund = "310100"
tiers = ["1", "2"]

[schemes.inpatient]
med_types = ["21"]
deductible_per_admission = { level1 = "300", level2 = "600", level3 = "1000" }
admission_factors = ["1", "0.5", "0"]
annual_cap = "100000"
ratios = [{ when = { tiers = ["2"] }, level1 = "0.85", level2 = "0.82", level3 = "0.80" }]
adjustments = [{ when = { institution_kinds = ["tcm"] }, points = "0.05" }]
segments = [{ above = "20000", points = "0.02" }, { above = "50000", points = "0.05" }]

[[schemes.outpatient]]
med_types = ["11"]
annual_deductible = "500"
annual_cap = "3000"
ratios = [{ level1 = "0.70" }]

[schemes.maternity]
med_types = ["52"]
fund = "510100"
fixed = [{ matn_types = ["3"], amount = "5000" }]

[schemes.large_amount]
fund = "330100"
med_types = ["21"]
ratio = "0.90"
annual_cap = "300000"

[[schemes.extra_layers]]
fund = "999997"
name = "惠民保"
med_types = ["21"]
base = "all"
annual_deductible = "20000"
bands = [{ width = "80000", ratio = "0.60" }, { ratio = "0.80" }]
"#;

#[test]
fn bad_policy_language_files_are_refused_with_the_reason() {
    parse_policy("r.toml", RICH).expect("the rich policy is valid");
    let cases: &[(&str, &str, &str)] = &[
        (
            "{ above = \"50000\", points = \"0.05\" }",
            "{ above = \"20000\", points = \"0.05\" }",
            "r.toml: schemes[0].inpatient.segments[1].above: segments overlap: 20000.00 is not above the previous segment's start 20000.00",
        ),
        (
            "points = \"0.05\" }]\nsegments",
            "points = \"0.25\" }]\nsegments",
            "r.toml: schemes[0].inpatient.adjustments: the highest ratio plus every positive adjustment reaches 1.1: the fund would pay more than the policy-range amount",
        ),
        (
            "{ above = \"50000\", points = \"0.05\" }",
            "{ above = \"50000\", points = \"0.15\" }",
            "r.toml: schemes[0].inpatient.segments[1].points: the ratio in this segment reaches 1.05",
        ),
        (
            "when = { tiers = [\"2\"] }",
            "when = { tiers = [\"3\"] }",
            "r.toml: schemes[0].inpatient.ratios[0].when.tiers[0]: unknown tier \"3\"",
        ),
        (
            "institution_kinds = [\"tcm\"]",
            "institution_kinds = [\"herbal\"]",
            "r.toml: schemes[0].inpatient.adjustments[0].when.institution_kinds[0]: unknown institution kind \"herbal\"",
        ),
        (
            "fund = \"999997\"",
            "fund = \"999998\"",
            "r.toml: schemes[0].extra_layers[0].fund: unknown fund_pay_type 999998",
        ),
        (
            "med_types = [\"21\"]\nratio = \"0.90\"",
            "med_types = [\"21\", \"11\"]\nratio = \"0.90\"",
            "r.toml: schemes[0].large_amount.med_types[1]: med_type 11 is general outpatient: an amount over an outpatient cap never reaches the large-amount fund",
        ),
        (
            "med_types = [\"21\"]\nratio = \"0.90\"",
            "med_types = []\nratio = \"0.90\"",
            "r.toml: schemes[0].large_amount.med_types: must not be empty",
        ),
        (
            "matn_types = [\"3\"]",
            "matn_types = [\"8\"]",
            "r.toml: schemes[0].maternity.fixed[0].matn_types[0]: unknown matn_type \"8\"",
        ),
        (
            "admission_factors = [\"1\", \"0.5\", \"0\"]",
            "admission_factors = [\"1\", \"1.5\"]",
            "r.toml: schemes[0].inpatient.admission_factors[1]: out of range",
        ),
        (
            "effective_until = \"2025-12-31\"",
            "effective_until = \"2026-01-01\"",
            "r.toml: effective_until: an insurance year is at most one year long",
        ),
        (
            "rules = [{ filing = \"temporary\", scope = \"out_of_province\", points = \"-0.10\" }]",
            "rules = [{ filing = \"temporary\", points = \"-0.10\" }, { filing = \"temporary\", scope = \"in_province\", points = \"-0.05\" }]",
            "r.toml: cross_region.rules[1].scope: an earlier rule already covers this filing kind and scope",
        ),
        (
            "name = \"惠民保\"\nmed_types = [\"21\"]\n",
            "name = \"惠民保\"\n",
            "r.toml: TOML parse error",
        ),
        (
            "{ width = \"80000\", ratio = \"0.60\" }, { ratio = \"0.80\" }",
            "{ ratio = \"0.60\" }, { ratio = \"0.80\" }",
            "r.toml: schemes[0].extra_layers[0].bands[0].width: only the last band may be unbounded",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(RICH.contains(from), "pattern {from:?} not in RICH");
        let text = RICH.replacen(from, to, 1);
        let message = parse_policy("r.toml", &text)
            .expect_err(expected)
            .to_string();
        assert!(
            message.starts_with(expected),
            "expected {expected:?}, got {message:?}"
        );
    }
}
