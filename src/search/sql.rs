//! From a typed query to a parameterised `WHERE` condition over `users u` (or, for log fields,
//! `logs l`). The walk is shared;
//! what differs between SQL dialects (pattern matching, NULL handling, casts) is
//! a `Dialect`, implemented once per store (`sqlite.rs`, `postgres.rs`).
//!
//! Every value from the query becomes a bound parameter; SQL text is built only from constant
//! names. Each predicate is shaped for an index: equality, prefixes (`>= p AND < p'`) and ranges
//! for B-trees; `*` patterns for the dialect's trigram index; identities, metadata and
//! organization memberships through their own indexed tables.

use super::query::{Bound, Column, IdentityField, LogField, Query, Scalar, Source, Target, Test};
use super::syntax::Piece;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bind {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// A condition and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    pub sql: String,
    pub binds: Vec<Bind>,
}

pub trait Dialect: Sync {
    /// `NOT inner`, where a NULL inner (a missing attribute) must count as "no match".
    fn not(&self, inner: &str) -> String;
    /// `column` (an expression) equal to the pattern (whole value, `*` pieces as wildcards),
    /// case-sensitively. `trigram` names the `users` column when it is in the dialect's
    /// trigram index.
    fn pattern(&self, column: &str, pieces: &[Piece], trigram: Option<&str>, params: &mut Params<'_>) -> String;
    /// The text at `key` of the JSON column `document` (NULL when absent or null).
    fn json_text(&self, document: &str, key: &'static str) -> String;
    /// How a date parameter compares with a timestamp column.
    fn date(&self, placeholder: String) -> String {
        placeholder
    }
}

/// The parameters collected so far, numbering placeholders (`$n`, which both engines read) as
/// they come.
pub struct Params<'a> {
    dialect: &'a dyn Dialect,
    binds: Vec<Bind>,
}

impl Params<'_> {
    pub fn add(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }
}

/// The `users` column holding what search compares for `column` (folded copies for the
/// case-insensitive fields).
pub fn column_name(column: Column) -> &'static str {
    match column {
        Column::UserId => "user_id",
        Column::Email => "email_ci",
        Column::EmailDomain => "email_domain_ci",
        Column::Name => "name_ci",
        Column::GivenName => "given_name_ci",
        Column::FamilyName => "family_name_ci",
        Column::Nickname => "nickname_ci",
        Column::Username => "username",
        Column::PhoneNumber => "phone_number",
        Column::LastIp => "last_ip",
        Column::EmailVerified => "email_verified",
        Column::PhoneVerified => "phone_verified",
        Column::Blocked => "blocked",
        Column::LoginsCount => "logins_count",
        Column::CreatedAt => "created_at",
        Column::UpdatedAt => "updated_at",
        Column::LastLogin => "last_login",
    }
}

/// Columns the stores' trigram indexes cover (SQLite's `users_trigram`, PostgreSQL's pg_trgm
/// indexes; see the 0002 migrations).
pub fn in_trigram_index(column: Column) -> bool {
    matches!(
        column,
        Column::UserId
            | Column::Email
            | Column::Name
            | Column::GivenName
            | Column::FamilyName
            | Column::Nickname
            | Column::Username
            | Column::PhoneNumber
    )
}

/// The smallest string greater than every string starting with `prefix` (UTF-8 byte order is
/// code point order, so bumping the last character bounds the prefix range).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(bumped) = char::from_u32(next) {
            chars.push(bumped);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A `SELECT COUNT(*)` statement for the users matching `query`. A query that is a single
/// metadata equality is counted on its index entries alone (a user has at most one entry per
/// path and value), which is an order of magnitude cheaper than visiting each user.
pub fn count(query: &Query, dialect: &dyn Dialect) -> Condition {
    if let Query::Match(Target::Metadata(source, path), Test::Equals(value)) = query {
        let mut params = Params { dialect, binds: Vec::new() };
        let source = params.add(Bind::Integer(match source {
            Source::App => 0,
            Source::User => 1,
        }));
        let path = params.add(Bind::Text(path.clone()));
        let value = params.add(scalar(value));
        let sql = format!(
            "SELECT COUNT(*) AS total FROM user_metadata_values m WHERE m.source = {source} AND m.path = {path} AND m.value = {value}"
        );
        return Condition { sql, binds: params.binds };
    }
    let condition = compile(query, dialect);
    Condition { sql: format!("SELECT COUNT(*) AS total FROM users u WHERE {}", condition.sql), binds: condition.binds }
}

pub fn compile(query: &Query, dialect: &dyn Dialect) -> Condition {
    let mut params = Params { dialect, binds: Vec::new() };
    let sql = write(query, &mut params);
    Condition { sql, binds: params.binds }
}

fn write(query: &Query, params: &mut Params<'_>) -> String {
    match query {
        // `1 = 1` and `1 = 0` read as booleans in every dialect.
        Query::All => "1 = 1".to_owned(),
        Query::And(items) if items.is_empty() => "1 = 1".to_owned(),
        Query::Or(items) if items.is_empty() => "1 = 0".to_owned(),
        Query::And(items) | Query::Or(items) => {
            let joiner = if matches!(query, Query::And(_)) { " AND " } else { " OR " };
            let parts: Vec<String> = items.iter().map(|item| write(item, params)).collect();
            format!("({})", parts.join(joiner))
        }
        Query::Not(inner) => {
            let inner = write(inner, params);
            params.dialect.not(&inner)
        }
        Query::Match(target, test) => leaf(target, test, params),
    }
}

