//! `/api/v2/user-blocks`: the brute-force protection blocks of a user (by id, or by the
//! email, username or phone number it logs in with), and lifting them. Blocks by an
//! administrator (`blocked: true`) are not these, and these endpoints leave them alone.
//!
//! Recorded (go-auth0 `TestUserManager_Blocks`, `_BlocksByIdentifier`, `_Unblock`,
//! `_UnblockByIdentifier`): `{"blocked_for":[…]}`, and 204 with no body for the deletes.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::authentication_methods::UserRef;
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::auth::login::{BLOCK_DAYS, brute_force_protected};
use crate::domain::schema::Type;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/user-blocks/{id}"),
    ("DELETE", "/user-blocks/{id}"),
    ("GET", "/user-blocks"),
    ("DELETE", "/user-blocks"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user-blocks/{id}", get(blocks_of_user).delete(unblock_user))
        .route("/user-blocks", get(blocks_by_identifier).delete(unblock_identifier))
}

const CONSIDER: Param = Param::new(
    "consider_brute_force_enablement",
    Type::Boolean,
    "If true and Brute Force Protection is enabled and configured to block logins, will return a list of blocked IP addresses. If true and Brute Force Protection is disabled, will return an empty list.",
);
const IDENTIFIER: Param =
    Param::new("identifier", Type::String, "Should be any of a username, phone number, or email.");

/// The blocks in force of `user_ids`. With `consider_brute_force_enablement`, those of
/// connections whose protection is off are left out, as the spec says; logins ignore them too.
async fn blocks_response(app: &AppState, user_ids: &[String], query: &QueryString) -> ApiResult<Response> {
    let since = time::now() - chrono::Duration::days(BLOCK_DAYS);
    let mut blocks = app.store.ip_blocks(user_ids, &since).await?;
    if query.boolean("consider_brute_force_enablement") == Some(true) {
        let mut unprotected = std::collections::HashSet::new();
        for name in blocks.iter().map(|b| b.connection.clone()).collect::<std::collections::HashSet<_>>() {
            let connection = app.store.connection_by_name(&name).await?;
            if connection.is_some_and(|c| !brute_force_protected(&c)) {
                unprotected.insert(name);
            }
        }
        blocks.retain(|b| !unprotected.contains(&b.connection));
    }
    let blocked_for: Vec<_> =
        blocks.iter().map(|b| json!({"identifier": b.identifier, "ip": b.ip, "connection": b.connection})).collect();
    Ok(response::json(StatusCode::OK, &json!({ "blocked_for": blocked_for })))
}

async fn existing_user(app: &AppState, user_id: &str) -> ApiResult<()> {
    match app.store.user(user_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::user_not_found()),
    }
}

async fn blocks_of_user(
    State(app): State<AppState>,
    UserRef(id): UserRef,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), &[CONSIDER])?;
    existing_user(&app, &id).await?;
    blocks_response(&app, &[id], &query).await
}

async fn unblock_user(State(app): State<AppState>, UserRef(id): UserRef) -> ApiResult<Response> {
    existing_user(&app, &id).await?;
    app.store.unblock(&[id]).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// The query and its required `identifier`.
fn identifier(raw: Option<&str>, params: &'static [Param]) -> ApiResult<(QueryString, String)> {
    let query = QueryString::parse(raw, params)?;
    let identifier = query.text("identifier").map(str::to_owned).ok_or_else(|| {
        ApiError::invalid_query(
            "Query validation error: 'Missing required property: identifier' on property identifier.",
        )
    })?;
    Ok((query, identifier))
}

async fn blocks_by_identifier(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let (query, identifier) = identifier(raw.as_deref(), &[IDENTIFIER, CONSIDER])?;
    let user_ids = app.store.users_by_identifier(&identifier).await?;
    blocks_response(&app, &user_ids, &query).await
}

async fn unblock_identifier(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let (_, identifier) = identifier(raw.as_deref(), &[IDENTIFIER])?;
    let user_ids = app.store.users_by_identifier(&identifier).await?;
    app.store.unblock(&user_ids).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
