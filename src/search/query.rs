//! The typed search query: what to match, on which of Auth0's searchable fields, checked
//! against Auth0's rules. Both SQL dialects compile from this, and the tests' reference
//! evaluator interprets it.
//!
//! One parser serves two field sets (`Fields`): users (`GET /users?q=`) and log events
//! (`GET /logs?q=`). The syntax, the tests a value makes (equality, prefix, pattern, range,
//! exists) and date periods are shared; which names exist and what kind each is differ.

use super::syntax::{self, Expr, Piece, Value};
use crate::domain::time;
use crate::domain::user::fold_case;

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    All,
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
    Match(Target, Test),
}

/// A searchable attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Column(Column),
    Identity(IdentityField),
    /// A dotted path into `app_metadata` or `user_metadata`; empty for the whole object.
    Metadata(Source, String),
    /// Membership of an organization, by its id (`organization_id:"org_…"`).
    Organization,
    /// An attribute of a log event.
    Log(LogField),
}

/// Which records a query searches: the fields it may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    Users,
    Logs,
}

/// Attributes of a log event that search can reach: those with a column of their own in
/// `logs` (indexed: `type`, `user_id`, `client_id`, `date`, `log_id`), and the rest of the
/// event's text attributes, read from its stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    LogId,
    Date,
    Type,
    UserId,
    UserName,
    ClientId,
    Connection,
    Ip,
    Description,
    ClientName,
    ConnectionId,
    UserAgent,
    Hostname,
    Audience,
    Scope,
    Strategy,
    StrategyType,
}

impl LogField {
    pub const ALL: [LogField; 17] = [
        LogField::LogId,
        LogField::Date,
        LogField::Type,
        LogField::UserId,
        LogField::UserName,
        LogField::ClientId,
        LogField::Connection,
        LogField::Ip,
        LogField::Description,
        LogField::ClientName,
        LogField::ConnectionId,
        LogField::UserAgent,
        LogField::Hostname,
        LogField::Audience,
        LogField::Scope,
        LogField::Strategy,
        LogField::StrategyType,
    ];

    /// The name a query uses, which is also the key of the rendered event.
    pub fn field_name(self) -> &'static str {
        match self {
            LogField::LogId => "log_id",
            LogField::Date => "date",
            LogField::Type => "type",
            LogField::UserId => "user_id",
            LogField::UserName => "user_name",
            LogField::ClientId => "client_id",
            LogField::Connection => "connection",
            LogField::Ip => "ip",
            LogField::Description => "description",
            LogField::ClientName => "client_name",
            LogField::ConnectionId => "connection_id",
            LogField::UserAgent => "user_agent",
            LogField::Hostname => "hostname",
            LogField::Audience => "audience",
            LogField::Scope => "scope",
            LogField::Strategy => "strategy",
            LogField::StrategyType => "strategy_type",
        }
    }

    /// The `logs` column holding the field, or `None` for one read from the document.
    pub fn column(self) -> Option<&'static str> {
        match self {
            LogField::LogId => Some("log_id"),
            LogField::Date => Some("date"),
            LogField::Type => Some("type"),
            LogField::UserId => Some("user_id"),
            LogField::UserName => Some("user_name"),
            LogField::ClientId => Some("client_id"),
            LogField::Connection => Some("connection"),
            LogField::Ip => Some("ip"),
            _ => None,
        }
    }

    /// Every log field is text compared as written, but the date.
    pub fn kind(self) -> Kind {
        if self == LogField::Date { Kind::Date } else { Kind::Text }
    }

    fn parse(name: &str) -> Option<Self> {
        LogField::ALL.into_iter().find(|f| f.field_name() == name)
    }
}

/// Fields a bare term searches in log events (Auth0's log query syntax page lists these seven;
/// the spec's `search` parameter names the first three).
pub const DEFAULT_LOG_FIELDS: [LogField; 7] = [
    LogField::ClientName,
    LogField::Connection,
    LogField::UserName,
    LogField::Type,
    LogField::Ip,
    LogField::LogId,
    LogField::Description,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    App,
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    Connection,
    Provider,
    UserId,
}

