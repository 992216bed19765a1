//! `/api/v2/organizations`, its members and members' roles.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value};

use super::extract::JsonBody;
use super::pagination::{Checkpoint, FROM, INCLUDE_TOTALS, PER_PAGE, Page, TAKE};
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::auth::token::Caller;
use crate::domain::json_schema::{Additional, Field, Schema};
use crate::domain::listing::Slice;
use crate::domain::organization::{Member, MemberCursor, OrganizationOrder, OrganizationSort};
use crate::domain::organization::{Organization, OrganizationPatch, new_organization};
use crate::domain::rbac::Role;
use crate::domain::schema::Type;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::organizations::OrganizationError;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/organizations"),
    ("POST", "/organizations"),
    ("GET", "/organizations/name/{name}"),
    ("GET", "/organizations/{id}"),
    ("PATCH", "/organizations/{id}"),
    ("DELETE", "/organizations/{id}"),
    ("GET", "/organizations/{id}/members"),
    ("POST", "/organizations/{id}/members"),
    ("DELETE", "/organizations/{id}/members"),
    ("GET", "/organizations/{id}/members/{user_id}/roles"),
    ("POST", "/organizations/{id}/members/{user_id}/roles"),
    ("DELETE", "/organizations/{id}/members/{user_id}/roles"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(list_organizations).post(create_organization))
        .route("/organizations/name/{name}", get(organization_by_name))
        .route("/organizations/{id}", get(get_organization).patch(update_organization).delete(delete_organization))
        .route("/organizations/{id}/members", get(list_members).post(add_members).delete(remove_members))
        .route(
            "/organizations/{id}/members/{user_id}/roles",
            get(list_member_roles).post(assign_member_roles).delete(remove_member_roles),
        )
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Auth0's 404 for an organization, by id or by name (quoted by auth0.net's and Terraform's
/// tests against live tenants).
pub fn organization_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_organization"), "No organization found by that id or name")
}

/// What each refusal of the store looks like to a client.
pub fn organization_error(error: OrganizationError) -> ApiError {
    match error {
        // Auth0's docs, "Create Organizations", response status codes.
        OrganizationError::NameTaken => ApiError::new(
            StatusCode::CONFLICT,
            Some("organization_conflict"),
            "An organization with the same name already exists.",
        ),
        OrganizationError::OrganizationNotFound => organization_not_found(),
        OrganizationError::UserNotFound => ApiError::user_not_found(),
        // Roster's wording: Auth0's is not known.
        OrganizationError::UsersNotFound(ids) => {
            ApiError::invalid_body(format!("One or more users do not exist: {}", ids.join(",")))
        }
        OrganizationError::RolesNotFound(ids) => {
            ApiError::invalid_body(format!("One or more roles do not exist: {}", ids.join(",")))
        }
        // The spec's 409 for this operation; its error code is not known.
        OrganizationError::TooManyRoles => {
            ApiError::new(StatusCode::CONFLICT, None, "No more roles can be assigned to this organization member.")
        }
        // The text Roster answers for a connection named in an organization's creation.
        OrganizationError::ConnectionNotFound => {
            ApiError::bad_request(Some("inexistent_connection"), "The connection does not exist.")
        }
        // The spec's texts for these operations; their error codes are not known.
        OrganizationError::ConnectionAlreadyAdded => {
            ApiError::new(StatusCode::CONFLICT, None, "The organization connection already exists.")
        }
        OrganizationError::GrantNotFound => ApiError::new(StatusCode::NOT_FOUND, None, "The grant does not exist."),
        OrganizationError::GrantAlreadyAdded => {
            ApiError::new(StatusCode::CONFLICT, None, "The client grant has already been added to this organization.")
        }
        OrganizationError::TooManyGrants => ApiError::new(
            StatusCode::CONFLICT,
            None,
            "Quota exceeded; cannot add more than 100 client grants to a single organization",
        ),
        OrganizationError::Other(cause) => cause.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and parameters

/// A path's named parameter, percent-decoded (`auth0%7C…` is `auth0|…`).
fn path_param(params: &RawPathParams, name: &str) -> String {
    params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_owned()).unwrap_or_default()
}

/// `{id}` of an organization path, and `{user_id}` or the id of a connection or client grant of
/// the organization (`{connectionId}`, `{connection_id}`, `{grant_id}`) when it names one.
pub(super) struct OrganizationPath {
    pub id: String,
    pub user_id: String,
    pub item: String,
}

impl<S: Send + Sync> FromRequestParts<S> for OrganizationPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid_uri("Path validation error: 'Invalid URI encoding' on property id."))?;
        let item = ["connectionId", "connection_id", "grant_id"]
            .iter()
            .map(|name| path_param(&params, name))
            .find(|v| !v.is_empty());
        Ok(Self {
            id: path_param(&params, "id"),
            user_id: path_param(&params, "user_id"),
            item: item.unwrap_or_default(),
        })
    }
}

