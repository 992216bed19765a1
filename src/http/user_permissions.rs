//! `/api/v2/users/{id}/permissions`: a user's permissions, direct and through roles.
//!
//! Recorded: `POST` answers 201 `{}`, `DELETE` (with a JSON body) 204; the listing shows each
//! permission once with its `sources` (`DIRECT`, and `ROLE` with the role's id and name) under
//! `{"permissions":[…],"start":…,"limit":…,"total":…}` with `include_totals` (no `length`).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::extract::JsonBody;
use super::pagination::Page;
use super::query::QueryString;
use super::response;
use super::roles::rbac_error;
use super::user_roles::{USER_LIST_PARAMS, UserPath};
use crate::app::AppState;
use crate::domain::rbac::{self, ADD_USER_PERMISSIONS, REMOVE_USER_PERMISSIONS};
use crate::domain::time;
use crate::error::ApiResult;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] =
    &[("GET", "/users/{id}/permissions"), ("POST", "/users/{id}/permissions"), ("DELETE", "/users/{id}/permissions")];

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/users/{id}/permissions",
        get(list_user_permissions).post(add_user_permissions).delete(remove_user_permissions),
    )
}

async fn list_user_permissions(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), USER_LIST_PARAMS)?;
    let page = Page::from_query(&query);
    // Merging sources needs every grant; a user's permissions are few.
    let permissions = app.store.user_permissions(&id).await.map_err(rbac_error)?;
    let total = permissions.len() as u64;
    let items = permissions
        .iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
        .map(rbac::UserPermission::to_json)
        .collect();
    Ok(page.respond("permissions", items, total))
}

async fn add_user_permissions(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ADD_USER_PERMISSIONS.validate_payload(&body)?;
    let permissions = rbac::permission_refs(body);
    app.store.add_user_permissions(&id, &permissions, &time::now()).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::CREATED, &json!({})))
}

/// Permissions the user does not have directly are ignored.
async fn remove_user_permissions(
    State(app): State<AppState>,
    UserPath(id): UserPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = REMOVE_USER_PERMISSIONS.validate_payload(&body)?;
    app.store.remove_user_permissions(&id, &rbac::permission_refs(body)).await.map_err(rbac_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
