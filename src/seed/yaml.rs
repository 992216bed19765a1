//! A tenant file's YAML, read into JSON values that remember the line each value came from, so
//! that every problem found later can name the line it is about.
//!
//! Scalars resolve as YAML 1.2's core schema does (plain `true`, `12`, `~` are a boolean, a
//! number, null; quoted ones are strings); anchors and aliases work; keys must be strings and
//! appear once per mapping. `##NAME##` inside a string is replaced by the keyword `NAME` (the
//! Auth0 Deploy CLI's keyword replacement), so secrets can stay out of the file.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use serde_json::{Map, Number, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::Problem;

/// How many values aliases may expand to in all: a few nested aliases can otherwise stand for
/// billions of values ("billion laughs").
const ALIAS_EXPANSION_LIMIT: usize = 100_000;

/// A parsed file: its value and the line of each value, by path (`roles[0].permissions[1]`).
/// Read with its users streamed, a file's document holds the other sections, and each entry of
/// `users` is a document of its own (paths from the file's root: `users[7].email`).
#[derive(Debug, Default, Clone)]
pub struct Document {
    pub value: Value,
    lines: HashMap<String, usize>,
    /// How many `users` entries were streamed instead of kept.
    pub streamed: usize,
}

impl Document {
    /// The line of the value at `path`, else of its nearest enclosing value.
    pub fn line(&self, path: &str) -> usize {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return *line;
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return self.lines.get("").copied().unwrap_or(1),
            }
        }
    }

    /// A problem with the value at `path`.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        Problem { line: self.line(path), path: path.to_owned(), message: message.into() }
    }
}

/// Reads `text`; `keyword` resolves `##NAME##` (None: unknown keyword). A file that is not
/// YAML is refused here; problems with a readable file (a duplicate key, an unknown keyword)
/// come back beside its document, so that they are reported with the plan's.
#[cfg(test)]
pub fn parse(text: &str, keyword: &dyn Fn(&str) -> Option<String>) -> Result<(Document, Vec<Problem>), Vec<Problem>> {
    read(text.as_bytes(), keyword, None)
}

/// As `parse`, from `source` as it is read; with `users`, each entry of the file's `users` list
/// goes to it as soon as it is read, and is not kept: a file of a million users streams through.
pub fn read(
    source: impl BufRead,
    keyword: &dyn Fn(&str) -> Option<String>,
    users: Option<&mut dyn FnMut(Document)>,
) -> Result<(Document, Vec<Problem>), Vec<Problem>> {
    read_lines(Chars::new(source, None), keyword, users)
}

/// As `read`, but for a file's first read, which needs every section but `users`: the entries
/// of a top-level block `users:` are passed over as blank lines (lines keep their numbers), only
/// counted (`Document::streamed`), which is several times quicker than reading them. They are
/// read, and checked, by the second read. Anything that goes wrong here (an alias elsewhere
/// naming an anchor among the users, say) may be an artefact: the caller reads the file again,
/// whole.
pub fn read_without_users(
    source: impl BufRead,
    keyword: &dyn Fn(&str) -> Option<String>,
) -> Result<(Document, Vec<Problem>), Vec<Problem>> {
    let mut chars = Chars::new(source, Some(UsersBlock::default()));
    let mut read = read_lines(&mut chars, keyword, Some(&mut drop));
    if let (Ok((document, _)), Some(block)) = (&mut read, &chars.skip) {
        document.streamed += block.entries;
    }
    read
}

