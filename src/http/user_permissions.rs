//! `/api/v2/users/{id}/permissions`.

use axum::Router;

use crate::app::AppState;

/// The operations this module serves, as (method, path under /api/v2) of the scope table.
pub const IMPLEMENTED: &[(&str, &str)] = &[];

pub fn router() -> Router<AppState> {
    Router::new()
}
