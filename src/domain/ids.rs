//! Identifier formats.
//!
//! Auth0 database users get a MongoDB ObjectId: 4 bytes of creation time (Unix seconds,
//! big-endian), then 8 bytes that make it unique, all as 24 lowercase hex digits. Tenant
//! objects use a prefix and 16 alphanumerics (`con_…`, `cgr_…`).

use std::sync::atomic::{AtomicU32, Ordering};

use rand::RngExt;

use super::time::Timestamp;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A 24-hex ObjectId-like id whose first 8 digits are `created`'s Unix time.
pub fn object_id(created: &Timestamp) -> String {
    let seconds = created.timestamp().clamp(0, u32::MAX as i64) as u32;
    let mut rng = rand::rng();
    let random: [u8; 5] = rng.random();
    // A process-wide counter (seeded randomly once) keeps ids from one second distinct even
    // if the random part collided.
    let counter = match COUNTER.fetch_add(1, Ordering::Relaxed) {
        0 => {
            let seed = rng.random::<u32>() | 1;
            COUNTER.store(seed, Ordering::Relaxed);
            seed
        }
        n => n,
    };
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..9].copy_from_slice(&random);
    bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
    hex::encode(bytes)
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` random alphanumerics from the OS CSPRNG; used for tenant ids and client credentials.
pub fn random_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char).collect()
}

/// `con_` + 16 alphanumerics, and the like.
pub fn prefixed(prefix: &str) -> String {
    format!("{prefix}_{}", random_alphanumeric(16))
}

/// Splits `auth0|abc` into (`auth0`, `abc`). Auth0 ids always carry a provider prefix.
pub fn split_user_id(user_id: &str) -> Option<(&str, &str)> {
    let (provider, rest) = user_id.split_once('|')?;
    (!provider.is_empty() && !rest.is_empty()).then_some((provider, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    #[test]
    fn object_id_starts_with_creation_time() {
        let created = time::parse("2023-01-25T19:00:26.187Z").unwrap();
        let id = object_id(&created);
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        // 0x63d17c4a == 1674673226 == 2023-01-25T19:00:26Z, as in the recordings.
        assert_eq!(&id[..8], "63d17c4a");
        assert_ne!(object_id(&created), object_id(&created));
    }

    #[test]
    fn splits_provider_and_id() {
        assert_eq!(split_user_id("auth0|abc"), Some(("auth0", "abc")));
        assert_eq!(split_user_id("sms|a|b"), Some(("sms", "a|b")));
        assert_eq!(split_user_id("abc"), None);
        assert_eq!(split_user_id("|abc"), None);
        assert_eq!(split_user_id("auth0|"), None);
    }

    #[test]
    fn prefixed_ids_have_sixteen_alphanumerics() {
        let id = prefixed("con");
        assert!(id.starts_with("con_"));
        assert_eq!(id.len(), 20);
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
