//! `roster import` and `roster export`: the jobs' work in the foreground, on a database,
//! with a progress bar on a terminal and plain progress lines otherwise.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use super::export::{Exporter, Field, Format};
use super::import::{Ended, ImportSpec, import_file};
use crate::domain::connection::DEFAULT_DATABASE;

/// Progress on stderr: a bar (counting, as the total is unknown until the end) on a terminal,
/// a line every `every` otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    every: u64,
    next: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} {human_pos} users {msg} ({per_sec})",
                )
                .expect("valid template"),
            );
            bar.set_message(what);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self { bar, what, every: 100_000, next: 100_000.into() }
    }

    fn update(&self, done: u64) {
        use std::sync::atomic::Ordering;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                if done >= self.next.load(Ordering::Relaxed) {
                    self.next.store(done - done % self.every + self.every, Ordering::Relaxed);
                    eprintln!("roster: {done} users {}", self.what);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub struct ImportArgs {
    pub file: PathBuf,
    pub database_url: String,
    pub connection: Option<String>,
    pub upsert: bool,
    /// HOST[:PORT] a new database's tenant serves (as `roster seed --domain`).
    pub domain: String,
}

/// Imports `file` (`-`: stdin), Auth0's import format (a JSON array) or one user a line;
/// prints the summary and the failed records.
pub async fn import_command(args: ImportArgs) -> anyhow::Result<bool> {
    let store = crate::store::open(&args.database_url).await?;
    let result = async {
        // A new database gets its tenant as `roster serve` and `roster seed` make it.
        let issuer = crate::auth::token::Issuer::new(&args.domain);
        let tenant = crate::tenant::bootstrap(store.as_ref(), &Default::default(), &issuer).await?;
        if let Some(secret) = tenant.generated_secret {
            eprintln!(
                "new database: management client id {}, secret {secret}   (generated now and shown only once: keep it)",
                tenant.client_id
            );
        }
        let name = args.connection.as_deref().unwrap_or(DEFAULT_DATABASE);
        let connection = store
            .connection_by_name(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no connection named {name:?} (start `roster serve` once, or seed it)"))?;
        let spec = ImportSpec { connection, upsert: args.upsert, alone: true };
        let stdin_taken = std::sync::atomic::AtomicBool::new(false);
        let open = || -> anyhow::Result<Box<dyn Read + Send>> {
            if args.file.as_os_str() == "-" {
                anyhow::ensure!(
                    !stdin_taken.swap(true, std::sync::atomic::Ordering::SeqCst),
                    "the import must run again (a concurrent write) and stdin cannot be read twice"
                );
                return Ok(Box::new(std::io::stdin()));
            }
            let file = std::fs::File::open(&args.file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
            Ok(Box::new(file))
        };
        let progress = Progress::new("checked");
        let ended = import_file(&store, &open, &spec, &|n| progress.update(n)).await;
        progress.finish();
        ended
    }
    .await;
    store.close().await;
    match result? {
        Ended::BadFile(why) => anyhow::bail!("{why}; nothing was imported"),
        Ended::Done(report) => {
            let mut err = std::io::stderr().lock();
            for (_, failure) in &report.errors {
                writeln!(err, "{failure}")?;
            }
            println!(
                "imported {}: {} inserted, {} updated, {} failed, {} total",
                args.file.display(),
                report.inserted,
                report.updated,
                report.failed,
                report.total
            );
            Ok(report.failed == 0)
        }
    }
}

pub struct ExportArgs {
    pub database_url: String,
    pub output: PathBuf,
    pub format: Format,
    pub connection: Option<String>,
    /// `name` or `name=export_as`.
    pub fields: Vec<String>,
    pub limit: Option<u64>,
}

/// Writes the users to `output` (`-`: stdout), uncompressed.
pub async fn export_command(args: ExportArgs) -> anyhow::Result<()> {
    let store = crate::store::open(&args.database_url).await?;
    let result = async {
        if let Some(name) = &args.connection {
            anyhow::ensure!(store.connection_by_name(name).await?.is_some(), "no connection named {name:?}");
        }
        let fields = args
            .fields
            .iter()
            .flat_map(|list| list.split(','))
            .filter(|f| !f.is_empty())
            .map(|field| match field.split_once('=') {
                Some((name, title)) => Field { name: name.to_owned(), export_as: Some(title.to_owned()) },
                None => Field::new(field),
            })
            .collect();
        let exporter = Exporter::new(args.format, fields);
        let mut out: Box<dyn Write + Send> = if args.output.as_os_str() == "-" {
            Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()))
        } else {
            let file = std::fs::File::create(&args.output)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.output.display()))?;
            Box::new(std::io::BufWriter::with_capacity(1 << 20, file))
        };
        let progress = Progress::new("exported");
        let written = super::export_users(
            &store,
            &exporter,
            args.connection.as_deref(),
            args.limit,
            &mut |bytes| out.write_all(bytes),
            &|n| progress.update(n),
        )
        .await;
        progress.finish();
        out.flush()?;
        let written = written?;
        eprintln!("roster: exported {written} users");
        Ok(())
    }
    .await;
    store.close().await;
    result
}
