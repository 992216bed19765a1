//! The tokens a user's login or refresh is answered with: an access token for the API asked
//! for (or only `/userinfo`), an ID token when `openid` was asked for, and a refresh token when
//! `offline_access` was and the client and API allow it.

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::keys::KeyRing;
use super::oauth::{OAuthError, TokenResponse};
use super::token::Issuer;
use crate::domain::client::ClientRecord;
use crate::domain::refresh_token::{Grant, Lifetimes, NewRefreshToken, RefreshToken};
use crate::domain::time::{self, Timestamp};
use crate::domain::user::User;
use crate::domain::{ids, resource_server::ResourceServer};
use crate::store::Store;

/// OpenID Connect's scopes: granted as asked, whatever the API.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone", "offline_access"];

/// Auth0's default access token lifetime for an API, and for `/userinfo`-only tokens.
const ACCESS_TOKEN_LIFETIME: i64 = 86_400;
/// Auth0's default ID token lifetime (`jwt_configuration.lifetime_in_seconds`).
const ID_TOKEN_LIFETIME: i64 = 36_000;

/// What a login grants before tokens are minted: the API, the scopes, and the permissions.
#[derive(Debug, Clone)]
pub struct Granted {
    pub audience: Option<String>,
    pub scope: Vec<String>,
    /// The `permissions` claim, for an API with RBAC that adds them to access tokens.
    pub permissions: Option<Vec<String>>,
    pub access_token_lifetime: i64,
    /// Whether the API lets clients have refresh tokens (`allow_offline_access`).
    pub offline_allowed: bool,
}

impl Granted {
    pub fn has(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    pub fn scope_text(&self) -> String {
        self.scope.join(" ")
    }
}

/// Decides what `user_id` gets for `audience` and the `requested` scopes. API scopes are
/// granted as the API defines them, and, where the API has RBAC, only those the user holds
/// (Auth0's password grants skip consent). The Management API grants users no scope: its
/// `current_user` scopes are not served.
pub async fn grant(
    store: &Store,
    user_id: &str,
    audience: Option<&str>,
    requested: Option<&str>,
) -> Result<Granted, OAuthError> {
    let requested: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    let oidc = requested.iter().filter(|s| OIDC_SCOPES.contains(s)).map(|s| (*s).to_owned());
    let Some(audience) = audience else {
        return Ok(Granted {
            audience: None,
            scope: oidc.collect(),
            permissions: None,
            access_token_lifetime: ACCESS_TOKEN_LIFETIME,
            offline_allowed: true,
        });
    };
    let server = store.resource_server(audience).await?.filter(|s| s.identifier == audience).ok_or_else(|| {
        OAuthError::access_denied(StatusCode::FORBIDDEN, format!("Service not enabled within domain: {audience}"))
    })?;
    let setting = |key: &str| server.settings.get(key);
    // RBAC is `enforce_policies` in the API (the Dashboard's "Enable RBAC").
    let rbac = setting("enforce_policies") == Some(&Value::Bool(true));
    let held: Option<Vec<String>> = if rbac { Some(permissions_on(store, user_id, &server).await?) } else { None };
    let allowed = |scope: &str| match &held {
        _ if server.is_system() => false,
        Some(held) => held.iter().any(|h| h == scope),
        None => server.scope(scope).is_some(),
    };
    let api = requested.iter().filter(|s| !OIDC_SCOPES.contains(s) && allowed(s)).map(|s| (*s).to_owned());
    let dialect = setting("token_dialect").and_then(Value::as_str).unwrap_or("access_token");
    Ok(Granted {
        audience: Some(audience.to_owned()),
        scope: oidc.chain(api).collect(),
        permissions: held.filter(|_| dialect.ends_with("_authz")),
        access_token_lifetime: setting("token_lifetime").and_then(Value::as_i64).unwrap_or(ACCESS_TOKEN_LIFETIME),
        offline_allowed: setting("allow_offline_access") == Some(&Value::Bool(true)),
    })
}

async fn permissions_on(store: &Store, user_id: &str, server: &ResourceServer) -> Result<Vec<String>, OAuthError> {
    let held = store.user_permissions(user_id).await.map_err(|e| OAuthError::from(anyhow::anyhow!(e)))?;
    Ok(held
        .into_iter()
        .filter(|p| p.permission.resource_server_identifier == server.identifier)
        .map(|p| p.permission.permission_name)
        .collect())
}

/// How a login went, for the claims that tell (`amr`, `gty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    PasswordAndMfa,
    Refresh,
    /// A browser login's code exchanged; `mfa` if a second factor was answered in its session.
    AuthorizationCode {
        mfa: bool,
    },
}

