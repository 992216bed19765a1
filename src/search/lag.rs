//! Auth0's user search reads an index that trails writes (a hosted tenant's opt-in
//! `search_index_lag_ms`): a new user is not found at first, and a changed or deleted one is
//! still found as it was. New users are kept out by their `created_at` (`http::users`); this
//! keeps what the index would still hold of the users changed or deleted within the lag: their
//! version from before the change, which searches match in place of the stored row.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::user::User;

/// Bounds what is kept: beyond it the oldest changes are forgotten (searches then see them
/// early), which only a write storm on a lagging tenant reaches.
const MAX_CHANGES: usize = 10_000;

#[derive(Default)]
pub struct IndexLag {
    lag_ms: Arc<AtomicU64>,
    changed: Mutex<Vec<Changed>>,
}

struct Changed {
    at: Instant,
    /// The user as the index still holds it.
    indexed: User,
}

impl IndexLag {
    /// `lag_ms` is the tenant's setting, shared with the admin API that changes it.
    pub fn new(lag_ms: Arc<AtomicU64>) -> Self {
        Self { lag_ms, changed: Mutex::default() }
    }

    pub fn lag_ms(&self) -> u64 {
        self.lag_ms.load(Ordering::Relaxed)
    }

    /// A user about to be changed or deleted, as it was: the index keeps that version for the
    /// lag (the version before the first of several changes within it).
    pub fn changing(&self, before: &User) {
        let lag = self.lag_ms();
        if lag == 0 {
            return;
        }
        let mut changed = self.lock(lag);
        if changed.iter().any(|c| c.indexed.user_id == before.user_id) {
            return;
        }
        if changed.len() >= MAX_CHANGES {
            changed.remove(0);
        }
        changed.push(Changed { at: Instant::now(), indexed: before.clone() });
    }

    /// The versions the index still holds in place of the stored users (none without lag).
    pub fn stale(&self) -> Vec<User> {
        let lag = self.lag_ms();
        if lag == 0 {
            return Vec::new();
        }
        self.lock(lag).iter().map(|c| c.indexed.clone()).collect()
    }

    /// The list, without the changes the index has caught up with.
    fn lock(&self, lag_ms: u64) -> std::sync::MutexGuard<'_, Vec<Changed>> {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        let lag = Duration::from_millis(lag_ms);
        changed.retain(|c| c.at.elapsed() < lag);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::Connection;
    use crate::domain::create_user::new_user;
    use crate::domain::time;

    fn user(id: &str, name: &str) -> User {
        let body = serde_json::json!({"connection": "email", "email": "a@example.com", "user_id": id, "name": name});
        let connection = Connection::passwordless("con_email".into(), "email");
        new_user(body.as_object().unwrap(), &connection, time::now()).unwrap().user
    }

    #[test]
    fn without_lag_nothing_is_kept() {
        let lag = IndexLag::default();
        lag.changing(&user("auth0|1", "a"));
        assert!(lag.stale().is_empty());
    }

    #[test]
    fn the_version_before_the_first_change_is_kept_for_the_lag() {
        let lag = IndexLag::new(Arc::new(AtomicU64::new(60_000)));
        lag.changing(&user("auth0|1", "first"));
        lag.changing(&user("auth0|1", "second"));
        let stale = lag.stale();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].name.as_deref(), Some("first"));
        lag.lag_ms.store(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(5));
        assert!(lag.stale().is_empty(), "the index caught up");
    }
}
