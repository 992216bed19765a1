//! What an organization is connected to: `/organizations/{id}/enabled_connections` and
//! `/organizations/{id}/connections` (two families over the same connections: the first sees
//! those not disabled and only its three flags), `/organizations/{id}/client-grants`, and the
//! listing of `/organizations/{id}/discovery-domains` (always empty: Roster cannot add any yet).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::{Map, Value};

use super::extract::JsonBody;
use super::organizations::{OrganizationPath, organization_error, organization_not_found};
use super::pagination::{INCLUDE_TOTALS, PAGE, PER_PAGE, Page, TAKE};
use super::query::{self, Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::json_schema::{Field, Schema};
use crate::domain::organization_connection::{self as org_connection, OrganizationConnection};
use crate::domain::schema::Type;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::organization_connections::OrganizationGrantFilter;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/organizations/{id}/enabled_connections"),
    ("POST", "/organizations/{id}/enabled_connections"),
    ("GET", "/organizations/{id}/enabled_connections/{connectionId}"),
    ("PATCH", "/organizations/{id}/enabled_connections/{connectionId}"),
    ("DELETE", "/organizations/{id}/enabled_connections/{connectionId}"),
    ("GET", "/organizations/{id}/connections"),
    ("POST", "/organizations/{id}/connections"),
    ("GET", "/organizations/{id}/connections/{connection_id}"),
    ("PATCH", "/organizations/{id}/connections/{connection_id}"),
    ("DELETE", "/organizations/{id}/connections/{connection_id}"),
    ("GET", "/organizations/{id}/client-grants"),
    ("POST", "/organizations/{id}/client-grants"),
    ("DELETE", "/organizations/{id}/client-grants/{grant_id}"),
    ("GET", "/organizations/{id}/discovery-domains"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations/{id}/enabled_connections", get(list_enabled).post(add_enabled))
        .route(
            "/organizations/{id}/enabled_connections/{connectionId}",
            get(get_enabled).patch(update_enabled).delete(remove_enabled),
        )
        .route("/organizations/{id}/connections", get(list_connections).post(add_connection))
        .route(
            "/organizations/{id}/connections/{connection_id}",
            get(get_connection).patch(update_connection).delete(remove_connection),
        )
        .route("/organizations/{id}/client-grants", get(list_client_grants).post(add_client_grant))
        .route("/organizations/{id}/client-grants/{grant_id}", delete(remove_client_grant))
        .route("/organizations/{id}/discovery-domains", get(list_discovery_domains))
}

/// The spec's 404 for a connection that is not the organization's; its error code is not known.
fn connection_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, None, "The organization connection does not exist.")
}

/// Which family a request came through: what it sees and how it shows it.
#[derive(Clone, Copy)]
enum Family {
    /// `/enabled_connections`: connections not disabled, `OrganizationConnection`'s shape.
    Enabled,
    /// `/connections`: every connection, with `is_enabled` and the newer attributes.
    All,
}

impl Family {
    fn render(self, connection: &OrganizationConnection) -> Value {
        match self {
            Family::Enabled => connection.to_enabled_json(),
            Family::All => connection.to_json(),
        }
    }

    fn enabled_only(self) -> bool {
        matches!(self, Family::Enabled)
    }
}

const LIST_ENABLED_PARAMS: &[Param] = &[PAGE, PER_PAGE, INCLUDE_TOTALS];
const LIST_CONNECTIONS_PARAMS: &[Param] =
    &[PAGE, PER_PAGE, INCLUDE_TOTALS, Param::new("is_enabled", Type::Boolean, "Filter connections by enabled status.")];

