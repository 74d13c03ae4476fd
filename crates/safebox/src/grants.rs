//! My grants (§7 authorise and manage): list them with uses left and validity, give one to a
//! registered grantee for a registered purpose (the consent screen's result: items, per-item
//! confirmation, mode, validity, the consent text shown, and the session's fresh factor), revoke
//! one, and pause or resume all third-party sharing. A proxy names the subject with `for`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_privacy::grant::{DataScope, FactorKind, FactorUse, Grantee, Grantor, Notice};
use yibao_privacy::proxy::{ProxyAction, ProxyFacts, Relation};
use yibao_privacy::{builtin, GrantDraft, ItemSet, Millis, Mode, OutputForm, Purpose};
use yibao_store::grants::GrantRecord;
use yibao_store::Decision;

use crate::auth::{acting, parse, signed_in, SignedIn};
use crate::data::for_of;
use crate::error::SelfError;
use crate::{SharedState, NOTICE_CHARS_MAX};

/// My grants.
pub const GRANTS: &str = "/self/v1/grants";
/// Revoke one.
pub const REVOKE: &str = "/self/v1/grants/{id}/revoke";
/// Pause sharing.
pub const PAUSE: &str = "/self/v1/sharing/pause";
/// Resume sharing.
pub const RESUME: &str = "/self/v1/sharing/resume";

/// The longest validity asked here (a purpose's own cap is usually shorter and is checked too).
pub const VALID_MINUTES_MAX: i64 = 366 * 24 * 60;

/// The grant endpoints.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(GRANTS, get(list).post(give))
        .route(REVOKE, post(revoke))
        .route(PAUSE, post(pause))
        .route(RESUME, post(resume))
}

/// The period or the one event a grant covers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequest {
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day.
    #[serde(default)]
    pub to: Option<String>,
    /// One `mdtrt_id` or `setl_id` instead.
    #[serde(default)]
    pub event: Option<String>,
}

/// The consent text as shown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// Its version id.
    pub text_version: String,
    /// The exact text shown (its SM3 is stored).
    pub text: String,
    /// The retention the grantee promised, as shown.
    pub retention: String,
}

/// `POST /self/v1/grants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiveRequest {
    /// The subject when a proxy gives it (default: me).
    #[serde(default, rename = "for")]
    pub for_psn_no: Option<String>,
    /// The registered grantee.
    pub grantee_id: String,
    /// The grantee's product, if any.
    #[serde(default)]
    pub product_id: String,
    /// The registered purpose (`P01` …).
    pub purpose: String,
    /// The items.
    pub items: Vec<String>,
    /// The items confirmed one by one (every level-2 and level-3 item must be here).
    #[serde(default)]
    pub confirmed_items: Vec<String>,
    /// Level-3 items confirmed on their own screen.
    #[serde(default)]
    pub separate_level3_consent: bool,
    /// Which data.
    pub scope: ScopeRequest,
    /// `derived`, `computed`, `masked_fields` or `fields`.
    pub output_form: String,
    /// `ONCE`, `LIMITED` or `MULTI`.
    pub mode: String,
    /// Uses of a LIMITED grant.
    #[serde(default)]
    pub uses: Option<u32>,
    /// Minutes of validity from now.
    pub valid_minutes: i64,
    /// End of the insurance policy (P03, P04), UTC ms.
    #[serde(default)]
    pub policy_end_ms: Option<i64>,
    /// The consent text shown.
    pub notice: NoticeRequest,
    /// A minor of 14 to 17 confirms their guardian's grant by presenting their own e-voucher.
    #[serde(default)]
    pub minor_ec_token: Option<String>,
}

/// `POST /self/v1/grants/{id}/revoke` (optional body).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The subject when a proxy revokes.
    #[serde(default, rename = "for")]
    pub for_psn_no: Option<String>,
}

fn output_form(text: &str) -> Result<OutputForm, SelfError> {
    [
        OutputForm::Derived,
        OutputForm::Computed,
        OutputForm::MaskedFields,
        OutputForm::Fields,
    ]
    .into_iter()
    .find(|form| form.code() == text)
    .ok_or_else(|| {
        SelfError::bad(
            "output_form",
            format!("`{text}` is not derived, computed, masked_fields or fields"),
        )
    })
}

fn items(field: &str, codes: &[String]) -> Result<ItemSet, SelfError> {
    if codes.len() > 100 {
        return Err(SelfError::bad(field, "at most 100 items"));
    }
    builtin()
        .parse_items(&codes.join(","))
        .map_err(|e| SelfError::bad(field, e.to_string()))
}

fn day(field: &str, text: &str) -> Result<NaiveDate, SelfError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| SelfError::bad(field, format!("`{text}` is not a YYYY-MM-DD date")))
}

