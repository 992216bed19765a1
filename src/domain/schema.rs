//! Request validation with Auth0's messages.
//!
//! Auth0 validates payloads and query strings with z-schema and reports the first problem as
//! `Payload validation error: '<detail>' on property <name> (<description>).` (or
//! `Query validation error: …`, `Path validation error: …`). A schema here is a static table
//! of the properties an operation accepts, copied from Auth0's OpenAPI spec.
//!
//! The words of each problem (types, string lengths, formats, U+0000, where it is) live here and
//! are shared with `json_schema`, which checks the nested payloads of the other resources.

use serde_json::{Map, Value};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Object,
    Array,
    Integer,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Integer => "integer",
        }
    }

    pub fn matches(self, value: &Value) -> bool {
        match self {
            Type::String => value.is_string(),
            Type::Boolean => value.is_boolean(),
            Type::Object => value.is_object(),
            Type::Array => value.is_array(),
            Type::Integer => value.is_i64() || value.is_u64(),
        }
    }
}

/// z-schema's name for a JSON value's type.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// z-schema's detail when a value is not of the `expected` type (`nullable`: nor `null`).
pub fn type_problem(expected: Type, nullable: bool, value: &Value) -> String {
    let null = if nullable { ",null" } else { "" };
    format!("Expected type {}{null} but found type {}", expected.name(), type_name(value))
}

/// PostgreSQL text cannot hold U+0000; refusing it in payloads and queries keeps both stores alike.
pub fn refuse_nul(text: &str) -> Result<(), String> {
    if text.contains('\0') { Err("String must not contain the NUL character (U+0000)".to_owned()) } else { Ok(()) }
}

/// z-schema's bounds on an integer, which messages show as `shown` (as the payload gave it).
pub fn check_range(
    number: i64,
    shown: &dyn std::fmt::Display,
    minimum: Option<i64>,
    maximum: Option<i64>,
) -> Result<(), String> {
    match (minimum, maximum) {
        (Some(min), _) if number < min => Err(format!("Value {shown} is less than minimum {min}")),
        (_, Some(max)) if number > max => Err(format!("Value {shown} is greater than maximum {max}")),
        _ => Ok(()),
    }
}

/// A string format, and how z-schema words a string that fails it.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// A format by its name: `Object didn't pass validation for format <name>: <text>`.
    Named(&'static str, fn(&str) -> bool),
    /// A regular-expression pattern: its source text (quoted in messages) and a matcher.
    Pattern(&'static str, fn(&str) -> bool),
}

impl Format {
    pub const EMAIL: Self = Self::Named("email", is_email);
    pub const STRICT_URI: Self = Self::Named("strict-uri", is_strict_uri);

    pub fn check(self, text: &str) -> Result<(), String> {
        match self {
            Self::Named(name, matches) if !matches(text) => {
                Err(format!("Object didn't pass validation for format {name}: {text}"))
            }
            Self::Pattern(source, matches) if !matches(text) => {
                Err(format!("String does not match pattern {source}: {text}"))
            }
            _ => Ok(()),
        }
    }
}

/// A string's length (in characters) then its format, as z-schema checks them.
pub fn check_string(
    text: &str,
    min_length: Option<usize>,
    max_length: Option<usize>,
    format: Option<Format>,
) -> Result<(), String> {
    let length = text.chars().count();
    if let Some(min) = min_length
        && length < min
    {
        return Err(format!("String is too short ({length} chars), minimum {min}"));
    }
    if let Some(max) = max_length
        && length > max
    {
        return Err(format!("String is too long ({length} chars), maximum {max}"));
    }
    format.map_or(Ok(()), |format| format.check(text))
}

#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub kind: Type,
    /// `string|null` in the spec: `null` is accepted (and means "unset").
    pub nullable: bool,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub format: Option<Format>,
    pub description: &'static str,
}

