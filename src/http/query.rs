//! Query strings, validated as Auth0 validates them (z-schema over the operation's declared
//! parameters, with `Query validation error: …` messages).

use std::collections::HashMap;

use crate::domain::schema::{Location, Property, Type, check_range, refuse_nul};
use crate::error::ApiError;

/// A custom value check; the error is the complete z-schema detail.
pub type ValueCheck = fn(&str) -> Result<(), String>;

/// A declared query parameter and its bounds.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub property: Property,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    /// A custom check with its complete z-schema detail on failure.
    pub check: Option<ValueCheck>,
}

impl Param {
    pub const fn new(name: &'static str, kind: Type, description: &'static str) -> Self {
        Self { property: Property::new(name, kind, description), minimum: None, maximum: None, check: None }
    }

    pub const fn range(mut self, minimum: Option<i64>, maximum: Option<i64>) -> Self {
        self.minimum = minimum;
        self.maximum = maximum;
        self
    }

    pub const fn check(mut self, check: ValueCheck) -> Self {
        self.check = Some(check);
        self
    }
}

/// Typed values of a validated query string.
#[derive(Debug, Default)]
pub struct QueryString {
    values: HashMap<&'static str, String>,
}

impl QueryString {
    /// Parses `raw` against `params`. Unknown parameters are refused, as Auth0 does; empty
    /// values count as absent.
    pub fn parse(raw: Option<&str>, params: &'static [Param]) -> Result<Self, ApiError> {
        let at = Location::Query;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|_| at.single("Invalid query string encoding", None))?;
        let unknown: Vec<&str> = pairs
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !params.iter().any(|p| p.property.name == *name))
            .collect();
        if !unknown.is_empty() {
            return Err(at.single(&format!("Additional properties not allowed: {}", unknown.join(",")), None));
        }
        let mut values = HashMap::new();
        let mut problems = Vec::new();
        for (name, value) in pairs.into_iter().rev() {
            let param = params.iter().find(|p| p.property.name == name).expect("checked above");
            if value.is_empty() {
                continue;
            }
            match check(param, &value) {
                Ok(()) => {
                    // The first occurrence of a repeated parameter wins.
                    values.insert(param.property.name, value);
                }
                Err(detail) => problems.push(at.message(&detail, Some(&param.property))),
            }
        }
        if problems.is_empty() { Ok(Self { values }) } else { Err(at.error(&problems)) }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn integer(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|v| v.parse().ok())
    }

    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.text(name).map(|v| v == "true")
    }
}

/// Every non-empty value of a parameter that repeats (`identifiers=a&identifiers=b`), in order;
/// `parse` keeps only the first.
pub fn repeated(raw: Option<&str>, name: &str) -> Vec<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
    pairs.into_iter().filter(|(key, value)| key == name && !value.is_empty()).map(|(_, value)| value).collect()
}

fn check(param: &Param, value: &str) -> Result<(), String> {
    refuse_nul(value)?;
    match param.property.kind {
        Type::Integer => {
            let number: i64 = value
                .parse()
                .map_err(|_| format!("Expected type integer but found type {}", query_type_name(value)))?;
            check_range(number, &number, param.minimum, param.maximum)?;
        }
        Type::Boolean if value != "true" && value != "false" => {
            return Err(format!("Expected type boolean but found type {}", query_type_name(value)));
        }
        _ => {}
    }
    match param.check {
        Some(check) => check(value),
        None => Ok(()),
    }
}

/// Auth0 coerces query values before validating; what is left of a non-matching value.
fn query_type_name(value: &str) -> &'static str {
    if value.parse::<f64>().is_ok() { "number" } else { "string" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.").range(Some(0), None),
        Param::new("per_page", Type::Integer, "Number of results per page.").range(Some(0), Some(100)),
        Param::new("include_totals", Type::Boolean, "Return results inside an object."),
        Param::new("fields", Type::String, "Fields."),
    ];

    fn error(raw: &str) -> String {
        QueryString::parse(Some(raw), PARAMS).unwrap_err().message.into_owned()
    }

    #[test]
    fn parses_typed_values() {
        let q = QueryString::parse(Some("page=2&per_page=10&include_totals=true&fields=a%2Cb"), PARAMS).unwrap();
        assert_eq!(
            (q.integer("page"), q.integer("per_page"), q.boolean("include_totals")),
            (Some(2), Some(10), Some(true))
        );
        assert_eq!(q.text("fields"), Some("a,b"));
        assert!(QueryString::parse(Some("page="), PARAMS).unwrap().integer("page").is_none());
    }

    #[test]
    fn messages() {
        assert_eq!(
            error("per_page=1000"),
            "Query validation error: 'Value 1000 is greater than maximum 100' on property per_page (Number of results per page)."
        );
        assert_eq!(
            error("page=-1"),
            "Query validation error: 'Value -1 is less than minimum 0' on property page (Page index of the results to return. First page is 0)."
        );
        assert_eq!(
            error("include_totals=maybe"),
            "Query validation error: 'Expected type boolean but found type string' on property include_totals (Return results inside an object)."
        );
        assert_eq!(
            error("page=x"),
            "Query validation error: 'Expected type integer but found type string' on property page (Page index of the results to return. First page is 0)."
        );
        assert_eq!(error("foo=1"), "Query validation error: 'Additional properties not allowed: foo'.");
        assert!(error("fields=a%00").contains("NUL character"));
    }
}
