//! The console's users: search and list, create, a user's page and what can be done there.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::page::{self, Frame, Nav, csrf_input, first, pretty, rows, section, text};
use super::{Console, ConsoleState, Fields, NoticeQuery, Posted, Refusal, field, segment};

const PER_PAGE: u64 = 50;

pub(super) fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/users", get(list))
        .route("/console/users/new", get(new_user).post(create))
        .route("/console/users/{id}", get(show).post(edit))
        .route("/console/users/{id}/block", post(|c, p, f| set_blocked(c, p, f, true)))
        .route("/console/users/{id}/unblock", post(|c, p, f| set_blocked(c, p, f, false)))
        .route("/console/users/{id}/roles", post(assign_role))
        .route("/console/users/{id}/roles/remove", post(remove_role))
        .route("/console/users/{id}/sessions/revoke", post(revoke_sessions))
        .route("/console/users/{id}/refresh-tokens/revoke", post(revoke_refresh_tokens))
        .route("/console/users/{id}/delete", get(confirm_delete).post(delete))
}

/// The orders the list offers, as the API's `sort` takes them.
const SORTS: &[(&str, &str)] = &[
    ("created_at:-1", "Newest first"),
    ("created_at:1", "Oldest first"),
    ("email:1", "Email, A to Z"),
    ("email:-1", "Email, Z to A"),
    ("name:1", "Name, A to Z"),
    ("name:-1", "Name, Z to A"),
    ("last_login:-1", "Latest login first"),
    ("logins_count:-1", "Most logins first"),
];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: u64,
    notice: Option<String>,
}

impl ListQuery {
    /// This list's link at another page.
    fn link(&self, base: &str, page: u64) -> String {
        let pairs = [("q", self.q.as_str()), ("sort", self.sort.as_str()), ("page", &page.to_string())];
        format!("{base}/users?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }
}

async fn list(console: Console, Query(query): Query<ListQuery>) -> Response {
    let mut params = vec![
        ("search_engine", "v3".to_owned()),
        ("include_totals", "true".to_owned()),
        ("per_page", PER_PAGE.to_string()),
        ("page", query.page.to_string()),
    ];
    if !query.q.trim().is_empty() {
        params.push(("q", query.q.trim().to_owned()));
    }
    if !query.sort.is_empty() {
        params.push(("sort", query.sort.clone()));
    }
    let answer = console.get(&format!("/users?{}", serde_urlencoded::to_string(&params).unwrap_or_default())).await;
    let base = &console.base;
    let body = html! {
        h1 { "Users" }
        form #search method="get" action={ (base) "/users" } role="search" {
            label for="q" { "Search" }
            input #q name="q" type="search" value=(query.q) placeholder="email:\"jane@example.com\" OR name:jan*";
            label for="sort" { "Sort" }
            select #sort name="sort" {
                option value="" { "Default order" }
                @if !query.sort.is_empty() && !SORTS.iter().any(|(value, _)| *value == query.sort) {
                    // An order the address asked for, kept for the next search.
                    option value=(query.sort) selected { (query.sort) }
                }
                @for (value, label) in SORTS {
                    option value=(value) selected[query.sort == *value] { (label) }
                }
            }
            button type="submit" { "Search" }
        }
        @if console.may(Method::POST, "/users") {
            p { a #create-user.button href={ (base) "/users/new" } { "Create user" } }
        }
        @if let Ok(answer) = &answer {
            (users_table(&console, &query, answer))
        }
    };
    Frame::new(Nav::Users, "Users")
        .notice(query.notice.as_deref())
        .refused(answer.as_ref().err())
        .render(&console, body)
}

fn users_table(console: &Console, query: &ListQuery, answer: &Value) -> Markup {
    let users = answer.get("users").and_then(Value::as_array).cloned().unwrap_or_default();
    let total = answer.get("total").and_then(Value::as_u64).unwrap_or(users.len() as u64);
    let first = query.page * PER_PAGE;
    html! {
        p #total { (total) " users" @if total > 0 { ", " (first + 1) "–" (first + users.len() as u64) " shown" } }
        @if !users.is_empty() {
            div.scroll {
                table #users {
                    thead { tr {
                        th scope="col" { "User" } th.optional scope="col" { "Connection" } th.optional scope="col" { "Logins" }
                        th.optional scope="col" { "Last login" } th scope="col" { "Created" }
                    } }
                    tbody {
                        @for user in &users {
                            tr {
                                td {
                                    a href={ (console.base) "/users/" (segment(&text(user.get("user_id")))) } { (display_name(user)) }
                                    @if user.get("blocked") == Some(&Value::Bool(true)) { " " span.badge { "Blocked" } }
                                }
                                td.optional { (text(user.pointer("/identities/0/connection"))) }
                                td.optional { (text(user.get("logins_count"))) }
                                td.optional { (text(user.get("last_login"))) }
                                td { (text(user.get("created_at"))) }
                            }
                        }
                    }
                }
            }
        }
        nav.pages aria-label="Pages" {
            @if query.page > 0 { a rel="prev" href=(query.link(&console.base, query.page - 1)) { "Previous" } }
            @if first + (users.len() as u64) < total { a rel="next" href=(query.link(&console.base, query.page + 1)) { "Next" } }
        }
    }
}

