//! Maternity allowance (生育津贴, spec enrollment.md §11): the employer's average monthly
//! contribution wage ÷ 30 × leave days, half-up to the fen, for an employee who meets the
//! continuous-contribution condition.

use yibao_core_types::{round_half_up, Fen};

use crate::error::EngineError;
use crate::params::{DeliveryType, Params};

/// Most babies one delivery may report (a larger number is a data error).
pub const BABIES_MAX: u32 = 8;

/// What the allowance depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaternityCase {
    /// The employer's average monthly contribution wage (last year).
    pub employer_average_wage: Fen,
    /// The delivery type.
    pub delivery: DeliveryType,
    /// Babies born (1 for a single birth; 0 for a miscarriage).
    pub babies: u32,
    /// Continuous contribution months up to the delivery.
    pub continuous_months: u32,
}

/// The allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaternityAllowance {
    /// Leave days paid.
    pub leave_days: u32,
    /// The amount, half-up to the fen.
    pub amount: Fen,
}

/// Computes the allowance, or refuses it naming the unmet condition.
pub fn maternity_allowance(
    params: &Params,
    case: MaternityCase,
) -> Result<MaternityAllowance, EngineError> {
    let maternity = params
        .maternity
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "maternity",
        })?;
    if case.employer_average_wage.is_negative() {
        return Err(EngineError::Negative {
            what: "the employer's average wage",
        });
    }
    if case.babies > BABIES_MAX {
        return Err(EngineError::NotQualified(format!(
            "{} babies is more than {BABIES_MAX}",
            case.babies
        )));
    }
    if case.continuous_months < maternity.qualifying_months {
        return Err(EngineError::NotQualified(format!(
            "{} continuous contribution months, {} required",
            case.continuous_months, maternity.qualifying_months
        )));
    }
    let extra = match case.delivery {
        DeliveryType::Normal | DeliveryType::Difficult => {
            case.babies.saturating_sub(1) * maternity.extra_days_per_additional_baby
        }
        DeliveryType::MiscarriageUnder4Months | DeliveryType::MiscarriageFrom4Months => 0,
    };
    let leave_days = maternity.leave_days(case.delivery) + extra;
    let amount = Fen(i64::try_from(round_half_up(
        i128::from(case.employer_average_wage.0) * i128::from(leave_days),
        i128::from(maternity.days_per_month),
    ))
    .expect("an allowance within the fen range"));
    Ok(MaternityAllowance { leave_days, amount })
}
