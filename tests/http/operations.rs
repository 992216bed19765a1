//! What operators see: `/metrics`, `/ready` (also while start-up work runs), and the OpenAPI
//! document with its page.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::server::{CLIENT_ID, CLIENT_SECRET, Server, TestDatabase, encode};

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The samples of a scrape: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse().unwrap()))
        .collect()
}

async fn scrape(http: &reqwest::Client, base: &str) -> (String, HashMap<String, f64>) {
    let response = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let text = response.text().await.unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

const USER_404: &str = r#"roster_http_requests_total{method="GET",route="/api/v2/users/{id}",status="404"}"#;

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let mut server = Server::start().await;
    let (_, before) = scrape(&server.http, &server.base).await;
    for id in ["auth0|metrics-one", "auth0|metrics-two"] {
        server.get(&format!("/api/v2/users/{}", encode(id))).await.assert_error(
            404,
            Some("inexistent_user"),
            "The user does not exist.",
        );
    }
    server.create_user("metrics@example.com").await;
    server.send_raw(Method::GET, "/no/such/path/auth0%7Csecret-id", None, None).await;
    let (text, after) = scrape(&server.http, &server.base).await;

    assert_eq!(after[USER_404] - before.get(USER_404).unwrap_or(&0.0), 2.0, "{text}");
    let created = r#"roster_http_requests_total{method="POST",route="/api/v2/users",status="201"}"#;
    assert_eq!(after[created], 1.0, "{text}");
    let latency = r#"roster_http_request_duration_seconds_count{method="GET",route="/api/v2/users/{id}",status="404"}"#;
    assert_eq!(after[latency], 2.0, "{text}");
    let bucket = r#"roster_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/v2/users/{id}",status="404"}"#;
    assert_eq!(after[bucket], 2.0, "{text}");
    assert_eq!(after[r#"roster_http_requests_total{method="GET",route="unmatched",status="404"}"#], 1.0, "{text}");
    // Routes are templates: no id, no raw path.
    assert!(!text.contains("metrics-one") && !text.contains("secret-id") && !text.contains("/no/such"), "{text}");

    assert_eq!(after["roster_tenants"], 1.0);
    assert!(after[r#"roster_db_connections_max"#] >= 1.0, "{text}");
    assert!(after.contains_key(r#"roster_db_connections{state="in_use"}"#), "{text}");
    assert_eq!(after[r#"roster_jobs{kind="users_import",status="pending"}"#], 0.0, "{text}");
    if !server.database.is_postgres() {
        // The create (and the tenant's set-up) went through the group-commit writer.
        assert!(after["roster_sqlite_commit_batch_size_count"] > before["roster_sqlite_commit_batch_size_count"]);
    }
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn metrics_count_jobs_by_kind_and_status() {
    let mut server = Server::start().await;
    let reply = server.post("/api/v2/jobs/users-exports", json!({"format": "json"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (text, after) = scrape(&server.http, &server.base).await;
    let exports: f64 = ["pending", "processing", "completed"]
        .iter()
        .map(|status| after[&format!(r#"roster_jobs{{kind="users_export",status="{status}"}}"#)])
        .sum();
    assert_eq!(exports, 1.0, "{text}");
}

#[tokio::test]
async fn a_metrics_address_of_its_own_is_the_only_one_serving_metrics() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Server::start_with(&["--metrics-listen", &address]).await;
    server.send_raw(Method::GET, "/metrics", None, None).await.assert_error(404, None, "Not Found");
    server.get("/api/v2/users").await;
    let (text, after) = scrape(&server.http, &format!("http://{address}")).await;
    assert_eq!(after[r#"roster_http_requests_total{method="GET",route="/api/v2/users",status="200"}"#], 1.0, "{text}");
    // Scrapes of the metrics address are not API traffic.
    assert!(!text.contains(r#"route="/metrics""#), "{text}");
    let ready = server.http.get(format!("http://{address}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn ready_once_started() {
    let server = Server::start().await;
    let ready = server.send_raw(Method::GET, "/ready", None, None).await;
    assert_eq!((ready.status.as_u16(), ready.body), (200, json!({"status": "ready"})));
}

/// Starts `roster serve` on `port` without waiting for it.
fn spawn_on(port: u16, database: &TestDatabase, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &database.url])
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--log-retention-days", "0"])
        .env_remove("ROSTER_METRICS_LISTEN")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("roster starts")
}

/// `GET base/path` once the server listens: status and body.
async fn probe(http: &reqwest::Client, base: &str, path: &str) -> (StatusCode, Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http.get(format!("{base}{path}")).send().await {
            Ok(response) => {
                let status = response.status();
                return (status, response.json().await.unwrap_or(Value::Null));
            }
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the server does not answer: {error}"),
        }
    }
}

/// Holds the database's start-up up: PostgreSQL's start-up lock, or SQLite's file locked.
enum Hold {
    Postgres(sqlx::PgConnection),
    Sqlite(rusqlite::Connection),
}

impl Hold {
    async fn take(database: &TestDatabase) -> Self {
        use sqlx::Connection;
        if database.is_postgres() {
            let mut conn = sqlx::PgConnection::connect(&database.url).await.unwrap();
            sqlx::query("SELECT pg_advisory_lock(hashtext('roster.start-up'))").execute(&mut conn).await.unwrap();
            Hold::Postgres(conn)
        } else {
            let conn = rusqlite::Connection::open(database.url.trim_start_matches("sqlite://")).unwrap();
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            Hold::Sqlite(conn)
        }
    }

    async fn release(self) {
        use sqlx::Connection;
        match self {
            Hold::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock(hashtext('roster.start-up'))").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Hold::Sqlite(conn) => conn.execute_batch("ROLLBACK").unwrap(),
        }
    }
}

#[tokio::test]
async fn not_ready_while_start_up_work_runs() {
    let database = TestDatabase::new().await;
    let hold = Hold::take(&database).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_on(port, &database, &dir.path().join("server.log"));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    let (status, body) = probe(&http, &base, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, json!({"status": "unavailable", "reason": "starting: opening the database"}));
    // Alive meanwhile; the API is not served yet.
    let (status, body) = probe(&http, &base, "/health").await;
    assert_eq!((status.as_u16(), body), (200, json!({"status": "starting"})));
    let (status, body) = probe(&http, &base, "/api/v2/users").await;
    assert_eq!((status.as_u16(), body["errorCode"].clone()), (503, json!("starting")));
    let (text, _) = scrape(&http, &base).await;
    assert!(text.contains("# EOF"));

    hold.release().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = probe(&http, &base, "/ready").await;
        if status == 200 {
            assert_eq!(body, json!({"status": "ready"}));
            break;
        }
        assert!(body["reason"].as_str().unwrap().starts_with("starting"), "{body}");
        assert!(Instant::now() < deadline, "not ready in time: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = probe(&http, &base, "/health").await;
    assert_eq!(status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_openapi_document_names_this_server_and_what_it_implements() {
    let mut server = Server::start().await;
    let reply = server.send_raw(Method::GET, "/api/v2/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let doc = reply.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"],
        json!([{"url": format!("{}/api/v2", server.base), "description": "This Roster server"}])
    );
    let flow = &doc["components"]["securitySchemes"]["oAuth2ClientCredentials"]["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], json!(format!("{}/oauth/token", server.base)));
    assert_eq!(flow["x-form-parameters"]["audience"], json!(server.audience()));

    // Every GET the document lists is served (a bad id is a 404 or 400 of its own, never a
    // 501); one Roster does not implement is not listed.
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/users/{id}") && !paths.contains_key("/users/{id}/revoke-access"));
    let mut gets = 0;
    for (path, item) in paths {
        if item.get("get").is_none() {
            continue;
        }
        let concrete: String = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "x" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        let reply = server.get(&format!("/api/v2{concrete}")).await;
        let unrouted = reply.status == 404 && reply.body["message"] == "Not Found";
        assert!(!unrouted && reply.status != 501, "{path}: {}", reply.text);
        gets += 1;
    }
    assert!(gets > 30);
}

#[tokio::test]
async fn the_api_page_lists_the_operations_without_scripts() {
    let server = Server::start().await;
    let response = server.http.get(format!("{}/api/v2/docs", server.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<a href="openapi.json">openapi.json</a>"#));
    assert!(html.contains("<code>/api/v2/users/{id}</code> Get a User"), "the page lists GET /users/{{id}}");
    assert!(html.contains("<code>/api/v2/roles/{id}/permissions</code>"));
    assert!(html.contains(&format!("<code>{}/api/v2</code>", server.base)));
    assert!(!html.contains("<script") && !html.contains("https://cdn"));
}
