//! A user's authentication methods, and the profile attributes derived from them.
//!
//! Every write takes the user's row for update first: concurrent writes to one user's methods
//! then run one after another (PostgreSQL; SQLite has one writer), so the duplicate and limit
//! checks see every method, and the profile's `multifactor` (rewritten with its
//! `multifactor_last_modified` after each change) matches the methods it was derived from.

use serde_json::{Map, Value};

use super::Store;
use super::db::{Conn, DbError, Row, Value as Bound, args, insert_rows, job, page};
use crate::domain::authentication_method::{self as rules, AuthenticationMethod, NewMethod, Refusal};
use crate::domain::listing::{Listed, Window};
use crate::domain::time::Timestamp;

/// Why an authentication-method operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error("no such user")]
    UserNotFound,
    #[error("no such authentication method")]
    MethodNotFound,
    #[error("the user has this authentication method already")]
    Exists,
    #[error("the user has as many methods of this type as allowed")]
    LimitReached,
    #[error("the user has a passkey")]
    HasPasskey,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<DbError> for MethodError {
    fn from(error: DbError) -> Self {
        Self::Other(error.into())
    }
}

impl From<Refusal> for MethodError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Exists => Self::Exists,
            Refusal::LimitReached => Self::LimitReached,
        }
    }
}

/// What deleting a user's factors does when the user has a passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfPasskey {
    /// Deletes nothing: `HasPasskey`.
    Refuse,
    /// Deletes the factors; the passkeys stay.
    Keep,
}

const SELECT_METHODS: &str =
    "SELECT id, type, confirmed, document, created_at FROM authentication_methods WHERE user_id = $1";

fn method_from_row(row: &Row) -> anyhow::Result<AuthenticationMethod> {
    Ok(AuthenticationMethod {
        id: row.get("id")?,
        kind: row.get("type")?,
        confirmed: row.get("confirmed")?,
        created_at: row.time("created_at")?,
        attributes: row.json("document")?,
    })
}

/// The user's methods in creation order, `UserNotFound` when there is no such user. With
/// `lock`, the user's row is held for update until the transaction ends; the profile's
/// `multifactor` as it is comes back too.
async fn methods_of(
    conn: &mut Conn<'_>,
    user_id: &str,
    lock: bool,
) -> Result<(Option<Vec<String>>, Vec<AuthenticationMethod>), MethodError> {
    let lock = if lock { conn.engine().for_update() } else { "" };
    let sql = format!("SELECT multifactor FROM users WHERE user_id = $1{lock}");
    let user = conn.fetch_optional(&sql, args![user_id]).await?.ok_or(MethodError::UserNotFound)?;
    let multifactor = user.opt_json("multifactor")?;
    let rows = conn.fetch_all(&format!("{SELECT_METHODS} ORDER BY seq"), args![user_id]).await?;
    let methods = rows.iter().map(method_from_row).collect::<anyhow::Result<_>>()?;
    Ok((multifactor, methods))
}

pub(super) async fn insert_methods(conn: &mut Conn<'_>, user_id: &str, methods: &[NewMethod]) -> Result<(), DbError> {
    let methods: Vec<(&str, &NewMethod)> = methods.iter().map(|method| (user_id, method)).collect();
    insert_users_methods(conn, &methods).await
}

/// Inserts methods of many users (user id, method) in multi-row statements (a bulk load's).
pub(super) async fn insert_users_methods(conn: &mut Conn<'_>, methods: &[(&str, &NewMethod)]) -> Result<(), DbError> {
    let rows: Vec<_> = methods
        .iter()
        .flat_map(|&(user_id, NewMethod { method, secret })| {
            [
                (&method.id).into(),
                user_id.into(),
                (&method.kind).into(),
                method.confirmed.into(),
                Bound::json(&method.attributes),
                secret.into(),
                (&method.created_at).into(),
            ]
        })
        .collect();
    let into = "authentication_methods (id, user_id, type, confirmed, document, secret, created_at)";
    insert_rows(conn, into, 7, &rows, "").await?;
    Ok(())
}

/// Rewrites the profile's `multifactor` from the user's methods as they now are, stamping
/// `multifactor_last_modified` when it or the methods changed.
async fn refresh_multifactor(
    conn: &mut Conn<'_>,
    user_id: &str,
    before: Option<Vec<String>>,
    at: &Timestamp,
) -> Result<(), MethodError> {
    let rows = conn.fetch_all(SELECT_METHODS, args![user_id]).await?;
    let methods: Vec<AuthenticationMethod> = rows.iter().map(method_from_row).collect::<anyhow::Result<_>>()?;
    let multifactor = rules::multifactor(before.as_deref(), &methods);
    conn.execute(
        "UPDATE users SET multifactor = $1, multifactor_last_modified = $2 WHERE user_id = $3",
        args![Bound::json_opt(&multifactor), at, user_id],
    )
    .await?;
    Ok(())
}

