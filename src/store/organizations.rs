//! Organizations, their members, and members' roles in them.
//!
//! Every write that names other objects (users, roles) checks them inside its transaction and
//! holds them there (`FOR KEY SHARE` on PostgreSQL; SQLite has one writer), so a concurrent
//! delete cannot slip between the check and the insert; the schema's cascades remove
//! memberships and member roles with the organization, user or role they point at.

use async_trait::async_trait;

use crate::domain::organization::Organization;
use crate::domain::time::Timestamp;

/// Auth0 assigns at most 50 roles to a member of an organization.
pub const MAX_ROLES_PER_MEMBER: u64 = 50;

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
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Changes a stored organization inside the write transaction; it sees the latest state.
pub type OrganizationEdit<'a> = &'a (dyn for<'o> Fn(&'o mut Organization) + Send + Sync);

/// The order of an organization listing (`sort=name:1`, `display_name:-1`, `created_at:1`);
/// ties (and the default) go by name, which is unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganizationOrder {
    #[default]
    Name,
    DisplayName,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrganizationSort {
    pub by: OrganizationOrder,
    pub descending: bool,
}

/// A slice of a listing: an offset page, or the items after a cursor (checkpoint pagination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slice<C> {
    Page { offset: u64, limit: u64 },
    After { after: Option<C>, limit: u64 },
}

/// A page of a listing. `total` counts every item (offset pages); `more` says whether items
/// follow the last one (checkpoint pages).
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub more: bool,
}

/// Where a member listing resumes: the membership's creation time and user id of the last
/// member seen (members are listed in the order they joined, then by user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCursor {
    pub joined_at: Timestamp,
    pub user_id: String,
}

/// A role as organization listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSummary {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

/// A member of an organization: the user's profile attributes Auth0 lists, and (when asked
/// for) the member's roles in the organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user_id: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub name: Option<String>,
    pub joined_at: Timestamp,
    pub roles: Vec<RoleSummary>,
}

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// `NameTaken` if another organization has the name.
    async fn create_organization(&self, organization: &Organization) -> Result<(), OrganizationError>;
    async fn organization(&self, id: &str) -> anyhow::Result<Option<Organization>>;
    async fn organization_by_name(&self, name: &str) -> anyhow::Result<Option<Organization>>;
    /// Offset pages in `sort` order; after a cursor (the last name seen), by name.
    async fn organizations(
        &self,
        sort: OrganizationSort,
        slice: &Slice<String>,
    ) -> anyhow::Result<Listing<Organization>>;
    /// Applies `edit` to the stored organization inside the write transaction; `None` if there
    /// is none; `NameTaken` if the new name is another organization's.
    async fn update_organization(
        &self,
        id: &str,
        edit: OrganizationEdit<'_>,
    ) -> Result<Option<Organization>, OrganizationError>;
    /// Whether an organization was deleted (with its memberships and member roles).
    async fn delete_organization(&self, id: &str) -> anyhow::Result<bool>;

    /// Makes the users members (those already members stay as they were).
    async fn add_members(
        &self,
        organization_id: &str,
        user_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError>;
    /// Ends the users' memberships (and their roles in the organization); others are ignored.
    async fn remove_members(&self, organization_id: &str, user_ids: &[String]) -> Result<(), OrganizationError>;
    /// Members in the order they joined; `None` if there is no such organization.
    async fn members(
        &self,
        organization_id: &str,
        slice: &Slice<MemberCursor>,
        with_roles: bool,
    ) -> anyhow::Result<Option<Listing<Member>>>;
    /// Gives the member these roles in the organization, making the user a member first if need
    /// be (Auth0 accepts roles for a user before the membership, TestOrganizationManager_Members).
    async fn assign_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
        now: Timestamp,
    ) -> Result<(), OrganizationError>;
    /// Takes these roles from the member; roles it does not have are ignored.
    async fn remove_member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<(), OrganizationError>;
    /// The member's roles in the organization, by name (none for a user who is not a member).
    async fn member_roles(
        &self,
        organization_id: &str,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Listing<RoleSummary>, OrganizationError>;
    /// The organizations the user is a member of, by name; `None` if there is no such user.
    async fn user_organizations(
        &self,
        user_id: &str,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<Option<Listing<Organization>>>;
}
