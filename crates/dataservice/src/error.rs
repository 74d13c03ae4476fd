//! The one error type of the data service, turned into a response in one place:
//! `{"error": {"code": …, "field": …, "reason": …}}` with its HTTP status. Refusals decided by
//! the store are not errors: they are answers (see [`crate::calls`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yibao_store::StoreError;

/// A request refused before the store decided it, or a failure.
#[derive(Debug)]
pub struct OpenError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `BAD_REQUEST`, `NOT_FOUND`, `UNAVAILABLE` or `INTERNAL`.
    pub code: &'static str,
    /// The header or body field concerned (empty when none is).
    pub field: String,
    /// Why, for the caller; internal causes are logged, never put here.
    pub reason: String,
}

impl OpenError {
    /// 400: bad input in `field`; nothing was logged or consumed.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// 404: no such endpoint.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            field: "path".into(),
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for OpenError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BadInput { field, reason } => Self::bad(field, reason),
            StoreError::Busy { .. } | StoreError::Overloaded { .. } => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "UNAVAILABLE",
                field: String::new(),
                reason: err.to_string(),
            },
            other => {
                tracing::error!(error = %other, "data service internal error");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "INTERNAL",
                    field: String::new(),
                    reason: "internal error (logged on the server)".into(),
                }
            }
        }
    }
}

impl IntoResponse for OpenError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {"code": self.code, "field": self.field, "reason": self.reason}
        });
        (self.status, axum::Json(body)).into_response()
    }
}
