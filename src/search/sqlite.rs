//! The SQLite dialect: GLOB for `*` patterns (case-sensitive, whole-value),
//! with the FTS5 trigram table `users_trigram` finding candidates for patterns that start
//! with `*`.

use super::query::Query;
use super::sql::{self, Bind, Condition, Dialect, Params};
use super::syntax::Piece;

pub struct Sqlite;

impl Dialect for Sqlite {
    fn not(&self, inner: &str) -> String {
        format!("NOT IFNULL({inner}, 0)")
    }

    fn pattern(&self, column: &str, pieces: &[Piece], trigram: Option<&str>, params: &mut Params<'_>) -> String {
        let Some(indexed) = trigram else {
            return format!("{column} GLOB {}", params.add(Bind::Text(glob(pieces))));
        };
        let candidates = params.add(Bind::Text(glob(pieces)));
        let check = params.add(Bind::Text(glob(pieces)));
        format!(
            "(u.seq IN (SELECT rowid FROM users_trigram WHERE users_trigram.{indexed} GLOB {candidates}) AND {column} GLOB {check})"
        )
    }

    fn json_text(&self, document: &str, key: &'static str) -> String {
        format!("json_extract({document}, '$.{key}')")
    }
}

pub fn compile(query: &Query) -> Condition {
    sql::compile(query, &Sqlite)
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
        assert_eq!(condition.sql.matches('$').count(), condition.binds.len());
    }

    #[test]
    fn shapes() {
        assert_eq!(sql("email:a@b.co").sql, "u.email_ci = $1");
        assert_eq!(sql("name:jo*").sql, "(u.name_ci >= $1 AND u.name_ci < $2)");
        assert_eq!(sql("name:jo*").binds, [Bind::Text("jo".into()), Bind::Text("jp".into())]);
        assert!(sql("name:*ohn*").sql.contains("users_trigram.name_ci GLOB $1"));
        assert_eq!(sql("NOT blocked:true").sql, "NOT IFNULL(u.blocked = $1, 0)");
        assert_eq!(sql("logins_count:{1 TO 5]").sql, "(u.logins_count > $1 AND u.logins_count <= $2)");
        assert!(sql("identities.connection:sms").sql.contains("FROM identities i WHERE i.connection = $1"));
        assert!(sql("app_metadata.plan:gold").sql.contains("m.path = $2 AND m.value = $3"));
        assert_eq!(sql("").sql, "1 = 1");
    }

    #[test]
    fn log_shapes() {
        let sql = |q: &str| compile(&crate::search::parse_in(q, crate::search::Fields::Logs).unwrap());
        assert_eq!(sql("type:fp").sql, "l.type = $1");
        assert_eq!(sql("user_name:jo*").sql, "l.user_name GLOB $1");
        assert_eq!(sql("user_name:jo*").binds, [Bind::Text("jo*".into())]);
        assert_eq!(sql("description:\"Create a User\"").sql, "json_extract(l.document, '$.description') = $1");
        assert_eq!(sql("date:[2024-01-01 TO 2024-01-31]").sql, "(l.date >= $1 AND l.date <= $2)");
        assert_eq!(sql("NOT _exists_:user_id").sql, "NOT IFNULL(l.user_id IS NOT NULL, 0)");
    }

    #[test]
    fn glob_escapes_its_own_wildcards() {
        assert_eq!(glob(&[Piece::Star, Piece::Literal("a*b?[c".into()), Piece::Star]), "*a[*]b[?][[]c*");
    }
}
