//! Enrollment (参保登记) and contributions (缴费): identity numbers, matching keys, and the rules
//! the registry applies. Pure: values in, decisions with their reasons out; no I/O, no clock.
//! Reference: `spec/enrollment.md`.

pub mod category;
pub mod id;

pub use category::{Category, CATEGORIES};
pub use id::{age_at, canonical_certno, normalise, normalise_name, CitizenId, IdError};
