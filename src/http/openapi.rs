//! Roster's OpenAPI document (`GET /api/v2/openapi.json`) and a page to browse it
//! (`GET /api/v2/docs`).
//!
//! The document is Auth0's, cut down to the operations Roster implements and the schemas they
//! use, by `scripts/gen_openapi.py` into `openapi.json` beside this file (embedded; Auth0's
//! spec itself is not part of the repository). A test holds it to the `IMPLEMENTED` lists, so
//! an operation implemented without regenerating it fails the build's tests. Served, the
//! document names this server: `servers`, and the client-credentials flow's token URL and
//! audience. The page is rendered here from the same document, once, with no script.

use std::fmt::Write;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::domain::authorize::escape_html as esc;

const DOCUMENT: &str = include_str!("openapi.json");

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> &'static Value {
    static PARSED: LazyLock<Value> =
        LazyLock::new(|| serde_json::from_str(DOCUMENT).expect("src/http/openapi.json is JSON"));
    &PARSED
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v2/openapi.json", get(openapi_json)).route("/api/v2/docs", get(page))
}

/// `http(s)://domain` as a client reached it: https over TLS (which sets the header) or behind
/// a proxy that says so.
fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).filter(|p| *p == "https");
    let domain = app.issuer.issuer.trim_start_matches("https://").trim_end_matches('/');
    format!("{}://{domain}", scheme.unwrap_or("http"))
}

/// The document, naming this server.
pub fn for_server(base: &str, audience: &str) -> Value {
    let mut doc = document().clone();
    doc["servers"] = json!([{"url": format!("{base}/api/v2"), "description": "This Roster server"}]);
    let flow = &mut doc["components"]["securitySchemes"]["oAuth2ClientCredentials"]["flows"]["clientCredentials"];
    flow["tokenUrl"] = json!(format!("{base}/oauth/token"));
    flow["x-form-parameters"] = json!({"audience": audience});
    doc
}

async fn openapi_json(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let doc = for_server(&base_url(&app, &headers), &app.issuer.management_audience);
    let body = serde_json::to_vec(&doc).expect("a JSON value serialises");
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

async fn page(State(app): State<AppState>, headers: HeaderMap) -> Response {
    static BODY: LazyLock<String> = LazyLock::new(|| render(document()));
    let base = esc(&base_url(&app, &headers));
    let html = PAGE_HEAD.replace("{base}", &base) + &BODY + PAGE_TAIL;
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        html,
    )
        .into_response()
}

const PAGE_HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roster Management API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1d1d1f}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ccc;text-transform:capitalize}
details{border:1px solid #ddd;border-radius:4px;margin:.35rem 0}summary{cursor:pointer;padding:.4rem .6rem}
details>div{padding:0 .8rem .6rem}code{font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:4.2rem;font:bold 12px ui-monospace,monospace;text-align:center;border-radius:3px;padding:2px 0;color:#fff}
.get{background:#2f7bbf}.post{background:#2e8b57}.put{background:#8a5fbf}.patch{background:#c27c0e}.delete{background:#c0392b}
table{border-collapse:collapse;width:100%;margin:.4rem 0}td,th{border-top:1px solid #eee;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{font-weight:600}.d{white-space:pre-wrap}nav a{margin-right:.8rem}
</style></head><body>
<h1>Roster Management API</h1>
<p>The operations of Auth0's Management API v2 this server implements, at <code>{base}/api/v2</code>.
The machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1, for SDK generators and API explorers).
Calls take a bearer token from <code>POST {base}/oauth/token</code> (client credentials).</p>
"#;

const PAGE_TAIL: &str = "</body></html>\n";

/// The operations by tag, each folded: parameters, request body, responses.
fn render(doc: &Value) -> String {
    let empty = Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    let schemas = doc["components"]["schemas"].as_object().unwrap_or(&empty);
    let tags: Vec<&str> = doc["tags"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
    let mut out = String::from("<nav>");
    for tag in &tags {
        let _ = write!(out, r##"<a href="#{0}">{0}</a>"##, esc(tag));
    }
    out.push_str("</nav>\n");
    for tag in &tags {
        let _ = writeln!(out, r#"<h2 id="{0}">{0}</h2>"#, esc(tag));
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tagged = op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag)));
                if tagged {
                    operation(&mut out, method, path, op, schemas);
                }
            }
        }
    }
    out
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value, schemas: &Map<String, Value>) {
    let _ = write!(
        out,
        r#"<details id="{id}"><summary><span class="m {method}">{upper}</span> <code>/api/v2{path}</code> {summary}</summary><div>"#,
        id = esc(op["operationId"].as_str().unwrap_or_default()),
        upper = method.to_uppercase(),
        path = esc(path),
        summary = esc(op["summary"].as_str().unwrap_or_default()),
    );
    if let Some(text) = op["description"].as_str() {
        let _ = write!(out, r#"<p class="d">{}</p>"#, esc(text.trim()));
    }
    if let Some(scopes) = scopes(op) {
        let _ = write!(out, "<p>Scopes (any one): <code>{}</code></p>", esc(&scopes));
    }
    let parameters = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
    if !parameters.is_empty() {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
        for p in parameters {
            let required = if p["required"].as_bool() == Some(true) { " (required)" } else { "" };
            row(
                out,
                p["name"].as_str().unwrap_or_default(),
                required,
                p["in"].as_str(),
                &p["schema"],
                &p["description"],
            );
        }
        out.push_str("</table>");
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        let types: Vec<&str> = content.keys().map(String::as_str).collect();
        let _ = write!(out, "<p>Body ({}):</p>", esc(&types.join(", ")));
        let schema = content.values().next().map(|c| &c["schema"]).unwrap_or(&Value::Null);
        body_schema(out, schema, schemas);
    }
    out.push_str("<table><tr><th>status</th><th>response</th></tr>");
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(status),
            esc(response["description"].as_str().unwrap_or_default())
        );
    }
    out.push_str("</table></div></details>\n");
}

