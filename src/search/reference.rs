//! A reference evaluator: applies a typed query to a user in memory, written independently of
//! the SQL compilers (it walks metadata JSON itself rather than using the store's side table)
//! so that property tests can check each store against it. Searches also use it for the
//! versions a lagging index still holds (`lag`), which are in no table.

use serde_json::Value;

use super::query::{Bound, Column, IdentityField, Query, Scalar, Source, Target, Test};
use super::syntax::Piece;
use crate::domain::time;
use crate::domain::user::{User, fold_case};

/// Whether `user`, a member of `organizations` (their ids), matches `query`.
pub fn matches(query: &Query, user: &User, organizations: &[&str]) -> bool {
    match query {
        Query::All => true,
        Query::And(items) => items.iter().all(|q| matches(q, user, organizations)),
        Query::Or(items) => items.iter().any(|q| matches(q, user, organizations)),
        Query::Not(inner) => !matches(inner, user, organizations),
        Query::Match(target, test) => match target {
            Target::Organization => match test {
                Test::Equals(Scalar::Text(id)) => organizations.contains(&id.as_str()),
                Test::Exists => !organizations.is_empty(),
                _ => false,
            },
            Target::Column(column) => column_matches(*column, test, user),
            Target::Log(_) => unreachable!("a user query names no log field"),
            Target::Identity(field) => user.identities.iter().any(|identity| {
                let value = match field {
                    IdentityField::Connection => &identity.connection,
                    IdentityField::Provider => &identity.provider,
                    IdentityField::UserId => &identity.user_id,
                };
                match test {
                    Test::Equals(Scalar::Text(text)) => value == text,
                    Test::Exists => true,
                    _ => false,
                }
            }),
            Target::Metadata(source, path) => {
                let metadata = match source {
                    Source::App => &user.app_metadata,
                    Source::User => &user.user_metadata,
                };
                let Some(metadata) = metadata else { return false };
                let root = Value::Object(metadata.clone());
                match test {
                    // Exists: any value at the path or below it.
                    Test::Exists if path.is_empty() => !scalars(&root).is_empty(),
                    Test::Exists => !at_path(&root, path, true).is_empty(),
                    // Equality: only values stored at the path itself (through arrays).
                    Test::Equals(Scalar::Text(text)) => at_path(&root, path, false).iter().any(|v| as_text(v) == *text),
                    _ => false,
                }
            }
        },
    }
}

/// Every scalar under `value`, arrays and objects descended.
fn scalars(value: &Value) -> Vec<Value> {
    match value {
        Value::Null => vec![],
        Value::Object(object) => object.values().flat_map(scalars).collect(),
        Value::Array(items) => items.iter().flat_map(scalars).collect(),
        scalar => vec![scalar.clone()],
    }
}

/// The scalars at a dotted path, ignoring array levels on the way; with `below`, also those
/// in objects below it.
fn at_path(value: &Value, path: &str, below: bool) -> Vec<Value> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    match value {
        Value::Array(items) => items.iter().flat_map(|item| at_path(item, path, below)).collect(),
        Value::Object(object) => match (object.get(head), rest) {
            (None, _) => vec![],
            (Some(inner), None) if below => scalars(inner),
            (Some(inner), None) => direct_scalars(inner),
            (Some(inner), Some(rest)) => at_path(inner, rest, below),
        },
        _ => vec![],
    }
}

/// A scalar, or the scalars of (nested) arrays, but nothing inside objects.
fn direct_scalars(value: &Value) -> Vec<Value> {
    match value {
        Value::Null | Value::Object(_) => vec![],
        Value::Array(items) => items.iter().flat_map(direct_scalars).collect(),
        scalar => vec![scalar.clone()],
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

enum Attribute {
    Text(String),
    Boolean(bool),
    Integer(i64),
}

fn attribute(column: Column, user: &User) -> Option<Attribute> {
    let text = |value: &Option<String>| value.clone().map(Attribute::Text);
    let folded = |value: &Option<String>| value.as_deref().map(|v| Attribute::Text(fold_case(v)));
    match column {
        Column::UserId => Some(Attribute::Text(user.user_id.clone())),
        Column::Email => folded(&user.email),
        Column::EmailDomain => {
            user.email.as_deref().and_then(|e| e.rsplit_once('@')).map(|(_, domain)| Attribute::Text(fold_case(domain)))
        }
        Column::Name => folded(&user.name),
        Column::GivenName => folded(&user.given_name),
        Column::FamilyName => folded(&user.family_name),
        Column::Nickname => folded(&user.nickname),
        Column::Username => text(&user.username),
        Column::PhoneNumber => text(&user.phone_number),
        Column::LastIp => text(&user.last_ip),
        Column::EmailVerified => user.email_verified.map(Attribute::Boolean),
        Column::PhoneVerified => user.phone_verified.map(Attribute::Boolean),
        Column::Blocked => user.blocked.map(Attribute::Boolean),
        Column::LoginsCount => user.logins_count.map(Attribute::Integer),
        Column::CreatedAt => Some(Attribute::Text(time::format(&user.created_at))),
        Column::UpdatedAt => Some(Attribute::Text(time::format(&user.updated_at))),
        Column::LastLogin => user.last_login.as_ref().map(|t| Attribute::Text(time::format(t))),
    }
}

fn column_matches(column: Column, test: &Test, user: &User) -> bool {
    let Some(value) = attribute(column, user) else { return false };
    match (test, &value) {
        (Test::Exists, _) => true,
        (Test::Equals(Scalar::Text(want)), Attribute::Text(have)) => have == want,
        (Test::Equals(Scalar::Boolean(want)), Attribute::Boolean(have)) => have == want,
        (Test::Equals(Scalar::Integer(want)), Attribute::Integer(have)) => have == want,
        (Test::Prefix(prefix), Attribute::Text(have)) => have.starts_with(prefix.as_str()),
        (Test::Pattern { pieces, .. }, Attribute::Text(have)) => wildcard_match(pieces, have),
        (Test::Range { lower, upper }, _) => {
            within(&value, lower.as_ref(), true) && within(&value, upper.as_ref(), false)
        }
        _ => false,
    }
}

fn within(value: &Attribute, bound: Option<&Bound>, is_lower: bool) -> bool {
    let Some(bound) = bound else { return true };
    let ordering = match (value, &bound.value) {
        (Attribute::Integer(have), Scalar::Integer(limit)) => have.cmp(limit),
        (Attribute::Text(have), Scalar::Text(limit)) => have.as_str().cmp(limit.as_str()),
        _ => return false,
    };
    match (is_lower, bound.inclusive) {
        (true, true) => ordering.is_ge(),
        (true, false) => ordering.is_gt(),
        (false, true) => ordering.is_le(),
        (false, false) => ordering.is_lt(),
    }
}

/// Whole-value match of `*` patterns, by backtracking over the pieces.
fn wildcard_match(pieces: &[Piece], text: &str) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Literal(literal), rest)) => {
            text.strip_prefix(literal.as_str()).is_some_and(|remaining| wildcard_match(rest, remaining))
        }
        Some((Piece::Star, rest)) => {
            text.char_indices().map(|(i, _)| i).chain([text.len()]).any(|i| wildcard_match(rest, &text[i..]))
        }
    }
}
