//! `/api/v2/connections`: list, create, read, update and delete connections, and the clients a
//! connection is enabled for. The user rules read the stored connection on every request, so a
//! change here (password policy, `requires_username`, username limits) applies to the next one.

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::extract::JsonBody;
use super::pagination::{Checkpoint, FROM, Page, TAKE, decode_cursor};
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::domain::connection::ConnectionRecord;
use crate::domain::connection_admin::{
    CREATE_CONNECTION, ConnectionPatch, STRATEGIES, UPDATE_CONNECTION, new_connection,
};
use crate::domain::json_schema::{Field, Schema};
use crate::domain::schema::{Location, Type};
use crate::domain::{ids, listing, time};
use crate::error::{ApiError, ApiResult};
use crate::store::tenant_admin::{AdminError, ConnectionFilter};

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/connections"),
    ("POST", "/connections"),
    ("GET", "/connections/{id}"),
    ("PATCH", "/connections/{id}"),
    ("DELETE", "/connections/{id}"),
    ("GET", "/connections/{id}/clients"),
    ("PATCH", "/connections/{id}/clients"),
    ("GET", "/connections/{id}/scim-configuration"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list_connections).post(create_connection))
        .route("/connections/{id}", get(get_connection).patch(update_connection).delete(delete_connection))
        .route("/connections/{id}/clients", get(enabled_clients).patch(update_enabled_clients))
        .route("/connections/{id}/scim-configuration", get(scim_configuration))
}

/// Roster has no SCIM, so no connection has a SCIM configuration: a 404 either way (the spec's
/// text for an unknown connection; Roster's for a known one), which clients that read every
/// connection's configuration (the Deploy CLI) take for "not enabled" where a 501 would have
/// them retry.
async fn scim_configuration(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    app.store.connection_by_id(&id).await?.ok_or_else(connection_not_found)?;
    Err(ApiError::new(StatusCode::NOT_FOUND, None, "The connection has no SCIM configuration."))
}

/// The `{id}` of a tenant object's path (a connection, client or grant id), percent-decoded.
/// Auth0 only checks these ids by looking them up.
pub(super) struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))?;
        let id = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()).unwrap_or_default();
        Ok(Self(id))
    }
}

/// Live tenants' 404 (go-auth0's `TestConnectionManager_Delete.yaml`).
fn connection_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_connection"), "The connection does not exist")
}

/// Live tenants' 404 for a client id (the Terraform provider's
/// `TestAccDataSourceClientNonexistentID.yaml`); also what enabling an unknown client answers.
pub(super) fn client_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_client"), "The client does not exist")
}

fn write_error(error: AdminError) -> ApiError {
    match error {
        // As Auth0 answers (auth0-deploy-cli issue #221).
        AdminError::ConnectionNameTaken => ApiError::new(
            StatusCode::CONFLICT,
            Some("connection_conflict"),
            "A connection with the same name already exists",
        ),
        AdminError::MissingClient(_) => client_not_found(),
        AdminError::GrantExists => ApiError::internal("a connection write reported a grant conflict"),
        AdminError::Other(cause) => cause.into(),
    }
}

const FIELDS: Param = Param::new(
    "fields",
    Type::String,
    "A comma separated list of fields to include or exclude (depending on include_fields) from the result, empty to retrieve all fields",
);
const INCLUDE_FIELDS: Param = Param::new(
    "include_fields",
    Type::Boolean,
    "<code>true</code> if the fields specified are to be included in the result, <code>false</code> otherwise (defaults to <code>true</code>)",
);
const STRATEGY: Param =
    Param::new("strategy", Type::String, "Provide strategies to only retrieve connections with such strategies");

