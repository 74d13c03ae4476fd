//! Grants (§5): a closed consent object for one subject, one grantee and one purpose, checked
//! against the rules of §5.5 when it is made, and its lifecycle (§5.6) as pure transitions that
//! refuse illegal steps.

use std::fmt;

use chrono::NaiveDate;

use crate::classification::{builtin, ItemCode, ItemSet, Level, ValueContext};
use crate::error::PrivacyError;
use crate::limits::{FACTOR_AGE_MAX_MS, LIMITED_USES_MIN};
use crate::proxy::{self, ProxyAction, ProxyFacts};
use crate::purpose::{Level3Policy, OutputForm, Purpose, ValidityCap};
use crate::time::{Millis, DAY_MS};

/// How many uses a grant allows (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 一次授权一次查询: exactly one use.
    Once,
    /// 一次授权有限次查询: n uses, 2 ≤ n ≤ the purpose's cap.
    Limited(u32),
    /// 一次授权多次查询: any number of uses within validity, under a daily cap.
    Multi,
}

impl Mode {
    /// The uses the mode allows; None for MULTI.
    pub fn uses_total(self) -> Option<u32> {
        match self {
            Mode::Once => Some(1),
            Mode::Limited(n) => Some(n),
            Mode::Multi => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Once => f.write_str("ONCE"),
            Mode::Limited(n) => write!(f, "LIMITED({n})"),
            Mode::Multi => f.write_str("MULTI"),
        }
    }
}

/// Who receives the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grantee {
    /// A registered organisation (insurer, bank, TPA), by its registration id.
    Organisation(String),
    /// A person (P06 delegation), by `psn_no`.
    Person(String),
}

/// Who gave the consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantor {
    /// The subject themself.
    Subject,
    /// A proxy acting for the subject (§5.7); checked by [`proxy::may_act`].
    Proxy(ProxyFacts),
}

/// Which data the grant covers: a period of event dates or one bound event (一案一授权).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataScope {
    /// Events dated from `from` to `to`, both included.
    Period {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// One `mdtrt_id` or `setl_id`.
    Event(String),
}

impl DataScope {
    /// Whether a requested scope lies inside this one: a sub-period, or the same event.
    pub fn covers(&self, asked: &DataScope) -> bool {
        match (self, asked) {
            (DataScope::Period { from, to }, DataScope::Period { from: f, to: t }) => {
                from <= f && f <= t && t <= to
            }
            (DataScope::Event(bound), DataScope::Event(asked)) => bound == asked,
            _ => false,
        }
    }
}

/// An authentication factor (§6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactorKind {
    /// 医保电子凭证.
    EVoucher,
    /// SMS one-time code.
    Sms,
    /// 实人认证 (face + liveness).
    Face,
}

impl FactorKind {
    /// The code used in the log.
    pub fn code(self) -> &'static str {
        match self {
            FactorKind::EVoucher => "e_voucher",
            FactorKind::Sms => "sms",
            FactorKind::Face => "face",
        }
    }
}

/// One factor check behind a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorUse {
    /// The factor.
    pub kind: FactorKind,
    /// When the provider verified it.
    pub verified_at: Millis,
    /// The provider's reference (`authNo`, the e-voucher decode id, the OTP challenge id).
    pub evidence_ref: String,
}

/// What factors a consent needs, by the grant's level (§6.4 assurance policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorPolicy {
    /// L1: any one factor.
    Any,
    /// L2: the e-voucher or a face check (SMS alone is not enough).
    EVoucherOrFace,
    /// L3: a face check, or the e-voucher and an SMS code.
    FaceOrEVoucherAndSms,
}

impl FactorPolicy {
    /// The policy for a grant of this level.
    pub fn for_level(level: Level) -> FactorPolicy {
        match level {
            Level::L1 => FactorPolicy::Any,
            Level::L2 => FactorPolicy::EVoucherOrFace,
            Level::L3 => FactorPolicy::FaceOrEVoucherAndSms,
        }
    }

