//! [`OrganizationStore`](crate::store::organizations::OrganizationStore) on Sqlite.
//!
//! Writes run on the single writer connection, so a check (does the user exist?) and the
//! insert that relies on it cannot interleave with another write.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{SqliteStore, clamp, json_text, required_time};
use crate::domain::organization::Organization;
use crate::domain::time::{self, Timestamp};
use crate::store::organizations::{
    Listing, MAX_ROLES_PER_MEMBER, Member, MemberCursor, OrganizationEdit, OrganizationError, OrganizationOrder,
    OrganizationSort, OrganizationStore, RoleSummary, Slice,
};

const ORGANIZATION_COLUMNS: &str = "o.id, o.name, o.display_name, o.document, o.created_at";

fn organization_from_row(row: &SqliteRow) -> anyhow::Result<Organization> {
    let document: String = row.try_get("document")?;
    Ok(Organization {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        settings: serde_json::from_str(&document).context("corrupt organizations.document")?,
        created_at: required_time(row, "created_at")?,
    })
}

fn role_from_row(row: &SqliteRow) -> anyhow::Result<RoleSummary> {
    Ok(RoleSummary { id: row.try_get("id")?, name: row.try_get("name")?, description: row.try_get("description")? })
}

fn name_taken(error: sqlx::Error) -> OrganizationError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
        && db.message().contains("organizations.name")
    {
        return OrganizationError::NameTaken;
    }
    OrganizationError::Other(error.into())
}

fn other(error: sqlx::Error) -> OrganizationError {
    OrganizationError::Other(error.into())
}

/// `?, ?, …` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The ids once each, in the order given.
fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

async fn exists(tx: &mut Transaction<'_, Sqlite>, sql: &'static str, id: &str) -> Result<bool, OrganizationError> {
    Ok(sqlx::query(sql).bind(id).fetch_optional(&mut **tx).await.map_err(other)?.is_some())
}

async fn require_organization(tx: &mut Transaction<'_, Sqlite>, id: &str) -> Result<(), OrganizationError> {
    if exists(tx, "SELECT 1 FROM organizations WHERE id = $1", id).await? {
        Ok(())
    } else {
        Err(OrganizationError::OrganizationNotFound)
    }
}

async fn require_user(tx: &mut Transaction<'_, Sqlite>, user_id: &str) -> Result<(), OrganizationError> {
    if exists(tx, "SELECT 1 FROM users WHERE user_id = $1", user_id).await? {
        Ok(())
    } else {
        Err(OrganizationError::UserNotFound)
    }
}

