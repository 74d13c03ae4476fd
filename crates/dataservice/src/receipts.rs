//! `GET /open/v1/receipts/{log_ref}`: a grantee's receipt for one of its calls, by the `log_ref`
//! the call's answer carried. Once the sequencer has made the call's record a leaf and a
//! checkpoint covers it, the receipt is the leaf with its inclusion proof and the signed
//! checkpoint note (spec data-authorization.md §9.5), so the grantee can show, without trusting
//! the bureau's word, that its call is in the log every auditor and the person see.
//!
//! The request is signed like every other (method `GET`, an empty body); a timestamp outside the
//! skew window is refused. Only the grantee that made a call gets its receipt: another grantee's
//! `log_ref` is not found. A receipt carries no personal data (the leaf holds pseudonyms), so
//! reading one appends no leaf.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use yibao_store::grants::CallReceipt;
use yibao_store::StoreError;

use crate::error::OpenError;
use crate::signing;
use crate::SharedState;

/// The receipts endpoint, `{log_ref}` a call's record.
pub const RECEIPTS: &str = "/open/v1/receipts/{log_ref}";

/// The endpoint.
pub fn routes() -> Router<SharedState> {
    Router::new().route(RECEIPTS, get(receipt))
}

async fn receipt(
    State(state): State<SharedState>,
    Path(log_ref): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, OpenError> {
    let log_ref: i64 = log_ref
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| OpenError::bad("log_ref", "is not a call's log reference"))?;
    let signed =
        signing::read_headers(&headers).map_err(|(field, reason)| OpenError::bad(field, reason))?;
    let now_ms = state.config.clock.now_ms();
    let grantee = state.store.grantee(&signed.grantee_id).await?;
    let verified = grantee.as_ref().is_some_and(|g| {
        g.active && signing::verifies(&g.public_key, &signed, method.as_str(), uri.path(), b"")
    });
    if !verified {
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "SIGNATURE_INVALID",
            "the signature does not verify under a registered, active grantee's key",
        ));
    }
    if (now_ms - signed.timestamp_ms).abs() > yibao_privacy::limits::REQUEST_SKEW_MAX_MS {
        return Ok(refusal(
            StatusCode::CONFLICT,
            "REPLAY",
            "the request's timestamp is outside the allowed skew",
        ));
    }
    let receipt = match state.store.call_receipt(&signed.grantee_id, log_ref).await {
        Err(StoreError::NotFound { .. }) => {
            return Err(OpenError {
                status: StatusCode::NOT_FOUND,
                code: "NOT_FOUND",
                field: "log_ref".into(),
                reason: "no call of this grantee has this log reference".into(),
            })
        }
        other => other?,
    };
    let body = match receipt {
        CallReceipt::Pending => serde_json::json!({
            "log_ref": log_ref,
            "pending": "the call's record waits for the sequencer; ask again in a moment",
        }),
        CallReceipt::InLog(receipt) => {
            let mut body = receipt.to_json();
            body["log_ref"] = serde_json::json!(log_ref);
            body
        }
    };
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

fn refusal(status: StatusCode, code: &str, reason: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "reason": reason}});
    (status, axum::Json(body)).into_response()
}
