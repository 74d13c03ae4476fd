//! What opens a person's record to a staff member (spec data-authorization.md §11.2, §11.5): a
//! case they work on, a counter service session opened for the person present, or break-glass;
//! the security alarms break-glass raises, and the reveals counted against the daily cap. The
//! decision itself is the privacy engine's (`yibao_privacy::staff::decide_staff_read`); this
//! module keeps its inputs. The SQL is `staff_access_tx.rs`, compiled once per backend.
//!
//! Time is an input: every method takes `now_ms` (UTC milliseconds) from the caller.

use yibao_privacy::limits::SERVICE_SESSION_MS;

use crate::error::StoreError;
use crate::staff::subject_ref_psn;
use crate::{limits, Pool, Store};

/// Alarms per page at most.
pub const ALARMS_PAGE_MAX: i64 = 500;
/// Break-glass events listed per person at most (a safe box page).
pub const BREAK_GLASS_PER_PERSON_MAX: i64 = 200;
/// Characters of a reason or a document number at most (the privacy engine clips break-glass
/// text to its own, shorter limit).
pub const ACCESS_TEXT_CHARS_MAX: usize = 500;

/// A counter service session: one person's record open to one staff member for 30 minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSession {
    /// The session's number (what `X-Service-Session` names).
    pub session_id: i64,
    /// Who opened it.
    pub staff_id: i64,
    /// The person served.
    pub psn_no: String,
    /// Why (logged).
    pub reason: String,
    /// When it was opened (UTC ms).
    pub started_at_ms: i64,
    /// When it ends (exclusive, UTC ms).
    pub until_ms: i64,
}

/// A service session to open: the person's number and the ID number read from the credential
/// they showed, which must match (a session opens only for a person present).
#[derive(Debug, Clone)]
pub struct NewServiceSession {
    /// The staff member.
    pub staff_id: i64,
    /// The person.
    pub psn_no: String,
    /// The ID number on the credential shown (公民身份号码).
    pub certno: String,
    /// Why the person is served.
    pub reason: String,
}

/// Why break-glass was invoked (§11.5), as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakGlassCategory {
    /// Urgent medical need.
    UrgentMedical,
    /// Fraud in progress.
    FraudInProgress,
    /// A court or police request (with its document number).
    CourtOrPolice,
}

impl BreakGlassCategory {
    /// Every category.
    pub const ALL: [BreakGlassCategory; 3] = [
        BreakGlassCategory::UrgentMedical,
        BreakGlassCategory::FraudInProgress,
        BreakGlassCategory::CourtOrPolice,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            BreakGlassCategory::UrgentMedical => "urgent_medical",
            BreakGlassCategory::FraudInProgress => "fraud_in_progress",
            BreakGlassCategory::CourtOrPolice => "court_or_police",
        }
    }

    /// The category with this code.
    pub fn parse(code: &str) -> Option<BreakGlassCategory> {
        BreakGlassCategory::ALL
            .into_iter()
            .find(|category| category.code() == code)
    }
}

/// A break-glass grant as recorded (and shown in the person's safe box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassEvent {
    /// Its number (what `X-Break-Glass` names).
    pub glass_id: i64,
    /// The staff member.
    pub staff_id: i64,
    /// The person.
    pub psn_no: String,
    /// The reason category.
    pub category: BreakGlassCategory,
    /// The court or police document number (empty for the other categories).
    pub document_no: String,
    /// The reason text.
    pub reason: String,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// End (exclusive, UTC ms).
    pub until_ms: i64,
}

/// A break-glass grant to record; the privacy engine decided it and set its window.
#[derive(Debug, Clone)]
pub struct NewBreakGlass {
    /// The staff member.
    pub staff_id: i64,
    /// The person.
    pub psn_no: String,
    /// The reason category.
    pub category: BreakGlassCategory,
    /// The document number (court or police).
    pub document_no: String,
    /// The reason text.
    pub reason: String,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// End (exclusive, UTC ms).
    pub until_ms: i64,
}

/// An alarm for the security auditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityAlarm {
    /// Its number, increasing.
    pub alarm_id: i64,
    /// When (UTC ms).
    pub at_ms: i64,
    /// What raised it (`break_glass`).
    pub kind: String,
    /// The staff member whose action raised it.
    pub staff_id: i64,
    /// Whose record ([`subject_ref_psn`], never a person's number in clear).
    pub subject_ref: String,
    /// The record that raised it (a `glass_id`).
    pub ref_id: i64,
    /// What happened, in words (the category and the reason).
    pub detail: String,
}

/// A case named by a staff request: `audit:CASE_ID` (an audit case) or `registry:CASE_ID` (a
/// registry case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRef {
    /// An audit case (its `case_id`).
    Audit(String),
    /// A registry case (its number).
    Registry(i64),
}

impl CaseRef {
    /// Reads `audit:ID` or `registry:N`.
    pub fn parse(text: &str) -> Option<CaseRef> {
        let (kind, id) = text.trim().split_once(':')?;
        if id.is_empty() || id.chars().count() > limits::ID_CHARS_MAX {
            return None;
        }
        match kind {
            "audit" => Some(CaseRef::Audit(id.to_owned())),
            "registry" => id.parse().ok().map(CaseRef::Registry),
            _ => None,
        }
    }
}

impl std::fmt::Display for CaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaseRef::Audit(id) => write!(f, "audit:{id}"),
            CaseRef::Registry(id) => write!(f, "registry:{id}"),
        }
    }
}

