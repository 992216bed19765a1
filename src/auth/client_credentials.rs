//! `POST /oauth/token` with `grant_type=client_credentials`, as Auth0's Authentication API
//! answers it (errors are `{error, error_description}`, not the Management API's shape).

use axum::http::StatusCode;

use super::keys::KeyRing;
use super::oauth::{OAuthError, TokenRequest, TokenResponse, authenticate_client};
use super::token::{self, Claims, Issuer, TOKEN_LIFETIME_SECONDS};
use crate::store::Store;
use crate::store::tenant_admin::ClientGrantFilter;

pub async fn exchange(
    store: &Store,
    keys: &KeyRing,
    issuer: &Issuer,
    request: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(store, &request, "client_credentials").await?;
    let Some(requested_audience) = request.field("audience") else {
        return Err(OAuthError::access_denied(
            StatusCode::FORBIDDEN,
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    let Some(audience) = issuer.management_api(requested_audience) else {
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
    let scopes: Vec<&str> = match request.field("scope").map(str::split_whitespace) {
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
    Ok(TokenResponse::bearer(access_token, Some(scope), TOKEN_LIFETIME_SECONDS))
}