/// Writes a stored method's attributes back (its `document`).
async fn write_attributes(conn: &mut Conn<'_>, method: &AuthenticationMethod) -> Result<(), DbError> {
    let update = "UPDATE authentication_methods SET document = $1 WHERE id = $2";
    conn.execute(update, args![Bound::json(&method.attributes), &method.id]).await?;
    Ok(())
}

impl Store {
    /// A page of the user's methods in creation order; `UserNotFound`.
    pub async fn authentication_methods(
        &self,
        user_id: &str,
        window: Window,
    ) -> Result<Listed<AuthenticationMethod>, MethodError> {
        let user_id = user_id.to_owned();
        self.db
            .read(job!(|conn| {
                if !conn.has("users", "user_id", &user_id, false).await? {
                    return Err(MethodError::UserNotFound);
                }
                let select = format!("{SELECT_METHODS} ORDER BY seq");
                let count = "SELECT COUNT(*) AS total FROM authentication_methods WHERE user_id = $1";
                Ok(page(&mut conn, (&select, count), args![&user_id], window.range(), method_from_row).await?)
            }))
            .await
    }

    /// Every method of the user, in creation order; `UserNotFound`.
    pub async fn all_authentication_methods(&self, user_id: &str) -> Result<Vec<AuthenticationMethod>, MethodError> {
        let user_id = user_id.to_owned();
        self.db.read(job!(|conn| { Ok(methods_of(&mut conn, &user_id, false).await?.1) })).await
    }

