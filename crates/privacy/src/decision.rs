//! The decision on one third-party data call (§6.2), a pure function of the request, the grant
//! found by its token (if any) and the context the store read. The store consumes the use and
//! writes the log leaf in the same transaction (§6.3); a retried request id is answered from the
//! stored outcome by the caller, so the decision itself only has to be deterministic.

use std::fmt;

use crate::classification::{builtin, ItemSet, Level};
use crate::grant::{DataScope, Grant, GrantStatus, Grantee, Mode};
use crate::limits::{
    GRANTEE_CALLS_PER_SECOND_MAX, MULTI_USES_PER_DAY_MAX, REQUEST_SKEW_MAX_MS,
    SUBJECT_USES_PER_DAY_MAX,
};
use crate::purpose::{OutputForm, Purpose};
use crate::time::Millis;

/// One data call, as the gateway verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The grantee's request id (idempotency key).
    pub request_id: String,
    /// The grantee whose key signed the request.
    pub grantee: String,
    /// The purpose the endpoint serves (`identity-checks` is P01, `claims:results` P03 …).
    pub endpoint_purpose: Purpose,
    /// The items asked for.
    pub items: ItemSet,
    /// The data asked for: a period or one event.
    pub scope: DataScope,
    /// The form asked for.
    pub output_form: OutputForm,
    /// The request's signed timestamp.
    pub timestamp: Millis,
}

/// The grantee's registration state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranteeState {
    /// The signature verified under a key that is registered and not revoked.
    pub signature_valid: bool,
    /// Registered and not suspended.
    pub active: bool,
    /// Purposes approved for this grantee (with a PIIA).
    pub purposes_enabled: Vec<Purpose>,
}

/// The subject's state, as far as outward flows care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubjectState {
    /// A legal hold freezes outward flows.
    pub legal_hold: bool,
    /// Deceased (no purpose in the catalogue allows calls then).
    pub deceased: bool,
    /// The subject paused all third-party sharing in the safe box (§7 manage); resumable.
    pub sharing_paused: bool,
}

/// Counters the store read for the rate limits of §6.2 step 5, before this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Uses of this grant today.
    pub grant_uses_today: u32,
    /// Calls of this grantee in the current second.
    pub grantee_calls_this_second: u32,
    /// Uses of this subject's data today, across grantees.
    pub subject_uses_today: u32,
}

/// Everything besides the request and the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The server's clock, read once for the request.
    pub now: Millis,
    /// Whether the request's nonce was seen in the window (§6.1).
    pub nonce_seen: bool,
    /// The grantee.
    pub grantee: GranteeState,
    /// The subject.
    pub subject: SubjectState,
    /// Rate counters.
    pub counters: Counters,
}

/// How a permitted call consumes its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consume {
    /// ONCE / LIMITED: `uses_left − 1` in the call's transaction.
    Decrement,
    /// MULTI: count the use for the daily cap.
    CountOnly,
}

/// How the subject hears of the use (R10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// L1 only: the safe-box timeline, no message.
    TimelineOnly,
    /// L2 under MULTI: the monthly digest.
    Digest,
    /// L2 otherwise: a safe-box message per use.
    PerUse,
    /// L3: immediately.
    Immediate,
}

/// A permitted call and its obligations (§6.2 step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// The items released: exactly the request's, all inside the grant.
    pub items: ItemSet,
    /// The form of the answer.
    pub output_form: OutputForm,
    /// How the use is consumed.
    pub consume: Consume,
    /// How the subject is told.
    pub notify: Notify,
    /// Derived items (VS09, RX04, SP05, SP06) the grant lacks: values they govern are replaced
    /// by placeholders and fee lines folded into a restricted subtotal (§4.3).
    pub placeholders: ItemSet,
    /// The grant's level.
    pub level: Level,
}

/// The public error codes of §6.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyCode {
    /// Unknown, foreign, expired, revoked, suspended — deliberately one code (R11).
    GrantInvalid,
    /// Valid for this grantee but no uses left.
    GrantExhausted,
    /// Items, period or form outside the grant.
    ScopeDenied,
    /// A rate limit.
    RateLimited,
    /// The request's signature or key.
    SignatureInvalid,
    /// A stale timestamp or a reused nonce.
    Replay,
}

impl DenyCode {
    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyCode::GrantInvalid => "GRANT_INVALID",
            DenyCode::GrantExhausted => "GRANT_EXHAUSTED",
            DenyCode::ScopeDenied => "SCOPE_DENIED",
            DenyCode::RateLimited => "RATE_LIMITED",
            DenyCode::SignatureInvalid => "SIGNATURE_INVALID",
            DenyCode::Replay => "REPLAY",
        }
    }
}

