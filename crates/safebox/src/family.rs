//! Family (§5.7, §7 family): who may act for me and for whom I may act (guardianships staff
//! verified, P06 delegations, family-account bindings — which only show the code and pay), what
//! they did; giving a delegation with a fresh factor, and ending one (the subject or the proxy).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_store::safebox::{DelegationRecord, NewDelegation, SafeboxActor};
use yibao_store::Decision;

use crate::auth::{parse, signed_in, Acting};
use crate::error::SelfError;
use crate::SharedState;

/// The family page.
pub const FAMILY: &str = "/self/v1/family";
/// Give a delegation.
pub const DELEGATIONS: &str = "/self/v1/delegations";
/// End one.
pub const END: &str = "/self/v1/delegations/{id}/end";

/// The longest delegation asked here, in days (P06's own cap is checked by the store).
pub const VALID_DAYS_MAX: i64 = 366;

/// The family endpoints.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(FAMILY, get(family))
        .route(DELEGATIONS, post(delegate))
        .route(END, post(end))
}

/// `POST /self/v1/delegations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateRequest {
    /// Who may act for me (`psn_no`).
    pub proxy: String,
    /// The items they may act on.
    pub items: Vec<String>,
    /// Whether I tick level-3 items for them.
    #[serde(default)]
    pub level3_ticked: bool,
    /// Days it lasts.
    pub valid_days: i64,
}

fn delegation_json(record: &DelegationRecord, now_ms: i64) -> Value {
    json!({
        "delegation_id": record.delegation_id,
        "subject": record.subject,
        "proxy": record.proxy,
        "items": record.items.iter().map(|c| c.as_str().to_owned()).collect::<Vec<_>>(),
        "level3_ticked": record.level3_ticked,
        "not_before_ms": record.not_before_ms,
        "not_after_ms": record.not_after_ms,
        "in_force": record.in_force(now_ms),
        "created_leaf": record.created_leaf,
        "ended": record.ended.as_ref().map(|(at, by, leaf)| json!({"at_ms": at, "by": by, "leaf_index": leaf})),
    })
}

async fn family(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let own = me.session.psn_no.clone();
    state
        .store
        .safebox_log(
            &Acting {
                who: SafeboxActor::own(&own),
                facts: None,
            }
            .event(
                me.now_ms,
                "safebox.family",
                "GET /self/v1/family",
                Decision::Permit,
                String::new(),
            ),
        )
        .await?;
    let family = state.store.family_of(&own, me.now_ms).await?;
    let mut for_me = Vec::new();
    let mut i_act_for = Vec::new();
    for (subject, guardian, court) in &family.guardianships {
        let relation = if *court { "court_guardian" } else { "guardian" };
        if *subject == own {
            for_me.push(json!({"psn_no": guardian, "relation": relation}));
        } else {
            i_act_for.push(json!({"psn_no": subject, "relation": relation}));
        }
    }
    for delegation in family.delegations.iter().filter(|d| d.in_force(me.now_ms)) {
        let line = json!({"relation": "delegate", "delegation_id": delegation.delegation_id});
        if delegation.subject == own {
            let mut line = line;
            line["psn_no"] = json!(delegation.proxy);
            for_me.push(line);
        } else {
            let mut line = line;
            line["psn_no"] = json!(delegation.subject);
            i_act_for.push(line);
        }
    }
    for (psn_no, family_psn_no) in &family.family_accounts {
        // A family-account binding shows the code and pays, nothing more (§5.7).
        let other = if *psn_no == own {
            family_psn_no
        } else {
            psn_no
        };
        let line =
            json!({"psn_no": other, "relation": "family_account", "may": ["show_code", "pay"]});
        for_me.push(line.clone());
        i_act_for.push(line);
    }
    Ok(Json(json!({
        "psn_no": own,
        "may_act_for_me": for_me,
        "i_may_act_for": i_act_for,
        "delegations": family.delegations.iter().map(|d| delegation_json(d, me.now_ms)).collect::<Vec<_>>(),
        "actions": family.actions.iter().map(|a| json!({
            "leaf_index": a.leaf_idx,
            "proxy": a.proxy,
            "subject": a.subject,
            "relation": a.relation,
            "action": a.action,
            "at_ms": a.at_ms,
        })).collect::<Vec<_>>(),
    })))
}

async fn delegate(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let request: DelegateRequest = parse(body)?;
    if !(1..=VALID_DAYS_MAX).contains(&request.valid_days) {
        return Err(SelfError::bad(
            "valid_days",
            format!("must be 1 to {VALID_DAYS_MAX}"),
        ));
    }
    if request.items.len() > 100 {
        return Err(SelfError::bad("items", "at most 100 items"));
    }
    let items = yibao_privacy::builtin()
        .parse_items(&request.items.join(","))
        .map_err(|e| SelfError::bad("items", e.to_string()))?;
    if !me.fresh() {
        return Err(SelfError::factor_required(
            "a delegation needs a fresh authentication: present your e-voucher again (POST /self/v1/sessions/factor)",
        ));
    }
    let token = yibao_gm::random_token()
        .map_err(|e| SelfError::from(yibao_store::StoreError::Invariant(e.to_string())))?;
    let record = state
        .store
        .delegate(&NewDelegation {
            delegation_id: format!("d{}", &token[..24]),
            subject: me.session.psn_no.clone(),
            proxy: request.proxy,
            items,
            level3_ticked: request.level3_ticked,
            not_before_ms: me.now_ms,
            not_after_ms: me.now_ms + request.valid_days * 86_400_000,
            factor_at_ms: me.session.factor_at_ms,
            now_ms: me.now_ms,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "delegation": delegation_json(&record, me.now_ms),
            "leaf_index": record.created_leaf,
        })),
    )
        .into_response())
}

async fn end(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(delegation_id): Path<String>,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let record = state
        .store
        .end_delegation(&delegation_id, &me.session.psn_no, me.now_ms)
        .await?;
    Ok(Json(json!({
        "delegation": delegation_json(&record, me.now_ms),
        "leaf_index": record.ended.as_ref().map(|(_, _, leaf)| *leaf),
    })))
}
