//! Users: a row per profile with a column per searchable attribute (and case-folded copies for
//! search), its primary identity's credentials in `identities` (whose unique indexes are what
//! make concurrent duplicate creates fail), and its metadata leaves in a search side table, all
//! written in one transaction so that searches see a write at once.

use super::db::{Conn, DbError, Row, Value, args, insert_rows, job};
use super::{Store, StoreError};
use crate::domain::authentication_method::NewMethod;
use crate::domain::metadata;
use crate::domain::user::{Identity, User, fold_case};
use crate::search::listing::{self, SearchPage, UserSearch, Window};

/// `user_metadata_values.source`
const APP_METADATA: i64 = 0;
const USER_METADATA: i64 = 1;

/// Bump when what the store derives for search (folded columns, metadata leaves) changes:
/// the next start recomputes it for every user.
const SEARCH_INDEX_VERSION: &str = "1";

pub(super) const USER_COLUMNS: &str = "user_id, email, email_verified, username, phone_number, phone_verified, name, nickname, \
     given_name, family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, \
     multifactor_last_modified, last_ip, last_login, logins_count, last_password_reset, created_at, updated_at";

/// The columns `user_values` fills, in its order.
pub(super) const WRITTEN_COLUMNS: &str = "email, email_verified, username, phone_number, phone_verified, name, nickname, \
     given_name, family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, \
     multifactor_last_modified, last_ip, last_login, logins_count, last_password_reset, created_at, updated_at, \
     email_ci, email_domain_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, user_id";

pub(super) fn user_from_row(row: &Row) -> anyhow::Result<User> {
    let identities: Vec<Identity> = row.json("identities")?;
    anyhow::ensure!(!identities.is_empty(), "user without identities");
    Ok(User {
        user_id: row.get("user_id")?,
        email: row.get("email")?,
        email_verified: row.get("email_verified")?,
        username: row.get("username")?,
        phone_number: row.get("phone_number")?,
        phone_verified: row.get("phone_verified")?,
        name: row.get("name")?,
        nickname: row.get("nickname")?,
        given_name: row.get("given_name")?,
        family_name: row.get("family_name")?,
        picture: row.get("picture")?,
        blocked: row.get("blocked")?,
        app_metadata: row.opt_json("app_metadata")?,
        user_metadata: row.opt_json("user_metadata")?,
        identities,
        multifactor: row.opt_json("multifactor")?,
        multifactor_last_modified: row.opt_time("multifactor_last_modified")?,
        last_ip: row.get("last_ip")?,
        last_login: row.opt_time("last_login")?,
        logins_count: row.get("logins_count")?,
        last_password_reset: row.opt_time("last_password_reset")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The values of `WRITTEN_COLUMNS` for `user`, its search keys included.
pub(super) fn user_values(user: &User) -> Vec<Value<'_>> {
    let keys = user.search_keys();
    vec![
        Value::from(&user.email),
        Value::from(user.email_verified),
        Value::from(&user.username),
        Value::from(&user.phone_number),
        Value::from(user.phone_verified),
        Value::from(&user.name),
        Value::from(&user.nickname),
        Value::from(&user.given_name),
        Value::from(&user.family_name),
        Value::from(&user.picture),
        Value::from(user.blocked),
        Value::json_opt(&user.app_metadata),
        Value::json_opt(&user.user_metadata),
        Value::json(&user.identities),
        Value::json_opt(&user.multifactor),
        Value::from(&user.multifactor_last_modified),
        Value::from(&user.last_ip),
        Value::from(&user.last_login),
        Value::from(user.logins_count),
        Value::from(&user.last_password_reset),
        Value::from(&user.created_at),
        Value::from(&user.updated_at),
        Value::from(keys.email),
        Value::from(keys.email_domain),
        Value::from(keys.name),
        Value::from(keys.given_name),
        Value::from(keys.family_name),
        Value::from(keys.nickname),
        Value::from(&user.user_id),
    ]
}

/// Rewrites every column of the stored `user`; returns its `seq`.
pub(super) async fn write_user_row(conn: &mut Conn<'_>, user: &User) -> Result<i64, StoreError> {
    static UPDATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let set: Vec<String> =
            WRITTEN_COLUMNS.split(", ").take(28).enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        format!("UPDATE users SET {} WHERE user_id = $29 RETURNING seq", set.join(", "))
    });
    let row = conn.fetch_one(&UPDATE, &user_values(user)).await?;
    Ok(row.get("seq")?)
}

