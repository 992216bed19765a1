//! Password hashing: bcrypt at cost 10, as Auth0 stores them, so that hashes move between
//! Auth0 and Roster in either direction. It runs on tokio's blocking pool: a hash takes tens
//! of milliseconds of CPU and would stall the async workers.

use anyhow::Context;

pub const BCRYPT_COST: u32 = 10;

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .context("password hashing task failed")?
        .context("password hashing failed")
}

/// Constant-time comparison is bcrypt's own.
pub async fn verify(password: String, hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .context("password verification task failed")?
        .context("stored password hash is malformed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let first = hash("Passw0rd!".into()).await.unwrap();
        let second = hash("Passw0rd!".into()).await.unwrap();
        assert!(first.starts_with("$2b$10$"));
        assert_ne!(first, second, "salted");
        assert!(verify("Passw0rd!".into(), first.clone()).await.unwrap());
        assert!(!verify("passw0rd!".into(), first).await.unwrap());
    }
}
