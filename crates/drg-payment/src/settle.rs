//! From points to money: point values, monthly provisional settlement, annual true-up, and
//! retained surplus / shared overspend (结余留用、超支分担). Used by DRG points and DIP scores alike.
//!
//! Point value (点值) = (budget + insured persons' share) / total points. The pool (budget +
//! insured share) is shared out over hospitals in proportion to their points by the largest
//! remainder rule, so the hospitals' settlements add up to the pool exactly, to the fen.

use crate::error::{config_error, PaymentError};
use crate::exact::{div_round_half_up, share_largest_remainder, to_i64, POINT_E4, PPM};
use crate::limits;
use crate::model::{check_ppm, InpatientCase};

/// One band of the surplus or overspend rule: the part of the surplus (or overspend) between the
/// previous band's end and `upto_ppm` of the hospital's cost (`None` = no upper end) is
/// `share_ppm` the hospital's (surplus: kept by the hospital) or the fund's (overspend: borne by
/// the fund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Upper end as a share of the hospital's cost, ppm; `None` for the last band.
    pub upto_ppm: Option<i64>,
    /// Share in ppm.
    pub share_ppm: i64,
}

/// Surplus and overspend bands of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRules {
    /// 结余留用: bands of (settlement − cost) / cost; share = what the hospital keeps.
    pub surplus_bands: Vec<Band>,
    /// 超支分担: bands of (cost − settlement) / cost; share = what the fund bears.
    pub overspend_bands: Vec<Band>,
}

/// A point value kept exactly: `pool_fen / total_points_e4` fen per 1/10000 point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointValue {
    /// Budget + insured persons' share, fen.
    pub pool_fen: i64,
    /// Total points of the period in 1/10000 point.
    pub total_points_e4: i64,
}

impl PointValue {
    /// Fen per point in 1/10000 fen, rounded half up, saturating at `i64::MAX` (for display;
    /// payments use the exact value).
    pub fn fen_per_point_e4(&self) -> i64 {
        if self.total_points_e4 == 0 {
            return 0;
        }
        let value = div_round_half_up(
            i128::from(self.pool_fen) * POINT_E4 * POINT_E4,
            i128::from(self.total_points_e4),
        );
        to_i64(value.min(i128::from(i64::MAX)), "point value")
    }
}

/// One month's provisional settlement (月度预结算).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSettlement {
    /// 1 to 12.
    pub month: u8,
    /// The month's share of the annual budget, fen.
    pub budget_fen: i64,
    /// The provisional point value (None when the month has no points).
    pub point_value: Option<PointValue>,
    /// Each hospital's provisional settlement, fen (adds up to the month's pool).
    pub settlement_fen: Vec<i64>,
    /// Each hospital's provisional fund payment: settlement − insured share, fen.
    pub fund_payment_fen: Vec<i64>,
}

/// One hospital's year.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HospitalSettlement {
    /// Cases.
    pub n_cases: u64,
    /// Points in 1/10000 point.
    pub points_e4: i64,
    /// Fee-for-service cost of its cases, fen.
    pub cost_fen: i64,
    /// What its patients paid, fen.
    pub insured_share_fen: i64,
    /// Its share of the annual pool: points × annual point value, fen.
    pub settlement_fen: i64,
    /// Surplus it keeps (结余留用), fen.
    pub retained_surplus_fen: i64,
    /// Surplus returned to the fund, fen.
    pub recovered_surplus_fen: i64,
    /// Overspend the fund bears (超支分担), fen.
    pub shared_overspend_fen: i64,
    /// Overspend the hospital absorbs, fen.
    pub absorbed_overspend_fen: i64,
    /// Fund payment for the year: settlement − insured share − recovered surplus + shared
    /// overspend, fen.
    pub fund_payment_fen: i64,
    /// Sum of the monthly provisional fund payments, fen.
    pub provisional_fund_fen: i64,
    /// Annual true-up (清算): fund payment − provisional payments, fen (negative: recovered).
    pub true_up_fen: i64,
}

/// A year's settlement by points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSettlement {
    /// Annual budget, fen.
    pub budget_fen: i64,
    /// Insured persons' share of all cases, fen.
    pub insured_share_fen: i64,
    /// The annual (true-up) point value.
    pub point_value: PointValue,
    /// The twelve months.
    pub months: Vec<MonthSettlement>,
    /// Hospitals in hospital order.
    pub hospitals: Vec<HospitalSettlement>,
}

