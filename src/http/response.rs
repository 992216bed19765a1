//! Response helpers that set Auth0's content type.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::JSON_UTF8;

/// A JSON body with `status`.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).expect("response bodies serialize");
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, JSON_UTF8);
    response
}

/// An empty body with `status` (Auth0's 204s still say they are JSON).
pub fn empty(status: StatusCode) -> Response {
    let mut response = status.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, JSON_UTF8);
    response
}
