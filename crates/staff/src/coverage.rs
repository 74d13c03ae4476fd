//! The registry check's coverage report for staff (spec enrollment.md §9.2 step 6): by county,
//! the base population, the insured by scheme, the uninsured by reason, duplicates and the
//! subsidy-category persons enrolled. Counts only, no person's data: authorized and logged as
//! an access to the report, not as a read of persons. And the follow-ups of the uninsured
//! (§9.2 step 5): listed for the county's workers (a read of persons' data: needs a purpose,
//! logged) and closed with a mandatory outcome.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::coverage::{CountyCoverage, Followup, FollowupQuery, FOLLOWUP_OUTCOMES};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::persons::{mask_certno, mask_name};
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(coverage_report))
        .routes(routes!(list_followups))
        .routes(routes!(close_followup))
}

/// Roles that work the follow-ups of the uninsured.
const WORKERS: &[Role] = &[Role::FrontDesk, Role::Reviewer];

/// Roles that read the coverage report.
const READERS: &[Role] = &[Role::FrontDesk, Role::Reviewer, Role::Finance];

/// Query of `GET /api/v1/registry/coverage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// The insurance year (four digits).
    pub year: i32,
}

/// One county's line (or the total's).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CountyView {
    /// The county (`admdvs`), `all` for the total, '' for persons with no known region.
    pub admdvs: String,
    /// Base population.
    pub base: u64,
    /// Insured with an employee relation.
    pub insured_employee: u64,
    /// Insured with a resident relation only.
    pub insured_resident: u64,
    /// Coverage in basis points (1/10,000), rounded down; absent for an empty base.
    pub coverage_bp: Option<u64>,
    /// Uninsured by reason (`lapsed`, `never_insured` …), every reason listed.
    pub uninsured: Vec<ReasonCount>,
    /// Persons insured twice.
    pub duplicate: u64,
    /// Persons holding a category the region subsidises.
    pub category_persons: u64,
    /// Of those, the insured.
    pub category_insured: u64,
}

/// A reason and how many persons have it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    /// The reason's code.
    pub reason: String,
    /// Persons.
    pub persons: u64,
}

/// The report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverageView {
    /// The year.
    pub year: i32,
    /// The reference date (today in Beijing, held inside the year).
    pub reference: String,
    /// A line per county.
    pub counties: Vec<CountyView>,
    /// The counties added up.
    pub total: CountyView,
}

fn county_view(c: &CountyCoverage) -> CountyView {
    CountyView {
        admdvs: c.admdvs.clone(),
        base: c.base,
        insured_employee: c.insured_employee,
        insured_resident: c.insured_resident,
        coverage_bp: c.coverage_bp(),
        uninsured: c
            .uninsured
            .iter()
            .map(|(reason, persons)| ReasonCount {
                reason: (*reason).to_owned(),
                persons: *persons,
            })
            .collect(),
        duplicate: c.duplicate,
        category_persons: c.category_persons,
        category_insured: c.category_insured,
    }
}

/// The coverage report of a year, by county (the registry check run now).
#[utoipa::path(get, path = "/api/v1/registry/coverage", tag = "registry",
    params(CoverageQuery),
    responses(
        (status = 200, description = "The report.", body = CoverageView),
        (status = 400, description = "A bad year.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn coverage_report(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<CoverageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CoverageView>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    if !(1990..=9998).contains(&query.year) {
        return Err(ApiError::bad("year", "must be a year from 1990"));
    }
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/registry/coverage",
                roles: READERS,
                subject: Subject::record("coverage", query.year),
                institution: None,
            },
        )
        .await?;
    let params = yibao_enrollment::builtin_params().map_err(|err| ApiError::internal(&err))?;
    let check = state
        .store
        .registry_check(query.year, staff.beijing().date(), &params)
        .await?;
    Ok(Json(CoverageView {
        year: check.year,
        reference: check.reference.to_string(),
        counties: check.counties.iter().map(county_view).collect(),
        total: county_view(&check.total()),
    }))
}

/// Query of `GET /api/v1/registry/followups`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FollowupsQuery {
    /// The year checked.
    pub year: i32,
    /// One county (`admdvs`) only.
    pub admdvs: Option<String>,
    /// `open` or `closed` (both when absent).
    pub status: Option<String>,
    /// At most this many, oldest first (default 100, at most 500).
    pub limit: Option<usize>,
    /// The purpose, when not sent as the `X-Purpose` header.
    pub purpose: Option<String>,
}

