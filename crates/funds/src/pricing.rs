//! A month's inpatient cases priced by points (月度预结算) on top of what settlement paid.
//!
//! At settlement the basic pooling fund paid each case fee-for-service (`fund_paid`). The month's
//! pool is the month's fund budget plus what the insured paid themselves. The month's budget is
//! a twelfth of the year's DRG/DIP budget ([`month_budget`]): the one the bureau set, else last
//! year's fund spending on the cases grown by the region's `[budget] growth`
//! ([`grown_budget`]); with neither ("budget neutral") the budget is what the fund paid, so the
//! pool is the cases' total cost and points only move money between hospitals. Each case's payment is its share of the pool by
//! points (largest remainder, so the payments add up to the pool to the fen); its adjustment is
//! payment − cost, which the payment run adds to (or takes from) what the hospital is owed. At
//! the year end the drg-payment crate's annual settlement (surplus and overspend bands) gives
//! each hospital's fund payment, and the true-up is that minus what the months paid.

use yibao_drg_payment::dip::{build_dip_catalogue, dip_case_scores, ProcedureClassifier};
use yibao_drg_payment::drg::drg_case_points;
use yibao_drg_payment::exact::share_largest_remainder;
use yibao_drg_payment::region::RegionConfig;
use yibao_drg_payment::settle::settle_year;
use yibao_drg_payment::weights::build_weights;
use yibao_drg_payment::{Hospital, InpatientCase};

use crate::config::Method;
use crate::FundsError;

/// The points of one case and how they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePoints {
    /// The formula that applied (`normal`, `high_outlier`, `core` …).
    pub kind: String,
    /// Points (DRG) or score (DIP) in 1/10000.
    pub points_e4: i64,
}

fn payment_error(e: impl std::fmt::Display) -> FundsError {
    FundsError::Payment(e.to_string())
}

/// Points of `cases` by the region's DRG or DIP rules, learned from `history` (the region's
/// earlier cases; the month's own cases are added to it when it is short). `classifier` is
/// needed for DIP only. `Method::Ffs` gives no points.
pub fn case_points(
    method: Method,
    history: &[InpatientCase],
    cases: &[InpatientCase],
    hospitals: &[Hospital],
    region: &RegionConfig,
    classifier: &ProcedureClassifier,
) -> Result<Vec<CasePoints>, FundsError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let learn: Vec<InpatientCase> = if history.is_empty() {
        cases.to_vec()
    } else {
        history.to_vec()
    };
    match method {
        Method::Ffs => Ok(Vec::new()),
        Method::Drg => {
            let table = build_weights(&learn, &region.weights).map_err(payment_error)?;
            let points =
                drg_case_points(cases, hospitals, &table, &region.drg).map_err(payment_error)?;
            Ok(points
                .into_iter()
                .map(|p| CasePoints {
                    kind: p.kind.label().into(),
                    points_e4: p.points_e4,
                })
                .collect())
        }
        Method::Dip => {
            let catalogue = build_dip_catalogue(&learn, hospitals, classifier, &region.dip)
                .map_err(payment_error)?;
            let scores = dip_case_scores(cases, hospitals, &catalogue, classifier, &region.dip)
                .map_err(payment_error)?;
            Ok(scores
                .into_iter()
                .map(|s| CasePoints {
                    kind: format!("{:?}", s.kind).to_lowercase(),
                    points_e4: s.points_e4,
                })
                .collect())
        }
    }
}

/// One case to price: its points, its cost and what the fund paid at settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseToPrice {
    /// Points in 1/10000 (≥ 0).
    pub points_e4: i64,
    /// The case's total cost (medfee_sumamt) in fen.
    pub cost_fen: i64,
    /// What the basic pooling fund paid at settlement, fen.
    pub fund_paid_fen: i64,
}

/// A month priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthPricing {
    /// The pool shared by points, fen.
    pub pool_fen: i64,
    /// Total points, 1/10000.
    pub points_e4: i64,
    /// Each case's payment (its share of the pool), fen, in input order.
    pub payments_fen: Vec<i64>,
}

impl MonthPricing {
    /// The adjustment of case `i`: payment − cost.
    pub fn adjustment_fen(&self, cases: &[CaseToPrice], i: usize) -> i64 {
        self.payments_fen[i] - cases[i].cost_fen
    }
}

