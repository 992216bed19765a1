//! `/api/v2/users`: create, read, update, delete and list users.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::extract::{JsonBody, UserIdPath};
use super::pagination::DEFAULT_PER_PAGE;
use super::query::{Param, QueryString};
use super::response;
use crate::app::AppState;
use crate::auth::password;
use crate::auth::token::Caller;
use crate::domain::create_user::new_user;
use crate::domain::schema::Type;
use crate::domain::time;
use crate::domain::update_user::UserPatch;
use crate::domain::user::{Projection, Rendered};
use crate::domain::user_schemas::{CREATE_USER, UPDATE_USER};
use crate::error::{ApiError, ApiResult};
use crate::search::query::{Column, IdentityField, Scalar, Target, Test};
use crate::search::{self, QueryError};
use crate::search::{Sort, SortField, UserSearch, Window};
use crate::store::{Conflict, StoreError};

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/users-by-email"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user).patch(update_user).delete(delete_user))
        .route("/users-by-email", get(users_by_email))
}

/// Fields a `fields` list may name (Auth0 refuses others).
const SELECTABLE_FIELDS: &[&str] = &[
    "phone_number",
    "email",
    "email_verified",
    "picture",
    "username",
    "user_id",
    "name",
    "nickname",
    "created_at",
    "identities",
    "app_metadata",
    "user_metadata",
    "last_ip",
    "last_login",
    "logins_count",
    "updated_at",
    "blocked",
    "family_name",
    "given_name",
    "phone_verified",
    "last_password_reset",
    "multifactor",
    "multifactor_last_modified",
];

fn check_fields(value: &str) -> Result<(), String> {
    if value.split(',').all(|f| SELECTABLE_FIELDS.contains(&f.trim())) {
        Ok(())
    } else {
        Err(format!(
            "String '{value}' does not match pattern. Must be a comma separated list of the following values: {}",
            SELECTABLE_FIELDS.join(",")
        ))
    }
}

pub(super) fn check_sort(value: &str) -> Result<(), String> {
    let valid = value.rsplit_once(':').is_some_and(|(field, order)| {
        !field.is_empty()
            && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && (order == "1" || order == "-1")
    });
    if valid { Ok(()) } else { Err(format!("String does not match pattern ^(([a-zA-Z0-9_\\.]+))\\:(1|-1)$: {value}")) }
}

const FIELDS: Param = Param::new(
    "fields",
    Type::String,
    "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
)
.check(check_fields);
const INCLUDE_FIELDS: Param = Param::new(
    "include_fields",
    Type::Boolean,
    "Whether specified fields are to be included (true) or excluded (false).",
);

const GET_USER_PARAMS: &[Param] = &[FIELDS, INCLUDE_FIELDS];

const LIST_USERS_PARAMS: &[Param] = &[
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.").range(Some(0), None),
    Param::new("per_page", Type::Integer, "Number of results per page.").range(Some(0), Some(100)),
    Param::new(
        "include_totals",
        Type::Boolean,
        "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default).",
    ),
    Param::new(
        "sort",
        Type::String,
        "Field to sort by. Use <code>field:order</code> where order is <code>1</code> for ascending and <code>-1</code> for descending. e.g. <code>created_at:1</code>",
    )
    .check(check_sort),
    Param::new(
        "connection",
        Type::String,
        "Connection filter. Only applies when using <code>search_engine=v1</code>. To filter by connection with <code>search_engine=v2|v3</code>, use <code>q=identities.connection:\"connection_name\"</code>",
    ),
    FIELDS,
    INCLUDE_FIELDS,
    Param::new("q", Type::String, "Query in Lucene query string syntax"),
    Param::new("search_engine", Type::String, "The version of the search engine"),
    Param::new(
        "primary_order",
        Type::Boolean,
        "If true (default), results are returned in a deterministic order. If false, results may be returned in a non-deterministic order, which can enhance performance for complex queries targeting a small number of users. Set to false only when consistency is unnecessary.",
    ),
    // Roster's cursor extension (see docs/COMPATIBILITY.md).
    Param::new("from", Type::String, "Cursor from which to continue: the `next` of the previous page"),
    Param::new("take", Type::Integer, "Number of results per page, with from").range(Some(1), Some(100)),
];

