//! `roster serve`: open the store, set up the tenant, listen, and shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::token::Issuer;
use crate::http::ops::Ops;
use crate::seed::{self, Applied};
use crate::tenant::{self, TenantSettings};
use crate::tls::{Handover, MakeWithPeer};
use crate::{http, store};

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    /// `HOST[:PORT]` tokens and audiences name; defaults to the listen address.
    pub domain: Option<String>,
    pub tenant: TenantSettings,
    /// A tenant file to apply after the tenant is set up and before serving.
    pub seed: Option<std::path::PathBuf>,
    /// The connection password grants log into.
    pub default_directory: Option<String>,
    /// Days log events are kept; 0 keeps them forever.
    pub log_retention_days: u32,
    /// Serve HTTPS with this certificate instead of plain HTTP.
    pub tls: Option<crate::tls::TlsSetting>,
    /// Serve `/metrics` (and the probes) on this address, and `/metrics` nowhere else.
    pub metrics_listen: Option<SocketAddr>,
}

/// How often events older than the retention period are deleted.
const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    // Listen first: probes and metrics answer while start-up work runs (`/ready` says which).
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    let ops = Ops::starting("opening the database");
    let metrics_server = match config.metrics_listen {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--metrics-listen)"))?;
            let router = http::ops::router(ops.clone(), true);
            Some(tokio::spawn(async move { axum::serve(listener, router).await }))
        }
        None => None,
    };
    let domain = config.domain.clone().unwrap_or_else(|| local.to_string());
    // A bad certificate or key stops the start here, before anything is served.
    let tls = config.tls.as_ref().map(|setting| crate::tls::load(setting, &domain)).transpose()?;
    let ops_routes = http::ops::router(ops.clone(), config.metrics_listen.is_none());
    let routers = Handover { starting: ops_routes.clone().fallback(starting), full: Default::default() };
    let mut server = {
        let service = MakeWithPeer(routers.clone());
        let tls_config = tls.as_ref().map(|tls| tls.config.clone());
        tokio::spawn(async move {
            match tls_config {
                Some(config) => {
                    let listener = crate::tls::TlsListener::new(listener, config)?;
                    axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await
                }
                None => axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await,
            }
        })
    };
    // A signal during start-up stops it where it is, as it stopped a server not yet listening:
    // what it wrote is committed or not, and the next start does the rest.
    let Started { store, issuer, tenant, seeded } = tokio::select! {
        started = start_up(&config, &domain, &ops) => started?,
        ended = &mut server => {
            ended.context("server task failed")?.context("server failed")?;
            tracing::info!("stopped during start-up");
            return Ok(());
        }
    };
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
    // Retention: at start, then hourly. Each node of a PostgreSQL deployment does it; the
    // deletes are idempotent.
    let retention = (config.log_retention_days > 0).then(|| {
        let store = store.clone();
        let days = i64::from(config.log_retention_days);
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
    });
    // Jobs (imports, exports): one at a time, in the background; an interrupted one runs again.
    let job_runner = crate::jobs::spawn_runner(store.clone());
    let app = Arc::new(App {
        store: store.clone(),
        keys: tenant.keys,
        issuer: issuer.clone(),
        verified_tokens: Default::default(),
        default_directory: config.default_directory.clone(),
    });
    let mut router = http::router(app, ops_routes);
    if tls.is_some() {
        // Over TLS every request is https: the URLs Roster renders (a job's `location`) and its
        // cookies' `Secure` follow `X-Forwarded-Proto`, as behind a TLS-terminating proxy.
        router = router.layer(axum::middleware::map_request(|mut request: axum::extract::Request| async move {
            request.headers_mut().insert("x-forwarded-proto", axum::http::HeaderValue::from_static("https"));
            request
        }));
    }
    // The peer's address (`ConnectInfo<SocketAddr>`, set by `MakeWithPeer`) is what
    // brute-force protection counts failed logins against.
    let _ = routers.full.set(router);
    ops.started();
    tracing::info!("start-up finished: serving the API");
    // Printed once the API is served: whoever waits for the banner may call it at once.
    let scheme = if tls.is_some() { "https" } else { "http" };
    print_banner(scheme, &local, &config.database_url, &issuer, &tenant.client_id, tenant.generated_secret.as_deref());
    if let Some(trust) = tls.as_ref().and_then(|tls| tls.trust.as_deref()) {
        print_trust(trust);
    }
    if let (Some(path), Some(applied)) = (&config.seed, &seeded) {
        print_seeded(path, applied);
    }

    server.await.context("server task failed")?.context("server failed")?;
    tracing::info!("shutting down: requests finished, closing the database");
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    log_writer.abort();
    // A job cut short here wrote nothing (its writes commit with its outcome): it runs again.
    job_runner.abort();
    let _ = job_runner.await;
    if let Some(retention) = retention {
        retention.abort();
    }
    // Events recorded by the last requests.
    let _ = store.flush_logs().await;
    store.close().await;
    Ok(())
}

