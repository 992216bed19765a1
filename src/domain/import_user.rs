//! A record of a users import file (Auth0's format) made a user to store, by the same checks
//! as `POST /users`; or the errors Auth0's `GET /jobs/{id}/errors` reports for it.

use serde_json::{Map, Value, json};

use super::api_operation;
use super::authentication_method::{self as methods, NewMethod};
use super::connection::{Connection, ConnectionKind};
use super::create_user::new_user;
use super::schema::{is_e164, is_email, type_name};
use super::time::Timestamp;
use super::user::User;
use super::user_schemas::CREATE_USER;
use crate::auth::imported_hash;

/// The properties of Auth0's import schema (`additionalProperties: false`).
const PROPERTIES: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "password_hash",
    "custom_password_hash",
    "app_metadata",
    "user_metadata",
    "mfa_factors",
    "phone_number",
    "phone_verified",
];

/// What an upsert changes of a user that exists (Auth0's "Upsert during import?" column).
pub const UPSERTED: &[&str] =
    &["app_metadata", "user_metadata", "email_verified", "family_name", "given_name", "name", "nickname", "picture"];

/// One of a record's errors, as `/jobs/{id}/errors` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub code: &'static str,
    pub message: String,
    pub path: Option<String>,
}

impl RecordError {
    pub fn new(code: &'static str, message: impl Into<String>, path: Option<&str>) -> Self {
        Self { code, message: message.into(), path: path.map(str::to_owned) }
    }

    pub fn duplicate() -> Self {
        Self::new("DUPLICATED_USER", "The user already exist and upsert parameter is false", None)
    }

    pub fn to_json(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(path) = &self.path {
            error["path"] = Value::String(path.clone());
        }
        error
    }
}

/// `{user, errors}` for a failed record, its secrets redacted: "Sensitive fields such as
/// `hash.value` will be redacted in the response" (Auth0's bulk import page), and no answer of
/// Roster's shows a password hash, an HMAC key or an MFA secret.
pub fn failure(record: &Value, errors: &[RecordError]) -> Value {
    let mut user = record.clone();
    redact_secrets(&mut user);
    json!({"user": user, "errors": errors.iter().map(RecordError::to_json).collect::<Vec<_>>()})
}

fn redact_secrets(record: &mut Value) {
    let Value::Object(fields) = record else { return };
    let redact = |value: Option<&mut Value>| {
        if let Some(value) = value {
            *value = json!(api_operation::MASK);
        }
    };
    if let Some(hash) = fields.get_mut("custom_password_hash").and_then(|custom| custom.get_mut("hash")) {
        redact(hash.get_mut("value"));
        redact(hash.get_mut("key").and_then(|key| key.get_mut("value")));
    }
    for factor in fields.get_mut("mfa_factors").and_then(Value::as_array_mut).into_iter().flatten() {
        redact(factor.get_mut("totp").and_then(|totp| totp.get_mut("secret")));
    }
    redact(fields.get_mut("password_hash"));
    redact(fields.get_mut("password"));
}

/// A record made a user, with its identity's password hash as stored.
#[derive(Debug)]
pub struct Imported {
    pub user: User,
    pub password_hash: Option<String>,
    /// Whether the record named its `user_id`.
    pub named: bool,
    /// Its `mfa_factors` as confirmed authentication methods (the user's `multifactor` says so).
    pub methods: Vec<NewMethod>,
}