impl Property {
    pub const fn new(name: &'static str, kind: Type, description: &'static str) -> Self {
        Self { name, kind, nullable: false, min_length: None, max_length: None, format: None, description }
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub const fn length(mut self, min: usize, max: Option<usize>) -> Self {
        self.min_length = Some(min);
        self.max_length = max;
        self
    }

    pub const fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ObjectSchema {
    pub properties: &'static [Property],
    pub required: &'static [&'static str],
    /// Text Auth0 appends to "Additional properties not allowed" for this payload.
    pub additional_hint: &'static str,
}

/// Where the value came from; decides the message prefix and error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Payload,
    Query,
    Path,
}

impl Location {
    /// One z-schema error as Auth0 words it, about `property` or the whole value.
    pub fn message(self, detail: &str, property: Option<&Property>) -> String {
        let (path, description) = property.map_or(("", ""), |p| (p.name, p.description));
        self.message_at(detail, path, description)
    }

    /// One z-schema error about the value at `path` (empty: the whole value), which the spec
    /// describes as `description`. The description loses its final period, the sentence gets
    /// one; a property without a description is named alone.
    pub fn message_at(self, detail: &str, path: &str, description: &str) -> String {
        let prefix = match self {
            Location::Payload => "Payload",
            Location::Query => "Query",
            Location::Path => "Path",
        };
        let description = description.strip_suffix('.').unwrap_or(description);
        match (path, description) {
            ("", _) => format!("{prefix} validation error: '{detail}'."),
            (path, "") => format!("{prefix} validation error: '{detail}' on property {path}."),
            (path, description) => format!("{prefix} validation error: '{detail}' on property {path} ({description})."),
        }
    }

    /// The API error for `messages` (several are joined with ` (also) `, as Auth0 does).
    pub fn error(self, messages: &[String]) -> ApiError {
        let message = messages.join(" (also) ");
        match self {
            Location::Payload => ApiError::invalid_body(message),
            Location::Query => ApiError::invalid_query(message),
            Location::Path => ApiError::invalid_uri(message),
        }
    }

    pub fn single(self, detail: &str, property: Option<&Property>) -> ApiError {
        self.error(&[self.message(detail, property)])
    }
}

impl ObjectSchema {
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Checks a JSON payload. Object-level problems (unknown or missing properties) are
    /// reported alone; otherwise every bad property is, in reverse payload order as z-schema
    /// walks them.
    pub fn validate<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>, ApiError> {
        let at = Location::Payload;
        let Value::Object(object) = value else {
            return Err(at.single(&type_problem(Type::Object, false, value), None));
        };
        let unknown: Vec<&str> = object.keys().map(String::as_str).filter(|k| self.property(k).is_none()).collect();
        if !unknown.is_empty() {
            let detail = format!("Additional properties not allowed: {}{}", unknown.join(","), self.additional_hint);
            return Err(at.single(&detail, None));
        }
        let missing: Vec<String> = self
            .required
            .iter()
            .filter(|name| !object.contains_key(**name))
            .map(|name| at.message(&format!("Missing required property: {name}"), None))
            .collect();
        if !missing.is_empty() {
            return Err(at.error(&missing));
        }
        let problems: Vec<String> = object
            .iter()
            .rev()
            .filter_map(|(key, value)| {
                let property = self.property(key)?;
                check_property(property, value).err().map(|detail| at.message(&detail, Some(property)))
            })
            .collect();
        if problems.is_empty() { Ok(object) } else { Err(at.error(&problems)) }
    }
}

/// Checks one value against one property; the error is z-schema's detail text.
pub fn check_property(property: &Property, value: &Value) -> Result<(), String> {
    if value.is_null() && property.nullable {
        return Ok(());
    }
    if !property.kind.matches(value) {
        return Err(type_problem(property.kind, property.nullable, value));
    }
    let Value::String(text) = value else { return Ok(()) };
    refuse_nul(text)?;
    check_string(text, property.min_length, property.max_length, property.format)
}

