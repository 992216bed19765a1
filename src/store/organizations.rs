//! Organizations, their members, and members' roles in them.
//!
//! Every write that names other objects (users, roles) checks them inside its transaction and
//! holds them there (`for_key_share`), so a concurrent delete cannot slip between the check and
//! the insert; the schema's cascades remove memberships and member roles with the organization,
//! user or role they point at. Listings read one snapshot.

use super::Store;
use super::db::{Conn, DbError, Row, Value, args, clamp, delete_each, in_list, insert_each, insert_rows, job, page};
use super::organization_connections::{add_connections, connections_of};
use super::rbac::role_from_row;
use crate::domain::listing::{Listed, Listing, Slice};
use crate::domain::organization::{
    MAX_ROLES_PER_MEMBER, Member, MemberCursor, Organization, OrganizationOrder, OrganizationSort,
};
use crate::domain::organization_connection::{AddedConnection, OrganizationConnection};
use crate::domain::rbac::Role;
use crate::domain::time::Timestamp;

/// Why an organization write was refused.
#[derive(Debug, thiserror::Error)]
pub enum OrganizationError {
    #[error("another organization has this name")]
    NameTaken,
    #[error("no such organization")]
    OrganizationNotFound,
    #[error("no such user")]
    UserNotFound,
    /// Users named in a payload that do not exist, in payload order.
    #[error("no such users: {0:?}")]
    UsersNotFound(Vec<String>),
    /// Roles named in a payload that do not exist, in payload order.
    #[error("no such roles: {0:?}")]
    RolesNotFound(Vec<String>),
    /// The member would have more than `MAX_ROLES_PER_MEMBER` roles.
    #[error("too many roles")]
    TooManyRoles,
    /// A connection named in a payload does not exist.
    #[error("no such connection")]
    ConnectionNotFound,
    #[error("the connection is already the organization's")]
    ConnectionAlreadyAdded,
    /// A client grant named in a payload does not exist.
    #[error("no such client grant")]
    GrantNotFound,
    #[error("the client grant is already the organization's")]
    GrantAlreadyAdded,
    /// The organization would have more than `MAX_CLIENT_GRANTS` client grants.
    #[error("too many client grants")]
    TooManyGrants,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for OrganizationError {
    fn from(error: DbError) -> Self {
        match error.unique_violation().as_deref() {
            Some("organizations.name") => Self::NameTaken,
            _ => Self::Other(error.into()),
        }
    }
}

const MEMBER_ROLE_COUNT: &str =
    "SELECT COUNT(*) AS total FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2";
const ORGANIZATION_COLUMNS: &str = "o.id, o.name, o.display_name, o.document, o.created_at";
const MEMBERSHIPS: &str = "organization_members (organization_id, created_at, user_id)";

fn organization_from_row(row: &Row) -> anyhow::Result<Organization> {
    Ok(Organization {
        id: row.get("id")?,
        name: row.get("name")?,
        display_name: row.get("display_name")?,
        settings: row.json("document")?,
        created_at: row.time("created_at")?,
    })
}

/// A member without its roles.
fn member_from_row(row: &Row) -> anyhow::Result<Member> {
    Ok(Member {
        user_id: row.get("user_id")?,
        email: row.get("email")?,
        picture: row.get("picture")?,
        name: row.get("name")?,
        joined_at: row.time("joined_at")?,
        roles: Vec::new(),
    })
}

/// The ids once each, in the order given.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// `OrganizationNotFound`, else the organization is held (with `hold`) until the transaction ends.
pub(super) async fn require_organization(conn: &mut Conn<'_>, id: &str, hold: bool) -> Result<(), OrganizationError> {
    if conn.has("organizations", "id", id, hold).await? { Ok(()) } else { Err(OrganizationError::OrganizationNotFound) }
}

/// `UserNotFound`, else the user is held (with `hold`) until the transaction ends.
async fn require_user(conn: &mut Conn<'_>, user_id: &str, hold: bool) -> Result<(), OrganizationError> {
    if conn.has("users", "user_id", user_id, hold).await? { Ok(()) } else { Err(OrganizationError::UserNotFound) }
}

impl Store {
    /// Creates the organization with these connections and answers them (with their names and
    /// strategies); `NameTaken` if another organization has the name, `ConnectionNotFound` or
    /// `ConnectionAlreadyAdded` for a connection that does not exist or is named twice.
    pub async fn create_organization(
        &self,
        organization: &Organization,
        connections: &[AddedConnection],
    ) -> Result<Vec<OrganizationConnection>, OrganizationError> {
        let (organization, connections) = (organization.clone(), connections.to_vec());
        self.db
            .write(job!(|conn| {
                let sql = "INSERT INTO organizations (id, name, display_name, document, created_at) \
                     VALUES ($1, $2, $3, $4, $5)";
                let Organization { id, name, display_name, settings, created_at } = &organization;
                conn.execute(sql, args![id, name, display_name, Value::json(settings), created_at]).await?;
                add_connections(&mut conn, id, &connections, *created_at).await?;
                if connections.is_empty() { Ok(Vec::new()) } else { Ok(connections_of(&mut conn, id).await?) }
            }))
            .await
    }