const LIST_PARAMS: &[Param] = &[
    Param::new("per_page", Type::Integer, "The amount of entries per page. Defaults to 100 if not provided")
        .range(Some(1), Some(100)),
    Param::new("page", Type::Integer, "The page number. Zero based").range(Some(0), None),
    Param::new(
        "include_totals",
        Type::Boolean,
        "true if a query summary must be included in the result, false otherwise. Not returned when using checkpoint pagination. Default <code>false</code>.",
    ),
    FROM,
    TAKE,
    STRATEGY,
    Param::new("name", Type::String, "Provide the name of the connection to retrieve"),
    FIELDS,
    INCLUDE_FIELDS,
];
const GET_PARAMS: &[Param] = &[FIELDS, INCLUDE_FIELDS];

/// The spec's default page size for this listing.
const DEFAULT_PER_PAGE: u64 = 100;

/// A connection with the `fields` asked for. Auth0 adds `is_domain_connection` to any list of
/// fields to include (go-auth0's `TestConnectionManager_List.yaml` asks for `id` and gets both).
fn render(record: &ConnectionRecord, query: &QueryString) -> Value {
    let include = query.boolean("include_fields").unwrap_or(true);
    let fields = query.text("fields").map(|f| if include { format!("{f},is_domain_connection") } else { f.to_owned() });
    Value::Object(listing::project(record.to_json(), fields.as_deref(), include))
}

/// Every `strategy` given (the parameter repeats: `strategy=auth0&strategy=email`).
fn strategies(raw: Option<&str>) -> ApiResult<Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
    let mut strategies = Vec::new();
    for (name, value) in pairs {
        if name != "strategy" || value.is_empty() {
            continue;
        }
        if !STRATEGIES.contains(&value.as_str()) {
            return Err(Location::Query.single(&format!("No enum match for: \"{value}\""), Some(&STRATEGY.property)));
        }
        strategies.push(value);
    }
    Ok(strategies)
}

async fn list_connections(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_PARAMS)?;
    let filter =
        ConnectionFilter { strategies: strategies(raw.as_deref())?, name: query.text("name").map(str::to_owned) };
    let records = app.store.list_connections(&filter).await?;
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        let (records, next) =
            listing::after(records, |r| &r.connection.id, checkpoint.after.as_deref(), checkpoint.take);
        let items = records.iter().map(|r| render(r, &query)).collect();
        return Ok(Checkpoint::respond("connections", items, next.as_deref()));
    }
    let mut page = Page::from_query(&query);
    if query.integer("per_page").is_none() {
        page.limit = DEFAULT_PER_PAGE;
        page.offset = query.integer("page").unwrap_or(0) as u64 * DEFAULT_PER_PAGE;
    }
    let total = records.len() as u64;
    let items = listing::page(records, page.offset, page.limit).iter().map(|r| render(r, &query)).collect();
    Ok(page.respond("connections", items, total))
}

async fn create_connection(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let body = CREATE_CONNECTION.validate_payload(&body)?;
    let record = new_connection(body, ids::prefixed("con"))?;
    app.store.create_connection(&record).await.map_err(write_error)?;
    Ok(response::json(StatusCode::CREATED, &record.to_json()))
}

async fn get_connection(
    State(app): State<AppState>,
    IdPath(id): IdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), GET_PARAMS)?;
    let record = app.store.connection_by_id(&id).await?.ok_or_else(connection_not_found)?;
    Ok(response::json(StatusCode::OK, &render(&record, &query)))
}

async fn update_connection(
    State(app): State<AppState>,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_CONNECTION.validate_payload(&body)?;
    let patch = ConnectionPatch::plan(body)?;
    let updated = app
        .store
        .update_connection(&id, move |record| patch.apply(record))
        .await
        .map_err(write_error)?
        .ok_or_else(connection_not_found)?;
    Ok(response::json(StatusCode::OK, &updated.to_json()))
}

