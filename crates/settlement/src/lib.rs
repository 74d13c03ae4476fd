//! The settlement engine (一站式结算): one pure function from a policy, a person's state, a visit,
//! classified fee lines and a date to a settlement — every `setlinfo` amount, `setldetail[]` by
//! fund code, a readable trace and the year-to-date delta — or a typed error.
//!
//! The contract is the project's settlement spec: step 1 classifies lines ([`classify_line`]),
//! step 2 runs the funds in order ([`settle`]). Both pre-settlement and settlement use it; the
//! offline settle file ([`settle_file`]) is a thin edge over it.

pub mod amounts;
mod basic;
pub mod classify;
pub mod engine;
pub mod input;
pub mod limits;
pub mod settle_file;
pub mod trace;

pub use amounts::{SetlAmounts, SetlSign, SetlUnit, SetlValue};
pub use classify::{
    classify_line, classify_line_with, FeeLine, FeeLineError, LineReason, LineSplit,
};
pub use engine::{settle, AccountDraws, SettleError, Settlement};
pub use input::{ChronicRecognition, FilingKind, Person, SettleInput, Visit, Ytd};
pub use trace::{
    AccountStep, BillTotals, LayerDetail, LayerKind, LayerStep, RatioSource, Skip, Trace,
};
