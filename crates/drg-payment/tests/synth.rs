//! The synthetic history generator: deterministic in its seed, codes drawn from the lists it is
//! given, the ADRG's sex rule kept, costs ordered by level and severity, shares within the cost.

use std::collections::HashSet;

use yibao_drg_payment::synth::{
    insured_share_fen, synth_region, synth_year, AdrgCodes, SchemeCodes, Section, Severity,
    SexRule, SynthCase,
};
use yibao_drg_payment::{HospitalLevel, PaymentError};

fn strings(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

fn codes() -> SchemeCodes {
    let adrg = |code: &str, section, sex, dx: &str, px: &str| AdrgCodes {
        adrg: code.to_string(),
        section,
        sex,
        principal_dx: strings(dx, 20),
        main_procedures: if px.is_empty() {
            Vec::new()
        } else {
            strings(px, 10)
        },
        second_procedures: Vec::new(),
        cost_factor_ppm: 1_000_000,
    };
    SchemeCodes {
        adrgs: vec![
            adrg("ER1", Section::Medical, SexRule::Any, "J18.", ""),
            adrg("FM1", Section::Surgical, SexRule::Any, "I21.", "36."),
            adrg("MA1", Section::Surgical, SexRule::Male, "C61.", "60."),
            adrg("NS1", Section::Medical, SexRule::Female, "N80.", ""),
        ],
        mcc: strings("MCC", 5),
        cc: strings("CC", 5),
        plain_secondary: strings("I10.", 5),
        ungroupable_dx: strings("R99.", 3),
        extra_procedures: strings("88.", 4),
    }
}

fn year(seed: u64, n: usize) -> Vec<SynthCase> {
    let codes = codes();
    let region = synth_region(&codes, 20, seed).unwrap();
    synth_year(&region, &codes, 0, n, 1).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_cases_and_another_seed_others() {
    assert_eq!(year(5, 2_000), year(5, 2_000));
    assert_ne!(year(5, 2_000), year(6, 2_000));
    let codes = codes();
    let region = synth_region(&codes, 20, 5).unwrap();
    let first = synth_year(&region, &codes, 0, 500, 1).unwrap();
    let second = synth_year(&region, &codes, 1, 500, 501).unwrap();
    assert_ne!(first[0].cost_fen, second[0].cost_fen);
    assert_eq!(second[0].id, 501);
}

#[test]
fn codes_come_from_the_lists_and_the_sex_rule_holds() {
    let codes = codes();
    let cases = year(9, 5_000);
    let severe: HashSet<&String> = codes.mcc.iter().chain(&codes.cc).collect();
    for case in &cases {
        match case.target_adrg {
            Some(idx) => {
                let adrg = &codes.adrgs[idx];
                assert!(adrg.principal_dx.contains(&case.diagnoses[0]), "{case:?}");
                if adrg.section == Section::Surgical {
                    assert!(
                        adrg.main_procedures.contains(&case.procedures[0]),
                        "{case:?}"
                    );
                }
                match adrg.sex {
                    SexRule::Male => assert_eq!(case.sex, 1),
                    SexRule::Female => assert_eq!(case.sex, 2),
                    SexRule::Any => assert!(case.sex == 1 || case.sex == 2),
                }
            }
            None => assert!(codes.ungroupable_dx.contains(&case.diagnoses[0])),
        }
        let n_severe = case.diagnoses[1..]
            .iter()
            .filter(|d| severe.contains(d))
            .count();
        assert_eq!(
            n_severe,
            usize::from(case.severity != Severity::None),
            "{case:?}"
        );
        assert!((1..=12).contains(&case.month));
        assert!(case.stay_days >= 1);
        assert!(case.cost_fen > 0 && (0..=case.cost_fen).contains(&case.insured_share_fen));
    }
    // Every ADRG and both kinds of stay appear in 5,000 cases.
    let targets: HashSet<Option<usize>> = cases.iter().map(|c| c.target_adrg).collect();
    assert_eq!(targets.len(), codes.adrgs.len() + 1);
}

#[test]
fn costs_rise_with_level_and_severity() {
    let codes = codes();
    let region = synth_region(&codes, 40, 11).unwrap();
    let cases = synth_year(&region, &codes, 0, 40_000, 1).unwrap();
    let mean = |keep: &dyn Fn(&SynthCase) -> bool| {
        let picked: Vec<i64> = cases
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.cost_fen)
            .collect();
        picked.iter().sum::<i64>() / picked.len() as i64
    };
    let level = |c: &SynthCase| region.hospitals[c.hospital as usize].level;
    let l1 = mean(&|c| level(c) == HospitalLevel::One);
    let l3 = mean(&|c| level(c) == HospitalLevel::Three);
    assert!(l3 > l1, "level 3 {l3} vs level 1 {l1}");
    let none = mean(&|c| c.severity == Severity::None);
    let mcc = mean(&|c| c.severity == Severity::Mcc);
    assert!(mcc > none, "MCC {mcc} vs none {none}");
    // Levels: about 5% / 25% / 70% of hospitals.
    let count = |l| region.hospitals.iter().filter(|h| h.level == l).count();
    assert_eq!(
        (
            count(HospitalLevel::Three),
            count(HospitalLevel::Two),
            count(HospitalLevel::One)
        ),
        (2, 10, 28)
    );
}

#[test]
fn the_insured_share_is_a_deductible_plus_a_copayment() {
    // Level 2: 500 yuan deductible + 22% of the rest: 10,000 yuan → 500 + 2,090 = 2,590 yuan.
    assert_eq!(insured_share_fen(1_000_000, HospitalLevel::Two), 259_000);
    // Below the deductible the person pays everything.
    assert_eq!(insured_share_fen(15_000, HospitalLevel::One), 15_000);
    // Level 3, 1,000.05 yuan: 800 + 30% of 200.05 = 60.015 → 860.02 yuan (half up).
    assert_eq!(insured_share_fen(100_005, HospitalLevel::Three), 86_002);
}

#[test]
fn bad_generator_input_is_refused_by_field() {
    let mut bad = codes();
    bad.adrgs[1].main_procedures.clear();
    let err = synth_region(&bad, 3, 1).unwrap_err();
    assert_eq!(
        err,
        PaymentError::InvalidConfig {
            field: "codes.adrgs[1].main_procedures".into(),
            reason: "FM1 has none".into()
        }
    );
    let err = synth_region(&codes(), 0, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration field `hospitals` 0 is not 1 to 100000"
    );
}
