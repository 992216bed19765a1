//! SQLite, the embedded engine: one file in WAL mode, `synchronous=FULL`, driven in process
//! through rusqlite on threads the store owns, so a statement is a function call, not a
//! hand-off to another thread.
//!
//! Writes go through one connection owned by the group-commit writer thread: it takes every
//! write job waiting, runs each in a savepoint of its own inside one transaction, commits them
//! with one fsync and only then answers them. A job that fails rolls back to its savepoint
//! alone; its neighbours commit. Reads run on the blocking pool with a connection from a small
//! pool of read-only ones. Times are stored as ISO text with milliseconds (which sorts as time
//! does) and JSON as text.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::{mpsc, oneshot};

use super::db::{Answer, Commit, Conn, DbError, Done, Job, Value};
use crate::domain::time::{self, Timestamp};

/// The schema, in sqlx's migration format and table (`_sqlx_migrations`), which databases made
/// by earlier versions of roster already carry.
pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Jobs committed together at most, which bounds how long the first of them waits.
const MAX_BATCH: usize = 256;
const READ_CONNECTIONS: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The writer's page cache, in KiB (negative, as `PRAGMA cache_size` takes it).
pub(super) const CACHE_SIZE: i64 = -64 * 1024;
/// How much of the file reads map rather than copy (address space, not memory).
pub(super) const MMAP_BYTES: u64 = 64 << 30;

enum Message {
    Job(Job<Done>),
    /// A job in a transaction of its own (`run_alone`); `exclusive`: with the database to
    /// itself if it can be had.
    Alone {
        job: Job<Done>,
        exclusive: bool,
    },
    /// Finish, fold the WAL into the main file and close; answer when done.
    Close(oneshot::Sender<()>),
}

