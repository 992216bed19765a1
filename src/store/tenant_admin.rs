//! Connections, clients and client grants as the Management API manages them.
//!
//! Listings return every match in id order (byte order): tenants hold tens or hundreds of these
//! objects, not millions, so the HTTP layer filters on attributes kept in JSON and pages in
//! memory, the same way on both stores.
//!
//! Writes keep references whole: a connection or grant can only name clients that exist,
//! deleting a client removes its grants and takes it out of every connection's enabled
//! clients, and deleting a connection deletes the users whose identity is in it (deleting a
//! resource server, in `store::rbac`, deletes the grants for its identifier). On PostgreSQL
//! these writes take one transaction-scoped advisory lock, so a check and the write it guards
//! cannot interleave with another node's; SQLite has a single writer.

use async_trait::async_trait;

use crate::domain::client::ClientRecord;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::connection::ConnectionRecord;

/// `GET /connections` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Any of these strategies (all when empty).
    pub strategies: Vec<String>,
    pub name: Option<String>,
}

/// `GET /client-grants` filters that are columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientGrantFilter {
    pub client_id: Option<String>,
    pub audience: Option<String>,
}

/// Why a tenant write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a connection with this name exists")]
    ConnectionNameTaken,
    #[error("a grant for this client and audience exists")]
    GrantExists,
    #[error("no client {0}")]
    MissingClient(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Changes a stored object inside the write transaction; it sees the latest state.
pub type Edit<'a, T> = &'a (dyn Fn(&mut T) + Send + Sync);

#[async_trait]
pub trait TenantAdminStore: Send + Sync {
    async fn list_connections(&self, filter: &ConnectionFilter) -> anyhow::Result<Vec<ConnectionRecord>>;
    async fn connection_by_id(&self, id: &str) -> anyhow::Result<Option<ConnectionRecord>>;
    /// Refused when the name is taken or an enabled client does not exist.
    async fn create_connection(&self, record: &ConnectionRecord) -> Result<(), AdminError>;
    /// Applies `edit` to the stored connection (its name cannot change); `None` if there is no
    /// such connection. Refused when an enabled client does not exist.
    async fn update_connection(
        &self,
        id: &str,
        edit: Edit<'_, ConnectionRecord>,
    ) -> Result<Option<ConnectionRecord>, AdminError>;
    /// Deletes the connection and every user whose (primary) identity is in it, at once;
    /// whether the connection existed.
    async fn delete_connection(&self, id: &str) -> anyhow::Result<bool>;

    async fn list_clients(&self) -> anyhow::Result<Vec<ClientRecord>>;
    async fn client_record(&self, client_id: &str) -> anyhow::Result<Option<ClientRecord>>;
    async fn create_client(&self, record: &ClientRecord) -> anyhow::Result<()>;
    /// Applies `edit` to the stored client (its id cannot change); `None` if there is none.
    async fn update_client(
        &self,
        client_id: &str,
        edit: Edit<'_, ClientRecord>,
    ) -> anyhow::Result<Option<ClientRecord>>;
    /// Deletes the client, its grants, and its place among connections' enabled clients;
    /// whether it existed.
    async fn delete_client(&self, client_id: &str) -> anyhow::Result<bool>;

    async fn list_client_grants(&self, filter: &ClientGrantFilter) -> anyhow::Result<Vec<ClientGrantRecord>>;
    async fn client_grant_by_id(&self, id: &str) -> anyhow::Result<Option<ClientGrantRecord>>;
    /// Refused when the client does not exist or already has a grant for the audience.
    async fn create_client_grant(&self, record: &ClientGrantRecord) -> Result<(), AdminError>;
    /// Applies `edit` to the stored grant (its client and audience cannot change).
    async fn update_client_grant(
        &self,
        id: &str,
        edit: Edit<'_, ClientGrantRecord>,
    ) -> anyhow::Result<Option<ClientGrantRecord>>;
    /// Whether the grant existed.
    async fn delete_client_grant(&self, id: &str) -> anyhow::Result<bool>;

    /// Whether an API (resource server) other than the Management API has this identifier.
    async fn resource_server_exists(&self, identifier: &str) -> anyhow::Result<bool>;
}

/// Sorts by id in byte order, whatever order (or collation) the database used.
pub(crate) fn sort_by_key<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| key(a).as_bytes().cmp(key(b).as_bytes()));
}
