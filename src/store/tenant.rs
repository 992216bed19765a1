//! What the tenant bootstrap and token endpoint read and write: signing keys, connections,
//! clients and the grants that decide a token's scopes. Inserts that nodes starting together on
//! one empty database may race on take a lock, so that they agree on one row.

use super::db::{Row, Value, args, job};
use super::tenant_admin::{TENANT_WRITE, connection_from_row};
use super::{Client, ClientGrant, SigningKey, Store};
use crate::domain::connection::Connection;

const CONNECTION_COLUMNS: &str = "id, name, strategy, options, enabled_clients";
const CLIENT_COLUMNS: &str = "client_id, name, client_secret, app_type, created_at";

fn client_from_row(row: &Row) -> anyhow::Result<Client> {
    Ok(Client {
        client_id: row.get("client_id")?,
        name: row.get("name")?,
        client_secret: row.get("client_secret")?,
        app_type: row.get("app_type")?,
        created_at: row.time("created_at")?,
    })
}

/// Inserts, or replaces every column given of, the connection with the same id (or, with
/// `ON CONFLICT DO NOTHING`, leaves any existing one as it is).
const UPSERT_CONNECTION: &str = "INSERT INTO connections (id, name, strategy, options, enabled_clients) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, strategy = excluded.strategy, \
     options = excluded.options, enabled_clients = excluded.enabled_clients";
const INSERT_CONNECTION: &str = "INSERT INTO connections (id, name, strategy, options, enabled_clients) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

impl Store {
    pub async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let rows = self
            .db
            .fetch_all("SELECT kid, private_key_pkcs8, created_at FROM signing_keys ORDER BY created_at, kid", &[])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKey {
                    kid: row.get("kid")?,
                    private_key_pkcs8: row.get("private_key_pkcs8")?,
                    created_at: row.time("created_at")?,
                })
            })
            .collect()
    }

    /// Stores `candidate` unless a signing key exists already, atomically (nodes starting
    /// together on one empty database must agree on one key); returns the keys stored.
    pub async fn ensure_signing_key(&self, candidate: &SigningKey) -> anyhow::Result<Vec<SigningKey>> {
        let candidate = candidate.clone();
        self.db
            .write(job!(|conn| {
                // The lock makes check-then-insert atomic across nodes: the INSERT's
                // snapshot is taken after it, so it sees a key another node stored.
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

    pub async fn connections(&self) -> anyhow::Result<Vec<Connection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name COLLATE \"C\"");
        let rows = self.db.fetch_all(&sql, &[]).await?;
        rows.iter().map(connection_from_row).collect()
    }

    pub async fn connection_by_name(&self, name: &str) -> anyhow::Result<Option<Connection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = $1");
        let row = self.db.fetch_optional(&sql, args![name]).await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    /// Inserts, or replaces the connection with the same id.
    pub async fn save_connection(&self, connection: &Connection) -> anyhow::Result<()> {
        self.write_connection(connection, UPSERT_CONNECTION).await
    }

    /// Stores `connection` unless one with the same name exists, atomically (the name is
    /// unique); returns the connection of that name.
    pub async fn insert_connection_if_absent(&self, connection: &Connection) -> anyhow::Result<Connection> {
        self.write_connection(connection, INSERT_CONNECTION).await?;
        self.connection_by_name(&connection.name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("connection vanished after insert"))
    }

    async fn write_connection(&self, connection: &Connection, sql: &'static str) -> anyhow::Result<()> {
        let connection = connection.clone();
        self.db
            .write(job!(|conn| {
                let values = args![
                    &connection.id,
                    &connection.name,
                    &connection.strategy,
                    Value::json(&connection.options),
                    Value::json(&connection.enabled_clients)
                ];
                conn.execute(sql, values).await?;
                anyhow::Ok(())
            }))
            .await
    }

    pub async fn client(&self, client_id: &str) -> anyhow::Result<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = self.db.fetch_optional(&sql, args![client_id]).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub async fn clients(&self) -> anyhow::Result<Vec<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id COLLATE \"C\"");
        let rows = self.db.fetch_all(&sql, &[]).await?;
        rows.iter().map(client_from_row).collect()
    }

    /// Inserts, or replaces the client with the same id.
    pub async fn save_client(&self, client: &Client) -> anyhow::Result<()> {
        let client = client.clone();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO clients (client_id, name, client_secret, app_type, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
                         client_secret = excluded.client_secret, app_type = excluded.app_type",
                    args![&client.client_id, &client.name, &client.client_secret, &client.app_type, &client.created_at],
                )
                .await?;
                anyhow::Ok(())
            }))
            .await
    }

    /// Stores `client` unless a client with the same id exists or, when `by_name`, one with
    /// the same name; atomically (names are not unique, so under the tenant-write lock).
    /// Returns the stored client with that id, else the first with that name.
    pub async fn insert_client_if_absent(&self, client: &Client, by_name: bool) -> anyhow::Result<Client> {
        let client = client.clone();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                conn.execute(
                    "INSERT INTO clients (client_id, name, client_secret, app_type, created_at) \
                         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS \
                         (SELECT 1 FROM clients WHERE client_id = $1 OR ($6 AND name = $2)) \
                         ON CONFLICT (client_id) DO NOTHING",
                    args![
                        &client.client_id,
                        &client.name,
                        &client.client_secret,
                        &client.app_type,
                        &client.created_at,
                        by_name
                    ],
                )
                .await?;
                let sql = format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1 OR ($2 AND name = $3) \
                         ORDER BY client_id = $1 DESC, created_at, client_id LIMIT 1"
                );
                let row = conn.fetch_one(&sql, args![&client.client_id, by_name, &client.name]).await?;
                client_from_row(&row)
            }))
            .await
    }

    pub async fn client_grant(&self, client_id: &str, audience: &str) -> anyhow::Result<Option<ClientGrant>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT id, client_id, audience, scope FROM client_grants WHERE client_id = $1 AND audience = $2",
                args![client_id, audience],
            )
            .await?;
        row.map(|row| {
            Ok(ClientGrant {
                id: row.get("id")?,
                client_id: row.get("client_id")?,
                audience: row.get("audience")?,
                scope: row.json("scope")?,
            })
        })
        .transpose()
    }

    /// Inserts, or replaces the grant for the same client and audience.
    pub async fn save_client_grant(&self, grant: &ClientGrant) -> anyhow::Result<()> {
        let grant = grant.clone();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO client_grants (id, client_id, audience, scope) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (client_id, audience) DO UPDATE SET scope = excluded.scope",
                    args![&grant.id, &grant.client_id, &grant.audience, Value::json(&grant.scope)],
                )
                .await?;
                anyhow::Ok(())
            }))
            .await
    }
}
