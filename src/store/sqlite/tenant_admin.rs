//! [`TenantAdminStore`](crate::store::tenant_admin::TenantAdminStore) on SQLite. Every write
//! is one transaction on the single writer connection, so checks and writes cannot interleave.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{SqliteStore, json_text, required_time};
use crate::domain::client::ClientRecord;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::connection::{Connection, ConnectionRecord};
use crate::domain::time;
use crate::store::tenant_admin::{
    AdminError, ClientGrantFilter, ConnectionFilter, Edit, TenantAdminStore, sort_by_key,
};

const CONNECTION_COLUMNS: &str = "id, name, strategy, options, enabled_clients, document";
const CLIENT_COLUMNS: &str = "client_id, name, client_secret, app_type, created_at, document";
const GRANT_COLUMNS: &str = "id, client_id, audience, scope, document";

fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> anyhow::Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).with_context(|| format!("corrupt JSON in {column}"))
}

fn connection_from_row(row: &SqliteRow) -> anyhow::Result<ConnectionRecord> {
    Ok(ConnectionRecord {
        connection: Connection {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            strategy: row.try_get("strategy")?,
            options: json_column(row, "options")?,
            enabled_clients: json_column(row, "enabled_clients")?,
        },
        attributes: json_column(row, "document")?,
    })
}

fn client_from_row(row: &SqliteRow) -> anyhow::Result<ClientRecord> {
    let app_type: String = row.try_get("app_type")?;
    Ok(ClientRecord {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        client_secret: row.try_get("client_secret")?,
        // The column predates clients without a type; empty means none.
        app_type: (!app_type.is_empty()).then_some(app_type),
        created_at: required_time(row, "created_at")?,
        attributes: json_column(row, "document")?,
    })
}

fn grant_from_row(row: &SqliteRow) -> anyhow::Result<ClientGrantRecord> {
    Ok(ClientGrantRecord {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        audience: row.try_get("audience")?,
        scope: json_column(row, "scope")?,
        attributes: json_column(row, "document")?,
    })
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The first of `client_ids` that names no client.
async fn missing_client(tx: &mut Transaction<'_, Sqlite>, client_ids: &[String]) -> anyhow::Result<Option<String>> {
    for client_id in client_ids {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            return Ok(Some(client_id.clone()));
        }
    }
    Ok(None)
}

