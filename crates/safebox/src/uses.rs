//! `GET /self/v1/uses` (§7 trace): every use of my data — bureau staff (role, office, masked
//! name, case type; break-glass marked), grantees, proxies, my own safe-box actions — newest
//! first, each with a receipt (§9.6): the leaf bytes (hex; the details stay behind their
//! commitment), its index, the inclusion proof to the newest signed checkpoint, that checkpoint's
//! note with the witnesses' cosignatures, and whether the proof checks (`verified`). A person
//! checks a receipt offline with `yibao_translog::verify_receipt`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use yibao_store::safebox::PersonUse;
use yibao_store::Decision;

use crate::auth::{signed_in, Acting};
use crate::error::SelfError;
use crate::SharedState;

/// My uses.
pub const USES: &str = "/self/v1/uses";
/// One receipt.
pub const RECEIPT: &str = "/self/v1/uses/{idx}/receipt";

/// The trace endpoints.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(USES, get(my_uses))
        .route(RECEIPT, get(one_receipt))
}

/// A name shown masked: its first character and stars.
pub fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().clamp(1, 3))),
        None => String::new(),
    }
}

/// The value after `key=` in a reason (`grantee=insurer-a grant=g1 …`).
fn reason_field<'a>(reason: &'a str, key: &str) -> Option<&'a str> {
    reason
        .split([' ', ';'])
        .find_map(|part| part.trim().strip_prefix(key)?.strip_prefix('='))
}

/// Who used the data, as the person sees it.
fn actor_of(one: &PersonUse, me: &str) -> Value {
    let entry = &one.row.entry;
    let break_glass =
        entry.event.starts_with("break_glass") || entry.reason.contains("break_glass:");
    if let Some(staff_id) = entry.staff_id {
        // "case:registry:3" → "registry"; a service session or break-glass says so.
        let opened_by = entry.reason.split(';').next().unwrap_or_default().trim();
        let case_type = match opened_by.split(':').collect::<Vec<_>>().as_slice() {
            ["case", kind, ..] => (*kind).to_owned(),
            ["service_session", ..] => "service_session".to_owned(),
            ["break_glass", ..] => "break_glass".to_owned(),
            _ => String::new(),
        };
        let (roles, office, name) = match &one.staff {
            Some(account) => (
                account
                    .roles
                    .iter()
                    .map(|r| r.code().to_owned())
                    .collect::<Vec<_>>(),
                account.admdvs.clone(),
                masked_name(&account.display_name),
            ),
            None => (Vec::new(), String::new(), format!("staff {staff_id}")),
        };
        return json!({
            "kind": "staff",
            "roles": roles,
            "office": office,
            "name_masked": name,
            "case_type": case_type,
            "break_glass": break_glass,
            "unmasked": entry.reason.contains("unmask:"),
        });
    }
    if let Some((proxy, subject, relation)) = &one.proxy {
        return json!({
            "kind": "proxy",
            "proxy": proxy,
            "subject": subject,
            "relation": relation,
            "you_acted": proxy == me,
        });
    }
    if let Some(grantee) = reason_field(&entry.reason, "grantee") {
        return json!({
            "kind": "grantee",
            "grantee_id": grantee,
            "grant_id": reason_field(&entry.reason, "grant"),
        });
    }
    if entry.reason.starts_with("actor=self") {
        return json!({"kind": "self"});
    }
    // A hospital's or pharmacy's call on the national interface: `interface.read` or
    // `interface.write`, the action `INFNO FIXMEDINS_CODE` (yibao_store::access_outbox).
    if entry.event.starts_with("interface.") {
        let mut parts = entry.action.split(' ');
        let infno = parts.next().unwrap_or_default();
        let institution = parts.next().unwrap_or_default();
        return json!({
            "kind": "hospital",
            "fixmedins_code": institution,
            "infno": infno,
            "changed": entry.event == "interface.write",
        });
    }
    if let Some(hospital) = reason_field(&entry.reason, "fixmedins_code") {
        return json!({"kind": "hospital", "fixmedins_code": hospital});
    }
    json!({"kind": "platform", "break_glass": break_glass})
}

async fn my_uses(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let own = Acting {
        who: yibao_store::safebox::SafeboxActor::own(&me.session.psn_no),
        facts: None,
    };
    let trace = own.event(
        me.now_ms,
        "safebox.trace",
        "GET /self/v1/uses",
        Decision::Permit,
        String::new(),
    );
    let uses = state.store.safebox_uses(&me.session.psn_no, &trace).await?;
    let mut out = Vec::with_capacity(uses.len());
    for one in &uses {
        let entry = &one.row.entry;
        let receipt = state.store.receipt(one.row.idx).await?;
        out.push(json!({
            "leaf_index": one.row.idx,
            "at_ms": entry.ts_ms,
            "event": entry.event,
            "action": entry.action,
            "purpose": entry.purpose,
            "decision": entry.decision.code(),
            "reason": entry.reason,
            "actor": actor_of(one, &me.session.psn_no),
            "receipt": receipt.to_json(),
        }));
    }
    Ok(Json(json!({ "psn_no": me.session.psn_no, "uses": out })))
}

async fn one_receipt(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(idx): Path<String>,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let idx: i64 = idx
        .parse()
        .ok()
        .filter(|idx| *idx >= 0)
        .ok_or_else(|| SelfError::bad("idx", "must be a leaf index (0 or more)"))?;
    if !state
        .store
        .safebox_leaf_is_theirs(&me.session.psn_no, idx)
        .await?
    {
        // Another person's leaf reads as no leaf.
        return Err(SelfError::not_found(
            "idx",
            format!("no use {idx} of your data"),
        ));
    }
    let own = Acting {
        who: yibao_store::safebox::SafeboxActor::own(&me.session.psn_no),
        facts: None,
    };
    state
        .store
        .safebox_log(&own.event(
            me.now_ms,
            "safebox.receipt",
            "GET /self/v1/uses/{idx}/receipt",
            Decision::Permit,
            format!("leaf={idx}"),
        ))
        .await?;
    let receipt = state.store.receipt(idx).await?;
    Ok(Json(receipt.to_json()))
}