/// What an ID token of a browser login adds: its session (`sid`) and the `nonce` the
/// application sent to `/authorize`.
#[derive(Debug, Clone, Default)]
pub struct SessionClaims {
    pub sid: String,
    pub nonce: Option<String>,
}

/// Mints the access token, and the ID token when `openid` was granted, of a login or refresh.
pub fn mint(
    keys: &KeyRing,
    issuer: &Issuer,
    client: &ClientRecord,
    user: &User,
    granted: &Granted,
    method: Method,
    session: Option<&SessionClaims>,
) -> Result<TokenResponse, OAuthError> {
    let now = chrono::Utc::now().timestamp();
    let userinfo = format!("{}userinfo", issuer.issuer);
    let aud = match &granted.audience {
        Some(api) if granted.has("openid") => json!([api, userinfo]),
        Some(api) => json!(api),
        None => json!(userinfo),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer.issuer));
    claims.insert("sub".into(), json!(user.user_id));
    claims.insert("aud".into(), aud);
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + granted.access_token_lifetime));
    claims.insert("scope".into(), json!(granted.scope_text()));
    match method {
        Method::Password | Method::PasswordAndMfa => {
            claims.insert("gty".into(), json!("password"));
        }
        Method::Refresh | Method::AuthorizationCode { .. } => {}
    }
    claims.insert("azp".into(), json!(client.client_id));
    if let Some(permissions) = &granted.permissions {
        claims.insert("permissions".into(), json!(permissions));
    }
    let access_token = sign_rs256(keys, &Value::Object(claims))?;
    let id_token = if granted.has("openid") {
        Some(id_token(keys, issuer, client, user, granted, (method, session), now)?)
    } else {
        None
    };
    let scope = Some(granted.scope_text()).filter(|s| !s.is_empty());
    let mut response = TokenResponse::bearer(access_token, scope, granted.access_token_lifetime);
    response.id_token = id_token;
    Ok(response)
}

/// The OpenID Connect claims of the user's profile that the granted scopes allow, in the order
/// Auth0 writes them: what ID tokens and `/userinfo` both answer.
pub fn profile_claims(user: &User, granted: impl Fn(&str) -> bool) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            claims.insert(key.to_owned(), value);
        }
    };
    let verified = |value: &Option<String>, flag: Option<bool>| value.as_ref().map(|_| json!(flag.unwrap_or(false)));
    if granted("profile") {
        put("given_name", user.given_name.clone().map(Value::from));
        put("family_name", user.family_name.clone().map(Value::from));
        put("nickname", user.nickname.clone().map(Value::from));
        put("name", user.name.clone().map(Value::from));
        put("picture", user.picture.clone().map(Value::from));
        put("updated_at", Some(Value::from(time::format(&user.updated_at))));
    }
    if granted("email") {
        put("email", user.email.clone().map(Value::from));
        put("email_verified", verified(&user.email, user.email_verified));
    }
    if granted("phone") {
        put("phone_number", user.phone_number.clone().map(Value::from));
        put("phone_number_verified", verified(&user.phone_number, user.phone_verified));
    }
    claims
}

