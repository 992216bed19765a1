//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::auth::console::ConsoleSessions;
use crate::auth::keys::KeyRing;
use crate::auth::token::{Issuer, VerifiedTokens};
use crate::store::Store;

pub struct App {
    pub store: Arc<Store>,
    pub keys: KeyRing,
    pub issuer: Issuer,
    pub verified_tokens: VerifiedTokens,
    /// The connection `grant_type=password` logs users into (Auth0's tenant "Default Directory").
    pub default_directory: Option<String>,
    /// How long a new user stays out of `q` searches, as on Auth0 (a hosted tenant's opt-in
    /// setting; 0 otherwise).
    pub search_lag_ms: Arc<AtomicU64>,
    /// Who is signed in to the console (shared by the server's tenants).
    pub console_sessions: Arc<ConsoleSessions>,
}

pub type AppState = Arc<App>;