/// Root attributes of a user that search can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    UserId,
    Email,
    EmailDomain,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Username,
    PhoneNumber,
    LastIp,
    EmailVerified,
    PhoneVerified,
    Blocked,
    LoginsCount,
    CreatedAt,
    UpdatedAt,
    LastLogin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Compared as written.
    Text,
    /// Compared case-folded (Auth0's normalised fields).
    FoldedText,
    Boolean,
    Integer,
    Date,
}

impl Column {
    pub const ALL: [Column; 17] = [
        Column::UserId,
        Column::Email,
        Column::EmailDomain,
        Column::Name,
        Column::GivenName,
        Column::FamilyName,
        Column::Nickname,
        Column::Username,
        Column::PhoneNumber,
        Column::LastIp,
        Column::EmailVerified,
        Column::PhoneVerified,
        Column::Blocked,
        Column::LoginsCount,
        Column::CreatedAt,
        Column::UpdatedAt,
        Column::LastLogin,
    ];

    /// The name a query uses.
    pub fn field_name(self) -> &'static str {
        match self {
            Column::UserId => "user_id",
            Column::Email => "email",
            Column::EmailDomain => "email.domain",
            Column::Name => "name",
            Column::GivenName => "given_name",
            Column::FamilyName => "family_name",
            Column::Nickname => "nickname",
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

    pub fn kind(self) -> Kind {
        match self {
            Column::Email
            | Column::EmailDomain
            | Column::Name
            | Column::GivenName
            | Column::FamilyName
            | Column::Nickname => Kind::FoldedText,
            Column::UserId | Column::Username | Column::PhoneNumber | Column::LastIp => Kind::Text,
            Column::EmailVerified | Column::PhoneVerified | Column::Blocked => Kind::Boolean,
            Column::LoginsCount => Kind::Integer,
            Column::CreatedAt | Column::UpdatedAt | Column::LastLogin => Kind::Date,
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Column::ALL.into_iter().find(|c| c.field_name() == name)
    }
}

/// Fields a bare term (no `field:`) searches: Auth0's normalised profile fields.
pub const DEFAULT_FIELDS: [Column; 5] =
    [Column::Email, Column::Name, Column::GivenName, Column::FamilyName, Column::Nickname];

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Whole-value equality (text already case-folded for folded fields).
    Equals(Scalar),
    /// Text starting with this (folded for folded fields).
    Prefix(String),
    /// A `*` pattern; when it does not start with `*`, `anchor` is its literal prefix.
    Pattern {
        pieces: Vec<Piece>,
        anchor: Option<String>,
    },
    /// Bounds on an integer or a date (dates as stored: ISO-8601 with milliseconds).
    Range {
        lower: Option<Bound>,
        upper: Option<Bound>,
    },
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Boolean(bool),
    Integer(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub value: Scalar,
    pub inclusive: bool,
}

/// A query Auth0 would refuse, with a message that points at the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

type Result<T> = std::result::Result<T, QueryError>;

fn refuse<T>(message: impl Into<String>) -> Result<T> {
    Err(QueryError(message.into()))
}

/// Parses and checks a `q` value of a user search.
pub fn parse(q: &str) -> Result<Query> {
    parse_in(q, Fields::Users)
}

/// Parses and checks a `q` value over `fields`.
pub fn parse_in(q: &str, fields: Fields) -> Result<Query> {
    let expr = syntax::parse(q).map_err(|e| QueryError(e.to_string()))?;
    analyze(&expr, fields)
}

fn analyze(expr: &Expr, fields: Fields) -> Result<Query> {
    let all = |items: &[Expr]| items.iter().map(|item| analyze(item, fields)).collect::<Result<_>>();
    Ok(match expr {
        Expr::All => Query::All,
        Expr::And(items) => Query::And(all(items)?),
        Expr::Or(items) => Query::Or(all(items)?),
        Expr::Not(inner) => Query::Not(Box::new(analyze(inner, fields)?)),
        Expr::Term(term) => {
            let at = |message: String| QueryError(format!("{message} (at position {})", term.position));
            match term.field.as_deref() {
                None => {
                    let defaults: Vec<Target> = match fields {
                        Fields::Users => DEFAULT_FIELDS.iter().map(|c| Target::Column(*c)).collect(),
                        Fields::Logs => DEFAULT_LOG_FIELDS.iter().map(|f| Target::Log(*f)).collect(),
                    };
                    let tests: Vec<Query> = defaults
                        .into_iter()
                        .map(|target| test_for(&target, &term.value).map(|test| Query::Match(target, test)))
                        .collect::<Result<_>>()
                        .map_err(|e| at(e.0))?;
                    Query::Or(tests)
                }
                Some("_exists_") => {
                    let Some(name) = term.value.literal() else {
                        return Err(at("_exists_ takes a field name".into()));
                    };
                    Query::Match(target(&name, fields).map_err(|e| at(e.0))?, Test::Exists)
                }
                Some(name) => {
                    let target = target(name, fields).map_err(|e| at(e.0))?;
                    let test = test_for(&target, &term.value).map_err(|e| at(e.0))?;
                    Query::Match(target, test)
                }
            }
        }
    })
}

fn target(name: &str, fields: Fields) -> Result<Target> {
    if fields == Fields::Logs {
        return match LogField::parse(name) {
            Some(field) => Ok(Target::Log(field)),
            None => refuse(format!("the field {name} is not searchable")),
        };
    }
    if let Some(column) = Column::parse(name) {
        return Ok(Target::Column(column));
    }
    for (prefix, source) in [("app_metadata", Source::App), ("user_metadata", Source::User)] {
        if name == prefix {
            return Ok(Target::Metadata(source, String::new()));
        }
        if let Some(path) = name.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.')) {
            if path.split('.').any(str::is_empty) {
                return refuse(format!("invalid metadata path {name}"));
            }
            return Ok(Target::Metadata(source, path.to_owned()));
        }
    }
    match name {
        "identities.connection" => Ok(Target::Identity(IdentityField::Connection)),
        "identities.provider" => Ok(Target::Identity(IdentityField::Provider)),
        "identities.user_id" => Ok(Target::Identity(IdentityField::UserId)),
        "organization_id" => Ok(Target::Organization),
        _ => refuse(format!("the field {name} is not searchable")),
    }
}

fn test_for(target: &Target, value: &Value) -> Result<Test> {
    match target {
        Target::Column(column) => {
            let name = column.field_name();
            match column.kind() {
                Kind::Text => text_test(name, false, value),
                Kind::FoldedText => text_test(name, true, value),
                Kind::Boolean => match value.literal().as_deref() {
                    Some("true") => Ok(Test::Equals(Scalar::Boolean(true))),
                    Some("false") => Ok(Test::Equals(Scalar::Boolean(false))),
                    _ if is_star(value) => Ok(Test::Exists),
                    _ => refuse(format!("{name} takes true or false")),
                },
                Kind::Integer => integer_test(name, value),
                Kind::Date => date_test(name, value),
            }
        }
        Target::Log(field) => match field.kind() {
            Kind::Date => date_test(field.field_name(), value),
            _ => text_test(field.field_name(), false, value),
        },
        // An organization id, whole: Auth0's docs search members with `organization_id:"org_…"`.
        Target::Organization => match value {
            Value::Range { .. } => refuse("range searches are not supported on organization_id"),
            _ if is_star(value) => Ok(Test::Exists),
            _ => match value.literal() {
                Some(text) => Ok(Test::Equals(Scalar::Text(text))),
                None => refuse("wildcard searches are not supported on organization_id"),
            },
        },
        Target::Identity(_) | Target::Metadata(..) => {
            let name = match target {
                Target::Metadata(Source::App, path) => format!("app_metadata.{path}"),
                Target::Metadata(Source::User, path) => format!("user_metadata.{path}"),
                _ => "identities".to_owned(),
            };
            if let Target::Metadata(_, path) = target
                && path.is_empty()
            {
                return refuse(format!("search a path inside {}, such as {name}plan", name.trim_end_matches('.')));
            }
            match value {
                Value::Range { .. } => refuse(format!("range searches are not supported on {name}")),
                _ if is_star(value) => Ok(Test::Exists),
                _ => match value.literal() {
                    Some(text) => Ok(Test::Equals(Scalar::Text(text))),
                    None => refuse(format!("wildcard searches are not supported on {name}")),
                },
            }
        }
    }
}

fn is_star(value: &Value) -> bool {
    matches!(value, Value::Word(pieces) if pieces == &[Piece::Star])
}

/// Equality, prefix or pattern on a text field (`folded`: compared case-folded).
fn text_test(name: &str, folded: bool, value: &Value) -> Result<Test> {
    let fold = |text: &str| if folded { fold_case(text) } else { text.to_owned() };
    match value {
        Value::Phrase(text) => Ok(Test::Equals(Scalar::Text(fold(text)))),
        Value::Range { .. } => refuse(format!("range searches are not supported on {name}")),
        Value::Word(pieces) => {
            let pieces: Vec<Piece> = pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Literal(text) => Piece::Literal(fold(text)),
                    Piece::Star => Piece::Star,
                })
                .collect();
            match pieces.as_slice() {
                [] => Ok(Test::Equals(Scalar::Text(String::new()))),
                [Piece::Literal(text)] => Ok(Test::Equals(Scalar::Text(text.clone()))),
                [Piece::Star] => Ok(Test::Exists),
                [Piece::Literal(prefix), Piece::Star] => Ok(Test::Prefix(prefix.clone())),
                [Piece::Literal(prefix), ..] => {
                    Ok(Test::Pattern { anchor: Some(prefix.clone()), pieces: pieces.clone() })
                }
                _ => {
                    let longest = pieces
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Literal(text) => Some(text.chars().count()),
                            Piece::Star => None,
                        })
                        .max()
                        .unwrap_or(0);
                    if longest < 3 {
                        return refuse(format!(
                            "a wildcard search that starts with '*' needs at least 3 consecutive characters besides wildcards on {name}"
                        ));
                    }
                    Ok(Test::Pattern { anchor: None, pieces })
                }
            }
        }
    }
}

