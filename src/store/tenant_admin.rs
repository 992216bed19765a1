//! Connections, clients and client grants as the Management API manages them.
//!
//! Listings return every match in id order (byte order): tenants hold tens or hundreds of these
//! objects, not millions, so the HTTP layer filters on attributes kept in JSON and pages in
//! memory.
//!
//! Writes keep references whole: a connection or grant can only name clients that exist,
//! deleting a client removes its grants and takes it out of every connection's enabled
//! clients, and deleting a connection deletes the users whose identity is in it (deleting a
//! resource server, in `store::rbac`, deletes the grants for its identifier). Each of these
//! writes takes the tenant-write lock (`Conn::lock`), so that a check and the write it guards
//! cannot interleave with another node's; users' writes do not take it.

use super::db::{Conn, DbError, Row, Value, args, in_list, job};
use super::{SigningKey, Store};
use crate::domain::client::ClientRecord;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::connection::{Connection, ConnectionRecord};

/// `GET /connections` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Any of these strategies (all when empty).
    pub strategies: Vec<String>,
    pub name: Option<String>,
}

/// `GET /client-grants` filters that are columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientGrantFilter {
    pub client_id: Option<String>,
    pub audience: Option<String>,
}

/// Why a tenant write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a connection with this name exists")]
    ConnectionNameTaken,
    #[error("a grant for this client and audience exists")]
    GrantExists,
    #[error("no client {0}")]
    MissingClient(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for AdminError {
    fn from(error: DbError) -> Self {
        match error.unique_violation().as_deref() {
            Some("connections.name") => AdminError::ConnectionNameTaken,
            Some("client_grants.audience") => AdminError::GrantExists,
            _ => AdminError::Other(error.into()),
        }
    }
}

/// The name of the lock tenant writes take.
pub(super) const TENANT_WRITE: &str = "roster.tenant_admin";

/// Connections, clients and client grants: each a row of its table, read, written and listed
/// alike.
pub(super) trait TenantObject: Clone + Send + Sync + 'static {
    const TABLE: &'static str;
    const KEY: &'static str;
    const COLUMNS: &'static str;
    /// Inserts the object, or updates what may change of the one stored under its key.
    const UPSERT: &'static str;

    fn from_row(row: &Row) -> anyhow::Result<Self>;
    /// What `UPSERT` binds.
    fn values(&self) -> Vec<Value<'_>>;
    /// The clients it names, which must exist.
    fn clients(&self) -> &[String] {
        &[]
    }
}

impl TenantObject for ConnectionRecord {
    const TABLE: &'static str = "connections";
    const KEY: &'static str = "id";
    const COLUMNS: &'static str = "id, name, strategy, options, enabled_clients, document";
    const UPSERT: &'static str = "INSERT INTO connections (id, name, strategy, options, enabled_clients, document) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET options = excluded.options, \
         enabled_clients = excluded.enabled_clients, document = excluded.document";

    fn from_row(row: &Row) -> anyhow::Result<Self> {
        Ok(ConnectionRecord { connection: connection_from_row(row)?, attributes: row.json("document")? })
    }

    fn values(&self) -> Vec<Value<'_>> {
        let connection = &self.connection;
        args![
            &connection.id,
            &connection.name,
            &connection.strategy,
            Value::json(&connection.options),
            Value::json(&connection.enabled_clients),
            Value::json(&self.attributes)
        ]
        .to_vec()
    }

    fn clients(&self) -> &[String] {
        &self.connection.enabled_clients
    }
}

impl TenantObject for ClientRecord {
    const TABLE: &'static str = "clients";
    const KEY: &'static str = "client_id";
    const COLUMNS: &'static str = "client_id, name, client_secret, app_type, created_at, document";
    const UPSERT: &'static str = "INSERT INTO clients (client_id, name, client_secret, app_type, created_at, document) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
         client_secret = excluded.client_secret, app_type = excluded.app_type, document = excluded.document";

    fn from_row(row: &Row) -> anyhow::Result<Self> {
        let app_type: String = row.get("app_type")?;
        Ok(ClientRecord {
            client_id: row.get("client_id")?,
            name: row.get("name")?,
            client_secret: row.get("client_secret")?,
            // The column predates clients without a type; empty means none.
            app_type: (!app_type.is_empty()).then_some(app_type),
            created_at: row.time("created_at")?,
            attributes: row.json("document")?,
        })
    }

