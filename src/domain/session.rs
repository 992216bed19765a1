//! A browser login's session, as Auth0 keeps and answers it: when it was made, last used and
//! authenticated, when it expires (idle and absolute), the device it lives on, the applications
//! it signed into, and how the user proved who they are.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids;
use super::refresh_token::Device;
use super::time::{self, Timestamp};

/// Auth0's tenant defaults (`GET /api/v2/tenants/settings`): `session_lifetime` 168 hours and
/// `idle_session_lifetime` 72 hours.
pub const DEFAULT_LIFETIME_HOURS: i64 = 168;
pub const DEFAULT_IDLE_LIFETIME_HOURS: i64 = 72;

/// How long sessions live: from their login (absolute) and from their last use (idle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    pub absolute: chrono::Duration,
    pub idle: chrono::Duration,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        Self {
            absolute: chrono::Duration::hours(DEFAULT_LIFETIME_HOURS),
            idle: chrono::Duration::hours(DEFAULT_IDLE_LIFETIME_HOURS),
        }
    }
}

/// One way the user authenticated in this session: `pwd`, or `mfa` with the factor's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticationMethod {
    pub name: String,
    pub timestamp: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// What a session stores besides its times: its `document`, answered as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionDocument {
    pub device: Device,
    pub clients: Vec<ClientRef>,
    pub authentication: Authentication,
    pub cookie: CookieMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRef {
    pub client_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    pub methods: Vec<AuthenticationMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieMode {
    pub mode: String,
}

impl Default for CookieMode {
    fn default() -> Self {
        Self { mode: "persistent".into() }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub authenticated_at: Timestamp,
    pub last_interacted_at: Timestamp,
    pub idle_expires_at: Timestamp,
    pub expires_at: Timestamp,
    pub document: SessionDocument,
}

/// Where a request came from: what a session records of its device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub ip: String,
    pub user_agent: Option<String>,
}

/// The factor a second step was answered with, as a session's `mfa` method names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Otp,
    RecoveryCode,
    /// A browser remembered from an earlier MFA (the `auth0-mf` cookie).
    RememberedBrowser,
}

impl SecondFactor {
    fn kind(self) -> &'static str {
        match self {
            SecondFactor::Otp => "otp",
            SecondFactor::RecoveryCode => "recovery-code",
            SecondFactor::RememberedBrowser => "remember-browser",
        }
    }
}

impl Session {
    /// A session for a login that just completed with a password (and `mfa`, if any), from
    /// `origin`, into `client_id`. Its id is what ID tokens carry as `sid`.
    pub fn new(
        user_id: &str,
        client_id: &str,
        origin: &Origin,
        mfa: Option<SecondFactor>,
        lifetimes: SessionLifetimes,
        now: Timestamp,
    ) -> Self {
        let stamp = time::format(&now);
        let mut methods = vec![AuthenticationMethod { name: "pwd".into(), timestamp: stamp.clone(), kind: None }];
        if let Some(factor) = mfa {
            methods.push(AuthenticationMethod {
                name: "mfa".into(),
                timestamp: stamp,
                kind: Some(factor.kind().into()),
            });
        }
        let expires_at = now + lifetimes.absolute;
        Self {
            id: ids::random_alphanumeric(32),
            user_id: user_id.to_owned(),
            created_at: now,
            updated_at: now,
            authenticated_at: now,
            last_interacted_at: now,
            idle_expires_at: (now + lifetimes.idle).min(expires_at),
            expires_at,
            document: SessionDocument {
                device: Device {
                    initial_user_agent: origin.user_agent.clone(),
                    initial_ip: Some(origin.ip.clone()),
                    last_user_agent: origin.user_agent.clone(),
                    last_ip: Some(origin.ip.clone()),
                },
                clients: vec![ClientRef { client_id: client_id.to_owned() }],
                authentication: Authentication { methods },
                cookie: CookieMode::default(),
            },
        }
    }

