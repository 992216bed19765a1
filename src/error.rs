//! The one error type of the API surface.
//!
//! Auth0 answers every failure with `{statusCode, error, message, errorCode?}`; the status
//! code and `errorCode` are part of its contract, so domain rules speak them directly and
//! `http::error` only renders them. Internal failures are logged where they are converted
//! and reach the client as a bare 500 without details.

use std::borrow::Cow;

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: Option<Cow<'static, str>>,
    pub message: Cow<'static, str>,
    /// Auth0 repeats the message as `attributes.error` on token failures.
    pub with_attributes: bool,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, error_code: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, error_code: error_code.map(Cow::Borrowed), message: message.into(), with_attributes: false }
    }

    /// 400 `invalid_body`: `Payload validation error: '<detail>'...`.
    pub fn invalid_body(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalid_body"), message)
    }

    /// 400 `invalid_query_string`.
    pub fn invalid_query(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalid_query_string"), message)
    }

    /// 400 `invalid_uri`.
    pub fn invalid_uri(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalid_uri"), message)
    }

    /// A 400 with the given error code (or none, as Auth0 does for password policy errors).
    pub fn bad_request(error_code: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error_code, message)
    }

    pub fn user_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, Some("inexistent_user"), "The user does not exist.")
    }

    pub fn user_exists() -> Self {
        Self::new(StatusCode::CONFLICT, Some("auth0_idp_error"), "The user already exists.")
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, message)
    }

    /// A 401 for a token that failed validation, with Auth0's `attributes` echo.
    pub fn invalid_token(message: impl Into<Cow<'static, str>>) -> Self {
        Self { with_attributes: true, ..Self::unauthorized(message) }
    }

    pub fn forbidden(error_code: Option<&'static str>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error_code, message)
    }

    pub fn insufficient_scope(expected_any_of: &[&str]) -> Self {
        Self::forbidden(
            Some("insufficient_scope"),
            format!("Insufficient scope, expected any of: {}", expected_any_of.join(",")),
        )
    }

    pub fn insufficient_scope_all(expected_all_of: &[&str]) -> Self {
        Self::forbidden(
            Some("insufficient_scope"),
            format!("Insufficient scope, expected all of: {}", expected_all_of.join(",")),
        )
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, message)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("Payload content length greater than maximum allowed: {limit}"),
        )
    }

    /// Logs the cause here, once, and hides it from the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal Server Error")
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(cause: anyhow::Error) -> Self {
        Self::internal(format!("{cause:#}"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}