/// The ID token: profile claims by scope, in the order Auth0 writes them, for the client
/// (`aud`), signed as the client's `jwt_configuration.alg` says (RS256 with the tenant's key,
/// or HS256 with the client's secret).
fn id_token(
    keys: &KeyRing,
    issuer: &Issuer,
    client: &ClientRecord,
    user: &User,
    granted: &Granted,
    (method, session): (Method, Option<&SessionClaims>),
    now: i64,
) -> Result<String, OAuthError> {
    let mut claims = profile_claims(user, |scope| granted.has(scope));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            claims.insert(key.to_owned(), value);
        }
    };
    let jwt = client.attributes.get("jwt_configuration");
    let lifetime = jwt.and_then(|j| j.get("lifetime_in_seconds")).and_then(Value::as_i64).unwrap_or(ID_TOKEN_LIFETIME);
    put("iss", Some(json!(issuer.issuer)));
    put("sub", Some(json!(user.user_id)));
    put("aud", Some(json!(client.client_id)));
    put("iat", Some(json!(now)));
    put("exp", Some(json!(now + lifetime)));
    if matches!(method, Method::PasswordAndMfa | Method::AuthorizationCode { mfa: true }) {
        put("amr", Some(json!(["mfa"])));
    }
    if let Some(session) = session {
        put("nonce", session.nonce.clone().map(Value::from));
        put("sid", Some(json!(session.sid)));
    }
    let claims = Value::Object(claims);
    if jwt.and_then(|j| j.get("alg")).and_then(Value::as_str) == Some("HS256") {
        let key = EncodingKey::from_secret(client.client_secret.as_bytes());
        return jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .map_err(|e| OAuthError::from(anyhow::Error::from(e)));
    }
    sign_rs256(keys, &claims)
}

/// The claims of `token` if this tenant signed it (RS256, with one of its keys) for `audience`,
/// and it has not expired (when `expiring`); else why not.
pub fn verify_rs256(
    keys: &KeyRing,
    issuer: &Issuer,
    audience: &str,
    token: &str,
    expiring: bool,
) -> Result<Value, jsonwebtoken::errors::ErrorKind> {
    use jsonwebtoken::errors::ErrorKind;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.into_kind())?;
    let key = header.kid.as_deref().and_then(|kid| keys.verifying(kid)).ok_or(ErrorKind::InvalidSignature)?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&[audience]);
    validation.leeway = 0;
    validation.validate_exp = expiring;
    if !expiring {
        validation.required_spec_claims.remove("exp");
    }
    jsonwebtoken::decode::<Value>(token, key, &validation).map(|data| data.claims).map_err(|e| e.into_kind())
}

pub fn sign_rs256(keys: &KeyRing, claims: &Value) -> Result<String, OAuthError> {
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).map_err(|e| OAuthError::from(anyhow::Error::from(e)))
}

/// A new refresh token for `client` and `user`, bound to the browser session it was issued in
/// (a password grant opens none: Auth0, "No browser session is created"): the value the client
/// is given, and the row the store keeps (with the value's hash only).
pub fn new_refresh_token(
    client: &ClientRecord,
    user_id: &str,
    (grant, session_id): (Grant, Option<String>),
    at: &Timestamp,
) -> (String, NewRefreshToken) {
    let lifetimes = Lifetimes::of_client(client.attributes.get("refresh_token").and_then(Value::as_object));
    let value = ids::random_alphanumeric(48);
    let token = RefreshToken {
        id: ids::random_alphanumeric(24),
        user_id: user_id.to_owned(),
        client_id: client.client_id.clone(),
        session_id,
        rotating: lifetimes.rotating,
        created_at: *at,
        idle_expires_at: Lifetimes::expiry(lifetimes.idle, at),
        expires_at: Lifetimes::expiry(lifetimes.absolute, at),
        last_exchanged_at: None,
        grant,
    };
    let token_hash = ids::sha256_hex(&value);
    (value, NewRefreshToken { token, token_hash })
}
