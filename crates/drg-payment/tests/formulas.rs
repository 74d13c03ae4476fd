//! Fixture tests of each formula against values computed by hand (the working is in the comments).

mod common;

use common::*;
use yibao_drg_payment::dip::{
    build_dip_catalogue, dip_case_scores, DipCaseKind, DipGroupKind, ProcedureClassifier,
};
use yibao_drg_payment::drg::{
    coefficients_from_history, drg_case_points, hospital_indices, DrgCaseKind, HospitalIndices,
};
use yibao_drg_payment::settle::{banded_share_fen, settle_year};
use yibao_drg_payment::weights::{build_weights, WeightConfig};
use yibao_drg_payment::{HospitalLevel, InpatientCase, PaymentError};

/// History: GZ13 costs 8,000 / 10,000 / 12,000 yuan (mean 10,000); FR23 20,000 / 40,000 (mean
/// 30,000); one ungrouped case of 15,000. Overall mean = 105,000 / 6 = 17,500 yuan.
fn history() -> Vec<InpatientCase> {
    vec![
        drg_case(1, 0, Some("GZ13"), 8_000, 5),
        drg_case(2, 0, Some("GZ13"), 10_000, 5),
        drg_case(3, 0, Some("GZ13"), 12_000, 5),
        drg_case(4, 0, Some("FR23"), 20_000, 9),
        drg_case(5, 0, Some("FR23"), 40_000, 9),
        drg_case(6, 0, None, 15_000, 7),
    ]
}

fn no_trim(min_cases: u32) -> WeightConfig {
    WeightConfig {
        trim_ppm: 0,
        min_cases,
    }
}

#[test]
fn weights_are_trimmed_mean_over_overall_mean_in_ppm() {
    let table = build_weights(&history(), &no_trim(1)).unwrap();
    // 10,000 / 17,500 = 0.5714285… → 571,429 ppm; 30,000 / 17,500 = 1.7142857… → 1,714,286 ppm.
    assert_eq!(table.get(drg("GZ13")).unwrap().weight_ppm, 571_429);
    assert_eq!(table.get(drg("FR23")).unwrap().weight_ppm, 1_714_286);
    assert_eq!(table.overall_mean_cost.rounded(), 17_500 * YUAN);
    assert_eq!(table.n_trimmed, 0);
}

#[test]
fn trimming_drops_floor_n_times_share_from_each_end() {
    // 40 cases of one DRG: costs 1..=40 yuan and one extreme 10,000 yuan in place of 40.
    // 5% each side of 40 = 2 cases dropped at each end: kept 3..=38 → mean 20.5 yuan.
    let mut cases: Vec<InpatientCase> = (1..=39)
        .map(|i| drg_case(i, 0, Some("GZ13"), i as i64, 3))
        .collect();
    cases.push(drg_case(40, 0, Some("GZ13"), 10_000, 3));
    let table = build_weights(
        &cases,
        &WeightConfig {
            trim_ppm: 50_000,
            min_cases: 5,
        },
    )
    .unwrap();
    let weight = table.get(drg("GZ13")).unwrap();
    assert_eq!(
        (weight.mean_cost.sum, weight.mean_cost.count),
        ((3..=38).sum::<i64>() * YUAN, 36)
    );
    assert_eq!(table.n_trimmed, 4);
    // One DRG only: its weight is exactly 1.
    assert_eq!(weight.weight_ppm, 1_000_000);
}

