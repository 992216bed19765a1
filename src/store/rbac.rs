//! Roles, resource servers (their scopes are the permissions), and the roles and permissions
//! assigned to users.
//!
//! Every assignment references what it assigns with `ON DELETE CASCADE` (migration 0003):
//! deleting a role, a resource server, one of its scopes or a user removes the assignments that
//! pointed at it. Writes that name several things check them all inside their transaction,
//! holding them (`for_key_share`) so that a concurrent delete waits and then cascades, and write
//! all or nothing. Listings read one snapshot. Text is ordered byte-wise (`COLLATE "C"`).

use super::Store;
use super::db::{Conn, DbError, Row, Value, args, delete_each, in_list, insert_each, insert_rows, job, page};
use super::tenant_admin::TENANT_WRITE;
use crate::domain::listing::{self, Listed, Window};
use crate::domain::rbac::{
    self, Permission, PermissionRef, PermissionSource, Role, RoleMemberKey, RoleMembers, RolePatch, RoleUser,
    UserPermission,
};
use crate::domain::resource_server::{ResourceServer, Scope};
use crate::domain::time::Timestamp;

/// Why a roles or permissions write (or a read scoped to a role or user) failed.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    #[error("a role with this name exists")]
    RoleExists,
    #[error("a resource server with this identifier exists")]
    ResourceServerExists,
    #[error("no such role")]
    RoleNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("no such resource server")]
    ResourceServerNotFound,
    /// These roles named in a request do not exist.
    #[error("unknown roles {0:?}")]
    UnknownRoles(Vec<String>),
    /// Some of the users named in a request do not exist.
    #[error("unknown users")]
    UnknownUsers,
    /// A permission names a resource server that does not exist.
    #[error("unknown resource server {0}")]
    UnknownResourceServer(String),
    /// A permission names a scope its resource server does not have.
    #[error("unknown permission {}/{}", .0.resource_server_identifier, .0.permission_name)]
    UnknownPermission(PermissionRef),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for RbacError {
    fn from(error: DbError) -> Self {
        match error.unique_violation().as_deref() {
            Some("roles.name") => Self::RoleExists,
            Some("resource_servers.identifier") => Self::ResourceServerExists,
            _ => Self::Other(error.into()),
        }
    }
}

/// What directly assigned permissions belong to: a role or a user, each with a table of the
/// same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PermissionHolder {
    Role,
    User,
}

impl PermissionHolder {
    /// The table of its permissions, the column naming it there, and its own table and key.
    fn tables(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::Role => ("role_permissions", "role_id", "roles", "id"),
            Self::User => ("user_permissions", "user_id", "users", "user_id"),
        }
    }

    fn missing(self) -> RbacError {
        match self {
            Self::Role => RbacError::RoleNotFound,
            Self::User => RbacError::UserNotFound,
        }
    }
}

pub(super) fn role_from_row(row: &Row) -> anyhow::Result<Role> {
    Ok(Role { id: row.get("id")?, name: row.get("name")?, description: row.get("description")? })
}

fn permission_from_row(row: &Row) -> anyhow::Result<Permission> {
    Ok(Permission {
        resource_server_identifier: row.get("identifier")?,
        permission_name: row.get("value")?,
        resource_server_name: row.get("server_name")?,
        description: row.get("description")?,
    })
}

fn role_user_from_row(row: &Row) -> anyhow::Result<RoleUser> {
    Ok(RoleUser {
        user_id: row.get("user_id")?,
        email: row.get("email")?,
        picture: row.get("picture")?,
        name: row.get("name")?,
    })
}

const ROLE_COLUMNS: &str = "r.id, r.name, r.description";
/// The columns of a permission joined to its scope and server (`permission_from_row`).
const PERMISSION_COLUMNS: &str = "rs.identifier, rs.name AS server_name, s.value, s.description";
const SERVER_COLUMNS: &str = "id, identifier, name, document, created_at";

/// Whether the holder exists; with `hold`, it stays so until the transaction ends. Its error
/// when not.
async fn require(conn: &mut Conn<'_>, holder: PermissionHolder, id: &str, hold: bool) -> Result<(), RbacError> {
    let (_, _, table, key) = holder.tables();
    if conn.has(table, key, id, hold).await? { Ok(()) } else { Err(holder.missing()) }
}

