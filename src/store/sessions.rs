//! Sessions and refresh tokens as the Management API reads and ends them.

use serde_json::{Map, Value};

use super::Store;
use super::db::{Conn, Row, args, clamp, job};
use super::logins::refresh_token_from_row;
use crate::domain::refresh_token::RefreshToken;
use crate::domain::time;

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
            Kind::Sessions => Ok(Item::Session(session_from_row(row)?)),
            Kind::RefreshTokens => Ok(Item::RefreshToken(Box::new(refresh_token_from_row(row)?))),
        }
    }
}

/// A session (as answered) or a refresh token.
#[derive(Debug)]
pub enum Item {
    Session(Value),
    RefreshToken(Box<RefreshToken>),
}

impl Item {
    /// The answer; `userinfo` is the audience of a refresh token granted no API.
    pub fn to_json(&self, userinfo: &str) -> Value {
        match self {
            Item::Session(session) => session.clone(),
            Item::RefreshToken(token) => token.to_json(userinfo),
        }
    }
}

/// A session as Auth0 answers it: its times, then what its document holds (device, clients,
/// authentication methods).
fn session_from_row(row: &Row) -> anyhow::Result<Value> {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(row.get("id")?));
    out.insert("user_id".into(), Value::String(row.get("user_id")?));
    for column in
        ["created_at", "updated_at", "authenticated_at", "idle_expires_at", "expires_at", "last_interacted_at"]
    {
        out.insert(column.into(), Value::String(time::format(&row.time(column)?)));
    }
    let document: Map<String, Value> = row.json("document")?;
    out.extend(document);
    Ok(Value::Object(out))
}

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

    /// One refresh token by id, as stored.
    pub async fn refresh_token(&self, id: &str) -> anyhow::Result<Option<RefreshToken>> {
        let sql = format!("{} WHERE id = $1", Kind::RefreshTokens.select());
        self.db.find(&sql, args![id], refresh_token_from_row).await
    }
}
