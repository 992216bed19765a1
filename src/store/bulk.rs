//! Bulk loads: many new users (a tenant file's, an import's) written in one transaction that
//! takes them in batches as they are read, so that a file streams through with flat memory and
//! a load that fails, or is abandoned, leaves nothing behind.
//!
//! Into an empty directory, the secondary indexes (and on SQLite the trigram index's trigger,
//! on PostgreSQL the loaded tables' foreign keys) are dropped for the load and built again at
//! its end, inside the same transaction (SQLite's readers keep their snapshot, old schema
//! included; PostgreSQL's wait for the commit): building an index sorts its keys once, where a
//! million inserts would each walk a dozen indexes at random, and a foreign key added is checked
//! by one join, where PostgreSQL checks each row inserted with a query of its own. A uniqueness
//! rule the load breaks then shows when its index is built, and the first user breaking it is
//! found by its `seq`.

use tokio::sync::mpsc;

use super::db::{Commit, Conn, Engine, args, job};
use super::rbac::insert_roles;
use super::users::{NewUser, insert_users};
use super::{Conflict, Store, StoreError};
use crate::domain::rbac::Role;
use crate::domain::time::Timestamp;

/// The page cache (KiB, negative as `PRAGMA cache_size` takes it) of a SQLite load's trigram
/// index merge.
const MERGE_CACHE: i64 = -512 * 1024;

/// A bulk load refused: the user at `at` (its position in the load) broke `error`'s rule, or
/// the write failed.
#[derive(Debug, thiserror::Error)]
#[error("{}{error}", at.map(|at| format!("user {at}: ")).unwrap_or_default())]
pub struct ImportError {
    pub at: Option<usize>,
    pub error: StoreError,
}

impl<E: Into<StoreError>> From<E> for ImportError {
    fn from(error: E) -> Self {
        Self { at: None, error: error.into() }
    }
}

enum Feed {
    Roles(Vec<Role>, Timestamp),
    Users(Vec<NewUser>),
    Run(InLoad),
    Finish,
}

/// Statements run inside a load's transaction, in order with its batches (`BulkLoad::run`).
pub(crate) type InLoad =
    Box<dyn for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> futures_util::future::BoxFuture<'a, Result<(), StoreError>> + Send>;

/// A load under way: `add` batches, then `finish` (commit) or `abandon` (roll back).
pub struct BulkLoad {
    feed: mpsc::Sender<Feed>,
    /// In a mutex only to make the load `Sync`, so that a task holding it may be spawned.
    outcome: std::sync::Mutex<Outcome>,
}

type Outcome = std::pin::Pin<Box<dyn Future<Output = Result<usize, ImportError>> + Send>>;

impl BulkLoad {
    /// Adds users to the load; `false` if it has failed already (`finish` says why). Positions
    /// in errors count users across every batch, from 0. The roles they name must be stored, or
    /// created by the load before them.
    pub async fn add(&self, users: Vec<NewUser>) -> bool {
        self.feed.send(Feed::Users(users)).await.is_ok()
    }

    /// Creates roles in the load, so that users added after it may have them.
    pub async fn create_roles(&self, roles: Vec<Role>, at: Timestamp) -> bool {
        self.feed.send(Feed::Roles(roles, at)).await.is_ok()
    }

    /// Runs `statements` inside the load's transaction, after the batches added before: they
    /// commit with the load or not at all (an import's updates and its outcome). `false` if the
    /// load has failed already.
    pub(crate) async fn run(&self, statements: InLoad) -> bool {
        self.feed.send(Feed::Run(statements)).await.is_ok()
    }

    /// Builds what was deferred and commits; the number of users written.
    pub async fn finish(self) -> Result<usize, ImportError> {
        let _ = self.feed.send(Feed::Finish).await;
        self.outcome.into_inner().unwrap_or_else(|e| e.into_inner()).await
    }

