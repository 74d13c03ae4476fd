//! Smart audit for staff (issue 12): the rules and knowledge, the review of findings (cases,
//! decisions, appeals) and the reports (the funnel, each rule's precision).
//!
//! - Cases are opened from the findings settlements recorded (`POST /api/v1/audit/cases/open`).
//! - 初审, 复审 and 终审 are decided by the reviewer, senior reviewer and final reviewer roles,
//!   three different people (the store refuses a second decision by the same account, 409).
//! - An institution's user lists and reads only its own institution's cases and appeals them
//!   (`POST …/appeals`) within the region's deadline.
//! - Every read of a case (a person's data) needs a purpose and is logged; amounts are yuan
//!   strings with two decimals, exact.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_audit::review::{CaseState, Step, Verdict};
use yibao_core_types::Fen;
use yibao_store::review::{CaseFilter, CaseSummary, CaseView, Decision};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules))
        .routes(routes!(open_cases))
        .routes(routes!(list_cases))
        .routes(routes!(get_case))
        .routes(routes!(decide))
        .routes(routes!(appeal))
        .routes(routes!(report))
}

/// Roles that review cases.
const REVIEWERS: &[Role] = &[Role::Reviewer, Role::SeniorReviewer, Role::FinalReviewer];
/// Roles that read cases: the reviewers, the auditor, and an institution's user (its own only).
const CASE_READERS: &[Role] = &[
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::FinalReviewer,
    Role::Auditor,
    Role::Institution,
];
/// Roles that read the rules and the reports (no person's data).
const REPORT_READERS: &[Role] = &[
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::FinalReviewer,
    Role::Auditor,
    Role::Finance,
    Role::Admin,
];

/// Yuan text with two decimals.
fn yuan(fen: Fen) -> String {
    let sign = if fen.0 < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.0.abs() / 100, fen.0.abs() % 100)
}

/// A rule as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// Our rule id.
    pub rule_id: String,
    /// The national rule code, when it has one.
    pub national_code: Option<String>,
    /// The rule's name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// POL, PRC, MED, MGT, BHV or STA.
    pub category: String,
    /// 1 明确违规, 2 高度可疑, 3 轻度可疑.
    pub sev_deg: u8,
    /// `before`, `during`, `after`.
    pub phases: Vec<String>,
    /// The knowledge tables it reads.
    pub knowledge: Vec<String>,
    /// The executor kind.
    pub executor: String,
    /// The basis quoted in findings.
    pub vola_evid: String,
    /// In force from.
    pub begn_date: String,
    /// In force until (inclusive), when it ends.
    pub end_date: Option<String>,
    /// The penalty multiple on a confirmed amount (`"0"` when none).
    pub penalty_multiple: String,
}

/// The rules in force, with their penalties.
#[utoipa::path(get, path = "/api/v1/audit/rules", tag = "audit",
    responses(
        (status = 200, description = "Every rule.", body = Vec<RuleView>),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_rules(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/audit/rules",
                roles: REPORT_READERS,
                subject: Subject::none(),
                institution: None,
            },
        )
        .await?;
    // The store's copies, loaded once per process.
    let base = yibao_store::audit::base()?;
    let penalties = yibao_store::review::penalties()?;
    Ok(Json(
        base.rules
            .rules
            .iter()
            .map(|rule| RuleView {
                rule_id: rule.rule_id.clone(),
                national_code: rule.national_code.clone(),
                name: rule.name.clone(),
                version: rule.version,
                category: rule.category.code().to_owned(),
                sev_deg: rule.sev_deg.get(),
                phases: rule.phases.iter().map(|p| p.code().to_owned()).collect(),
                knowledge: rule.knowledge.iter().map(|t| t.name().to_owned()).collect(),
                executor: rule.executor.kind().to_owned(),
                vola_evid: rule.vola_evid.clone(),
                begn_date: rule.begn_date.to_string(),
                end_date: rule.end_date.map(|d| d.to_string()),
                penalty_multiple: penalties
                    .iter()
                    .find(|p| p.rule_id == rule.rule_id)
                    .map(|p| p.multiple.render(2))
                    .unwrap_or_else(|| "0".to_owned()),
            })
            .collect(),
    ))
}

