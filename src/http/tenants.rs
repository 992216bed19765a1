//! The admin API (`/roster/v1`, on when the server has an admin key) and how requests reach
//! the tenants it creates: `/t/<name>/…` (the prefix is taken off), or a `Host` of
//! `<name>.<host base>`. Everything else goes to the server's own tenant, as without tenants.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tower::ServiceExt;

use std::time::Instant;

use axum::extract::RawQuery;
use serde_json::Value;

use super::extract::{JsonBody, MAX_BODY_BYTES, read_bytes};
use crate::domain::api_operation::logged_body;
use crate::error::ApiError;
use crate::tenancy::front::{FaultSpec, JournalFilter, Journaled};
use crate::tenancy::{Hosted, INITIAL_SNAPSHOT, NewTenant, TenancyError, Tenants};

impl From<TenancyError> for ApiError {
    fn from(error: TenancyError) -> Self {
        match error {
            TenancyError::NameTaken(_) | TenancyError::SnapshotTaken(_) => {
                ApiError::new(StatusCode::CONFLICT, None, error.to_string())
            }
            TenancyError::BadRequest(_) | TenancyError::TenantFile(_) => {
                ApiError::bad_request(Some("invalid_body"), error.to_string())
            }
            TenancyError::NotFound(_) | TenancyError::SnapshotNotFound { .. } => ApiError::not_found(error.to_string()),
            TenancyError::Other(error) => ApiError::internal(format!("{error:#}")),
        }
    }
}

#[derive(Clone)]
struct Dispatch {
    tenants: Arc<Tenants>,
    /// The server's own tenant.
    default: Router,
}

/// The server's own tenant's router, with the admin API and its tenants in front of it.
pub fn router(default: Router, tenants: Arc<Tenants>, admin_key: String) -> Router {
    let admin = Router::new()
        .route("/tenants", post(create).get(list))
        .route("/tenants/{name}", get(describe).patch(set_faithful).delete(remove))
        .route("/tenants/{name}/requests", get(journal).delete(clear_journal))
        .route("/tenants/{name}/faults", post(add_fault).get(faults).delete(clear_faults))
        .route("/tenants/{name}/snapshots", post(snapshot))
        .route("/tenants/{name}/snapshots/{snapshot}", delete(remove_snapshot))
        .route("/tenants/{name}/reset", post(reset))
        .route_layer(middleware::from_fn_with_state(Arc::<str>::from(admin_key), require_admin_key))
        .fallback(super::not_found)
        .with_state(tenants.clone())
        .layer(middleware::from_fn(super::log_request));
    // Not routes of their own: a route's path parameters would stay in the request, and the
    // tenant's own routes would read them as theirs (`/t/{name}/{*rest}` then `/jobs/{id}`).
    Router::new().nest("/roster/v1", admin).fallback(dispatch).with_state(Dispatch { tenants, default })
}

/// `Authorization: Bearer <admin key>`, compared in constant time.
async fn require_admin_key(State(key): State<Arc<str>>, request: Request, next: Next) -> Result<Response, ApiError> {
    let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let given = given.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    match given {
        Some(given) if bool::from(given.trim().as_bytes().ct_eq(key.as_bytes())) => Ok(next.run(request).await),
        Some(_) => Err(ApiError::unauthorized("Invalid admin key")),
        None => Err(ApiError::unauthorized("Missing authentication")),
    }
}

/// The path prefix a tenant reached by path is served under (`/t/<name>`), for what its
/// handlers write into URLs they give out (an export's `location`).
#[derive(Debug, Clone)]
pub struct PathPrefix(pub String);

async fn dispatch(state: State<Dispatch>, request: Request) -> Response {
    match request.uri().path().strip_prefix("/t/") {
        Some(after) => {
            let (name, rest) = after.split_once('/').map_or((after, ""), |(name, rest)| (name, rest));
            let (name, rest) = (name.to_owned(), rest.to_owned());
            by_path(state, request, &name, &rest).await
        }
        None => by_host(state, request).await,
    }
}

