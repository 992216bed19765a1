//! The console (docs/CONSOLE.md): server-rendered pages for the user directory at `/console`.
//!
//! The console is a client of the Management API that lives in the process: every page reads
//! and every form writes through the API's own router, as the signed-in client (`Delegated`),
//! so that it gets the API's validation, scope checks, error messages and `sapi` log events
//! without a second copy of any rule. Its handlers only turn forms into API calls and API
//! answers into HTML.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;
use tower::ServiceExt;

use super::extract::{self, MAX_BODY_BYTES};
use super::tenants::PathPrefix;
use crate::app::AppState;
use crate::auth::console::{Principal, Signed, csrf_matches};
use crate::auth::scopes;
use crate::auth::token::{Caller, Delegated};
use crate::store::tenant_admin::ClientGrantFilter;

mod directory;
mod page;
mod sign_in;
mod users;

/// The console's cookie: the signed id of a server-side session (`auth::console`).
const COOKIE: &str = "roster_console";

#[derive(Clone)]
pub(super) struct ConsoleState {
    app: AppState,
    /// The tenant's Management API (`/api/v2/…`), called in-process.
    api: Router,
}

pub(super) fn router(app: AppState, api: Router) -> Router {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/login", get(sign_in::form).post(sign_in::sign_in))
        .route("/console/logout", post(sign_in::sign_out))
        .route("/console/assets/console.css", get(page::stylesheet))
        .route("/console/assets/console.js", get(page::script))
        .merge(users::router())
        .merge(directory::router())
        .route_layer(middleware::from_fn(same_origin_posts))
        .with_state(ConsoleState { app, api })
}

/// Refuses a form posted from another origin, sign-in included (so no other site can sign a
/// browser in to a console of its choosing), whatever the cookie and token: browsers send
/// `Origin` with every cross-origin POST. A tenant by host is an origin of its own.
async fn same_origin_posts(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign = origin.is_some_and(|origin| {
        let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        Some(authority) != host
    });
    if request.method() == Method::POST && foreign {
        let body = "This form was posted from another site; the console only takes its own forms.";
        return page::respond(StatusCode::FORBIDDEN, maud::html! { p #error role="alert" { (body) } });
    }
    next.run(request).await
}

async fn home(_signed_in: Console) -> Response {
    page::see_other("/users")
}

/// A page's `?notice=`, which a redirect after a change sets (`page::notice_text`).
#[derive(serde::Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// A form's fields. The console's forms send each field once.
type Fields = HashMap<String, String>;

/// A posted form's fields (a body that is not a form reads as no fields).
pub(super) struct Posted(Fields);

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let RawForm(bytes) = RawForm::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        Ok(Posted(serde_urlencoded::from_bytes(&bytes).unwrap_or_default()))
    }
}

/// Where the console is served: `/console`, or `/t/<name>/console` for a tenant by path.
pub(super) struct Base(String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Base(base_of(parts)))
    }
}

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", |value| value.trim())
}

/// A path segment: a user id such as `auth0|abc` is one, whatever it holds.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'+')
    .add(b'&');

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// What the API answered when it refused a call: its status and its message.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

/// A signed-in console request: who it acts for and how to reach the API as them.
pub(super) struct Console {
    state: ConsoleState,
    caller: Arc<Caller>,
    signed: Signed,
    /// Where the console is served: `/console`, or `/t/<name>/console` for a tenant by path.
    pub base: String,
    /// Who is signed in, as the header shows it.
    pub who: String,
    peer: Option<ConnectInfo<SocketAddr>>,
    user_agent: Option<HeaderValue>,
}

/// The console's root for a request (a hosted tenant by path has its prefix).
fn base_of(parts: &Parts) -> String {
    let prefix = parts.extensions.get::<PathPrefix>().map_or("", |prefix| prefix.0.as_str());
    format!("{prefix}/console")
}

