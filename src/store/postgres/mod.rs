//! The shared store: PostgreSQL, for several stateless roster nodes behind a load balancer.
//!
//! Every node holds a pool of connections; correctness under concurrency comes from the
//! database, not from the node: unique indexes reject duplicate credentials, `SELECT … FOR
//! UPDATE` serialises read-modify-write updates of one user, and advisory locks make start-up
//! work (migrations, the search index refresh, the first signing key) happen once.
//!
//! Pool settings ride on the database URL as roster's own query parameters, removed before the
//! URL reaches the driver: `max_connections` (per node, default 16) and `acquire_timeout`
//! (seconds a request waits for a free connection, default 30, as on SQLite). A statement
//! timeout of 30 s and an idle-in-transaction timeout of 60 s are set on every connection
//! unless the URL sets them (`options[statement_timeout]=5s`).

mod organizations;
mod rbac;
mod tenant_admin;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::SubsecRound;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection as _, Row};

use super::sqlite::describe_migration_error;
use super::{Client, ClientGrant, Conflict, SearchPage, SigningKey, Store, StoreError, UserEdit, UserSearch, Window};
use crate::domain::connection::Connection;
use crate::domain::metadata;
use crate::domain::time::Timestamp;
use crate::domain::user::{Identity, User};
use crate::search::{self, sql::Bind};

/// `user_metadata_values.source`, as in the SQLite store.
const APP_METADATA: i16 = 0;
const USER_METADATA: i16 = 1;

const DEFAULT_MAX_CONNECTIONS: u32 = 16;
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_STATEMENT_TIMEOUT: &str = "30s";
const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";
/// A pooled connection idle this long is pinged before use.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// Bump when what the store derives for search (folded columns, metadata leaves) changes:
/// the next start recomputes it for every user.
const SEARCH_INDEX_VERSION: &str = "1";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Documents are stored as `json` (their text kept as written) and read back as text.
const USER_COLUMNS: &str = "user_id, email, email_verified, username, phone_number, phone_verified, name, nickname, \
     given_name, family_name, picture, blocked, app_metadata::text AS app_metadata, \
     user_metadata::text AS user_metadata, identities::text AS identities, multifactor::text AS multifactor, \
     multifactor_last_modified, last_ip, last_login, logins_count, last_password_reset, created_at, updated_at";

