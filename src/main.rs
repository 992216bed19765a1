//! The `roster` command.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
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
    Serve(ServeArgs),
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
    /// Log format: text or json.
    #[arg(long, env = "ROSTER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

fn init_logging(format: &str) {
    let filter = EnvFilter::try_from_env("ROSTER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.compact().init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            init_logging(&args.log_format);
            server::serve(ServeConfig {
                listen: args.listen,
                database_url: args.database_url,
                domain: args.domain,
                tenant: TenantSettings {
                    client_id: args.client_id,
                    client_secret: args.client_secret,
                    requires_username: args.requires_username,
                },
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