pub(crate) struct SqliteDb {
    readers: Arc<ReadPool>,
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
        let path = path_of(database_url)?;
        let mut write =
            connect(&path, false).with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
        migrate(&mut write)?;
        prepare(Conn::Sqlite(&mut write)).await?;
        // Gives the query planner statistics (bounded work; only tables that need them), so
        // that it picks the selective index for a search rather than the first one it sees.
        write.execute_batch("PRAGMA optimize=0x10002")?;
        // One to start with; more as reads come (a server of many tenants opens many stores).
        let idle = (0..1).map(|_| connect(&path, true)).collect::<rusqlite::Result<Vec<_>>>()?;
        let state = Readers { open: idle.len(), idle, closed: false };
        let readers = Arc::new(ReadPool { path, state: Mutex::new(state), returned: Condvar::new() });
        let (writer, inbox) = mpsc::channel(1024);
        let commits = Arc::new(AtomicU64::new(0));
        let (counter, pool) = (commits.clone(), readers.clone());
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || write_batches(write, &pool, inbox, &counter))
            .context("cannot start the SQLite writer")?;
        Ok(Self { readers, writer, commits })
    }

    pub fn commits(&self) -> &Arc<AtomicU64> {
        &self.commits
    }

    /// The read connections' use (the writer's connection is always its own).
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        let state = self.readers.state();
        let idle = state.idle.len() as u64;
        crate::metrics::PoolUse { in_use: state.open as u64 - idle, idle, max: READ_CONNECTIONS as u64 }
    }

    /// One statement on a read connection, on the blocking pool (a search may take a while).
    pub async fn fetch(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<SqliteRow>, DbError> {
        let (sql, args): (String, Vec<Value<'static>>) =
            (sql.to_owned(), args.iter().cloned().map(Value::into_owned).collect());
        let readers = self.readers.clone();
        let rows = tokio::task::spawn_blocking(move || readers.with(|conn| fetch(conn, &sql, &args))).await;
        Ok(rows.map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))??)
    }

    /// One statement that reads a row or two through an index, in place: microseconds, less
    /// than handing it to another thread would cost.
    pub fn lookup(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<SqliteRow>, DbError> {
        Ok(self.readers.with(|conn| fetch(conn, sql, args))?)
    }

    /// A job in a read transaction (one snapshot), on the blocking pool.
    pub async fn read<T, E>(&self, job: Job<Result<T, E>>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<anyhow::Error> + Send + 'static,
    {
        let readers = self.readers.clone();
        let run = move || {
            let read = readers.with(|conn| {
                conn.execute_batch("BEGIN")?;
                let result = run_now(job(Conn::Sqlite(conn)));
                conn.execute_batch("ROLLBACK")?;
                Ok::<_, rusqlite::Error>(result)
            });
            read.map_err(|error| E::from(DbError::from(error)))?
        };
        tokio::task::spawn_blocking(run).await.map_err(|error| E::from(anyhow::anyhow!("a read failed: {error}")))?
    }

    pub async fn submit(&self, job: Job<Done>, commit: Commit) {
        let message = match commit {
            Commit::Grouped => Message::Job(job),
            Commit::Own => Message::Alone { job, exclusive: false },
            Commit::Exclusive => Message::Alone { job, exclusive: true },
        };
        if self.writer.send(message).await.is_err() {
            tracing::error!("write refused: the store is closed");
        }
    }

    /// SQLite's backup API copies the pages of one read snapshot into a new file (a millisecond
    /// for a small tenant, where `VACUUM INTO` rebuilt every table and index: ten to fifteen),
    /// unsynced, then the file is synced once and renamed into place, so a snapshot is only
    /// ever there whole.
    pub async fn snapshot_into(&self, target: &std::path::Path) -> anyhow::Result<()> {
        let (readers, target) = (self.readers.clone(), target.to_owned());
        let copy = move || -> anyhow::Result<()> {
            let mut partial = target.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            let mut copy = Connection::open(&partial)?;
            copy.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")?;
            readers.with(|source| {
                rusqlite::backup::Backup::new(source, &mut copy)?.run_to_completion(i32::MAX, Duration::ZERO, None)
            })?;
            drop(copy);
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, &target)?;
            if let Some(dir) = target.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        tokio::task::spawn_blocking(copy).await.context("the snapshot task failed")?
    }

    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.writer.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

/// `sqlite://roster.db`, `sqlite:///var/lib/roster.db`, `sqlite:roster.db` (a query is ignored).
fn path_of(database_url: &str) -> anyhow::Result<PathBuf> {
    let rest =
        database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")).unwrap_or(database_url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || database_url.contains("mode=memory") {
        anyhow::bail!("an in-memory SQLite database would lose every write; give a file path (sqlite://roster.db)");
    }
    Ok(PathBuf::from(path))
}

/// Every group-commit job runs in a savepoint, which journals the pages it changes so that
/// the job alone can be undone; SQLite kept that journal in a temporary file past 64 KiB, and a
/// batch of PATCHes spent ~20% of its CPU time writing it. In memory it is freed as each job's
/// savepoint is released. (Raising SQLite's spill threshold instead made large batches fail
/// with SQLITE_FULL.) A write of its own (`run_alone`, bulk loads) goes back to a file: it may
/// change a whole database's pages, and in memory SQLite would also sort its index builds.
pub(super) const SAVEPOINT_JOURNAL_IN_MEMORY: &str = "PRAGMA temp_store = MEMORY";
const SAVEPOINT_JOURNAL_IN_FILE: &str = "PRAGMA temp_store = FILE";

fn connect(path: &PathBuf, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    // SQLite's default page cache (2 MB) is far smaller than a user directory's indexes: every
    // write then re-reads index pages from the OS, a system call each (most of a bulk load's
    // time). Pages are mapped instead of copied, and the writer keeps a larger cache.
    let cache = if read_only { -8 * 1024 } else { CACHE_SIZE };
    conn.execute_batch(&format!("PRAGMA mmap_size = {MMAP_BYTES}; PRAGMA cache_size = {cache};"))?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON")?;
    } else {
        conn.execute_batch(SAVEPOINT_JOURNAL_IN_MEMORY)?;
    }
    conn.set_prepared_statement_cache_capacity(256);
    // PostgreSQL's byte order, by the name the shared SQL uses for it.
    conn.create_collation("C", |a: &str, b: &str| a.as_bytes().cmp(b.as_bytes()))?;
    Ok(conn)
}

