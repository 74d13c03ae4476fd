//! Property tests: the point value shares out exactly the budget (to the fen), raising one case's
//! cost never lowers its points, and payments do not depend on the order of the cases.

mod common;

use common::*;
use proptest::prelude::*;
use yibao_drg_payment::dip::{
    build_dip_catalogue, dip_case_scores, DipCatalogue, ProcedureClassifier,
};
use yibao_drg_payment::drg::{drg_case_points, hospital_indices};
use yibao_drg_payment::exact::share_largest_remainder;
use yibao_drg_payment::settle::settle_year;
use yibao_drg_payment::weights::{build_weights, WeightConfig, WeightTable};
use yibao_drg_payment::{Hospital, HospitalLevel, InpatientCase};

const DRGS: [&str; 5] = ["GZ13", "GZ15", "FR23", "BR25", "IB19"];
const DXS: [&str; 4] = ["I21.000", "I21.001", "J18.900", "K35.800"];
const PROCS: [&str; 3] = ["36.0601", "88.7201", "93.3901"];

fn hospitals() -> Vec<Hospital> {
    vec![
        hospital("H1", HospitalLevel::One),
        hospital("H2", HospitalLevel::Two),
        hospital("H3", HospitalLevel::Three),
        Hospital {
            code: "H4".into(),
            level: HospitalLevel::Three,
            coefficient_ppm: Some(1_333_333),
        },
    ]
}

/// A random case: hospital, month, DRG (or ungrouped), diagnosis, procedures, cost, share, stay.
fn case_strategy() -> impl Strategy<Value = InpatientCase> {
    (
        0..4_u32,
        1..=12_u8,
        proptest::option::weighted(0.9, 0..DRGS.len()),
        0..DXS.len(),
        proptest::collection::vec(0..PROCS.len(), 0..3),
        0..20_000_000_i64,
        0..=1_000_u32,
        1..40_u32,
    )
        .prop_map(
            |(hospital, month, drg_idx, dx, procs, cost_fen, share_permille, stay_days)| {
                InpatientCase {
                    id: 0,
                    hospital,
                    month,
                    drg: drg_idx.map(|i| drg(DRGS[i])),
                    principal_dx: DXS[dx].to_string(),
                    procedures: procs.into_iter().map(|p| PROCS[p].to_string()).collect(),
                    cost_fen,
                    insured_share_fen: cost_fen * i64::from(share_permille) / 1000,
                    stay_days,
                }
            },
        )
}

fn cases_strategy(max: usize) -> impl Strategy<Value = Vec<InpatientCase>> {
    proptest::collection::vec(case_strategy(), 1..max).prop_map(|mut cases| {
        for (idx, case) in cases.iter_mut().enumerate() {
            case.id = idx as u64 + 1;
        }
        cases
    })
}

/// A history where every DRG has cases and costs are positive.
fn history_strategy() -> impl Strategy<Value = Vec<InpatientCase>> {
    cases_strategy(120).prop_map(|mut cases| {
        for (idx, drg_code) in DRGS.iter().enumerate() {
            for copy in 0..6 {
                let mut case = cases[0].clone();
                case.id = 10_000 + (idx * 10 + copy) as u64;
                case.drg = Some(drg(drg_code));
                case.cost_fen = 100_000 * (idx as i64 + 1) + 7_919 * copy as i64;
                case.insured_share_fen = 0;
                cases.push(case);
            }
        }
        cases
    })
}

fn weights(history: &[InpatientCase]) -> WeightTable {
    build_weights(
        history,
        &WeightConfig {
            trim_ppm: 50_000,
            min_cases: 5,
        },
    )
    .unwrap()
}

fn classifier() -> ProcedureClassifier {
    ProcedureClassifier {
        or_procedures: ["36.0601".to_string()].into_iter().collect(),
    }
}

fn catalogue(history: &[InpatientCase]) -> DipCatalogue {
    build_dip_catalogue(
        history,
        &hospitals(),
        &classifier(),
        &dip_config(3, &["J18"]),
    )
    .unwrap()
}

