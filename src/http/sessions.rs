//! A user's sessions and refresh tokens: `/api/v2/users/{id}/sessions`,
//! `/users/{id}/refresh-tokens`, `/sessions/{id}` (and its `/revoke`) and `/refresh-tokens/{id}`.
//!
//! Recorded (go-auth0 `TestUserManager_ListRefreshTokens`, `_DeleteRefreshTokens`,
//! `_ListUserSessions`, `_DeleteUserSessions`): lists are `{"tokens"|"sessions":[…],"next":…}`
//! in id order, with `total` when `include_totals` is asked for; `next` is the last item's id
//! when the page has items and is left out when it has none; deleting all of a user's answers
//! 202 with `{}`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::authentication_methods::UserRef;
use super::pagination::{DEFAULT_PER_PAGE, FROM, INCLUDE_TOTALS, PAGE, PER_PAGE, TAKE};
use super::query::{Param, QueryString};
use super::response;
use super::roles::IdPath;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store::sessions::Kind;

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/users/{id}/sessions"),
    ("DELETE", "/users/{id}/sessions"),
    ("GET", "/users/{id}/refresh-tokens"),
    ("DELETE", "/users/{id}/refresh-tokens"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/revoke"),
    ("GET", "/refresh-tokens/{id}"),
    ("DELETE", "/refresh-tokens/{id}"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/users/{id}/sessions",
            get(|s, u, q| list(s, u, q, Kind::Sessions)).delete(|s, u| delete_all(s, u, Kind::Sessions)),
        )
        .route(
            "/users/{id}/refresh-tokens",
            get(|s, u, q| list(s, u, q, Kind::RefreshTokens)).delete(|s, u| delete_all(s, u, Kind::RefreshTokens)),
        )
        .route("/sessions/{id}", get(|s, p| read(s, p, Kind::Sessions)).delete(|s, p| delete(s, p, Kind::Sessions)))
        .route("/sessions/{id}/revoke", post(revoke_session))
        .route(
            "/refresh-tokens/{id}",
            get(|s, p| read(s, p, Kind::RefreshTokens)).delete(|s, p| delete(s, p, Kind::RefreshTokens)),
        )
}

/// `page` and `per_page` are accepted and ignored, as Auth0 does (go-auth0 sends `per_page`).
const LIST_PARAMS: &[Param] = &[INCLUDE_TOTALS, FROM, TAKE, PAGE, PER_PAGE];

fn list_key(kind: Kind) -> &'static str {
    match kind {
        Kind::Sessions => "sessions",
        Kind::RefreshTokens => "tokens",
    }
}

fn not_found(kind: Kind) -> ApiError {
    match kind {
        Kind::Sessions => {
            ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_session"), "The session does not exist.")
        }
        Kind::RefreshTokens => {
            ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_refresh_token"), "The refresh token does not exist.")
        }
    }
}

async fn list(
    State(app): State<AppState>,
    UserRef(user_id): UserRef,
    RawQuery(raw): RawQuery,
    kind: Kind,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let take = query.integer("take").map_or(DEFAULT_PER_PAGE, |n| n as u64);
    let page = app
        .store
        .user_checkpoint(kind, &user_id, query.text("from"), take)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    let userinfo = format!("{}userinfo", app.issuer.issuer);
    let items: Vec<Value> = page.items.iter().map(|item| item.to_json(&userinfo)).collect();
    let mut body = Map::new();
    let last = items.last().and_then(|item| item.get("id")).cloned();
    body.insert(list_key(kind).into(), Value::Array(items));
    if let Some(last) = last {
        body.insert("next".into(), last);
    }
    if query.boolean("include_totals").unwrap_or(false) {
        body.insert("total".into(), json!(page.total));
    }
    Ok(response::json(StatusCode::OK, &body))
}

async fn delete_all(State(app): State<AppState>, UserRef(user_id): UserRef, kind: Kind) -> ApiResult<Response> {
    if !app.store.delete_user_checkpoint_items(kind, &user_id).await? {
        return Err(ApiError::user_not_found());
    }
    Ok(response::json(StatusCode::ACCEPTED, &json!({})))
}

async fn read(State(app): State<AppState>, IdPath(id): IdPath, kind: Kind) -> ApiResult<Response> {
    // An id that cannot be stored (U+0000) names nothing.
    if id.contains('\0') {
        return Err(not_found(kind));
    }
    let item = app.store.checkpoint_item(kind, &id).await?.ok_or_else(|| not_found(kind))?;
    Ok(response::json(StatusCode::OK, &item.to_json(&format!("{}userinfo", app.issuer.issuer))))
}

/// Deleting what is already gone succeeds: the caller's intent holds.
async fn delete(State(app): State<AppState>, IdPath(id): IdPath, kind: Kind) -> ApiResult<Response> {
    if id.contains('\0') {
        return Ok(response::json(StatusCode::ACCEPTED, &json!({})));
    }
    app.store.delete_checkpoint_item(kind, &id).await?;
    Ok(response::json(StatusCode::ACCEPTED, &json!({})))
}

/// `POST /sessions/{id}/revoke`: ends the session and revokes the refresh tokens issued in it
/// (deleting a session leaves them, as Auth0's does: "Refresh tokens can remain active after a
/// session has expired or been deleted").
async fn revoke_session(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    if id.contains('\0') || !app.store.revoke_session(&id).await? {
        return Err(not_found(Kind::Sessions));
    }
    Ok(response::json(StatusCode::ACCEPTED, &json!({})))
}