/// Checks `record` for `connection` and builds its user.
pub fn import_user(
    record: &Map<String, Value>,
    connection: &Connection,
    now: Timestamp,
) -> Result<Imported, Vec<RecordError>> {
    let mut errors: Vec<RecordError> = record
        .keys()
        .filter(|key| !PROPERTIES.contains(&key.as_str()))
        .map(|key| {
            RecordError::new(
                "OBJECT_ADDITIONAL_PROPERTIES",
                format!("Additional properties not allowed: {key}"),
                Some(key),
            )
        })
        .collect();
    let factors = match record.get("mfa_factors").map(|factors| mfa_factors(factors, now)).transpose() {
        Ok(factors) => factors.unwrap_or_default(),
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    };
    let database = connection.kind() == ConnectionKind::Database;
    let password_hash = match (record.get("password_hash"), record.get("custom_password_hash")) {
        (Some(_), Some(_)) => {
            errors.push(RecordError::new(
                "CONFLICTING_PROPERTIES",
                "password_hash and custom_password_hash are mutually exclusive",
                Some("password_hash"),
            ));
            None
        }
        (Some(_), None) | (None, Some(_)) if !database => {
            errors.push(RecordError::new(
                "INVALID_FORMAT",
                "only users of database connections have password hashes",
                Some("password_hash"),
            ));
            None
        }
        (Some(Value::String(hash)), None) if imported_hash::is_native(hash) => Some(hash.clone()),
        (Some(_), None) => {
            errors.push(RecordError::new(
                "INVALID_FORMAT",
                "password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
                Some("password_hash"),
            ));
            None
        }
        (None, Some(custom)) => match imported_hash::stored_form(custom) {
            Ok(stored) => Some(stored),
            Err(message) => {
                errors.push(RecordError::new("INVALID_FORMAT", message, Some("custom_password_hash")));
                None
            }
        },
        (None, None) => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut body: Map<String, Value> = record
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "password_hash" | "custom_password_hash" | "mfa_factors"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    // An exported user's id carries its provider: the id it was imported with is after it.
    if let Some(Value::String(id)) = body.get_mut("user_id")
        && let Some(bare) = id.strip_prefix(&format!("{}|", connection.provider()))
    {
        *id = bare.to_owned();
    }
    body.insert("connection".into(), Value::String(connection.name.clone()));
    if database {
        // Imported users may have no password (they reset it): the payload checks see one any
        // policy accepts; it is never stored.
        body.insert("password".into(), Value::String("Placeholder-for-an-import-7Qz!".into()));
    }
    // Auth0 imports a user without a username into a connection that requires one (recorded:
    // go-auth0's TestJobManager_ImportUsers).
    let relaxed;
    let connection = if connection.requires_username() && !body.contains_key("username") {
        let mut without = connection.clone();
        without.options.insert("requires_username".into(), Value::Bool(false));
        relaxed = without;
        &relaxed
    } else {
        connection
    };
    let new = CREATE_USER.validate(&Value::Object(body.clone())).and_then(|valid| new_user(valid, connection, now));
    match new {
        Ok(mut new) => {
            if !factors.is_empty() {
                let stored: Vec<_> = factors.iter().map(|factor| factor.method.clone()).collect();
                new.user.multifactor = methods::multifactor(None, &stored);
                new.user.multifactor_last_modified = Some(now);
            }
            Ok(Imported {
                user: new.user,
                password_hash,
                named: body.get("user_id").and_then(Value::as_str).is_some_and(|id| !id.is_empty()),
                methods: factors,
            })
        }
        Err(error) => {
            let message = error.message.to_string();
            // The property the message names (the longest match: `email_verified`, not `email`).
            let named =
                |p: &str| message.contains(&format!("property {p}")) || message.contains(&format!("property: {p}"));
            let path = PROPERTIES.iter().copied().filter(|p| named(p)).max_by_key(|p| p.len());
            Err(vec![RecordError::new(schema_code(&message), message, path)])
        }
    }
}

/// The code of Auth0's list (its bulk import page; z-schema's codes) for a payload check's
/// message, which has z-schema's words; `INVALID_FORMAT` for the rules beyond the schema.
fn schema_code(message: &str) -> &'static str {
    const CODES: &[(&str, &str)] = &[
        ("Expected type", "INVALID_TYPE"),
        ("didn't pass validation for format", "FORMAT"),
        ("does not match pattern", "PATTERN"),
        ("String is too long", "MAX_LENGTH"),
        ("String is too short", "MIN_LENGTH"),
        ("Array is too long", "ARRAY_LENGTH_LONG"),
        ("Array is too short", "ARRAY_LENGTH_SHORT"),
        ("Missing required property", "OBJECT_REQUIRED"),
        ("No enum match", "ENUM_MISMATCH"),
        ("is less than minimum", "MINIMUM"),
        ("is greater than maximum", "MAXIMUM"),
        ("Additional properties not allowed", "OBJECT_ADDITIONAL_PROPERTIES"),
    ];
    CODES.iter().find(|(words, _)| message.contains(words)).map_or("INVALID_FORMAT", |(_, code)| code)
}

