//! Sessions and refresh tokens as the Management API reads and ends them.

use serde_json::Value;

use super::Store;
use super::db::{Conn, Row, args, clamp, job};
use super::logins::{insert_refresh_token, refresh_token_from_row, stamp_login};
use crate::domain::authorize::AuthorizationCode;
use crate::domain::refresh_token::{NewRefreshToken, RefreshToken};
use crate::domain::session::{Origin, Session, SessionLifetimes};
use crate::domain::time::Timestamp;
use crate::domain::user::User;

/// A page of a user's sessions or refresh tokens in id order, after the `from` id.
#[derive(Debug)]
pub struct Checkpoint<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The two tables the endpoints read: the columns of an item and how it is answered.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sessions,
    RefreshTokens,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Sessions => "sessions",
            Kind::RefreshTokens => "refresh_tokens",
        }
    }

    fn select(self) -> &'static str {
        match self {
            Kind::Sessions => {
                "SELECT id, user_id, created_at, updated_at, authenticated_at, last_interacted_at, idle_expires_at, \
                 expires_at, document FROM sessions"
            }
            Kind::RefreshTokens => {
                "SELECT id, user_id, client_id, session_id, rotating, created_at, idle_expires_at, expires_at, \
                 last_exchanged_at, document FROM refresh_tokens"
            }
        }
    }

    fn item(self, row: &Row) -> anyhow::Result<Item> {
        match self {
            Kind::Sessions => Ok(Item::Session(Box::new(session_from_row(row)?))),
            Kind::RefreshTokens => Ok(Item::RefreshToken(Box::new(refresh_token_from_row(row)?))),
        }
    }
}

/// A session (as answered) or a refresh token.
#[derive(Debug)]
pub enum Item {
    Session(Box<Session>),
    RefreshToken(Box<RefreshToken>),
}

impl Item {
    /// The answer; `userinfo` is the audience of a refresh token granted no API.
    pub fn to_json(&self, userinfo: &str) -> Value {
        match self {
            Item::Session(session) => session.to_json(),
            Item::RefreshToken(token) => token.to_json(userinfo),
        }
    }
}

const SELECT_SESSION: &str = "SELECT id, user_id, created_at, updated_at, authenticated_at, last_interacted_at, \
                              idle_expires_at, expires_at, document FROM sessions";

fn session_from_row(row: &Row) -> anyhow::Result<Session> {
    Ok(Session {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        authenticated_at: row.time("authenticated_at")?,
        last_interacted_at: row.time("last_interacted_at")?,
        idle_expires_at: row.time("idle_expires_at")?,
        expires_at: row.time("expires_at")?,
        document: row.json("document")?,
    })
}

/// A code for `client_id` to exchange, stored by its hash; codes past their expiry go first.
async fn insert_code(
    conn: &mut Conn<'_>,
    (code_hash, client_id, code): &(String, String, AuthorizationCode),
    now: &Timestamp,
) -> anyhow::Result<()> {
    conn.execute("DELETE FROM authorization_codes WHERE expires_at <= $1", args![now]).await?;
    conn.execute(
        "INSERT INTO authorization_codes (code_hash, client_id, user_id, session_id, expires_at, document) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![code_hash, client_id, &code.user_id, &code.session_id, &code.expires_at, super::db::Value::json(code)],
    )
    .await?;
    Ok(())
}

async fn write_session(conn: &mut Conn<'_>, session: &Session) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE sessions SET updated_at = $2, last_interacted_at = $3, idle_expires_at = $4, document = $5 \
         WHERE id = $1",
        args![
            &session.id,
            &session.updated_at,
            &session.last_interacted_at,
            &session.idle_expires_at,
            super::db::Value::json(&session.document)
        ],
    )
    .await?;
    Ok(())
}

/// A code to store with a session: (its hash, the client it is for, what it grants).
pub type NewCode = (String, String, AuthorizationCode);

async fn user_exists(conn: &mut Conn<'_>, user_id: &str) -> anyhow::Result<bool> {
    conn.has("users", "user_id", user_id, false).await
}

