//! A users export: each user rendered as Auth0 renders it, then projected on the fields asked
//! for (`name`, a path such as `identities[0].connection` or `user_metadata.plan`, shown as
//! `export_as`), one JSON object a line (Auth0's "json" is NDJSON) or CSV rows.

use serde_json::{Map, Value};

use crate::domain::user::{Projection, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// A field to export: its path in the user and its name in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub export_as: Option<String>,
}

impl Field {
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned(), export_as: None }
    }

    fn title(&self) -> &str {
        self.export_as.as_deref().unwrap_or(&self.name)
    }
}

/// The fields of a CSV export that names none (JSON exports then hold whole users).
pub const DEFAULT_CSV_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "username",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "blocked",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
];

pub struct Exporter {
    format: Format,
    fields: Vec<Field>,
}

impl Exporter {
    pub fn new(format: Format, fields: Vec<Field>) -> Self {
        let fields = if fields.is_empty() && format == Format::Csv {
            DEFAULT_CSV_FIELDS.iter().map(|name| Field::new(name)).collect()
        } else {
            fields
        };
        Self { format, fields }
    }

    /// The file's first line, if it has one (CSV's titles).
    pub fn header(&self) -> Option<String> {
        (self.format == Format::Csv)
            .then(|| format!("{}\n", self.fields.iter().map(|f| csv_text(f.title())).collect::<Vec<_>>().join(",")))
    }

    /// A user's line, newline included.
    #[cfg(test)]
    pub fn line(&self, user: &User) -> String {
        let mut out = Vec::new();
        self.write_line(user, &mut out);
        String::from_utf8(out).expect("JSON and CSV lines are UTF-8")
    }

    /// Appends a user's line, newline included, to `out`. Whole users are serialized straight
    /// into it (a million-user export spent half its time allocating and copying JSON maps).
    pub fn write_line(&self, user: &User, out: &mut Vec<u8>) {
        if self.format == Format::Json && self.fields.is_empty() {
            serde_json::to_writer(&mut *out, &user.rendered(&Projection::all())).expect("a user serializes");
            out.push(b'\n');
            return;
        }
        let whole = user.to_json(&Projection::all());
        let line = match self.format {
            Format::Json => {
                let mut out = Map::new();
                for field in &self.fields {
                    if let Some(value) = lookup(&whole, &field.name) {
                        out.insert(field.title().to_owned(), value.clone());
                    }
                }
                format!("{}\n", Value::Object(out))
            }
            Format::Csv => {
                let cells: Vec<String> = self
                    .fields
                    .iter()
                    .map(|field| match lookup(&whole, &field.name) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(text)) => csv_text(text),
                        Some(Value::Bool(flag)) => flag.to_string(),
                        Some(Value::Number(number)) => number.to_string(),
                        Some(other) => csv_text(&other.to_string()),
                    })
                    .collect();
                format!("{}\n", cells.join(","))
            }
        };
        out.extend_from_slice(line.as_bytes());
    }
}

/// A string cell as Auth0 writes it (OWASP's CSV injection rules): quoted, quotes doubled, and
/// a single quote before the text.
fn csv_text(text: &str) -> String {
    format!("\"'{}\"", text.replace('"', "\"\""))
}

/// The value at `path` (`a.b`, `a[0].b`) in `user`.
fn lookup<'v>(user: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut segments = path.split('.');
    let mut current = step(user, segments.next()?)?;
    for segment in segments {
        current = step(current.as_object()?, segment)?;
    }
    Some(current)
}

fn step<'v>(object: &'v Map<String, Value>, segment: &str) -> Option<&'v Value> {
    match segment.split_once('[') {
        None => object.get(segment),
        Some((key, index)) => {
            let index: usize = index.strip_suffix(']')?.parse().ok()?;
            object.get(key)?.as_array()?.get(index)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> User {
        let connection = crate::domain::connection::Connection::default_database("con_1".into(), false);
        let record = json!({"email": "a@b.co", "name": "A \"B\"", "user_metadata": {"plan": "pro"}});
        let now = crate::domain::time::now();
        crate::domain::import_user::import_user(record.as_object().unwrap(), &connection, now).unwrap().user
    }

    #[test]
    fn json_lines_hold_the_fields_named() {
        let fields = vec![
            Field::new("email"),
            Field { name: "identities[0].connection".into(), export_as: Some("provider".into()) },
            Field::new("user_metadata.plan"),
            Field::new("phone_number"),
        ];
        let line = Exporter::new(Format::Json, fields).line(&user());
        assert_eq!(
            line,
            "{\"email\":\"a@b.co\",\"provider\":\"Username-Password-Authentication\",\"user_metadata.plan\":\"pro\"}\n"
        );
    }

    #[test]
    fn csv_cells_are_escaped_as_auth0_does() {
        let exporter = Exporter::new(Format::Csv, vec![Field::new("name"), Field::new("blocked"), Field::new("email")]);
        assert_eq!(exporter.header().unwrap(), "\"'name\",\"'blocked\",\"'email\"\n");
        assert_eq!(exporter.line(&user()), "\"'A \"\"B\"\"\",,\"'a@b.co\"\n");
    }
}
