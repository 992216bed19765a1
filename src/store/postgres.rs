//! PostgreSQL, for several stateless roster nodes behind a load balancer.
//!
//! Every node holds a pool of connections; correctness under concurrency comes from the
//! database, not from the node: unique indexes reject duplicate credentials, row locks
//! (`Engine::for_update`, `for_key_share`) serialise read-modify-writes and keep what a write
//! relies on from being deleted under it, and advisory locks make start-up work happen once.
//! Each write job is a transaction in a task of its own; PostgreSQL already flushes commits that
//! arrive together with one WAL fsync, so there is no batching here.
//!
//! Pool settings ride on the database URL as roster's own query parameters, removed before the
//! URL reaches the driver: `max_connections` (per node, default 16) and `acquire_timeout`
//! (seconds a request waits for a free connection, default 30, as on SQLite). A statement
//! timeout of 30 s and an idle-in-transaction timeout of 60 s are set on every connection
//! unless the URL sets them (`options[statement_timeout]=5s`).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::SubsecRound;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgHasArrayType, PgPool, PgPoolOptions, PgRow, PgTypeInfo,
};
use sqlx::types::Json;
use sqlx::{Arguments, AssertSqlSafe, Connection as _, PgConnection, Postgres, Row};

use super::db::{Conn, DbError, Done, Job, Value};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

const DEFAULT_MAX_CONNECTIONS: u32 = 16;
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_STATEMENT_TIMEOUT: &str = "30s";
const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";
/// A pooled connection idle this long is pinged before use.
const STALE_AFTER: Duration = Duration::from_secs(1);

pub(crate) struct PgDb {
    pool: PgPool,
    /// A hosted tenant's schema: its pool is shared by every hosted tenant of the server, and
    /// each transaction sets its search path (`SET LOCAL`); the server's own has none.
    schema: Option<String>,
}

impl PgDb {
    /// Connects, then migrates and runs `prepare` under an advisory lock, so that nodes starting
    /// together do it one after the other.
    pub async fn open(
        database_url: &str,
        prepare: impl AsyncFnOnce(Conn<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        let shown = display_url(database_url);
        let (options, settings) = connect_options(database_url, None)?;
        start_up(&options, &start_up_lock(None), prepare)
            .await
            .with_context(|| format!("cannot prepare the PostgreSQL database {shown}"))?;
        Ok(Self { pool: connect_pool(options, &settings, 1, &shown).await?, schema: None })
    }

    /// A hosted tenant's store in `schema`, served by `pool` (`hosted_pool`). `migrate`: run
    /// the migrations and start-up work there first (a schema served before this start may be
    /// behind; one just made from a migrated spare is not).
    pub async fn open_in_schema(
        database_url: &str,
        pool: &PgPool,
        schema: &str,
        migrate: bool,
        prepare: impl AsyncFnOnce(Conn<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        if migrate {
            migrate_schema(database_url, schema, prepare).await?;
        }
        Ok(Self { pool: pool.clone(), schema: Some(schema.to_owned()) })
    }

    /// `SET LOCAL search_path …` for a hosted tenant's transactions; empty for the server's own.
    fn in_schema(&self) -> String {
        self.schema.as_deref().map_or_else(String::new, |schema| format!("; SET LOCAL search_path TO {schema}, public"))
    }

    /// A connection with the store's search path, outside a transaction.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        if let Some(schema) = &self.schema {
            sqlx::raw_sql(AssertSqlSafe(format!("SET search_path TO {schema}, public"))).execute(&mut *conn).await?;
        }
        Ok(conn)
    }
}

/// The pool hosted tenants share: a server may host hundreds on one PostgreSQL server's
/// `max_connections`, and a new tenant's store then opens no connection. Its connections'
/// own search path names no schema, so a statement that did not set one fails rather than
/// reach the server's own tenant.
pub(super) async fn hosted_pool(database_url: &str) -> anyhow::Result<PgPool> {
    let (options, settings) = connect_options(database_url, Some("roster_no_tenant"))?;
    connect_pool(options, &settings, 0, &display_url(database_url)).await
}

async fn connect_pool(
    options: PgConnectOptions,
    settings: &PoolSettings,
    min_connections: u32,
    shown: &str,
) -> anyhow::Result<PgPool> {
    {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(min_connections)
            .acquire_timeout(settings.acquire_timeout)
            // sqlx pings every connection it hands out: a round trip per query. Ping only those
            // idle long enough to have been dropped (a server restart, a proxy's idle timeout).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > STALE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(1800))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {shown}"))?;
        Ok(pool)
    }
}