impl SqliteStore {
    async fn organization_where(&self, column: &'static str, value: &str) -> anyhow::Result<Option<Organization>> {
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.{column} = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&self.read).await?;
        row.as_ref().map(organization_from_row).transpose()
    }

    async fn organization_exists(&self, id: &str) -> anyhow::Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }

    async fn user_exists(&self, user_id: &str) -> anyhow::Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn create_organization(&self, organization: &Organization) -> Result<(), OrganizationError> {
        sqlx::query(
            "INSERT INTO organizations (id, name, display_name, document, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&organization.id)
        .bind(&organization.name)
        .bind(&organization.display_name)
        .bind(json_text(&organization.settings))
        .bind(time::format(&organization.created_at))
        .execute(&self.write)
        .await
        .map_err(name_taken)?;
        Ok(())
    }

    async fn organization(&self, id: &str) -> anyhow::Result<Option<Organization>> {
        self.organization_where("id", id).await
    }

    async fn organization_by_name(&self, name: &str) -> anyhow::Result<Option<Organization>> {
        self.organization_where("name", name).await
    }

    async fn organizations(
        &self,
        sort: OrganizationSort,
        slice: &Slice<String>,
    ) -> anyhow::Result<Listing<Organization>> {
        match slice {
            Slice::Page { offset, limit } => {
                let direction = if sort.descending { "DESC" } else { "ASC" };
                // SQLite puts NULLs (organizations without a display name) first ascending and
                // last descending, as the PostgreSQL store does explicitly.
                let order = match sort.by {
                    OrganizationOrder::Name => format!("o.name {direction}"),
                    OrganizationOrder::DisplayName => format!("o.display_name {direction}, o.name {direction}"),
                    OrganizationOrder::CreatedAt => format!("o.created_at {direction}, o.name {direction}"),
                };
                let sql =
                    format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o ORDER BY {order} LIMIT $1 OFFSET $2");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(clamp(*limit))
                    .bind(clamp(*offset))
                    .fetch_all(&self.read)
                    .await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&self.read).await?;
                let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
                Ok(Listing { items, total: total as u64, more: false })
            }
            Slice::After { after, limit } => {
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE $1 IS NULL OR o.name > $1 \
                     ORDER BY o.name LIMIT $2"
                );
                // One row more than asked tells whether another page follows.
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after.as_deref())
                    .bind(clamp(*limit).saturating_add(1))
                    .fetch_all(&self.read)
                    .await?;
                let more = rows.len() as u64 > *limit;
                rows.truncate(*limit as usize);
                let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
                Ok(Listing { items, total: 0, more })
            }
        }
    }

    async fn update_organization(
        &self,
        id: &str,
        edit: OrganizationEdit<'_>,
    ) -> Result<Option<Organization>, OrganizationError> {
        let mut tx = self.write.begin().await.map_err(other)?;
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await.map_err(other)?;
        let Some(row) = row else { return Ok(None) };
        let mut organization = organization_from_row(&row)?;
        edit(&mut organization);
        sqlx::query("UPDATE organizations SET name = $1, display_name = $2, document = $3 WHERE id = $4")
            .bind(&organization.name)
            .bind(&organization.display_name)
            .bind(json_text(&organization.settings))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(name_taken)?;
        tx.commit().await.map_err(other)?;
        Ok(Some(organization))
    }

    async fn delete_organization(&self, id: &str) -> anyhow::Result<bool> {
        // Memberships and member roles go with it (ON DELETE CASCADE).
        let result = sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(&self.write).await?;
        self.totals.invalidate();
        Ok(result.rows_affected() > 0)
    }

    async fn add_members(
        &self,
        organization_id: &str,
        user_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let mut tx = self.write.begin().await.map_err(other)?;
        require_organization(&mut tx, organization_id).await?;
        let user_ids = distinct(user_ids);
        let mut missing = Vec::new();
        for user_id in &user_ids {
            if !exists(&mut tx, "SELECT 1 FROM users WHERE user_id = $1", user_id).await? {
                missing.push((*user_id).to_owned());
            }
        }
        if !missing.is_empty() {
            return Err(OrganizationError::UsersNotFound(missing));
        }
        let joined_at = time::format(&now);
        for user_id in user_ids {
            sqlx::query(
                "INSERT INTO organization_members (organization_id, user_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(&joined_at)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        self.totals.invalidate();
        Ok(())
    }

    async fn remove_members(&self, organization_id: &str, user_ids: &[String]) -> Result<(), OrganizationError> {
        let mut tx = self.write.begin().await.map_err(other)?;
        require_organization(&mut tx, organization_id).await?;
        for user_id in distinct(user_ids) {
            // The member's roles in the organization go with the membership (ON DELETE CASCADE).
            sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2")
                .bind(organization_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        self.totals.invalidate();
        Ok(())
    }

    async fn members(
        &self,
        organization_id: &str,
        slice: &Slice<MemberCursor>,
        with_roles: bool,
    ) -> anyhow::Result<Option<Listing<Member>>> {
        // One read transaction: the page, its total and its roles come from one snapshot.
        let mut tx = self.read.begin().await?;
        if sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
            .bind(organization_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        const SELECT: &str = "SELECT m.user_id, m.created_at AS joined_at, u.email, u.picture, u.name \
             FROM organization_members m JOIN users u ON u.user_id = m.user_id WHERE m.organization_id = $1";
        let (rows, total, more) = match slice {
            Slice::Page { offset, limit } => {
                let sql = format!("{SELECT} ORDER BY m.created_at, m.user_id LIMIT $2 OFFSET $3");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(organization_id)
                    .bind(clamp(*limit))
                    .bind(clamp(*offset))
                    .fetch_all(&mut *tx)
                    .await?;
                let total: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE organization_id = $1")
                        .bind(organization_id)
                        .fetch_one(&mut *tx)
                        .await?;
                (rows, total as u64, false)
            }
            Slice::After { after, limit } => {
                let (joined_at, user_id) = match after {
                    Some(cursor) => (Some(time::format(&cursor.joined_at)), Some(cursor.user_id.as_str())),
                    None => (None, None),
                };
                let sql = format!(
                    "{SELECT} AND ($2 IS NULL OR m.created_at > $2 OR (m.created_at = $2 AND m.user_id > $3)) \
                     ORDER BY m.created_at, m.user_id LIMIT $4"
                );
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(organization_id)
                    .bind(joined_at)
                    .bind(user_id)
                    .bind(clamp(*limit).saturating_add(1))
                    .fetch_all(&mut *tx)
                    .await?;
                let more = rows.len() as u64 > *limit;
                rows.truncate(*limit as usize);
                (rows, 0, more)
            }
        };
        let mut members = rows
            .iter()
            .map(|row| {
                Ok(Member {
                    user_id: row.try_get("user_id")?,
                    email: row.try_get("email")?,
                    picture: row.try_get("picture")?,
                    name: row.try_get("name")?,
                    joined_at: required_time(row, "joined_at")?,
                    roles: Vec::new(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if with_roles && !members.is_empty() {
            let sql = format!(
                "SELECT mr.user_id, r.id, r.name, r.description FROM organization_member_roles mr \
                 JOIN roles r ON r.id = mr.role_id WHERE mr.organization_id = ? AND mr.user_id IN ({}) \
                 ORDER BY r.name, r.id",
                placeholders(members.len())
            );
            let query = members
                .iter()
                .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(organization_id), |q, m| q.bind(m.user_id.clone()));
            for row in query.fetch_all(&mut *tx).await? {
                let user_id: String = row.try_get("user_id")?;
                if let Some(member) = members.iter_mut().find(|m| m.user_id == user_id) {
                    member.roles.push(role_from_row(&row)?);
                }
            }
        }
        Ok(Some(Listing { items: members, total, more }))
    }

    async fn assign_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let mut tx = self.write.begin().await.map_err(other)?;
        require_organization(&mut tx, organization_id).await?;
        require_user(&mut tx, user_id).await?;
        let role_ids = distinct(role_ids);
        let mut missing = Vec::new();
        for role_id in &role_ids {
            if !exists(&mut tx, "SELECT 1 FROM roles WHERE id = $1", role_id).await? {
                missing.push((*role_id).to_owned());
            }
        }
        if !missing.is_empty() {
            return Err(OrganizationError::RolesNotFound(missing));
        }
        let stamp = time::format(&now);
        sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(&stamp)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        for role_id in role_ids {
            sqlx::query(
                "INSERT INTO organization_member_roles (organization_id, user_id, role_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(role_id)
            .bind(&stamp)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        }
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        if count as u64 > MAX_ROLES_PER_MEMBER {
            // Dropping the transaction rolls it back.
            return Err(OrganizationError::TooManyRoles);
        }
        tx.commit().await.map_err(other)?;
        self.totals.invalidate();
        Ok(())
    }

    async fn remove_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<(), OrganizationError> {
        let mut tx = self.write.begin().await.map_err(other)?;
        require_organization(&mut tx, organization_id).await?;
        require_user(&mut tx, user_id).await?;
        for role_id in distinct(role_ids) {
            sqlx::query(
                "DELETE FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2 AND role_id = $3",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(role_id)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Listing<RoleSummary>, OrganizationError> {
        if !self.organization_exists(organization_id).await? {
            return Err(OrganizationError::OrganizationNotFound);
        }
        if !self.user_exists(user_id).await? {
            return Err(OrganizationError::UserNotFound);
        }
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.description FROM organization_member_roles mr JOIN roles r ON r.id = mr.role_id \
             WHERE mr.organization_id = $1 AND mr.user_id = $2 ORDER BY r.name, r.id LIMIT $3 OFFSET $4",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(clamp(limit))
        .bind(clamp(offset))
        .fetch_all(&self.read)
        .await
        .map_err(other)?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_one(&self.read)
        .await
        .map_err(other)?;
        let items = rows.iter().map(role_from_row).collect::<anyhow::Result<_>>()?;
        Ok(Listing { items, total: total as u64, more: false })
    }

    async fn user_organizations(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<Option<Listing<Organization>>> {
        if !self.user_exists(user_id).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {ORGANIZATION_COLUMNS} FROM organization_members m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 ORDER BY o.name LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(clamp(limit))
            .bind(clamp(offset))
            .fetch_all(&self.read)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&self.read)
            .await?;
        let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
        Ok(Some(Listing { items, total: total as u64, more: false }))
    }
}