impl YearSettlement {
    /// Net flow from the regional reserve to hospitals by the bands: shared overspend − recovered
    /// surplus, fen.
    pub fn reserve_net_fen(&self) -> i64 {
        self.hospitals
            .iter()
            .map(|h| h.shared_overspend_fen - h.recovered_surplus_fen)
            .sum()
    }
}

fn validate_bands(field: &str, bands: &[Band]) -> Result<(), PaymentError> {
    if bands.is_empty() || bands.len() > limits::BANDS_MAX {
        return Err(config_error(
            field,
            format!(
                "has {} bands, needs 1 to {}",
                bands.len(),
                limits::BANDS_MAX
            ),
        ));
    }
    let mut previous = 0;
    for (idx, band) in bands.iter().enumerate() {
        let band_field = format!("{field}[{idx}]");
        check_ppm(
            &format!("{band_field}.share"),
            band.share_ppm,
            0,
            PPM as i64,
        )?;
        let last = idx + 1 == bands.len();
        match (band.upto_ppm, last) {
            (None, true) => {}
            (None, false) => {
                return Err(config_error(
                    band_field,
                    "only the last band may be open-ended",
                ))
            }
            (Some(_), true) => {
                return Err(config_error(band_field, "the last band must be open-ended"))
            }
            (Some(upto), false) => {
                if upto <= previous || upto > limits::COEFFICIENT_PPM_MAX {
                    return Err(config_error(
                        band_field,
                        "band ends must be positive and ascending",
                    ));
                }
                previous = upto;
            }
        }
    }
    Ok(())
}

/// Checks settlement rules.
pub fn validate_settlement_rules(rules: &SettlementRules) -> Result<(), PaymentError> {
    validate_bands("settlement.surplus_bands", &rules.surplus_bands)?;
    validate_bands("settlement.overspend_bands", &rules.overspend_bands)
}

/// The banded share of `amount` (≥ 0) measured against `cost` (> 0), rounded once, half up.
pub fn banded_share_fen(amount_fen: i64, cost_fen: i64, bands: &[Band]) -> i64 {
    assert!(
        amount_fen >= 0 && cost_fen > 0,
        "banded share of {amount_fen} over {cost_fen}"
    );
    let amount_scaled = i128::from(amount_fen) * PPM;
    let cost = i128::from(cost_fen);
    let mut lower = 0_i128;
    let mut share_num = 0_i128;
    for band in bands {
        let upper = band
            .upto_ppm
            .map_or(amount_scaled, |upto| cost * i128::from(upto))
            .min(amount_scaled);
        if upper > lower {
            share_num += (upper - lower) * i128::from(band.share_ppm);
            lower = upper;
        }
    }
    to_i64(div_round_half_up(share_num, PPM * PPM), "banded share")
}

