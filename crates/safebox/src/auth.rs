//! Signing in and out (§6.4, pluggable: the e-voucher today), the fresh second factor, and the
//! helpers every handler uses: the session named by `Authorization: Bearer …`, a JSON body, and
//! who acts for whom.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use yibao_privacy::proxy::{ProxyAction, ProxyFacts};
use yibao_privacy::Millis;
use yibao_store::safebox::{relation_code, SafeboxActor, SafeboxEvent, SafeboxSession, SignIn};
use yibao_store::Decision;

use crate::error::SelfError;
use crate::SharedState;

/// Sign in and out.
pub const SESSIONS: &str = "/self/v1/sessions";
/// The fresh factor.
pub const FACTOR: &str = "/self/v1/sessions/factor";

/// The session endpoints.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(SESSIONS, post(sign_in).delete(sign_out))
        .route(FACTOR, post(confirm_factor))
}

/// `POST /self/v1/sessions` and `POST /self/v1/sessions/factor`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The e-voucher token the decode service returned for the person's code.
    pub ec_token: String,
}

/// A signed-in request: the session and the token that named it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session.
    pub session: SafeboxSession,
    /// The bearer token.
    pub token: String,
    /// The time of the request (UTC ms).
    pub now_ms: i64,
}

impl SignedIn {
    /// Whether the session's last authentication is fresh now.
    pub fn fresh(&self) -> bool {
        self.session.has_fresh_factor(self.now_ms)
    }
}

/// Parses a JSON body; an unreadable, oversized or malformed one names `body`.
pub fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, SelfError> {
    let body = body.map_err(SelfError::body)?;
    serde_json::from_slice(&body).map_err(|e| SelfError::bad("body", e.to_string()))
}

/// The session the request's bearer token opens, touched; 401 otherwise.
pub async fn signed_in(state: &SharedState, headers: &HeaderMap) -> Result<SignedIn, SelfError> {
    let now_ms = state.config.clock.now_ms();
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(SelfError::session(
            "AUTH_REQUIRED",
            "sign in first: POST /self/v1/sessions, then send Authorization: Bearer <token>",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| SelfError::session("AUTH_REQUIRED", "expected `Bearer <token>`"))?;
    let session = state
        .store
        .safebox_session(token, &state.config.token_key, now_ms)
        .await?
        .ok_or_else(|| {
            SelfError::session(
                "SESSION_INVALID",
                "the session is unknown, signed out or expired; sign in again",
            )
        })?;
    Ok(SignedIn {
        session,
        token: token.to_owned(),
        now_ms,
    })
}

/// Who acts and how: for themself, or as a proxy with the stored facts.
#[derive(Debug, Clone)]
pub struct Acting {
    /// Actor and subject.
    pub who: SafeboxActor,
    /// The stored facts when a proxy acts.
    pub facts: Option<ProxyFacts>,
}

impl Acting {
    /// The relation code for the log (empty for the person themself).
    pub fn relation(&self) -> String {
        self.facts
            .as_ref()
            .map(|f| relation_code(f.relation).to_owned())
            .unwrap_or_default()
    }

    /// A log event of this actor.
    pub fn event(
        &self,
        now_ms: i64,
        event: &str,
        action: &str,
        decision: Decision,
        detail: String,
    ) -> SafeboxEvent {
        SafeboxEvent {
            ts_ms: now_ms,
            who: self.who.clone(),
            relation: self.relation(),
            event: event.to_owned(),
            action: action.to_owned(),
            decision,
            detail,
        }
    }
}

/// Resolves `for`: the signed-in person acts for themself, or for `subject` when the store's
/// facts let them take `action` ([`yibao_privacy::proxy::may_act`]). A refusal is logged (about
/// the subject, tied to the proxy) and answered `PROXY_DENIED`.
pub async fn acting(
    state: &SharedState,
    me: &SignedIn,
    subject: Option<&str>,
    action: &ProxyAction,
    endpoint: &str,
) -> Result<Acting, SelfError> {
    let own = &me.session.psn_no;
    let subject = match subject {
        None => {
            return Ok(Acting {
                who: SafeboxActor::own(own),
                facts: None,
            })
        }
        Some(subject) if subject == own => {
            return Ok(Acting {
                who: SafeboxActor::own(own),
                facts: None,
            })
        }
        Some(subject) => subject,
    };
    if subject.is_empty() || subject.chars().count() > 30 {
        return Err(SelfError::bad("for", "must be 1 to 30 characters"));
    }
    let facts = state
        .store
        .proxy_facts(own, subject, me.now_ms)
        .await?
        .ok_or_else(|| {
            SelfError::proxy_denied(
                "you may not act for this person: no guardianship, delegation or family binding is recorded",
            )
        })?;
    let acting = Acting {
        who: SafeboxActor {
            actor: own.clone(),
            subject: subject.to_owned(),
        },
        facts: Some(facts.clone()),
    };
    if let Err(denied) = yibao_privacy::proxy::may_act(&facts, action, Millis(me.now_ms)) {
        state
            .store
            .safebox_log(&acting.event(
                me.now_ms,
                "proxy.denied",
                endpoint,
                Decision::Deny,
                String::new(),
            ))
            .await?;
        return Err(SelfError::proxy_denied(denied.to_string()));
    }
    Ok(acting)
}

async fn sign_in(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, SelfError> {
    let request: TokenRequest = parse(body)?;
    let now_ms = state.config.clock.now_ms();
    match state
        .store
        .safebox_sign_in(&request.ec_token, &state.config.token_key, now_ms)
        .await?
    {
        SignIn::Opened {
            token,
            session,
            leaf_idx,
        } => Ok((
            StatusCode::CREATED,
            Json(json!({
                "session_token": token,
                "psn_no": session.psn_no,
                "expires_at_ms": session.expires_at_ms(),
                "factor_at_ms": session.factor_at_ms,
                "leaf_index": leaf_idx,
            })),
        )
            .into_response()),
        SignIn::Denied { .. } => Err(SelfError::new(
            StatusCode::UNAUTHORIZED,
            "AUTH_FAILED",
            "ec_token",
            "the e-voucher token is not valid now",
        )),
    }
}

async fn sign_out(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let ended = state
        .store
        .safebox_sign_out(&me.token, &state.config.token_key, me.now_ms)
        .await?;
    Ok(Json(json!({ "signed_out": ended })))
}

async fn confirm_factor(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let request: TokenRequest = parse(body)?;
    let session = state
        .store
        .safebox_confirm_factor(
            &me.session,
            &me.token,
            &request.ec_token,
            &state.config.token_key,
            me.now_ms,
        )
        .await?;
    Ok(Json(json!({
        "factor": "e_voucher",
        "factor_at_ms": session.factor_at_ms,
        "fresh_until_ms": session.factor_at_ms + yibao_store::safebox::FRESH_FACTOR_MS,
    })))
}
