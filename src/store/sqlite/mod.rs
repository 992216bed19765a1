//! The embedded store: one SQLite file in WAL mode.
//!
//! Reads go through a pool of connections; writes go through a single connection, so write
//! transactions queue in the pool instead of failing with `SQLITE_BUSY`. `synchronous=FULL`
//! makes every acknowledged write durable across a power loss, not only a process crash.

mod organizations;
mod rbac;
mod tenant_admin;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::{Client, ClientGrant, Conflict, SearchPage, SigningKey, Store, StoreError, UserEdit, UserSearch, Window};
use crate::domain::connection::Connection;
use crate::domain::metadata;
use crate::domain::time::{self, Timestamp};
use crate::domain::user::{Identity, User};
use crate::search::{self, sql::Bind};

/// `user_metadata_values.source`
const APP_METADATA: i64 = 0;
const USER_METADATA: i64 = 1;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    totals: TotalsCache,
}

/// Totals of recent searches, valid until the next write to users. Both SDKs ask for
/// `include_totals` on every page they fetch, and counting a broad match costs far more than
/// the page itself; a walk through one search's pages counts once. This process is the only
/// writer of the file, so its own write counter tells when a total may have changed.
#[derive(Default)]
struct TotalsCache {
    generation: std::sync::atomic::AtomicU64,
    /// Count statement → (write generation it was counted at, total).
    entries: std::sync::Mutex<std::collections::HashMap<CountStatement, (u64, u64)>>,
}

/// A count's SQL text and its parameters.
type CountStatement = (String, Vec<Bind>);

/// Bounds the cache; when full it starts over.
const MAX_CACHED_TOTALS: usize = 1024;

impl TotalsCache {
    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Called after every committed write to users: cached totals may be wrong from now on.
    fn invalidate(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn get(&self, key: &CountStatement) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(generation, _)| *generation == self.generation()).map(|(_, total)| *total)
    }

    /// `generation` is the one read before counting, so a count that raced a write is never
    /// served after it.
    fn put(&self, key: CountStatement, generation: u64, total: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED_TOTALS {
            entries.clear();
        }
        entries.insert(key, (generation, total));
    }
}

const USER_COLUMNS: &str = "user_id, email, email_verified, username, phone_number, phone_verified, name, nickname, \
     given_name, family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, \
     multifactor_last_modified, last_ip, last_login, logins_count, last_password_reset, created_at, updated_at";

impl SqliteStore {
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        if database_url.contains(":memory:") || database_url.contains("mode=memory") {
            anyhow::bail!("an in-memory SQLite database would lose every write; give a file path (sqlite://roster.db)");
        }
        let options = SqliteConnectOptions::from_str(database_url)
            .with_context(|| format!("invalid SQLite URL {database_url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open SQLite database {database_url:?}"))?;
        MIGRATOR.run(&write).await.map_err(describe_migration_error)?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .context("cannot open SQLite read connections")?;
        let store = Self { read, write, totals: TotalsCache::default() };
        store.refresh_search_index().await?;
        // Gives the query planner statistics (bounded work; only tables that need them), so
        // that it picks the selective index for a search rather than the first one it sees.
        sqlx::query("PRAGMA optimize=0x10002").execute(&store.write).await?;
        Ok(store)
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

/// `USER_COLUMNS` qualified with the `u` alias used by searches.
const USER_COLUMNS_U: &str = "u.user_id, u.email, u.email_verified, u.username, u.phone_number, u.phone_verified, u.name, \
     u.nickname, u.given_name, u.family_name, u.picture, u.blocked, u.app_metadata, u.user_metadata, u.identities, \
     u.multifactor, u.multifactor_last_modified, u.last_ip, u.last_login, u.logins_count, u.last_password_reset, \
     u.created_at, u.updated_at";

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bind_value<'q>(
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    bind: &Bind,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    match bind {
        Bind::Text(text) => query.bind(text.clone()),
        Bind::Integer(number) => query.bind(*number),
        Bind::Boolean(flag) => query.bind(*flag),
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values serialize")
}

fn optional_json<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> anyhow::Result<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).with_context(|| format!("corrupt JSON in users.{column}"))).transpose()
}

fn optional_time(row: &SqliteRow, column: &str) -> anyhow::Result<Option<Timestamp>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| time::parse(&t).with_context(|| format!("corrupt timestamp in {column}: {t}"))).transpose()
}

fn required_time(row: &SqliteRow, column: &str) -> anyhow::Result<Timestamp> {
    optional_time(row, column)?.with_context(|| format!("missing {column}"))
}