fn read_lines<R: BufRead>(
    mut chars: impl std::borrow::BorrowMut<Chars<R>>,
    keyword: &dyn Fn(&str) -> Option<String>,
    users: Option<&mut dyn FnMut(Document)>,
) -> Result<(Document, Vec<Problem>), Vec<Problem>> {
    let chars = chars.borrow_mut();
    let mut builder = Builder {
        keyword,
        stack: Vec::new(),
        root: None,
        documents: 0,
        anchors: HashMap::new(),
        expanded: 0,
        lines: HashMap::new(),
        keywords_seen: HashSet::new(),
        problems: Vec::new(),
        users,
        entry_lines: HashMap::new(),
        streamed: 0,
    };
    let loaded = Parser::new(&mut *chars).load(&mut builder, true);
    if let Some(error) = chars.error.take() {
        return Err(vec![Problem { line: chars.line, path: String::new(), message: format!("cannot read: {error}") }]);
    }
    if let Err(error) = loaded {
        let mark = error.marker();
        return Err(vec![Problem { line: mark.line(), path: String::new(), message: error.info().to_owned() }]);
    }
    // A keyword in the text that no string held was read as something else: unquoted after a
    // space, `#` starts a YAML comment.
    for (line, name) in std::mem::take(&mut chars.keywords) {
        if !builder.keywords_seen.contains(&name) {
            builder.problems.push(Problem {
                line,
                path: String::new(),
                message: format!("##{name}## is read as a YAML comment here: quote the value (\"##{name}##\")"),
            });
        }
    }
    let value = builder.root.unwrap_or(Value::Null);
    let mut lines = builder.lines;
    lines.entry(String::new()).or_insert(1);
    Ok((Document { value, lines, streamed: builder.streamed }, builder.problems))
}

/// The characters of a UTF-8 source, a line at a time, noting the `##NAME##` keywords of each
/// line (few: they stay) and the first read error (which ends the characters).
struct Chars<R> {
    source: R,
    buffer: String,
    next: usize,
    /// The line of the characters being handed out, from 1.
    line: usize,
    keywords: Vec<(usize, String)>,
    error: Option<std::io::Error>,
    /// The top-level `users` block to pass over, if any.
    skip: Option<UsersBlock>,
}

impl<R: BufRead> Chars<R> {
    fn new(source: R, skip: Option<UsersBlock>) -> Self {
        Self { source, buffer: String::new(), next: 0, line: 0, keywords: Vec::new(), error: None, skip }
    }
}

/// Where a file's lines stand to its top-level `users:` block (a key alone on its line, its
/// entries on the lines after, each indented or a `- ` at the margin: the block ends at the
/// next line that starts at the margin with anything else).
#[derive(Default)]
struct UsersBlock {
    inside: bool,
    ended: bool,
    /// The indentation of the block's entries (its first `-`), and how many there were.
    indent: Option<usize>,
    entries: usize,
}

impl UsersBlock {
    /// Whether `line` belongs to the block's entries; counts them.
    fn takes(&mut self, line: &str) -> bool {
        if self.ended {
            return false;
        }
        if !self.inside {
            let rest = line.strip_prefix("users:").map(str::trim_start);
            self.inside = rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('#'));
            return false;
        }
        let margin = line.starts_with(|c: char| !matches!(c, ' ' | '\t' | '-' | '#' | '\r' | '\n'));
        if margin || line.starts_with("---") || line.starts_with("...") {
            self.ended = true;
            return false;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let item = &line[indent..];
        if item.starts_with("- ") || item.trim_end() == "-" {
            match self.indent {
                None => {
                    self.indent = Some(indent);
                    self.entries += 1;
                }
                Some(first) if first == indent => self.entries += 1,
                Some(_) => {}
            }
        }
        true
    }
}

impl<R: BufRead> Iterator for Chars<R> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.next >= self.buffer.len() {
            self.buffer.clear();
            self.next = 0;
            match self.source.read_line(&mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line += 1;
                    if self.skip.as_mut().is_some_and(|block| block.takes(&self.buffer)) {
                        self.buffer.clear();
                        self.buffer.push('\n');
                    }
                    let line = self.line;
                    self.keywords.extend(keywords_in(&self.buffer).into_iter().map(|name| (line, name.to_owned())));
                }
                Err(error) => {
                    self.error = Some(error);
                    return None;
                }
            }
        }
        let next = self.buffer[self.next..].chars().next()?;
        self.next += next.len_utf8();
        Some(next)
    }
}

