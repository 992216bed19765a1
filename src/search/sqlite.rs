//! The SQLite dialect: a typed query becomes a `WHERE` clause over `users u` with `?`
//! parameters. Every value from the query is a bound parameter; the SQL text is built only
//! from the constant names below.
//!
//! Index use: equality, prefixes (`>= p AND < p'`) and ranges use the B-tree indexes of
//! migration 0002; patterns starting with `*` use the FTS5 trigram index `users_trigram`;
//! identities and metadata go through their own indexed tables.

use super::query::{Bound, Column, IdentityField, Query, Scalar, Source, Target, Test};
use super::syntax::Piece;

#[derive(Debug, Clone, PartialEq)]
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

/// Columns the trigram index covers (see migration 0002).
fn in_trigram_index(column: Column) -> bool {
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

pub fn compile(query: &Query) -> Condition {
    let mut out = Condition::default();
    write(query, &mut out);
    out
}

fn write(query: &Query, out: &mut Condition) {
    match query {
        Query::All => out.sql.push('1'),
        Query::And(items) | Query::Or(items) if items.is_empty() => {
            out.sql.push(if matches!(query, Query::And(_)) { '1' } else { '0' })
        }
        Query::And(items) | Query::Or(items) => {
            let joiner = if matches!(query, Query::And(_)) { " AND " } else { " OR " };
            out.sql.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.sql.push_str(joiner);
                }
                write(item, out);
            }
            out.sql.push(')');
        }
        // A missing attribute makes a comparison NULL; NOT must read that as "no match".
        Query::Not(inner) => {
            out.sql.push_str("NOT IFNULL(");
            write(inner, out);
            out.sql.push_str(", 0)");
        }
        Query::Match(target, test) => leaf(target, test, out),
    }
}

fn push(out: &mut Condition, sql: &str, binds: impl IntoIterator<Item = Bind>) {
    out.sql.push_str(sql);
    out.binds.extend(binds);
}

