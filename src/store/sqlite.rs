//! SQLite, the embedded engine: one file in WAL mode, `synchronous=FULL`.
//!
//! Reads go through a pool of read-only connections. Writes go through one connection owned by
//! the group-commit writer: it takes every write job waiting, runs each in a savepoint of its
//! own inside one transaction, commits them with one fsync and only then answers them. A job
//! that fails rolls back to its savepoint alone; its neighbours commit. Times are stored as ISO
//! text with milliseconds (which sorts as time does) and JSON as text.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, ConnectOptions, Connection, Executor, Row};
use tokio::sync::{mpsc, oneshot};

use super::db::{Answer, Conn, Done, Job, Value};
use crate::domain::time::{self, Timestamp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Jobs committed together at most, which bounds how long the first of them waits.
const MAX_BATCH: usize = 256;

enum Message {
    Job(Job),
    /// Finish, fold the WAL into the main file and close; answer when done.
    Close(oneshot::Sender<()>),
}

pub(crate) struct SqliteDb {
    read: SqlitePool,
    writer: mpsc::Sender<Message>,
    commits: Arc<AtomicU64>,
}

impl SqliteDb {
    /// Opens (creating and migrating) the database, then runs `prepare` on the write
    /// connection before any other write.
    pub async fn open(
        database_url: &str,
        prepare: impl AsyncFnOnce(Conn<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        if database_url.contains(":memory:") || database_url.contains("mode=memory") {
            anyhow::bail!("an in-memory SQLite database would lose every write; give a file path (sqlite://roster.db)");
        }
        let options = SqliteConnectOptions::from_str(database_url)
            .with_context(|| format!("invalid SQLite URL {database_url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // PostgreSQL's byte order, by the name the shared SQL uses for it.
            .collation("C", |a: &str, b: &str| a.as_bytes().cmp(b.as_bytes()));
        let mut write =
            options.connect().await.with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
        MIGRATOR.run_direct(None, &mut write, false).await.map_err(describe_migration_error)?;
        prepare(Conn::Sqlite(&mut write)).await?;
        // Gives the query planner statistics (bounded work; only tables that need them), so
        // that it picks the selective index for a search rather than the first one it sees.
        write.execute("PRAGMA optimize=0x10002").await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .context("cannot open SQLite read connections")?;
        let (writer, inbox) = mpsc::channel(1024);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(write_batches(write, inbox, commits.clone()));
        Ok(Self { read, writer, commits })
    }

    pub fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    pub fn commits(&self) -> &Arc<AtomicU64> {
        &self.commits
    }

    pub async fn submit(&self, job: Job) {
        if self.writer.send(Message::Job(job)).await.is_err() {
            tracing::error!("write refused: the store is closed");
        }
    }

    pub async fn close(&self) {
        self.read.close().await;
        let (done, closed) = oneshot::channel();
        if self.writer.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

/// The group-commit writer. Jobs that arrive while a batch commits wait in the inbox and form
/// the next batch, so under load each fsync commits many writes; alone, a write commits at once.
async fn write_batches(mut conn: SqliteConnection, mut inbox: mpsc::Receiver<Message>, commits: Arc<AtomicU64>) {
    let mut closing = None;
    while let Some(first) = inbox.recv().await {
        let mut next = Some(first);
        let mut batch = Batch::default();
        while let Some(message) = next.take() {
            match message {
                Message::Close(done) => {
                    closing = Some(done);
                    break;
                }
                Message::Job(job) => batch.run(&mut conn, job).await,
            }
            if batch.jobs < MAX_BATCH {
                next = inbox.try_recv().ok();
            }
        }
        batch.commit(&mut conn, &commits).await;
        if closing.is_some() {
            break;
        }
    }
    if let Err(error) = conn.execute("PRAGMA optimize").await {
        tracing::warn!(%error, "PRAGMA optimize on shutdown failed");
    }
    // Folding the WAL back into the main file leaves a single self-contained file on disk.
    if let Err(error) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await {
        tracing::warn!(%error, "WAL checkpoint on shutdown failed");
    }
    let _ = conn.close().await;
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// One transaction of the writer.
#[derive(Default)]
struct Batch {
    begun: bool,
    jobs: usize,
    /// Answers of the jobs whose writes wait for the commit.
    kept: Vec<Answer>,
    /// Why the transaction can no longer commit (a statement around the savepoints failed).
    broken: Option<String>,
}

impl Batch {
    async fn run(&mut self, conn: &mut SqliteConnection, job: Job) {
        self.jobs += 1;
        if self.broken.is_none() && !self.begun {
            match conn.execute("BEGIN IMMEDIATE").await {
                Ok(_) => self.begun = true,
                Err(error) => self.broken = Some(format!("cannot begin: {error}")),
            }
        }
        if let Some(why) = &self.broken {
            tracing::error!(why, "write not run");
            return;
        }
        if let Err(error) = conn.execute("SAVEPOINT job").await {
            self.broken = Some(format!("savepoint: {error}"));
            return;
        }
        let done = std::panic::AssertUnwindSafe(job(Conn::Sqlite(conn))).catch_unwind().await;
        let keep = matches!(done, Ok(Done { keep: true, .. }));
        let end = if keep { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if let Err(error) = sqlx::raw_sql(end).execute(&mut *conn).await {
            self.broken = Some(format!("ending a savepoint: {error}"));
        }
        match done {
            Ok(Done { keep: true, answer }) => self.kept.push(answer),
            // Nothing of it stays: it can answer at once.
            Ok(Done { keep: false, answer }) => answer(None),
            Err(_) => tracing::error!("a write job panicked; its writes were rolled back"),
        }
    }

    async fn commit(self, conn: &mut SqliteConnection, commits: &AtomicU64) {
        if !self.begun {
            return;
        }
        let committed = match &self.broken {
            Some(why) => Err(why.clone()),
            None => conn.execute("COMMIT").await.map(|_| ()).map_err(|error| error.to_string()),
        };
        match committed {
            Ok(()) => {
                commits.fetch_add(1, Ordering::AcqRel);
                self.kept.into_iter().for_each(|answer| answer(None));
            }
            Err(why) => {
                tracing::error!(why, jobs = self.jobs, "a batch of writes was rolled back");
                // SQLite may have rolled back already; then there is nothing to undo.
                let _ = conn.execute("ROLLBACK").await;
                self.kept.into_iter().for_each(|answer| answer(Some(&why)));
            }
        }
    }
}

pub(super) fn describe_migration_error(error: sqlx::migrate::MigrateError) -> anyhow::Error {
    match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(
            "the database schema is newer than this roster binary (it has migration {version}, which this binary does not know); run a newer roster"
        ),
        other => anyhow::Error::new(other).context("cannot migrate the database"),
    }
}

pub(super) fn arguments(values: &[Value<'_>]) -> Result<SqliteArguments, sqlx::Error> {
    let mut arguments = SqliteArguments::default();
    for value in values {
        match value {
            Value::Text(text) => arguments.add(text.as_deref()),
            Value::Int(number) => arguments.add(*number),
            Value::Bool(flag) => arguments.add(*flag),
            Value::Time(at) => arguments.add(at.as_ref().map(time::format)),
            Value::Json(text) => arguments.add(text.as_deref()),
            Value::Bytes(bytes) => arguments.add(*bytes),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
}

pub(super) fn time(row: &SqliteRow, column: &str) -> anyhow::Result<Option<Timestamp>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| time::parse(&t).with_context(|| format!("corrupt timestamp in {column}: {t}"))).transpose()
}

pub(super) fn json<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> anyhow::Result<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// `UNIQUE constraint failed: identities.connection, identities.email` → `identities.email`.
pub(super) fn unique_key(message: &str) -> Option<String> {
    message.rsplit([',', ' ']).next().filter(|key| key.contains('.')).map(str::to_owned)
}
