//! Connections: where a user's credentials live, and the rules they impose on users.

use serde_json::{Map, Value, json};

use super::password_policy::PasswordPolicy;

pub const DEFAULT_DATABASE: &str = "Username-Password-Authentication";

/// Auth0's default username length limits when a connection requires one.
const USERNAME_MIN: usize = 1;
const USERNAME_MAX: usize = 15;
/// Auth0's hard ceiling on a configured username maximum.
pub const USERNAME_ABSOLUTE_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub strategy: String,
    /// Auth0's `options` object, kept whole so later endpoints return what was set.
    pub options: Map<String, Value>,
    pub enabled_clients: Vec<String>,
}

/// What kind of users a connection holds, which decides how users are created in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// `strategy: auth0`: email (and maybe username) with a password.
    Database,
    /// `strategy: email`: passwordless by email.
    Email,
    /// `strategy: sms`: passwordless by phone number.
    Sms,
    /// Social and enterprise connections: users come from the identity provider.
    External,
}

impl Connection {
    pub fn kind(&self) -> ConnectionKind {
        match self.strategy.as_str() {
            "auth0" => ConnectionKind::Database,
            "email" => ConnectionKind::Email,
            "sms" => ConnectionKind::Sms,
            _ => ConnectionKind::External,
        }
    }

    /// The identity provider name used in `user_id` prefixes and identities.
    pub fn provider(&self) -> &str {
        &self.strategy
    }

    pub fn is_social(&self) -> bool {
        false
    }

    pub fn requires_username(&self) -> bool {
        self.kind() == ConnectionKind::Database
            && self.options.get("requires_username").and_then(Value::as_bool).unwrap_or(false)
    }

    /// (min, max) username length from `options.validation.username`.
    pub fn username_limits(&self) -> (usize, usize) {
        let limits = self.options.get("validation").and_then(|v| v.get("username"));
        let read = |key: &str, default: usize| {
            limits
                .and_then(|l| l.get(key))
                .and_then(Value::as_u64)
                .map_or(default, |n| (n as usize).min(USERNAME_ABSOLUTE_MAX))
        };
        (read("min", USERNAME_MIN), read("max", USERNAME_MAX))
    }

    pub fn password_policy(&self) -> PasswordPolicy {
        let level = self.options.get("passwordPolicy").and_then(Value::as_str).unwrap_or("good");
        let min_length = self
            .options
            .get("password_complexity_options")
            .and_then(|o| o.get("min_length"))
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        PasswordPolicy::from_level(level, min_length)
    }

    /// The tenant's default database connection as Auth0 creates it for a new tenant.
    pub fn default_database(id: String, requires_username: bool) -> Self {
        let options = json!({
            "passwordPolicy": "good",
            "password_complexity_options": { "min_length": 8 },
            "requires_username": requires_username,
            "validation": { "username": { "min": USERNAME_MIN, "max": USERNAME_MAX } },
            "brute_force_protection": true,
            "strategy_version": 2,
        });
        Self::new(id, DEFAULT_DATABASE, "auth0", options)
    }

    pub fn passwordless(id: String, strategy: &str) -> Self {
        let options = json!({ "name": strategy, "disable_signup": false, "brute_force_protection": true });
        Self::new(id, strategy, strategy, options)
    }

    fn new(id: String, name: &str, strategy: &str, options: Value) -> Self {
        let Value::Object(options) = options else { unreachable!("options literal is an object") };
        Self { id, name: name.to_owned(), strategy: strategy.to_owned(), options, enabled_clients: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_strategy() {
        assert_eq!(Connection::default_database("con_1".into(), false).kind(), ConnectionKind::Database);
        assert_eq!(Connection::passwordless("con_2".into(), "sms").kind(), ConnectionKind::Sms);
        assert_eq!(Connection::passwordless("con_3".into(), "email").kind(), ConnectionKind::Email);
    }

    #[test]
    fn username_limits_default_and_cap() {
        let mut db = Connection::default_database("con_1".into(), true);
        assert!(db.requires_username());
        assert_eq!(db.username_limits(), (1, 15));
        db.options.insert("validation".into(), json!({"username": {"min": 3, "max": 500}}));
        assert_eq!(db.username_limits(), (3, 128));
    }
}