fn scope(request: &ScopeRequest) -> Result<DataScope, SelfError> {
    match (&request.from, &request.to, &request.event) {
        (None, None, Some(event)) if !event.is_empty() && event.chars().count() <= 30 => {
            Ok(DataScope::Event(event.clone()))
        }
        (None, None, Some(_)) => Err(SelfError::bad("scope.event", "must be 1 to 30 characters")),
        (Some(from), Some(to), None) => Ok(DataScope::Period {
            from: day("scope.from", from)?,
            to: day("scope.to", to)?,
        }),
        (_, _, Some(_)) => Err(SelfError::bad(
            "scope.event",
            "is not given together with a period",
        )),
        _ => Err(SelfError::bad(
            "scope.from",
            "a scope is a period (from and to) or one event",
        )),
    }
}

fn mode(text: &str, uses: Option<u32>) -> Result<Mode, SelfError> {
    match (text, uses) {
        ("ONCE", None) => Ok(Mode::Once),
        ("MULTI", None) => Ok(Mode::Multi),
        ("LIMITED", Some(n)) => Ok(Mode::Limited(n)),
        ("LIMITED", None) => Err(SelfError::bad("uses", "a LIMITED grant says how many uses")),
        ("ONCE" | "MULTI", Some(_)) => Err(SelfError::bad("uses", "only a LIMITED grant has uses")),
        (other, _) => Err(SelfError::bad(
            "mode",
            format!("`{other}` is not ONCE, LIMITED or MULTI"),
        )),
    }
}

fn grant_json(record: &GrantRecord, now_ms: i64) -> Value {
    let grant = &record.grant;
    let terms = grant.terms();
    let grantee = match grant.grantee() {
        Grantee::Organisation(id) | Grantee::Person(id) => id.clone(),
    };
    json!({
        "grant_id": grant.id(),
        "grantee_id": grantee,
        "product_id": terms.product_id,
        "purpose": grant.purpose().code(),
        "items": grant.items().iter().map(|c| c.as_str().to_owned()).collect::<Vec<_>>(),
        "level": grant.level().number(),
        "mode": terms.mode.to_string(),
        "uses_left": grant.uses_left(),
        "uses_count": grant.uses_count(),
        "status": grant.status_at(Millis(now_ms)).code(),
        "not_before_ms": terms.not_before.0,
        "not_after_ms": terms.not_after.0,
        "consented_at_ms": terms.consented_at.0,
        "created_leaf": record.created_leaf,
        "ended_leaf": record.ended_leaf,
        "ended_at_ms": record.ended_at_ms,
    })
}

async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let subject = for_of(&query)?;
    let view = ProxyAction::View {
        items: ItemSet::new(),
        level: yibao_privacy::Level::L1,
    };
    let who = acting(
        &state,
        &me,
        subject.as_deref(),
        &view,
        "GET /self/v1/grants",
    )
    .await?;
    state
        .store
        .safebox_log(&who.event(
            me.now_ms,
            "safebox.grants",
            "GET /self/v1/grants",
            Decision::Permit,
            String::new(),
        ))
        .await?;
    let grants = state
        .store
        .grants_of(&who.who.subject, &state.config.token_key)
        .await?;
    let paused = state.store.sharing_paused(&who.who.subject).await?;
    Ok(Json(json!({
        "subject": who.who.subject,
        "sharing_paused": paused,
        "grants": grants.iter().map(|g| grant_json(g, me.now_ms)).collect::<Vec<_>>(),
    })))
}

/// The factor behind a consent: the session's last e-voucher presentation, fresh.
fn factor(me: &SignedIn) -> Result<FactorUse, SelfError> {
    if !me.fresh() {
        return Err(SelfError::factor_required(
            "a consent needs a fresh authentication: present your e-voucher again (POST /self/v1/sessions/factor)",
        ));
    }
    let mut evidence = me.session.factor_ref.clone();
    evidence.truncate(32);
    Ok(FactorUse {
        kind: FactorKind::EVoucher,
        verified_at: Millis(me.session.factor_at_ms),
        evidence_ref: evidence,
    })
}

