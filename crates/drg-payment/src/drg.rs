//! DRG points (点数法): each grouped case's points from its DRG's weight, the hospital's
//! coefficient, outlier rules, short stays, ungrouped cases and special-case review (特病单议).
//!
//! Units: base points of DRG *i* = RWᵢ × 100, so with RW in ppm the base points in 1/10000 point
//! are exactly `weight_ppm`. Each case's points are one exact rational rounded once, half up, to
//! 1/10000 point ([`crate::exact::div_round_half_up`]).

use std::collections::{BTreeMap, HashMap};

use crate::error::{config_error, PaymentError};
use crate::exact::{div_round_half_up, to_i64, PPM};
use crate::limits;
use crate::model::{check_ppm, validate_cases, DrgCode, Hospital, HospitalLevel, InpatientCase};
use crate::weights::{ExactMean, WeightTable};

/// One tier of the high-outlier multiple: DRGs with base points up to `base_points_upto_e4`
/// (inclusive; `None` = no upper end) are high outliers at `multiple_ppm` × the DRG mean cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierTier {
    /// Upper end of the tier's base points in 1/10000 point, inclusive; `None` for the last tier.
    pub base_points_upto_e4: Option<i64>,
    /// The multiple k in ppm (3× = 3,000,000).
    pub multiple_ppm: i64,
}

/// Special-case review (特病单议) rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialReviewRules {
    /// A high outlier whose cost is at least this multiple of its DRG mean is a candidate, ppm.
    pub min_cost_ratio_ppm: i64,
    /// At most this share of a hospital's cases is reviewed, ppm (national cap 5% = 50,000).
    pub cases_cap_ppm: i64,
}

/// A region's DRG point rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrgRules {
    /// Default coefficient (差异系数) of each level in ppm, levels one, two, three.
    pub level_coefficient_ppm: [i64; 3],
    /// High-outlier tiers by base points, ascending, the last one open-ended.
    pub high_tiers: Vec<OutlierTier>,
    /// A case costing at most this multiple of its DRG mean is a low outlier, ppm (e.g. 0.4).
    pub low_ratio_ppm: i64,
    /// Stays of at most this many days are short stays (0 disables the rule).
    pub short_stay_days_max: u32,
    /// Multiplier on cost-based points of ungrouped and unstable-DRG cases, ppm.
    pub ungrouped_factor_ppm: i64,
    /// Special-case review.
    pub special_review: SpecialReviewRules,
}

/// How a case's points were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DrgCaseKind {
    /// Base points × coefficient.
    Normal,
    /// 高倍率: base × coefficient + base × (cost / mean − k).
    HighOutlier,
    /// 低倍率: base × cost / mean, never above normal points.
    LowOutlier,
    /// Short stay: base × cost / mean, never above normal points.
    ShortStay,
    /// No DRG (0000, QY, invalid): cost / overall mean × 100 × factor.
    Ungrouped,
    /// DRG without a stable weight: paid like ungrouped.
    Unstable,
    /// 特病单议: reviewed; the larger of the formula and cost / overall mean × 100.
    SpecialReview,
}

impl DrgCaseKind {
    /// Every kind, in report order.
    pub const ALL: [DrgCaseKind; 7] = [
        DrgCaseKind::Normal,
        DrgCaseKind::HighOutlier,
        DrgCaseKind::LowOutlier,
        DrgCaseKind::ShortStay,
        DrgCaseKind::Ungrouped,
        DrgCaseKind::Unstable,
        DrgCaseKind::SpecialReview,
    ];

    /// A short English label.
    pub fn label(self) -> &'static str {
        match self {
            DrgCaseKind::Normal => "normal",
            DrgCaseKind::HighOutlier => "high_outlier",
            DrgCaseKind::LowOutlier => "low_outlier",
            DrgCaseKind::ShortStay => "short_stay",
            DrgCaseKind::Ungrouped => "ungrouped",
            DrgCaseKind::Unstable => "unstable",
            DrgCaseKind::SpecialReview => "special_review",
        }
    }
}

