//! Log events: what happened in the tenant, as Auth0's Management API lists them.
//!
//! Auth0 answers every key of a log event, with `null` for what an event does not have, and
//! `_id` equal to `log_id` (recorded, go-auth0 `TestLogManager*`). This is the one place where
//! Roster writes `null`s, because Auth0 does. The type codes are Auth0's
//! (<https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes>).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::time::{self, Timestamp};

/// Auth0's event type codes that Roster writes.
pub mod kind {
    /// Success Login (a password grant that issued tokens, or a browser login).
    pub const SUCCESS_LOGIN: &str = "s";
    /// Failed Login (for a reason other than the two below: a blocked user).
    pub const FAILED_LOGIN: &str = "f";
    /// Failed Login (Incorrect Password).
    pub const WRONG_PASSWORD: &str = "fp";
    /// Failed Login (Invalid Email/Username).
    pub const UNKNOWN_USER: &str = "fu";
    pub const SUCCESS_SIGNUP: &str = "ss";
    pub const FAILED_SIGNUP: &str = "fs";
    /// Success / Failed Exchange: Password for Access Token.
    pub const SUCCESS_PASSWORD_EXCHANGE: &str = "sepft";
    pub const FAILED_PASSWORD_EXCHANGE: &str = "fepft";
    /// Success / Failed Exchange: Refresh Token for Access Token.
    pub const SUCCESS_REFRESH_EXCHANGE: &str = "sertft";
    pub const FAILED_REFRESH_EXCHANGE: &str = "fertft";
    /// Failed Exchange of a Rotating Refresh Token: a spent token presented again.
    pub const REFRESH_TOKEN_REUSE: &str = "ferrt";
    /// Success / Failed Exchange: Client Credentials for Access Token.
    pub const SUCCESS_CLIENT_CREDENTIALS: &str = "seccft";
    pub const FAILED_CLIENT_CREDENTIALS: &str = "feccft";
    /// Success / Failed Exchange: Password and OTP for Access Token.
    pub const SUCCESS_OTP_EXCHANGE: &str = "seotpft";
    pub const FAILED_OTP_EXCHANGE: &str = "feotpft";
    /// Success / Failed Exchange: Password and MFA Recovery Code for Access Token.
    pub const SUCCESS_RECOVERY_EXCHANGE: &str = "sercft";
    pub const FAILED_RECOVERY_EXCHANGE: &str = "fercft";
    /// MFA Required: a password grant answered `mfa_required`.
    pub const MFA_REQUIRED: &str = "mfar";
    pub const MFA_SUCCEEDED: &str = "gd_auth_succeed";
    pub const MFA_FAILED: &str = "gd_auth_failed";
    pub const RECOVERY_SUCCEEDED: &str = "gd_recovery_succeed";
    pub const RECOVERY_FAILED: &str = "gd_recovery_failed";
    /// Successfully revoked a refresh token.
    pub const REFRESH_TOKEN_REVOKED: &str = "srrt";
    /// Success / Failed Exchange: Authorization Code for Access Token.
    pub const SUCCESS_CODE_EXCHANGE: &str = "seacft";
    pub const FAILED_CODE_EXCHANGE: &str = "feacft";
    /// Success / Failed Silent Auth: `/authorize` with `prompt=none`.
    pub const SUCCESS_SILENT_AUTH: &str = "ssa";
    pub const FAILED_SILENT_AUTH: &str = "fsa";
    /// Success / Failed Logout.
    pub const SUCCESS_LOGOUT: &str = "slo";
    pub const FAILED_LOGOUT: &str = "flo";
    /// Blocked Account: brute-force protection blocked a user from an IP address.
    pub const BLOCKED_ACCOUNT: &str = "limit_wc";
    /// Success API Operation: a Management API write.
    pub const SUCCESS_API_OPERATION: &str = "sapi";
    /// Failed API Operation (Auth0's older list; kept for writes that were refused).
    pub const FAILED_API_OPERATION: &str = "fapi";
}

/// One event. Optional attributes left `None` are answered as `null`.
#[derive(Debug, Clone, Default)]
pub struct LogEvent {
    pub log_id: String,
    pub date: Timestamp,
    pub kind: &'static str,
    pub description: Option<String>,
    pub connection: Option<String>,
    pub connection_id: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Rendered when the event is made (`details`).
    pub details: Option<Box<RawValue>>,
    /// The caller's scopes, kept apart from `details` (`with_scopes` puts them back).
    pub scopes: Option<Scopes>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub strategy: Option<String>,
    pub strategy_type: Option<String>,
    pub hostname: Option<String>,
}

impl LogEvent {
    /// An event of `kind` happening now, with a fresh id.
    pub fn new(kind: &'static str) -> Self {
        let date = time::now();
        Self { log_id: log_id(&date), date, kind, ..Self::default() }
    }

    /// The event as `GET /logs` answers it: every key, in Auth0's order, as JSON text.
    pub fn render(&self) -> String {
        let rendered = Rendered {
            _id: &self.log_id,
            log_id: &self.log_id,
            date: time::format(&self.date),
            kind: self.kind,
            description: &self.description,
            connection: &self.connection,
            connection_id: &self.connection_id,
            organization_id: None,
            organization_name: None,
            client_id: &self.client_id,
            client_name: &self.client_name,
            ip: &self.ip,
            hostname: &self.hostname,
            details: self.details.as_deref(),
            user_id: &self.user_id,
            user_name: &self.user_name,
            user_agent: &self.user_agent,
            audience: &self.audience,
            scope: &self.scope,
            strategy: &self.strategy,
            strategy_type: &self.strategy_type,
            is_mobile: self.user_agent.as_deref().is_some_and(is_mobile),
            location_info: None,
        };
        serde_json::to_string(&rendered).expect("a log event renders")
    }
}

