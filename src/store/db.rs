//! The one interface store operations are written against, whichever engine runs them.
//!
//! Operations write their SQL once, with `$n` placeholders, which both engines read, and bind
//! [`Value`]s that each engine stores its own way (times as ISO text on SQLite and `timestamptz`
//! on PostgreSQL, JSON as text and as `json`). Rows come back as a [`Row`] that decodes either.
//! What the SQL itself must say differently (row locks, advisory locks) comes from [`Engine`].
//!
//! Three ways in: single statements on the read side (`Db::fetch_*`), several reads in one
//! snapshot (`Db::read`), and writes (`Db::write`), which run as jobs: on SQLite the group-commit
//! writer commits many in one transaction, each in a savepoint of its own; on PostgreSQL each job
//! is a transaction in a task of its own. Either way a job runs to its end even if the request
//! that asked for it is dropped, and its caller hears back only once it is durable.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Postgres, SqlSafeStr, Sqlite};

use super::{postgres, sqlite};
use crate::domain::time::Timestamp;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Time(Option<Timestamp>),
    /// A serialized JSON document.
    Json(Option<String>),
    Bytes(&'a [u8]),
}

impl Value<'_> {
    pub fn json(value: &impl Serialize) -> Self {
        Value::Json(Some(serde_json::to_string(value).expect("JSON values serialize")))
    }

    pub fn json_opt(value: &Option<impl Serialize>) -> Self {
        match value {
            Some(value) => Value::json(value),
            None => Value::Json(None),
        }
    }
}

macro_rules! value_from {
    ($($type:ty => |$v:ident| $make:expr),* $(,)?) => {
        $(impl<'a> From<$type> for Value<'a> {
            fn from($v: $type) -> Self {
                $make
            }
        })*
    };
}

value_from! {
    &'a str => |v| Value::Text(Some(Cow::Borrowed(v))),
    &'a String => |v| Value::Text(Some(Cow::Borrowed(v))),
    String => |v| Value::Text(Some(Cow::Owned(v))),
    Option<&'a str> => |v| Value::Text(v.map(Cow::Borrowed)),
    &'a Option<String> => |v| Value::Text(v.as_deref().map(Cow::Borrowed)),
    Option<String> => |v| Value::Text(v.map(Cow::Owned)),
    i64 => |v| Value::Int(Some(v)),
    Option<i64> => |v| Value::Int(v),
    bool => |v| Value::Bool(Some(v)),
    Option<bool> => |v| Value::Bool(v),
    &'a Timestamp => |v| Value::Time(Some(*v)),
    &'a Option<Timestamp> => |v| Value::Time(*v),
    &'a [u8] => |v| Value::Bytes(v),
}

/// `args![a, b, …]`: the values bound to `$1`, `$2`, ….
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::Value::from($value)),*][..]
    };
}
pub(crate) use args;

/// `job!(|conn| { … })`: a write job for `Db::write`, a closure that moves what it captures and
/// runs the block with `conn` (a `Conn`), boxed as the writer needs.
macro_rules! job {
    (|$conn:ident| $body:block) => {
        move |mut $conn: $crate::store::db::Conn<'_>| futures_util::FutureExt::boxed(async move $body)
    };
}
pub(crate) use job;

