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

    /// The tenant's default database connection as Auth0 creates it for a new tenant: the
    /// options of the `Username-Password-Authentication` connection recorded on a live tenant
    /// (go-auth0's `TestUserManager_Link.yaml`).
    pub fn default_database(id: String, requires_username: bool) -> Self {
        let options = json!({
            "mfa": { "active": true, "return_enroll_settings": true },
            "validation": { "username": { "max": USERNAME_MAX, "min": USERNAME_MIN } },
            "import_mode": false,
            "configuration": {},
            "customScripts": {},
            "passwordPolicy": "good",
            "password_history": { "size": 5, "enable": false },
            "strategy_version": 2,
            "requires_username": requires_username,
            "password_dictionary": { "enable": false, "dictionary": [] },
            "brute_force_protection": true,
            "password_no_personal_info": { "enable": false },
            "password_complexity_options": { "min_length": 8 },
            "enabledDatabaseCustomization": false,
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

/// A connection as the Management API shows it: the [`Connection`] the user rules read, and
/// Auth0's other top-level attributes (`display_name`, `realms`, `is_domain_connection`,
/// `metadata`, ...), kept as given.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    pub connection: Connection,
    pub attributes: Map<String, Value>,
}

impl ConnectionRecord {
    /// Auth0's JSON, in the order its responses use: `id`, `options`, `strategy`, `name`, the
    /// other attributes, `enabled_clients`, `realms`. A connection without stored attributes
    /// (the ones the tenant starts with) shows Auth0's defaults: not a domain connection, and
    /// its name as its only realm.
    pub fn to_json(&self) -> Map<String, Value> {
        let connection = &self.connection;
        let mut json = Map::new();
        json.insert("id".into(), Value::from(connection.id.as_str()));
        json.insert("options".into(), Value::Object(connection.options.clone()));
        json.insert("strategy".into(), Value::from(connection.strategy.as_str()));
        json.insert("name".into(), Value::from(connection.name.as_str()));
        if let Some(display_name) = self.attributes.get("display_name") {
            json.insert("display_name".into(), display_name.clone());
        }
        let is_domain_connection = self.attributes.get("is_domain_connection").cloned().unwrap_or(Value::Bool(false));
        json.insert("is_domain_connection".into(), is_domain_connection);
        for (key, value) in &self.attributes {
            if !matches!(key.as_str(), "display_name" | "is_domain_connection" | "realms") {
                json.insert(key.clone(), value.clone());
            }
        }
        json.insert("enabled_clients".into(), Value::from(connection.enabled_clients.clone()));
        let realms = self.attributes.get("realms").cloned().unwrap_or_else(|| json!([connection.name]));
        json.insert("realms".into(), realms);
        json
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
