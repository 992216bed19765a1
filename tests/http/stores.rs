//! What the store guarantees, on whichever store the run uses (SQLite, or PostgreSQL when
//! `ROSTER_TEST_POSTGRES_URL` is set): uniqueness under concurrency, several nodes on one
//! database, and start-ups that never lose data nor run against a schema they do not know.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, TestDatabase, encode};

const DB: &str = "Username-Password-Authentication";
const RACERS: usize = 200;

/// Sends every body at once, each on its own request; returns the statuses.
async fn create_all_at_once(server: &mut Server, bodies: Vec<Value>) -> Vec<u16> {
    let token = server.token().await;
    let requests: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            // 200 bcrypt hashes on two cores take a while, longer still on a loaded machine;
            // the point is who wins, not how fast.
            let request = server
                .http
                .post(format!("{}/api/v2/users", server.base))
                .bearer_auth(&token)
                .json(&body)
                .timeout(std::time::Duration::from_secs(300));
            tokio::spawn(async move { request.send().await.expect("request sent").status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    statuses
}

fn assert_one_winner(statuses: &[u16]) {
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, statuses.len() - 1), "{statuses:?}");
}

#[tokio::test]
async fn concurrent_creates_of_one_email_store_exactly_one_user() {
    let mut server = Server::start().await;
    let bodies = (0..RACERS).map(|_| json!({"connection": DB, "email": "race@example.com", "password": "Passw0rd!"}));
    assert_one_winner(&create_all_at_once(&mut server, bodies.collect()).await);
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 1);
}

#[tokio::test]
async fn concurrent_creates_of_one_username_store_exactly_one_user() {
    let mut server = Server::start_with(&["--requires-username", "true"]).await;
    let bodies = (0..RACERS).map(|i| {
        json!({"connection": DB, "email": format!("racer{i}@example.com"), "username": "racer", "password": "Passw0rd!"})
    });
    assert_one_winner(&create_all_at_once(&mut server, bodies.collect()).await);
    let listed = server.get("/api/v2/users?include_totals=true").await.body;
    assert_eq!((listed["total"].clone(), listed["users"][0]["username"].clone()), (json!(1), json!("racer")));
}

#[tokio::test]
async fn two_nodes_on_one_database_share_tokens_and_users() {
    // Behind a load balancer every node names the same domain, so tokens carry the same issuer
    // and audience whichever node issued them.
    let database = TestDatabase::new().await;
    let args = ["--domain", "roster.test"];
    let mut first = Server::start_on(database.clone(), &args).await;
    let mut second = Server::start_on(database, &args).await;

    let token = first.token().await;
    let listed = second.send_raw(Method::GET, "/api/v2/users", Some(&token), None).await;
    assert_eq!(listed.status, 200, "a token issued by one node is accepted by the other: {}", listed.text);

    let created = first.create_user("shared@example.com").await;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    assert_eq!(second.get(&path).await.body, created, "written through one node, read through the other at once");

    let updated = second.patch(&path, json!({"user_metadata": {"node": "second"}})).await.body;
    assert_eq!(first.get(&path).await.body, updated);
    first
        .post("/api/v2/users", json!({"connection": DB, "email": "shared@example.com", "password": "Passw0rd!"}))
        .await
        .assert_error(409, Some("auth0_idp_error"), "The user already exists.");

    assert_eq!(second.delete(&path).await.status, 204);
    assert_eq!(first.get(&path).await.status, 404);
}

/// A node started as an operator would, without configured credentials: what its banner said.
struct Node {
    child: std::process::Child,
    base: String,
    client_id: String,
    generated_secret: Option<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_unconfigured(database_url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--domain", "roster.test", "--database-url", database_url])
        .env_remove("ROSTER_CLIENT_ID")
        .env_remove("ROSTER_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("roster starts")
}

async fn read_banner(mut child: std::process::Child) -> Node {
    let stdout = child.stdout.take().unwrap();
    let banner: Vec<String> = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let banner = lines.by_ref().take(3).map(|l| l.expect("banner line")).collect();
        // Keep reading: a closed pipe would make the node's next print fail.
        std::thread::spawn(move || for _ in lines {});
        banner
    })
    .await
    .unwrap();
    assert_eq!(banner.len(), 3, "the node did not start: {banner:?}");
    let base = banner[0].strip_prefix("roster listening on ").unwrap().split_whitespace().next().unwrap().to_owned();
    let client_id = banner[1].rsplit(' ').next().unwrap().to_owned();
    let generated_secret =
        banner[2].contains("generated now").then(|| banner[2].split_whitespace().nth(3).unwrap().to_owned());
    Node { child, base, client_id, generated_secret }
}

