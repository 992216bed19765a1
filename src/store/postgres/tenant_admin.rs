//! [`TenantAdminStore`](crate::store::tenant_admin::TenantAdminStore) on PostgreSQL.
//!
//! Every write runs in a transaction holding one advisory lock (`roster.tenant_admin`): the
//! checks a write makes (that a client exists, which connections name it) and the write itself
//! then cannot interleave with another node's tenant write. These writes are rare; users'
//! writes do not take the lock.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Row, Transaction};

use super::{PostgresStore, begin, json_text, stamp};
use crate::domain::client::ClientRecord;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::connection::{Connection, ConnectionRecord};
use crate::store::tenant_admin::{
    AdminError, ClientGrantFilter, ConnectionFilter, Edit, TenantAdminStore, sort_by_key,
};

/// Documents are `json` (key order kept) and read back as text.
const CONNECTION_COLUMNS: &str =
    "id, name, strategy, options::text AS options, enabled_clients, document::text AS document";
const CLIENT_COLUMNS: &str = "client_id, name, client_secret, app_type, created_at, document::text AS document";
const GRANT_COLUMNS: &str = "id, client_id, audience, scope, document::text AS document";

fn json_text_column<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> anyhow::Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).with_context(|| format!("corrupt JSON in {column}"))
}

fn connection_from_row(row: &PgRow) -> anyhow::Result<ConnectionRecord> {
    let Json(enabled_clients): Json<Vec<String>> = row.try_get("enabled_clients")?;
    Ok(ConnectionRecord {
        connection: Connection {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            strategy: row.try_get("strategy")?,
            options: json_text_column(row, "options")?,
            enabled_clients,
        },
        attributes: json_text_column(row, "document")?,
    })
}

fn client_from_row(row: &PgRow) -> anyhow::Result<ClientRecord> {
    let app_type: String = row.try_get("app_type")?;
    Ok(ClientRecord {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        client_secret: row.try_get("client_secret")?,
        // The column predates clients without a type; empty means none.
        app_type: (!app_type.is_empty()).then_some(app_type),
        created_at: row.try_get("created_at")?,
        attributes: json_text_column(row, "document")?,
    })
}

fn grant_from_row(row: &PgRow) -> anyhow::Result<ClientGrantRecord> {
    let Json(scope): Json<Vec<String>> = row.try_get("scope")?;
    Ok(ClientGrantRecord {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        audience: row.try_get("audience")?,
        scope,
        attributes: json_text_column(row, "document")?,
    })
}

fn violates(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation() && db.constraint() == Some(constraint))
}

/// A transaction holding the tenant-write lock (deleting a resource server takes it too: its
/// grants go with it).
pub(super) async fn locked(store: &PostgresStore) -> anyhow::Result<Transaction<'static, Postgres>> {
    let mut tx = begin(&store.pool).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('roster.tenant_admin'))").execute(&mut *tx).await?;
    Ok(tx)
}

/// The first of `client_ids` that names no client.
async fn missing_client(conn: &mut PgConnection, client_ids: &[String]) -> anyhow::Result<Option<String>> {
    let found: Vec<String> = sqlx::query_scalar("SELECT client_id FROM clients WHERE client_id = ANY($1)")
        .bind(client_ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(client_ids.iter().find(|id| !found.contains(id)).cloned())
}

async fn write_connection(conn: &mut PgConnection, record: &ConnectionRecord) -> Result<(), sqlx::Error> {
    let connection = &record.connection;
    sqlx::query(
        "INSERT INTO connections (id, name, strategy, options, enabled_clients, document) \
         VALUES ($1, $2, $3, $4::json, $5, $6::json) ON CONFLICT (id) DO UPDATE SET options = excluded.options, \
         enabled_clients = excluded.enabled_clients, document = excluded.document",
    )
    .bind(&connection.id)
    .bind(&connection.name)
    .bind(&connection.strategy)
    .bind(json_text(&connection.options))
    .bind(Json(&connection.enabled_clients))
    .bind(json_text(&record.attributes))
    .execute(conn)
    .await?;
    Ok(())
}

async fn write_client(conn: &mut PgConnection, record: &ClientRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO clients (client_id, name, client_secret, app_type, created_at, document) \
         VALUES ($1, $2, $3, $4, $5, $6::json) ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
         client_secret = excluded.client_secret, app_type = excluded.app_type, document = excluded.document",
    )
    .bind(&record.client_id)
    .bind(&record.name)
    .bind(&record.client_secret)
    .bind(record.app_type.as_deref().unwrap_or_default())
    .bind(stamp(&record.created_at))
    .bind(json_text(&record.attributes))
    .execute(conn)
    .await?;
    Ok(())
}