/// `page` as these operations declare it (0 to 1000).
const PAGE: Param = Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.")
    .range(Some(0), Some(1000));

/// Auth0 pages offset listings of organizations and members only through their first 1000
/// records (its docs, "Retrieve Organizations" and "Retrieve Organization Members").
const OFFSET_WINDOW: u64 = 1000;

fn check_offset_window(page: &Page) -> ApiResult<()> {
    if page.offset.saturating_add(page.limit) > OFFSET_WINDOW {
        return Err(ApiError::bad_request(
            Some("invalid_paging"),
            "Requesting page exceeds the allowed maximum of 1000 records.",
        ));
    }
    Ok(())
}

const SORT_PATTERN: &str = "^(name|display_name|created_at):(1|-1)$";

fn check_sort(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > 15 {
        return Err(format!("String is too long ({length} chars), maximum 15"));
    }
    if parse_sort(value).is_none() {
        return Err(format!("String does not match pattern {SORT_PATTERN}: {value}"));
    }
    Ok(())
}

fn parse_sort(value: &str) -> Option<OrganizationSort> {
    let (field, order) = value.split_once(':')?;
    let by = match field {
        "name" => OrganizationOrder::Name,
        "display_name" => OrganizationOrder::DisplayName,
        "created_at" => OrganizationOrder::CreatedAt,
        _ => return None,
    };
    let descending = match order {
        "1" => false,
        "-1" => true,
        _ => return None,
    };
    Some(OrganizationSort { by, descending })
}

const LIST_ORGANIZATIONS_PARAMS: &[Param] = &[
    PAGE,
    PER_PAGE,
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    Param::new(
        "sort",
        Type::String,
        "Field to sort by. Use <code>field:order</code> where order is <code>1</code> for ascending and <code>-1</code> for descending. e.g. <code>created_at:1</code>. We currently support sorting by the following fields: <code>name</code>, <code>display_name</code> and <code>created_at</code>.",
    )
    .check(check_sort),
];

/// Member attributes a `fields` list may name.
const MEMBER_FIELDS: &[&str] = &["user_id", "email", "picture", "name", "roles"];

fn check_member_fields(value: &str) -> Result<(), String> {
    if value.split(',').all(|f| MEMBER_FIELDS.contains(&f.trim())) {
        Ok(())
    } else {
        Err(format!(
            "String '{value}' does not match pattern. Must be a comma separated list of the following values: {}",
            MEMBER_FIELDS.join(",")
        ))
    }
}

const LIST_MEMBERS_PARAMS: &[Param] = &[
    PAGE,
    PER_PAGE,
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    Param::new(
        "fields",
        Type::String,
        "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
    )
    .check(check_member_fields),
    Param::new(
        "include_fields",
        Type::Boolean,
        "Whether specified fields are to be included (true) or excluded (false).",
    ),
];

const LIST_MEMBER_ROLES_PARAMS: &[Param] = &[PAGE, PER_PAGE, INCLUDE_TOTALS];

// ---------------------------------------------------------------------------------------------
// Payloads of the member operations

