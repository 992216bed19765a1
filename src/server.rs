//! `roster serve`: open the store, set up the tenant, listen, and shut down gracefully.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::token::Issuer;
use crate::seed::{self, Applied};
use crate::tenancy::runtime::{Runtime, RuntimeSettings};
use crate::tenancy::{TenancyConfig, Tenants};
use crate::tenant::{self, TenantSettings};
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
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let store = store::open(&config.database_url).await?;
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    let domain = config.domain.clone().unwrap_or_else(|| local.to_string());
    // A bad certificate or key stops the start here, before anything is served.
    let tls = config.tls.as_ref().map(|setting| crate::tls::load(setting, &domain)).transpose()?;
    let issuer = Issuer::new(&domain);
    let tenant = tenant::bootstrap(store.as_ref(), &config.tenant, &issuer).await?;
    let seeded = match &config.seed {
        Some(path) => Some((path, seed::apply_file(store.as_ref(), &issuer, &domain, path).await?)),
        None => None,
    };
    let settings = RuntimeSettings {
        default_directory: config.default_directory.clone(),
        log_retention_days: config.log_retention_days,
    };
    let tenancy = match &config.admin_key {
        Some(key) => {
            let tenancy = TenancyConfig {
                dir: config.tenants_dir.clone().unwrap_or_else(|| default_tenants_dir(&config.database_url)),
                public_domain: domain.clone(),
                host_base: config.tenant_host_base.clone().unwrap_or_else(|| format!("localhost:{}", local.port())),
                runtime: settings.clone(),
            };
            Some((Tenants::open(tenancy).await?, key.clone()))
        }
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    print_banner(scheme, &local, &config.database_url, &issuer, &tenant.client_id, tenant.generated_secret.as_deref());
    if let Some(trust) = tls.as_ref().and_then(|tls| tls.trust.as_deref()) {
        print_trust(trust);
    }
    if let Some((path, applied)) = seeded {
        print_seeded(path, &applied);
    }
    if tenancy.is_some() {
        println!(
            "admin API on {scheme}://{local}/roster/v1 (docs/TENANTS.md); tenants at {scheme}://{local}/t/<name>/"
        );
    }

    let own = Runtime::start(store, tenant.keys, issuer, &settings, Default::default());
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
    // The peer's address (`ConnectInfo<SocketAddr>`) is what brute-force protection counts
    // failed logins against.
    match tls {
        Some(tls) => {
            let listener = crate::tls::TlsListener::new(listener, tls.config)?;
            axum::serve(listener, crate::tls::MakeWithPeer(router)).with_graceful_shutdown(shutdown_signal()).await
        }
        None => {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await
        }
    }
    .context("server failed")?;
    tracing::info!("shutting down: requests finished, closing the database");
    if let Some(expiry) = expiry {
        expiry.abort();
    }
    if let Some((tenants, _)) = &tenancy {
        tenants.stop_all().await;
    }
    own.stop().await;
    Ok(())
}

/// Beside the SQLite database (`data/roster.db` → `data/roster-tenants/`), else
/// `./roster-tenants`.
fn default_tenants_dir(database_url: &str) -> std::path::PathBuf {
    let path = database_url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest));
    let stem = path.map(std::path::Path::new).and_then(std::path::Path::file_stem).and_then(|s| s.to_str());
    crate::tls::default_dir(database_url).join(format!("{}-tenants", stem.unwrap_or("roster")))
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
