//! `/api/v2/users/{id}/roles`: the roles assigned to a user, tenant-wide.
//!
//! Recorded: `POST` and `DELETE` (with a JSON body) answer 204; the listing is by role name,
//! with `{"roles":[…],"start":…,"limit":…,"total":…}` under `include_totals` (no `length`).

use axum::Router;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;

use super::extract::JsonBody;
use super::pagination::{INCLUDE_TOTALS, PAGE, Page};
use super::query::{Param, QueryString};
use super::response;
use super::roles::{IdPath, rbac_error};
use crate::app::AppState;
use crate::domain::listing::Window;
use crate::domain::rbac::{self, ASSIGN_USER_ROLES, REMOVE_USER_ROLES};
use crate::domain::schema::Type;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] =
    &[("GET", "/users/{id}/roles"), ("POST", "/users/{id}/roles"), ("DELETE", "/users/{id}/roles")];

pub fn router() -> Router<AppState> {
    Router::new().route("/users/{id}/roles", get(list_user_roles).post(assign_user_roles).delete(remove_user_roles))
}

/// The `{id}` of `/users/{id}/roles` or `/users/{id}/permissions`, checked as the users
/// endpoints check it (`provider|id`), with the operation's description in the message.
pub(super) struct UserPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let IdPath(id) = IdPath::from_request_parts(parts, state).await?;
        // An id holding U+0000 (which PostgreSQL text cannot) fails as `UserIdPath` fails it.
        if ids::split_user_id(&id).is_none() || id.contains('\0') {
            let roles = parts.uri.path().ends_with("/roles");
            let description = match (parts.method.as_str(), roles) {
                ("GET", true) => "ID of the user to list roles for",
                ("POST", true) => "ID of the user to associate roles with",
                ("DELETE", true) => "ID of the user to remove roles from",
                ("GET", false) => "ID of the user to retrieve the permissions for",
                ("POST", false) => "ID of the user to assign permissions to",
                _ => "ID of the user to remove permissions from",
            };
            return Err(ApiError::invalid_uri(format!(
                "Path validation error: 'String does not match pattern ^.+\\|.+$: {id}' on property id ({description})."
            )));
        }
        Ok(Self(id))
    }
}

/// `page`, `per_page` (described without the default here) and `include_totals`.
pub(super) const USER_LIST_PARAMS: &[Param] = &[
    Param::new("per_page", Type::Integer, "Number of results per page.").range(Some(1), Some(100)),
    PAGE,
    INCLUDE_TOTALS,
];

async fn list_user_roles(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), USER_LIST_PARAMS)?;
    let page = Page::from_query(&query);
    let listed =
        app.store.user_roles(&id, Window { offset: page.offset, limit: page.limit }).await.map_err(rbac_error)?;
    Ok(page.respond("roles", listed.items.iter().map(rbac::Role::to_json).collect(), listed.total))
}

async fn assign_user_roles(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ASSIGN_USER_ROLES.validate_payload(&body)?;
    app.store.assign_user_roles(&id, &rbac::ids(body, "roles"), &time::now()).await.map_err(rbac_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// Roles the user does not have are ignored.
async fn remove_user_roles(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = REMOVE_USER_ROLES.validate_payload(&body)?;
    app.store.remove_user_roles(&id, &rbac::ids(body, "roles")).await.map_err(rbac_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
