//! What operators and orchestrators ask of the process: `/health` (alive), `/ready` (serving
//! the API), `/metrics` (Prometheus). They answer from the first moment the server listens,
//! while start-up work (migrations, the tenant, a tenant file) is still under way, and without
//! a token, as load balancers ask.

use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::metrics::{self, metrics};
use crate::store::Store;

/// The process's start-up, as the probes see it.
#[derive(Default)]
pub struct Ops {
    /// The start-up step under way; `None` once serving the API.
    step: Mutex<Option<&'static str>>,
    store: OnceLock<Arc<Store>>,
}

pub type OpsState = Arc<Ops>;

impl Ops {
    pub fn starting(step: &'static str) -> OpsState {
        Arc::new(Self { step: Mutex::new(Some(step)), store: OnceLock::new() })
    }

    /// The start-up step now under way.
    pub fn step(&self, step: &'static str) {
        *self.step.lock().unwrap_or_else(|e| e.into_inner()) = Some(step);
    }

    pub fn store_opened(&self, store: Arc<Store>) {
        let _ = self.store.set(store);
    }

    /// Start-up is over: the API is served.
    pub fn started(&self) {
        *self.step.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn current_step(&self) -> Option<&'static str> {
        *self.step.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `/health` and `/ready`, and `/metrics` where `with_metrics` (it may have a listener of its
/// own).
pub fn router(ops: OpsState, with_metrics: bool) -> Router {
    let router = Router::new().route("/health", get(health)).route("/ready", get(ready));
    let router = if with_metrics { router.route("/metrics", get(scrape)) } else { router };
    router.with_state(ops)
}

/// Alive: the process answers, and once the database is open, the database does too.
async fn health(State(ops): State<OpsState>) -> Response {
    let Some(store) = ops.store.get() else { return Json(json!({"status": "starting"})).into_response() };
    match store.ping().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}

/// Ready for traffic: start-up finished, the database answers and has every migration.
async fn ready(State(ops): State<OpsState>) -> Response {
    let reason = match (ops.current_step(), ops.store.get()) {
        (Some(step), _) => Some(format!("starting: {step}")),
        (None, Some(store)) => store.unready().await,
        (None, None) => Some("starting".to_owned()),
    };
    match reason {
        None => Json(json!({"status": "ready"})).into_response(),
        Some(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": reason}))).into_response()
        }
    }
}

async fn scrape(State(ops): State<OpsState>) -> Response {
    let store = ops.store.get();
    let jobs = match store {
        Some(store) => store.job_counts().await.unwrap_or_else(|error| {
            tracing::warn!(error = %format!("{error:#}"), "metrics: cannot count jobs");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let text = metrics().render(store.map(|store| store.pool_use()), jobs).await;
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