const USERS_BY_EMAIL_PARAMS: &[Param] = &[
    Param::new(
        "fields",
        Type::String,
        "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
    )
    .check(check_fields),
    Param::new(
        "include_fields",
        Type::Boolean,
        "Whether specified fields are to be included (true) or excluded (false). Defaults to true.",
    ),
    Param::new("email", Type::String, "Email address to search for (case-sensitive)."),
];

/// Auth0 serves only the first 1000 results of a listing or search.
const RESULT_WINDOW: u64 = 1000;

fn projection(query: &QueryString) -> Projection {
    Projection::new(query.text("fields"), query.boolean("include_fields").unwrap_or(true))
}

async fn create_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = CREATE_USER.validate(&body)?;
    let connection_name = body.get("connection").and_then(Value::as_str).unwrap_or_default();
    let connection = app
        .store
        .connection_by_name(connection_name)
        .await?
        .ok_or_else(|| ApiError::bad_request(Some("inexistent_connection"), "The connection does not exist."))?;
    // Auth0 creates a user only in a connection enabled for the client calling (go-auth0's own
    // tests enable theirs for the management client first). The admin key's console acts for
    // no client.
    if let Some(client_id) = caller.azp.as_deref()
        && !connection.enabled_clients.iter().any(|enabled| enabled == client_id)
    {
        return Err(ApiError::bad_request(
            Some("auth0_idp_error"),
            format!(
                "Connection must be enabled for this client to perform single user creation and signup operations \
                 (client_id: {client_id} - connection: {connection_name})"
            ),
        ));
    }
    let new = new_user(body, &connection, time::now())?;
    let password_hash = match new.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    app.store.create_user(&new.user, password_hash.as_deref()).await.map_err(|error| match error {
        StoreError::Conflict(_) => ApiError::user_exists(),
        StoreError::Other(cause) => cause.into(),
    })?;
    Ok(response::json(StatusCode::CREATED, &new.user.rendered(&Projection::all())))
}

async fn get_user(
    State(app): State<AppState>,
    UserIdPath(id): UserIdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), GET_USER_PARAMS)?;
    let user = app.store.user(&id).await?.ok_or_else(ApiError::user_not_found)?;
    Ok(response::json(StatusCode::OK, &user.rendered(&projection(&query))))
}

/// Payload keys a token may write with only `update:users_app_metadata` or
/// `update:current_user_metadata`.
fn check_partial_update_scope(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    if caller.has_scope("update:users") {
        return Ok(());
    }
    let allowed: &[&str] =
        if caller.has_scope("update:users_app_metadata") { &["app_metadata"] } else { &["user_metadata"] };
    let refused: Vec<&str> = body.keys().map(String::as_str).filter(|k| !allowed.contains(k)).collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            Some("insufficient_scope"),
            format!(
                "Some fields cannot be updated with the permissions granted by the bearer token scopes. The following fields require update:users: {}",
                refused.join(",")
            ),
        ))
    }
}

async fn update_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    UserIdPath(id): UserIdPath,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = UPDATE_USER.validate(&body)?;
    check_partial_update_scope(&caller, body)?;
    let current = app.store.user(&id).await?.ok_or_else(ApiError::user_not_found)?;
    let connection = app
        .store
        .connection_by_name(current.connection())
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {id} belongs to a missing connection")))?;
    let patch = UserPatch::plan(body, &current, &connection)?;
    let password_hash = match patch.password() {
        Some(password) => Some(password::hash(password.to_owned()).await?),
        None => None,
    };
    let now = time::now();
    let updated = app
        .store
        .update_user(&id, password_hash.as_deref(), move |user| patch.apply(user, now))
        .await
        .map_err(|error| match error {
            StoreError::Conflict(Conflict::Email) => {
                ApiError::bad_request(Some("invalid_body"), "The specified new email already exists")
            }
            StoreError::Conflict(Conflict::Username) => {
                ApiError::bad_request(Some("invalid_body"), "The specified new username already exists")
            }
            StoreError::Conflict(_) => {
                ApiError::bad_request(Some("invalid_body"), "The specified new phone_number already exists")
            }
            StoreError::Other(cause) => cause.into(),
        })?
        .ok_or_else(ApiError::user_not_found)?;
    app.search_index.changing(&current);
    Ok(response::json(StatusCode::OK, &updated.rendered(&Projection::all())))
}

