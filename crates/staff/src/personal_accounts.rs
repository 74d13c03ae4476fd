//! Personal accounts (个人账户) of insured persons, for finance and reviewers (issue 14, spec
//! enrollment.md §3.8, §6; guide `docs/PERSONAL-ACCOUNTS.md`) — not the staff's own accounts,
//! which are `accounts.rs`. A person's statement, a withdrawal (支取) and an inheritance (继承);
//! each call needs a purpose and is logged before the person's data is read. The rules are the
//! region's enrollment parameters, applied by the store ([`yibao_store::personal_account`]): a
//! payout the policy does not allow is refused (409) naming the rule.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_core_types::Fen;
use yibao_enrollment::personal_account::{HeirClaim, PayoutReason, PAYOUT_REASONS};
use yibao_store::personal_account::{InheritanceRequest, PayoutDone, WithdrawalRequest};
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(statement))
        .routes(routes!(withdraw))
        .routes(routes!(inherit))
}

/// Roles that read statements and decide payouts (as contribution refunds).
const PAYERS: &[Role] = &[Role::Finance, Role::Reviewer];

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

fn check_psn_no(psn_no: &str) -> Result<(), ApiError> {
    if psn_no.is_empty() || psn_no.chars().count() > yibao_store::limits::ID_CHARS_MAX {
        return Err(ApiError::bad("psn_no", "must be a full person number"));
    }
    Ok(())
}

fn today_of(text: &Option<String>, staff: &Staff) -> Result<NaiveDate, ApiError> {
    match text {
        None => Ok(staff.beijing().date()),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::bad("today", format!("`{text}` is not YYYY-MM-DD"))),
    }
}

/// One movement of a statement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// When the referenced record was made (`''` when the ledger does not know).
    pub at: String,
    /// The transfer's reference (a settlement, an assessment, a payout …).
    pub ref_id: String,
    /// The transfer's number under its reference.
    pub seq: i64,
    /// The transfer kind (`clct_acct`, `retiree_credit`, `acct`, `mulaid`, `acct_withdrawal` …).
    pub kind: String,
    /// The other account.
    pub counter_account: String,
    /// In fen: positive a credit, negative a debit.
    pub amount_fen: i64,
    /// The balance after it, in fen.
    pub balance_after_fen: i64,
}

/// One line of a payout.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutLineView {
    /// From 1.
    pub seq: i64,
    /// The heir (absent for a withdrawal).
    pub heir_psn_no: Option<String>,
    /// The heir's share in parts (1 for a withdrawal).
    pub share: i64,
    /// In fen.
    pub amount_fen: i64,
    /// The ledger account credited (the heir's personal account or a payout account).
    pub paid_to: String,
}

/// A payout.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    /// `W:PSN_NO:N` or `I:PSN_NO`.
    pub payout_id: String,
    /// The account holder.
    pub psn_no: String,
    /// `withdrawal` or `inheritance`.
    pub kind: String,
    /// `abroad`, `death` or `moved_without_transfer`.
    pub reason: String,
    /// The parameter that allowed it.
    pub rule: String,
    /// The parameter set.
    pub params_id: String,
    /// In fen.
    pub amount_fen: i64,
    /// Where it went.
    pub lines: Vec<PayoutLineView>,
    /// Who decided (`staff:ID`).
    pub decided_by: String,
    /// When (Beijing time).
    pub decided_at: String,
    /// The ledger's day.
    pub booked_on: String,
    /// True when the same inheritance was made before and nothing was paid now.
    pub replayed: bool,
}

fn payout_view(done: PayoutDone) -> PayoutView {
    PayoutView {
        payout_id: done.payout_id,
        psn_no: done.psn_no,
        kind: done.kind,
        reason: done.reason,
        rule: done.rule,
        params_id: done.params_id,
        amount_fen: done.amount.0,
        lines: done
            .lines
            .into_iter()
            .map(|l| PayoutLineView {
                seq: l.seq,
                heir_psn_no: l.heir_psn_no,
                share: l.share,
                amount_fen: l.amount.0,
                paid_to: l.paid_to,
            })
            .collect(),
        decided_by: done.decided_by,
        decided_at: done.decided_at,
        booked_on: done.booked_on,
        replayed: done.replayed,
    }
}