/// An address as z-schema's `email` format (validator.js `isEmail`) accepts it: a local
/// part of at most 64 characters, and a domain of dot-separated labels with a TLD.
pub fn is_email(text: &str) -> bool {
    if text.len() > 254 || text.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok
}

/// An absolute URI with a scheme and an authority, and no whitespace.
pub fn is_strict_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    scheme_ok && !host.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `^\+[0-9]{1,15}$`: an E.164 phone number.
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+')
        .is_some_and(|digits| (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `^\S*$`
pub fn has_no_whitespace(text: &str) -> bool {
    !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROPS: &[Property] = &[
        Property::new("connection", Type::String, "Name of the connection.").length(1, None),
        Property::new("blocked", Type::Boolean, "Whether blocked."),
        Property::new("name", Type::String, "Name.").nullable().length(1, Some(3)),
        Property::new("email", Type::String, "Email.").format(Format::EMAIL),
        Property::new("phone_number", Type::String, "Phone.").format(Format::Pattern(r"^\+[0-9]{1,15}$", is_e164)),
    ];
    const SCHEMA: ObjectSchema = ObjectSchema { properties: PROPS, required: &["connection"], additional_hint: "" };

    fn message(value: Value) -> String {
        SCHEMA.validate(&value).unwrap_err().message.into_owned()
    }

    #[test]
    fn messages_follow_z_schema() {
        assert_eq!(message(json!([])), "Payload validation error: 'Expected type object but found type array'.");
        assert_eq!(message(json!({})), "Payload validation error: 'Missing required property: connection'.");
        assert_eq!(
            message(json!({"connection": "c", "x": 1, "y": 2})),
            "Payload validation error: 'Additional properties not allowed: x,y'."
        );
        assert_eq!(
            message(json!({"connection": "c", "blocked": "yes"})),
            "Payload validation error: 'Expected type boolean but found type string' on property blocked (Whether blocked)."
        );
        assert_eq!(
            message(json!({"connection": "c", "name": 5})),
            "Payload validation error: 'Expected type string,null but found type integer' on property name (Name)."
        );
        assert_eq!(
            message(json!({"connection": ""})),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property connection (Name of the connection)."
        );
        assert_eq!(
            message(json!({"connection": "c", "name": "abcd"})),
            "Payload validation error: 'String is too long (4 chars), maximum 3' on property name (Name)."
        );
        assert_eq!(
            message(json!({"connection": "c", "email": "nope"})),
            "Payload validation error: 'Object didn't pass validation for format email: nope' on property email (Email)."
        );
        assert_eq!(
            message(json!({"connection": "c", "phone_number": "555"})),
            "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$: 555' on property phone_number (Phone)."
        );
        assert!(SCHEMA.validate(&json!({"connection": "c", "name": null})).is_ok());
        assert_eq!(
            message(json!({"connection": "c\u{0}"})),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property connection (Name of the connection)."
        );
        // Several bad properties: all reported, last payload key first.
        assert_eq!(
            message(json!({"connection": "c", "blocked": 1, "email": "x"})),
            "Payload validation error: 'Object didn't pass validation for format email: x' on property email (Email). (also) Payload validation error: 'Expected type boolean but found type integer' on property blocked (Whether blocked)."
        );
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "chuck@example.com", "first.last+tag@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@b", "a@@b.com", "a b@c.com", "@b.com", "a@b.c", "a@-b.com", ".a@b.com", "a..b@c.com"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@example.com", "a".repeat(65))));
    }

    #[test]
    fn uris_and_phones() {
        assert!(is_strict_uri("https://example.com/p.jpg"));
        assert!(!is_strict_uri("example.com/p.jpg"));
        assert!(!is_strict_uri("https:// x"));
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100") && !is_e164("+") && !is_e164("+1234567890123456"));
    }
}
