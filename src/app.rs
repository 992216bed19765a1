//! What every request handler shares.

use std::sync::Arc;

use crate::auth::console::ConsoleSessions;
use crate::auth::keys::KeyRing;
use crate::auth::token::{Issuer, VerifiedTokens};
use crate::search::lag::IndexLag;
use crate::store::Store;

pub struct App {
    pub store: Arc<Store>,
    pub keys: KeyRing,
    pub issuer: Issuer,
    pub verified_tokens: VerifiedTokens,
    /// The connection `grant_type=password` logs users into (Auth0's tenant "Default Directory").
    pub default_directory: Option<String>,
    /// How far `q` searches trail writes, as Auth0's index does (a hosted tenant's opt-in
    /// setting; no lag otherwise).
    pub search_index: IndexLag,
    /// Who is signed in to the console (shared by the server's tenants).
    pub console_sessions: Arc<ConsoleSessions>,
}

pub type AppState = Arc<App>;