    /// `UserNotFound`, `MethodNotFound`.
    pub async fn authentication_method(&self, user_id: &str, id: &str) -> Result<AuthenticationMethod, MethodError> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.db
            .read(job!(|conn| {
                if !conn.has("users", "user_id", &user_id, false).await? {
                    return Err(MethodError::UserNotFound);
                }
                let sql = format!("{SELECT_METHODS} AND id = $2");
                conn.find(&sql, args![&user_id, &id], method_from_row).await?.ok_or(MethodError::MethodNotFound)
            }))
            .await
    }

    /// Adds a method; `UserNotFound`, `Exists`, `LimitReached`.
    pub async fn create_authentication_method(&self, user_id: &str, new: NewMethod) -> Result<(), MethodError> {
        let user_id = user_id.to_owned();
        self.db
            .write(job!(|conn| {
                let (multifactor, existing) = methods_of(&mut conn, &user_id, true).await?;
                rules::admit(&existing, &new.method)?;
                let at = new.method.created_at;
                insert_methods(&mut conn, &user_id, std::slice::from_ref(&new)).await?;
                refresh_multifactor(&mut conn, &user_id, multifactor, &at).await
            }))
            .await
    }

    /// Replaces all the user's methods with `methods`; `UserNotFound`, `HasPasskey` (a user
    /// with a passkey keeps their methods), `Exists` when `methods` repeat one another.
    pub async fn set_authentication_methods(
        &self,
        user_id: &str,
        methods: Vec<NewMethod>,
        at: &Timestamp,
    ) -> Result<(), MethodError> {
        let (user_id, at) = (user_id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let (multifactor, existing) = methods_of(&mut conn, &user_id, true).await?;
                if rules::has_passkey(&existing) {
                    return Err(MethodError::HasPasskey);
                }
                let mut admitted: Vec<AuthenticationMethod> = Vec::with_capacity(methods.len());
                for new in &methods {
                    rules::admit(&admitted, &new.method)?;
                    admitted.push(new.method.clone());
                }
                conn.execute("DELETE FROM authentication_methods WHERE user_id = $1", args![&user_id]).await?;
                insert_methods(&mut conn, &user_id, &methods).await?;
                refresh_multifactor(&mut conn, &user_id, multifactor, &at).await
            }))
            .await
    }

    /// Merges `attributes` (checked against the method's type by the caller) into the stored
    /// method and returns it; `UserNotFound`, `MethodNotFound`.
    pub async fn update_authentication_method(
        &self,
        user_id: &str,
        id: &str,
        attributes: Map<String, Value>,
        at: &Timestamp,
    ) -> Result<AuthenticationMethod, MethodError> {
        let (user_id, id, at) = (user_id.to_owned(), id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let (multifactor, methods) = methods_of(&mut conn, &user_id, true).await?;
                let mut method = methods.into_iter().find(|m| m.id == id).ok_or(MethodError::MethodNotFound)?;
                method.attributes.extend(attributes);
                write_attributes(&mut conn, &method).await?;
                refresh_multifactor(&mut conn, &user_id, multifactor, &at).await?;
                Ok(method)
            }))
            .await
    }

    /// Stamps `last_auth_at` on the method a login just used; one deleted meanwhile stays gone.
    pub async fn record_method_use(&self, user_id: &str, id: &str, at: &Timestamp) -> anyhow::Result<()> {
        let (user_id, id, at) = (user_id.to_owned(), id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let sql = format!("{SELECT_METHODS} AND id = $2");
                let Some(mut method) = conn.find(&sql, args![&user_id, &id], method_from_row).await? else {
                    return Ok(());
                };
                method.used_at(&at);
                write_attributes(&mut conn, &method).await?;
                Ok(())
            }))
            .await
    }

    /// `UserNotFound`, `MethodNotFound`.
    pub async fn delete_authentication_method(
        &self,
        user_id: &str,
        id: &str,
        at: &Timestamp,
    ) -> Result<(), MethodError> {
        let (user_id, id, at) = (user_id.to_owned(), id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let (multifactor, _) = methods_of(&mut conn, &user_id, true).await?;
                let deleted = conn
                    .execute("DELETE FROM authentication_methods WHERE user_id = $1 AND id = $2", args![&user_id, &id])
                    .await?;
                if deleted == 0 {
                    return Err(MethodError::MethodNotFound);
                }
                refresh_multifactor(&mut conn, &user_id, multifactor, &at).await
            }))
            .await
    }

    /// Deletes every MFA factor of the user and their recovery code; passkeys (a first
    /// factor) stay, or, as `passkeys` says, a user who has one keeps everything (`HasPasskey`).
    /// `UserNotFound`.
    pub async fn delete_authentication_factors(
        &self,
        user_id: &str,
        passkeys: IfPasskey,
        at: &Timestamp,
    ) -> Result<(), MethodError> {
        let (user_id, at) = (user_id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let (multifactor, existing) = methods_of(&mut conn, &user_id, true).await?;
                if passkeys == IfPasskey::Refuse && rules::has_passkey(&existing) {
                    return Err(MethodError::HasPasskey);
                }
                conn.execute(
                    "DELETE FROM authentication_methods WHERE user_id = $1 AND type <> 'passkey'",
                    args![&user_id],
                )
                .await?;
                refresh_multifactor(&mut conn, &user_id, multifactor, &at).await
            }))
            .await
    }

    /// Replaces the user's recovery code (the old one stops working); `UserNotFound`.
    pub async fn replace_recovery_code(&self, user_id: &str, code: NewMethod) -> Result<(), MethodError> {
        let user_id = user_id.to_owned();
        self.db
            .write(job!(|conn| {
                let (multifactor, _) = methods_of(&mut conn, &user_id, true).await?;
                conn.execute(
                    "DELETE FROM authentication_methods WHERE user_id = $1 AND type = 'recovery-code'",
                    args![&user_id],
                )
                .await?;
                insert_methods(&mut conn, &user_id, std::slice::from_ref(&code)).await?;
                refresh_multifactor(&mut conn, &user_id, multifactor, &code.method.created_at).await
            }))
            .await
    }

    /// Takes a legacy provider (`duo`, `google-authenticator`) off the profile's `multifactor`;
    /// `UserNotFound`.
    pub async fn remove_multifactor_provider(
        &self,
        user_id: &str,
        provider: &str,
        at: &Timestamp,
    ) -> Result<(), MethodError> {
        let (user_id, provider, at) = (user_id.to_owned(), provider.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let (multifactor, _) = methods_of(&mut conn, &user_id, true).await?;
                if !multifactor.as_deref().unwrap_or_default().contains(&provider) {
                    return Ok(());
                }
                let rest: Vec<String> = multifactor.into_iter().flatten().filter(|p| *p != provider).collect();
                refresh_multifactor(&mut conn, &user_id, Some(rest), &at).await
            }))
            .await
    }

    /// Records that the user's remembered browsers no longer skip MFA from `at` on; whether
    /// the user exists.
    pub async fn invalidate_remembered_browsers(&self, user_id: &str, at: &Timestamp) -> anyhow::Result<bool> {
        let (user_id, at) = (user_id.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let sql = "UPDATE users SET remember_browser_invalidated_at = $1 WHERE user_id = $2";
                Ok(conn.execute(sql, args![&at, &user_id]).await? > 0)
            }))
            .await
    }
}
