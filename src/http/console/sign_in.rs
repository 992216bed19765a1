//! Signing in to the console (a management client's id and secret, or the server's admin
//! key) and out.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{DOCTYPE, html};
use serde::Deserialize;

use super::page::{self, head, respond};
use super::{Base, COOKIE, Console, ConsoleState, Posted, client_scopes, field};
use crate::auth::console::{IDLE_LIMIT, Principal};
use crate::auth::oauth::{TokenRequest, authenticate_client};
use crate::http::extract;

#[derive(Deserialize)]
pub(super) struct SignInQuery {
    ended: Option<String>,
}

pub(super) async fn form(
    State(state): State<ConsoleState>,
    Base(base): Base,
    Query(query): Query<SignInQuery>,
) -> Response {
    let message = query.ended.is_some().then_some("The client's grant for the Management API is gone: sign in again.");
    sign_in_page(&state, &base, StatusCode::OK, message)
}

fn sign_in_page(state: &ConsoleState, base: &str, status: StatusCode, error: Option<&str>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(base, "Sign in"))
            body.sign-in {
                main #main {
                    h1 { "Roster console" }
                    @if let Some(message) = error {
                        p #error role="alert" { (message) }
                    }
                    form #login method="post" action={ (base) "/login" } {
                        label for="client_id" { "Client ID" }
                        input #client_id name="client_id" autocomplete="username" required;
                        label for="client_secret" { "Client secret" }
                        input #client_secret name="client_secret" type="password" autocomplete="current-password" required;
                        button type="submit" { "Sign in" }
                    }
                    p.hint { "A client with a grant for the Management API: the console acts with its scopes." }
                    @if state.app.console_sessions.has_admin_key() {
                        form #admin-login method="post" action={ (base) "/login" } {
                            label for="admin_key" { "Admin key" }
                            input #admin_key name="admin_key" type="password" autocomplete="off" required;
                            button type="submit" { "Sign in with the admin key" }
                        }
                    }
                }
            }
        }
    };
    respond(status, markup)
}

pub(super) async fn sign_in(
    State(state): State<ConsoleState>,
    Base(base): Base,
    headers: HeaderMap,
    Posted(fields): Posted,
) -> Response {
    let app = &state.app;
    let refuse = |message: &str| sign_in_page(&state, &base, StatusCode::UNAUTHORIZED, Some(message));
    let principal = if fields.contains_key("admin_key") {
        if !app.console_sessions.is_admin_key(field(&fields, "admin_key")) {
            return refuse("Wrong admin key.");
        }
        Principal::Admin
    } else {
        let request = TokenRequest {
            client_id: Some(field(&fields, "client_id").to_owned()),
            client_secret: Some(field(&fields, "client_secret").to_owned()),
            ..TokenRequest::default()
        };
        let client = match authenticate_client(&app.store, &request, "client_credentials").await {
            Ok(client) => client,
            Err(error) if error.status.is_server_error() => return refuse("Internal Server Error"),
            Err(_) => return refuse("Wrong client ID or secret, or the client may not use client credentials."),
        };
        match client_scopes(app, &client.client_id).await {
            Ok(Some(_)) => Principal::Client(client.client_id),
            Ok(None) => return refuse("This client has no grant for the Management API."),
            Err(_) => return refuse("Internal Server Error"),
        }
    };
    let cookie = app.console_sessions.open(&app.issuer.issuer, principal);
    let mut response = page::redirect("/console/users");
    set_cookie(&mut response, &headers, &cookie, IDLE_LIMIT.as_secs());
    response
}

pub(super) async fn sign_out(console: Console, headers: HeaderMap, Posted(fields): Posted) -> Response {
    if let Some(refusal) = console.refuse_forged(&fields) {
        return refusal;
    }
    if let Some(cookie) = extract::cookie(&headers, COOKIE) {
        console.state.app.console_sessions.close(cookie);
    }
    let mut response = page::redirect("/console/login");
    set_cookie(&mut response, &headers, "", 0);
    response
}

/// The session cookie: for the console's path only (a tenant by path gets its prefix from the
/// dispatcher), never readable by scripts, never sent by another site's request.
fn set_cookie(response: &mut Response, request_headers: &HeaderMap, value: &str, max_age: u64) {
    let secure = if extract::is_https(request_headers) { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