    fn values(&self) -> Vec<Value<'_>> {
        args![
            &self.client_id,
            &self.name,
            &self.client_secret,
            self.app_type.as_deref().unwrap_or_default(),
            &self.created_at,
            Value::json(&self.attributes)
        ]
        .to_vec()
    }
}

impl TenantObject for ClientGrantRecord {
    const TABLE: &'static str = "client_grants";
    const KEY: &'static str = "id";
    const COLUMNS: &'static str = "id, client_id, audience, scope, document";
    const UPSERT: &'static str = "INSERT INTO client_grants (id, client_id, audience, scope, document) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, document = excluded.document";

    fn from_row(row: &Row) -> anyhow::Result<Self> {
        Ok(ClientGrantRecord {
            id: row.get("id")?,
            client_id: row.get("client_id")?,
            audience: row.get("audience")?,
            scope: row.json("scope")?,
            attributes: row.json("document")?,
        })
    }

    fn values(&self) -> Vec<Value<'_>> {
        args![&self.id, &self.client_id, &self.audience, Value::json(&self.scope), Value::json(&self.attributes)]
            .to_vec()
    }

    fn clients(&self) -> &[String] {
        std::slice::from_ref(&self.client_id)
    }
}

fn connection_from_row(row: &Row) -> anyhow::Result<Connection> {
    Ok(Connection {
        id: row.get("id")?,
        name: row.get("name")?,
        strategy: row.get("strategy")?,
        options: row.json("options")?,
        enabled_clients: row.json("enabled_clients")?,
    })
}

/// `SELECT`s `T`'s columns, `filter` (a `WHERE` clause, or nothing) after.
fn select<T: TenantObject>(filter: &str) -> String {
    format!("SELECT {} FROM {} {filter}", T::COLUMNS, T::TABLE)
}

fn select_by_key<T: TenantObject>() -> String {
    select::<T>(&format!("WHERE {} = $1", T::KEY))
}

/// Writes `object`; `MissingClient` when a client it names does not exist.
async fn write<T: TenantObject>(conn: &mut Conn<'_>, object: &T) -> Result<(), AdminError> {
    if let Some(client_id) = conn.missing("clients", "client_id", object.clients(), false).await?.into_iter().next() {
        return Err(AdminError::MissingClient(client_id));
    }
    conn.execute(T::UPSERT, &object.values()).await?;
    Ok(())
}

