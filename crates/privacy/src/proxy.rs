//! Proxies and family accounts (§5.7): who may act for whom, and for what, as pure checks.
//! A family-account binding shows the code and pays, nothing more; anything else needs a P06
//! delegation the subject confirmed, a guardianship of a minor or a verified court order.

use chrono::{Datelike, NaiveDate};

use crate::classification::{ItemSet, Level};
use crate::error::PrivacyError;
use crate::limits::FAMILY_MEMBERS_MAX;
use crate::time::Millis;

/// Below this age the guardian's consent is the consent (PIPL Art. 31).
pub const GUARDIAN_CONSENT_BELOW_YEARS: u32 = 14;
/// From this age guardianship of a minor lapses (§5.7).
pub const ADULT_FROM_YEARS: u32 = 18;

/// How the proxy is related to the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Parent or other guardian of a minor.
    Guardian,
    /// Court-appointed guardian of an adult lacking capacity.
    CourtGuardian,
    /// Relative bound through the national family account (亲情账户).
    FamilyAccount,
    /// Anyone holding a P06 delegation from the subject.
    Delegate,
    /// Close relative of a deceased subject (Art. 49).
    RelativeOfDeceased,
}

/// A P06 delegation the subject confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// Items delegated.
    pub items: ItemSet,
    /// End of the delegation (exclusive).
    pub not_after: Millis,
    /// Whether the subject ticked level-3 items for it.
    pub level3_ticked: bool,
    /// Whether the subject ended it.
    pub revoked: bool,
}

impl Delegation {
    fn covers(&self, items: &ItemSet, level: Level, now: Millis) -> bool {
        !self.revoked
            && now < self.not_after
            && items.is_subset(&self.items)
            && (level < Level::L3 || self.level3_ticked)
    }
}

/// What the store knows about a proxy and the subject when the proxy acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFacts {
    /// The proxy's `psn_no`.
    pub proxy: String,
    /// The relation.
    pub relation: Relation,
    /// The subject's age in whole years today.
    pub subject_age_years: u32,
    /// Whether the subject is deceased.
    pub subject_deceased: bool,
    /// Whether a minor subject holds an activated e-voucher (14–17: must confirm grants).
    pub minor_holds_evoucher: bool,
    /// Whether the minor confirmed this action.
    pub minor_confirmed: bool,
    /// Whether staff checked the court order (court guardians).
    pub court_order_verified: bool,
    /// A P06 delegation, if any.
    pub delegation: Option<Delegation>,
    /// Whether the proxy passed a face check for this action (L3 under a guardian).
    pub proxy_face_checked: bool,
}

/// What a proxy wants to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyAction {
    /// Show the subject's e-voucher code.
    ShowCode,
    /// Pay for the subject (亲情账户 payment).
    PayFor,
    /// Read the subject's records.
    View {
        /// The items.
        items: ItemSet,
        /// Their level in the record.
        level: Level,
    },
    /// Give a grant to a third party for the subject.
    Grant {
        /// The items.
        items: ItemSet,
        /// The grant's level.
        level: Level,
    },
    /// Revoke a grant the subject (or the proxy for them) gave.
    Revoke,
    /// Ask for access, a copy or a correction (Art. 45, 46, 49).
    RequestCopyOrCorrection,
}

impl ProxyAction {
    fn name(&self) -> &'static str {
        match self {
            ProxyAction::ShowCode => "show the code",
            ProxyAction::PayFor => "pay",
            ProxyAction::View { .. } => "view records",
            ProxyAction::Grant { .. } => "grant to a third party",
            ProxyAction::Revoke => "revoke a grant",
            ProxyAction::RequestCopyOrCorrection => "request a copy or correction",
        }
    }

    fn items_and_level(&self) -> (ItemSet, Level) {
        match self {
            ProxyAction::View { items, level } | ProxyAction::Grant { items, level } => {
                (items.clone(), *level)
            }
            _ => (ItemSet::new(), Level::L1),
        }
    }
}

/// What comes with a permitted proxy action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyPermit {
    /// Staff review before anything is released (relatives of the deceased).
    pub staff_review: bool,
    /// Log and show in both safe boxes with actor = proxy (always true; kept explicit).
    pub log_as_proxy: bool,
}

const PERMIT: ProxyPermit = ProxyPermit {
    staff_review: false,
    log_as_proxy: true,
};

/// Whether the proxy may take this action for the subject at `now` (§5.7, T7).
pub fn may_act(
    facts: &ProxyFacts,
    action: &ProxyAction,
    now: Millis,
) -> Result<ProxyPermit, PrivacyError> {
    let deny = |reason| {
        Err(PrivacyError::ProxyDenied {
            action: action.name(),
            reason,
        })
    };
    let (items, level) = action.items_and_level();
    let delegated = facts
        .delegation
        .as_ref()
        .is_some_and(|delegation| delegation.covers(&items, level, now));

    if facts.subject_deceased != (facts.relation == Relation::RelativeOfDeceased) {
        return deny(if facts.subject_deceased {
            "the subject is deceased; only a close relative's reviewed request applies"
        } else {
            "the subject is alive"
        });
    }

    match facts.relation {
        Relation::RelativeOfDeceased => match action {
            ProxyAction::View { .. } | ProxyAction::RequestCopyOrCorrection => Ok(ProxyPermit {
                staff_review: true,
                log_as_proxy: true,
            }),
            _ => {
                deny("a relative of a deceased person may ask for access, copy or correction only")
            }
        },
        Relation::Guardian if facts.subject_age_years >= ADULT_FROM_YEARS => {
            if delegated {
                Ok(PERMIT)
            } else {
                deny("guardianship lapsed at 18; the adult must re-confirm it as a P06 delegation")
            }
        }
        Relation::Guardian => {
            if level == Level::L3 && !facts.proxy_face_checked {
                return deny("level-3 items need the guardian's face check");
            }
            let minor_must_confirm = facts.subject_age_years >= GUARDIAN_CONSENT_BELOW_YEARS
                && facts.minor_holds_evoucher
                && matches!(action, ProxyAction::Grant { .. });
            if minor_must_confirm && !facts.minor_confirmed {
                return deny("a minor of 14 to 17 with an e-voucher must confirm a grant too");
            }
            Ok(PERMIT)
        }
        Relation::CourtGuardian => {
            if facts.court_order_verified {
                Ok(PERMIT)
            } else {
                deny("the court order has not been checked by staff")
            }
        }
        Relation::FamilyAccount => match action {
            ProxyAction::ShowCode | ProxyAction::PayFor => Ok(PERMIT),
            _ if delegated => Ok(PERMIT),
            _ => deny(
                "a family-account binding only shows the code and pays; the subject must delegate",
            ),
        },
        Relation::Delegate => {
            let revoke_in_scope = matches!(action, ProxyAction::Revoke)
                && facts
                    .delegation
                    .as_ref()
                    .is_some_and(|delegation| !delegation.revoked && now < delegation.not_after);
            if delegated || revoke_in_scope {
                Ok(PERMIT)
            } else {
                deny("outside the delegation's items, level or validity")
            }
        }
    }
}

/// Whether one more family member may be bound (at most 5, §2.3).
pub fn check_family_binding(members_bound: usize) -> Result<(), PrivacyError> {
    if members_bound >= FAMILY_MEMBERS_MAX {
        return Err(PrivacyError::TooManyFamilyMembers {
            max: FAMILY_MEMBERS_MAX,
        });
    }
    Ok(())
}

/// Age in whole years on a date (a birthday counts on the day itself; 29 February birthdays
/// count on 1 March in other years).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on < birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}