/// A person's personal-account statement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementView {
    /// The holder.
    pub psn_no: String,
    /// `personal:PSN_NO`.
    pub account: String,
    /// The opening balance, in fen.
    pub opening_fen: i64,
    /// Credits listed, in fen.
    pub credits_fen: i64,
    /// Debits listed, in fen (positive).
    pub debits_fen: i64,
    /// The balance, in fen (checked against the ledger).
    pub balance_fen: i64,
    /// The confirmed death date, if any.
    pub death_date: Option<String>,
    /// Every movement, oldest first.
    pub entries: Vec<EntryView>,
    /// The payouts made.
    pub payouts: Vec<PayoutView>,
}

/// A person's personal-account statement (finance or reviewer): opening, every credit and
/// debit from the ledger, the balance. Needs a purpose; the read is logged.
#[utoipa::path(get, path = "/api/v1/persons/{psn_no}/personal-account", tag = "persons",
    params(
        ("psn_no" = String, Path, description = "人员编号, in full."),
        ("X-Purpose" = String, Header, description = "Why the data is read."),
    ),
    responses(
        (status = 200, description = "The statement.", body = StatementView),
        (status = 400, description = "No or unknown purpose, bad person number.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person or no personal account.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn statement(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
) -> Result<crate::masking::DataResponse<Json<StatementView>>, ApiError> {
    check_psn_no(&psn_no)?;
    let access = Access {
        action: "GET /api/v1/persons/{psn_no}/personal-account",
        roles: PAYERS,
        subject: Subject::person(&psn_no),
        institution: None,
    };
    let reading = staff.authorize_read(&state, &purpose, access).await?;
    let s = state.store.personal_account_statement(&psn_no).await?;
    Ok(reading.respond(Json(StatementView {
        psn_no: s.psn_no,
        account: s.account,
        opening_fen: s.opening.0,
        credits_fen: s.credits.0,
        debits_fen: s.debits.0,
        balance_fen: s.balance.0,
        death_date: s.death_date,
        entries: s
            .entries
            .into_iter()
            .map(|e| EntryView {
                at: e.at,
                ref_id: e.ref_id,
                seq: e.seq,
                kind: e.kind,
                counter_account: e.counter_account,
                amount_fen: e.amount.0,
                balance_after_fen: e.balance_after.0,
            })
            .collect(),
        payouts: s
            .payouts
            .into_iter()
            .map(|payout| masked_payout(&reading, payout_view(payout)))
            .collect(),
    })))
}

/// A payout with its bank accounts masked for the read's view (§11.4: last 4).
fn masked_payout(reading: &crate::masking::Reading, mut view: PayoutView) -> PayoutView {
    for line in &mut view.lines {
        line.paid_to = reading.show("personal_account_payout_line", "paid_to", &line.paid_to);
    }
    view
}

/// `POST /api/v1/persons/{psn_no}/personal-account/withdrawals`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    /// `abroad`, `death` or `moved_without_transfer`.
    pub reason: String,
    /// In fen; absent for the whole balance (less only where the region allows it).
    pub amount_fen: Option<i64>,
    /// The bank account the payout is paid to.
    pub bank_account: String,
    /// The document it rests on (a deregistration or death certificate number).
    pub evidence: String,
    /// The day the rules are judged on and the ledger books it on (`YYYY-MM-DD`; default: the
    /// request's day, Beijing time).
    pub today: Option<String>,
}