impl Store {
    /// Up to `take` of the user's sessions or refresh tokens after the id `from`, and how many
    /// it has; `None` if there is no such user.
    pub async fn user_checkpoint(
        &self,
        kind: Kind,
        user_id: &str,
        from: Option<&str>,
        take: u64,
    ) -> anyhow::Result<Option<Checkpoint<Item>>> {
        let (user_id, from) = (user_id.to_owned(), from.map(str::to_owned));
        self.db
            .read(job!(|conn| {
                if !user_exists(&mut conn, &user_id).await? {
                    return anyhow::Ok(None);
                }
                let sql =
                    format!("{} WHERE user_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3", kind.select());
                let rows = conn.fetch_all(&sql, args![&user_id, &from, clamp(take)]).await?;
                let items = rows.iter().map(|row| kind.item(row)).collect::<anyhow::Result<_>>()?;
                let count = format!("SELECT COUNT(*) AS total FROM {} WHERE user_id = $1", kind.table());
                Ok(Some(Checkpoint { items, total: conn.count(&count, args![&user_id]).await? }))
            }))
            .await
    }

    /// One session or refresh token by id.
    pub async fn checkpoint_item(&self, kind: Kind, id: &str) -> anyhow::Result<Option<Item>> {
        let sql = format!("{} WHERE id = $1", kind.select());
        self.db.find(&sql, args![id], |row| kind.item(row)).await
    }

    /// Deletes one session or refresh token; whether there was one.
    pub async fn delete_checkpoint_item(&self, kind: Kind, id: &str) -> anyhow::Result<bool> {
        let sql = match kind {
            Kind::Sessions => "DELETE FROM sessions WHERE id = $1",
            Kind::RefreshTokens => "DELETE FROM refresh_tokens WHERE id = $1",
        };
        Ok(self.db.execute::<anyhow::Error>(sql, args![id]).await? > 0)
    }

    /// Deletes all of a user's sessions or refresh tokens; false if there is no such user.
    pub async fn delete_user_checkpoint_items(&self, kind: Kind, user_id: &str) -> anyhow::Result<bool> {
        let user_id = user_id.to_owned();
        self.db
            .write(job!(|conn| {
                if !user_exists(&mut conn, &user_id).await? {
                    return anyhow::Ok(false);
                }
                let sql = format!("DELETE FROM {} WHERE user_id = $1", kind.table());
                conn.execute(&sql, args![&user_id]).await?;
                Ok(true)
            }))
            .await
    }