/// One case's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrgCasePoints {
    /// How they were found.
    pub kind: DrgCaseKind,
    /// Points in 1/10000 point.
    pub points_e4: i64,
    /// The DRG's base points in 1/10000 point (0 when the case has no stable DRG).
    pub base_points_e4: i64,
}

/// Checks DRG rules: coefficients and multiples in range, tiers ascending and closed by an
/// open-ended tier, and the low ratio below every high multiple.
pub fn validate_drg_rules(rules: &DrgRules) -> Result<(), PaymentError> {
    for (idx, coef) in rules.level_coefficient_ppm.iter().enumerate() {
        check_ppm(
            &format!("drg.level_coefficients.level{}", idx + 1),
            *coef,
            1,
            limits::COEFFICIENT_PPM_MAX,
        )?;
    }
    if rules.high_tiers.is_empty() || rules.high_tiers.len() > limits::OUTLIER_TIERS_MAX {
        return Err(config_error(
            "drg.high_tiers",
            format!(
                "has {} tiers, needs 1 to {}",
                rules.high_tiers.len(),
                limits::OUTLIER_TIERS_MAX
            ),
        ));
    }
    let mut previous_upto = i64::MIN;
    for (idx, tier) in rules.high_tiers.iter().enumerate() {
        let field = format!("drg.high_tiers[{idx}]");
        check_ppm(
            &format!("{field}.multiple"),
            tier.multiple_ppm,
            PPM as i64,
            limits::COEFFICIENT_PPM_MAX,
        )?;
        let last = idx + 1 == rules.high_tiers.len();
        match (tier.base_points_upto_e4, last) {
            (None, true) => {}
            (None, false) => {
                return Err(config_error(field, "only the last tier may be open-ended"))
            }
            (Some(_), true) => return Err(config_error(field, "the last tier must be open-ended")),
            (Some(upto), false) => {
                if upto <= previous_upto || upto <= 0 {
                    return Err(config_error(
                        field,
                        "tier ends must be positive and ascending",
                    ));
                }
                previous_upto = upto;
            }
        }
    }
    check_ppm("drg.low_ratio", rules.low_ratio_ppm, 0, PPM as i64 - 1)?;
    check_ppm(
        "drg.ungrouped_factor",
        rules.ungrouped_factor_ppm,
        0,
        limits::COEFFICIENT_PPM_MAX,
    )?;
    check_ppm(
        "drg.special_review.min_cost_ratio",
        rules.special_review.min_cost_ratio_ppm,
        PPM as i64,
        limits::COEFFICIENT_PPM_MAX,
    )?;
    check_ppm(
        "drg.special_review.cases_cap",
        rules.special_review.cases_cap_ppm,
        0,
        PPM as i64,
    )?;
    if rules.short_stay_days_max > limits::STAY_DAYS_MAX {
        return Err(config_error(
            "drg.short_stay_days_max",
            "is more than the stay limit",
        ));
    }
    Ok(())
}

/// The coefficient of a hospital: its own, else its level's.
pub fn hospital_coefficient_ppm(hospital: &Hospital, level_coefficient_ppm: &[i64; 3]) -> i64 {
    hospital
        .coefficient_ppm
        .unwrap_or(level_coefficient_ppm[hospital.level.idx()])
}

/// The high-outlier multiple for a DRG with these base points.
fn high_multiple_ppm(rules: &DrgRules, base_points_e4: i64) -> i64 {
    rules
        .high_tiers
        .iter()
        .find(|tier| {
            tier.base_points_upto_e4
                .is_none_or(|upto| base_points_e4 <= upto)
        })
        .expect("validated: the last tier is open-ended")
        .multiple_ppm
}

