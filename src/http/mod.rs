//! The HTTP surface: one module per resource, mirroring Auth0's API tree, and the layers
//! every request passes through (request log, authentication and scope checks, limits).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::auth::scopes;
use crate::auth::token;
use crate::error::ApiError;

mod audit;
mod authentication_methods;
mod browser;
mod client_grants;
mod clients;
mod connections;
mod console;
pub mod error;
pub mod extract;
mod jobs;
mod logs;
mod multifactor;
mod oauth;
pub mod openapi;
pub mod ops;
mod organization_connections;
mod organizations;
pub mod pagination;
pub mod query;
mod resource_servers;
pub mod response;
mod risk_assessments;
mod roles;
mod sessions;
mod signup;
pub mod tenants;
mod user_blocks;
mod user_identities;
mod user_organizations;
mod user_permissions;
mod user_roles;
mod userinfo;
mod users;

/// Operations Roster serves, each resource module listing its own; the rest of the scope
/// table answers 501 until an issue fills them in.
const IMPLEMENTED: &[&[(&str, &str)]] = &[
    users::IMPLEMENTED,
    user_roles::IMPLEMENTED,
    user_permissions::IMPLEMENTED,
    user_organizations::IMPLEMENTED,
    user_identities::IMPLEMENTED,
    roles::IMPLEMENTED,
    resource_servers::IMPLEMENTED,
    organizations::IMPLEMENTED,
    organization_connections::IMPLEMENTED,
    connections::IMPLEMENTED,
    clients::IMPLEMENTED,
    client_grants::IMPLEMENTED,
    authentication_methods::IMPLEMENTED,
    multifactor::IMPLEMENTED,
    risk_assessments::IMPLEMENTED,
    sessions::IMPLEMENTED,
    user_blocks::IMPLEMENTED,
    logs::IMPLEMENTED,
    jobs::IMPLEMENTED,
];

fn implemented(method: &str, path: &str) -> bool {
    IMPLEMENTED.iter().flat_map(|list| list.iter()).any(|(m, p)| *m == method && *p == path)
}

const API_PREFIX: &str = "/api/v2";

/// The whole HTTP surface; `ops` answers `/health`, `/ready` and perhaps `/metrics`
/// (`ops::router`).
pub fn router(app: AppState, ops: Router) -> Router {
    let resources = Router::new()
        .merge(users::router())
        .merge(user_roles::router())
        .merge(user_permissions::router())
        .merge(user_organizations::router())
        .merge(user_identities::router())
        .merge(roles::router())
        .merge(resource_servers::router())
        .merge(organizations::router())
        .merge(organization_connections::router())
        .merge(connections::router())
        .merge(clients::router())
        .merge(client_grants::router())
        .merge(authentication_methods::router())
        .merge(multifactor::router())
        .merge(risk_assessments::router())
        .merge(sessions::router())
        .merge(user_blocks::router())
        .merge(logs::router())
        .merge(jobs::router());
    let api = pending_operations(resources)
        .route_layer(middleware::from_fn_with_state(app.clone(), audit::record))
        .route_layer(middleware::from_fn_with_state(app.clone(), authorize))
        .method_not_allowed_fallback(not_found);
    // The console calls the API in-process (`console`), through the same router.
    let api = Router::new().nest(API_PREFIX, api).with_state(app.clone());
    Router::new()
        .merge(oauth::router())
        .merge(browser::router())
        .merge(jobs::files_router())
        .merge(openapi::router())
        .fallback(not_found)
        .with_state(app.clone())
        .merge(api.clone())
        .merge(console::router(app, api))
        .merge(ops)
        .layer(CatchPanicLayer::custom(|_| ApiError::internal("handler panicked").into_response()))
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn(log_request))
}

/// Routes every operation of the scope table that `IMPLEMENTED` lacks to a 501.
fn pending_operations(mut router: Router<AppState>) -> Router<AppState> {
    for (method, path, _, _) in crate::auth::scope_table_operations() {
        let path = scopes::canonical(path);
        if implemented(method, &path) {
            continue;
        }
        let filter = MethodFilter::try_from(Method::from_bytes(method.as_bytes()).expect("valid method"))
            .expect("standard method");
        router = router.route(&path, on(filter, not_implemented));
    }
    router
}

async fn not_implemented() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        Some("not_implemented"),
        "Roster does not implement this endpoint yet; see docs/COMPATIBILITY.md.",
    )
}

/// hapi's answer to an unknown route, and (having no 405) to a known path with another method.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

/// Checks the bearer token and the operation's scopes (Auth0's spec, read as "any of", and the
/// few that need several together). A token holding only `*:current_user*` scopes may act only
/// on its own user.
async fn authorize(
    State(app): State<AppState>,
    matched: MatchedPath,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = matched.as_str().strip_prefix(API_PREFIX).unwrap_or(matched.as_str());
    let required = scopes::required(request.method().as_str(), path)
        .ok_or_else(|| ApiError::internal(format!("no scope entry for {} {path}", request.method())))?;
    let caller = match request.extensions_mut().remove::<token::Delegated>() {
        Some(token::Delegated(caller)) => caller,
        None => {
            let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            token::authenticate(&app.keys, &app.issuer, &app.verified_tokens, authorization)?
        }
    };
    let held: Vec<&str> = required.iter().copied().filter(|s| caller.has_scope(s)).collect();
    let together = scopes::required_together(request.method().as_str(), path);
    let refusal = if let Some(all) = together.filter(|all| !all.iter().all(|s| caller.has_scope(s))) {
        Some(ApiError::insufficient_scope_all(all))
    } else if held.is_empty() {
        Some(ApiError::insufficient_scope(required))
    } else if held.iter().all(|s| scopes::is_current_user_scope(s))
        && params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value) != Some(caller.subject.as_str())
    {
        Some(ApiError::forbidden(None, "User to be acted on does not match subject in bearer token."))
    } else {
        None
    };
    if let Some(error) = refusal {
        audit::refused(&app, &request, &caller, &error);
        return Err(error);
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Runs each request in its own task, so that a client hanging up cannot cancel a handler
/// half-way through a write (a dropped future could leave a pooled connection inside a
/// transaction, or apply half of a multi-step change). The request finishes; its answer is
/// discarded.
async fn run_to_completion(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => ApiError::internal(format!("request task failed: {error}")).into_response(),
    }
}

/// One line per request: method, path, status, latency and correlation id. Never headers,
/// query strings or bodies, which carry tokens, passwords and personal data. The query string
/// only at debug level, under its own target (`ROSTER_LOG=roster::query=debug`), to see what a
/// client sends. The request also counts in the metrics, by the route axum matched (this layer
/// runs after routing), never by its path.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let path = request.uri().path().to_owned();
    if let Some(query) = request.uri().query() {
        tracing::debug!(target: "roster::query", %method, path, query);
    }
    let correlation_id = request
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    crate::metrics::metrics().request(&method, route.as_ref(), status, elapsed);
    tracing::info!(
        target: "roster::request",
        %method,
        path,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        correlation_id,
    );
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert("x-correlation-id", value);
    }
    response
}