    /// Opens `session` for a login that just completed (its cookie's secret as `cookie_hash`),
    /// stamps the login on the profile, ends the browser's previous session (`replacing`) and the
    /// user's sessions that have expired, and stores `code`, in one write. The profile as it now
    /// is; `None` if the user is gone.
    pub async fn open_session(
        &self,
        session: Session,
        cookie_hash: String,
        replacing: Option<String>,
        ip: &str,
        code: NewCode,
    ) -> anyhow::Result<Option<User>> {
        let ip = ip.to_owned();
        self.db
            .write(job!(|conn| {
                let now = session.created_at;
                let Some(user) = stamp_login(&mut conn, &session.user_id, &ip, &now).await? else {
                    return anyhow::Ok(None);
                };
                conn.execute(
                    "DELETE FROM sessions WHERE id = $3 OR (user_id = $1 AND (expires_at <= $2 OR idle_expires_at <= $2))",
                    args![&session.user_id, &now, &replacing],
                )
                .await?;
                conn.execute(
                    "INSERT INTO sessions (id, user_id, created_at, updated_at, authenticated_at, last_interacted_at, \
                     idle_expires_at, expires_at, document, cookie_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    args![
                        &session.id,
                        &session.user_id,
                        &session.created_at,
                        &session.updated_at,
                        &session.authenticated_at,
                        &session.last_interacted_at,
                        &session.idle_expires_at,
                        &session.expires_at,
                        super::db::Value::json(&session.document),
                        &cookie_hash
                    ],
                )
                .await?;
                insert_code(&mut conn, &code, &now).await?;
                Ok(Some(user))
            }))
            .await
    }

    /// The session a browser's cookie names, if its secret's hash is `cookie_hash` and it is
    /// live at `now` and its user is not blocked.
    pub async fn session_for_cookie(
        &self,
        id: &str,
        cookie_hash: &str,
        now: &Timestamp,
    ) -> anyhow::Result<Option<Session>> {
        let sql = format!(
            "{SELECT_SESSION} WHERE id = $1 AND cookie_hash = $2 AND idle_expires_at > $3 AND expires_at > $3 \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = sessions.user_id AND u.blocked)"
        );
        self.db.find(&sql, args![id, cookie_hash, now], session_from_row).await
    }

    /// Signs `client_id` in through the live session `id` again (single sign-on): the session
    /// is touched, the login stamped and `code` stored, in one write. The session as it now is,
    /// and the profile; `None` if the session ended or expired meanwhile.
    pub async fn continue_session(
        &self,
        id: &str,
        origin: &Origin,
        lifetimes: SessionLifetimes,
        now: &Timestamp,
        code: NewCode,
    ) -> anyhow::Result<Option<(Session, User)>> {
        let (id, origin, now) = (id.to_owned(), origin.clone(), *now);
        self.db
            .write(job!(|conn| {
                let sql = format!("{SELECT_SESSION} WHERE id = $1{}", conn.engine().for_update());
                let Some(mut session) = conn.find(&sql, args![&id], session_from_row).await? else {
                    return anyhow::Ok(None);
                };
                if !session.is_live(&now) {
                    return Ok(None);
                }
                session.touch(&code.1, &origin, lifetimes, now);
                write_session(&mut conn, &session).await?;
                let Some(user) = stamp_login(&mut conn, &session.user_id, &origin.ip, &now).await? else {
                    return Ok(None);
                };
                insert_code(&mut conn, &code, &now).await?;
                Ok(Some((session, user)))
            }))
            .await
    }

    /// Takes the code whose hash is `code_hash` for `client_id`: it is gone once presented by
    /// its client, whatever comes of the exchange. `None` if there is none, it is another
    /// client's, or it has expired at `now`.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: &Timestamp,
    ) -> anyhow::Result<Option<AuthorizationCode>> {
        let (code_hash, client_id, now) = (code_hash.to_owned(), client_id.to_owned(), *now);
        self.db
            .write(job!(|conn| {
                let row = conn
                    .fetch_optional(
                        "DELETE FROM authorization_codes WHERE code_hash = $1 AND client_id = $2 RETURNING document",
                        args![&code_hash, &client_id],
                    )
                    .await?;
                let Some(row) = row else { return anyhow::Ok(None) };
                let code: AuthorizationCode = row.json("document")?;
                Ok((code.expires_at > now).then_some(code))
            }))
            .await
    }

    /// Ends a session (a logout): the session as it was, if there was one.
    pub async fn end_session(&self, id: &str) -> anyhow::Result<Option<Session>> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                let sql = format!("{SELECT_SESSION} WHERE id = $1");
                let session = conn.find(&sql, args![&id], session_from_row).await?;
                conn.execute("DELETE FROM sessions WHERE id = $1", args![&id]).await?;
                anyhow::Ok(session)
            }))
            .await
    }

    /// Ends a session and revokes the refresh tokens issued in it (`POST /sessions/{id}/revoke`);
    /// whether there was such a session.
    pub async fn revoke_session(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.execute("DELETE FROM refresh_tokens WHERE session_id = $1", args![&id]).await?;
                anyhow::Ok(conn.execute("DELETE FROM sessions WHERE id = $1", args![&id]).await? > 0)
            }))
            .await
    }

    /// Stores a refresh token issued by a code exchange.
    pub async fn insert_refresh_token(&self, token: NewRefreshToken) -> anyhow::Result<()> {
        self.db.write(job!(|conn| { insert_refresh_token(&mut conn, &token).await })).await
    }

    /// One refresh token by id, as stored.
    pub async fn refresh_token(&self, id: &str) -> anyhow::Result<Option<RefreshToken>> {
        let sql = format!("{} WHERE id = $1", Kind::RefreshTokens.select());
        self.db.find(&sql, args![id], refresh_token_from_row).await
    }
}
