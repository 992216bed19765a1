//! Tokens, keys, scopes and password hashing.

pub mod browser;
pub mod client_credentials;
pub mod console;
pub mod imported_hash;
pub mod keys;
pub mod login;
pub mod oauth;
pub mod password;
mod scope_table;
pub mod scopes;
pub mod token;
pub mod user_tokens;

/// Every operation of the scope table: (method, path, operationId, scopes).
pub fn scope_table_operations() -> &'static [(&'static str, &'static str, &'static str, &'static [&'static str])] {
    scope_table::OPERATIONS
}