/// How many cases an opening made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Opened {
    /// Cases opened now (0 when every settled finding already has one).
    pub opened: u64,
}

/// Opens a case for every finding recorded with a settlement that has none yet.
#[utoipa::path(post, path = "/api/v1/audit/cases/open", tag = "audit",
    responses(
        (status = 200, description = "How many were opened.", body = Opened),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not a reviewer (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn open_cases(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<Json<Opened>, ApiError> {
    staff
        .authorize(
            &state,
            Access {
                action: "POST /api/v1/audit/cases/open",
                roles: REVIEWERS,
                subject: Subject::none(),
                institution: None,
            },
        )
        .await?;
    let opened = state
        .store
        .open_cases(&staff.account.username, staff.beijing())
        .await?;
    Ok(Json(Opened { opened }))
}

/// Query of `GET /api/v1/audit/cases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// Only cases in this state: awaiting_first, appeal_window, awaiting_second,
    /// awaiting_final, confirmed, dismissed.
    pub state: Option<String>,
    /// Only this rule's cases.
    pub rule_id: Option<String>,
    /// Only this institution's (an institution's user always sees only its own).
    pub fixmedins_code: Option<String>,
    /// Cases after this case id (the previous page's last).
    pub after: Option<String>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<usize>,
    /// The purpose, when not sent as the `X-Purpose` header.
    pub purpose: Option<String>,
}

/// A case in a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseItem {
    /// The case.
    pub case_id: String,
    /// Its finding (`jr_id`).
    pub jr_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The person (人员编号).
    pub psn_no: String,
    /// The settlement.
    pub setl_id: String,
    /// The rule.
    pub rule_id: String,
    /// Its severity.
    pub sev_deg: u8,
    /// Money flagged, yuan.
    pub flagged: String,
    /// Where the case stands.
    pub state: String,
    /// The amount upheld so far or confirmed, yuan (absent before 初审 and when dismissed).
    pub upheld: Option<String>,
    /// The appeal deadline while the window is open.
    pub appeal_until: Option<String>,
    /// Opened at (Beijing time).
    pub opened_at: String,
}

fn state_fields(state: CaseState) -> (Option<String>, Option<String>) {
    match state {
        CaseState::AppealWindow {
            upheld,
            appeal_until,
        } => (Some(yuan(upheld)), Some(appeal_until.to_string())),
        CaseState::AwaitingSecond { upheld, .. } | CaseState::AwaitingFinal { upheld } => {
            (Some(yuan(upheld)), None)
        }
        CaseState::Confirmed { amount } => (Some(yuan(amount)), None),
        CaseState::AwaitingFirst | CaseState::Dismissed { .. } => (None, None),
    }
}

fn case_item(summary: &CaseSummary) -> CaseItem {
    let (upheld, appeal_until) = state_fields(summary.state);
    CaseItem {
        case_id: summary.case_id.clone(),
        jr_id: summary.jr_id.clone(),
        fixmedins_code: summary.fixmedins_code.clone(),
        psn_no: summary.patn_id.clone(),
        setl_id: summary.setl_id.clone(),
        rule_id: summary.rule_id.clone(),
        sev_deg: summary.sev_deg,
        flagged: yuan(summary.flagged),
        state: summary.state.code().to_owned(),
        upheld,
        appeal_until,
        opened_at: summary.opened_at.to_string(),
    }
}

const STATES: &[&str] = &[
    "awaiting_first",
    "appeal_window",
    "awaiting_second",
    "awaiting_final",
    "confirmed",
    "dismissed",
];

/// Cases, filtered; an institution's user gets only its own institution's. The listing names
/// persons: it needs a purpose and is logged.
#[utoipa::path(get, path = "/api/v1/audit/cases", tag = "audit",
    params(CaseQuery, ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The cases.", body = Vec<CaseItem>),
        (status = 400, description = "A bad filter or no purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_cases(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    query: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<CaseItem>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    if let Some(s) = &query.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::bad(
                "state",
                format!("`{s}` is not one of {}", STATES.join(", ")),
            ));
        }
    }
    let own = staff.institution().map(str::to_owned);
    if let (Some(own), Some(asked)) = (&own, &query.fixmedins_code) {
        if own != asked {
            return Err(ApiError::forbidden(
                "fixmedins_code",
                "an institution's user sees only its own cases",
            ));
        }
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/audit/cases",
                roles: CASE_READERS,
                subject: Subject::record("case-list", query.rule_id.as_deref().unwrap_or("*")),
                institution: own.as_deref(),
            },
        )
        .await?;
    let filter = CaseFilter {
        fixmedins_code: own.or(query.fixmedins_code),
        state: query.state,
        rule_id: query.rule_id,
        limit: query.limit.unwrap_or(100),
        after: query.after,
    };
    let cases = state
        .store
        .cases(&filter, staff.beijing(), state.config.review)
        .await?;
    Ok(Json(cases.iter().map(case_item).collect()))
}

