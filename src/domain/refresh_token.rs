//! Refresh tokens and sessions as the Management API shows them, and the lifetimes a client's
//! `refresh_token` settings give a new token.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::time::{self, Timestamp};

/// The device a token or session was issued to and last used from, in the order Auth0 answers
/// a session's. Auth0 also answers `initial_asn`/`last_asn`; Roster has no ASN database, so
/// they are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
}

/// What a refresh token grants: the API and scopes of the tokens it is exchanged for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// The API (`None`: only `/userinfo`).
    pub audience: Option<String>,
    pub scope: String,
    /// The connection the user logged in with.
    pub connection: String,
    #[serde(default)]
    pub device: Device,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub session_id: Option<String>,
    pub rotating: bool,
    pub created_at: Timestamp,
    pub idle_expires_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub last_exchanged_at: Option<Timestamp>,
    pub grant: Grant,
}

/// A refresh token to store, with the hash of the value its client holds.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token: RefreshToken,
    pub token_hash: String,
}

impl RefreshToken {
    pub fn has_expired(&self, now: &Timestamp) -> bool {
        [self.expires_at, self.idle_expires_at].iter().flatten().any(|at| at <= now)
    }

    /// As `GET /users/{id}/refresh-tokens` lists it (recorded: `null` expiries and session
    /// for tokens that have none; `resource_servers` with the scopes as one string; no `device`).
    /// `userinfo` names the audience of a token granted no API (Auth0 lists one for every token).
    pub fn to_json(&self, userinfo: &str) -> Value {
        let stamp = |t: &Option<Timestamp>| t.as_ref().map_or(Value::Null, |t| Value::String(time::format(t)));
        let mut out = json!({
            "id": self.id,
            "user_id": self.user_id,
            "created_at": time::format(&self.created_at),
            "idle_expires_at": stamp(&self.idle_expires_at),
            "expires_at": stamp(&self.expires_at),
            "client_id": self.client_id,
            "session_id": self.session_id,
            "rotating": self.rotating,
            "resource_servers": [{
                "audience": self.grant.audience.as_deref().unwrap_or(userinfo),
                "scopes": self.grant.scope,
            }],
        });
        // The device is kept for the log and is not answered: the recorded tokens have none.
        if let Some(at) = &self.last_exchanged_at {
            out["last_exchanged_at"] = Value::String(time::format(at));
        }
        out
    }
}

/// How long a client's new refresh tokens live, from its `refresh_token` settings (Auth0's
/// defaults: non-expiring, non-rotating unless the client says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub rotating: bool,
    /// Seconds from issue; `None` never expires.
    pub absolute: Option<i64>,
    /// Seconds from the last exchange; `None` never expires.
    pub idle: Option<i64>,
}

impl Lifetimes {
    pub fn of_client(settings: Option<&Map<String, Value>>) -> Self {
        let text = |key: &str| settings.and_then(|s| s.get(key)).and_then(Value::as_str);
        let flag = |key: &str| settings.and_then(|s| s.get(key)).and_then(Value::as_bool);
        let seconds = |key: &str| settings.and_then(|s| s.get(key)).and_then(Value::as_i64);
        let expiring = text("expiration_type") == Some("expiring");
        Self {
            rotating: text("rotation_type") == Some("rotating"),
            absolute: (expiring && flag("infinite_token_lifetime") != Some(true))
                .then(|| seconds("token_lifetime").unwrap_or(2_592_000)),
            idle: (expiring && flag("infinite_idle_token_lifetime") != Some(true))
                .then(|| seconds("idle_token_lifetime").unwrap_or(1_296_000)),
        }
    }

    pub fn expiry(seconds: Option<i64>, from: &Timestamp) -> Option<Timestamp> {
        seconds.map(|s| *from + chrono::Duration::seconds(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_token_as_recorded() {
        let token = RefreshToken {
            id: "tok".into(),
            user_id: "auth0|1".into(),
            client_id: "c".into(),
            session_id: None,
            rotating: false,
            created_at: time::parse("2024-05-01T13:00:30.038Z").unwrap(),
            idle_expires_at: None,
            expires_at: None,
            last_exchanged_at: None,
            grant: Grant {
                audience: Some("https://api/".into()),
                scope: "openid offline_access".into(),
                ..Grant::default()
            },
        };
        assert_eq!(
            token.to_json("https://t/userinfo").to_string(),
            r#"{"id":"tok","user_id":"auth0|1","created_at":"2024-05-01T13:00:30.038Z","idle_expires_at":null,"expires_at":null,"client_id":"c","session_id":null,"rotating":false,"resource_servers":[{"audience":"https://api/","scopes":"openid offline_access"}]}"#
        );
    }

    #[test]
    fn lifetimes_follow_the_client_settings() {
        assert_eq!(Lifetimes::of_client(None), Lifetimes { rotating: false, absolute: None, idle: None });
        let settings = json!({"rotation_type": "rotating", "expiration_type": "expiring", "token_lifetime": 60,
                              "infinite_idle_token_lifetime": true});
        assert_eq!(
            Lifetimes::of_client(settings.as_object()),
            Lifetimes { rotating: true, absolute: Some(60), idle: None }
        );
    }
}
