//! The rules of a browser login that need no I/O: what `/authorize` accepts, which URLs a
//! client may be sent back to, PKCE, and how an answer travels back to the application.

use serde::{Deserialize, Serialize};

use super::ids;

/// How long an authorization code may wait for its exchange (RFC 6749 §4.1.2 recommends at
/// most 10 minutes; Auth0 does not publish its own).
pub const CODE_SECONDS: i64 = 600;
/// How long a login form stays good for, from `/authorize` (the form and the MFA step).
pub const TRANSACTION_SECONDS: i64 = 3600;
/// How long a browser remembered after MFA skips it (Auth0: 30 days).
pub const REMEMBER_BROWSER_DAYS: i64 = 30;

/// How the answer reaches the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None | Some("query") => Ok(ResponseMode::Query),
            Some("fragment") => Ok(ResponseMode::Fragment),
            Some("form_post") => Ok(ResponseMode::FormPost),
            Some(other) => Err(format!("Unsupported response_mode: {other}")),
        }
    }
}

/// What `/authorize` was asked, once checked: carried through the login form to the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was given (else the client's first callback was used, and the
    /// exchange must not name one).
    pub redirect_uri_given: bool,
    pub response_mode: ResponseMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// The database connection the user logs in with.
    pub connection: String,
}

/// An authorization code waiting for its exchange: what `/authorize` was asked, for whom, in
/// which session. Stored by the hash of the code only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub user_id: String,
    pub session_id: String,
    pub request: AuthorizeRequest,
    /// Whether the login answered a second factor (the ID token's `amr`).
    pub mfa: bool,
    pub expires_at: super::time::Timestamp,
}

/// `prompt`: `login` forces the form, `none` forbids it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    Login,
    None,
}

impl Prompt {
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None => Ok(Prompt::Default),
            Some(values) => {
                let values: Vec<&str> = values.split_whitespace().collect();
                if values.contains(&"none") && values.len() > 1 {
                    return Err("prompt=none cannot be combined with other values".into());
                }
                if values.contains(&"none") {
                    Ok(Prompt::None)
                } else if values.contains(&"login") {
                    Ok(Prompt::Login)
                } else {
                    Ok(Prompt::Default)
                }
            }
        }
    }
}

/// The PKCE method, checked: `S256` or `plain` (the default when a challenge comes alone).
pub fn code_challenge_method(challenge: Option<&str>, method: Option<&str>) -> Result<Option<String>, String> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("Missing required parameter: code_challenge".into()),
        (Some(_), None | Some("plain")) => Ok(Some("plain".into())),
        (Some(_), Some("S256")) => Ok(Some("S256".into())),
        (Some(_), Some(other)) => Err(format!("Unsupported code_challenge_method: {other}")),
    }
}

/// Whether `verifier` answers the `challenge` made with `method` (RFC 7636 §4.6).
pub fn pkce_verifies(challenge: &str, method: &str, verifier: &str) -> bool {
    use base64::Engine;
    use subtle::ConstantTimeEq;
    let derived = match method {
        "S256" => {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
        }
        _ => verifier.to_owned(),
    };
    derived.len() == challenge.len() && bool::from(derived.as_bytes().ct_eq(challenge.as_bytes()))
}

/// Whether `url` is one of `allowed`: exactly, or where an allowed URL's host starts with `*.`,
/// any subdomain of the rest (as Auth0 allows for callback and logout URLs).
pub fn url_allowed(allowed: &[String], url: &str) -> bool {
    allowed.iter().any(|pattern| pattern == url || wildcard_matches(pattern, url))
}

/// Logout URLs are compared without their query string and fragment (Auth0's `/v2/logout`).
pub fn logout_url_allowed(allowed: &[String], url: &str) -> bool {
    let bare = url.split(['?', '#']).next().unwrap_or_default();
    url_allowed(allowed, bare) || url_allowed(allowed, url)
}

