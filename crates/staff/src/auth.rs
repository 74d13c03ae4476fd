//! Who is calling and what they may do: the [`Staff`] extractor (a valid bearer session), the
//! [`Purpose`] extractor (why a person's data is read, under which case, service session or
//! break-glass, and whether it is to be shown unmasked), and [`Staff::authorize_read`] /
//! [`Staff::authorize`], which check the roles (and an institution user's institution), decide
//! a read of a person's record with the privacy engine (spec data-authorization.md §11) and
//! write the access log entry in one call. See the crate docs for how a handler uses them.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use yibao_privacy::staff::{
    decide_staff_read, Access as Opening, BreakGlass, BreakGlassReason, Reveal, StaffContext,
    StaffDecision, StaffDenyReason, StaffRead, View,
};
use yibao_privacy::{builtin, Millis, ValueContext};
use yibao_store::staff::subject_ref_psn;
use yibao_store::staff_access::{BreakGlassCategory, CaseRef};
use yibao_store::{AccessEntry, Decision, Role, SessionCheck, StaffAccount};

use crate::error::ApiError;
use crate::masking::{items_of_action, Reading};
use crate::SharedState;

/// The header that carries the purpose of a read (`purpose` in the query string also works).
pub const PURPOSE_HEADER: &str = "X-Purpose";
/// The header naming the case a read of a person's record is made under: `audit:CASE_ID` or
/// `registry:CASE_ID`.
pub const CASE_HEADER: &str = "X-Case";
/// The header naming the caller's service session (`POST /api/v1/service-sessions`).
pub const SERVICE_SESSION_HEADER: &str = "X-Service-Session";
/// The header naming the caller's break-glass grant (`POST /api/v1/break-glass`).
pub const BREAK_GLASS_HEADER: &str = "X-Break-Glass";
/// The header that asks for values in clear, with the reason (logged with the read).
pub const UNMASK_HEADER: &str = "X-Unmask-Reason";

/// Roles that work audit cases (a read under `X-Case: audit:…`).
const AUDIT_CASE_WORKERS: &[Role] = &[
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::FinalReviewer,
    Role::Inspector,
];
/// Roles that work registry cases (a read under `X-Case: registry:…`).
const REGISTRY_CASE_WORKERS: &[Role] = &[Role::FrontDesk, Role::Reviewer];

/// The purposes a staff member may give for reading a person's data (查询事由), a closed list
/// (spec data-authorization.md §11.2): `(code, 中文)`.
pub const PURPOSES: &[(&str, &str)] = &[
    ("case_review", "审核案件办理"),
    ("appeal_handling", "申诉处理"),
    ("inspection", "稽核检查"),
    ("payment_clearing", "基金结算支付"),
    ("service_request", "参保人业务办理"),
    ("complaint", "投诉举报处理"),
    ("internal_audit", "内控审计"),
];

/// A logged-in staff member: the account of a valid session, read at this request (roles and
/// deactivation take effect at once), and the request's one clock reading.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The account.
    pub account: StaffAccount,
    /// The request's time (UTC ms), read once.
    pub now_ms: i64,
    /// The bearer token (for logout).
    pub(crate) token: String,
}

impl Staff {
    /// The account's number.
    pub fn id(&self) -> i64 {
        self.account.staff_id
    }