    /// Whether these factors meet the policy.
    pub fn met_by(self, factors: &[FactorUse]) -> bool {
        let has = |kind| factors.iter().any(|factor| factor.kind == kind);
        match self {
            FactorPolicy::Any => !factors.is_empty(),
            FactorPolicy::EVoucherOrFace => has(FactorKind::EVoucher) || has(FactorKind::Face),
            FactorPolicy::FaceOrEVoucherAndSms => {
                has(FactorKind::Face) || (has(FactorKind::EVoucher) && has(FactorKind::Sms))
            }
        }
    }
}

impl fmt::Display for FactorPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FactorPolicy::Any => "any factor",
            FactorPolicy::EVoucherOrFace => "the e-voucher or a face check",
            FactorPolicy::FaceOrEVoucherAndSms => "a face check, or the e-voucher and an SMS code",
        })
    }
}

/// The notice the person saw (Art. 17/23/30), by version and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The consent text's version id.
    pub text_version: String,
    /// SM3 of the exact text shown, computed by the caller.
    pub text_digest: [u8; 32],
    /// The retention the grantee promised, as shown.
    pub retention: String,
}

/// Everything a new grant is made of, as the consent screen produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantDraft {
    /// The store's id for the grant.
    pub grant_id: String,
    /// The subject's `psn_no` (for P07, the institution code).
    pub subject: String,
    /// The subject's age in whole years when consenting, if a person (§4.1 minors rule).
    pub subject_age_years: Option<u32>,
    /// Who consented.
    pub grantor: Grantor,
    /// Who receives.
    pub grantee: Grantee,
    /// The grantee's product (an insurance product code), if any.
    pub product_id: String,
    /// The registered purpose.
    pub purpose: Purpose,
    /// The items granted.
    pub items: ItemSet,
    /// The items the person confirmed one by one (every L2/L3 item must be here).
    pub confirmed_items: ItemSet,
    /// Whether level-3 items were confirmed on their own screen (R7).
    pub separate_level3_consent: bool,
    /// Which data.
    pub scope: DataScope,
    /// The output form.
    pub output_form: OutputForm,
    /// The mode.
    pub mode: Mode,
    /// Start of validity.
    pub not_before: Millis,
    /// End of validity (exclusive).
    pub not_after: Millis,
    /// End of the insurance policy period (P03, P04).
    pub policy_end: Option<Millis>,
    /// The notice shown.
    pub notice: Notice,
    /// The factors the consenting person (subject or proxy) passed.
    pub factors: Vec<FactorUse>,
    /// When the person confirmed.
    pub consented_at: Millis,
}

/// Where a grant is in its lifecycle (§5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    /// Usable.
    Active,
    /// All uses consumed (terminal).
    Exhausted,
    /// Past `not_after` (terminal).
    Expired,
    /// Revoked by the subject, a proxy or the bureau (terminal).
    Revoked,
    /// The grantee is suspended; can be reinstated.
    Suspended,
}

impl GrantStatus {
    /// The code stored and logged.
    pub fn code(self) -> &'static str {
        match self {
            GrantStatus::Active => "ACTIVE",
            GrantStatus::Exhausted => "EXHAUSTED",
            GrantStatus::Expired => "EXPIRED",
            GrantStatus::Revoked => "REVOKED",
            GrantStatus::Suspended => "SUSPENDED",
        }
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A grant whose terms passed the rules of §5.5. Only [`create_grant`] and [`Grant::restore`]
/// make one; the lifecycle methods return a new value and leave this one unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    terms: GrantDraft,
    level: Level,
    status: GrantStatus,
    uses_left: Option<u32>,
    uses_count: u64,
}

