//! `app_metadata` / `user_metadata` rules.

use serde_json::Value;

use super::user::Metadata;
use crate::error::ApiError;

/// Keys Auth0 reserves in `app_metadata`.
const RESERVED_APP_METADATA_KEYS: &[&str] = &[
    "__tenant",
    "_id",
    "blocked",
    "clientID",
    "created_at",
    "email_verified",
    "email",
    "globalClientID",
    "global_client_id",
    "identities",
    "lastIP",
    "lastLogin",
    "loginsCount",
    "metadata",
    "multifactor_last_modified",
    "multifactor",
    "updated_at",
    "user_id",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    App,
    User,
}

impl Kind {
    pub fn property(self) -> &'static str {
        match self {
            Kind::App => "app_metadata",
            Kind::User => "user_metadata",
        }
    }
}

/// Rejects reserved `app_metadata` keys and key names with `.` or `$` at any depth (they
/// would be ambiguous in search paths).
pub fn validate(kind: Kind, metadata: &Metadata) -> Result<(), ApiError> {
    if kind == Kind::App
        && let Some(reserved) = metadata.keys().find(|k| RESERVED_APP_METADATA_KEYS.contains(&k.as_str()))
    {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'The property name {reserved} is reserved' on property app_metadata."
        )));
    }
    if let Some(bad) = find_bad_key(metadata) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'Property names must not contain \".\" or \"$\": {bad}' on property {}.",
            kind.property()
        )));
    }
    Ok(())
}

fn find_bad_key(object: &Metadata) -> Option<String> {
    for (key, value) in object {
        if key.contains('.') || key.contains('$') {
            return Some(key.clone());
        }
        let nested = match value {
            Value::Object(inner) => find_bad_key(inner),
            Value::Array(items) => items.iter().filter_map(Value::as_object).find_map(find_bad_key),
            _ => None,
        };
        if nested.is_some() {
            return nested;
        }
    }
    None
}

/// PATCH semantics: `{}` clears everything; otherwise a first-level merge where `null`
/// deletes a key and any other value replaces it whole.
pub fn merge(current: Option<Metadata>, patch: &Metadata) -> Metadata {
    if patch.is_empty() {
        return Metadata::new();
    }
    let mut merged = current.unwrap_or_default();
    for (key, value) in patch {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

/// The scalar leaves of a metadata object as search sees them: a dotted path (array levels
/// skipped) and the value as text (`"gold"` → `gold`, `13` → `13`, `true` → `true`). Nulls,
/// empty arrays and empty objects yield nothing, so they cannot be found, as in Auth0.
pub fn leaves(metadata: &Metadata) -> Vec<(String, String)> {
    fn walk(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Null => {}
            Value::Object(object) => {
                for (key, inner) in object {
                    let nested = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    walk(&nested, inner, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(path, item, out)),
            Value::String(text) => out.push((path.to_owned(), text.clone())),
            Value::Bool(_) | Value::Number(_) => out.push((path.to_owned(), value.to_string())),
        }
    }
    let mut out = Vec::new();
    for (key, value) in metadata {
        walk(key, value, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Metadata {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn merge_follows_recordings() {
        // TestAccUser.yaml: {"baz":"qux","foo":"bar"} + {"baz":null,"foo":"bars"} = {"foo":"bars"}.
        let merged =
            merge(Some(object(json!({"baz": "qux", "foo": "bar"}))), &object(json!({"baz": null, "foo": "bars"})));
        assert_eq!(Value::Object(merged), json!({"foo": "bars"}));
        assert!(merge(Some(object(json!({"a": 1}))), &Metadata::new()).is_empty());
        // Only the first level merges: a nested object replaces the old one whole.
        let merged = merge(Some(object(json!({"addr": {"home": 1}, "k": 1}))), &object(json!({"addr": {"work": 2}})));
        assert_eq!(Value::Object(merged), json!({"addr": {"work": 2}, "k": 1}));
    }

    #[test]
    fn leaves_flatten_objects_and_arrays() {
        let metadata = object(json!({
            "plan": "gold", "count": 13, "vip": true, "none": null, "empty": [], "nothing": {},
            "addresses": [{"city": "Paris"}, {"city": "Seattle", "zip": 98101}],
            "tags": ["a", "b", "a"]
        }));
        let leaves = leaves(&metadata);
        let got: Vec<(&str, &str)> = leaves.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("addresses.city", "Paris"),
                ("addresses.city", "Seattle"),
                ("addresses.zip", "98101"),
                ("count", "13"),
                ("plan", "gold"),
                ("tags", "a"),
                ("tags", "b"),
                ("vip", "true"),
            ]
        );
    }

    #[test]
    fn rejects_reserved_and_dotted_keys() {
        assert!(validate(Kind::App, &object(json!({"email": "x"}))).is_err());
        assert!(validate(Kind::User, &object(json!({"email": "x"}))).is_ok());
        assert!(validate(Kind::User, &object(json!({"a": {"b.c": 1}}))).is_err());
        assert!(validate(Kind::User, &object(json!({"a": [{"$x": 1}]}))).is_err());
    }
}
