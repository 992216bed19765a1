//! `/api/v2/jobs`: users imports (a multipart upload, streamed into the store with no size
//! cap), users exports (whose file this server serves at `/exports/…` until it expires), the
//! verification-email job, a job's state and an import's failed records. The work itself is
//! the job runner's (`crate::jobs`).

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::extract::{BaseUrl, JsonBody};
use super::response;
use crate::app::AppState;
use crate::domain::schema::is_email;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, CHUNK};

pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("POST", "/jobs/users-imports"),
    ("POST", "/jobs/users-exports"),
    ("POST", "/jobs/verification-email"),
    ("GET", "/jobs/{id}"),
    ("GET", "/jobs/{id}/errors"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs/users-imports", post(import_users).layer(DefaultBodyLimit::disable()))
        .route("/jobs/users-exports", post(export_users))
        .route("/jobs/verification-email", post(verification_email))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/errors", get(get_errors))
}

/// The exported files, outside `/api/v2`: their URL (with its random token) is the credential,
/// as Auth0's signed download links are.
pub fn files_router() -> Router<AppState> {
    Router::new().route("/exports/{id}/{token}/{name}", get(download))
}

fn missing(property: &str) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: 'Missing required property: {property}'."))
}

fn job_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, Some("inexistent_job"), "The job does not exist.")
}

fn bad_multipart(error: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(None, format!("Invalid multipart payload: {error}"))
}

/// `con_` and 16 letters or digits, as the spec's pattern says.
fn check_connection_id(id: &str) -> ApiResult<()> {
    let valid =
        id.strip_prefix("con_").is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_body(format!(
            "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{{16}}$: {id}' on property connection_id (connection_id of the connection to which users will be imported)."
        )))
    }
}

async fn connection_named_by(app: &AppState, id: &str) -> ApiResult<crate::domain::connection::Connection> {
    check_connection_id(id)?;
    let record = app
        .store
        .connection_by_id(id)
        .await?
        .ok_or_else(|| ApiError::bad_request(Some("inexistent_connection"), "The connection does not exist."))?;
    Ok(record.connection)
}

fn flag(name: &str, text: &str) -> ApiResult<bool> {
    match text.trim() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        other => Err(ApiError::invalid_body(format!(
            "Payload validation error: 'Expected type boolean but found type string' on property {name}: {other}"
        ))),
    }
}

async fn import_users(State(app): State<AppState>, BaseUrl(base): BaseUrl, request: Request) -> ApiResult<Response> {
    let mut form = Multipart::from_request(request, &app).await.map_err(bad_multipart)?;
    // The job exists, as `uploading` (invisible to the runner), from the file's first chunk.
    let job = jobs::new_job("users_import", "uploading", Map::new());
    let mut uploaded = false;
    let mut fields: Map<String, Value> = Map::new();
    let result: ApiResult<()> = async {
        while let Some(mut field) = form.next_field().await.map_err(bad_multipart)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "users" {
                if uploaded {
                    return Err(ApiError::invalid_body("Payload validation error: 'users' given twice."));
                }
                app.store.create_job(&job).await?;
                uploaded = true;
                let (mut part, mut buffer, mut first) = (0i64, Vec::with_capacity(CHUNK), None);
                while let Some(bytes) = field.chunk().await.map_err(bad_multipart)? {
                    if first.is_none() {
                        first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
                        if first.is_some_and(|b| b != b'[') {
                            return Err(ApiError::bad_request(None, "Users file must be a JSON array of users."));
                        }
                    }
                    buffer.extend_from_slice(&bytes);
                    if buffer.len() >= CHUNK {
                        app.store.put_job_file_part(&job.id, part, std::mem::take(&mut buffer)).await?;
                        part += 1;
                    }
                }
                if first.is_none() {
                    return Err(ApiError::bad_request(None, "Users file must be a JSON array of users."));
                }
                app.store.put_job_file_part(&job.id, part, buffer).await?;
            } else {
                let text = field.text().await.map_err(bad_multipart)?;
                fields.insert(name, Value::String(text));
            }
        }
        Ok(())
    }
    .await;
    let checked: ApiResult<Map<String, Value>> = async {
        result?;
        if !uploaded {
            return Err(missing("users"));
        }
        let connection_id =
            fields.get("connection_id").and_then(Value::as_str).ok_or_else(|| missing("connection_id"))?;
        let connection = connection_named_by(&app, connection_id).await?;
        let mut document = Map::new();
        document.insert("connection_id".into(), json!(connection_id));
        if let Some(external_id) = fields.get("external_id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
            document.insert("external_id".into(), json!(external_id));
        }
        document.insert("connection".into(), json!(connection.name));
        let upsert = flag("upsert", fields.get("upsert").and_then(Value::as_str).unwrap_or(""))?;
        let completion = fields.get("send_completion_email").and_then(Value::as_str).unwrap_or("true");
        flag("send_completion_email", completion)?;
        document.insert("upsert".into(), json!(upsert));
        Ok(document)
    }
    .await;
    let document = match checked {
        Ok(document) => document,
        Err(error) => {
            if uploaded {
                // The upload and its job go: nothing was queued.
                let _ = app.store.delete_job(&job.id).await;
            }
            return Err(error);
        }
    };
    app.store.set_job_document(&job.id, &document).await?;
    let mut queued = app.store.job(&job.id).await?.ok_or_else(job_not_found)?;
    app.store.queue_job(&job.id).await?;
    app.store.job_queued();
    // The answer is the job as queued (Auth0's `pending`), even when a runner took it up
    // before this answer was rendered.
    queued.status = "pending".into();
    Ok(response::json(StatusCode::ACCEPTED, &public(&queued, &base)))
}

