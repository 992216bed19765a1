//! Roles, resource servers (their scopes are the permissions), and the roles and permissions
//! assigned to users.
//!
//! Every assignment references what it assigns with `ON DELETE CASCADE` (migration 0003):
//! deleting a role, a resource server, one of its scopes or a user removes the assignments that
//! pointed at it. Writes that name several things (roles to assign, permissions to add) check
//! them all inside one transaction and write all or nothing.

use async_trait::async_trait;

use crate::domain::rbac::{Permission, PermissionRef, Role, RolePatch, RoleUser, UserPermission};
use crate::domain::resource_server::ResourceServer;
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

impl From<sqlx::Error> for RbacError {
    fn from(error: sqlx::Error) -> Self {
        Self::Other(error.into())
    }
}

/// One page of a listing, and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// An offset window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

/// Where a checkpoint walk through a role's users resumes: after the member assigned at `0`
/// with user id `1` (members come in assignment order, then by user id).
pub type RoleMemberKey = (Timestamp, String);

/// A page of a role's members in checkpoint order; `next` is the key of the last one returned
/// when more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleMembers {
    pub users: Vec<RoleUser>,
    pub next: Option<RoleMemberKey>,
}

/// What directly assigned permissions belong to: a role or a user. Both tables have the same
/// shape; the SQL naming them is static text, the same in both dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PermissionHolder {
    Role,
    User,
}

impl PermissionHolder {
    /// Binds: holder id, resource server id, permission name, time. Assigning again changes
    /// nothing.
    pub(crate) fn insert_sql(self) -> &'static str {
        match self {
            Self::Role => {
                "INSERT INTO role_permissions (role_id, resource_server_id, permission_name, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
            }
            Self::User => {
                "INSERT INTO user_permissions (user_id, resource_server_id, permission_name, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
            }
        }
    }

    /// Binds: holder id, permission name, resource server identifier. A permission not held
    /// (or of no server) deletes nothing.
    pub(crate) fn delete_sql(self) -> &'static str {
        match self {
            Self::Role => {
                "DELETE FROM role_permissions WHERE role_id = $1 AND permission_name = $2 AND resource_server_id = \
                 (SELECT id FROM resource_servers WHERE identifier = $3)"
            }
            Self::User => {
                "DELETE FROM user_permissions WHERE user_id = $1 AND permission_name = $2 AND resource_server_id = \
                 (SELECT id FROM resource_servers WHERE identifier = $3)"
            }
        }
    }
}

/// Changes a stored resource server inside the write transaction; it sees the latest state.
pub type ResourceServerEdit<'a> = &'a (dyn Fn(&mut ResourceServer) + Send + Sync);

#[async_trait]
pub trait RbacStore: Send + Sync {
    /// Stores a new role; `RoleExists` if its name is taken.
    async fn create_role(&self, role: &Role, created_at: &Timestamp) -> Result<(), RbacError>;
    async fn role(&self, id: &str) -> anyhow::Result<Option<Role>>;
    /// Roles by name (then id); with `name_filter`, those whose name contains it, case folded.
    async fn roles(&self, name_filter: Option<&str>, window: Window) -> anyhow::Result<Listed<Role>>;
    /// `RoleNotFound`, or `RoleExists` if the new name is taken.
    async fn update_role(&self, id: &str, patch: &RolePatch) -> Result<Role, RbacError>;
    /// Whether a role was deleted (its assignments go with it).
    async fn delete_role(&self, id: &str) -> anyhow::Result<bool>;

    /// The permissions a role grants, by API identifier then name; `RoleNotFound`.
    async fn role_permissions(&self, role_id: &str, window: Window) -> Result<Listed<Permission>, RbacError>;
    /// Adds permissions to a role (those it has already stay as they are); `RoleNotFound`,
    /// `UnknownResourceServer`, `UnknownPermission`.
    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError>;
    /// Removes permissions from a role; permissions it does not have are ignored. `RoleNotFound`.
    async fn remove_role_permissions(&self, role_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError>;

    /// A role's members in assignment order (then user id); `RoleNotFound`.
    async fn role_users(&self, role_id: &str, window: Window) -> Result<Listed<RoleUser>, RbacError>;
    /// Up to `take` members after `after`, in the same order; `RoleNotFound`.
    async fn role_users_after(
        &self,
        role_id: &str,
        after: Option<&RoleMemberKey>,
        take: u64,
    ) -> Result<RoleMembers, RbacError>;
    /// Assigns the role to users (those who have it keep it); `RoleNotFound`, `UnknownUsers`.
    async fn assign_role_users(&self, role_id: &str, user_ids: &[String], at: &Timestamp) -> Result<(), RbacError>;

    /// A user's roles, by name; `UserNotFound`.
    async fn user_roles(&self, user_id: &str, window: Window) -> Result<Listed<Role>, RbacError>;
    /// `UserNotFound`, `UnknownRoles`.
    async fn assign_user_roles(&self, user_id: &str, role_ids: &[String], at: &Timestamp) -> Result<(), RbacError>;
    /// Roles the user does not have are ignored; `UserNotFound`.
    async fn remove_user_roles(&self, user_id: &str, role_ids: &[String]) -> Result<(), RbacError>;

    /// Every permission of a user, direct or through roles, merged with its sources and sorted
    /// (`rbac::merge_grants`); `UserNotFound`.
    async fn user_permissions(&self, user_id: &str) -> Result<Vec<UserPermission>, RbacError>;
    /// `UserNotFound`, `UnknownResourceServer`, `UnknownPermission`.
    async fn add_user_permissions(
        &self,
        user_id: &str,
        permissions: &[PermissionRef],
        at: &Timestamp,
    ) -> Result<(), RbacError>;
    /// Permissions the user does not have directly are ignored; `UserNotFound`.
    async fn remove_user_permissions(&self, user_id: &str, permissions: &[PermissionRef]) -> Result<(), RbacError>;

    /// Stores a new resource server with its scopes; `ResourceServerExists` if its identifier
    /// is taken.
    async fn create_resource_server(&self, server: &ResourceServer) -> Result<(), RbacError>;
    /// By id, else by identifier.
    async fn resource_server(&self, id_or_identifier: &str) -> anyhow::Result<Option<ResourceServer>>;
    /// In creation order; with `identifiers`, only those.
    async fn resource_servers(
        &self,
        identifiers: Option<&[String]>,
        window: Window,
    ) -> anyhow::Result<Listed<ResourceServer>>;
    /// Applies `edit` to the stored server (by id) and writes it back; scopes that went away
    /// are deleted (with their assignments), kept ones keep theirs. `ResourceServerNotFound`.
    async fn update_resource_server(&self, id: &str, edit: ResourceServerEdit<'_>)
    -> Result<ResourceServer, RbacError>;
    /// Whether a server was deleted. Its scopes and their assignments go with it, and so do the
    /// client grants whose audience is its identifier (grants name their API by identifier,
    /// without a foreign key), in the same transaction; on PostgreSQL it holds the tenant-write
    /// lock (`store::tenant_admin`) that creating and changing grants take. A server created
    /// again under the same identifier starts without grants. (`POST /client-grants` checks
    /// that its audience exists before the grant's own transaction, so a grant created while
    /// its API is being deleted can still outlive it.)
    async fn delete_resource_server(&self, id: &str) -> anyhow::Result<bool>;
}