/// Cost-based points: cost / overall mean × 100 × factor, in 1/10000 point.
fn cost_based_points_e4(cost_fen: i64, overall: &ExactMean, factor_ppm: i64) -> i128 {
    // cost × count / sum × 100 points × 10^4 × factor / 10^6 = cost × count × factor / sum.
    div_round_half_up(
        i128::from(cost_fen) * i128::from(overall.count) * i128::from(factor_ppm),
        i128::from(overall.sum),
    )
}

/// The formula points of one case (before special-case review).
pub fn drg_formula_points(
    case: &InpatientCase,
    coefficient_ppm: i64,
    table: &WeightTable,
    rules: &DrgRules,
) -> DrgCasePoints {
    let weight = case.drg.and_then(|drg| table.get(drg));
    let Some(weight) = weight else {
        let kind = if case.drg.is_some() {
            DrgCaseKind::Unstable
        } else {
            DrgCaseKind::Ungrouped
        };
        let points = cost_based_points_e4(
            case.cost_fen,
            &table.overall_mean_cost,
            rules.ungrouped_factor_ppm,
        );
        return DrgCasePoints {
            kind,
            points_e4: to_i64(points, "points"),
            base_points_e4: 0,
        };
    };
    let base = i128::from(weight.weight_ppm);
    let sum = i128::from(weight.mean_cost.sum);
    let count = i128::from(weight.mean_cost.count);
    let cost = i128::from(case.cost_fen);
    let coef = i128::from(coefficient_ppm);
    let normal = div_round_half_up(base * coef, PPM);
    // cost / mean = cost × count / sum; compared with a multiple m (ppm): cost × count × 10^6 vs m × sum.
    let cost_scaled = cost * count * PPM;
    let high_multiple = i128::from(high_multiple_ppm(rules, weight.weight_ppm));
    let (kind, points) = if cost_scaled >= high_multiple * sum {
        // base × coef + base × (cost / mean − k), one rational over 10^6 × sum.
        let num = base * coef * sum + base * (cost_scaled - high_multiple * sum);
        (DrgCaseKind::HighOutlier, div_round_half_up(num, PPM * sum))
    } else {
        let proportional = div_round_half_up(base * cost * count, sum).min(normal);
        if cost_scaled <= i128::from(rules.low_ratio_ppm) * sum {
            (DrgCaseKind::LowOutlier, proportional)
        } else if rules.short_stay_days_max > 0 && case.stay_days <= rules.short_stay_days_max {
            (DrgCaseKind::ShortStay, proportional)
        } else {
            (DrgCaseKind::Normal, normal)
        }
    };
    DrgCasePoints {
        kind,
        points_e4: to_i64(points, "points"),
        base_points_e4: weight.weight_ppm,
    }
}

/// Every case's points, in input order: formula points, then special-case review of the
/// highest high outliers of each hospital within its cap. Validates cases and rules first.
pub fn drg_case_points(
    cases: &[InpatientCase],
    hospitals: &[Hospital],
    table: &WeightTable,
    rules: &DrgRules,
) -> Result<Vec<DrgCasePoints>, PaymentError> {
    validate_cases(cases, hospitals)?;
    validate_drg_rules(rules)?;
    let coefficients: Vec<i64> = hospitals
        .iter()
        .map(|h| hospital_coefficient_ppm(h, &rules.level_coefficient_ppm))
        .collect();
    let mut points: Vec<DrgCasePoints> = cases
        .iter()
        .map(|case| drg_formula_points(case, coefficients[case.hospital as usize], table, rules))
        .collect();
    apply_special_review(cases, table, rules, &mut points);
    Ok(points)
}