/// A follow-up as staff read it: the person masked, the reason, the outcome once recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowupView {
    /// Its number.
    pub followup_id: i64,
    /// The year checked.
    pub year: i32,
    /// 人员编号, in full (the key for the person's file).
    pub psn_no: String,
    /// The name, masked.
    pub psn_name_masked: String,
    /// The identity number, masked.
    pub certno_masked: String,
    /// The county.
    pub admdvs: String,
    /// The check's reason.
    pub reason: String,
    /// The check's reference date.
    pub reference: String,
    /// When it was opened.
    pub opened_at: String,
    /// `open` or `closed`.
    pub status: String,
    /// The outcome, once closed.
    pub outcome: Option<String>,
    /// The worker's note.
    pub note: Option<String>,
    /// Who closed it.
    pub closed_by: Option<i64>,
    /// When.
    pub closed_at: Option<String>,
}

fn followup_view(f: Followup) -> FollowupView {
    let (outcome, note, closed_by, closed_at) = match f.outcome {
        Some(o) => (
            Some(o.outcome),
            Some(o.note),
            Some(o.staff_id),
            Some(o.recorded_at),
        ),
        None => (None, None, None, None),
    };
    FollowupView {
        followup_id: f.followup_id,
        year: f.year,
        psn_no: f.psn_no,
        psn_name_masked: mask_name(&f.psn_name),
        certno_masked: mask_certno(&f.certno),
        admdvs: f.admdvs,
        reason: f.reason,
        reference: f.reference,
        opened_at: f.opened_at,
        status: if outcome.is_some() { "closed" } else { "open" }.to_owned(),
        outcome,
        note,
        closed_by,
        closed_at,
    }
}

/// The follow-ups of the uninsured of a year (opened by `yibao registry check
/// --open-followups`). Needs a purpose; logged before the data is read.
#[utoipa::path(get, path = "/api/v1/registry/followups", tag = "registry",
    params(FollowupsQuery,
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The follow-ups, oldest first.", body = Vec<FollowupView>),
        (status = 400, description = "A bad filter or no purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_followups(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    query: Result<Query<FollowupsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<FollowupView>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    if !(1990..=9998).contains(&query.year) {
        return Err(ApiError::bad("year", "must be a year from 1990"));
    }
    let open = match query.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return Err(ApiError::bad(
                "status",
                format!("`{other}` is not open or closed"),
            ))
        }
    };
    if let Some(admdvs) = &query.admdvs {
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::bad("admdvs", "must be a six-digit region code"));
        }
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/registry/followups",
                roles: WORKERS,
                subject: Subject::record(
                    "coverage-followup-list",
                    format!("{}:{}", query.year, query.admdvs.as_deref().unwrap_or("*")),
                ),
                institution: None,
            },
        )
        .await?;
    let found = state
        .store
        .followups(&FollowupQuery {
            year: query.year,
            admdvs: query.admdvs,
            open,
            limit: query.limit.unwrap_or(100),
        })
        .await?;
    Ok(Json(found.into_iter().map(followup_view).collect()))
}

/// Body of `POST /api/v1/registry/followups/{followup_id}/outcome`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    /// `enrolled`, `insured_elsewhere`, `refused`, `working_abroad`, `commercial_only`,
    /// `moved`, `dead` or `other`.
    pub outcome: String,
    /// What the worker found; required with `other`.
    #[serde(default)]
    pub note: String,
}

/// Closes a follow-up with the grid worker's outcome (once; an outcome is mandatory). Needs a
/// purpose; logged.
#[utoipa::path(post, path = "/api/v1/registry/followups/{followup_id}/outcome", tag = "registry",
    params(("followup_id" = i64, Path, description = "The follow-up."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = OutcomeBody,
    responses(
        (status = 200, description = "The follow-up, closed.", body = FollowupView),
        (status = 400, description = "Bad input, named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such follow-up.", body = ErrorBody),
        (status = 409, description = "Closed before.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn close_followup(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(followup_id): Path<i64>,
    JsonBody(body): JsonBody<OutcomeBody>,
) -> Result<Json<FollowupView>, ApiError> {
    if !FOLLOWUP_OUTCOMES.contains(&body.outcome.as_str()) {
        return Err(ApiError::bad(
            "outcome",
            format!(
                "`{}` is not one of {}",
                body.outcome,
                FOLLOWUP_OUTCOMES.join(", ")
            ),
        ));
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "POST /api/v1/registry/followups/{followup_id}/outcome",
                roles: WORKERS,
                subject: Subject::record("coverage-followup", followup_id),
                institution: None,
            },
        )
        .await?;
    let closed = state
        .store
        .close_followup(
            followup_id,
            &body.outcome,
            &body.note,
            staff.id(),
            staff.beijing(),
        )
        .await?;
    Ok(Json(followup_view(closed)))
}