impl PgDb {
    pub fn pool_use(&self) -> crate::metrics::PoolUse {
        let (size, idle) = (u64::from(self.pool.size()), self.pool.num_idle() as u64);
        let max = u64::from(self.pool.options().get_max_connections());
        crate::metrics::PoolUse { in_use: size.saturating_sub(idle), idle, max }
    }

    /// A job in a read-only transaction that sees one snapshot.
    pub async fn read<T, E: From<DbError>>(&self, job: Job<Result<T, E>>) -> Result<T, E> {
        let statement = format!("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY{}", self.in_schema());
        let mut tx = begin(&self.pool, Some(statement)).await.map_err(DbError::from)?;
        let result = job(Conn::Postgres(&mut tx)).await;
        tx.rollback().await.map_err(DbError::from)?;
        result
    }

    /// Runs the job in a transaction of its own task, so that it ends (committed or rolled
    /// back) even if its caller is dropped.
    pub fn submit(&self, job: Job<Done>) {
        let pool = self.pool.clone();
        let statement = format!("BEGIN; SET LOCAL plan_cache_mode = auto{}", self.in_schema());
        tokio::spawn(async move {
            // Writes plan their statements once (PostgreSQL's default): the pool's plan for
            // each run's values, which searches need, also applied to the query a foreign key
            // runs for each row inserted, and planning it was half of a bulk load's time.
            let mut tx = match pool.begin_with(AssertSqlSafe(statement)).await {
                Ok(tx) => tx,
                Err(error) => return tracing::error!(%error, "write not run: cannot begin a transaction"),
            };
            let Done { keep, answer } = job(Conn::Postgres(&mut tx)).await;
            let ended = if keep { tx.commit().await } else { tx.rollback().await };
            match ended {
                Ok(()) => answer(None),
                Err(error) if keep => answer(Some(&error.to_string())),
                // The job failed on its own; its answer says why.
                Err(_) => answer(None),
            }
        });
    }

    /// Closes the pool; a hosted tenant's is shared, and closed with the tenants.
    pub async fn close(&self) {
        if self.schema.is_none() {
            self.pool.close().await;
        }
    }
}

/// The driver's options for `database_url` (in `schema`, when given), and roster's pool settings.
pub(super) fn connect_options(
    database_url: &str,
    schema: Option<&str>,
) -> anyhow::Result<(PgConnectOptions, PoolSettings)> {
    let (driver_url, settings) = pool_settings(database_url)?;
    let mut options = PgConnectOptions::from_str(&driver_url)
        .with_context(|| format!("invalid PostgreSQL URL {}", display_url(database_url)))?;
    if options.get_application_name().is_none() {
        options = options.application_name("roster");
    }
    let configured = options.get_options().unwrap_or_default().to_owned();
    for (setting, default) in [
        ("statement_timeout", DEFAULT_STATEMENT_TIMEOUT),
        ("idle_in_transaction_session_timeout", DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT),
        // Searches are prepared statements whose best plan depends on their values (how many
        // users `plan:pro` matches, how small LIMIT is). After five runs PostgreSQL may
        // switch to a generic plan that ignores them and, say, sorts a million rows for a
        // page of 50; planning every run costs a fraction of a millisecond.
        ("plan_cache_mode", "force_custom_plan"),
    ] {
        if !configured.contains(setting) {
            options = options.options([(setting, default)]);
        }
    }
    if let Some(schema) = schema {
        options = options.options([("search_path", format!("{schema},public"))]);
    }
    Ok((options, settings))
}

/// Migrates a new schema of the database and runs `prepare` in it, without keeping a pool: a
/// spare for a hosted tenant.
pub(super) async fn migrate_schema(
    database_url: &str,
    schema: &str,
    prepare: impl AsyncFnOnce(Conn<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (options, _) = connect_options(database_url, Some(schema))?;
    start_up(&options, &start_up_lock(Some(schema)), prepare).await
}

/// The advisory lock start-up work holds: one per schema, so that a tenant's start does not
/// wait for another's migrations (the server's own keeps the name it always had).
fn start_up_lock(schema: Option<&str>) -> String {
    schema.map_or_else(|| "roster.start-up".to_owned(), |schema| format!("roster.start-up:{schema}"))
}

/// Begins a transaction in a task of its own, which runs to completion even when the request
/// that asked for it is dropped. sqlx 0.9's `begin` is not cancel-safe on PostgreSQL: dropped
/// after sending `BEGIN` but before counting the transaction, it rolls nothing back, and the
/// connection goes back to the pool inside a transaction that later statements join and nothing
/// commits. Once begun, a dropped `Transaction` rolls back.
pub(super) async fn begin(
    pool: &PgPool,
    statement: Option<String>,
) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move {
        match statement {
            Some(statement) => pool.begin_with(AssertSqlSafe(statement)).await,
            None => pool.begin().await,
        }
    })
    .await
    .map_err(|error| sqlx::Error::Io(std::io::Error::other(error)))?
}

