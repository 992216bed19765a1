//! Account linking: moving an identity from one user to another, each move one write job.
//!
//! A linked identity lives in two places, as every identity does: as an entry of its user's
//! `identities` JSON (what the API shows, with its `profileData`) and as its row of the
//! `identities` table (what searches on `identities.*` read, and whose unique indexes keep its
//! email and username taken in its connection). Linking appends the secondary's identities to
//! the primary's JSON, points their rows at the primary and deletes the secondary user (its
//! metadata, roles, permissions and memberships go with it, by cascade); unlinking inserts the
//! standalone user again and points the identity's row back at it.

use super::db::{Conn, DbError, args, insert_rows, job};
use super::users::{USER_COLUMNS, WRITTEN_COLUMNS, select_user_sql, user_from_row, user_values, write_user_row};
use super::{Store, StoreError};
use crate::domain::identity_link::{identities_to_link, linked_position, standalone_user};
use crate::domain::time::Timestamp;
use crate::domain::user::User;

/// Why a link was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No such user (the id of an identity linked into another user names no user either).
    #[error("the primary user does not exist")]
    PrimaryNotFound,
    #[error("the secondary user does not exist")]
    SecondaryNotFound,
    /// The identity is one of the primary's already.
    #[error("the identity is linked to the primary already")]
    AlreadyLinked,
    /// The identity is linked to another user.
    #[error("the identity is linked to another user")]
    LinkedElsewhere,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for LinkError {
    fn from(error: DbError) -> Self {
        LinkError::Other(error.into())
    }
}

impl From<StoreError> for LinkError {
    fn from(error: StoreError) -> Self {
        LinkError::Other(error.into())
    }
}

/// Why an unlink was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    #[error("the user does not exist")]
    UserNotFound,
    #[error("the main identity cannot be removed")]
    MainIdentity,
    #[error("the user has no such linked identity")]
    NotLinked,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for UnlinkError {
    fn from(error: DbError) -> Self {
        UnlinkError::Other(error.into())
    }
}

impl From<StoreError> for UnlinkError {
    fn from(error: StoreError) -> Self {
        UnlinkError::Other(error.into())
    }
}

/// The secondary to link: its identity, and the connection it must be in, if one was named.
#[derive(Debug, Clone)]
pub struct Secondary {
    pub provider: String,
    pub user_id: String,
    pub connection: Option<String>,
}

/// The user id of the identities-table row for `provider`/`user_id`, if there is one.
async fn identity_owner(conn: &mut Conn<'_>, provider: &str, user_id: &str) -> anyhow::Result<Option<String>> {
    let sql = "SELECT user_id FROM identities WHERE provider = $1 AND provider_user_id = $2";
    conn.find(sql, args![provider, user_id], |row| row.get::<String>("user_id")).await
}

impl Store {
    /// Links `secondary` to the user `primary_id` in one transaction; the primary as it is now.
    pub async fn link_identity(
        &self,
        primary_id: &str,
        secondary: Secondary,
        now: Timestamp,
    ) -> Result<User, LinkError> {
        let primary_id = primary_id.to_owned();
        self.db
            .write(job!(|conn| {
                let secondary_id = format!("{}|{}", secondary.provider, secondary.user_id);
                // Both rows, locked in one order, so that two links crossing each other (A into
                // B, B into A) wait for one another instead of deadlocking.
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE user_id IN ($1, $2) ORDER BY user_id{}",
                    conn.engine().for_update()
                );
                let mut found = Vec::new();
                for row in conn.fetch_all(&sql, args![&primary_id, &secondary_id]).await? {
                    found.push(user_from_row(&row)?);
                }
                let take = |found: &mut Vec<User>, id: &str| {
                    found.iter().position(|u| u.user_id == id).map(|i| found.swap_remove(i))
                };
                let Some(mut primary) = take(&mut found, &primary_id) else {
                    return Err(LinkError::PrimaryNotFound);
                };
                let Some(linked) = take(&mut found, &secondary_id) else {
                    return Err(match identity_owner(&mut conn, &secondary.provider, &secondary.user_id).await? {
                        Some(owner) if owner == primary_id => LinkError::AlreadyLinked,
                        Some(_) => LinkError::LinkedElsewhere,
                        None => LinkError::SecondaryNotFound,
                    });
                };
                if secondary.connection.as_deref().is_some_and(|name| name != linked.connection()) {
                    return Err(LinkError::SecondaryNotFound);
                }
                primary.identities.extend(identities_to_link(&linked));
                primary.updated_at = now;
                write_user_row(&mut conn, &primary).await?;
                conn.execute(
                    "UPDATE identities SET user_id = $1 WHERE user_id = $2",
                    args![&primary_id, &secondary_id],
                )
                .await?;
                conn.execute("DELETE FROM users WHERE user_id = $1", args![&secondary_id]).await?;
                Ok(primary)
            }))
            .await
    }

    /// Unlinks `provider`/`user_id` from the user `primary_id` in one transaction: the primary
    /// as it is now, and the standalone user the identity became.
    pub async fn unlink_identity(
        &self,
        primary_id: &str,
        provider: &str,
        user_id: &str,
        now: Timestamp,
    ) -> Result<(User, User), UnlinkError> {
        let (primary_id, provider, user_id) = (primary_id.to_owned(), provider.to_owned(), user_id.to_owned());
        self.db
            .write(job!(|conn| {
                let sql = select_user_sql(conn.engine().for_update());
                let Some(mut primary) = conn.find(&sql, args![&primary_id], user_from_row).await? else {
                    return Err(UnlinkError::UserNotFound);
                };
                let main = primary.primary_identity();
                if main.provider == provider && main.user_id == user_id {
                    return Err(UnlinkError::MainIdentity);
                }
                let Some(position) = linked_position(&primary, &provider, &user_id) else {
                    return Err(UnlinkError::NotLinked);
                };
                let identity = primary.identities.remove(position);
                let restored = standalone_user(&identity, now);
                let into = format!("users ({WRITTEN_COLUMNS})");
                insert_rows(&mut conn, &into, 29, &user_values(&restored), "").await?;
                let moved = conn
                    .execute(
                        "UPDATE identities SET user_id = $1 WHERE provider = $2 AND provider_user_id = $3 \
                         AND user_id = $4",
                        args![&restored.user_id, &provider, &user_id, &primary_id],
                    )
                    .await?;
                // The identity's credentials row must come back with it, or the restored user
                // could not sign in and its email would be free: refuse (and roll back) rather
                // than commit a user without one.
                if moved != 1 {
                    return Err(UnlinkError::Other(anyhow::anyhow!(
                        "identity {provider}|{user_id} of {primary_id} has no credentials row"
                    )));
                }
                primary.updated_at = now;
                write_user_row(&mut conn, &primary).await?;
                Ok((primary, restored))
            }))
            .await
    }
}