/// `user-id-with-max-length`: a user id, at most 512 characters (Auth0 does not say how many).
fn is_user_id(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= 512
}

/// `role-id`: `rol_` and letters or digits.
fn is_role_id(text: &str) -> bool {
    text.strip_prefix("rol_").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

const USER_ID_ITEM: Schema = Schema::string("").format("user-id-with-max-length", is_user_id);
const ROLE_ID_ITEM: Schema = Schema::string("").format("role-id", is_role_id);

/// `CreateOrganizationMemberRequestContent`; at most 10 members per request (Auth0's docs,
/// "Assign Members to an Organization").
const ADD_MEMBERS: Schema = Schema::object(
    "",
    &[Field {
        name: "members",
        schema: Schema::array("List of user IDs to add to the organization as members.", &USER_ID_ITEM)
            .items_count(Some(1), Some(10)),
    }],
)
.required(&["members"])
.additional(Additional::Allowed);

/// `DeleteOrganizationMembersRequestContent`.
const REMOVE_MEMBERS: Schema = Schema::object(
    "",
    &[Field {
        name: "members",
        schema: Schema::array("List of user IDs to remove from the organization.", &USER_ID_ITEM)
            .items_count(Some(1), None),
    }],
)
.required(&["members"])
.additional(Additional::Allowed);

/// `AssignOrganizationMemberRolesRequestContent`.
const ASSIGN_MEMBER_ROLES: Schema = Schema::object(
    "",
    &[Field {
        name: "roles",
        schema: Schema::array("List of roles IDs to associated with the user.", &ROLE_ID_ITEM)
            .items_count(Some(1), None),
    }],
)
.required(&["roles"]);

/// `DeleteOrganizationMemberRolesRequestContent`.
const REMOVE_MEMBER_ROLES: Schema = Schema::object(
    "",
    &[Field {
        name: "roles",
        schema: Schema::array("List of roles IDs associated with the organization member to remove.", &ROLE_ID_ITEM)
            .items_count(Some(1), None),
    }],
)
.required(&["roles"]);

/// The strings of a validated array property.
fn strings(body: &Map<String, Value>, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Organizations

async fn create_organization(State(app): State<AppState>, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let (organization, connections) = new_organization(&body, time::now())?;
    let enabled = app.store.create_organization(&organization, &connections).await.map_err(organization_error)?;
    let mut answer = organization.to_json();
    // Auth0's creation answer lists them (with each connection's name and strategy); reads of
    // the organization do not.
    if !enabled.is_empty() {
        answer.insert("enabled_connections".into(), enabled.iter().map(|c| c.to_enabled_json()).collect());
    }
    Ok(response::json(StatusCode::CREATED, &answer))
}

async fn list_organizations(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_ORGANIZATIONS_PARAMS)?;
    let render = |organizations: &[Organization]| -> Vec<Value> {
        organizations.iter().map(|o| Value::Object(o.to_json())).collect()
    };
    // With `from` or `take`, checkpoint pagination; go-auth0 sends `include_totals` and
    // `per_page` along, which Auth0 then ignores (TestOrganizationManager_MembersCheckpointPagination).
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        if query.text("sort").is_some() {
            return Err(ApiError::invalid_query(
                "Query validation error: 'sort cannot be combined with from/take; a checkpoint walks the organizations by name'.",
            ));
        }
        let slice = Slice::After { after: checkpoint.after, limit: checkpoint.take };
        let listing = app.store.organizations(OrganizationSort::default(), &slice).await?;
        let next = listing.items.last().filter(|_| listing.more).map(|o| o.name.clone());
        return Ok(Checkpoint::respond("organizations", render(&listing.items), next.as_deref()));
    }
    let page = Page::from_query(&query);
    check_offset_window(&page)?;
    let sort = query.text("sort").and_then(parse_sort).unwrap_or_default();
    let listing = app.store.organizations(sort, &Slice::Page { offset: page.offset, limit: page.limit }).await?;
    Ok(page.respond("organizations", render(&listing.items), listing.total))
}

