//! [`RbacStore`](crate::store::rbac::RbacStore) on PostgreSQL.
//!
//! Nodes share the database, so a write locks what it checks: the role, user, resource server
//! or scope it assigns is read `FOR KEY SHARE` (a concurrent delete waits for the assignment to
//! commit, then removes it by cascade), and read-modify-write updates lock the row `FOR UPDATE`.
//! Text is ordered with `COLLATE "C"` everywhere, as SQLite orders it.

use anyhow::Context;
use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::{PostgresStore, begin, clamp, json_text, stamp, tenant_admin};
use crate::domain::rbac::{
    self, Permission, PermissionRef, PermissionSource, Role, RolePatch, RoleUser, UserPermission,
};
use crate::domain::resource_server::{ResourceServer, Scope};
use crate::domain::time::Timestamp;
use crate::store::rbac::{
    Listed, PermissionHolder, RbacError, RbacStore, ResourceServerEdit, RoleMemberKey, RoleMembers, Window,
};

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn role_from_row(row: &PgRow) -> Result<Role, sqlx::Error> {
    Ok(Role { id: row.try_get("id")?, name: row.try_get("name")?, description: row.try_get("description")? })
}

fn permission_from_row(row: &PgRow) -> Result<Permission, sqlx::Error> {
    Ok(Permission {
        resource_server_identifier: row.try_get("identifier")?,
        permission_name: row.try_get("value")?,
        resource_server_name: row.try_get("server_name")?,
        description: row.try_get("description")?,
    })
}

fn role_user_from_row(row: &PgRow) -> Result<RoleUser, sqlx::Error> {
    Ok(RoleUser {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        picture: row.try_get("picture")?,
        name: row.try_get("name")?,
    })
}

/// The columns of a permission joined to its scope and server (`permission_from_row`).
const PERMISSION_COLUMNS: &str = "rs.identifier, rs.name AS server_name, s.value, s.description";
/// The order of permission listings.
const PERMISSION_ORDER: &str = "rs.identifier, s.value COLLATE \"C\"";

/// Whether the role exists; with `lock`, it stays so until the transaction ends.
async fn role_exists(conn: &mut PgConnection, id: &str, lock: bool) -> Result<bool, sqlx::Error> {
    let sql =
        if lock { "SELECT 1 FROM roles WHERE id = $1 FOR KEY SHARE" } else { "SELECT 1 FROM roles WHERE id = $1" };
    Ok(sqlx::query(sql).bind(id).fetch_optional(conn).await?.is_some())
}

/// Whether the user exists; with `lock`, it stays so until the transaction ends.
async fn user_exists(conn: &mut PgConnection, user_id: &str, lock: bool) -> Result<bool, sqlx::Error> {
    let sql = if lock {
        "SELECT 1 FROM users WHERE user_id = $1 FOR KEY SHARE"
    } else {
        "SELECT 1 FROM users WHERE user_id = $1"
    };
    Ok(sqlx::query(sql).bind(user_id).fetch_optional(conn).await?.is_some())
}

/// The stored (server id, scope) of each permission, locked; the first unknown one is the error.
async fn resolve_permissions(
    conn: &mut PgConnection,
    permissions: &[PermissionRef],
) -> Result<Vec<(String, String)>, RbacError> {
    let mut resolved = Vec::with_capacity(permissions.len());
    for permission in permissions {
        let server: Option<String> =
            sqlx::query_scalar("SELECT id FROM resource_servers WHERE identifier = $1 FOR KEY SHARE")
                .bind(&permission.resource_server_identifier)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(server) = server else {
            return Err(RbacError::UnknownResourceServer(permission.resource_server_identifier.clone()));
        };
        let scope = sqlx::query(
            "SELECT 1 FROM resource_server_scopes WHERE resource_server_id = $1 AND value = $2 FOR KEY SHARE",
        )
        .bind(&server)
        .bind(&permission.permission_name)
        .fetch_optional(&mut *conn)
        .await?;
        if scope.is_none() {
            return Err(RbacError::UnknownPermission(permission.clone()));
        }
        resolved.push((server, permission.permission_name.clone()));
    }
    Ok(resolved)
}

