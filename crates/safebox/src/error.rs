//! The one error type of the safe box, turned into a response in one place:
//! `{"error": {"code": …, "field": …, "reason": …}}` with its HTTP status.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yibao_store::StoreError;

/// A refused request or a failure.
#[derive(Debug)]
pub struct SelfError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `BAD_REQUEST`, `AUTH_REQUIRED`, `SESSION_INVALID`, `AUTH_FAILED`, `FACTOR_REQUIRED`,
    /// `PROXY_DENIED`, `REFUSED`, `NOT_FOUND`, `TOO_LARGE`, `UNAVAILABLE` or `INTERNAL`.
    pub code: &'static str,
    /// The header, query or body field concerned (empty when none is).
    pub field: String,
    /// Why, for the person; internal causes are logged, never put here.
    pub reason: String,
}

impl SelfError {
    /// Any status and code.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// 400: bad input in `field`; nothing was written.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", field, reason)
    }

    /// 404.
    pub fn not_found(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", field, reason)
    }

    /// 401: no session, or one that is unknown, ended or expired.
    pub fn session(code: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, "authorization", reason)
    }

    /// 403: a fresh authentication is needed first.
    pub fn factor_required(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FACTOR_REQUIRED", "factor", reason)
    }

    /// 403: a proxy may not do this for the subject.
    pub fn proxy_denied(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "PROXY_DENIED", "for", reason)
    }

    /// A body that could not be read (too large, not UTF-8 …).
    pub fn body(rejection: BytesRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "TOO_LARGE"
        } else {
            "BAD_REQUEST"
        };
        Self::new(status, code, "body", rejection.body_text())
    }
}

impl From<StoreError> for SelfError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BadInput { field, reason } => Self::bad(field, reason),
            StoreError::NotFound { field, value } => {
                Self::not_found(field, format!("{value} does not exist"))
            }
            StoreError::Refused { field, reason } => {
                Self::new(StatusCode::FORBIDDEN, "REFUSED", field, reason)
            }
            StoreError::Busy { .. } | StoreError::Overloaded { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "",
                err.to_string(),
            ),
            other => {
                tracing::error!(error = %other, "safe box internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "",
                    "internal error (logged on the server)",
                )
            }
        }
    }
}

impl IntoResponse for SelfError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {"code": self.code, "field": self.field, "reason": self.reason}
        });
        (self.status, axum::Json(body)).into_response()
    }
}