impl Store {
    /// The objects `filter` matches, by key in byte order.
    async fn tenant_objects<T: TenantObject>(&self, filter: &str, values: &[Value<'_>]) -> anyhow::Result<Vec<T>> {
        let sql = select::<T>(&format!("{filter} ORDER BY {} COLLATE \"C\"", T::KEY));
        self.db.fetch_all(&sql, values).await?.iter().map(T::from_row).collect()
    }

    async fn tenant_object<T: TenantObject>(&self, key: &str) -> anyhow::Result<Option<T>> {
        self.db.find(&select_by_key::<T>(), args![key], T::from_row).await
    }

    /// `MissingClient` when a client the object names does not exist.
    async fn create_tenant_object<T: TenantObject>(&self, object: &T) -> Result<(), AdminError> {
        let object = object.clone();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                write(&mut conn, &object).await
            }))
            .await
    }

    /// Applies `edit` to the stored object; `None` if there is none, `MissingClient` when a
    /// client it names does not exist.
    async fn update_tenant_object<T: TenantObject>(
        &self,
        key: &str,
        edit: impl FnOnce(&mut T) + Send + 'static,
    ) -> Result<Option<T>, AdminError> {
        let key = key.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let Some(mut object) = conn.find(&select_by_key::<T>(), args![&key], T::from_row).await? else {
                    return Ok(None);
                };
                edit(&mut object);
                write(&mut conn, &object).await?;
                Ok(Some(object))
            }))
            .await
    }

    pub async fn list_connections(&self, filter: &ConnectionFilter) -> anyhow::Result<Vec<ConnectionRecord>> {
        let (strategies, values) = in_list(args![&filter.name], &filter.strategies);
        let any_strategy = if filter.strategies.is_empty() { "1 = 1" } else { "1 = 0" };
        let filter = format!("WHERE ($1 IS NULL OR name = $1) AND ({any_strategy} OR strategy IN ({strategies}))");
        self.tenant_objects(&filter, &values).await
    }

    pub async fn connection_by_id(&self, id: &str) -> anyhow::Result<Option<ConnectionRecord>> {
        self.tenant_object(id).await
    }

    /// Refused when the name is taken or an enabled client does not exist.
    pub async fn create_connection(&self, record: &ConnectionRecord) -> Result<(), AdminError> {
        self.create_tenant_object(record).await
    }

    /// Applies `edit` to the stored connection (its name cannot change); `None` if there is no
    /// such connection. Refused when an enabled client does not exist.
    pub async fn update_connection(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ConnectionRecord) + Send + 'static,
    ) -> Result<Option<ConnectionRecord>, AdminError> {
        self.update_tenant_object(id, edit).await
    }

    /// Deletes the connection and every user whose (primary) identity is in it, at once;
    /// whether the connection existed.
    pub async fn delete_connection(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let sql = "DELETE FROM connections WHERE id = $1 RETURNING name";
                let Some(deleted) = conn.fetch_optional(sql, args![&id]).await? else { return Ok(false) };
                let name: String = deleted.get("name")?;
                // A user whose primary identity is in the connection goes, with everything
                // that references it (identities, search leaves, assignments cascade).
                conn.execute(
                    "DELETE FROM users WHERE user_id IN (SELECT user_id FROM identities \
                         WHERE connection = $1 AND user_id = provider || '|' || provider_user_id)",
                    args![&name],
                )
                .await?;
                Ok(true)
            }))
            .await
    }

    pub async fn list_clients(&self) -> anyhow::Result<Vec<ClientRecord>> {
        self.tenant_objects("", &[]).await
    }

    pub async fn client_record(&self, client_id: &str) -> anyhow::Result<Option<ClientRecord>> {
        self.tenant_object(client_id).await
    }

    pub async fn create_client(&self, record: &ClientRecord) -> anyhow::Result<()> {
        Ok(self.create_tenant_object(record).await?)
    }

    /// Applies `edit` to the stored client (its id cannot change); `None` if there is none.
    pub async fn update_client(
        &self,
        client_id: &str,
        edit: impl FnOnce(&mut ClientRecord) + Send + 'static,
    ) -> anyhow::Result<Option<ClientRecord>> {
        Ok(self.update_tenant_object(client_id, edit).await?)
    }

    /// Deletes the client, its grants (cascade), and its place among connections' enabled
    /// clients; whether it existed.
    pub async fn delete_client(&self, client_id: &str) -> anyhow::Result<bool> {
        let client_id = client_id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let deleted = conn.execute("DELETE FROM clients WHERE client_id = $1", args![&client_id]).await?;
                for row in conn.fetch_all("SELECT id, enabled_clients FROM connections", &[]).await? {
                    let mut enabled: Vec<String> = row.json("enabled_clients")?;
                    if enabled.contains(&client_id) {
                        enabled.retain(|c| *c != client_id);
                        let id: String = row.get("id")?;
                        conn.execute(
                            "UPDATE connections SET enabled_clients = $1 WHERE id = $2",
                            args![Value::json(&enabled), &id],
                        )
                        .await?;
                    }
                }
                Ok(deleted > 0)
            }))
            .await
    }

    pub async fn list_client_grants(&self, filter: &ClientGrantFilter) -> anyhow::Result<Vec<ClientGrantRecord>> {
        let filter_sql = "WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR audience = $2)";
        self.tenant_objects(filter_sql, args![&filter.client_id, &filter.audience]).await
    }

    pub async fn client_grant_by_id(&self, id: &str) -> anyhow::Result<Option<ClientGrantRecord>> {
        self.tenant_object(id).await
    }

    /// Refused when the client does not exist or already has a grant for the audience.
    pub async fn create_client_grant(&self, record: &ClientGrantRecord) -> Result<(), AdminError> {
        self.create_tenant_object(record).await
    }

    /// Applies `edit` to the stored grant (its client and audience cannot change).
    pub async fn update_client_grant(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ClientGrantRecord) + Send + 'static,
    ) -> anyhow::Result<Option<ClientGrantRecord>> {
        Ok(self.update_tenant_object(id, edit).await?)
    }

    /// Whether the grant existed.
    pub async fn delete_client_grant(&self, id: &str) -> anyhow::Result<bool> {
        self.db.execute("DELETE FROM client_grants WHERE id = $1", args![id]).await.map(|deleted| deleted > 0)
    }

    /// Whether an API (resource server) other than the Management API has this identifier.
    pub async fn resource_server_exists(&self, identifier: &str) -> anyhow::Result<bool> {
        Ok(self.db.exists("SELECT 1 FROM resource_servers WHERE identifier = $1", args![identifier]).await?)
    }
    pub async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let sql = "SELECT kid, private_key_pkcs8, created_at FROM signing_keys ORDER BY created_at, kid";
        let rows = self.db.fetch_all(sql, &[]).await?;
        let key = |row: &Row| {
            Ok(SigningKey {
                kid: row.get("kid")?,
                private_key_pkcs8: row.get("private_key_pkcs8")?,
                created_at: row.time("created_at")?,
            })
        };
        rows.iter().map(key).collect()
    }

    /// Stores `candidate` unless a signing key exists already, atomically (nodes starting
    /// together on one empty database must agree on one key); returns the keys stored.
    pub async fn ensure_signing_key(&self, candidate: &SigningKey) -> anyhow::Result<Vec<SigningKey>> {
        let candidate = candidate.clone();
        self.db
            .write(job!(|conn| {
                // The lock makes check-then-insert atomic across nodes: the INSERT's snapshot
                // is taken after it, so it sees a key another node stored.
                conn.lock("roster.signing_keys").await?;
                conn.execute(
                    "INSERT INTO signing_keys (kid, private_key_pkcs8, created_at) SELECT $1, $2, $3 \
                     WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
                    args![&candidate.kid, candidate.private_key_pkcs8.as_slice(), &candidate.created_at],
                )
                .await?;
                anyhow::Ok(())
            }))
            .await?;
        self.signing_keys().await
    }

    /// The connection named `name`.
    pub async fn connection_by_name(&self, name: &str) -> anyhow::Result<Option<Connection>> {
        self.db.find(&select::<ConnectionRecord>("WHERE name = $1"), args![name], connection_from_row).await
    }

    /// Stores `client` unless a client with the same id exists or, when `by_name`, one with
    /// the same name, atomically; returns the stored client with that id, else the first
    /// with that name.
    pub async fn insert_client_if_absent(&self, client: &ClientRecord, by_name: bool) -> anyhow::Result<ClientRecord> {
        let client = client.clone();
        self.db
            .write(job!(|conn| {
                // Names are not unique: the lock makes the check and the insert one step.
                conn.lock(TENANT_WRITE).await?;
                let sql = select::<ClientRecord>(
                    "WHERE client_id = $1 OR ($2 AND name = $3) \
                     ORDER BY client_id = $1 DESC, created_at, client_id LIMIT 1",
                );
                let values = args![&client.client_id, by_name, &client.name];
                if let Some(stored) = conn.find(&sql, values, ClientRecord::from_row).await? {
                    return Ok(stored);
                }
                conn.execute(ClientRecord::UPSERT, &client.values()).await?;
                Ok(client)
            }))
            .await
    }

    /// Points the grants for the API `from` names at `to` instead (a tenant made ahead under one
    /// name and given another: its Management API's audience).
    pub async fn move_client_grants(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.db.execute("UPDATE client_grants SET audience = $2 WHERE audience = $1", args![from, to]).await.map(drop)
    }

    /// Inserts a grant, or gives the client's grant for the same audience these scopes.
    pub async fn save_client_grant(&self, grant: &ClientGrantRecord) -> anyhow::Result<()> {
        let sql = "INSERT INTO client_grants (id, client_id, audience, scope, document) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (client_id, audience) DO UPDATE SET scope = excluded.scope";
        self.db.execute(sql, &grant.values()).await.map(|_| ())
    }
}