    /// The request's time in Beijing time, the time of every record of the platform.
    pub fn beijing(&self) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp_millis(self.now_ms + 8 * 3_600_000)
            .unwrap_or_default()
            .naive_utc()
    }

    /// Whether the account holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.account.has(*role))
    }

    /// For an institution user, its institution; `None` for bureau staff.
    pub fn institution(&self) -> Option<&str> {
        self.account.fixmedins_code.as_deref()
    }

    /// Checks an action that reads no person's data: any of `access.roles`, and for an
    /// institution user the record's institution. A denial is logged (event `access.deny`) and
    /// answered 403; a permitted action is not logged here (log it yourself if it changes
    /// something: the store's writes do).
    pub async fn authorize(&self, state: &SharedState, access: Access<'_>) -> Result<(), ApiError> {
        match self.decide(&access) {
            Ok(()) => Ok(()),
            Err((reason, err)) => {
                self.log(state, "access.deny", &access, "", Decision::Deny, reason)
                    .await?;
                Err(err)
            }
        }
    }

    /// Checks and logs a read of a person's data, before the data is read ("no log, no data"):
    /// the roles and institution as [`Staff::authorize`]; then, when the subject is one person
    /// ([`Subject::person`]), the privacy engine's decision (§11.2): the purpose, a role that
    /// reads records, the region, and an open case, service session or break-glass named by the
    /// request ([`CASE_HEADER`], [`SERVICE_SESSION_HEADER`], [`BREAK_GLASS_HEADER`]); a reveal
    /// ([`UNMASK_HEADER`]) is checked against its rules and counted. One access log entry
    /// (event `data.read`) records the subject, the action, the purpose and the decision; a
    /// permit's reason says what opened the record and, for a reveal, why. A denial is answered
    /// 403 naming the missing field. The [`Reading`] returned masks the response's values.
    pub async fn authorize_read(
        &self,
        state: &SharedState,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> Result<Reading, ApiError> {
        if let Err((reason, err)) = self.decide(&access) {
            self.log(
                state,
                "data.read",
                &access,
                &purpose.code,
                Decision::Deny,
                reason,
            )
            .await?;
            return Err(err);
        }
        let Some(psn_no) = access.subject.person.clone() else {
            self.log(
                state,
                "data.read",
                &access,
                &purpose.code,
                Decision::Permit,
                "",
            )
            .await?;
            return Ok(Reading::unbound());
        };
        let items = items_of_action(access.action);
        let (opening, via) = self.opening(state, purpose).await?;
        let subject_region = match state.store.person_info(&psn_no).await {
            Ok(info) if info.base.psn_no == psn_no => info
                .insurance
                .first()
                .map(|spell| spell.insuplc_admdvs.clone())
                .unwrap_or_else(|| self.account.admdvs.clone()),
            // No such person: nothing to show; the handler answers 404 after the log entry.
            _ => self.account.admdvs.clone(),
        };
        let read = StaffRead {
            actor: self.account.username.clone(),
            roles: self
                .account
                .roles
                .iter()
                .map(|role| role.privacy())
                .collect(),
            subject_ref: access.subject.reference.clone(),
            level: builtin().record_level(&items, &ValueContext::default()),
            items: items.clone(),
            purpose_code: purpose.code.clone(),
            reveal: purpose.unmask_reason.as_ref().map(|reason| Reveal {
                reason: reason.clone(),
                supervisor_approved: false,
            }),
        };
        let context = StaffContext {
            now: Millis(self.now_ms),
            access: opening,
            actor_region: self.account.admdvs.clone(),
            subject_region,
            // The staff API is served on the private network only; no terminal signal yet.
            on_private_network: true,
            reveals_today: u32::try_from(
                state
                    .store
                    .reveals_since(self.id(), beijing_day_start_ms(self.now_ms))
                    .await?,
            )
            .unwrap_or(u32::MAX),
            // Staff accounts are not linked to persons yet: nobody is their own subject.
            actor_subject_ref: format!("staff:{}", self.id()),
            related_refs: Vec::new(),
        };
        match decide_staff_read(&read, &context) {
            StaffDecision::Deny(reason) => {
                self.log(
                    state,
                    "data.read",
                    &access,
                    &purpose.code,
                    Decision::Deny,
                    reason.code(),
                )
                .await?;
                Err(refusal(&reason))
            }
            StaffDecision::Permit(permit) => {
                let mut logged = via;
                if permit.view == View::Revealed {
                    let reason = purpose.unmask_reason.as_deref().unwrap_or_default();
                    state
                        .store
                        .record_reveal(self.id(), &access.subject.reference, reason, self.now_ms)
                        .await?;
                    logged = format!("{logged}; unmask: {reason}");
                }
                let logged: String = logged
                    .chars()
                    .take(yibao_store::limits::LOG_FIELD_CHARS_MAX)
                    .collect();
                self.log(
                    state,
                    "data.read",
                    &access,
                    &purpose.code,
                    Decision::Permit,
                    &logged,
                )
                .await?;
                Ok(Reading {
                    view: permit.view,
                    clinical: permit.clinical,
                    items,
                })
            }
        }
    }

    /// What the request names to open a person's record, as the engine sees it, and how the
    /// log says it (`case:registry:3`, `service_session:12`, `break_glass:4`, `none`). A case,
    /// session or grant that does not exist, is another staff member's, or is about someone
    /// else opens nothing (the engine refuses it as no open case).
    async fn opening(
        &self,
        state: &SharedState,
        purpose: &Purpose,
    ) -> Result<(Opening, String), ApiError> {
        let me = self.account.username.clone();
        Ok(match &purpose.binding {
            Binding::None => (Opening::None, "none".to_owned()),
            Binding::Case(case) => {
                let workers = match case {
                    CaseRef::Audit(_) => AUDIT_CASE_WORKERS,
                    CaseRef::Registry(_) => REGISTRY_CASE_WORKERS,
                };
                let opening = match state.store.case_access(case).await? {
                    None => Opening::None,
                    Some(found) => Opening::Case {
                        case_id: case.to_string(),
                        subject_ref: subject_ref_psn(&found.psn_no),
                        // Cases are worked from a queue by role: no per-person assignment yet.
                        assigned_to: if self.has_any(workers) {
                            me.clone()
                        } else {
                            String::new()
                        },
                        opened_by: found.opened_by,
                        open: found.open,
                    },
                };
                (opening, format!("case:{case}"))
            }
            Binding::ServiceSession(session_id) => {
                let opening = match state.store.service_session(*session_id).await? {
                    Some(session) if session.staff_id == self.id() => Opening::ServiceSession {
                        subject_ref: subject_ref_psn(&session.psn_no),
                        started: Millis(session.started_at_ms),
                    },
                    _ => Opening::None,
                };
                (opening, format!("service_session:{session_id}"))
            }
            Binding::BreakGlass(glass_id) => {
                let opening = match state.store.break_glass(*glass_id).await? {
                    Some(glass) => Opening::BreakGlass(BreakGlass {
                        actor: if glass.staff_id == self.id() {
                            me.clone()
                        } else {
                            format!("staff:{}", glass.staff_id)
                        },
                        subject_ref: subject_ref_psn(&glass.psn_no),
                        reason: match glass.category {
                            BreakGlassCategory::UrgentMedical => BreakGlassReason::UrgentMedical,
                            BreakGlassCategory::FraudInProgress => {
                                BreakGlassReason::FraudInProgress
                            }
                            BreakGlassCategory::CourtOrPolice => {
                                BreakGlassReason::CourtOrPolice(glass.document_no.clone())
                            }
                        },
                        text: glass.reason,
                        started: Millis(glass.started_at_ms),
                        until: Millis(glass.until_ms),
                    }),
                    None => Opening::None,
                };
                (opening, format!("break_glass:{glass_id}"))
            }
        })
    }

    fn decide(&self, access: &Access<'_>) -> Result<(), (&'static str, ApiError)> {
        if !self.has_any(access.roles) {
            let wanted: Vec<&str> = access.roles.iter().map(|role| role.code()).collect();
            return Err((
                "role_missing",
                ApiError::forbidden(
                    "roles",
                    format!("this needs one of the roles {}", wanted.join(", ")),
                ),
            ));
        }
        if let (Some(own), Some(record)) = (self.institution(), access.institution) {
            if own != record {
                return Err((
                    "other_institution",
                    ApiError::forbidden(
                        "fixmedins_code",
                        "the record belongs to another institution",
                    ),
                ));
            }
        }
        if self.institution().is_some() && access.institution.is_none() {
            return Err((
                "not_an_institution_record",
                ApiError::forbidden(
                    "fixmedins_code",
                    "institution users see only their institution's records",
                ),
            ));
        }
        Ok(())
    }

    async fn log(
        &self,
        state: &SharedState,
        event: &str,
        access: &Access<'_>,
        purpose: &str,
        decision: Decision,
        reason: &str,
    ) -> Result<(), ApiError> {
        state
            .store
            .log_access(&AccessEntry {
                ts_ms: self.now_ms,
                event: event.to_owned(),
                staff_id: Some(self.id()),
                action: access.action.to_owned(),
                subject_ref: access.subject.reference.clone(),
                purpose: purpose.to_owned(),
                decision,
                reason: reason.to_owned(),
            })
            .await?;
        Ok(())
    }
}

