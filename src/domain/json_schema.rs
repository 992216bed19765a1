//! Nested payload schemas with Auth0's (z-schema's) messages.
//!
//! `schema::ObjectSchema` covers the flat payloads of the users endpoints. The other resources
//! nest objects in objects (`branding.colors.primary`, a resource server's `token_encryption`),
//! carry maps with typed values (`metadata`), arrays of ids or of objects (`permissions`) and
//! enumerations; this module checks those the same way, naming the property by its path
//! (`branding.colors.primary`, `members[0]`, `permissions[0].permission_name`), as Auth0 does
//! (`… on property groups[0].email (Google Workspace Directory group email).`). A schema is a
//! static tree copied from Auth0's OpenAPI spec; the words of each problem come from `schema`.
//!
//! As in `ObjectSchema::validate`, an object's unknown or missing properties are reported alone
//! (its properties are then not checked); otherwise every bad property is, last payload key
//! first, and all the problems are joined with ` (also) `. The roles, permissions and resource
//! servers payloads report less, and word an enum mismatch differently: see [`Rules`].

use serde_json::{Map, Value};

use super::schema::{Format, Location, Type, check_range, check_string, refuse_nul, type_problem};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub enum Node {
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
        format: Option<Format>,
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
    /// `{}` in the spec: any value.
    Any,
}

/// What an object does with properties it does not declare.
#[derive(Debug, Clone, Copy)]
pub enum Additional {
    /// Refused: `Additional properties not allowed: a,b`.
    Forbidden,
    /// Accepted and not checked (`additionalProperties: true`).
    Allowed,
    /// Accepted when they match this schema (a map such as `metadata`).
    Matching(&'static Schema),
}

/// How a payload reports its problems. The tenant endpoints (clients, client grants,
/// connections, organizations) report every problem ([`Rules::TENANT`]). The roles, permissions
/// and resource servers endpoints were written apart and differ in two ways
/// ([`Rules::RBAC`]); their tests assert what they do, so each payload keeps its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Each top-level property (still last payload key first) reports only its first problem,
    /// found depth first in payload order, rather than every problem, last key and last item
    /// first.
    pub first_problem_per_property: bool,
    /// An enum mismatch shows the value as JSON (`"a\"b"`), not between bare quotes (`"a"b"`).
    pub enum_value_as_json: bool,
}

impl Rules {
    pub const TENANT: Self = Self { first_problem_per_property: false, enum_value_as_json: false };
    pub const RBAC: Self = Self { first_problem_per_property: true, enum_value_as_json: true };
}

#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub node: Node,
    /// `["<type>", "null"]` in the spec.
    pub nullable: bool,
    /// Copied from the spec; shown in messages after the property path.
    pub description: &'static str,
    /// How a payload with this schema at its root reports problems (read at the root only).
    pub rules: Rules,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub schema: Schema,
}

impl Schema {
    const fn of(node: Node, description: &'static str) -> Self {
        Self { node, nullable: false, description, rules: Rules::TENANT }
    }

    pub const fn string(description: &'static str) -> Self {
        Self::of(Node::String { min_length: None, max_length: None, format: None, one_of: None }, description)
    }

    pub const fn boolean(description: &'static str) -> Self {
        Self::of(Node::Boolean, description)
    }

    pub const fn integer(description: &'static str, minimum: Option<i64>, maximum: Option<i64>) -> Self {
        Self::of(Node::Integer { minimum, maximum }, description)
    }

    pub const fn object(description: &'static str, properties: &'static [Field]) -> Self {
        let node = Node::Object {
            properties,
            required: &[],
            additional: Additional::Forbidden,
            min_properties: None,
            max_properties: None,
        };
        Self::of(node, description)
    }

    pub const fn array(description: &'static str, items: &'static Schema) -> Self {
        Self::of(Node::Array { items, min_items: None, max_items: None }, description)
    }

