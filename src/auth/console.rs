//! Console sign-ins: who is signed in to which tenant's console. Kept by the server (one
//! registry for all its tenants, so a tenant's reset does not sign anyone out), named in the
//! browser by a random id that the server signs, so that a forged or altered cookie is
//! refused before any lookup. A restart ends every session: the signing key is the process's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::domain::ids::random_alphanumeric;

type CookieMac = hmac::Hmac<sha2::Sha256>;

/// A session unused this long is over.
pub const IDLE_LIMIT: Duration = Duration::from_secs(8 * 3600);

/// Bounds the registry; when full, sessions idle longest make room.
const MAX_SESSIONS: usize = 10_000;

/// Who the console acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A management client, with its grant's scopes.
    Client(String),
    /// The server's admin key: every scope, on any tenant.
    Admin,
}

/// A signed-in console, as a request finds it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub principal: Principal,
    /// The token every form of this session carries (CSRF).
    pub csrf: String,
}

struct Entry {
    /// The tenant (its issuer) the session was opened on; no other tenant accepts it.
    tenant: String,
    signed: Signed,
    last_seen: Instant,
}

pub struct ConsoleSessions {
    cookie_key: Vec<u8>,
    admin_key: Option<Arc<str>>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for ConsoleSessions {
    fn default() -> Self {
        Self::new(None)
    }
}

impl std::fmt::Debug for ConsoleSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSessions").field("admin_key", &self.admin_key.is_some()).finish_non_exhaustive()
    }
}

impl ConsoleSessions {
    pub fn new(admin_key: Option<&str>) -> Self {
        Self {
            cookie_key: random_alphanumeric(64).into_bytes(),
            admin_key: admin_key.map(Arc::from),
            entries: Mutex::default(),
        }
    }

    pub fn has_admin_key(&self) -> bool {
        self.admin_key.is_some()
    }

    /// Whether `given` is the server's admin key (compared in constant time).
    pub fn is_admin_key(&self, given: &str) -> bool {
        self.admin_key.as_deref().is_some_and(|key| bool::from(given.as_bytes().ct_eq(key.as_bytes())))
    }

    /// Opens a session on `tenant` and returns the cookie's value.
    pub fn open(&self, tenant: &str, principal: Principal) -> String {
        let id = random_alphanumeric(43);
        let entry = Entry {
            tenant: tenant.to_owned(),
            signed: Signed { principal, csrf: random_alphanumeric(43) },
            last_seen: Instant::now(),
        };
        let mut entries = self.lock();
        if entries.len() >= MAX_SESSIONS {
            entries.retain(|_, entry| entry.last_seen.elapsed() < IDLE_LIMIT);
        }
        if entries.len() >= MAX_SESSIONS
            && let Some(oldest) = entries.iter().min_by_key(|(_, entry)| entry.last_seen).map(|(id, _)| id.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(id.clone(), entry);
        format!("{id}.{}", self.tag(&id))
    }

    /// The session a cookie names on `tenant`, if its signature holds and it is not over.
    pub fn find(&self, cookie: &str, tenant: &str) -> Option<Signed> {
        let id = self.verified_id(cookie)?;
        let mut entries = self.lock();
        let entry = entries.get_mut(id)?;
        if entry.last_seen.elapsed() >= IDLE_LIMIT {
            entries.remove(id);
            return None;
        }
        if entry.tenant != tenant {
            return None;
        }
        entry.last_seen = Instant::now();
        Some(entry.signed.clone())
    }

    /// Ends the session a cookie names.
    pub fn close(&self, cookie: &str) {
        if let Some(id) = self.verified_id(cookie) {
            self.lock().remove(id);
        }
    }

    fn verified_id<'a>(&self, cookie: &'a str) -> Option<&'a str> {
        let (id, tag) = cookie.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(id).verify_slice(&tag).ok()?;
        Some(id)
    }

    fn tag(&self, id: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(id).finalize().into_bytes())
    }

    fn mac(&self, id: &str) -> CookieMac {
        let mut mac = <CookieMac as KeyInit>::new_from_slice(&self.cookie_key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a form's CSRF token is the session's (constant time).
pub fn csrf_matches(signed: &Signed, given: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(signed.csrf.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_opens_its_own_tenants_session_only() {
        let sessions = ConsoleSessions::new(None);
        let cookie = sessions.open("https://a/", Principal::Client("c1".into()));
        assert_eq!(sessions.find(&cookie, "https://a/").map(|s| s.principal), Some(Principal::Client("c1".into())));
        assert!(sessions.find(&cookie, "https://b/").is_none());
    }

    #[test]
    fn an_altered_or_foreign_cookie_is_refused() {
        let sessions = ConsoleSessions::new(None);
        let cookie = sessions.open("t", Principal::Admin);
        let (id, tag) = cookie.split_once('.').unwrap();
        assert!(sessions.find(&format!("{id}x.{tag}"), "t").is_none());
        assert!(sessions.find(id, "t").is_none());
        let other = ConsoleSessions::new(None);
        assert!(other.find(&cookie, "t").is_none(), "another process's key does not sign it");
    }

    #[test]
    fn closing_ends_the_session() {
        let sessions = ConsoleSessions::new(None);
        let cookie = sessions.open("t", Principal::Admin);
        sessions.close(&cookie);
        assert!(sessions.find(&cookie, "t").is_none());
    }

    #[test]
    fn csrf_tokens_are_per_session_and_checked() {
        let sessions = ConsoleSessions::new(None);
        let one = sessions.find(&sessions.open("t", Principal::Admin), "t").unwrap();
        let two = sessions.find(&sessions.open("t", Principal::Admin), "t").unwrap();
        assert!(csrf_matches(&one, &one.csrf));
        assert!(!csrf_matches(&one, &two.csrf));
        assert!(!csrf_matches(&one, ""));
    }

    #[test]
    fn the_admin_key_is_accepted_only_when_set() {
        assert!(!ConsoleSessions::new(None).is_admin_key(""));
        let sessions = ConsoleSessions::new(Some("k3y"));
        assert!(sessions.is_admin_key("k3y"));
        assert!(!sessions.is_admin_key("k3"));
    }
}
