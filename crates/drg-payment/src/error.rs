//! The payment engine's one error type: bad input or configuration, named by field and reason.

/// Why a payment computation refused its input. Nothing is computed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// A field of one case is out of range.
    #[error("case {case_id}: field `{field}` {reason}")]
    InvalidCase {
        /// The case's id.
        case_id: u64,
        /// The offending field.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Two cases carry the same id (ids rank the special-case review and must be unique).
    #[error("case {case_id}: field `id` appears more than once")]
    DuplicateCaseId {
        /// The repeated id.
        case_id: u64,
    },
    /// A field of the regional configuration is out of range or inconsistent.
    #[error("configuration field `{field}` {reason}")]
    InvalidConfig {
        /// The offending field (dotted path in the regional file).
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// The history has no usable case, so no mean cost (and no weight) exists.
    #[error("history: no case with a positive cost to learn weights or scores from")]
    EmptyHistory,
    /// Too many cases or hospitals for one computation.
    #[error("field `{field}` has {count} entries, more than the limit {max}")]
    TooMany {
        /// What is counted.
        field: &'static str,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A total is too large to compute with exactly.
    #[error("field `{field}`: {reason}")]
    TooLarge {
        /// What is too large.
        field: &'static str,
        /// By how much.
        reason: String,
    },
    /// A budget is to be shared out but no case earned a point.
    #[error("field `budget_fen`: {budget_fen} fen to share but the year has no points")]
    NoPoints {
        /// The budget that could not be shared.
        budget_fen: i64,
    },
}

/// Shorthand for configuration errors.
pub(crate) fn config_error(field: impl Into<String>, reason: impl Into<String>) -> PaymentError {
    PaymentError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}