/// Deleting a user that does not exist still answers 204, as Auth0 does.
async fn delete_user(State(app): State<AppState>, UserIdPath(id): UserIdPath) -> ApiResult<Response> {
    // A lagging index keeps finding the user for a while (only read when there is a lag).
    let before = if app.search_index.lag_ms() > 0 { app.store.user(&id).await? } else { None };
    if app.store.delete_user(&id).await?
        && let Some(before) = before
    {
        app.search_index.changing(&before);
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}

fn parse_sort(value: Option<&str>) -> ApiResult<Option<Sort>> {
    let Some((field, order)) = value.and_then(|v| v.rsplit_once(':')) else { return Ok(None) };
    let field = SortField::parse(field).ok_or_else(|| {
        ApiError::invalid_query(format!("Query validation error: 'Cannot sort by {field}' on property sort."))
    })?;
    Ok(Some(Sort { field, descending: order == "-1" }))
}

fn search_query(q: Option<&str>) -> ApiResult<search::Query> {
    let Some(q) = q else { return Ok(search::Query::All) };
    search::parse(q).map_err(|QueryError(detail)| {
        ApiError::invalid_query(format!(
            "Query validation error: '{detail}' on property q (Query in Lucene query string syntax)."
        ))
    })
}

/// A search on a tenant that copies Auth0's search-index lag (`lag_ms` > 0) finds only the
/// users created at least that long ago, as Auth0's index would.
fn indexed_only(filter: search::Query, lag_ms: u64) -> search::Query {
    if lag_ms == 0 {
        return filter;
    }
    let cutoff = time::now() - chrono::Duration::milliseconds(lag_ms as i64);
    let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let Some((_, last)) = search::query::period_of(&cutoff) else { return filter };
    let upper = search::query::Bound { value: Scalar::Text(last), inclusive: true };
    let indexed =
        search::Query::Match(Target::Column(Column::CreatedAt), Test::Range { lower: None, upper: Some(upper) });
    search::Query::And(vec![filter, indexed])
}

/// Roster's cursor: the `seq` of the last user returned, base64url-encoded.
fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(seq.to_string())
}

fn decode_cursor(cursor: &str) -> ApiResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| {
            ApiError::invalid_query(format!(
                "Query validation error: 'Invalid cursor: {cursor}' on property from (Cursor from which to continue: the `next` of the previous page)."
            ))
        })
}

