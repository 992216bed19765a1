//! Browser logins on the wire: `GET /authorize`, the login form (`/u/login`) and its MFA step
//! (`/u/mfa`), `GET /v2/logout` and `GET /oidc/logout`. Reads the query, form and cookies, calls
//! `auth::browser`, and answers with redirects, plain HTML pages and Auth0's cookies: the session
//! in `auth0` (`SameSite=None; Secure` over https, `Lax` over plain http, where browsers refuse
//! `None`) and `auth0_compat` (no `SameSite`, for browsers that do not know it), a remembered
//! browser in `auth0-mf`/`auth0-mf_compat`, the browser's id in `did`/`did_compat`; all
//! `HttpOnly`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::extract::{self, read_body};
use crate::app::AppState;
use crate::auth::browser::{self, Answer, Authorized, Browser, Form, LoggedOut, PageError, Step};
use crate::domain::authorize::{REMEMBER_BROWSER_DAYS, ResponseMode, escape_html};
use crate::domain::session::Origin;

const SESSION: &str = "auth0";
const REMEMBER: &str = "auth0-mf";
const DEVICE: &str = "did";
/// How long a browser's `did` lasts (Auth0 does not say; a year).
const DEVICE_SECONDS: i64 = 365 * 86_400;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize))
        .route("/u/login", get(login_page).post(login))
        .route("/u/mfa", get(mfa_page).post(mfa))
        .route("/v2/logout", get(logout))
        .route("/oidc/logout", get(oidc_logout))
}

/// The browser a request comes from, and whether it came over https (`X-Forwarded-Proto`, as
/// a TLS-terminating proxy in front of Roster says).
struct Client {
    browser: Browser,
    https: bool,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    extract::cookie(headers, name).or_else(|| extract::cookie(headers, &format!("{name}_compat")))
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let browser = Browser {
            origin: Origin { ip: peer.unwrap_or_else(|| "0.0.0.0".into()), user_agent: text(header::USER_AGENT) },
            session_cookie: cookie(headers, SESSION).map(str::to_owned),
            device_id: cookie(headers, DEVICE).map(str::to_owned),
            remembered: cookie(headers, REMEMBER).map(str::to_owned),
        };
        let https = extract::is_https(headers);
        Ok(Self { browser, https })
    }
}

/// The `Set-Cookie` pair Auth0 writes for `name`: one with `SameSite`, one `_compat` without.
/// `max_age` 0 clears them.
fn set_cookie(response: &mut Response, (name, value, max_age): (&str, &str, i64), https: bool) {
    let secure = if https { "; Secure" } else { "" };
    let same_site = if https { "; SameSite=None" } else { "; SameSite=Lax" };
    let base = format!("Path=/; Max-Age={max_age}; HttpOnly{secure}");
    for cookie in [format!("{name}={value}; {base}{same_site}"), format!("{name}_compat={value}; {base}")] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(response)
}