#[test]
fn drg_case_points_follow_each_rule() {
    let table = build_weights(&history(), &no_trim(1)).unwrap();
    let hospitals = [
        hospital("H2", HospitalLevel::Two),
        hospital("H3", HospitalLevel::Three),
    ];
    let cases = [
        // Normal: base 571,429 × 1.0.
        drg_case(1, 0, Some("GZ13"), 10_000, 5),
        // High (3.5 ≥ 3× for ≤ 100 points): 571,429 × 1.0 + 571,429 × (3.5 − 3) = 857,143.5 → 857,144.
        drg_case(2, 0, Some("GZ13"), 35_000, 5),
        // Low (0.3 ≤ 0.4): 571,429 × 0.3 = 171,428.7 → 171,429.
        drg_case(3, 0, Some("GZ13"), 3_000, 5),
        // Short stay (1 day, ratio 0.5): 571,429 × 0.5 = 285,714.5 → 285,715.
        drg_case(4, 0, Some("GZ13"), 5_000, 1),
        // Ungrouped: 35,000 / 17,500 × 100 = 200 points.
        drg_case(5, 0, None, 35_000, 5),
        // FR23 at 2× (171 points: tier 2×) is a high outlier with nothing added: 1,714,286.
        drg_case(6, 0, Some("FR23"), 60_000, 9),
        // Level 3 coefficient 1.2: 1,714,286 × 1.2 = 2,057,143.2 → 2,057,143.
        drg_case(7, 1, Some("FR23"), 30_000, 9),
        // A DRG the history never saw is unstable: 8,750 / 17,500 × 100 = 50 points.
        drg_case(8, 0, Some("BR23"), 8_750, 9),
    ];
    let points = drg_case_points(&cases, &hospitals, &table, &drg_rules()).unwrap();
    let got: Vec<(DrgCaseKind, i64)> = points.iter().map(|p| (p.kind, p.points_e4)).collect();
    assert_eq!(
        got,
        vec![
            (DrgCaseKind::Normal, 571_429),
            (DrgCaseKind::HighOutlier, 857_144),
            (DrgCaseKind::LowOutlier, 171_429),
            (DrgCaseKind::ShortStay, 285_715),
            (DrgCaseKind::Ungrouped, 2_000_000),
            (DrgCaseKind::HighOutlier, 1_714_286),
            (DrgCaseKind::Normal, 2_057_143),
            (DrgCaseKind::Unstable, 500_000),
        ]
    );
}

#[test]
fn drgs_with_too_few_cases_are_unstable_and_paid_by_cost() {
    // min 3 cases: FR23 (2) is unstable; the overall mean still counts its cases.
    let table = build_weights(&history(), &no_trim(3)).unwrap();
    assert!(table.get(drg("FR23")).is_none());
    assert_eq!(table.unstable.get(&drg("FR23")), Some(&2));
    let hospitals = [hospital("H2", HospitalLevel::Two)];
    // 60,000 / 17,500 × 100 = 342.857142… points → 3,428,571 (1/10000).
    let points = drg_case_points(
        &[drg_case(1, 0, Some("FR23"), 60_000, 9)],
        &hospitals,
        &table,
        &drg_rules(),
    )
    .unwrap();
    assert_eq!(
        (points[0].kind, points[0].points_e4),
        (DrgCaseKind::Unstable, 3_428_571)
    );
}

#[test]
fn special_review_takes_the_highest_outliers_within_the_cap() {
    let table = build_weights(&history(), &no_trim(1)).unwrap();
    let hospitals = [hospital("H2", HospitalLevel::Two)];
    // 40 cases: cap 5% = 2 reviewed. Three GZ13 cases at 6×, 8× and 10× (≥ 5×) are candidates;
    // the 10× and 8× ones are reviewed. A reviewed case gets max(formula, cost / 17,500 × 100):
    // 100,000 yuan → formula 571,429 + 571,429 × 7 = 4,571,432; by cost 571.4286 points = 5,714,286.
    let mut cases: Vec<InpatientCase> = (1..=37)
        .map(|i| drg_case(i, 0, Some("GZ13"), 10_000, 5))
        .collect();
    cases.push(drg_case(38, 0, Some("GZ13"), 60_000, 5));
    cases.push(drg_case(39, 0, Some("GZ13"), 80_000, 5));
    cases.push(drg_case(40, 0, Some("GZ13"), 100_000, 5));
    let points = drg_case_points(&cases, &hospitals, &table, &drg_rules()).unwrap();
    let tail: Vec<(DrgCaseKind, i64)> =
        points[37..].iter().map(|p| (p.kind, p.points_e4)).collect();
    assert_eq!(
        tail,
        vec![
            // 6×: 571,429 × (1 + 3) = 2,285,716, not reviewed.
            (DrgCaseKind::HighOutlier, 2_285_716),
            // 8×: formula 571,429 × 6 = 3,428,574; by cost 80,000 / 17,500 × 100 = 457.142857 → 4,571,429.
            (DrgCaseKind::SpecialReview, 4_571_429),
            (DrgCaseKind::SpecialReview, 5_714_286),
        ]
    );
}