/// How a user is named on the console: email, else name, else id.
fn display_name(user: &Value) -> String {
    first(&["email", "name", "username", "phone_number", "user_id"].map(|key| user.get(key)))
}

fn user_path(id: &str) -> String {
    format!("/users/{}", segment(id))
}

// ---------------------------------------------------------------------------------------
// Create

async fn new_user(console: Console) -> Response {
    new_user_page(&console, &Fields::new(), None).await
}

async fn new_user_page(console: &Console, fields: &Fields, refusal: Option<&Refusal>) -> Response {
    let connections = console.get("/connections?strategy=auth0&fields=name").await;
    let chosen = field(fields, "connection");
    let body = html! {
        h1 { "Create a user" }
        @if !console.may(Method::POST, "/users") {
            p.refused { "Creating users needs the create:users scope, which this client's grant lacks." }
        } @else {
        form #create-user method="post" {
            (csrf_input(console))
            label for="connection" { "Connection" }
            @match &connections {
                Ok(Value::Array(list)) => select #connection name="connection" required {
                    @for connection in list {
                        @let name = text(connection.get("name"));
                        option value=(name) selected[name == chosen] { (name) }
                    }
                },
                _ => input #connection name="connection" value=(chosen) required;,
            }
            label for="email" { "Email" }
            input #email name="email" type="email" value=(field(fields, "email")) required;
            label for="password" { "Password" }
            input #password name="password" type="password" autocomplete="new-password" required;
            label for="name" { "Name (optional)" }
            input #name name="name" value=(field(fields, "name"));
            button type="submit" { "Create user" }
        }
        }
    };
    Frame::new(Nav::Users, "Create a user").refused(refusal).render(console, body)
}

async fn create(console: Console, Posted(fields): Posted) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    let mut user = json!({
        "connection": field(&fields, "connection"),
        "email": field(&fields, "email"),
        "password": fields.get("password").map_or("", String::as_str),
    });
    if !field(&fields, "name").is_empty() {
        user["name"] = json!(field(&fields, "name"));
    }
    match console.call(Method::POST, "/users", Some(user)).await {
        Ok(created) => page::see_other(&format!("{}?notice=created", user_path(&text(created.get("user_id"))))),
        Err(refusal) => new_user_page(&console, &fields, Some(&refusal)).await,
    }
}

// ---------------------------------------------------------------------------------------
// A user's page

async fn show(console: Console, Path(id): Path<String>, Query(query): Query<NoticeQuery>) -> Response {
    user_page(&console, &id, query.notice.as_deref(), None, None).await
}