/// Applies the migrations this database lacks, each in a transaction, recording them as sqlx
/// does; refuses a database that has a migration this binary does not know (it is newer).
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
         execution_time BIGINT NOT NULL)",
    )?;
    let mut applied = std::collections::HashMap::new();
    for row in fetch(conn, "SELECT version, checksum, success FROM _sqlx_migrations", &[])? {
        let (version, checksum, success): (i64, Vec<u8>, bool) =
            (row.get("version")?, row.get("checksum")?, row.get("success")?);
        anyhow::ensure!(success, "migration {version} failed part-way earlier; the database needs repair");
        anyhow::ensure!(MIGRATOR.iter().any(|m| m.version == version), super::db::newer_schema(version));
        applied.insert(version, checksum);
    }
    for migration in MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()) {
        match applied.get(&migration.version) {
            Some(checksum) if checksum[..] == migration.checksum[..] => continue,
            Some(_) => anyhow::bail!("migration {} differs from the one applied to this database", migration.version),
            None => {}
        }
        let started = Instant::now();
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql.as_str()).with_context(|| format!("migration {}", migration.version))?;
        let elapsed = started.elapsed().as_nanos() as i64;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![migration.version, &*migration.description, &*migration.checksum, elapsed],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Read-only connections, lent one at a time, opened again after the writer closed them to have
/// the database to itself.
struct ReadPool {
    path: PathBuf,
    state: Mutex<Readers>,
    returned: Condvar,
}

struct Readers {
    idle: Vec<Connection>,
    /// Connections open, lent or idle (at most `READ_CONNECTIONS`).
    open: usize,
    /// Closed while a job has the database to itself: reads fail at once.
    closed: bool,
}

impl ReadPool {
    fn state(&self) -> std::sync::MutexGuard<'_, Readers> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` on an idle connection, waiting for one if all are lent.
    fn with<T, E: From<rusqlite::Error>>(&self, work: impl FnOnce(&mut Connection) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.take()?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut conn)));
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.state().idle.push(conn);
        self.returned.notify_one();
        result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let mut state = self.state();
        loop {
            if state.closed {
                let busy = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY);
                return Err(rusqlite::Error::SqliteFailure(busy, Some(TAKEN.to_owned())));
            }
            if let Some(conn) = state.idle.pop() {
                return Ok(conn);
            }
            if state.open < READ_CONNECTIONS {
                state.open += 1;
                drop(state);
                return connect(&self.path, true).inspect_err(|_| {
                    self.state().open -= 1;
                    self.returned.notify_one();
                });
            }
            state = self.returned.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Closes every connection, so that the writer's is the database's only one in this
    /// process, and refuses reads until `reopen`; `false` (and nothing closed) if one is lent.
    fn close(&self) -> bool {
        let mut state = self.state();
        if state.idle.len() < state.open {
            return false;
        }
        state.idle.clear();
        (state.open, state.closed) = (0, true);
        true
    }

    /// Serves reads again, opening connections as they are needed.
    fn reopen(&self) {
        self.state().closed = false;
        self.returned.notify_all();
    }
}

/// Why a read failed while a job had the database to itself.
const TAKEN: &str = "the database is being bulk loaded: reads wait for the load to commit";

/// Runs a job's future to its end. Every statement on a SQLite connection completes when
/// called, so the future is ready the first time it is polled; one that is not awaited
/// something else, which SQLite jobs must not.
fn run_now<T>(mut future: BoxFuture<'_, T>) -> T {
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a SQLite job waited on something other than a statement"),
    }
}

/// The group-commit writer. Jobs that arrive while a batch commits wait in the inbox and form
/// the next batch, so under load each fsync commits many writes; alone, a write commits at once.
fn write_batches(mut conn: Connection, readers: &ReadPool, mut inbox: mpsc::Receiver<Message>, commits: &AtomicU64) {
    let mut closing = None;
    while let Some(first) = inbox.blocking_recv() {
        let mut next = Some(first);
        let mut batch = Batch::default();
        let mut alone = None;
        while let Some(message) = next.take() {
            match message {
                Message::Close(done) => {
                    closing = Some(done);
                    break;
                }
                Message::Alone { job, exclusive } => {
                    alone = Some((job, exclusive));
                    break;
                }
                Message::Job(job) => batch.run(&mut conn, job),
            }
            if batch.jobs < MAX_BATCH {
                next = inbox.try_recv().ok();
            }
        }
        batch.commit(&conn, commits)();
        if let Some((job, exclusive)) = alone {
            run_alone(&mut conn, readers, job, exclusive, commits);
        }
        if closing.is_some() {
            break;
        }
    }
    // Folding the WAL back into the main file leaves a single self-contained file on disk.
    if let Err(error) = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);") {
        tracing::warn!(%error, "optimizing and checkpointing on shutdown failed");
    }
    drop(conn);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Runs `job` in a transaction of its own, its savepoints journaled in a file: a long job's
