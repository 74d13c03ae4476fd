//! Monthly clearing for staff (issue 14, deliver 1): the month's lines per institution ×
//! scheme × clearing type with the bureau's totals (net of reversals) and where each
//! institution's application (3203/3204) stands — what the month end clears
//! ([`yibao_store::Store::clearing_month`]). Institutions' totals, no person's data: authorized
//! and, when refused, logged as an access to the clearing of the month.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::clearing::{ClearingApplication, ClearingRow};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(clearing_month))
}

/// Roles that read the month's clearing.
const READERS: &[Role] = &[Role::Finance, Role::Reviewer];

/// Query of `GET /api/v1/funds/clearing`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClearingQuery {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// One region's institutions only (`admdvs`, six digits).
    pub admdvs: Option<String>,
}

/// One line: an institution, scheme and clearing type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClearingLineView {
    /// The institution (`fixmedins_code`).
    pub fixmedins_code: String,
    /// Its name.
    pub fixmedins_name: String,
    /// Its region.
    pub admdvs: String,
    /// The scheme (`insutype`).
    pub insutype: String,
    /// The clearing type (`clr_type`).
    pub clr_type: String,
    /// The bureau's 医疗费总额 of the month, in fen.
    pub medfee_sumamt_fen: i64,
    /// The bureau's 基金支付总额, in fen.
    pub fund_pay_sumamt_fen: i64,
    /// The bureau's 个人账户支出, in fen.
    pub acct_pay_fen: i64,
    /// The bureau's 现金支付, in fen.
    pub cash_pay_fen: i64,
    /// The bureau's 医院负担, in fen.
    pub hosp_part_fen: i64,
    /// Settlements in the month.
    pub settlements: i64,
    /// Reversals in the month.
    pub reversals: i64,
    /// `none`, `accepted` or `withdrawn`.
    pub status: String,
    /// The latest application, when there is one.
    pub application: Option<ApplicationView>,
}

/// An institution's application (3203) as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    /// 清算申请事件ID.
    pub clr_appy_evt_id: String,
    /// The 3203 message.
    pub msgid: String,
    /// Who sent it (`opter`).
    pub opter: String,
    /// The operator's name.
    pub opter_name: String,
    /// When it was accepted (Beijing time, `YYYY-MM-DD HH:MM:SS`).
    pub accepted_at: String,
    /// Declared 医疗费总额, in fen.
    pub medfee_sumamt_fen: i64,
    /// Declared 基金支付总额, in fen.
    pub fund_pay_sumamt_fen: i64,
    /// Declared 个人账户支出, in fen.
    pub acct_pay_fen: i64,
    /// Declared settlement count.
    pub fixmedins_setl_cnt: i64,
    /// The payment run that paid it, once paid.
    pub locked_by_run: Option<String>,
    /// When it was withdrawn (3204), if it was.
    pub withdrawn_at: Option<String>,
}

/// The month's clearing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClearingMonthView {
    /// The month.
    pub month: String,
    /// The region asked for, if any.
    pub admdvs: Option<String>,
    /// A line per institution × scheme × clearing type, by institution.
    pub lines: Vec<ClearingLineView>,
}

fn time(at: &chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn application_view(a: &ClearingApplication) -> ApplicationView {
    ApplicationView {
        clr_appy_evt_id: a.clr_appy_evt_id.clone(),
        msgid: a.msgid.clone(),
        opter: a.opter.clone(),
        opter_name: a.opter_name.clone(),
        accepted_at: time(&a.created_at),
        medfee_sumamt_fen: a.medfee_sumamt_fen,
        fund_pay_sumamt_fen: a.fund_pay_sumamt_fen,
        acct_pay_fen: a.acct_pay_fen,
        fixmedins_setl_cnt: a.fixmedins_setl_cnt,
        locked_by_run: a.locked_by_run.clone(),
        withdrawn_at: a.withdrawn.as_ref().map(|(_, at)| time(at)),
    }
}

fn line_view(row: &ClearingRow) -> ClearingLineView {
    ClearingLineView {
        fixmedins_code: row.fixmedins_code.clone(),
        fixmedins_name: row.fixmedins_name.clone(),
        admdvs: row.admdvs.clone(),
        insutype: row.insutype.clone(),
        clr_type: row.clr_type.clone(),
        medfee_sumamt_fen: row.totals.medfee_sumamt_fen,
        fund_pay_sumamt_fen: row.totals.fund_pay_sumamt_fen,
        acct_pay_fen: row.totals.acct_pay_fen,
        cash_pay_fen: row.totals.cash_pay_fen,
        hosp_part_fen: row.totals.hosp_part_fen,
        settlements: row.totals.settlements,
        reversals: row.totals.reversals,
        status: row.status.code().to_owned(),
        application: row.application.as_ref().map(application_view),
    }
}

/// The month's clearing: every institution × scheme × clearing type with the bureau's totals and
/// the institution's application.
#[utoipa::path(get, path = "/api/v1/funds/clearing", tag = "funds",
    params(ClearingQuery),
    responses(
        (status = 200, description = "The month's lines.", body = ClearingMonthView),
        (status = 400, description = "A bad month or region.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn clearing_month(
    State(state): State<SharedState>,
    staff: Staff,
    query: Result<Query<ClearingQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ClearingMonthView>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    if let Some(admdvs) = &query.admdvs {
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::bad("admdvs", "must be a six-digit region code"));
        }
    }
    // Checked before the access decision so that a bad request writes nothing.
    yibao_store::clearing::ClearingMonth::parse(&query.month, "month")?;
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/funds/clearing",
                roles: READERS,
                subject: Subject::record("clearing", &query.month),
                institution: None,
            },
        )
        .await?;
    let rows = state
        .store
        .clearing_month(query.admdvs.as_deref(), &query.month)
        .await?;
    Ok(Json(ClearingMonthView {
        month: query.month,
        admdvs: query.admdvs,
        lines: rows.iter().map(line_view).collect(),
    }))
}