/// A line the finding names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseLine {
    /// The visit.
    pub mdtrt_id: String,
    /// The order or fee line id.
    pub rx_id: String,
    /// The fee detail number, when known.
    pub feedetl_sn: Option<String>,
    /// 1 违规项, 2 涉及项.
    pub vola_item_type: u8,
    /// Money flagged on the line, yuan.
    pub vola_amt: String,
}

/// One entry of the case's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseEventItem {
    /// 1, 2, …
    pub seq: i64,
    /// first, second, final or appeal.
    pub kind: String,
    /// Who (staff username or institution user).
    pub actor: String,
    /// uphold, dismiss or appeal.
    pub verdict: String,
    /// The amount upheld, yuan.
    pub amount: String,
    /// Why.
    pub reason: String,
    /// When (Beijing time).
    pub at: String,
}

/// An earlier 3101/3102 warning of the case's rule on its visit and the hospital's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriorWarningItem {
    /// The warning's `jr_id`.
    pub jr_id: String,
    /// 1 事前, 2 事中.
    pub warn_type: i64,
    /// 1 继续执行, 2 返回修改; absent when never answered.
    pub dspo_way: Option<i64>,
    /// The hospital's reason.
    pub dspo_way_rea: String,
}

/// A case with its finding, lines, history and receivable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    /// The listing's fields.
    #[serde(flatten)]
    pub case: CaseItem,
    /// The visit.
    pub mdtrt_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The finding's message (`vola_cont`).
    pub vola_cont: String,
    /// The finding's evidence (the knowledge entry and the values compared).
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// The lines named.
    pub lines: Vec<CaseLine>,
    /// The history.
    pub events: Vec<CaseEventItem>,
    /// The hospital's answers to earlier warnings.
    pub prior_warnings: Vec<PriorWarningItem>,
    /// The confirmed amount owed back, yuan.
    pub receivable: Option<String>,
    /// The penalty with it, yuan.
    pub penalty: Option<String>,
}

fn case_detail(view: &CaseView) -> CaseDetail {
    CaseDetail {
        case: case_item(&view.summary),
        mdtrt_id: view.mdtrt_id.clone(),
        rule_name: view.rule_name.clone(),
        vola_cont: view.vola_cont.clone(),
        evidence: serde_json::from_str(&view.evidence).unwrap_or(serde_json::Value::Null),
        lines: view
            .lines
            .iter()
            .map(|l| CaseLine {
                mdtrt_id: l.mdtrt_id.clone(),
                rx_id: l.rx_id.clone(),
                feedetl_sn: l.feedetl_sn.clone(),
                vola_item_type: l.vola_item_type,
                vola_amt: yuan(l.vola_amt),
            })
            .collect(),
        events: view
            .events
            .iter()
            .map(|e| CaseEventItem {
                seq: e.seq,
                kind: e.kind.clone(),
                actor: e.actor.clone(),
                verdict: e.verdict.clone(),
                amount: yuan(e.amount),
                reason: e.reason.clone(),
                at: e.at.to_string(),
            })
            .collect(),
        prior_warnings: view
            .prior_warnings
            .iter()
            .map(|w| PriorWarningItem {
                jr_id: w.jr_id.clone(),
                warn_type: w.warn_type,
                dspo_way: w.dspo_way,
                dspo_way_rea: w.dspo_way_rea.clone(),
            })
            .collect(),
        receivable: view.receivable.map(|(amount, _)| yuan(amount)),
        penalty: view.receivable.map(|(_, penalty)| yuan(penalty)),
    }
}

