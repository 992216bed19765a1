//! `/api/v2/client-grants`: which scopes of which API a client may ask for with the client
//! credentials grant. `/oauth/token` reads the grant on every token request, so a change here
//! applies to the next token (tokens already issued keep their scopes until they expire, as
//! Auth0's do).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::connections::IdPath;
use super::extract::JsonBody;
use super::pagination::{Checkpoint, FROM, INCLUDE_TOTALS, PAGE, Page, TAKE};
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::domain::client_grant::{
    CREATE_CLIENT_GRANT, ClientGrantRecord, UPDATE_CLIENT_GRANT, apply_patch, new_grant,
};
use crate::domain::listing;
use crate::domain::schema::Type;
use crate::error::{ApiError, ApiResult};
use crate::store::tenant_admin::{AdminError, ClientGrantFilter};

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/client-grants"),
    ("POST", "/client-grants"),
    ("GET", "/client-grants/{id}"),
    ("PATCH", "/client-grants/{id}"),
    ("DELETE", "/client-grants/{id}"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/client-grants", get(list_grants).post(create_grant))
        .route("/client-grants/{id}", get(get_grant).patch(update_grant).delete(delete_grant))
}

fn check_true(value: &str) -> Result<(), String> {
    if value == "true" { Ok(()) } else { Err(format!("No enum match for: {value}")) }
}

fn check_subject_type(value: &str) -> Result<(), String> {
    if matches!(value, "client" | "user") { Ok(()) } else { Err(format!("No enum match for: \"{value}\"")) }
}

fn check_default_for(value: &str) -> Result<(), String> {
    if value == "third_party_clients" { Ok(()) } else { Err(format!("No enum match for: \"{value}\"")) }
}

const LIST_PARAMS: &[Param] = &[
    Param::new("per_page", Type::Integer, "Number of results per page.").range(Some(1), Some(100)),
    PAGE,
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    Param::new("audience", Type::String, "Optional filter on audience."),
    Param::new("client_id", Type::String, "Optional filter on client_id."),
    Param::new("allow_any_organization", Type::Boolean, "Optional filter on allow_any_organization.").check(check_true),
    Param::new("subject_type", Type::String, "The type of application access the client grant allows.")
        .check(check_subject_type),
    Param::new(
        "default_for",
        Type::String,
        "Applies this client grant as the default for all clients in the specified group. The only accepted value is <a href=\"https://auth0.com/docs/get-started/applications/application-access-to-apis-client-grants#default-permissions-for-third-party-applications\">`third_party_clients`</a>, which applies the grant to all third-party clients. Per-client grants for the same audience take precedence. Mutually exclusive with `client_id`.",
    )
    .check(check_default_for),
];

/// Live tenants' 404 (go-auth0's `TestClientGrantManager_Delete.yaml`).
fn grant_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_client_grant"), "The grant does not exist.")
}

/// The canonical identifier of an audience: the Management API's `https://` form for either
/// of its names, anything else as given.
fn canonical_audience(app: &AppState, audience: &str) -> String {
    app.issuer.management_api(audience).unwrap_or(audience).to_owned()
}

/// Whether `grant` passes the filters kept in its attributes. Roster has no default grants for
/// groups of clients, so `default_for` matches none.
fn matches(grant: &ClientGrantRecord, query: &QueryString) -> bool {
    let attribute = |key: &str| grant.attributes.get(key);
    query.text("default_for").is_none()
        && query
            .boolean("allow_any_organization")
            .is_none_or(|_| attribute("allow_any_organization") == Some(&Value::Bool(true)))
        && query
            .text("subject_type")
            .is_none_or(|subject| attribute("subject_type").and_then(Value::as_str) == Some(subject))
}

async fn list_grants(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let filter = ClientGrantFilter {
        client_id: query.text("client_id").map(str::to_owned),
        audience: query.text("audience").map(|audience| canonical_audience(&app, audience)),
    };
    let grants: Vec<ClientGrantRecord> =
        app.store.list_client_grants(&filter).await?.into_iter().filter(|grant| matches(grant, &query)).collect();
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        let (grants, next) = listing::after(grants, |g| &g.id, checkpoint.after.as_deref(), checkpoint.take);
        let items = grants.iter().map(|g| Value::Object(g.to_json())).collect();
        return Ok(Checkpoint::respond("client_grants", items, next.as_deref()));
    }
    let page = Page::from_query(&query);
    let total = grants.len() as u64;
    let items = listing::page(grants, page.offset, page.limit).iter().map(|g| Value::Object(g.to_json())).collect();
    Ok(page.respond("client_grants", items, total))
}

/// Errors Auth0 answers as its Deploy CLI and Terraform provider report them (auth0-deploy-cli
/// issues #144 and #59, terraform-provider-auth0 issue #255); their error codes are not known.
async fn create_grant(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let body = CREATE_CLIENT_GRANT.validate_payload(&body)?;
    let given = body.get("audience").and_then(Value::as_str).unwrap_or_default();
    let audience = canonical_audience(&app, given);
    if app.issuer.management_api(&audience).is_none() && !app.store.resource_server_exists(&audience).await? {
        return Err(ApiError::not_found(format!("No resource with identifier {given}")));
    }
    let grant = new_grant(body, audience)?;
    app.store.create_client_grant(&grant).await.map_err(|error| match error {
        AdminError::MissingClient(_) => ApiError::not_found("Client not found"),
        AdminError::GrantExists => ApiError::new(
            StatusCode::CONFLICT,
            None,
            format!("A client grant already exists between {} and {}", grant.client_id, grant.audience),
        ),
        AdminError::ConnectionNameTaken => ApiError::internal("a grant write reported a connection conflict"),
        AdminError::Other(cause) => cause.into(),
    })?;
    Ok(response::json(StatusCode::CREATED, &grant.to_json()))
}

async fn get_grant(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    let grant = app.store.client_grant_by_id(&id).await?.ok_or_else(grant_not_found)?;
    Ok(response::json(StatusCode::OK, &grant.to_json()))
}

async fn update_grant(
    State(app): State<AppState>,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_CLIENT_GRANT.validate_payload(&body)?;
    let grant = app
        .store
        .update_client_grant(&id, {
            let body = body.clone();
            move |grant| apply_patch(&body, grant)
        })
        .await?
        // The spec's wording for this operation.
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_client_grant"), "The client grant does not exist.")
        })?;
    Ok(response::json(StatusCode::OK, &grant.to_json()))
}

/// 204 whether or not the grant existed (go-auth0's `TestClientGrantManager_Delete.yaml`).
async fn delete_grant(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    app.store.delete_client_grant(&id).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
