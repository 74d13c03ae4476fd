//! Personal-data protection, pure (spec data-authorization.md): the classification of
//! medical-insurance personal data as data (§4), consent grants and their lifecycle (§5), the
//! decision on each third-party data call (§6), derived answers (§8), proxies (§5.7) and the
//! staff access model with masking and break-glass (§11).
//!
//! Architecture invariant: no I/O, no clock, no randomness, no cryptography. Times come in as
//! [`Millis`] (UTC milliseconds, what the store keeps), digests as `[u8; 32]` computed by the
//! caller; the store consumes uses and writes the log in one transaction around [`decide`].

pub mod classification;
pub mod decision;
pub mod derived;
pub mod error;
pub mod grant;
pub mod limits;
pub mod proxy;
pub mod purpose;
pub mod staff;
pub mod time;

pub use classification::{
    builtin, Category, Classification, Item, ItemCode, ItemSet, Level, ValueContext,
};
pub use decision::{decide, CallContext, CallRequest, Decision, DenyCode, DenyReason, Permit};
pub use error::PrivacyError;
pub use grant::{create_grant, Grant, GrantDraft, GrantStatus, Mode};
pub use purpose::{OutputForm, Purpose};
pub use time::Millis;