async fn get_organization(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    let organization = app.store.organization(&path.id).await?.ok_or_else(organization_not_found)?;
    Ok(response::json(StatusCode::OK, &organization.to_json()))
}

async fn organization_by_name(State(app): State<AppState>, params: RawPathParams) -> ApiResult<Response> {
    let name = path_param(&params, "name");
    let organization = app.store.organization_by_name(&name).await?.ok_or_else(organization_not_found)?;
    Ok(response::json(StatusCode::OK, &organization.to_json()))
}

async fn update_organization(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let patch = OrganizationPatch::plan(&body)?;
    let updated = app
        .store
        .update_organization(&path.id, move |organization| patch.apply(organization))
        .await
        .map_err(organization_error)?
        .ok_or_else(organization_not_found)?;
    Ok(response::json(StatusCode::OK, &updated.to_json()))
}

async fn delete_organization(State(app): State<AppState>, path: OrganizationPath) -> ApiResult<Response> {
    if !app.store.delete_organization(&path.id).await? {
        return Err(organization_not_found());
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Members

/// Which member attributes a listing shows. Without `fields`, all but `roles` (Auth0 sends
/// roles only when `fields` names them).
struct MemberProjection {
    shown: Vec<&'static str>,
}

impl MemberProjection {
    fn new(fields: Option<&str>, include: bool) -> Self {
        let named: Vec<&str> = fields.map(|f| f.split(',').map(str::trim).collect()).unwrap_or_default();
        let shown = match (named.is_empty(), include) {
            (true, _) => vec!["user_id", "email", "picture", "name"],
            (false, true) => MEMBER_FIELDS.iter().copied().filter(|f| named.contains(f)).collect(),
            (false, false) => MEMBER_FIELDS.iter().copied().filter(|f| *f != "roles" && !named.contains(f)).collect(),
        };
        Self { shown }
    }

    fn roles(&self) -> bool {
        self.shown.contains(&"roles")
    }

    fn render(&self, member: &Member) -> Value {
        let mut out = Map::new();
        for field in &self.shown {
            let value = match *field {
                "user_id" => Some(Value::from(member.user_id.as_str())),
                "email" => member.email.as_deref().map(Value::from),
                "picture" => member.picture.as_deref().map(Value::from),
                "name" => member.name.as_deref().map(Value::from),
                _ => Some(Value::Array(
                    member.roles.iter().map(|r| serde_json::json!({"id": r.id, "name": r.name})).collect(),
                )),
            };
            if let Some(value) = value {
                out.insert((*field).to_owned(), value);
            }
        }
        Value::Object(out)
    }
}

/// A member cursor travels as `<joined_at>,<user_id>` (as Auth0's own do), base64url-encoded.
fn encode_member_cursor(member: &Member) -> String {
    format!("{},{}", time::format(&member.joined_at), member.user_id)
}

/// The member cursor in `from`, which `Checkpoint` has already base64-decoded to `decoded`.
fn member_cursor(decoded: &str, from: &str) -> ApiResult<MemberCursor> {
    decoded
        .split_once(',')
        .and_then(|(joined_at, user_id)| {
            Some(MemberCursor { joined_at: time::parse(joined_at)?, user_id: user_id.to_owned() })
        })
        .ok_or_else(|| {
            ApiError::invalid_query(format!(
                "Query validation error: 'Invalid cursor: {from}' on property from (Optional Id from which to start selection)."
            ))
        })
}

async fn list_members(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_MEMBERS_PARAMS)?;
    let projection = MemberProjection::new(query.text("fields"), query.boolean("include_fields").unwrap_or(true));
    // The spec: "To use this parameter [fields=roles], you must include the
    // read:organization_member_roles scope in the token."
    if projection.roles() && !caller.has_scope("read:organization_member_roles") {
        return Err(ApiError::insufficient_scope(&["read:organization_member_roles"]));
    }
    let render = |members: &[Member]| -> Vec<Value> { members.iter().map(|m| projection.render(m)).collect() };
    if let Some(checkpoint) = Checkpoint::from_query(&query)? {
        let from = query.text("from").unwrap_or_default();
        let after = checkpoint.after.as_deref().map(|decoded| member_cursor(decoded, from)).transpose()?;
        let slice = Slice::After { after, limit: checkpoint.take };
        let listing =
            app.store.members(&path.id, &slice, projection.roles()).await?.ok_or_else(organization_not_found)?;
        let next = listing.items.last().filter(|_| listing.more).map(encode_member_cursor);
        return Ok(Checkpoint::respond("members", render(&listing.items), next.as_deref()));
    }
    let page = Page::from_query(&query);
    check_offset_window(&page)?;
    let slice = Slice::Page { offset: page.offset, limit: page.limit };
    let listing = app.store.members(&path.id, &slice, projection.roles()).await?.ok_or_else(organization_not_found)?;
    Ok(page.respond("members", render(&listing.items), listing.total))
}

async fn add_members(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ADD_MEMBERS.validate_payload(&body)?;
    app.store.add_members(&path.id, &strings(body, "members"), time::now()).await.map_err(organization_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

async fn remove_members(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = REMOVE_MEMBERS.validate_payload(&body)?;
    app.store.remove_members(&path.id, &strings(body, "members")).await.map_err(organization_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Members' roles

async fn list_member_roles(
    State(app): State<AppState>,
    path: OrganizationPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_MEMBER_ROLES_PARAMS)?;
    let page = Page::from_query(&query);
    let listing =
        app.store.member_roles(&path.id, &path.user_id, page.offset, page.limit).await.map_err(organization_error)?;
    Ok(page.respond("roles", listing.items.iter().map(Role::to_json).collect(), listing.total))
}

async fn assign_member_roles(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = ASSIGN_MEMBER_ROLES.validate_payload(&body)?;
    app.store
        .assign_member_roles(&path.id, &path.user_id, &strings(body, "roles"), time::now())
        .await
        .map_err(organization_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

async fn remove_member_roles(
    State(app): State<AppState>,
    path: OrganizationPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = REMOVE_MEMBER_ROLES.validate_payload(&body)?;
    app.store
        .remove_member_roles(&path.id, &path.user_id, &strings(body, "roles"))
        .await
        .map_err(organization_error)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pagination;

    #[test]
    fn sorts_and_projections() {
        assert_eq!(
            parse_sort("display_name:-1"),
            Some(OrganizationSort { by: OrganizationOrder::DisplayName, descending: true })
        );
        assert!(parse_sort("email:1").is_none() && parse_sort("name:2").is_none());
        assert!(check_sort("display_name:1").is_ok());
        assert_eq!(check_sort("display_name:1000").unwrap_err(), "String is too long (17 chars), maximum 15");
        assert_eq!(MemberProjection::new(Some("user_id,roles"), true).shown, vec!["user_id", "roles"]);
        assert_eq!(MemberProjection::new(Some("name"), false).shown, vec!["user_id", "email", "picture"]);
        assert_eq!(MemberProjection::new(None, false).shown, vec!["user_id", "email", "picture", "name"]);
        assert!(is_role_id("rol_lEh5V8omwZrnZd9o") && !is_role_id("rol_") && !is_role_id("role-1"));
    }

    #[test]
    fn member_cursors_round_trip() {
        let member = Member {
            user_id: "auth0|a,b".into(),
            email: None,
            picture: None,
            name: None,
            joined_at: time::parse("2023-03-14T13:36:13.829Z").unwrap(),
            roles: Vec::new(),
        };
        let from = pagination::encode_cursor(&encode_member_cursor(&member));
        let cursor = member_cursor(&pagination::decode_cursor(&from).unwrap(), &from).unwrap();
        assert_eq!((cursor.joined_at, cursor.user_id.as_str()), (member.joined_at, "auth0|a,b"));
        assert!(member_cursor("no comma", "x").is_err() && member_cursor("yesterday,auth0|a", "x").is_err());
    }
}