    /// Rolls everything back. (A load dropped unfinished is rolled back too: only `finish`
    /// commits.)
    pub async fn abandon(self) {
        drop(self.feed);
        let _ = self.outcome.into_inner().unwrap_or_else(|e| e.into_inner()).await;
    }
}

/// The next feed: on SQLite the job runs on the writer's own thread, where it may wait.
async fn next(engine: Engine, feed: &mut mpsc::Receiver<Feed>) -> Option<Feed> {
    match engine {
        Engine::Sqlite => feed.blocking_recv(),
        Engine::Postgres => feed.recv().await,
    }
}

impl Store {
    /// Starts a bulk load. It holds the write transaction until it ends: other writes wait.
    pub async fn bulk_load(&self) -> BulkLoad {
        self.start_load(Commit::Own).await
    }

    /// Starts a bulk load for a caller that reads nothing through this store until it ends:
    /// the load may then have the database to itself. On SQLite, when no other connection has
    /// the database open, it is written through a rollback journal rather than the WAL (each
    /// page once, not twice) and reads through this store fail until it ends; otherwise, and on
    /// PostgreSQL, it is `bulk_load`.
    pub async fn bulk_load_alone(&self) -> BulkLoad {
        self.start_load(Commit::Exclusive).await
    }

    async fn start_load(&self, commit: Commit) -> BulkLoad {
        // Two batches in flight at most: reading the file runs ahead of writing by no more.
        let (feed, mut inbox) = mpsc::channel(2);
        let outcome = self
            .db
            .submit(
                job!(|conn| {
                    let engine = conn.engine();
                    let empty = conn.count("SELECT COUNT(*) AS total FROM users", &[]).await? == 0;
                    let deferred = if empty { defer(&mut conn).await? } else { Vec::new() };
                    let rebuilt = !deferred.is_empty();
                    let loaded = feed_in(&mut conn, &mut inbox, deferred).await;
                    if rebuilt && engine == Engine::Sqlite {
                        let cache = super::sqlite::CACHE_SIZE;
                        conn.execute(&format!("PRAGMA cache_size = {cache}"), &[]).await?;
                        conn.execute("PRAGMA threads = 0", &[]).await?;
                        // The writer's own setting (its savepoint journals in memory).
                        conn.execute(super::sqlite::SAVEPOINT_JOURNAL_IN_MEMORY, &[]).await?;
                        let mmap = super::sqlite::MMAP_BYTES;
                        conn.execute(&format!("PRAGMA mmap_size = {mmap}"), &[]).await?;
                    }
                    loaded
                }),
                commit,
            )
            .await;
        BulkLoad { feed, outcome: std::sync::Mutex::new(Box::pin(outcome)) }
    }

    /// Stores many new users in one transaction, in multi-row statements: all or none. When a
    /// user breaks a uniqueness rule, the error names it by its index in `users`.
    pub async fn import_users(&self, users: Vec<NewUser>) -> Result<(), ImportError> {
        self.db.write(job!(|conn| { load(&mut conn, &users).await })).await
    }
}

/// Writes the batches as they come, then builds what was deferred; the users written.
async fn feed_in(
    conn: &mut Conn<'_>,
    inbox: &mut mpsc::Receiver<Feed>,
    deferred: Vec<String>,
) -> Result<usize, ImportError> {
    let engine = conn.engine();
    let mut written = 0;
    loop {
        match next(engine, inbox).await {
            Some(Feed::Roles(roles, at)) => insert_roles(conn, &roles, &at).await?,
            Some(Feed::Run(statements)) => statements(conn).await?,
            Some(Feed::Users(users)) => {
                load(conn, &users).await.map_err(|e| ImportError { at: e.at.map(|at| at + written), ..e })?;
                written += users.len();
            }
            Some(Feed::Finish) => break,
            None => return Err(anyhow::anyhow!("the load was abandoned").into()),
        }
    }
    rebuild(conn, deferred).await?;
    Ok(written)
}

