//! The console's page frame, its answers (pages, redirects, refusals) and the pieces every
//! page uses. Markup is maud's: every value is escaped unless wrapped in `PreEscaped`, which
//! the console never does with data.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::{Console, Refusal};

const STYLESHEET: &str = include_str!("console.css");
const SCRIPT: &str = include_str!("console.js");

/// What a redirect after a change tells the next page (`?notice=`); a fixed list, so that no
/// link can make the console say something of its choosing.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved.",
        "unchanged" => "Nothing to save: no field changed.",
        "created" => "Created.",
        "deleted" => "Deleted.",
        "blocked" => "The user is blocked.",
        "unblocked" => "The user is unblocked.",
        "role-assigned" => "Role assigned.",
        "role-removed" => "Role removed.",
        "sessions-revoked" => "Every session of the user is revoked.",
        "refresh-tokens-revoked" => "Every refresh token of the user is revoked.",
        _ => return None,
    })
}

/// The console's sections, as its navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Users,
    Roles,
    Organizations,
    Connections,
}

impl Nav {
    const ALL: [(Nav, &'static str, &'static str); 4] = [
        (Nav::Users, "Users", "users"),
        (Nav::Roles, "Roles", "roles"),
        (Nav::Organizations, "Organizations", "organizations"),
        (Nav::Connections, "Connections", "connections"),
    ];
}

/// The frame of every page after sign-in: navigation, who is signed in, the notice or error.
pub(super) struct Frame<'a> {
    nav: Nav,
    title: &'a str,
    status: StatusCode,
    notice: Option<&'a str>,
    error: Option<&'a Refusal>,
}

impl<'a> Frame<'a> {
    pub fn new(nav: Nav, title: &'a str) -> Self {
        Self { nav, title, status: StatusCode::OK, notice: None, error: None }
    }

    /// The notice a redirect asked for (`?notice=`), if it is one of the console's.
    pub fn notice(self, code: Option<&'a str>) -> Self {
        Self { notice: code, ..self }
    }

    /// What the API refused; the page answers with its status.
    pub fn refused(self, refusal: Option<&'a Refusal>) -> Self {
        match refusal {
            Some(refusal) => Self { status: refusal.status, error: Some(refusal), ..self },
            None => self,
        }
    }

    pub fn render(self, console: &Console, body: Markup) -> Response {
        let base = &console.base;
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                (head(base, self.title))
                body {
                    a.skip href="#main" { "Skip to content" }
                    header {
                        a.brand href={ (base) "/users" } { "Roster" }
                        nav aria-label="Main" {
                            @for (nav, label, path) in Nav::ALL {
                                a href={ (base) "/" (path) } aria-current=[(nav == self.nav).then_some("page")] { (label) }
                            }
                        }
                        form #logout method="post" action={ (base) "/logout" } {
                            (csrf_input(console))
                            span.who { (console.who) }
                            button type="submit" { "Sign out" }
                        }
                    }
                    main #main {
                        @if let Some(text) = self.notice.and_then(notice_text) {
                            p #notice role="status" { (text) }
                        }
                        @if let Some(refusal) = self.error {
                            p #error role="alert" { (refusal.message) }
                        }
                        (body)
                    }
                }
            }
        };
        respond(self.status, markup)
    }
}

pub(super) fn head(base: &str, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Roster console" }
            link rel="stylesheet" href={ (base) "/assets/console.css" };
            script src={ (base) "/assets/console.js" } defer {}
        }
    }
}

/// A page with its security headers: no framing, nothing but the console's own assets, and
/// never cached (it shows personal data).
pub(super) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// A page that only says what the API refused, with its status (a 403 for a missing scope).
pub(super) fn refused(console: &Console, refusal: &Refusal) -> Response {
    let body = html! {
        h1 { "Not done" }
        p { a href={ (console.base) "/users" } { "Back to the users" } }
    };
    Frame::new(Nav::Users, "Refused").refused(Some(refusal)).render(console, body)
}

/// A redirect to a path of the tenant (`/console/…`): a tenant reached by path gets its
/// prefix put in front by the dispatcher, as for all its redirects.
pub(super) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// After a change: to a console page, whose `path` may carry a `?notice=`.
pub(super) fn see_other(path: &str) -> Response {
    redirect(&format!("/console{path}"))
}

pub(super) fn csrf_input(console: &Console) -> Markup {
    html! { input type="hidden" name="csrf" value=(console.csrf()); }
}

/// A section of a page whose data the client may lack the scope to read.
pub(super) fn section(id: &str, title: &str, content: Result<Markup, &Refusal>) -> Markup {
    html! {
        section id=(id) aria-labelledby={ (id) "-title" } {
            h2 id={ (id) "-title" } { (title) }
            @match content {
                Ok(markup) => (markup),
                Err(refusal) => p.refused { (refusal.message) },
            }
        }
    }
}

/// A JSON value as the API gives it, indented.
pub(super) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A JSON field as text for a table cell: strings bare, the rest as JSON.
pub(super) fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// The first of `values` that is not empty, as text.
pub(super) fn first(values: &[Option<&Value>]) -> String {
    values.iter().map(|value| text(*value)).find(|text| !text.is_empty()).unwrap_or_default()
}

/// A table of API objects, a column per (heading, JSON pointers: the first that is not empty
/// shows), or `empty` when there are none.
pub(super) fn rows(items: &[Value], empty: &str, columns: &[(&str, &[&str])]) -> Markup {
    html! {
        @if items.is_empty() { p { (empty) } } @else {
            div.scroll { table {
                thead { tr { @for (heading, _) in columns { th scope="col" { (heading) } } } }
                tbody { @for item in items { tr {
                    @for (_, pointers) in columns {
                        td { (first(&pointers.iter().map(|p| item.pointer(p)).collect::<Vec<_>>())) }
                    }
                } } }
            } }
        }
    }
}

/// The page that asks before a deletion; its form posts to `action`.
pub(super) fn confirm_delete(console: &Console, nav: Nav, what: &str, name: &str, back: &str) -> Response {
    let body = html! {
        h1 { "Delete " (what) "?" }
        p { "This deletes " strong { (name) } " for good. It cannot be undone." }
        form #confirm-delete method="post" {
            (csrf_input(console))
            button.danger type="submit" { "Delete " (what) }
            " "
            a href=(back) { "Cancel" }
        }
    };
    Frame::new(nav, &format!("Delete {what}")).render(console, body)
}

pub(super) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
