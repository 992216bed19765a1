//! The console's roles, organizations and connections: the same pages for each (a list with a
//! create form, an object's page with an edit form and what belongs to it, a deletion after
//! a confirmation page), described once per kind.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use futures_util::future::join_all;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::page::{self, Frame, Nav, csrf_input, first, section, text};
use super::{Console, ConsoleState, Fields, NoticeQuery, Posted, Refusal, field, segment};

/// A form field: its name in the API and on the page.
type FormField = (&'static str, &'static str);

/// What belongs to an object, listed on its page: from `/{kind}/{id}{suffix}`.
struct Related {
    id: &'static str,
    title: &'static str,
    suffix: &'static str,
    /// Where a list wrapped in an object keeps its items (`members`); `None` for an array.
    items: Option<&'static str>,
    columns: &'static [FormField],
    /// Rows link to the user they name.
    users: bool,
}

struct Kind {
    nav: Nav,
    /// In the console's and the API's paths.
    path: &'static str,
    title: &'static str,
    singular: &'static str,
    /// What names an object: the first of these it has.
    names: &'static [&'static str],
    columns: &'static [FormField],
    create: &'static [FormField],
    /// What every create sends besides the form (a connection's strategy).
    create_fixed: &'static [(&'static str, &'static str)],
    edit: &'static [FormField],
    related: &'static [Related],
}

const ROLES: Kind = Kind {
    nav: Nav::Roles,
    path: "roles",
    title: "Roles",
    singular: "role",
    names: &["name"],
    columns: &[("name", "Name"), ("description", "Description"), ("id", "Id")],
    create: &[("name", "Name"), ("description", "Description")],
    create_fixed: &[],
    edit: &[("name", "Name"), ("description", "Description")],
    related: &[
        Related {
            id: "permissions",
            title: "Permissions",
            suffix: "/permissions?per_page=100",
            items: None,
            columns: &[("permission_name", "Permission"), ("resource_server_identifier", "API")],
            users: false,
        },
        Related {
            id: "users",
            title: "Users",
            suffix: "/users?per_page=100",
            items: None,
            columns: &[("email", "Email"), ("name", "Name"), ("user_id", "User id")],
            users: true,
        },
    ],
};

const ORGANIZATIONS: Kind = Kind {
    nav: Nav::Organizations,
    path: "organizations",
    title: "Organizations",
    singular: "organization",
    names: &["display_name", "name"],
    columns: &[("name", "Name"), ("display_name", "Display name"), ("id", "Id")],
    create: &[("name", "Name"), ("display_name", "Display name")],
    create_fixed: &[],
    edit: &[("name", "Name"), ("display_name", "Display name")],
    related: &[Related {
        id: "members",
        title: "Members",
        suffix: "/members?per_page=100",
        items: None,
        columns: &[("email", "Email"), ("name", "Name"), ("user_id", "User id")],
        users: true,
    }],
};

const CONNECTIONS: Kind = Kind {
    nav: Nav::Connections,
    path: "connections",
    title: "Connections",
    singular: "connection",
    names: &["display_name", "name"],
    columns: &[("name", "Name"), ("strategy", "Strategy"), ("display_name", "Display name"), ("id", "Id")],
    create: &[("name", "Name"), ("display_name", "Display name")],
    create_fixed: &[("strategy", "auth0")],
    edit: &[("display_name", "Display name")],
    related: &[Related {
        id: "clients",
        title: "Enabled clients",
        suffix: "/clients",
        items: Some("clients"),
        columns: &[("client_id", "Client id")],
        users: false,
    }],
};

pub(super) fn router() -> Router<ConsoleState> {
    [&ROLES, &ORGANIZATIONS, &CONNECTIONS].into_iter().fold(Router::new(), |router, kind: &'static Kind| {
        router
            .route(
                &format!("/console/{}", kind.path),
                get(move |c, q| list(c, q, kind)).post(move |c, f| create(c, f, kind)),
            )
            .route(
                &format!("/console/{}/{{id}}", kind.path),
                get(move |c, p, q| show(c, p, q, kind)).post(move |c, p, f| edit(c, p, f, kind)),
            )
            .route(
                &format!("/console/{}/{{id}}/delete", kind.path),
                get(move |c, p| confirm_delete(c, p, kind)).post(move |c, p, f| delete(c, p, f, kind)),
            )
    })
}

