//! A user's MFA as the older endpoints see it: `GET /users/{id}/enrollments` (the first
//! confirmed Guardian enrollment, derived from the authentication methods),
//! `DELETE /users/{id}/multifactor/{provider}` (a legacy provider off the profile),
//! `POST /users/{id}/multifactor/actions/invalidate-remember-browser` and
//! `POST /users/{id}/recovery-code-regeneration`.
//!
//! Recorded: enrollments of a user without MFA are `[]` (`TestUserManager_Enrollments.yaml`);
//! a new recovery code is `{"recovery_code":"…"}` with 200, even for a user without an
//! enrollment (`TestUserManager_RegenerateRecoveryCode.yaml`).

use axum::Router;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::json;

use super::authentication_methods::{UserRef, method_error};
use super::extract::JsonBody;
use super::query::QueryString;
use super::response;
use crate::app::AppState;
use crate::domain::authentication_method::{first_enrollment, new_recovery_code};
use crate::domain::schema::Location;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/users/{id}/enrollments"),
    ("DELETE", "/users/{id}/multifactor/{provider}"),
    ("POST", "/users/{id}/multifactor/actions/invalidate-remember-browser"),
    ("POST", "/users/{id}/recovery-code-regeneration"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{id}/enrollments", get(enrollments))
        .route("/users/{id}/multifactor/{provider}", delete(remove_provider))
        .route("/users/{id}/multifactor/actions/invalidate-remember-browser", post(invalidate_remember_browser))
        .route("/users/{id}/recovery-code-regeneration", post(regenerate_recovery_code))
}

/// `UserMultifactorProviderEnum`.
const PROVIDERS: &[&str] = &["duo", "google-authenticator"];

/// A plain array: the first confirmed enrollment, or none. It takes no query parameters (the
/// spec's 400 for a query string).
async fn enrollments(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    QueryString::parse(raw.as_deref(), &[])?;
    let methods = app.store.all_authentication_methods(&id).await.map_err(method_error)?;
    let enrollments: Vec<_> = first_enrollment(&methods).into_iter().collect();
    Ok(response::json(StatusCode::OK, &enrollments))
}

async fn remove_provider(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    params: RawPathParams,
) -> ApiResult<Response> {
    let provider = params.iter().find(|(name, _)| *name == "provider").map_or("", |(_, v)| v);
    if !PROVIDERS.contains(&provider) {
        let detail = format!("No enum match for: \"{provider}\"");
        return Err(Location::Path.error(&[Location::Path.message_at(
            &detail,
            "provider",
            "The multi-factor provider. Supported values 'duo' or 'google-authenticator'",
        )]));
    }
    app.store.remove_multifactor_provider(&id, provider, &time::now()).await.map_err(method_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// Later logins ask for MFA again on browsers remembered before now.
async fn invalidate_remember_browser(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    refuse_properties(&body)?;
    if !app.store.invalidate_remembered_browsers(&id, &time::now()).await? {
        return Err(ApiError::user_not_found());
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// A new recovery code, shown this once; the old one stops working.
async fn regenerate_recovery_code(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    refuse_properties(&body)?;
    let (code, method) = new_recovery_code(time::now());
    app.store.replace_recovery_code(&id, method).await.map_err(method_error)?;
    Ok(response::json(StatusCode::OK, &json!({ "recovery_code": code })))
}

/// These actions take no body; SDKs send none, `{}` or (go-auth0 v1) `null`.
fn refuse_properties(body: &serde_json::Value) -> Result<(), ApiError> {
    match body.as_object() {
        Some(object) if object.is_empty() => Ok(()),
        None if body.is_null() => Ok(()),
        Some(object) => {
            let names: Vec<&str> = object.keys().map(String::as_str).collect();
            Err(Location::Payload.single(&format!("Additional properties not allowed: {}", names.join(",")), None))
        }
        None => Err(ApiError::bad_request(Some("invalid_body"), "Invalid input based on schemas.")),
    }
}