/// The job as shown: without what Roster keeps for itself.
fn public(job: &crate::store::jobs::JobRecord, base: &str) -> Value {
    jobs::render(job, base)
}

/// Auth0's limits on CSV exports (its "Bulk user exports" page): at most 30 fields, and the
/// metadata only field by field, not as a whole object.
fn check_csv_fields(fields: &[Value]) -> ApiResult<()> {
    if fields.len() > MAX_CSV_FIELDS {
        return Err(ApiError::invalid_body(format!("CSV exports are limited to {MAX_CSV_FIELDS} fields.")));
    }
    let whole =
        fields.iter().filter_map(|f| f["name"].as_str()).find(|n| matches!(*n, "app_metadata" | "user_metadata"));
    match whole {
        Some(name) => Err(ApiError::invalid_body(format!(
            "CSV exports cannot include {name} as a single object; name its fields ({name}.<field>)."
        ))),
        None => Ok(()),
    }
}

const MAX_CSV_FIELDS: usize = 30;

async fn export_users(
    State(app): State<AppState>,
    BaseUrl(base): BaseUrl,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object but found type array'.")
    })?;
    let invalid = |message: String| ApiError::invalid_body(format!("Payload validation error: '{message}'."));
    for key in body.keys() {
        if !matches!(key.as_str(), "connection_id" | "format" | "limit" | "fields") {
            return Err(invalid(format!("Additional properties not allowed: {key}")));
        }
    }
    let mut document = Map::new();
    let mut connection = None;
    if let Some(id) = body.get("connection_id") {
        let id = id.as_str().ok_or_else(|| {
            invalid(
                "Expected type string but found type ".to_owned()
                    + crate::domain::schema::type_name(id)
                    + " on property connection_id",
            )
        })?;
        connection = Some(connection_named_by(&app, id).await?);
        document.insert("connection_id".into(), json!(id));
    }
    let format = match body.get("format") {
        None => "json",
        Some(Value::String(f)) if f == "json" || f == "csv" => f.as_str(),
        Some(other) => return Err(invalid(format!("No enum match for: {other} on property format"))),
    };
    document.insert("format".into(), json!(format));
    if let Some(limit) = body.get("limit") {
        let limit = limit.as_u64().filter(|l| *l >= 1).ok_or_else(|| {
            invalid(format!("Value {limit} is less than minimum 1 or not an integer on property limit"))
        })?;
        document.insert("limit".into(), json!(limit));
    }
    if let Some(fields) = body.get("fields") {
        let list = fields.as_array().ok_or_else(|| invalid("Expected type array on property fields".into()))?;
        for field in list {
            let object = field.as_object().ok_or_else(|| invalid("Expected type object on property fields".into()))?;
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("Missing required property: name".into()))?;
            for (key, value) in object {
                let valid =
                    matches!(key.as_str(), "name" | "export_as") && value.as_str().is_some_and(|v| v.len() <= 100);
                if !valid {
                    return Err(invalid(format!("Invalid property {key} of field {name}")));
                }
            }
        }
        if format == "csv" {
            check_csv_fields(list)?;
        }
        document.insert("fields".into(), fields.clone());
    }
    if let Some(connection) = connection {
        document.insert("connection".into(), json!(connection.name));
    }
    let job = jobs::new_job("users_export", "pending", document);
    app.store.create_job(&job).await?;
    app.store.job_queued();
    // Auth0 answers 200 here (recorded), not 201.
    Ok(response::json(StatusCode::OK, &public(&job, &base)))
}