#[tokio::test]
async fn nodes_starting_together_on_an_empty_database_agree_on_one_tenant() {
    let database = TestDatabase::new().await;
    if !database.is_postgres() {
        // SQLite is one node: its migrations take no lock across processes.
        eprintln!("nodes_starting_together_on_an_empty_database_agree_on_one_tenant: PostgreSQL only; SQLite run");
        return;
    }
    // Spawn them all before reading any banner, so that their start-ups overlap.
    let children: Vec<_> = (0..3).map(|_| start_unconfigured(&database.url)).collect();
    let mut nodes = Vec::new();
    for child in children {
        nodes.push(read_banner(child).await);
    }
    let secrets: Vec<&String> = nodes.iter().filter_map(|n| n.generated_secret.as_ref()).collect();
    assert_eq!(secrets.len(), 1, "exactly one node generated the management client's secret");
    let client_id = &nodes[0].client_id;
    assert!(nodes.iter().all(|n| &n.client_id == client_id), "one management client for all");

    let http = reqwest::Client::new();
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secrets[0],
                      "audience": "https://roster.test/api/v2/"});
    for issuer in &nodes {
        let token = http.post(format!("{}/oauth/token", issuer.base)).json(&body).send().await.unwrap();
        assert_eq!(token.status(), 200);
        let token: Value = token.json().await.unwrap();
        let token = token["access_token"].as_str().unwrap();
        for node in &nodes {
            let listed = http.get(format!("{}/api/v2/users", node.base)).bearer_auth(token).send().await.unwrap();
            assert_eq!(listed.status(), 200, "a token from {} is accepted by {}", issuer.base, node.base);
        }
    }

    let store = roster::store::open(&database.url).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    assert_eq!(store.list_clients().await.unwrap().len(), 1);
    let connections: Vec<_> =
        store.list_connections(&Default::default()).await.unwrap().into_iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 3, "{connections:?}");
    assert!(connections.iter().all(|c| c.enabled_clients == [client_id.clone()]), "{connections:?}");
    store.close().await;
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema_and_leaves_the_data() {
    let mut server = Server::start().await;
    let user = server.create_user("kept@example.com").await;
    assert!(server.stop());
    let database = server.database.clone();
    // What a newer roster would leave behind: a migration this binary does not have.
    database
        .execute(if database.is_postgres() {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from a newer roster', TRUE, decode('00', 'hex'), 0)"
        } else {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from a newer roster', TRUE, X'00', 0)"
        })
        .await;

    let url = database.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it must not start");
    assert!(
        stderr.contains(
            "the database schema is newer than this roster binary (it has migration 99990101000000, which this binary does not know); run a newer roster"
        ),
        "{stderr}"
    );

    database.execute("DELETE FROM _sqlx_migrations WHERE version = 99990101000000").await;
    let mut server = Server::start_on(database, &[]).await;
    assert_eq!(server.get("/api/v2/users").await.body, json!([user]));
}

#[tokio::test]
async fn restarts_keep_users_keys_clients_and_connections() {
    // A fixed domain: the restarted server listens on another port, and tokens name the domain.
    let mut server = Server::start_with(&["--domain", "roster.test"]).await;
    let token = server.token().await;
    let created = server
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "stays@example.com", "password": "Passw0rd!",
                                       "user_metadata": {"plan": "gold", "tags": ["a", "b"]}}),
        )
        .await
        .body;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    let (leaves, keys) = (
        server.database.count("SELECT COUNT(*) FROM user_metadata_values").await,
        server.database.count("SELECT COUNT(*) FROM signing_keys").await,
    );
    assert_eq!((leaves, keys), (3, 1));
    assert!(server.stop());
    // Make the next start re-derive the search data, as after an upgrade that changes it.
    server.database.execute("DELETE FROM settings WHERE key = 'search_index_version'").await;

    let server = server.restart(&["--domain", "roster.test", "--requires-username", "true"]).await;
    let read = server.send_raw(Method::GET, &path, Some(&token), None).await;
    assert_eq!(read.status, 200, "a token issued before the restart is still accepted: {}", read.text);
    assert_eq!(read.body, created);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM user_metadata_values").await, leaves);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM signing_keys").await, 1);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM clients").await, 1);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM connections").await, 3);
    let store = server.store().await;
    let connection = store.connection_by_name(DB).await.unwrap().unwrap();
    assert_eq!(connection.options["requires_username"], json!(true), "the configured setting is applied");
    store.close().await;
}

