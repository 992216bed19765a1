//! Persistence: one store, its operations written once for both engines.
//!
//! Each operation (`users.rs`, `rbac.rs`, `organizations.rs`, `tenant_admin.rs`)
//! is SQL text that SQLite and PostgreSQL both read, run through `db.rs`. What truly differs
//! between the engines lives in `sqlite.rs` and `postgres.rs`: opening and pooling, how values
//! are bound and decoded, which constraint an error names, and how writes commit (group commit
//! on SQLite). The same black-box suites run against both.

use std::sync::Arc;
use std::sync::atomic::Ordering;

pub mod authentication_methods;
pub mod jobs;
pub mod logins;
pub mod logs;
pub mod organization_connections;
pub mod organizations;
pub mod rbac;
pub mod sessions;
pub mod tenant_admin;

mod bulk;
pub(crate) mod db;
mod identities;
mod pg_schemas;
mod postgres;
#[cfg(test)]
mod property_tests;
mod sqlite;
mod users;

pub(crate) use bulk::InLoad;
pub use bulk::{BulkLoad, ImportError};
pub(crate) use db::Conn;
use db::Db;
pub use identities::{LinkError, Secondary, UnlinkError};
pub use pg_schemas::Schemas;
pub use postgres::display_url;
pub use users::NewUser;
pub(crate) use users::upsert_user_in;

use crate::domain::time::Timestamp;

/// An RS256 key the tenant signs tokens with, kept so that restarts (and other nodes)
/// accept tokens already issued.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub private_key_pkcs8: Vec<u8>,
    pub created_at: Timestamp,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    UserId,
    Email,
    Username,
    PhoneNumber,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict on {0:?}")]
    Conflict(Conflict),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<db::DbError> for StoreError {
    /// A unique violation becomes the rule it broke.
    fn from(error: db::DbError) -> Self {
        match error.unique_violation().as_deref() {
            Some("identities.email") => StoreError::Conflict(Conflict::Email),
            Some("identities.username") => StoreError::Conflict(Conflict::Username),
            Some("identities.phone_number") => StoreError::Conflict(Conflict::PhoneNumber),
            Some("users.user_id" | "identities.provider_user_id") => StoreError::Conflict(Conflict::UserId),
            _ => StoreError::Other(error.into()),
        }
    }
}

pub struct Store {
    db: Db,
    totals: TotalsCache,
    logs: logs::LogBuffer,
    jobs_queued: tokio::sync::Notify,
}

/// Opens the store a `--database-url` names, creating and migrating it as needed.
pub async fn open(database_url: &str) -> anyhow::Result<Arc<Store>> {
    let prepare = users::refresh_search_index;
    let db = if database_url.starts_with("sqlite:") {
        Db::Sqlite(sqlite::SqliteDb::open(database_url, prepare).await?)
    } else if is_postgres(database_url) {
        Db::Postgres(postgres::PgDb::open(database_url, prepare).await?)
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            display_url(database_url)
        )
    };
    Ok(with_db(db))
}

/// Whether a `--database-url` names a PostgreSQL database.
pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

/// Opens the store of a hosted tenant kept in `schema` of the PostgreSQL database `schemas`
/// serves; `migrate`: as `open` does (a schema from an earlier start), or not (a schema made
/// from a migrated spare by this process).
pub async fn open_in_schema(schemas: &Schemas, schema: &str, migrate: bool) -> anyhow::Result<Arc<Store>> {
    let (url, pool) = schemas.hosted();
    let db = postgres::PgDb::open_in_schema(url, pool, schema, migrate, users::refresh_search_index).await?;
    Ok(with_db(Db::Postgres(db)))
}

fn with_db(db: Db) -> Arc<Store> {
    Arc::new(Store { db, totals: TotalsCache::default(), logs: Default::default(), jobs_queued: Default::default() })
}

impl Store {
    /// Checks the database answers.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.db.exists("SELECT 1", &[]).await?;
        Ok(())
    }

    /// Writes a consistent copy of the whole store, as of its last commit, to a new file
    /// (SQLite), from which a store can be opened again.
    pub async fn snapshot_into(&self, path: &std::path::Path) -> anyhow::Result<()> {
        self.flush_logs().await?;
        self.db.snapshot_into(path).await
    }

    /// Why the store cannot serve yet, if it cannot: the database does not answer, or a
    /// migration this binary brings is not recorded as applied (a database restored from an
    /// older backup under a running node).
    pub async fn unready(&self) -> Option<String> {
        let rows = match self.db.fetch_all("SELECT version FROM _sqlx_migrations WHERE success", &[]).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "readiness check failed");
                return Some("the database does not answer".to_owned());
            }
        };
        let applied: std::collections::HashSet<i64> = rows.iter().filter_map(|row| row.get("version").ok()).collect();
        let missing = self.db.migration_versions().into_iter().filter(|v| !applied.contains(v)).count();
        (missing > 0).then(|| format!("{missing} migrations are not applied to the database"))
    }

    /// Whether writes submitted one after another commit in that order (SQLite's one writer,
    /// which commits them in a group), so that one may rely on another still in flight.
    pub fn commits_in_order(&self) -> bool {
        self.db.commits().is_some()
    }

    /// The pool's connections, in use and idle.
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        self.db.pool_use()
    }

    /// Writes the log events recorded, finishes the writes queued, flushes and closes; called
    /// once on shutdown.
    pub async fn close(&self) {
        let _ = self.flush_logs().await;
        self.db.close().await;
    }
}

/// Totals of recent searches, valid until the next commit. Both SDKs ask for `include_totals`
/// on every page they fetch, and counting a broad match costs far more than the page itself; a
/// walk through one search's pages counts once. Only where this process is the database's one
/// writer (SQLite), whose commit counter then tells when a total may have changed.
#[derive(Default)]
struct TotalsCache {
    /// Count statement → (commits when it was counted, total).
    entries: std::sync::Mutex<std::collections::HashMap<CountStatement, (u64, u64)>>,
}

/// A count's SQL text and its parameters.
type CountStatement = (String, Vec<crate::search::sql::Bind>);

/// Bounds the cache; when full it starts over.
const MAX_CACHED_TOTALS: usize = 1024;

impl TotalsCache {
    fn get(&self, key: &CountStatement, commits: u64) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(counted_at, _)| *counted_at == commits).map(|(_, total)| *total)
    }

    /// `commits` is the counter read before counting, so a count that raced a commit is never
    /// served after it.
    fn put(&self, key: CountStatement, commits: u64, total: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED_TOTALS {
            entries.clear();
        }
        entries.insert(key, (commits, total));
    }
}

impl Store {
    /// Runs a count statement, or takes its result from the cache when nothing committed since.
    async fn count(&self, statement: crate::search::sql::Condition) -> anyhow::Result<u64> {
        let key = (statement.sql, statement.binds);
        let commits = self.db.commits().map(|commits| commits.load(Ordering::Acquire));
        if let Some(total) = commits.and_then(|commits| self.totals.get(&key, commits)) {
            return Ok(total);
        }
        let values: Vec<db::Value> = key.1.iter().map(db::Value::from).collect();
        let total = self.db.count(&key.0, &values).await?;
        if let Some(commits) = commits {
            self.totals.put(key, commits, total);
        }
        Ok(total)
    }
}
