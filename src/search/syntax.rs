//! The query string syntax Auth0's user search accepts (a subset of Lucene's), parsed into a
//! boolean tree of terms. Field names and values are not interpreted here; `analyze` does
//! that against Auth0's searchable fields.
//!
//! Precedence: `NOT`/`!` binds tightest, then `AND`/`&&`, then `OR`/`||` and adjacency (the
//! implicit operator is OR, as in Lucene). Within a sequence of clauses, `+x` is required,
//! `-x` and a leading `NOT x` are prohibited, with Lucene's meaning: when any clause is
//! required, optional clauses do not narrow the result; a sequence of prohibited clauses alone
//! matches everyone else. One departure, which Auth0's documented examples need: a negation
//! joined to its neighbour by an explicit `OR` is an alternative (`NOT a OR b` is "not a, or
//! b"), where Lucene would prohibit it and match nothing more than b without a.
//!
//! Input is bounded so that no query can exhaust the server: length, nesting depth and number
//! of terms.

use std::fmt;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 4096;
/// Deepest nesting of parentheses and `NOT`s.
pub const MAX_DEPTH: usize = 16;
/// Most terms in one query.
pub const MAX_TERMS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Everyone (the empty query).
    All,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// `field:` before the value, or the field of an enclosing `field:( … )` group.
    pub field: Option<String>,
    pub value: Value,
    /// Character position of the term in the query (1-based), for error messages.
    pub position: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An unquoted word, escapes resolved; `Piece::Star` marks an unescaped `*`.
    Word(Vec<Piece>),
    /// A quoted phrase: taken literally, no wildcards.
    Phrase(String),
    /// `[a TO b]`, `{a TO b}` and mixes; `None` for a `*` bound.
    Range { lower: Option<String>, lower_inclusive: bool, upper: Option<String>, upper_inclusive: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Star,
}

impl Value {
    /// The word or phrase as plain text, if it has no wildcard.
    pub fn literal(&self) -> Option<String> {
        match self {
            Value::Phrase(text) => Some(text.clone()),
            Value::Word(pieces) => match pieces.as_slice() {
                [] => Some(String::new()),
                [Piece::Literal(text)] => Some(text.clone()),
                _ => None,
            },
            Value::Range { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// 1-based character position.
    pub position: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

pub fn parse(query: &str) -> Result<Expr, SyntaxError> {
    let chars: Vec<char> = query.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(SyntaxError {
            message: format!("the query is longer than {MAX_QUERY_CHARS} characters"),
            position: MAX_QUERY_CHARS + 1,
        });
    }
    let mut parser = Parser { chars, at: 0, terms: 0 };
    parser.skip_spaces();
    if parser.at_end() {
        return Ok(Expr::All);
    }
    let expr = parser.sequence(None, 0, false)?;
    Ok(simplify(expr))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occur {
    Should,
    Must,
    MustNot,
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    terms: usize,
}

/// Characters that end an unquoted word (unless escaped).
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | ':' | '[' | ']' | '{' | '}' | '^' | '~')
}

impl Parser {
    fn at_end(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError { message: message.into(), position: self.at + 1 })
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// Whether the input at the cursor is `word` standing alone (an operator keyword).
    fn at_keyword(&self, word: &str) -> bool {
        let len = word.chars().count();
        let matches = word.chars().enumerate().all(|(i, c)| self.chars.get(self.at + i) == Some(&c));
        matches && self.chars.get(self.at + len).is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '"'))
    }

    fn at_symbol(&self, symbol: &str) -> bool {
        symbol.chars().enumerate().all(|(i, c)| self.chars.get(self.at + i) == Some(&c))
    }

    /// Consumes an OR operator (`OR`, `||`) if one is next.
    fn eat_or(&mut self) -> bool {
        if self.at_keyword("OR") || self.at_symbol("||") {
            self.at += 2;
            return true;
        }
        false
    }

    fn eat_and(&mut self) -> bool {
        if self.at_keyword("AND") {
            self.at += 3;
            return true;
        }
        if self.at_symbol("&&") {
            self.at += 2;
            return true;
        }
        false
    }