    pub async fn organization(&self, id: &str) -> anyhow::Result<Option<Organization>> {
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.id = $1");
        self.db.find(&sql, args![id], organization_from_row).await
    }

    pub async fn organization_by_name(&self, name: &str) -> anyhow::Result<Option<Organization>> {
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.name = $1");
        self.db.find(&sql, args![name], organization_from_row).await
    }

    /// Offset pages in `sort` order; after a cursor (the last name seen), by name.
    pub async fn organizations(
        &self,
        sort: OrganizationSort,
        slice: &Slice<String>,
    ) -> anyhow::Result<Listing<Organization>> {
        match slice {
            Slice::Page { offset, limit } => {
                // Byte order; NULL display names first ascending and last descending.
                let direction = if sort.descending { "DESC" } else { "ASC" };
                let nulls = if sort.descending { "NULLS LAST" } else { "NULLS FIRST" };
                let order = match sort.by {
                    OrganizationOrder::Name => format!("o.name {direction}"),
                    OrganizationOrder::DisplayName => {
                        format!("o.display_name COLLATE \"C\" {direction} {nulls}, o.name {direction}")
                    }
                    OrganizationOrder::CreatedAt => format!("o.created_at {direction}, o.name {direction}"),
                };
                let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations o ORDER BY {order}");
                let (limit, offset) = (*limit, *offset);
                self.db
                    .read(job!(|conn| {
                        let sql = (sql.as_str(), "SELECT COUNT(*) AS total FROM organizations");
                        Ok(page(&mut conn, sql, &[], (offset, limit), organization_from_row).await?.into())
                    }))
                    .await
            }
            Slice::After { after, limit } => {
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE $1 IS NULL OR o.name > $1 \
                     ORDER BY o.name LIMIT $2"
                );
                // One row more than asked tells whether another page follows.
                let mut rows =
                    self.db.fetch_all(&sql, args![after.as_deref(), clamp(*limit).saturating_add(1)]).await?;
                let more = rows.len() as u64 > *limit;
                rows.truncate(*limit as usize);
                let items = rows.iter().map(organization_from_row).collect::<anyhow::Result<_>>()?;
                Ok(Listing { items, total: 0, more })
            }
        }
    }

