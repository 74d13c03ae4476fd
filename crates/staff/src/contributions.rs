//! Contributions for staff (issue 13, spec enrollment.md §5.6, §10.3): a refund (退费) of one
//! relation's period, by a reviewer or finance, logged with the purpose before the
//! person's contributions are read. The rules are the store's ([`yibao_store::refund`]): only
//! the individual part goes to the person, subsidies are reversed between funds, a period with
//! benefits drawn (or, for residents, a started benefit year the region does not refund) is
//! refused, and a period is refunded once (409).

use std::sync::OnceLock;

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(refund))
}

/// Roles that refund contributions.
const REFUNDERS: &[Role] = &[Role::Reviewer, Role::Finance];

/// The shipped enrollment parameter sets, read once.
fn params() -> Result<&'static yibao_enrollment::ParamSet, ApiError> {
    static PARAMS: OnceLock<Option<yibao_enrollment::ParamSet>> = OnceLock::new();
    PARAMS
        .get_or_init(|| yibao_enrollment::builtin_params().ok())
        .as_ref()
        .ok_or_else(|| {
            ApiError::internal(&yibao_store::StoreError::Invariant(
                "the shipped enrollment parameters do not load".into(),
            ))
        })
}

/// `POST /api/v1/contributions/refunds`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// The person's identity number.
    pub certno: String,
    /// `390` (residents) or `310` (employees).
    pub insutype: String,
    /// `YYYY` (390) or `YYYY-MM` (310).
    pub period: String,
    /// Why (required).
    pub reason: String,
    /// The day the rules are judged on (`YYYY-MM-DD`; default: the request's day, Beijing time).
    pub today: Option<String>,
    /// Execute the duplicate-insurance decision of the period's year (refused unless it ends
    /// this relation and allows the refund).
    #[serde(default)]
    pub from_duplicate: bool,
}

/// A refund written.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    /// The `refund` assessment.
    pub assessment_id: String,
    /// The person.
    pub psn_no: String,
    /// `310` or `390`.
    pub insutype: String,
    /// The period.
    pub period: String,
    /// Paid back to the person, in fen.
    pub to_person_fen: i64,
    /// The account it was paid into.
    pub paid_to: String,
    /// Reversed between funds, never to the person.
    pub reversed: Vec<ReversedLine>,
}

/// A payer line reversed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReversedLine {
    /// `finance_base`, `assistance_fund`, `employer` …
    pub payer: String,
    /// In fen.
    pub amount_fen: i64,
}

/// Refunds one relation's contributions of a period (reviewer or finance): the individual
/// part to the person, the other lines reversed between funds.
#[utoipa::path(post, path = "/api/v1/contributions/refunds", tag = "contributions",
    params(("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = RefundBody,
    responses(
        (status = 200, description = "The refund written.", body = RefundView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person.", body = ErrorBody),
        (status = 409, description = "Refused: refunded before, benefits drawn, the benefit year started, nothing assessed.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    JsonBody(body): JsonBody<RefundBody>,
) -> Result<crate::masking::DataResponse<Json<RefundView>>, ApiError> {
    let now = staff.beijing();
    let today = match &body.today {
        None => now.date(),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::bad("today", format!("`{text}` is not YYYY-MM-DD")))?,
    };
    // The person the refund is about, for the access log (the certno itself is not logged).
    let subject = match state.store.person_info(body.certno.trim()).await {
        Ok(info) => Subject::person(&info.base.psn_no),
        Err(_) => Subject::record("person", "unknown"),
    };
    let reading = staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "POST /api/v1/contributions/refunds",
                roles: REFUNDERS,
                subject,
                institution: None,
            },
        )
        .await?;
    let request = yibao_store::refund::RefundRequest {
        certno: body.certno,
        insutype: body.insutype,
        period: body.period,
        reason: body.reason,
        today,
        actor: format!("staff:{}", staff.id()),
        from_duplicate: body.from_duplicate,
    };
    let done = state
        .store
        .refund_contribution(&request, params()?, now)
        .await?;
    Ok(reading.respond(Json(RefundView {
        assessment_id: done.assessment_id,
        psn_no: done.psn_no,
        insutype: done.insutype,
        period: done.period,
        to_person_fen: done.to_person.0,
        paid_to: reading.show("contribution_refund", "paid_to", &done.paid_to),
        reversed: done
            .reversed
            .into_iter()
            .map(|(payer, amount)| ReversedLine {
                payer,
                amount_fen: amount.0,
            })
            .collect(),
    })))
}
