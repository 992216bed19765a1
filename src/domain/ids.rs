//! Identifier formats.
//!
//! Auth0 database users get a MongoDB ObjectId: 4 bytes of creation time (Unix seconds,
//! big-endian), then 8 bytes that make it unique, all as 24 lowercase hex digits. Tenant
//! objects use a prefix and 16 alphanumerics (`con_…`, `cgr_…`).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use rand::RngExt;

use super::time::Timestamp;

/// As MongoDB makes them: 5 random bytes drawn once per process, then a process-wide counter
/// that starts at a random value. Ids from two processes differ by the first; ids from one
/// process by the second, and they follow the order they were made in: a million users
/// created together go into the user id indexes in order, not at random places.
static PROCESS: LazyLock<[u8; 5]> = LazyLock::new(|| rand::rng().random());
static COUNTER: LazyLock<AtomicU32> = LazyLock::new(|| AtomicU32::new(rand::rng().random()));

/// A 24-hex ObjectId whose first 8 digits are `created`'s Unix time.
pub fn object_id(created: &Timestamp) -> String {
    let seconds = created.timestamp().clamp(0, u32::MAX as i64) as u32;
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..9].copy_from_slice(&*PROCESS);
    bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
    hex::encode(bytes)
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` random alphanumerics from the OS CSPRNG; used for tenant ids and client credentials.
pub fn random_alphanumeric(len: usize) -> String {
    random_from(ALPHANUMERIC, len)
}

/// `len` characters drawn at random from `alphabet` (ASCII), from the OS CSPRNG.
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// `con_` + 16 alphanumerics, and the like.
pub fn prefixed(prefix: &str) -> String {
    format!("{prefix}_{}", random_alphanumeric(16))
}

/// The SHA-256 of `text`, in hex: what is stored of random secrets (recovery codes, refresh
/// tokens) that a login compares; they are long and random enough to need no slow hash.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()))
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
    fn object_ids_of_one_second_follow_each_other() {
        let created = time::parse("2023-01-25T19:00:26.187Z").unwrap();
        let ids: Vec<String> = (0..1000).map(|_| object_id(&created)).collect();
        // The 24-bit counter wraps at most once in a thousand.
        let steps_down = ids.windows(2).filter(|pair| pair[1] <= pair[0]).count();
        assert!(steps_down <= 1, "{steps_down} ids out of order");
        assert!(ids.iter().all(|id| id[8..18] == ids[0][8..18]));
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
