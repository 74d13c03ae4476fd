//! Enrollment (参保登记) and contributions (缴费): identity numbers, matching keys, and the rules
//! the registry applies. Pure: values in, decisions with their reasons out; no I/O, no clock.
//! Reference: `spec/enrollment.md`.

pub mod auto;
pub mod builtin;
pub mod calendar;
pub mod category;
pub mod chronic;
pub mod contribution;
pub mod coverage;
pub mod duplicate;
pub mod error;
pub mod fallback;
pub mod id;
pub mod maternity;
pub mod params;
pub mod personal_account;
pub mod retirement;
pub mod status;
pub mod waiting;

pub use builtin::{builtin_calendar, builtin_params};
pub use calendar::{HolidayCalendar, TransferDeadline};
pub use category::{Category, CATEGORIES};
pub use contribution::{
    assess_resident, employee_monthly, refund_resident, retiree_monthly_credit, EmployeeAssessment,
    ResidentAssessment,
};
pub use duplicate::{resolve_duplicate, DuplicateDecision};
pub use error::EngineError;
pub use fallback::{classify_certno, decide_fallback, FallbackDecision, IdUse, UnmatchedReason};
pub use id::{age_at, canonical_certno, normalise, normalise_name, CitizenId, IdError};
pub use maternity::{maternity_allowance, MaternityAllowance};
pub use params::{load, ParamSet, Params, ParamsError, Payer};
pub use retirement::{retirement_check, RetirementCheck, YearsLedger};
pub use status::{transition, Status, StatusEvent};
pub use waiting::{employee_gap, newborn_benefit, resident_benefit, BenefitPeriod, YearMonth};

/// The enrollment guide, compiled as a doctest so its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/ENROLLMENT.md")]
pub struct EnrollmentGuide;