/// Prices a month: the pool (`budget_fen` plus the insured's own share, or the cases' total cost
/// when there is no budget) shared by points. With no points at all each case is paid its cost.
pub fn price_month(
    cases: &[CaseToPrice],
    budget_fen: Option<i64>,
) -> Result<MonthPricing, FundsError> {
    for (i, c) in cases.iter().enumerate() {
        if c.points_e4 < 0 || c.cost_fen < 0 || c.fund_paid_fen > c.cost_fen {
            return Err(FundsError::Invariant(format!(
                "case {i}: points {}, cost {}, fund paid {}",
                c.points_e4, c.cost_fen, c.fund_paid_fen
            )));
        }
    }
    let cost: i64 = cases.iter().map(|c| c.cost_fen).sum();
    let insured: i64 = cases.iter().map(|c| c.cost_fen - c.fund_paid_fen).sum();
    let pool = match budget_fen {
        Some(b) => b + insured,
        None => cost,
    };
    let points: i64 = cases.iter().map(|c| c.points_e4).sum();
    let payments = if points == 0 || pool <= 0 {
        cases.iter().map(|c| c.cost_fen).collect()
    } else {
        let weights: Vec<i128> = cases.iter().map(|c| i128::from(c.points_e4)).collect();
        share_largest_remainder(pool, &weights)
    };
    let paid: i64 = payments.iter().sum();
    if points > 0 && pool > 0 && paid != pool {
        return Err(FundsError::Invariant(format!(
            "payments {paid} ≠ pool {pool}"
        )));
    }
    Ok(MonthPricing {
        pool_fen: if points == 0 || pool <= 0 { cost } else { pool },
        points_e4: points,
        payments_fen: payments,
    })
}

/// The annual budget grown from last year's fund spending: `last_year_fen × (1 + growth)`,
/// rounded half up to the fen (the region file's `[budget] growth`, in ppm).
pub fn grown_budget(last_year_fen: i64, growth_ppm: i64) -> Result<i64, FundsError> {
    const PPM: i128 = 1_000_000;
    if last_year_fen < 0 || !(-PPM..=PPM).contains(&i128::from(growth_ppm)) {
        return Err(FundsError::Invariant(format!(
            "budget from last year's {last_year_fen} fen grown by {growth_ppm} ppm"
        )));
    }
    let grown = yibao_core_types::money::round_half_up(
        i128::from(last_year_fen) * (PPM + i128::from(growth_ppm)),
        PPM,
    );
    i64::try_from(grown).map_err(|_| FundsError::Invariant(format!("budget {grown} fen")))
}

/// Month `month` (1–12)'s share of an annual budget: twelve shares by largest remainder (the
/// first months take the odd fen), as the annual settlement divides it, so the twelve add up
/// to the year's budget.
pub fn month_budget(annual_fen: i64, month: u32) -> Result<i64, FundsError> {
    if annual_fen < 0 || !(1..=12).contains(&month) {
        return Err(FundsError::Invariant(format!(
            "month {month} of a budget of {annual_fen} fen"
        )));
    }
    let shares = share_largest_remainder(annual_fen, &[1; 12]);
    Ok(shares[month as usize - 1])
}

/// A hospital's year of priced cases, for the annual true-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCase {
    /// The hospital (index into the run's hospitals).
    pub hospital: u32,
    /// Month 1–12.
    pub month: u8,
    /// Points, 1/10000.
    pub points_e4: i64,
    /// Cost, fen.
    pub cost_fen: i64,
    /// What the fund paid at settlement, fen.
    pub fund_paid_fen: i64,
    /// The month's adjustment already paid, fen.
    pub adjustment_fen: i64,
}

