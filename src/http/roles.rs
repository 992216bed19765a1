//! `/api/v2/roles`: roles, the permissions they grant, and their users.
//!
//! Status codes and bodies follow recorded traffic where it differs from the spec: `POST
//! /roles` answers 200, `DELETE /roles/{id}` 200 `{}`, `POST /roles/{id}/permissions` 201 `{}`,
//! `DELETE /roles/{id}/permissions` 204, `POST /roles/{id}/users` 200 `{}`, and an unknown role
//! 404 `The role does not exist.` without an `errorCode`.

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::extract::JsonBody;
use super::pagination::{self, Checkpoint, INCLUDE_TOTALS, PAGE, PER_PAGE, Page};
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::domain::listing::Window;
use crate::domain::rbac::RoleMemberKey;
use crate::domain::rbac::{self, ASSIGN_ROLE_USERS, CREATE_ROLE, ROLE_PERMISSIONS, UPDATE_ROLE};
use crate::domain::schema::Type;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::rbac::RbacError;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/roles"),
    ("POST", "/roles"),
    ("GET", "/roles/{id}"),
    ("PATCH", "/roles/{id}"),
    ("DELETE", "/roles/{id}"),
    ("GET", "/roles/{id}/permissions"),
    ("POST", "/roles/{id}/permissions"),
    ("DELETE", "/roles/{id}/permissions"),
    ("GET", "/roles/{id}/users"),
    ("POST", "/roles/{id}/users"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list_roles).post(create_role))
        .route("/roles/{id}", get(get_role).patch(update_role).delete(delete_role))
        .route(
            "/roles/{id}/permissions",
            get(list_role_permissions).post(add_role_permissions).delete(remove_role_permissions),
        )
        .route("/roles/{id}/users", get(list_role_users).post(assign_role_users))
}

/// The `{id}` of a path, percent-decoded.
pub(super) struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))?;
        let id = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()).unwrap_or_default();
        Ok(Self(id))
    }
}

/// A path's `{id}` that names a role. One that cannot be a stored id (it holds U+0000, which
/// PostgreSQL text cannot) is a role that does not exist.
struct RoleIdPath(String);

impl<S: Send + Sync> FromRequestParts<S> for RoleIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let IdPath(id) = IdPath::from_request_parts(parts, state).await?;
        if id.contains('\0') {
            return Err(rbac::role_not_found());
        }
        Ok(Self(id))
    }
}

/// The API error for a store error of the roles and permissions endpoints. Where the same
/// store error means different things per endpoint (an unknown resource server is a 404 on a
/// role, a 400 on a user), the caller maps it first.
pub(super) fn rbac_error(error: RbacError) -> ApiError {
    match error {
        RbacError::RoleExists => rbac::role_exists(),
        RbacError::RoleNotFound => rbac::role_not_found(),
        RbacError::UserNotFound => ApiError::user_not_found(),
        RbacError::ResourceServerExists => crate::http::resource_servers::identifier_taken(),
        RbacError::ResourceServerNotFound => crate::domain::resource_server::not_found(),
        // Auth0's wording for unknown roles elsewhere (the spec, `POST /organizations/{id}/invitations`).
        RbacError::UnknownRoles(ids) => {
            ApiError::invalid_body(format!("One or more of the specified roles do not exist: {}", ids.join(", ")))
        }
        RbacError::UnknownUsers => ApiError::not_found("One or more of the users do not exist."),
        RbacError::UnknownResourceServer(_) => ApiError::bad_request(None, "The resource server does not exist."),
        RbacError::UnknownPermission(permission) => ApiError::bad_request(
            None,
            format!(
                "Permission '{}' does not exist on resource server '{}'.",
                permission.permission_name, permission.resource_server_identifier
            ),
        ),
        RbacError::Other(cause) => cause.into(),
    }
}

fn check_role_type(value: &str) -> Result<(), String> {
    if matches!(value, "tenant" | "organization") { Ok(()) } else { Err(format!("No enum match for: \"{value}\"")) }
}

/// Newer Auth0 SDKs and the Deploy CLI send `type` (`tenant` or `organization`, the roles an
/// organization owns) and `owner_id` (that organization), which the spec does not list yet.
const LIST_ROLES_PARAMS: &[Param] = &[
    PER_PAGE,
    PAGE,
    INCLUDE_TOTALS,
    Param::new("name_filter", Type::String, "Optional filter on name (case-insensitive)."),
    Param::new("type", Type::String, "Optional filter on the role type: tenant or organization.")
        .check(check_role_type),
    Param::new("owner_id", Type::String, "Optional filter on the organization that owns the role."),
];

fn window(page: &Page) -> Window {
    Window { offset: page.offset, limit: page.limit }
}

async fn list_roles(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_ROLES_PARAMS)?;
    let page = Page::from_query(&query);
    // Every role of Roster is a tenant role: asking for an organization's roles finds none.
    if query.text("type") == Some("organization") || query.text("owner_id").is_some() {
        return Ok(page.respond("roles", Vec::new(), 0));
    }
    let listed = app.store.roles(query.text("name_filter"), window(&page)).await?;
    Ok(page.respond("roles", listed.items.iter().map(rbac::Role::to_json).collect(), listed.total))
}

async fn create_role(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let body = CREATE_ROLE.validate_payload(&body)?;
    let role = rbac::new_role(body, ids::prefixed("rol"));
    app.store.create_role(&role, &time::now()).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::OK, &role.to_json()))
}