fn integer_test(name: &str, value: &Value) -> Result<Test> {
    let parse = |text: &str| {
        text.parse::<i64>().map(Scalar::Integer).map_err(|_| QueryError(format!("{name} takes an integer, not {text}")))
    };
    match value {
        Value::Range { lower, lower_inclusive, upper, upper_inclusive } => Ok(Test::Range {
            lower: lower.as_deref().map(parse).transpose()?.map(|value| Bound { value, inclusive: *lower_inclusive }),
            upper: upper.as_deref().map(parse).transpose()?.map(|value| Bound { value, inclusive: *upper_inclusive }),
        }),
        _ if is_star(value) => Ok(Test::Exists),
        _ => match value.literal() {
            Some(text) => Ok(Test::Equals(parse(&text)?)),
            None => refuse(format!("wildcard searches are not supported on {name}")),
        },
    }
}

/// Dates match by period: `2017-11` is the whole of November, so equality is a range, and a
/// bound rounds to the start or the end of its period the way it is inclusive.
fn date_test(name: &str, value: &Value) -> Result<Test> {
    let period = |text: &str| {
        period_of(text).ok_or_else(|| {
            QueryError(format!("{name} takes a date such as 2024-01-31 or 2024-01-31T12:00:00.000Z, not {text}"))
        })
    };
    let text = |t: String| Scalar::Text(t);
    match value {
        Value::Range { lower, lower_inclusive, upper, upper_inclusive } => {
            let lower = match lower {
                None => None,
                Some(bound) => {
                    let (start, end) = period(bound)?;
                    // [2017-11 … starts at the period; {2017-11 … after its end.
                    Some(if *lower_inclusive {
                        Bound { value: text(start), inclusive: true }
                    } else {
                        Bound { value: text(end), inclusive: false }
                    })
                }
            };
            let upper = match upper {
                None => None,
                Some(bound) => {
                    let (start, end) = period(bound)?;
                    Some(if *upper_inclusive {
                        Bound { value: text(end), inclusive: true }
                    } else {
                        Bound { value: text(start), inclusive: false }
                    })
                }
            };
            Ok(Test::Range { lower, upper })
        }
        _ if is_star(value) => Ok(Test::Exists),
        _ => match value.literal() {
            Some(literal) => {
                let (start, end) = period(&literal)?;
                Ok(Test::Range {
                    lower: Some(Bound { value: text(start), inclusive: true }),
                    upper: Some(Bound { value: text(end), inclusive: true }),
                })
            }
            None => refuse(format!("wildcard searches are not supported on {name}")),
        },
    }
}