impl fmt::Display for DenyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Uses of one MULTI grant per day.
    GrantPerDay,
    /// Calls of one grantee per second.
    GranteePerSecond,
    /// Uses of one subject's data per day.
    SubjectPerDay,
}

/// Why a call was refused, in full, for the log; [`DenyReason::code`] is what the grantee sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The signature did not verify under a valid key.
    SignatureInvalid,
    /// The timestamp is more than 300 s from the server's clock.
    StaleTimestamp,
    /// The nonce was seen in the window.
    NonceReused,
    /// The grantee is not registered or is suspended.
    GranteeInactive,
    /// The endpoint's purpose is not approved for this grantee.
    PurposeNotEnabled,
    /// No grant has this token.
    GrantNotFound,
    /// The grant belongs to another grantee.
    ForeignGrant,
    /// The grant's purpose is not the endpoint's.
    WrongPurpose,
    /// The grant is revoked.
    Revoked,
    /// The grant is past `not_after`.
    Expired,
    /// The grant is suspended with its grantee.
    Suspended,
    /// Before `not_before`.
    NotYetValid,
    /// No uses left.
    Exhausted,
    /// The subject's data may not leave now (legal hold, deceased).
    SubjectUnavailable,
    /// The subject paused third-party sharing.
    SharingPaused,
    /// Items outside the grant (listed).
    ItemsOutOfScope(ItemSet),
    /// The period or event is outside the grant's.
    ScopeOutsideGrant,
    /// A form above the grant's rung on the output ladder.
    OutputFormNotAllowed(OutputForm),
    /// A rate limit was reached.
    RateLimited(RateLimit),
}

impl DenyReason {
    /// The public code (§6.5). Everything up to the grant lookup, and every unusable state but
    /// exhaustion, is `GRANT_INVALID` so the answer says nothing about whether a grant or a
    /// person exists (R11).
    pub fn code(&self) -> DenyCode {
        match self {
            DenyReason::SignatureInvalid => DenyCode::SignatureInvalid,
            DenyReason::StaleTimestamp | DenyReason::NonceReused => DenyCode::Replay,
            DenyReason::GranteeInactive
            | DenyReason::PurposeNotEnabled
            | DenyReason::GrantNotFound
            | DenyReason::ForeignGrant
            | DenyReason::WrongPurpose
            | DenyReason::Revoked
            | DenyReason::Expired
            | DenyReason::Suspended
            | DenyReason::NotYetValid
            | DenyReason::SubjectUnavailable
            | DenyReason::SharingPaused => DenyCode::GrantInvalid,
            DenyReason::Exhausted => DenyCode::GrantExhausted,
            DenyReason::ItemsOutOfScope(_)
            | DenyReason::ScopeOutsideGrant
            | DenyReason::OutputFormNotAllowed(_) => DenyCode::ScopeDenied,
            DenyReason::RateLimited(_) => DenyCode::RateLimited,
        }
    }

    /// The message the grantee sees: fixed per code, except that SCOPE_DENIED names what was
    /// refused (R2). It never says which internal reason it was.
    pub fn public_message(&self) -> String {
        match self {
            DenyReason::ItemsOutOfScope(items) => format!("items {items} are not in the grant"),
            DenyReason::ScopeOutsideGrant => "the period or event is not in the grant".to_string(),
            DenyReason::OutputFormNotAllowed(form) => {
                format!("output form {form} is not allowed by the grant")
            }
            other => match other.code() {
                DenyCode::GrantInvalid => "the grant is not valid for this call".to_string(),
                DenyCode::GrantExhausted => "the grant has no uses left".to_string(),
                DenyCode::RateLimited => "too many calls; try later".to_string(),
                DenyCode::SignatureInvalid => "the request signature is not valid".to_string(),
                DenyCode::Replay => "the request is stale or its nonce was used".to_string(),
                DenyCode::ScopeDenied => unreachable!("scope reasons are handled above"),
            },
        }
    }
}

/// The outcome of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer, with obligations.
    Permit(Permit),
    /// Refuse, with the reason logged.
    Deny(DenyReason),
}

impl Decision {
    /// The grantee-facing message of a denial; None for a permit.
    pub fn deny_message(&self) -> Option<String> {
        match self {
            Decision::Permit(_) => None,
            Decision::Deny(reason) => {
                Some(format!("{}: {}", reason.code(), reason.public_message()))
            }
        }
    }
}

