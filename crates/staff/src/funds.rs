//! The funds for staff (issue 14, guide `docs/FUNDS.md`): the month's statements, payment runs
//! and their orders (finance officers and reviewers read them), and the two steps of a run —
//! one finance officer prepares it, another approves it and only then is money posted.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(statements))
        .routes(routes!(runs, prepare))
        .routes(routes!(orders))
        .routes(routes!(approve))
        .routes(routes!(record_interest))
        .routes(routes!(set_budget))
}

/// Roles that read the funds' books.
const READERS: &[Role] = &[Role::Finance, Role::Reviewer, Role::Auditor];
/// Roles that prepare and approve payment runs.
const PAYERS: &[Role] = &[Role::Finance];

/// The region file a run is prepared with (the demo region's, as `yibao month-end` uses by
/// default).
const REGION: &str = include_str!("../../../regions/demo.toml");

/// Query with a month.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// The month, `YYYY-MM`.
    pub month: String,
}

/// One fund's month: amounts in yuan with two decimals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FundRow {
    /// Fund code.
    pub fund: String,
    /// Region.
    pub admdvs: String,
    /// Balance at the month's start.
    pub opening: String,
    /// Net income in the month.
    pub income: String,
    /// What settlements paid, net of reversals.
    pub expenditure: String,
    /// What the payment run added or withheld.
    pub adjustments: String,
    /// opening + income − expenditure − adjustments (equals the ledger).
    pub closing: String,
    /// Months of expenditure the closing balance covers.
    pub months_covered: Option<String>,
    /// Year-to-date expenditure / the year's budget.
    pub execution_rate: Option<String>,
}

/// `{"funds": [...]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementView {
    /// One row per fund and region.
    pub funds: Vec<FundRow>,
}

fn yuan(fen: i64) -> String {
    yibao_funds::statement::yuan(fen)
}

fn month_of(
    query: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<String, ApiError> {
    let Query(q) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    yibao_store::funds::month_bounds(&q.month)?;
    Ok(q.month)
}

/// The funds' statement of a month, checked against the ledger.
#[utoipa::path(get, path = "/api/v1/funds/statements", tag = "funds",
    params(MonthQuery),
    responses(
        (status = 200, description = "The statement.", body = StatementView),
        (status = 400, description = "A bad month.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn statements(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatementView>, ApiError> {
    let month = month_of(query)?;
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/funds/statements",
                roles: READERS,
                subject: Subject::record("funds", &month),
                institution: None,
            },
        )
        .await?;
    let rows = state.store.fund_statement(&month).await?;
    Ok(Json(StatementView {
        funds: rows
            .iter()
            .map(|r| FundRow {
                fund: r.month.fund.clone(),
                admdvs: r.month.admdvs.clone(),
                opening: yuan(r.month.opening),
                income: yuan(r.month.income),
                expenditure: yuan(r.month.expenditure),
                adjustments: yuan(r.month.adjustments),
                closing: yuan(r.month.closing),
                months_covered: r.months_covered.clone(),
                execution_rate: r.execution_rate.clone(),
            })
            .collect(),
    }))
}

/// A payment run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    /// `pay:ADMDVS:YYYY-MM`.
    pub run_id: String,
    /// The treating region.
    pub admdvs: String,
    /// The month.
    pub month: String,
    /// `drg`, `dip` or `ffs`.
    pub method: String,
    /// Who prepared it.
    pub prepared_by: String,
    /// Who approved it (absent: nothing paid yet).
    pub approved_by: Option<String>,
    /// Payment due date.
    pub pay_by: String,
    /// Settlements and reversals paid.
    pub settlements: i64,
    /// Cases priced by points.
    pub cases: i64,
    /// Inpatient settlements waiting for their settlement list.
    pub held: i64,
    /// Fen per point (4 decimals), when cases were priced.
    pub point_value: Option<String>,
    /// What the banks pay, yuan.
    pub paid: String,
    /// The year-end run (true-up, holdback release).
    pub year_end: bool,
}

fn run_view(r: &yibao_store::funds::RunSummary) -> RunView {
    RunView {
        run_id: r.run_id.clone(),
        admdvs: r.admdvs.clone(),
        month: r.month.clone(),
        method: r.method.clone(),
        prepared_by: r.prepared_by.clone(),
        approved_by: r.approved_by.clone(),
        pay_by: r.pay_by.clone(),
        settlements: r.n_settlements,
        cases: r.n_cases,
        held: r.n_held,
        point_value: r.point_value(),
        paid: yuan(r.total_fen),
        year_end: r.year_end,
    }
}