/// The user's page; after a refused edit, with the refusal and the edit form as it was sent.
async fn user_page(
    console: &Console,
    id: &str,
    notice: Option<&str>,
    refusal: Option<&Refusal>,
    sent: Option<&Fields>,
) -> Response {
    let path = user_path(id);
    let (user, roles, all_roles, permissions, organizations, methods, sessions, tokens, logs) = tokio::join!(
        console.get(&path),
        console.get(format!("{path}/roles?per_page=100")),
        console.get("/roles?per_page=100"),
        console.get(format!("{path}/permissions?per_page=100")),
        console.get(format!("{path}/organizations?per_page=100")),
        console.get(format!("{path}/authentication-methods")),
        console.get(format!("{path}/sessions")),
        console.get(format!("{path}/refresh-tokens")),
        console.get(format!("{path}/logs?per_page=20&sort=date:-1")),
    );
    let user = match user {
        Ok(user) => user,
        Err(not_read) => {
            let body = html! { h1 { "User" } p { a href={ (console.base) "/users" } { "Back to the users" } } };
            return Frame::new(Nav::Users, "User").refused(Some(&not_read)).render(console, body);
        }
    };
    let action = |suffix: &str| format!("{}{path}{suffix}", console.base);
    let title = display_name(&user);
    let blocked = user.get("blocked") == Some(&Value::Bool(true));
    let body = html! {
        h1 { (title) @if blocked { " " span #blocked.badge { "Blocked" } } }
        div.actions {
            @if console.may(Method::PATCH, "/users/{id}") {
                @if blocked {
                    form #unblock method="post" action=(action("/unblock")) { (csrf_input(console)) button type="submit" { "Unblock user" } }
                } @else {
                    form #block method="post" action=(action("/block")) data-confirm="Block this user? They will not be able to log in." {
                        (csrf_input(console)) button type="submit" { "Block user" }
                    }
                }
            }
            @if console.may(Method::DELETE, "/users/{id}") {
                a #delete-user.button.danger href=(action("/delete")) { "Delete user" }
            }
        }
        (section("profile", "Profile", Ok(profile(&user))))
        (section("metadata", "Profile fields and metadata", Ok(metadata(console, &user, &action(""), sent))))
        (section("identities", "Identities", Ok(identities(&user))))
        (section("roles", "Roles", roles.as_ref().map(|roles| user_roles(console, roles, all_roles.as_ref().ok(), &action("/roles")))))
        (section("permissions", "Permissions", permissions.as_ref().map(permission_list)))
        (section("organizations", "Organizations", organizations.as_ref().map(|orgs| organization_list(console, orgs))))
        (section("authentication-methods", "Authentication methods", methods.as_ref().map(method_list)))
        (section("sessions", "Sessions", sessions.as_ref().map(|s| session_list(console, s, &action("/sessions/revoke")))))
        (section("refresh-tokens", "Refresh tokens", tokens.as_ref().map(|t| token_list(console, t, &action("/refresh-tokens/revoke")))))
        (section("logs", "Latest log events", logs.as_ref().map(log_list)))
    };
    Frame::new(Nav::Users, &title).notice(notice).refused(refusal).render(console, body)
}

const PROFILE_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "username",
    "phone_number",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "created_at",
    "updated_at",
    "last_login",
    "last_ip",
    "logins_count",
];

fn profile(user: &Value) -> Markup {
    html! {
        dl {
            @for key in PROFILE_FIELDS {
                @if let Some(value) = user.get(*key) {
                    dt { (key) } dd { (text(Some(value))) }
                }
            }
        }
    }
}

/// The fields of the edit form, with what the page shows for each.
const EDITABLE: &[(&str, &str)] =
    &[("name", "Name"), ("nickname", "Nickname"), ("given_name", "Given name"), ("family_name", "Family name")];

fn metadata(console: &Console, user: &Value, action: &str, sent: Option<&Fields>) -> Markup {
    let shown = |key: &str| match sent {
        Some(fields) => fields.get(key).cloned().unwrap_or_default(),
        None => pretty(user.get(key).unwrap_or(&json!({}))),
    };
    if !console.may(Method::PATCH, "/users/{id}") {
        return html! {
            h3 { "User metadata" } pre { (shown("user_metadata")) }
            h3 { "App metadata" } pre { (shown("app_metadata")) }
        };
    }
    html! {
        form #edit-user method="post" action=(action) {
            (csrf_input(console))
            div.grid {
                @for (key, label) in EDITABLE {
                    div {
                        label for=(key) { (label) }
                        input id=(key) name=(key) value=(sent.map_or_else(|| text(user.get(*key)), |f| field(f, key).to_owned()));
                    }
                }
            }
            label for="user_metadata" { "User metadata (JSON)" }
            textarea #user_metadata name="user_metadata" rows="8" spellcheck="false" { (shown("user_metadata")) }
            label for="app_metadata" { "App metadata (JSON)" }
            textarea #app_metadata name="app_metadata" rows="8" spellcheck="false" { (shown("app_metadata")) }
            button type="submit" { "Save" }
        }
    }
}

