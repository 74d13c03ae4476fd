//! Hospital payment for inpatient care under a regional budget: DRG points (点数法) and DIP
//! scores (按病种分值付费), learned from a region's history, shared out exactly to the fen.
//!
//! Pure: values in, values out. The CLI reads files and the grouper; this crate only computes.
//! Money is `i64` fen; weights, coefficients and ratios are ppm integers; points are 1/10000
//! point. One rounding rule ([`exact::div_round_half_up`]) and one sharing rule
//! ([`exact::share_largest_remainder`]) decide every last unit.

pub mod dip;
pub mod drg;
pub mod error;
pub mod exact;
pub mod limits;
pub mod model;
pub mod region;
pub mod settle;
pub mod synth;
pub mod weights;

pub use error::PaymentError;
pub use model::{DrgCode, Hospital, HospitalIdx, HospitalLevel, InpatientCase};

/// The guide `docs/DRG-PAYMENT.md`, included so that its example is compiled and run as a test.
#[doc = include_str!("../../../docs/DRG-PAYMENT.md")]
pub mod guide {}