/// `mfa_factors` (Auth0's schema: 1 to 10 items, each one of `{totp: {secret}}` with an unpadded
/// base32 secret, `{phone: {value}}` in E.164, `{email: {value}}`) as confirmed authentication
/// methods, by the rules `POST /users/{id}/authentication-methods` applies.
pub fn mfa_factors(factors: &Value, now: Timestamp) -> Result<Vec<NewMethod>, RecordError> {
    // Auth0 lists one code for these, whichever check failed.
    let refused = |message: String| {
        Err(RecordError::new("MFA_FACTORS_FAILED", format!("MFA import error: {message}"), Some("mfa_factors")))
    };
    let Value::Array(items) = factors else {
        return refused(format!("Expected type array but found type {}", type_name(factors)));
    };
    if items.is_empty() {
        return refused("Array is too short (0), minimum 1".into());
    }
    if items.len() > 10 {
        return refused(format!("Array is too long ({}), maximum 10", items.len()));
    }
    let mut made: Vec<NewMethod> = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(item) = item else {
            return refused(format!("Expected type object but found type {}", type_name(item)));
        };
        if item.len() != 1 {
            let message = match item.len() {
                0 => "Object must have one of the properties totp, phone, email".to_owned(),
                n => format!("Too many properties defined ({n}), maximum 1"),
            };
            return refused(message);
        }
        let (kind, factor) = item.iter().next().expect("one property");
        let (key, attribute, valid): (&str, &str, fn(&str) -> bool) = match kind.as_str() {
            "totp" => ("secret", "totp_secret", |s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            }),
            "phone" => ("value", "phone_number", is_e164),
            "email" => ("value", "email", is_email),
            other => {
                return refused(format!("Additional properties not allowed: {other}"));
            }
        };
        let Some(factor) = factor.as_object() else {
            return refused(format!("Expected type object but found type {}", type_name(factor)));
        };
        if let Some(other) = factor.keys().find(|k| k.as_str() != key) {
            return refused(format!("Additional properties not allowed: {other}"));
        }
        let value = match factor.get(key) {
            None => return refused(format!("Missing required property: {key}")),
            Some(Value::String(value)) => value,
            Some(other) => {
                return refused(format!("Expected type string but found type {}", type_name(other)));
            }
        };
        if !valid(value) {
            let message = match kind.as_str() {
                "totp" => format!("String does not match pattern ^[A-Z2-7]+$: {value}"),
                "phone" => format!("String does not match pattern ^\\+[0-9]{{1,15}}$: {value}"),
                _ => format!("Object didn't pass validation for format email: {value}"),
            };
            return refused(message);
        }
        let mut body = Map::new();
        body.insert("type".into(), Value::String(kind.clone()));
        body.insert(attribute.into(), Value::String(value.clone()));
        let new = match methods::method_to_create(&body, now) {
            Ok(new) => new,
            Err(error) => return refused(error.message.to_string()),
        };
        let stored: Vec<_> = made.iter().map(|m| m.method.clone()).collect();
        if methods::admit(&stored, &new.method).is_err() {
            return refused(format!("the {kind} factor is given twice"));
        }
        made.push(new);
    }
    Ok(made)
}

