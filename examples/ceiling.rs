//! The ceiling for the CRUD benchmark: the fastest simple server over roster's own SQLite file.
//! Bare axum + rusqlite, no authentication, no validation; each request runs the SQL roster runs
//! for it (`USER_COLUMNS` in src/store/sqlite/mod.rs), on a copy of the database roster serves,
//! with the same durability (WAL, `synchronous=FULL`). bench/crud.sh reports roster's figures
//! as a ratio to this server's, measured in the same run.
//!
//!     cargo run --release --example ceiling -- 127.0.0.1:18082 copy-of-roster.db

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Roster's `USER_COLUMNS`, in its order.
const COLUMNS: &str = "user_id, email, email_verified, username, phone_number, phone_verified, name, nickname, \
     given_name, family_name, picture, blocked, app_metadata, user_metadata, identities, multifactor, \
     multifactor_last_modified, last_ip, last_login, logins_count, last_password_reset, created_at, updated_at";
static BY_ID: LazyLock<String> = LazyLock::new(|| format!("SELECT {COLUMNS} FROM users WHERE user_id = ?1"));
static BY_EMAIL: LazyLock<String> = LazyLock::new(|| format!("SELECT {COLUMNS} FROM users WHERE email_ci = ?1"));
const INSERT: &str = "INSERT INTO users (user_id, email, email_verified, user_metadata, identities, created_at, \
     updated_at, email_ci, email_domain_ci) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const UPDATE: &str = "UPDATE users SET user_metadata = ?1, updated_at = ?2 WHERE user_id = ?3";
const DELETE: &str = "DELETE FROM users WHERE user_id = ?1";

enum Kind {
    Plain,
    Boolean,
    Json,
}

/// Each column's JSON name and how its SQLite value renders, worked out once.
static RENDERING: LazyLock<Vec<(&str, Kind)>> = LazyLock::new(|| {
    COLUMNS
        .split(',')
        .map(str::trim)
        .map(|name| match name {
            "email_verified" | "phone_verified" | "blocked" => (name, Kind::Boolean),
            "app_metadata" | "user_metadata" | "identities" | "multifactor" => (name, Kind::Json),
            _ => (name, Kind::Plain),
        })
        .collect()
});

/// A user row as a JSON object of its non-null columns, as roster renders it (booleans as
/// booleans, metadata and identities as JSON rather than text).
fn render(row: &Row) -> rusqlite::Result<Value> {
    let mut user = Map::new();
    for (i, (name, kind)) in RENDERING.iter().enumerate() {
        let value = match (row.get_ref(i)?, kind) {
            (ValueRef::Null | ValueRef::Blob(_), _) => continue,
            (ValueRef::Integer(n), Kind::Boolean) => Value::Bool(n != 0),
            (ValueRef::Integer(n), _) => n.into(),
            (ValueRef::Real(x), _) => x.into(),
            (ValueRef::Text(text), Kind::Json) => serde_json::from_slice(text)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))?,
            (ValueRef::Text(text), _) => Value::String(String::from_utf8_lossy(text).into_owned()),
        };
        user.insert((*name).to_owned(), value);
    }
    Ok(Value::Object(user))
}

struct Db {
    /// One per async worker: a worker holds at most one at a time, so a free one is found.
    readers: Vec<Mutex<Connection>>,
    /// SQLite has one writer at a time anyway; one connection makes writes queue here rather
    /// than spin on SQLITE_BUSY.
    writer: Mutex<Connection>,
}

impl Db {
    /// Runs a read on the calling async worker, without a hop to the blocking pool: an indexed
    /// lookup in cached pages takes microseconds, less than the hand-off and wake-up would.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        match self.readers.iter().find_map(|c| c.try_lock().ok()) {
            Some(conn) => f(&conn),
            // Only with more workers than connections (TOKIO_WORKER_THREADS): wait for one.
            None => f(&self.readers[0].lock().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// Runs a write on the blocking pool: its commit waits for an fsync (milliseconds), which
    /// must not stall an async worker and the requests queued on it.
    async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&db.writer.lock().unwrap_or_else(|e| e.into_inner())))
            .await
            .expect("write task panicked")
    }
}