/// Checks a draft against the catalogue and the rules of §5.5 and §6.4 and makes an ACTIVE
/// grant. Refusals in this order: grantee kind, items (unknown, none, outside the purpose),
/// output form, mode, scope, validity, level-3 rules, per-item confirmation, factors, proxy.
pub fn create_grant(draft: GrantDraft) -> Result<Grant, PrivacyError> {
    let classification = builtin();
    let rule = draft.purpose.rule();
    let purpose = draft.purpose;

    let is_person = matches!(draft.grantee, Grantee::Person(_));
    if is_person != rule.grantee_is_person {
        return Err(PrivacyError::GranteeKindMismatch {
            purpose,
            grantee_kind: if is_person {
                "a person"
            } else {
                "an organisation"
            },
        });
    }

    for code in draft.items.iter() {
        classification.require(code)?;
    }
    if draft.items.is_empty() && !rule.max_items.is_empty() {
        return Err(PrivacyError::NoItems);
    }
    let outside = draft.items.difference(&rule.max_items);
    if !outside.is_empty() {
        return Err(PrivacyError::ScopeExceedsPurpose {
            purpose,
            items: outside,
        });
    }

    if !rule.output_forms.contains(&draft.output_form) {
        return Err(PrivacyError::OutputFormNotAllowed {
            purpose,
            form: draft.output_form,
        });
    }

    let mode_allowed = match draft.mode {
        Mode::Once => rule.once,
        Mode::Limited(n) => (LIMITED_USES_MIN..=rule.limited_max).contains(&n),
        Mode::Multi => rule.multi,
    };
    if !mode_allowed {
        return Err(PrivacyError::ModeNotAllowed {
            purpose,
            mode: draft.mode.to_string(),
        });
    }

    match &draft.scope {
        DataScope::Event(_) => {}
        DataScope::Period { .. } if draft.mode == Mode::Once && rule.once_needs_event => {
            return Err(PrivacyError::EventRequired { purpose });
        }
        DataScope::Period { from, to } => {
            if from > to {
                return Err(PrivacyError::BadPeriod {
                    from: *from,
                    to: *to,
                    reason: "it ends before it starts",
                });
            }
            if let Some(days) = rule.lookback_days {
                let earliest = Millis::at_date(*from);
                if draft.consented_at.since(earliest) > days * DAY_MS {
                    return Err(PrivacyError::BadPeriod {
                        from: *from,
                        to: *to,
                        reason: "it reaches back further than the purpose allows",
                    });
                }
            }
        }
    }

    if draft.not_after <= draft.not_before || draft.not_before < draft.consented_at {
        return Err(PrivacyError::EmptyValidity);
    }
    let asked_ms = draft.not_after.since(draft.not_before);
    let max_ms = match rule.validity {
        ValidityCap::Fixed(ms) => ms,
        ValidityCap::PolicyEndPlus(tail) => {
            let end = draft
                .policy_end
                .ok_or(PrivacyError::PolicyEndRequired { purpose })?;
            end.plus(tail).since(draft.not_before)
        }
    };
    if asked_ms > max_ms {
        return Err(PrivacyError::ValidityTooLong {
            purpose,
            asked_ms,
            max_ms,
        });
    }

    // At consent there are no record values yet: levels are the items' own, raised by the
    // minors floor. Value escalation happens per call (§4.3 placeholders).
    let context = ValueContext {
        subject_age_years: draft.subject_age_years,
        ..ValueContext::default()
    };
    let level_of = |code: ItemCode| classification.level_of(code, &context);
    let level3: ItemSet = draft
        .items
        .iter()
        .filter(|&code| level_of(code) == Level::L3)
        .collect();
    if !level3.is_empty() {
        let form_allows = matches!(
            draft.output_form,
            OutputForm::Derived | OutputForm::Computed
        );
        let policy_allows = rule.level3 != Level3Policy::Never;
        // R7: L3 only through derived or computed outputs; P06 delegates the person's own
        // rights, so its output form is not a disclosure to an organisation.
        if !policy_allows || (!form_allows && rule.level3 != Level3Policy::IfSubjectTicks) {
            return Err(PrivacyError::Level3NotAllowed {
                purpose,
                items: level3,
            });
        }
    }
    let sensitive: ItemSet = draft
        .items
        .iter()
        .filter(|&code| level_of(code) >= Level::L2)
        .collect();
    let unconfirmed = sensitive.difference(&draft.confirmed_items);
    if !unconfirmed.is_empty() {
        return Err(PrivacyError::ItemsNotConfirmed { items: unconfirmed });
    }
    if !level3.is_empty() && !draft.separate_level3_consent {
        return Err(PrivacyError::SeparateConsentRequired);
    }

    let level = classification.record_level(&draft.items, &context);
    for factor in &draft.factors {
        let age = draft.consented_at.since(factor.verified_at);
        if !(0..=FACTOR_AGE_MAX_MS).contains(&age) {
            return Err(PrivacyError::StaleFactor {
                factor: factor.kind.code(),
                verified_at_ms: factor.verified_at.0,
            });
        }
    }
    let needed = FactorPolicy::for_level(level);
    if !needed.met_by(&draft.factors) {
        return Err(PrivacyError::FactorRequired { level, needed });
    }

    if let Grantor::Proxy(facts) = &draft.grantor {
        proxy::may_act(
            facts,
            &ProxyAction::Grant {
                items: draft.items.clone(),
                level,
            },
            draft.consented_at,
        )?;
    }

    let uses_left = draft.mode.uses_total();
    Ok(Grant {
        terms: draft,
        level,
        status: GrantStatus::Active,
        uses_left,
        uses_count: 0,
    })
}