/// journal of the pages it changes (a bulk load's index builds change hundreds of megabytes)
/// would otherwise be held in memory to its commit. If `exclusive` and no other connection has
/// the database open (this process's readers are closed for it; another process's keep it in
/// WAL mode), the transaction
/// is written through a rollback journal instead of the WAL: the pages it appends to the file
/// (all of a load into an empty directory) are then written once, where the WAL writes each
/// twice (into the log, then into the file at the checkpoint). It is as durable: the file is
/// synced before the journal is truncated (`synchronous = FULL`), and after a crash the journal
/// left behind makes the next opener roll the file back to what it was. Meanwhile reads through
/// this store fail (`TAKEN`), and other processes' wait; WAL mode is back before the job's
/// caller hears of the commit.
fn run_alone(conn: &mut Connection, readers: &ReadPool, job: Job<Done>, exclusive: bool, commits: &AtomicU64) {
    if let Err(error) = conn.execute_batch(SAVEPOINT_JOURNAL_IN_FILE) {
        tracing::warn!(%error, "the savepoint journal stays in memory");
    }
    let rollback = exclusive && readers.close() && journal_mode(conn, "truncate", Duration::ZERO);
    if exclusive && !rollback {
        readers.reopen();
    }
    let journal = match (rollback, exclusive) {
        (true, _) => "rollback journal",
        (false, true) => "WAL (the database is open elsewhere)",
        (false, false) => "WAL",
    };
    tracing::info!(journal, "a write of its own");
    let mut batch = Batch { hold: true, ..Batch::default() };
    batch.run(conn, job);
    let answer = batch.commit(conn, commits);
    if rollback {
        // Through DELETE, which removes the (empty) journal file.
        if !(journal_mode(conn, "delete", BUSY_TIMEOUT) && journal_mode(conn, "wal", BUSY_TIMEOUT)) {
            tracing::error!("cannot put the database back in WAL mode (the next connection opened will)");
        }
        readers.reopen();
    }
    if let Err(error) = conn.execute_batch(SAVEPOINT_JOURNAL_IN_MEMORY) {
        tracing::warn!(%error, "the savepoint journal stays in a file");
    }
    answer();
}

/// Switches the journal mode (outside a transaction), waiting for locks up to `wait`; whether it
/// is now `mode`. Leaving WAL mode needs the only connection to the database.
fn journal_mode(conn: &Connection, mode: &str, wait: Duration) -> bool {
    let _ = conn.busy_timeout(wait);
    let now = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |row| row.get::<_, String>(0));
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
    match now {
        Ok(now) => now.eq_ignore_ascii_case(mode),
        Err(error) => {
            tracing::debug!(%error, mode, "journal mode not changed");
            false
        }
    }
}

/// One transaction of the writer.
#[derive(Default)]
struct Batch {
    begun: bool,
    jobs: usize,
    /// Answers of the jobs whose writes wait for the commit.
    kept: Vec<Answer>,
    /// Answers of jobs that kept nothing, held until the commit's when `hold` (a job run alone
    /// is answered once the database is shared again).
    hold: bool,
    refused: Vec<Answer>,
    /// Why the transaction can no longer commit (a statement around the savepoints failed).
    broken: Option<String>,
}