/// The payment runs of a month, every region.
#[utoipa::path(get, path = "/api/v1/funds/payment-runs", tag = "funds",
    params(MonthQuery),
    responses(
        (status = 200, description = "The runs.", body = [RunView]),
        (status = 400, description = "A bad month.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn runs(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let month = month_of(query)?;
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/funds/payment-runs",
                roles: READERS,
                subject: Subject::record("payment_run", &month),
                institution: None,
            },
        )
        .await?;
    let runs = state.store.payment_runs(&month).await?;
    Ok(Json(runs.iter().map(run_view).collect()))
}

/// `POST /api/v1/funds/payment-runs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    /// The treating region (six digits).
    pub admdvs: String,
    /// The month, `YYYY-MM`.
    pub month: String,
}

/// Prepares the payment run of a region and month (finance): nothing is paid until another
/// finance officer approves it. Preparing again returns the run as it is.
#[utoipa::path(post, path = "/api/v1/funds/payment-runs", tag = "funds",
    request_body = PrepareBody,
    responses(
        (status = 200, description = "The run, prepared now or before.", body = RunView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 409, description = "An earlier run awaits approval, or a later month is run.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn prepare(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(body): JsonBody<PrepareBody>,
) -> Result<Json<RunView>, ApiError> {
    if body.admdvs.len() != 6 || !body.admdvs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad("admdvs", "must be six digits"));
    }
    yibao_store::funds::month_bounds(&body.month)?;
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/funds/payment-runs",
                roles: PAYERS,
                subject: Subject::record(
                    "payment_run",
                    yibao_store::funds::run_id(&body.admdvs, &body.month),
                ),
                institution: None,
            },
        )
        .await?;
    let request = yibao_store::funds::PrepareRun::from_region_text(
        &body.admdvs,
        &body.month,
        &staff.account.username,
        REGION,
        staff.beijing(),
    )?;
    let run = state.store.prepare_payment_run(&request).await?;
    Ok(Json(run_view(&run)))
}

/// Approves a prepared run and posts its payment orders (finance; not who prepared it).
#[utoipa::path(post, path = "/api/v1/funds/payment-runs/{run_id}/approval", tag = "funds",
    params(("run_id" = String, Path, description = "`pay:ADMDVS:YYYY-MM`.")),
    responses(
        (status = 200, description = "The run, paid.", body = RunView),
        (status = 400, description = "No such run.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 409, description = "Approved before, or by who prepared it.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<SharedState>,
    staff: Staff,
    Path(run_id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/funds/payment-runs/{run_id}/approval",
                roles: PAYERS,
                subject: Subject::record("payment_run", &run_id),
                institution: None,
            },
        )
        .await?;
    let run = state
        .store
        .approve_payment_run(&run_id, &staff.account.username, staff.beijing())
        .await?;
    Ok(Json(run_view(&run)))
}

/// One institution's order with its lines.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    /// The institution.
    pub fixmedins_code: String,
    /// Its name.
    pub fixmedins_name: String,
    /// Owed by funds for its settlements, yuan.
    pub owed: String,
    /// DRG/DIP adjustments and true-up, yuan.
    pub drg: String,
    /// Recoveries deducted, yuan.
    pub recovery: String,
    /// Holdback withheld net of releases, yuan.
    pub holdback: String,
    /// Paid by the banks, yuan.
    pub paid: String,
    /// The lines with their traces.
    pub lines: Vec<LineView>,
}

/// One line of an order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    /// `ffs`, `drg`, `true_up`, `recovery`, `holdback`, `holdback_release`, `counter`, `bank`,
    /// `clearing`.
    pub kind: String,
    /// The ledger account on the other side.
    pub account: String,
    /// Yuan.
    pub amount: String,
    /// Where it comes from.
    pub trace: String,
}