async fn write_grant(conn: &mut PgConnection, record: &ClientGrantRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO client_grants (id, client_id, audience, scope, document) VALUES ($1, $2, $3, $4, $5::json) \
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, document = excluded.document",
    )
    .bind(&record.id)
    .bind(&record.client_id)
    .bind(&record.audience)
    .bind(Json(&record.scope))
    .bind(json_text(&record.attributes))
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl TenantAdminStore for PostgresStore {
    async fn list_connections(&self, filter: &ConnectionFilter) -> anyhow::Result<Vec<ConnectionRecord>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections \
             WHERE ($1::text IS NULL OR name = $1) AND (cardinality($2::text[]) = 0 OR strategy = ANY($2))"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.name)
            .bind(&filter.strategies)
            .fetch_all(&self.pool)
            .await?;
        let mut records = rows.iter().map(connection_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.connection.id);
        Ok(records)
    }

    async fn connection_by_id(&self, id: &str) -> anyhow::Result<Option<ConnectionRecord>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn create_connection(&self, record: &ConnectionRecord) -> Result<(), AdminError> {
        let mut tx = locked(self).await?;
        if let Some(client_id) = missing_client(&mut tx, &record.connection.enabled_clients).await? {
            return Err(AdminError::MissingClient(client_id));
        }
        write_connection(&mut tx, record).await.map_err(|error| {
            if violates(&error, "connections_name_key") {
                AdminError::ConnectionNameTaken
            } else {
                anyhow::Error::from(error).into()
            }
        })?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn update_connection(
        &self,
        id: &str,
        edit: Edit<'_, ConnectionRecord>,
    ) -> Result<Option<ConnectionRecord>, AdminError> {
        let mut tx = locked(self).await?;
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
        let Some(row) = row else { return Ok(None) };
        let mut record = connection_from_row(&row)?;
        edit(&mut record);
        if let Some(client_id) = missing_client(&mut tx, &record.connection.enabled_clients).await? {
            return Err(AdminError::MissingClient(client_id));
        }
        write_connection(&mut tx, &record).await.map_err(anyhow::Error::from)?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(Some(record))
    }

    async fn delete_connection(&self, id: &str) -> anyhow::Result<bool> {
        let mut tx = locked(self).await?;
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM connections WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(name) = name else { return Ok(false) };
        // A user whose primary identity is in the connection goes, with everything that
        // references it (identities, search leaves, role and organization assignments cascade).
        sqlx::query(
            "DELETE FROM users WHERE user_id IN (SELECT user_id FROM identities \
             WHERE connection = $1 AND user_id = provider || '|' || provider_user_id)",
        )
        .bind(&name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM connections WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_clients(&self) -> anyhow::Result<Vec<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        let mut records = rows.iter().map(client_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.client_id);
        Ok(records)
    }

    async fn client_record(&self, client_id: &str) -> anyhow::Result<Option<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn create_client(&self, record: &ClientRecord) -> anyhow::Result<()> {
        let mut tx = locked(self).await?;
        write_client(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_client(
        &self,
        client_id: &str,
        edit: Edit<'_, ClientRecord>,
    ) -> anyhow::Result<Option<ClientRecord>> {
        let mut tx = locked(self).await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client_id).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = client_from_row(&row)?;
        edit(&mut record);
        write_client(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn delete_client(&self, client_id: &str) -> anyhow::Result<bool> {
        let mut tx = locked(self).await?;
        // Its grants go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(client_id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE connections SET enabled_clients = enabled_clients - $1::text WHERE enabled_clients ? $1::text",
        )
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn list_client_grants(&self, filter: &ClientGrantFilter) -> anyhow::Result<Vec<ClientGrantRecord>> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM client_grants \
             WHERE ($1::text IS NULL OR client_id = $1) AND ($2::text IS NULL OR audience = $2)"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.client_id)
            .bind(&filter.audience)
            .fetch_all(&self.pool)
            .await?;
        let mut records = rows.iter().map(grant_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.id);
        Ok(records)
    }

    async fn client_grant_by_id(&self, id: &str) -> anyhow::Result<Option<ClientGrantRecord>> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    async fn create_client_grant(&self, record: &ClientGrantRecord) -> Result<(), AdminError> {
        let mut tx = locked(self).await?;
        if let Some(client_id) = missing_client(&mut tx, std::slice::from_ref(&record.client_id)).await? {
            return Err(AdminError::MissingClient(client_id));
        }
        write_grant(&mut tx, record).await.map_err(|error| {
            if violates(&error, "client_grants_client_audience_key") {
                AdminError::GrantExists
            } else {
                anyhow::Error::from(error).into()
            }
        })?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn update_client_grant(
        &self,
        id: &str,
        edit: Edit<'_, ClientGrantRecord>,
    ) -> anyhow::Result<Option<ClientGrantRecord>> {
        let mut tx = locked(self).await?;
        let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = grant_from_row(&row)?;
        edit(&mut record);
        write_grant(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn delete_client_grant(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM client_grants WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn resource_server_exists(&self, identifier: &str) -> anyhow::Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM resource_servers WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}