pub struct PostgresStore {
    pool: PgPool,
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

struct PoolSettings {
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

impl PostgresStore {
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let shown = display_url(database_url);
        let (driver_url, settings) = pool_settings(database_url)?;
        let mut options =
            PgConnectOptions::from_str(&driver_url).with_context(|| format!("invalid PostgreSQL URL {shown}"))?;
        if options.get_application_name().is_none() {
            options = options.application_name("roster");
        }
        let configured = options.get_options().unwrap_or_default().to_owned();
        if !configured.contains("statement_timeout") {
            options = options.options([("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)]);
        }
        if !configured.contains("idle_in_transaction_session_timeout") {
            options = options.options([("idle_in_transaction_session_timeout", DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT)]);
        }
        // Searches are prepared statements whose best plan depends on their values (how many
        // users `plan:pro` matches, how small LIMIT is). After five runs PostgreSQL may switch
        // to a generic plan that ignores them and, say, sorts a million rows for a page of 50;
        // planning every run costs a fraction of a millisecond.
        if !configured.contains("plan_cache_mode") {
            options = options.options([("plan_cache_mode", "force_custom_plan")]);
        }

        prepare(&options).await.with_context(|| format!("cannot prepare the PostgreSQL database {shown}"))?;

        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(1)
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
        Ok(Self { pool })
    }
}

/// Start-up work, under an advisory lock, so that nodes starting together run it one after the
/// other: migrations, then the search index refresh. Without a statement timeout: a node
/// waits for another's migration to finish, and a long migration is not cut short.
async fn prepare(options: &PgConnectOptions) -> anyhow::Result<()> {
    let options = options.clone().options([("statement_timeout", "0")]);
    // Two connections: one holds the lock (and refreshes), the migrator takes the other.
    let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.context("cannot connect")?;
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext('roster.start-up'))").execute(&mut *lock).await?;
    MIGRATOR.run(&pool).await.map_err(describe_migration_error)?;
    refresh_search_index(&mut lock).await.context("cannot refresh the search index")?;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('roster.start-up'))").execute(&mut *lock).await?;
    drop(lock);
    pool.close().await;
    Ok(())
}

/// Recomputes the search columns and the metadata side table for every user, in batches,
/// when they were derived by an older version (or never, for users written before them).
async fn refresh_search_index(conn: &mut PgConnection) -> anyhow::Result<()> {
    let current: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'search_index_version'")
        .fetch_optional(&mut *conn)
        .await?;
    if current.as_deref() == Some(SEARCH_INDEX_VERSION) {
        return Ok(());
    }
    let mut after = 0i64;
    let mut refreshed = 0u64;
    loop {
        let mut tx = conn.begin().await?;
        // FOR UPDATE: nodes still running keep writing; a row is rewritten as it is now.
        let sql = format!("SELECT seq, {USER_COLUMNS} FROM users WHERE seq > $1 ORDER BY seq LIMIT 1000 FOR UPDATE");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).fetch_all(&mut *tx).await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        for row in &rows {
            let user = user_from_row(row)?;
            let seq = write_user_row(&mut tx, &user, false).await?;
            write_metadata_leaves(&mut tx, seq, &user).await?;
        }
        tx.commit().await?;
        refreshed += rows.len() as u64;
    }
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('search_index_version', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(SEARCH_INDEX_VERSION)
    .execute(&mut *conn)
    .await?;
    if refreshed > 0 {
        tracing::info!(users = refreshed, "search index rebuilt");
    }
    Ok(())
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bind_value<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    bind: &Bind,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match bind {
        Bind::Text(text) => query.bind(text.clone()),
        Bind::Integer(number) => query.bind(*number),
        Bind::Boolean(flag) => query.bind(*flag),
    }
}

/// Begins a transaction in a task of its own, which runs to completion even when the request
/// that asked for it is dropped (its client hung up). sqlx 0.9's `begin` is not cancel-safe on
/// PostgreSQL: dropped after sending `BEGIN` but before counting the transaction, it rolls
/// nothing back, and the connection goes back to the pool inside a transaction that every later
/// statement on it joins and nothing commits. Once begun, a dropped `Transaction` rolls back.
async fn begin(pool: &PgPool) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let pool = pool.clone();
    Ok(tokio::spawn(async move { pool.begin().await }).await.context("the task beginning a transaction failed")??)
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values serialize")
}

fn optional_json<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> anyhow::Result<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).with_context(|| format!("corrupt JSON in users.{column}"))).transpose()
}

/// What the store keeps of a time: milliseconds, as Auth0 writes them and SQLite stores them,
/// so that both stores order and render the same values alike.
fn stamp(time: &Timestamp) -> Timestamp {
    time.trunc_subsecs(3)
}