    fn eat_not(&mut self) -> bool {
        if self.at_keyword("NOT") {
            self.at += 3;
            return true;
        }
        if self.peek() == Some('!') {
            self.at += 1;
            return true;
        }
        false
    }

    /// Clauses joined by OR or adjacency, up to the end or (inside parentheses) a `)`.
    fn sequence(&mut self, field: Option<&str>, depth: usize, nested: bool) -> Result<Expr, SyntaxError> {
        let mut clauses: Vec<(Occur, Expr)> = Vec::new();
        loop {
            self.skip_spaces();
            match self.peek() {
                None if nested => return self.error("missing ')'"),
                None => break,
                Some(')') if nested => break,
                Some(')') => return self.error("unexpected ')'"),
                _ => {}
            }
            let or_before = !clauses.is_empty() && self.eat_or();
            if or_before {
                self.skip_spaces();
                if self.at_end() || self.peek() == Some(')') {
                    return self.error("expected a term after OR");
                }
                // A negation joined by an explicit OR is one of the alternatives, not a
                // prohibition (Auth0 documents `NOT _exists_:logins_count OR logins_count:0`).
                if let Some(last) = clauses.last_mut()
                    && last.0 == Occur::MustNot
                {
                    let inner = std::mem::replace(&mut last.1, Expr::All);
                    *last = (Occur::Should, Expr::Not(Box::new(inner)));
                }
            }
            if self.at_keyword("AND") || self.at_symbol("&&") || self.at_keyword("OR") || self.at_symbol("||") {
                return self.error("expected a term before the operator");
            }
            // `+x` is required; a clause that is a single negation (`-x`, `NOT x`, `!x`) is
            // prohibited, unless an OR joins it; anything else is optional.
            let required = self.peek() == Some('+');
            if required {
                self.at += 1;
                self.skip_spaces();
            }
            let clause = match self.conjunction(field, depth)? {
                Expr::Not(inner) if !required && !or_before => (Occur::MustNot, *inner),
                expr if required => (Occur::Must, expr),
                expr => (Occur::Should, expr),
            };
            clauses.push(clause);
        }
        Ok(combine(clauses))
    }

