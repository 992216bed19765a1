//! `/api/v2/logs` and `/api/v2/users/{id}/logs`: the tenant's log events, read back.
//!
//! Listings are a bare array, or with `include_totals` `{start, limit, length, total, logs}`;
//! pages stop at Auth0's 1000-result window; `from` (a log id) and `take` walk the log in log id
//! order. Every read writes out the events still buffered first (`Store::log_event`,
//! `Store::search_logs`), so a client reads its own writes.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::extract::{BaseUrl, UserIdPath};
use super::pagination::DEFAULT_PER_PAGE;
use super::query::{Param, QueryString};
use super::response;
use super::users::check_sort;
use crate::app::AppState;
use crate::domain::schema::Type;
use crate::error::{ApiError, ApiResult};
use crate::search::query::{LogField, Scalar, Target, Test};
use crate::search::{Fields, LogSort, LogWindow, Query, QueryError, parse_in};

pub const IMPLEMENTED: &[(&str, &str)] = &[("GET", "/logs"), ("GET", "/logs/{id}"), ("GET", "/users/{id}/logs")];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logs", get(list_logs))
        .route("/logs/{id}", get(get_log))
        .route("/users/{id}/logs", get(user_logs))
}

/// Auth0 serves only the first 1000 results of a listing or search.
const RESULT_WINDOW: u64 = 1000;

const PAGE: Param =
    Param::new("page", Type::Integer, "Page index of the results to return. First page is 0.").range(Some(0), None);
const SORT: Param = Param::new(
    "sort",
    Type::String,
    "Field to use for sorting appended with <code>:1</code>  for ascending and <code>:-1</code> for descending. e.g. <code>date:-1</code>",
)
.check(check_sort);
const INCLUDE_TOTALS: Param = Param::new(
    "include_totals",
    Type::Boolean,
    "Return results as an array when false (default). Return results inside an object that also contains a total result count when true.",
);

const LIST_LOGS_PARAMS: &[Param] = &[
    PAGE,
    Param::new("per_page", Type::Integer, " Number of results per page. Paging is disabled if parameter not sent. Default: <code>50</code>. Max value: <code>100</code>")
        .range(Some(0), Some(100)),
    SORT,
    Param::new(
        "fields",
        Type::String,
        "Comma-separated list of fields to include or exclude (based on value provided for <code>include_fields</code>) in the result. Leave empty to retrieve all fields.",
    ),
    Param::new(
        "include_fields",
        Type::Boolean,
        "Whether specified fields are to be included (<code>true</code>) or excluded (<code>false</code>)",
    ),
    INCLUDE_TOTALS,
    Param::new("from", Type::String, "Log Event Id from which to start selection from."),
    Param::new(
        "take",
        Type::Integer,
        "Number of entries to retrieve when using the <code>from</code> parameter. Default <code>50</code>, max <code>100</code>",
    )
    .range(Some(1), Some(100)),
    Param::new("q", Type::String, "Query in Lucene query string syntax"),
    Param::new("search", Type::String, "Retrieves logs that match the specified search criteria."),
];

const USER_LOGS_PARAMS: &[Param] = &[
    PAGE,
    Param::new("per_page", Type::Integer, "Number of results per page. Paging is disabled if parameter not sent.")
        .range(Some(1), Some(100)),
    Param::new(
        "sort",
        Type::String,
        "Field to sort by. Use `fieldname:1` for ascending order and `fieldname:-1` for descending.",
    )
    .check(check_sort),
    Param::new(
        "include_totals",
        Type::Boolean,
        "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default).",
    ),
];

fn parse_sort(query: &QueryString) -> ApiResult<Option<LogSort>> {
    let Some((field, order)) = query.text("sort").and_then(|v| v.rsplit_once(':')) else { return Ok(None) };
    LogSort::parse(field, order == "-1").map(Some).ok_or_else(|| {
        ApiError::invalid_query(format!("Query validation error: 'Cannot sort by {field}' on property sort."))
    })
}

