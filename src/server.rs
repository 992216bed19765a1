//! `roster serve`: open the store, set up the tenant, listen, and shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::console::ConsoleSessions;
use crate::auth::token::Issuer;
use crate::http::ops::Ops;
use crate::seed::{self, Applied};
use crate::tenancy::runtime::{Runtime, RuntimeSettings};
use crate::tenancy::{TenancyConfig, Tenants};
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
    /// Turns the admin API (and the tenants it creates) on.
    pub admin_key: Option<String>,
    /// Where tenants' databases live.
    pub tenants_dir: Option<std::path::PathBuf>,
    /// Tenants are also reached at `<name>.<host base>`.
    pub tenant_host_base: Option<String>,
    /// Serve `/metrics` (and the probes) on this address, and `/metrics` nowhere else.
    pub metrics_listen: Option<SocketAddr>,
}

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
    let Started { store, issuer, tenant, seeded, settings, tenancy } = tokio::select! {
        started = start_up(&config, &domain, local, &ops) => started?,
        ended = &mut server => {
            ended.context("server task failed")?.context("server failed")?;
            tracing::info!("stopped during start-up");
            return Ok(());
        }
    };
    let own = Runtime::start(store, tenant.keys, issuer.clone(), &settings, Default::default(), ops_routes);
    let mut router = own.router.clone();
    let mut expiry = None;
    if let Some((tenants, key)) = &tenancy {
        expiry = Some(tenants.spawn_expiry());
        router = http::tenants::router(router, tenants.clone(), key.clone());
    }
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
    if tenancy.is_some() {
        println!(
            "admin API on {scheme}://{local}/roster/v1 (docs/TENANTS.md); tenants at {scheme}://{local}/t/<name>/"
        );
    }

    server.await.context("server task failed")?.context("server failed")?;
    tracing::info!("shutting down: requests finished, closing the database");
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    if let Some(expiry) = expiry {
        expiry.abort();
    }
    if let Some((tenants, _)) = &tenancy {
        tenants.stop_all().await;
    }
    own.stop().await;
    Ok(())
}

struct Started {
    store: Arc<store::Store>,
    issuer: Issuer,
    tenant: tenant::Tenant,
    seeded: Option<Applied>,
    settings: RuntimeSettings,
    /// The hosted tenants and the admin key, when there is an admin API.
    tenancy: Option<(Arc<Tenants>, String)>,
}

/// The database opened (and migrated), the tenant set up, the tenant file applied; each step
/// is what `/ready` names while it runs.
async fn start_up(config: &ServeConfig, domain: &str, local: SocketAddr, ops: &Ops) -> anyhow::Result<Started> {
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
    let settings = RuntimeSettings {
        default_directory: config.default_directory.clone(),
        log_retention_days: config.log_retention_days,
        console_sessions: Arc::new(ConsoleSessions::new(config.admin_key.as_deref())),
    };
    let tenancy = match &config.admin_key {
        Some(key) => {
            ops.step("serving the hosted tenants");
            let tenancy = TenancyConfig {
                database_url: config.database_url.clone(),
                dir: config.tenants_dir.clone().unwrap_or_else(|| default_tenants_dir(&config.database_url)),
                public_domain: domain.to_owned(),
                host_base: config.tenant_host_base.clone().unwrap_or_else(|| format!("localhost:{}", local.port())),
                runtime: settings.clone(),
            };
            Some((Tenants::open(tenancy).await?, key.clone()))
        }
        None => None,
    };
    Ok(Started { store, issuer, tenant, seeded, settings, tenancy })
}

/// Beside the SQLite database (`data/roster.db` → `data/roster-tenants/`), else
/// `./roster-tenants`.
fn default_tenants_dir(database_url: &str) -> std::path::PathBuf {
    let path = database_url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest));
    let stem = path.map(std::path::Path::new).and_then(std::path::Path::file_stem).and_then(|s| s.to_str());
    crate::tls::default_dir(database_url).join(format!("{}-tenants", stem.unwrap_or("roster")))
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
