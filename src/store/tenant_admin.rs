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

use super::db::{Conn, DbError, Row, Value, args, job, placeholders};
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

const CONNECTION_COLUMNS: &str = "id, name, strategy, options, enabled_clients, document";
const CLIENT_COLUMNS: &str = "client_id, name, client_secret, app_type, created_at, document";
const GRANT_COLUMNS: &str = "id, client_id, audience, scope, document";

pub(super) fn connection_from_row(row: &Row) -> anyhow::Result<Connection> {
    Ok(Connection {
        id: row.get("id")?,
        name: row.get("name")?,
        strategy: row.get("strategy")?,
        options: row.json("options")?,
        enabled_clients: row.json("enabled_clients")?,
    })
}

fn connection_record(row: &Row) -> anyhow::Result<ConnectionRecord> {
    Ok(ConnectionRecord { connection: connection_from_row(row)?, attributes: row.json("document")? })
}

fn client_record(row: &Row) -> anyhow::Result<ClientRecord> {
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

fn grant_record(row: &Row) -> anyhow::Result<ClientGrantRecord> {
    Ok(ClientGrantRecord {
        id: row.get("id")?,
        client_id: row.get("client_id")?,
        audience: row.get("audience")?,
        scope: row.json("scope")?,
        attributes: row.json("document")?,
    })
}

/// Sorts by id in byte order, whatever order (or collation) the database used.
fn sorted<T>(mut items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    items.sort_by(|a, b| key(a).as_bytes().cmp(key(b).as_bytes()));
    items
}

/// The first of `client_ids` that names no client.
async fn missing_client(conn: &mut Conn<'_>, client_ids: &[String]) -> anyhow::Result<Option<String>> {
    let sql = format!("SELECT client_id FROM clients WHERE client_id IN ({})", placeholders(1, client_ids.len()));
    let values: Vec<Value> = client_ids.iter().map(Value::from).collect();
    let found = conn.fetch_all(&sql, &values).await?;
    let found: Vec<String> = found.iter().map(|row| row.get("client_id")).collect::<anyhow::Result<_>>()?;
    Ok(client_ids.iter().find(|id| !found.contains(id)).cloned())
}

async fn write_connection(conn: &mut Conn<'_>, record: &ConnectionRecord) -> Result<(), DbError> {
    let connection = &record.connection;
    conn.execute(
        "INSERT INTO connections (id, name, strategy, options, enabled_clients, document) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET options = excluded.options, \
         enabled_clients = excluded.enabled_clients, document = excluded.document",
        args![
            &connection.id,
            &connection.name,
            &connection.strategy,
            Value::json(&connection.options),
            Value::json(&connection.enabled_clients),
            Value::json(&record.attributes)
        ],
    )
    .await?;
    Ok(())
}

async fn write_client(conn: &mut Conn<'_>, record: &ClientRecord) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO clients (client_id, name, client_secret, app_type, created_at, document) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
         client_secret = excluded.client_secret, app_type = excluded.app_type, document = excluded.document",
        args![
            &record.client_id,
            &record.name,
            &record.client_secret,
            record.app_type.as_deref().unwrap_or_default(),
            &record.created_at,
            Value::json(&record.attributes)
        ],
    )
    .await?;
    Ok(())
}

async fn write_grant(conn: &mut Conn<'_>, record: &ClientGrantRecord) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO client_grants (id, client_id, audience, scope, document) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, document = excluded.document",
        args![
            &record.id,
            &record.client_id,
            &record.audience,
            Value::json(&record.scope),
            Value::json(&record.attributes)
        ],
    )
    .await?;
    Ok(())
}