/// Migrations, then `prepare`, under a session advisory lock. Without a statement timeout: a
/// node waits for another's migration to finish, and a long migration is not cut short.
async fn start_up(
    options: &PgConnectOptions,
    lock_name: &str,
    prepare: impl AsyncFnOnce(Conn<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let options = options.clone().options([("statement_timeout", "0")]);
    // Two connections: one holds the lock (and prepares), the migrator takes the other.
    let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.context("cannot connect")?;
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))").bind(lock_name).execute(&mut *lock).await?;
    MIGRATOR.run(&pool).await.map_err(|error| match error {
        sqlx::migrate::MigrateError::VersionMissing(version) => anyhow::anyhow!(super::db::newer_schema(version)),
        other => anyhow::Error::new(other).context("cannot migrate the database"),
    })?;
    prepare(Conn::Postgres(&mut lock)).await?;
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(lock_name).execute(&mut *lock).await?;
    drop(lock);
    pool.close().await;
    Ok(())
}

/// The URL with its password masked, for messages and the start-up banner.
pub fn display_url(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else { return database_url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => database_url.to_owned(),
        },
        None => database_url.to_owned(),
    }
}

pub(super) struct PoolSettings {
    max_connections: u32,
    acquire_timeout: Duration,
}

/// Splits roster's pool parameters off the URL; the rest goes to the driver.
fn pool_settings(database_url: &str) -> anyhow::Result<(String, PoolSettings)> {
    let mut settings =
        PoolSettings { max_connections: DEFAULT_MAX_CONNECTIONS, acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT };
    let Some((base, query)) = database_url.split_once('?') else { return Ok((database_url.to_owned(), settings)) };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).context("invalid query in the database URL")?;
    let mut rest = Vec::new();
    for (key, value) in pairs {
        match key.as_str() {
            "max_connections" => {
                settings.max_connections = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .with_context(|| format!("max_connections must be a positive integer, not {value:?}"))?;
            }
            "acquire_timeout" => {
                let seconds: u64 = value
                    .parse()
                    .with_context(|| format!("acquire_timeout must be a number of seconds, not {value:?}"))?;
                settings.acquire_timeout = Duration::from_secs(seconds);
            }
            _ => rest.push((key, value)),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", serde_urlencoded::to_string(&rest).context("database URL query")?)
    };
    Ok((url, settings))
}

/// A JSON document bound as `json` (not sqlx's `jsonb`), so that its text, key order
/// included, is stored as written.
struct JsonText<'a>(&'a str);

impl sqlx::Type<Postgres> for JsonText<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(114))
    }
}

impl sqlx::Encode<'_, Postgres> for JsonText<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
}

impl PgHasArrayType for JsonText<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(199))
    }
}

/// What the store keeps of a time: milliseconds, as Auth0 writes them and SQLite stores them,
/// so that both engines order and render the same values alike.
fn stored_time(at: &Option<chrono::DateTime<chrono::Utc>>) -> Option<chrono::DateTime<chrono::Utc>> {
    at.map(|at| at.trunc_subsecs(3))
}