/// Assigns resolved (server id, scope) permissions to a role or user.
async fn grant_permissions(
    conn: &mut PgConnection,
    holder: PermissionHolder,
    holder_id: &str,
    resolved: &[(String, String)],
    at: &Timestamp,
) -> Result<(), sqlx::Error> {
    for (server, name) in resolved {
        sqlx::query(holder.insert_sql())
            .bind(holder_id)
            .bind(server)
            .bind(name)
            .bind(stamp(at))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Takes permissions from a role or user; those it does not hold are ignored.
async fn revoke_permissions(
    conn: &mut PgConnection,
    holder: PermissionHolder,
    holder_id: &str,
    permissions: &[PermissionRef],
) -> Result<(), sqlx::Error> {
    for permission in permissions {
        sqlx::query(holder.delete_sql())
            .bind(holder_id)
            .bind(&permission.permission_name)
            .bind(&permission.resource_server_identifier)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn scopes_of(conn: &mut PgConnection, server_id: &str) -> Result<Vec<Scope>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT value, description FROM resource_server_scopes WHERE resource_server_id = $1 ORDER BY position",
    )
    .bind(server_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok(Scope { value: row.try_get("value")?, description: row.try_get("description")? }))
        .collect()
}

fn server_from_row(row: &PgRow, scopes: Vec<Scope>) -> anyhow::Result<ResourceServer> {
    let document: String = row.try_get("document")?;
    let document: Map<String, Value> = serde_json::from_str(&document).context("corrupt resource_servers.document")?;
    Ok(ResourceServer::from_stored(
        row.try_get("id")?,
        row.try_get("identifier")?,
        row.try_get("name")?,
        document,
        scopes,
        row.try_get("created_at")?,
    ))
}

const SERVER_COLUMNS: &str = "id, identifier, name, document::text AS document, created_at";

/// The server whose `column` is `key`; `FOR UPDATE` when `lock`.
async fn server_by(
    conn: &mut PgConnection,
    column: &str,
    key: &str,
    lock: bool,
) -> anyhow::Result<Option<ResourceServer>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {SERVER_COLUMNS} FROM resource_servers WHERE {column} = $1{lock}");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let scopes = scopes_of(conn, &row.try_get::<String, _>("id")?).await?;
    server_from_row(&row, scopes).map(Some)
}

/// Makes the stored scopes of `server_id` those given, in order: scopes that went away are
/// deleted (and, by cascade, their assignments); kept ones are updated in place, so their
/// assignments stay.
async fn write_scopes(conn: &mut PgConnection, server_id: &str, scopes: &[Scope]) -> Result<(), sqlx::Error> {
    let values: Vec<String> = scopes.iter().map(|s| s.value.clone()).collect();
    sqlx::query("DELETE FROM resource_server_scopes WHERE resource_server_id = $1 AND NOT (value = ANY($2))")
        .bind(server_id)
        .bind(&values)
        .execute(&mut *conn)
        .await?;
    let descriptions: Vec<Option<String>> = scopes.iter().map(|s| s.description.clone()).collect();
    let positions: Vec<i32> = (0..scopes.len() as i32).collect();
    sqlx::query(
        "INSERT INTO resource_server_scopes (resource_server_id, value, description, position) \
         SELECT $1, value, description, position FROM UNNEST($2::text[], $3::text[], $4::int[]) \
         AS scope (value, description, position) \
         ON CONFLICT (resource_server_id, value) \
         DO UPDATE SET description = excluded.description, position = excluded.position",
    )
    .bind(server_id)
    .bind(&values)
    .bind(&descriptions)
    .bind(&positions)
    .execute(conn)
    .await?;
    Ok(())
}

async fn count(conn: &mut PgConnection, sql: &'static str, key: &str) -> Result<u64, sqlx::Error> {
    let total: i64 = sqlx::query_scalar(sql).bind(key).fetch_one(conn).await?;
    Ok(total as u64)
}

/// An assignment that lost a race with the delete of what it assigns.
fn lost_to_delete(error: sqlx::Error, instead: RbacError) -> RbacError {
    match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => instead,
        _ => error.into(),
    }
}