/// Reads the case and authorizes `staff` for `action` on it with `roles` (an institution's user:
/// its own case only); the read is logged.
async fn authorized_case(
    state: &SharedState,
    staff: &Staff,
    purpose: &Purpose,
    case_id: &str,
    action: &'static str,
    roles: &[Role],
) -> Result<CaseView, ApiError> {
    let view = state
        .store
        .case(case_id, None, staff.beijing(), state.config.review)
        .await?;
    staff
        .authorize_read(
            state,
            purpose,
            Access {
                action,
                roles,
                subject: Subject::case(case_id),
                institution: Some(&view.summary.fixmedins_code),
            },
        )
        .await?;
    Ok(view)
}

/// Reads one case (an institution's user: its own only). Needs a purpose; logged.
#[utoipa::path(get, path = "/api/v1/audit/cases/{case_id}", tag = "audit",
    params(("case_id" = String, Path, description = "The case."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The case.", body = CaseDetail),
        (status = 400, description = "No purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing or another institution's case (logged).", body = ErrorBody),
        (status = 404, description = "No such case.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_case(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(case_id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let view = authorized_case(
        &state,
        &staff,
        &purpose,
        &case_id,
        "GET /api/v1/audit/cases/{case_id}",
        CASE_READERS,
    )
    .await?;
    Ok(Json(case_detail(&view)))
}

/// A reviewer's decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// first (初审, reviewer), second (复审, senior reviewer) or final (终审, final reviewer).
    pub step: String,
    /// uphold (疑点成立) or dismiss (不成立).
    pub verdict: String,
    /// With uphold: the amount held improperly paid, yuan with at most two decimals, at most the
    /// previous step's (or the money flagged).
    pub amount: Option<String>,
    /// Why (required).
    pub reason: String,
}

