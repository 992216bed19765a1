//! Access tokens: RS256 JWTs shaped like Auth0's machine-to-machine tokens, and the checks
//! every `/api/v2` request goes through.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;
use crate::domain::log_event::Scopes;
use crate::error::ApiError;

/// How long issued tokens live: Auth0's default for machine-to-machine tokens.
pub const TOKEN_LIFETIME_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
}

/// Who is calling, as its verified token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    /// The client the token was issued to (`azp`); a `link_with` ID token must be for it.
    pub azp: Option<String>,
    scopes: HashSet<String>,
    /// The scopes as a sorted JSON array, rendered once per token: every Management API write
    /// logs them (`sapi`), and a token of every scope lists ~240.
    scopes_logged: Scopes,
    expires_at: i64,
}

impl Caller {
    /// A caller the server vouches for itself, without a token: the console acting for the
    /// client signed in to it (`Delegated`).
    pub fn delegated(subject: String, azp: Option<String>, scopes: &[String]) -> Self {
        let scopes: HashSet<String> = scopes.iter().cloned().collect();
        let scopes_logged = Scopes::new(&scopes.iter().map(String::as_str).collect::<Vec<_>>());
        Self { subject, azp, scopes, scopes_logged, expires_at: i64::MAX }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// The token's scopes as its log events list them.
    pub fn scopes_logged(&self) -> Scopes {
        self.scopes_logged.clone()
    }
}

/// A Management API request made inside the process for `Caller` (the console's), which
/// `authorize` takes in place of a bearer token. Only the server can attach it: a request
/// from the network carries headers, never extensions.
#[derive(Clone)]
pub struct Delegated(pub Arc<Caller>);

/// The tenant's identity as tokens name it.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// `https://{domain}/`
    pub issuer: String,
    /// `https://{domain}/api/v2/`
    pub management_audience: String,
    /// Auth0 SDKs pointed at plain http ask for `http://{domain}/api/v2/`; it names the same API.
    pub management_audience_http: String,
    /// Other audiences that name the same API: those of the other domains that reach the tenant.
    also_management_audiences: Vec<String>,
}

impl Issuer {
    pub fn new(domain: &str) -> Self {
        Self {
            issuer: format!("https://{domain}/"),
            management_audience: format!("https://{domain}/api/v2/"),
            management_audience_http: format!("http://{domain}/api/v2/"),
            also_management_audiences: Vec::new(),
        }
    }

    /// A tenant reached under other domains too: token requests may name the Management API by
    /// any of them (tokens then name it by `domain`'s).
    pub fn with_aliases<'a>(domain: &str, aliases: impl IntoIterator<Item = &'a str>) -> Self {
        let also = aliases
            .into_iter()
            .flat_map(|alias| [format!("https://{alias}/api/v2/"), format!("http://{alias}/api/v2/")]);
        Self { also_management_audiences: also.collect(), ..Self::new(domain) }
    }

    /// The canonical identifier of `audience` if it names the Management API.
    pub fn management_api(&self, audience: &str) -> Option<&str> {
        let named = audience == self.management_audience
            || audience == self.management_audience_http
            || self.also_management_audiences.iter().any(|alias| alias == audience);
        named.then_some(self.management_audience.as_str())
    }
}

pub fn issue(keys: &KeyRing, claims: &Claims) -> anyhow::Result<String> {
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    Ok(jsonwebtoken::encode(&header, claims, key)?)
}

/// Tokens already verified, by their text. Clients reuse a token for its whole lifetime (the
/// SDKs cache theirs), so RSA verification and claim parsing happen once per token rather
/// than once per request. Hashed with foldhash (seeded per process), not SipHash: every
/// request hashes its ~800-byte token, and only tokens that verified are ever inserted, so
/// no caller can choose colliding keys.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<Box<str>, Arc<Caller>, foldhash::fast::RandomState>>,
}

/// Bounds the cache; when full it starts over, which only costs re-verification.
const MAX_VERIFIED_TOKENS: usize = 10_000;

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Arc<Caller>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(token).cloned()
    }

    fn insert(&self, token: &str, caller: Arc<Caller>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_VERIFIED_TOKENS {
            entries.clear();
        }
        entries.insert(token.into(), caller);
    }
}