struct Started {
    store: Arc<store::Store>,
    issuer: Issuer,
    tenant: tenant::Tenant,
    seeded: Option<Applied>,
}

/// The database opened (and migrated), the tenant set up, the tenant file applied; each step
/// is what `/ready` names while it runs.
async fn start_up(config: &ServeConfig, domain: &str, ops: &Ops) -> anyhow::Result<Started> {
    let store = store::open(&config.database_url).await?;
    ops.store_opened(store.clone());
    ops.step("setting up the tenant");
    let issuer = Issuer::new(domain);
    let tenant = tenant::bootstrap(store.as_ref(), &config.tenant, &issuer).await?;
    crate::metrics::metrics().set_tenants(1);
    let seeded = match &config.seed {
        Some(path) => {
            ops.step("applying the tenant file");
            Some(seed::apply_file(store.as_ref(), &issuer, domain, path).await?)
        }
        None => None,
    };
    Ok(Started { store, issuer, tenant, seeded })
}

/// Everything but the probes while start-up work runs: 503, in Auth0's error shape.
async fn starting() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        Some("starting"),
        "The server is starting; GET /ready says when it serves.",
    )
}

/// How to call the server, printed on stdout at start. A generated client secret is shown
/// this once; a configured one is never echoed (the curl line reads it from the environment).
fn print_banner(
    scheme: &str,
    local: &SocketAddr,
    database_url: &str,
    issuer: &Issuer,
    client_id: &str,
    generated_secret: Option<&str>,
) {
    let base = format!("{scheme}://{local}");
    println!("roster listening on {base} (database {})", store::display_url(database_url));
    println!("management client id:     {client_id}");
    let secret_json = match generated_secret {
        Some(secret) => {
            println!("management client secret: {secret}   (generated now and shown only once: keep it)");
            secret.to_owned()
        }
        None => {
            println!("management client secret: not shown; the curl line reads it from $ROSTER_CLIENT_SECRET");
            "'\"$ROSTER_CLIENT_SECRET\"'".to_owned()
        }
    };
    println!("get a token and list users:");
    println!(
        "  TOKEN=$(curl -s {base}/oauth/token -H 'content-type: application/json' -d '{{\"grant_type\":\"client_credentials\",\"client_id\":\"{client_id}\",\"client_secret\":\"{secret_json}\",\"audience\":\"{}\"}}' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/') && curl -s {base}/api/v2/users -H \"authorization: Bearer $TOKEN\"",
        issuer.management_audience
    );
}

/// Where the self-signed certificate is and how clients trust it, on stdout.
fn print_trust(cert: &std::path::Path) {
    let path = std::fs::canonicalize(cert).unwrap_or_else(|_| cert.to_path_buf());
    let path = path.display();
    println!("TLS certificate (self-signed, kept across restarts): {path}");
    println!("trust it: NODE_EXTRA_CA_CERTS={path} (node), REQUESTS_CA_BUNDLE={path} (python requests),");
    println!("          SSL_CERT_FILE={path} (python httpx/ssl, Go, curl), curl --cacert {path}");
}

/// What applying a tenant file did, on stdout; secrets generated for new clients are shown
/// this once.
pub fn print_seeded(path: &std::path::Path, applied: &Applied) {
    println!(
        "tenant file {}: {} created, {} updated, {} unchanged; {} assignment lists changed",
        path.display(),
        applied.created,
        applied.updated,
        applied.unchanged,
        applied.assignments
    );
    for (name, client_id, secret) in &applied.generated_secrets {
        println!("  client {name:?}: id {client_id}, secret {secret}   (generated now and shown only once: keep it)");
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
