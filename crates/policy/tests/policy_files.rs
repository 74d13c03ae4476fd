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
    assert_eq!(ids, ["140500-2025", "370200-2019"]);
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