/// Writes one batch; when a user cannot be written, finds the first that cannot, one at a time,
/// each seeing those before it (the load fails either way, and nothing of it is kept).
async fn load(conn: &mut Conn<'_>, users: &[NewUser]) -> Result<(), ImportError> {
    conn.execute("SAVEPOINT batch", &[]).await?;
    let Err(error) = insert_users(conn, users).await else {
        conn.execute("RELEASE SAVEPOINT batch", &[]).await?;
        return Ok(());
    };
    conn.execute("ROLLBACK TO SAVEPOINT batch", &[]).await?;
    for (at, user) in users.chunks(1).enumerate() {
        if let Err(error) = insert_users(conn, user).await {
            return Err(ImportError { at: Some(at), error });
        }
    }
    Err(ImportError { at: None, error })
}

/// Drops the indexes and triggers the schema created on the users' tables (not those of their
/// keys and primary keys), and on PostgreSQL the foreign keys of the tables the load writes;
/// returns the SQL that creates them again. On PostgreSQL, dropping an index locks its table
/// until the load commits: readers of the (empty) users wait for it.
async fn defer(conn: &mut Conn<'_>) -> anyhow::Result<Vec<String>> {
    let (list, settings): (&str, &[&str]) = match conn.engine() {
        Engine::Sqlite => (
            "SELECT 'DROP ' || type || ' \"' || replace(name, '\"', '\"\"') || '\"' AS drop_sql, sql AS create_sql \
             FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL \
             AND tbl_name IN ('users', 'identities', 'user_metadata_values', 'user_roles')",
            // Memory stays bounded whatever the file's size. The page cache stays the writer's
            // 64 MiB (the inserts append: 512 MiB made them no faster) but for the trigram
            // index's merge (`rebuild`); reads are not mapped, as mapped pages of a file the load
            // writes whole count in the process's memory, up to the file's size. Each statement's
            // journal (what undoes it alone if it fails) is kept in memory: in a file, it cost a
            // third of the inserts' time. Index builds sort on a second thread.
            &["PRAGMA threads = 2", "PRAGMA temp_store = MEMORY", "PRAGMA mmap_size = 0"],
        ),
        Engine::Postgres => (
            "SELECT format('DROP INDEX %I', i.indexname) AS drop_sql, i.indexdef AS create_sql FROM pg_indexes i \
             WHERE i.schemaname = current_schema() \
             AND i.tablename IN ('users', 'identities', 'user_metadata_values', 'user_roles') \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
             WHERE c.conindid = to_regclass(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))) \
             UNION ALL SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname), \
             format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) \
             FROM pg_constraint WHERE contype = 'f' \
             AND conrelid IN ('identities'::regclass, 'user_metadata_values'::regclass, 'user_roles'::regclass)",
            // Building an index of a million users' keys may take longer than a request may.
            &["SET LOCAL maintenance_work_mem = '512MB'", "SET LOCAL statement_timeout = 0"],
        ),
    };
    let rows = conn.fetch_all(list, &[]).await?;
    for setting in settings {
        conn.execute(setting, &[]).await?;
    }
    let mut creates = Vec::new();
    for row in rows {
        // Names from the schema itself, quoted as identifiers.
        conn.execute(&row.get::<String>("drop_sql")?, &[]).await?;
        creates.push(row.get("create_sql")?);
    }
    Ok(creates)
}