fn user_from_row(row: &SqliteRow) -> anyhow::Result<User> {
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
        multifactor_last_modified: optional_time(row, "multifactor_last_modified")?,
        last_ip: row.try_get("last_ip")?,
        last_login: optional_time(row, "last_login")?,
        logins_count: row.try_get("logins_count")?,
        last_password_reset: optional_time(row, "last_password_reset")?,
        created_at: required_time(row, "created_at")?,
        updated_at: required_time(row, "updated_at")?,
    })
}

fn connection_from_row(row: &SqliteRow) -> anyhow::Result<Connection> {
    let options: String = row.try_get("options")?;
    let enabled_clients: String = row.try_get("enabled_clients")?;
    Ok(Connection {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        strategy: row.try_get("strategy")?,
        options: serde_json::from_str(&options).context("corrupt connection options")?,
        enabled_clients: serde_json::from_str(&enabled_clients).context("corrupt enabled_clients")?,
    })
}

fn client_from_row(row: &SqliteRow) -> anyhow::Result<Client> {
    Ok(Client {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        client_secret: row.try_get("client_secret")?,
        app_type: row.try_get("app_type")?,
        created_at: required_time(row, "created_at")?,
    })
}

/// Maps a unique-constraint failure to the rule it broke.
fn conflict(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let message = db.message();
        let which = if message.contains("identities.email") {
            Conflict::Email
        } else if message.contains("identities.username") {
            Conflict::Username
        } else if message.contains("identities.phone_number") {
            Conflict::PhoneNumber
        } else {
            Conflict::UserId
        };
        return StoreError::Conflict(which);
    }
    StoreError::Other(error.into())
}

/// Writes every column of `user`, its search keys included (insert, or full replace of the
/// row); returns the row's `seq`.
async fn write_user_row(tx: &mut Transaction<'_, Sqlite>, user: &User, insert: bool) -> Result<i64, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO users (email, email_verified, username, phone_number, phone_verified, name, nickname, given_name, \
         family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, multifactor_last_modified, \
         last_ip, last_login, logins_count, last_password_reset, created_at, updated_at, email_ci, email_domain_ci, \
         name_ci, given_name_ci, family_name_ci, nickname_ci, user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
         $23, $24, $25, $26, $27, $28, $29) RETURNING seq"
    } else {
        "UPDATE users SET email = $1, email_verified = $2, username = $3, phone_number = $4, phone_verified = $5, \
         name = $6, nickname = $7, given_name = $8, family_name = $9, picture = $10, blocked = $11, app_metadata = $12, \
         user_metadata = $13, identities = $14, multifactor = $15, multifactor_last_modified = $16, last_ip = $17, \
         last_login = $18, logins_count = $19, last_password_reset = $20, created_at = $21, updated_at = $22, \
         email_ci = $23, email_domain_ci = $24, name_ci = $25, given_name_ci = $26, family_name_ci = $27, \
         nickname_ci = $28 WHERE user_id = $29 RETURNING seq"
    };
    let stamp = |t: &Option<Timestamp>| t.as_ref().map(time::format);
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
        .bind(stamp(&user.multifactor_last_modified))
        .bind(&user.last_ip)
        .bind(stamp(&user.last_login))
        .bind(user.logins_count)
        .bind(stamp(&user.last_password_reset))
        .bind(time::format(&user.created_at))
        .bind(time::format(&user.updated_at))
        .bind(keys.email)
        .bind(keys.email_domain)
        .bind(keys.name)
        .bind(keys.given_name)
        .bind(keys.family_name)
        .bind(keys.nickname)
        .bind(&user.user_id)
        .fetch_one(&mut **tx)
        .await
}