impl Grant {
    /// Rebuilds a stored grant: the terms are checked again (against their own consent time, so
    /// the result does not depend on today) and the stored state must fit them.
    pub fn restore(
        terms: GrantDraft,
        status: GrantStatus,
        uses_left: Option<u32>,
        uses_count: u64,
    ) -> Result<Grant, PrivacyError> {
        let grant = create_grant(terms)?;
        let total = grant.terms.mode.uses_total();
        let consistent = match (total, uses_left) {
            (None, None) => status != GrantStatus::Exhausted,
            (Some(total), Some(left)) => {
                left <= total
                    && u64::from(total - left) == uses_count
                    && (left == 0) == (status == GrantStatus::Exhausted)
            }
            _ => false,
        };
        if !consistent {
            return Err(PrivacyError::IllegalTransition {
                step: "restore",
                status,
            });
        }
        Ok(Grant {
            status,
            uses_left,
            uses_count,
            ..grant
        })
    }

    /// The terms as consented.
    pub fn terms(&self) -> &GrantDraft {
        &self.terms
    }

    /// The store's id.
    pub fn id(&self) -> &str {
        &self.terms.grant_id
    }

    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.terms.purpose
    }

    /// The grantee.
    pub fn grantee(&self) -> &Grantee {
        &self.terms.grantee
    }

    /// The items granted.
    pub fn items(&self) -> &ItemSet {
        &self.terms.items
    }

    /// The grant's level at consent (highest item, minors floor).
    pub fn level(&self) -> Level {
        self.level
    }

    /// The stored status (see [`Grant::status_at`] for the effective one).
    pub fn status(&self) -> GrantStatus {
        self.status
    }

    /// The status at `now`: an ACTIVE or SUSPENDED grant past `not_after` reads as EXPIRED even
    /// before the expiry job has written it.
    pub fn status_at(&self, now: Millis) -> GrantStatus {
        match self.status {
            GrantStatus::Active | GrantStatus::Suspended if now >= self.terms.not_after => {
                GrantStatus::Expired
            }
            status => status,
        }
    }

    /// Uses left; None for MULTI.
    pub fn uses_left(&self) -> Option<u32> {
        self.uses_left
    }

    /// Uses consumed so far.
    pub fn uses_count(&self) -> u64 {
        self.uses_count
    }

    /// Whether `now` is inside `[not_before, not_after)`.
    pub fn is_within_validity(&self, now: Millis) -> bool {
        self.terms.not_before <= now && now < self.terms.not_after
    }

    fn illegal(&self, step: &'static str) -> PrivacyError {
        PrivacyError::IllegalTransition {
            step,
            status: self.status,
        }
    }

    /// One use (一次查询): ACTIVE, inside validity, uses left; the last use makes it EXHAUSTED.
    pub fn consume(&self, now: Millis) -> Result<Grant, PrivacyError> {
        if self.status != GrantStatus::Active {
            return Err(self.illegal("use"));
        }
        if !self.is_within_validity(now) {
            return Err(PrivacyError::OutsideValidity { at_ms: now.0 });
        }
        let uses_left = match self.uses_left {
            None => None,
            Some(0) => unreachable!("an ACTIVE counted grant has uses left"),
            Some(left) => Some(left - 1),
        };
        let status = if uses_left == Some(0) {
            GrantStatus::Exhausted
        } else {
            GrantStatus::Active
        };
        let next = Grant {
            status,
            uses_left,
            uses_count: self.uses_count + 1,
            ..self.clone()
        };
        Ok(next)
    }

    /// Revocation by the subject, a proxy in scope or the bureau (R5): from ACTIVE or SUSPENDED.
    pub fn revoke(&self) -> Result<Grant, PrivacyError> {
        match self.status {
            GrantStatus::Active | GrantStatus::Suspended => Ok(Grant {
                status: GrantStatus::Revoked,
                ..self.clone()
            }),
            _ => Err(self.illegal("revoke")),
        }
    }

    /// Expiry at or after `not_after`, from ACTIVE or SUSPENDED.
    pub fn expire(&self, now: Millis) -> Result<Grant, PrivacyError> {
        match self.status {
            GrantStatus::Active | GrantStatus::Suspended if now >= self.terms.not_after => {
                Ok(Grant {
                    status: GrantStatus::Expired,
                    ..self.clone()
                })
            }
            GrantStatus::Active | GrantStatus::Suspended => Err(PrivacyError::NotYetExpired {
                not_after_ms: self.terms.not_after.0,
            }),
            _ => Err(self.illegal("expire")),
        }
    }

    /// Suspension with the grantee (R8): ACTIVE only.
    pub fn suspend(&self) -> Result<Grant, PrivacyError> {
        match self.status {
            GrantStatus::Active => Ok(Grant {
                status: GrantStatus::Suspended,
                ..self.clone()
            }),
            _ => Err(self.illegal("suspend")),
        }
    }

    /// Reinstatement after a suspension, while still valid.
    pub fn reinstate(&self, now: Millis) -> Result<Grant, PrivacyError> {
        if self.status != GrantStatus::Suspended {
            return Err(self.illegal("reinstate"));
        }
        if now >= self.terms.not_after {
            return Err(PrivacyError::OutsideValidity { at_ms: now.0 });
        }
        Ok(Grant {
            status: GrantStatus::Active,
            ..self.clone()
        })
    }

    /// Narrowing (R6): fewer items and/or an earlier end; anything wider is refused.
    pub fn narrow(&self, items: &ItemSet, not_after: Millis) -> Result<Grant, PrivacyError> {
        if !matches!(self.status, GrantStatus::Active | GrantStatus::Suspended) {
            return Err(self.illegal("narrow"));
        }
        if !items.is_subset(&self.terms.items) {
            return Err(PrivacyError::Widening { what: "items" });
        }
        if items.is_empty() {
            return Err(PrivacyError::NoItems);
        }
        if not_after > self.terms.not_after {
            return Err(PrivacyError::Widening { what: "validity" });
        }
        if not_after <= self.terms.not_before {
            return Err(PrivacyError::EmptyValidity);
        }
        let mut terms = self.terms.clone();
        terms.items = items.clone();
        terms.confirmed_items = terms.confirmed_items.intersection(items);
        terms.not_after = not_after;
        Ok(Grant {
            terms,
            ..self.clone()
        })
    }
}
