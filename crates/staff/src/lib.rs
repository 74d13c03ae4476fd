//! `yibao-staff`: the staff API of the bureau, JSON under `/api/v1`, served on the same listener
//! as the national hospital interface (`yibao serve` merges [`router`] into the server's).
//!
//! One set of staff accounts and roles ([`yibao_store::Role`]), bearer sessions
//! (`POST /api/v1/session`), and an access log in which every read of a person's data, every
//! denial, every login and logout and every account change is recorded with who, when, what and
//! why, each a leaf of the tamper-evident Merkle log (`GET /api/v1/access-log/verify`, `/proof`,
//! `/consistency`; docs/PRIVACY.md). The
//! OpenAPI document is generated from the handlers ([`openapi`], `GET /api/v1/openapi.json`).
//!
//! # Adding an endpoint
//!
//! 1. Write the handler in a module of this crate. Take [`Staff`] (a valid session: 401 without
//!    one), and [`Purpose`] when it reads a person's data (400 without one). Before reading,
//!    call [`Staff::authorize_read`] (or [`Staff::authorize`] for an action on no person's
//!    data): it checks the roles and an institution user's institution, writes the access log
//!    entry, and answers 403 on a denial (logged too). A read of one person's record
//!    ([`Subject::person`]) also needs an open case, service session or break-glass named by the
//!    request (`X-Case`, `X-Service-Session`, `X-Break-Glass`): the privacy engine decides, and
//!    the [`Reading`] returned masks each value by its classification item
//!    ([`Reading::show`]; list the endpoint's fields in [`masking::FIELDS`]) and sets the
//!    `X-Data-Items` header ([`Reading::respond`]). Return `Result<_, ApiError>`; a
//!    [`yibao_store::StoreError`] converts with `?`.
//! 2. Describe it with `#[utoipa::path(...)]` (method, full path, parameters, bodies, the
//!    responses with [`ErrorBody`]) and derive `utoipa::ToSchema` on its wire types.
//! 3. Add `.routes(routes!(handler))` to the module's `routes()` and merge that into [`api`]:
//!    the route and its OpenAPI entry are then one registration, and the `openapi` test checks
//!    every documented route answers.
//!
//! ```
//! use axum::extract::{Path, State};
//! use axum::Json;
//! use yibao_staff::{Access, ApiError, ErrorBody, Purpose, SharedState, Staff, Subject};
//! use yibao_store::Role;
//!
//! /// A person's year-to-date accumulations (an example; not a route of this crate).
//! #[utoipa::path(get, path = "/api/v1/persons/{psn_no}/accumulations/{year}", tag = "persons",
//!     params(("psn_no" = String, Path), ("year" = i32, Path), ("X-Purpose" = String, Header)),
//!     responses((status = 200, body = Vec<String>), (status = 403, body = ErrorBody)),
//!     security(("bearer" = [])))]
//! async fn accumulations(
//!     State(state): State<SharedState>,
//!     staff: Staff,
//!     purpose: Purpose,
//!     Path((psn_no, year)): Path<(String, i32)>,
//! ) -> Result<Json<Vec<String>>, ApiError> {
//!     let access = Access {
//!         action: "GET /api/v1/persons/{psn_no}/accumulations/{year}",
//!         roles: &[Role::Reviewer, Role::SeniorReviewer, Role::FinalReviewer],
//!         subject: Subject::person(&psn_no),
//!         // A record of one institution names it here; an institution user then sees it only
//!         // when it is their own.
//!         institution: None,
//!     };
//!     staff.authorize_read(&state, &purpose, access).await?; // 403 and logged, or logged
//!     let rows = state.store.query_cumulative(&psn_no, year, None).await?;
//!     Ok(Json(rows.iter().map(|row| format!("{row:?}")).collect()))
//! }
//!
//! // In the module's `routes()`, merged into `api()`:
//! let routes: utoipa_axum::router::OpenApiRouter<SharedState> =
//!     utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(accumulations));
//! # let _ = routes;
//! ```
//!
//! Architecture invariant: no handler gives a person's data without an access log entry
//! committed first; a request refused for bad input (400, 413, 415) writes nothing.

