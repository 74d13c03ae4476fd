//! The access log, for the security auditor: `GET /api/v1/access-log` (pages of entries),
//! `GET /api/v1/access-log/verify` (the whole Merkle log against its signed checkpoints),
//! `GET /api/v1/access-log/proof` (an inclusion proof) and `GET /api/v1/access-log/consistency`
//! (a consistency proof). Every read is itself logged.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::{AccessEntry, Decision, Role};

use crate::error::{ApiError, ErrorBody};
use crate::limits::ACCESS_LOG_PAGE_DEFAULT;
use crate::wire::{
    AccessLogEntryView, AccessLogPage, ConsistencyProofView, InclusionProofView, VerifyReport,
};
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify))
        .routes(routes!(proof))
        .routes(routes!(consistency))
}

/// The security auditor (三员) and the legacy auditor role read the log.
const AUDITOR: &[Role] = &[Role::Auditor, Role::SecurityAuditor];

/// Query of `GET /api/v1/access-log`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Entries after this index (default: from the start, index 0).
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
    let after = query.after.unwrap_or(-1);
    if after < -1 {
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

/// Checks the whole log: every leaf against its index, hash and details, the stored subtree
/// hashes, every signed checkpoint's root, and the head. A problem names the first bad leaf
/// (`leaf 3: altered: …`).
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Query of `GET /api/v1/access-log/proof`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The leaf's index.
    pub idx: i64,
    /// The tree size (default: the newest signed checkpoint's).
    pub size: Option<i64>,
}

/// The inclusion proof of one leaf in the tree of `size` leaves, with the leaf, the root and
/// the checkpoint of that size.
#[utoipa::path(get, path = "/api/v1/access-log/proof", tag = "access-log",
    params(ProofQuery),
    responses(
        (status = 200, description = "The proof.", body = InclusionProofView),
        (status = 400, description = "Bad query, or no such leaf in a tree of that size.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an auditor.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn proof(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<ProofQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    checked(&state, &staff, "GET /api/v1/access-log/proof").await?;
    let size = match query.size {
        Some(size) => size,
        None => state
            .store
            .log_checkpoints()
            .await?
            .last()
            .map(|checkpoint| checkpoint.size)
            .ok_or_else(|| ApiError::bad("size", "no checkpoint is signed yet: give a size"))?,
    };
    let proof = state.store.inclusion_proof(query.idx, size).await?;
    Ok(Json(InclusionProofView {
        idx: proof.idx,
        size: proof.size,
        leaf: hex(&proof.leaf),
        hashes: proof.proof.hashes.iter().map(|h| hex(h)).collect(),
        root: hex(&proof.root),
        checkpoint: proof.checkpoint.map(|checkpoint| checkpoint.note),
    }))
}

/// Query of `GET /api/v1/access-log/consistency`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub from: i64,
    /// The newer tree size.
    pub to: i64,
}

/// The consistency proof that the tree of `from` leaves is a prefix of the tree of `to`.
#[utoipa::path(get, path = "/api/v1/access-log/consistency", tag = "access-log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProofView),
        (status = 400, description = "Bad query, or sizes the log does not have.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an auditor.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    checked(&state, &staff, "GET /api/v1/access-log/consistency").await?;
    let proof = state.store.consistency_proof(query.from, query.to).await?;
    Ok(Json(ConsistencyProofView {
        from: query.from,
        to: query.to,
        hashes: proof.hashes.iter().map(|h| hex(h)).collect(),
    }))
}