impl FromRequestParts<ConsoleState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let app = &state.app;
        let signed = extract::cookie(&parts.headers, COOKIE)
            .and_then(|cookie| app.console_sessions.find(cookie, &app.issuer.issuer));
        let Some(signed) = signed else {
            return Err(page::redirect("/console/login"));
        };
        let (who, scopes) = match &signed.principal {
            Principal::Admin => ("admin key".to_owned(), every_scope().to_vec()),
            Principal::Client(client_id) => match client_scopes(app, client_id).await {
                Ok(Some(found)) => found,
                Ok(None) => return Err(page::redirect("/console/login?ended=grant")),
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "console could not read the client's grant");
                    return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
                }
            },
        };
        let (subject, azp) = match &signed.principal {
            Principal::Admin => ("roster-admin".to_owned(), None),
            Principal::Client(client_id) => (format!("{client_id}@clients"), Some(client_id.clone())),
        };
        Ok(Console {
            state: state.clone(),
            caller: Arc::new(Caller::delegated(subject, azp, &scopes)),
            signed,
            base: base_of(parts),
            who,
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
            user_agent: parts.headers.get(header::USER_AGENT).cloned(),
        })
    }
}

/// A client's name and the scopes of its grant for the Management API, read on every request
/// so that a changed or deleted grant counts at once. `None` once the client or grant is gone.
async fn client_scopes(app: &AppState, client_id: &str) -> anyhow::Result<Option<(String, Vec<String>)>> {
    let Some(client) = app.store.client_record(client_id).await? else { return Ok(None) };
    let filter = ClientGrantFilter {
        client_id: Some(client_id.to_owned()),
        audience: Some(app.issuer.management_audience.clone()),
    };
    Ok(app.store.list_client_grants(&filter).await?.pop().map(|grant| (client.name, grant.scope)))
}

/// Every scope of the Management API: what the admin key holds.
fn every_scope() -> &'static [String] {
    static SCOPES: OnceLock<Vec<String>> = OnceLock::new();
    SCOPES.get_or_init(|| scopes::ALL_SCOPES.iter().map(|scope| (*scope).to_owned()).collect())
}

impl Console {
    /// Whether the signed-in client's scopes allow an operation (`/users/{id}`): the console
    /// shows a form only when the API would take it.
    pub fn may(&self, method: Method, route: &str) -> bool {
        scopes::allows(method.as_str(), route, |scope| self.caller.has_scope(scope))
    }

    pub fn csrf(&self) -> &str {
        &self.signed.csrf
    }

    /// The refusal of a form that lacks this session's CSRF token; `None` when it has it.
    pub fn refuse_forged(&self, fields: &Fields) -> Option<Response> {
        if csrf_matches(&self.signed, field(fields, "csrf")) {
            return None;
        }
        let refusal = Refusal {
            status: StatusCode::FORBIDDEN,
            message: "The form did not come from this console session. Reload the page and try again.".into(),
        };
        Some(page::refused(self, &refusal))
    }

    /// Reads `/api/v2{path_and_query}` (owned, so that many reads can run at once).
    pub async fn get(&self, path_and_query: impl AsRef<str>) -> Result<Value, Refusal> {
        self.call(Method::GET, path_and_query.as_ref(), None).await
    }

    /// Calls `/api/v2{path}` as the signed-in client, with the console request's peer and
    /// user agent (which the API's log events record).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Refusal> {
        let mut request = Request::builder().method(method).uri(format!("/api/v2{path}"));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(agent) = &self.user_agent {
            request = request.header(header::USER_AGENT, agent);
        }
        let body = body.map_or_else(Body::empty, |value| Body::from(value.to_string()));
        let mut request = request.body(body).map_err(|error| internal(&error))?;
        request.extensions_mut().insert(Delegated(self.caller.clone()));
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(peer);
        }
        let response = self.state.api.clone().oneshot(request).await.map_err(|error| internal(&error))?;
        let status = response.status();
        let bytes =
            axum::body::to_bytes(response.into_body(), 64 * MAX_BODY_BYTES).await.map_err(|error| internal(&error))?;
        let value: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or_default() };
        if status.is_success() {
            return Ok(value);
        }
        let message = value.get("message").and_then(Value::as_str).unwrap_or("The API refused the request.");
        Err(Refusal { status, message: message.to_owned() })
    }
}

fn internal(error: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %error, "console's API call failed");
    Refusal { status: StatusCode::INTERNAL_SERVER_ERROR, message: "Internal Server Error".into() }
}