/// Whether a user agent is a phone's or a tablet's: browsers name themselves `Mobi…` there
/// (MDN's advice for telling them apart), and Apple's and Android's apps name the system.
fn is_mobile(user_agent: &str) -> bool {
    ["Mobi", "iPhone", "iPad", "Android"].iter().any(|mark| user_agent.contains(mark))
}

/// A token's scopes as the JSON array a Management API event lists in
/// `details.request.auth.credentials.scopes`, and a key naming that array. A token of every
/// scope lists ~240, most of an event's bytes, and a tenant's writes come from a few tokens: the
/// log keeps each array once and its events name it by key.
#[derive(Debug, Clone)]
pub struct Scopes {
    pub key: Arc<str>,
    pub json: Arc<RawValue>,
}

impl Scopes {
    /// `scopes`, sorted, as a JSON array; its key is a digest of that text.
    pub fn new(scopes: &[&str]) -> Self {
        let mut sorted = scopes.to_vec();
        sorted.sort_unstable();
        let json = serde_json::value::to_raw_value(&sorted).expect("strings serialize");
        let digest = Sha256::digest(json.get().as_bytes());
        Self { key: hex::encode(&digest[..16]).into(), json: json.into() }
    }
}

/// Puts an event's scopes, stored apart, back where it lists them.
pub fn with_scopes(mut document: Value, scopes: Value) -> Value {
    if let Some(credentials) = document.pointer_mut("/details/request/auth/credentials").and_then(Value::as_object_mut)
    {
        credentials.insert("scopes".to_owned(), scopes);
    }
    document
}

/// `details` as an event keeps it: rendered once, when the event is made.
pub fn details(value: &impl Serialize) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

/// A log event's keys in Auth0's order; `None` renders as `null`.
#[derive(Serialize)]
struct Rendered<'a> {
    _id: &'a str,
    log_id: &'a str,
    date: String,
    #[serde(rename = "type")]
    kind: &'a str,
    description: &'a Option<String>,
    connection: &'a Option<String>,
    connection_id: &'a Option<String>,
    organization_id: Option<()>,
    organization_name: Option<()>,
    client_id: &'a Option<String>,
    client_name: &'a Option<String>,
    ip: &'a Option<String>,
    hostname: &'a Option<String>,
    details: Option<&'a RawValue>,
    user_id: &'a Option<String>,
    user_name: &'a Option<String>,
    user_agent: &'a Option<String>,
    audience: &'a Option<String>,
    scope: &'a Option<String>,
    strategy: &'a Option<String>,
    strategy_type: &'a Option<String>,
    #[serde(rename = "isMobile")]
    is_mobile: bool,
    location_info: Option<()>,
}

/// Auth0's log ids are 56 digits: a 3-digit prefix, the time as `yyyyMMddHHmmssSSS`, then 36
/// digits that make it unique. Roster's last 36 are a per-process counter (which keeps the ids
/// of one process in the order they were made, as the checkpoint listing reads them) and 16
/// random digits (which keep two processes' ids apart).
pub fn log_id(date: &Timestamp) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random: u64 = rand::random::<u64>() % 10_000_000_000_000_000;
    format!("900{}{counter:020}{random:016}", date.format("%Y%m%d%H%M%S%3f"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_are_56_digits_in_the_order_made() {
        let date = time::parse("2023-06-02T10:58:01.495Z").unwrap();
        let first = log_id(&date);
        let second = log_id(&date);
        assert_eq!(first.len(), 56);
        assert!(first.bytes().all(|b| b.is_ascii_digit()));
        assert!(first.starts_with("90020230602105801495"));
        assert!(second > first);
    }

    #[test]
    fn mobile_user_agents_are_marked() {
        let render = |agent: &str| {
            let event = LogEvent { user_agent: Some(agent.to_owned()), ..LogEvent::new(kind::SUCCESS_LOGIN) };
            serde_json::from_str::<serde_json::Value>(&event.render()).unwrap()["isMobile"].clone()
        };
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
        assert_eq!(render(iphone), true);
        assert_eq!(render("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"), true);
        assert_eq!(render("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"), false);
        assert_eq!(render("Go-Auth0/latest"), false);
    }

    #[test]
    fn a_scope_array_is_named_by_its_scopes_in_any_order() {
        let scopes = Scopes::new(&["update:users", "read:users"]);
        assert_eq!(scopes.json.get(), r#"["read:users","update:users"]"#);
        assert_eq!(scopes.key, Scopes::new(&["read:users", "update:users"]).key);
        assert_ne!(scopes.key, Scopes::new(&["read:users"]).key);
        assert_eq!(scopes.key.len(), 32);
    }

    #[test]
    fn renders_every_key_with_nulls() {
        let mut event = LogEvent::new(kind::WRONG_PASSWORD);
        event.description = Some("Wrong email or password.".into());
        event.user_id = Some("auth0|1".into());
        let rendered: serde_json::Value = serde_json::from_str(&event.render()).unwrap();
        let keys: Vec<&str> = rendered.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..4], ["_id", "log_id", "date", "type"]);
        assert_eq!(keys.len(), 23);
        assert_eq!(rendered["connection"], serde_json::Value::Null);
        assert_eq!(rendered["isMobile"], false);
    }
}