/// Applies an upsert record's `UPSERTED` properties to the stored user.
pub fn upsert(user: &mut User, record: &Map<String, Value>, now: Timestamp) {
    let text = |key: &str| record.get(key).and_then(Value::as_str).map(str::to_owned);
    for key in UPSERTED {
        if !record.contains_key(*key) {
            continue;
        }
        match *key {
            "app_metadata" => user.app_metadata = record[*key].as_object().cloned().filter(|m| !m.is_empty()),
            "user_metadata" => user.user_metadata = record[*key].as_object().cloned(),
            "email_verified" => user.email_verified = record[*key].as_bool(),
            "family_name" => user.family_name = text(key),
            "given_name" => user.given_name = text(key),
            "name" => user.name = text(key),
            "nickname" => user.nickname = text(key),
            "picture" => user.picture = text(key),
            _ => {}
        }
    }
    user.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    fn import(record: Value) -> Result<Imported, Vec<RecordError>> {
        let connection = Connection::default_database("con_1".into(), false);
        import_user(record.as_object().unwrap(), &connection, time::now())
    }

    #[test]
    fn a_record_becomes_a_user_as_post_users_makes_it() {
        let imported = import(json!({"email": "A@Example.com", "email_verified": true})).unwrap();
        assert_eq!(imported.user.email.as_deref(), Some("a@example.com"));
        assert_eq!(imported.user.nickname.as_deref(), Some("a"));
        assert_eq!(imported.password_hash, None);
        let imported = import(json!({"email": "b@example.com", "user_id": "auth0|abc"})).unwrap();
        assert_eq!(imported.user.user_id, "auth0|abc");
        assert!(imported.named);
    }

    #[test]
    fn a_failed_record_is_reported_without_its_secrets() {
        let record = json!({"email": "x", "password_hash": "$2b$10$abc",
            "custom_password_hash": {"algorithm": "hmac", "hash": {"value": "h", "digest": "sha1", "key": {"value": "k"}}},
            "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}, {"phone": {"value": "+15555550123"}}]});
        let reported = failure(&record, &[]);
        assert_eq!(
            reported["user"],
            json!({"email": "x", "password_hash": "*****",
                "custom_password_hash": {"algorithm": "hmac", "hash": {"value": "*****", "digest": "sha1", "key": {"value": "*****"}}},
                "mfa_factors": [{"totp": {"secret": "*****"}}, {"phone": {"value": "+15555550123"}}]})
        );
        assert_eq!(failure(&json!("not an object"), &[])["user"], "not an object");
    }

    #[test]
    fn bad_records_say_why() {
        let errors = import(json!({"email": "not an email"})).unwrap_err();
        assert_eq!(errors[0].code, "FORMAT");
        assert_eq!(errors[0].path.as_deref(), Some("email"));
        let errors = import(json!({"email": "a@b.co", "email_verified": "yes"})).unwrap_err();
        assert_eq!((errors[0].code, errors[0].path.as_deref()), ("INVALID_TYPE", Some("email_verified")));
        let errors = import(json!({"email": "a@b.co", "given_name": "g".repeat(151)})).unwrap_err();
        assert_eq!((errors[0].code, errors[0].path.as_deref()), ("MAX_LENGTH", Some("given_name")));
        let errors = import(json!({"email": "a@b.co", "password": "x"})).unwrap_err();
        assert_eq!(errors[0].code, "OBJECT_ADDITIONAL_PROPERTIES");
        let errors = import(json!({"email": "a@b.co", "password_hash": "plain"})).unwrap_err();
        assert_eq!(errors[0].path.as_deref(), Some("password_hash"));
        let errors = import(json!({"email": 5})).unwrap_err();
        assert_eq!(errors[0].code, "INVALID_TYPE");
    }

    #[test]
    fn mfa_factors_become_confirmed_methods() {
        let factors = json!([{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}, {"phone": {"value": "+14155550100"}},
                             {"email": {"value": "m2@example.com"}}]);
        let imported = import(json!({"email": "m@example.com", "mfa_factors": factors})).unwrap();
        let kinds: Vec<&str> = imported.methods.iter().map(|m| m.method.kind.as_str()).collect();
        assert_eq!(kinds, ["totp", "phone", "email"]);
        assert!(imported.methods.iter().all(|m| m.method.confirmed));
        assert_eq!(imported.methods[0].secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(imported.methods[1].method.phone_number(), Some("+14155550100"));
        assert_eq!(imported.user.multifactor, Some(vec!["guardian".to_owned()]));
        assert!(import(json!({"email": "n@example.com"})).unwrap().user.multifactor.is_none());

        let refused = |factors: Value| {
            let errors = import(json!({"email": "m@example.com", "mfa_factors": factors})).unwrap_err();
            assert_eq!(errors[0].path.as_deref(), Some("mfa_factors"));
            (errors[0].code, errors[0].message.clone())
        };
        assert_eq!(
            refused(json!([{"phone": {"value": "555"}}])),
            ("MFA_FACTORS_FAILED", "MFA import error: String does not match pattern ^\\+[0-9]{1,15}$: 555".into())
        );
        assert_eq!(
            refused(json!([{"email": {"value": "nope"}}])).1,
            "MFA import error: Object didn't pass validation for format email: nope"
        );
        assert_eq!(refused(json!([{"push": {}}])).0, "MFA_FACTORS_FAILED");
        assert_eq!(refused(json!([{"totp": {"secret": "JBSW", "issuer": "x"}}])).0, "MFA_FACTORS_FAILED");
        assert_eq!(refused(json!([{"totp": {}}])).1, "MFA import error: Missing required property: secret");
        assert_eq!(refused(json!({"totp": {}})).0, "MFA_FACTORS_FAILED");
        assert_eq!(refused(json!([{"email": {"value": 5}}])).0, "MFA_FACTORS_FAILED");
        let eleven: Vec<Value> = (0..11).map(|i| json!({"email": {"value": format!("e{i}@example.com")}})).collect();
        assert_eq!(refused(Value::Array(eleven)).1, "MFA import error: Array is too long (11), maximum 10");
        assert_eq!(
            refused(json!([{"phone": {"value": "+1555"}}, {"phone": {"value": "+1555"}}])).1,
            "MFA import error: the phone factor is given twice"
        );
    }
}
