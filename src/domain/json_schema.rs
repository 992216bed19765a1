//! Nested payload schemas with Auth0's (z-schema's) messages.
//!
//! `schema::ObjectSchema` covers the flat payloads of the users endpoints. The tenant resources
//! nest objects in objects (`branding.colors.primary`), carry maps with typed values
//! (`metadata`), arrays of ids and enumerations; this module checks those the same way, naming
//! the property by its path (`branding.colors.primary`, `members[0]`), as Auth0 does
//! (`… on property groups[0].email (Google Workspace Directory group email).`).
//!
//! As in `ObjectSchema::validate`, an object's unknown or missing properties are reported alone
//! (its properties are then not checked); otherwise every bad property is, last payload key
//! first, and all the problems are joined with ` (also) `.

use serde_json::{Map, Value};

use super::schema::type_name;
use crate::error::ApiError;

/// A format Auth0 names in its messages (`Object didn't pass validation for format <name>: …`).
#[derive(Debug, Clone, Copy)]
pub struct NamedFormat {
    pub name: &'static str,
    pub check: fn(&str) -> bool,
}

#[derive(Debug, Clone, Copy)]
pub enum Node {
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
        format: Option<NamedFormat>,
        /// The only values allowed, if any.
        one_of: Option<&'static [&'static str]>,
    },
    Boolean,
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Object {
        properties: &'static [Field],
        required: &'static [&'static str],
        additional: Additional,
        min_properties: Option<usize>,
        max_properties: Option<usize>,
    },
    Array {
        items: &'static Schema,
        min_items: Option<usize>,
        max_items: Option<usize>,
    },
}

/// What an object does with properties it does not declare.
#[derive(Debug, Clone, Copy)]
pub enum Additional {
    /// Refused: `Additional properties not allowed: a,b`.
    Forbidden,
    /// Accepted and not checked.
    Allowed,
    /// Accepted when they match this schema (a map such as `metadata`).
    Matching(&'static Schema),
}

#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub node: Node,
    /// `["<type>", "null"]` in the spec.
    pub nullable: bool,
    /// Copied from the spec; shown in messages after the property path.
    pub description: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub schema: Schema,
}

impl Schema {
    pub const fn string(description: &'static str) -> Self {
        Self {
            node: Node::String { min_length: None, max_length: None, format: None, one_of: None },
            nullable: false,
            description,
        }
    }

    pub const fn boolean(description: &'static str) -> Self {
        Self { node: Node::Boolean, nullable: false, description }
    }

    pub const fn integer(description: &'static str, minimum: Option<i64>, maximum: Option<i64>) -> Self {
        Self { node: Node::Integer { minimum, maximum }, nullable: false, description }
    }

    pub const fn object(description: &'static str, properties: &'static [Field]) -> Self {
        Self {
            node: Node::Object {
                properties,
                required: &[],
                additional: Additional::Forbidden,
                min_properties: None,
                max_properties: None,
            },
            nullable: false,
            description,
        }
    }

    pub const fn array(description: &'static str, items: &'static Schema) -> Self {
        Self { node: Node::Array { items, min_items: None, max_items: None }, nullable: false, description }
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// String lengths.
    pub const fn length(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        if let Node::String { format, one_of, .. } = self.node {
            self.node = Node::String { min_length: min, max_length: max, format, one_of };
        }
        self
    }

    pub const fn format(mut self, name: &'static str, check: fn(&str) -> bool) -> Self {
        if let Node::String { min_length, max_length, one_of, .. } = self.node {
            self.node = Node::String { min_length, max_length, format: Some(NamedFormat { name, check }), one_of };
        }
        self
    }

    pub const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        if let Node::String { min_length, max_length, format, .. } = self.node {
            self.node = Node::String { min_length, max_length, format, one_of: Some(values) };
        }
        self
    }

    pub const fn required(mut self, names: &'static [&'static str]) -> Self {
        if let Node::Object { properties, additional, min_properties, max_properties, .. } = self.node {
            self.node = Node::Object { properties, required: names, additional, min_properties, max_properties };
        }
        self
    }

    pub const fn additional(mut self, rule: Additional) -> Self {
        if let Node::Object { properties, required, min_properties, max_properties, .. } = self.node {
            self.node = Node::Object { properties, required, additional: rule, min_properties, max_properties };
        }
        self
    }

    /// Property counts of an object.
    pub const fn properties_count(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        if let Node::Object { properties, required, additional, .. } = self.node {
            self.node = Node::Object { properties, required, additional, min_properties: min, max_properties: max };
        }
        self
    }

    /// Item counts of an array.
    pub const fn items_count(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        if let Node::Array { items, .. } = self.node {
            self.node = Node::Array { items, min_items: min, max_items: max };
        }
        self
    }

    /// Checks a request payload against this schema (an object at the top).
    pub fn validate_payload<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>, ApiError> {
        let mut problems = Vec::new();
        check(self, value, "", &mut problems);
        if !problems.is_empty() {
            return Err(ApiError::invalid_body(problems.join(" (also) ")));
        }
        value.as_object().ok_or_else(|| ApiError::invalid_body("Payload validation error: 'Expected type object'."))
    }
}

