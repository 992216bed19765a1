//! What every grant of `POST /oauth/token` shares: the request's parameters, Auth0's
//! Authentication API errors (`{error, error_description}`, not the Management API's shape),
//! the answer, and client authentication.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::domain::client::ClientRecord;
use crate::domain::log_event::LogEvent;
use crate::store::Store;

pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
pub const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
pub const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// Grant types Auth0 knows that Roster does not serve: a client asking for one is told it may
/// not use it, as Auth0 tells a client whose `grant_types` leave it out.
pub const OTHER_AUTH0_GRANTS: &[&str] = &[
    "implicit",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// The parameters of a token request, from a JSON or form body and HTTP Basic credentials.
/// Empty and `null` parameters count as absent (auth0-python sends `"realm": null` and
/// `"scope": ""`).
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub fields: Map<String, Value>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Where the request came from: the peer's address, or a trusted client's
    /// `auth0-forwarded-for`.
    pub ip: String,
    pub forwarded_for: Option<String>,
    pub user_agent: Option<String>,
    /// The `Host` the request named: the tenant's domain, as its log events say (`hostname`).
    pub host: Option<String>,
}

impl TokenRequest {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.field(name).ok_or_else(|| OAuthError::invalid_request(format!("Missing required parameter: {name}")))
    }

    pub fn grant_type(&self) -> Option<&str> {
        self.field("grant_type")
    }

    /// A log event about this request: from where it came, by `client` (once authenticated;
    /// else the `client_id` it names).
    pub fn log_event(&self, kind: &'static str, client: Option<&ClientRecord>) -> LogEvent {
        let mut event = LogEvent::new(kind);
        // Auth0's events give a description, empty for a success (recorded `seccft`, `ss`), and
        // the tenant's domain as `hostname`; failures put their reason in the description.
        event.description = Some(String::new());
        event.hostname = self.host.clone();
        event.ip = Some(self.ip.clone());
        event.user_agent = self.user_agent.clone();
        event.client_id = client.map(|c| c.client_id.clone()).or_else(|| self.client_id.clone());
        event.client_name = client.map(|c| c.name.clone());
        event
    }
}

/// A successful token answer; what a grant does not issue is left out.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub token_type: &'static str,
    /// The new recovery code, after one was used up (`mfa-recovery-code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

impl TokenResponse {
    pub fn bearer(access_token: String, scope: Option<String>, expires_in: i64) -> Self {
        Self {
            access_token,
            id_token: None,
            refresh_token: None,
            scope,
            expires_in,
            token_type: "Bearer",
            recovery_code: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: &'static str,
    pub error_description: String,
    /// `mfa_required` answers carry the token the MFA grants take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, error_description: description.into(), mfa_token: None }
    }

    pub fn access_denied(status: StatusCode, description: impl Into<String>) -> Self {
        Self::new(status, "access_denied", description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "invalid_grant", description)
    }

    pub fn unauthorized_client(grant_type: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            format!("Grant type '{grant_type}' not allowed for the client."),
        )
    }

    fn unauthorized() -> Self {
        Self::access_denied(StatusCode::UNAUTHORIZED, "Unauthorized")
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(cause: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{cause:#}"), "token endpoint failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal Server Error")
    }
}

/// The client a request names, once its secret checks out (constant-time), and only if it may
/// use `grant_type` (`None` for endpoints that are not a grant, such as `/oauth/revoke`). A
/// public client (`token_endpoint_auth_method: none`) needs no secret, except for client
/// credentials; a secret given is checked whatever the client.
pub async fn authenticate_client(
    store: &Store,
    request: &TokenRequest,
    grant_type: impl Into<Option<&str>>,
) -> Result<ClientRecord, OAuthError> {
    let grant_type = grant_type.into();
    let client_id = request.client_id.as_deref().filter(|c| !c.is_empty());
    let Some(client_id) = client_id else {
        return Err(OAuthError::invalid_request("Missing required parameter: client_id"));
    };
    let client = store.client_record(client_id).await?.ok_or_else(OAuthError::unauthorized)?;
    let public = client.attributes.get("token_endpoint_auth_method").and_then(Value::as_str) == Some("none");
    match request.client_secret.as_deref().filter(|s| !s.is_empty()) {
        Some(given) => {
            if !bool::from(given.as_bytes().ct_eq(client.client_secret.as_bytes())) {
                return Err(OAuthError::unauthorized());
            }
        }
        None if public && grant_type != Some("client_credentials") => {}
        None => return Err(OAuthError::unauthorized()),
    }
    // A client whose `grant_types` (set through /api/v2/clients) leave this grant out.
    if let Some(grant_type) = grant_type
        && !client.allows_grant(grant_type)
    {
        return Err(OAuthError::unauthorized_client(grant_type));
    }
    Ok(client)
}