fn identities(user: &Value) -> Markup {
    let identities = user.get("identities").and_then(Value::as_array).cloned().unwrap_or_default();
    let columns: &[(&str, &[&str])] = &[
        ("Connection", &["/connection"]),
        ("Provider", &["/provider"]),
        ("User id", &["/user_id"]),
        ("Social", &["/isSocial"]),
    ];
    rows(&identities, "No identities.", columns)
}

fn user_roles(console: &Console, roles: &Value, all_roles: Option<&Value>, action: &str) -> Markup {
    let assigned = roles.as_array().cloned().unwrap_or_default();
    let assigned_ids: Vec<String> = assigned.iter().map(|role| text(role.get("id"))).collect();
    let may_remove = console.may(Method::DELETE, "/users/{id}/roles");
    let assignable: Vec<Value> = all_roles
        .and_then(Value::as_array)
        .map(|all| all.iter().filter(|r| !assigned_ids.contains(&text(r.get("id")))).cloned().collect())
        .unwrap_or_default();
    html! {
        @if assigned.is_empty() { p { "No roles." } } @else {
            ul.rows {
                @for role in &assigned {
                    li {
                        a href={ (console.base) "/roles/" (segment(&text(role.get("id")))) } { (text(role.get("name"))) }
                        span.muted { " " (text(role.get("description"))) }
                        @if may_remove {
                            form.remove-role method="post" action={ (action) "/remove" } data-confirm="Remove this role from the user?" {
                                (csrf_input(console))
                                input type="hidden" name="role_id" value=(text(role.get("id")));
                                button type="submit" aria-label={ "Remove role " (text(role.get("name"))) } { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        @if console.may(Method::POST, "/users/{id}/roles") && !assignable.is_empty() {
            form #assign-role.inline method="post" action=(action) {
                (csrf_input(console))
                label for="role_id" { "Role" }
                select #role_id name="role_id" {
                    @for role in &assignable { option value=(text(role.get("id"))) { (text(role.get("name"))) } }
                }
                button type="submit" { "Assign role" }
            }
        }
    }
}

fn permission_list(permissions: &Value) -> Markup {
    let permissions = permissions.as_array().cloned().unwrap_or_default();
    html! {
        @if permissions.is_empty() { p { "No permissions." } } @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Permission" } th scope="col" { "API" } th scope="col" { "From" } } }
                tbody { @for p in &permissions { tr {
                    td { (text(p.get("permission_name"))) }
                    td { (text(p.get("resource_server_identifier"))) }
                    td { @for source in p.get("sources").and_then(Value::as_array).into_iter().flatten() {
                        (first(&[source.get("source_name"), source.get("source_type")])) " "
                    } }
                } } }
            } }
        }
    }
}

fn organization_list(console: &Console, organizations: &Value) -> Markup {
    let organizations = organizations.as_array().cloned().unwrap_or_default();
    html! {
        @if organizations.is_empty() { p { "No organizations." } } @else {
            ul.rows { @for org in &organizations { li {
                a href={ (console.base) "/organizations/" (segment(&text(org.get("id")))) } { (first(&[org.get("display_name"), org.get("name")])) }
                span.muted { " " (text(org.get("name"))) }
            } } }
        }
    }
}

fn method_list(methods: &Value) -> Markup {
    let methods = methods.as_array().cloned().unwrap_or_default();
    let columns: &[(&str, &[&str])] =
        &[("Type", &["/type"]), ("Name", &["/name"]), ("Confirmed", &["/confirmed"]), ("Created", &["/created_at"])];
    rows(&methods, "No authentication methods.", columns)
}

fn session_list(console: &Console, sessions: &Value, revoke: &str) -> Markup {
    let sessions = sessions.get("sessions").and_then(Value::as_array).cloned().unwrap_or_default();
    let columns: &[(&str, &[&str])] = &[
        ("Session", &["/id"]),
        ("Started", &["/created_at"]),
        ("Last active", &["/last_interacted_at"]),
        ("Device", &["/device/last_user_agent", "/device/initial_user_agent"]),
    ];
    html! {
        (rows(&sessions, "No sessions.", columns))
        @if !sessions.is_empty() && console.may(Method::DELETE, "/users/{id}/sessions") {
            form #revoke-sessions method="post" action=(revoke) data-confirm="Revoke every session of this user?" {
                (csrf_input(console)) button.danger type="submit" { "Revoke all sessions" }
            }
        }
    }
}

fn token_list(console: &Console, tokens: &Value, revoke: &str) -> Markup {
    let tokens = tokens.get("tokens").and_then(Value::as_array).cloned().unwrap_or_default();
    let columns: &[(&str, &[&str])] = &[
        ("Token", &["/id"]),
        ("Client", &["/client_id"]),
        ("Created", &["/created_at"]),
        ("Expires", &["/expires_at"]),
    ];
    html! {
        (rows(&tokens, "No refresh tokens.", columns))
        @if !tokens.is_empty() && console.may(Method::DELETE, "/users/{id}/refresh-tokens") {
            form #revoke-refresh-tokens method="post" action=(revoke) data-confirm="Revoke every refresh token of this user?" {
                (csrf_input(console)) button.danger type="submit" { "Revoke all refresh tokens" }
            }
        }
    }
}

