//! Who is calling and what they may do: the [`Staff`] extractor (a valid bearer session), the
//! [`Purpose`] extractor (why a person's data is read), and [`Staff::authorize_read`] /
//! [`Staff::authorize`], which check the roles (and an institution user's institution) and
//! write the access log entry in one call. See the crate docs for how a handler uses them.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use yibao_store::staff::subject_ref_psn;
use yibao_store::{AccessEntry, Decision, Role, SessionCheck, StaffAccount};

use crate::error::ApiError;
use crate::SharedState;

/// The header that carries the purpose of a read (`purpose` in the query string also works).
pub const PURPOSE_HEADER: &str = "X-Purpose";

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
    /// the roles and institution as [`Staff::authorize`], then an access log entry (event
    /// `data.read`) with the subject, the action and the purpose, permitted or denied.
    pub async fn authorize_read(
        &self,
        state: &SharedState,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> Result<(), ApiError> {
        let decided = self.decide(&access);
        let (decision, reason) = match &decided {
            Ok(()) => (Decision::Permit, ""),
            Err((reason, _)) => (Decision::Deny, *reason),
        };
        self.log(state, "data.read", &access, &purpose.0, decision, reason)
            .await?;
        decided.map_err(|(_, err)| err)
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
                subject_ref: access.subject.0.clone(),
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
pub struct Subject(pub String);

impl Subject {
    /// A person, by `psn_no` (logged as its SM3 reference).
    pub fn person(psn_no: &str) -> Self {
        Self(subject_ref_psn(psn_no))
    }

    /// An audit case.
    pub fn case(case_id: impl std::fmt::Display) -> Self {
        Self(format!("case:{case_id}"))
    }

    /// Any other record: `kind:id` (an appeal, a staff account …).
    pub fn record(kind: &str, id: impl std::fmt::Display) -> Self {
        Self(format!("{kind}:{id}"))
    }

    /// No subject (a list without a person, the log itself).
    pub fn none() -> Self {
        Self(String::new())
    }
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

/// Why a person's data is read: one of [`PURPOSES`], from the `X-Purpose` header or the
/// `purpose` query field. Required by every endpoint that reads a person's data; absent or
/// unknown, the request is refused with 400 before anything is read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let from_header = parts
            .headers
            .get(PURPOSE_HEADER)
            .map(|value| value.to_str().unwrap_or("").trim().to_owned());
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
        let Some(code) = from_header.or(from_query) else {
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
        Ok(Purpose(code))
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
    fn subjects_name_nobody_in_clear() {
        let subject = Subject::person("P001");
        assert!(subject.0.starts_with("psn:") && !subject.0.contains("P001"));
        assert_eq!(subject, Subject::person("P001"));
        assert_ne!(subject, Subject::person("P002"));
        assert_eq!(Subject::case(12).0, "case:12");
        assert_eq!(Subject::record("appeal", 3).0, "appeal:3");
    }
}
