//! `/api/v2/users/{id}/authentication-methods` (a user's MFA factors and passkeys, one by one
//! or all at once) and `/api/v2/users/{id}/authenticators` (all factors at once).
//!
//! Recorded (`TestUserManager_AuthenticationMethods.yaml`): `POST` answers 201 with the method
//! masked and without `confirmed`; reads mask and show `confirmed`; `PUT` answers 200 with the
//! new methods as given; deletes answer 204. With `include_totals` the listing is
//! `{"authenticators":[…],"total":…,"start":…,"limit":…}`; a user without methods gets no
//! `total`.

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::{Map, Value};

use super::extract::JsonBody;
use super::pagination::{INCLUDE_TOTALS, Page};
use super::query::{Param, QueryString};
use super::response;
use super::roles::IdPath;
use crate::app::AppState;
use crate::domain::authentication_method::{
    CREATE_METHOD, SET_METHODS, UPDATE_METHOD, View, check_update, method_to_create, methods_to_set,
};
use crate::domain::listing::Window;
use crate::domain::schema::Type;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::authentication_methods::{IfPasskey, MethodError};

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/users/{id}/authentication-methods"),
    ("POST", "/users/{id}/authentication-methods"),
    ("PUT", "/users/{id}/authentication-methods"),
    ("DELETE", "/users/{id}/authentication-methods"),
    ("GET", "/users/{id}/authentication-methods/{authentication_method_id}"),
    ("PATCH", "/users/{id}/authentication-methods/{authentication_method_id}"),
    ("DELETE", "/users/{id}/authentication-methods/{authentication_method_id}"),
    ("DELETE", "/users/{id}/authenticators"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/users/{id}/authentication-methods",
            get(list_methods).post(create_method).put(set_methods).delete(delete_methods),
        )
        .route(
            "/users/{id}/authentication-methods/{authentication_method_id}",
            get(read_method).patch(update_method).delete(delete_method),
        )
        .route("/users/{id}/authenticators", delete(delete_authenticators))
}

/// The `{id}` of a path under a user, percent-decoded. Auth0's spec gives these paths no
/// pattern, so any text is a user id; one that cannot be stored (U+0000) names no user.
pub(super) struct UserRef(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserRef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let IdPath(id) = IdPath::from_request_parts(parts, state).await?;
        if id.contains('\0') {
            return Err(ApiError::user_not_found());
        }
        Ok(Self(id))
    }
}

/// `{id}` and `{authentication_method_id}`.
struct MethodPath(String, String);

impl<S: Send + Sync> FromRequestParts<S> for MethodPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let UserRef(user_id) = UserRef::from_request_parts(parts, state).await?;
        let params = path_params(parts, state).await?;
        let id = params.iter().find(|(name, _)| *name == "authentication_method_id").map(|(_, v)| v.to_owned());
        match id {
            Some(id) if !id.contains('\0') => Ok(Self(user_id, id)),
            _ => Err(method_not_found()),
        }
    }
}

async fn path_params<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<RawPathParams, ApiError> {
    RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))
}

fn method_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some("inexistent_authentication_method"),
        "The authentication method could not be found.",
    )
}

pub(super) fn method_error(error: MethodError) -> ApiError {
    match error {
        MethodError::UserNotFound => ApiError::user_not_found(),
        MethodError::MethodNotFound => method_not_found(),
        MethodError::Exists => ApiError::new(
            StatusCode::CONFLICT,
            Some("authentication_method_exists"),
            "Authentication method already exists.",
        ),
        MethodError::LimitReached => ApiError::forbidden(
            Some("too_many_entities"),
            "You reached the limit of entities of this type for this user.",
        ),
        MethodError::HasPasskey => ApiError::forbidden(
            Some("operation_not_supported"),
            "Operation not permitted when the user has registered at least 1 passkey",
        ),
        MethodError::Other(cause) => cause.into(),
    }
}