fn log_list(logs: &Value) -> Markup {
    let logs = logs.as_array().cloned().unwrap_or_default();
    let columns: &[(&str, &[&str])] = &[
        ("Date", &["/date"]),
        ("Type", &["/type"]),
        ("Description", &["/description"]),
        ("Client", &["/client_name", "/client_id"]),
    ];
    rows(&logs, "No log events.", columns)
}

// ---------------------------------------------------------------------------------------
// Changes

/// Makes one API call for a user's form and goes back to the user's page: with a notice when
/// it was done, with the API's refusal when not.
async fn act(
    console: &Console,
    id: &str,
    fields: &Fields,
    call: (Method, String, Option<Value>),
    notice: &str,
) -> Response {
    if let Some(refused) = console.refuse_forged(fields) {
        return refused;
    }
    let (method, path, body) = call;
    match console.call(method, &path, body).await {
        Ok(_) => page::see_other(&format!("{}?notice={notice}", user_path(id))),
        Err(refusal) => user_page(console, id, None, Some(&refusal), None).await,
    }
}

async fn set_blocked(console: Console, Path(id): Path<String>, Posted(fields): Posted, blocked: bool) -> Response {
    let call = (Method::PATCH, user_path(&id), Some(json!({ "blocked": blocked })));
    act(&console, &id, &fields, call, if blocked { "blocked" } else { "unblocked" }).await
}

async fn assign_role(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    let body = json!({ "roles": [field(&fields, "role_id")] });
    act(&console, &id, &fields, (Method::POST, format!("{}/roles", user_path(&id)), Some(body)), "role-assigned").await
}

async fn remove_role(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    let body = json!({ "roles": [field(&fields, "role_id")] });
    act(&console, &id, &fields, (Method::DELETE, format!("{}/roles", user_path(&id)), Some(body)), "role-removed").await
}

async fn revoke_sessions(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    let call = (Method::DELETE, format!("{}/sessions", user_path(&id)), None);
    act(&console, &id, &fields, call, "sessions-revoked").await
}

async fn revoke_refresh_tokens(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    let call = (Method::DELETE, format!("{}/refresh-tokens", user_path(&id)), None);
    act(&console, &id, &fields, call, "refresh-tokens-revoked").await
}

/// The edit form: the profile fields that changed, and each metadata object as its text now
/// says (the API merges metadata key by key, so a key taken out is sent as `null`).
async fn edit(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    let path = user_path(&id);
    let current = match console.get(&path).await {
        Ok(user) => user,
        Err(refusal) => return user_page(&console, &id, None, Some(&refusal), Some(&fields)).await,
    };
    let changes = match changes(&current, &fields) {
        Ok(changes) => changes,
        Err(message) => {
            let refusal = Refusal { status: StatusCode::BAD_REQUEST, message };
            return user_page(&console, &id, None, Some(&refusal), Some(&fields)).await;
        }
    };
    if changes.is_empty() {
        return page::see_other(&format!("{path}?notice=unchanged"));
    }
    match console.call(Method::PATCH, &path, Some(Value::Object(changes))).await {
        Ok(_) => page::see_other(&format!("{path}?notice=saved")),
        Err(refusal) => user_page(&console, &id, None, Some(&refusal), Some(&fields)).await,
    }
}