/// Replaces the metadata leaves of the user at `seq` in the search side table.
async fn write_metadata_leaves(tx: &mut Transaction<'_, Sqlite>, seq: i64, user: &User) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_metadata_values WHERE seq = $1").bind(seq).execute(&mut **tx).await?;
    for (source, metadata) in [(APP_METADATA, &user.app_metadata), (USER_METADATA, &user.user_metadata)] {
        let Some(metadata) = metadata else { continue };
        for (path, value) in metadata::leaves(metadata) {
            sqlx::query("INSERT INTO user_metadata_values (seq, source, path, value) VALUES ($1, $2, $3, $4)")
                .bind(seq)
                .bind(source)
                .bind(path)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Inserts a user, its primary identity and its metadata leaves inside `tx`.
async fn insert_user(
    tx: &mut Transaction<'_, Sqlite>,
    user: &User,
    password_hash: Option<&str>,
) -> Result<(), StoreError> {
    let seq = write_user_row(tx, user, true).await.map_err(conflict)?;
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
    .execute(&mut **tx)
    .await
    .map_err(conflict)?;
    write_metadata_leaves(tx, seq, user).await.map_err(|e| StoreError::Other(e.into()))?;
    Ok(())
}

/// Bump when what the store derives for search (folded columns, metadata leaves) changes:
/// the next start recomputes it for every user.
const SEARCH_INDEX_VERSION: &str = "1";

impl SqliteStore {
    /// Runs a count statement, or takes its result from the cache when no write happened since.
    async fn count(&self, statement: search::sql::Condition) -> anyhow::Result<u64> {
        let generation = self.totals.generation();
        let key = (statement.sql, statement.binds);
        if let Some(total) = self.totals.get(&key) {
            return Ok(total);
        }
        let sql = key.0.clone();
        let total: i64 = key
            .1
            .iter()
            .fold(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)), |q, bind| match bind {
                Bind::Text(text) => q.bind(text.clone()),
                Bind::Integer(number) => q.bind(*number),
                Bind::Boolean(flag) => q.bind(*flag),
            })
            .fetch_one(&self.read)
            .await?;
        self.totals.put(key, generation, total as u64);
        Ok(total as u64)
    }

    /// Recomputes the search columns and the metadata side table for every user, in batches,
    /// when they were derived by an older version (or never, for users written before them).
    async fn refresh_search_index(&self) -> anyhow::Result<()> {
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'search_index_version'")
                .fetch_optional(&self.write)
                .await?;
        if current.as_deref() == Some(SEARCH_INDEX_VERSION) {
            return Ok(());
        }
        let mut after = 0i64;
        let mut refreshed = 0u64;
        loop {
            let mut tx = self.write.begin().await?;
            let sql = format!("SELECT seq, {USER_COLUMNS} FROM users WHERE seq > $1 ORDER BY seq LIMIT 1000");
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
        sqlx::query("INSERT INTO users_trigram (users_trigram) VALUES ('rebuild')").execute(&self.write).await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('search_index_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SEARCH_INDEX_VERSION)
        .execute(&self.write)
        .await?;
        if refreshed > 0 {
            tracing::info!(users = refreshed, "search index rebuilt");
        }
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let rows = sqlx::query("SELECT kid, private_key_pkcs8, created_at FROM signing_keys ORDER BY created_at")
            .fetch_all(&self.write)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKey {
                    kid: row.try_get("kid")?,
                    private_key_pkcs8: row.try_get("private_key_pkcs8")?,
                    created_at: required_time(row, "created_at")?,
                })
            })
            .collect()
    }

    async fn ensure_signing_key(&self, candidate: &SigningKey) -> anyhow::Result<Vec<SigningKey>> {
        // One writer connection: the check and the insert cannot interleave with another.
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_key_pkcs8, created_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
        )
        .bind(&candidate.kid)
        .bind(&candidate.private_key_pkcs8)
        .bind(time::format(&candidate.created_at))
        .execute(&self.write)
        .await?;
        self.signing_keys().await
    }

    async fn connections(&self) -> anyhow::Result<Vec<Connection>> {
        let rows = sqlx::query("SELECT id, name, strategy, options, enabled_clients FROM connections ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(connection_from_row).collect()
    }

    async fn connection_by_name(&self, name: &str) -> anyhow::Result<Option<Connection>> {
        let row = sqlx::query("SELECT id, name, strategy, options, enabled_clients FROM connections WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn save_connection(&self, connection: &Connection) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, name, strategy, options, enabled_clients) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, strategy = excluded.strategy, \
             options = excluded.options, enabled_clients = excluded.enabled_clients",
        )
        .bind(&connection.id)
        .bind(&connection.name)
        .bind(&connection.strategy)
        .bind(json_text(&connection.options))
        .bind(json_text(&connection.enabled_clients))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Client>> {
        let row = sqlx::query(
            "SELECT client_id, name, client_secret, app_type, created_at FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn clients(&self) -> anyhow::Result<Vec<Client>> {
        let rows =
            sqlx::query("SELECT client_id, name, client_secret, app_type, created_at FROM clients ORDER BY created_at")
                .fetch_all(&self.read)
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
        .bind(time::format(&client.created_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn client_grant(&self, client_id: &str, audience: &str) -> anyhow::Result<Option<ClientGrant>> {
        let row = sqlx::query(
            "SELECT id, client_id, audience, scope FROM client_grants WHERE client_id = $1 AND audience = $2",
        )
        .bind(client_id)
        .bind(audience)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            let scope: String = row.try_get("scope")?;
            Ok(ClientGrant {
                id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                audience: row.try_get("audience")?,
                scope: serde_json::from_str(&scope).context("corrupt grant scope")?,
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
        .bind(json_text(&grant.scope))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        insert_user(&mut tx, user, password_hash).await?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        self.totals.invalidate();
        Ok(())
    }

    async fn import_users(&self, users: &[(User, Option<String>)]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        for (user, password_hash) in users {
            insert_user(&mut tx, user, password_hash.as_deref()).await?;
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
        self.totals.invalidate();
        Ok(())
    }

    async fn user(&self, user_id: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(select_user_sql()).bind(user_id).fetch_optional(&self.read).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_user(
        &self,
        user_id: &str,
        password_hash: Option<&str>,
        edit: UserEdit<'_>,
    ) -> Result<Option<User>, StoreError> {
        // The single write connection serialises this read-modify-write against every other write.
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        let row =
            sqlx::query(select_user_sql()).bind(user_id).fetch_optional(&mut *tx).await.map_err(anyhow::Error::from)?;
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
        self.totals.invalidate();
        Ok(Some(user))
    }

    async fn delete_user(&self, user_id: &str) -> anyhow::Result<bool> {
        // Identities go with the user (ON DELETE CASCADE).
        let result = sqlx::query("DELETE FROM users WHERE user_id = $1").bind(user_id).execute(&self.write).await?;
        self.totals.invalidate();
        Ok(result.rows_affected() > 0)
    }

    async fn search_users(&self, search: &UserSearch) -> anyhow::Result<SearchPage> {
        let condition = search::sqlite::compile(&search.query);
        let mut binds = condition.binds.clone();
        let window_sql = match search.window {
            Window::Page { offset, limit } => {
                let order = match search.sort {
                    Some(sort) => {
                        let direction = if sort.descending { "DESC" } else { "ASC" };
                        format!("u.{} {direction}, u.seq {direction}", sort.field.column())
                    }
                    None => "u.seq ASC".to_owned(),
                };
                binds.extend([Bind::Integer(clamp(limit)), Bind::Integer(clamp(offset))]);
                format!("ORDER BY {order} LIMIT ? OFFSET ?")
            }
            Window::After { after, limit } => {
                // One row more than asked tells whether another page follows.
                binds.extend([Bind::Integer(after.unwrap_or(0)), Bind::Integer(clamp(limit).saturating_add(1))]);
                "AND u.seq > ? ORDER BY u.seq ASC LIMIT ?".to_owned()
            }
        };
        let sql = format!("SELECT u.seq, {USER_COLUMNS_U} FROM users u WHERE {} {window_sql}", condition.sql);
        let mut rows =
            binds.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), bind_value).fetch_all(&self.read).await?;
        let mut next = None;
        if let Window::After { limit, .. } = search.window
            && rows.len() as u64 > limit
        {
            rows.truncate(limit as usize);
            next = rows.last().map(|row| row.try_get("seq")).transpose()?;
        }
        let users = rows.iter().map(user_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        let total = if search.with_total {
            Some(self.count(search::sql::count(&search.query, &search::sqlite::Sqlite)).await?)
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
        .fetch_optional(&self.read)
        .await?;
        Ok(hash.flatten())
    }

    async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA optimize").execute(&self.write).await {
            tracing::warn!(%error, "PRAGMA optimize on shutdown failed");
        }
        self.read.close().await;
        // Folding the WAL back into the main file leaves a single self-contained file on disk.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.write).await {
            tracing::warn!(%error, "WAL checkpoint on shutdown failed");
        }
        self.write.close().await;
    }

    async fn insert_connection_if_absent(&self, connection: &Connection) -> anyhow::Result<Connection> {
        sqlx::query(
            "INSERT INTO connections (id, name, strategy, options, enabled_clients) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&connection.id)
        .bind(&connection.name)
        .bind(&connection.strategy)
        .bind(json_text(&connection.options))
        .bind(json_text(&connection.enabled_clients))
        .execute(&self.write)
        .await?;
        let row = sqlx::query("SELECT id, name, strategy, options, enabled_clients FROM connections WHERE name = $1")
            .bind(&connection.name)
            .fetch_one(&self.write)
            .await?;
        connection_from_row(&row)
    }

    async fn insert_client_if_absent(&self, client: &Client, by_name: bool) -> anyhow::Result<Client> {
        // One statement: SQLite runs it under the database's write lock.
        sqlx::query(
            "INSERT INTO clients (client_id, name, client_secret, app_type, created_at) SELECT $1, $2, $3, $4, $5 \
             WHERE NOT EXISTS (SELECT 1 FROM clients WHERE client_id = $1 OR ($6 AND name = $2))",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.client_secret)
        .bind(&client.app_type)
        .bind(time::format(&client.created_at))
        .bind(by_name)
        .execute(&self.write)
        .await?;
        let row = sqlx::query(
            "SELECT client_id, name, client_secret, app_type, created_at FROM clients \
             WHERE client_id = $1 OR ($2 AND name = $3) ORDER BY client_id = $1 DESC, created_at, client_id LIMIT 1",
        )
        .bind(&client.client_id)
        .bind(by_name)
        .bind(&client.name)
        .fetch_one(&self.write)
        .await?;
        client_from_row(&row)
    }
}

/// `SELECT <columns> FROM users WHERE user_id = $1`, built once from the constant column list.
fn select_user_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"))
}