/// Decides a step of a case. The step's role is required; the three steps need three
/// different people; out of order, repeated or late decisions are refused (409) and write
/// nothing. A final uphold confirms the amount and posts the receivable.
#[utoipa::path(post, path = "/api/v1/audit/cases/{case_id}/decisions", tag = "audit",
    params(("case_id" = String, Path, description = "The case."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The case after the decision.", body = CaseDetail),
        (status = 400, description = "Bad input, named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "The step's role is missing (logged).", body = ErrorBody),
        (status = 404, description = "No such case.", body = ErrorBody),
        (status = 409, description = "Out of order, the same reviewer again, an amount too high.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn decide(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(case_id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Json<CaseDetail>, ApiError> {
    let step = Step::parse(&body.step)
        .ok_or_else(|| ApiError::bad("step", "must be first, second or final"))?;
    let verdict = match (body.verdict.as_str(), &body.amount) {
        ("uphold", Some(amount)) => Verdict::Uphold(
            Fen::parse(amount)
                .map_err(|err| ApiError::bad("amount", format!("`{amount}`: {err}")))?,
        ),
        ("uphold", None) => return Err(ApiError::bad("amount", "is required with uphold")),
        ("dismiss", None) => Verdict::Dismiss,
        ("dismiss", Some(_)) => return Err(ApiError::bad("amount", "is not sent with dismiss")),
        (other, _) => {
            return Err(ApiError::bad(
                "verdict",
                format!("`{other}` is not uphold or dismiss"),
            ))
        }
    };
    let role = match step {
        Step::First => Role::Reviewer,
        Step::Second => Role::SeniorReviewer,
        Step::Final => Role::FinalReviewer,
    };
    let now = staff.beijing();
    authorized_case(
        &state,
        &staff,
        &purpose,
        &case_id,
        "POST /api/v1/audit/cases/{case_id}/decisions",
        &[role],
    )
    .await?;
    let decision = Decision {
        step,
        verdict,
        reason: body.reason,
    };
    let view = state
        .store
        .decide(
            &case_id,
            &staff.account.username,
            &decision,
            now,
            state.config.review,
        )
        .await?;
    Ok(Json(case_detail(&view)))
}

/// An institution's appeal.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    /// The institution's grounds (required).
    pub reason: String,
}

/// The institution appeals its own case (申诉), once, within the region's deadline after 初审.
#[utoipa::path(post, path = "/api/v1/audit/cases/{case_id}/appeals", tag = "audit",
    params(("case_id" = String, Path, description = "The case."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = AppealBody,
    responses(
        (status = 200, description = "The case after the appeal.", body = CaseDetail),
        (status = 400, description = "Bad input, named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not this institution's user (logged).", body = ErrorBody),
        (status = 404, description = "No such case.", body = ErrorBody),
        (status = 409, description = "No appeal open, or the deadline passed.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn appeal(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(case_id): Path<String>,
    JsonBody(body): JsonBody<AppealBody>,
) -> Result<Json<CaseDetail>, ApiError> {
    let now = staff.beijing();
    authorized_case(
        &state,
        &staff,
        &purpose,
        &case_id,
        "POST /api/v1/audit/cases/{case_id}/appeals",
        &[Role::Institution],
    )
    .await?;
    let institution = staff
        .institution()
        .ok_or_else(|| ApiError::forbidden("role", "only an institution's user appeals"))?
        .to_owned();
    let view = state
        .store
        .appeal(
            &case_id,
            &institution,
            &staff.account.username,
            &body.reason,
            now,
            state.config.review,
        )
        .await?;
    Ok(Json(case_detail(&view)))
}

/// The funnel, as the bureau reports it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelView {
    /// Findings recorded with settlements (疑点).
    pub findings: i64,
    /// Persons they concern.
    pub findings_persons: i64,
    /// Money they flagged, yuan.
    pub findings_flagged: String,
    /// Cases opened.
    pub cases: i64,
    /// Upheld at 初审.
    pub first_upheld: i64,
    /// Upheld at 复审.
    pub second_upheld: i64,
    /// Confirmed at 终审.
    pub confirmed: i64,
    /// Persons of confirmed cases.
    pub confirmed_persons: i64,
    /// Money confirmed (to recover), yuan.
    pub confirmed_amount: String,
    /// Penalties, yuan.
    pub penalties: String,
    /// Cases appealed.
    pub appealed: i64,
}

/// A rule's precision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrecisionView {
    /// The rule.
    pub rule_id: String,
    /// Cases opened.
    pub cases: i64,
    /// Cases closed (confirmed or dismissed).
    pub reviewed: i64,
    /// Cases confirmed.
    pub confirmed: i64,
    /// Confirmed ÷ reviewed, 4 decimals (absent before a case closed).
    pub precision: Option<String>,
}

/// The report: the funnel and each rule's precision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    /// The funnel.
    pub funnel: FunnelView,
    /// Each rule's precision.
    pub precision: Vec<PrecisionView>,
}

/// The review funnel and each rule's precision (no person's data).
#[utoipa::path(get, path = "/api/v1/audit/report", tag = "audit",
    responses(
        (status = 200, description = "The report.", body = ReportView),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<Json<ReportView>, ApiError> {
    staff
        .authorize(
            &state,
            Access {
                action: "GET /api/v1/audit/report",
                roles: REPORT_READERS,
                subject: Subject::none(),
                institution: None,
            },
        )
        .await?;
    let (funnel, precision) = state
        .store
        .review_report(staff.beijing(), state.config.review)
        .await?;
    Ok(Json(ReportView {
        funnel: FunnelView {
            findings: funnel.findings,
            findings_persons: funnel.findings_persons,
            findings_flagged: yuan(funnel.findings_flagged),
            cases: funnel.cases,
            first_upheld: funnel.first_upheld,
            second_upheld: funnel.second_upheld,
            confirmed: funnel.confirmed,
            confirmed_persons: funnel.confirmed_persons,
            confirmed_amount: yuan(funnel.confirmed_amount),
            penalties: yuan(funnel.penalties),
            appealed: funnel.appealed,
        },
        precision: precision
            .iter()
            .map(|p| PrecisionView {
                rule_id: p.rule_id.clone(),
                cases: p.cases,
                reviewed: p.reviewed,
                confirmed: p.confirmed,
                precision: p
                    .precision_ppm()
                    .map(|ppm| format!("{}.{:04}", ppm / 1_000_000, (ppm % 1_000_000) / 100)),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_is_exact() {
        assert_eq!(yuan(Fen(0)), "0.00");
        assert_eq!(yuan(Fen(8_805)), "88.05");
        assert_eq!(yuan(Fen(-5)), "-0.05");
    }
}