/// The stored (server id, scope) of each permission, held until the transaction ends; the
/// first unknown one is the error.
async fn resolve_permissions(
    conn: &mut Conn<'_>,
    permissions: &[PermissionRef],
) -> Result<Vec<(String, String)>, RbacError> {
    let lock = conn.engine().for_key_share();
    let server_sql = format!("SELECT id FROM resource_servers WHERE identifier = $1{lock}");
    let scope_sql = format!("SELECT 1 FROM resource_server_scopes WHERE resource_server_id = $1 AND value = $2{lock}");
    let mut resolved = Vec::with_capacity(permissions.len());
    for permission in permissions {
        let identifier = &permission.resource_server_identifier;
        let Some(server) = conn.fetch_optional(&server_sql, args![identifier]).await? else {
            return Err(RbacError::UnknownResourceServer(identifier.clone()));
        };
        let server: String = server.get("id")?;
        if !conn.exists(&scope_sql, args![&server, &permission.permission_name]).await? {
            return Err(RbacError::UnknownPermission(permission.clone()));
        }
        resolved.push((server, permission.permission_name.clone()));
    }
    Ok(resolved)
}

/// The server of a `SELECT {SERVER_COLUMNS}` row, its scopes (if it has them) still empty.
fn server_from_row(row: &Row) -> anyhow::Result<ResourceServer> {
    Ok(ResourceServer::from_stored(
        row.get("id")?,
        row.get("identifier")?,
        row.get("name")?,
        row.json("document")?,
        Vec::new(),
        row.time("created_at")?,
    ))
}

/// Reads the stored scopes into a server that has them.
async fn read_scopes(conn: &mut Conn<'_>, server: &mut ResourceServer) -> anyhow::Result<()> {
    let Some(scopes) = &mut server.scopes else { return Ok(()) };
    let sql = "SELECT value, description FROM resource_server_scopes WHERE resource_server_id = $1 ORDER BY position";
    for row in conn.fetch_all(sql, args![&server.id]).await? {
        scopes.push(Scope { value: row.get("value")?, description: row.get("description")? });
    }
    Ok(())
}

/// The server whose `column` is `key`, locked for update when `lock`.
async fn server_by(conn: &mut Conn<'_>, column: &str, key: &str, lock: bool) -> anyhow::Result<Option<ResourceServer>> {
    let lock = if lock { conn.engine().for_update() } else { "" };
    let sql = format!("SELECT {SERVER_COLUMNS} FROM resource_servers WHERE {column} = $1{lock}");
    let mut server = conn.find(&sql, args![key], server_from_row).await?;
    if let Some(server) = &mut server {
        read_scopes(conn, server).await?;
    }
    Ok(server)
}

/// Makes the stored scopes of `server_id` those given, in order: scopes that went away are
/// deleted (and, by cascade, their assignments); kept ones are updated in place, so their
/// assignments stay.
async fn write_scopes(conn: &mut Conn<'_>, server_id: &str, scopes: &[Scope]) -> Result<(), DbError> {
    let (kept, values) = in_list(args![server_id], scopes.iter().map(|scope| &scope.value));
    // `NOT IN (NULL)` would keep every scope: no scopes left means none kept.
    let gone = if scopes.is_empty() { "1 = 1".to_owned() } else { format!("value NOT IN ({kept})") };
    let sql = format!("DELETE FROM resource_server_scopes WHERE resource_server_id = $1 AND {gone}");
    conn.execute(&sql, &values).await?;
    let rows = scopes.iter().enumerate().flat_map(|(position, scope)| {
        [
            Value::from(server_id),
            Value::from(&scope.value),
            Value::from(&scope.description),
            Value::from(position as i64),
        ]
    });
    let into = "resource_server_scopes (resource_server_id, value, description, position)";
    let update = "ON CONFLICT (resource_server_id, value) DO UPDATE SET description = excluded.description, \
                  position = excluded.position";
    insert_rows(conn, into, 4, &rows.collect::<Vec<_>>(), update).await?;
    Ok(())
}

/// Stores new roles (a role API call's one, or a tenant file's in its bulk load).
pub(super) async fn insert_roles(conn: &mut Conn<'_>, roles: &[Role], at: &Timestamp) -> Result<(), DbError> {
    let rows: Vec<Value> = roles
        .iter()
        .flat_map(|role| [(&role.id).into(), (&role.name).into(), (&role.description).into(), at.into()])
        .collect();
    insert_rows(conn, "roles (id, name, description, created_at)", 4, &rows, "").await?;
    Ok(())
}

