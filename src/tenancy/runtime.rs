//! A tenant running: its store, what its requests share (`App`), the work it does in the
//! background (batched log writes, log retention, the job runner) and the router that serves
//! it. `roster serve`'s own tenant and every tenant of the admin API run the same way.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::auth::console::ConsoleSessions;
use crate::auth::keys::KeyRing;
use crate::auth::token::Issuer;
use crate::http;
use crate::store::Store;

/// How often events older than the retention period are deleted.
const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// What every tenant of a server runs with.
#[derive(Debug, Clone, Default)]
pub struct RuntimeSettings {
    /// The connection password grants log into.
    pub default_directory: Option<String>,
    /// Days log events are kept; 0 keeps them forever.
    pub log_retention_days: u32,
    /// Console sign-ins, one registry for the server's tenants (it knows the admin key).
    pub console_sessions: Arc<ConsoleSessions>,
}

pub struct Runtime {
    pub app: Arc<App>,
    pub router: Router,
    /// Taken by `stop`.
    background: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Runtime {
    /// `search_lag_ms`: how long new users stay out of `q` searches (the admin API's
    /// `search_index_lag_ms`; 0 for the server's own tenant). `ops`: the probes and metrics,
    /// which the server's own tenant serves and hosted ones leave to it (`Router::new()`).
    pub fn start(
        store: Arc<Store>,
        keys: KeyRing,
        issuer: Issuer,
        settings: &RuntimeSettings,
        search_lag_ms: Arc<AtomicU64>,
        ops: Router,
    ) -> Self {
        // Log events are written in batches by one task (store/logs.rs).
        let log_writer = tokio::spawn({
            let store = store.clone();
            async move {
                loop {
                    store.log_recorded().await;
                    let _ = store.flush_logs().await;
                }
            }
        });
        // Jobs (imports, exports): one at a time; an interrupted one runs again.
        let mut background = vec![log_writer, crate::jobs::spawn_runner(store.clone())];
        if settings.log_retention_days > 0 {
            background.push(spawn_retention(store.clone(), settings.log_retention_days));
        }
        let app = Arc::new(App {
            store,
            keys,
            issuer,
            verified_tokens: Default::default(),
            default_directory: settings.default_directory.clone(),
            search_lag_ms,
            console_sessions: settings.console_sessions.clone(),
        });
        Self { router: http::router(app.clone(), ops), app, background: std::sync::Mutex::new(background) }
    }

    /// Stops the background work (and waits until it has stopped, so nothing of it writes
    /// after the close), writes the log events recorded and closes the store. A job cut short
    /// here wrote nothing (its writes commit with its outcome): it runs again.
    pub async fn stop(&self) {
        let background = std::mem::take(&mut *self.background.lock().unwrap_or_else(|e| e.into_inner()));
        for task in &background {
            task.abort();
        }
        for task in background {
            let _ = task.await;
        }
        let _ = self.app.store.flush_logs().await;
        self.app.store.close().await;
    }
}

/// Retention: at start, then hourly. Each node of a PostgreSQL deployment does it; the deletes
/// are idempotent.
fn spawn_retention(store: Arc<Store>, days: u32) -> JoinHandle<()> {
    let days = i64::from(days);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(RETENTION_INTERVAL);
        loop {
            interval.tick().await;
            let cutoff = crate::domain::time::now() - chrono::Duration::days(days);
            match store.delete_logs_before(cutoff).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, days, "deleted log events older than the retention period"),
                Err(error) => tracing::error!(error = %format!("{error:#}"), "log retention failed"),
            }
        }
    })
}
