//! The endpoints: each reads its body, checks the signature against the grantee's registered
//! key, and hands the call to the store, which decides, consumes, logs and reads in one
//! transaction. The store's answer goes back as it was stored, with its status:
//! 200 permitted, 401 `SIGNATURE_INVALID`, 409 `REPLAY`, 429 `RATE_LIMITED`, 403 otherwise.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use yibao_privacy::decision::DenyCode;
use yibao_privacy::grant::DataScope;
use yibao_privacy::{ItemSet, OutputForm, Purpose};
use yibao_store::grants::{CallAnswer, CallQuery, GrantCall};

use crate::error::OpenError;
use crate::signing::{self, answer_message, hex};
use crate::SharedState;

/// P01.
pub const IDENTITY_CHECKS: &str = "/open/v1/identity-checks";
/// P02.
pub const HEALTH_DECLARATIONS: &str = "/open/v1/health-declarations";
/// P04 and P05.
pub const SETTLEMENTS_QUERY: &str = "/open/v1/settlements/query";
/// P03.
pub const CLAIMS_RESULTS: &str = "/open/v1/claims/results";

/// Every endpoint.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(IDENTITY_CHECKS, post(identity_check))
        .route(HEALTH_DECLARATIONS, post(health_declaration))
        .route(SETTLEMENTS_QUERY, post(settlements_query))
        .route(CLAIMS_RESULTS, post(claims_results))
}

/// `POST /open/v1/claims/results`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsRequest {
    /// The grant token.
    pub grant_token: String,
    /// The request id.
    pub request_id: String,
}

async fn claims_results(
    State(state): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenError> {
    let request: ClaimsRequest = parse(&body)?;
    let parts = Parts {
        token: request.grant_token,
        request_id: request.request_id,
        purpose: Purpose::P03,
        items: None,
        scope: None,
        output_form: None,
        query: CallQuery::DirectClaims,
    };
    run(&state, &method, &uri, &headers, &body, parts).await
}

/// `POST /open/v1/identity-checks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCheckRequest {
    /// The grant token.
    pub grant_token: String,
    /// The request id (idempotency key).
    pub request_id: String,
    /// The name the person gave.
    pub name: String,
    /// SM3 of the ID number the person gave, hex.
    pub id_number_sm3: String,
    /// Items asked for (default: every item of the grant this endpoint answers).
    #[serde(default)]
    pub items: Option<Vec<String>>,
}

/// `POST /open/v1/health-declarations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthDeclarationRequest {
    /// The grant token.
    pub grant_token: String,
    /// The request id.
    pub request_id: String,
    /// The registered question's diagnosis codes (a code matches recorded codes starting with it).
    pub codes: Vec<String>,
    /// First day of the period asked, `YYYY-MM-DD` (default: the grant's).
    #[serde(default)]
    pub from: Option<String>,
    /// Last day of the period asked.
    #[serde(default)]
    pub to: Option<String>,
}

/// `POST /open/v1/settlements/query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementsRequest {
    /// The grant token.
    pub grant_token: String,
    /// The request id.
    pub request_id: String,
    /// Items asked for (default: every item of the grant this endpoint answers).
    #[serde(default)]
    pub items: Option<Vec<String>>,
    /// First day of the period asked, `YYYY-MM-DD` (default: the grant's period or event).
    #[serde(default)]
    pub from: Option<String>,
    /// Last day of the period asked.
    #[serde(default)]
    pub to: Option<String>,
    /// One settlement or visit id instead of a period.
    #[serde(default)]
    pub event: Option<String>,
    /// `masked_fields` or `fields` (default: the grant's form).
    #[serde(default)]
    pub output_form: Option<String>,
}

