//! `/api/v2/users/{id}/organizations`: the organizations a user is a member of.

use axum::Router;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::pagination::{INCLUDE_TOTALS, PER_PAGE, Page};
use super::query::{Param, QueryString};
use crate::app::AppState;
use crate::domain::ids;
use crate::domain::schema::Type;
use crate::error::{ApiError, ApiResult};

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[("GET", "/users/{id}/organizations")];

pub fn router() -> Router<AppState> {
    Router::new().route("/users/{id}/organizations", get(user_organizations))
}

const PARAMS: &[Param] = &[
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.")
        .range(Some(0), Some(1000)),
    PER_PAGE,
    INCLUDE_TOTALS,
];

/// `{"organizations":[…],"start":…,"limit":…,"total":…}` with totals (no `length`), by
/// organization name.
async fn user_organizations(
    State(app): State<AppState>,
    params: RawPathParams,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let id = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned()).unwrap_or_default();
    // Auth0 checks a user id's shape as on the other users paths (`invalid_uri`, its docs,
    // "Retrieve User's Organization Memberships").
    if ids::split_user_id(&id).is_none() {
        return Err(ApiError::invalid_uri(format!(
            "Path validation error: 'String does not match pattern ^.+\\|.+$: {id}' on property id (ID of the user to retrieve the organizations for)."
        )));
    }
    let query = QueryString::parse(raw.as_deref(), PARAMS)?;
    let page = Page::from_query(&query);
    let listing =
        app.store.user_organizations(&id, page.offset, page.limit).await?.ok_or_else(ApiError::user_not_found)?;
    let organizations = listing.items.iter().map(|o| Value::Object(o.to_json())).collect();
    Ok(page.respond("organizations", organizations, listing.total))
}