/// Reviews, per hospital, the high outliers at or above the review ratio, highest cost ratio
/// first (ties by case id), up to `floor(cases × cap)`; a reviewed case gets the larger of its
/// formula points and its cost-based points (cost / overall mean × 100), so review never lowers
/// a case's points.
fn apply_special_review(
    cases: &[InpatientCase],
    table: &WeightTable,
    rules: &DrgRules,
    points: &mut [DrgCasePoints],
) {
    let review = &rules.special_review;
    let mut n_cases_by_hospital: BTreeMap<u32, u64> = BTreeMap::new();
    // Candidates per hospital: (cost × count, sum) is the cost ratio as a fraction.
    let mut candidates: BTreeMap<u32, Vec<(i128, i128, u64, usize)>> = BTreeMap::new();
    for (idx, case) in cases.iter().enumerate() {
        *n_cases_by_hospital.entry(case.hospital).or_default() += 1;
        if points[idx].kind != DrgCaseKind::HighOutlier {
            continue;
        }
        let weight = table
            .get(case.drg.expect("high outliers have a DRG"))
            .expect("and a weight");
        let ratio_num = i128::from(case.cost_fen) * i128::from(weight.mean_cost.count);
        let ratio_den = i128::from(weight.mean_cost.sum);
        if ratio_num * PPM >= i128::from(review.min_cost_ratio_ppm) * ratio_den {
            candidates
                .entry(case.hospital)
                .or_default()
                .push((ratio_num, ratio_den, case.id, idx));
        }
    }
    for (hospital, mut list) in candidates {
        let cap =
            i128::from(n_cases_by_hospital[&hospital]) * i128::from(review.cases_cap_ppm) / PPM;
        // Highest ratio first: a/b > c/d ⇔ a·d > c·b (denominators positive); then lower id.
        list.sort_unstable_by(|x, y| (y.0 * x.1).cmp(&(x.0 * y.1)).then(x.2.cmp(&y.2)));
        for (_, _, _, idx) in list.into_iter().take(cap as usize) {
            let reviewed = to_i64(
                cost_based_points_e4(cases[idx].cost_fen, &table.overall_mean_cost, PPM as i64),
                "points",
            );
            let case_points = &mut points[idx];
            case_points.kind = DrgCaseKind::SpecialReview;
            case_points.points_e4 = case_points.points_e4.max(reviewed);
        }
    }
}

/// The case mix index (CMI) and consumption indices of hospitals, all in ppm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HospitalIndices {
    /// Cases with a stable DRG (the base of the indices).
    pub n_grouped: u64,
    /// CMI = Σ RW / n over the hospital's cases with a stable DRG.
    pub cmi_ppm: i64,
    /// 费用消耗指数 = Σᵢ nᵢ · (eᵢ / Eᵢ) / Σ nᵢ against the region's mean cost per DRG this year.
    pub cost_index_ppm: i64,
    /// 时间消耗指数: the same with lengths of stay.
    pub time_index_ppm: i64,
}