fn user_from_row(row: &PgRow) -> anyhow::Result<User> {
    let identities: Vec<Identity> = optional_json(row, "identities")?.unwrap_or_default();
    anyhow::ensure!(!identities.is_empty(), "user without identities");
    Ok(User {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        username: row.try_get("username")?,
        phone_number: row.try_get("phone_number")?,
        phone_verified: row.try_get("phone_verified")?,
        name: row.try_get("name")?,
        nickname: row.try_get("nickname")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        picture: row.try_get("picture")?,
        blocked: row.try_get("blocked")?,
        app_metadata: optional_json(row, "app_metadata")?,
        user_metadata: optional_json(row, "user_metadata")?,
        identities,
        multifactor: optional_json(row, "multifactor")?,
        multifactor_last_modified: row.try_get("multifactor_last_modified")?,
        last_ip: row.try_get("last_ip")?,
        last_login: row.try_get("last_login")?,
        logins_count: row.try_get("logins_count")?,
        last_password_reset: row.try_get("last_password_reset")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const CONNECTION_COLUMNS: &str = "id, name, strategy, options::text AS options, enabled_clients";

fn connection_from_row(row: &PgRow) -> anyhow::Result<Connection> {
    let options: String = row.try_get("options")?;
    let Json(enabled_clients): Json<Vec<String>> = row.try_get("enabled_clients")?;
    Ok(Connection {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        strategy: row.try_get("strategy")?,
        options: serde_json::from_str(&options).context("corrupt connection options")?,
        enabled_clients,
    })
}

fn client_from_row(row: &PgRow) -> anyhow::Result<Client> {
    Ok(Client {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        client_secret: row.try_get("client_secret")?,
        app_type: row.try_get("app_type")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Maps a unique violation to the rule it broke, by the name of the constraint or index
/// (migrations/postgres/0001).
fn conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let which = match db.constraint() {
            Some("identities_connection_email") => Some(Conflict::Email),
            Some("identities_connection_username") => Some(Conflict::Username),
            Some("identities_connection_phone") => Some(Conflict::PhoneNumber),
            Some("users_user_id_key" | "identities_pkey") => Some(Conflict::UserId),
            _ => None,
        };
        if let Some(which) = which {
            return StoreError::Conflict(which);
        }
    }
    StoreError::Other(error.into())
}

/// Writes every column of `user`, its search keys included (insert, or full replace of the
/// row); returns the row's `seq`.
async fn write_user_row(conn: &mut PgConnection, user: &User, insert: bool) -> Result<i64, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO users (email, email_verified, username, phone_number, phone_verified, name, nickname, given_name, \
         family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, multifactor_last_modified, \
         last_ip, last_login, logins_count, last_password_reset, created_at, updated_at, email_ci, email_domain_ci, \
         name_ci, given_name_ci, family_name_ci, nickname_ci, user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13::json, $14::json, $15::json, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29) RETURNING seq"
    } else {
        "UPDATE users SET email = $1, email_verified = $2, username = $3, phone_number = $4, phone_verified = $5, \
         name = $6, nickname = $7, given_name = $8, family_name = $9, picture = $10, blocked = $11, \
         app_metadata = $12::json, user_metadata = $13::json, identities = $14::json, multifactor = $15::json, \
         multifactor_last_modified = $16, last_ip = $17, last_login = $18, logins_count = $19, \
         last_password_reset = $20, created_at = $21, updated_at = $22, email_ci = $23, email_domain_ci = $24, \
         name_ci = $25, given_name_ci = $26, family_name_ci = $27, nickname_ci = $28 WHERE user_id = $29 RETURNING seq"
    };
    let optional_stamp = |t: &Option<Timestamp>| t.as_ref().map(stamp);
    let keys = user.search_keys();
    sqlx::query_scalar(sql)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(&user.username)
        .bind(&user.phone_number)
        .bind(user.phone_verified)
        .bind(&user.name)
        .bind(&user.nickname)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.picture)
        .bind(user.blocked)
        .bind(user.app_metadata.as_ref().map(json_text))
        .bind(user.user_metadata.as_ref().map(json_text))
        .bind(json_text(&user.identities))
        .bind(user.multifactor.as_ref().map(json_text))
        .bind(optional_stamp(&user.multifactor_last_modified))
        .bind(&user.last_ip)
        .bind(optional_stamp(&user.last_login))
        .bind(user.logins_count)
        .bind(optional_stamp(&user.last_password_reset))
        .bind(stamp(&user.created_at))
        .bind(stamp(&user.updated_at))
        .bind(keys.email)
        .bind(keys.email_domain)
        .bind(keys.name)
        .bind(keys.given_name)
        .bind(keys.family_name)
        .bind(keys.nickname)
        .bind(&user.user_id)
        .fetch_one(conn)
        .await
}

/// Replaces the metadata leaves of the user at `seq` in the search side table, in one
/// statement whatever their number.
async fn write_metadata_leaves(conn: &mut PgConnection, seq: i64, user: &User) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_metadata_values WHERE seq = $1").bind(seq).execute(&mut *conn).await?;
    let (mut sources, mut paths, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (source, metadata) in [(APP_METADATA, &user.app_metadata), (USER_METADATA, &user.user_metadata)] {
        let Some(metadata) = metadata else { continue };
        for (path, value) in metadata::leaves(metadata) {
            sources.push(source);
            paths.push(without_nul(path));
            values.push(without_nul(value));
        }
    }
    if sources.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_metadata_values (seq, source, path, value) \
         SELECT $1, source, path, value FROM UNNEST($2::smallint[], $3::text[], $4::text[]) AS leaf (source, path, value)",
    )
    .bind(seq)
    .bind(sources)
    .bind(paths)
    .bind(values)
    .execute(conn)
    .await?;
    Ok(())
}

