//! Policy as data: a region's benefit rules for one year (`Policy`, loaded from the TOML format
//! of `docs/POLICY.md`) and the catalogue of drugs, service items and consumables (`Catalogue`,
//! loaded from the CSV format of `docs/CATALOGUE.md`), plus a deterministic demo catalogue.
//!
//! Pure: every loader takes text and a file name (for messages) and returns values or a typed
//! error naming the file, the field and the reason. Nothing here reads files or the clock.

pub mod builtin;
pub mod catalogue;
pub mod demo;
mod format;
pub mod model;

pub use builtin::{builtin_policies, builtin_policy};
pub use catalogue::{
    parse_catalogue, write_catalogue_csv, Catalogue, CatalogueEntry, CatalogueError,
};
pub use demo::demo_catalogue;
pub use format::parse_policy;
pub use model::*;

/// The policy format guide, compiled as a doctest so its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/POLICY.md")]
pub struct PolicyGuide;

/// Why a policy file was refused: the file, the field path inside it and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not valid TOML of the policy shape (wrong type, unknown or missing key).
    #[error("{file}: {reason}")]
    Syntax {
        /// The file name given by the caller.
        file: String,
        /// The TOML parser's message, with line and column.
        reason: String,
    },
    /// A value is well-formed TOML but not a valid policy value.
    #[error("{file}: {field}: {reason}")]
    Invalid {
        /// The file name given by the caller.
        file: String,
        /// The dotted path of the field (`schemes[1].inpatient.annual_cap`).
        field: String,
        /// Why the value was refused.
        reason: String,
    },
}