/// What a handler is about to do, for [`Staff::authorize`] and [`Staff::authorize_read`].
#[derive(Debug, Clone)]
pub struct Access<'a> {
    /// The endpoint, as routed: `GET /api/v1/persons/{psn_no}`.
    pub action: &'a str,
    /// Any one of these roles allows it.
    pub roles: &'a [Role],
    /// Whose data or which record.
    pub subject: Subject,
    /// The record's institution, when it has one: an institution user may act only on its own
    /// institution's records (and on nothing without an institution).
    pub institution: Option<&'a str>,
}

/// The subject of an access, as written to the log: never a person's number in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// What the log records: a person's SM3 reference, `case:ID`, `kind:ID` or empty.
    pub reference: String,
    /// The person, when the access reads one person's record: such a read needs an open case,
    /// service session or break-glass (§11.2).
    person: Option<String>,
}

impl Subject {
    /// A person, by `psn_no` (logged as its SM3 reference): a read of their record.
    pub fn person(psn_no: &str) -> Self {
        Self {
            reference: subject_ref_psn(psn_no),
            person: Some(psn_no.to_owned()),
        }
    }

    /// An audit case.
    pub fn case(case_id: impl std::fmt::Display) -> Self {
        Self::logged(format!("case:{case_id}"))
    }