impl Store {
    pub async fn list_connections(&self, filter: &ConnectionFilter) -> anyhow::Result<Vec<ConnectionRecord>> {
        let strategies = placeholders(2, filter.strategies.len());
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections \
             WHERE ($1 IS NULL OR name = $1) AND ({} OR strategy IN ({strategies}))",
            if filter.strategies.is_empty() { "1 = 1" } else { "1 = 0" }
        );
        let mut values = vec![Value::from(&filter.name)];
        values.extend(filter.strategies.iter().map(Value::from));
        let rows = self.db.fetch_all(&sql, &values).await?;
        let records = rows.iter().map(connection_record).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(sorted(records, |r| &r.connection.id))
    }

    pub async fn connection_by_id(&self, id: &str) -> anyhow::Result<Option<ConnectionRecord>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
        self.db.find(&sql, args![id], connection_record).await
    }

    /// Refused when the name is taken or an enabled client does not exist.
    pub async fn create_connection(&self, record: &ConnectionRecord) -> Result<(), AdminError> {
        let record = record.clone();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                if let Some(client_id) = missing_client(&mut conn, &record.connection.enabled_clients).await? {
                    return Err(AdminError::MissingClient(client_id));
                }
                Ok(write_connection(&mut conn, &record).await?)
            }))
            .await
    }

    /// Applies `edit` to the stored connection (its name cannot change); `None` if there is no
    /// such connection. Refused when an enabled client does not exist.
    pub async fn update_connection(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ConnectionRecord) + Send + 'static,
    ) -> Result<Option<ConnectionRecord>, AdminError> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
                let Some(mut record) = conn.find(&sql, args![&id], connection_record).await? else {
                    return Ok(None);
                };
                edit(&mut record);
                if let Some(client_id) = missing_client(&mut conn, &record.connection.enabled_clients).await? {
                    return Err(AdminError::MissingClient(client_id));
                }
                write_connection(&mut conn, &record).await.map_err(anyhow::Error::from)?;
                Ok(Some(record))
            }))
            .await
    }

    /// Deletes the connection and every user whose (primary) identity is in it, at once;
    /// whether the connection existed.
    pub async fn delete_connection(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let Some(row) = conn.fetch_optional("SELECT name FROM connections WHERE id = $1", args![&id]).await?
                else {
                    return Ok(false);
                };
                let name: String = row.get("name")?;
                // A user whose primary identity is in the connection goes, with everything
                // that references it (identities, search leaves, assignments cascade).
                conn.execute(
                    "DELETE FROM users WHERE user_id IN (SELECT user_id FROM identities \
                         WHERE connection = $1 AND user_id = provider || '|' || provider_user_id)",
                    args![&name],
                )
                .await?;
                conn.execute("DELETE FROM connections WHERE id = $1", args![&id]).await?;
                Ok(true)
            }))
            .await
    }

    pub async fn list_clients(&self) -> anyhow::Result<Vec<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients");
        let rows = self.db.fetch_all(&sql, &[]).await?;
        let records = rows.iter().map(client_record).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(sorted(records, |r| &r.client_id))
    }

    pub async fn client_record(&self, client_id: &str) -> anyhow::Result<Option<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        self.db.find(&sql, args![client_id], client_record).await
    }

    pub async fn create_client(&self, record: &ClientRecord) -> anyhow::Result<()> {
        let record = record.clone();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                Ok(write_client(&mut conn, &record).await?)
            }))
            .await
    }

    /// Applies `edit` to the stored client (its id cannot change); `None` if there is none.
    pub async fn update_client(
        &self,
        client_id: &str,
        edit: impl FnOnce(&mut ClientRecord) + Send + 'static,
    ) -> anyhow::Result<Option<ClientRecord>> {
        let client_id = client_id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
                let Some(mut record) = conn.find(&sql, args![&client_id], client_record).await? else {
                    return Ok(None);
                };
                edit(&mut record);
                write_client(&mut conn, &record).await?;
                Ok(Some(record))
            }))
            .await
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
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM client_grants \
             WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR audience = $2)"
        );
        let rows = self.db.fetch_all(&sql, args![&filter.client_id, &filter.audience]).await?;
        let records = rows.iter().map(grant_record).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(sorted(records, |r| &r.id))
    }

    pub async fn client_grant_by_id(&self, id: &str) -> anyhow::Result<Option<ClientGrantRecord>> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1");
        self.db.find(&sql, args![id], grant_record).await
    }

    /// Refused when the client does not exist or already has a grant for the audience.
    pub async fn create_client_grant(&self, record: &ClientGrantRecord) -> Result<(), AdminError> {
        let record = record.clone();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                if let Some(client_id) = missing_client(&mut conn, std::slice::from_ref(&record.client_id)).await? {
                    return Err(AdminError::MissingClient(client_id));
                }
                Ok(write_grant(&mut conn, &record).await?)
            }))
            .await
    }

    /// Applies `edit` to the stored grant (its client and audience cannot change).
    pub async fn update_client_grant(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ClientGrantRecord) + Send + 'static,
    ) -> anyhow::Result<Option<ClientGrantRecord>> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1");
                let Some(mut record) = conn.find(&sql, args![&id], grant_record).await? else {
                    return Ok(None);
                };
                edit(&mut record);
                write_grant(&mut conn, &record).await?;
                Ok(Some(record))
            }))
            .await
    }

    /// Whether the grant existed.
    pub async fn delete_client_grant(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| { Ok(conn.execute("DELETE FROM client_grants WHERE id = $1", args![&id]).await? > 0) }))
            .await
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
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = $1");
        self.db.find(&sql, args![name], connection_from_row).await
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
                let sql = format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1 OR ($2 AND name = $3) \
                     ORDER BY client_id = $1 DESC, created_at, client_id LIMIT 1"
                );
                let values = args![&client.client_id, by_name, &client.name];
                if let Some(stored) = conn.fetch_optional(&sql, values).await? {
                    return client_record(&stored);
                }
                write_client(&mut conn, &client).await?;
                Ok(client)
            }))
            .await
    }

    /// Inserts a grant, or gives the client's grant for the same audience these scopes.
    pub async fn save_client_grant(&self, grant: &ClientGrantRecord) -> anyhow::Result<()> {
        let grant = grant.clone();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO client_grants (id, client_id, audience, scope, document) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (client_id, audience) DO UPDATE SET scope = excluded.scope",
                    args![
                        &grant.id,
                        &grant.client_id,
                        &grant.audience,
                        Value::json(&grant.scope),
                        Value::json(&grant.attributes)
                    ],
                )
                .await?;
                anyhow::Ok(())
            }))
            .await
    }
}
