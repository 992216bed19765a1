//! The `roster` command.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use roster::domain::connection::DEFAULT_DATABASE;
use roster::server::{self, ServeConfig};
use roster::tenant::TenantSettings;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "roster", version, about = "Auth0 Management API v2 users, self-hosted")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve(Box<ServeArgs>),
    /// Apply a tenant file to the database, then exit.
    ///
    /// The file holds APIs, clients and grants, connections, roles, organizations and users.
    /// Applying it again changes nothing; a file with any problem is refused whole, each problem
    /// with its line.
    Seed(SeedArgs),
    /// Import users from a file in Auth0's import format (a JSON array; or one user a line),
    /// `-` for stdin. Bad records are reported on stderr (one JSON line each) and written
    /// nowhere; the rest go in, in one transaction.
    Import(ImportArgs),
    /// Export users, one JSON object a line (ndjson) or CSV, to a file or `-` for stdout.
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The users file; `-` reads stdin.
    file: PathBuf,
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db")]
    database_url: String,
    /// The connection to import into (by name).
    #[arg(long, default_value = DEFAULT_DATABASE)]
    connection: String,
    /// Update users that exist (their metadata, names, picture, email_verified) instead of
    /// reporting them.
    #[arg(long)]
    upsert: bool,
    /// HOST[:PORT] the tenant serves, when the import creates the database (as `roster seed`).
    #[arg(long, env = "ROSTER_DOMAIN", default_value = "127.0.0.1:8080")]
    domain: String,
}

#[derive(clap::Args)]
struct ExportArgs {
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db")]
    database_url: String,
    /// ndjson (Auth0's "json" export) or csv.
    #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "json", "csv"])]
    format: String,
    /// Only the users of this connection.
    #[arg(long)]
    connection: Option<String>,
    /// Fields to export, comma-separated, each a path (`user_metadata.plan`,
    /// `identities[0].connection`), optionally `=TITLE`; default: whole users (ndjson) or
    /// the usual profile fields (csv).
    #[arg(long, num_args = 1..)]
    fields: Vec<String>,
    /// At most this many users.
    #[arg(long)]
    limit: Option<u64>,
    /// Where to write; `-` is stdout.
    #[arg(long, short, default_value = "-")]
    output: PathBuf,
}

#[derive(clap::Args)]
struct SeedArgs {
    /// The tenant file (YAML, the Auth0 Deploy CLI's tenant.yaml keys; see docs/SEED.md).
    file: PathBuf,
    /// The database to apply it to, as `roster serve --database-url`.
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db")]
    database_url: String,
    /// HOST[:PORT] the tenant serves (names the Management API audience; `##ROSTER_DOMAIN##`).
    #[arg(long, env = "ROSTER_DOMAIN", default_value = "127.0.0.1:8080")]
    domain: String,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the data lives: sqlite://PATH (created if missing) or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (pool settings: ?max_connections=16&acquire_timeout=30; see docs/DEPLOYMENT.md).
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db")]
    database_url: String,
    /// HOST[:PORT] that token issuers and audiences name [default: the listen address].
    #[arg(long, env = "ROSTER_DOMAIN")]
    domain: Option<String>,
    /// Management client id [default: generated on first start].
    #[arg(long, env = "ROSTER_CLIENT_ID")]
    client_id: Option<String>,
    /// Management client secret [default: generated on first start and printed once].
    #[arg(long, env = "ROSTER_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Whether the Username-Password-Authentication connection requires a username
    /// [default: keep the stored setting; off on a new database].
    #[arg(long, env = "ROSTER_REQUIRES_USERNAME")]
    requires_username: Option<bool>,
    /// A tenant file to apply at start, before serving (as `roster seed FILE`).
    #[arg(long, env = "ROSTER_SEED")]
    seed: Option<PathBuf>,
    /// The connection `grant_type=password` logs users into (Auth0's "Default Directory"); an
    /// empty value sets none, and the password grant then fails as Auth0's does.
    #[arg(long, env = "ROSTER_DEFAULT_DIRECTORY", default_value = DEFAULT_DATABASE)]
    default_directory: String,
    /// Days the tenant's log events (GET /api/v2/logs) are kept; older ones are deleted hourly.
    /// 0 keeps them forever.
    #[arg(long, env = "ROSTER_LOG_RETENTION_DAYS", default_value_t = 30)]
    log_retention_days: u32,
    /// Serve GET /metrics (Prometheus) on this address, and not on --listen; /health and /ready
    /// answer on both [default: /metrics on --listen].
    #[arg(long, env = "ROSTER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log format: text or json.
    #[arg(long, env = "ROSTER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, env = "ROSTER_TLS_CERT", requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ROSTER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate for the domain, localhost and 127.0.0.1,
    /// generated at the first start and kept (in --tls-dir) for the next; the start prints how
    /// to trust it.
    #[arg(long, env = "ROSTER_TLS_SELF_SIGNED")]
    tls_self_signed: bool,
    /// Where --tls-self-signed keeps its certificate and key [default: the SQLite database's
    /// directory, else the working directory].
    #[arg(long, env = "ROSTER_TLS_DIR", requires = "tls_self_signed")]
    tls_dir: Option<PathBuf>,
    /// Turns on the admin API (/roster/v1), which creates, resets and deletes tenants; callers
    /// present this key as a bearer token. Without it there is one tenant and no admin API.
    #[arg(long, env = "ROSTER_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Where tenants' databases live [default: beside the SQLite database, <name>-tenants/].
    #[arg(long, env = "ROSTER_TENANTS_DIR")]
    tenants_dir: Option<PathBuf>,
    /// Tenants are also reached at the host <tenant>.<BASE> [default: localhost:<port>].
    #[arg(long, env = "ROSTER_TENANT_HOST_BASE")]
    tenant_host_base: Option<String>,
}

