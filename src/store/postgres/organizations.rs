//! [`OrganizationStore`](crate::store::organizations::OrganizationStore) on Postgres.
//!
//! Writes that rely on other rows (the organization, the users, the roles) read them `FOR KEY
//! SHARE` inside their transaction: another node deleting one of them waits for the write to
//! commit (and then cascades through what it inserted), so nothing is left pointing at a row
//! that is gone. A rename takes the organization `FOR UPDATE`.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use super::{PostgresStore, begin, clamp, json_text, stamp};
use crate::domain::organization::Organization;
use crate::domain::time::Timestamp;
use crate::store::organizations::{
    Listing, MAX_ROLES_PER_MEMBER, Member, MemberCursor, OrganizationEdit, OrganizationError, OrganizationOrder,
    OrganizationSort, OrganizationStore, RoleSummary, Slice,
};

/// The document is `json` (its text kept as written) and read back as text.
const ORGANIZATION_COLUMNS: &str = "o.id, o.name, o.display_name, o.document::text AS document, o.created_at";

fn organization_from_row(row: &PgRow) -> anyhow::Result<Organization> {
    let document: String = row.try_get("document")?;
    Ok(Organization {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        settings: serde_json::from_str(&document).context("corrupt organizations.document")?,
        created_at: row.try_get("created_at")?,
    })
}

fn role_from_row(row: &PgRow) -> anyhow::Result<RoleSummary> {
    Ok(RoleSummary { id: row.try_get("id")?, name: row.try_get("name")?, description: row.try_get("description")? })
}

/// The unique name's violation (migrations/postgres/0003: `organizations_name_key`).
fn name_taken(error: sqlx::Error) -> OrganizationError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
        && db.constraint() == Some("organizations_name_key")
    {
        return OrganizationError::NameTaken;
    }
    OrganizationError::Other(error.into())
}

fn other(error: sqlx::Error) -> OrganizationError {
    OrganizationError::Other(error.into())
}