async fn write_connection(tx: &mut Transaction<'_, Sqlite>, record: &ConnectionRecord) -> Result<(), sqlx::Error> {
    let connection = &record.connection;
    sqlx::query(
        "INSERT INTO connections (id, name, strategy, options, enabled_clients, document) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET options = excluded.options, enabled_clients = excluded.enabled_clients, \
         document = excluded.document",
    )
    .bind(&connection.id)
    .bind(&connection.name)
    .bind(&connection.strategy)
    .bind(json_text(&connection.options))
    .bind(json_text(&connection.enabled_clients))
    .bind(json_text(&record.attributes))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_client(tx: &mut Transaction<'_, Sqlite>, record: &ClientRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO clients (client_id, name, client_secret, app_type, created_at, document) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
         client_secret = excluded.client_secret, app_type = excluded.app_type, document = excluded.document",
    )
    .bind(&record.client_id)
    .bind(&record.name)
    .bind(&record.client_secret)
    .bind(record.app_type.as_deref().unwrap_or_default())
    .bind(time::format(&record.created_at))
    .bind(json_text(&record.attributes))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_grant(tx: &mut Transaction<'_, Sqlite>, record: &ClientGrantRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO client_grants (id, client_id, audience, scope, document) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, document = excluded.document",
    )
    .bind(&record.id)
    .bind(&record.client_id)
    .bind(&record.audience)
    .bind(json_text(&record.scope))
    .bind(json_text(&record.attributes))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl TenantAdminStore for SqliteStore {
    async fn list_connections(&self, filter: &ConnectionFilter) -> anyhow::Result<Vec<ConnectionRecord>> {
        let mut sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE 1 = 1");
        if filter.name.is_some() {
            sql.push_str(" AND name = ?");
        }
        if !filter.strategies.is_empty() {
            let marks = vec!["?"; filter.strategies.len()].join(", ");
            sql.push_str(&format!(" AND strategy IN ({marks})"));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(name) = &filter.name {
            query = query.bind(name.clone());
        }
        for strategy in &filter.strategies {
            query = query.bind(strategy.clone());
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut records = rows.iter().map(connection_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.connection.id);
        Ok(records)
    }

    async fn connection_by_id(&self, id: &str) -> anyhow::Result<Option<ConnectionRecord>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    async fn create_connection(&self, record: &ConnectionRecord) -> Result<(), AdminError> {
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        if let Some(client_id) = missing_client(&mut tx, &record.connection.enabled_clients).await? {
            return Err(AdminError::MissingClient(client_id));
        }
        write_connection(&mut tx, record).await.map_err(|error| {
            if is_unique_violation(&error) {
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
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
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
        let mut tx = self.write.begin().await?;
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM connections WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(name) = name else { return Ok(false) };
        // A user whose primary identity is in the connection goes, with everything that
        // references it (identities, search leaves, role and organization assignments cascade).
        let users = sqlx::query(
            "DELETE FROM users WHERE user_id IN (SELECT user_id FROM identities \
             WHERE connection = $1 AND user_id = provider || '|' || provider_user_id)",
        )
        .bind(&name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM connections WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        if users.rows_affected() > 0 {
            self.totals.invalidate();
        }
        Ok(true)
    }

    async fn list_clients(&self) -> anyhow::Result<Vec<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await?;
        let mut records = rows.iter().map(client_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.client_id);
        Ok(records)
    }

    async fn client_record(&self, client_id: &str) -> anyhow::Result<Option<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client_id).fetch_optional(&self.read).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn create_client(&self, record: &ClientRecord) -> anyhow::Result<()> {
        let mut tx = self.write.begin().await?;
        write_client(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_client(
        &self,
        client_id: &str,
        edit: Edit<'_, ClientRecord>,
    ) -> anyhow::Result<Option<ClientRecord>> {
        let mut tx = self.write.begin().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(client_id).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = client_from_row(&row)?;
        edit(&mut record);
        write_client(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn delete_client(&self, client_id: &str) -> anyhow::Result<bool> {
        let mut tx = self.write.begin().await?;
        // Its grants go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(client_id).execute(&mut *tx).await?;
        let rows = sqlx::query("SELECT id, enabled_clients FROM connections").fetch_all(&mut *tx).await?;
        for row in rows {
            let mut enabled: Vec<String> = json_column(&row, "enabled_clients")?;
            if enabled.iter().any(|c| c == client_id) {
                enabled.retain(|c| c != client_id);
                let id: String = row.try_get("id")?;
                sqlx::query("UPDATE connections SET enabled_clients = $1 WHERE id = $2")
                    .bind(json_text(&enabled))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn list_client_grants(&self, filter: &ClientGrantFilter) -> anyhow::Result<Vec<ClientGrantRecord>> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM client_grants WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR audience = $2)"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.client_id)
            .bind(&filter.audience)
            .fetch_all(&self.read)
            .await?;
        let mut records = rows.iter().map(grant_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        sort_by_key(&mut records, |r| &r.id);
        Ok(records)
    }

    async fn client_grant_by_id(&self, id: &str) -> anyhow::Result<Option<ClientGrantRecord>> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    async fn create_client_grant(&self, record: &ClientGrantRecord) -> Result<(), AdminError> {
        let mut tx = self.write.begin().await.map_err(anyhow::Error::from)?;
        if let Some(client_id) = missing_client(&mut tx, std::slice::from_ref(&record.client_id)).await? {
            return Err(AdminError::MissingClient(client_id));
        }
        write_grant(&mut tx, record).await.map_err(|error| {
            if is_unique_violation(&error) { AdminError::GrantExists } else { anyhow::Error::from(error).into() }
        })?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn update_client_grant(
        &self,
        id: &str,
        edit: Edit<'_, ClientGrantRecord>,
    ) -> anyhow::Result<Option<ClientGrantRecord>> {
        let mut tx = self.write.begin().await?;
        let sql = format!("SELECT {GRANT_COLUMNS} FROM client_grants WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = grant_from_row(&row)?;
        edit(&mut record);
        write_grant(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn delete_client_grant(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM client_grants WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn resource_server_exists(&self, identifier: &str) -> anyhow::Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM resource_servers WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(&self.read)
            .await?;
        Ok(found.is_some())
    }
}
