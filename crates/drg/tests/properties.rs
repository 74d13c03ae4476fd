//! Property tests on the real CHS-DRG 1.1 scheme: grouping is a function of the record, the order
//! of secondary codes does not matter, codes the scheme does not know change nothing, and adding
//! a code never makes a valid record invalid.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::{select, Index};
use yibao_drg::{group, parse_case_json, CaseRecord, CcLevel, GroupConfig, GroupStatus, Scheme};

fn scheme() -> &'static Scheme {
    common::scheme()
}

/// The 1,656 reference records: realistic starting points for mutation.
fn records() -> &'static [CaseRecord] {
    static RECORDS: OnceLock<Vec<CaseRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        common::scheme_file("testcases.jsonl")
            .lines()
            .map(|line| parse_case_json(line).expect("test case parses").record)
            .collect()
    })
}

/// Diagnosis codes the scheme uses (MCC, CC and principal lists) and OR procedures.
fn diagnosis_pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let scheme = scheme();
        let mut pool: Vec<String> = scheme.mcc_codes().iter().step_by(7).cloned().collect();
        pool.extend(scheme.cc_codes().iter().step_by(13).cloned());
        for mdc in scheme.mdcs() {
            pool.extend(mdc.principal_diagnoses.iter().step_by(11).cloned());
        }
        pool
    })
}

fn procedure_pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool: Vec<String> = scheme()
            .or_procedures()
            .iter()
            .step_by(5)
            .map(|p| p.code.clone())
            .collect();
        for adrg in scheme().adrgs() {
            pool.extend(adrg.lists.procedures.iter().take(3).cloned());
        }
        pool
    })
}

fn a_record() -> impl Strategy<Value = CaseRecord> {
    (0..records().len()).prop_map(|idx| records()[idx].clone())
}

/// A record built from scheme codes at random (most land somewhere; some are invalid).
fn a_random_record() -> impl Strategy<Value = CaseRecord> {
    (
        prop::collection::vec(select(diagnosis_pool()), 1..8),
        prop::collection::vec(select(procedure_pool()), 0..5),
        prop_oneof![Just(Some(1i64)), Just(Some(2)), Just(None)],
        prop_oneof![Just(Some(0i64)), (1..100i64).prop_map(Some), Just(None)],
        prop_oneof![(0..60i64).prop_map(Some), Just(None)],
        prop_oneof![Just(None), Just(Some(0)), (500..5000i64).prop_map(Some)],
    )
        .prop_map(
            |(diagnoses, procedures, sex, age_years, age_days, birth_weight_g)| CaseRecord {
                diagnoses,
                procedures,
                sex: sex.and_then(yibao_drg::Sex::from_code),
                age_years,
                age_days,
                birth_weight_g,
            },
        )
}

fn any_record() -> impl Strategy<Value = CaseRecord> {
    prop_oneof![a_record(), a_random_record()]
}