/// A collection being read: its path, and either its items or its entries with the key that
/// waits for a value.
enum Open {
    /// `streamed`: items handed to the users' stream instead of kept.
    Sequence {
        path: String,
        items: Vec<Value>,
        anchor: usize,
        streamed: usize,
    },
    Mapping {
        path: String,
        entries: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
    },
}

struct Builder<'k, 'u> {
    keyword: &'k dyn Fn(&str) -> Option<String>,
    stack: Vec<Open>,
    root: Option<Value>,
    documents: usize,
    /// Each anchor's value and how many values it holds.
    anchors: HashMap<usize, (Value, usize)>,
    /// Values aliases have expanded to so far.
    expanded: usize,
    lines: HashMap<String, usize>,
    /// Keyword names found in strings.
    keywords_seen: HashSet<String>,
    problems: Vec<Problem>,
    /// Where the entries of `users` go, when they are streamed.
    users: Option<&'u mut dyn FnMut(Document)>,
    /// The lines of the streamed entry being read.
    entry_lines: HashMap<String, usize>,
    streamed: usize,
}

/// The `NAME`s of the `##NAME##` keywords in `text`.
fn keywords_in(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("##") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("##") else { break };
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.push(name);
            rest = &after[end + 2..];
        } else {
            rest = after;
        }
    }
    names
}

/// A mapping with its merge key (`<<: *base` or `<<: [*a, *b]`) resolved: the merged mappings'
/// entries it does not have itself, the first merged mapping first.
fn merged(mut entries: Map<String, Value>) -> Map<String, Value> {
    let Some(sources) = entries.shift_remove("<<") else { return entries };
    let sources = match sources {
        Value::Array(items) => items,
        single => vec![single],
    };
    for source in sources {
        if let Value::Object(source) = source {
            for (key, value) in source {
                entries.entry(key).or_insert(value);
            }
        }
    }
    entries
}

/// How many values `value` holds, itself included.
fn size(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(size).sum(),
        Value::Object(entries) => entries.values().map(size).sum(),
        _ => 0,
    }
}