/// Logging to stderr, as text or JSON lines; `ROSTER_LOG` sets the levels.
fn init_logging<W>(format: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.compact().init();
    }
}

/// The server's logging: a line per request, written to stderr by a thread of its own, which
/// writes whatever lines are waiting at once. Written in place, each line was a system call on
/// the thread serving the request (4% of a GET's CPU time). Lines are never dropped: a request
/// waits if 128k lines are queued. The guard writes the last lines when dropped.
fn init_server_logging(format: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("roster-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    init_logging(format, writer);
    guard
}

/// `roster seed`: the tenant is set up as `roster serve` would set it up (so a file may name
/// its connections and the Management API), then the file is applied.
async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let store = roster::store::open(&args.database_url).await?;
    let issuer = roster::auth::token::Issuer::new(&args.domain);
    let result = async {
        let tenant = roster::tenant::bootstrap(store.as_ref(), &TenantSettings::default(), &issuer).await?;
        if let Some(secret) = tenant.generated_secret {
            println!(
                "new database: management client id {}, secret {secret}   (generated now and shown only once: keep it)",
                tenant.client_id
            );
        }
        roster::seed::apply_file(store.as_ref(), &issuer, &args.domain, &args.file).await
    }
    .await;
    store.close().await;
    server::print_seeded(&args.file, &result?);
    Ok(())
}

/// mimalloc rather than glibc's allocator: a request allocates and frees many small buffers
/// (headers, rows, JSON), and glibc's `malloc`/`free` were ~10% of a GET's CPU in the profile
/// (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            let _log_writer = init_server_logging(&args.log_format);
            let tls = match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(roster::tls::TlsSetting::Files { cert, key }),
                _ if args.tls_self_signed => Some(roster::tls::TlsSetting::SelfSigned {
                    dir: args.tls_dir.unwrap_or_else(|| roster::tls::default_dir(&args.database_url)),
                }),
                _ => None,
            };
            server::serve(ServeConfig {
                listen: args.listen,
                database_url: args.database_url,
                domain: args.domain,
                tenant: TenantSettings {
                    client_id: args.client_id,
                    client_secret: args.client_secret,
                    requires_username: args.requires_username,
                },
                seed: args.seed,
                default_directory: Some(args.default_directory).filter(|name| !name.is_empty()),
                log_retention_days: args.log_retention_days,
                tls,
                admin_key: args.admin_key.filter(|key| !key.is_empty()),
                tenants_dir: args.tenants_dir,
                tenant_host_base: args.tenant_host_base,
                metrics_listen: args.metrics_listen,
            })
            .await
        }
        Command::Seed(args) => {
            init_logging("text", std::io::stderr);
            seed(args).await
        }
        Command::Import(args) => {
            init_logging("text", std::io::stderr);
            let args = roster::jobs::cli::ImportArgs {
                file: args.file,
                database_url: args.database_url,
                connection: Some(args.connection),
                upsert: args.upsert,
                domain: args.domain,
            };
            match roster::jobs::cli::import_command(args).await {
                Ok(true) => Ok(()),
                Ok(false) => return std::process::ExitCode::from(2),
                Err(error) => Err(error),
            }
        }
        Command::Export(args) => {
            init_logging("text", std::io::stderr);
            let format = if args.format == "csv" {
                roster::jobs::export::Format::Csv
            } else {
                roster::jobs::export::Format::Json
            };
            roster::jobs::cli::export_command(roster::jobs::cli::ExportArgs {
                database_url: args.database_url,
                output: args.output,
                format,
                connection: args.connection,
                fields: args.fields,
                limit: args.limit,
            })
            .await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
