//! The engine's one error type: bad input or a missing parameter, named in domain terms. A broken
//! invariant (payer lines not adding up) is a bug and asserts instead.

use chrono::NaiveDate;

/// Why a rule could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The parameter set has no section the rule needs.
    #[error("parameter set {params} has no [{section}] section")]
    MissingSection {
        /// The set's id (`admdvs-year`).
        params: String,
        /// The section.
        section: &'static str,
    },
    /// An adult must choose a tier and did not, or chose one that does not exist.
    #[error("parameter set {params} has no tier {tier:?}")]
    UnknownTier {
        /// The set's id.
        params: String,
        /// The tier asked for (empty when none was chosen among several).
        tier: String,
    },
    /// A negative wage, amount or count.
    #[error("{what} must not be negative")]
    Negative {
        /// What was negative.
        what: &'static str,
    },
    /// A payment dated after the benefit year it pays for.
    #[error("a payment on {paid_on} cannot pay for {benefit_year}, which has ended")]
    PaidAfterYear {
        /// The payment date.
        paid_on: NaiveDate,
        /// The benefit year.
        benefit_year: i32,
    },
    /// A date before another that it must follow.
    #[error("{later} ({later_date}) is before {earlier} ({earlier_date})")]
    DateOrder {
        /// The name of the earlier date.
        earlier: &'static str,
        /// Its value.
        earlier_date: NaiveDate,
        /// The name of the later date.
        later: &'static str,
        /// Its value.
        later_date: NaiveDate,
    },
    /// A refund the rules do not allow.
    #[error("refund refused: {0}")]
    RefundRefused(&'static str),
    /// No rule of the region's order decides between two duplicate relations: a case for review.
    #[error("no duplicate rule decides between {0} and {1}; the case goes to review")]
    DuplicateUndecided(String, String),
    /// The person does not meet a benefit's qualifying condition.
    #[error("not qualified: {0}")]
    NotQualified(String),
    /// A personal-account payout the region's rules do not allow.
    #[error("{reason} (rule {rule})")]
    PayoutRefused {
        /// The parameter that refused (`personal_account.withdraw_on_abroad` …).
        rule: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// A month that is not 1–12, or a month order that is wrong.
    #[error("{0}")]
    BadMonth(String),
}