/// One problem as Auth0 words it; the description loses its final period, the sentence gets
/// one. A property without a description is named alone.
fn message(detail: &str, path: &str, description: &str) -> String {
    if path.is_empty() {
        return format!("Payload validation error: '{detail}'.");
    }
    let description = description.strip_suffix('.').unwrap_or(description);
    if description.is_empty() {
        format!("Payload validation error: '{detail}' on property {path}.")
    } else {
        format!("Payload validation error: '{detail}' on property {path} ({description}).")
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
}

fn check(schema: &Schema, value: &Value, path: &str, problems: &mut Vec<String>) {
    if value.is_null() && schema.nullable {
        return;
    }
    let mut report = |detail: String| problems.push(message(&detail, path, schema.description));
    let expected = match schema.node {
        Node::String { .. } => "string",
        Node::Boolean => "boolean",
        Node::Integer { .. } => "integer",
        Node::Object { .. } => "object",
        Node::Array { .. } => "array",
    };
    let matches = match schema.node {
        Node::String { .. } => value.is_string(),
        Node::Boolean => value.is_boolean(),
        Node::Integer { .. } => value.is_i64() || value.is_u64(),
        Node::Object { .. } => value.is_object(),
        Node::Array { .. } => value.is_array(),
    };
    if !matches {
        let expected = if schema.nullable { format!("{expected},null") } else { expected.to_owned() };
        report(format!("Expected type {expected} but found type {}", type_name(value)));
        return;
    }
    match (schema.node, value) {
        (Node::String { min_length, max_length, format, one_of }, Value::String(text)) => {
            let length = text.chars().count();
            if let Some(values) = one_of
                && !values.contains(&text.as_str())
            {
                report(format!("No enum match for: \"{text}\""));
            } else if let Some(min) = min_length
                && length < min
            {
                report(format!("String is too short ({length} chars), minimum {min}"));
            } else if let Some(max) = max_length
                && length > max
            {
                report(format!("String is too long ({length} chars), maximum {max}"));
            } else if let Some(format) = format
                && !(format.check)(text)
            {
                report(format!("Object didn't pass validation for format {}: {text}", format.name));
            }
        }
        (Node::Integer { minimum, maximum }, Value::Number(number)) => {
            let n = number.as_i64().unwrap_or(i64::MAX);
            if let Some(min) = minimum
                && n < min
            {
                report(format!("Value {number} is less than minimum {min}"));
            } else if let Some(max) = maximum
                && n > max
            {
                report(format!("Value {number} is greater than maximum {max}"));
            }
        }
        (Node::Array { items, min_items, max_items }, Value::Array(elements)) => {
            if let Some(min) = min_items
                && elements.len() < min
            {
                report(format!("Array is too short ({}), minimum {min}", elements.len()));
                return;
            }
            if let Some(max) = max_items
                && elements.len() > max
            {
                report(format!("Array is too long ({}), maximum {max}", elements.len()));
                return;
            }
            for (index, element) in elements.iter().enumerate().rev() {
                check(items, element, &format!("{path}[{index}]"), problems);
            }
        }
        (Node::Object { properties, required, additional, min_properties, max_properties }, Value::Object(object)) => {
            if let Additional::Forbidden = additional {
                let unknown: Vec<&str> = object
                    .keys()
                    .map(String::as_str)
                    .filter(|key| !properties.iter().any(|p| p.name == *key))
                    .collect();
                if !unknown.is_empty() {
                    report(format!("Additional properties not allowed: {}", unknown.join(",")));
                    return;
                }
            }
            let missing: Vec<&str> = required.iter().copied().filter(|name| !object.contains_key(*name)).collect();
            if !missing.is_empty() {
                for name in missing {
                    report(format!("Missing required property: {name}"));
                }
                return;
            }
            if let Some(max) = max_properties
                && object.len() > max
            {
                report(format!("Too many properties defined ({}), maximum {max}", object.len()));
                return;
            }
            if let Some(min) = min_properties
                && object.len() < min
            {
                report(format!("Too few properties defined ({}), minimum {min}", object.len()));
                return;
            }
            for (key, child) in object.iter().rev() {
                let declared = properties.iter().find(|p| p.name == key).map(|p| &p.schema);
                let schema = match (declared, additional) {
                    (Some(schema), _) => schema,
                    (None, Additional::Matching(schema)) => schema,
                    (None, _) => continue,
                };
                check(schema, child, &child_path(path, key), problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn is_color(text: &str) -> bool {
        text.starts_with('#')
    }

    const VALUE: Schema = Schema::string("").nullable().length(None, Some(3));
    const ITEM: Schema = Schema::string("").length(Some(1), None);
    const SCHEMA: Schema = Schema::object(
        "",
        &[
            Field { name: "name", schema: Schema::string("The name.").length(Some(1), Some(5)) },
            Field {
                name: "colors",
                schema: Schema::object(
                    "Colors.",
                    &[
                        Field { name: "primary", schema: Schema::string("Primary.").format("html-color", is_color) },
                        Field { name: "page_background", schema: Schema::string("Background.") },
                    ],
                )
                .required(&["primary", "page_background"]),
            },
            Field {
                name: "metadata",
                schema: Schema::object("Metadata.", &[])
                    .additional(Additional::Matching(&VALUE))
                    .properties_count(None, Some(2)),
            },
            Field { name: "ids", schema: Schema::array("Ids.", &ITEM).items_count(Some(1), Some(2)) },
            Field { name: "mode", schema: Schema::string("Mode.").one_of(&["allow", "block"]) },
            Field { name: "count", schema: Schema::integer("Count.", Some(1), Some(9)) },
        ],
    )
    .required(&["name"]);

    fn error(value: Value) -> String {
        SCHEMA.validate_payload(&value).unwrap_err().message.into_owned()
    }

    #[test]
    fn top_level_problems_are_reported_alone() {
        assert_eq!(error(json!([])), "Payload validation error: 'Expected type object but found type array'.");
        assert_eq!(error(json!({})), "Payload validation error: 'Missing required property: name'.");
        assert_eq!(
            error(json!({"name": "a", "x": 1})),
            "Payload validation error: 'Additional properties not allowed: x'."
        );
    }

    #[test]
    fn nested_problems_name_their_path() {
        assert_eq!(
            error(json!({"name": "a", "colors": {"primary": "red", "page_background": "#fff"}})),
            "Payload validation error: 'Object didn't pass validation for format html-color: red' on property colors.primary (Primary)."
        );
        assert_eq!(
            error(json!({"name": "a", "colors": {"primary": "#000"}})),
            "Payload validation error: 'Missing required property: page_background' on property colors (Colors)."
        );
        assert_eq!(
            error(json!({"name": "a", "colors": {"primary": "#000", "page_background": "#fff", "x": 1}})),
            "Payload validation error: 'Additional properties not allowed: x' on property colors (Colors)."
        );
        assert_eq!(
            error(json!({"name": "a", "metadata": {"k": "long"}})),
            "Payload validation error: 'String is too long (4 chars), maximum 3' on property metadata.k."
        );
        assert_eq!(
            error(json!({"name": "a", "metadata": {"a": "1", "b": "2", "c": "3"}})),
            "Payload validation error: 'Too many properties defined (3), maximum 2' on property metadata (Metadata)."
        );
        assert_eq!(
            error(json!({"name": "a", "ids": ["x", 1]})),
            "Payload validation error: 'Expected type string but found type integer' on property ids[1]."
        );
        assert_eq!(
            error(json!({"name": "a", "ids": []})),
            "Payload validation error: 'Array is too short (0), minimum 1' on property ids (Ids)."
        );
        assert_eq!(
            error(json!({"name": "a", "ids": ["a", "b", "c"]})),
            "Payload validation error: 'Array is too long (3), maximum 2' on property ids (Ids)."
        );
        assert_eq!(
            error(json!({"name": "a", "mode": "maybe"})),
            "Payload validation error: 'No enum match for: \"maybe\"' on property mode (Mode)."
        );
        assert_eq!(
            error(json!({"name": "a", "count": 0})),
            "Payload validation error: 'Value 0 is less than minimum 1' on property count (Count)."
        );
        assert_eq!(
            error(json!({"name": "a", "count": 1.5})),
            "Payload validation error: 'Expected type integer but found type number' on property count (Count)."
        );
    }

    #[test]
    fn several_problems_last_key_first() {
        assert_eq!(
            error(json!({"name": "", "count": 10})),
            "Payload validation error: 'Value 10 is greater than maximum 9' on property count (Count). (also) Payload validation error: 'String is too short (0 chars), minimum 1' on property name (The name)."
        );
    }

    #[test]
    fn accepts_valid_payloads_and_nulls_where_allowed() {
        let ok = json!({"name": "a", "metadata": {"k": null}, "ids": ["x"], "mode": "allow", "count": 3,
            "colors": {"primary": "#000", "page_background": "#fff"}});
        assert!(SCHEMA.validate_payload(&ok).is_ok());
        assert_eq!(
            error(json!({"name": null})),
            "Payload validation error: 'Expected type string but found type null' on property name (The name)."
        );
    }
}