/// The same race as above without process start-up noise: many stores (as many nodes) on one
/// fresh database each store a signing key at the same instant, then run the tenant bootstrap
/// at the same instant; on either store.
#[tokio::test]
async fn concurrent_bootstraps_agree_on_one_key_one_client_and_three_connections() {
    const NODES: usize = 8;
    let database = TestDatabase::new().await;
    roster::store::open(&database.url).await.unwrap().close().await; // migrate once, up front
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(NODES));
    let nodes: Vec<_> = (0..NODES)
        .map(|_| {
            let candidate = roster::auth::keys::generate().unwrap();
            tokio::spawn(bootstrap_node(database.url.clone(), barrier.clone(), candidate))
        })
        .collect();
    let mut tenants = Vec::new();
    for node in nodes {
        tenants.push(node.await.unwrap());
    }
    let kids: Vec<&String> = tenants.iter().map(|(kid, _)| kid).collect();
    assert!(kids.iter().all(|kid| *kid == kids[0]), "one signing key for all: {kids:?}");
    let client_id = &tenants[0].1.client_id;
    assert!(tenants.iter().all(|(_, t)| &t.client_id == client_id), "one management client for all");
    assert_eq!(tenants.iter().filter(|(_, t)| t.generated_secret.is_some()).count(), 1, "one node shows the secret");
    for table in ["signing_keys", "clients", "client_grants"] {
        assert_eq!(database.count(&format!("SELECT COUNT(*) FROM {table}")).await, 1, "{table}");
    }
    let store = roster::store::open(&database.url).await.unwrap();
    let connections: Vec<_> =
        store.list_connections(&Default::default()).await.unwrap().into_iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 3, "{connections:?}");
    assert!(connections.iter().all(|c| c.enabled_clients == [client_id.clone()]), "{connections:?}");
    store.close().await;
}

/// One node on a store of its own: once every node is ready, stores its signing key unless one
/// exists, then (all ready again) bootstraps the tenant. Returns the key id it ended up with.
async fn bootstrap_node(
    url: String,
    ready: std::sync::Arc<tokio::sync::Barrier>,
    candidate: roster::store::SigningKey,
) -> (String, roster::tenant::Tenant) {
    let store = roster::store::open(&url).await.unwrap();
    let issuer = roster::auth::token::Issuer::new("roster.test");
    let settings = roster::tenant::TenantSettings::default();
    ready.wait().await;
    let keys = store.ensure_signing_key(&candidate).await.unwrap();
    assert_eq!(keys.len(), 1, "{:?}", keys.iter().map(|k| &k.kid).collect::<Vec<_>>());
    ready.wait().await;
    let tenant = roster::tenant::bootstrap(store.as_ref(), &settings, &issuer).await;
    store.close().await;
    (keys[0].kid.clone(), tenant.expect("bootstrap"))
}

