//! What every request handler shares.

use std::sync::Arc;

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
}

pub type AppState = Arc<App>;