#[async_trait]
impl RbacStore for PostgresStore {
    async fn create_role(&self, role: &Role, created_at: &Timestamp) -> Result<(), RbacError> {
        sqlx::query("INSERT INTO roles (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&role.id)
            .bind(&role.name)
            .bind(&role.description)
            .bind(stamp(created_at))
            .execute(&self.pool)
            .await
            .map_err(|e| if is_unique_violation(&e) { RbacError::RoleExists } else { e.into() })?;
        Ok(())
    }

    async fn role(&self, id: &str) -> anyhow::Result<Option<Role>> {
        let row = sqlx::query("SELECT id, name, description FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(role_from_row).transpose()?)
    }

    async fn roles(&self, name_filter: Option<&str>, window: Window) -> anyhow::Result<Listed<Role>> {
        if let Some(filter) = name_filter {
            // Case folding is Unicode-aware in Rust, not in SQL under the "C" collation: filter
            // here, as on SQLite. A tenant's roles are few.
            let rows = sqlx::query("SELECT id, name, description FROM roles ORDER BY name, id COLLATE \"C\"")
                .fetch_all(&self.pool)
                .await?;
            let matching: Vec<Role> = rows
                .iter()
                .map(role_from_row)
                .filter(|role| role.as_ref().map_or(true, |r| rbac::name_matches(&r.name, filter)))
                .collect::<Result<_, _>>()?;
            let total = matching.len() as u64;
            let items = matching.into_iter().skip(window.offset as usize).take(window.limit as usize).collect();
            return Ok(Listed { items, total });
        }
        let mut tx = begin(&self.pool).await?;
        let rows =
            sqlx::query("SELECT id, name, description FROM roles ORDER BY name, id COLLATE \"C\" LIMIT $1 OFFSET $2")
                .bind(clamp(window.limit))
                .bind(clamp(window.offset))
                .fetch_all(&mut *tx)
                .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roles").fetch_one(&mut *tx).await?;
        tx.commit().await?;
        let items = rows.iter().map(role_from_row).collect::<Result<_, _>>()?;
        Ok(Listed { items, total: total as u64 })
    }

    async fn update_role(&self, id: &str, patch: &RolePatch) -> Result<Role, RbacError> {
        let mut tx = begin(&self.pool).await?;
        let row = sqlx::query("SELECT id, name, description FROM roles WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(RbacError::RoleNotFound)?;
        let mut role = role_from_row(&row)?;
        patch.apply(&mut role);
        sqlx::query("UPDATE roles SET name = $1, description = $2 WHERE id = $3")
            .bind(&role.name)
            .bind(&role.description)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { RbacError::RoleExists } else { e.into() })?;
        tx.commit().await?;
        Ok(role)
    }

    async fn delete_role(&self, id: &str) -> anyhow::Result<bool> {
        let result = sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn role_permissions(&self, role_id: &str, window: Window) -> Result<Listed<Permission>, RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, false).await? {
            return Err(RbacError::RoleNotFound);
        }
        let sql = format!(
            "SELECT {PERMISSION_COLUMNS} FROM role_permissions rp \
             JOIN resource_servers rs ON rs.id = rp.resource_server_id \
             JOIN resource_server_scopes s ON s.resource_server_id = rp.resource_server_id AND s.value = rp.permission_name \
             WHERE rp.role_id = $1 ORDER BY {PERMISSION_ORDER} LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(role_id)
            .bind(clamp(window.limit))
            .bind(clamp(window.offset))
            .fetch_all(&mut *tx)
            .await?;
        let total = count(&mut tx, "SELECT COUNT(*) FROM role_permissions WHERE role_id = $1", role_id).await?;
        tx.commit().await?;
        let items = rows.iter().map(permission_from_row).collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, true).await? {
            return Err(RbacError::RoleNotFound);
        }
        let resolved = resolve_permissions(&mut tx, permissions).await?;
        grant_permissions(&mut tx, PermissionHolder::Role, role_id, &resolved, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_role_permissions(&self, role_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, false).await? {
            return Err(RbacError::RoleNotFound);
        }
        revoke_permissions(&mut tx, PermissionHolder::Role, role_id, permissions).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn role_users(&self, role_id: &str, window: Window) -> Result<Listed<RoleUser>, RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, false).await? {
            return Err(RbacError::RoleNotFound);
        }
        let rows = sqlx::query(
            "SELECT u.user_id, u.email, u.picture, u.name FROM user_roles ur JOIN users u ON u.user_id = ur.user_id \
             WHERE ur.role_id = $1 ORDER BY ur.created_at, ur.user_id LIMIT $2 OFFSET $3",
        )
        .bind(role_id)
        .bind(clamp(window.limit))
        .bind(clamp(window.offset))
        .fetch_all(&mut *tx)
        .await?;
        let total = count(&mut tx, "SELECT COUNT(*) FROM user_roles WHERE role_id = $1", role_id).await?;
        tx.commit().await?;
        let items = rows.iter().map(role_user_from_row).collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn role_users_after(
        &self,
        role_id: &str,
        after: Option<&RoleMemberKey>,
        take: u64,
    ) -> Result<RoleMembers, RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, false).await? {
            return Err(RbacError::RoleNotFound);
        }
        let resume =
            if after.is_some() { "AND (ur.created_at > $3 OR (ur.created_at = $3 AND ur.user_id > $4))" } else { "" };
        // One row more than asked tells whether another page follows.
        let sql = format!(
            "SELECT u.user_id, u.email, u.picture, u.name, ur.created_at AS assigned_at FROM user_roles ur \
             JOIN users u ON u.user_id = ur.user_id WHERE ur.role_id = $1 {resume} \
             ORDER BY ur.created_at, ur.user_id LIMIT $2"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(role_id).bind(clamp(take).saturating_add(1));
        if let Some((at, user_id)) = after {
            query = query.bind(*at).bind(user_id);
        }
        let mut rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut next = None;
        if rows.len() as u64 > take {
            rows.truncate(take as usize);
            if let Some(last) = rows.last() {
                next = Some((last.try_get("assigned_at")?, last.try_get("user_id")?));
            }
        }
        let users = rows.iter().map(role_user_from_row).collect::<Result<_, _>>()?;
        Ok(RoleMembers { users, next })
    }

    async fn assign_role_users(&self, role_id: &str, user_ids: &[String], at: &Timestamp) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !role_exists(&mut tx, role_id, true).await? {
            return Err(RbacError::RoleNotFound);
        }
        for user_id in user_ids {
            if !user_exists(&mut tx, user_id, true).await? {
                return Err(RbacError::UnknownUsers);
            }
            sqlx::query(
                "INSERT INTO user_roles (user_id, role_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(role_id)
            .bind(stamp(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| lost_to_delete(e, RbacError::UnknownUsers))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_roles(&self, user_id: &str, window: Window) -> Result<Listed<Role>, RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, false).await? {
            return Err(RbacError::UserNotFound);
        }
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.description FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
             WHERE ur.user_id = $1 ORDER BY r.name, r.id COLLATE \"C\" LIMIT $2 OFFSET $3",
        )
        .bind(user_id)
        .bind(clamp(window.limit))
        .bind(clamp(window.offset))
        .fetch_all(&mut *tx)
        .await?;
        let total = count(&mut tx, "SELECT COUNT(*) FROM user_roles WHERE user_id = $1", user_id).await?;
        tx.commit().await?;
        let items = rows.iter().map(role_from_row).collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn assign_user_roles(&self, user_id: &str, role_ids: &[String], at: &Timestamp) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, true).await? {
            return Err(RbacError::UserNotFound);
        }
        let mut missing = Vec::new();
        for role_id in role_ids {
            if !role_exists(&mut tx, role_id, true).await? {
                missing.push(role_id.clone());
            }
        }
        if !missing.is_empty() {
            return Err(RbacError::UnknownRoles(missing));
        }
        for role_id in role_ids {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(role_id)
            .bind(stamp(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| lost_to_delete(e, RbacError::UnknownRoles(vec![role_id.clone()])))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn remove_user_roles(&self, user_id: &str, role_ids: &[String]) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, false).await? {
            return Err(RbacError::UserNotFound);
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_id = ANY($2)")
            .bind(user_id)
            .bind(role_ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_permissions(&self, user_id: &str) -> Result<Vec<UserPermission>, RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, false).await? {
            return Err(RbacError::UserNotFound);
        }
        let direct = format!(
            "SELECT {PERMISSION_COLUMNS} FROM user_permissions up \
             JOIN resource_servers rs ON rs.id = up.resource_server_id \
             JOIN resource_server_scopes s ON s.resource_server_id = up.resource_server_id AND s.value = up.permission_name \
             WHERE up.user_id = $1"
        );
        let through_roles = format!(
            "SELECT {PERMISSION_COLUMNS}, r.id AS role_id, r.name AS role_name FROM user_roles ur \
             JOIN roles r ON r.id = ur.role_id \
             JOIN role_permissions rp ON rp.role_id = ur.role_id \
             JOIN resource_servers rs ON rs.id = rp.resource_server_id \
             JOIN resource_server_scopes s ON s.resource_server_id = rp.resource_server_id AND s.value = rp.permission_name \
             WHERE ur.user_id = $1"
        );
        let direct_rows = sqlx::query(sqlx::AssertSqlSafe(direct)).bind(user_id).fetch_all(&mut *tx).await?;
        let role_rows = sqlx::query(sqlx::AssertSqlSafe(through_roles)).bind(user_id).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut grants = Vec::with_capacity(direct_rows.len() + role_rows.len());
        for row in &direct_rows {
            grants.push((permission_from_row(row)?, PermissionSource::Direct));
        }
        for row in &role_rows {
            let source = PermissionSource::Role { name: row.try_get("role_name")?, id: row.try_get("role_id")? };
            grants.push((permission_from_row(row)?, source));
        }
        Ok(rbac::merge_grants(grants))
    }

    async fn add_user_permissions(
        &self,
        user_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, true).await? {
            return Err(RbacError::UserNotFound);
        }
        let resolved = resolve_permissions(&mut tx, permissions).await?;
        grant_permissions(&mut tx, PermissionHolder::User, user_id, &resolved, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_user_permissions(&self, user_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        if !user_exists(&mut tx, user_id, false).await? {
            return Err(RbacError::UserNotFound);
        }
        revoke_permissions(&mut tx, PermissionHolder::User, user_id, permissions).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_resource_server(&self, server: &ResourceServer) -> Result<(), RbacError> {
        let mut tx = begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO resource_servers (id, identifier, name, document, created_at) \
             VALUES ($1, $2, $3, $4::json, $5)",
        )
        .bind(&server.id)
        .bind(&server.identifier)
        .bind(&server.name)
        .bind(json_text(&server.document()))
        .bind(stamp(&server.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { RbacError::ResourceServerExists } else { e.into() })?;
        if let Some(scopes) = &server.scopes {
            write_scopes(&mut tx, &server.id, scopes).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn resource_server(&self, id_or_identifier: &str) -> anyhow::Result<Option<ResourceServer>> {
        let mut tx = begin(&self.pool).await?;
        let mut found = server_by(&mut tx, "id", id_or_identifier, false).await?;
        if found.is_none() {
            found = server_by(&mut tx, "identifier", id_or_identifier, false).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn resource_servers(
        &self,
        identifiers: Option<&[String]>,
        window: Window,
    ) -> anyhow::Result<Listed<ResourceServer>> {
        let mut tx = begin(&self.pool).await?;
        let filter = if identifiers.is_some() { "WHERE identifier = ANY($3)" } else { "" };
        let sql = format!(
            "SELECT {SERVER_COLUMNS} FROM resource_servers {filter} ORDER BY created_at, id COLLATE \"C\" \
             LIMIT $1 OFFSET $2"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(clamp(window.limit)).bind(clamp(window.offset));
        if let Some(ids) = identifiers {
            query = query.bind(ids);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let total: i64 = match identifiers {
            Some(ids) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM resource_servers WHERE identifier = ANY($1)")
                    .bind(ids)
                    .fetch_one(&mut *tx)
                    .await?
            }
            None => sqlx::query_scalar("SELECT COUNT(*) FROM resource_servers").fetch_one(&mut *tx).await?,
        };
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let scopes = scopes_of(&mut tx, &row.try_get::<String, _>("id")?).await?;
            items.push(server_from_row(row, scopes)?);
        }
        tx.commit().await?;
        Ok(Listed { items, total: total as u64 })
    }

    async fn update_resource_server(
        &self,
        id: &str,
        edit: ResourceServerEdit<'_>,
    ) -> Result<ResourceServer, RbacError> {
        let mut tx = begin(&self.pool).await?;
        let before = server_by(&mut tx, "id", id, true).await?.ok_or(RbacError::ResourceServerNotFound)?;
        let mut server = before.clone();
        edit(&mut server);
        sqlx::query("UPDATE resource_servers SET name = $1, document = $2::json WHERE id = $3")
            .bind(&server.name)
            .bind(json_text(&server.document()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if server.scopes != before.scopes
            && let Some(scopes) = &server.scopes
        {
            write_scopes(&mut tx, id, scopes).await?;
        }
        tx.commit().await?;
        Ok(server)
    }

    async fn delete_resource_server(&self, id: &str) -> anyhow::Result<bool> {
        // The grants for it go too: a tenant write, under the lock creating and changing grants take.
        let mut tx = tenant_admin::locked(self).await?;
        let identifier: Option<String> =
            sqlx::query_scalar("DELETE FROM resource_servers WHERE id = $1 RETURNING identifier")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        // Grants name their API by identifier, without a foreign key.
        if let Some(identifier) = &identifier {
            sqlx::query("DELETE FROM client_grants WHERE audience = $1").bind(identifier).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(identifier.is_some())
    }
}
