//! Persistence behind one interface. SQLite is the embedded default; PostgreSQL comes later
//! with the same contract, and the same black-box tests run against both.

use async_trait::async_trait;

use crate::domain::connection::Connection;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::search::Query;

pub mod organizations;
pub mod postgres;
pub mod rbac;
pub mod sqlite;
pub mod tenant_admin;

/// An RS256 key the tenant signs tokens with, kept so that restarts (and other nodes)
/// accept tokens already issued.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub private_key_pkcs8: Vec<u8>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub client_secret: String,
    pub app_type: String,
    pub created_at: Timestamp,
}

/// What a client may ask for when it requests a token for `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    UserId,
    Email,
    Username,
    PhoneNumber,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict on {0:?}")]
    Conflict(Conflict),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Columns a user listing can be ordered by (`sort=field:1|-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    UserId,
    Email,
    Username,
    PhoneNumber,
    Name,
    Nickname,
    GivenName,
    FamilyName,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LoginsCount,
    LastPasswordReset,
    Blocked,
    EmailVerified,
}

impl SortField {
    pub fn parse(field: &str) -> Option<Self> {
        Some(match field {
            "user_id" => Self::UserId,
            "email" => Self::Email,
            "username" => Self::Username,
            "phone_number" => Self::PhoneNumber,
            "name" => Self::Name,
            "nickname" => Self::Nickname,
            "given_name" => Self::GivenName,
            "family_name" => Self::FamilyName,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "last_login" => Self::LastLogin,
            "logins_count" => Self::LoginsCount,
            "last_password_reset" => Self::LastPasswordReset,
            "blocked" => Self::Blocked,
            "email_verified" => Self::EmailVerified,
            _ => return None,
        })
    }

    /// The column, as static SQL text: user input never reaches the query text. Case-insensitive
    /// attributes sort by their case-folded copies.
    pub fn column(self) -> &'static str {
        match self {
            Self::UserId => "user_id",
            Self::Email => "email_ci",
            Self::Username => "username",
            Self::PhoneNumber => "phone_number",
            Self::Name => "name_ci",
            Self::Nickname => "nickname_ci",
            Self::GivenName => "given_name_ci",
            Self::FamilyName => "family_name_ci",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::LastLogin => "last_login",
            Self::LoginsCount => "logins_count",
            Self::LastPasswordReset => "last_password_reset",
            Self::Blocked => "blocked",
            Self::EmailVerified => "email_verified",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

/// Which slice of the matches a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Auth0's `page`/`per_page`.
    Page { offset: u64, limit: u64 },
    /// Roster's cursor extension: the matches after the one with this `seq`, in creation order.
    After { after: Option<i64>, limit: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserSearch {
    pub query: Query,
    pub sort: Option<Sort>,
    pub window: Window,
    pub with_total: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub users: Vec<User>,
    pub total: Option<u64>,
    /// With `Window::After`: the cursor to continue from, when more matches may follow.
    pub next: Option<i64>,
}

/// Changes a stored user inside the write transaction; it sees the latest state.
pub type UserEdit<'a> = &'a (dyn Fn(&mut User) + Send + Sync);

#[async_trait]
pub trait Store:
    rbac::RbacStore + organizations::OrganizationStore + tenant_admin::TenantAdminStore + Send + Sync + 'static
{
    /// Checks the database answers.
    async fn ping(&self) -> anyhow::Result<()>;

    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>>;
    /// Stores `candidate` unless a signing key exists already, atomically (nodes starting
    /// together on one empty database must agree on one key); returns the keys stored.
    async fn ensure_signing_key(&self, candidate: &SigningKey) -> anyhow::Result<Vec<SigningKey>>;

    async fn connections(&self) -> anyhow::Result<Vec<Connection>>;
    async fn connection_by_name(&self, name: &str) -> anyhow::Result<Option<Connection>>;
    /// Inserts, or replaces the connection with the same id.
    async fn save_connection(&self, connection: &Connection) -> anyhow::Result<()>;

    async fn client(&self, client_id: &str) -> anyhow::Result<Option<Client>>;
    async fn clients(&self) -> anyhow::Result<Vec<Client>>;
    /// Inserts, or replaces the client with the same id.
    async fn save_client(&self, client: &Client) -> anyhow::Result<()>;
    async fn client_grant(&self, client_id: &str, audience: &str) -> anyhow::Result<Option<ClientGrant>>;
    /// Inserts, or replaces the grant for the same client and audience.
    async fn save_client_grant(&self, grant: &ClientGrant) -> anyhow::Result<()>;

    /// Stores a new user, with the password hash of its primary identity.
    async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<(), StoreError>;
    /// Stores many new users in one transaction (bulk loads); all or none.
    async fn import_users(&self, users: &[(User, Option<String>)]) -> Result<(), StoreError>;
    async fn user(&self, user_id: &str) -> anyhow::Result<Option<User>>;
    /// Applies `edit` to the stored user and, if given, sets its primary identity's password
    /// hash, atomically. `None` if there is no such user.
    async fn update_user(
        &self,
        user_id: &str,
        password_hash: Option<&str>,
        edit: UserEdit<'_>,
    ) -> Result<Option<User>, StoreError>;
    /// Whether a user was deleted.
    async fn delete_user(&self, user_id: &str) -> anyhow::Result<bool>;
    /// Users matching a search (the plain listing is the search for everyone).
    async fn search_users(&self, search: &UserSearch) -> anyhow::Result<SearchPage>;
    /// The stored password hash of a user's primary identity.
    async fn password_hash(&self, user_id: &str) -> anyhow::Result<Option<String>>;

    /// Flushes and closes; called once on shutdown.
    async fn close(&self);

    /// Stores `connection` unless one with the same name exists, atomically (nodes starting
    /// together on one empty database must agree on one); returns the connection of that name.
    async fn insert_connection_if_absent(&self, connection: &Connection) -> anyhow::Result<Connection>;
    /// Stores `client` unless a client with the same id exists or, when `by_name`, one with the
    /// same name; atomically, as `insert_connection_if_absent`. Returns the stored client with
    /// that id, else the first with that name.
    async fn insert_client_if_absent(&self, client: &Client, by_name: bool) -> anyhow::Result<Client>;
}

/// Opens the store a `--database-url` names, creating and migrating it as needed.
pub async fn open(database_url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(database_url).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PostgresStore::open(database_url).await?))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            postgres::display_url(database_url)
        )
    }
}
