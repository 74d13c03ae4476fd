//! Enrollment for staff (issue 13): the registry cases the department feeds open, worked by the
//! front desk (窗口经办) and resolved by a reviewer (初审), and a person's file (一人一档) as of a
//! date.
//!
//! - Every read names persons: it needs a purpose and is logged before the data is read.
//! - A resolution needs the reviewer role; whoever filed a note on a case may not resolve it
//!   (409), and a closed case takes no step.
//! - Identity numbers and names are masked as in `GET /api/v1/persons/{psn_no}`.

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::casework::{CaseAction, CaseFile, CaseOutcome, CaseQuery};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::persons::mask_certno;
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases))
        .routes(routes!(get_case))
        .routes(routes!(add_step))
        .routes(routes!(person_file))
        .routes(routes!(person_decisions))
        .routes(routes!(undo_decision))
        .routes(routes!(confirm_decision))
}

/// Roles that work registry cases and read persons' files.
const CLERKS: &[Role] = &[Role::FrontDesk, Role::Reviewer];
/// Roles that resolve registry cases.
const RESOLVERS: &[Role] = &[Role::Reviewer];

/// Query of `GET /api/v1/registry/cases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// `open` or `closed` (both when absent).
    pub status: Option<String>,
    /// `unmatched`, `data_quality`, `household_conflict` or `fallback_match` (every kind when absent).
    pub kind: Option<String>,
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<usize>,
    /// The purpose, when not sent as the `X-Purpose` header.
    pub purpose: Option<String>,
}

/// A registry case as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryCaseView {
    /// The case number.
    pub case_id: i64,
    /// `unmatched`, `data_quality`, `household_conflict` or `fallback_match`.
    pub kind: String,
    /// The person it concerns ('' when the record matched nobody).
    pub psn_no: String,
    /// The identity number the record carried, masked.
    pub certno_masked: String,
    /// Why the import opened it.
    pub reason: String,
    /// The file (its SHA-256) and line it came from.
    pub batch_id: String,
    /// The line in that file.
    pub line: u64,
    /// `open` or `closed`.
    pub status: String,
}

/// A step taken on a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseStepView {
    /// 1, 2, … within the case.
    pub seq: i64,
    /// The staff account that took it.
    pub staff_id: i64,
    /// `note` or `resolve`.
    pub action: String,
    /// A resolution's outcome ('' for a note).
    pub outcome: String,
    /// The person an unmatched record was matched to ('' otherwise).
    pub psn_no: String,
    /// Why.
    pub reason: String,
    /// When (Beijing time).
    pub at: String,
}

/// A case with its steps.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseFileView {
    /// The case.
    pub case: RegistryCaseView,
    /// Its steps, oldest first.
    pub steps: Vec<CaseStepView>,
}

fn case_view(case: &yibao_store::feed::RegistryCase) -> RegistryCaseView {
    RegistryCaseView {
        case_id: case.case_id,
        kind: case.kind.clone(),
        psn_no: case.psn_no.clone(),
        certno_masked: mask_certno(&case.certno),
        reason: case.reason.clone(),
        batch_id: case.batch_id.clone(),
        line: case.line,
        status: case.status.clone(),
    }
}

fn file_view(file: CaseFile) -> CaseFileView {
    CaseFileView {
        case: case_view(&file.case),
        steps: file
            .steps
            .into_iter()
            .map(|s| CaseStepView {
                seq: s.seq,
                staff_id: s.staff_id,
                action: s.action,
                outcome: s.outcome,
                psn_no: s.psn_no,
                reason: s.reason,
                at: s.at,
            })
            .collect(),
    }
}

const STATUSES: &[&str] = &["open", "closed"];
const KINDS: &[&str] = &[
    "unmatched",
    "data_quality",
    "household_conflict",
    "fallback_match",
];

