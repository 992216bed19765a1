//! Nested payload schemas for roles, permissions and resource servers: arrays of objects,
//! enums, patterns, nullable objects, integer bounds.
//!
//! `schema::ObjectSchema` describes flat payloads (the users resource). These payloads nest
//! (`{"permissions":[{"resource_server_identifier":…}]}`, a resource server's `scopes` and token
//! settings); Auth0 validates them with the same z-schema and reports the path of the failing
//! value: `Payload validation error: '<detail>' on property permissions[0].permission_name (Name
//! of this permission).`. A schema here is a static tree copied from Auth0's OpenAPI spec.

use serde_json::{Map, Value};

use super::schema::{Location, type_name};
use crate::error::ApiError;

/// A value's schema: its kind, whether `null` is allowed, and the spec's description (which
/// Auth0 quotes after the path).
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub kind: Kind,
    pub nullable: bool,
    pub description: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
        pattern: Option<Pattern>,
        /// The allowed values, when the spec gives an `enum`.
        one_of: Option<&'static [&'static str]>,
    },
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Boolean,
    Array {
        items: &'static Node,
        min_items: Option<usize>,
    },
    Object {
        properties: &'static [Field],
        required: &'static [&'static str],
        /// `additionalProperties: true`
        open: bool,
    },
    /// `{}`: anything.
    Any,
}

/// A regular expression's source text (quoted in messages) and a matcher.
pub type Pattern = (&'static str, fn(&str) -> bool);

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub node: Node,
}

impl Field {
    pub const fn new(name: &'static str, node: Node) -> Self {
        Self { name, node }
    }
}

impl Node {
    const fn of(kind: Kind) -> Self {
        Self { kind, nullable: false, description: None }
    }

    pub const fn string() -> Self {
        Self::of(Kind::String { min_length: None, max_length: None, pattern: None, one_of: None })
    }

    pub const fn one_of(values: &'static [&'static str]) -> Self {
        Self::of(Kind::String { min_length: None, max_length: None, pattern: None, one_of: Some(values) })
    }

    pub const fn integer(minimum: Option<i64>, maximum: Option<i64>) -> Self {
        Self::of(Kind::Integer { minimum, maximum })
    }

    pub const fn boolean() -> Self {
        Self::of(Kind::Boolean)
    }

    pub const fn array(items: &'static Node) -> Self {
        Self::of(Kind::Array { items, min_items: None })
    }

    pub const fn object(properties: &'static [Field], required: &'static [&'static str]) -> Self {
        Self::of(Kind::Object { properties, required, open: false })
    }

    pub const fn any() -> Self {
        Self::of(Kind::Any)
    }

    pub const fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// String lengths (in characters).
    pub const fn length(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        if let Kind::String { pattern, one_of, .. } = self.kind {
            self.kind = Kind::String { min_length: min, max_length: max, pattern, one_of };
        }
        self
    }

    pub const fn pattern(mut self, source: &'static str, matches: fn(&str) -> bool) -> Self {
        if let Kind::String { min_length, max_length, one_of, .. } = self.kind {
            self.kind = Kind::String { min_length, max_length, pattern: Some((source, matches)), one_of };
        }
        self
    }

    pub const fn min_items(mut self, min: usize) -> Self {
        if let Kind::Array { items, .. } = self.kind {
            self.kind = Kind::Array { items, min_items: Some(min) };
        }
        self
    }

    /// `additionalProperties: true`
    pub const fn open(mut self) -> Self {
        if let Kind::Object { properties, required, .. } = self.kind {
            self.kind = Kind::Object { properties, required, open: true };
        }
        self
    }

    fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::String { .. } => "string",
            Kind::Integer { .. } => "integer",
            Kind::Boolean => "boolean",
            Kind::Array { .. } => "array",
            Kind::Object { .. } => "object",
            Kind::Any => "any",
        }
    }

    fn matches_type(&self, value: &Value) -> bool {
        match self.kind {
            Kind::String { .. } => value.is_string(),
            Kind::Integer { .. } => value.is_i64() || value.is_u64(),
            Kind::Boolean => value.is_boolean(),
            Kind::Array { .. } => value.is_array(),
            Kind::Object { .. } => value.is_object(),
            Kind::Any => true,
        }
    }

    /// Checks a request payload whose root is an object. As z-schema does, problems with the
    /// root object itself (unknown or missing properties) are reported alone; otherwise every
    /// bad property is, in reverse payload order, each with its first problem.
    pub fn validate<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>, ApiError> {
        let at = Location::Payload;
        let Kind::Object { properties, required, open } = self.kind else {
            return Err(ApiError::internal("a payload schema must be an object"));
        };
        let Value::Object(object) = value else {
            let detail = format!("Expected type object but found type {}", type_name(value));
            return Err(at.single(&detail, None));
        };
        if let Some(detail) = object_problem(object, properties, required, open) {
            return Err(at.single(&detail, None));
        }
        let problems: Vec<String> = object
            .iter()
            .rev()
            .filter_map(|(key, value)| {
                let field = properties.iter().find(|f| f.name == key)?;
                check(&field.node, value, key).err()
            })
            .map(|problem| problem.message())
            .collect();
        if problems.is_empty() { Ok(object) } else { Err(at.error(&problems)) }
    }
}