async fn by_path(State(dispatch): State<Dispatch>, mut request: Request, name: &str, rest: &str) -> Response {
    let Some(tenant) = dispatch.tenants.get(name) else {
        return ApiError::not_found(format!("no tenant named {name}")).into_response();
    };
    let prefix = format!("/t/{name}");
    let unprefixed = match request.uri().query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    match unprefixed.parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return ApiError::invalid_uri("Invalid URI").into_response(),
    }
    request.extensions_mut().insert(PathPrefix(prefix.clone()));
    let mut response = through_front(&tenant, request).await;
    // A redirect to one of the tenant's own paths stays under its prefix.
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
    if let Some(relative) = location.filter(|l| l.starts_with('/') && !l.starts_with("//"))
        && let Ok(value) = HeaderValue::from_str(&format!("{prefix}{relative}"))
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    // So do its cookies: a browser sends them to this tenant only, not to the others of the host.
    let cookies: Vec<HeaderValue> =
        response.headers().get_all(header::SET_COOKIE).iter().map(|cookie| cookie_under(cookie, &prefix)).collect();
    if !cookies.is_empty() {
        response.headers_mut().remove(header::SET_COOKIE);
        for cookie in cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A `Set-Cookie` whose `Path` is put under `prefix` (`Path=/` becomes `Path=/t/<name>/`).
fn cookie_under(cookie: &HeaderValue, prefix: &str) -> HeaderValue {
    let Ok(text) = cookie.to_str() else { return cookie.clone() };
    let attributes: Vec<String> = text
        .split(';')
        .enumerate()
        .map(|(i, attribute)| {
            let trimmed = attribute.trim_start();
            let lead = &attribute[..attribute.len() - trimmed.len()];
            match trimmed.split_once('=') {
                // The first is the cookie's name and value, attributes follow.
                Some((name, path)) if i > 0 && name.eq_ignore_ascii_case("path") && path.starts_with('/') => {
                    format!("{lead}{name}={prefix}{path}")
                }
                _ => attribute.to_owned(),
            }
        })
        .collect();
    HeaderValue::from_str(&attributes.join(";")).unwrap_or_else(|_| cookie.clone())
}

async fn by_host(State(dispatch): State<Dispatch>, request: Request) -> Response {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    match host.and_then(|host| dispatch.tenants.by_host(host)) {
        Some(tenant) => through_front(&tenant, request).await,
        None => serve(dispatch.default, request).await,
    }
}

/// A hosted tenant's Management API requests pass its front (`tenancy::front`): the rate
/// limit, injected faults, the journal. Other requests go straight through.
async fn through_front(tenant: &Hosted, request: Request) -> Response {
    let router = tenant.runtime().router.clone();
    if !request.uri().path().starts_with("/api/v2/") {
        return serve(router, request).await;
    }
    let started = Instant::now();
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    let query = request.uri().query().map(str::to_owned);
    let (request, body) = match recordable(request).await {
        Ok(read) => read,
        Err(refusal) => return refusal.into_response(),
    };
    let quota = tenant.front.take();
    let mut response = match (quota, tenant.front.inject(&method, &path)) {
        (Some(quota), _) if !quota.allowed => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests"), "Global limit has been reached")
                .into_response()
        }
        (_, Some(injected)) => {
            tokio::time::sleep(injected.delay).await;
            match injected.answer {
                Some((status, body)) => injected_answer(status, body),
                None => serve(router, request).await,
            }
        }
        (_, None) => serve(router, request).await,
    };
    if let Some(quota) = quota {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(quota.reset));
    }
    tenant.front.record(Journaled {
        time: crate::domain::time::now(),
        method,
        path,
        query,
        status: response.status().as_u16(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        body,
    });
    response
}

/// The request again, and its body as the journal keeps it (secrets masked): JSON bodies of a
/// known length up to the API's limit are read; others (a users import's file) stream through
/// unrecorded.
async fn recordable(request: Request) -> Result<(Request, Option<Value>), ApiError> {
    let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let json =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if !json || length.is_none_or(|length| length == 0 || length > MAX_BODY_BYTES) {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = read_bytes(body).await?;
    let logged = logged_body(&bytes, Value::Null);
    Ok((Request::from_parts(parts, axum::body::Body::from(bytes)), Some(logged)))
}

/// An injected fault's answer: its body, else Auth0's error body for its status.
fn injected_answer(status: u16, body: Option<Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        Some(body) => (status, Json(body)).into_response(),
        None => ApiError::new(status, None, "Injected fault (Roster admin API)").into_response(),
    }
}

