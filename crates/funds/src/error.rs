//! Errors of the funds engine; each names the field or the identity that failed.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FundsError {
    /// A setting of the region file's `[funds]` table is missing or wrong.
    #[error("funds.{field}: {reason}")]
    Config {
        /// The key.
        field: String,
        /// Why.
        reason: String,
    },
    /// An input does not hold together (a bug upstream, never bad user input).
    #[error("{0}")]
    Invariant(String),
    /// The payment engine refused its input.
    #[error("payment engine: {0}")]
    Payment(String),
}
