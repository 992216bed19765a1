//! Management API writes become log events (`sapi`, `fapi`; domain/api_operation.rs).
//!
//! `record` runs after `authorize`, on every POST, PATCH, PUT and DELETE under `/api/v2`: it
//! reads the request body (as the handler would, with the same limit) so that it can log it,
//! runs the handler, reads the answer, and hands the event to `Store::log`, which buffers it:
//! the request does not wait for the event to be written. `refused` logs a write `authorize`
//! refused for its scopes. Requests without a valid token are not logged (anyone could fill
//! the log with them). Operations Roster does not implement (501) are not logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::{Extensions, HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::API_PREFIX;
use super::extract::read_bytes;
use crate::app::AppState;
use crate::auth::token::Caller;
use crate::domain::api_operation::{ApiCall, logged_body};
use crate::error::ApiError;

/// What the event reads of a request: `Parts` and `Request` both have it.
struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
}

/// The request's side of the event, from its head.
fn call_of(parts: &RequestHead<'_>, caller: Option<&Caller>) -> ApiCall {
    let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let uri = parts.extensions.get::<OriginalUri>().map_or(parts.uri, |original| &original.0);
    let path =
        if uri.path().starts_with(API_PREFIX) { uri.path().to_owned() } else { format!("{API_PREFIX}{}", uri.path()) };
    let query: Map<String, Value> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, Value::from(value)))
            .collect();
    ApiCall {
        method: parts.method.as_str().to_owned(),
        route: route.strip_prefix(API_PREFIX).unwrap_or(&route).to_owned(),
        path,
        query,
        ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string()),
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        client_id: caller.and_then(|c| c.azp.clone()),
        scopes: caller.map(Caller::scopes_logged),
        ..ApiCall::default()
    }
}

/// Logs a write and its answer.
pub async fn record(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if !is_write(request.method()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let caller = parts.extensions.get::<Arc<Caller>>().cloned();
    let head =
        RequestHead { method: &parts.method, uri: &parts.uri, headers: &parts.headers, extensions: &parts.extensions };
    let mut call = call_of(&head, caller.as_deref());
    // An import's upload streams through (it has no size limit); its fields are not logged.
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (response, request_bytes) = if multipart {
        (next.run(Request::from_parts(parts, body)).await, Default::default())
    } else {
        match read_bytes(body).await {
            Ok(bytes) => (next.run(Request::from_parts(parts, Body::from(bytes.clone()))).await, bytes),
            Err(error) => (error.into_response(), Default::default()),
        }
    };
    if response.status() == StatusCode::NOT_IMPLEMENTED {
        return response;
    }
    let (response_parts, response_body) = response.into_parts();
    // Our own answers, already whole in memory.
    let response_bytes = axum::body::to_bytes(response_body, usize::MAX).await.unwrap_or_default();
    call.request_body = logged_body(&request_bytes, Value::Null);
    call.response_body = logged_body(&response_bytes, Value::Object(Map::new()));
    call.status = response_parts.status.as_u16();
    app.store.log(call.event());
    Response::from_parts(response_parts, Body::from(response_bytes))
}

/// Logs a write `authorize` refused (403) for the caller's scopes; its body is not read.
pub fn refused(app: &AppState, request: &Request, caller: &Caller, error: &ApiError) {
    if !is_write(request.method()) {
        return;
    }
    let head = RequestHead {
        method: request.method(),
        uri: request.uri(),
        headers: request.headers(),
        extensions: request.extensions(),
    };
    let mut call = call_of(&head, Some(caller));
    call.status = error.status.as_u16();
    call.response_body = serde_json::json!({
        "statusCode": error.status.as_u16(),
        "error": error.status.canonical_reason().unwrap_or("Error"),
        "message": error.message.as_ref(),
        "errorCode": error.error_code.as_deref(),
    });
    app.store.log(call.event());
}
