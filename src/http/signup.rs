//! `POST /dbconnections/signup`: a user signs up to a database connection through an
//! application. Auth0 answers 200 with the new user's identifiers (`_id` without the `auth0|`
//! prefix), and refuses in its older error shape, `{name, code, description, statusCode}`
//! (recorded, go-auth0 `TestDatabaseSignUp*`).

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::oauth::token_request;
use super::response;
use crate::app::{App, AppState};
use crate::auth::oauth::TokenRequest;
use crate::auth::password;
use crate::domain::connection::ConnectionKind;
use crate::domain::create_user::new_user;
use crate::domain::log_event::kind;
use crate::domain::time;
use crate::domain::user_schemas::CREATE_USER;
use crate::error::ApiError;
use crate::store::StoreError;

/// The attributes a signup may set; the rest of the body is ignored.
const SIGNUP_ATTRIBUTES: &[&str] = &[
    "email",
    "password",
    "username",
    "phone_number",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "user_metadata",
];

/// A refused signup, in the Authentication API's older error shape.
struct Refusal {
    status: StatusCode,
    name: &'static str,
    code: Cow<'static, str>,
    description: String,
}

impl Refusal {
    fn bad_request(code: impl Into<Cow<'static, str>>, description: impl Into<String>) -> Self {
        let (code, description) = (code.into(), description.into());
        Self { status: StatusCode::BAD_REQUEST, name: "BadRequestError", code, description }
    }

    fn render(&self) -> Response {
        response::json(
            self.status,
            &json!({"name": self.name, "code": self.code, "description": self.description, "statusCode": self.status.as_u16()}),
        )
    }
}

impl From<ApiError> for Refusal {
    /// A profile the connection's rules refuse: the password policy's words as Auth0's
    /// `PasswordStrengthError`, the others as a bad request with the rule's message.
    fn from(error: ApiError) -> Self {
        let message = error.message.into_owned();
        match message.strip_prefix("PasswordStrengthError: ") {
            Some(rest) => Self { name: "PasswordStrengthError", ..Self::bad_request("invalid_password", rest) },
            None if error.status.is_server_error() => Self {
                status: error.status,
                name: "InternalServerError",
                code: "server_error".into(),
                description: message,
            },
            None => Self::bad_request("invalid_signup", message),
        }
    }
}

impl From<anyhow::Error> for Refusal {
    fn from(error: anyhow::Error) -> Self {
        ApiError::from(error).into()
    }
}

pub(super) async fn signup(State(app): State<AppState>, request: Request) -> Response {
    let request = match token_request(request).await {
        Ok(request) => request,
        Err(error) => return Refusal::bad_request(error.error, error.error_description).render(),
    };
    let outcome = create(&app, &request).await;
    let mut event = request.log_event(if outcome.is_ok() { kind::SUCCESS_SIGNUP } else { kind::FAILED_SIGNUP }, None);
    event.connection = request.field("connection").map(str::to_owned);
    event.user_name = request.field("email").or(request.field("username")).map(str::to_owned);
    match outcome {
        Ok(body) => {
            event.user_id = body.get("_id").and_then(Value::as_str).map(|id| format!("auth0|{id}"));
            event.strategy = Some("auth0".into());
            event.strategy_type = Some("database".into());
            app.store.log(event);
            response::json(StatusCode::OK, &body)
        }
        Err(refusal) => {
            event.description = Some(refusal.description.clone());
            app.store.log(event);
            refusal.render()
        }
    }
}

