//! `/api/v2/users/{id}/identities`: linking a user's account to another (`POST`) and unlinking
//! it again (`DELETE …/{provider}/{user_id}`).
//!
//! Recorded (go-auth0 `TestUserManager_Link.yaml`, `_Unlink.yaml`): the link answers 201 and the
//! unlink 200, each with the primary's identities, every one with a `profileData`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{delete, post};
use axum::{Extension, Router};

use super::extract::JsonBody;
use super::response;
use crate::app::AppState;
use crate::auth::token::{self, Caller};
use crate::domain::identity_link::{self, LinkRequest, PROVIDERS};
use crate::domain::schema::Location;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::{LinkError, Secondary, UnlinkError};

pub const IMPLEMENTED: &[(&str, &str)] =
    &[("POST", "/users/{id}/identities"), ("DELETE", "/users/{id}/identities/{provider}/{user_id}")];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{id}/identities", post(link))
        .route("/users/{id}/identities/{provider}/{user_id}", delete(unlink))
}

/// The path parameters of either operation, checked as Auth0's spec declares them: `id` a
/// user id (`provider|id`), `provider` one of `UserIdentityProviderEnum`.
struct IdentityPath {
    id: String,
    provider: Option<String>,
    user_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for IdentityPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))?;
        let param = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, value)| value.to_owned());
        let id = param("id").unwrap_or_default();
        let (provider, user_id) = (param("provider"), param("user_id"));
        let at = Location::Path;
        if ids::split_user_id(&id).is_none() || id.contains('\0') {
            let description = match provider {
                Some(_) => "ID of the primary user account.",
                None => "ID of the primary user account to link a second user account to.",
            };
            let detail = format!("String does not match pattern ^.+\\|.+$: {id}");
            return Err(at.error(&[at.message_at(&detail, "id", description)]));
        }
        if let Some(provider) = provider.as_deref().filter(|p| !PROVIDERS.contains(p)) {
            let detail = format!("No enum match for: \"{provider}\"");
            let description = "Identity provider name of the secondary linked account (e.g. `google-oauth2`).";
            return Err(at.error(&[at.message_at(&detail, "provider", description)]));
        }
        if user_id.as_deref().is_some_and(|u| u.contains('\0')) {
            return Err(ApiError::user_not_found());
        }
        Ok(Self { id, provider, user_id })
    }
}

/// How Auth0 refuses a link.
fn link_error(error: LinkError) -> ApiError {
    match error {
        LinkError::PrimaryNotFound => ApiError::user_not_found(),
        LinkError::SecondaryNotFound => {
            ApiError::bad_request(Some("invalid_body"), "Provided secondary account not found.")
        }
        LinkError::AlreadyLinked | LinkError::LinkedElsewhere => {
            ApiError::new(StatusCode::CONFLICT, Some("identity_conflict"), "Specified identity already exists.")
        }
        LinkError::Other(cause) => cause.into(),
    }
}

async fn link(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    path: IdentityPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let secondary = match identity_link::parse_link_request(&body)? {
        LinkRequest::Identity { provider, user_id, connection_id } => {
            let connection = match connection_id {
                None => None,
                Some(id) => Some(
                    app.store
                        .connection_by_id(&id)
                        .await?
                        .ok_or_else(|| {
                            ApiError::bad_request(Some("invalid_body"), "The provider/connection is not configured.")
                        })?
                        .connection
                        .name,
                ),
            };
            Secondary { provider, user_id, connection }
        }
        LinkRequest::Token(token) => {
            let sub = token::verify_link_with(&app.keys, &app.issuer, &token, caller.azp.as_deref())?;
            let (provider, user_id) = ids::split_user_id(&sub).expect("verify_link_with checks sub");
            Secondary { provider: provider.to_owned(), user_id: user_id.to_owned(), connection: None }
        }
    };
    if identity_link::same_identity(&path.id, &secondary.provider, &secondary.user_id) {
        return Err(ApiError::bad_request(Some("invalid_body"), "Main identity and the new one are the same."));
    }
    let primary = app.store.link_identity(&path.id, secondary, time::now()).await.map_err(link_error)?;
    Ok(response::json(StatusCode::CREATED, &identity_link::identities_response(&primary)))
}

async fn unlink(State(app): State<AppState>, path: IdentityPath) -> ApiResult<Response> {
    let (provider, user_id) = (path.provider.unwrap_or_default(), path.user_id.unwrap_or_default());
    let user_id = identity_link::without_provider(&provider, user_id);
    let (primary, _) =
        app.store.unlink_identity(&path.id, &provider, &user_id, time::now()).await.map_err(|error| match error {
            UnlinkError::UserNotFound => ApiError::user_not_found(),
            UnlinkError::MainIdentity => {
                ApiError::bad_request(Some("invalid_body"), "Main identity cannot be removed.")
            }
            UnlinkError::NotLinked => ApiError::bad_request(Some("invalid_body"), "Identity not found."),
            UnlinkError::Other(cause) => cause.into(),
        })?;
    Ok(response::json(StatusCode::OK, &identity_link::identities_response(&primary)))
}