/// Hands the request to a tenant's router as if it had come straight to it (axum would read
/// the route matched here as the start of the tenant's own).
async fn serve(router: Router, mut request: Request) -> Response {
    request.extensions_mut().remove::<axum::extract::MatchedPath>();
    router.oneshot(request).await.unwrap_or_else(|never| match never {})
}

async fn create(State(tenants): State<Arc<Tenants>>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let created = tenants.create(parse::<NewTenant>(body)?).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list(State(tenants): State<Arc<Tenants>>) -> Result<Response, ApiError> {
    let listed = tenants.list().await.map_err(|error| ApiError::internal(format!("{error:#}")))?;
    Ok(Json(listed).into_response())
}

async fn describe(State(tenants): State<Arc<Tenants>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(tenants.describe(&name).await?).into_response())
}

async fn remove(State(tenants): State<Arc<Tenants>>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    tenants.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedSnapshot {
    name: String,
}

async fn snapshot(
    State(tenants): State<Arc<Tenants>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body: NamedSnapshot = parse(body)?;
    tenants.snapshot(&name, &body.name).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "name": body.name }))).into_response())
}

async fn remove_snapshot(
    State(tenants): State<Arc<Tenants>>,
    Path((name, snapshot)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    tenants.delete_snapshot(&name, &snapshot).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetTo {
    snapshot: Option<String>,
}

/// Back to a snapshot: the one named, else the one taken when the tenant was created.
async fn reset(
    State(tenants): State<Arc<Tenants>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let to = parse::<ResetTo>(body)?.snapshot.unwrap_or_else(|| INITIAL_SNAPSHOT.to_owned());
    Ok(Json(tenants.reset(&name, &to).await?).into_response())
}

/// An admin request's body (an absent one reads as `{}`), or a 400 saying what is wrong with it.
fn parse<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|error| ApiError::bad_request(Some("invalid_body"), format!("Payload validation error: {error}")))
}

/// Turns Auth0 behaviours on or off: `rate_limit` (`{limit, per_second}` or `null`),
/// `search_index_lag_ms`.
async fn set_faithful(
    State(tenants): State<Arc<Tenants>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(Json(tenants.set_faithful(&name, &body).await?).into_response())
}

/// The Management API requests the tenant received, oldest first; `?method=&path=&status=`
/// narrow them (`path` may end in `*`).
async fn journal(
    State(tenants): State<Arc<Tenants>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let filter: JournalFilter = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|error| ApiError::invalid_query(format!("Query validation error: {error}")))?;
    let requests = tenants.hosted(&name)?.front.journal(&filter);
    Ok(Json(serde_json::json!({ "requests": requests })).into_response())
}

async fn clear_journal(State(tenants): State<Arc<Tenants>>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    tenants.hosted(&name)?.front.clear_journal();
    Ok(StatusCode::NO_CONTENT)
}

/// The next `times` requests matching `method` and `path` answer `status` (with `body`, else
/// Auth0's error body), after `delay_ms`; with no status they are only held that long.
async fn add_fault(
    State(tenants): State<Arc<Tenants>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let spec: FaultSpec = parse(body)?;
    spec.check().map_err(|message| ApiError::bad_request(Some("invalid_body"), message))?;
    let fault = tenants.hosted(&name)?.front.add_fault(spec);
    Ok((StatusCode::CREATED, Json(fault)).into_response())
}

async fn faults(State(tenants): State<Arc<Tenants>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(tenants.hosted(&name)?.front.faults()).into_response())
}

async fn clear_faults(State(tenants): State<Arc<Tenants>>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    tenants.hosted(&name)?.front.clear_faults();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_cookies_are_put_under_its_prefix() {
        let under = |cookie: &str| cookie_under(&HeaderValue::from_str(cookie).unwrap(), "/t/acme");
        assert_eq!(under("did=v; Path=/; Max-Age=60; HttpOnly"), "did=v; Path=/t/acme/; Max-Age=60; HttpOnly");
        assert_eq!(under("a=b; path=/u; Secure"), "a=b; path=/t/acme/u; Secure");
        assert_eq!(under("a=b; HttpOnly"), "a=b; HttpOnly");
        assert_eq!(under("path=/x"), "path=/x", "a cookie named path is not an attribute");
    }
}
