//! The one interface store operations are written against, whichever engine runs them.
//!
//! Operations write their SQL once, with `$n` placeholders, which both engines read, and bind
//! [`Value`]s that each engine stores its own way (times as ISO text on SQLite and `timestamptz`
//! on PostgreSQL, JSON as text and as `json`). Rows come back as a [`Row`] that decodes either.
//! What the SQL itself must say differently (row locks, advisory locks) comes from [`Engine`].
//! SQL text is only ever built from constants; every value is bound.
//!
//! Three ways in: single reads (`Db::fetch_*`), several reads in one snapshot (`Db::read`), and
//! writes (`Db::write`). Reads and writes of several statements are jobs (`job!`), closures that
//! own what they use: on SQLite a job runs on a thread the store owns (the group-commit writer
//! for writes, which commits many in one transaction, each in a savepoint of its own); on
//! PostgreSQL a write is a transaction in a task of its own. Either way a write runs to its end
//! even if the request that asked for it is dropped, and its caller hears back only once it is
//! durable.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgRow};

use super::{postgres, sqlite};
use crate::domain::listing::Listed;
use crate::domain::time::Timestamp;
use crate::search::sql::Bind;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Time(Option<Timestamp>),
    /// A serialized JSON document.
    Json(Option<String>),
    Bytes(Cow<'a, [u8]>),
}

impl Value<'_> {
    pub fn json(value: &impl Serialize) -> Self {
        Value::Json(Some(serde_json::to_string(value).expect("JSON values serialize")))
    }

    pub fn json_opt(value: &Option<impl Serialize>) -> Self {
        value.as_ref().map_or(Value::Json(None), Value::json)
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Text(text) => Value::Text(text.map(|t| Cow::Owned(t.into_owned()))),
            Value::Bytes(bytes) => Value::Bytes(Cow::Owned(bytes.into_owned())),
            Value::Int(n) => Value::Int(n),
            Value::Bool(b) => Value::Bool(b),
            Value::Time(t) => Value::Time(t),
            Value::Json(j) => Value::Json(j),
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
    &'a [u8] => |v| Value::Bytes(Cow::Borrowed(v)),
    // A search parameter.
    &'a Bind => |v| match v {
        Bind::Text(text) => Value::from(text),
        Bind::Integer(number) => Value::Int(Some(*number)),
        Bind::Boolean(flag) => Value::Bool(Some(*flag)),
    },
}

/// `args![a, b, …]`: the values bound to `$1`, `$2`, ….
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::db::Value::from($value)),*][..]
    };
}
pub(crate) use args;