fn scalar(value: &Scalar) -> Bind {
    match value {
        Scalar::Text(text) => Bind::Text(text.clone()),
        Scalar::Boolean(flag) => Bind::Boolean(*flag),
        Scalar::Integer(number) => Bind::Integer(*number),
    }
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

/// `prefix <= column < prefix_end`, the form a B-tree index serves.
fn prefix_range(column: &str, prefix: &str, out: &mut Condition) {
    match prefix_end(prefix) {
        Some(end) => push(
            out,
            &format!("(u.{column} >= ? AND u.{column} < ?)"),
            [Bind::Text(prefix.to_owned()), Bind::Text(end)],
        ),
        None => push(out, &format!("u.{column} >= ?"), [Bind::Text(prefix.to_owned())]),
    }
}

/// A GLOB pattern matching the pieces exactly (GLOB is case-sensitive and whole-value).
pub fn glob(pieces: &[Piece]) -> String {
    let mut pattern = String::new();
    for piece in pieces {
        match piece {
            Piece::Star => pattern.push('*'),
            Piece::Literal(text) => {
                for c in text.chars() {
                    match c {
                        '*' => pattern.push_str("[*]"),
                        '?' => pattern.push_str("[?]"),
                        '[' => pattern.push_str("[[]"),
                        other => pattern.push(other),
                    }
                }
            }
        }
    }
    pattern
}

fn range(column: &str, lower: &Option<Bound>, upper: &Option<Bound>, out: &mut Condition) {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    if let Some(bound) = lower {
        parts.push(format!("u.{column} {} ?", if bound.inclusive { ">=" } else { ">" }));
        binds.push(scalar(&bound.value));
    }
    if let Some(bound) = upper {
        parts.push(format!("u.{column} {} ?", if bound.inclusive { "<=" } else { "<" }));
        binds.push(scalar(&bound.value));
    }
    if parts.is_empty() {
        parts.push(format!("u.{column} IS NOT NULL"));
    }
    push(out, &format!("({})", parts.join(" AND ")), binds);
}

fn leaf(target: &Target, test: &Test, out: &mut Condition) {
    match target {
        Target::Column(column) => {
            let name = column_name(*column);
            match test {
                Test::Equals(value) => push(out, &format!("u.{name} = ?"), [scalar(value)]),
                Test::Prefix(prefix) => prefix_range(name, prefix, out),
                Test::Pattern { pieces, anchor: Some(anchor) } => {
                    out.sql.push('(');
                    prefix_range(name, anchor, out);
                    push(out, &format!(" AND u.{name} GLOB ?)"), [Bind::Text(glob(pieces))]);
                }
                Test::Pattern { pieces, anchor: None } if in_trigram_index(*column) => push(
                    out,
                    &format!(
                        "(u.seq IN (SELECT rowid FROM users_trigram WHERE users_trigram.{name} GLOB ?) AND u.{name} GLOB ?)"
                    ),
                    [Bind::Text(glob(pieces)), Bind::Text(glob(pieces))],
                ),
                Test::Pattern { pieces, anchor: None } => {
                    push(out, &format!("u.{name} GLOB ?"), [Bind::Text(glob(pieces))])
                }
                Test::Range { lower, upper } => range(name, lower, upper, out),
                Test::Exists => push(out, &format!("u.{name} IS NOT NULL"), []),
            }
        }
        Target::Identity(field) => {
            let name = match field {
                IdentityField::Connection => "connection",
                IdentityField::Provider => "provider",
                IdentityField::UserId => "provider_user_id",
            };
            match test {
                Test::Equals(value) => push(
                    out,
                    &format!("u.user_id IN (SELECT i.user_id FROM identities i WHERE i.{name} = ?)"),
                    [scalar(value)],
                ),
                // Every user has at least one identity.
                _ => out.sql.push('1'),
            }
        }
        Target::Metadata(source, path) => {
            let source = Bind::Integer(match source {
                Source::App => 0,
                Source::User => 1,
            });
            let lookup = "u.seq IN (SELECT m.seq FROM user_metadata_values m WHERE m.source = ?";
            match test {
                Test::Equals(value) => push(
                    out,
                    &format!("{lookup} AND m.path = ? AND m.value = ?)"),
                    [source, Bind::Text(path.clone()), scalar(value)],
                ),
                _ if path.is_empty() => push(out, &format!("{lookup})"), [source]),
                // The path itself, or any leaf below it (`path.` … `path/`).
                _ => push(
                    out,
                    &format!("{lookup} AND (m.path = ? OR (m.path >= ? AND m.path < ?)))"),
                    [source, Bind::Text(path.clone()), Bind::Text(format!("{path}.")), Bind::Text(format!("{path}/"))],
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::parse;

    fn sql(q: &str) -> Condition {
        compile(&parse(q).unwrap())
    }

    #[test]
    fn user_input_is_always_bound() {
        let condition = sql("email:\"x'); DROP TABLE users; --\" OR name:Robert*");
        assert!(!condition.sql.contains("DROP"), "{}", condition.sql);
        assert_eq!(condition.binds[0], Bind::Text("x'); drop table users; --".into()));
    }

    #[test]
    fn shapes() {
        assert_eq!(sql("email:a@b.co").sql, "u.email_ci = ?");
        assert_eq!(sql("name:jo*").sql, "(u.name_ci >= ? AND u.name_ci < ?)");
        assert_eq!(sql("name:jo*").binds, [Bind::Text("jo".into()), Bind::Text("jp".into())]);
        assert!(sql("name:*ohn*").sql.contains("users_trigram.name_ci GLOB ?"));
        assert_eq!(sql("NOT blocked:true").sql, "NOT IFNULL(u.blocked = ?, 0)");
        assert_eq!(sql("logins_count:{1 TO 5]").sql, "(u.logins_count > ? AND u.logins_count <= ?)");
        assert!(sql("identities.connection:sms").sql.contains("FROM identities i WHERE i.connection = ?"));
        assert!(sql("app_metadata.plan:gold").sql.contains("m.path = ? AND m.value = ?"));
    }

    #[test]
    fn glob_escapes_its_own_wildcards() {
        assert_eq!(glob(&[Piece::Star, Piece::Literal("a*b?[c".into()), Piece::Star]), "*a[*]b[?][[]c*");
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end("jo").as_deref(), Some("jp"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