/// A count or limit as SQL's integer.
pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `$first, $first+1, …` for `n` values (`NULL`, which matches nothing in `IN (…)`, when none).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    if n == 0 {
        return "NULL".to_owned();
    }
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, $2), ($3, $4), …`: `rows` tuples of `columns` placeholders, for a multi-row insert.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows).map(|row| format!("({})", placeholders(row * columns + 1, columns))).collect::<Vec<_>>().join(", ")
}

/// What the SQL text must say differently on each engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// Locks the rows read until the transaction ends. SQLite needs none: one writer at a time.
    pub fn for_update(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// Keeps the rows read from being deleted (or their key changed) until the transaction ends.
    pub fn for_key_share(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR KEY SHARE",
        }
    }

    /// Begins a transaction that writes (SQLite takes the write lock at once, so that waiting
    /// for another process's write is the busy timeout's, not a failed upgrade).
    pub fn begin_write(self) -> &'static str {
        match self {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        }
    }

    /// Rebuilds SQLite's FTS5 trigram table after search columns were rewritten in bulk;
    /// PostgreSQL's pg_trgm indexes follow their table.
    pub fn rebuild_trigram_index(self) -> Option<&'static str> {
        match self {
            Engine::Sqlite => Some("INSERT INTO users_trigram (users_trigram) VALUES ('rebuild')"),
            Engine::Postgres => None,
        }
    }

    pub fn search_dialect(self) -> &'static dyn crate::search::sql::Dialect {
        match self {
            Engine::Sqlite => &crate::search::sqlite::Sqlite,
            Engine::Postgres => &crate::search::postgres::Postgres,
        }
    }
}

/// A row of either engine.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub fn get<T>(&self, column: &str) -> anyhow::Result<T>
    where
        T: for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>
            + for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>,
    {
        use sqlx::Row as _;
        let value = match self {
            Row::Sqlite(row) => row.try_get(column),
            Row::Postgres(row) => row.try_get(column),
        };
        value.with_context(|| format!("reading column {column}"))
    }

    pub fn opt_time(&self, column: &str) -> anyhow::Result<Option<Timestamp>> {
        match self {
            Row::Sqlite(row) => sqlite::time(row, column),
            Row::Postgres(row) => postgres::time(row, column),
        }
    }

    pub fn time(&self, column: &str) -> anyhow::Result<Timestamp> {
        self.opt_time(column)?.with_context(|| format!("missing {column}"))
    }

    pub fn opt_json<T: DeserializeOwned>(&self, column: &str) -> anyhow::Result<Option<T>> {
        let parsed = match self {
            Row::Sqlite(row) => sqlite::json(row, column),
            Row::Postgres(row) => postgres::json(row, column),
        };
        parsed.with_context(|| format!("corrupt JSON in {column}"))
    }

    pub fn json<T: DeserializeOwned>(&self, column: &str) -> anyhow::Result<T> {
        self.opt_json(column)?.with_context(|| format!("missing {column}"))
    }
}

/// A connection (inside a transaction, except for `Db::fetch_*`) that statements run on.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// Rows affected.
    pub async fn execute(&mut self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(conn) => {
                sqlx::query_with(sql, sqlite::arguments(args)?).execute(&mut **conn).await?.rows_affected()
            }
            Conn::Postgres(conn) => {
                sqlx::query_with(sql, postgres::arguments(args)?).execute(&mut **conn).await?.rows_affected()
            }
        })
    }

    pub async fn fetch_all(&mut self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(conn) => sqlx::query_with(sql, sqlite::arguments(args)?)
                .fetch_all(&mut **conn)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Conn::Postgres(conn) => sqlx::query_with(sql, postgres::arguments(args)?)
                .fetch_all(&mut **conn)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub async fn fetch_optional(
        &mut self,
        sql: impl SqlSafeStr,
        args: &[Value<'_>],
    ) -> Result<Option<Row>, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(conn) => {
                sqlx::query_with(sql, sqlite::arguments(args)?).fetch_optional(&mut **conn).await?.map(Row::Sqlite)
            }
            Conn::Postgres(conn) => {
                sqlx::query_with(sql, postgres::arguments(args)?).fetch_optional(&mut **conn).await?.map(Row::Postgres)
            }
        })
    }

    pub async fn fetch_one(&mut self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<Row, sqlx::Error> {
        self.fetch_optional(sql, args).await?.ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn exists(&mut self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<bool, sqlx::Error> {
        Ok(self.fetch_optional(sql, args).await?.is_some())
    }

    /// The first column of the one row a `SELECT COUNT(*)` returns.
    pub async fn count(&mut self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<u64, sqlx::Error> {
        let row = self.fetch_one(sql, args).await?;
        let count: i64 = match &row {
            Row::Sqlite(row) => sqlx::Row::try_get(row, 0)?,
            Row::Postgres(row) => sqlx::Row::try_get(row, 0)?,
        };
        Ok(count as u64)
    }

    /// Takes a lock named `name` until the transaction ends, so that checks and the writes they
    /// guard cannot interleave with another node's (PostgreSQL); SQLite has a single writer.
    pub async fn lock(&mut self, name: &str) -> Result<(), sqlx::Error> {
        if let Conn::Postgres(_) = self {
            self.execute("SELECT pg_advisory_xact_lock(hashtext($1))", args![name]).await?;
        }
        Ok(())
    }
}

/// Which uniqueness rule an error broke, as `table.column` (the last column of the index),
/// whichever engine reported it.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = error else { return None };
    if !db.is_unique_violation() {
        return None;
    }
    match db.constraint() {
        Some(constraint) => postgres::unique_key(constraint),
        None => sqlite::unique_key(db.message()),
    }
}

pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// A write job: runs on a connection inside a transaction and says whether to keep what it
/// wrote, and how to answer its caller once that is durable (or has failed).
pub(crate) type Job = Box<dyn for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Done> + Send>;

pub(crate) struct Done {
    pub keep: bool,
    pub answer: Answer,
}

/// Answers a job's caller: called with `None` once the job's writes are committed (or, for a
/// job that failed, rolled back), or with why the commit failed.
pub(crate) type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

pub(crate) enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

/// A connection from the read side's pool, for a statement outside a transaction.
enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(conn) => Conn::Sqlite(&mut *conn),
            Pooled::Postgres(conn) => Conn::Postgres(&mut *conn),
        }
    }
}

impl Db {
    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Commits so far, where this process is the database's only writer (SQLite): a value
    /// read before a query and unchanged after it means no write committed in between.
    pub fn commits(&self) -> Option<&Arc<AtomicU64>> {
        match self {
            Db::Sqlite(db) => Some(db.commits()),
            Db::Postgres(_) => None,
        }
    }

    async fn pooled(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(db) => Pooled::Sqlite(db.read_pool().acquire().await?),
            Db::Postgres(db) => Pooled::Postgres(db.pool().acquire().await?),
        })
    }

    pub async fn fetch_all(&self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<Vec<Row>, sqlx::Error> {
        self.pooled().await?.conn().fetch_all(sql, args).await
    }

    pub async fn fetch_optional(&self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<Option<Row>, sqlx::Error> {
        self.pooled().await?.conn().fetch_optional(sql, args).await
    }

    pub async fn exists(&self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<bool, sqlx::Error> {
        self.pooled().await?.conn().exists(sql, args).await
    }

    pub async fn count(&self, sql: impl SqlSafeStr, args: &[Value<'_>]) -> Result<u64, sqlx::Error> {
        self.pooled().await?.conn().count(sql, args).await
    }

    /// Runs `reads` in one read-only transaction: its statements all see one snapshot.
    pub async fn read<T, E>(&self, reads: impl AsyncFnOnce(Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        match self {
            Db::Sqlite(db) => {
                let mut tx = db.read_pool().begin().await?;
                let result = reads(Conn::Sqlite(&mut tx)).await;
                tx.rollback().await?;
                result
            }
            Db::Postgres(db) => {
                let mut tx = postgres::begin(db.pool()).await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
                let result = reads(Conn::Postgres(&mut tx)).await;
                tx.rollback().await?;
                result
            }
        }
    }

    /// Runs `job` in a write transaction and answers once its writes are durable. A job that
    /// returns an error leaves nothing written, and never undoes another's writes.
    pub async fn write<T, E>(
        &self,
        job: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = job(conn).await;
                let keep = result.is_ok();
                let answer: Answer = Box::new(move |failure: Option<&str>| {
                    let answer = match failure {
                        None => result,
                        Some(why) => Err(E::from(anyhow::anyhow!("the write was not committed: {why}"))),
                    };
                    let _ = sender.send(answer);
                });
                Done { keep, answer }
            })
        });
        match self {
            Db::Sqlite(db) => db.submit(job).await,
            Db::Postgres(db) => db.submit(job),
        }
        // The job is dropped unrun only if the writer stopped or its transaction could not
        // begin; the writer logs why.
        receiver.await.unwrap_or_else(|_| Err(E::from(anyhow::anyhow!("the write did not run (see the log)"))))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(db) => db.close().await,
        }
    }
}