/// The annual true-up per hospital (in hospital order): the year's fund payment by the
/// drg-payment crate's annual settlement (the year's pool by points, surplus and overspend
/// bands; the budget is what the fund paid over the year unless `budget_fen` is given) minus what
/// the months already paid (fund paid at settlement + monthly adjustments).
pub fn year_true_up(
    cases: &[YearCase],
    n_hospitals: usize,
    budget_fen: Option<i64>,
    region: &RegionConfig,
) -> Result<Vec<i64>, FundsError> {
    if cases.is_empty() {
        return Ok(vec![0; n_hospitals]);
    }
    let engine_cases: Vec<InpatientCase> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| InpatientCase {
            id: i as u64,
            hospital: c.hospital,
            month: c.month,
            drg: None,
            principal_dx: String::new(),
            procedures: Vec::new(),
            cost_fen: c.cost_fen,
            insured_share_fen: c.cost_fen - c.fund_paid_fen,
            stay_days: 1,
        })
        .collect();
    let points: Vec<i64> = cases.iter().map(|c| c.points_e4).collect();
    let budget = budget_fen.unwrap_or_else(|| cases.iter().map(|c| c.fund_paid_fen).sum());
    let year = settle_year(
        &engine_cases,
        &points,
        n_hospitals,
        budget,
        &region.settlement,
    )
    .map_err(payment_error)?;
    let mut paid = vec![0i64; n_hospitals];
    for c in cases {
        paid[c.hospital as usize] += c.fund_paid_fen + c.adjustment_fen;
    }
    Ok(year
        .hospitals
        .iter()
        .zip(paid)
        .map(|(h, p)| h.fund_payment_fen - p)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn case(points_e4: i64, cost_fen: i64, fund_paid_fen: i64) -> CaseToPrice {
        CaseToPrice {
            points_e4,
            cost_fen,
            fund_paid_fen,
        }
    }

    #[test]
    fn a_budget_neutral_month_moves_money_by_points() {
        // Two cases of equal cost, one with twice the points: the pool (their cost, 3,000.00)
        // goes 1:2.
        let cases = [
            case(100_000, 150_000, 100_000),
            case(200_000, 150_000, 120_000),
        ];
        let m = price_month(&cases, None).unwrap();
        assert_eq!(m.pool_fen, 300_000);
        assert_eq!(m.payments_fen, vec![100_000, 200_000]);
        assert_eq!(m.adjustment_fen(&cases, 0), -50_000);
        assert_eq!(m.adjustment_fen(&cases, 1), 50_000);
    }

    #[test]
    fn a_budget_sets_the_pool_and_no_points_pays_cost() {
        let cases = [case(1, 10_000, 8_000), case(1, 20_000, 10_000)];
        // Budget 30.00 + insured 120.00 = 150.00, shared 1:1.
        let m = price_month(&cases, Some(3_000)).unwrap();
        assert_eq!(m.payments_fen, vec![7_500, 7_500]);
        let none = price_month(&[case(0, 10_000, 5_000)], None).unwrap();
        assert_eq!(none.payments_fen, vec![10_000]);
        assert!(price_month(&[case(1, 100, 200)], None).is_err());
    }

    #[test]
    fn budgets_grow_and_divide_into_twelve() {
        assert_eq!(grown_budget(1_000_000, 30_000).unwrap(), 1_030_000);
        // 333.33 × 1.03 = 343.3299 → 343.33; a fall rounds too.
        assert_eq!(grown_budget(33_333, 30_000).unwrap(), 34_333);
        assert_eq!(grown_budget(10_001, -500_000).unwrap(), 5_001);
        assert!(grown_budget(-1, 0).is_err());
        assert!(grown_budget(1, 2_000_000).is_err());
        // 100.05 yuan in twelve: 833 fen each and nine odd fen, to the first nine months.
        let months: Vec<i64> = (1..=12).map(|m| month_budget(10_005, m).unwrap()).collect();
        assert_eq!(months.iter().sum::<i64>(), 10_005);
        assert_eq!(months[0], 834);
        assert_eq!(months[11], 833);
        assert!(month_budget(1, 0).is_err() && month_budget(1, 13).is_err());
    }

    proptest! {
        #[test]
        fn twelve_months_add_up_to_the_year(annual in 0i64..10_000_000_000_000) {
            let sum: i64 = (1..=12).map(|m| month_budget(annual, m).unwrap()).sum();
            prop_assert_eq!(sum, annual);
        }

        #[test]
        fn payments_add_up_to_the_pool(
            raw in proptest::collection::vec((0i64..5_000_000, 1i64..10_000_000, 0u32..=100), 1..60),
        ) {
            let cases: Vec<CaseToPrice> = raw
                .iter()
                .map(|(p, c, share)| case(*p, *c, c * i64::from(*share) / 100))
                .collect();
            let m = price_month(&cases, None).unwrap();
            let cost: i64 = cases.iter().map(|c| c.cost_fen).sum();
            prop_assert_eq!(m.payments_fen.iter().sum::<i64>(), cost);
            let adj: i64 = (0..cases.len()).map(|i| m.adjustment_fen(&cases, i)).sum();
            prop_assert_eq!(adj, 0);
        }
    }
}
