//! The engine's one error type: bad classification data, a grant the rules refuse, an illegal
//! lifecycle step, a proxy acting beyond its scope, a separation-of-duties conflict. Call and
//! staff-read decisions are values ([`crate::Decision`], [`crate::staff::StaffDecision`]), not
//! errors: a denial is a normal outcome that is logged.

use crate::classification::{ItemCode, ItemSet, Level};
use crate::grant::{FactorPolicy, GrantStatus};
use crate::purpose::{OutputForm, Purpose};
use crate::time::Span;

/// Why classification data, a grant, a lifecycle step or a proxy action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// The classification file is not valid TOML of the expected shape.
    #[error("classification data: {0}")]
    ClassificationSyntax(String),
    /// The classification file breaks a rule of §4 (counts, unique codes, references).
    #[error("classification data: {0}")]
    ClassificationInvalid(String),
    /// An item code that is not two capital letters and two digits.
    #[error("item code {0:?} is not two capital letters and two digits")]
    BadItemCode(String),
    /// A well-formed item code that the classification does not hold.
    #[error("item {0} is not in the classification")]
    UnknownItem(ItemCode),
    /// A purpose code outside the catalogue of §5.2.
    #[error("purpose {0:?} is not in the catalogue (P01 to P07)")]
    UnknownPurpose(String),

    /// A grant must name at least one item (except P07, which carries none).
    #[error("the grant names no item")]
    NoItems,
    /// Items outside the purpose's maximum set (R2).
    #[error("items {items} are outside what purpose {purpose} may carry")]
    ScopeExceedsPurpose {
        /// The purpose.
        purpose: Purpose,
        /// The items refused.
        items: ItemSet,
    },
    /// A grantee of the wrong kind: P06 goes to a person, every other purpose to an organisation.
    #[error("purpose {purpose} cannot be granted to {grantee_kind}")]
    GranteeKindMismatch {
        /// The purpose.
        purpose: Purpose,
        /// "an organisation" or "a person".
        grantee_kind: &'static str,
    },
    /// An output form the purpose does not allow (R9).
    #[error("purpose {purpose} does not allow output form {form}")]
    OutputFormNotAllowed {
        /// The purpose.
        purpose: Purpose,
        /// The form asked for.
        form: OutputForm,
    },
    /// A mode the purpose does not allow, or LIMITED(n) with n out of range (§5.4).
    #[error("purpose {purpose} does not allow mode {mode}")]
    ModeNotAllowed {
        /// The purpose.
        purpose: Purpose,
        /// The mode, as text ("LIMITED(13)").
        mode: String,
    },
    /// A purpose or mode that needs one bound event (一案一授权) got a period.
    #[error("purpose {purpose} in this mode must be bound to one visit or settlement")]
    EventRequired {
        /// The purpose.
        purpose: Purpose,
    },
    /// A data period that ends before it starts, or reaches back further than the purpose allows.
    #[error("data period {from} to {to} is not allowed: {reason}")]
    BadPeriod {
        /// First day.
        from: chrono::NaiveDate,
        /// Last day.
        to: chrono::NaiveDate,
        /// Why.
        reason: &'static str,
    },
    /// A validity window that is empty or longer than the purpose's cap (R3).
    #[error("validity of {} exceeds the {} purpose {purpose} allows", Span(*asked_ms), Span(*max_ms))]
    ValidityTooLong {
        /// The purpose.
        purpose: Purpose,
        /// not_after − not_before asked for.
        asked_ms: i64,
        /// The cap.
        max_ms: i64,
    },
    /// not_after is not after not_before, or the grant would start in the past.
    #[error("validity window is empty or starts before the consent was given")]
    EmptyValidity,
    /// Direct-claim grants (P03, P04) need the policy period's end to cap their validity.
    #[error("purpose {purpose} needs the policy period's end")]
    PolicyEndRequired {
        /// The purpose.
        purpose: Purpose,
    },
    /// L3 items in a purpose whose output form is neither derived nor computed (R7).
    #[error("items {items} are level 3 and purpose {purpose} cannot carry level-3 items")]
    Level3NotAllowed {
        /// The purpose.
        purpose: Purpose,
        /// The L3 items.
        items: ItemSet,
    },
    /// A level-2 or level-3 item the person did not confirm one by one (Art. 29, §5.3).
    #[error("items {items} are sensitive and were not individually confirmed")]
    ItemsNotConfirmed {
        /// The unconfirmed items.
        items: ItemSet,
    },
    /// L3 items without the separate consent screen (R7).
    #[error("level-3 items need their own consent screen")]
    SeparateConsentRequired,
    /// The authentication does not reach what the grant's level needs (§6.4, T9).
    #[error("a grant at level {level} needs {needed}")]
    FactorRequired {
        /// The grant's level.
        level: Level,
        /// What would do.
        needed: FactorPolicy,
    },
    /// A factor verified too long before the consent, or after it.
    #[error("the {factor} check was at {verified_at_ms}, not within the consent's window")]
    StaleFactor {
        /// The factor.
        factor: &'static str,
        /// When it was verified (UTC ms).
        verified_at_ms: i64,
    },

    /// A lifecycle step the grant's state does not allow (§5.6).
    #[error("cannot {step} a grant that is {status}")]
    IllegalTransition {
        /// The step ("use", "revoke", …).
        step: &'static str,
        /// The status it is in.
        status: GrantStatus,
    },
    /// A use or reinstatement of a grant outside its validity window.
    #[error("the grant is outside its validity window at {at_ms}")]
    OutsideValidity {
        /// The instant (UTC ms).
        at_ms: i64,
    },
    /// Expiry asked for before not_after.
    #[error("the grant does not expire before {not_after_ms}")]
    NotYetExpired {
        /// The grant's end (UTC ms).
        not_after_ms: i64,
    },
    /// A narrowing that adds items, period or validity (R6: widening needs a new grant).
    #[error("narrowing cannot widen the grant: {what}")]
    Widening {
        /// What would widen.
        what: &'static str,
    },

    /// A proxy acting beyond what its relation or delegation allows (§5.7, T7).
    #[error("proxy may not {action}: {reason}")]
    ProxyDenied {
        /// The action.
        action: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A person already has the most family-account members (§2.3: 5).
    #[error("a family account holds at most {max} members")]
    TooManyFamilyMembers {
        /// The cap.
        max: usize,
    },

    /// Two roles of different posts held together (§11.3 static).
    #[error("roles {a} and {b} may not be held by one person")]
    IncompatibleRoles {
        /// One role's code.
        a: &'static str,
        /// The other's.
        b: &'static str,
    },
    /// A case step by someone who did an earlier step, or out of order (§11.3 dynamic).
    #[error("{step} of this case refused: {reason}")]
    DutyConflict {
        /// The step.
        step: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Break-glass asked by a role that may not, or without a reason (§11.5).
    #[error("break-glass refused: {0}")]
    BreakGlassRefused(&'static str),

    /// A derived question that does not fit the value or is too fine (§8).
    #[error("derived answer refused: {0}")]
    BadQuestion(&'static str),
    /// An item the decision does not release was asked of the release functions.
    #[error("item {0} is not released by this decision")]
    NotReleased(ItemCode),
    /// A health-declaration question naming special-list codes (P02: never L3).
    #[error("question names special-list code {0}; a yes/no about it is itself level 3")]
    QuestionNamesSpecialCode(String),
}