/// Pays out a personal account where the region's policy allows it (finance or reviewer).
#[utoipa::path(post, path = "/api/v1/persons/{psn_no}/personal-account/withdrawals", tag = "persons",
    params(
        ("psn_no" = String, Path, description = "人员编号, in full."),
        ("X-Purpose" = String, Header, description = "Why the data is read."),
    ),
    request_body = WithdrawalBody,
    responses(
        (status = 200, description = "The payout written.", body = PayoutView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person or no personal account.", body = ErrorBody),
        (status = 409, description = "Refused by the policy (the rule is named) or nothing to withdraw.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
    JsonBody(body): JsonBody<WithdrawalBody>,
) -> Result<crate::masking::DataResponse<Json<PayoutView>>, ApiError> {
    check_psn_no(&psn_no)?;
    let today = today_of(&body.today, &staff)?;
    let reason = PayoutReason::from_key(&body.reason).ok_or_else(|| {
        let known: Vec<&str> = PAYOUT_REASONS.iter().map(|r| r.key()).collect();
        ApiError::bad(
            "reason",
            format!("`{}` is not one of {}", body.reason, known.join(", ")),
        )
    })?;
    let access = Access {
        action: "POST /api/v1/persons/{psn_no}/personal-account/withdrawals",
        roles: PAYERS,
        subject: Subject::person(&psn_no),
        institution: None,
    };
    let reading = staff.authorize_read(&state, &purpose, access).await?;
    let request = WithdrawalRequest {
        psn_no,
        reason,
        amount: body.amount_fen.map(Fen),
        bank_account: body.bank_account,
        evidence: body.evidence,
        actor: format!("staff:{}", staff.id()),
        today,
    };
    let done = state
        .store
        .withdraw_personal_account(&request, params()?, staff.beijing())
        .await?;
    Ok(reading.respond(Json(masked_payout(&reading, payout_view(done)))))
}

/// An heir and the heir's share.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeirBody {
    /// The heir's person number.
    pub psn_no: String,
    /// The share in whole parts of the sum of shares.
    pub share: u32,
}

/// `POST /api/v1/persons/{psn_no}/personal-account/inheritance`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InheritanceBody {
    /// The heirs, in the order that breaks ties of the split.
    pub heirs: Vec<HeirBody>,
    /// The bank account cash parts are paid to (may be empty when every heir has an account).
    #[serde(default)]
    pub bank_account: String,
    /// The document it rests on (the inheritance certificate).
    pub evidence: String,
    /// The day the rules are judged on and the ledger books it on (`YYYY-MM-DD`; default: the
    /// request's day, Beijing time).
    pub today: Option<String>,
}

/// Pays a dead person's account to heirs by share (finance or reviewer); the same heirs again
/// get the stored payout (`replayed`), nothing paid twice.
#[utoipa::path(post, path = "/api/v1/persons/{psn_no}/personal-account/inheritance", tag = "persons",
    params(
        ("psn_no" = String, Path, description = "人员编号 of the dead holder, in full."),
        ("X-Purpose" = String, Header, description = "Why the data is read."),
    ),
    request_body = InheritanceBody,
    responses(
        (status = 200, description = "The payout written, or the one made before.", body = PayoutView),
        (status = 400, description = "Bad input; the field is named.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing (logged).", body = ErrorBody),
        (status = 404, description = "No such person, heir or personal account.", body = ErrorBody),
        (status = 409, description = "Refused: no confirmed death, a dead heir, inherited before by other heirs, the policy (named).", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn inherit(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
    JsonBody(body): JsonBody<InheritanceBody>,
) -> Result<crate::masking::DataResponse<Json<PayoutView>>, ApiError> {
    check_psn_no(&psn_no)?;
    let today = today_of(&body.today, &staff)?;
    let access = Access {
        action: "POST /api/v1/persons/{psn_no}/personal-account/inheritance",
        roles: PAYERS,
        subject: Subject::person(&psn_no),
        institution: None,
    };
    let reading = staff.authorize_read(&state, &purpose, access).await?;
    let request = InheritanceRequest {
        psn_no,
        heirs: body
            .heirs
            .into_iter()
            .map(|h| HeirClaim {
                psn_no: h.psn_no,
                share: h.share,
            })
            .collect(),
        bank_account: body.bank_account,
        evidence: body.evidence,
        actor: format!("staff:{}", staff.id()),
        today,
    };
    let done = state
        .store
        .inherit_personal_account(&request, params()?, staff.beijing())
        .await?;
    Ok(reading.respond(Json(masked_payout(&reading, payout_view(done)))))
}