fn open(path: &str, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    assert_eq!(mode, "wal", "{path} is not in WAL mode");
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn failed(error: rusqlite::Error) -> Response {
    let status = match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, error.to_string()).into_response()
}

type Shared = State<Arc<Db>>;

async fn get_user(State(db): Shared, Path(id): Path<String>) -> Response {
    match db.read(|c| c.prepare_cached(&BY_ID)?.query_row([&id], render).optional()) {
        Ok(Some(user)) => Json(user).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct ByEmail {
    email: String,
}

async fn users_by_email(State(db): Shared, Query(query): Query<ByEmail>) -> Response {
    let email = query.email.to_lowercase();
    match db.read(|c| c.prepare_cached(&BY_EMAIL)?.query_map([&email], render)?.collect::<Result<Vec<_>, _>>()) {
        Ok(users) => Json(users).into_response(),
        Err(e) => failed(e),
    }
}

/// What bench/wrk/create.lua sends (its `connection` is always `email`).
#[derive(Deserialize)]
struct NewUser {
    email: String,
    user_id: String,
    #[serde(default)]
    email_verified: bool,
    user_metadata: Option<Value>,
}

/// One autocommit INSERT: the users row with its NOT NULL and search columns. Roster also
/// writes a name, nickname and picture, an identities row and the metadata leaves.
async fn create_user(State(db): Shared, Json(new): Json<NewUser>) -> Response {
    let (stamp, user_id) = (now(), format!("email|{}", new.user_id));
    let identities = json!([{"connection": "email", "user_id": new.user_id, "provider": "email", "isSocial": false}]);
    let user = json!({"user_id": user_id, "email": new.email, "email_verified": new.email_verified,
        "user_metadata": new.user_metadata, "identities": identities, "created_at": stamp, "updated_at": stamp});
    let email_ci = new.email.to_lowercase();
    let domain_ci = email_ci.rsplit_once('@').map(|(_, domain)| domain.to_owned());
    let row =
        (user_id, new.email, new.email_verified, new.user_metadata.map(|m| m.to_string()), identities.to_string());
    let inserted = db
        .write(move |c| {
            let (user_id, email, verified, metadata, identities) = row;
            let values = params![user_id, email, verified, metadata, identities, stamp, stamp, email_ci, domain_ci];
            c.prepare_cached(INSERT)?.execute(values)
        })
        .await;
    match inserted {
        Ok(_) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct Edit {
    user_metadata: Value,
}

/// One autocommit UPDATE, then the row read back on the same connection (its pages are cached).
async fn update_user(State(db): Shared, Path(id): Path<String>, Json(edit): Json<Edit>) -> Response {
    let metadata = edit.user_metadata.to_string();
    let updated = db
        .write(move |c| {
            if c.prepare_cached(UPDATE)?.execute(params![metadata, now(), id])? == 0 {
                return Ok(None);
            }
            c.prepare_cached(&BY_ID)?.query_row([&id], render).optional()
        })
        .await;
    match updated {
        Ok(Some(user)) => Json(user).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed(e),
    }
}

/// One autocommit DELETE (the schema cascades to identities and metadata leaves).
async fn delete_user(State(db): Shared, Path(id): Path<String>) -> Response {
    match db.write(move |c| c.prepare_cached(DELETE)?.execute([id])).await {
        Ok(0) => StatusCode::NOT_FOUND.into_response(),
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, path] = args.as_slice() else {
        eprintln!("usage: ceiling ADDR DATABASE_FILE");
        std::process::exit(2);
    };
    let writer = open(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).expect("open");
    // One read connection per async worker; Tokio starts one worker per core.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let readers = (0..workers)
        .map(|_| open(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map(Mutex::new))
        .collect::<Result<_, _>>()
        .expect("open read connections");
    let db = Arc::new(Db { readers, writer: Mutex::new(writer) });
    let app = Router::new()
        .route("/api/v2/users", post(create_user))
        .route("/api/v2/users/{id}", get(get_user).patch(update_user).delete(delete_user))
        .route("/api/v2/users-by-email", get(users_by_email))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    println!("ceiling listening on http://{address}, serving {path}");
    axum::serve(listener, app).await.expect("serve");
}