async fn list_users(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_USERS_PARAMS)?;
    match query.text("search_engine") {
        None | Some("v3") => {}
        Some("v1") => return Err(ApiError::invalid_query("You are not allowed to use search_engine=v1.")),
        Some("v2") => {
            return Err(ApiError::invalid_query(
                "You are not allowed to use search_engine=v2. Use search_engine=v3 instead.",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: 'No enum match for: \"{other}\"' on property search_engine (The version of the search engine)."
            )));
        }
    }
    let mut filter = search_query(query.text("q"))?;
    let searched = query.text("q").is_some();
    if searched {
        filter = indexed_only(filter, app.search_index.lag_ms());
    }
    if let Some(connection) = query.text("connection") {
        let in_connection = search::Query::Match(
            Target::Identity(IdentityField::Connection),
            Test::Equals(Scalar::Text(connection.to_owned())),
        );
        filter = search::Query::And(vec![filter, in_connection]);
    }
    // A lagging index still holds users changed or deleted within the lag as they were: those
    // versions are matched here, in place of the stored rows, and listed after them.
    let stale = if searched { app.search_index.stale() } else { Vec::new() };
    let stale_matches: Vec<_> =
        stale.iter().filter(|user| search::reference::matches(&filter, user, &[])).cloned().collect();
    if !stale.is_empty() {
        let stored = stale.iter().map(|user| {
            search::Query::Match(Target::Column(Column::UserId), Test::Equals(Scalar::Text(user.user_id.clone())))
        });
        filter = search::Query::And(vec![filter, search::Query::Not(Box::new(search::Query::Or(stored.collect())))]);
    }
    let sort = parse_sort(query.text("sort"))?;
    let cursor_mode = query.text("from").is_some() || query.integer("take").is_some();
    let projection = projection(&query);

    if cursor_mode {
        if let Some(conflicting) =
            ["page", "per_page", "include_totals", "sort"].into_iter().find(|p| query.text(p).is_some())
        {
            return Err(ApiError::invalid_query(format!(
                "Query validation error: '{conflicting} cannot be combined with from/take; a cursor walks the matches in creation order'."
            )));
        }
        let after = query.text("from").map(decode_cursor).transpose()?;
        let limit = query.integer("take").map_or(DEFAULT_PER_PAGE, |n| n as u64);
        let search =
            UserSearch { query: filter, sort: None, window: Window::After { after, limit }, with_total: false };
        let found = app.store.search_users(&search).await?;
        let body = CursorPage { users: render(&found.users, &projection), next: found.next.map(encode_cursor) };
        return Ok(response::json(StatusCode::OK, &body));
    }

    let page = query.integer("page").unwrap_or(0) as u64;
    let per_page = query.integer("per_page").map_or(DEFAULT_PER_PAGE, |n| n as u64);
    if (page + 1).saturating_mul(per_page) > RESULT_WINDOW {
        return Err(ApiError::invalid_query(
            "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation.",
        ));
    }
    let with_total = query.boolean("include_totals").unwrap_or(false);
    let offset = page * per_page;
    let counted = with_total || !stale_matches.is_empty();
    let search =
        UserSearch { query: filter, sort, window: Window::Page { offset, limit: per_page }, with_total: counted };
    let mut found = app.store.search_users(&search).await?;
    let mut total = found.total.unwrap_or_default();
    if !stale_matches.is_empty() {
        // The stale versions follow the stored matches: page on into them.
        let skip = offset.saturating_sub(total) as usize;
        let room = (per_page as usize).saturating_sub(found.users.len());
        found.users.extend(stale_matches.iter().skip(skip).take(room).cloned());
        total += stale_matches.len() as u64;
    }
    let users = render(&found.users, &projection);
    if !with_total {
        return Ok(response::json(StatusCode::OK, &users));
    }
    let body = UsersPage { start: offset, limit: per_page, length: users.len(), users, total };
    Ok(response::json(StatusCode::OK, &body))
}

fn render<'a>(users: &'a [crate::domain::user::User], projection: &'a Projection) -> Vec<Rendered<'a>> {
    users.iter().map(|user| user.rendered(projection)).collect()
}

/// A page of users with its totals, in Auth0's key order.
#[derive(serde::Serialize)]
struct UsersPage<'a> {
    start: u64,
    limit: u64,
    length: usize,
    users: Vec<Rendered<'a>>,
    total: u64,
}

/// A checkpoint page: its users, and where the next starts when more may follow.
#[derive(serde::Serialize)]
struct CursorPage<'a> {
    users: Vec<Rendered<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /users-by-email`: every user whose email is exactly `email` (case-sensitive, as
/// Auth0 documents), in any connection.
async fn users_by_email(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), USERS_BY_EMAIL_PARAMS)?;
    let Some(email) = query.text("email") else {
        return Err(ApiError::invalid_query("Query validation error: 'Missing required property: email'."));
    };
    let found = app.store.users_by_email(email).await?;
    let projection = projection(&query);
    let users = render(&found, &projection);
    Ok(response::json(StatusCode::OK, &users))
}