/// A plain HTML page; login pages may not be framed (clickjacking) and post only here.
fn page(status: StatusCode, title: &str, body: &str, locked: bool) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}}label,input,button\
         {{display:block;width:100%;margin:.4rem 0}}.error{{color:#b00020}}</style></head><body>\n{body}\n</body></html>\n",
        escape_html(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let policy = if locked {
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    } else {
        "frame-ancestors 'none'"
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    no_store(response)
}

/// Auth0's error page: what went wrong, never redirected.
fn error_page(error: &PageError) -> Response {
    let body = format!(
        "<h1>Oops!, something went wrong</h1>\n<p class=\"error\"><strong>{}</strong>: <span id=\"error_description\">{}</span></p>",
        escape_html(error.error),
        escape_html(&error.description)
    );
    page(error.status, "Error", &body, true)
}

/// The form that carries a `form_post` answer to the redirect URI; `script` submits it at once.
fn post_form(answer: &Answer, script: bool) -> String {
    let fields: String = answer
        .params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape_html(k), escape_html(v)))
        .collect();
    let (submit, script) = if script {
        (
            "<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\"></noscript>",
            "\n<script>document.forms[0].submit();</script>",
        )
    } else {
        ("<input type=\"submit\" value=\"Continue\">", "")
    };
    format!(
        "<form method=\"post\" name=\"hiddenform\" action=\"{}\">{fields}{submit}</form>{script}",
        escape_html(&answer.redirect_uri)
    )
}

/// The answer to the application: a redirect, or for `form_post` a page whose form posts
/// itself to the redirect URI.
fn answer(answer: &Answer, https: bool) -> Response {
    let mut response = match answer.mode {
        ResponseMode::FormPost => page(StatusCode::OK, "Submit This Form", &post_form(answer, true), false),
        _ => redirect(&answer.location()),
    };
    if let Some((value, max_age)) = &answer.session_cookie {
        set_cookie(&mut response, (SESSION, value, *max_age), https);
    }
    response
}

/// A value no store can hold (U+0000) names nothing: such a parameter counts as absent.
fn storable(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.into_iter().filter(|(k, v)| !k.contains('\0') && !v.contains('\0')).collect()
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    storable(serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default())
}

async fn form_pairs(request: Request) -> Vec<(String, String)> {
    match read_body(request).await {
        Ok(bytes) => storable(serde_urlencoded::from_bytes(&bytes).unwrap_or_default()),
        Err(_) => Vec::new(),
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn authorize(State(app): State<AppState>, client: Client, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    match browser::authorize(&app, &params, &client.browser).await {
        Err(error) | Ok(Authorized::Refused(error)) => error_page(&error),
        Ok(Authorized::Answer(reply)) => answer(&reply, client.https),
        Ok(Authorized::Login { state, device_id }) => {
            let query = serde_urlencoded::to_string([("state", state.as_str())]).unwrap_or_default();
            let mut response = redirect(&format!("/u/login?{query}"));
            if let Some(id) = device_id {
                set_cookie(&mut response, (DEVICE, &id, DEVICE_SECONDS), client.https);
            }
            response
        }
    }
}

/// The login form; served at `/u/login` only, it posts there by a relative URL, so that it
/// posts to the same tenant wherever it is served (`/t/<name>/u/login`).
fn login_body(form: &Form, username: &str, message: Option<&str>) -> String {
    let error =
        message.map(|m| format!("<p class=\"error\" id=\"error\">{}</p>\n", escape_html(m))).unwrap_or_default();
    format!(
        "<h1>Log in</h1>\n<p>Log in to continue to {}.</p>\n{error}<form method=\"post\" action=\"login\">\
         <input type=\"hidden\" name=\"state\" value=\"{}\">\
         <label for=\"username\">Email address or username</label>\
         <input id=\"username\" name=\"username\" value=\"{}\" type=\"text\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Continue</button></form>",
        escape_html(&form.client_name),
        escape_html(&form.state),
        escape_html(username),
    )
}

/// The MFA step's forms; served at `/u/mfa` only, they post there by a relative URL.
fn mfa_body(form: &Form, message: Option<&str>) -> String {
    let error =
        message.map(|m| format!("<p class=\"error\" id=\"error\">{}</p>\n", escape_html(m))).unwrap_or_default();
    let state = escape_html(&form.state);
    format!(
        "<h1>Verify your identity</h1>\n<p>Enter the code from your authenticator app to continue to {}.</p>\n{error}\
         <form method=\"post\" action=\"mfa\"><input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <label for=\"otp\">Code</label><input id=\"otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required>\
         <label><input type=\"checkbox\" name=\"remember_browser\" value=\"on\"> Remember this device for \
         {REMEMBER_BROWSER_DAYS} days</label><button type=\"submit\">Continue</button></form>\n\
         <h2>Or use a recovery code</h2>\n<form method=\"post\" action=\"mfa\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <label for=\"recovery_code\">Recovery code</label><input id=\"recovery_code\" name=\"recovery_code\" \
         type=\"text\" autocomplete=\"off\" required><button type=\"submit\">Continue</button></form>",
        escape_html(&form.client_name),
    )
}

async fn login_page(State(app): State<AppState>, client: Client, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    match browser::login_form(&app, field(&params, "state").unwrap_or_default(), &client.browser).await {
        Ok(form) => page(StatusCode::OK, "Log in", &login_body(&form, "", None), true),
        Err(error) => error_page(&error),
    }
}

async fn mfa_page(State(app): State<AppState>, client: Client, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    match browser::mfa_form(&app, field(&params, "state").unwrap_or_default(), &client.browser).await {
        Ok(form) => page(StatusCode::OK, "Verify your identity", &mfa_body(&form, None), true),
        Err(error) => error_page(&error),
    }
}

/// A completed login: back to the application, with the cookies it set; after a recovery code
/// was used up, first a page showing its replacement, from which the user goes on.
fn done(step: (Answer, Option<String>, Option<String>), https: bool) -> Response {
    let (reply, remember, recovery_code) = step;
    let mut response = match recovery_code {
        None => answer(&reply, https),
        Some(code) => {
            let next = match reply.mode {
                ResponseMode::FormPost => post_form(&reply, false),
                _ => format!("<p><a id=\"continue\" href=\"{}\">Continue</a></p>", escape_html(&reply.location())),
            };
            let body = format!(
                "<h1>Almost there!</h1>\n<p>Copy this recovery code and keep it somewhere safe. You'll need it if you \
                 ever need to log in without your device.</p>\n<p><code id=\"recovery_code\">{}</code></p>\n{next}",
                escape_html(&code)
            );
            let mut response = page(StatusCode::OK, "Recovery code", &body, false);
            if let Some((value, max_age)) = &reply.session_cookie {
                set_cookie(&mut response, (SESSION, value, *max_age), https);
            }
            response
        }
    };
    if let Some(value) = remember {
        set_cookie(&mut response, (REMEMBER, &value, REMEMBER_BROWSER_DAYS * 86_400), https);
    }
    response
}

async fn login(State(app): State<AppState>, client: Client, request: Request) -> Response {
    let pairs = form_pairs(request).await;
    let state = field(&pairs, "state").unwrap_or_default();
    let username = field(&pairs, "username").unwrap_or_default().trim();
    let password = field(&pairs, "password").unwrap_or_default();
    match browser::submit_login(&app, state, (username, password), &client.browser).await {
        Err(error) => error_page(&error),
        Ok(Step::Retry { status, message }) => {
            let form = Form { client_name: client_name(&app, state, &client.browser).await, state: state.to_owned() };
            page(status, "Log in", &login_body(&form, username, Some(&message)), true)
        }
        Ok(Step::Mfa { state }) => {
            let query = serde_urlencoded::to_string([("state", state.as_str())]).unwrap_or_default();
            redirect(&format!("/u/mfa?{query}"))
        }
        Ok(Step::Done { answer, remember, recovery_code }) => done((answer, remember, recovery_code), client.https),
    }
}

async fn mfa(State(app): State<AppState>, client: Client, request: Request) -> Response {
    let pairs = form_pairs(request).await;
    let state = field(&pairs, "state").unwrap_or_default();
    let otp = field(&pairs, "otp").filter(|v| !v.is_empty());
    let recovery_code = field(&pairs, "recovery_code").filter(|v| !v.is_empty());
    let remember = field(&pairs, "remember_browser").is_some_and(|v| v == "on" || v == "true");
    match browser::submit_mfa(&app, state, (otp, recovery_code, remember), &client.browser).await {
        Err(error) => error_page(&error),
        Ok(Step::Retry { status, message }) => {
            let form = Form { client_name: client_name(&app, state, &client.browser).await, state: state.to_owned() };
            page(status, "Verify your identity", &mfa_body(&form, Some(&message)), true)
        }
        Ok(Step::Mfa { .. }) => error_page(&PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "Internal Server Error".into(),
        }),
        Ok(Step::Done { answer, remember, recovery_code }) => done((answer, remember, recovery_code), client.https),
    }
}

async fn client_name(app: &AppState, state: &str, browser: &Browser) -> String {
    browser::login_form(app, state, browser).await.map(|form| form.client_name).unwrap_or_default()
}

/// After a logout: the cookies of the session cleared, then the next URL or Auth0's `OK`.
fn logged_out(result: Result<LoggedOut, PageError>, https: bool) -> Response {
    let mut response = match result {
        Ok(LoggedOut::Redirect(url)) => redirect(&url),
        Ok(LoggedOut::Page) => {
            let mut response = (StatusCode::OK, "OK").into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            no_store(response)
        }
        Ok(LoggedOut::Refused(error)) | Err(error) => return error_page(&error),
    };
    set_cookie(&mut response, (SESSION, "", 0), https);
    response
}

async fn logout(State(app): State<AppState>, client: Client, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    logged_out(browser::logout(&app, &params, &client.browser).await, client.https)
}

async fn oidc_logout(State(app): State<AppState>, client: Client, RawQuery(raw): RawQuery) -> Response {
    let params = query_pairs(raw.as_deref());
    logged_out(browser::oidc_logout(&app, &params, &client.browser).await, client.https)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_then_their_compat_twin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; auth0_compat=s.x; did=d"));
        assert_eq!(cookie(&headers, "auth0"), Some("s.x"));
        assert_eq!(cookie(&headers, "did"), Some("d"));
        assert_eq!(cookie(&headers, "auth0-mf"), None);
    }

    #[test]
    fn session_cookies_follow_the_scheme() {
        let mut response = StatusCode::OK.into_response();
        set_cookie(&mut response, ("auth0", "v", 60), true);
        let set: Vec<&str> =
            response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(set[0], "auth0=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=None");
        assert_eq!(set[1], "auth0_compat=v; Path=/; Max-Age=60; HttpOnly; Secure");
        let mut plain = StatusCode::OK.into_response();
        set_cookie(&mut plain, ("auth0", "v", 60), false);
        assert_eq!(
            plain.headers().get(header::SET_COOKIE).unwrap(),
            "auth0=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
    }
}