async fn get_role(State(app): State<AppState>, RoleIdPath(id): RoleIdPath) -> ApiResult<Response> {
    let role = app.store.role(&id).await?.ok_or_else(rbac::role_not_found)?;
    Ok(response::json(StatusCode::OK, &role.to_json()))
}

async fn update_role(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_ROLE.validate_payload(&body)?;
    let role = app.store.update_role(&id, &rbac::role_patch(body)).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::OK, &role.to_json()))
}

async fn delete_role(State(app): State<AppState>, RoleIdPath(id): RoleIdPath) -> ApiResult<Response> {
    if !app.store.delete_role(&id).await? {
        return Err(rbac::role_not_found());
    }
    Ok(response::json(StatusCode::OK, &json!({})))
}

const LIST_ROLE_PERMISSIONS_PARAMS: &[Param] = &[PER_PAGE, PAGE, INCLUDE_TOTALS];

async fn list_role_permissions(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_ROLE_PERMISSIONS_PARAMS)?;
    let page = Page::from_query(&query);
    let listed = app.store.role_permissions(&id, window(&page)).await.map_err(rbac_error)?;
    let items = listed.items.iter().map(|p| Value::Object(p.to_json())).collect();
    Ok(page.respond("permissions", items, listed.total))
}

/// On a role, an unknown resource server is a 404 (Auth0's spec: `The resource server does
/// not exist.` among the 404s of this operation).
fn role_permission_error(error: RbacError) -> ApiError {
    match error {
        RbacError::UnknownResourceServer(_) => ApiError::not_found("The resource server does not exist."),
        other => rbac_error(other),
    }
}

async fn add_role_permissions(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ROLE_PERMISSIONS.validate_payload(&body)?;
    let permissions = rbac::permission_refs(body);
    app.store.add_role_permissions(&id, &permissions, &time::now()).await.map_err(role_permission_error)?;
    Ok(response::json(StatusCode::CREATED, &json!({})))
}

async fn remove_role_permissions(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ROLE_PERMISSIONS.validate_payload(&body)?;
    let permissions = rbac::permission_refs(body);
    app.store.remove_role_permissions(&id, &permissions).await.map_err(role_permission_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

const LIST_ROLE_USERS_PARAMS: &[Param] = &[PER_PAGE, PAGE, INCLUDE_TOTALS, pagination::FROM, pagination::TAKE];

/// Auth0's role-member cursor, decoded: `2023-03-14 13:41:28.961000UTC,auth0|64107988…`
/// (when the member was assigned, then its user id), base64-encoded.
const CURSOR_TIME: &str = "%Y-%m-%d %H:%M:%S%.6fUTC";

fn encode_member_cursor((at, user_id): &RoleMemberKey) -> String {
    format!("{},{user_id}", at.format(CURSOR_TIME))
}

/// A decoded cursor's member key.
fn member_key(text: &str) -> Option<RoleMemberKey> {
    let (at, user_id) = text.split_once(',')?;
    let at = NaiveDateTime::parse_from_str(at, CURSOR_TIME).ok()?;
    Some((Utc.from_utc_datetime(&at), user_id.to_owned()))
}

fn invalid_cursor(cursor: &str) -> ApiError {
    ApiError::invalid_query(format!(
        "Query validation error: 'Invalid cursor: {cursor}' on property from (Optional Id from which to start selection)."
    ))
}

async fn list_role_users(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_ROLE_USERS_PARAMS)?;
    // `from`/`take` win over `page`/`per_page`/`include_totals`, as recorded (go-auth0 sends
    // all of them and gets a checkpoint page).
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        let after = match checkpoint.after.as_deref() {
            Some(text) => Some(member_key(text).ok_or_else(|| invalid_cursor(query.text("from").unwrap_or_default()))?),
            None => None,
        };
        let members = app.store.role_users_after(&id, after.as_ref(), checkpoint.take).await.map_err(rbac_error)?;
        let items = members.users.iter().map(rbac::RoleUser::to_json).collect();
        let next = members.next.as_ref().map(encode_member_cursor);
        return Ok(Checkpoint::respond("users", items, next.as_deref()));
    }
    let page = Page::from_query(&query);
    let listed = app.store.role_users(&id, window(&page)).await.map_err(rbac_error)?;
    Ok(page.respond("users", listed.items.iter().map(rbac::RoleUser::to_json).collect(), listed.total))
}

async fn assign_role_users(
    State(app): State<AppState>,
    RoleIdPath(id): RoleIdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ASSIGN_ROLE_USERS.validate_payload(&body)?;
    let users = rbac::ids(body, "users");
    app.store.assign_role_users(&id, &users, &time::now()).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::OK, &json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_cursors_read_as_auth0_writes_them() {
        // From go-auth0's TestRoleManager_UsersCheckpointPagination recording.
        let recorded = "MjAyMy0wMy0xNCAxMzo0MToyOC45NjEwMDBVVEMsYXV0aDB8NjQxMDc5ODhkMzUzNGJlOGIyZGMzODNj";
        use base64::Engine;
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(recorded).unwrap()).unwrap();
        let (at, user_id) = member_key(&text).unwrap();
        assert_eq!(time::format(&at), "2023-03-14T13:41:28.961Z");
        assert_eq!(user_id, "auth0|64107988d3534be8b2dc383c");
        assert_eq!(encode_member_cursor(&(at, user_id)), text);
        assert!(member_key("not a cursor").is_none());
        assert!(member_key("2023-03-14,auth0|x").is_none());
    }
}