async fn verification_email(
    State(app): State<AppState>,
    BaseUrl(base): BaseUrl,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body =
        body.as_object().ok_or_else(|| ApiError::invalid_body("Payload validation error: 'Expected type object'."))?;
    for key in body.keys() {
        if !matches!(key.as_str(), "user_id" | "client_id" | "identity" | "organization_id") {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: 'Additional properties not allowed: {key}'."
            )));
        }
    }
    let user_id = body.get("user_id").and_then(Value::as_str).ok_or_else(|| missing("user_id"))?;
    let user = app.store.user(user_id).await?.ok_or_else(ApiError::user_not_found)?;
    if user.email.as_deref().is_none_or(|email| !is_email(email)) {
        return Err(ApiError::bad_request(None, "The user does not have an email address."));
    }
    let mut document = Map::new();
    document.insert("user_id".into(), json!(user_id));
    if let Some(client_id) = body.get("client_id").and_then(Value::as_str) {
        document.insert("client_id".into(), json!(client_id));
    }
    let job = jobs::new_job("verification_email", "pending", document);
    app.store.create_job(&job).await?;
    app.store.job_queued();
    Ok(response::json(StatusCode::CREATED, &public(&job, &base)))
}

/// A job id as Auth0 makes them; others are refused before any lookup.
fn check_job_id(id: &str) -> ApiResult<()> {
    let valid =
        id.strip_prefix("job_").is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_uri(format!(
            "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{{16}}$: {id}' on property id (The ID of the job.)."
        )))
    }
}

async fn get_job(State(app): State<AppState>, BaseUrl(base): BaseUrl, Path(id): Path<String>) -> ApiResult<Response> {
    check_job_id(&id)?;
    let job = app.store.job(&id).await?.filter(|job| job.status != "uploading").ok_or_else(job_not_found)?;
    Ok(response::json(StatusCode::OK, &public(&job, &base)))
}

async fn get_errors(
    State(app): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check_job_id(&id)?;
    let job = app.store.job(&id).await?.filter(|job| job.status != "uploading").ok_or_else(job_not_found)?;
    if job.status == "failed" {
        return Ok(response::json(StatusCode::OK, &public(&job, &base)));
    }
    let errors = app.store.job_errors(&id).await?;
    if errors.is_empty() {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    }
    Ok(response::json(StatusCode::OK, &errors))
}

async fn download(State(app): State<AppState>, Path((id, token, name)): Path<(String, String, String)>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "Not Found").into_response();
    let Ok(Some(job)) = app.store.job(&id).await else { return not_found() };
    let doc = &job.document;
    let format = doc.get("format").and_then(Value::as_str).unwrap_or("json");
    let valid = job.kind == "users_export"
        && job.status == "completed"
        && doc.get("file_token").and_then(Value::as_str).is_some_and(|t| {
            use subtle::ConstantTimeEq;
            bool::from(t.as_bytes().ct_eq(token.as_bytes()))
        })
        && name == format!("users.{format}.gz")
        && job.expires_at.is_none_or(|at| at > time::now());
    if !valid {
        return not_found();
    }
    // The chunks, one at a time.
    let store = app.store.clone();
    let stream = futures_util::stream::unfold(0i64, move |part| {
        let (store, id) = (store.clone(), id.clone());
        async move {
            match store.job_file_part(&id, part).await {
                Ok(Some(data)) => Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(data)), part + 1)),
                Ok(None) => None,
                Err(error) => Some((Err(std::io::Error::other(error)), i64::MAX)),
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/gzip"), (header::CONTENT_DISPOSITION, "attachment")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
