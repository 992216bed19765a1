//! The PostgreSQL dialect: LIKE for `*` patterns (case-sensitive, whole
//! value; the pg_trgm GIN indexes serve patterns with a run of 3 or more characters), dates cast
//! to `timestamptz`. Text columns are `COLLATE "C"`, so comparisons and prefix ranges follow
//! byte order as in SQLite.

use super::query::Query;
use super::sql::{self, Bind, Condition, Dialect, Params};
use super::syntax::Piece;

pub struct Postgres;

impl Dialect for Postgres {
    fn not(&self, inner: &str) -> String {
        format!("NOT COALESCE({inner}, FALSE)")
    }

    fn pattern(&self, column: &str, pieces: &[Piece], _trigram: Option<&str>, params: &mut Params<'_>) -> String {
        format!("{column} LIKE {}", params.add(Bind::Text(like(pieces))))
    }

    fn json_text(&self, document: &str, key: &'static str) -> String {
        format!("({document} ->> '{key}')")
    }

    fn date(&self, placeholder: String) -> String {
        format!("{placeholder}::timestamptz")
    }
}

pub fn compile(query: &Query) -> Condition {
    sql::compile(query, &Postgres)
}

/// A LIKE pattern (default escape `\`) matching the pieces exactly.
pub fn like(pieces: &[Piece]) -> String {
    let mut pattern = String::new();
    for piece in pieces {
        match piece {
            Piece::Star => pattern.push('%'),
            Piece::Literal(text) => {
                for c in text.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        pattern.push('\\');
                    }
                    pattern.push(c);
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
    fn numbered_parameters_and_casts() {
        let condition = sql("name:jo* AND created_at:[2024-01 TO *] AND NOT blocked:true");
        assert_eq!(
            condition.sql,
            "((u.name_ci >= $1 AND u.name_ci < $2) AND (u.created_at >= $3::timestamptz) AND NOT COALESCE(u.blocked = $4, FALSE))"
        );
        assert_eq!(condition.binds.len(), 4);
    }

    #[test]
    fn like_escapes_its_own_wildcards() {
        assert_eq!(like(&[Piece::Star, Piece::Literal("50%_a\\b".into()), Piece::Star]), "%50\\%\\_a\\\\b%");
        assert_eq!(sql("name:*ohn*").sql, "u.name_ci LIKE $1");
    }
}