async fn list(app: &AppState, path: &OrganizationPath, raw: Option<&str>, family: Family) -> ApiResult<Response> {
    let params = match family {
        Family::Enabled => LIST_ENABLED_PARAMS,
        Family::All => LIST_CONNECTIONS_PARAMS,
    };
    let query = QueryString::parse(raw, params)?;
    let page = Page::from_query(&query);
    let wanted = match family {
        Family::Enabled => Some(true),
        Family::All => query.boolean("is_enabled"),
    };
    let connections = app.store.organization_connections(&path.id).await?.ok_or_else(organization_not_found)?;
    let matching: Vec<&OrganizationConnection> =
        connections.iter().filter(|c| wanted.is_none_or(|enabled| c.is_enabled() == enabled)).collect();
    let total = matching.len() as u64;
    let items: Vec<Value> =
        matching.into_iter().skip(page.offset as usize).take(page.limit as usize).map(|c| family.render(c)).collect();
    let key = match family {
        Family::Enabled => "enabled_connections",
        Family::All => "connections",
    };
    // Auth0 answered `limit` as the number of connections on the page (1 for `per_page=50`,
    // TestOrganizationManager_Connections); its other listings answer `per_page`.
    let page = Page { limit: items.len() as u64, ..page };
    Ok(page.respond(key, items, total))
}

async fn add(app: &AppState, path: &OrganizationPath, body: &Value, family: Family) -> ApiResult<Response> {
    let schema = match family {
        Family::Enabled => &org_connection::ADD_ENABLED_CONNECTION,
        Family::All => &org_connection::ADD_CONNECTION,
    };
    let added = org_connection::plan_add(schema, body)?;
    let connection =
        app.store.add_organization_connection(&path.id, added, time::now()).await.map_err(organization_error)?;
    Ok(response::json(StatusCode::CREATED, &family.render(&connection)))
}

async fn read(app: &AppState, path: &OrganizationPath, family: Family) -> ApiResult<Response> {
    let found = app.store.organization_connection(&path.id, &path.item).await.map_err(organization_error)?;
    let connection = found.filter(|c| !family.enabled_only() || c.is_enabled()).ok_or_else(connection_not_found)?;
    Ok(response::json(StatusCode::OK, &family.render(&connection)))
}

async fn update(app: &AppState, path: &OrganizationPath, body: &Value, family: Family) -> ApiResult<Response> {
    let schema = match family {
        Family::Enabled => &org_connection::UPDATE_ENABLED_CONNECTION,
        Family::All => &org_connection::UPDATE_CONNECTION,
    };
    let changes = org_connection::plan_update(schema, body)?;
    let updated = app
        .store
        .update_organization_connection(&path.id, &path.item, family.enabled_only(), changes)
        .await
        .map_err(organization_error)?
        .ok_or_else(connection_not_found)?;
    Ok(response::json(StatusCode::OK, &family.render(&updated)))
}