    /// Any other record: `kind:id` (an appeal, a staff account …).
    pub fn record(kind: &str, id: impl std::fmt::Display) -> Self {
        Self::logged(format!("{kind}:{id}"))
    }

    /// No subject (a list without a person, the log itself).
    pub fn none() -> Self {
        Self::logged(String::new())
    }

    fn logged(reference: String) -> Self {
        Self {
            reference,
            person: None,
        }
    }

    /// The person whose record is read, if the subject is one.
    pub fn psn_no(&self) -> Option<&str> {
        self.person.as_deref()
    }
}

/// The start of the Beijing day of `now_ms` (UTC ms): the daily reveal cap counts from it.
fn beijing_day_start_ms(now_ms: i64) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
    now_ms - (now_ms + BEIJING_OFFSET_MS).rem_euclid(DAY_MS)
}

/// The 403 of an engine refusal, naming the field the caller must change.
fn refusal(reason: &StaffDenyReason) -> ApiError {
    let (field, words) = match reason {
        StaffDenyReason::NoPurpose => (PURPOSE_HEADER, "a purpose is required"),
        StaffDenyReason::RoleMayNotRead => {
            ("roles", "no role of this account reads persons' records")
        }
        StaffDenyReason::OffNetwork => ("network", "only from the private network"),
        StaffDenyReason::OutsideRegion => (
            "admdvs",
            "the person is insured outside this account's region",
        ),
        StaffDenyReason::ConflictOfInterest => (
            "psn_no",
            "a conflict of interest: this person is the reader or related",
        ),
        StaffDenyReason::NoOpenCase => (
            CASE_HEADER,
            "a read of a person's record needs an open case of yours about this person \
             (X-Case), your service session for them (X-Service-Session) or your \
             break-glass grant (X-Break-Glass)",
        ),
        StaffDenyReason::SelfOpenedCase => {
            (CASE_HEADER, "an inspector may not work a case they opened")
        }
        StaffDenyReason::SessionExpired => (
            SERVICE_SESSION_HEADER,
            "the service session is over (30 minutes): open a new one",
        ),
        StaffDenyReason::BreakGlassExpired => (
            BREAK_GLASS_HEADER,
            "the break-glass grant is over (2 hours)",
        ),
        StaffDenyReason::RevealNeedsReason => (UNMASK_HEADER, "a reveal needs a reason"),
        StaffDenyReason::RevealCapReached => (UNMASK_HEADER, "the daily reveal cap is reached"),
        StaffDenyReason::RevealRoleNotAllowed => (
            UNMASK_HEADER,
            "bank accounts are revealed to the finance role only",
        ),
        StaffDenyReason::RevealNeedsSupervisor => (
            UNMASK_HEADER,
            "a level-3 reveal needs a case and a supervisor's approval",
        ),
    };
    ApiError::forbidden(field, format!("{words} ({})", reason.code()))
}

