//! A user search as the API asks for it: the query, the order (`sort=field:1|-1`) and the slice
//! of the matches (Auth0's pages, or Roster's cursor), and the statement that selects it.

use super::query::{LogField, Query, Target};
use super::sql::{self, Bind, Condition, Dialect};
use crate::domain::user::User;

/// Columns a user listing can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    UserId,
    Email,
    Username,
    PhoneNumber,
    Name,
    Nickname,
    GivenName,
    FamilyName,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LoginsCount,
    LastPasswordReset,
    Blocked,
    EmailVerified,
}

impl SortField {
    /// The field's name in `sort`, and the column it orders by, as static SQL text: user input
    /// never reaches the query text. Case-insensitive attributes sort by their folded copies.
    const FIELDS: [(&'static str, SortField, &'static str); 15] = [
        ("user_id", Self::UserId, "user_id"),
        ("email", Self::Email, "email_ci"),
        ("username", Self::Username, "username"),
        ("phone_number", Self::PhoneNumber, "phone_number"),
        ("name", Self::Name, "name_ci"),
        ("nickname", Self::Nickname, "nickname_ci"),
        ("given_name", Self::GivenName, "given_name_ci"),
        ("family_name", Self::FamilyName, "family_name_ci"),
        ("created_at", Self::CreatedAt, "created_at"),
        ("updated_at", Self::UpdatedAt, "updated_at"),
        ("last_login", Self::LastLogin, "last_login"),
        ("logins_count", Self::LoginsCount, "logins_count"),
        ("last_password_reset", Self::LastPasswordReset, "last_password_reset"),
        ("blocked", Self::Blocked, "blocked"),
        ("email_verified", Self::EmailVerified, "email_verified"),
    ];

    pub fn parse(field: &str) -> Option<Self> {
        Self::FIELDS.iter().find(|(name, _, _)| *name == field).map(|(_, sort, _)| *sort)
    }