/// A page of `filter`'s matches as `query` asks (`page`, `per_page`, `sort`, `include_totals`).
async fn page(
    app: &AppState,
    query: &QueryString,
    filter: Query,
    project: impl Fn(Value) -> Value,
) -> ApiResult<Response> {
    let page = query.integer("page").unwrap_or(0) as u64;
    let per_page = query.integer("per_page").map_or(DEFAULT_PER_PAGE, |n| n as u64);
    if (page + 1).saturating_mul(per_page) > RESULT_WINDOW {
        return Err(ApiError::invalid_query(
            "You can only page through the first 1000 records. See https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api#limitations.",
        ));
    }
    let with_total = query.boolean("include_totals").unwrap_or(false);
    let offset = page * per_page;
    let window = LogWindow::Page { query: filter, sort: parse_sort(query)?, offset, limit: per_page };
    let (events, total) = app.store.search_logs(&window, with_total).await?;
    let logs: Vec<Value> = events.into_iter().map(project).collect();
    if !with_total {
        return Ok(response::json(StatusCode::OK, &logs));
    }
    let body = json!({
        "start": offset,
        "limit": per_page,
        "length": logs.len(),
        "total": total.unwrap_or_default(),
        "logs": logs,
    });
    Ok(response::json(StatusCode::OK, &body))
}

/// `fields`/`include_fields` over a rendered event: names that are not keys of an event are
/// ignored.
fn projection(query: &QueryString) -> impl Fn(Value) -> Value + use<> {
    let fields: Option<Vec<String>> =
        query.text("fields").map(|f| f.split(',').map(|name| name.trim().to_owned()).collect());
    let include = query.boolean("include_fields").unwrap_or(true);
    move |event| match (&fields, event) {
        (Some(fields), Value::Object(map)) => {
            let kept: Map<String, Value> =
                map.into_iter().filter(|(key, _)| fields.iter().any(|f| f == key) == include).collect();
            Value::Object(kept)
        }
        (_, event) => event,
    }
}

async fn list_logs(
    State(app): State<AppState>,
    BaseUrl(base): BaseUrl,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), LIST_LOGS_PARAMS)?;
    let project = projection(&query);
    // A checkpoint: every other parameter is ignored, as Auth0 documents. The `Link` header's
    // `next` continues after the last event given, or is this URL again when none was: Auth0's
    // log exporters follow it.
    if let Some(from) = query.text("from") {
        let take = query.integer("take").map_or(DEFAULT_PER_PAGE, |n| n as u64);
        let window = LogWindow::After { from: from.to_owned(), take };
        let (events, _) = app.store.search_logs(&window, false).await?;
        let last = events.last().and_then(|event| event["log_id"].as_str()).unwrap_or(from);
        let next = serde_urlencoded::to_string([("from", last), ("take", &take.to_string())]).unwrap_or_default();
        let mut answer = response::json(StatusCode::OK, &events);
        if let Ok(link) = HeaderValue::from_str(&format!("<{base}/api/v2/logs?{next}>; rel=\"next\"")) {
            answer.headers_mut().insert(header::LINK, link);
        }
        return Ok(answer);
    }
    let (name, q) = match (query.text("q"), query.text("search")) {
        (Some(q), _) => ("q", Some(q)),
        (None, search) => ("search", search),
    };
    let filter = match q {
        None => Query::All,
        Some(q) => parse_in(q, Fields::Logs).map_err(|QueryError(detail)| {
            ApiError::invalid_query(format!(
                "Query validation error: '{detail}' on property {name} (Query in Lucene query string syntax)."
            ))
        })?,
    };
    page(&app, &query, filter, project).await
}

async fn get_log(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let event = app
        .store
        .log_event(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_log"), "Log not found."))?;
    Ok(response::json(StatusCode::OK, &event))
}

/// A user's events, newest first; a user that does not exist (or no longer does: Auth0 keeps a
/// deleted user's events) has what the log holds for its id, often nothing: `[]`, not a 404.
async fn user_logs(
    State(app): State<AppState>,
    UserIdPath(id): UserIdPath,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = QueryString::parse(raw.as_deref(), USER_LOGS_PARAMS)?;
    let filter = Query::Match(Target::Log(LogField::UserId), Test::Equals(Scalar::Text(id)));
    page(&app, &query, filter, |event| event).await
}