/// The ids once each, in the order given.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// Locks the organization against deletion until the transaction ends.
async fn require_organization(tx: &mut Transaction<'static, Postgres>, id: &str) -> Result<(), OrganizationError> {
    let found = sqlx::query("SELECT 1 FROM organizations WHERE id = $1 FOR KEY SHARE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(other)?;
    found.map(|_| ()).ok_or(OrganizationError::OrganizationNotFound)
}

/// Of `ids`, those `table` has no row for (in the order given); the others are locked against
/// deletion until the transaction ends.
async fn missing(
    tx: &mut Transaction<'static, Postgres>,
    sql: &'static str,
    ids: &[String],
) -> Result<Vec<String>, OrganizationError> {
    let found: Vec<String> = sqlx::query_scalar(sql).bind(ids).fetch_all(&mut **tx).await.map_err(other)?;
    Ok(ids.iter().filter(|id| !found.contains(id)).cloned().collect())
}

/// The first statement of a read that makes several queries: they all see one snapshot.
const READ_SNAPSHOT: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

const LOCK_USERS: &str = "SELECT user_id FROM users WHERE user_id = ANY($1) FOR KEY SHARE";
const LOCK_ROLES: &str = "SELECT id FROM roles WHERE id = ANY($1) FOR KEY SHARE";

async fn require_user(tx: &mut Transaction<'static, Postgres>, user_id: &str) -> Result<(), OrganizationError> {
    if missing(tx, LOCK_USERS, &[user_id.to_owned()]).await?.is_empty() {
        Ok(())
    } else {
        Err(OrganizationError::UserNotFound)
    }
}

impl PostgresStore {
    async fn organization_where(&self, column: &'static str, value: &str) -> anyhow::Result<Option<Organization>> {
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.{column} = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await?;
        row.as_ref().map(organization_from_row).transpose()
    }
}

#[async_trait]
impl OrganizationStore for PostgresStore {
    async fn create_organization(&self, organization: &Organization) -> Result<(), OrganizationError> {
        sqlx::query(
            "INSERT INTO organizations (id, name, display_name, document, created_at) VALUES ($1, $2, $3, $4::json, $5)",
        )
        .bind(&organization.id)
        .bind(&organization.name)
        .bind(&organization.display_name)
        .bind(json_text(&organization.settings))
        .bind(stamp(&organization.created_at))
        .execute(&self.pool)
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
                // The SQLite store's orders: byte order (names are "C"; the display name is made
                // so), NULL display names first ascending and last descending.
                let direction = if sort.descending { "DESC" } else { "ASC" };
                let nulls = if sort.descending { "NULLS LAST" } else { "NULLS FIRST" };
                let order = match sort.by {
                    OrganizationOrder::Name => format!("o.name {direction}"),
                    OrganizationOrder::DisplayName => {
                        format!("o.display_name COLLATE \"C\" {direction} {nulls}, o.name {direction}")
                    }
                    OrganizationOrder::CreatedAt => format!("o.created_at {direction}, o.name {direction}"),
                };
                let sql =
                    format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o ORDER BY {order} LIMIT $1 OFFSET $2");
                let mut tx = begin(&self.pool).await?;
                sqlx::query(READ_SNAPSHOT).execute(&mut *tx).await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(clamp(*limit))
                    .bind(clamp(*offset))
                    .fetch_all(&mut *tx)
                    .await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&mut *tx).await?;
                tx.commit().await?;
                let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
                Ok(Listing { items, total: total as u64, more: false })
            }
            Slice::After { after, limit } => {
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE $1::text IS NULL OR o.name > $1 \
                     ORDER BY o.name LIMIT $2"
                );
                // One row more than asked tells whether another page follows.
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after.as_deref())
                    .bind(clamp(*limit).saturating_add(1))
                    .fetch_all(&self.pool)
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
        // FOR UPDATE: a concurrent update of the same organization waits and then edits the row
        // as this one left it.
        let mut tx = begin(&self.pool).await?;
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.id = $1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *tx).await.map_err(other)?;
        let Some(row) = row else { return Ok(None) };
        let mut organization = organization_from_row(&row)?;
        edit(&mut organization);
        sqlx::query("UPDATE organizations SET name = $1, display_name = $2, document = $3::json WHERE id = $4")
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
        let result = sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(result.rows_affected() > 0)
    }

    async fn add_members(
        &self,
        organization_id: &str,
        user_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let mut tx = begin(&self.pool).await?;
        require_organization(&mut tx, organization_id).await?;
        let user_ids = distinct(user_ids);
        let missing = missing(&mut tx, LOCK_USERS, &user_ids).await?;
        if !missing.is_empty() {
            return Err(OrganizationError::UsersNotFound(missing));
        }
        sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id, created_at) \
             SELECT $1, user_id, $3 FROM UNNEST($2::text[]) AS member (user_id) ON CONFLICT DO NOTHING",
        )
        .bind(organization_id)
        .bind(&user_ids)
        .bind(stamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn remove_members(&self, organization_id: &str, user_ids: &[String]) -> Result<(), OrganizationError> {
        let mut tx = begin(&self.pool).await?;
        require_organization(&mut tx, organization_id).await?;
        // The members' roles in the organization go with the memberships (ON DELETE CASCADE).
        sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = ANY($2)")
            .bind(organization_id)
            .bind(user_ids)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }

    async fn members(
        &self,
        organization_id: &str,
        slice: &Slice<MemberCursor>,
        with_roles: bool,
    ) -> anyhow::Result<Option<Listing<Member>>> {
        // One transaction (REPEATABLE READ: one snapshot): the page, its total and its roles agree.
        let mut tx = begin(&self.pool).await?;
        sqlx::query(READ_SNAPSHOT).execute(&mut *tx).await?;
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
                    Some(cursor) => (Some(stamp(&cursor.joined_at)), Some(cursor.user_id.as_str())),
                    None => (None, None),
                };
                let sql = format!(
                    "{SELECT} AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) > ($2, $3::text)) \
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
                    joined_at: row.try_get("joined_at")?,
                    roles: Vec::new(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if with_roles && !members.is_empty() {
            let user_ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
            let rows = sqlx::query(
                "SELECT mr.user_id, r.id, r.name, r.description FROM organization_member_roles mr \
                 JOIN roles r ON r.id = mr.role_id WHERE mr.organization_id = $1 AND mr.user_id = ANY($2) \
                 ORDER BY r.name, r.id",
            )
            .bind(organization_id)
            .bind(&user_ids)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let user_id: String = row.try_get("user_id")?;
                if let Some(member) = members.iter_mut().find(|m| m.user_id == user_id) {
                    member.roles.push(role_from_row(&row)?);
                }
            }
        }
        tx.commit().await?;
        Ok(Some(Listing { items: members, total, more }))
    }

    async fn assign_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let mut tx = begin(&self.pool).await?;
        require_organization(&mut tx, organization_id).await?;
        require_user(&mut tx, user_id).await?;
        let role_ids = distinct(role_ids);
        let missing = missing(&mut tx, LOCK_ROLES, &role_ids).await?;
        if !missing.is_empty() {
            return Err(OrganizationError::RolesNotFound(missing));
        }
        sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(stamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        // Locks the membership, so concurrent assignments to one member count one after the other.
        sqlx::query("SELECT 1 FROM organization_members WHERE organization_id = $1 AND user_id = $2 FOR UPDATE")
            .bind(organization_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        sqlx::query(
            "INSERT INTO organization_member_roles (organization_id, user_id, role_id, created_at) \
             SELECT $1, $2, role_id, $4 FROM UNNEST($3::text[]) AS assigned (role_id) ON CONFLICT DO NOTHING",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(&role_ids)
        .bind(stamp(&now))
        .execute(&mut *tx)
        .await
        .map_err(other)?;
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
        Ok(())
    }

    async fn remove_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<(), OrganizationError> {
        let mut tx = begin(&self.pool).await?;
        require_organization(&mut tx, organization_id).await?;
        require_user(&mut tx, user_id).await?;
        sqlx::query(
            "DELETE FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2 AND role_id = ANY($3)",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(role_ids)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
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
        let mut tx = begin(&self.pool).await?;
        sqlx::query(READ_SNAPSHOT).execute(&mut *tx).await.map_err(other)?;
        let organization = sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
            .bind(organization_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
        if organization.is_none() {
            return Err(OrganizationError::OrganizationNotFound);
        }
        let user = sqlx::query("SELECT 1 FROM users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
        if user.is_none() {
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
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        tx.commit().await.map_err(other)?;
        let items = rows.iter().map(role_from_row).collect::<anyhow::Result<_>>()?;
        Ok(Listing { items, total: total as u64, more: false })
    }

    async fn user_organizations(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<Option<Listing<Organization>>> {
        let mut tx = begin(&self.pool).await?;
        sqlx::query(READ_SNAPSHOT).execute(&mut *tx).await?;
        if sqlx::query("SELECT 1 FROM users WHERE user_id = $1").bind(user_id).fetch_optional(&mut *tx).await?.is_none()
        {
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
            .fetch_all(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
        Ok(Some(Listing { items, total: total as u64, more: false }))
    }
}