async fn identity_check(
    State(state): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenError> {
    let request: IdentityCheckRequest = parse(&body)?;
    let parts = Parts {
        token: request.grant_token,
        request_id: request.request_id,
        purpose: Purpose::P01,
        items: parse_items(request.items)?,
        scope: None,
        output_form: None,
        query: CallQuery::IdentityCheck {
            name: request.name,
            id_number_sm3: request.id_number_sm3,
        },
    };
    run(&state, &method, &uri, &headers, &body, parts).await
}

async fn health_declaration(
    State(state): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenError> {
    let request: HealthDeclarationRequest = parse(&body)?;
    let parts = Parts {
        token: request.grant_token,
        request_id: request.request_id,
        purpose: Purpose::P02,
        items: None,
        scope: period(request.from, request.to, None)?,
        output_form: None,
        query: CallQuery::HealthQuestion {
            codes: request.codes,
        },
    };
    run(&state, &method, &uri, &headers, &body, parts).await
}

async fn settlements_query(
    State(state): State<SharedState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenError> {
    let request: SettlementsRequest = parse(&body)?;
    let output_form = match request.output_form.as_deref() {
        None => None,
        Some("masked_fields") => Some(OutputForm::MaskedFields),
        Some("fields") => Some(OutputForm::Fields),
        Some(other) => {
            return Err(OpenError::bad(
                "output_form",
                format!("`{other}` is not masked_fields or fields"),
            ))
        }
    };
    // P05 single-claim pulls and P04 data transfer read the same data: the store takes the
    // grant's purpose when it is either.
    let parts = Parts {
        token: request.grant_token,
        request_id: request.request_id,
        purpose: Purpose::P05,
        items: parse_items(request.items)?,
        scope: period(request.from, request.to, request.event)?,
        output_form,
        query: CallQuery::Settlements,
    };
    run(&state, &method, &uri, &headers, &body, parts).await
}

/// What an endpoint contributes to a call.
struct Parts {
    token: String,
    request_id: String,
    purpose: Purpose,
    items: Option<ItemSet>,
    scope: Option<DataScope>,
    output_form: Option<OutputForm>,
    query: CallQuery,
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, OpenError> {
    serde_json::from_slice(body).map_err(|e| OpenError::bad("body", e.to_string()))
}

fn parse_items(items: Option<Vec<String>>) -> Result<Option<ItemSet>, OpenError> {
    items
        .map(|codes| {
            yibao_privacy::builtin()
                .parse_items(&codes.join(","))
                .map_err(|e| OpenError::bad("items", e.to_string()))
        })
        .transpose()
}

fn day(field: &str, text: Option<String>) -> Result<Option<NaiveDate>, OpenError> {
    text.map(|text| {
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| OpenError::bad(field, format!("`{text}` is not a YYYY-MM-DD date")))
    })
    .transpose()
}

fn period(
    from: Option<String>,
    to: Option<String>,
    event: Option<String>,
) -> Result<Option<DataScope>, OpenError> {
    match (day("from", from)?, day("to", to)?, event) {
        (None, None, None) => Ok(None),
        (None, None, Some(event)) => Ok(Some(DataScope::Event(event))),
        (Some(from), Some(to), None) if from <= to => Ok(Some(DataScope::Period { from, to })),
        (Some(_), Some(_), None) => Err(OpenError::bad("to", "is before from")),
        (_, _, Some(_)) => Err(OpenError::bad(
            "event",
            "is not asked together with a period",
        )),
        _ => Err(OpenError::bad("from", "a period needs both from and to")),
    }
}

async fn run(
    state: &SharedState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    parts: Parts,
) -> Result<Response, OpenError> {
    let now_ms = state.config.clock.now_ms();
    let signed =
        signing::read_headers(headers).map_err(|(field, reason)| OpenError::bad(field, reason))?;
    let grantee = state.store.grantee(&signed.grantee_id).await?;
    let signature_valid = grantee.as_ref().is_some_and(|g| {
        signing::verifies(&g.public_key, &signed, method.as_str(), uri.path(), body)
    });
    let call = GrantCall {
        grantee_id: signed.grantee_id.clone(),
        signature_valid,
        timestamp_ms: signed.timestamp_ms,
        nonce: signed.nonce.clone(),
        request_id: parts.request_id,
        request_digest: yibao_gm::hash(body),
        action: format!("{method} {}", uri.path()),
        purpose: parts.purpose,
        token: parts.token,
        items: parts.items,
        scope: parts.scope,
        output_form: parts.output_form,
        query: parts.query,
    };
    let answer = state
        .store
        .grant_call(&call, &state.config.token_key, now_ms)
        .await?;
    Ok(respond(state, uri.path(), &signed, answer))
}

fn status_of(code: Option<DenyCode>) -> StatusCode {
    match code {
        None => StatusCode::OK,
        Some(DenyCode::SignatureInvalid) => StatusCode::UNAUTHORIZED,
        Some(DenyCode::Replay) => StatusCode::CONFLICT,
        Some(DenyCode::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
        Some(DenyCode::GrantInvalid | DenyCode::GrantExhausted | DenyCode::ScopeDenied) => {
            StatusCode::FORBIDDEN
        }
    }
}

fn respond(
    state: &SharedState,
    path: &str,
    signed: &signing::SignedHeaders,
    answer: CallAnswer,
) -> Response {
    let mut response = (
        status_of(answer.code),
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer.body.clone(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("x-log-ref", HeaderValue::from(answer.log_ref));
    if answer.replayed {
        headers.insert("x-replayed", HeaderValue::from_static("true"));
    }
    if let Some(key) = &state.config.bureau_key {
        let message = answer_message(
            path,
            &signed.grantee_id,
            &signed.nonce,
            answer.body.as_bytes(),
        );
        let signature = yibao_gm::sign(key, &message);
        if let Ok(value) = HeaderValue::from_str(&hex(&signature.to_bytes())) {
            headers.insert(signing::BUREAU_SIGNATURE_HEADER, value);
        }
    }
    response
}
