//! What opens a person's record to a staff member (spec data-authorization.md §11.2, §11.5):
//! `POST /api/v1/service-sessions` (a counter session for the person present, 30 minutes),
//! `POST /api/v1/break-glass` (two hours without a case, for inspectors and senior reviewers,
//! raising an alarm) and `GET /api/v1/alarms` (the security auditor's alarms). A read then
//! names what opens it with `X-Service-Session`, `X-Break-Glass` or `X-Case` (see
//! [`crate::auth`]).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_privacy::staff::{start_break_glass, BreakGlassReason};
use yibao_privacy::Millis;
use yibao_store::staff_access::{BreakGlassCategory, NewBreakGlass, NewServiceSession};
use yibao_store::{AccessEntry, Decision, Role, StoreError};

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(open_service_session))
        .routes(routes!(break_glass))
        .routes(routes!(alarms))
}

/// Roles that serve a person present at the counter (and read records, §11.1).
const SERVERS: &[Role] = &[
    Role::FrontDesk,
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::FinalReviewer,
    Role::Finance,
];
/// Roles that may ask for break-glass; the privacy engine allows inspectors and senior
/// reviewers (senior clerks) only.
const GLASS_BREAKERS: &[Role] = &[Role::Inspector, Role::SeniorReviewer];
/// Roles that read the alarms (the security audit post).
const ALARM_READERS: &[Role] = &[Role::SecurityAuditor, Role::Auditor];

/// `POST /api/v1/service-sessions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSessionBody {
    /// 人员编号 of the person served, in full.
    pub psn_no: String,
    /// The ID number read from the credential the person showed (must be theirs).
    pub certno: String,
    /// Why the person is served (logged).
    pub reason: String,
}

/// A service session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceSessionView {
    /// What `X-Service-Session` names.
    pub session_id: i64,
    /// The person served.
    pub psn_no: String,
    /// Opened at (UTC ms).
    pub started_at_ms: i64,
    /// Ends at (exclusive, UTC ms): 30 minutes later.
    pub until_ms: i64,
}

/// Opens a service session for a person present: their record is open to the caller for 30
/// minutes under `X-Service-Session`. Logged (`service_session.open`).
#[utoipa::path(post, path = "/api/v1/service-sessions", tag = "access",
    request_body = ServiceSessionBody,
    responses(
        (status = 201, description = "Opened.", body = ServiceSessionView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person.", body = ErrorBody),
        (status = 409, description = "The ID number is not the person's.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn open_service_session(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(body): JsonBody<ServiceSessionBody>,
) -> Result<(StatusCode, Json<ServiceSessionView>), ApiError> {
    let access = Access {
        action: "POST /api/v1/service-sessions",
        roles: SERVERS,
        subject: Subject::person(&body.psn_no),
        institution: None,
    };
    staff.authorize(&state, access.clone()).await?;
    let session = state
        .store
        .open_service_session(
            &NewServiceSession {
                staff_id: staff.id(),
                psn_no: body.psn_no.clone(),
                certno: body.certno,
                reason: body.reason,
            },
            staff.now_ms,
        )
        .await?;
    log(
        &staff,
        &state,
        "service_session.open",
        &access,
        format!("service_session:{}", session.session_id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceSessionView {
            session_id: session.session_id,
            psn_no: session.psn_no,
            started_at_ms: session.started_at_ms,
            until_ms: session.until_ms,
        }),
    ))
}

/// `POST /api/v1/break-glass`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassBody {
    /// 人员编号, in full.
    pub psn_no: String,
    /// `urgent_medical`, `fraud_in_progress` or `court_or_police`.
    pub category: String,
    /// The court's or police's document number (required for `court_or_police`).
    pub document_no: Option<String>,
    /// Why, in words (required; shown to the auditor and in the person's safe box).
    pub reason: String,
}

/// A break-glass grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BreakGlassView {
    /// What `X-Break-Glass` names.
    pub glass_id: i64,
    /// The person.
    pub psn_no: String,
    /// The reason category.
    pub category: String,
    /// From (UTC ms).
    pub started_at_ms: i64,
    /// Until (exclusive, UTC ms): two hours later.
    pub until_ms: i64,
}