async fn remove(app: &AppState, path: &OrganizationPath, family: Family) -> ApiResult<Response> {
    let removed = app
        .store
        .remove_organization_connection(&path.id, &path.item, family.enabled_only())
        .await
        .map_err(organization_error)?;
    if !removed {
        return Err(connection_not_found());
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}

async fn list_enabled(
    State(app): State<AppState>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    list(&app, &path, raw.as_deref(), Family::Enabled).await
}

async fn add_enabled(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    add(&app, &path, &body, Family::Enabled).await
}

async fn get_enabled(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    read(&app, &path, Family::Enabled).await
}

async fn update_enabled(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    update(&app, &path, &body, Family::Enabled).await
}

async fn remove_enabled(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    remove(&app, &path, Family::Enabled).await
}

async fn list_connections(
    State(app): State<AppState>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    list(&app, &path, raw.as_deref(), Family::All).await
}

async fn add_connection(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    add(&app, &path, &body, Family::All).await
}

async fn get_connection(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    read(&app, &path, Family::All).await
}

async fn update_connection(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    update(&app, &path, &body, Family::All).await
}

async fn remove_connection(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    remove(&app, &path, Family::All).await
}

// ---------------------------------------------------------------------------------------------
// Client grants

/// `client-grant-id`: `cgr_` and letters or digits.
fn is_client_grant_id(text: &str) -> bool {
    text.strip_prefix("cgr_").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_grant_ids(value: &str) -> Result<(), String> {
    match value.split(',').find(|id| !is_client_grant_id(id)) {
        Some(id) => Err(format!("Object didn't pass validation for format client-grant-id: {id}")),
        None => Ok(()),
    }
}

fn check_audience(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > 600 { Err(format!("String is too long ({length} chars), maximum 600")) } else { Ok(()) }
}

const LIST_GRANTS_PARAMS: &[Param] = &[
    Param::new("audience", Type::String, "Optional filter on audience of the client grant.").check(check_audience),
    Param::new("client_id", Type::String, "Optional filter on client_id of the client grant."),
    Param::new("grant_ids", Type::String, "Optional filter on the ID of the client grant. Must be URL encoded and may be specified multiple times (max 10).<br /><b>e.g.</b> <i>../client-grants?grant_ids=id1&grant_ids=id2</i>")
        .check(check_grant_ids),
    PAGE,
    PER_PAGE,
    INCLUDE_TOTALS,
];

/// `AssociateOrganizationClientGrantRequestContent`.
const ADD_CLIENT_GRANT: Schema = Schema::object(
    "",
    &[Field {
        name: "grant_id",
        schema: Schema::string("A Client Grant ID to add to the organization.")
            .format("client-grant-id", is_client_grant_id),
    }],
)
.required(&["grant_id"]);

/// The spec's `OrganizationClientGrant`: the grant's id, client, audience and scope, and its
/// organization settings when set.
fn render_grant(grant: &ClientGrantRecord) -> Value {
    let mut json = grant.to_json();
    json.retain(|key, _| {
        ["id", "client_id", "audience", "scope", "organization_usage", "allow_any_organization"].contains(&key.as_str())
    });
    Value::Object(json)
}

async fn list_client_grants(
    State(app): State<AppState>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_GRANTS_PARAMS)?;
    let page = Page::from_query(&query);
    let grant_ids = query::repeated(raw.as_deref(), "grant_ids")
        .iter()
        .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let filter = OrganizationGrantFilter {
        audience: query.text("audience").map(str::to_owned),
        client_id: query.text("client_id").map(str::to_owned),
        grant_ids,
    };
    let listed = app
        .store
        .organization_client_grants(&path.id, &filter, (page.offset, page.limit))
        .await?
        .ok_or_else(organization_not_found)?;
    Ok(page.respond("client_grants", listed.items.iter().map(render_grant).collect(), listed.total))
}

async fn add_client_grant(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ADD_CLIENT_GRANT.validate_payload(&body)?;
    let grant_id = body.get("grant_id").and_then(Value::as_str).unwrap_or_default();
    let grant =
        app.store.add_organization_client_grant(&path.id, grant_id, time::now()).await.map_err(organization_error)?;
    // As recorded (TestOrganizationManager_ClientGrants): `grant_id`, the client, audience and
    // scope.
    let mut answer = Map::new();
    answer.insert("grant_id".into(), Value::from(grant.id.as_str()));
    answer.insert("client_id".into(), Value::from(grant.client_id.as_str()));
    answer.insert("audience".into(), Value::from(grant.audience.as_str()));
    answer.insert("scope".into(), Value::from(grant.scope.clone()));
    Ok(response::json(StatusCode::CREATED, &answer))
}

async fn remove_client_grant(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    app.store.remove_organization_client_grant(&path.id, &path.item).await.map_err(organization_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Discovery domains

const LIST_DOMAINS_PARAMS: &[Param] = &[super::pagination::FROM, TAKE];

/// Roster cannot add discovery domains yet (their other operations answer 501), so an existing
/// organization has none. Answering the listing keeps clients that read every organization's
/// domains (the Deploy CLI's export) from retrying a 501 for minutes.
async fn list_discovery_domains(
    State(app): State<AppState>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    QueryString::parse(raw.as_deref(), LIST_DOMAINS_PARAMS)?;
    app.store.organization(&path.id).await?.ok_or_else(organization_not_found)?;
    Ok(response::json(StatusCode::OK, &serde_json::json!({"domains": []})))
}