/// The parts of a result that the order of secondary codes must not change.
fn outcome(record: &CaseRecord) -> (GroupStatus, String, String, String, CcLevel) {
    let scheme = scheme();
    let result = group(record, scheme, &GroupConfig::default());
    (
        result.status,
        result.mdc_code(scheme).to_string(),
        result.adrg_code(scheme).to_string(),
        result.drg_code(scheme).to_string(),
        result.cc_level,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn grouping_is_deterministic(record in any_record()) {
        let config = GroupConfig::default();
        prop_assert_eq!(group(&record, scheme(), &config), group(&record, scheme(), &config));
    }

    #[test]
    fn order_of_secondary_codes_does_not_change_the_group(
        record in any_record(),
        dx_seed in any::<u64>(),
        px_seed in any::<u64>(),
    ) {
        let mut shuffled = record.clone();
        rotate_and_swap(&mut shuffled.diagnoses, dx_seed);
        rotate_and_swap(&mut shuffled.procedures, px_seed);
        prop_assert_eq!(outcome(&record), outcome(&shuffled));
    }

    #[test]
    fn codes_the_scheme_does_not_know_change_nothing(
        record in any_record(),
        dx_at in any::<Index>(),
        px_at in any::<Index>(),
    ) {
        let mut more = record.clone();
        if !more.diagnoses.is_empty() {
            let at = 1 + dx_at.index(more.diagnoses.len());
            more.diagnoses.insert(at, "Z99.999x999".to_string());
        }
        let at = if more.procedures.is_empty() { 0 } else { 1 + px_at.index(more.procedures.len()) };
        if at > 0 {
            more.procedures.insert(at, "99.9999x999".to_string());
        }
        prop_assert!(!scheme().knows_diagnosis("Z99.999x999"));
        prop_assert!(!scheme().knows_procedure("99.9999x999"));
        let config = GroupConfig::default();
        let before = group(&record, scheme(), &config);
        let after = group(&more, scheme(), &config);
        prop_assert_eq!(outcome(&record), outcome(&more));
        prop_assert_eq!(before.trace.n_cc_excluded, after.trace.n_cc_excluded);
    }

    #[test]
    fn adding_a_code_never_makes_a_valid_record_invalid(
        record in any_record(),
        diagnosis in select(diagnosis_pool()),
        procedure in select(procedure_pool()),
        at in any::<Index>(),
    ) {
        let valid = !matches!(group(&record, scheme(), &GroupConfig::default()).status, GroupStatus::Invalid(_));
        let mut more = record.clone();
        let dx_at = at.index(more.diagnoses.len() + 1);
        more.diagnoses.insert(dx_at, diagnosis);
        let px_at = at.index(more.procedures.len() + 1);
        more.procedures.insert(px_at, procedure);
        let after = group(&more, scheme(), &GroupConfig::default());
        if valid {
            prop_assert!(!matches!(after.status, GroupStatus::Invalid(_)), "{:?}", after.status);
        }
    }

    #[test]
    fn an_unexcluded_secondary_mcc_never_lowers_the_cc_level(
        record in any_record(),
        mcc in select(scheme().mcc_codes()),
    ) {
        prop_assume!(!record.diagnoses.is_empty());
        let before = group(&record, scheme(), &GroupConfig::default());
        let mut more = record.clone();
        more.diagnoses.push(mcc.clone());
        let after = group(&more, scheme(), &GroupConfig::default());
        prop_assert!(after.cc_level >= before.cc_level);
        if scheme().counts_as_cc(&record.diagnoses[0], &mcc)
            && !matches!(after.status, GroupStatus::Invalid(_))
        {
            prop_assert_eq!(after.cc_level, CcLevel::Mcc);
        }
    }

    #[test]
    fn a_grouped_result_is_consistent_with_the_scheme(record in any_record()) {
        let scheme = scheme();
        let result = group(&record, scheme, &GroupConfig::default());
        if result.status == GroupStatus::Grouped {
            let drg = scheme.drg(result.drg.expect("a grouped case has a DRG"));
            let adrg = result.adrg.expect("a grouped case has an ADRG");
            prop_assert_eq!(drg.adrg, adrg);
            prop_assert_eq!(Some(drg.mdc), result.mdc);
            prop_assert!(drg.split.holds(result.cc_level));
            prop_assert!(result.trace.mdcs_entered().last() == result.mdc);
        } else {
            prop_assert_eq!(result.drg, None);
        }
    }
}

/// A permutation of `codes[1..]` driven by `seed` (element 0 stays: it is the principal
/// diagnosis or the main procedure).
fn rotate_and_swap(codes: &mut [String], seed: u64) {
    if codes.len() < 3 {
        return;
    }
    let rest = &mut codes[1..];
    let n = rest.len();
    rest.rotate_left((seed % n as u64) as usize);
    let (a, b) = (
        ((seed >> 8) % n as u64) as usize,
        ((seed >> 16) % n as u64) as usize,
    );
    rest.swap(a, b);
}
