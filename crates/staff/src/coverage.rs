//! The registry check's coverage report for staff (spec enrollment.md §9.2 step 6): by county,
//! the base population, the insured by scheme, the uninsured by reason, duplicates and the
//! subsidy-category persons enrolled. Counts only, no person's data: authorized and logged as
//! an access to the report, not as a read of persons.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::coverage::CountyCoverage;
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(coverage_report))
}

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