    /// Terms joined by AND.
    fn conjunction(&mut self, field: Option<&str>, depth: usize) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.unary(field, depth)?];
        loop {
            let mark = self.at;
            self.skip_spaces();
            if self.eat_and() {
                self.skip_spaces();
                items.push(self.unary(field, depth)?);
            } else {
                self.at = mark;
                break;
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn unary(&mut self, field: Option<&str>, depth: usize) -> Result<Expr, SyntaxError> {
        if depth >= MAX_DEPTH {
            return self.error(format!("the query nests deeper than {MAX_DEPTH} levels"));
        }
        self.skip_spaces();
        let negated = if self.peek() == Some('-') {
            self.at += 1;
            true
        } else {
            self.eat_not()
        };
        if negated {
            self.skip_spaces();
            let inner = self.unary(field, depth + 1)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some('+') {
            self.at += 1;
        }
        self.primary(field, depth)
    }

    fn primary(&mut self, field: Option<&str>, depth: usize) -> Result<Expr, SyntaxError> {
        self.skip_spaces();
        let start = self.at;
        match self.peek() {
            None => self.error("expected a term"),
            Some('(') => {
                self.at += 1;
                let inner = self.sequence(field, depth + 1, true)?;
                self.at += 1; // the ')' that ended the sequence
                Ok(inner)
            }
            Some('"') => {
                let phrase = self.phrase()?;
                self.term(field.map(str::to_owned), Value::Phrase(phrase), start)
            }
            Some('[' | '{') => {
                let range = self.range()?;
                self.term(field.map(str::to_owned), range, start)
            }
            Some(c) if ends_word(c) => self.error(format!("unexpected '{c}'")),
            Some(_) => {
                let pieces = self.word()?;
                if self.peek() != Some(':') {
                    return self.term(field.map(str::to_owned), Value::Word(pieces), start);
                }
                // `name:value`: the word was a field name.
                if field.is_some() {
                    return self.error("a field cannot be given inside a field group");
                }
                let name = match pieces.as_slice() {
                    [Piece::Literal(name)] if !name.is_empty() => name.clone(),
                    _ => return self.error("invalid field name"),
                };
                self.at += 1;
                match self.peek() {
                    Some('(') => {
                        self.at += 1;
                        let inner = self.sequence(Some(&name), depth + 1, true)?;
                        self.at += 1;
                        Ok(inner)
                    }
                    Some('"') => {
                        let phrase = self.phrase()?;
                        self.term(Some(name), Value::Phrase(phrase), start)
                    }
                    Some('[' | '{') => {
                        let range = self.range()?;
                        self.term(Some(name), range, start)
                    }
                    Some('>' | '<') => self.error(
                        "comparisons such as field:>=value are not supported; use a range such as field:[value TO *]",
                    ),
                    Some(c) if !ends_word(c) => {
                        let pieces = self.word()?;
                        self.term(Some(name), Value::Word(pieces), start)
                    }
                    _ => self.error(format!("expected a value for field {name}")),
                }
            }
        }
    }

    fn term(&mut self, field: Option<String>, value: Value, start: usize) -> Result<Expr, SyntaxError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(SyntaxError {
                message: format!("the query has more than {MAX_TERMS} terms"),
                position: start + 1,
            });
        }
        match self.peek() {
            Some('^') => self.error("boosts (^) are not supported"),
            Some('~') => self.error("fuzzy and proximity searches (~) are not supported"),
            _ => Ok(Expr::Term(Term { field, value, position: start + 1 })),
        }
    }

    /// An unquoted word: escapes resolved, unescaped `*` kept as wildcards.
    fn word(&mut self) -> Result<Vec<Piece>, SyntaxError> {
        // Lucene reads a term that opens with an unescaped slash as a regular expression.
        if self.peek() == Some('/') {
            return self.error("regular expressions (/…/) are not supported; escape the slash as '\\/'");
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            self.at += 1;
            match c {
                '\\' => match self.peek() {
                    Some(escaped) => {
                        literal.push(escaped);
                        self.at += 1;
                    }
                    None => return self.error("the query ends with an escape character"),
                },
                '*' => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                }
                '?' => {
                    self.at -= 1;
                    return self
                        .error("the single-character wildcard '?' is not supported; use '*' or escape it as '\\?'");
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(pieces)
    }

    fn phrase(&mut self) -> Result<String, SyntaxError> {
        let open = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(SyntaxError { message: "unterminated quoted phrase".into(), position: open + 1 });
                }
                Some('"') => {
                    self.at += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c) => {
                            text.push(c);
                            self.at += 1;
                        }
                        None => return self.error("the query ends with an escape character"),
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    /// `[a TO b]`, `{a TO b}` (mixes allowed), with `*` for an open bound.
    fn range(&mut self) -> Result<Value, SyntaxError> {
        let lower_inclusive = self.peek() == Some('[');
        self.at += 1;
        self.skip_spaces();
        let lower = self.range_bound()?;
        self.skip_spaces();
        if !self.at_keyword("TO") {
            return self.error("expected TO in range");
        }
        self.at += 2;
        self.skip_spaces();
        let upper = self.range_bound()?;
        self.skip_spaces();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => return self.error("expected ']' or '}' to close the range"),
        };
        self.at += 1;
        Ok(Value::Range { lower, lower_inclusive, upper, upper_inclusive })
    }

    fn range_bound(&mut self) -> Result<Option<String>, SyntaxError> {
        if self.peek() == Some('"') {
            return self.phrase().map(Some);
        }
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ']' | '}' | '[' | '{') {
                break;
            }
            self.at += 1;
            if c == '\\' {
                match self.peek() {
                    Some(escaped) => {
                        text.push(escaped);
                        self.at += 1;
                    }
                    None => return self.error("the query ends with an escape character"),
                }
            } else {
                text.push(c);
            }
        }
        match text.as_str() {
            "" => self.error("expected a range bound"),
            "*" => Ok(None),
            _ => Ok(Some(text)),
        }
    }
}