fn scalar(value: &Scalar) -> Bind {
    match value {
        Scalar::Text(text) => Bind::Text(text.clone()),
        Scalar::Boolean(flag) => Bind::Boolean(*flag),
        Scalar::Integer(number) => Bind::Integer(*number),
    }
}

/// `prefix <= column < prefix_end`, the form a B-tree index serves.
fn prefix_range(column: &str, prefix: &str, params: &mut Params<'_>) -> String {
    let low = params.add(Bind::Text(prefix.to_owned()));
    match prefix_end(prefix) {
        Some(end) => {
            let high = params.add(Bind::Text(end));
            format!("({column} >= {low} AND {column} < {high})")
        }
        None => format!("{column} >= {low}"),
    }
}

/// Bounds on `name` (a column expression).
fn range(name: &str, lower: &Option<Bound>, upper: &Option<Bound>, params: &mut Params<'_>) -> String {
    let value = |bound: &Bound, params: &mut Params<'_>| {
        let placeholder = params.add(scalar(&bound.value));
        if matches!(bound.value, Scalar::Text(_)) { params.dialect.date(placeholder) } else { placeholder }
    };
    let mut parts = Vec::new();
    if let Some(bound) = lower {
        let operator = if bound.inclusive { ">=" } else { ">" };
        parts.push(format!("{name} {operator} {}", value(bound, params)));
    }
    if let Some(bound) = upper {
        let operator = if bound.inclusive { "<=" } else { "<" };
        parts.push(format!("{name} {operator} {}", value(bound, params)));
    }
    if parts.is_empty() {
        parts.push(format!("{name} IS NOT NULL"));
    }
    format!("({})", parts.join(" AND "))
}

fn leaf(target: &Target, test: &Test, params: &mut Params<'_>) -> String {
    match target {
        Target::Column(column) => {
            let bare = column_name(*column);
            let name = format!("u.{bare}");
            match test {
                Test::Equals(value) => format!("{name} = {}", params.add(scalar(value))),
                Test::Prefix(prefix) => prefix_range(&name, prefix, params),
                Test::Pattern { pieces, anchor: Some(anchor) } => {
                    let range = prefix_range(&name, anchor, params);
                    let pattern = params.dialect.pattern(&name, pieces, None, params);
                    format!("({range} AND {pattern})")
                }
                Test::Pattern { pieces, anchor: None } => {
                    let trigram = in_trigram_index(*column).then_some(bare);
                    params.dialect.pattern(&name, pieces, trigram, params)
                }
                Test::Range { lower, upper } => range(&name, lower, upper, params),
                Test::Exists => format!("{name} IS NOT NULL"),
            }
        }
        Target::Log(field) => log_leaf(*field, test, params),
        Target::Identity(field) => {
            let name = match field {
                IdentityField::Connection => "connection",
                IdentityField::Provider => "provider",
                IdentityField::UserId => "provider_user_id",
            };
            match test {
                Test::Equals(value) => format!(
                    "u.user_id IN (SELECT i.user_id FROM identities i WHERE i.{name} = {})",
                    params.add(scalar(value))
                ),
                // Every user has at least one identity.
                _ => "1 = 1".to_owned(),
            }
        }
        Target::Organization => match test {
            Test::Equals(value) => format!(
                "u.user_id IN (SELECT om.user_id FROM organization_members om WHERE om.organization_id = {})",
                params.add(scalar(value))
            ),
            // A member of any organization.
            _ => "u.user_id IN (SELECT om.user_id FROM organization_members om)".to_owned(),
        },
        Target::Metadata(source, path) => {
            let source = params.add(Bind::Integer(match source {
                Source::App => 0,
                Source::User => 1,
            }));
            let lookup = format!("u.seq IN (SELECT m.seq FROM user_metadata_values m WHERE m.source = {source}");
            match test {
                Test::Equals(value) => {
                    let path = params.add(Bind::Text(path.clone()));
                    let value = params.add(scalar(value));
                    format!("{lookup} AND m.path = {path} AND m.value = {value})")
                }
                _ if path.is_empty() => format!("{lookup})"),
                // The path itself, or any leaf below it (`path.` … `path/`).
                _ => {
                    let exact = params.add(Bind::Text(path.clone()));
                    let below = params.add(Bind::Text(format!("{path}.")));
                    let end = params.add(Bind::Text(format!("{path}/")));
                    format!("{lookup} AND (m.path = {exact} OR (m.path >= {below} AND m.path < {end})))")
                }
            }
        }
    }
}

/// A test on a log field. Prefixes and patterns go through the dialect's pattern operator
/// (GLOB, LIKE), which is byte-exact whatever a PostgreSQL column's collation; equality and
/// date ranges use the `logs` indexes.
fn log_leaf(field: LogField, test: &Test, params: &mut Params<'_>) -> String {
    let name = match field.column() {
        Some(column) => format!("l.{column}"),
        None => params.dialect.json_text("l.document", field.field_name()),
    };
    match test {
        Test::Equals(value) => format!("{name} = {}", params.add(scalar(value))),
        Test::Prefix(prefix) => {
            let pieces = [Piece::Literal(prefix.clone()), Piece::Star];
            params.dialect.pattern(&name, &pieces, None, params)
        }
        Test::Pattern { pieces, .. } => params.dialect.pattern(&name, pieces, None, params),
        Test::Range { lower, upper } => range(&name, lower, upper, params),
        Test::Exists => format!("{name} IS NOT NULL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end("jo").as_deref(), Some("jp"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