fn arguments(values: &[Value<'_>]) -> Result<PgArguments, sqlx::Error> {
    let mut arguments = PgArguments::default();
    for value in values {
        match value {
            Value::Text(text) => arguments.add(text.as_deref()),
            Value::Int(number) => arguments.add(*number),
            Value::Bool(flag) => arguments.add(*flag),
            Value::Time(at) => arguments.add(stored_time(at)),
            Value::Json(text) => arguments.add(text.as_deref().map(JsonText)),
            Value::Bytes(bytes) => arguments.add(bytes.as_ref()),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
}

pub(super) async fn execute(conn: &mut PgConnection, sql: &str, args: &[Value<'_>]) -> Result<u64, DbError> {
    let done = sqlx::query_with(AssertSqlSafe(sql), arguments(args)?).execute(conn).await?;
    Ok(done.rows_affected())
}

pub(super) async fn fetch(conn: &mut PgConnection, sql: &str, args: &[Value<'_>]) -> Result<Vec<PgRow>, DbError> {
    Ok(sqlx::query_with(AssertSqlSafe(sql), arguments(args)?).fetch_all(conn).await?)
}

/// Inserts `values` (`width` to a row) as columns, an array each:
/// `INSERT INTO {into} SELECT * FROM UNNEST($1::text[], …) {tail}`. A thousand rows' values as
/// parameters cost PostgreSQL more to parse and plan than to insert, and the statement's text
/// would change with their number; this one's does not, so it is prepared once.
pub(super) async fn insert_columns(
    conn: &mut PgConnection,
    into: &str,
    width: usize,
    values: &[Value<'_>],
    tail: &str,
) -> Result<Vec<PgRow>, DbError> {
    let mut arguments = PgArguments::default();
    let mut arrays = Vec::with_capacity(width);
    for column in 0..width.min(values.len()) {
        let cells = || values.iter().skip(column).step_by(width);
        // Each column holds one kind of value: the first row's says which.
        macro_rules! array {
            ($kind:ident, $cast:literal, |$cell:ident| $item:expr) => {{
                let items: Option<Vec<_>> =
                    cells().map(|value| if let Value::$kind($cell) = value { Some($item) } else { None }).collect();
                let items =
                    items.ok_or_else(|| sqlx::Error::Protocol(format!("column {column} mixes kinds of values")))?;
                (arguments.add(items), $cast)
            }};
        }
        let (added, cast) = match &values[column] {
            Value::Text(_) => array!(Text, "text", |text| text.as_deref()),
            Value::Int(_) => array!(Int, "int8", |number| *number),
            Value::Bool(_) => array!(Bool, "bool", |flag| *flag),
            Value::Time(_) => array!(Time, "timestamptz", |at| stored_time(at)),
            Value::Json(_) => array!(Json, "json", |text| text.as_deref().map(JsonText)),
            Value::Bytes(_) => array!(Bytes, "bytea", |bytes| bytes.as_ref()),
        };
        added.map_err(sqlx::Error::Encode)?;
        arrays.push(format!("${}::{cast}[]", column + 1));
    }
    let sql = format!("INSERT INTO {into} SELECT * FROM UNNEST({}) {tail}", arrays.join(", "));
    Ok(sqlx::query_with(AssertSqlSafe(sql), arguments).fetch_all(conn).await?)
}

pub(super) fn json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> anyhow::Result<Option<T>> {
    let value: Option<Json<T>> = row.try_get(column)?;
    Ok(value.map(|Json(value)| value))
}

/// The rule a unique constraint or index (named in the migrations) stands for, named as
/// SQLite names it: `table.column`, the last column of the key.
pub(super) fn unique_key(constraint: &str) -> String {
    let key = match constraint {
        "identities_connection_email" => "identities.email",
        "identities_connection_username" => "identities.username",
        "identities_connection_phone" => "identities.phone_number",
        "identities_pkey" => "identities.provider_user_id",
        "users_user_id_key" => "users.user_id",
        "roles_name_key" => "roles.name",
        "resource_servers_identifier_key" => "resource_servers.identifier",
        "organizations_name_key" => "organizations.name",
        "connections_name_key" => "connections.name",
        "client_grants_client_audience_key" => "client_grants.audience",
        other => other,
    };
    key.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_only() {
        assert_eq!(display_url("postgres://u:secret@db:5432/roster?x=1"), "postgres://u:***@db:5432/roster?x=1");
        assert_eq!(display_url("postgres://u@db/roster"), "postgres://u@db/roster");
        assert_eq!(display_url("postgres://db/roster"), "postgres://db/roster");
        assert_eq!(display_url("sqlite://roster.db"), "sqlite://roster.db");
    }

    #[test]
    fn pool_parameters_are_taken_off_the_url() {
        let (url, settings) =
            pool_settings("postgres://u@db/r?max_connections=4&sslmode=disable&acquire_timeout=3").unwrap();
        assert_eq!(url, "postgres://u@db/r?sslmode=disable");
        assert_eq!((settings.max_connections, settings.acquire_timeout), (4, Duration::from_secs(3)));
        let (url, settings) = pool_settings("postgres://u@db/r").unwrap();
        assert_eq!((url.as_str(), settings.max_connections), ("postgres://u@db/r", DEFAULT_MAX_CONNECTIONS));
        assert!(pool_settings("postgres://u@db/r?max_connections=0").is_err());
    }
}