/// Breaks the glass (紧急访问, §11.5): read access to one person without a case for two hours,
/// for inspectors and senior reviewers, with a reason. Raises an alarm for the security
/// auditor, is logged (`break_glass.start`) and shows in the person's safe box.
#[utoipa::path(post, path = "/api/v1/break-glass", tag = "access",
    request_body = BreakGlassBody,
    responses(
        (status = 201, description = "Granted; the alarm is raised.", body = BreakGlassView),
        (status = 400, description = "Bad input: an unknown category, no reason, no document number.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn break_glass(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(body): JsonBody<BreakGlassBody>,
) -> Result<(StatusCode, Json<BreakGlassView>), ApiError> {
    let category = BreakGlassCategory::parse(body.category.trim()).ok_or_else(|| {
        ApiError::bad(
            "category",
            "must be urgent_medical, fraud_in_progress or court_or_police",
        )
    })?;
    let document_no = body.document_no.unwrap_or_default();
    let access = Access {
        action: "POST /api/v1/break-glass",
        roles: GLASS_BREAKERS,
        subject: Subject::person(&body.psn_no),
        institution: None,
    };
    staff.authorize(&state, access.clone()).await?;
    let reason = match category {
        BreakGlassCategory::UrgentMedical => BreakGlassReason::UrgentMedical,
        BreakGlassCategory::FraudInProgress => BreakGlassReason::FraudInProgress,
        BreakGlassCategory::CourtOrPolice => BreakGlassReason::CourtOrPolice(document_no.clone()),
    };
    let roles: Vec<_> = staff.account.roles.iter().map(|r| r.privacy()).collect();
    let grant = start_break_glass(
        &staff.account.username,
        &roles,
        &access.subject.reference,
        reason,
        &body.reason,
        Millis(staff.now_ms),
    )
    .map_err(|err| {
        let field = if matches!(category, BreakGlassCategory::CourtOrPolice)
            && document_no.trim().is_empty()
        {
            "document_no"
        } else {
            "reason"
        };
        ApiError::bad(field, err.to_string())
    })?;
    let event = state
        .store
        .record_break_glass(&NewBreakGlass {
            staff_id: staff.id(),
            psn_no: body.psn_no,
            category,
            document_no,
            reason: grant.text,
            started_at_ms: grant.started.0,
            until_ms: grant.until.0,
        })
        .await?;
    log(
        &staff,
        &state,
        "break_glass.start",
        &access,
        format!("break_glass:{}; {}", event.glass_id, category.code()),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(BreakGlassView {
            glass_id: event.glass_id,
            psn_no: event.psn_no,
            category: event.category.code().to_owned(),
            started_at_ms: event.started_at_ms,
            until_ms: event.until_ms,
        }),
    ))
}

/// Query of `GET /api/v1/alarms`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AlarmsQuery {
    /// Alarms after this number (default 0: from the first).
    pub after: Option<i64>,
    /// How many at most (default and cap 500).
    pub limit: Option<i64>,
}

/// An alarm for the security auditor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlarmView {
    /// Its number.
    pub alarm_id: i64,
    /// When (UTC ms).
    pub at_ms: i64,
    /// What raised it (`break_glass`).
    pub kind: String,
    /// The staff member whose action raised it.
    pub staff_id: i64,
    /// Whose record (a reference, never a person's number in clear).
    pub subject_ref: String,
    /// The record that raised it (a break-glass `glass_id`).
    pub ref_id: i64,
    /// What happened.
    pub detail: String,
}

/// The security alarms, oldest first (the security auditor).
#[utoipa::path(get, path = "/api/v1/alarms", tag = "access",
    params(AlarmsQuery),
    responses(
        (status = 200, description = "The alarms.", body = Vec<AlarmView>),
        (status = 400, description = "A bad query.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not a security auditor (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn alarms(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<AlarmsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AlarmView>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    let access = Access {
        action: "GET /api/v1/alarms",
        roles: ALARM_READERS,
        subject: Subject::none(),
        institution: None,
    };
    staff.authorize(&state, access).await?;
    let alarms = state
        .store
        .security_alarms(
            query.after.unwrap_or(0),
            query
                .limit
                .unwrap_or(yibao_store::staff_access::ALARMS_PAGE_MAX),
        )
        .await?;
    Ok(Json(
        alarms
            .into_iter()
            .map(|a| AlarmView {
                alarm_id: a.alarm_id,
                at_ms: a.at_ms,
                kind: a.kind,
                staff_id: a.staff_id,
                subject_ref: a.subject_ref,
                ref_id: a.ref_id,
                detail: a.detail,
            })
            .collect(),
    ))
}

/// Appends a permitted access event (what opened a record) to the access log.
async fn log(
    staff: &Staff,
    state: &SharedState,
    event: &str,
    access: &Access<'_>,
    reason: String,
) -> Result<(), ApiError> {
    state
        .store
        .log_access(&AccessEntry {
            ts_ms: staff.now_ms,
            event: event.to_owned(),
            staff_id: Some(staff.id()),
            action: access.action.to_owned(),
            subject_ref: access.subject.reference.clone(),
            purpose: String::new(),
            decision: Decision::Permit,
            reason: reason
                .chars()
                .take(yibao_store::limits::LOG_FIELD_CHARS_MAX)
                .collect(),
        })
        .await
        .map_err(|err: StoreError| err.into())
        .map(|_| ())
}