#[test]
fn hospital_indices_compare_with_the_region() {
    let table = build_weights(&history(), &no_trim(1)).unwrap();
    // Hospital 0: GZ13 10,000 yuan 4 days; FR23 30,000 yuan 10 days.
    // Hospital 1: GZ13 20,000 yuan 8 days.
    // Region GZ13: 2 cases 30,000 yuan 12 days (mean 15,000, 6 days); FR23: 1 case 30,000, 10 days.
    let mut cases = vec![
        drg_case(1, 0, Some("GZ13"), 10_000, 4),
        drg_case(2, 0, Some("FR23"), 30_000, 10),
        drg_case(3, 1, Some("GZ13"), 20_000, 8),
    ];
    cases.push(drg_case(4, 1, None, 5_000, 3)); // ungrouped: not in the indices
    let indices = hospital_indices(&cases, 2, &table);
    // H0 CMI = (571,429 + 1,714,286) / 2 = 1,142,857.5 → 1,142,858.
    // H0 cost index = (10,000/15,000 + 30,000/30,000) / 2 = 0.833333 → 833,333.
    // H0 time index = (4/6 + 10/10) / 2 = 0.833333 → 833,333.
    assert_eq!(
        (
            indices[0].n_grouped,
            indices[0].cmi_ppm,
            indices[0].cost_index_ppm,
            indices[0].time_index_ppm
        ),
        (2, 1_142_858, 833_333, 833_333)
    );
    // H1: CMI 571,429; cost index 20,000 / 15,000 = 1.333333; time 8 / 6 = 1.333333.
    assert_eq!(
        (
            indices[1].n_grouped,
            indices[1].cmi_ppm,
            indices[1].cost_index_ppm,
            indices[1].time_index_ppm
        ),
        (1, 571_429, 1_333_333, 1_333_333)
    );
}

#[test]
fn coefficients_from_history_move_the_cost_index_toward_one() {
    let index = |n_grouped, cost_index_ppm| HospitalIndices {
        n_grouped,
        cmi_ppm: 1_000_000,
        cost_index_ppm,
        time_index_ppm: 1_000_000,
    };
    let indices = [index(10, 1_333_333), index(4, 833_333), index(0, 0)];
    // Blend 0.5: 1 + 0.333333 × 0.5 = 1.1666665 → 1,166,667 (half up);
    // 1 − 0.166667 × 0.5 = 0.9166665 → 916,667; no history → the level's (None).
    assert_eq!(
        coefficients_from_history(&indices, 500_000),
        vec![Some(1_166_667), Some(916_667), None]
    );
    // Blend 0: everyone at 1; blend 1: everyone at their own index.
    assert_eq!(
        coefficients_from_history(&indices, 0),
        vec![Some(1_000_000), Some(1_000_000), None]
    );
    assert_eq!(
        coefficients_from_history(&indices, 1_000_000),
        vec![Some(1_333_333), Some(833_333), None]
    );
}