/// Clients that hang up mid-request must not leave a transaction open on a pooled connection
/// (later writes on it would never commit). Many writes are abandoned at random instants; then
/// no roster connection may sit idle in a transaction (PostgreSQL's `pg_stat_activity`), and a
/// write through the server must be visible to another connection at once.
#[tokio::test]
async fn abandoned_requests_leave_no_transaction_open() {
    let mut server = Server::start().await;
    let token = server.token().await;
    let user = server.create_user("target@example.com").await;
    let path = format!("{}/api/v2/users/{}", server.base, encode(user["user_id"].as_str().unwrap()));
    // Batches of concurrent writes, all abandoned at once after 0 to 9 ms, as a load generator
    // stopping mid-run does.
    for round in 0..40u64 {
        let pending: Vec<_> = (0..32u64)
            .map(|i| {
                let request = if i % 2 == 0 {
                    let body = json!({"connection": "email", "email": format!("gone{round}x{i}@example.com")});
                    server.http.post(format!("{}/api/v2/users", server.base)).bearer_auth(&token).json(&body)
                } else {
                    server.http.patch(&path).bearer_auth(&token).json(&json!({"user_metadata": {"i": i}}))
                };
                tokio::spawn(request.send())
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(round % 10)).await;
        pending.iter().for_each(tokio::task::JoinHandle::abort);
    }
    // The server finishes abandoned requests (they run to completion): wait until the user
    // stops changing, or a late one would overwrite the write checked below.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = server.get(&path[server.base.len()..]).await.text;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = server.get(&path[server.base.len()..]).await.text;
        if now == seen || std::time::Instant::now() > deadline {
            break;
        }
        seen = now;
    }
    if server.database.is_postgres() {
        // The server finishes abandoned requests (they run to completion), and each is `idle in
        // transaction` for an instant between its statements: wait for them to end. A leaked
        // transaction stays open until the 60 s idle timeout, far beyond this wait.
        let open = crate::server::settled(
            std::time::Duration::from_secs(20),
            // Only this test's database: other tests' servers are mid-transaction too.
            || server.database.count("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'roster' AND datname = current_database() AND state LIKE 'idle in transaction%'"),
            |open| *open == 0,
        )
        .await;
        assert_eq!(open, 0, "pooled connections left inside a transaction");
    }
    // And writes through the server are visible to everyone else.
    let patched = server.patch(&path[server.base.len()..], json!({"user_metadata": {"i": "last"}})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let store = server.store().await;
    let stored = store.user(user["user_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.user_metadata.unwrap()["i"], json!("last"));
    store.close().await;
}

/// Writes that arrive together commit together (SQLite's group commit): one that breaks a rule
/// among them is refused alone, and every other one is committed and answered.
#[tokio::test]
async fn a_refused_write_among_many_leaves_the_others_committed() {
    let mut server = Server::start().await;
    let taken = server.post("/api/v2/users", json!({"connection": "email", "email": "taken@example.com"})).await;
    assert_eq!(taken.status, 201, "{}", taken.text);
    let token = server.token().await;
    let requests: Vec<_> = (0..64)
        .map(|i| {
            // The passwordless connection: no bcrypt, so the requests reach the store together.
            let email = if i == 31 { "taken@example.com".to_owned() } else { format!("many{i}@example.com") };
            let body = json!({"connection": "email", "email": email, "email_verified": true});
            let request = server.http.post(format!("{}/api/v2/users", server.base)).bearer_auth(&token).json(&body);
            tokio::spawn(async move { request.send().await.expect("request sent").status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    let refused: Vec<usize> = (0..64).filter(|i| statuses[*i] != 201).collect();
    assert_eq!((refused, statuses[31]), (vec![31], 409), "{statuses:?}");
    let listed = server.get("/api/v2/users?q=email.domain:example.com&include_totals=true").await;
    assert_eq!(listed.body["total"], 64, "the 63 new users and the one that was there: {}", listed.text);
}

/// A write is answered only once it is committed: a server killed (SIGKILL) while many writes
/// are in flight has, after a restart, every user it acknowledged.
#[tokio::test]
async fn a_crash_during_a_write_storm_loses_no_acknowledged_write() {
    let mut server = Server::start().await;
    let token = server.token().await;
    let (base, http) = (server.base.clone(), server.http.clone());
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let (base, http, token, acknowledged) = (base.clone(), http.clone(), token.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let body = json!({"connection": "email", "email": format!("storm{writer}-{n}@example.com")});
                    let sent = http.post(format!("{base}/api/v2/users")).bearer_auth(&token).json(&body).send().await;
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(user) = response.json::<Value>().await else { break };
                    acknowledged.lock().unwrap().push(user["user_id"].as_str().unwrap().to_owned());
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "the storm wrote too little to mean anything: {}", acknowledged.len());
    let mut server = server.restart(&[]).await;
    for user_id in &acknowledged {
        let read = server.get(&format!("/api/v2/users/{}", encode(user_id))).await;
        assert_eq!(read.status, 200, "{user_id} was acknowledged before the crash: {}", read.text);
    }
}