/// Registry cases, newest first. The listing names persons: it needs a purpose and is logged.
#[utoipa::path(get, path = "/api/v1/registry/cases", tag = "registry",
    params(CasesQuery, ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The cases.", body = Vec<RegistryCaseView>),
        (status = 400, description = "A bad filter or no purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_cases(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    query: Result<Query<CasesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RegistryCaseView>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    for (field, value, allowed) in [
        ("status", &query.status, STATUSES),
        ("kind", &query.kind, KINDS),
    ] {
        if let Some(v) = value {
            if !allowed.contains(&v.as_str()) {
                return Err(ApiError::bad(
                    field,
                    format!("`{v}` is not one of {}", allowed.join(", ")),
                ));
            }
        }
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/registry/cases",
                roles: CLERKS,
                subject: Subject::record(
                    "registry-case-list",
                    query.kind.as_deref().unwrap_or("*"),
                ),
                institution: None,
            },
        )
        .await?;
    let cases = state
        .store
        .registry_case_list(&CaseQuery {
            status: query.status,
            kind: query.kind,
            limit: query.limit.unwrap_or(100),
        })
        .await?;
    Ok(Json(cases.iter().map(case_view).collect()))
}

/// One registry case with its steps. Needs a purpose; logged.
#[utoipa::path(get, path = "/api/v1/registry/cases/{case_id}", tag = "registry",
    params(("case_id" = i64, Path, description = "The case."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The case.", body = CaseFileView),
        (status = 400, description = "No purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such case.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_case(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(case_id): Path<i64>,
) -> Result<Json<CaseFileView>, ApiError> {
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/registry/cases/{case_id}",
                roles: CLERKS,
                subject: Subject::record("registry-case", case_id),
                institution: None,
            },
        )
        .await?;
    Ok(Json(file_view(
        state.store.registry_case_file(case_id).await?,
    )))
}

/// `POST /api/v1/registry/cases/{case_id}/steps`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// `note` (front desk or reviewer) or `resolve` (reviewer).
    pub action: String,
    /// With `resolve`: `matched` (an unmatched record belongs to `psn_no`), `corrected`,
    /// `rejected` or `no_action`.
    pub outcome: Option<String>,
    /// With `resolve` / `matched`: the person (人员编号).
    pub psn_no: Option<String>,
    /// Why (required).
    pub reason: String,
}

/// Takes a step on a registry case: a note, or its resolution. A resolution needs the reviewer
/// role and someone other than those who filed notes on it; a closed case takes no step (409).
#[utoipa::path(post, path = "/api/v1/registry/cases/{case_id}/steps", tag = "registry",
    params(("case_id" = i64, Path, description = "The case."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = StepBody,
    responses(
        (status = 200, description = "The case after the step.", body = CaseFileView),
        (status = 400, description = "Bad input, named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such case or person.", body = ErrorBody),
        (status = 409, description = "The case is closed, or the resolver filed a note on it.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn add_step(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(case_id): Path<i64>,
    JsonBody(body): JsonBody<StepBody>,
) -> Result<Json<CaseFileView>, ApiError> {
    let (action, roles) = match (body.action.as_str(), body.outcome.as_deref()) {
        ("note", None) => (CaseAction::Note, CLERKS),
        ("note", Some(_)) => return Err(ApiError::bad("outcome", "a note has no outcome")),
        ("resolve", Some(outcome)) => {
            let outcome = match outcome {
                "matched" => CaseOutcome::Matched,
                "corrected" => CaseOutcome::Corrected,
                "rejected" => CaseOutcome::Rejected,
                "no_action" => CaseOutcome::NoAction,
                other => {
                    return Err(ApiError::bad(
                        "outcome",
                        format!("`{other}` is not matched, corrected, rejected or no_action"),
                    ))
                }
            };
            (
                CaseAction::Resolve {
                    outcome,
                    psn_no: body.psn_no.clone(),
                },
                RESOLVERS,
            )
        }
        ("resolve", None) => return Err(ApiError::bad("outcome", "is required with resolve")),
        (other, _) => {
            return Err(ApiError::bad(
                "action",
                format!("`{other}` is not note or resolve"),
            ))
        }
    };
    if matches!(action, CaseAction::Note) && body.psn_no.is_some() {
        return Err(ApiError::bad("psn_no", "a note names no person"));
    }
    staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "POST /api/v1/registry/cases/{case_id}/steps",
                roles,
                subject: Subject::record("registry-case", case_id),
                institution: None,
            },
        )
        .await?;
    let file = state
        .store
        .registry_case_step(case_id, staff.id(), &action, &body.reason, staff.beijing())
        .await?;
    Ok(Json(file_view(file)))
}

/// Query of `GET /api/v1/registry/persons/{psn_no}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// What was true on this date (`YYYY-MM-DD`; today when absent).
    pub as_of: Option<String>,
    /// The purpose, when not sent as the `X-Purpose` header.
    pub purpose: Option<String>,
}

