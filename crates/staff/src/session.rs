//! Login, logout and who am I: `POST /api/v1/session`, `DELETE /api/v1/session`,
//! `GET /api/v1/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::wire::{AccountView, LoginRequest, LoginResponse};
use crate::{SharedState, Staff};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(me))
}

/// Logs in. Every refusal (unknown user, wrong password, locked or deactivated account) gives
/// the same 401; repeated failures lock the account for a while. Each attempt is logged.
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Logged in.", body = LoginResponse),
        (status = 400, description = "Malformed body.", body = ErrorBody),
        (status = 401, description = "Login refused.", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<SharedState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<(StatusCode, Json<LoginResponse>), ApiError> {
    let now_ms = state.config.clock.now_ms();
    match state
        .store
        .staff_login(
            &request.username,
            &request.password,
            &state.config.session,
            now_ms,
        )
        .await?
    {
        Ok(session) => Ok((
            StatusCode::CREATED,
            Json(LoginResponse {
                token: session.token,
                expires_at_ms: session.expires_at_ms,
                staff: AccountView::from(&session.account),
            }),
        )),
        Err(_) => Err(ApiError::unauthorized(
            "credentials",
            "the username or password is wrong, or the account cannot log in now",
        )),
    }
}

/// Logs out: the session ends at once.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Logged out."),
        (status = 401, description = "No valid session.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn logout(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<StatusCode, ApiError> {
    state.store.staff_logout(&staff.token, staff.now_ms).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 401, description = "No valid session.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn me(staff: Staff) -> Json<AccountView> {
    Json(AccountView::from(&staff.account))
}
