//! `POST /users/{id}/risk-assessments/clear`: makes the risk assessors (Auth0's `new-device`)
//! forget what they learned of a user. Roster runs no risk assessment, so there is nothing to
//! forget: the body is checked as Auth0's spec describes it, the user must exist, and the answer
//! is Auth0's 204 with no body (recorded: go-auth0 `TestUserManager_ClearRiskAssessmentAssessors`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

use super::authentication_methods::UserRef;
use super::extract::JsonBody;
use super::response;
use crate::app::AppState;
use crate::domain::connection_admin::{NAME_PATTERN, is_connection_name};
use crate::domain::json_schema::{Field, Schema};
use crate::error::{ApiError, ApiResult};

pub const IMPLEMENTED: &[(&str, &str)] = &[("POST", "/users/{id}/risk-assessments/clear")];

pub fn router() -> Router<AppState> {
    Router::new().route("/users/{id}/risk-assessments/clear", post(clear))
}

const ASSESSOR: Schema = Schema::string("").one_of(&["new-device"]);

/// `ClearAssessorsRequestContent`.
const CLEAR_ASSESSORS: Schema = Schema::object(
    "",
    &[
        Field {
            name: "connection",
            schema: Schema::string("The name of the connection containing the user whose assessors should be cleared.")
                .length(Some(1), Some(128))
                .pattern(NAME_PATTERN, is_connection_name),
        },
        Field {
            name: "assessors",
            schema: Schema::array("List of assessors to clear.", &ASSESSOR).items_count(Some(1), None),
        },
    ],
)
.required(&["connection", "assessors"]);

async fn clear(State(app): State<AppState>, UserRef(id): UserRef, JsonBody(body): JsonBody) -> ApiResult<Response> {
    CLEAR_ASSESSORS.validate_payload(&body)?;
    if app.store.user(&id).await?.is_none() {
        return Err(ApiError::user_not_found());
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}