/// Decides one call (§6.2). Refusals in precedence order: signature, timestamp, nonce,
/// grantee, grant lookup and ownership, purpose, state, validity, subject, items, period or
/// event, output form, rate limits. Calls are made by organisations; a P06 delegation to a
/// person is checked by [`crate::proxy::may_act`] instead.
pub fn decide(request: &CallRequest, grant: Option<&Grant>, context: &CallContext) -> Decision {
    match check(request, grant, context) {
        Ok(permit) => {
            debug_assert!(grant.is_some_and(|g| permit.items.is_subset(g.items())));
            Decision::Permit(permit)
        }
        Err(reason) => Decision::Deny(reason),
    }
}

fn check(
    request: &CallRequest,
    grant: Option<&Grant>,
    context: &CallContext,
) -> Result<Permit, DenyReason> {
    let now = context.now;
    if !context.grantee.signature_valid {
        return Err(DenyReason::SignatureInvalid);
    }
    if request.timestamp.since(now).abs() > REQUEST_SKEW_MAX_MS {
        return Err(DenyReason::StaleTimestamp);
    }
    if context.nonce_seen {
        return Err(DenyReason::NonceReused);
    }
    if !context.grantee.active {
        return Err(DenyReason::GranteeInactive);
    }
    if !context
        .grantee
        .purposes_enabled
        .contains(&request.endpoint_purpose)
    {
        return Err(DenyReason::PurposeNotEnabled);
    }
    let grant = grant.ok_or(DenyReason::GrantNotFound)?;
    match grant.grantee() {
        Grantee::Organisation(id) if *id == request.grantee => {}
        _ => return Err(DenyReason::ForeignGrant),
    }
    if grant.purpose() != request.endpoint_purpose {
        return Err(DenyReason::WrongPurpose);
    }
    match grant.status_at(now) {
        GrantStatus::Active => {}
        GrantStatus::Revoked => return Err(DenyReason::Revoked),
        GrantStatus::Expired => return Err(DenyReason::Expired),
        GrantStatus::Suspended => return Err(DenyReason::Suspended),
        GrantStatus::Exhausted => return Err(DenyReason::Exhausted),
    }
    if !grant.is_within_validity(now) {
        return Err(DenyReason::NotYetValid);
    }
    if context.subject.legal_hold || context.subject.deceased {
        return Err(DenyReason::SubjectUnavailable);
    }
    if context.subject.sharing_paused {
        return Err(DenyReason::SharingPaused);
    }

    let outside = request.items.difference(grant.items());
    if !outside.is_empty() {
        return Err(DenyReason::ItemsOutOfScope(outside));
    }
    if !grant.terms().scope.covers(&request.scope) {
        return Err(DenyReason::ScopeOutsideGrant);
    }
    if request.output_form > grant.terms().output_form {
        return Err(DenyReason::OutputFormNotAllowed(request.output_form));
    }

    let mode = grant.terms().mode;
    if mode == Mode::Multi && context.counters.grant_uses_today >= MULTI_USES_PER_DAY_MAX {
        return Err(DenyReason::RateLimited(RateLimit::GrantPerDay));
    }
    if context.counters.grantee_calls_this_second >= GRANTEE_CALLS_PER_SECOND_MAX {
        return Err(DenyReason::RateLimited(RateLimit::GranteePerSecond));
    }
    if context.counters.subject_uses_today >= SUBJECT_USES_PER_DAY_MAX {
        return Err(DenyReason::RateLimited(RateLimit::SubjectPerDay));
    }

    let classification = builtin();
    let placeholders: ItemSet = request
        .items
        .iter()
        .flat_map(|code| {
            classification
                .possible_derived(code)
                .iter()
                .collect::<Vec<_>>()
        })
        .filter(|derived| !grant.items().contains(*derived))
        .collect();
    let level = grant.level();
    let notify = match (level, mode) {
        (Level::L3, _) => Notify::Immediate,
        (Level::L2, Mode::Multi) => Notify::Digest,
        (Level::L2, _) => Notify::PerUse,
        (Level::L1, _) => Notify::TimelineOnly,
    };
    Ok(Permit {
        items: request.items.clone(),
        output_form: request.output_form,
        consume: if mode == Mode::Multi {
            Consume::CountOnly
        } else {
            Consume::Decrement
        },
        notify,
        placeholders,
        level,
    })
}