/// Lucene's meaning of a clause list: required clauses all match (optional ones then only
/// rank, so they are dropped); otherwise at least one optional clause matches; prohibited
/// clauses never match.
fn combine(clauses: Vec<(Occur, Expr)>) -> Expr {
    let mut must = Vec::new();
    let mut should = Vec::new();
    let mut must_not = Vec::new();
    for (occur, expr) in clauses {
        match occur {
            Occur::Must => must.push(expr),
            Occur::Should => should.push(expr),
            Occur::MustNot => must_not.push(Expr::Not(Box::new(expr))),
        }
    }
    let positive = if !must.is_empty() {
        Some(Expr::And(must))
    } else if !should.is_empty() {
        Some(Expr::Or(should))
    } else {
        None
    };
    let mut parts: Vec<Expr> = positive.into_iter().collect();
    parts.extend(must_not);
    match parts.len() {
        0 => Expr::All,
        1 => parts.remove(0),
        _ => Expr::And(parts),
    }
}

/// Flattens nested `And`/`Or` and unwraps single-item lists.
fn simplify(expr: Expr) -> Expr {
    match expr {
        Expr::And(items) => flatten(items, true),
        Expr::Or(items) => flatten(items, false),
        Expr::Not(inner) => Expr::Not(Box::new(simplify(*inner))),
        other => other,
    }
}

