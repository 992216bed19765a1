//! `POST /oauth/token` with `grant_type=client_credentials`, as Auth0's Authentication API
//! answers it (errors are `{error, error_description}`, not the Management API's shape).

use axum::http::StatusCode;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::keys::KeyRing;
use super::token::{self, Claims, Issuer, TOKEN_LIFETIME_SECONDS};
use crate::store::Store;
use crate::store::tenant_admin::ClientGrantFilter;

/// The parameters of a token request, from a JSON or form body and HTTP Basic credentials.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub scope: String,
    pub expires_in: i64,
    pub token_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: &'static str,
    pub error_description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, error_description: description.into() }
    }

    fn access_denied(status: StatusCode, description: impl Into<String>) -> Self {
        Self::new(status, "access_denied", description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(cause: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{cause:#}"), "token endpoint failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal Server Error")
    }
}

/// Grant types Auth0 knows but a machine-to-machine client is not allowed to use.
const OTHER_AUTH0_GRANTS: &[&str] = &[
    "authorization_code",
    "implicit",
    "password",
    "refresh_token",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

pub async fn exchange(
    store: &Store,
    keys: &KeyRing,
    issuer: &Issuer,
    request: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = request.grant_type.as_deref().filter(|g| !g.is_empty());
    match grant_type {
        None => return Err(OAuthError::invalid_request("Missing required parameter: grant_type")),
        Some("client_credentials") => {}
        Some(other) if OTHER_AUTH0_GRANTS.contains(&other) => {
            return Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                format!("Grant type '{other}' not allowed for the client."),
            ));
        }
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            ));
        }
    }
    let client_id = request.client_id.filter(|c| !c.is_empty());
    let Some(client_id) = client_id else {
        return Err(OAuthError::invalid_request("Missing required parameter: client_id"));
    };
    let unauthorized = || OAuthError::access_denied(StatusCode::UNAUTHORIZED, "Unauthorized");
    let client = store.client_record(&client_id).await?.ok_or_else(unauthorized)?;
    let given_secret = request.client_secret.unwrap_or_default();
    if !bool::from(given_secret.as_bytes().ct_eq(client.client_secret.as_bytes())) {
        return Err(unauthorized());
    }
    // A client whose `grant_types` (set through /api/v2/clients) leave this grant out.
    if !client.allows_grant("client_credentials") {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }

    let Some(requested_audience) = request.audience.filter(|a| !a.is_empty()) else {
        return Err(OAuthError::access_denied(
            StatusCode::FORBIDDEN,
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    let Some(audience) = issuer.management_api(&requested_audience) else {
        return Err(OAuthError::access_denied(
            StatusCode::FORBIDDEN,
            format!("Service not enabled within domain: {requested_audience}"),
        ));
    };
    let filter = ClientGrantFilter { client_id: Some(client.client_id.clone()), audience: Some(audience.to_owned()) };
    let Some(grant) = store.list_client_grants(&filter).await?.pop() else {
        return Err(OAuthError::access_denied(
            StatusCode::FORBIDDEN,
            format!(
                "Client \"{}\" is not authorized to access resource server \"{requested_audience}\". You need to create a \"client-grant\" associated to this API.",
                client.client_id
            ),
        ));
    };

    // A `scope` parameter narrows the token to the granted scopes it names.
    let scopes: Vec<&str> = match request.scope.as_deref().map(str::split_whitespace) {
        Some(requested) => {
            let requested: Vec<&str> = requested.collect();
            let granted: Vec<&str> = requested.iter().copied().filter(|s| grant.scope.iter().any(|g| g == s)).collect();
            if granted.is_empty() && !requested.is_empty() {
                return Err(OAuthError::access_denied(
                    StatusCode::FORBIDDEN,
                    format!("Client has not been granted scopes: {}", requested.join(" ")),
                ));
            }
            if requested.is_empty() { grant.scope.iter().map(String::as_str).collect() } else { granted }
        }
        None => grant.scope.iter().map(String::as_str).collect(),
    };
    let scope = scopes.join(" ");
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: issuer.issuer.clone(),
        sub: format!("{}@clients", client.client_id),
        aud: audience.to_owned(),
        iat: now,
        exp: now + TOKEN_LIFETIME_SECONDS,
        scope: scope.clone(),
        gty: Some("client-credentials".to_owned()),
        azp: Some(client.client_id.clone()),
    };
    let access_token = token::issue(keys, &claims)?;
    Ok(TokenResponse { access_token, scope, expires_in: TOKEN_LIFETIME_SECONDS, token_type: "Bearer" })
}
