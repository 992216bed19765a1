//! Extractors that turn malformed input into Auth0's errors instead of axum's plain-text
//! rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::Value;

use super::tenants::PathPrefix;
use crate::domain::ids;
use crate::error::ApiError;

/// The value of the cookie `name`, if the request carries it and it is not empty.
pub fn cookie<'a>(headers: &'a header::HeaderMap, name: &str) -> Option<&'a str> {
    let all = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    all.flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
}

/// Whether the request came over HTTPS: the server says so itself when it terminates TLS, and
/// a proxy in front of it by the same header.
pub fn is_https(headers: &header::HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https")
}

/// Auth0's request size limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads the body up to `MAX_BODY_BYTES`.
pub async fn read_body(request: Request) -> Result<Bytes, ApiError> {
    read_bytes(request.into_body()).await
}

/// Reads `body` up to `MAX_BODY_BYTES`.
pub async fn read_bytes(body: axum::body::Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|error| {
        let too_large =
            std::error::Error::source(&error).is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::payload_too_large(MAX_BODY_BYTES)
        } else {
            ApiError::bad_request(None, "Invalid request payload")
        }
    })
}

/// A JSON request body, as a value still to be checked against the operation's schema.
/// An absent body reads as `{}`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let bytes = read_body(request).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Object(Default::default())));
        }
        if let Some(kind) = content_type
            && kind != "application/json"
            && !kind.ends_with("+json")
        {
            return Err(ApiError::new(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, None, "Unsupported Media Type"));
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|_| ApiError::bad_request(Some("invalid_body"), "Invalid request payload JSON format"))
    }
}

/// The `{id}` of a user path, percent-decoded (`auth0%7C…` is `auth0|…`) and checked the
/// way Auth0 checks it: a provider, a pipe, and an id.
pub struct UserIdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))?;
        let id = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()).unwrap_or_default();
        if ids::split_user_id(&id).is_none() || id.contains('\0') {
            let description = match parts.method.as_str() {
                "DELETE" => "ID of the user to delete",
                "PATCH" => "ID of the user to update",
                _ => "ID of the user to retrieve",
            };
            return Err(ApiError::invalid_uri(format!(
                "Path validation error: 'String does not match pattern ^.+\\|.+$: {id}' on property id ({description})."
            )));
        }
        Ok(Self(id))
    }
}

/// Where the client reached this tenant (for URLs an answer gives: an export's `location`, the
/// logs' `Link`): the scheme a proxy names (`X-Forwarded-Proto`), the `Host`, and the path
/// prefix of a tenant reached by one.
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
        let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
        let prefix = parts.extensions.get::<PathPrefix>().map_or("", |prefix| prefix.0.as_str());
        Ok(Self(format!("{scheme}://{host}{prefix}")))
    }
}
