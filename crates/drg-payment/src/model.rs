//! The engine's inputs: hospitals, their levels, grouped inpatient cases, and their validation.

use std::collections::HashSet;

use crate::error::PaymentError;
use crate::limits;

/// A DRG code of four characters (e.g. `GZ13`), checked once when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrgCode([u8; 4]);

impl DrgCode {
    /// Parses a DRG code: an uppercase letter (the MDC), an uppercase letter or a digit, and two
    /// more characters that are uppercase letters or digits. `0000` (ungrouped) is refused: an
    /// ungrouped case has no DRG (`None`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        if bytes.len() != 4 {
            return Err(format!("`{text}` is not 4 characters"));
        }
        if !bytes[0].is_ascii_uppercase() {
            return Err(format!("`{text}` does not start with an MDC letter"));
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(format!("`{text}` has characters other than A-Z and 0-9"));
        }
        Ok(DrgCode([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("parsed from ASCII")
    }
}

impl std::fmt::Display for DrgCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hospital's level (医院等级), which sets its default coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HospitalLevel {
    /// 一级 (community and township hospitals).
    One,
    /// 二级 (county and district hospitals).
    Two,
    /// 三级 (city and provincial hospitals).
    Three,
}

impl HospitalLevel {
    /// All levels, lowest first.
    pub const ALL: [HospitalLevel; 3] =
        [HospitalLevel::One, HospitalLevel::Two, HospitalLevel::Three];

    /// 0, 1, 2 for levels one, two, three.
    pub fn idx(self) -> usize {
        match self {
            HospitalLevel::One => 0,
            HospitalLevel::Two => 1,
            HospitalLevel::Three => 2,
        }
    }

    /// The level as the number people use (1, 2, 3).
    pub fn number(self) -> u8 {
        self.idx() as u8 + 1
    }

    /// Parses 1, 2 or 3.
    pub fn from_number(number: i64) -> Option<Self> {
        match number {
            1 => Some(HospitalLevel::One),
            2 => Some(HospitalLevel::Two),
            3 => Some(HospitalLevel::Three),
            _ => None,
        }
    }
}

/// A hospital taking part in the regional budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hospital {
    /// The institution code (定点医药机构编码).
    pub code: String,
    /// Its level.
    pub level: HospitalLevel,
    /// Its own DRG coefficient (差异系数) in ppm, if the region sets one; otherwise the level's.
    pub coefficient_ppm: Option<i64>,
}

/// Index of a hospital in the slice of hospitals passed with the cases.
pub type HospitalIdx = u32;

/// One inpatient stay as the payment engines see it: already grouped (for DRG) and costed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InpatientCase {
    /// Unique case id (ranks the special-case review; must be unique within a computation).
    pub id: u64,
    /// The hospital (index into the hospitals slice).
    pub hospital: HospitalIdx,
    /// Month of discharge, 1 to 12 (decides the monthly provisional settlement).
    pub month: u8,
    /// The DRG the grouper gave; `None` when the case did not group (`0000`, QY, invalid).
    pub drg: Option<DrgCode>,
    /// Principal diagnosis (ICD-10 医保版), for DIP.
    pub principal_dx: String,
    /// Procedures (ICD-9-CM-3 医保版), order irrelevant for DIP.
    pub procedures: Vec<String>,
    /// Total cost of the stay (医疗总费用) in fen.
    pub cost_fen: i64,
    /// What the insured person paid of it (个人负担: deductible, co-payment, self-pay) in fen.
    pub insured_share_fen: i64,
    /// Length of stay in days.
    pub stay_days: u32,
}

fn invalid(case: &InpatientCase, field: &'static str, reason: String) -> PaymentError {
    PaymentError::InvalidCase {
        case_id: case.id,
        field,
        reason,
    }
}

/// Checks every case against the limits and the hospitals, in order of error precedence:
/// counts, then per case (in input order) hospital, month, cost, insured share, stay,
/// procedures, then unique ids.
pub fn validate_cases(cases: &[InpatientCase], hospitals: &[Hospital]) -> Result<(), PaymentError> {
    if hospitals.len() > limits::HOSPITALS_MAX {
        return Err(PaymentError::TooMany {
            field: "hospitals",
            count: hospitals.len(),
            max: limits::HOSPITALS_MAX,
        });
    }
    if cases.len() > limits::CASES_MAX {
        return Err(PaymentError::TooMany {
            field: "cases",
            count: cases.len(),
            max: limits::CASES_MAX,
        });
    }
    for case in cases {
        if case.hospital as usize >= hospitals.len() {
            return Err(invalid(
                case,
                "hospital",
                format!("{} is not a known hospital", case.hospital),
            ));
        }
        if !(1..=limits::MONTHS_PER_YEAR).contains(&case.month) {
            return Err(invalid(
                case,
                "month",
                format!("{} is not 1 to 12", case.month),
            ));
        }
        if !(0..=limits::CASE_COST_FEN_MAX).contains(&case.cost_fen) {
            return Err(invalid(
                case,
                "cost_fen",
                format!(
                    "{} is not 0 to {}",
                    case.cost_fen,
                    limits::CASE_COST_FEN_MAX
                ),
            ));
        }
        if !(0..=case.cost_fen).contains(&case.insured_share_fen) {
            return Err(invalid(
                case,
                "insured_share_fen",
                format!(
                    "{} is not 0 to the cost {}",
                    case.insured_share_fen, case.cost_fen
                ),
            ));
        }
        if case.stay_days > limits::STAY_DAYS_MAX {
            return Err(invalid(
                case,
                "stay_days",
                format!("{} is more than {}", case.stay_days, limits::STAY_DAYS_MAX),
            ));
        }
        if case.procedures.len() > limits::PROCEDURES_PER_CASE_MAX {
            return Err(invalid(
                case,
                "procedures",
                format!(
                    "{} procedures, more than {}",
                    case.procedures.len(),
                    limits::PROCEDURES_PER_CASE_MAX
                ),
            ));
        }
    }
    let mut seen = HashSet::with_capacity(cases.len());
    for case in cases {
        if !seen.insert(case.id) {
            return Err(PaymentError::DuplicateCaseId { case_id: case.id });
        }
    }
    Ok(())
}

/// Checks a ppm value against `0 < value ≤ max`, naming the field.
pub(crate) fn check_ppm(field: &str, value: i64, min: i64, max: i64) -> Result<(), PaymentError> {
    if value < min || value > max {
        return Err(crate::error::config_error(
            field,
            format!("{value} ppm is not {min} to {max}"),
        ));
    }
    Ok(())
}