#[test]
fn year_settlement_shares_the_pool_and_applies_bands() {
    // H0: points 300 (two cases, months 1 and 2), cost 28,000 yuan, insured 1,000 yuan.
    // H1: points 100 (month 1), cost 11,500 yuan, insured 500 yuan.
    let case = |id, hospital, month, cost_fen, insured_share_fen| InpatientCase {
        id,
        hospital,
        month,
        drg: None,
        principal_dx: String::new(),
        procedures: Vec::new(),
        cost_fen,
        insured_share_fen,
        stay_days: 5,
    };
    let cases = [
        case(1, 0, 1, 1_800_000, 60_000),
        case(2, 0, 2, 1_000_000, 40_000),
        case(3, 1, 1, 1_150_000, 50_000),
    ];
    let points = [2_000_000, 1_000_000, 1_000_000];
    // Budget 38,500 yuan + insured 1,500 = pool 40,000 yuan over 400 points = 100 yuan a point.
    let year = settle_year(&cases, &points, 2, 3_850_000, &settlement_rules()).unwrap();
    assert_eq!(year.point_value.fen_per_point_e4(), 10_000 * 10_000);
    let h0 = &year.hospitals[0];
    let h1 = &year.hospitals[1];
    // H0 settles 30,000 yuan: surplus 2,000 on 28,000 (7.14%). 5% of cost = 1,400 kept fully,
    // the other 600 half: retained 1,700, recovered 300. Fund: 30,000 − 1,000 − 300 = 28,700.
    assert_eq!(
        (
            h0.settlement_fen,
            h0.retained_surplus_fen,
            h0.recovered_surplus_fen,
            h0.fund_payment_fen
        ),
        (3_000_000, 170_000, 30_000, 2_870_000)
    );
    // H1 settles 10,000: overspend 1,500 on 11,500 (13.04%). 10% of cost = 1,150 at half = 575,
    // the other 350 at 30% = 105: shared 680, absorbed 820. Fund: 10,000 − 500 + 680 = 10,180.
    assert_eq!(
        (
            h1.settlement_fen,
            h1.shared_overspend_fen,
            h1.absorbed_overspend_fen,
            h1.fund_payment_fen
        ),
        (1_000_000, 68_000, 82_000, 1_018_000)
    );
    // Months: 3,850,000 / 12 = 320,833.33: months 1–4 get 320,834, the rest 320,833.
    let budgets: Vec<i64> = year.months.iter().map(|m| m.budget_fen).collect();
    assert_eq!(budgets, [vec![320_834; 4], vec![320_833; 8]].concat());
    // Month 1: pool 320,834 + 110,000 = 430,834 over 2:1 → 287,222.67 / 143,611.33 → the left-over
    // fen goes to H0 (larger remainder): 287,223 / 143,611.
    assert_eq!(year.months[0].settlement_fen, vec![287_223, 143_611]);
    assert_eq!(year.months[1].settlement_fen, vec![360_834, 0]);
    // Provisional fund: H0 (287,223 − 60,000) + (360,834 − 40,000) = 548,057; H1 93,611.
    assert_eq!(
        (h0.provisional_fund_fen, h0.true_up_fen),
        (548_057, 2_870_000 - 548_057)
    );
    assert_eq!(
        (h1.provisional_fund_fen, h1.true_up_fen),
        (93_611, 1_018_000 - 93_611)
    );
    assert_eq!(year.reserve_net_fen(), 68_000 - 30_000);
}

#[test]
fn bands_split_an_amount_piece_by_piece() {
    let rules = settlement_rules();
    // Surplus 20,000 on cost 100,000: 5,000 kept, 10,000 at half, 5,000 none → 10,000.
    assert_eq!(
        banded_share_fen(20_000, 100_000, &rules.surplus_bands),
        10_000
    );
    // Surplus 1 fen on cost 3 fen: 5% of 3 = 0.15 kept fully, the next 0.3 (to 15%) half = 0.15,
    // the rest none: 0.3 → 0 fen. Surplus 2 fen on cost 20: 1 kept, 1 at half: 1.5 → 2 (half up).
    assert_eq!(banded_share_fen(1, 3, &rules.surplus_bands), 0);
    assert_eq!(banded_share_fen(2, 20, &rules.surplus_bands), 2);
    assert_eq!(banded_share_fen(0, 3, &rules.surplus_bands), 0);
}