/// CMI and cost and time consumption indices of every hospital (in hospital order), over the
/// cases whose DRG has a stable weight. eᵢ and Eᵢ are this year's hospital and regional means.
/// Each DRG's term nᵢ·eᵢ/Eᵢ is carried at 10^-12 (rounded half up), the mean over Σ nᵢ is
/// rounded half up to ppm.
pub fn hospital_indices(
    cases: &[InpatientCase],
    n_hospitals: usize,
    table: &WeightTable,
) -> Vec<HospitalIndices> {
    // Dense numbers for the stable DRGs, then regional totals per DRG and totals per
    // (hospital, DRG): (n, cost, days). Sums of integers do not depend on the order of the cases.
    let drg_number: HashMap<DrgCode, usize> = table
        .drgs
        .keys()
        .enumerate()
        .map(|(idx, drg)| (*drg, idx))
        .collect();
    let weights: Vec<i128> = table
        .drgs
        .values()
        .map(|w| i128::from(w.weight_ppm))
        .collect();
    let mut region = vec![(0_i128, 0_i128, 0_i128); drg_number.len()];
    let mut by_hospital_drg: HashMap<(u32, usize), (i128, i128, i128)> = HashMap::new();
    for case in cases {
        let Some(number) = case.drg.and_then(|drg| drg_number.get(&drg).copied()) else {
            continue;
        };
        let (cost, days) = (i128::from(case.cost_fen), i128::from(case.stay_days));
        let entry = &mut region[number];
        *entry = (entry.0 + 1, entry.1 + cost, entry.2 + days);
        let entry = by_hospital_drg.entry((case.hospital, number)).or_default();
        *entry = (entry.0 + 1, entry.1 + cost, entry.2 + days);
    }
    // Per hospital: (n, Σ RW, Σ cost terms, Σ time terms).
    let mut sums = vec![(0_i128, 0_i128, 0_i128, 0_i128); n_hospitals];
    for ((hospital, number), (n_h, cost_h, days_h)) in by_hospital_drg {
        let (n_r, cost_r, days_r) = region[number];
        let sum = &mut sums[hospital as usize];
        sum.0 += n_h;
        sum.1 += n_h * weights[number];
        // nᵢ · eᵢ / Eᵢ = n_h · (cost_h / n_h) / (cost_r / n_r) = cost_h · n_r / cost_r.
        sum.2 += ratio_term_scaled(cost_h, n_r, cost_r, n_h);
        sum.3 += ratio_term_scaled(days_h, n_r, days_r, n_h);
    }
    sums.into_iter()
        .map(|(n, weight_sum, cost_terms, time_terms)| {
            if n == 0 {
                return HospitalIndices {
                    n_grouped: 0,
                    cmi_ppm: 0,
                    cost_index_ppm: 0,
                    time_index_ppm: 0,
                };
            }
            HospitalIndices {
                n_grouped: n as u64,
                cmi_ppm: to_i64(div_round_half_up(weight_sum, n), "cmi"),
                cost_index_ppm: to_i64(
                    div_round_half_up(cost_terms, n * TERM_SCALE / PPM),
                    "cost index",
                ),
                time_index_ppm: to_i64(
                    div_round_half_up(time_terms, n * TERM_SCALE / PPM),
                    "time index",
                ),
            }
        })
        .collect()
}

/// Scale the consumption-index terms are carried at before the final rounding to ppm.
const TERM_SCALE: i128 = 1_000_000_000_000;

/// `value_h · n_r / value_r` at 10^-12; when the region's total is zero every hospital is at
/// the mean, so the term is `n_h` (ratio 1).
fn ratio_term_scaled(value_h: i128, n_r: i128, value_r: i128, n_h: i128) -> i128 {
    if value_r == 0 {
        return n_h * TERM_SCALE;
    }
    div_round_half_up(value_h * n_r * TERM_SCALE, value_r)
}

/// Hospital coefficients (差异系数) from history, moved toward 1 (同病同价): for each hospital with
/// cases of a stable DRG in the history, `1 + (cost index − 1) × blend`, rounded half up to ppm
/// and at least 1 ppm; `None` (the level's coefficient) for a hospital without such cases.
/// `indices` are [`hospital_indices`] over the history; `blend_ppm` is 0 (all hospitals at 1) to
/// 1,000,000 (each at its own historical cost index).
pub fn coefficients_from_history(indices: &[HospitalIndices], blend_ppm: i64) -> Vec<Option<i64>> {
    assert!(
        (0..=PPM as i64).contains(&blend_ppm),
        "blend {blend_ppm} ppm is validated"
    );
    indices
        .iter()
        .map(|index| {
            (index.n_grouped > 0).then(|| {
                let moved = div_round_half_up(
                    (i128::from(index.cost_index_ppm) - PPM) * i128::from(blend_ppm),
                    PPM,
                );
                to_i64(PPM + moved, "coefficient").max(1)
            })
        })
        .collect()
}

/// A hospital level's label in reports.
pub fn level_label(level: HospitalLevel) -> &'static str {
    match level {
        HospitalLevel::One => "level 1",
        HospitalLevel::Two => "level 2",
        HospitalLevel::Three => "level 3",
    }
}