/// `job!(|conn| { … })`: a job for `Db::read` or `Db::write`, a closure that moves what it
/// captures and runs the block with `conn` (a `Conn`), boxed as the engines need.
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
fn placeholders(first: usize, n: usize) -> String {
    if n == 0 {
        return "NULL".to_owned();
    }
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The placeholders of `list`'s values for an `IN (…)`, numbered after `fixed`'s (`NULL`, which
/// matches nothing, when there are none); and the values to bind, `fixed`'s then `list`'s.
pub(crate) fn in_list<'a, T: Into<Value<'a>>>(
    fixed: &[Value<'a>],
    list: impl IntoIterator<Item = T>,
) -> (String, Vec<Value<'a>>) {
    let mut values = fixed.to_vec();
    values.extend(list.into_iter().map(Into::into));
    (placeholders(fixed.len() + 1, values.len() - fixed.len()), values)
}

/// Inserts rows into `into` (`table (columns…)`), `values` holding each row's values in turn;
/// `tail` ends each statement (`ON CONFLICT …`, `RETURNING …`). The rows each returned. On
/// SQLite in as few multi-row statements as its limit on parameters allows (32,766); on
/// PostgreSQL in one, a column at a time (`postgres::insert_columns`).
pub(crate) async fn insert_rows(
    conn: &mut Conn<'_>,
    into: &str,
    width: usize,
    values: &[Value<'_>],
    tail: &str,
) -> Result<Vec<Row>, DbError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    if let Conn::Postgres(pg) = conn {
        let rows = postgres::insert_columns(pg, into, width, values, tail).await?;
        return Ok(rows.into_iter().map(Row::Postgres).collect());
    }
    let mut returned = Vec::new();
    for chunk in values.chunks((32_000 / width) * width) {
        // `(?, ?), (?, ?), …`: anonymous parameters, which SQLite binds by position (it looks a
        // named parameter up among the others, so thousands of `$n` cost it seconds).
        let row = format!("({})", vec!["?"; width].join(", "));
        let sql = format!("INSERT INTO {into} VALUES {} {tail}", vec![row; chunk.len() / width].join(", "));
        returned.extend(conn.fetch_all(&sql, chunk).await?);
    }
    Ok(returned)
}

/// Inserts into `into` (`table (columns…)`, the last column the ids') a row for each of `ids`,
/// `fixed`'s values before it; rows that exist stay as they are (assigning again changes nothing).
pub(crate) async fn insert_each(
    conn: &mut Conn<'_>,
    into: &str,
    fixed: &[Value<'_>],
    ids: &[String],
) -> Result<(), DbError> {
    let values: Vec<Value> = ids.iter().flat_map(|id| fixed.iter().cloned().chain([Value::from(id)])).collect();
    insert_rows(conn, into, fixed.len() + 1, &values, "ON CONFLICT DO NOTHING").await?;
    Ok(())
}

/// Runs `delete` (`DELETE FROM … WHERE … AND column`, binding `fixed`) for the rows whose column
/// is one of `ids`, a bounded `IN` list at a time (a tenant file may name a hundred thousand).
pub(crate) async fn delete_each(
    conn: &mut Conn<'_>,
    delete: &str,
    fixed: &[Value<'_>],
    ids: &[String],
) -> Result<(), DbError> {
    for chunk in ids.chunks(1000) {
        let (list, values) = in_list(fixed, chunk);
        conn.execute(&format!("{delete} IN ({list})"), &values).await?;
    }
    Ok(())
}

/// A page of `select`'s rows, made items, and the `total` that `count` answers: both bind
/// `args`, and `select` (which ends with its `ORDER BY`) is given the window's `LIMIT` and `OFFSET`.
pub(crate) async fn page<T>(
    conn: &mut Conn<'_>,
    (select, count): (&str, &str),
    args: &[Value<'_>],
    (offset, limit): (u64, u64),
    item: impl Fn(&Row) -> anyhow::Result<T>,
) -> anyhow::Result<Listed<T>> {
    let sql = format!("{select} LIMIT ${} OFFSET ${}", args.len() + 1, args.len() + 2);
    let mut values = args.to_vec();
    values.extend([Value::from(clamp(limit)), Value::from(clamp(offset))]);
    let items = conn.fetch_all(&sql, &values).await?.iter().map(item).collect::<anyhow::Result<_>>()?;
    Ok(Listed { items, total: conn.count(count, args).await? })
}

/// Why a database a newer roster migrated is refused.
pub(crate) fn newer_schema(version: i64) -> String {
    format!(
        "the database schema is newer than this roster binary (it has migration {version}, which this binary does \
         not know); run a newer roster"
    )
}

/// A statement that failed, on either engine.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
}

impl DbError {
    /// Which uniqueness rule the statement broke, as `table.column` (the last column of the
    /// index), whichever engine reported it.
    pub fn unique_violation(&self) -> Option<String> {
        match self {
            DbError::Sqlite(error) => sqlite::unique_key(error),
            DbError::Postgres(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                db.constraint().map(postgres::unique_key)
            }
            DbError::Postgres(_) => None,
        }
    }
}

/// What the SQL text must say differently on each engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// What this engine takes of the two.
    fn pick<T>(self, sqlite: T, postgres: T) -> T {
        match self {
            Engine::Sqlite => sqlite,
            Engine::Postgres => postgres,
        }
    }

    /// Locks the rows read until the transaction ends. SQLite needs none: one writer at a time.
    pub fn for_update(self) -> &'static str {
        self.pick("", " FOR UPDATE")
    }

    /// Keeps the rows read from being deleted (or their key changed) until the transaction ends.
    pub fn for_key_share(self) -> &'static str {
        self.pick("", " FOR KEY SHARE")
    }

    /// Begins a transaction that writes (SQLite takes the write lock at once, so that waiting
    /// for another process's write is the busy timeout's, not a failed upgrade).
    pub fn begin_write(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }

    /// Rebuilds SQLite's FTS5 trigram table after search columns were rewritten in bulk;
    /// PostgreSQL's pg_trgm indexes follow their table.
    pub fn rebuild_trigram_index(self) -> Option<&'static str> {
        self.pick(Some("INSERT INTO users_trigram (users_trigram) VALUES ('rebuild')"), None)
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
    Sqlite(sqlite::SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub fn get<T>(&self, column: &str) -> anyhow::Result<T>
    where
        T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        let value = match self {
            Row::Sqlite(row) => row.get(column),
            Row::Postgres(row) => sqlx::Row::try_get(row, column).map_err(anyhow::Error::from),
        };
        value.with_context(|| format!("reading column {column}"))
    }

    pub fn opt_time(&self, column: &str) -> anyhow::Result<Option<Timestamp>> {
        match self {
            Row::Sqlite(row) => row.time(column),
            Row::Postgres(row) => Ok(sqlx::Row::try_get(row, column)?),
        }
    }

    pub fn time(&self, column: &str) -> anyhow::Result<Timestamp> {
        self.opt_time(column)?.with_context(|| format!("missing {column}"))
    }

    pub fn opt_json<T: DeserializeOwned>(&self, column: &str) -> anyhow::Result<Option<T>> {
        let parsed = match self {
            Row::Sqlite(row) => row.json(column),
            Row::Postgres(row) => postgres::json(row, column),
        };
        parsed.with_context(|| format!("corrupt JSON in {column}"))
    }

    pub fn json<T: DeserializeOwned>(&self, column: &str) -> anyhow::Result<T> {
        self.opt_json(column)?.with_context(|| format!("missing {column}"))
    }
}

/// A connection (inside a transaction, but for `Db::fetch_*`) that statements run on. On
/// SQLite a statement runs to its end when called: a job's future never waits.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut rusqlite::Connection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs a statement; the rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Value<'_>]) -> Result<u64, DbError> {
        match self {
            Conn::Sqlite(conn) => Ok(sqlite::execute(conn, sql, args)?),
            Conn::Postgres(conn) => postgres::execute(conn, sql, args).await,
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, DbError> {
        match self {
            Conn::Sqlite(conn) => Ok(sqlite::fetch(conn, sql, args)?.into_iter().map(Row::Sqlite).collect()),
            Conn::Postgres(conn) => {
                Ok(postgres::fetch(conn, sql, args).await?.into_iter().map(Row::Postgres).collect())
            }
        }
    }

    pub async fn fetch_optional(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Option<Row>, DbError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    /// The row `sql` finds, if any, made an item.
    pub async fn find<T>(
        &mut self,
        sql: &str,
        args: &[Value<'_>],
        item: impl FnOnce(&Row) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        self.fetch_optional(sql, args).await?.as_ref().map(item).transpose()
    }

    pub async fn fetch_one(&mut self, sql: &str, args: &[Value<'_>]) -> Result<Row, DbError> {
        let row = self.fetch_optional(sql, args).await?;
        row.ok_or(DbError::Postgres(sqlx::Error::RowNotFound))
    }

    pub async fn exists(&mut self, sql: &str, args: &[Value<'_>]) -> Result<bool, DbError> {
        Ok(self.fetch_optional(sql, args).await?.is_some())
    }

    /// The `total` of a `SELECT COUNT(*) AS total …`.
    pub async fn count(&mut self, sql: &str, args: &[Value<'_>]) -> anyhow::Result<u64> {
        let total: i64 = self.fetch_one(sql, args).await?.get("total")?;
        Ok(total as u64)
    }

    /// Of `ids`, those `table` has no row for (in the order given); with `hold`, the others are
    /// kept from being deleted until the transaction ends.
    pub async fn missing(&mut self, table: &str, key: &str, ids: &[String], hold: bool) -> anyhow::Result<Vec<String>> {
        let hold = if hold { self.engine().for_key_share() } else { "" };
        let mut found = std::collections::HashSet::new();
        // A tenant file may add a hundred thousand members at once: a bounded IN list at a time.
        for chunk in ids.chunks(1000) {
            let (list, values) = in_list(&[], chunk);
            let sql = format!("SELECT {key} FROM {table} WHERE {key} IN ({list}){hold}");
            for row in self.fetch_all(&sql, &values).await? {
                found.insert(row.get::<String>(key)?);
            }
        }
        Ok(ids.iter().filter(|id| !found.contains(*id)).cloned().collect())
    }

    /// Whether `table` has the row whose `key` is `id`; with `hold`, it is kept from being
    /// deleted until the transaction ends.
    pub async fn has(&mut self, table: &str, key: &str, id: &str, hold: bool) -> anyhow::Result<bool> {
        Ok(self.missing(table, key, &[id.to_owned()], hold).await?.is_empty())
    }

    /// Up to `limit` rows of `select` (whose `WHERE` binds `id` as `$1`) after `after`, a cursor
    /// over the columns `(time, user)`, in their order; and whether more follow.
    pub async fn fetch_after(
        &mut self,
        select: &str,
        id: &str,
        (time, user): (&str, &str),
        after: Option<(Timestamp, &str)>,
        limit: u64,
    ) -> Result<(Vec<Row>, bool), DbError> {
        let sql = format!(
            "{select} AND ($2 IS NULL OR {time} > $2 OR ({time} = $2 AND {user} > $3)) ORDER BY {time}, {user} LIMIT $4"
        );
        let (at, user_id) = after.unzip();
        // One row more than asked tells whether another page follows.
        let mut rows = self.fetch_all(&sql, args![id, &at, user_id, clamp(limit).saturating_add(1)]).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    /// Takes a lock named `name` until the transaction ends, so that checks and the writes they
    /// guard cannot interleave with another node's (PostgreSQL); SQLite has a single writer.
    pub async fn lock(&mut self, name: &str) -> Result<(), DbError> {
        if let Conn::Postgres(_) = self {
            self.execute("SELECT pg_advisory_xact_lock(hashtext($1))", args![name]).await?;
        }
        Ok(())
    }
}

/// A job: runs on a connection inside a transaction. For `Db::write` it says whether to keep
/// what it wrote and how to answer its caller once that is durable (or has failed).
pub(crate) type Job<R> = Box<dyn for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, R> + Send>;

/// How a write job is committed on SQLite.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Commit {
    /// With the writes that arrive beside it, in a savepoint of its own, one fsync for all.
    Grouped,
    /// In a transaction of its own, which may be long (a bulk load): its savepoints journal in
    /// a file, not in memory, and no neighbour waits for its commit.
    Own,
    /// As `Own`, and with the database to itself when no other connection has it open: written
    /// through a rollback journal, each page once; reads through this store fail until it
    /// ends, so its caller makes none.
    Exclusive,
}

pub(crate) struct Done {
    pub keep: bool,
    pub answer: Answer,
}

/// Answers a write's caller: called with `None` once the job's writes are committed (or, for a
/// job that failed, rolled back), or with why the commit failed.
pub(crate) type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

pub(crate) enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
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

    /// How many of the pool's connections are lent and idle, and its most.
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        match self {
            Db::Sqlite(db) => db.pool_use(),
            Db::Postgres(db) => db.pool_use(),
        }
    }

    /// The versions of the migrations this binary brings.
    pub fn migration_versions(&self) -> Vec<i64> {
        match self {
            Db::Sqlite(_) => sqlite::MIGRATOR.iter().map(|m| m.version).collect(),
            Db::Postgres(_) => postgres::MIGRATOR.iter().map(|m| m.version).collect(),
        }
    }

    /// One statement's rows, outside a transaction.
    pub async fn fetch_all(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(db) => Ok(db.fetch(sql, args).await?.into_iter().map(Row::Sqlite).collect()),
            Db::Postgres(db) => {
                let mut conn = db.acquire().await?;
                Conn::Postgres(&mut conn).fetch_all(sql, args).await
            }
        }
    }

    /// A row found through an index (a key lookup), outside a transaction. On SQLite it runs in
    /// place, as it takes microseconds; statements that may scan go through `fetch_all`.
    pub async fn fetch_optional(&self, sql: &str, args: &[Value<'_>]) -> Result<Option<Row>, DbError> {
        match self {
            Db::Sqlite(db) => Ok(db.lookup(sql, args)?.into_iter().next().map(Row::Sqlite)),
            Db::Postgres(_) => Ok(self.fetch_all(sql, args).await?.into_iter().next()),
        }
    }

    /// The few rows a key lookup finds (an indexed equality), in place on SQLite as
    /// `fetch_optional` is.
    pub async fn lookup_all(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(db) => Ok(db.lookup(sql, args)?.into_iter().map(Row::Sqlite).collect()),
            Db::Postgres(_) => self.fetch_all(sql, args).await,
        }
    }

    /// The row a key lookup finds, if any, made an item.
    pub async fn find<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        item: impl FnOnce(&Row) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        self.fetch_optional(sql, args).await?.as_ref().map(item).transpose()
    }

    pub async fn exists(&self, sql: &str, args: &[Value<'_>]) -> Result<bool, DbError> {
        Ok(self.fetch_optional(sql, args).await?.is_some())
    }

    /// The `total` of a `SELECT COUNT(*) AS total …`.
    pub async fn count(&self, sql: &str, args: &[Value<'_>]) -> anyhow::Result<u64> {
        let row = self.fetch_all(sql, args).await?.into_iter().next().context("a count returned no row")?;
        Ok(row.get::<i64>("total")? as u64)
    }

    /// Runs one statement as a write job of its own; the rows it changed.
    pub async fn execute<E>(&self, sql: &'static str, args: &[Value<'_>]) -> Result<u64, E>
    where
        E: From<DbError> + From<anyhow::Error> + Send + 'static,
    {
        let args: Vec<Value<'static>> = args.iter().cloned().map(Value::into_owned).collect();
        self.write(job!(|conn| { Ok(conn.execute(sql, &args).await?) })).await
    }

    /// Runs `job` in a read-only transaction: its statements all see one snapshot.
    pub async fn read<T, E>(
        &self,
        job: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<anyhow::Error> + Send + 'static,
    {
        match self {
            Db::Sqlite(db) => db.read(Box::new(job)).await,
            Db::Postgres(db) => db.read(Box::new(job)).await,
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
        self.submit(job, Commit::Grouped).await.await
    }

    /// Queues `job` as `write` does, committed as `commit` says; the future answers once it is
    /// durable. On PostgreSQL every job has a transaction of its own.
    pub async fn submit<T, E, F>(&self, job: F, commit: Commit) -> impl Future<Output = Result<T, E>> + use<T, E, F>
    where
        F: for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let job: Job<Done> = Box::new(move |conn| {
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
            Db::Sqlite(db) => db.submit(job, commit).await,
            Db::Postgres(db) => db.submit(job),
        }
        // The job is dropped unrun only if the writer stopped, its transaction could not begin
        // or it panicked; the engine logs why.
        async {
            receiver.await.unwrap_or_else(|_| Err(E::from(anyhow::anyhow!("the write did not run (see the log)"))))
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(db) => db.close().await,
        }
    }

    /// Writes a consistent copy of the whole database, as of its last commit, to a new file.
    pub async fn snapshot_into(&self, path: &std::path::Path) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(db) => db.snapshot_into(path).await,
            Db::Postgres(_) => anyhow::bail!("snapshots are of SQLite databases"),
        }
    }
}