    /// Whether the session still signs its browser in at `now`: neither idle for too long nor
    /// past its absolute lifetime.
    pub fn is_live(&self, now: &Timestamp) -> bool {
        *now < self.idle_expires_at && *now < self.expires_at
    }

    /// The session used again at `now` by `client_id` from `origin` (single sign-on): the idle
    /// timer restarts (never past the absolute expiry), the client joins its list and the
    /// device records the last address and user agent.
    pub fn touch(&mut self, client_id: &str, origin: &Origin, lifetimes: SessionLifetimes, now: Timestamp) {
        self.updated_at = now;
        self.last_interacted_at = now;
        self.idle_expires_at = (now + lifetimes.idle).min(self.expires_at);
        if !self.document.clients.iter().any(|c| c.client_id == client_id) {
            self.document.clients.push(ClientRef { client_id: client_id.to_owned() });
        }
        self.document.device.last_ip = Some(origin.ip.clone());
        self.document.device.last_user_agent = origin.user_agent.clone();
    }

    /// Whether the user answered a second factor in this session (the ID token's `amr`).
    pub fn used_mfa(&self) -> bool {
        self.document.authentication.methods.iter().any(|m| m.name == "mfa")
    }

    /// The session as the Management API answers it.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "id": self.id,
            "user_id": self.user_id,
            "created_at": time::format(&self.created_at),
            "updated_at": time::format(&self.updated_at),
            "authenticated_at": time::format(&self.authenticated_at),
            "idle_expires_at": time::format(&self.idle_expires_at),
            "expires_at": time::format(&self.expires_at),
            "last_interacted_at": time::format(&self.last_interacted_at),
        });
        if let (Some(out), Value::Object(document)) = (out.as_object_mut(), json!(self.document)) {
            out.extend(document);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(ip: &str) -> Origin {
        Origin { ip: ip.into(), user_agent: Some("Mozilla/5.0".into()) }
    }

    #[test]
    fn a_new_session_expires_by_the_tenant_lifetimes() {
        let now = time::parse("2024-06-26T09:10:26.643Z").unwrap();
        let session = Session::new("auth0|1", "app", &origin("203.0.113.1"), None, SessionLifetimes::default(), now);
        assert_eq!(session.id.len(), 32);
        let json = session.to_json();
        assert_eq!(json["idle_expires_at"], "2024-06-29T09:10:26.643Z");
        assert_eq!(json["expires_at"], "2024-07-03T09:10:26.643Z");
        assert_eq!(json["device"]["initial_ip"], "203.0.113.1");
        assert!(json["device"].get("initial_asn").is_none());
        assert_eq!(json["clients"], json!([{"client_id": "app"}]));
        assert_eq!(
            json["authentication"]["methods"],
            json!([{"name": "pwd", "timestamp": "2024-06-26T09:10:26.643Z"}])
        );
        assert!(session.is_live(&now));
        assert!(!session.is_live(&(now + chrono::Duration::hours(72))));
    }

    #[test]
    fn single_sign_on_restarts_the_idle_timer_but_not_the_absolute_one() {
        let now = time::parse("2024-06-26T09:10:26.643Z").unwrap();
        let mut session =
            Session::new("auth0|1", "a", &origin("1.1.1.1"), Some(SecondFactor::Otp), SessionLifetimes::default(), now);
        assert!(session.used_mfa());
        let later = now + chrono::Duration::hours(150);
        session.touch("b", &origin("2.2.2.2"), SessionLifetimes::default(), later);
        session.touch("b", &origin("2.2.2.2"), SessionLifetimes::default(), later);
        assert_eq!(session.document.clients.len(), 2);
        assert_eq!(session.idle_expires_at, session.expires_at);
        assert_eq!(session.document.device.initial_ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(session.document.device.last_ip.as_deref(), Some("2.2.2.2"));
        assert!(!session.is_live(&(now + chrono::Duration::hours(168))));
    }
}