#[test]
fn a_year_with_more_points_than_exact_sums_allow_is_refused() {
    let cases = [drg_case(1, 0, None, 100, 1), drg_case(2, 0, None, 100, 1)];
    let err = settle_year(
        &cases,
        &[i64::MAX / 2, i64::MAX / 2],
        1,
        100,
        &settlement_rules(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `points_e4`: the year's points 9223372036854775806 exceed 1000000000000000000"
    );
}

#[test]
fn a_budget_with_no_points_is_refused() {
    let case = drg_case(1, 0, None, 0, 1);
    let err = settle_year(&[case], &[0], 1, 100, &settlement_rules()).unwrap_err();
    assert_eq!(err, PaymentError::NoPoints { budget_fen: 100 });
}

/// DIP history: I21.0 + 36.0601 twice at level 3 (30,000 and 50,000: a core group with 2 cases);
/// I21.0 conservative (8,000, level 1) and I21.9 + 88.7201 diagnostic (6,000, level 1) merge into
/// comprehensive groups; J18.9 conservative twice (4,000 at level 1, 6,000 at level 3) is core and
/// grassroots. Overall mean 104,000 / 6 = 17,333.33 yuan.
fn dip_history() -> Vec<InpatientCase> {
    vec![
        dip_case(1, 1, "I21.000", &["36.0601"], 30_000),
        dip_case(2, 1, "I21.001", &["36.0601"], 50_000),
        dip_case(3, 0, "I21.000", &[], 8_000),
        dip_case(4, 0, "I21.900", &["88.7201"], 6_000),
        dip_case(5, 0, "J18.900", &[], 4_000),
        dip_case(6, 1, "J18.901", &[], 6_000),
    ]
}

fn classifier() -> ProcedureClassifier {
    ProcedureClassifier {
        or_procedures: ["36.0601".to_string(), "36.0701".to_string()]
            .into_iter()
            .collect(),
    }
}

#[test]
fn dip_catalogue_has_core_and_comprehensive_groups_with_scores() {
    let hospitals = [
        hospital("H1", HospitalLevel::One),
        hospital("H3", HospitalLevel::Three),
    ];
    let catalogue = build_dip_catalogue(
        &dip_history(),
        &hospitals,
        &classifier(),
        &dip_config(2, &["J18"]),
    )
    .unwrap();
    let got: Vec<(String, DipGroupKind, bool, u64, i64)> = catalogue
        .groups
        .iter()
        .map(|g| (g.id.clone(), g.kind, g.grassroots, g.n_cases, g.score_e4))
        .collect();
    assert_eq!(
        got,
        vec![
            // 40,000 / 17,333.33 × 1000 = 2,307.6923 → 23,076,923 (1/10000).
            (
                "I21.0|36.0601".to_string(),
                DipGroupKind::Core,
                false,
                2,
                23_076_923
            ),
            // 5,000 / 17,333.33 × 1000 = 288.4615 → 2,884,615.
            ("J18.9|".to_string(), DipGroupKind::Core, true, 2, 2_884_615),
            // 8,000 → 461.5385 → 4,615,385; 6,000 → 346.1538 → 3,461,538.
            (
                "I21|conservative".to_string(),
                DipGroupKind::Comprehensive,
                false,
                1,
                4_615_385
            ),
            (
                "I21|diagnostic".to_string(),
                DipGroupKind::Comprehensive,
                false,
                1,
                3_461_538
            ),
        ]
    );
    assert_eq!(catalogue.n_core(), 2);
}

#[test]
fn dip_case_scores_follow_each_rule() {
    let hospitals = [
        hospital("H1", HospitalLevel::One),
        hospital("H3", HospitalLevel::Three),
    ];
    let config = dip_config(2, &["J18"]);
    let catalogue =
        build_dip_catalogue(&dip_history(), &hospitals, &classifier(), &config).unwrap();
    let cases = [
        // Level 3 mean of the core group 40,000: ratio 1 → 23,076,923 × 1.1 = 25,384,615.3.
        dip_case(1, 1, "I21.000", &["36.0601"], 40_000),
        // Ratio 2.5 > 2: (2.5 − 2 + 1) × score × 1.1 = 23,076,923 × 1.65 = 38,076,922.95.
        dip_case(2, 1, "I21.000", &["36.0601", "36.0601"], 100_000),
        // Level 1 has no history of the group: overall group mean 40,000; ratio 0.25 < 0.5:
        // 0.25 × 23,076,923 × 0.9 = 5,192,307.675.
        dip_case(3, 0, "I21.000", &["36.0601"], 10_000),
        // Grassroots at level 3: coefficient 1 and the all-level mean 5,000: 2,884,615.
        dip_case(4, 1, "J18.900", &[], 5_000),
        // I21.1 conservative is no core group: comprehensive I21|conservative, level 1 mean 8,000,
        // ratio 1: 4,615,385 × 0.9 = 4,153,846.5 → 4,153,847.
        dip_case(5, 0, "I21.100", &[], 8_000),
        // No group: 26,000 / 17,333.33 × 1000 = 1,500 → 15,000,000.
        dip_case(6, 0, "K35.800", &[], 26_000),
        // I21.0 with an extra diagnostic code: the surgical core group I21.0|36.0601 is contained
        // in the case's procedures; level 1 has no history of it, so the all-level mean 40,000:
        // ratio 1.3, normal: 23,076,923 × 0.9 = 20,769,230.7 → 20,769,231.
        dip_case(7, 0, "I21.000", &["88.7201", "36.0601"], 52_000),
        // I21.0 with a different surgery: no core set contains it and there is no I21|surgical.
        dip_case(8, 0, "I21.000", &["36.0701"], 52_000),
    ];
    let scores = dip_case_scores(&cases, &hospitals, &catalogue, &classifier(), &config).unwrap();
    let got: Vec<(DipCaseKind, i64)> = scores.iter().map(|s| (s.kind, s.points_e4)).collect();
    assert_eq!(
        got,
        vec![
            (DipCaseKind::Normal, 25_384_615),
            (DipCaseKind::HighDeviation, 38_076_923),
            (DipCaseKind::LowDeviation, 5_192_308),
            (DipCaseKind::Normal, 2_884_615),
            (DipCaseKind::Normal, 4_153_847),
            (DipCaseKind::Unmatched, 15_000_000),
            (DipCaseKind::Normal, 20_769_231),
            (DipCaseKind::Unmatched, 30_000_000),
        ]
    );
}

#[test]
fn invalid_cases_are_refused_naming_the_field_in_precedence_order() {
    let table = build_weights(&history(), &no_trim(1)).unwrap();
    let hospitals = [hospital("H2", HospitalLevel::Two)];
    let check = |case: InpatientCase| {
        drg_case_points(&[case], &hospitals, &table, &drg_rules())
            .unwrap_err()
            .to_string()
    };
    let mut case = drg_case(9, 5, Some("GZ13"), 100, 3);
    case.month = 13;
    assert_eq!(
        check(case.clone()),
        "case 9: field `hospital` 5 is not a known hospital"
    );
    case.hospital = 0;
    assert_eq!(
        check(case.clone()),
        "case 9: field `month` 13 is not 1 to 12"
    );
    case.month = 12;
    case.cost_fen = -1;
    assert_eq!(
        check(case.clone()),
        "case 9: field `cost_fen` -1 is not 0 to 10000000000"
    );
    case.cost_fen = 100;
    case.insured_share_fen = 101;
    assert_eq!(
        check(case.clone()),
        "case 9: field `insured_share_fen` 101 is not 0 to the cost 100"
    );
    case.insured_share_fen = 0;
    case.stay_days = 4_000;
    assert_eq!(
        check(case.clone()),
        "case 9: field `stay_days` 4000 is more than 3650"
    );
    case.stay_days = 3;
    let twice = [case.clone(), case];
    let err = drg_case_points(&twice, &hospitals, &table, &drg_rules()).unwrap_err();
    assert_eq!(err, PaymentError::DuplicateCaseId { case_id: 9 });
}