fn wildcard_matches(pattern: &str, url: &str) -> bool {
    let Some((scheme, rest)) = pattern.split_once("://*.") else { return false };
    let Some(url_rest) = url.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) else { return false };
    let (url_host, url_path) = url_rest.split_at(url_rest.find('/').unwrap_or(url_rest.len()));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some(label) = url_host.strip_suffix(host).and_then(|h| h.strip_suffix('.')) else { return false };
    let path_matches = url_path == path || (path.is_empty() && url_path == "/") || (url_path.is_empty() && path == "/");
    !label.is_empty() && !label.contains('.') && path_matches
}

/// `redirect_uri` with `params` added in the query (keeping the query it has) or the fragment.
pub fn redirect_location(redirect_uri: &str, mode: ResponseMode, params: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let (base, fragment) = match redirect_uri.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (redirect_uri, None),
    };
    match mode {
        ResponseMode::Fragment => format!("{base}#{encoded}"),
        _ => {
            let separator = if base.contains('?') { '&' } else { '?' };
            let tail = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            if encoded.is_empty() { redirect_uri.to_owned() } else { format!("{base}{separator}{encoded}{tail}") }
        }
    }
}

/// A new authorization code, and the hash it is stored as.
pub fn new_code() -> (String, String) {
    let code = ids::random_alphanumeric(40);
    let hash = ids::sha256_hex(&code);
    (code, hash)
}

/// Text made safe to place in HTML, in an element or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_verifies("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256", verifier));
        assert!(!pkce_verifies("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256", "wrong"));
        assert!(pkce_verifies("abc", "plain", "abc"));
        assert!(!pkce_verifies("abc", "plain", "abd"));
        assert_eq!(code_challenge_method(Some("x"), None), Ok(Some("plain".into())));
        assert!(code_challenge_method(Some("x"), Some("S512")).is_err());
        assert!(code_challenge_method(None, Some("S256")).is_err());
    }

    #[test]
    fn urls_match_exactly_or_by_subdomain_wildcard() {
        let allowed = vec!["https://app.example.com/cb".to_owned(), "https://*.example.org".to_owned()];
        assert!(url_allowed(&allowed, "https://app.example.com/cb"));
        assert!(!url_allowed(&allowed, "https://app.example.com/cb/"));
        assert!(!url_allowed(&allowed, "http://app.example.com/cb"));
        assert!(url_allowed(&allowed, "https://a.example.org"));
        assert!(url_allowed(&allowed, "https://a.example.org/"));
        assert!(!url_allowed(&allowed, "https://a.b.example.org"));
        assert!(!url_allowed(&allowed, "https://evil.com/a.example.org"));
        assert!(!url_allowed(&allowed, "https://aexample.org"));
        assert!(logout_url_allowed(&allowed, "https://app.example.com/cb?next=1#x"));
    }

    #[test]
    fn answers_travel_in_the_query_or_the_fragment() {
        let params = [("code", "abc"), ("state", "a b&c")];
        assert_eq!(
            redirect_location("https://a/cb", ResponseMode::Query, &params),
            "https://a/cb?code=abc&state=a+b%26c"
        );
        assert_eq!(
            redirect_location("https://a/cb?x=1", ResponseMode::Query, &params[..1]),
            "https://a/cb?x=1&code=abc"
        );
        assert_eq!(redirect_location("https://a/cb", ResponseMode::Fragment, &params[..1]), "https://a/cb#code=abc");
        assert_eq!(escape_html("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
    }

    #[test]
    fn prompt_values() {
        assert_eq!(Prompt::parse(Some("login")), Ok(Prompt::Login));
        assert_eq!(Prompt::parse(Some("none")), Ok(Prompt::None));
        assert!(Prompt::parse(Some("none login")).is_err());
        assert_eq!(Prompt::parse(Some("consent")), Ok(Prompt::Default));
    }
}