/// What a PATCH must send to make the user what the form says, or why the form cannot be
/// sent (metadata that is not JSON).
fn changes(current: &Value, fields: &Fields) -> Result<Map<String, Value>, String> {
    let mut changes = Map::new();
    for (key, _) in EDITABLE {
        let Some(sent) = fields.get(*key).map(|v| v.trim()) else { continue };
        if sent != text(current.get(*key)) {
            changes.insert((*key).to_owned(), json!(sent));
        }
    }
    for key in ["user_metadata", "app_metadata"] {
        let Some(sent) = fields.get(key) else { continue };
        let wanted: Value = if sent.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(sent).map_err(|error| format!("{key} is not valid JSON: {error}"))?
        };
        let empty = Map::new();
        let now = current.get(key).and_then(Value::as_object).unwrap_or(&empty);
        let Value::Object(wanted) = wanted else {
            // Not an object: the API says what it expects.
            changes.insert(key.to_owned(), wanted);
            continue;
        };
        let mut patch: Map<String, Value> =
            wanted.iter().filter(|(k, v)| now.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        patch.extend(now.keys().filter(|k| !wanted.contains_key(*k)).map(|k| (k.clone(), Value::Null)));
        if !patch.is_empty() {
            changes.insert(key.to_owned(), Value::Object(patch));
        }
    }
    Ok(changes)
}

async fn confirm_delete(console: Console, Path(id): Path<String>) -> Response {
    let path = user_path(&id);
    match console.get(&path).await {
        Ok(user) => {
            let back = format!("{}{path}", console.base);
            page::confirm_delete(&console, Nav::Users, "user", &display_name(&user), &back)
        }
        Err(refusal) => page::refused(&console, &refusal),
    }
}

async fn delete(console: Console, Path(id): Path<String>, Posted(fields): Posted) -> Response {
    if let Some(refused) = console.refuse_forged(&fields) {
        return refused;
    }
    match console.call(Method::DELETE, &user_path(&id), None).await {
        Ok(_) => page::see_other("/users?notice=deleted"),
        Err(refusal) => user_page(&console, &id, None, Some(&refusal), None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn metadata_edits_become_a_merge_patch_with_removed_keys_null() {
        let current = json!({"name": "Ann", "user_metadata": {"a": 1, "b": {"c": 2}, "gone": true}});
        let sent = form(&[("name", "Ann"), ("user_metadata", r#"{"a": 1, "b": {"c": 3}, "new": "x"}"#)]);
        let patch = changes(&current, &sent).unwrap();
        assert_eq!(Value::Object(patch), json!({"user_metadata": {"b": {"c": 3}, "new": "x", "gone": null}}));
    }

    #[test]
    fn unchanged_fields_send_nothing_and_bad_json_is_refused() {
        let current = json!({"name": "Ann", "user_metadata": {"a": 1}});
        assert!(changes(&current, &form(&[("name", " Ann "), ("user_metadata", "{\"a\":1}")])).unwrap().is_empty());
        let error = changes(&current, &form(&[("user_metadata", "{\"a\":")])).unwrap_err();
        assert!(error.starts_with("user_metadata is not valid JSON"), "{error}");
    }

    #[test]
    fn emptied_metadata_removes_every_key_and_a_non_object_goes_to_the_api() {
        let current = json!({"app_metadata": {"plan": "pro"}});
        let patch = changes(&current, &form(&[("app_metadata", "  ")])).unwrap();
        assert_eq!(Value::Object(patch), json!({"app_metadata": {"plan": null}}));
        let patch = changes(&current, &form(&[("app_metadata", "[1]")])).unwrap();
        assert_eq!(Value::Object(patch), json!({"app_metadata": [1]}));
    }
}
