//! `yibao-safebox`: the person's safe box (数字保险箱, spec data-authorization.md §7), JSON under
//! `/self/v1`, for insured persons (and their proxies, §5.7). `yibao serve` merges [`router`]
//! beside the national interface, the staff API and the data service.
//!
//! A person signs in with their e-voucher token (医保电子凭证, §6.4), resolved by the registry's
//! own lookup; the session token they get is stored only as an HMAC, ends after 30 minutes idle
//! or 8 hours, and is sent back as `Authorization: Bearer …`. Level-3 items, consents and
//! delegations need a second, fresh authentication: the token presented again in the last five
//! minutes (`POST /self/v1/sessions/factor`).
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /self/v1/sessions`, `DELETE /self/v1/sessions` | sign in with `ec_token`, sign out |
//! | `POST /self/v1/sessions/factor` | the fresh factor (`ec_token` again) |
//! | `GET /self/v1/data` | my data by category with level badges, sources and cheap values |
//! | `GET /self/v1/uses`, `GET /self/v1/uses/{idx}/receipt` | every use of my data, each with a receipt |
//! | `GET /self/v1/grants`, `POST /self/v1/grants`, `POST /self/v1/grants/{id}/revoke` | my grants |
//! | `POST /self/v1/sharing/pause`, `POST /self/v1/sharing/resume` | pause all third-party sharing |
//! | `GET /self/v1/family`, `POST /self/v1/delegations`, `POST /self/v1/delegations/{id}/end` | proxies |
//!
//! A proxy acts for a subject by naming them (`?for=` or `"for"`); the store decides from stored
//! facts ([`yibao_store::Store::proxy_facts`], [`yibao_privacy::proxy::may_act`]).
//!
//! Every action appends an access-log leaf before any data is returned ("no log, no data");
//! errors are `{"error": {"code", "field", "reason"}}` ([`SelfError`]).
//!
//! Architecture invariant: no handler reads a person's data itself; the store does, after the
//! leaf.

pub mod auth;
pub mod data;
pub mod error;
pub mod family;
pub mod grants;
pub mod uses;

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::Router;
use yibao_store::grants::TokenKey;
use yibao_store::Store;

pub use crate::error::SelfError;

/// Bytes of a request body: the largest is a grant with its consent text.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024;
/// Characters of a consent text shown.
pub const NOTICE_CHARS_MAX: usize = 4_000;

/// The state every handler gets.
pub type SharedState = Arc<SafeboxState>;

/// What the safe box runs with.
#[derive(Debug)]
pub struct SafeboxState {
    /// The database.
    pub store: Store,
    /// The configuration.
    pub config: SafeboxConfig,
}

/// How the safe box runs.
#[derive(Debug, Clone)]
pub struct SafeboxConfig {
    /// The key session and grant tokens are stored under (held outside the database); the
    /// data service's, so grants given here are found by its calls.
    pub token_key: TokenKey,
    /// Where the time of each request comes from.
    pub clock: Clock,
}

impl SafeboxConfig {
    /// The configuration with this token key and the system clock.
    pub fn new(token_key: TokenKey) -> Self {
        Self {
            token_key,
            clock: Clock::system(),
        }
    }
}

/// The clock, read once per request (UTC milliseconds since the Unix epoch); tests give their
/// own.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// A clock that reads `now`.
    pub fn new(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The system clock.
    pub fn system() -> Self {
        Self::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        })
    }

    /// The time now.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The safe box as an axum router with its state: every endpoint, and a JSON 404 for any other
/// path under `/self/v1`.
pub fn router(store: Store, config: SafeboxConfig) -> Router {
    let state = Arc::new(SafeboxState { store, config });
    auth::routes()
        .merge(data::routes())
        .merge(uses::routes())
        .merge(grants::routes())
        .merge(family::routes())
        .route("/self/v1/{*rest}", axum::routing::any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> SelfError {
    SelfError::not_found("path", format!("no endpoint {method} {}", uri.path()))
}