/// Checks an `Authorization` header value and returns the caller, or Auth0's error.
pub fn authenticate(
    keys: &KeyRing,
    issuer: &Issuer,
    verified: &VerifiedTokens,
    authorization: Option<&str>,
) -> Result<Arc<Caller>, ApiError> {
    let Some(token) = authorization.and_then(bearer_token) else {
        return Err(ApiError::unauthorized("Missing authentication"));
    };
    // hapi's JWT scheme answers a token that is not three dot-separated parts this way.
    if token.split('.').count() != 3 {
        return Err(ApiError::bad_request(Some("Bearer"), "Bad HTTP authentication header format"));
    }
    let expired = || ApiError::invalid_token("Expired token received for JSON Web Token validation");
    if let Some(caller) = verified.get(token) {
        return if chrono::Utc::now().timestamp() < caller.expires_at { Ok(caller) } else { Err(expired()) };
    }
    let caller = Arc::new(verify(keys, issuer, token)?);
    verified.insert(token, caller.clone());
    Ok(caller)
}

fn verify(keys: &KeyRing, issuer: &Issuer, token: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::invalid_token("Invalid token");
    let expired = || ApiError::invalid_token("Expired token received for JSON Web Token validation");
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid());
    }
    let key = header.kid.as_deref().and_then(|kid| keys.verifying(kid)).ok_or_else(invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&[&issuer.management_audience, &issuer.management_audience_http]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|error| match error.kind() {
        ErrorKind::ExpiredSignature => expired(),
        ErrorKind::InvalidSignature => {
            ApiError::invalid_token("Invalid signature received for JSON Web Token validation.")
        }
        _ => invalid(),
    })?;
    let scopes: HashSet<String> = data.claims.scope.split_whitespace().map(str::to_owned).collect();
    let scopes_logged = Scopes::new(&scopes.iter().map(String::as_str).collect::<Vec<_>>());
    Ok(Caller { subject: data.claims.sub, azp: data.claims.azp, scopes, scopes_logged, expires_at: data.claims.exp })
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// Checks the `link_with` ID token of a client-side link (`POST /users/{id}/identities`): signed
/// by this tenant's keys (RS256), unexpired, issued by this tenant, for the client that calls
/// (`aud` = the calling token's `azp`). Returns its `sub`, the secondary user's id. Auth0's
/// messages, from its spec; which check answers first, and which message an expired or badly
/// signed token gets, are documented guesses (docs/COMPATIBILITY.md).
pub fn verify_link_with(
    keys: &KeyRing,
    issuer: &Issuer,
    token: &str,
    caller_azp: Option<&str>,
) -> Result<String, ApiError> {
    let refuse = |message: &'static str| ApiError::bad_request(Some("invalid_body"), message);
    let invalid = || refuse("Invalid token (link_with).");
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::RS256 {
        return Err(refuse("JWT (link_with) must have an alg of RS256."));
    }
    let key = header.kid.as_deref().and_then(|kid| keys.verifying(kid)).ok_or_else(invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    validation.leeway = 0;
    // Auth0's spec has no message of its own for an expired or badly signed token: its generic one.
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation).map_err(|_| invalid())?.claims;
    if claims.get("iss").and_then(serde_json::Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err(refuse("JWT (link_with) must have the same issuer as the calling user."));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        None => {
            return Err(refuse("JWT (link_with) must have an aud claim that matches that of the calling token's azp."));
        }
        Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
        Some(serde_json::Value::Array(auds)) => auds.iter().filter_map(serde_json::Value::as_str).collect(),
        Some(_) => return Err(refuse("JWT (link_with) contains an invalid aud claim.")),
    };
    if !caller_azp.is_some_and(|azp| audiences.contains(&azp)) {
        return Err(refuse("JWT (link_with) contains an invalid aud claim."));
    }
    let sub = match claims.get("sub") {
        None => return Err(refuse("JWT (link_with) must contains sub claim.")),
        Some(sub) => sub.as_str().filter(|s| crate::domain::ids::split_user_id(s).is_some() && !s.contains('\0')),
    };
    sub.map(str::to_owned).ok_or_else(|| refuse("JWT (link_with) contains an invalid sub claim."))
}