/// The first and last millisecond (as stored text) of a full or partial ISO-8601 date.
pub fn period_of(text: &str) -> Option<(String, String)> {
    use chrono::{Datelike, NaiveDate, TimeZone, Utc};
    let date_only = |year: i32, month: u32, day: u32| NaiveDate::from_ymd_opt(year, month, day);
    let digits = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten()
    };
    let parts: Vec<&str> = text.split('-').collect();
    let (start, end) = match parts.as_slice() {
        [year] => {
            let year = digits(year, 4)? as i32;
            (date_only(year, 1, 1)?, date_only(year + 1, 1, 1)?)
        }
        [year, month] => {
            let year = digits(year, 4)? as i32;
            let month = digits(month, 2)?;
            let start = date_only(year, month, 1)?;
            let next = if month == 12 { date_only(year + 1, 1, 1)? } else { date_only(year, month + 1, 1)? };
            (start, next)
        }
        [year, month, day] if day.len() == 2 => {
            let start = date_only(digits(year, 4)? as i32, digits(month, 2)?, digits(day, 2)?)?;
            (start, start.succ_opt()?)
        }
        _ => {
            // A full timestamp: the period is that instant (to the millisecond given).
            if let Some(instant) = time::parse(text) {
                let formatted = time::format(&instant);
                return Some((formatted.clone(), formatted));
            }
            // Without a zone (Auth0's log search examples write `2019-01-01T01:00:00`): UTC, and
            // the period of the last unit given, as for dates.
            let (format, length) = match text.matches(':').count() {
                _ if text.contains('.') => ("%Y-%m-%dT%H:%M:%S%.f", chrono::Duration::milliseconds(1)),
                2 => ("%Y-%m-%dT%H:%M:%S", chrono::Duration::seconds(1)),
                1 => ("%Y-%m-%dT%H:%M", chrono::Duration::minutes(1)),
                _ => return None,
            };
            let start = Utc.from_utc_datetime(&chrono::NaiveDateTime::parse_from_str(text, format).ok()?);
            let end = start + length - chrono::Duration::milliseconds(1);
            return Some((time::format(&start), time::format(&end)));
        }
    };
    let _ = start.year();
    let start = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0)?);
    let end = Utc.from_utc_datetime(&end.and_hms_opt(0, 0, 0)?) - chrono::Duration::milliseconds(1);
    Some((time::format(&start), time::format(&end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> Query {
        parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.0))
    }

    fn err(q: &str) -> String {
        parse(q).expect_err(q).0
    }

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.to_owned())
    }

    #[test]
    fn fields_and_case_folding() {
        assert_eq!(
            ok("email:Jane@Example.com"),
            Query::Match(Target::Column(Column::Email), Test::Equals(text("jane@example.com")))
        );
        assert_eq!(ok("username:Jane"), Query::Match(Target::Column(Column::Username), Test::Equals(text("Jane"))));
        assert_eq!(
            ok("name:\"Jane Smith\""),
            Query::Match(Target::Column(Column::Name), Test::Equals(text("jane smith")))
        );
        assert_eq!(
            ok("email.domain:Example.COM"),
            Query::Match(Target::Column(Column::EmailDomain), Test::Equals(text("example.com")))
        );
        assert_eq!(
            ok("user_id:auth0|abc"),
            Query::Match(Target::Column(Column::UserId), Test::Equals(text("auth0|abc")))
        );
        assert_eq!(
            ok("email_verified:true"),
            Query::Match(Target::Column(Column::EmailVerified), Test::Equals(Scalar::Boolean(true)))
        );
        assert_eq!(
            ok("logins_count:5"),
            Query::Match(Target::Column(Column::LoginsCount), Test::Equals(Scalar::Integer(5)))
        );
        assert_eq!(
            ok("app_metadata.plan.tier:\"Gold\""),
            Query::Match(Target::Metadata(Source::App, "plan.tier".into()), Test::Equals(text("Gold")))
        );
        assert_eq!(
            ok("identities.connection:\"google-oauth2\""),
            Query::Match(Target::Identity(IdentityField::Connection), Test::Equals(text("google-oauth2")))
        );
        let bare = ok("Jane");
        let Query::Or(items) = bare else { panic!("bare terms search the normalised fields") };
        assert_eq!(items.len(), DEFAULT_FIELDS.len());
    }

    #[test]
    fn wildcards() {
        assert_eq!(ok("name:J*"), Query::Match(Target::Column(Column::Name), Test::Prefix("j".into())));
        assert_eq!(ok("user_id:auth0*"), Query::Match(Target::Column(Column::UserId), Test::Prefix("auth0".into())));
        assert!(matches!(ok("name:*usa"), Query::Match(_, Test::Pattern { anchor: None, .. })));
        assert!(matches!(ok("name:*ohn*"), Query::Match(_, Test::Pattern { anchor: None, .. })));
        assert!(
            matches!(ok("name:jane*smith"), Query::Match(_, Test::Pattern { anchor: Some(ref a), .. }) if a == "jane")
        );
        assert_eq!(ok("email:*"), Query::Match(Target::Column(Column::Email), Test::Exists));
        assert!(err("name:*sa").contains("at least 3"));
        assert!(err("name:*ab*").contains("at least 3"));
        assert!(err("user_metadata.city:Par*").contains("wildcard searches are not supported on user_metadata.city"));
        assert!(err("app_metadata.plan:*old").contains("not supported"));
    }

    #[test]
    fn ranges_and_dates() {
        assert_eq!(
            ok("logins_count:[100 TO *]"),
            Query::Match(
                Target::Column(Column::LoginsCount),
                Test::Range { lower: Some(Bound { value: Scalar::Integer(100), inclusive: true }), upper: None }
            )
        );
        assert_eq!(
            ok("last_login:[2017-11 TO 2017-12]"),
            Query::Match(
                Target::Column(Column::LastLogin),
                Test::Range {
                    lower: Some(Bound { value: text("2017-11-01T00:00:00.000Z"), inclusive: true }),
                    upper: Some(Bound { value: text("2017-12-31T23:59:59.999Z"), inclusive: true }),
                }
            )
        );
        assert_eq!(
            ok("created_at:{2019-01-01 TO 2019-02-01}"),
            Query::Match(
                Target::Column(Column::CreatedAt),
                Test::Range {
                    lower: Some(Bound { value: text("2019-01-01T23:59:59.999Z"), inclusive: false }),
                    upper: Some(Bound { value: text("2019-02-01T00:00:00.000Z"), inclusive: false }),
                }
            )
        );
        assert_eq!(
            ok("created_at:2024-02"),
            Query::Match(
                Target::Column(Column::CreatedAt),
                Test::Range {
                    lower: Some(Bound { value: text("2024-02-01T00:00:00.000Z"), inclusive: true }),
                    upper: Some(Bound { value: text("2024-02-29T23:59:59.999Z"), inclusive: true }),
                }
            )
        );
        assert!(err("email:[a TO b]").contains("range searches are not supported on email"));
        assert!(err("user_metadata.age:[1 TO 5]").contains("range searches are not supported"));
        assert!(err("logins_count:many").contains("integer"));
        assert!(err("created_at:yesterday").contains("date"));
        assert!(err("email_verified:yes").contains("true or false"));
    }

    #[test]
    fn unknown_fields_and_exists() {
        assert!(err("password:x").contains("the field password is not searchable"));
        assert!(err("picture:x").contains("not searchable"));
        assert_eq!(ok("_exists_:logins_count"), Query::Match(Target::Column(Column::LoginsCount), Test::Exists));
        assert_eq!(
            ok("_exists_:user_metadata.fav_color"),
            Query::Match(Target::Metadata(Source::User, "fav_color".into()), Test::Exists)
        );
        assert_eq!(
            ok("_exists_:app_metadata"),
            Query::Match(Target::Metadata(Source::App, String::new()), Test::Exists)
        );
        assert!(err("app_metadata:gold").contains("search a path inside app_metadata"));
        assert!(err("name:x AND bogus:1").contains("position 12"));
    }

    #[test]
    fn log_fields() {
        let logs = |q: &str| parse_in(q, Fields::Logs);
        assert_eq!(logs("type:fp"), Ok(Query::Match(Target::Log(LogField::Type), Test::Equals(text("fp")))));
        assert_eq!(logs("user_name:Jo*"), Ok(Query::Match(Target::Log(LogField::UserName), Test::Prefix("Jo".into()))));
        assert_eq!(
            logs("date:[2024-01 TO *]"),
            Ok(Query::Match(
                Target::Log(LogField::Date),
                Test::Range {
                    lower: Some(Bound { value: text("2024-01-01T00:00:00.000Z"), inclusive: true }),
                    upper: None
                }
            ))
        );
        assert!(matches!(logs("sapi"), Ok(Query::Or(tests)) if tests.len() == DEFAULT_LOG_FIELDS.len()));
        assert_eq!(logs("email:x").unwrap_err().0, "the field email is not searchable (at position 1)");
        assert!(logs("type:[a TO b]").unwrap_err().0.contains("range searches are not supported on type"));
        assert!(parse("type:fp").unwrap_err().0.contains("the field type is not searchable"));
    }

    #[test]
    fn period_boundaries() {
        assert_eq!(period_of("2024"), Some(("2024-01-01T00:00:00.000Z".into(), "2024-12-31T23:59:59.999Z".into())));
        assert_eq!(
            period_of("2024-12-31"),
            Some(("2024-12-31T00:00:00.000Z".into(), "2024-12-31T23:59:59.999Z".into()))
        );
        assert_eq!(
            period_of("2023-01-25T19:00:26.187Z"),
            Some(("2023-01-25T19:00:26.187Z".into(), "2023-01-25T19:00:26.187Z".into()))
        );
        assert_eq!(period_of("2024-13"), None);
        assert_eq!(period_of("24-01-01"), None);
        // Without a zone: UTC, the period of the last unit given.
        let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
        assert_eq!(period_of("2019-01-01T12:23:45"), pair("2019-01-01T12:23:45.000Z", "2019-01-01T12:23:45.999Z"));
        assert_eq!(period_of("2019-01-01T01:00"), pair("2019-01-01T01:00:00.000Z", "2019-01-01T01:00:59.999Z"));
        assert_eq!(period_of("2019-01-01T01:00:00.5"), pair("2019-01-01T01:00:00.500Z", "2019-01-01T01:00:00.500Z"));
        assert_eq!(period_of("2019-01-01T25:00"), None);
        assert_eq!(period_of("2019-01-01T01"), None);
    }
}