/// One problem: z-schema's detail text, where it is, and that place's description.
struct Problem {
    detail: String,
    path: String,
    description: Option<&'static str>,
}

impl Problem {
    fn message(&self) -> String {
        match self.description {
            Some(description) => {
                let description = description.strip_suffix('.').unwrap_or(description);
                format!("Payload validation error: '{}' on property {} ({description}).", self.detail, self.path)
            }
            None => format!("Payload validation error: '{}' on property {}.", self.detail, self.path),
        }
    }
}

fn object_problem(object: &Map<String, Value>, properties: &[Field], required: &[&str], open: bool) -> Option<String> {
    if !open {
        let unknown: Vec<&str> =
            object.keys().map(String::as_str).filter(|k| !properties.iter().any(|f| f.name == *k)).collect();
        if !unknown.is_empty() {
            return Some(format!("Additional properties not allowed: {}", unknown.join(",")));
        }
    }
    required.iter().find(|name| !object.contains_key(**name)).map(|name| format!("Missing required property: {name}"))
}

/// The first problem of `value` against `node`, depth first.
fn check(node: &Node, value: &Value, path: &str) -> Result<(), Problem> {
    let problem = |detail: String| Problem { detail, path: path.to_owned(), description: node.description };
    if value.is_null() && node.nullable {
        return Ok(());
    }
    if !node.matches_type(value) {
        let expected = if node.nullable { format!("{},null", node.type_name()) } else { node.type_name().to_owned() };
        return Err(problem(format!("Expected type {expected} but found type {}", type_name(value))));
    }
    match (node.kind, value) {
        (Kind::String { min_length, max_length, pattern, one_of }, Value::String(text)) => {
            // PostgreSQL text cannot hold U+0000; refusing it everywhere keeps both stores alike.
            if text.contains('\0') {
                return Err(problem("String must not contain the NUL character (U+0000)".to_owned()));
            }
            if let Some(values) = one_of
                && !values.contains(&text.as_str())
            {
                return Err(problem(format!("No enum match for: {value}")));
            }
            let length = text.chars().count();
            if let Some(min) = min_length
                && length < min
            {
                return Err(problem(format!("String is too short ({length} chars), minimum {min}")));
            }
            if let Some(max) = max_length
                && length > max
            {
                return Err(problem(format!("String is too long ({length} chars), maximum {max}")));
            }
            if let Some((source, matches)) = pattern
                && !matches(text)
            {
                return Err(problem(format!("String does not match pattern {source}: {text}")));
            }
            Ok(())
        }
        (Kind::Integer { minimum, maximum }, _) => {
            let number = value.as_i64().unwrap_or(i64::MAX);
            if let Some(min) = minimum
                && number < min
            {
                return Err(problem(format!("Value {value} is less than minimum {min}")));
            }
            if let Some(max) = maximum
                && number > max
            {
                return Err(problem(format!("Value {value} is greater than maximum {max}")));
            }
            Ok(())
        }
        (Kind::Array { items, min_items }, Value::Array(elements)) => {
            if let Some(min) = min_items
                && elements.len() < min
            {
                return Err(problem(format!("Array is too short ({}), minimum {min}", elements.len())));
            }
            elements.iter().enumerate().try_for_each(|(i, element)| check(items, element, &format!("{path}[{i}]")))
        }
        (Kind::Object { properties, required, open }, Value::Object(object)) => {
            if let Some(detail) = object_problem(object, properties, required, open) {
                return Err(problem(detail));
            }
            object.iter().try_for_each(|(key, value)| match properties.iter().find(|f| f.name == key) {
                Some(field) => check(&field.node, value, &format!("{path}.{key}")),
                None => Ok(()),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ITEM: Node = Node::object(
        &[
            Field::new("value", Node::string().length(Some(1), Some(5)).describe("Value of this scope.")),
            Field::new("kind", Node::one_of(&["a", "b"])),
        ],
        &["value"],
    );
    const ITEMS: Node = Node::array(&ITEM).min_items(1).describe("List of scopes.");
    const ROOT: Node = Node::object(
        &[
            Field::new("scopes", ITEMS),
            Field::new("ttl", Node::integer(Some(0), Some(10)).describe("Lifetime.")),
            Field::new("policy", Node::object(&[Field::new("id", Node::string())], &["id"]).nullable()),
        ],
        &["scopes"],
    );

    fn message(value: Value) -> String {
        ROOT.validate(&value).unwrap_err().message.into_owned()
    }

    #[test]
    fn reports_nested_paths_as_auth0_does() {
        assert!(ROOT.validate(&json!({"scopes": [{"value": "a"}], "policy": null})).is_ok());
        assert_eq!(message(json!([])), "Payload validation error: 'Expected type object but found type array'.");
        assert_eq!(message(json!({})), "Payload validation error: 'Missing required property: scopes'.");
        assert_eq!(
            message(json!({"scopes": [], "x": 1})),
            "Payload validation error: 'Additional properties not allowed: x'."
        );
        assert_eq!(
            message(json!({"scopes": []})),
            "Payload validation error: 'Array is too short (0), minimum 1' on property scopes (List of scopes)."
        );
        assert_eq!(
            message(json!({"scopes": [{"value": "a"}, {"value": ""}]})),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property scopes[1].value (Value of this scope)."
        );
        assert_eq!(
            message(json!({"scopes": [{}]})),
            "Payload validation error: 'Missing required property: value' on property scopes[0]."
        );
        assert_eq!(
            message(json!({"scopes": [{"value": "a", "kind": "c"}]})),
            "Payload validation error: 'No enum match for: \"c\"' on property scopes[0].kind."
        );
        assert_eq!(
            message(json!({"scopes": [{"value": "a"}], "policy": "x"})),
            "Payload validation error: 'Expected type object,null but found type string' on property policy."
        );
        assert_eq!(
            message(json!({"scopes": [{"value": "a\u{0}"}]})),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property scopes[0].value (Value of this scope)."
        );
        assert_eq!(
            message(json!({"scopes": [{"value": "a"}], "ttl": 1.5})),
            "Payload validation error: 'Expected type integer but found type number' on property ttl (Lifetime)."
        );
        // Several bad properties: all, last payload key first.
        assert_eq!(
            message(json!({"scopes": "x", "ttl": 11})),
            "Payload validation error: 'Value 11 is greater than maximum 10' on property ttl (Lifetime). (also) Payload validation error: 'Expected type array but found type string' on property scopes (List of scopes)."
        );
    }
}
