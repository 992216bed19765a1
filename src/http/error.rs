//! Renders `ApiError` as Auth0's error body.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Auth0 labels every JSON response, even an empty 204, with this type.
pub const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("statusCode".into(), Value::from(self.status.as_u16()));
        body.insert("error".into(), Value::from(self.status.canonical_reason().unwrap_or("Error")));
        body.insert("message".into(), Value::from(self.message.as_ref()));
        if let Some(code) = &self.error_code {
            body.insert("errorCode".into(), Value::from(code.as_ref()));
        }
        if self.with_attributes {
            body.insert("attributes".into(), serde_json::json!({ "error": self.message.as_ref() }));
        }
        let mut response = (self.status, Value::Object(body).to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, JSON_UTF8);
        response
    }
}
