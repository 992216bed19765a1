//! Starts the real `roster` binary on a free port with a temporary database, and talks to it
//! over HTTP as any client would.
//!
//! The database is a temporary SQLite file, or, when `ROSTER_TEST_POSTGRES_URL` names a
//! PostgreSQL server (`postgres://postgres@127.0.0.1:PORT/postgres`), a fresh database created
//! on it for the test and dropped afterwards. If that server cannot be reached the test fails:
//! it never falls back to SQLite.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "test-management-client";
pub const CLIENT_SECRET: &str = "test-management-secret-0123456789abcdef";

/// Names the PostgreSQL server to run against instead of SQLite.
pub const POSTGRES_ENV: &str = "ROSTER_TEST_POSTGRES_URL";

/// One test's database, shared by the server processes started on it.
pub struct TestDatabase {
    pub url: String,
    /// The SQLite file's folder.
    _dir: Option<tempfile::TempDir>,
    /// The server's URL and this database's name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn new() -> Arc<Self> {
        match std::env::var(POSTGRES_ENV).ok().filter(|url| !url.is_empty()) {
            Some(server) => Arc::new(Self::postgres(server).await),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("roster.db").display());
                Arc::new(Self { url, _dir: Some(dir), postgres: None })
            }
        }
    }

    async fn postgres(server: String) -> Self {
        use sqlx::Connection;
        let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={server} cannot be reached: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        Self { url: with_database(&server, &name), _dir: None, postgres: Some((server, name)) }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Runs one statement on the database directly, behind the server's back.
    pub async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        } else {
            self.sqlite().execute_batch(&sql.0).unwrap();
        }
    }

    /// The number one `SELECT COUNT(*) …` statement answers.
    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            self.sqlite().query_row(&sql.0, [], |row| row.get(0)).unwrap()
        }
    }

    fn sqlite(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.url.trim_start_matches("sqlite://")).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        conn
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {:?}", self.url);
        }
    }
}

/// `postgres://u@host:port/other?x` with its database replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (scheme, rest) = server.split_once("://").expect("a URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{name}{query}")
}

pub struct Server {
    child: Child,
    pub base: String,
    pub domain: String,
    pub database: Arc<TestDatabase>,
    dir: tempfile::TempDir,
    pub http: reqwest::Client,
    token: Option<String>,
    /// The lines the server printed on stdout after the first.
    pub printed: Arc<std::sync::Mutex<Vec<String>>>,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server with extra `serve` arguments.
    pub async fn start_with(extra: &[&str]) -> Self {
        Self::start_on(TestDatabase::new().await, extra).await
    }

    /// Starts a server on `database`, which other servers may be using too.
    pub async fn start_on(database: Arc<TestDatabase>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = spawn(dir.path(), &database.url, extra);
        Self::attach(child, dir, database, extra).await
    }

    async fn attach(mut child: Child, dir: tempfile::TempDir, database: Arc<TestDatabase>, extra: &[&str]) -> Self {
        let stdout = child.stdout.take().expect("stdout piped");
        let log = dir.path().join("server.log");
        let printed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines_printed = printed.clone();
        let base = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let Some(first) = lines.next() else {
                panic!("the server printed nothing; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            };
            let first = first.expect("stdout readable");
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    lines_printed.lock().unwrap().push(line);
                }
            });
            first
                .strip_prefix("roster listening on ")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("unexpected banner: {first}"))
                .to_owned()
        })
        .await
        .expect("banner reader");
        let configured = extra.iter().position(|a| *a == "--domain").and_then(|i| extra.get(i + 1));
        let domain = configured.map_or_else(
            || base.trim_start_matches("http://").trim_start_matches("https://").to_owned(),
            |d| (*d).to_owned(),
        );
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        Self { child, base, domain, database, dir, http, token: None, printed }
    }

    /// The store the server uses, opened in the test process as a second client would.
    pub async fn store(&self) -> Arc<roster::store::Store> {
        roster::store::open(&self.database.url).await.expect("open the test database")
    }

    pub fn audience(&self) -> String {
        format!("https://{}/api/v2/", self.domain)
    }

    /// Stops the server (SIGTERM) and waits for it to exit; returns whether it exited cleanly.
    pub fn stop(&mut self) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.success();
        }
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        self.child.wait().expect("wait").success()
    }

    /// Kills the server without warning (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Starts a new server process on the same database.
    pub async fn restart(mut self, extra: &[&str]) -> Self {
        self.stop();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let child = spawn(dir.path(), &self.database.url, extra);
        Self::attach(child, dir, self.database.clone(), extra).await
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A token with every scope the management client has.
    pub async fn token(&mut self) -> String {
        if self.token.is_none() {
            self.token = Some(self.token_with_scope(None).await);
        }
        self.token.clone().unwrap()
    }

    /// A token narrowed to `scope` (space-separated), or with every granted scope.
    pub async fn token_with_scope(&self, scope: Option<&str>) -> String {
        let mut body = json!({
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": self.audience(),
        });
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        let reply = self.send_raw(Method::POST, "/oauth/token", None, Some(&body)).await;
        assert_eq!(reply.status, 200, "token request failed: {}", reply.text);
        reply.body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn send_raw(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// Sends with the full-scope token.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let token = self.token().await;
        self.send_raw(method, path, Some(&token), body.as_ref()).await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&mut self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&mut self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a database user and returns it.
    pub async fn create_user(&mut self, email: &str) -> Value {
        let reply = self
            .post(
                "/api/v2/users",
                json!({"connection": "Username-Password-Authentication", "email": email, "password": "Passw0rd!"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body
    }
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.expect("body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        Self { status, content_type, body, text }
    }

    /// Asserts an Auth0 error body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error_code: Option<&str>, message: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.body["statusCode"], json!(status), "{}", self.text);
        assert_eq!(self.body["error"], json!(StatusCode::from_u16(status).unwrap().canonical_reason().unwrap()));
        assert_eq!(self.body["message"], json!(message), "{}", self.text);
        match error_code {
            Some(code) => assert_eq!(self.body["errorCode"], json!(code), "{}", self.text),
            None => assert!(self.body.get("errorCode").is_none(), "unexpected errorCode: {}", self.text),
        }
        assert_eq!(self.content_type.as_deref(), Some("application/json; charset=utf-8"));
    }
}

/// Calls `probe` every 100 ms until `done` holds for what it gives, or `within` has passed;
/// gives its last answer, for the caller to assert on.
pub async fn settled<T, F: std::future::Future<Output = T>>(
    within: Duration,
    mut probe: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        let answer = probe().await;
        if done(&answer) || std::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `auth0|abc` as a path segment.
pub fn encode(id: &str) -> String {
    id.replace('|', "%7C")
}

fn spawn(dir: &Path, database_url: &str, extra: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join("server.log")).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", database_url])
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
        // Tests record events on fixed past dates; the retention pass at start would race them.
        // The retention test passes its own period.
        .args(if extra.contains(&"--log-retention-days") { &[][..] } else { &["--log-retention-days", "0"][..] })
        .args(extra)
        .env_remove("ROSTER_LISTEN")
        .env_remove("ROSTER_DATABASE_URL")
        .env_remove("ROSTER_DOMAIN")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("roster starts")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