impl FromRequestParts<SharedState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let now_ms = state.config.clock.now_ms();
        match state
            .store
            .staff_session(&token, &state.config.session, now_ms)
            .await?
        {
            SessionCheck::Valid(account) => Ok(Staff {
                account,
                now_ms,
                token,
            }),
            SessionCheck::Expired => Err(ApiError::unauthorized(
                "Authorization",
                "the session expired: log in again",
            )),
            SessionCheck::Invalid => Err(ApiError::unauthorized(
                "Authorization",
                "the session is unknown or ended: log in again",
            )),
        }
    }
}

/// The bearer token of the `Authorization` header.
fn bearer(parts: &Parts) -> Result<String, ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "Authorization",
            "a bearer token is required (POST /api/v1/session to log in)",
        )
    };
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(missing()),
    }
}

/// What opens a person's record to the caller, as the request names it (one at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Nothing named.
    None,
    /// [`CASE_HEADER`]: a case.
    Case(CaseRef),
    /// [`SERVICE_SESSION_HEADER`]: a service session.
    ServiceSession(i64),
    /// [`BREAK_GLASS_HEADER`]: a break-glass grant.
    BreakGlass(i64),
}

/// Why and under what a person's data is read: the purpose, one of [`PURPOSES`], from the
/// `X-Purpose` header or the `purpose` query field; the case, service session or break-glass
/// the request names; and the reason for a reveal ([`UNMASK_HEADER`]; a blank one asks for
/// nothing, so the values stay masked). Required by every endpoint that reads a person's data;
/// an absent or unknown purpose or a malformed header is refused with 400 before anything is
/// read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// The purpose code.
    pub code: String,
    /// What the request names to open a person's record.
    pub binding: Binding,
    /// The reason given to see the values in clear.
    pub unmask_reason: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|value| value.to_str().unwrap_or("").trim().to_owned())
        };
        let from_query = parts.uri.query().and_then(|query| {
            query.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key == "purpose").then(|| value.trim().to_owned())
            })
        });
        let allowed = || {
            PURPOSES
                .iter()
                .map(|(code, _)| *code)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(code) = header(PURPOSE_HEADER).or(from_query) else {
            return Err(ApiError::bad(
                PURPOSE_HEADER,
                format!(
                    "is required to read a person's data (header {PURPOSE_HEADER} or query field purpose): one of {}",
                    allowed()
                ),
            ));
        };
        if !PURPOSES.iter().any(|(known, _)| *known == code) {
            return Err(ApiError::bad(
                PURPOSE_HEADER,
                format!(
                    "`{}` is not a purpose: one of {}",
                    code.chars().take(40).collect::<String>(),
                    allowed()
                ),
            ));
        }
        let number = |name: &str, text: &str| {
            text.parse::<i64>()
                .ok()
                .filter(|id| *id >= 1)
                .ok_or_else(|| ApiError::bad(name, "must be a positive number"))
        };
        let mut named = Vec::new();
        if let Some(text) = header(CASE_HEADER) {
            let case = CaseRef::parse(&text).ok_or_else(|| {
                ApiError::bad(CASE_HEADER, "must be audit:CASE_ID or registry:CASE_ID")
            })?;
            named.push(Binding::Case(case));
        }
        if let Some(text) = header(SERVICE_SESSION_HEADER) {
            named.push(Binding::ServiceSession(number(
                SERVICE_SESSION_HEADER,
                &text,
            )?));
        }
        if let Some(text) = header(BREAK_GLASS_HEADER) {
            named.push(Binding::BreakGlass(number(BREAK_GLASS_HEADER, &text)?));
        }
        if named.len() > 1 {
            return Err(ApiError::bad(
                CASE_HEADER,
                "name one of X-Case, X-Service-Session and X-Break-Glass, not several",
            ));
        }
        // A reason is words, often Chinese: the header's bytes are read as UTF-8.
        let unmask_reason = parts
            .headers
            .get(UNMASK_HEADER)
            .map(|value| {
                std::str::from_utf8(value.as_bytes())
                    .map(|text| text.trim().to_owned())
                    .map_err(|_| ApiError::bad(UNMASK_HEADER, "must be UTF-8 text"))
            })
            .transpose()?
            .filter(|reason| !reason.is_empty());
        if unmask_reason
            .as_ref()
            .is_some_and(|reason| reason.chars().count() > yibao_privacy::limits::REASON_CHARS_MAX)
        {
            return Err(ApiError::bad(
                UNMASK_HEADER,
                format!(
                    "at most {} characters",
                    yibao_privacy::limits::REASON_CHARS_MAX
                ),
            ));
        }
        Ok(Purpose {
            code,
            binding: named.pop().unwrap_or(Binding::None),
            unmask_reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(roles: &[Role], fixmedins_code: Option<&str>) -> Staff {
        Staff {
            account: StaffAccount {
                staff_id: 7,
                username: "u".into(),
                display_name: "U".into(),
                roles: roles.to_vec(),
                fixmedins_code: fixmedins_code.map(str::to_owned),
                admdvs: "140500".into(),
                active: true,
            },
            now_ms: 0,
            token: String::new(),
        }
    }

    fn access<'a>(roles: &'a [Role], institution: Option<&'a str>) -> Access<'a> {
        Access {
            action: "GET /api/v1/cases/{case_id}",
            roles,
            subject: Subject::case(1),
            institution,
        }
    }

    fn reason(staff: &Staff, access: &Access<'_>) -> &'static str {
        match staff.decide(access) {
            Ok(()) => "",
            Err((reason, _)) => reason,
        }
    }

    #[test]
    fn roles_and_institutions_decide() {
        let both = &[Role::Reviewer, Role::Institution][..];
        let reviewer = staff(&[Role::Reviewer], None);
        assert_eq!(reason(&reviewer, &access(both, Some("H1"))), "");
        assert_eq!(
            reason(&reviewer, &access(&[Role::Auditor], None)),
            "role_missing"
        );
        let hospital = staff(&[Role::Institution], Some("H1"));
        assert_eq!(reason(&hospital, &access(both, Some("H1"))), "");
        assert_eq!(
            reason(&hospital, &access(both, Some("H2"))),
            "other_institution"
        );
        assert_eq!(
            reason(&hospital, &access(both, None)),
            "not_an_institution_record"
        );
        assert_eq!(
            reason(&hospital, &access(&[Role::Reviewer], Some("H1"))),
            "role_missing"
        );
    }

    #[test]
    fn the_reveal_day_starts_at_beijing_midnight() {
        // 2026-01-01 00:00 in Beijing is 2025-12-31 16:00 UTC.
        let midnight = 1_767_225_600_000 - 8 * 3_600_000;
        assert_eq!(beijing_day_start_ms(midnight), midnight);
        assert_eq!(beijing_day_start_ms(midnight + 1), midnight);
        assert_eq!(beijing_day_start_ms(midnight - 1), midnight - 86_400_000);
    }

    #[test]
    fn subjects_name_nobody_in_clear() {
        let subject = Subject::person("P001");
        assert_eq!(subject, Subject::person("P001"));
        assert_ne!(subject, Subject::person("P002"));
        assert!(subject.reference.starts_with("psn:") && !subject.reference.contains("P001"));
        assert_eq!(subject.psn_no(), Some("P001"));
        assert_eq!(Subject::case(12).reference, "case:12");
        assert_eq!(Subject::case(12).psn_no(), None);
        assert_eq!(Subject::record("appeal", 3).reference, "appeal:3");
    }
}
