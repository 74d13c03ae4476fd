//! Retirement and minimum contribution years (spec enrollment.md §5.2): the check, the shortfall
//! and the one-off back-payment that closes it. The retirement date itself comes from human
//! resources; nothing here computes it from age.

use yibao_core_types::Fen;

use crate::error::EngineError;
use crate::params::{Params, RetirementParams};

/// The person's sex, for the cumulative minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Men.
    Male,
    /// Women.
    Female,
}

/// The employee years ledger, in months (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YearsLedger {
    /// Months actually paid, anywhere (local, transferred in, one-off back-pay).
    pub months_actual: u32,
    /// Of those, months paid in this region.
    pub months_local_actual: u32,
    /// Deemed months (视同缴费年限).
    pub months_deemed: u32,
}

impl YearsLedger {
    /// Actual plus deemed.
    pub fn cumulative_months(&self) -> u32 {
        self.months_actual + self.months_deemed
    }
}

/// The outcome of the minimum-years check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetirementCheck {
    /// Cumulative months held.
    pub cumulative_months: u32,
    /// Cumulative months required (by sex).
    pub required_months: u32,
    /// Months short of the cumulative minimum.
    pub cumulative_short: u32,
    /// Months short of the actual minimum.
    pub actual_short: u32,
    /// Months short of the local actual minimum.
    pub local_short: u32,
    /// Months to back-pay locally to meet every minimum (a local payment counts toward all
    /// three).
    pub shortfall_months: u32,
    /// Every minimum is met.
    pub met: bool,
    /// The one-off back-payment: shortfall × back-pay base × rate, half-up to the fen.
    pub backpay: Fen,
}

fn retirement_section(params: &Params) -> Result<&RetirementParams, EngineError> {
    params
        .retirement
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "retirement",
        })
}

/// Checks the minimum years at retirement and prices the shortfall.
pub fn retirement_check(
    params: &Params,
    ledger: YearsLedger,
    sex: Sex,
) -> Result<RetirementCheck, EngineError> {
    let retirement = retirement_section(params)?;
    if ledger.months_local_actual > ledger.months_actual {
        return Err(EngineError::NotQualified(format!(
            "the ledger's local actual months ({}) exceed its actual months ({})",
            ledger.months_local_actual, ledger.months_actual
        )));
    }
    let required_months = match sex {
        Sex::Male => retirement.min_months_men,
        Sex::Female => retirement.min_months_women,
    };
    let cumulative_months = ledger.cumulative_months();
    let cumulative_short = required_months.saturating_sub(cumulative_months);
    let actual_short = retirement
        .min_months_actual
        .saturating_sub(ledger.months_actual);
    let local_short = retirement
        .min_months_local_actual
        .saturating_sub(ledger.months_local_actual);
    let shortfall_months = cumulative_short.max(actual_short).max(local_short);
    let backpay = Fen(retirement.backpay_base.0 * i64::from(shortfall_months))
        .mul_ratio(retirement.backpay_rate);
    Ok(RetirementCheck {
        cumulative_months,
        required_months,
        cumulative_short,
        actual_short,
        local_short,
        shortfall_months,
        met: shortfall_months == 0,
        backpay,
    })
}
