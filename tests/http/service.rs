//! The service around the API: health, unknown routes, pending operations, the start-up
//! banner, the request log and shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::server::Server;

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
    server.send_raw(Method::GET, "/api/v2/users/auth0%7Cx/roles", None, None).await.assert_error(
        401,
        None,
        "Missing authentication",
    );
    let reader = server.token_with_scope(Some("read:users")).await;
    server.send_raw(Method::GET, "/api/v2/users/auth0%7Cx/sessions", Some(&reader), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:sessions",
    );
    server.get("/api/v2/users/auth0%7Cx/roles").await.assert_error(
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

#[tokio::test]
async fn first_start_generates_and_prints_the_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roster.db").display());
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database])
            .env_remove("ROSTER_CLIENT_ID")
            .env_remove("ROSTER_CLIENT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let banner = |child: &mut std::process::Child| -> Vec<String> {
        let lines: Vec<String> =
            BufReader::new(child.stdout.take().unwrap()).lines().take(5).map(Result::unwrap).collect();
        child.kill().unwrap();
        child.wait().unwrap();
        lines
    };
    let first = banner(&mut start());
    let client_id = first[1].rsplit(' ').next().unwrap().to_owned();
    let secret_line = first.iter().find(|l| l.contains("client secret")).unwrap();
    let secret = secret_line.split_whitespace().nth(3).unwrap().to_owned();
    assert_eq!(client_id.len(), 32);
    assert_eq!(secret.len(), 64);
    let curl = first.iter().find(|l| l.contains("TOKEN=$(curl")).expect("a curl line");
    assert!(curl.contains(&client_id) && curl.contains(&secret), "the printed curl line carries the credentials");

    let second = banner(&mut start());
    assert!(second[1].ends_with(&client_id), "same client after restart");
    assert!(!second.join("\n").contains(&secret), "the secret is printed only once");
}

#[tokio::test]
async fn the_printed_curl_line_works() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roster.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database])
        .env_remove("ROSTER_CLIENT_ID")
        .env_remove("ROSTER_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let curl = lines.by_ref().map(Result::unwrap).find(|l| l.contains("TOKEN=$(curl")).unwrap();
    let output = tokio::task::spawn_blocking(move || Command::new("bash").args(["-c", curl.trim()]).output().unwrap())
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "[]", "an empty user list");
}
