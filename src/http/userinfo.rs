//! `GET /userinfo`: the signed-in user's profile claims, by the scopes of the access token.
//! A missing or bad token is a plain-text `Unauthorized` with a `WWW-Authenticate` challenge,
//! as Auth0 answers it (not JSON).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value, json};

use super::response;
use crate::app::{App, AppState};
use crate::auth::user_tokens::profile_claims;

fn unauthorized(description: &str) -> Response {
    let challenge = format!("Bearer realm=\"Users\", error=\"invalid_token\", error_description=\"{description}\"");
    let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The user and scopes of a valid access token whose audience includes `/userinfo`.
fn verify(app: &App, headers: &HeaderMap) -> Result<(String, Vec<String>), &'static str> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or("Missing access token")?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| "Invalid token")?;
    let key = header.kid.as_deref().and_then(|kid| app.keys.verifying(kid)).ok_or("Invalid token")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&app.issuer.issuer]);
    validation.set_audience(&[format!("{}userinfo", app.issuer.issuer)]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, key, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "The token has expired",
            _ => "Invalid token",
        })?
        .claims;
    let sub = claims.get("sub").and_then(Value::as_str).ok_or("Invalid token")?;
    let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
    Ok((sub.to_owned(), scopes.split_whitespace().map(str::to_owned).collect()))
}

pub(super) async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let (user_id, scopes) = match verify(&app, &headers) {
        Ok(found) => found,
        Err(description) => return unauthorized(description),
    };
    if !scopes.iter().any(|s| s == "openid") {
        return unauthorized("Insufficient scope");
    }
    let user = match app.store.user(&user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return unauthorized("Invalid token"),
        Err(error) => return crate::error::ApiError::from(error).into_response(),
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.user_id));
    claims.extend(profile_claims(&user, |scope| scopes.iter().any(|s| s == scope)));
    response::json(StatusCode::OK, &Value::Object(claims))
}
