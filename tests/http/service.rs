//! The service around the API: health, unknown routes, pending operations, the start-up
//! banner, the request log and shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::server::{Server, TestDatabase};

#[tokio::test]
async fn health_and_unknown_routes() {
    let mut server = Server::start().await;
    let health = server.send_raw(Method::GET, "/health", None, None).await;
    assert_eq!((health.status.as_u16(), health.body.clone()), (200, json!({"status": "ok"})));
    server.get("/api/v2/nope").await.assert_error(404, None, "Not Found");
    server.send_raw(Method::GET, "/nope", None, None).await.assert_error(404, None, "Not Found");
    // hapi has no 405: a known path with another method is a 404 too.
    server.call(Method::PUT, "/api/v2/users", None).await.assert_error(404, None, "Not Found");
}

#[tokio::test]
async fn pending_operations_are_authenticated_then_501() {
    let mut server = Server::start().await;
    let path = "/api/v2/users/auth0%7Cx/revoke-access";
    server.send_raw(Method::POST, path, None, None).await.assert_error(401, None, "Missing authentication");
    let reader = server.token_with_scope(Some("read:users")).await;
    server.send_raw(Method::POST, path, Some(&reader), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: delete:sessions,delete:refresh_tokens",
    );
    server.post(path, json!({})).await.assert_error(
        501,
        Some("not_implemented"),
        "Roster does not implement this endpoint yet; see docs/COMPATIBILITY.md.",
    );
}

#[tokio::test]
async fn request_log_has_one_line_per_request_and_no_secrets() {
    let mut server = Server::start().await;
    let token = server.token().await;
    let reply = server
        .http
        .post(format!("{}/api/v2/users", server.base))
        .bearer_auth(&token)
        .header("x-correlation-id", "trace-me-42")
        .json(&json!({"connection": "Username-Password-Authentication", "email": "log@example.com", "password": "Log-secret-99!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    assert_eq!(reply.headers()["x-correlation-id"], "trace-me-42");
    // Give the log line a moment to reach the file.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let log = server.log();
    let line = log.lines().find(|l| l.contains("trace-me-42")).expect("a log line with the correlation id");
    for part in ["POST", "/api/v2/users", "201", "latency_ms"] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(!log.contains("Log-secret-99!"), "password in the log");
    assert!(!log.contains(&token), "token in the log");
    assert!(!log.contains(crate::server::CLIENT_SECRET), "client secret in the log");
}

#[tokio::test]
async fn sigterm_finishes_cleanly_and_keeps_data() {
    let mut server = Server::start().await;
    let user = server.create_user("durable@example.com").await;
    assert!(server.stop(), "exit status 0 after SIGTERM");
    let mut server = server.restart(&[]).await;
    let listed = server.get("/api/v2/users").await;
    assert_eq!(listed.body, json!([user]));
}

/// A server started as a user would, with only the given environment for credentials; its
/// start-up banner is read and the process is killed on drop.
struct Started {
    child: std::process::Child,
    banner: Vec<String>,
}

impl Started {
    fn new(database: &TestDatabase, credentials: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database.url])
            .env_remove("ROSTER_CLIENT_ID")
            .env_remove("ROSTER_CLIENT_SECRET")
            .envs(credentials.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let banner = BufReader::new(child.stdout.take().unwrap()).lines().take(5).map(Result::unwrap).collect();
        Self { child, banner }
    }

    fn line(&self, containing: &str) -> &str {
        self.banner
            .iter()
            .find(|l| l.contains(containing))
            .unwrap_or_else(|| panic!("no {containing:?} in {:?}", self.banner))
    }

    /// Runs the printed curl line in bash with `env`; returns what it printed.
    async fn run_curl(&self, env: &[(&'static str, &'static str)]) -> String {
        let curl = self.line("TOKEN=$(curl").trim().to_owned();
        let env = env.to_vec();
        let output =
            tokio::task::spawn_blocking(move || Command::new("bash").args(["-c", &curl]).envs(env).output().unwrap())
                .await
                .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn first_start_generates_and_prints_the_secret_once() {
    let database = TestDatabase::new().await;
    let first = Started::new(&database, &[]);
    let client_id = first.line("client id").rsplit(' ').next().unwrap().to_owned();
    let secret = first.line("client secret").split_whitespace().nth(3).unwrap().to_owned();
    assert_eq!((client_id.len(), secret.len()), (32, 64));
    let curl = first.line("TOKEN=$(curl");
    assert!(curl.contains(&client_id) && curl.contains(&secret), "the printed curl line carries the credentials");
    assert_eq!(first.run_curl(&[]).await, "[]", "the printed line works as printed: an empty user list");
    drop(first);

    let second = Started::new(&database, &[]);
    assert!(second.line("client id").ends_with(&client_id), "same client after restart");
    assert!(!second.banner.join("\n").contains(&secret), "the secret is printed only once");
}

#[tokio::test]
async fn a_configured_secret_is_not_echoed_and_the_curl_line_reads_the_environment() {
    let database = TestDatabase::new().await;
    let started =
        Started::new(&database, &[("ROSTER_CLIENT_ID", "env-client"), ("ROSTER_CLIENT_SECRET", "env-secret-value")]);
    assert!(!started.banner.join("\n").contains("env-secret-value"), "{:?}", started.banner);
    assert_eq!(started.run_curl(&[("ROSTER_CLIENT_SECRET", "env-secret-value")]).await, "[]");
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let mut server = Server::start().await;
    let token = server.token().await;
    // A create hashes a password on the blocking pool: slow enough to still be running when
    // the signal arrives.
    let request = server
        .http
        .post(format!("{}/api/v2/users", server.base))
        .bearer_auth(&token)
        .json(&json!({"connection": "Username-Password-Authentication", "email": "inflight@example.com", "password": "Passw0rd!"}))
        .send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    assert!(!pending.is_finished(), "the request must still be in flight when the signal arrives");
    assert!(server.stop(), "clean exit");
    let response = pending.await.unwrap().expect("the in-flight request was answered");
    assert_eq!(response.status(), 201);
    let mut server = server.restart(&[]).await;
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 1);
}

#[tokio::test]
async fn acknowledged_writes_survive_a_kill() {
    let mut server = Server::start().await;
    let user = server.create_user("crash@example.com").await;
    let path = format!("/api/v2/users/{}", crate::server::encode(user["user_id"].as_str().unwrap()));
    let updated = server.patch(&path, json!({"user_metadata": {"k": "v"}})).await.body;
    server.kill();
    let mut server = server.restart(&[]).await;
    assert_eq!(server.get(&path).await.body, updated);
}