    pub fn column(self) -> &'static str {
        Self::FIELDS.iter().find(|(_, sort, _)| *sort == self).map(|(_, _, column)| *column).unwrap_or("seq")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

/// Which slice of the matches a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Auth0's `page`/`per_page`.
    Page { offset: u64, limit: u64 },
    /// Roster's cursor extension: the matches after the one with this `seq`, in creation order.
    After { after: Option<i64>, limit: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserSearch {
    pub query: Query,
    pub sort: Option<Sort>,
    pub window: Window,
    pub with_total: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub users: Vec<User>,
    pub total: Option<u64>,
    /// With `Window::After`: the cursor to continue from, when more matches may follow.
    pub next: Option<i64>,
}

/// `SELECT u.seq, <columns> FROM users u …`: the slice of the matches `search` asks for, in its
/// order. After a cursor, one row more than asked is selected: it tells whether more follow.
pub fn select(search: &UserSearch, columns: &str, dialect: &dyn Dialect) -> Condition {
    let condition = sql::compile(&search.query, dialect);
    let mut binds = condition.binds;
    let mut parameter = |bind: Bind| {
        binds.push(bind);
        format!("${}", binds.len())
    };
    let clamp = |n: u64| Bind::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let window = match search.window {
        Window::Page { offset, limit } => {
            // NULLs first ascending, last descending: SQLite's default, said for PostgreSQL.
            let order = match search.sort {
                Some(sort) if sort.descending => format!("u.{} DESC NULLS LAST, u.seq DESC", sort.field.column()),
                Some(sort) => format!("u.{} ASC NULLS FIRST, u.seq ASC", sort.field.column()),
                None => "u.seq ASC".to_owned(),
            };
            let (limit, offset) = (parameter(clamp(limit)), parameter(clamp(offset)));
            format!("ORDER BY {order} LIMIT {limit} OFFSET {offset}")
        }
        Window::After { after, limit } => {
            let after = parameter(Bind::Integer(after.unwrap_or(0)));
            let limit = parameter(clamp(limit.saturating_add(1)));
            format!("AND u.seq > {after} ORDER BY u.seq ASC LIMIT {limit}")
        }
    };
    let columns = columns.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    Condition { sql: format!("SELECT u.seq, {columns} FROM users u WHERE {} {window}", condition.sql), binds }
}

/// Columns a log listing can be ordered by (`sort=field:1|-1`): the `logs` columns.
pub const LOG_SORT_FIELDS: [(&str, &str); 8] = [
    ("date", "date"),
    ("log_id", "log_id"),
    ("type", "type"),
    ("user_id", "user_id"),
    ("user_name", "user_name"),
    ("client_id", "client_id"),
    ("connection", "connection"),
    ("ip", "ip"),
];

/// A log listing's order: a column of `LOG_SORT_FIELDS` (static SQL text), or, without one,
/// newest first in the order events were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSort {
    pub column: &'static str,
    pub descending: bool,
}

impl LogSort {
    pub fn parse(field: &str, descending: bool) -> Option<Self> {
        LOG_SORT_FIELDS.iter().find(|(name, _)| *name == field).map(|(_, column)| Self { column, descending })
    }
}

/// Which log events a listing returns.
#[derive(Debug, Clone, PartialEq)]
pub enum LogWindow {
    /// `page`/`per_page`, in `sort` order.
    Page { query: Query, sort: Option<LogSort>, offset: u64, limit: u64 },
    /// Auth0's checkpoint: the events after `from` (a log id) in log id order.
    After { from: String, take: u64 },
}

/// An event's columns: its document, and its caller's scopes when stored apart
/// (`log_scopes`; `log_event::with_scopes` puts them back).
pub const SELECT_LOG: &str = "SELECT l.document, s.scopes FROM logs l LEFT JOIN log_scopes s ON s.key = l.scopes_key";

/// `SELECT_LOG` of the events `window` asks for.
pub fn select_logs(window: &LogWindow, dialect: &dyn Dialect) -> Condition {
    let clamp = |n: u64| Bind::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    match window {
        LogWindow::Page { query, sort, offset, limit } => {
            let condition = sql::compile(query, dialect);
            let mut binds = condition.binds;
            let order = match sort {
                Some(sort) if sort.descending => format!("l.{} DESC NULLS LAST, l.seq DESC", sort.column),
                Some(sort) => format!("l.{} ASC NULLS FIRST, l.seq ASC", sort.column),
                // Events are written in date order, so this is write order too; said so, the
                // `logs_date` range serves it. Ordered by `seq`, PostgreSQL walked the primary
                // key back through every newer event instead (~1 s for a day of 1M events).
                None if bounds_date(query) => "l.date DESC, l.seq DESC".to_owned(),
                None => "l.seq DESC".to_owned(),
            };
            binds.push(clamp(*limit));
            binds.push(clamp(*offset));
            let (limit, offset) = (binds.len() - 1, binds.len());
            // The page's rows are chosen by `seq` alone, then their documents read: a sort
            // over many matches (a date range in write order) then sorts keys, not events.
            let sql = format!(
                "{SELECT_LOG} WHERE l.seq IN (SELECT l.seq FROM logs l WHERE {} ORDER BY {order} LIMIT ${limit} \
                 OFFSET ${offset}) ORDER BY {order}",
                condition.sql
            );
            Condition { sql, binds }
        }
        LogWindow::After { from, take } => Condition {
            sql: format!("{SELECT_LOG} WHERE l.log_id > $1 ORDER BY l.log_id ASC LIMIT $2"),
            binds: vec![Bind::Text(from.clone()), clamp(*take)],
        },
    }
}

/// Whether every event `query` matches has its date tested: a `date` term, alone or in a
/// conjunction.
fn bounds_date(query: &Query) -> bool {
    match query {
        Query::Match(Target::Log(LogField::Date), _) => true,
        Query::And(terms) => terms.iter().any(bounds_date),
        _ => false,
    }
}

/// `SELECT COUNT(*) AS total FROM logs l WHERE …`.
pub fn count_logs(query: &Query, dialect: &dyn Dialect) -> Condition {
    let condition = sql::compile(query, dialect);
    Condition { sql: format!("SELECT COUNT(*) AS total FROM logs l WHERE {}", condition.sql), binds: condition.binds }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_bounded_page_is_ordered_by_date() {
        use crate::search::query::{Fields, parse_in};
        let order_of = |q: &str| {
            let window =
                LogWindow::Page { query: parse_in(q, Fields::Logs).unwrap(), sort: None, offset: 0, limit: 10 };
            let sql = select_logs(&window, &crate::search::postgres::Postgres).sql;
            sql.rsplit("ORDER BY ").next().unwrap().to_owned()
        };
        assert_eq!(order_of("date:[2026-11-26 TO 2026-11-26]"), "l.date DESC, l.seq DESC");
        assert_eq!(order_of("type:fp AND date:[2026-11-26 TO *]"), "l.date DESC, l.seq DESC");
        assert_eq!(order_of("type:fp"), "l.seq DESC");
        assert_eq!(order_of("type:fp OR date:[2026-11-26 TO *]"), "l.seq DESC");
    }

    #[test]
    fn every_sort_field_has_its_column() {
        for (name, field, column) in SortField::FIELDS {
            assert_eq!((SortField::parse(name), field.column()), (Some(field), column));
        }
        assert_eq!(SortField::parse("app_metadata"), None);
    }
}