    pub const fn any(description: &'static str) -> Self {
        Self::of(Node::Any, description)
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub const fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// String lengths, in characters.
    pub const fn length(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        if let Node::String { format, one_of, .. } = self.node {
            self.node = Node::String { min_length: min, max_length: max, format, one_of };
        }
        self
    }

    /// A format Auth0 names in its messages (`Object didn't pass validation for format <name>: …`).
    pub const fn format(self, name: &'static str, check: fn(&str) -> bool) -> Self {
        self.string_format(Format::Named(name, check))
    }

    /// A regular expression: its source (quoted in messages, `String does not match pattern
    /// <source>: …`) and a matcher.
    pub const fn pattern(self, source: &'static str, matches: fn(&str) -> bool) -> Self {
        self.string_format(Format::Pattern(source, matches))
    }

    const fn string_format(mut self, format: Format) -> Self {
        if let Node::String { min_length, max_length, one_of, .. } = self.node {
            self.node = Node::String { min_length, max_length, format: Some(format), one_of };
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

    /// The JSON type this schema asks for; `None` for any.
    fn kind(&self) -> Option<Type> {
        match self.node {
            Node::String { .. } => Some(Type::String),
            Node::Boolean => Some(Type::Boolean),
            Node::Integer { .. } => Some(Type::Integer),
            Node::Object { .. } => Some(Type::Object),
            Node::Array { .. } => Some(Type::Array),
            Node::Any => None,
        }
    }

    /// Checks a request payload against this schema (an object at the top), by its rules.
    pub fn validate_payload<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>, ApiError> {
        self.validate(value)?;
        value.as_object().ok_or_else(|| Location::Payload.single(&type_problem(Type::Object, false, value), None))
    }
}

impl Schema {
    /// Checks a request payload of any JSON type against this schema, by its rules.
    pub fn validate(&self, value: &Value) -> Result<(), ApiError> {
        let mut walk = Walk { rules: self.rules, problems: Vec::new(), mark: 0 };
        walk.check(self, value, "", true);
        if walk.problems.is_empty() { Ok(()) } else { Err(Location::Payload.error(&walk.problems)) }
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
}

/// One validation of a payload: its rules and the problems found so far.
struct Walk {
    rules: Rules,
    problems: Vec<String>,
    /// How many problems there were when the current top-level property's walk began.
    mark: usize,
}

impl Walk {
    fn report(&mut self, detail: &str, path: &str, schema: &Schema) {
        self.problems.push(Location::Payload.message_at(detail, path, schema.description));
    }

    /// Whether the current top-level property has reported all it may.
    fn done(&self) -> bool {
        self.rules.first_problem_per_property && self.problems.len() > self.mark
    }

    fn check(&mut self, schema: &Schema, value: &Value, path: &str, root: bool) {
        if value.is_null() && schema.nullable {
            return;
        }
        if let Some(kind) = schema.kind()
            && !kind.matches(value)
        {
            return self.report(&type_problem(kind, schema.nullable, value), path, schema);
        }
        let detail = match (schema.node, value) {
            (Node::String { min_length, max_length, format, one_of }, Value::String(text)) => {
                self.string_problem(text, one_of).or_else(|| check_string(text, min_length, max_length, format).err())
            }
            (Node::Integer { minimum, maximum }, Value::Number(number)) => {
                check_range(number.as_i64().unwrap_or(i64::MAX), number, minimum, maximum).err()
            }
            (Node::Array { items, min_items, max_items }, Value::Array(elements)) => {
                if let Some(min) = min_items
                    && elements.len() < min
                {
                    return self.report(
                        &format!("Array is too short ({}), minimum {min}", elements.len()),
                        path,
                        schema,
                    );
                }
                if let Some(max) = max_items
                    && elements.len() > max
                {
                    return self.report(
                        &format!("Array is too long ({}), maximum {max}", elements.len()),
                        path,
                        schema,
                    );
                }
                let children = elements.iter().enumerate().map(|(i, element)| (format!("{path}[{i}]"), items, element));
                self.check_children(children.collect(), root);
                None
            }
            (
                Node::Object { properties, required, additional, min_properties, max_properties },
                Value::Object(object),
            ) => {
                if let Additional::Forbidden = additional {
                    let unknown: Vec<&str> = object
                        .keys()
                        .map(String::as_str)
                        .filter(|key| !properties.iter().any(|p| p.name == *key))
                        .collect();
                    if !unknown.is_empty() {
                        let detail = format!("Additional properties not allowed: {}", unknown.join(","));
                        return self.report(&detail, path, schema);
                    }
                }
                let missing: Vec<&str> = required.iter().copied().filter(|name| !object.contains_key(*name)).collect();
                if !missing.is_empty() {
                    for name in missing {
                        self.report(&format!("Missing required property: {name}"), path, schema);
                        if self.done() {
                            break;
                        }
                    }
                    return;
                }
                if let Some(max) = max_properties
                    && object.len() > max
                {
                    let detail = format!("Too many properties defined ({}), maximum {max}", object.len());
                    return self.report(&detail, path, schema);
                }
                if let Some(min) = min_properties
                    && object.len() < min
                {
                    let detail = format!("Too few properties defined ({}), minimum {min}", object.len());
                    return self.report(&detail, path, schema);
                }
                let children = object.iter().filter_map(|(key, child)| {
                    let schema = match (properties.iter().find(|p| p.name == key), additional) {
                        (Some(field), _) => &field.schema,
                        (None, Additional::Matching(schema)) => schema,
                        (None, _) => return None,
                    };
                    Some((child_path(path, key), schema, child))
                });
                self.check_children(children.collect(), root);
                None
            }
            _ => None,
        };
        if let Some(detail) = detail {
            self.report(&detail, path, schema);
        }
    }

    /// What the rules and an enum say of a string, before its length and format. U+0000 is
    /// refused everywhere: PostgreSQL text cannot hold it, and both stores must answer alike.
    fn string_problem(&self, text: &str, one_of: Option<&[&str]>) -> Option<String> {
        if let Err(detail) = refuse_nul(text) {
            return Some(detail);
        }
        match one_of {
            Some(values) if !values.contains(&text) => Some(if self.rules.enum_value_as_json {
                format!("No enum match for: {}", Value::from(text))
            } else {
                format!("No enum match for: \"{text}\"")
            }),
            _ => None,
        }
    }

    /// Checks an object's properties or an array's items: every problem, last first; with
    /// `first_problem_per_property`, each top-level property gets its own walk, and below them
    /// the walk goes in payload order and stops at the first problem.
    fn check_children(&mut self, children: Vec<(String, &Schema, &Value)>, root: bool) {
        let first_only = self.rules.first_problem_per_property && !root;
        let mut children = children;
        if !first_only {
            children.reverse();
        }
        for (path, schema, value) in children {
            if root {
                self.mark = self.problems.len();
            }
            self.check(schema, value, &path, false);
            if first_only && self.done() {
                return;
            }
        }
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

    const SCOPE: Schema = Schema::object(
        "",
        &[
            Field { name: "value", schema: Schema::string("Value of this scope.").length(Some(1), Some(5)) },
            Field { name: "kind", schema: Schema::string("").one_of(&["a", "b"]) },
            Field { name: "name", schema: Schema::string("").pattern("^[^<>]+$", |text| !text.contains(['<', '>'])) },
        ],
    )
    .required(&["value", "kind"]);
    const ANYTHING: Schema = Schema::any("");
    const RBAC: Schema = Schema::object(
        "",
        &[
            Field { name: "scopes", schema: Schema::array("List of scopes.", &SCOPE).items_count(Some(1), None) },
            Field { name: "ttl", schema: Schema::integer("Lifetime.", Some(0), Some(10)) },
            Field {
                name: "policy",
                schema: Schema::object("", &[Field { name: "id", schema: Schema::string("") }])
                    .required(&["id"])
                    .nullable(),
            },
            Field { name: "details", schema: Schema::array("", &ANYTHING) },
        ],
    )
    .required(&["scopes"])
    .rules(Rules::RBAC);

    fn rbac_error(value: Value) -> String {
        RBAC.validate_payload(&value).unwrap_err().message.into_owned()
    }

    #[test]
    fn rbac_rules_report_each_top_level_property_first_problem() {
        let scope = json!({"value": "a", "kind": "a"});
        assert!(RBAC.validate_payload(&json!({"scopes": [scope], "policy": null, "details": [1, {}, null]})).is_ok());
        assert_eq!(rbac_error(json!({})), "Payload validation error: 'Missing required property: scopes'.");
        assert_eq!(
            rbac_error(json!({"scopes": [{}]})),
            "Payload validation error: 'Missing required property: value' on property scopes[0]."
        );
        assert_eq!(
            rbac_error(json!({"scopes": [scope, {"value": "", "kind": "c"}, {"value": "toolong"}]})),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property scopes[1].value (Value of this scope)."
        );
        assert_eq!(
            rbac_error(json!({"scopes": [{"value": "a", "kind": "a\"b"}]})),
            "Payload validation error: 'No enum match for: \"a\\\"b\"' on property scopes[0].kind."
        );
        assert_eq!(
            rbac_error(json!({"scopes": [{"value": "a", "kind": "a", "name": "<b>"}]})),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: <b>' on property scopes[0].name."
        );
        assert_eq!(
            rbac_error(json!({"scopes": [{"value": "a\u{0}", "kind": "a"}]})),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property scopes[0].value (Value of this scope)."
        );
        assert_eq!(
            rbac_error(json!({"scopes": [scope], "policy": "x"})),
            "Payload validation error: 'Expected type object,null but found type string' on property policy."
        );
        assert_eq!(
            rbac_error(json!({"scopes": "x", "ttl": 11})),
            "Payload validation error: 'Value 11 is greater than maximum 10' on property ttl (Lifetime). (also) Payload validation error: 'Expected type array but found type string' on property scopes (List of scopes)."
        );
    }

    #[test]
    fn tenant_rules_word_the_same_payload_differently() {
        let tenant = RBAC.rules(Rules::TENANT);
        let error = |value: Value| tenant.validate_payload(&value).unwrap_err().message.into_owned();
        assert_eq!(
            error(json!({"scopes": [{}]})),
            "Payload validation error: 'Missing required property: value' on property scopes[0]. (also) Payload validation error: 'Missing required property: kind' on property scopes[0]."
        );
        assert_eq!(
            error(json!({"scopes": [{"value": "", "kind": "a\"b"}]})),
            "Payload validation error: 'No enum match for: \"a\"b\"' on property scopes[0].kind. (also) Payload validation error: 'String is too short (0 chars), minimum 1' on property scopes[0].value (Value of this scope)."
        );
        assert_eq!(
            error(json!({"scopes": [{"value": "\u{0}", "kind": "a"}]})),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property scopes[0].value (Value of this scope)."
        );
    }
}