pub mod access;
pub mod access_log;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod clearing;
pub mod contributions;
pub mod coverage;
pub mod error;
pub mod funds;
pub mod json;
pub mod limits;
pub mod masking;
pub mod personal_accounts;
pub mod persons;
pub mod registry;
pub mod session;
pub mod setl_lists;
pub mod wire;

use std::sync::Arc;

use axum::http::Method;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use yibao_store::{SessionPolicy, Store};

pub use crate::auth::{
    Access, Binding, Purpose, Staff, Subject, BREAK_GLASS_HEADER, CASE_HEADER, PURPOSES,
    PURPOSE_HEADER, SERVICE_SESSION_HEADER, UNMASK_HEADER,
};
pub use crate::error::{ApiError, ErrorBody};
pub use crate::json::JsonBody;
pub use crate::masking::{DataResponse, Reading, DATA_ITEMS_HEADER, DATA_VIEW_HEADER};

/// The state every handler gets: the store and the configuration.
pub type SharedState = Arc<StaffState>;

/// What the staff API runs with.
#[derive(Debug)]
pub struct StaffState {
    /// The database.
    pub store: Store,
    /// Sessions and the clock.
    pub config: StaffConfig,
}

/// How the staff API runs; the defaults are production's.
#[derive(Debug, Clone, Default)]
pub struct StaffConfig {
    /// Session timeouts and the login lock.
    pub session: SessionPolicy,
    /// Where the time of each request comes from.
    pub clock: Clock,
    /// The region's review settings (the appeal deadline).
    pub review: yibao_store::review::ReviewSettings,
}

/// The clock, read once per request (UTC milliseconds since the Unix epoch); tests give their
/// own to move time by hand.
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

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The API's OpenAPI description (title, version, the bearer scheme); the paths come from the
/// handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "yibao staff API",
        description = "The bureau staff's JSON API: sessions, accounts and roles, the access log, person data read with a purpose."
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route of the API with its OpenAPI entry (each module contributes its `routes()`).
pub fn api() -> OpenApiRouter<SharedState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(session::routes())
        .merge(accounts::routes())
        .merge(persons::routes())
        .merge(personal_accounts::routes())
        .merge(access_log::routes())
        .merge(access::routes())
        .merge(audit::routes())
        .merge(registry::routes())
        .merge(coverage::routes())
        .merge(contributions::routes())
        .merge(funds::routes())
        .merge(clearing::routes())
        .merge(setl_lists::routes())
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api().split_for_parts();
    add_openapi_path(&mut doc);
    doc
}

/// `GET /api/v1/openapi.json` itself, described by hand (it is served outside the generated
/// router so that it can hold the finished document).
fn add_openapi_path(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::ResponseBuilder;
    let operation = OperationBuilder::new()
        .tag("meta")
        .summary(Some("This document (OpenAPI 3.1)."))
        .response(
            "200",
            ResponseBuilder::new().description("The OpenAPI document."),
        )
        .build();
    doc.paths
        .add_path_operation(OPENAPI_PATH, vec![HttpMethod::Get], operation);
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The staff API as an axum router with its state, ready to merge beside the national
/// interface: every documented route, `GET /api/v1/openapi.json`, and a JSON 404 for any other
/// path under `/api/v1`.
pub fn router(store: Store, config: StaffConfig) -> Router {
    let state = Arc::new(StaffState { store, config });
    let (routes, mut doc) = api().split_for_parts();
    add_openapi_path(&mut doc);
    let doc = Arc::new(doc);
    routes
        .route(
            OPENAPI_PATH,
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .with_state(state)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("path", format!("no endpoint {method} {}", uri.path()))
}
