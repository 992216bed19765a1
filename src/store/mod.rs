//! Persistence: one store, its operations written once for both engines.
//!
//! Each operation (`users.rs`, `tenant.rs`, `rbac.rs`, `organizations.rs`, `tenant_admin.rs`)
//! is SQL text that SQLite and PostgreSQL both read, run through `db.rs`. What truly differs
//! between the engines lives in `sqlite.rs` and `postgres.rs`: opening and pooling, how values
//! are bound and decoded, which constraint an error names, and how writes commit (group commit
//! on SQLite). The same black-box suites run against both.

use std::sync::Arc;
use std::sync::atomic::Ordering;

pub mod organizations;
pub mod rbac;
pub mod tenant_admin;

pub(crate) mod db;
mod postgres;
mod sqlite;
mod tenant;
mod users;

use db::Db;
pub use postgres::display_url;

use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::search::Query;

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

impl From<db::DbError> for StoreError {
    /// A unique violation becomes the rule it broke.
    fn from(error: db::DbError) -> Self {
        match error.unique_violation().as_deref() {
            Some("identities.email") => StoreError::Conflict(Conflict::Email),
            Some("identities.username") => StoreError::Conflict(Conflict::Username),
            Some("identities.phone_number") => StoreError::Conflict(Conflict::PhoneNumber),
            Some("users.user_id" | "identities.provider_user_id") => StoreError::Conflict(Conflict::UserId),
            _ => StoreError::Other(error.into()),
        }
    }
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

pub struct Store {
    db: Db,
    totals: TotalsCache,
}

/// Opens the store a `--database-url` names, creating and migrating it as needed.
pub async fn open(database_url: &str) -> anyhow::Result<Arc<Store>> {
    let prepare = users::refresh_search_index;
    let db = if database_url.starts_with("sqlite:") {
        Db::Sqlite(sqlite::SqliteDb::open(database_url, prepare).await?)
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Db::Postgres(postgres::PgDb::open(database_url, prepare).await?)
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            display_url(database_url)
        )
    };
    Ok(Arc::new(Store { db, totals: TotalsCache::default() }))
}

impl Store {
    /// Checks the database answers.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.db.exists("SELECT 1", &[]).await?;
        Ok(())
    }

    /// Finishes the writes queued, flushes and closes; called once on shutdown.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// Totals of recent searches, valid until the next commit. Both SDKs ask for `include_totals`
/// on every page they fetch, and counting a broad match costs far more than the page itself; a
/// walk through one search's pages counts once. Only where this process is the database's one
/// writer (SQLite), whose commit counter then tells when a total may have changed.
#[derive(Default)]
struct TotalsCache {
    /// Count statement → (commits when it was counted, total).
    entries: std::sync::Mutex<std::collections::HashMap<CountStatement, (u64, u64)>>,
}

/// A count's SQL text and its parameters.
type CountStatement = (String, Vec<crate::search::sql::Bind>);

/// Bounds the cache; when full it starts over.
const MAX_CACHED_TOTALS: usize = 1024;

impl TotalsCache {
    fn get(&self, key: &CountStatement, commits: u64) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(counted_at, _)| *counted_at == commits).map(|(_, total)| *total)
    }

    /// `commits` is the counter read before counting, so a count that raced a commit is never
    /// served after it.
    fn put(&self, key: CountStatement, commits: u64, total: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED_TOTALS {
            entries.clear();
        }
        entries.insert(key, (commits, total));
    }
}

impl Store {
    /// Runs a count statement, or takes its result from the cache when nothing committed since.
    async fn count(&self, statement: crate::search::sql::Condition) -> anyhow::Result<u64> {
        let key = (statement.sql, statement.binds);
        let commits = self.db.commits().map(|commits| commits.load(Ordering::Acquire));
        if let Some(total) = commits.and_then(|commits| self.totals.get(&key, commits)) {
            return Ok(total);
        }
        let values: Vec<db::Value> = key.1.iter().map(users::bound).collect();
        let total = self.db.count(&key.0, &values).await?;
        if let Some(commits) = commits {
            self.totals.put(key, commits, total);
        }
        Ok(total)
    }
}