/// Settles a year: monthly provisional settlements, the annual point value, each hospital's
/// settlement, band adjustments, fund payment and true-up. `points_e4[i]` are the points of
/// `cases[i]` (already validated). Hospital figures come in hospital order.
pub fn settle_year(
    cases: &[InpatientCase],
    points_e4: &[i64],
    n_hospitals: usize,
    budget_fen: i64,
    rules: &SettlementRules,
) -> Result<YearSettlement, PaymentError> {
    assert_eq!(cases.len(), points_e4.len(), "one points figure per case");
    if !(0..=limits::BUDGET_FEN_MAX).contains(&budget_fen) {
        return Err(config_error(
            "budget_fen",
            format!("{budget_fen} is not 0 to {}", limits::BUDGET_FEN_MAX),
        ));
    }
    validate_settlement_rules(rules)?;
    assert!(points_e4.iter().all(|p| *p >= 0), "negative points");
    let total_points_wide: i128 = points_e4.iter().map(|p| i128::from(*p)).sum();
    if total_points_wide > i128::from(limits::TOTAL_POINTS_E4_MAX) {
        return Err(PaymentError::TooLarge {
            field: "points_e4",
            reason: format!(
                "the year's points {total_points_wide} exceed {}",
                limits::TOTAL_POINTS_E4_MAX
            ),
        });
    }
    let months_n = usize::from(limits::MONTHS_PER_YEAR);
    // Totals per (month, hospital): points, insured share.
    let mut month_points = vec![vec![0_i128; n_hospitals]; months_n];
    let mut month_insured = vec![vec![0_i64; n_hospitals]; months_n];
    let mut hospitals = vec![HospitalSettlement::default(); n_hospitals];
    for (case, points) in cases.iter().zip(points_e4) {
        let (m, h) = (usize::from(case.month - 1), case.hospital as usize);
        month_points[m][h] += i128::from(*points);
        month_insured[m][h] += case.insured_share_fen;
        let hospital = &mut hospitals[h];
        hospital.n_cases += 1;
        hospital.points_e4 += points;
        hospital.cost_fen += case.cost_fen;
        hospital.insured_share_fen += case.insured_share_fen;
    }
    let insured_total: i64 = hospitals.iter().map(|h| h.insured_share_fen).sum();
    let total_points: i64 = hospitals.iter().map(|h| h.points_e4).sum();
    let pool_fen = budget_fen + insured_total;
    if total_points == 0 && pool_fen > 0 {
        return Err(PaymentError::NoPoints { budget_fen });
    }

    // Monthly provisional settlement: the annual budget in twelve equal shares (largest
    // remainder), each with that month's insured share, over that month's points.
    let month_budgets = share_largest_remainder(budget_fen, &vec![1; months_n]);
    let mut months = Vec::with_capacity(months_n);
    for (m, month_budget) in month_budgets.into_iter().enumerate() {
        let insured: i64 = month_insured[m].iter().sum();
        let points: i128 = month_points[m].iter().sum();
        let (point_value, settlement_fen) = if points == 0 {
            (None, vec![0; n_hospitals])
        } else {
            let pool = month_budget + insured;
            let value = PointValue {
                pool_fen: pool,
                total_points_e4: to_i64(points, "points"),
            };
            (Some(value), share_largest_remainder(pool, &month_points[m]))
        };
        let fund_payment_fen: Vec<i64> = settlement_fen
            .iter()
            .zip(&month_insured[m])
            .map(|(settled, insured)| settled - insured)
            .collect();
        for (hospital, paid) in hospitals.iter_mut().zip(&fund_payment_fen) {
            hospital.provisional_fund_fen += paid;
        }
        months.push(MonthSettlement {
            month: m as u8 + 1,
            budget_fen: month_budget,
            point_value,
            settlement_fen,
            fund_payment_fen,
        });
    }

    // Annual true-up: the whole pool over the year's points.
    let weights: Vec<i128> = hospitals.iter().map(|h| i128::from(h.points_e4)).collect();
    let settlements = if total_points == 0 {
        vec![0; n_hospitals]
    } else {
        share_largest_remainder(pool_fen, &weights)
    };
    for (hospital, settlement) in hospitals.iter_mut().zip(settlements) {
        hospital.settlement_fen = settlement;
        if hospital.cost_fen > 0 && settlement >= hospital.cost_fen {
            let surplus = settlement - hospital.cost_fen;
            hospital.retained_surplus_fen =
                banded_share_fen(surplus, hospital.cost_fen, &rules.surplus_bands);
            hospital.recovered_surplus_fen = surplus - hospital.retained_surplus_fen;
        } else if hospital.cost_fen > 0 {
            let overspend = hospital.cost_fen - settlement;
            hospital.shared_overspend_fen =
                banded_share_fen(overspend, hospital.cost_fen, &rules.overspend_bands);
            hospital.absorbed_overspend_fen = overspend - hospital.shared_overspend_fen;
        }
        hospital.fund_payment_fen =
            settlement - hospital.insured_share_fen - hospital.recovered_surplus_fen
                + hospital.shared_overspend_fen;
        hospital.true_up_fen = hospital.fund_payment_fen - hospital.provisional_fund_fen;
    }
    let settled: i64 = hospitals.iter().map(|h| h.settlement_fen).sum();
    assert!(
        total_points == 0 || settled == pool_fen,
        "the pool {pool_fen} was shared as {settled}"
    );
    Ok(YearSettlement {
        budget_fen,
        insured_share_fen: insured_total,
        point_value: PointValue {
            pool_fen,
            total_points_e4: total_points,
        },
        months,
        hospitals,
    })
}
