//! What a login reads and writes: the credential it checks, brute-force counters, the
//! profile's login stamps, refresh tokens, and the second factors a challenge is answered with.

use super::Store;
use super::db::{Conn, Row, args, job};
use super::users::{select_user_sql, user_from_row};
use crate::domain::authentication_method::NewMethod;
use crate::domain::refresh_token::{NewRefreshToken, RefreshToken};
use crate::domain::time::Timestamp;
use crate::domain::user::User;

/// The user a login names, as its connection holds it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub user_id: String,
    pub password_hash: Option<String>,
    /// Blocked by an administrator (`blocked: true`).
    pub blocked: bool,
    /// The profile's `multifactor`: non-empty while the user has a confirmed second factor.
    pub multifactor: bool,
    /// When brute-force protection blocked this user from the login's IP address.
    pub blocked_from_ip_at: Option<Timestamp>,
    /// When browsers remembered after MFA stopped being trusted
    /// (`POST /users/{id}/multifactor/actions/invalidate-remember-browser`).
    pub remember_browser_invalidated_at: Option<Timestamp>,
}

/// A brute-force block, as `GET /user-blocks` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct IpBlock {
    pub identifier: String,
    pub ip: String,
    pub connection: String,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Exchange {
    /// Valid: the token (as it now is, rotated if it rotates).
    Granted(Box<RefreshToken>),
    /// No such token, a token of another client, or an expired one.
    Invalid,
    /// A rotated-away token presented again: its family was revoked.
    Reused { token_id: String, user_id: String },
}

const SELECT_REFRESH_TOKEN: &str = "SELECT id, user_id, client_id, session_id, rotating, created_at, idle_expires_at, \
                                    expires_at, last_exchanged_at, document FROM refresh_tokens";

pub(crate) fn refresh_token_from_row(row: &Row) -> anyhow::Result<RefreshToken> {
    Ok(RefreshToken {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        client_id: row.get("client_id")?,
        session_id: row.get("session_id")?,
        rotating: row.get("rotating")?,
        created_at: row.time("created_at")?,
        idle_expires_at: row.opt_time("idle_expires_at")?,
        expires_at: row.opt_time("expires_at")?,
        last_exchanged_at: row.opt_time("last_exchanged_at")?,
        grant: row.json("document")?,
    })
}

pub(super) async fn stamp_login(
    conn: &mut Conn<'_>,
    user_id: &str,
    ip: &str,
    at: &Timestamp,
) -> anyhow::Result<Option<User>> {
    conn.execute("DELETE FROM login_failures WHERE user_id = $1 AND ip = $2", args![user_id, ip]).await?;
    conn.execute(
        "UPDATE users SET last_login = $2, last_ip = $3, logins_count = COALESCE(logins_count, 0) + 1, \
         updated_at = $2 WHERE user_id = $1",
        args![user_id, at, ip],
    )
    .await?;
    conn.find(&select_user_sql(""), args![user_id], user_from_row).await
}

impl Store {
    /// The user of `connection` whose email or username is `identifier`, with its brute-force
    /// state for `ip`.
    pub async fn login_credential(
        &self,
        connection: &str,
        identifier: &str,
        ip: &str,
    ) -> anyhow::Result<Option<Credential>> {
        let email = identifier.to_lowercase();
        self.db
            .find(
                "SELECT i.user_id, i.password_hash, u.blocked, u.multifactor, u.remember_browser_invalidated_at, \
                 f.blocked_at FROM identities i \
                 JOIN users u ON u.user_id = i.user_id \
                 LEFT JOIN login_failures f ON f.user_id = i.user_id AND f.ip = $4 \
                 WHERE i.connection = $1 AND (i.email = $2 OR i.username = $3) LIMIT 1",
                args![connection, email.as_str(), identifier, ip],
                |row| {
                    let multifactor: Option<Vec<String>> = row.opt_json("multifactor")?;
                    Ok(Credential {
                        user_id: row.get("user_id")?,
                        password_hash: row.get("password_hash")?,
                        blocked: row.get::<Option<bool>>("blocked")?.unwrap_or(false),
                        multifactor: multifactor.is_some_and(|m| !m.is_empty()),
                        blocked_from_ip_at: row.opt_time("blocked_at")?,
                        remember_browser_invalidated_at: row.opt_time("remember_browser_invalidated_at")?,
                    })
                },
            )
            .await
    }

