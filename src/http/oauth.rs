//! The Authentication API surface Roster needs: `POST /oauth/token` (client credentials) and
//! the discovery documents that publish the signing keys.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::extract::read_body;
use super::response;
use crate::app::AppState;
use crate::auth::client_credentials::{self, OAuthError, TokenRequest};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(openid_configuration))
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        response::json(self.status, &self)
    }
}

/// Reads the token request the three ways the SDKs send it: a JSON body, a form body, and
/// client credentials in HTTP Basic authentication.
async fn token_request(request: Request) -> Result<TokenRequest, OAuthError> {
    let headers = request.headers().clone();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let bytes = read_body(request).await.map_err(|e| OAuthError::invalid_request(e.message.into_owned()))?;
    let fields: Map<String, Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else if is_form {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map_err(|_| OAuthError::invalid_request("Invalid form body"))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        serde_json::from_slice(&bytes).map_err(|_| OAuthError::invalid_request("Invalid JSON body"))?
    };
    let field = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut request = TokenRequest {
        grant_type: field("grant_type"),
        client_id: field("client_id"),
        client_secret: field("client_secret"),
        audience: field("audience"),
        scope: field("scope"),
    };
    if let Some((id, secret)) = basic_credentials(&headers) {
        request.client_id.get_or_insert(id);
        request.client_secret.get_or_insert(secret);
    }
    Ok(request)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(String::from);
    Some((unescape(id)?, unescape(secret)?))
}

async fn token(State(app): State<AppState>, request: Request) -> Response {
    let result = match token_request(request).await {
        Ok(request) => client_credentials::exchange(app.store.as_ref(), &app.keys, &app.issuer, request).await,
        Err(error) => Err(error),
    };
    let mut response = match result {
        Ok(token) => response::json(StatusCode::OK, &token),
        Err(error) => error.into_response(),
    };
    // Tokens must not be cached by intermediaries (RFC 6749 §5.1).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn jwks(State(app): State<AppState>) -> Response {
    response::json(StatusCode::OK, app.keys.jwks())
}

async fn openid_configuration(State(app): State<AppState>) -> Response {
    let issuer = &app.issuer.issuer;
    response::json(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}oauth/token"),
            "jwks_uri": format!("{issuer}.well-known/jwks.json"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        }),
    )
}
