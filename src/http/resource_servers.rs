//! `/api/v2/resource-servers`: APIs and their scopes (the permissions roles and users get).
//!
//! A server is addressed by its id or by its identifier (percent-encoded in the path:
//! `/resource-servers/https:%2F%2Fapi.example.com%2F`), as Auth0 allows. Recorded statuses:
//! create 201, update 200 (the spec says 201), delete 204 also when nothing was there.
//!
//! The tenant's Management API (`https://{domain}/api/v2/`) is listed first, with
//! `is_system: true` and the scopes of Roster's scope table, as Auth0 lists it; it cannot be
//! changed or deleted (Auth0's 400s `System resource servers cannot be patched.` / `… deleted.`).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value};

use super::extract::JsonBody;
use super::pagination::{INCLUDE_TOTALS, PAGE, Page};
use super::query::{self, Param, QueryString};
use super::response;
use super::roles::{IdPath, rbac_error};
use crate::app::AppState;
use crate::auth::scopes::ALL_SCOPES;
use crate::domain::listing::Window;
use crate::domain::resource_server::{
    self, CREATE_RESOURCE_SERVER, ResourceServer, ResourceServerPatch, UPDATE_RESOURCE_SERVER,
};
use crate::domain::schema::Type;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/resource-servers"),
    ("POST", "/resource-servers"),
    ("GET", "/resource-servers/{id}"),
    ("PATCH", "/resource-servers/{id}"),
    ("DELETE", "/resource-servers/{id}"),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/resource-servers", get(list_resource_servers).post(create_resource_server)).route(
        "/resource-servers/{id}",
        get(get_resource_server).patch(update_resource_server).delete(delete_resource_server),
    )
}

/// 409 for an identifier in use (Auth0's spec gives the message; the `errorCode` is Roster's).
pub(crate) fn identifier_taken() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, Some("conflict"), "A resource server with the same identifier already exists.")
}

/// The tenant's Management API as a resource server.
fn management_api(app: &AppState) -> ResourceServer {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    resource_server::management_api(&app.issuer.management_audience, ALL_SCOPES, epoch)
}

/// Whether `key` (an id or an identifier) names the Management API (`http://` names it too).
fn is_management_api(app: &AppState, key: &str) -> bool {
    app.issuer.management_api(key).is_some() || key == management_api(app).id
}

const FIELDS: Param = Param::new(
    "fields",
    Type::String,
    "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
);
const INCLUDE_FIELDS: Param = Param::new(
    "include_fields",
    Type::Boolean,
    "Whether specified fields are to be included (true) or excluded (false).",
);

const LIST_PARAMS: &[Param] = &[
    Param::new(
        "identifiers",
        Type::String,
        "An optional filter on the resource server identifier. Must be URL encoded and may be specified multiple times (max 10).<br /><b>e.g.</b> <i>../resource-servers?identifiers=id1&identifiers=id2</i>",
    ),
    PAGE,
    Param::new("per_page", Type::Integer, "Number of results per page.").range(Some(1), Some(100)),
    INCLUDE_TOTALS,
    INCLUDE_FIELDS,
    FIELDS,
];

const GET_PARAMS: &[Param] = &[INCLUDE_FIELDS, FIELDS];

fn render(server: &ResourceServer, query: &QueryString) -> Map<String, Value> {
    resource_server::project(server.to_json(), query.text("fields"), query.boolean("include_fields").unwrap_or(true))
}

/// Every `identifiers` value of the query (the parameter repeats).
fn identifiers(raw: Option<&str>) -> Option<Vec<String>> {
    let values = query::repeated(raw, "identifiers");
    (!values.is_empty()).then_some(values)
}

async fn list_resource_servers(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let page = Page::from_query(&query);
    let identifiers = identifiers(raw.as_deref());
    let system = identifiers
        .as_ref()
        .is_none_or(|ids| ids.iter().any(|id| app.issuer.management_api(id).is_some()))
        .then(|| management_api(&app));
    // The Management API comes first; stored servers follow it, in creation order.
    let skip_system = u64::from(system.is_some());
    let window = if page.offset == 0 {
        Window { offset: 0, limit: page.limit.saturating_sub(skip_system) }
    } else {
        Window { offset: page.offset - skip_system, limit: page.limit }
    };
    let listed = app.store.resource_servers(identifiers.as_deref(), window).await?;
    let shown_system = system.filter(|_| page.offset == 0 && page.limit > 0);
    let items =
        shown_system.iter().chain(listed.items.iter()).map(|server| Value::Object(render(server, &query))).collect();
    Ok(page.respond("resource_servers", items, listed.total + skip_system))
}

async fn create_resource_server(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let body = CREATE_RESOURCE_SERVER.validate_payload(&body)?;
    let now = time::now();
    let server = resource_server::new_resource_server(body, ids::object_id(&now), now)?;
    if is_management_api(&app, &server.identifier) {
        return Err(identifier_taken());
    }
    app.store.create_resource_server(&server).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::CREATED, &server.to_json()))
}

/// The server a path's `{id}` names: by id, else by identifier.
async fn find(app: &AppState, key: &str) -> ApiResult<ResourceServer> {
    if is_management_api(app, key) {
        return Ok(management_api(app));
    }
    // PostgreSQL text cannot hold U+0000: no stored server has it.
    if key.contains('\0') {
        return Err(resource_server::not_found());
    }
    app.store.resource_server(key).await?.ok_or_else(resource_server::not_found)
}

async fn get_resource_server(
    State(app): State<AppState>,
    IdPath(key): IdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), GET_PARAMS)?;
    let server = find(&app, &key).await?;
    Ok(response::json(StatusCode::OK, &render(&server, &query)))
}

async fn update_resource_server(
    State(app): State<AppState>,
    IdPath(key): IdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_RESOURCE_SERVER.validate_payload(&body)?;
    let server = find(&app, &key).await?;
    if server.is_system() {
        return Err(ApiError::bad_request(None, "System resource servers cannot be patched."));
    }
    let patch = ResourceServerPatch::plan(body)?;
    let updated =
        app.store.update_resource_server(&server.id, move |server| patch.apply(server)).await.map_err(rbac_error)?;
    Ok(response::json(StatusCode::OK, &updated.to_json()))
}

/// 204 also when there is no such server, as recorded.
async fn delete_resource_server(State(app): State<AppState>, IdPath(key): IdPath) -> ApiResult<Response> {
    if is_management_api(&app, &key) {
        return Err(ApiError::bad_request(None, "System resource servers cannot be deleted."));
    }
    if !key.contains('\0')
        && let Some(server) = app.store.resource_server(&key).await?
    {
        app.store.delete_resource_server(&server.id).await?;
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}