async fn give(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let request: GiveRequest = parse(body)?;
    let purpose =
        Purpose::parse(&request.purpose).map_err(|e| SelfError::bad("purpose", e.to_string()))?;
    let granted = items("items", &request.items)?;
    let confirmed = items("confirmed_items", &request.confirmed_items)?;
    let scope = scope(&request.scope)?;
    let form = output_form(&request.output_form)?;
    let mode = mode(&request.mode, request.uses)?;
    if !(1..=VALID_MINUTES_MAX).contains(&request.valid_minutes) {
        return Err(SelfError::bad(
            "valid_minutes",
            "must be 1 minute to 366 days",
        ));
    }
    let notice = &request.notice;
    if notice.text.trim().is_empty() || notice.text.chars().count() > NOTICE_CHARS_MAX {
        return Err(SelfError::bad(
            "notice.text",
            format!("must be the consent text shown, 1 to {NOTICE_CHARS_MAX} characters"),
        ));
    }
    for (field, value) in [
        ("notice.text_version", &notice.text_version),
        ("notice.retention", &notice.retention),
        ("grantee_id", &request.grantee_id),
    ] {
        if value.trim().is_empty() || value.chars().count() > 100 {
            return Err(SelfError::bad(field, "must be 1 to 100 characters"));
        }
    }
    let factor = factor(&me)?;
    let own = me.session.psn_no.clone();
    let subject = request.for_psn_no.clone().unwrap_or_else(|| own.clone());
    let grantor = if subject == own {
        Grantor::Subject
    } else {
        // A minor of 14 to 17 confirms with their own e-voucher, resolved by the registry.
        let minor_confirmed = match &request.minor_ec_token {
            None => false,
            Some(token) => state
                .store
                .person_info_by(
                    &yibao_store::PersonKey::EcToken(token.clone()),
                    chrono::DateTime::from_timestamp_millis(me.now_ms)
                        .map(|t| t.date_naive())
                        .unwrap_or(NaiveDate::MIN),
                )
                .await
                .is_ok_and(|info| info.base.psn_no == subject),
        };
        // The store replaces everything but the per-action evidence with its stored facts.
        Grantor::Proxy(ProxyFacts {
            proxy: own.clone(),
            relation: Relation::Delegate,
            subject_age_years: 0,
            subject_deceased: false,
            minor_holds_evoucher: false,
            minor_confirmed,
            court_order_verified: false,
            delegation: None,
            proxy_face_checked: false,
        })
    };
    let token = yibao_gm::random_token()
        .map_err(|e| SelfError::from(yibao_store::StoreError::Invariant(e.to_string())))?;
    let grant_id = format!("sb{}", &token[..24]);
    let now = Millis(me.now_ms);
    let age = if matches!(grantor, Grantor::Subject) {
        state
            .store
            .person_info(&own)
            .await
            .ok()
            .and_then(|info| NaiveDate::parse_from_str(&info.base.brdy, "%Y-%m-%d").ok())
            .map(|birth| {
                yibao_privacy::proxy::age_on(
                    birth,
                    chrono::DateTime::from_timestamp_millis(me.now_ms)
                        .map(|t| t.date_naive())
                        .unwrap_or(NaiveDate::MIN),
                )
            })
    } else {
        None
    };
    let draft = GrantDraft {
        grant_id: grant_id.clone(),
        subject: subject.clone(),
        subject_age_years: age,
        grantor,
        grantee: Grantee::Organisation(request.grantee_id.clone()),
        product_id: request.product_id.clone(),
        purpose,
        items: granted,
        confirmed_items: confirmed,
        separate_level3_consent: request.separate_level3_consent,
        scope,
        output_form: form,
        mode,
        not_before: now,
        not_after: now.plus(request.valid_minutes * 60_000),
        policy_end: request.policy_end_ms.map(Millis),
        notice: Notice {
            text_version: notice.text_version.clone(),
            text_digest: yibao_gm::hash(notice.text.as_bytes()),
            retention: notice.retention.clone(),
        },
        factors: vec![factor],
        consented_at: now,
    };
    let given = match state.store.give_grant(draft, &state.config.token_key).await {
        Ok(given) => given,
        Err(yibao_store::StoreError::Refused { field, reason }) if field == "grantor" => {
            return Err(SelfError::proxy_denied(reason));
        }
        Err(other) => return Err(other.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "grant_id": grant_id,
            "grant_token": given.token,
            "grant": grant_json(&given.record, me.now_ms),
            "leaf_index": given.record.created_leaf,
        })),
    )
        .into_response())
}

async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(grant_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let request: RevokeRequest = match body {
        Ok(bytes) if bytes.is_empty() => RevokeRequest::default(),
        other => parse(other)?,
    };
    let own = me.session.psn_no.clone();
    let who = yibao_store::safebox::SafeboxActor {
        subject: request.for_psn_no.clone().unwrap_or_else(|| own.clone()),
        actor: own,
    };
    let record = match state
        .store
        .revoke_grant_as(&grant_id, &who, &state.config.token_key, me.now_ms)
        .await
    {
        Ok(record) => record,
        Err(yibao_store::StoreError::Refused { field, reason }) if field == "grantor" => {
            return Err(SelfError::proxy_denied(reason));
        }
        Err(other) => return Err(other.into()),
    };
    Ok(Json(json!({
        "grant": grant_json(&record, me.now_ms),
        "leaf_index": record.ended_leaf,
    })))
}

async fn set_paused(
    state: SharedState,
    headers: HeaderMap,
    paused: bool,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let own = crate::auth::Acting {
        who: yibao_store::safebox::SafeboxActor::own(&me.session.psn_no),
        facts: None,
    };
    let (event, action) = if paused {
        ("sharing.paused", "POST /self/v1/sharing/pause")
    } else {
        ("sharing.resumed", "POST /self/v1/sharing/resume")
    };
    let now_paused = state
        .store
        .set_sharing_paused(
            &own.event(me.now_ms, event, action, Decision::Permit, String::new()),
            paused,
        )
        .await?;
    Ok(Json(json!({ "sharing_paused": now_paused })))
}

async fn pause(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, SelfError> {
    set_paused(state, headers, true).await
}

async fn resume(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, SelfError> {
    set_paused(state, headers, false).await
}