fn flatten(items: Vec<Expr>, and: bool) -> Expr {
    let mut out = Vec::new();
    for item in items.into_iter().map(simplify) {
        match item {
            Expr::And(inner) if and => out.extend(inner),
            Expr::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    match out.len() {
        1 => out.remove(0),
        _ if and => Expr::And(out),
        _ => Expr::Or(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Value {
        Value::Word(vec![Piece::Literal(text.to_owned())])
    }

    fn term(field: Option<&str>, value: Value) -> Expr {
        Expr::Term(Term { field: field.map(str::to_owned), value, position: 0 })
    }

    /// Positions make trees hard to write by hand; compare without them.
    fn strip(expr: Expr) -> Expr {
        match expr {
            Expr::And(items) => Expr::And(items.into_iter().map(strip).collect()),
            Expr::Or(items) => Expr::Or(items.into_iter().map(strip).collect()),
            Expr::Not(inner) => Expr::Not(Box::new(strip(*inner))),
            Expr::Term(t) => Expr::Term(Term { position: 0, ..t }),
            Expr::All => Expr::All,
        }
    }

    fn ok(q: &str) -> Expr {
        strip(parse(q).unwrap_or_else(|e| panic!("{q}: {e}")))
    }

    fn err(q: &str) -> SyntaxError {
        parse(q).expect_err(q)
    }

    fn not(expr: Expr) -> Expr {
        Expr::Not(Box::new(expr))
    }

    #[test]
    fn terms_fields_and_phrases() {
        assert_eq!(ok(""), Expr::All);
        assert_eq!(ok("   "), Expr::All);
        assert_eq!(ok("jane"), term(None, word("jane")));
        assert_eq!(ok("email:jane@example.com"), term(Some("email"), word("jane@example.com")));
        assert_eq!(ok("name:\"jane smith\""), term(Some("name"), Value::Phrase("jane smith".into())));
        assert_eq!(ok("user_id:auth0|507f1f77"), term(Some("user_id"), word("auth0|507f1f77")));
        assert_eq!(ok("username:test-user636"), term(Some("username"), word("test-user636")));
        assert_eq!(ok("app_metadata.plan.tier:gold"), term(Some("app_metadata.plan.tier"), word("gold")));
        assert_eq!(ok("_exists_:email"), term(Some("_exists_"), word("email")));
    }

    #[test]
    fn escapes() {
        assert_eq!(ok(r"name:John\ Doe"), term(Some("name"), word("John Doe")));
        assert_eq!(ok(r"email:jane\@example.com"), term(Some("email"), word("jane@example.com")));
        assert_eq!(ok(r"name:a\*b"), term(Some("name"), word("a*b")));
        assert_eq!(ok(r#"name:"say \"hi\"""#), term(Some("name"), Value::Phrase("say \"hi\"".into())));
        assert_eq!(ok(r"created_at:2020-01-01T00\:00\:00Z"), term(Some("created_at"), word("2020-01-01T00:00:00Z")));
    }

    #[test]
    fn wildcards() {
        assert_eq!(ok("name:j*"), term(Some("name"), Value::Word(vec![Piece::Literal("j".into()), Piece::Star])));
        assert_eq!(
            ok("name:*ohn*"),
            term(Some("name"), Value::Word(vec![Piece::Star, Piece::Literal("ohn".into()), Piece::Star]))
        );
        assert_eq!(
            ok("name:jane**smith"),
            term(
                Some("name"),
                Value::Word(vec![Piece::Literal("jane".into()), Piece::Star, Piece::Literal("smith".into())])
            )
        );
        assert_eq!(ok("name:\"j*\""), term(Some("name"), Value::Phrase("j*".into())), "no wildcards in phrases");
    }

    #[test]
    fn ranges() {
        assert_eq!(
            ok("logins_count:[100 TO 200]"),
            term(
                Some("logins_count"),
                Value::Range {
                    lower: Some("100".into()),
                    lower_inclusive: true,
                    upper: Some("200".into()),
                    upper_inclusive: true
                }
            )
        );
        assert_eq!(
            ok("logins_count:{100 TO *]"),
            term(
                Some("logins_count"),
                Value::Range { lower: Some("100".into()), lower_inclusive: false, upper: None, upper_inclusive: true }
            )
        );
        assert_eq!(
            ok("created_at:[2019-01-01T00:00:00.000Z TO 2019-12-31}"),
            term(
                Some("created_at"),
                Value::Range {
                    lower: Some("2019-01-01T00:00:00.000Z".into()),
                    lower_inclusive: true,
                    upper: Some("2019-12-31".into()),
                    upper_inclusive: false
                }
            )
        );
    }

    #[test]
    fn boolean_operators_and_precedence() {
        let (a, b, c) = (term(None, word("a")), term(None, word("b")), term(None, word("c")));
        assert_eq!(ok("a b"), Expr::Or(vec![a.clone(), b.clone()]), "implicit OR");
        assert_eq!(ok("a OR b"), Expr::Or(vec![a.clone(), b.clone()]));
        assert_eq!(ok("a || b"), Expr::Or(vec![a.clone(), b.clone()]));
        assert_eq!(ok("a AND b"), Expr::And(vec![a.clone(), b.clone()]));
        assert_eq!(ok("a && b"), Expr::And(vec![a.clone(), b.clone()]));
        assert_eq!(ok("a OR b AND c"), Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])]));
        assert_eq!(ok("(a OR b) AND c"), Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()]));
        assert_eq!(ok("NOT a"), not(a.clone()));
        assert_eq!(ok("!a"), not(a.clone()));
        assert_eq!(ok("-a"), not(a.clone()));
        assert_eq!(ok("a NOT b"), Expr::And(vec![a.clone(), not(b.clone())]), "Lucene: a -b");
        assert_eq!(ok("a -b c"), Expr::And(vec![Expr::Or(vec![a.clone(), c.clone()]), not(b.clone())]));
        assert_eq!(ok("+a b"), a.clone(), "optional clauses beside a required one only rank");
        assert_eq!(ok("+a +b"), Expr::And(vec![a.clone(), b.clone()]));
        assert_eq!(ok("NOT a AND b"), Expr::And(vec![not(a.clone()), b.clone()]));
        assert_eq!(ok("a AND NOT b"), Expr::And(vec![a.clone(), not(b.clone())]));
        assert_eq!(ok("NOT (a OR b)"), not(Expr::Or(vec![a.clone(), b.clone()])));
        assert_eq!(ok("-a -b"), Expr::And(vec![not(a.clone()), not(b.clone())]));
        // A negation an explicit OR joins is an alternative (Auth0's documented examples).
        assert_eq!(ok("NOT a OR b"), Expr::Or(vec![not(a.clone()), b.clone()]));
        assert_eq!(ok("a OR NOT b"), Expr::Or(vec![a.clone(), not(b.clone())]));
        assert_eq!(ok("-a || b"), Expr::Or(vec![not(a.clone()), b.clone()]));
        assert_eq!(ok("(NOT a OR b) c"), Expr::Or(vec![not(a.clone()), b.clone(), c.clone()]));
        assert_eq!(ok("a NOT b OR c"), Expr::Or(vec![a.clone(), not(b.clone()), c.clone()]));
        assert_eq!(ok("NOT a b"), Expr::And(vec![b.clone(), not(a.clone())]), "adjacency still prohibits");
        assert_eq!(ok("+c NOT a OR b"), c.clone(), "beside a required clause, alternatives only rank");
        assert_eq!(ok("ANDROID"), term(None, word("ANDROID")), "keywords only as whole words");
        assert_eq!(ok("a and b"), Expr::Or(vec![a, term(None, word("and")), b]), "operators are uppercase");
    }

    #[test]
    fn field_groups() {
        assert_eq!(
            ok("name:(\"example name\" OR \"test user\")"),
            Expr::Or(vec![
                term(Some("name"), Value::Phrase("example name".into())),
                term(Some("name"), Value::Phrase("test user".into())),
            ])
        );
        assert_eq!(
            ok("email_verified:false AND (name:john OR nickname:jj)"),
            Expr::And(vec![
                term(Some("email_verified"), word("false")),
                Expr::Or(vec![term(Some("name"), word("john")), term(Some("nickname"), word("jj"))]),
            ])
        );
    }

    #[test]
    fn rejections_point_at_the_problem() {
        let cases = [
            ("(a OR b", "missing ')'", 8),
            ("a OR b)", "unexpected ')'", 7),
            ("AND a", "expected a term before the operator", 1),
            ("a AND", "expected a term", 6),
            ("a OR", "expected a term after OR", 5),
            ("name:", "expected a value for field name", 6),
            ("name:\"open", "unterminated quoted phrase", 6),
            ("name:jo?n", "the single-character wildcard '?' is not supported", 8),
            ("name:john^2", "boosts (^) are not supported", 10),
            ("name:john~", "fuzzy and proximity searches (~) are not supported", 10),
            ("name:/jan.*/", "regular expressions (/…/) are not supported; escape the slash as '\\/'", 6),
            ("/jane/", "regular expressions (/…/) are not supported; escape the slash as '\\/'", 1),
            ("logins_count:[1 5]", "expected TO in range", 17),
            ("logins_count:[1 TO 5", "expected ']' or '}' to close the range", 21),
            ("updated_at:>=2018-01-15", "comparisons such as field:>=value are not supported", 12),
            ("name:(email:x)", "a field cannot be given inside a field group", 12),
            ("name:x\\", "the query ends with an escape character", 8),
        ];
        for (q, message, position) in cases {
            let error = err(q);
            assert!(error.message.starts_with(message), "{q}: {error}");
            assert_eq!(error.position, position, "{q}: {error}");
        }
    }

    #[test]
    fn input_is_bounded() {
        assert!(err(&"a".repeat(MAX_QUERY_CHARS + 1)).message.contains("longer than"));
        let deep = format!("{}a{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(err(&deep).message.contains("nests deeper"));
        let nots = format!("{}a", "NOT ".repeat(MAX_DEPTH + 1));
        assert!(err(&nots).message.contains("nests deeper"));
        let many = vec!["a"; MAX_TERMS + 1].join(" ");
        assert!(err(&many).message.contains("more than"));
        assert!(parse(&vec!["a"; MAX_TERMS].join(" OR ")).is_ok());
    }
}