/// A household membership as of the date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    /// The household number (户号).
    pub hh_id: String,
    /// Relationship to the head (GB/T 4761).
    pub hh_rel: String,
    /// The household's region.
    pub admdvs: String,
    /// Since.
    pub valid_from: String,
}

/// An identity category held on the date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// The department's code (`psn_idet_type`).
    pub idet_type: String,
    /// Our category (`dibao` …).
    pub category: String,
    /// From.
    pub begn_date: String,
    /// Until ('' when open).
    pub end_date: String,
    /// The department that sent it.
    pub source_dept: String,
}

/// A student segment (入学/毕业) from the education roster, in force on the date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StudentView {
    /// The student `psn_type`: `1402` preschool, `1403` primary/secondary, `1404` university.
    pub psn_type: String,
    /// The school.
    pub school_code: String,
    /// The school's region (学籍地).
    pub school_admdvs: String,
    /// Enrolment.
    pub entry_date: String,
    /// Graduation ('' when not known).
    pub grad_date: String,
    /// The segment ends on 31 December of the graduation year ('' while open).
    pub valid_to: String,
}

/// A disability certificate (残疾人证) from the disabled persons' federation, in force on the
/// date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisabilityView {
    /// The type (GB/T 26341, `1`–`7`).
    pub dsab_type: String,
    /// The level (`1`–`4`; `1`–`2` give the 重度残疾 category).
    pub dsab_lv: String,
    /// From.
    pub begn_date: String,
    /// Until ('' when open).
    pub end_date: String,
}

/// A person's file (一人一档) as of a date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonFileView {
    /// 人员编号.
    pub psn_no: String,
    /// The name, masked.
    pub psn_name_masked: String,
    /// The identity number, masked.
    pub certno_masked: String,
    /// `gend`.
    pub gend: String,
    /// The date the file is read as of.
    pub as_of: String,
    /// The household, when the police feed placed the person in one by then.
    pub household: Option<HouseholdView>,
    /// Identity categories held on the date.
    pub identities: Vec<IdentityView>,
    /// Student segments in force on the date.
    pub students: Vec<StudentView>,
    /// Disability certificates in force on the date.
    pub disabilities: Vec<DisabilityView>,
    /// Insurance relations.
    pub insurance: Vec<crate::wire::InsuranceView>,
}