impl Kind {
    fn api_path(&self, id: &str) -> String {
        format!("/{}/{}", self.path, segment(id))
    }

    fn route(&self, suffix: &str) -> String {
        format!("/{}{suffix}", self.path)
    }

    fn name_of(&self, object: &Value) -> String {
        first(&self.names.iter().map(|key| object.get(*key)).collect::<Vec<_>>())
    }

    /// An API list: an array, or (organizations) the array in an object.
    fn items(&self, answer: &Value) -> Vec<Value> {
        match answer {
            Value::Array(items) => items.clone(),
            other => other.get(self.path).and_then(Value::as_array).cloned().unwrap_or_default(),
        }
    }
}

async fn list(console: Console, Query(query): Query<NoticeQuery>, kind: &'static Kind) -> Response {
    list_page(&console, kind, query.notice.as_deref(), None, &Fields::new()).await
}

async fn list_page(
    console: &Console,
    kind: &Kind,
    notice: Option<&str>,
    refusal: Option<&Refusal>,
    sent: &Fields,
) -> Response {
    let answer = console.get(&format!("/{}?per_page=100", kind.path)).await;
    let base = &console.base;
    let table_id = kind.path;
    let body = html! {
        h1 { (kind.title) }
        @match &answer {
            Ok(answer) => {
                @let items = kind.items(answer);
                @if items.is_empty() { p { "None yet." } } @else {
                    div.scroll { table id=(table_id) {
                        thead { tr { @for (_, label) in kind.columns { th scope="col" { (label) } } } }
                        tbody { @for item in &items { tr {
                            @for (i, (key, _)) in kind.columns.iter().enumerate() {
                                td { @if i == 0 {
                                    a href={ (base) "/" (kind.path) "/" (segment(&text(item.get("id")))) } { (text(item.get(*key))) }
                                } @else { (text(item.get(*key))) } }
                            }
                        } } }
                    } }
                }
            },
            Err(refusal) => p.refused { (refusal.message) },
        }
        @if console.may(Method::POST, &kind.route("")) {
            h2 { "Create a " (kind.singular) }
            form id={ "create-" (kind.singular) } method="post" action={ (base) "/" (kind.path) } {
                (csrf_input(console))
                (inputs(kind.create, |key| field(sent, key).to_owned()))
                button type="submit" { "Create " (kind.singular) }
            }
        }
    };
    Frame::new(kind.nav, kind.title).notice(notice).refused(refusal).render(console, body)
}

fn inputs(fields: &[FormField], value: impl Fn(&str) -> String) -> Markup {
    html! {
        @for (key, label) in fields {
            label for=(key) { (label) }
            input id=(key) name=(key) value=(value(key));
        }
    }
}

async fn create(console: Console, Posted(fields): Posted, kind: &'static Kind) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    let mut body: Map<String, Value> =
        kind.create_fixed.iter().map(|(key, value)| ((*key).to_owned(), json!(value))).collect();
    for (key, _) in kind.create {
        let value = field(&fields, key);
        if !value.is_empty() {
            body.insert((*key).to_owned(), json!(value));
        }
    }
    match console.call(Method::POST, &kind.route(""), Some(Value::Object(body))).await {
        Ok(created) => page::see_other(&format!("{}?notice=created", kind.api_path(&text(created.get("id"))))),
        Err(refusal) => list_page(&console, kind, None, Some(&refusal), &fields).await,
    }
}

async fn show(
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
    kind: &'static Kind,
) -> Response {
    object_page(&console, kind, &id, query.notice.as_deref(), None, None).await
}