/// Replaces the metadata leaves of the user at `seq` in the search side table.
async fn write_metadata_leaves(conn: &mut Conn<'_>, seq: i64, user: &User) -> Result<(), DbError> {
    conn.execute("DELETE FROM user_metadata_values WHERE seq = $1", args![seq]).await?;
    insert_rows(conn, "user_metadata_values (seq, source, path, value)", 4, &metadata_leaves(seq, user), "").await?;
    Ok(())
}

/// The values of the search side table's rows for `user`'s metadata: (seq, source, path, value).
fn metadata_leaves(seq: i64, user: &User) -> Vec<Value<'static>> {
    let mut values = Vec::new();
    for (source, metadata) in [(APP_METADATA, &user.app_metadata), (USER_METADATA, &user.user_metadata)] {
        for (path, value) in metadata.iter().flat_map(metadata::leaves) {
            values.extend([seq.into(), source.into(), without_nul(path).into(), without_nul(value).into()]);
        }
    }
    values
}

/// PostgreSQL text cannot hold U+0000, which JSON strings may: the search side table holds
/// U+FFFD in its place, on both engines alike.
fn without_nul(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

/// A user to create: its profile, its primary identity's password hash, and the ids of the
/// roles it starts with (which must exist).
pub struct NewUser {
    pub user: User,
    pub password_hash: Option<String>,
    pub role_ids: Vec<String>,
    /// Authentication methods it starts with (an import's `mfa_factors`).
    pub methods: Vec<NewMethod>,
}

impl NewUser {
    pub fn without_roles(user: User, password_hash: Option<String>) -> Self {
        Self { user, password_hash, role_ids: Vec::new(), methods: Vec::new() }
    }
}

/// Inserts new users, their primary identities, metadata leaves and roles, in multi-row
/// statements (one row each for a single user).
pub(super) async fn insert_users(conn: &mut Conn<'_>, users: &[NewUser]) -> Result<(), StoreError> {
    let rows: Vec<Value> = users.iter().flat_map(|new| user_values(&new.user)).collect();
    let into = format!("users ({WRITTEN_COLUMNS})");
    // Rows come back in no set order: seqs are matched to users by id.
    let mut seqs = std::collections::HashMap::with_capacity(users.len());
    for row in insert_rows(conn, &into, 29, &rows, "RETURNING seq, user_id").await? {
        seqs.insert(row.get::<String>("user_id")?, row.get::<i64>("seq")?);
    }
    let identities: Vec<Value> = users
        .iter()
        .flat_map(|NewUser { user, password_hash, .. }| {
            let (identity, keys) = (user.primary_identity(), user.credential_keys());
            [
                Value::from(&identity.provider),
                Value::from(&identity.user_id),
                Value::from(&user.user_id),
                Value::from(&identity.connection),
                Value::from(keys.email),
                Value::from(keys.username),
                Value::from(keys.phone_number),
                Value::from(password_hash),
            ]
        })
        .collect();
    let into =
        "identities (provider, provider_user_id, user_id, connection, email, username, phone_number, password_hash)";
    insert_rows(conn, into, 8, &identities, "").await?;
    let mut leaves = Vec::new();
    for new in users {
        leaves.extend(metadata_leaves(seqs[&new.user.user_id], &new.user));
    }
    insert_rows(conn, "user_metadata_values (seq, source, path, value)", 4, &leaves, "").await?;
    let roles: Vec<Value> = users
        .iter()
        .flat_map(|new| new.role_ids.iter().map(move |role_id| (&new.user, role_id)))
        .flat_map(|(user, role_id)| [Value::from(&user.user_id), Value::from(role_id), Value::from(&user.created_at)])
        .collect();
    insert_rows(conn, "user_roles (user_id, role_id, created_at)", 3, &roles, "").await?;
    let methods: Vec<(&str, &NewMethod)> =
        users.iter().flat_map(|new| new.methods.iter().map(|method| (new.user.user_id.as_str(), method))).collect();
    super::authentication_methods::insert_users_methods(conn, &methods).await?;
    Ok(())
}

pub(super) fn select_user_sql(lock: &str) -> String {
    format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1{lock}")
}

/// Recomputes the search columns and the metadata side table for every user, in batches of
/// one transaction each, when they were derived by an older version (or never, for users
/// written before them). Runs at start, before the store serves.
pub(super) async fn refresh_search_index(mut conn: Conn<'_>) -> anyhow::Result<()> {
    let engine = conn.engine();
    let current = conn.fetch_optional("SELECT value FROM settings WHERE key = 'search_index_version'", &[]).await?;
    if current.map(|row| row.get::<String>("value")).transpose()?.as_deref() == Some(SEARCH_INDEX_VERSION) {
        return Ok(());
    }
    let sql =
        format!("SELECT seq, {USER_COLUMNS} FROM users WHERE seq > $1 ORDER BY seq LIMIT 1000{}", engine.for_update());
    let (mut after, mut refreshed) = (0i64, 0u64);
    loop {
        conn.execute(engine.begin_write(), &[]).await?;
        let rows = conn.fetch_all(&sql, args![after]).await?;
        let Some(last) = rows.last() else {
            conn.execute("COMMIT", &[]).await?;
            break;
        };
        after = last.get("seq")?;
        for row in &rows {
            let user = user_from_row(row)?;
            let seq = write_user_row(&mut conn, &user).await?;
            write_metadata_leaves(&mut conn, seq, &user).await?;
        }
        conn.execute("COMMIT", &[]).await?;
        refreshed += rows.len() as u64;
    }
    if let Some(rebuild) = engine.rebuild_trigram_index() {
        conn.execute(rebuild, &[]).await?;
    }
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('search_index_version', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![SEARCH_INDEX_VERSION],
    )
    .await?;
    if refreshed > 0 {
        tracing::info!(users = refreshed, "search index rebuilt");
    }
    Ok(())
}

/// `Store::update_user` inside the caller's transaction.
pub(crate) async fn update_user_in(
    conn: &mut Conn<'_>,
    user_id: &str,
    password_hash: Option<&str>,
    edit: impl FnOnce(&mut User),
) -> Result<Option<User>, StoreError> {
    let sql = select_user_sql(conn.engine().for_update());
    let Some(mut user) = conn.find(&sql, args![user_id], user_from_row).await? else {
        return Ok(None);
    };
    edit(&mut user);
    let seq = write_user_row(conn, &user).await?;
    write_metadata_leaves(conn, seq, &user).await?;
    let identity = user.primary_identity();
    let keys = user.credential_keys();
    conn.execute(
        "UPDATE identities SET email = $1, username = $2, phone_number = $3, \
             password_hash = COALESCE($4, password_hash) WHERE provider = $5 AND provider_user_id = $6",
        args![keys.email, keys.username, keys.phone_number, password_hash, &identity.provider, &identity.user_id],
    )
    .await?;
    if password_hash.is_some() {
        conn.execute("DELETE FROM login_failures WHERE user_id = $1", args![user_id]).await?;
    }
    Ok(Some(user))
}

/// An import's upsert of a user: `edit`s it, and takes `password_hash` only while the user has
/// never logged in (Auth0 updates an imported hash "if the user did not login using the
/// initially imported" one: a user who has may have changed their password since).
pub(crate) async fn upsert_user_in(
    conn: &mut Conn<'_>,
    user_id: &str,
    password_hash: Option<&str>,
    edit: impl FnOnce(&mut User),
) -> Result<Option<User>, StoreError> {
    let logged_in = conn.exists("SELECT 1 FROM users WHERE user_id = $1 AND logins_count > 0", args![user_id]).await?;
    update_user_in(conn, user_id, password_hash.filter(|_| !logged_in), edit).await
}

impl Store {
    /// Stores a new user, with the password hash of its primary identity.
    pub async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        let users = [NewUser::without_roles(user.clone(), password_hash.map(str::to_owned))];
        self.db.write(job!(|conn| { insert_users(&mut conn, &users).await })).await
    }

    /// Whether any user is stored.
    pub async fn has_users(&self) -> anyhow::Result<bool> {
        Ok(self.db.exists("SELECT 1 FROM users LIMIT 1", &[]).await?)
    }

    pub async fn user(&self, user_id: &str) -> anyhow::Result<Option<User>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| select_user_sql(""));
        self.db.find(&SQL, args![user_id], user_from_row).await
    }

    /// The users whose email is exactly `email` (case-sensitive, as Auth0's `users-by-email`),
    /// found through the folded email's index, oldest first.
    pub async fn users_by_email(&self, email: &str) -> anyhow::Result<Vec<User>> {
        // `$1 || ''`, not `$1`: SQLite's planner cannot read an expression's value, so it plans
        // this lookup once. Given bare parameters, it weighs its plans by the values bound (with
        // the samples of the index's values that `PRAGMA optimize` gathers, STAT4), so the
        // cached statement was prepared again at every run: half of users-by-email's CPU time.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {USER_COLUMNS} FROM users WHERE email_ci = ($1 || '') AND email = ($2 || '') ORDER BY seq")
        });
        let rows = self.db.lookup_all(&SQL, args![&fold_case(email), email]).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Applies `edit` to the user as stored (inside the write transaction, so concurrent edits
    /// do not lose each other's changes) and, if given, sets its primary identity's password
    /// hash, which lifts the user's brute-force blocks (as a password change does on Auth0).
    /// `None` if there is no such user.
    pub async fn update_user(
        &self,
        user_id: &str,
        password_hash: Option<&str>,
        edit: impl FnOnce(&mut User) + Send + 'static,
    ) -> Result<Option<User>, StoreError> {
        let (user_id, password_hash) = (user_id.to_owned(), password_hash.map(str::to_owned));
        self.db.write(job!(|conn| { update_user_in(&mut conn, &user_id, password_hash.as_deref(), edit).await })).await
    }

    /// Whether a user was deleted (identities, metadata leaves and assignments cascade).
    pub async fn delete_user(&self, user_id: &str) -> anyhow::Result<bool> {
        let user_id = user_id.to_owned();
        self.db
            .write(job!(|conn| {
                Ok(conn.execute("DELETE FROM users WHERE user_id = $1", args![&user_id]).await? > 0)
            }))
            .await
    }

    /// Users matching a search (the plain listing is the search for everyone).
    pub async fn search_users(&self, search: &UserSearch) -> anyhow::Result<SearchPage> {
        let dialect = self.db.engine().search_dialect();
        let select = listing::select(search, USER_COLUMNS, dialect);
        let values: Vec<Value> = select.binds.iter().map(Value::from).collect();
        let mut rows = self.db.fetch_all(&select.sql, &values).await?;
        let mut next = None;
        if let Window::After { limit, .. } = search.window
            && rows.len() as u64 > limit
        {
            rows.truncate(limit as usize);
            next = rows.last().map(|row| row.get("seq")).transpose()?;
        }
        let users = rows.iter().map(user_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        let total = match search.with_total {
            true => Some(self.count(crate::search::sql::count(&search.query, dialect)).await?),
            false => None,
        };
        Ok(SearchPage { users, total, next })
    }

    /// The stored password hash of a user's primary identity.
    pub async fn password_hash(&self, user_id: &str) -> anyhow::Result<Option<String>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT i.password_hash FROM identities i JOIN users u ON u.user_id = i.user_id \
                 WHERE u.user_id = $1 AND u.user_id = i.provider || '|' || i.provider_user_id",
                args![user_id],
            )
            .await?;
        Ok(row.map(|row| row.get("password_hash")).transpose()?.flatten())
    }
}
