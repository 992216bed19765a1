//! The Authentication API surface Roster serves: `POST /oauth/token` (client credentials,
//! authorization code, password, password-realm, refresh token, MFA OTP and recovery code),
//! `POST /oauth/revoke`,
//! `POST /dbconnections/signup`, `GET /userinfo`, and the discovery documents that publish the
//! signing keys.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::extract::read_body;
use super::response;
use crate::app::App;
use crate::app::AppState;
use crate::auth::browser;
use crate::auth::client_credentials;
use crate::auth::login;
use crate::auth::oauth::{
    MFA_OTP, MFA_RECOVERY_CODE, OAuthError, OTHER_AUTH0_GRANTS, PASSWORD_REALM, TokenRequest, TokenResponse,
};
use crate::domain::log_event::kind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/dbconnections/signup", post(super::signup::signup))
        .route("/userinfo", get(super::userinfo::userinfo))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(openid_configuration))
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        response::json(self.status, &self)
    }
}

/// Reads an Authentication API request the three ways the SDKs send it: a JSON body, a form
/// body, and client credentials in HTTP Basic authentication; with where it came from.
pub(super) async fn token_request(request: Request) -> Result<TokenRequest, OAuthError> {
    let headers = request.headers().clone();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
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
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut request = TokenRequest {
        client_id: fields.get("client_id").and_then(Value::as_str).map(str::to_owned),
        client_secret: fields.get("client_secret").and_then(Value::as_str).map(str::to_owned),
        fields,
        ip: peer.unwrap_or_else(|| "0.0.0.0".to_owned()),
        forwarded_for: header_text("auth0-forwarded-for"),
        user_agent: header_text("user-agent"),
        host: header_text("host"),
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

/// Runs the grant the request names.
async fn exchange(app: &App, request: TokenRequest) -> Result<TokenResponse, OAuthError> {
    let grant_type = request.grant_type().map(str::to_owned);
    match grant_type.as_deref() {
        None => Err(OAuthError::invalid_request("Missing required parameter: grant_type")),
        Some("client_credentials") => {
            let result = client_credentials::exchange(&app.store, &app.keys, &app.issuer, request.clone()).await;
            let kind = if result.is_ok() { kind::SUCCESS_CLIENT_CREDENTIALS } else { kind::FAILED_CLIENT_CREDENTIALS };
            let mut event = request.log_event(kind, None);
            event.audience = request.field("audience").map(str::to_owned);
            match &result {
                Ok(token) => event.scope = token.scope.clone(),
                Err(error) => event.description = Some(error.error_description.clone()),
            }
            app.store.log(event);
            result
        }
        Some(grant @ ("password" | PASSWORD_REALM)) => login::password_grant(app, &request, grant).await,
        Some("refresh_token") => login::refresh_grant(app, &request).await,
        Some("authorization_code") => browser::code_grant(app, &request).await,
        Some(grant @ (MFA_OTP | MFA_RECOVERY_CODE)) => login::mfa_grant(app, &request, grant).await,
        Some(other) if OTHER_AUTH0_GRANTS.contains(&other) => Err(OAuthError::unauthorized_client(other)),
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {other}"),
        )),
    }
}

/// Tokens must not be cached by intermediaries (RFC 6749 §5.1). Auth0 names no charset here
/// (recorded), unlike its other JSON answers.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn token(State(app): State<AppState>, request: Request) -> Response {
    let result = match token_request(request).await {
        Ok(request) => exchange(&app, request).await,
        Err(error) => Err(error),
    };
    no_store(match result {
        Ok(token) => response::json(StatusCode::OK, &token),
        Err(error) => error.into_response(),
    })
}

/// `POST /oauth/revoke`: 200 with an empty body (recorded), whether or not the token was live.
async fn revoke(State(app): State<AppState>, request: Request) -> Response {
    let result = match token_request(request).await {
        Ok(request) => login::revoke(&app, &request).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")]).into_response(),
        Err(error) => error.into_response(),
    }
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
            "authorization_endpoint": format!("{issuer}authorize"),
            "token_endpoint": format!("{issuer}oauth/token"),
            "jwks_uri": format!("{issuer}.well-known/jwks.json"),
            "userinfo_endpoint": format!("{issuer}userinfo"),
            "revocation_endpoint": format!("{issuer}oauth/revoke"),
            "end_session_endpoint": format!("{issuer}oidc/logout"),
            "grant_types_supported": [
                "authorization_code", "client_credentials", "password", "refresh_token", PASSWORD_REALM, MFA_OTP,
                MFA_RECOVERY_CODE
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "subject_types_supported": ["public"],
        }),
    )
}