impl Batch {
    fn run(&mut self, conn: &mut Connection, job: Job<Done>) {
        self.jobs += 1;
        if self.broken.is_none() && !self.begun {
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => self.begun = true,
                Err(error) => self.broken = Some(format!("cannot begin: {error}")),
            }
        }
        if let Some(why) = &self.broken {
            return tracing::error!(why, "write not run");
        }
        if let Err(error) = conn.execute_batch("SAVEPOINT job") {
            self.broken = Some(format!("savepoint: {error}"));
            return;
        }
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_now(job(Conn::Sqlite(conn)))));
        let keep = matches!(done, Ok(Done { keep: true, .. }));
        let end = if keep { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if let Err(error) = conn.execute_batch(end) {
            self.broken = Some(format!("ending a savepoint: {error}"));
        }
        match done {
            Ok(Done { keep: true, answer }) => self.kept.push(answer),
            // Nothing of it stays: it can answer at once.
            Ok(Done { keep: false, answer }) if self.hold => self.refused.push(answer),
            Ok(Done { keep: false, answer }) => answer(None),
            Err(_) => tracing::error!("a write job panicked; its writes were rolled back"),
        }
    }

    /// Commits (or rolls back what cannot be); the function that answers the jobs.
    fn commit(self, conn: &Connection, commits: &AtomicU64) -> Box<dyn FnOnce()> {
        let refused = self.refused;
        let answer_refused = move || refused.into_iter().for_each(|answer| answer(None));
        if !self.begun {
            return Box::new(answer_refused);
        }
        let committed = match &self.broken {
            Some(why) => Err(why.clone()),
            None => conn.execute_batch("COMMIT").map_err(|error| error.to_string()),
        };
        match committed {
            Ok(()) => {
                commits.fetch_add(1, Ordering::AcqRel);
                crate::metrics::metrics().batch_committed(self.jobs);
                Box::new(move || {
                    self.kept.into_iter().for_each(|answer| answer(None));
                    answer_refused();
                })
            }
            Err(why) => {
                tracing::error!(why, jobs = self.jobs, "a batch of writes was rolled back");
                // SQLite may have rolled back already; then there is nothing to undo.
                let _ = conn.execute_batch("ROLLBACK");
                Box::new(move || {
                    self.kept.into_iter().for_each(|answer| answer(Some(&why)));
                    answer_refused();
                })
            }
        }
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        Ok(match self {
            Value::Text(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Json(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Bytes(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            Value::Int(Some(number)) => ToSqlOutput::Owned(Owned::Integer(*number)),
            Value::Bool(Some(flag)) => ToSqlOutput::Owned(Owned::Integer(*flag as i64)),
            Value::Time(Some(at)) => ToSqlOutput::Owned(Owned::Text(time::format(at))),
            Value::Text(None) | Value::Json(None) | Value::Int(None) | Value::Bool(None) | Value::Time(None) => {
                ToSqlOutput::Owned(Owned::Null)
            }
        })
    }
}

/// Prepares (from the connection's cache) and binds `$n` to `args[n - 1]` (SQLite numbers `$n`
/// parameters in the order they first appear, which need not be n) and an anonymous `?` to the
/// argument at its position.
fn bound<'c>(conn: &'c Connection, sql: &str, args: &[Value<'_>]) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index);
        let position = match name {
            None => Some(index),
            Some(name) => name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()),
        };
        let value = position.and_then(|n| args.get(n - 1));
        let value = value.ok_or_else(|| rusqlite::Error::InvalidParameterName(name.unwrap_or("?").to_owned()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(statement)
}

/// Runs a statement (of any kind); the rows it changed.
pub(super) fn execute(conn: &Connection, sql: &str, args: &[Value<'_>]) -> rusqlite::Result<u64> {
    let mut statement = bound(conn, sql, args)?;
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(conn.changes())
}

pub(super) fn fetch(conn: &Connection, sql: &str, args: &[Value<'_>]) -> rusqlite::Result<Vec<SqliteRow>> {
    let mut statement = bound(conn, sql, args)?;
    let columns: Arc<[String]> = statement.column_names().map(str::to_owned).collect();
    let mut rows = statement.raw_query();
    let mut fetched = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len()).map(|i| row.get(i)).collect::<rusqlite::Result<_>>()?;
        fetched.push(SqliteRow { columns: columns.clone(), values });
    }
    Ok(fetched)
}

/// A row, read out of its statement.
pub(crate) struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<rusqlite::types::Value>,
}

impl SqliteRow {
    fn value(&self, column: &str) -> anyhow::Result<ValueRef<'_>> {
        let index = self.columns.iter().position(|c| c == column).with_context(|| format!("no column {column}"))?;
        Ok(ValueRef::from(&self.values[index]))
    }

    pub fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> anyhow::Result<T> {
        Ok(T::column_result(self.value(column)?)?)
    }

    pub fn time(&self, column: &str) -> anyhow::Result<Option<Timestamp>> {
        let text: Option<String> = self.get(column)?;
        text.map(|t| time::parse(&t).with_context(|| format!("corrupt timestamp in {column}: {t}"))).transpose()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> anyhow::Result<Option<T>> {
        let text: Option<String> = self.get(column)?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }
}

/// `UNIQUE constraint failed: identities.connection, identities.email` → `identities.email`.
pub(super) fn unique_key(error: &rusqlite::Error) -> Option<String> {
    let rusqlite::Error::SqliteFailure(failure, Some(message)) = error else { return None };
    let unique = [rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE, rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY];
    if !unique.contains(&failure.extended_code) {
        return None;
    }
    message.rsplit([',', ' ']).next().filter(|key| key.contains('.')).map(str::to_owned)
}