/// A person's file as of a date: identity, household, identity categories and insurance
/// relations. Needs a purpose; logged before the data is read.
#[utoipa::path(get, path = "/api/v1/registry/persons/{psn_no}", tag = "registry",
    params(("psn_no" = String, Path, description = "人员编号, in full."), FileQuery,
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The file.", body = PersonFileView),
        (status = 400, description = "A bad date or no purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn person_file(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
    query: Result<Query<FileQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<crate::masking::DataResponse<Json<PersonFileView>>, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad("query", err.body_text()))?;
    if psn_no.is_empty() || psn_no.chars().count() > yibao_store::limits::ID_CHARS_MAX {
        return Err(ApiError::bad("psn_no", "must be a full person number"));
    }
    let as_of = match &query.as_of {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::bad("as_of", format!("`{text}` is not a YYYY-MM-DD date")))?,
        None => staff.beijing().date(),
    };
    let reading = staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/registry/persons/{psn_no}",
                roles: CLERKS,
                subject: Subject::person(&psn_no),
                institution: None,
            },
        )
        .await?;
    let info = state
        .store
        .person_info(&psn_no)
        .await
        .map_err(|err| match err {
            yibao_store::StoreError::NotFound { .. } => {
                ApiError::not_found("psn_no", "no such person")
            }
            other => other.into(),
        })?;
    if info.base.psn_no != psn_no {
        return Err(ApiError::not_found("psn_no", "no such person"));
    }
    let household = state.store.household_as_of(&psn_no, as_of).await?;
    let identities = state.store.identities_as_of(&psn_no, as_of).await?;
    let students = state.store.students_as_of(&psn_no, as_of).await?;
    let disabilities = state.store.disabilities_as_of(&psn_no, as_of).await?;
    Ok(reading.respond(Json(PersonFileView {
        psn_no: info.base.psn_no.clone(),
        psn_name_masked: reading.show("person", "psn_name", &info.base.psn_name),
        certno_masked: reading.show("person", "certno", &info.base.certno),
        gend: info.base.gend.clone(),
        as_of: as_of.to_string(),
        household: household.map(|h| HouseholdView {
            hh_id: h.hh_id,
            hh_rel: h.hh_rel,
            admdvs: h.admdvs,
            valid_from: h.valid_from.to_string(),
        }),
        identities: identities
            .into_iter()
            .map(|i| IdentityView {
                idet_type: i.idet_type,
                category: i.category,
                begn_date: i.begn_date,
                end_date: i.end_date,
                source_dept: i.source_dept,
            })
            .collect(),
        students: students
            .into_iter()
            .map(|s| StudentView {
                psn_type: s.psn_type,
                school_code: s.school_code,
                school_admdvs: s.school_admdvs,
                entry_date: s.entry_date,
                grad_date: s.grad_date,
                valid_to: s.valid_to,
            })
            .collect(),
        disabilities: disabilities
            .into_iter()
            .map(|d| DisabilityView {
                dsab_type: d.dsab_type,
                dsab_lv: d.dsab_lv,
                begn_date: d.begn_date,
                end_date: d.end_date,
            })
            .collect(),
        insurance: info
            .insurance
            .iter()
            .map(|i| crate::wire::InsuranceView {
                insutype: i.insutype.clone(),
                psn_type: i.psn_type.clone(),
                psn_insu_stas: i.psn_insu_stas.clone(),
                begndate: i.begndate.clone(),
                enddate: i.enddate.clone(),
                insuplc_admdvs: i.insuplc_admdvs.clone(),
            })
            .collect(),
    })))
}

/// An automatic decision (免申即享) as staff read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// Its number.
    pub decision_id: i64,
    /// The engine's rule (`category_start.subsidy`, `category_start.assistance`,
    /// `category_start.enroll`).
    pub rule_id: String,
    /// The record that triggered it: a department file (its SHA-256) and line, or
    /// `setl_list:` and a settlement list's id.
    pub source_ref: String,
    /// The line in that file.
    pub line: u64,
    /// The triggering data, in words.
    pub trigger: String,
    /// `subsidy`, `assistance` or `enroll`.
    pub result_kind: String,
    /// The result (JSON; amounts in fen).
    pub result: serde_json::Value,
    /// When it was decided (Beijing time).
    pub decided_at: String,
    /// Its reversal, when undone.
    pub undone: Option<UndoView>,
    /// Its confirmation, for a proposal (a chronic recognition).
    pub confirmed: Option<UndoView>,
}

/// Who undid or confirmed an automatic decision, when and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UndoView {
    /// The staff account that undid it.
    pub staff_id: i64,
    /// Why.
    pub reason: String,
    /// When (Beijing time).
    pub at: String,
}

fn decision_view(d: yibao_store::auto::StoredDecision) -> DecisionView {
    DecisionView {
        decision_id: d.decision_id,
        rule_id: d.rule_id,
        source_ref: d.source_ref,
        line: d.line,
        trigger: d.trigger,
        result_kind: d.result_kind,
        result: serde_json::from_str(&d.result).unwrap_or(serde_json::Value::String(d.result)),
        decided_at: d.decided_at,
        undone: d.undone.map(|(staff_id, reason, at)| UndoView {
            staff_id,
            reason,
            at,
        }),
        confirmed: d.confirmed.map(|(staff_id, reason, at)| UndoView {
            staff_id,
            reason,
            at,
        }),
    }
}