/// The scopes of the client-credentials requirement, space-separated.
fn scopes(op: &Value) -> Option<String> {
    let list = op["security"].as_array()?.iter().find_map(|r| r["oAuth2ClientCredentials"].as_array())?;
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    (!names.is_empty()).then(|| names.join(" "))
}

/// A request body's schema: its name, and its properties one level down.
fn body_schema(out: &mut String, schema: &Value, schemas: &Map<String, Value>) {
    let (name, schema) = resolve(schema, schemas);
    if let Some(name) = name {
        let _ = write!(out, "<p>Schema <code>{}</code></p>", esc(name));
    }
    let Some(properties) = schema["properties"].as_object() else { return };
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    out.push_str("<table><tr><th>property</th><th></th><th>type</th><th>description</th></tr>");
    for (property, value) in properties {
        let (_, value) = resolve(value, schemas);
        let mark = if required.contains(&property.as_str()) { " (required)" } else { "" };
        row(out, property, mark, None, value, &value["description"]);
    }
    out.push_str("</table>");
}

fn row(out: &mut String, name: &str, mark: &str, place: Option<&str>, schema: &Value, description: &Value) {
    let _ = write!(
        out,
        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        esc(name),
        mark,
        esc(place.unwrap_or_default()),
        esc(&type_of(schema)),
        esc(description.as_str().unwrap_or_default())
    );
}

/// A `$ref` to a component schema, followed: its name and the schema.
fn resolve<'a>(schema: &'a Value, schemas: &'a Map<String, Value>) -> (Option<&'a str>, &'a Value) {
    let name = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
    match name.and_then(|name| schemas.get(name)) {
        Some(found) => (name, found),
        None => (None, schema),
    }
}

/// A schema's type in a few words: `string`, `array of string`, `integer | null`, a name.
fn type_of(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return name.to_owned();
    }
    match &schema["type"] {
        Value::String(kind) if kind == "array" => format!("array of {}", type_of(&schema["items"])),
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ if schema["oneOf"].is_array() || schema["anyOf"].is_array() => "one of several".to_owned(),
        _ => String::new(),
    }
}

/// `(METHOD, path)` of every operation in the document, paths as `IMPLEMENTED` spells them.
pub fn operations() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in document()["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if item.get(method).is_some() {
                found.push((method.to_uppercase(), crate::auth::scopes::canonical(path)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_document_has_exactly_the_implemented_operations() {
        let implemented: BTreeSet<(String, String)> = super::super::IMPLEMENTED
            .iter()
            .flat_map(|list| list.iter())
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let listed = operations();
        let documented: BTreeSet<(String, String)> = listed.iter().cloned().collect();
        assert_eq!(listed.len(), documented.len(), "an operation appears twice");
        let missing: Vec<_> = implemented.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&implemented).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "rerun scripts/gen_openapi.py; implemented but not documented: {missing:?}; documented but not implemented: {extra:?}"
        );
    }

    #[test]
    fn every_reference_resolves() {
        fn walk<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                        refs.push(r);
                    }
                    map.values().for_each(|v| walk(v, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let doc = document();
        let mut refs = Vec::new();
        walk(doc, &mut refs);
        for r in refs {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn the_served_document_names_the_server() {
        let doc = for_server("https://id.example.com", "https://id.example.com/api/v2/");
        assert_eq!(doc["servers"][0]["url"], "https://id.example.com/api/v2");
        let flow = &doc["components"]["securitySchemes"]["oAuth2ClientCredentials"]["flows"]["clientCredentials"];
        assert_eq!(flow["tokenUrl"], "https://id.example.com/oauth/token");
        assert_eq!(flow["x-form-parameters"]["audience"], "https://id.example.com/api/v2/");
    }

    #[test]
    fn the_page_lists_every_operation() {
        let html = render(document());
        for (method, _) in operations() {
            assert!(html.contains(&format!(r#"class="m {}""#, method.to_lowercase())));
        }
        assert_eq!(html.matches("<details").count(), operations().len());
    }
}
