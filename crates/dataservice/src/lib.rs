//! `yibao-dataservice`: the third-party data service (spec data-authorization.md §8), JSON under
//! `/open/v1`, for registered grantees (insurers, banks) calling under the grants people gave
//! them. `yibao serve` merges [`router`] beside the national interface and the staff API.
//!
//! Every request is signed with the grantee's SM2 key ([`signing`]); each call is decided and
//! enforced by the store in one transaction ([`yibao_store::Store::grant_call`]): the nonce, the
//! grant locked, [`yibao_privacy::decide`], the use consumed, the access-log record written, and
//! only then the data read. An answer says which items it carries (`items`) and the log record
//! committed with it (`log_ref`, header `X-Log-Ref`; the sequencer makes it a leaf, named by
//! [`yibao_store::Store::call_leaf`]); a retried `request_id` gets the stored answer back.
//!
//! | endpoint | purpose | answers |
//! |---|---|---|
//! | `POST /open/v1/identity-checks` | P01 | yes/no: name, ID number (SM3), adult, insured; the scheme |
//! | `POST /open/v1/health-declarations` | P02 | yes/no: any listed diagnosis in the period |
//! | `POST /open/v1/settlements/query` | P04, P05 | settlement summaries (ST01, ST02, ST04, ST08), masked or in fields |
//! | `POST /open/v1/claims/results` | P03 | direct-claim results computed inside the bureau by the insurer's filed rule |
//! | `GET /open/v1/receipts/{log_ref}` | — | the grantee's receipt for one of its calls: its leaf, inclusion proof and signed checkpoint ([`receipts`]) |
//!
//! Refusals use the codes of §6.5: `SIGNATURE_INVALID` (401), `REPLAY` (409), `GRANT_INVALID`,
//! `GRANT_EXHAUSTED`, `SCOPE_DENIED` (403), `RATE_LIMITED` (429); bad input is 400 and writes
//! nothing.
//!
//! Architecture invariant: no handler reads a person's data; only the store does, inside the
//! call's transaction and after its log record.

pub mod calls;
pub mod error;
pub mod receipts;
pub mod signing;

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::Router;
use yibao_store::grants::TokenKey;
use yibao_store::Store;

pub use crate::error::OpenError;

/// Bytes of a request body: the largest request is a health question of 50 codes.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024;

/// The state every handler gets.
pub type SharedState = Arc<DataServiceState>;

/// What the data service runs with.
#[derive(Debug)]
pub struct DataServiceState {
    /// The database.
    pub store: Store,
    /// The configuration.
    pub config: DataServiceConfig,
}

/// How the data service runs.
#[derive(Debug, Clone)]
pub struct DataServiceConfig {
    /// The key grant tokens are stored under (held outside the database).
    pub token_key: TokenKey,
    /// The bureau's key that signs answers; None: answers go unsigned.
    pub bureau_key: Option<yibao_gm::SigningKey>,
    /// Where the time of each request comes from.
    pub clock: Clock,
}

impl DataServiceConfig {
    /// The configuration with this token key, no answer signing and the system clock.
    pub fn new(token_key: TokenKey) -> Self {
        Self {
            token_key,
            bureau_key: None,
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

/// The data service as an axum router with its state: every endpoint, and a JSON 404 for any
/// other path under `/open/v1`.
pub fn router(store: Store, config: DataServiceConfig) -> Router {
    let state = Arc::new(DataServiceState { store, config });
    calls::routes()
        .merge(receipts::routes())
        .route("/open/v1/{*rest}", axum::routing::any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> OpenError {
    OpenError::not_found(format!("no endpoint {method} {}", uri.path()))
}