impl Builder<'_, '_> {
    /// Where the next value goes, or `None` when it is a mapping's key.
    fn next_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Open::Sequence { path, items, streamed, .. }) => Some(format!("{path}[{}]", items.len() + streamed)),
            Some(Open::Mapping { key: None, .. }) => None,
            Some(Open::Mapping { path, key: Some(key), .. }) => {
                Some(if path.is_empty() { key.clone() } else { format!("{path}.{key}") })
            }
        }
    }

    /// Whether the value being read belongs to an entry of `users` that is streamed.
    fn in_streamed_entry(&self) -> bool {
        self.users.is_some() && matches!(self.stack.get(1), Some(Open::Sequence { path, .. }) if path == "users")
    }

    /// Notes the line of the value at `path` (a key's line wins over its value's: `replace`).
    fn note_line(&mut self, path: String, line: usize, replace: bool) {
        let lines = if self.in_streamed_entry() { &mut self.entry_lines } else { &mut self.lines };
        if replace {
            lines.insert(path, line);
        } else {
            lines.entry(path).or_insert(line);
        }
    }

    fn push_value(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            let count = size(&value);
            self.anchors.insert(anchor, (value.clone(), count));
        }
        // An entry of `users`, complete: streamed on, not kept.
        if self.stack.len() == 2
            && let Some(users) = self.users.as_mut()
            && let Some(Open::Sequence { path, streamed, .. }) = self.stack.last_mut()
            && path == "users"
        {
            *streamed += 1;
            self.streamed += 1;
            users(Document { value, lines: std::mem::take(&mut self.entry_lines), streamed: 0 });
            return;
        }
        match self.stack.last_mut() {
            // Only the first document is kept; the others are refused (see `on_event`).
            None if self.root.is_some() => {}
            None => self.root = Some(value),
            Some(Open::Sequence { items, .. }) => items.push(value),
            Some(Open::Mapping { entries, key, .. }) => {
                if let Some(key) = key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }

    fn scalar(&mut self, text: String, style: TScalarStyle, anchor: usize, line: usize) {
        let path = self.next_path();
        let Some(path) = path else {
            // A key: it must be unique in its mapping.
            let Some(Open::Mapping { path, entries, key, .. }) = self.stack.last_mut() else { return };
            if entries.contains_key(&text) {
                let at = if path.is_empty() { text.clone() } else { format!("{path}.{text}") };
                self.problems.push(Problem { line, path: at, message: format!("duplicate key {text:?}") });
            }
            let at = if path.is_empty() { text.clone() } else { format!("{path}.{text}") };
            *key = Some(text);
            // A problem with a key's value names the key's line (`roles:`), not the line below
            // where its list starts.
            self.note_line(at, line, true);
            return;
        };
        self.note_line(path.clone(), line, false);
        let value = if style == TScalarStyle::Plain { resolve(&text) } else { Value::String(text) };
        let value = match value {
            Value::String(text) => Value::String(self.replace_keywords(&text, &path, line)),
            other => other,
        };
        self.push_value(value, anchor);
    }

    /// `##NAME##` → the keyword's value.
    fn replace_keywords(&mut self, text: &str, path: &str, line: usize) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("##") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("##") else { break };
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push_str(&rest[..start + 2]);
                rest = after;
                continue;
            }
            out.push_str(&rest[..start]);
            self.keywords_seen.insert(name.to_owned());
            match (self.keyword)(name) {
                Some(value) => out.push_str(&value),
                None => self.problems.push(Problem {
                    line,
                    path: path.to_owned(),
                    message: format!("##{name}## names no keyword: set the environment variable {name}"),
                }),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn open(&mut self, sequence: bool, anchor: usize, line: usize) {
        let Some(path) = self.next_path() else {
            self.problems.push(Problem {
                line,
                path: String::new(),
                message: "a mapping key must be a string, not a list or mapping".into(),
            });
            // Read it as a throw-away value under a key nobody uses, to go on finding problems.
            if let Some(Open::Mapping { key, .. }) = self.stack.last_mut() {
                *key = Some(String::new());
            }
            self.open(sequence, anchor, line);
            return;
        };
        self.note_line(path.clone(), line, false);
        self.stack.push(if sequence {
            Open::Sequence { path, items: Vec::new(), anchor, streamed: 0 }
        } else {
            Open::Mapping { path, entries: Map::new(), key: None, anchor }
        });
    }

    fn close(&mut self) {
        let (value, anchor) = match self.stack.pop() {
            Some(Open::Sequence { items, anchor, .. }) => (Value::Array(items), anchor),
            Some(Open::Mapping { entries, anchor, .. }) => (Value::Object(merged(entries)), anchor),
            None => return,
        };
        self.push_value(value, anchor);
    }
}