/// The orders of a run, each with its lines and their traces.
#[utoipa::path(get, path = "/api/v1/funds/payment-runs/{run_id}/orders", tag = "funds",
    params(("run_id" = String, Path, description = "`pay:ADMDVS:YYYY-MM`.")),
    responses(
        (status = 200, description = "The orders.", body = [OrderView]),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn orders(
    State(state): State<SharedState>,
    staff: Staff,
    Path(run_id): Path<String>,
) -> Result<Json<Vec<OrderView>>, ApiError> {
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/funds/payment-runs/{run_id}/orders",
                roles: READERS,
                subject: Subject::record("payment_run", &run_id),
                institution: None,
            },
        )
        .await?;
    let orders = state.store.payment_orders(&run_id).await?;
    let lines = state.store.payment_lines(&run_id).await?;
    Ok(Json(
        orders
            .iter()
            .map(|o| OrderView {
                fixmedins_code: o.fixmedins_code.clone(),
                fixmedins_name: o.fixmedins_name.clone(),
                owed: yuan(o.owed_fen),
                drg: yuan(o.drg_fen),
                recovery: yuan(o.recovery_fen),
                holdback: yuan(o.holdback_fen),
                paid: yuan(o.paid_fen),
                lines: lines
                    .iter()
                    .filter(|l| l.fixmedins_code == o.fixmedins_code)
                    .map(|l| LineView {
                        kind: l.kind.clone(),
                        account: l.account.clone(),
                        amount: yuan(l.amount_fen),
                        trace: l.trace.clone(),
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// Interest the bank credited to a fund for a month, from its statement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestBody {
    /// The fund (`310100` …).
    pub fund: String,
    /// Its region (six digits).
    pub admdvs: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The interest in yuan (`1234.56`).
    pub amount: String,
}

/// Interest recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterestView {
    /// The fund.
    pub fund: String,
    /// Its region.
    pub admdvs: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Yuan.
    pub amount: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// The ledger reference (`int:FUND:ADMDVS:YYYY-MM`).
    pub ref_id: String,
    /// Recorded by this call (false: it was already, with the same amount).
    pub fresh: bool,
}

fn amount_fen(amount: &str) -> Result<i64, ApiError> {
    yibao_core_types::Fen::parse(amount)
        .map(|f| f.0)
        .map_err(|e| ApiError::bad("amount", e.to_string()))
}

/// Records a month's interest on a fund and posts it as the fund's income (finance; once per
/// fund, region and month).
#[utoipa::path(post, path = "/api/v1/funds/interest", tag = "funds",
    request_body = InterestBody,
    responses(
        (status = 200, description = "Recorded now or before with the same amount.", body = InterestView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 409, description = "Recorded before with another amount, or a month not begun.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn record_interest(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(body): JsonBody<InterestBody>,
) -> Result<Json<InterestView>, ApiError> {
    let amount = amount_fen(&body.amount)?;
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/funds/interest",
                roles: PAYERS,
                subject: Subject::record(
                    "fund_interest",
                    format!("{}:{}:{}", body.fund, body.admdvs, body.month),
                ),
                institution: None,
            },
        )
        .await?;
    let r = state
        .store
        .record_interest(
            &body.fund,
            &body.admdvs,
            &body.month,
            amount,
            &staff.account.username,
            staff.beijing(),
        )
        .await?;
    Ok(Json(InterestView {
        amount: yuan(r.amount_fen),
        fund: r.fund,
        admdvs: r.admdvs,
        month: r.month,
        recorded_by: r.recorded_by,
        ref_id: r.ref_id,
        fresh: r.fresh,
    }))
}

/// A fund's annual budget, or the region's DRG/DIP budget (fund `drg`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    /// A fund code (six digits), or `drg` for the pool inpatient cases are paid from by points.
    pub fund: String,
    /// Its region (six digits).
    pub admdvs: String,
    /// The year.
    pub year: i32,
    /// The annual amount in yuan (`1200000.00`).
    pub amount: String,
}

/// Sets a budget (finance; a new version, the latest counts). The DRG/DIP budget sets each
/// month's pool and the year's true-up; a fund's budget gives its execution rate.
#[utoipa::path(post, path = "/api/v1/funds/budgets", tag = "funds",
    request_body = BudgetBody,
    responses(
        (status = 204, description = "Set."),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_budget(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(body): JsonBody<BudgetBody>,
) -> Result<axum::http::StatusCode, ApiError> {
    let amount = amount_fen(&body.amount)?;
    if !(2000..=2100).contains(&body.year) {
        return Err(ApiError::bad("year", "is not 2000 to 2100"));
    }
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/funds/budgets",
                roles: PAYERS,
                subject: Subject::record(
                    "fund_budget",
                    format!("{}:{}:{}", body.fund, body.admdvs, body.year),
                ),
                institution: None,
            },
        )
        .await?;
    state
        .store
        .set_fund_budget(
            &body.fund,
            &body.admdvs,
            body.year,
            amount,
            &staff.account.username,
            staff.beijing(),
        )
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
