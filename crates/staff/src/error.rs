//! The one error type of the staff API, turned into a response in one place
//! ([`ApiError::into_response`]): `{"error": {"field": …, "reason": …}}` with its HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use yibao_store::StoreError;

/// A refusal or failure of a staff API request.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status (400, 401, 403, 404, 409, 413, 500, 503).
    pub status: StatusCode,
    /// The request field, header or path parameter concerned (`body` for the whole body).
    pub field: String,
    /// Why, in words for the caller; internal causes are logged and never put here.
    pub reason: String,
}

impl ApiError {
    /// 400: bad input in `field`.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, field, reason)
    }

    /// 401: no session, or an ended or expired one.
    pub fn unauthorized(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, field, reason)
    }

    /// 403: the session's roles or institution do not allow this.
    pub fn forbidden(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, field, reason)
    }

    /// 404: the record named by `field` does not exist.
    pub fn not_found(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, field, reason)
    }

    /// 409: the state does not allow it (a taken username, an account already deactivated).
    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, field, reason)
    }

    /// An error with any status.
    pub fn new(status: StatusCode, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            status,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// 500: logs `cause` with its chain and tells the caller nothing about it.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, "staff API internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            "internal error (logged on the server)",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BadInput { field, reason } => Self::bad(field, reason),
            StoreError::NotFound { field, value } => {
                Self::not_found(field, format!("`{value}` does not exist"))
            }
            StoreError::Refused { field, reason } => Self::conflict(field, reason),
            StoreError::Forbidden { field, value } => {
                Self::forbidden(field, format!("`{value}` belongs to another institution"))
            }
            StoreError::MsgidConflict { .. } => Self::conflict("msgid", err.to_string()),
            StoreError::Busy { .. } | StoreError::Overloaded { .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "", err.to_string())
            }
            other => Self::internal(&other),
        }
    }
}

/// The error body's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, and where.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// The field, header or path parameter concerned (empty when none is).
    pub field: String,
    /// Why.
    pub reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                field: self.field,
                reason: self.reason,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}