/// Points of every case under DRG, and under DIP.
fn all_points(
    cases: &[InpatientCase],
    table: &WeightTable,
    dip: &DipCatalogue,
) -> (Vec<i64>, Vec<i64>) {
    let drg_points = drg_case_points(cases, &hospitals(), table, &drg_rules()).unwrap();
    let dip_points = dip_case_scores(
        cases,
        &hospitals(),
        dip,
        &classifier(),
        &dip_config(3, &["J18"]),
    )
    .unwrap();
    (
        drg_points.iter().map(|p| p.points_e4).collect(),
        dip_points.iter().map(|p| p.points_e4).collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_point_value_shares_out_exactly_the_budget(
        history in history_strategy(),
        cases in cases_strategy(200),
        budget_fen in 0..50_000_000_000_i64,
    ) {
        let table = weights(&history);
        let (drg_points, dip_points) = all_points(&cases, &table, &catalogue(&history));
        let insured: i64 = cases.iter().map(|c| c.insured_share_fen).sum();
        for points in [drg_points, dip_points] {
            let total_points: i64 = points.iter().sum();
            prop_assume!(total_points > 0);
            let year = settle_year(&cases, &points, 4, budget_fen, &settlement_rules()).unwrap();
            // The year: every fen of budget + insured share goes to a hospital.
            let settled: i64 = year.hospitals.iter().map(|h| h.settlement_fen).sum();
            prop_assert_eq!(settled, budget_fen + insured);
            // Each hospital's settlement is its exact quota pool × points / total, rounded down
            // or up, never further.
            for h in &year.hospitals {
                let quota_num = i128::from(budget_fen + insured) * i128::from(h.points_e4);
                let floor = quota_num / i128::from(total_points);
                prop_assert!(i128::from(h.settlement_fen) == floor || i128::from(h.settlement_fen) == floor + 1);
            }
            // The months share the annual budget exactly, and each month with points pays out its pool.
            prop_assert_eq!(year.months.iter().map(|m| m.budget_fen).sum::<i64>(), budget_fen);
            for month in &year.months {
                let month_insured: i64 = cases.iter().filter(|c| c.month == month.month).map(|c| c.insured_share_fen).sum();
                if let Some(value) = month.point_value {
                    prop_assert_eq!(value.pool_fen, month.budget_fen + month_insured);
                    prop_assert_eq!(month.settlement_fen.iter().sum::<i64>(), value.pool_fen);
                }
            }
            // Fund payments and true-ups add up.
            for h in &year.hospitals {
                prop_assert_eq!(
                    h.fund_payment_fen,
                    h.settlement_fen - h.insured_share_fen - h.recovered_surplus_fen + h.shared_overspend_fen
                );
                prop_assert_eq!(h.true_up_fen, h.fund_payment_fen - h.provisional_fund_fen);
                prop_assert!(h.retained_surplus_fen >= 0 && h.recovered_surplus_fen >= 0);
                prop_assert!(h.shared_overspend_fen >= 0 && h.absorbed_overspend_fen >= 0);
            }
        }
    }

    #[test]
    fn raising_one_case_cost_never_lowers_its_points(
        history in history_strategy(),
        cases in cases_strategy(120),
        pick in any::<prop::sample::Index>(),
        raise_fen in 1..10_000_000_i64,
    ) {
        let table = weights(&history);
        let dip = catalogue(&history);
        let idx = pick.index(cases.len());
        let (drg_before, dip_before) = all_points(&cases, &table, &dip);
        let mut raised = cases.clone();
        raised[idx].cost_fen += raise_fen;
        let (drg_after, dip_after) = all_points(&raised, &table, &dip);
        prop_assert!(drg_after[idx] >= drg_before[idx], "DRG {} → {}", drg_before[idx], drg_after[idx]);
        prop_assert!(dip_after[idx] >= dip_before[idx], "DIP {} → {}", dip_before[idx], dip_after[idx]);
    }

    #[test]
    fn payments_do_not_depend_on_case_order(
        history in history_strategy(),
        cases in cases_strategy(150),
        seed in any::<u64>(),
        budget_fen in 0..50_000_000_000_i64,
    ) {
        let mut shuffled = cases.clone();
        // A seeded Fisher–Yates shuffle (splitmix64 steps).
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            shuffled.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
        }
        let mut history_shuffled = history.clone();
        history_shuffled.reverse();
        let table = weights(&history);
        prop_assert_eq!(&table, &weights(&history_shuffled));
        let dip = catalogue(&history);
        let (drg_a, dip_a) = all_points(&cases, &table, &dip);
        let (drg_b, dip_b) = all_points(&shuffled, &table, &catalogue(&history_shuffled));
        // Same points per case id.
        let by_id = |cases: &[InpatientCase], points: &[i64]| {
            let mut pairs: Vec<(u64, i64)> = cases.iter().map(|c| c.id).zip(points.iter().copied()).collect();
            pairs.sort_unstable();
            pairs
        };
        prop_assert_eq!(by_id(&cases, &drg_a), by_id(&shuffled, &drg_b));
        prop_assert_eq!(hospital_indices(&cases, 4, &table), hospital_indices(&shuffled, 4, &table));
        prop_assert_eq!(by_id(&cases, &dip_a), by_id(&shuffled, &dip_b));
        for (a, b) in [(drg_a, drg_b), (dip_a, dip_b)] {
            let total: i64 = a.iter().sum();
            prop_assume!(total > 0);
            let year_a = settle_year(&cases, &a, 4, budget_fen, &settlement_rules()).unwrap();
            let year_b = settle_year(&shuffled, &b, 4, budget_fen, &settlement_rules()).unwrap();
            prop_assert_eq!(year_a, year_b);
        }
    }

    #[test]
    fn largest_remainder_conserves_and_stays_within_one_unit(
        total in 0..1_000_000_000_000_i64,
        weights in proptest::collection::vec(0..1_000_000_000_i128, 1..50),
    ) {
        let weight_sum: i128 = weights.iter().sum();
        prop_assume!(weight_sum > 0);
        let shares = share_largest_remainder(total, &weights);
        prop_assert_eq!(shares.iter().sum::<i64>(), total);
        for (share, weight) in shares.iter().zip(&weights) {
            let floor = i128::from(total) * weight / weight_sum;
            prop_assert!(i128::from(*share) == floor || i128::from(*share) == floor + 1);
        }
    }
}