/// Auth0 answers 202 with the time of deletion when the connection existed (its users are then
/// deleted in the background; here they are gone before the answer), 204 otherwise
/// (go-auth0's `TestConnectionManager_Delete.yaml`).
async fn delete_connection(State(app): State<AppState>, IdPath(id): IdPath) -> ApiResult<Response> {
    if app.store.delete_connection(&id).await? {
        Ok(response::json(StatusCode::ACCEPTED, &json!({"deleted_at": time::format(&time::now())})))
    } else {
        Ok(response::empty(StatusCode::NO_CONTENT))
    }
}

fn check_from_length(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > 1000 { Err(format!("String is too long ({length} chars), maximum 1000")) } else { Ok(()) }
}

const ENABLED_CLIENTS_PARAMS: &[Param] = &[
    Param::new("take", Type::Integer, "Number of results per page. Defaults to 50.").range(Some(1), Some(1000)),
    Param::new("from", Type::String, "Optional Id from which to start selection.").check(check_from_length),
];

/// `GET /connections/{id}/clients`: `{"clients":[{"client_id":…}],"next":…}`, in the order the
/// clients were enabled; the cursor is the position to continue from.
async fn enabled_clients(
    State(app): State<AppState>,
    IdPath(id): IdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), ENABLED_CLIENTS_PARAMS)?;
    let record = app.store.connection_by_id(&id).await?.ok_or_else(connection_not_found)?;
    let start = match query.text("from") {
        Some(cursor) => decode_cursor(cursor)?.parse::<usize>().map_err(|_| {
            ApiError::invalid_query(format!(
                "Query validation error: 'Invalid cursor: {cursor}' on property from (Optional Id from which to start selection)."
            ))
        })?,
        None => 0,
    };
    let take = query.integer("take").map_or(50, |n| n as usize);
    let enabled = &record.connection.enabled_clients;
    let items: Vec<Value> =
        enabled.iter().skip(start).take(take).map(|client_id| json!({ "client_id": client_id })).collect();
    let next = (start.saturating_add(take) < enabled.len()).then(|| (start + take).to_string());
    Ok(Checkpoint::respond("clients", items, next.as_deref()))
}

/// `UpdateEnabledClientConnectionsRequestContent`, an array at the top of the payload. The
/// schema sits in an object under an empty name so that paths read `[0].status`, as z-schema
/// names items of a top-level array.
const ENABLED_CLIENT_CHANGE: Schema = Schema::object(
    "",
    &[
        Field {
            name: "client_id",
            schema: Schema::string(
                "The client_id of the client whose status will be changed. Note that the limit per PATCH request is 50 clients.",
            ),
        },
        Field { name: "status", schema: Schema::boolean("Whether the connection is enabled or not for this client_id") },
    ],
)
.required(&["client_id", "status"]);
const ENABLED_CLIENT_CHANGES: Schema = Schema::object(
    "",
    &[Field { name: "", schema: Schema::array("", &ENABLED_CLIENT_CHANGE).items_count(Some(1), None) }],
);

/// `PATCH /connections/{id}/clients`: `[{"client_id":…,"status":true|false}]` enables or
/// disables the connection for each client; 204.
async fn update_enabled_clients(
    State(app): State<AppState>,
    IdPath(id): IdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    ENABLED_CLIENT_CHANGES.validate_payload(&json!({ "": body }))?;
    let changes: Vec<(String, bool)> = body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|change| Some((change["client_id"].as_str()?.to_owned(), change["status"].as_bool()?)))
        .collect();
    app.store.connection_by_id(&id).await?.ok_or_else(connection_not_found)?;
    for (client_id, _) in &changes {
        app.store.client_record(client_id).await?.ok_or_else(client_not_found)?;
    }
    app.store
        .update_connection(&id, move |record| {
            let enabled = &mut record.connection.enabled_clients;
            for (client_id, status) in &changes {
                let present = enabled.contains(client_id);
                if *status && !present {
                    enabled.push(client_id.clone());
                } else if !*status && present {
                    enabled.retain(|c| c != client_id);
                }
            }
        })
        .await
        .map_err(write_error)?
        .ok_or_else(connection_not_found)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
