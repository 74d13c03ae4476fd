//! Settlement lists (医疗保障基金结算清单) for bureau staff: the latest version of each list with
//! its status (4102 `stas_type`) and its quality checks (质控), and the review that approves (2
//! 审核通过) or rejects (3 审核不通过) a submitted list. A list names its person (`psn_no`), so
//! the list needs a purpose and is logged before it is read; a review is logged by the store's
//! append-only status row (who, when, from, to, why).

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::setl_list_status::{ListStatus, QcView, StaffListQuery, StatusChanged};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_setl_lists))
        .routes(routes!(review_setl_list))
}

/// Roles that read the lists.
const READERS: &[Role] = &[Role::Reviewer, Role::Auditor];

/// Roles that review a submitted list.
const REVIEWERS: &[Role] = &[Role::Reviewer];

/// Query of `GET /api/v1/setl-lists`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SetlListsQuery {
    /// Only this institution's lists.
    pub fixmedins_code: Option<String>,
    /// Only lists in this status (`0` 未提交, `1` 已提交, `2` 审核通过, `3` 审核不通过).
    pub status: Option<String>,
    /// Only settlements of this month (`YYYY-MM`).
    pub month: Option<String>,
    /// Rows at most (1–100, default 100).
    pub limit: Option<i64>,
}

/// One problem a quality check found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    /// The rule (`QC01` …).
    pub code: String,
    /// The list's field.
    pub field: String,
    /// `blocking` or `warning`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
}

/// A list (its latest version) with its status and quality checks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SetlListView {
    /// The version's id (清单流水号).
    pub setl_list_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The settlement.
    pub setl_id: String,
    /// The visit.
    pub mdtrt_id: String,
    /// The person (人员编号).
    pub psn_no: String,
    /// The version.
    pub version: i64,
    /// When it was uploaded (Beijing time).
    pub uploaded_at: String,
    /// The settlement's day.
    pub setl_date: String,
    /// `0`–`3`.
    pub status: String,
    /// 未提交, 已提交, 审核通过, 审核不通过.
    pub status_name: String,
    /// The DRG group's status (`grouped`, `ungroupable`, `ambiguous`, `invalid`).
    pub group_status: String,
    /// The DRG (`0000` when none).
    pub drg: String,
    /// True when no blocking problem was found.
    pub qc_passed: bool,
    /// The problems found.
    pub problems: Vec<ProblemView>,
}

fn list_view(v: QcView) -> SetlListView {
    SetlListView {
        setl_list_id: v.setl_list_id,
        fixmedins_code: v.fixmedins_code,
        setl_id: v.setl_id,
        mdtrt_id: v.mdtrt_id,
        psn_no: v.psn_no,
        version: v.version,
        uploaded_at: v.uploaded_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        setl_date: v.setl_date.to_string(),
        status: v.status.code().to_owned(),
        status_name: v.status.name().to_owned(),
        group_status: v.group_status,
        drg: v.drg,
        qc_passed: v.passed,
        problems: v
            .problems
            .into_iter()
            .map(|p| ProblemView {
                code: p.code,
                field: p.field,
                severity: p.severity.as_str().to_owned(),
                message: p.message,
            })
            .collect(),
    }
}

/// `YYYY-MM` as (year, month).
fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let month: u32 = month.parse().ok()?;
    ((1990..=9998).contains(&year) && (1..=12).contains(&month)).then_some((year, month))
}

/// The settlement lists (latest versions), newest first, by institution, status and settlement
/// month (reviewer or auditor). Needs a purpose; logged before the data is read.
#[utoipa::path(get, path = "/api/v1/setl-lists", tag = "setl-lists",
    params(SetlListsQuery,
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The lists, newest first.", body = Vec<SetlListView>),
        (status = 400, description = "A bad filter or no purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_setl_lists(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    query: Result<Query<SetlListsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SetlListView>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    let status = match query.status.as_deref() {
        None => None,
        Some(code) => Some(ListStatus::parse(code).ok_or_else(|| {
            ApiError::bad("status", format!("`{code}` is not a status (0, 1, 2, 3)"))
        })?),
    };
    let month = match query.month.as_deref() {
        None => None,
        Some(text) => Some(
            parse_month(text)
                .ok_or_else(|| ApiError::bad("month", format!("`{text}` is not YYYY-MM")))?,
        ),
    };
    if let Some(code) = &query.fixmedins_code {
        if code.is_empty() || code.chars().count() > 30 {
            return Err(ApiError::bad(
                "fixmedins_code",
                "must be 1 to 30 characters",
            ));
        }
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad("limit", "must be within 1..=100"));
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/setl-lists",
                roles: READERS,
                subject: Subject::record(
                    "setl-list-list",
                    format!(
                        "{}:{}:{}",
                        query.fixmedins_code.as_deref().unwrap_or("*"),
                        query.status.as_deref().unwrap_or("*"),
                        query.month.as_deref().unwrap_or("*")
                    ),
                ),
                institution: None,
            },
        )
        .await?;
    let found = state
        .store
        .setl_lists_for_staff(&StaffListQuery {
            fixmedins_code: query.fixmedins_code,
            status,
            month,
            limit,
        })
        .await?;
    Ok(Json(found.into_iter().map(list_view).collect()))
}

/// `POST /api/v1/setl-lists/{setl_list_id}/review`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `approve` (2 审核通过) or `reject` (3 审核不通过).
    pub decision: String,
    /// Why (required).
    pub reason: String,
}

/// A status change made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusChangeView {
    /// The version reviewed.
    pub setl_list_id: String,
    /// Its settlement.
    pub setl_id: String,
    /// The status before (`1`).
    pub from: String,
    /// The status now (`2` or `3`).
    pub to: String,
    /// When (Beijing time).
    pub changed_at: String,
}

fn change_view(c: StatusChanged) -> StatusChangeView {
    StatusChangeView {
        setl_list_id: c.setl_list_id,
        setl_id: c.setl_id,
        from: c.from.code().to_owned(),
        to: c.to.code().to_owned(),
        changed_at: c.changed_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// Approves or rejects a submitted list version (reviewer): the status becomes 2 or 3, appended
/// with who, when and why. Only the latest version of a submitted (1) list is reviewed.
#[utoipa::path(post, path = "/api/v1/setl-lists/{setl_list_id}/review", tag = "setl-lists",
    params(("setl_list_id" = String, Path, description = "The list version (清单流水号).")),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "The change made.", body = StatusChangeView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such list.", body = ErrorBody),
        (status = 409, description = "The list is not submitted, or not the latest version.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn review_setl_list(
    State(state): State<SharedState>,
    staff: Staff,
    Path(setl_list_id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<Json<StatusChangeView>, ApiError> {
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::bad(
                "decision",
                format!("`{other}` is not approve or reject"),
            ))
        }
    };
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/setl-lists/{setl_list_id}/review",
                roles: REVIEWERS,
                subject: Subject::record("setl_list", &setl_list_id),
                institution: None,
            },
        )
        .await?;
    let changed = state
        .store
        .review_setl_list(
            &setl_list_id,
            approve,
            staff.id(),
            &body.reason,
            staff.beijing(),
        )
        .await?;
    Ok(Json(change_view(changed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_as_yyyy_mm() {
        assert_eq!(parse_month("2026-03"), Some((2026, 3)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-3"), None);
        assert_eq!(parse_month("202603"), None);
        assert_eq!(parse_month("abcd-01"), None);
    }
}