/// What a case says about access to its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAccess {
    /// The person the case is about.
    pub psn_no: String,
    /// Still open (an audit case until its final review; a registry case until resolved).
    pub open: bool,
    /// Who opened it (an audit run's opener; empty for a registry case, which an import opens).
    pub opened_by: String,
}

fn check_access_text(field: &str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::bad(field, "is required"));
    }
    if value.chars().count() > ACCESS_TEXT_CHARS_MAX {
        return Err(StoreError::bad(
            field,
            format!("at most {ACCESS_TEXT_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

fn check_psn_no(psn_no: &str) -> Result<(), StoreError> {
    if psn_no.is_empty() || psn_no.chars().count() > limits::ID_CHARS_MAX {
        return Err(StoreError::bad("psn_no", "must be a full person number"));
    }
    Ok(())
}

impl Store {
    /// Opens a service session for a person present: the ID number shown must be the person's
    /// (a wrong one is refused naming `certno`, an unknown person is not found); it lasts 30
    /// minutes from `now_ms`.
    pub async fn open_service_session(
        &self,
        new: &NewServiceSession,
        now_ms: i64,
    ) -> Result<ServiceSession, StoreError> {
        check_psn_no(&new.psn_no)?;
        check_access_text("certno", &new.certno)?;
        check_access_text("reason", &new.reason)?;
        let until_ms = now_ms + SERVICE_SESSION_MS;
        on_backend!(self, write, |m, pool| {
            m::access_session_open(pool, new, now_ms, until_ms).await
        })
    }

    /// The service session `session_id`, if there is one.
    pub async fn service_session(
        &self,
        session_id: i64,
    ) -> Result<Option<ServiceSession>, StoreError> {
        on_backend!(self, read, |m, pool| {
            m::access_session_read(pool, session_id).await
        })
    }

    /// Records a break-glass grant and, in the same transaction, its alarm for the security
    /// auditor. An unknown person is not found.
    pub async fn record_break_glass(
        &self,
        new: &NewBreakGlass,
    ) -> Result<BreakGlassEvent, StoreError> {
        check_psn_no(&new.psn_no)?;
        check_access_text("reason", &new.reason)?;
        if new.document_no.chars().count() > ACCESS_TEXT_CHARS_MAX {
            return Err(StoreError::bad(
                "document_no",
                format!("at most {ACCESS_TEXT_CHARS_MAX} characters"),
            ));
        }
        if new.until_ms <= new.started_at_ms {
            return Err(StoreError::Invariant(
                "a break-glass window must end after it starts".into(),
            ));
        }
        let subject_ref = subject_ref_psn(&new.psn_no);
        on_backend!(self, write, |m, pool| {
            m::access_break_glass_insert(pool, new, &subject_ref).await
        })
    }

    /// The break-glass grant `glass_id`, if there is one.
    pub async fn break_glass(&self, glass_id: i64) -> Result<Option<BreakGlassEvent>, StoreError> {
        on_backend!(self, read, |m, pool| {
            m::access_break_glass_read(pool, glass_id).await
        })
    }

    /// A person's break-glass events, newest first (at most [`BREAK_GLASS_PER_PERSON_MAX`]):
    /// what the person's safe box shows.
    pub async fn person_break_glass(
        &self,
        psn_no: &str,
    ) -> Result<Vec<BreakGlassEvent>, StoreError> {
        check_psn_no(psn_no)?;
        on_backend!(self, read, |m, pool| {
            m::access_break_glass_of_person(pool, psn_no, BREAK_GLASS_PER_PERSON_MAX).await
        })
    }

    /// Up to `limit` (at most [`ALARMS_PAGE_MAX`]) alarms after `after`, oldest first.
    pub async fn security_alarms(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<SecurityAlarm>, StoreError> {
        let limit = limit.clamp(1, ALARMS_PAGE_MAX);
        on_backend!(self, read, |m, pool| {
            m::access_alarms_page(pool, after, limit).await
        })
    }

    /// What the case says about its subject, or `None` when there is no such case.
    pub async fn case_access(&self, case: &CaseRef) -> Result<Option<CaseAccess>, StoreError> {
        on_backend!(self, read, |m, pool| m::access_case_read(pool, case).await)
    }

    /// Records an unmasked read by `staff_id` of `subject_ref` with its reason.
    pub async fn record_reveal(
        &self,
        staff_id: i64,
        subject_ref: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        check_access_text("reason", reason)?;
        on_backend!(self, write, |m, pool| {
            m::access_reveal_insert(pool, staff_id, subject_ref, reason, now_ms).await
        })
    }

    /// How many unmasked reads `staff_id` made from `since_ms` on.
    pub async fn reveals_since(&self, staff_id: i64, since_ms: i64) -> Result<i64, StoreError> {
        on_backend!(self, read, |m, pool| {
            m::access_reveals_count(pool, staff_id, since_ms).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_refs_read_and_print() {
        assert_eq!(
            CaseRef::parse("audit:C-1"),
            Some(CaseRef::Audit("C-1".into()))
        );
        assert_eq!(CaseRef::parse("registry:12"), Some(CaseRef::Registry(12)));
        for bad in ["", "audit:", "registry:x", "case:1", "12"] {
            assert_eq!(CaseRef::parse(bad), None, "{bad}");
        }
        assert_eq!(CaseRef::Registry(12).to_string(), "registry:12");
    }

    #[test]
    fn categories_round_trip() {
        for category in BreakGlassCategory::ALL {
            assert_eq!(BreakGlassCategory::parse(category.code()), Some(category));
        }
        assert_eq!(BreakGlassCategory::parse("curiosity"), None);
    }
}
