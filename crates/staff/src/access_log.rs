//! The access log, for the security auditor: `GET /api/v1/access-log` (pages of entries) and
//! `GET /api/v1/access-log/verify` (the chain check). Both reads are themselves logged.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::{AccessEntry, Decision, Role};

use crate::error::{ApiError, ErrorBody};
use crate::limits::ACCESS_LOG_PAGE_DEFAULT;
use crate::wire::{AccessLogEntryView, AccessLogPage, VerifyReport};
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify))
}

const AUDITOR: &[Role] = &[Role::Auditor];

/// Query of `GET /api/v1/access-log`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Entries after this index (default 0: from the start).
    pub after: Option<i64>,
    /// Entries at most (default 100, at most 500).
    pub limit: Option<i64>,
}

async fn checked(state: &SharedState, staff: &Staff, action: &'static str) -> Result<(), ApiError> {
    let access = Access {
        action,
        roles: AUDITOR,
        subject: Subject::none(),
        institution: None,
    };
    staff.authorize(state, access).await?;
    state
        .store
        .log_access(&AccessEntry {
            ts_ms: staff.now_ms,
            event: "log.read".to_owned(),
            staff_id: Some(staff.id()),
            action: action.to_owned(),
            subject_ref: String::new(),
            purpose: "internal_audit".to_owned(),
            decision: Decision::Permit,
            reason: String::new(),
        })
        .await?;
    Ok(())
}

/// A page of the access log, in order.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "access-log",
    params(PageQuery),
    responses(
        (status = 200, description = "The entries.", body = AccessLogPage),
        (status = 400, description = "Bad query.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an auditor.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AccessLogPage>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad("after", "must not be negative"));
    }
    let limit = query.limit.unwrap_or(ACCESS_LOG_PAGE_DEFAULT);
    if !(1..=yibao_store::limits::ACCESS_LOG_PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad(
            "limit",
            format!("must be 1–{}", yibao_store::limits::ACCESS_LOG_PAGE_MAX),
        ));
    }
    checked(&state, &staff, "GET /api/v1/access-log").await?;
    let rows = state.store.access_log(after, limit).await?;
    let next_after = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|row| row.idx))
        .flatten();
    Ok(Json(AccessLogPage {
        entries: rows.iter().map(AccessLogEntryView::from).collect(),
        next_after,
    }))
}

/// Checks the whole log: every row against its leaf hash and the chain, indexes without gaps,
/// and the head against the last row.
#[utoipa::path(get, path = "/api/v1/access-log/verify", tag = "access-log",
    responses(
        (status = 200, description = "The check (`intact` false names the first problem).", body = VerifyReport),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an auditor.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<Json<VerifyReport>, ApiError> {
    checked(&state, &staff, "GET /api/v1/access-log/verify").await?;
    let report = state.store.verify_access_log().await?;
    Ok(Json(VerifyReport::from(&report)))
}
