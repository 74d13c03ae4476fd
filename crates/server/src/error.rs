//! The server's one error type, turned into a response in one place ([`crate::respond`]).

use crate::auth::AuthError;

/// Everything that can go wrong with one request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input or a refused business rule: HTTP 200, `infcode -1`, `err_msg` names the field.
    #[error("{field}: {reason}")]
    User {
        /// The field (`input.data.psn_no`, `msgid`, `body`).
        field: String,
        /// Why it was refused.
        reason: String,
    },
    /// An `infno` this server does not serve: the reduced error shape of §3.
    #[error("FSI-交易报文不正确：未知交易编号！({0})")]
    UnknownInfno(String),
    /// The gateway refused the request: HTTP 401 with the gateway's own body.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A bug or an outage: logged with its chain, answered with HTTP 500 and no detail.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A user error naming `field`.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::User {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The standard "is required" error.
    pub fn required(field: impl Into<String>) -> Self {
        Self::field(field, "is required")
    }
}