/// A person's automatic decisions, oldest first. Needs a purpose; logged.
#[utoipa::path(get, path = "/api/v1/registry/persons/{psn_no}/decisions", tag = "registry",
    params(("psn_no" = String, Path, description = "人员编号, in full."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    responses(
        (status = 200, description = "The decisions.", body = Vec<DecisionView>),
        (status = 400, description = "No purpose.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn person_decisions(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
) -> Result<crate::masking::DataResponse<Json<Vec<DecisionView>>>, ApiError> {
    if psn_no.is_empty() || psn_no.chars().count() > yibao_store::limits::ID_CHARS_MAX {
        return Err(ApiError::bad("psn_no", "must be a full person number"));
    }
    let reading = staff
        .authorize_read(
            &state,
            &purpose,
            Access {
                action: "GET /api/v1/registry/persons/{psn_no}/decisions",
                roles: CLERKS,
                subject: Subject::person(&psn_no),
                institution: None,
            },
        )
        .await?;
    let decisions = state.store.auto_decisions(&psn_no).await?;
    Ok(reading.respond(Json(decisions.into_iter().map(decision_view).collect())))
}

/// `POST /api/v1/registry/decisions/{decision_id}/undo` and `…/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoBody {
    /// Why (required): the record it rested on was wrong, corrected …
    pub reason: String,
}

/// Undoes an automatic decision, once, with a reason (reviewer). The decision stays on record
/// beside its reversal.
#[utoipa::path(post, path = "/api/v1/registry/decisions/{decision_id}/undo", tag = "registry",
    params(("decision_id" = i64, Path, description = "The decision."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = UndoBody,
    responses(
        (status = 200, description = "The decision with its reversal.", body = DecisionView),
        (status = 400, description = "No reason.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such decision.", body = ErrorBody),
        (status = 409, description = "Undone before.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn undo_decision(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(decision_id): Path<i64>,
    JsonBody(body): JsonBody<UndoBody>,
) -> Result<Json<DecisionView>, ApiError> {
    decision_step(&state, &staff, &purpose, decision_id, &body, Step::Undo).await
}

/// Confirms a proposal (a chronic recognition proposed from a settlement list), once, with a
/// reason (reviewer): the recognition holds from the confirmation day.
#[utoipa::path(post, path = "/api/v1/registry/decisions/{decision_id}/confirm", tag = "registry",
    params(("decision_id" = i64, Path, description = "The proposal."),
        ("X-Purpose" = String, Header, description = "Why the data is read.")),
    request_body = UndoBody,
    responses(
        (status = 200, description = "The proposal with its confirmation.", body = DecisionView),
        (status = 400, description = "No reason.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such decision.", body = ErrorBody),
        (status = 409, description = "Not a proposal, undone, or confirmed before.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn confirm_decision(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(decision_id): Path<i64>,
    JsonBody(body): JsonBody<UndoBody>,
) -> Result<Json<DecisionView>, ApiError> {
    decision_step(&state, &staff, &purpose, decision_id, &body, Step::Confirm).await
}

/// What a reviewer does to an automatic decision.
enum Step {
    Undo,
    Confirm,
}

/// Undoes or confirms a decision (reviewer; the access logged with the purpose first).
async fn decision_step(
    state: &SharedState,
    staff: &Staff,
    purpose: &Purpose,
    decision_id: i64,
    body: &UndoBody,
    step: Step,
) -> Result<Json<DecisionView>, ApiError> {
    let action = match step {
        Step::Undo => "POST /api/v1/registry/decisions/{decision_id}/undo",
        Step::Confirm => "POST /api/v1/registry/decisions/{decision_id}/confirm",
    };
    staff
        .authorize_read(
            state,
            purpose,
            Access {
                action,
                roles: RESOLVERS,
                subject: Subject::record("auto-decision", decision_id),
                institution: None,
            },
        )
        .await?;
    let (id, now) = (staff.id(), staff.beijing());
    let decision = match step {
        Step::Undo => {
            state
                .store
                .undo_auto_decision(decision_id, id, &body.reason, now)
                .await?
        }
        Step::Confirm => {
            state
                .store
                .confirm_auto_decision(decision_id, id, &body.reason, now)
                .await?
        }
    };
    Ok(Json(decision_view(decision)))
}