/// Ordering of role listings: by name, then id, byte-wise.
const ROLE_ORDER: &str = "r.name, r.id COLLATE \"C\"";

impl Store {
    /// Stores a new role; `RoleExists` if its name is taken.
    pub async fn create_role(&self, role: &Role, created_at: &Timestamp) -> Result<(), RbacError> {
        let (roles, at) = ([role.clone()], *created_at);
        self.db.write(job!(|conn| { Ok(insert_roles(&mut conn, &roles, &at).await?) })).await
    }

    pub async fn role(&self, id: &str) -> anyhow::Result<Option<Role>> {
        self.db.find(&format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.id = $1"), args![id], role_from_row).await
    }

    /// Roles by name (then id); with `name_filter`, those whose name contains it, case folded.
    pub async fn roles(&self, name_filter: Option<&str>, window: Window) -> anyhow::Result<Listed<Role>> {
        let all = format!("SELECT {ROLE_COLUMNS} FROM roles r ORDER BY {ROLE_ORDER}");
        if let Some(filter) = name_filter {
            // Case folding is Unicode-aware in Rust, not in SQL: filter here. A tenant's roles
            // are few.
            let roles =
                self.db.fetch_all(&all, &[]).await?.iter().map(role_from_row).collect::<anyhow::Result<Vec<_>>>()?;
            let matching: Vec<Role> = roles.into_iter().filter(|role| rbac::name_matches(&role.name, filter)).collect();
            let total = matching.len() as u64;
            return Ok(Listed { items: listing::page(matching, window.offset, window.limit), total });
        }
        self.db
            .read(job!(|conn| {
                page(&mut conn, (&all, "SELECT COUNT(*) AS total FROM roles"), &[], window.range(), role_from_row).await
            }))
            .await
    }

    /// `RoleNotFound`, or `RoleExists` if the new name is taken.
    pub async fn update_role(&self, id: &str, patch: &RolePatch) -> Result<Role, RbacError> {
        let (id, patch) = (id.to_owned(), patch.clone());
        self.db
            .write(job!(|conn| {
                let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.id = $1{}", conn.engine().for_update());
                let mut role = conn.find(&sql, args![&id], role_from_row).await?.ok_or(RbacError::RoleNotFound)?;
                patch.apply(&mut role);
                conn.execute(
                    "UPDATE roles SET name = $1, description = $2 WHERE id = $3",
                    args![&role.name, &role.description, &id],
                )
                .await?;
                Ok(role)
            }))
            .await
    }

    /// Whether a role was deleted (its assignments go with it).
    pub async fn delete_role(&self, id: &str) -> anyhow::Result<bool> {
        self.db.execute("DELETE FROM roles WHERE id = $1", args![id]).await.map(|deleted| deleted > 0)
    }

    /// The permissions a role grants, by API identifier then name; `RoleNotFound`.
    pub async fn role_permissions(&self, role_id: &str, window: Window) -> Result<Listed<Permission>, RbacError> {
        let select = format!(
            "SELECT {PERMISSION_COLUMNS} FROM role_permissions rp \
             JOIN resource_servers rs ON rs.id = rp.resource_server_id \
             JOIN resource_server_scopes s ON s.resource_server_id = rp.resource_server_id \
             AND s.value = rp.permission_name \
             WHERE rp.role_id = $1 ORDER BY rs.identifier, s.value COLLATE \"C\""
        );
        let count = "SELECT COUNT(*) AS total FROM role_permissions WHERE role_id = $1";
        self.page_of((PermissionHolder::Role, role_id), (&select, count), window, permission_from_row).await
    }

    /// Adds permissions to a role (those it has already stay as they are); `RoleNotFound`,
    /// `UnknownResourceServer`, `UnknownPermission`.
    pub async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError> {
        self.grant(PermissionHolder::Role, role_id, permissions, at).await
    }

    /// Removes permissions from a role; permissions it does not have are ignored. `RoleNotFound`.
    pub async fn remove_role_permissions(&self, role_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError> {
        self.revoke(PermissionHolder::Role, role_id, permissions).await
    }

    /// `UserNotFound`, `UnknownResourceServer`, `UnknownPermission`.
    pub async fn add_user_permissions(
        &self,
        user_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError> {
        self.grant(PermissionHolder::User, user_id, permissions, at).await
    }

    /// Permissions the user does not have directly are ignored; `UserNotFound`.
    pub async fn remove_user_permissions(&self, user_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError> {
        self.revoke(PermissionHolder::User, user_id, permissions).await
    }

    /// Assigns permissions to a role or user (those held already stay as they are).
    async fn grant(
        &self,
        holder: PermissionHolder,
        id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError> {
        let (id, permissions, at) = (id.to_owned(), permissions.to_vec(), *at);
        self.db
            .write(job!(|conn| {
                require(&mut conn, holder, &id, true).await?;
                let (table, column, _, _) = holder.tables();
                let resolved = resolve_permissions(&mut conn, &permissions).await?;
                let rows: Vec<Value> =
                    resolved.iter().flat_map(|(server, name)| args![&id, server, name, &at].to_vec()).collect();
                let into = format!("{table} ({column}, resource_server_id, permission_name, created_at)");
                // Assigning again changes nothing.
                insert_rows(&mut conn, &into, 4, &rows, "ON CONFLICT DO NOTHING").await?;
                Ok(())
            }))
            .await
    }

    /// Takes permissions from a role or user; those it does not hold are ignored.
    async fn revoke(&self, holder: PermissionHolder, id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError> {
        let (id, permissions) = (id.to_owned(), permissions.to_vec());
        self.db
            .write(job!(|conn| {
                require(&mut conn, holder, &id, false).await?;
                let (table, column, _, _) = holder.tables();
                let sql = format!(
                    "DELETE FROM {table} WHERE {column} = $1 AND permission_name = $2 AND resource_server_id = \
                     (SELECT id FROM resource_servers WHERE identifier = $3)"
                );
                for permission in &permissions {
                    let values = args![&id, &permission.permission_name, &permission.resource_server_identifier];
                    conn.execute(&sql, values).await?;
                }
                Ok(())
            }))
            .await
    }

    /// A page of what the role or user `id` has: `select` and `count` bind the id, as `page`
    /// says. The holder's error when it does not exist.
    async fn page_of<T: Send + 'static>(
        &self,
        (holder, id): (PermissionHolder, &str),
        (select, count): (&str, &'static str),
        window: Window,
        item: fn(&Row) -> anyhow::Result<T>,
    ) -> Result<Listed<T>, RbacError> {
        let (id, select) = (id.to_owned(), select.to_owned());
        self.db
            .read(job!(|conn| {
                require(&mut conn, holder, &id, false).await?;
                Ok(page(&mut conn, (&select, count), args![&id], window.range(), item).await?)
            }))
            .await
    }

    /// A role's members in assignment order (then user id); `RoleNotFound`.
    pub async fn role_users(&self, role_id: &str, window: Window) -> Result<Listed<RoleUser>, RbacError> {
        let sql = (
            "SELECT u.user_id, u.email, u.picture, u.name FROM user_roles ur JOIN users u ON u.user_id = ur.user_id \
             WHERE ur.role_id = $1 ORDER BY ur.created_at, ur.user_id",
            "SELECT COUNT(*) AS total FROM user_roles WHERE role_id = $1",
        );
        self.page_of((PermissionHolder::Role, role_id), sql, window, role_user_from_row).await
    }

    /// Up to `take` members after `after`, in the same order; `RoleNotFound`.
    pub async fn role_users_after(
        &self,
        role_id: &str,
        after: Option<&RoleMemberKey>,
        take: u64,
    ) -> Result<RoleMembers, RbacError> {
        let (role_id, after) = (role_id.to_owned(), after.cloned());
        self.db
            .read(job!(|conn| {
                let (role_id, after) = (role_id.as_str(), after.as_ref());
                require(&mut conn, PermissionHolder::Role, role_id, false).await?;
                let select = "SELECT u.user_id, u.email, u.picture, u.name, ur.created_at AS assigned_at \
                     FROM user_roles ur JOIN users u ON u.user_id = ur.user_id WHERE ur.role_id = $1";
                let after = after.map(|(at, user_id)| (*at, user_id.as_str()));
                let order = ("ur.created_at", "ur.user_id");
                let (rows, more) = conn.fetch_after(select, role_id, order, after, take).await?;
                let next = match rows.last() {
                    Some(last) if more => Some((last.time("assigned_at")?, last.get("user_id")?)),
                    _ => None,
                };
                let users = rows.iter().map(role_user_from_row).collect::<anyhow::Result<_>>()?;
                Ok(RoleMembers { users, next })
            }))
            .await
    }

    /// Assigns the role to users (those who have it keep it); `RoleNotFound`, `UnknownUsers`.
    pub async fn assign_role_users(&self, role_id: &str, user_ids: &[String], at: &Timestamp) -> Result<(), RbacError> {
        let (role_id, user_ids, at) = (role_id.to_owned(), user_ids.to_vec(), *at);
        self.db
            .write(job!(|conn| {
                require(&mut conn, PermissionHolder::Role, &role_id, true).await?;
                if !conn.missing("users", "user_id", &user_ids, true).await?.is_empty() {
                    return Err(RbacError::UnknownUsers);
                }
                let into = "user_roles (role_id, created_at, user_id)";
                Ok(insert_each(&mut conn, into, args![&role_id, &at], &user_ids).await?)
            }))
            .await
    }

    /// A user's roles, by name; `UserNotFound`.
    pub async fn user_roles(&self, user_id: &str, window: Window) -> Result<Listed<Role>, RbacError> {
        let select = format!(
            "SELECT {ROLE_COLUMNS} FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
             WHERE ur.user_id = $1 ORDER BY {ROLE_ORDER}"
        );
        let count = "SELECT COUNT(*) AS total FROM user_roles WHERE user_id = $1";
        self.page_of((PermissionHolder::User, user_id), (&select, count), window, role_from_row).await
    }

    /// `UserNotFound`, `UnknownRoles`.
    pub async fn assign_user_roles(&self, user_id: &str, role_ids: &[String], at: &Timestamp) -> Result<(), RbacError> {
        let (user_id, role_ids, at) = (user_id.to_owned(), role_ids.to_vec(), *at);
        self.db
            .write(job!(|conn| {
                require(&mut conn, PermissionHolder::User, &user_id, true).await?;
                let missing = conn.missing("roles", "id", &role_ids, true).await?;
                if !missing.is_empty() {
                    return Err(RbacError::UnknownRoles(missing));
                }
                let into = "user_roles (user_id, created_at, role_id)";
                Ok(insert_each(&mut conn, into, args![&user_id, &at], &role_ids).await?)
            }))
            .await
    }

    /// Roles the user does not have are ignored; `UserNotFound`.
    pub async fn remove_user_roles(&self, user_id: &str, role_ids: &[String]) -> Result<(), RbacError> {
        let (user_id, role_ids) = (user_id.to_owned(), role_ids.to_vec());
        self.db
            .write(job!(|conn| {
                require(&mut conn, PermissionHolder::User, &user_id, false).await?;
                let delete = "DELETE FROM user_roles WHERE user_id = $1 AND role_id";
                Ok(delete_each(&mut conn, delete, args![&user_id], &role_ids).await?)
            }))
            .await
    }

    /// Every permission of a user, direct or through roles, merged with its sources and sorted
    /// (`rbac::merge_grants`); `UserNotFound`.
    pub async fn user_permissions(&self, user_id: &str) -> Result<Vec<UserPermission>, RbacError> {
        let user_id = user_id.to_owned();
        self.db
            .read(job!(|conn| {
                let user_id = user_id.as_str();
                require(&mut conn, PermissionHolder::User, user_id, false).await?;
                let direct = format!(
                    "SELECT {PERMISSION_COLUMNS} FROM user_permissions up \
                         JOIN resource_servers rs ON rs.id = up.resource_server_id \
                         JOIN resource_server_scopes s ON s.resource_server_id = up.resource_server_id \
                         AND s.value = up.permission_name WHERE up.user_id = $1"
                );
                let through_roles = format!(
                    "SELECT {PERMISSION_COLUMNS}, r.id AS role_id, r.name AS role_name FROM user_roles ur \
                         JOIN roles r ON r.id = ur.role_id \
                         JOIN role_permissions rp ON rp.role_id = ur.role_id \
                         JOIN resource_servers rs ON rs.id = rp.resource_server_id \
                         JOIN resource_server_scopes s ON s.resource_server_id = rp.resource_server_id \
                         AND s.value = rp.permission_name WHERE ur.user_id = $1"
                );
                let mut grants = Vec::new();
                for row in conn.fetch_all(&direct, args![user_id]).await? {
                    grants.push((permission_from_row(&row)?, PermissionSource::Direct));
                }
                for row in conn.fetch_all(&through_roles, args![user_id]).await? {
                    let source = PermissionSource::Role { name: row.get("role_name")?, id: row.get("role_id")? };
                    grants.push((permission_from_row(&row)?, source));
                }
                Ok(rbac::merge_grants(grants))
            }))
            .await
    }

    /// Stores a new resource server with its scopes; `ResourceServerExists` if its identifier
    /// is taken.
    pub async fn create_resource_server(&self, server: &ResourceServer) -> Result<(), RbacError> {
        let server = server.clone();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO resource_servers (id, identifier, name, document, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    args![
                        &server.id,
                        &server.identifier,
                        &server.name,
                        Value::json(&server.document()),
                        &server.created_at
                    ],
                )
                .await?;
                if let Some(scopes) = &server.scopes {
                    write_scopes(&mut conn, &server.id, scopes).await?;
                }
                Ok(())
            }))
            .await
    }

    /// By id, else by identifier.
    pub async fn resource_server(&self, id_or_identifier: &str) -> anyhow::Result<Option<ResourceServer>> {
        let key = id_or_identifier.to_owned();
        self.db
            .read(job!(|conn| {
                match server_by(&mut conn, "id", &key, false).await? {
                    Some(server) => Ok(Some(server)),
                    None => server_by(&mut conn, "identifier", &key, false).await,
                }
            }))
            .await
    }

    /// In creation order; with `identifiers`, only those.
    pub async fn resource_servers(
        &self,
        identifiers: Option<&[String]>,
        window: Window,
    ) -> anyhow::Result<Listed<ResourceServer>> {
        let identifiers = identifiers.map(<[String]>::to_vec);
        self.db
            .read(job!(|conn| {
                let (list, values) = in_list(&[], identifiers.as_deref().unwrap_or_default());
                let filter =
                    if identifiers.is_some() { format!("WHERE identifier IN ({list})") } else { String::new() };
                let select = format!(
                    "SELECT {SERVER_COLUMNS} FROM resource_servers {filter} ORDER BY created_at, id COLLATE \"C\""
                );
                let count = format!("SELECT COUNT(*) AS total FROM resource_servers {filter}");
                let mut listed = page(&mut conn, (&select, &count), &values, window.range(), server_from_row).await?;
                for server in &mut listed.items {
                    read_scopes(&mut conn, server).await?;
                }
                Ok(listed)
            }))
            .await
    }

    /// Applies `edit` to the stored server (by id) and writes it back; scopes that went away
    /// are deleted (with their assignments), kept ones keep theirs. `ResourceServerNotFound`.
    pub async fn update_resource_server(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ResourceServer) + Send + 'static,
    ) -> Result<ResourceServer, RbacError> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                let before = server_by(&mut conn, "id", &id, true).await?.ok_or(RbacError::ResourceServerNotFound)?;
                let mut server = before.clone();
                edit(&mut server);
                conn.execute(
                    "UPDATE resource_servers SET name = $1, document = $2 WHERE id = $3",
                    args![&server.name, Value::json(&server.document()), &id],
                )
                .await?;
                if server.scopes != before.scopes
                    && let Some(scopes) = &server.scopes
                {
                    write_scopes(&mut conn, &id, scopes).await?;
                }
                Ok(server)
            }))
            .await
    }

    /// Whether a server was deleted. Its scopes and their assignments go with it, and so do the
    /// client grants whose audience is its identifier (grants name their API by identifier,
    /// without a foreign key), in the same transaction, under the tenant-write lock that
    /// creating and changing grants take. A server created again under the same identifier
    /// starts without grants. (`POST /client-grants` checks that its audience exists before the
    /// grant's own transaction, so a grant created while its API is being deleted can still
    /// outlive it.)
    pub async fn delete_resource_server(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock(TENANT_WRITE).await?;
                let deleted = conn
                    .fetch_optional("DELETE FROM resource_servers WHERE id = $1 RETURNING identifier", args![&id])
                    .await?;
                let Some(deleted) = deleted else { return Ok(false) };
                let identifier: String = deleted.get("identifier")?;
                conn.execute("DELETE FROM client_grants WHERE audience = $1", args![&identifier]).await?;
                Ok(true)
            }))
            .await
    }
}