    /// Counts a failed login of `user_id` from `ip`; true when this failure reached
    /// `threshold` and blocked the pair.
    pub async fn record_failed_login(
        &self,
        user_id: &str,
        ip: &str,
        (connection, identifier): (&str, &str),
        threshold: i64,
        at: &Timestamp,
    ) -> anyhow::Result<bool> {
        let (user_id, ip, connection, identifier, at) =
            (user_id.to_owned(), ip.to_owned(), connection.to_owned(), identifier.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let row = conn
                    .fetch_optional(
                        "INSERT INTO login_failures (user_id, ip, connection, identifier, failures) \
                         SELECT $1, $2, $3, $4, 1 WHERE EXISTS (SELECT 1 FROM users WHERE user_id = $1) \
                         ON CONFLICT (user_id, ip) DO UPDATE SET failures = login_failures.failures + 1, \
                         connection = excluded.connection, identifier = excluded.identifier \
                         RETURNING failures, blocked_at",
                        args![&user_id, &ip, &connection, &identifier],
                    )
                    .await?;
                let Some(row) = row else { return anyhow::Ok(false) };
                let failures: i64 = row.get("failures")?;
                if failures < threshold || row.opt_time("blocked_at")?.is_some() {
                    return Ok(false);
                }
                conn.execute(
                    "UPDATE login_failures SET blocked_at = $3 WHERE user_id = $1 AND ip = $2",
                    args![&user_id, &ip, &at],
                )
                .await?;
                Ok(true)
            }))
            .await
    }

    /// Stamps a successful login on the profile (`last_login`, `last_ip`, `logins_count`),
    /// clears the user's failures from `ip`, and stores the refresh token issued with it, in one
    /// write. The profile as it now is; `None` if the user is gone.
    pub async fn record_login(
        &self,
        user_id: &str,
        ip: &str,
        at: &Timestamp,
        refresh_token: Option<NewRefreshToken>,
    ) -> anyhow::Result<Option<User>> {
        let (user_id, ip, at) = (user_id.to_owned(), ip.to_owned(), *at);
        self.db
            .write(job!(|conn| {
                let Some(user) = stamp_login(&mut conn, &user_id, &ip, &at).await? else {
                    return Ok(None);
                };
                if let Some(token) = refresh_token {
                    insert_refresh_token(&mut conn, &token).await?;
                }
                anyhow::Ok(Some(user))
            }))
            .await
    }

    /// The brute-force blocks of `user_id` that are in force at `now` (blocks end after
    /// `lifetime_days`).
    pub async fn ip_blocks(&self, user_ids: &[String], since: &Timestamp) -> anyhow::Result<Vec<IpBlock>> {
        let (user_ids, since) = (user_ids.to_vec(), *since);
        self.db
            .read(job!(|conn| {
                let (list, values) = super::db::in_list(&[(&since).into()], &user_ids);
                let sql = format!(
                    "SELECT identifier, ip, connection FROM login_failures WHERE blocked_at >= $1 AND user_id IN ({list}) \
                     ORDER BY blocked_at, ip"
                );
                let rows = conn.fetch_all(&sql, &values).await?;
                rows.iter()
                    .map(|row| {
                        Ok(IpBlock { identifier: row.get("identifier")?, ip: row.get("ip")?, connection: row.get("connection")? })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            }))
            .await
    }

    /// Lifts every brute-force block and failure count of these users.
    pub async fn unblock(&self, user_ids: &[String]) -> anyhow::Result<()> {
        let user_ids = user_ids.to_vec();
        self.db
            .write(job!(|conn| {
                let (list, values) = super::db::in_list(&[], &user_ids);
                conn.execute(&format!("DELETE FROM login_failures WHERE user_id IN ({list})"), &values).await?;
                anyhow::Ok(())
            }))
            .await
    }

    /// The ids of users whose email, username or phone number is `identifier`, in any
    /// connection.
    pub async fn users_by_identifier(&self, identifier: &str) -> anyhow::Result<Vec<String>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT DISTINCT user_id FROM identities WHERE email = $1 OR username = $2 OR phone_number = $2",
                args![identifier.to_lowercase(), identifier],
            )
            .await?;
        rows.iter().map(|row| row.get("user_id")).collect()
    }

    /// The user's confirmed TOTP methods: each one's id and shared secret.
    pub async fn totp_secrets(&self, user_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        let rows = self
            .db
            .fetch_all(
                "SELECT id, secret FROM authentication_methods WHERE user_id = $1 AND type = 'totp' AND confirmed \
                 AND secret IS NOT NULL ORDER BY seq",
                args![user_id],
            )
            .await?;
        rows.iter().map(|row| Ok((row.get("id")?, row.get("secret")?))).collect()
    }

    /// Uses up the user's recovery code if its hash is `code_hash`, replacing it with
    /// `replacement`, in one write; false (and nothing written) when it is not.
    pub async fn redeem_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        replacement: NewMethod,
    ) -> anyhow::Result<bool> {
        let (user_id, code_hash) = (user_id.to_owned(), code_hash.to_owned());
        self.db
            .write(job!(|conn| {
                let deleted = conn
                    .execute(
                        "DELETE FROM authentication_methods WHERE user_id = $1 AND type = 'recovery-code' AND secret = $2",
                        args![&user_id, &code_hash],
                    )
                    .await?;
                if deleted == 0 {
                    return anyhow::Ok(false);
                }
                super::authentication_methods::insert_methods(&mut conn, &user_id, std::slice::from_ref(&replacement))
                    .await?;
                Ok(true)
            }))
            .await
    }

    /// Presents a refresh token (by its hash) for `client_id` at `now`. A rotating token is
    /// replaced by `next_hash`, the one it was kept as spent; its idle expiry moves to
    /// `idle_expires_at`.
    pub async fn exchange_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: &Timestamp,
        next_hash: &str,
        idle_expires_at: Option<Timestamp>,
    ) -> anyhow::Result<Exchange> {
        let (token_hash, client_id, now, next_hash) =
            (token_hash.to_owned(), client_id.to_owned(), *now, next_hash.to_owned());
        self.db
            .write(job!(|conn| {
                let lock = conn.engine().for_update();
                let sql = format!("{SELECT_REFRESH_TOKEN} WHERE token_hash = $1{lock}");
                let Some(token) = conn.find(&sql, args![&token_hash], refresh_token_from_row).await? else {
                    // A spent token: someone holds a copy of a token that rotated. Revoke the family.
                    let spent = conn
                        .fetch_optional(
                            "SELECT t.id, t.user_id FROM spent_refresh_tokens s JOIN refresh_tokens t \
                             ON t.id = s.refresh_token_id WHERE s.token_hash = $1",
                            args![&token_hash],
                        )
                        .await?;
                    let Some(spent) = spent else { return anyhow::Ok(Exchange::Invalid) };
                    let (token_id, user_id): (String, String) = (spent.get("id")?, spent.get("user_id")?);
                    conn.execute("DELETE FROM refresh_tokens WHERE id = $1", args![&token_id]).await?;
                    return Ok(Exchange::Reused { token_id, user_id });
                };
                if token.client_id != client_id || token.has_expired(&now) {
                    return Ok(Exchange::Invalid);
                }
                if token.rotating {
                    conn.execute(
                        "INSERT INTO spent_refresh_tokens (token_hash, refresh_token_id, spent_at) VALUES ($1, $2, $3)",
                        args![&token_hash, &token.id, &now],
                    )
                    .await?;
                    conn.execute(
                        "UPDATE refresh_tokens SET token_hash = $2 WHERE id = $1",
                        args![&token.id, &next_hash],
                    )
                    .await?;
                }
                conn.execute(
                    "UPDATE refresh_tokens SET last_exchanged_at = $2, idle_expires_at = $3 WHERE id = $1",
                    args![&token.id, &now, &idle_expires_at.or(token.idle_expires_at)],
                )
                .await?;
                let sql = format!("{SELECT_REFRESH_TOKEN} WHERE id = $1");
                let token = conn.find(&sql, args![&token.id], refresh_token_from_row).await?;
                Ok(token.map_or(Exchange::Invalid, |token| Exchange::Granted(Box::new(token))))
            }))
            .await
    }

    /// Revokes the refresh token whose current or spent hash is `token_hash`, if `client_id`'s:
    /// the token revoked, if any.
    pub async fn revoke_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
    ) -> anyhow::Result<Option<RefreshToken>> {
        let (token_hash, client_id) = (token_hash.to_owned(), client_id.to_owned());
        self.db
            .write(job!(|conn| {
                let sql = format!(
                    "{SELECT_REFRESH_TOKEN} WHERE client_id = $2 AND (token_hash = $1 OR id IN \
                     (SELECT refresh_token_id FROM spent_refresh_tokens WHERE token_hash = $1))"
                );
                let Some(token) = conn.find(&sql, args![&token_hash, &client_id], refresh_token_from_row).await? else {
                    return anyhow::Ok(None);
                };
                conn.execute("DELETE FROM refresh_tokens WHERE id = $1", args![&token.id]).await?;
                Ok(Some(token))
            }))
            .await
    }
}

pub(super) async fn insert_refresh_token(conn: &mut Conn<'_>, token: &NewRefreshToken) -> anyhow::Result<()> {
    let t = &token.token;
    conn.execute(
        "INSERT INTO refresh_tokens (id, user_id, client_id, session_id, token_hash, rotating, created_at, \
         idle_expires_at, expires_at, document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            &t.id,
            &t.user_id,
            &t.client_id,
            &t.session_id,
            &token.token_hash,
            t.rotating,
            &t.created_at,
            &t.idle_expires_at,
            &t.expires_at,
            super::db::Value::json(&t.grant),
        ],
    )
    .await?;
    Ok(())
}