    /// Applies `edit` to the stored organization inside the write transaction; `None` if there
    /// is none; `NameTaken` if the new name is another organization's.
    pub async fn update_organization(
        &self,
        id: &str,
        edit: impl FnOnce(&mut Organization) + Send + 'static,
    ) -> Result<Option<Organization>, OrganizationError> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations o WHERE o.id = $1{}",
                    conn.engine().for_update()
                );
                let Some(mut organization) = conn.find(&sql, args![&id], organization_from_row).await? else {
                    return Ok(None);
                };
                edit(&mut organization);
                conn.execute(
                    "UPDATE organizations SET name = $1, display_name = $2, document = $3 WHERE id = $4",
                    args![&organization.name, &organization.display_name, Value::json(&organization.settings), &id],
                )
                .await?;
                Ok(Some(organization))
            }))
            .await
    }

    /// Whether an organization was deleted (with its memberships and member roles).
    pub async fn delete_organization(&self, id: &str) -> anyhow::Result<bool> {
        self.db.execute("DELETE FROM organizations WHERE id = $1", args![id]).await.map(|deleted| deleted > 0)
    }

    /// Makes the users members (those already members stay as they were).
    pub async fn add_members(
        &self,
        organization_id: &str,
        user_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let (organization_id, user_ids) = (organization_id.to_owned(), distinct(user_ids));
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let missing = conn.missing("users", "user_id", &user_ids, true).await?;
                if !missing.is_empty() {
                    return Err(OrganizationError::UsersNotFound(missing));
                }
                Ok(insert_each(&mut conn, MEMBERSHIPS, args![&organization_id, &now], &user_ids).await?)
            }))
            .await
    }

    /// Ends the users' memberships (and their roles in the organization); others are ignored.
    pub async fn remove_members(&self, organization_id: &str, user_ids: &[String]) -> Result<(), OrganizationError> {
        let (organization_id, user_ids) = (organization_id.to_owned(), distinct(user_ids));
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                // The members' roles in the organization go with the memberships (cascade).
                let delete = "DELETE FROM organization_members WHERE organization_id = $1 AND user_id";
                Ok(delete_each(&mut conn, delete, args![&organization_id], &user_ids).await?)
            }))
            .await
    }

    /// Members in the order they joined; `None` if there is no such organization.
    pub async fn members(
        &self,
        organization_id: &str,
        slice: &Slice<MemberCursor>,
        with_roles: bool,
    ) -> anyhow::Result<Option<Listing<Member>>> {
        let (organization_id, slice) = (organization_id.to_owned(), slice.clone());
        self.db
            .read(job!(|conn| {
                let organization_id = organization_id.as_str();
                if !conn.has("organizations", "id", organization_id, false).await? {
                    return Ok(None);
                }
                const SELECT: &str = "SELECT m.user_id, m.created_at AS joined_at, u.email, u.picture, u.name \
                     FROM organization_members m JOIN users u ON u.user_id = m.user_id WHERE m.organization_id = $1";
                let mut listing = match &slice {
                    Slice::Page { offset, limit } => {
                        let sql = format!("{SELECT} ORDER BY m.created_at, m.user_id");
                        let count = "SELECT COUNT(*) AS total FROM organization_members WHERE organization_id = $1";
                        let values = args![organization_id];
                        page(&mut conn, (&sql, count), values, (*offset, *limit), member_from_row).await?.into()
                    }
                    Slice::After { after, limit } => {
                        let after = after.as_ref().map(|cursor| (cursor.joined_at, cursor.user_id.as_str()));
                        let order = ("m.created_at", "m.user_id");
                        let (rows, more) = conn.fetch_after(SELECT, organization_id, order, after, *limit).await?;
                        let items = rows.iter().map(member_from_row).collect::<anyhow::Result<_>>()?;
                        Listing { items, total: 0, more }
                    }
                };
                if with_roles {
                    let members = &mut listing.items;
                    let index: std::collections::HashMap<String, usize> =
                        members.iter().enumerate().map(|(at, m)| (m.user_id.clone(), at)).collect();
                    // A tenant file lists every member: a bounded IN list at a time.
                    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
                    for chunk in ids.chunks(1000) {
                        let (users, values) = in_list(args![organization_id], chunk);
                        let sql = format!(
                            "SELECT mr.user_id, r.id, r.name, r.description FROM organization_member_roles mr \
                             JOIN roles r ON r.id = mr.role_id \
                             WHERE mr.organization_id = $1 AND mr.user_id IN ({users}) ORDER BY r.name, r.id"
                        );
                        for row in conn.fetch_all(&sql, &values).await? {
                            if let Some(at) = index.get(&row.get::<String>("user_id")?) {
                                members[*at].roles.push(role_from_row(&row)?);
                            }
                        }
                    }
                }
                Ok(Some(listing))
            }))
            .await
    }

    /// Gives the member these roles in the organization, making the user a member first if need
    /// be (Auth0 accepts roles for a user before the membership, TestOrganizationManager_Members).
    pub async fn assign_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let (organization_id, user_id, role_ids) = (organization_id.to_owned(), user_id.to_owned(), distinct(role_ids));
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                require_user(&mut conn, &user_id, true).await?;
                let missing = conn.missing("roles", "id", &role_ids, true).await?;
                if !missing.is_empty() {
                    return Err(OrganizationError::RolesNotFound(missing));
                }
                insert_each(&mut conn, MEMBERSHIPS, args![&organization_id, &now], std::slice::from_ref(&user_id))
                    .await?;
                // Locks the membership, so concurrent assignments to one member count one
                // after the other.
                let sql = format!(
                    "SELECT 1 FROM organization_members WHERE organization_id = $1 AND user_id = $2{}",
                    conn.engine().for_update()
                );
                conn.execute(&sql, args![&organization_id, &user_id]).await?;
                let fixed = args![&organization_id, &user_id, &now];
                insert_each(
                    &mut conn,
                    "organization_member_roles (organization_id, user_id, created_at, role_id)",
                    fixed,
                    &role_ids,
                )
                .await?;
                let count = conn.count(MEMBER_ROLE_COUNT, args![&organization_id, &user_id]).await?;
                // Refusing rolls back what this job wrote.
                if count > MAX_ROLES_PER_MEMBER { Err(OrganizationError::TooManyRoles) } else { Ok(()) }
            }))
            .await
    }

    /// Gives many new members of an organization (a tenant file's) their roles in one
    /// transaction, in multi-row statements: all or none.
    pub async fn assign_new_members_roles(
        &self,
        organization_id: &str,
        members: Vec<(String, Vec<String>)>,
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let members: Vec<(String, Vec<String>)> =
            members.into_iter().map(|(user_id, role_ids)| (user_id, distinct(&role_ids))).collect();
        if members.iter().any(|(_, role_ids)| role_ids.len() as u64 > MAX_ROLES_PER_MEMBER) {
            return Err(OrganizationError::TooManyRoles);
        }
        let organization_id = organization_id.to_owned();
        self.db
            .write(job!(|conn| {
                let rows: Vec<Value> = members
                    .iter()
                    .flat_map(|(user_id, role_ids)| role_ids.iter().map(move |role_id| (user_id, role_id)))
                    .flat_map(|(user_id, role_id)| {
                        [Value::from(&organization_id), Value::from(user_id), Value::from(&now), Value::from(role_id)]
                    })
                    .collect();
                let into = "organization_member_roles (organization_id, user_id, created_at, role_id)";
                insert_rows(&mut conn, into, 4, &rows, "ON CONFLICT DO NOTHING").await?;
                Ok(())
            }))
            .await
    }

    /// Takes these roles from the member; roles it does not have are ignored.
    pub async fn remove_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<(), OrganizationError> {
        let (organization_id, user_id, role_ids) = (organization_id.to_owned(), user_id.to_owned(), distinct(role_ids));
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                require_user(&mut conn, &user_id, true).await?;
                let delete =
                    "DELETE FROM organization_member_roles WHERE organization_id = $1 AND user_id = $2 AND role_id";
                Ok(delete_each(&mut conn, delete, args![&organization_id, &user_id], &role_ids).await?)
            }))
            .await
    }

    /// The member's roles in the organization, by name (none for a user who is not a member).
    pub async fn member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Listed<Role>, OrganizationError> {
        let (organization_id, user_id) = (organization_id.to_owned(), user_id.to_owned());
        self.db
            .read(job!(|conn| {
                let (organization_id, user_id) = (organization_id.as_str(), user_id.as_str());
                require_organization(&mut conn, organization_id, false).await?;
                require_user(&mut conn, user_id, false).await?;
                let sql = (
                    "SELECT r.id, r.name, r.description FROM organization_member_roles mr \
                     JOIN roles r ON r.id = mr.role_id WHERE mr.organization_id = $1 AND mr.user_id = $2 \
                     ORDER BY r.name, r.id",
                    MEMBER_ROLE_COUNT,
                );
                Ok(page(&mut conn, sql, args![organization_id, user_id], (offset, limit), role_from_row).await?)
            }))
            .await
    }

    /// The organizations the user is a member of, by name; `None` if there is no such user.
    pub async fn user_organizations(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<Option<Listed<Organization>>> {
        let user_id = user_id.to_owned();
        self.db
            .read(job!(|conn| {
                let user_id = user_id.as_str();
                if !conn.has("users", "user_id", user_id, false).await? {
                    return Ok(None);
                }
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organization_members m \
                     JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 \
                     ORDER BY o.name"
                );
                let count = "SELECT COUNT(*) AS total FROM organization_members WHERE user_id = $1";
                Ok(Some(page(&mut conn, (&sql, count), args![user_id], (offset, limit), organization_from_row).await?))
            }))
            .await
    }
}