/// PostgreSQL text cannot hold U+0000, which JSON strings may (the `json` documents keep it
/// escaped): the search side table gets U+FFFD in its place, and the search dialect must map
/// query values the same way.
pub(crate) fn without_nul(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

/// Inserts a user, its primary identity and its metadata leaves inside a transaction.
async fn insert_user(conn: &mut PgConnection, user: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
    let seq = write_user_row(conn, user, true).await.map_err(conflict)?;
    let identity = user.primary_identity();
    let keys = user.credential_keys();
    sqlx::query(
        "INSERT INTO identities (provider, provider_user_id, user_id, connection, email, username, phone_number, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&identity.provider)
    .bind(&identity.user_id)
    .bind(&user.user_id)
    .bind(&identity.connection)
    .bind(keys.email)
    .bind(keys.username)
    .bind(keys.phone_number)
    .bind(password_hash)
    .execute(&mut *conn)
    .await
    .map_err(conflict)?;
    write_metadata_leaves(conn, seq, user).await.map_err(|e| StoreError::Other(e.into()))?;
    Ok(())
}

/// `SELECT <columns> FROM users WHERE user_id = $1`, built once from the constant column list.
fn select_user_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"))
}

fn select_user_for_update_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1 FOR UPDATE"))
}

fn select_connection_sql(filter: &'static str) -> String {
    format!("SELECT {CONNECTION_COLUMNS} FROM connections {filter}")
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let rows = sqlx::query("SELECT kid, private_key_pkcs8, created_at FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKey {
                    kid: row.try_get("kid")?,
                    private_key_pkcs8: row.try_get("private_key_pkcs8")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn ensure_signing_key(&self, candidate: &SigningKey) -> anyhow::Result<Vec<SigningKey>> {
        // The transaction-scoped advisory lock makes check-then-insert atomic across nodes:
        // the INSERT's snapshot is taken after the lock, so it sees a key another node stored.
        let mut tx = begin(&self.pool).await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('roster.signing_keys'))").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key_pkcs8, created_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
        )
        .bind(&candidate.kid)
        .bind(&candidate.private_key_pkcs8)
        .bind(stamp(&candidate.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.signing_keys().await
    }

    async fn connections(&self) -> anyhow::Result<Vec<Connection>> {
        let sql = select_connection_sql("ORDER BY name COLLATE \"C\"");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(connection_from_row).collect()
    }

    async fn connection_by_name(&self, name: &str) -> anyhow::Result<Option<Connection>> {
        let sql = select_connection_sql("WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn save_connection(&self, connection: &Connection) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, name, strategy, options, enabled_clients) VALUES ($1, $2, $3, $4::json, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, strategy = excluded.strategy, \
             options = excluded.options, enabled_clients = excluded.enabled_clients",
        )
        .bind(&connection.id)
        .bind(&connection.name)
        .bind(&connection.strategy)
        .bind(json_text(&connection.options))
        .bind(Json(&connection.enabled_clients))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Client>> {
        let row = sqlx::query(
            "SELECT client_id, name, client_secret, app_type, created_at FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn clients(&self) -> anyhow::Result<Vec<Client>> {
        let rows = sqlx::query(
            "SELECT client_id, name, client_secret, app_type, created_at FROM clients ORDER BY created_at, client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn save_client(&self, client: &Client) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, name, client_secret, app_type, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, client_secret = excluded.client_secret, \
             app_type = excluded.app_type",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.client_secret)
        .bind(&client.app_type)
        .bind(stamp(&client.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn client_grant(&self, client_id: &str, audience: &str) -> anyhow::Result<Option<ClientGrant>> {
        let row = sqlx::query(
            "SELECT id, client_id, audience, scope FROM client_grants WHERE client_id = $1 AND audience = $2",
        )
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let Json(scope): Json<Vec<String>> = row.try_get("scope")?;
            Ok(ClientGrant {
                id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                audience: row.try_get("audience")?,
                scope,
            })
        })
        .transpose()
    }

    async fn save_client_grant(&self, grant: &ClientGrant) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO client_grants (id, client_id, audience, scope) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, audience) DO UPDATE SET scope = excluded.scope",
        )
        .bind(&grant.id)
        .bind(&grant.client_id)
        .bind(&grant.audience)
        .bind(Json(&grant.scope))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool).await?;
        insert_user(&mut tx, user, password_hash).await?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn import_users(&self, users: &[(User, Option<String>)]) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool).await?;
        for (user, password_hash) in users {
            insert_user(&mut tx, user, password_hash.as_deref()).await?;
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn user(&self, user_id: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(select_user_sql()).bind(user_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_user(
        &self,
        user_id: &str,
        password_hash: Option<&str>,
        edit: UserEdit<'_>,
    ) -> Result<Option<User>, StoreError> {
        // FOR UPDATE: a concurrent update of the same user, on this node or another, waits for
        // this transaction and then edits the row as this one left it.
        let mut tx = begin(&self.pool).await?;
        let row = sqlx::query(select_user_for_update_sql())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
        let Some(row) = row else { return Ok(None) };
        let mut user = user_from_row(&row)?;
        edit(&mut user);
        let seq = write_user_row(&mut tx, &user, false).await.map_err(conflict)?;
        write_metadata_leaves(&mut tx, seq, &user).await.map_err(|e| StoreError::Other(e.into()))?;
        let identity = user.primary_identity();
        let keys = user.credential_keys();
        sqlx::query(
            "UPDATE identities SET email = $1, username = $2, phone_number = $3, \
             password_hash = COALESCE($4, password_hash) WHERE provider = $5 AND provider_user_id = $6",
        )
        .bind(keys.email)
        .bind(keys.username)
        .bind(keys.phone_number)
        .bind(password_hash)
        .bind(&identity.provider)
        .bind(&identity.user_id)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(Some(user))
    }

    async fn delete_user(&self, user_id: &str) -> anyhow::Result<bool> {
        // Identities and metadata leaves go with the user (ON DELETE CASCADE).
        let result = sqlx::query("DELETE FROM users WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn search_users(&self, search: &UserSearch) -> anyhow::Result<SearchPage> {
        let condition = search::postgres::compile(&search.query);
        let mut binds = condition.binds.clone();
        let mut parameter = |bind: Bind| {
            binds.push(bind);
            format!("${}", binds.len())
        };
        let window_sql = match search.window {
            Window::Page { offset, limit } => {
                // SQLite's orders: NULLs first ascending, last descending.
                let order = match search.sort {
                    Some(sort) if sort.descending => format!("u.{} DESC NULLS LAST, u.seq DESC", sort.field.column()),
                    Some(sort) => format!("u.{} ASC NULLS FIRST, u.seq ASC", sort.field.column()),
                    None => "u.seq ASC".to_owned(),
                };
                let limit = parameter(Bind::Integer(clamp(limit)));
                let offset = parameter(Bind::Integer(clamp(offset)));
                format!("ORDER BY {order} LIMIT {limit} OFFSET {offset}")
            }
            Window::After { after, limit } => {
                let after = parameter(Bind::Integer(after.unwrap_or(0)));
                // One row more than asked tells whether another page follows.
                let limit = parameter(Bind::Integer(clamp(limit).saturating_add(1)));
                format!("AND u.seq > {after} ORDER BY u.seq ASC LIMIT {limit}")
            }
        };
        let sql = format!("SELECT u.seq, {USER_COLUMNS} FROM users u WHERE {} {window_sql}", condition.sql);
        let mut rows =
            binds.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), bind_value).fetch_all(&self.pool).await?;
        let mut next = None;
        if let Window::After { limit, .. } = search.window
            && rows.len() as u64 > limit
        {
            rows.truncate(limit as usize);
            next = rows.last().map(|row| row.try_get("seq")).transpose()?;
        }
        let users = rows.iter().map(user_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        // No cache of totals here: other nodes write to the same database.
        let total = if search.with_total {
            let count = search::sql::count(&search.query, &search::postgres::Postgres);
            let sql = count.sql.clone();
            let total: i64 = count
                .binds
                .iter()
                .fold(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)), |q, bind| match bind {
                    Bind::Text(text) => q.bind(text.clone()),
                    Bind::Integer(number) => q.bind(*number),
                    Bind::Boolean(flag) => q.bind(*flag),
                })
                .fetch_one(&self.pool)
                .await?;
            Some(total as u64)
        } else {
            None
        };
        Ok(SearchPage { users, total, next })
    }

    async fn password_hash(&self, user_id: &str) -> anyhow::Result<Option<String>> {
        let hash: Option<Option<String>> = sqlx::query_scalar(
            "SELECT i.password_hash FROM identities i JOIN users u ON u.user_id = i.user_id \
             WHERE u.user_id = $1 AND u.user_id = i.provider || '|' || i.provider_user_id",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hash.flatten())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn insert_connection_if_absent(&self, connection: &Connection) -> anyhow::Result<Connection> {
        // The unique name makes this atomic: a node that loses the race inserts nothing.
        sqlx::query(
            "INSERT INTO connections (id, name, strategy, options, enabled_clients) VALUES ($1, $2, $3, $4::json, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&connection.id)
        .bind(&connection.name)
        .bind(&connection.strategy)
        .bind(json_text(&connection.options))
        .bind(Json(&connection.enabled_clients))
        .execute(&self.pool)
        .await?;
        self.connection_by_name(&connection.name).await?.context("connection vanished after insert")
    }

    async fn insert_client_if_absent(&self, client: &Client, by_name: bool) -> anyhow::Result<Client> {
        // Client names are not unique, so a transaction-scoped advisory lock serialises this
        // check-then-insert across nodes.
        let mut tx = begin(&self.pool).await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('roster.clients'))").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO clients (client_id, name, client_secret, app_type, created_at) SELECT $1, $2, $3, $4, $5 \
             WHERE NOT EXISTS (SELECT 1 FROM clients WHERE client_id = $1 OR ($6 AND name = $2)) \
             ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.client_secret)
        .bind(&client.app_type)
        .bind(stamp(&client.created_at))
        .bind(by_name)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT client_id, name, client_secret, app_type, created_at FROM clients \
             WHERE client_id = $1 OR ($2 AND name = $3) ORDER BY client_id = $1 DESC, created_at, client_id LIMIT 1",
        )
        .bind(&client.client_id)
        .bind(by_name)
        .bind(&client.name)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        client_from_row(&row)
    }
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
