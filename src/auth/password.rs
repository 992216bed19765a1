//! Password hashing: bcrypt at cost 10, as Auth0 stores them, so that hashes move between
//! Auth0 and Roster in either direction. It runs on tokio's blocking pool: a hash takes tens
//! of milliseconds of CPU and would stall the async workers.

use anyhow::Context;

pub const BCRYPT_COST: u32 = 10;

/// A hash no password matches (of random bytes): see `waste_a_verification`.
static UNMATCHABLE_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let random: [u8; 32] = rand::random();
    bcrypt::hash(hex::encode(random), BCRYPT_COST).expect("bcrypt hashes any input")
});

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .context("password hashing task failed")?
        .context("password hashing failed")
}

/// Whether `password` matches `hash`: the tenant's own bcrypt hashes, or one imported in
/// another algorithm (`imported_hash`). Comparisons are constant-time.
pub async fn verify(password: String, hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || super::imported_hash::verify(&password, &hash))
        .await
        .context("password verification task failed")?
        .context("stored password hash is malformed")
}

/// Whether a stored hash is to be replaced by the tenant's own after a successful login.
pub fn needs_upgrade(hash: &str) -> bool {
    !super::imported_hash::is_native(hash)
}

/// Takes as long as checking a password, for a login that names no user: the answer's timing
/// must not tell who has an account.
pub async fn waste_a_verification(password: String) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &UNMATCHABLE_HASH))
        .await
        .context("password verification task failed")?
        .context("bcrypt failed")?;
    Ok(())
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