async fn object_page(
    console: &Console,
    kind: &Kind,
    id: &str,
    notice: Option<&str>,
    refusal: Option<&Refusal>,
    sent: Option<&Fields>,
) -> Response {
    let path = kind.api_path(id);
    let object = match console.get(&path).await {
        Ok(object) => object,
        Err(not_read) => {
            let body = html! { h1 { (kind.title) } p { a href={ (console.base) "/" (kind.path) } { "Back" } } };
            return Frame::new(kind.nav, kind.title).refused(Some(&not_read)).render(console, body);
        }
    };
    let answers = join_all(kind.related.iter().map(|part| console.get(format!("{path}{}", part.suffix)))).await;
    let related: Vec<_> = kind.related.iter().zip(answers).collect();
    let title = kind.name_of(&object);
    let action = format!("{}{path}", console.base);
    let body = html! {
        h1 { (title) }
        @if console.may(Method::DELETE, &kind.route("/{id}")) {
            div.actions { a id={ "delete-" (kind.singular) } .button.danger href={ (action) "/delete" } { "Delete " (kind.singular) } }
        }
        (section("details", "Details", Ok(html! { pre { (page::pretty(&object)) } })))
        @if console.may(Method::PATCH, &kind.route("/{id}")) {
            section #edit aria-labelledby="edit-title" {
                h2 #edit-title { "Edit" }
                form id={ "edit-" (kind.singular) } method="post" action=(action) {
                    (csrf_input(console))
                    (inputs(kind.edit, |key| sent.map_or_else(|| text(object.get(key)), |f| field(f, key).to_owned())))
                    button type="submit" { "Save" }
                }
            }
        }
        @for (part, answer) in &related {
            (section(part.id, part.title, answer.as_ref().map(|answer| related_table(console, part, answer))))
        }
    };
    Frame::new(kind.nav, &title).notice(notice).refused(refusal).render(console, body)
}

fn related_table(console: &Console, part: &Related, answer: &Value) -> Markup {
    let items = match part.items {
        Some(key) => answer.get(key).and_then(Value::as_array).cloned().unwrap_or_default(),
        None => answer.as_array().cloned().unwrap_or_default(),
    };
    html! {
        @if items.is_empty() { p { "None." } } @else {
            div.scroll { table {
                thead { tr { @for (_, label) in part.columns { th scope="col" { (label) } } } }
                tbody { @for item in &items { tr {
                    @for (i, (key, _)) in part.columns.iter().enumerate() {
                        td { @if i == 0 && part.users {
                            a href={ (console.base) "/users/" (segment(&text(item.get("user_id")))) } { (first(&[item.get(*key), item.get("user_id")])) }
                        } @else { (text(item.get(*key))) } }
                    }
                } } }
            } }
        }
    }
}

async fn edit(console: Console, Path(id): Path<String>, Posted(fields): Posted, kind: &'static Kind) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    let path = kind.api_path(&id);
    let current = match console.get(&path).await {
        Ok(current) => current,
        Err(refusal) => return object_page(&console, kind, &id, None, Some(&refusal), Some(&fields)).await,
    };
    let changes: Map<String, Value> = kind
        .edit
        .iter()
        .filter_map(|(key, _)| fields.get(*key).map(|v| (*key, v.trim())))
        .filter(|(key, sent)| *sent != text(current.get(*key)))
        .map(|(key, sent)| (key.to_owned(), json!(sent)))
        .collect();
    if changes.is_empty() {
        return page::see_other(&format!("{path}?notice=unchanged"));
    }
    match console.call(Method::PATCH, &path, Some(Value::Object(changes))).await {
        Ok(_) => page::see_other(&format!("{path}?notice=saved")),
        Err(refusal) => object_page(&console, kind, &id, None, Some(&refusal), Some(&fields)).await,
    }
}

async fn confirm_delete(console: Console, Path(id): Path<String>, kind: &'static Kind) -> Response {
    let path = kind.api_path(&id);
    match console.get(&path).await {
        Ok(object) => {
            let back = format!("{}{path}", console.base);
            page::confirm_delete(&console, kind.nav, kind.singular, &kind.name_of(&object), &back)
        }
        Err(refusal) => page::refused(&console, &refusal),
    }
}

async fn delete(console: Console, Path(id): Path<String>, Posted(fields): Posted, kind: &'static Kind) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    match console.call(Method::DELETE, &kind.api_path(&id), None).await {
        Ok(_) => page::see_other(&format!("{}?notice=deleted", kind.route(""))),
        Err(refusal) => object_page(&console, kind, &id, None, Some(&refusal), None).await,
    }
}
