//! `/api/v2/clients`: list, create, read, update and delete applications, and rotate their
//! secrets. What a token may read of a client follows its scopes (`domain::client::ClientAccess`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;

use super::connections::{IdPath, client_not_found};
use super::extract::JsonBody;
use super::pagination::{Checkpoint, FROM, INCLUDE_TOTALS, Page, TAKE};
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::auth::token::Caller;
use crate::domain::client::{
    CREATE_CLIENT, ClientAccess, ClientPatch, ClientRecord, UPDATE_CLIENT, new_client, new_secret,
};
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::schema::Type;
use crate::domain::{listing, time};
use crate::error::ApiResult;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/clients"),
    ("POST", "/clients"),
    ("GET", "/clients/{id}"),
    ("PATCH", "/clients/{id}"),
    ("DELETE", "/clients/{id}"),
    ("POST", "/clients/{id}/rotate-secret"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{id}", get(get_client).patch(update_client).delete(delete_client))
        .route("/clients/{id}/rotate-secret", post(rotate_secret))
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
    FIELDS,
    INCLUDE_FIELDS,
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.").range(Some(0), None),
    Param::new("per_page", Type::Integer, "Number of results per page. Default value is 50, maximum value is 100")
        .range(Some(0), Some(100)),
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    Param::new("is_global", Type::Boolean, "Optional filter on the global client parameter."),
    Param::new("is_first_party", Type::Boolean, "Optional filter on whether or not a client is a first-party client."),
    Param::new("app_type", Type::String, "Optional filter by a comma-separated list of application types."),
    Param::new(
        "external_client_id",
        Type::String,
        "Optional filter by the Client ID Metadata Document URI for CIMD-registered clients.",
    )
    .check(check_external_client_id),
    Param::new("q", Type::String, "Advanced Query in Lucene syntax.").check(check_client_query),
];

fn check_external_client_id(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > 120 { Err(format!("String is too long ({length} chars), maximum 120")) } else { Ok(()) }
}

/// The two queries the spec permits for `q`.
enum ClientQuery<'a> {
    /// `client_grant.organization_id:{id}`: clients with a grant associated with the organization.
    Organization(&'a str),
    /// `client_grant.allow_any_organization:true`: clients with a grant for any organization.
    AnyOrganization,
}

fn client_query(value: &str) -> Option<ClientQuery<'_>> {
    match value.trim().split_once(':')? {
        ("client_grant.organization_id", id) if !id.is_empty() => Some(ClientQuery::Organization(id)),
        ("client_grant.allow_any_organization", "true") => Some(ClientQuery::AnyOrganization),
        _ => None,
    }
}

/// Roster's wording: Auth0's for another query is not known.
fn check_client_query(value: &str) -> Result<(), String> {
    match client_query(value) {
        Some(_) => Ok(()),
        None => Err(format!(
            "Unsupported query: {value}; permitted: client_grant.organization_id:{{organization_id}}, client_grant.allow_any_organization:true"
        )),
    }
}

const GET_PARAMS: &[Param] = &[FIELDS, INCLUDE_FIELDS];

fn render(client: &ClientRecord, access: ClientAccess, query: &QueryString) -> Value {
    let include = query.boolean("include_fields").unwrap_or(true);
    Value::Object(listing::project(client.to_json(access), query.text("fields"), include))
}

fn access(caller: &Caller) -> ClientAccess {
    ClientAccess::for_scopes(|scope| caller.has_scope(scope))
}

/// Whether `client` passes the listing's filters. No client of a Roster tenant is the global
/// (legacy "All Applications") client.
fn matches(client: &ClientRecord, query: &QueryString) -> bool {
    let app_types: Option<Vec<&str>> = query.text("app_type").map(|list| list.split(',').map(str::trim).collect());
    query.boolean("is_global").is_none_or(|global| !global)
        && query.boolean("is_first_party").is_none_or(|first| client.is_first_party() == first)
        && app_types.is_none_or(|types| client.app_type.as_deref().is_some_and(|t| types.contains(&t)))
}

async fn list_clients(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let access = access(&caller);
    let granted = match query.text("q").and_then(client_query) {
        None => None,
        Some(ClientQuery::Organization(id)) => {
            let window = (0, crate::store::organization_connections::MAX_CLIENT_GRANTS);
            let grants = app.store.organization_client_grants(id, &Default::default(), window).await?;
            Some(grants.map(|listed| listed.items).unwrap_or_default())
        }
        Some(ClientQuery::AnyOrganization) => {
            let grants = app.store.list_client_grants(&Default::default()).await?;
            let any = |g: &ClientGrantRecord| g.attributes.get("allow_any_organization") == Some(&Value::Bool(true));
            Some(grants.into_iter().filter(any).collect())
        }
    };
    let granted: Option<Vec<String>> = granted.map(|grants| grants.into_iter().map(|g| g.client_id).collect());
    let external = query.text("external_client_id");
    let clients: Vec<ClientRecord> = app
        .store
        .list_clients()
        .await?
        .into_iter()
        .filter(|client| matches(client, &query))
        .filter(|client| granted.as_ref().is_none_or(|ids| ids.contains(&client.client_id)))
        .filter(|client| {
            external.is_none_or(|uri| client.attributes.get("external_client_id").and_then(Value::as_str) == Some(uri))
        })
        .collect();
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        let (clients, next) = listing::after(clients, |c| &c.client_id, checkpoint.after.as_deref(), checkpoint.take);
        let items = clients.iter().map(|c| render(c, access, &query)).collect();
        return Ok(Checkpoint::respond("clients", items, next.as_deref()));
    }
    let page = Page::from_query(&query);
    let total = clients.len() as u64;
    let items = listing::page(clients, page.offset, page.limit).iter().map(|c| render(c, access, &query)).collect();
    Ok(page.respond("clients", items, total))
}

async fn create_client(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let body = CREATE_CLIENT.validate_payload(&body)?;
    let client = new_client(body, time::now())?;
    app.store.create_client(&client).await?;
    Ok(response::json(StatusCode::CREATED, &client.to_json(ClientAccess::FULL)))
}

async fn get_client(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    IdPath(id): IdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), GET_PARAMS)?;
    let client = app.store.client_record(&id).await?.ok_or_else(client_not_found)?;
    Ok(response::json(StatusCode::OK, &render(&client, access(&caller), &query)))
}

async fn update_client(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_CLIENT.validate_payload(&body)?;
    let patch = ClientPatch::plan(body)?;
    patch.check_scopes(|scope| caller.has_scope(scope))?;
    let client = app.store.update_client(&id, move |client| patch.apply(client)).await?.ok_or_else(client_not_found)?;
    Ok(response::json(StatusCode::OK, &client.to_json(ClientAccess::FULL)))
}

/// 204 whether or not the client existed, as Auth0 answers (go-auth0's `TestClient_Delete`).
/// Deleting the management client Roster created is allowed; a restart creates a new one (see
/// docs/COMPATIBILITY.md).
async fn delete_client(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    app.store.delete_client(&id).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// A new secret at once: the old one no longer gets tokens.
async fn rotate_secret(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    let secret = new_secret();
    let client = app
        .store
        .update_client(&id, move |client| client.client_secret = secret)
        .await?
        .ok_or_else(client_not_found)?;
    Ok(response::json(StatusCode::OK, &client.to_json(ClientAccess::FULL)))
}