impl MarkedEventReceiver for Builder<'_, '_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                // `!!str 12` is the string "12", as a quoted scalar is.
                let style = if tag.is_some_and(|tag| tag.suffix == "str") { TScalarStyle::SingleQuoted } else { style };
                self.scalar(text, style, anchor, line);
            }
            Event::SequenceStart(anchor, _) => self.open(true, anchor, line),
            Event::MappingStart(anchor, _) => self.open(false, anchor, line),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
                Some((_, count)) if self.expanded + count > ALIAS_EXPANSION_LIMIT => {
                    if self.expanded <= ALIAS_EXPANSION_LIMIT {
                        self.problems.push(Problem {
                            line,
                            path: String::new(),
                            message: format!("aliases expand to more than {ALIAS_EXPANSION_LIMIT} values"),
                        });
                    }
                    self.expanded = ALIAS_EXPANSION_LIMIT + 1;
                    self.push_value(Value::Null, 0);
                }
                Some((value, count)) => match self.next_path() {
                    Some(path) => {
                        self.expanded += count;
                        self.note_line(path, line, false);
                        self.push_value(value, 0);
                    }
                    None => self.problems.push(Problem {
                        line,
                        path: String::new(),
                        message: "an alias cannot be a mapping key".into(),
                    }),
                },
                None => self.problems.push(Problem { line, path: String::new(), message: "unknown alias".into() }),
            },
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.problems.push(Problem {
                        line,
                        path: String::new(),
                        message: "a tenant file is one YAML document; a second one starts here".into(),
                    });
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// A plain scalar as YAML's core schema reads it.
fn resolve(text: &str) -> Value {
    match Yaml::from_str(text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(flag) => Value::Bool(flag),
        Yaml::Integer(number) => Value::Number(number.into()),
        Yaml::Real(real) => real
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(text: &str) -> Document {
        let (doc, problems) = parse(text, &|name| (name == "SECRET").then(|| "s3cret".to_owned())).expect("parses");
        assert_eq!(problems, []);
        doc
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, &|_| None) {
            Ok((_, problems)) | Err(problems) => problems,
        }
    }

    #[test]
    fn reads_values_and_remembers_their_lines() {
        let doc =
            read("roles:\n  - name: admin\n    description: 'true'\n    permissions:\n      - a: 1\n        b: true\n");
        assert_eq!(
            doc.value,
            json!({"roles": [{"name": "admin", "description": "true", "permissions": [{"a": 1, "b": true}]}]})
        );
        assert_eq!(doc.line("roles[0].name"), 2);
        assert_eq!(doc.line("roles[0].description"), 3);
        assert_eq!(doc.line("roles[0].permissions[0].b"), 6);
        // A path with no value of its own falls back to its parent's line.
        assert_eq!(doc.line("roles[0].permissions[0].missing"), 5);
    }

    #[test]
    fn replaces_keywords_and_names_unknown_ones() {
        let doc = read("a: \"x-##SECRET##-y\"\nb: '## not a keyword ##'\n");
        assert_eq!(doc.value, json!({"a": "x-s3cret-y", "b": "## not a keyword ##"}));
        let problems = problems("a: 1\nb: \"##MISSING##\"\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].message.contains("MISSING"), "{}", problems[0].message);
    }

    #[test]
    fn refuses_duplicate_keys_and_syntax_errors_with_their_lines() {
        let found = problems("a: 1\nb: 2\na: 3\n");
        assert_eq!((found[0].line, found[0].message.as_str()), (3, "duplicate key \"a\""));
        let found = parse("a:\n  - b\n c: [\n", &|_| None).expect_err("not YAML");
        assert!(found[0].line >= 2, "{found:?}");
    }

    #[test]
    fn refuses_a_second_document_an_unquoted_keyword_and_alias_bombs() {
        let found = problems("a: 1\n---\nb: 2\n");
        assert_eq!(
            (found[0].line, found[0].message.as_str()),
            (2, "a tenant file is one YAML document; a second one starts here")
        );
        // Unquoted, `##NAME##` after a space is a comment: the value would be null.
        let (doc, found) = parse("a: ##SECRET##\n", &|_| Some("s".into())).expect("YAML");
        assert_eq!(doc.value, json!({"a": null}));
        assert_eq!(found[0].line, 1);
        assert!(found[0].message.contains("quote the value (\"##SECRET##\")"), "{}", found[0].message);
        // Each level doubles the one before: 2^30 values from a few lines.
        let mut bomb = String::from("l0: &l0 [x, x]\n");
        for level in 1..30 {
            bomb.push_str(&format!("l{level}: &l{level} [*l{}, *l{}]\n", level - 1, level - 1));
        }
        let found = problems(&bomb);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.starts_with("aliases expand to more than"), "{}", found[0].message);
    }

    #[test]
    fn merges_keys_and_reads_tagged_strings() {
        let doc = read(
            "base: &base {strategy: auth0, options: {a: 1}}\nc: {<<: *base, name: x, strategy: email}\nn: !!str 12\n",
        );
        assert_eq!(doc.value["c"], json!({"name": "x", "strategy": "email", "options": {"a": 1}}));
        assert_eq!(doc.value["n"], json!("12"));
    }

    #[test]
    fn streams_the_users_entries_each_with_its_lines() {
        let text = "roles:\n  - name: r\nusers:\n  - email: a@example.com\n    roles: [r]\n  - email: b@example.com\n  - 12\nx-after: 1\n";
        let mut users = Vec::new();
        let streamed = super::read(text.as_bytes(), &|_| None, Some(&mut |entry| users.push(entry)));
        let (doc, problems) = streamed.expect("YAML");
        assert_eq!(problems, []);
        assert_eq!(doc.value, json!({"roles": [{"name": "r"}], "users": [], "x-after": 1}));
        assert_eq!(doc.streamed, 3);
        let values: Vec<&Value> = users.iter().map(|entry| &entry.value).collect();
        assert_eq!(
            values,
            [&json!({"email": "a@example.com", "roles": ["r"]}), &json!({"email": "b@example.com"}), &json!(12)]
        );
        assert_eq!(users[0].line("users[0].roles[0]"), 5);
        assert_eq!(users[1].line("users[1].email"), 6);
        assert_eq!(users[1].line("users[1].missing"), 6);
        assert_eq!(users[2].line("users[2]"), 7);
        assert_eq!(doc.line("x-after"), 8);
    }

    #[test]
    fn a_first_read_passes_the_users_block_over_keeping_lines() {
        let text = "roles:\n  - name: r\nusers:   # the people\n  - email: a@example.com\n    roles:\n    - r\n\n  - \
                    email: \"##NOT_READ##\"\n  # a comment\n  -\n    email: c@example.com\norganizations:\n  - name: o\n";
        let (doc, problems) = super::read_without_users(text.as_bytes(), &|_| None).expect("YAML");
        assert_eq!(problems, [], "keywords among the users are the second read's to check");
        assert_eq!(doc.value, json!({"roles": [{"name": "r"}], "users": null, "organizations": [{"name": "o"}]}));
        assert_eq!(doc.streamed, 3);
        assert_eq!(doc.line("organizations[0].name"), 13);
        // Entries at the margin, and a block that ends the file.
        let text = "users:\n- email: a@example.com\n  roles:\n  - r\n- email: b@example.com\n";
        let (doc, _) = super::read_without_users(text.as_bytes(), &|_| None).expect("YAML");
        assert_eq!((doc.value, doc.streamed), (json!({"users": null}), 2));
        // A flow list is read as the plain read reads it.
        let text = "users: [{email: a@example.com}]\nroles: []\n";
        let (doc, _) = super::read_without_users(text.as_bytes(), &|_| None).expect("YAML");
        assert_eq!((doc.value, doc.streamed), (json!({"users": [], "roles": []}), 1));
        // An alias naming an anchor among the users does not read: the caller reads again, whole.
        let text = "users:\n  - &ann {email: ann@example.com}\nx-copy: *ann\n";
        assert!(super::read_without_users(text.as_bytes(), &|_| None).is_err());
        assert!(super::read(text.as_bytes(), &|_| None, Some(&mut drop)).is_ok());
    }

    #[test]
    fn resolves_aliases() {
        let doc = read("base: &perm {permission_name: read, resource_server_identifier: api}\nlist: [*perm, *perm]\n");
        assert_eq!(doc.value["list"][1]["permission_name"], "read");
    }
}