/// Creates again what `defer` dropped and refills the trigram index; a unique index that cannot
/// be built names the first user breaking its rule.
async fn rebuild(conn: &mut Conn<'_>, creates: Vec<String>) -> Result<(), ImportError> {
    if creates.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    tracing::info!(indexes = creates.len(), "bulk load: building the indexes");
    if conn.engine() == Engine::Sqlite {
        // With temporary storage in memory the sorter keeps every key there (all of a million
        // users' for each index); in files it sorts runs of at most the cache's size and
        // merges them.
        conn.execute("PRAGMA temp_store = FILE", &[]).await?;
    }
    for create in &creates {
        // In a savepoint: on PostgreSQL a failed statement spoils the transaction, and the
        // user at fault is looked up after.
        conn.execute("SAVEPOINT build", &[]).await?;
        if let Err(error) = conn.execute(create, &[]).await {
            conn.execute("ROLLBACK TO SAVEPOINT build", &[]).await?;
            return Err(first_duplicate(conn).await?.unwrap_or(ImportError { at: None, error: error.into() }));
        }
        conn.execute("RELEASE SAVEPOINT build", &[]).await?;
    }
    // Merging the trigram index's segments as the rebuild writes them would merge the same
    // entries again and again: once, at the end, instead. Each segment is what fits in the
    // rebuild's hash table: a large one makes fewer (measured on a million users: 1 MB, the
    // default, took 25 s, 64 MB 13 s; both are put back after). The merge reads the segments
    // again and again: with less cache than the index's size (273 MB for a million users) it
    // waits on reads (a million users, page cache 64 MiB: 49 s; 256 MiB: 26 s; 512 MiB: 8 s),
    // so the cache may grow to 512 MiB for it alone.
    if conn.engine() == Engine::Sqlite {
        tracing::info!(seconds = started.elapsed().as_secs(), "bulk load: building the trigram index");
        let commands = [
            "'automerge', 0",
            "'hashsize', 67108864",
            "'rebuild', NULL",
            "'optimize', NULL",
            "'automerge', 4",
            "'hashsize', 1048576",
        ];
        for command in commands {
            if command.starts_with("'optimize'") {
                conn.execute(&format!("PRAGMA cache_size = {MERGE_CACHE}"), &[]).await?;
            }
            let sql = format!("INSERT INTO users_trigram (users_trigram, rank) VALUES ({command})");
            conn.execute(&sql, &[]).await?;
        }
        conn.execute(&format!("PRAGMA cache_size = {}", super::sqlite::CACHE_SIZE), &[]).await?;
        // The planner's statistics for the new indexes, gathered now while reads are not mapped:
        // left to the `PRAGMA optimize` at close, counting each index's entries would read all
        // of the file through the map.
        conn.execute("PRAGMA optimize = 0x10002", &[]).await?;
    }
    tracing::info!(seconds = started.elapsed().as_secs(), "bulk load: indexes built");
    Ok(())
}

/// The first user (by load position) whose credential another user of its connection has.
async fn first_duplicate(conn: &mut Conn<'_>) -> anyhow::Result<Option<ImportError>> {
    let first: i64 = conn.fetch_one("SELECT MIN(seq) AS seq FROM users", &[]).await?.get("seq")?;
    let mut found: Option<(i64, Conflict)> = None;
    for (column, conflict) in
        [("email", Conflict::Email), ("username", Conflict::Username), ("phone_number", Conflict::PhoneNumber)]
    {
        // The second holder of a credential, by seq, is the first to break its rule.
        let sql = format!(
            "SELECT MIN(seq) AS seq FROM (SELECT u.seq, ROW_NUMBER() OVER \
             (PARTITION BY i.connection, i.{column} ORDER BY u.seq) AS holder FROM identities i \
             JOIN users u ON u.user_id = i.user_id WHERE i.{column} IS NOT NULL) AS holders WHERE holder = 2"
        );
        let seq: Option<i64> = conn.fetch_one(&sql, args![]).await?.get("seq")?;
        if let Some(seq) = seq.filter(|seq| found.is_none_or(|(earliest, _)| seq < &earliest)) {
            found = Some((seq, conflict));
        }
    }
    Ok(found
        .map(|(seq, conflict)| ImportError { at: Some((seq - first) as usize), error: StoreError::Conflict(conflict) }))
}