/// A signup's `user_metadata` is narrower than the Management API's: an object of at most 10
/// string fields, names of at most 100 characters, values of at most 500 (Auth0's signup
/// reference). Refused with the code and description alike, as Auth0 answers the two it is
/// recorded refusing (auth0.js issue #843, react-native-auth0 issue #291); the other wordings
/// are Roster's.
fn check_signup_metadata(metadata: &Value) -> Result<(), Refusal> {
    let refuse = |message: String| Err(Refusal::bad_request(message.clone(), message));
    let Some(fields) = metadata.as_object() else {
        return refuse("invalid user_metadata type (expected object)".into());
    };
    if fields.len() > MAX_SIGNUP_METADATA_FIELDS {
        return refuse(format!("invalid user_metadata (at most {MAX_SIGNUP_METADATA_FIELDS} fields are allowed)"));
    }
    for (name, value) in fields {
        let Some(text) = value.as_str() else {
            return refuse(format!("invalid user_metadata.{name} type (only strings are allowed)"));
        };
        if name.chars().count() > MAX_SIGNUP_METADATA_NAME {
            return refuse(format!("invalid user_metadata field name (at most {MAX_SIGNUP_METADATA_NAME} characters)"));
        }
        if text.chars().count() > MAX_SIGNUP_METADATA_VALUE {
            return refuse(format!(
                "invalid user_metadata.{name} value (at most {MAX_SIGNUP_METADATA_VALUE} characters)"
            ));
        }
    }
    Ok(())
}

const MAX_SIGNUP_METADATA_FIELDS: usize = 10;
const MAX_SIGNUP_METADATA_NAME: usize = 100;
const MAX_SIGNUP_METADATA_VALUE: usize = 500;

async fn create(app: &App, request: &TokenRequest) -> Result<Map<String, Value>, Refusal> {
    let client_id = request.required("client_id").map_err(|e| Refusal::bad_request(e.error, e.error_description))?;
    let client = app.store.client_record(client_id).await?.ok_or_else(|| Refusal {
        status: StatusCode::UNAUTHORIZED,
        name: "UnauthorizedError",
        ..Refusal::bad_request("unauthorized", "Unknown client.")
    })?;
    let name = request.required("connection").map_err(|e| Refusal::bad_request(e.error, e.error_description))?;
    let connection = app
        .store
        .connection_by_name(name)
        .await?
        .filter(|c| c.kind() == ConnectionKind::Database && c.enabled_clients.contains(&client.client_id))
        .ok_or_else(|| Refusal::bad_request("invalid_connection", "Connection does not exist"))?;
    if connection.options.get("disable_signup") == Some(&Value::Bool(true)) {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            ..Refusal::bad_request("operation_not_allowed", "Signups are not allowed for this connection")
        });
    }
    let mut body: Map<String, Value> = request
        .fields
        .iter()
        .filter(|(key, value)| SIGNUP_ATTRIBUTES.contains(&key.as_str()) && !value.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(metadata) = body.get("user_metadata") {
        check_signup_metadata(metadata)?;
    }
    body.insert("connection".into(), Value::String(connection.name.clone()));
    let body = Value::Object(body);
    let body = CREATE_USER.validate(&body)?;
    let new = new_user(body, &connection, time::now())?;
    let password_hash = match new.password {
        Some(password) => Some(password::hash(password).await?),
        None => None,
    };
    app.store.create_user(&new.user, password_hash.as_deref()).await.map_err(|error| match error {
        // Auth0 does not say which identifier is taken (no account enumeration).
        StoreError::Conflict(_) => Refusal::bad_request("invalid_signup", "Invalid sign up"),
        StoreError::Other(cause) => cause.into(),
    })?;
    let user = new.user;
    let mut answer = Map::new();
    let id = user.user_id.split_once('|').map_or(user.user_id.as_str(), |(_, id)| id);
    answer.insert("_id".into(), json!(id));
    if let Some(email) = &user.email {
        answer.insert("email".into(), json!(email));
    }
    if let Some(username) = &user.username {
        answer.insert("username".into(), json!(username));
    }
    if user.email.is_some() {
        answer.insert("email_verified".into(), json!(user.email_verified.unwrap_or(false)));
    }
    if let Some(phone) = &user.phone_number {
        answer.insert("phone_number".into(), json!(phone));
        answer.insert("phone_verified".into(), json!(user.phone_verified.unwrap_or(false)));
    }
    Ok(answer)
}