const LIST_PARAMS: &[Param] = &[
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0. Default is 0.")
        .range(Some(0), None),
    Param::new("per_page", Type::Integer, "Number of results per page. Default is 50.").range(Some(0), Some(100)),
    INCLUDE_TOTALS,
];

async fn list_methods(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let page = Page::from_query(&query);
    let window = Window { offset: page.offset, limit: page.limit };
    let listed = app.store.authentication_methods(&id, window).await.map_err(method_error)?;
    let items: Vec<Value> = listed.items.iter().map(|m| m.to_json(View::Read)).collect();
    if !page.include_totals {
        return Ok(response::json(StatusCode::OK, &items));
    }
    // Recorded: `total` comes before `start` and `limit`, and is left out when the user has no
    // methods (a page past the end still counts them).
    let mut body = Map::new();
    body.insert("authenticators".into(), Value::Array(items));
    if listed.total > 0 {
        body.insert("total".into(), Value::from(listed.total));
    }
    body.insert("start".into(), Value::from(page.offset));
    body.insert("limit".into(), Value::from(page.limit));
    Ok(response::json(StatusCode::OK, &body))
}

async fn create_method(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = CREATE_METHOD.validate_payload(&body)?;
    let new = method_to_create(body, time::now())?;
    let created = new.method.to_json(View::Written);
    app.store.create_authentication_method(&id, new).await.map_err(method_error)?;
    Ok(response::json(StatusCode::CREATED, &created))
}

/// Replaces every method the user has with those given.
async fn set_methods(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    SET_METHODS.validate(&body)?;
    let at = time::now();
    let new = methods_to_set(&body, at)?;
    let answer: Vec<Value> = new.iter().map(|n| n.method.to_json(View::Replaced)).collect();
    app.store.set_authentication_methods(&id, new, &at).await.map_err(method_error)?;
    Ok(response::json(StatusCode::OK, &answer))
}

/// `DELETE /users/{id}/authentication-methods`: every MFA factor and the recovery code go. As
/// `PUT` does, a user with a passkey keeps everything (the spec's 403 for both).
async fn delete_methods(State(app): State<AppState>, UserRef(id): UserRef) -> ApiResult<Response> {
    app.store.delete_authentication_factors(&id, IfPasskey::Refuse, &time::now()).await.map_err(method_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// `DELETE /users/{id}/authenticators`: every MFA factor and the recovery code go; passkeys, a
/// first factor, stay (the spec lists no passkey refusal here).
async fn delete_authenticators(State(app): State<AppState>, UserRef(id): UserRef) -> ApiResult<Response> {
    app.store.delete_authentication_factors(&id, IfPasskey::Keep, &time::now()).await.map_err(method_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// Takes no query parameters (the spec's 400 for a query string).
async fn read_method(
    State(app): State<AppState>,
    MethodPath(user_id, id): MethodPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    QueryString::parse(raw.as_deref(), &[])?;
    let method = app.store.authentication_method(&user_id, &id).await.map_err(method_error)?;
    Ok(response::json(StatusCode::OK, &method.to_json(View::Read)))
}

async fn update_method(
    State(app): State<AppState>,
    MethodPath(user_id, id): MethodPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_METHOD.validate_payload(&body)?;
    // A method's type never changes, so checking the change against the method as read holds
    // for the method the write finds.
    let method = app.store.authentication_method(&user_id, &id).await.map_err(method_error)?;
    check_update(&method, body)?;
    let method = app
        .store
        .update_authentication_method(&user_id, &id, body.clone(), &time::now())
        .await
        .map_err(method_error)?;
    Ok(response::json(StatusCode::OK, &method.to_json(View::Written)))
}

async fn delete_method(State(app): State<AppState>, MethodPath(user_id, id): MethodPath) -> ApiResult<Response> {
    app.store.delete_authentication_method(&user_id, &id, &time::now()).await.map_err(method_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
