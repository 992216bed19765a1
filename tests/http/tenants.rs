//! Many tenants in one server: the admin API (`/roster/v1`) and the tenants it creates,
//! reached by path prefix and by host, each isolated from the others and from the server's own.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Reply, Server, settled};

const ADMIN_KEY: &str = "admin-key-for-tests-0123456789";

/// A server with the admin API on, its tenants in a directory of the test's.
async fn start() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().unwrap().to_owned();
    let server = Server::start_with(&["--admin-key", ADMIN_KEY, "--tenants-dir", &path]).await;
    (server, dir)
}

async fn admin(server: &Server, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = server.http.request(method, format!("{}/roster/v1{path}", server.base)).bearer_auth(ADMIN_KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::from(request.send().await.expect("request sent")).await
}

/// A tenant as a client of it sees it: its base URL and a token from its own token endpoint.
struct Tenant {
    name: String,
    base: String,
    token: String,
    created: Value,
}

impl Tenant {
    async fn create(server: &Server, body: Value) -> Self {
        let reply = admin(server, Method::POST, "/tenants", Some(body)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let created = reply.body;
        let name = created["name"].as_str().unwrap().to_owned();
        let base = format!("{}/t/{name}", server.base);
        let token = token_for(server, &base, &created).await;
        Self { name, base, token, created }
    }

    async fn call(&self, server: &Server, method: Method, path: &str, body: Option<Value>) -> Reply {
        send(server, method, &format!("{}{path}", self.base), &self.token, body).await
    }

    /// Resets the tenant to the snapshot named, through the admin API; 200 or the test fails.
    async fn reset_to(&self, server: &Server, snapshot: &str) -> Reply {
        let path = format!("/tenants/{}/reset", self.name);
        let reset = admin(server, Method::POST, &path, Some(json!({"snapshot": snapshot}))).await;
        assert_eq!(reset.status, 200, "{}", reset.text);
        reset
    }
}

/// A client-credentials token from the tenant at `base`, for the audience its domain names.
async fn token_for(server: &Server, base: &str, created: &Value) -> String {
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": created["client_id"],
        "client_secret": created["client_secret"],
        "audience": format!("https://{}/api/v2/", created["domain"].as_str().unwrap()),
    });
    let reply = Reply::from(server.http.post(format!("{base}/oauth/token")).json(&body).send().await.unwrap()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn send(server: &Server, method: Method, url: &str, token: &str, body: Option<Value>) -> Reply {
    let mut request = server.http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::from(request.send().await.expect("request sent")).await
}

/// What a tenant's databases are: SQLite files beside a SQLite server's own, schemas of a
/// PostgreSQL server's database (the files then name them).
fn database_extension(server: &Server) -> &'static str {
    if server.database.is_postgres() { "schema" } else { "db" }
}

/// On PostgreSQL, the schemas that hold hosted tenants, their snapshots and the copies of them
/// filled ahead (spares and tenants made ahead aside); on SQLite, none. A tenant being made
/// ahead holds a schema its files do not name yet, for a moment: so this waits, up to ten
/// seconds, for the count `expected`, and gives the last count.
async fn tenant_schemas(server: &Server, tenants_dir: &Path, expected: i64) -> i64 {
    if !server.database.is_postgres() {
        return 0;
    }
    let count = || async {
        let made_ahead: Vec<String> = without_metadata(tenants_dir)
            .iter()
            .flat_map(|dir| schemas_named_in(dir))
            .map(|schema| format!("'{schema}'"))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM pg_namespace WHERE (nspname LIKE 'roster\\_t\\_%' OR nspname LIKE 'roster\\_s\\_%') \
             AND nspname NOT IN ({})",
            if made_ahead.is_empty() { "''".to_owned() } else { made_ahead.join(", ") }
        );
        server.database.count(&sql).await
    };
    settled(Duration::from_secs(10), count, |count| *count == expected).await
}

/// Tenants' directories without metadata: tenants made ahead, not taken yet.
fn without_metadata(tenants_dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(tenants_dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && !path.join("tenant.json").exists())
        .collect()
}

/// The schemas a tenant's files name (its generations' and its snapshots'), on PostgreSQL.
fn schemas_named_in(tenant_dir: &Path) -> Vec<String> {
    [tenant_dir.to_owned(), tenant_dir.join("snapshots")]
        .iter()
        .flat_map(|folder| std::fs::read_dir(folder).into_iter().flatten().flatten())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "schema"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

fn new_user(email: &str) -> Value {
    json!({"connection": "Username-Password-Authentication", "email": email, "password": "Passw0rd!"})
}

#[tokio::test]
async fn without_an_admin_key_there_is_no_admin_api() {
    let server = Server::start().await;
    let reply = admin(&server, Method::POST, "/tenants", Some(json!({}))).await;
    reply.assert_error(404, None, "Not Found");
    let reply =
        Reply::from(server.http.get(format!("{}/t/anything/api/v2/users", server.base)).send().await.unwrap()).await;
    reply.assert_error(404, None, "Not Found");
}

#[tokio::test]
async fn the_admin_api_refuses_a_missing_or_wrong_key() {
    let (server, _dir) = start().await;
    let url = format!("{}/roster/v1/tenants", server.base);
    let missing = Reply::from(server.http.get(&url).send().await.unwrap()).await;
    missing.assert_error(401, None, "Missing authentication");
    let wrong = Reply::from(server.http.get(&url).bearer_auth("not-the-key").send().await.unwrap()).await;
    wrong.assert_error(401, None, "Invalid admin key");
    let management_token = server.token_with_scope(None).await;
    let token = Reply::from(server.http.get(&url).bearer_auth(management_token).send().await.unwrap()).await;
    token.assert_error(401, None, "Invalid admin key");
}

#[tokio::test]
async fn a_created_tenant_serves_the_management_api_by_path_and_by_host() {
    let (mut server, dir) = start().await;
    let tenant = Tenant::create(&server, json!({"name": "acme"})).await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(tenant.created["domain"], json!(format!("{}/t/acme", server.domain)));
    assert_eq!(tenant.created["host"], json!(format!("acme.localhost:{port}")));
    assert_eq!(tenant.created["snapshots"], json!(["initial"]));
    assert_eq!(tenant.created["ttl_seconds"], json!(3600));
    assert!(tenant.created["client_secret"].as_str().unwrap().len() >= 32);

    let created = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("ann@acme.test"))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let listed = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    // Its database is its own: a file of its directory, or the schema that file names.
    let database = dir.path().join("acme").join(format!("data-1.{}", database_extension(&server)));
    assert!(database.exists(), "{}", database.display());
    if server.database.is_postgres() {
        let schema = std::fs::read_to_string(&database).unwrap();
        assert_eq!(server.database.count(&format!("SELECT COUNT(*) FROM \"{schema}\".users")).await, 1);
        assert_eq!(server.database.count("SELECT COUNT(*) FROM public.users").await, 0);
        assert_eq!(tenant_schemas(&server, dir.path(), 2).await, 2, "the tenant's and its initial snapshot's");
    }

    // The same tenant by its host.
    let by_host = server
        .http
        .get(format!("{}/api/v2/users", server.base))
        .header("host", format!("acme.localhost:{port}"))
        .bearer_auth(&tenant.token)
        .send()
        .await
        .unwrap();
    let by_host = Reply::from(by_host).await;
    assert_eq!(by_host.status, 200, "{}", by_host.text);
    assert_eq!(by_host.body, listed.body);

    // The server's own tenant has none of it, and each refuses the other's tokens.
    let own = server.get("/api/v2/users").await;
    assert_eq!(own.body, json!([]));
    let refused = send(&server, Method::GET, &format!("{}/api/v2/users", server.base), &tenant.token, None).await;
    refused.assert_error(401, None, "Invalid token");
    let own_token = server.token().await;
    let refused = send(&server, Method::GET, &format!("{}/api/v2/users", tenant.base), &own_token, None).await;
    refused.assert_error(401, None, "Invalid token");

    // Its discovery document names it, and its keys are its own.
    let discovery = server.http.get(format!("{}/.well-known/openid-configuration", tenant.base)).send().await.unwrap();
    let discovery: Value = discovery.json().await.unwrap();
    assert_eq!(discovery["issuer"], json!(format!("https://{}/t/acme/", server.domain)));
    let jwks = |base: String| {
        let http = server.http.clone();
        async move { http.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_ne!(jwks(tenant.base.clone()).await["keys"][0]["kid"], jwks(server.base.clone()).await["keys"][0]["kid"]);

    let unknown =
        send(&server, Method::GET, &format!("{}/t/nobody/api/v2/users", server.base), &tenant.token, None).await;
    unknown.assert_error(404, None, "no tenant named nobody");

    // Its management client's grant names its own Management API, as created and after a reset
    // to its initial snapshot (on PostgreSQL a named tenant is one made ahead, renamed).
    let audience = json!(format!("https://{}/t/acme/api/v2/", server.domain));
    for _ in 0..2 {
        let grants = tenant.call(&server, Method::GET, "/api/v2/client-grants", None).await;
        let audiences: Vec<&Value> = grants.body.as_array().unwrap().iter().map(|grant| &grant["audience"]).collect();
        assert_eq!(audiences, [&audience], "{}", grants.text);
        token_for(&server, &tenant.base, &tenant.created).await;
        tenant.reset_to(&server, "initial").await;
    }
}

#[tokio::test]
async fn twenty_tenants_under_concurrent_requests_see_only_their_own() {
    let (server, _dir) = start().await;
    let mut tenants = Vec::new();
    for i in 0..20 {
        tenants.push(Tenant::create(&server, json!({"name": format!("iso-{i}")})).await);
    }
    // Every tenant gets the same emails at once, plus one of its own: no conflicts across them.
    let writes = tenants.iter().enumerate().flat_map(|(i, tenant)| {
        let server = &server;
        (0..5)
            .map(|n| format!("shared{n}@example.test"))
            .chain([format!("only{i}@example.test")])
            .map(move |email| async move { tenant.call(server, Method::POST, "/api/v2/users", Some(new_user(&email))).await })
    });
    for reply in futures_util::future::join_all(writes).await {
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let reads = tenants.iter().map(|tenant| {
        let server = &server;
        async move {
            let q = "/api/v2/users?q=email:*example.test&search_engine=v3&include_totals=true&per_page=50";
            (tenant, tenant.call(server, Method::GET, q, None).await)
        }
    });
    for (i, (tenant, reply)) in futures_util::future::join_all(reads).await.into_iter().enumerate() {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["total"], json!(6), "tenant {}", tenant.name);
        let emails: Vec<&str> =
            reply.body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert!(emails.contains(&format!("only{i}@example.test").as_str()), "{emails:?}");
        assert!(!emails.iter().any(|e| e.starts_with("only") && *e != format!("only{i}@example.test")), "{emails:?}");
    }
    // A token of one tenant is refused by every other.
    let first = &tenants[0];
    for other in &tenants[1..] {
        let refused = send(&server, Method::GET, &format!("{}/api/v2/users", other.base), &first.token, None).await;
        refused.assert_error(401, None, "Invalid token");
    }
}

/// Everything a test might compare: users, roles and their members, connections, clients.
async fn state_of(server: &Server, tenant: &Tenant) -> Value {
    let mut state = serde_json::Map::new();
    for path in [
        "/api/v2/users?sort=email:1",
        "/api/v2/roles",
        "/api/v2/connections",
        "/api/v2/clients",
        "/api/v2/resource-servers",
    ] {
        let reply = tenant.call(server, Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        state.insert(path.to_owned(), reply.body);
    }
    let roles = state["/api/v2/roles"].as_array().unwrap().clone();
    for role in roles {
        let path = format!("/api/v2/roles/{}/users", role["id"].as_str().unwrap());
        state.insert(path.clone(), tenant.call(server, Method::GET, &path, None).await.body);
    }
    Value::Object(state)
}

#[tokio::test]
async fn a_reset_tenant_equals_its_snapshot_object_by_object() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    let empty = state_of(&server, &tenant).await;
    let ann = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("ann@example.test"))).await.body;
    let bob = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("bob@example.test"))).await.body;
    let role = tenant.call(&server, Method::POST, "/api/v2/roles", Some(json!({"name": "admin"}))).await.body;
    let members = format!("/api/v2/roles/{}/users", role["id"].as_str().unwrap());
    let assigned = tenant.call(&server, Method::POST, &members, Some(json!({"users": [ann["user_id"]]}))).await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let snapshot = admin(
        &server,
        Method::POST,
        &format!("/tenants/{}/snapshots", tenant.name),
        Some(json!({"name": "two-users"})),
    )
    .await;
    assert_eq!(snapshot.status, 201, "{}", snapshot.text);
    let at_snapshot = state_of(&server, &tenant).await;

    // Change everything the snapshot holds.
    let bob_path = format!("/api/v2/users/{}", crate::server::encode(bob["user_id"].as_str().unwrap()));
    assert_eq!(tenant.call(&server, Method::DELETE, &bob_path, None).await.status, 204);
    let ann_path = format!("/api/v2/users/{}", crate::server::encode(ann["user_id"].as_str().unwrap()));
    let patched =
        tenant.call(&server, Method::PATCH, &ann_path, Some(json!({"user_metadata": {"plan": "gold"}}))).await;
    assert_eq!(patched.status, 200);
    tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("cat@example.test"))).await;
    tenant
        .call(
            &server,
            Method::PATCH,
            &format!("/api/v2/roles/{}", role["id"].as_str().unwrap()),
            Some(json!({"name": "root"})),
        )
        .await;
    assert_ne!(state_of(&server, &tenant).await, at_snapshot);

    let reset = tenant.reset_to(&server, "two-users").await;
    assert_eq!(reset.body["snapshots"], json!(["initial", "two-users"]));
    // The same token still works: the keys are the snapshot's too.
    assert_eq!(state_of(&server, &tenant).await, at_snapshot);
    // Writes go on from where the snapshot was: a new user is listed after the others.
    let dan = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("dan@example.test"))).await;
    assert_eq!(dan.status, 201, "{}", dan.text);
    let listed = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
    let emails: Vec<&str> = listed.body.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ann@example.test", "bob@example.test", "dan@example.test"]);

    // Again: on PostgreSQL this reset takes the copy the first one started filling, and the
    // third one a copy filled in the generation the first replaced, emptied.
    for _ in 0..2 {
        tenant.reset_to(&server, "two-users").await;
        assert_eq!(state_of(&server, &tenant).await, at_snapshot);
        tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("eve@example.test"))).await;
    }

    // Without a snapshot named: back to the tenant as created.
    let reset = admin(&server, Method::POST, &format!("/tenants/{}/reset", tenant.name), None).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(state_of(&server, &tenant).await, empty);
}

#[tokio::test]
async fn admin_operations_refuse_bad_names_taken_names_and_unknown_tenants() {
    let (server, _dir) = start().await;
    Tenant::create(&server, json!({"name": "taken"})).await;
    let taken = admin(&server, Method::POST, "/tenants", Some(json!({"name": "taken"}))).await;
    taken.assert_error(409, None, "a tenant named taken exists");
    for bad in ["Upper", "-dash", "has space", "x/../y", ""] {
        let reply = admin(&server, Method::POST, "/tenants", Some(json!({"name": bad}))).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
        assert_eq!(reply.body["errorCode"], json!("invalid_body"));
    }
    let unknown_field = admin(&server, Method::POST, "/tenants", Some(json!({"nme": "typo"}))).await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.text);
    assert!(unknown_field.body["message"].as_str().unwrap().contains("nme"), "{}", unknown_field.text);

    admin(&server, Method::GET, "/tenants/nobody", None).await.assert_error(404, None, "no tenant named nobody");
    admin(&server, Method::DELETE, "/tenants/nobody", None).await.assert_error(404, None, "no tenant named nobody");
    let reset = admin(&server, Method::POST, "/tenants/nobody/reset", None).await;
    reset.assert_error(404, None, "no tenant named nobody");
    let reset = admin(&server, Method::POST, "/tenants/taken/reset", Some(json!({"snapshot": "never"}))).await;
    reset.assert_error(404, None, "tenant taken has no snapshot named never");
    let again = admin(&server, Method::POST, "/tenants/taken/snapshots", Some(json!({"name": "initial"}))).await;
    again.assert_error(409, None, "a snapshot named initial exists");
    let removed = admin(&server, Method::DELETE, "/tenants/taken/snapshots/initial", None).await;
    assert_eq!(removed.status, 204);
    let gone = admin(&server, Method::DELETE, "/tenants/taken/snapshots/initial", None).await;
    gone.assert_error(404, None, "tenant taken has no snapshot named initial");

    let listed = admin(&server, Method::GET, "/tenants", None).await;
    let names: Vec<&str> = listed.body.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["taken"]);
    assert!(listed.body[0].get("client_secret").is_none(), "a secret is shown only at creation");
}

#[tokio::test]
async fn a_deleted_tenant_is_gone_with_its_files() {
    let (server, dir) = start().await;
    let tenant = Tenant::create(&server, json!({"name": "brief"})).await;
    assert!(dir.path().join("brief").exists());
    let snapshot = admin(&server, Method::POST, "/tenants/brief/snapshots", Some(json!({"name": "more"}))).await;
    assert_eq!(snapshot.status, 201, "{}", snapshot.text);
    assert_eq!(admin(&server, Method::POST, "/tenants/brief/reset", None).await.status, 200);
    assert_eq!(admin(&server, Method::DELETE, "/tenants/brief", None).await.status, 204);
    assert!(!dir.path().join("brief").exists());
    // Its schemas too: the generation served and both snapshots.
    assert_eq!(tenant_schemas(&server, dir.path(), 0).await, 0);
    let reply = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
    reply.assert_error(404, None, "no tenant named brief");
    admin(&server, Method::GET, "/tenants/brief", None).await.assert_error(404, None, "no tenant named brief");
}

#[tokio::test]
async fn an_idle_tenant_is_deleted_after_its_time_to_live() {
    let (server, dir) = start().await;
    Tenant::create(&server, json!({"name": "short", "ttl_seconds": 1})).await;
    Tenant::create(&server, json!({"name": "forever", "ttl_seconds": 0})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // It stops being served first, then its store is closed and its files removed.
    while admin(&server, Method::GET, "/tenants/short", None).await.status == 200 || dir.path().join("short").exists() {
        assert!(std::time::Instant::now() < deadline, "the idle tenant outlived its time-to-live");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    admin(&server, Method::GET, "/tenants/short", None).await.assert_error(404, None, "no tenant named short");
    let kept = admin(&server, Method::GET, "/tenants/forever", None).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    if server.database.is_postgres() {
        assert_eq!(
            tenant_schemas(&server, dir.path(), 2).await,
            2,
            "only the kept tenant's and its snapshot's are left"
        );
    }
}

#[tokio::test]
async fn tenants_survive_a_restart() {
    let (server, dir) = start().await;
    let tenant = Tenant::create(&server, json!({"name": "durable"})).await;
    let created = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("kept@example.test"))).await;
    assert_eq!(created.status, 201);
    // A tenant whose files were damaged meanwhile is left out; the others are served.
    Tenant::create(&server, json!({"name": "damaged"})).await;
    std::fs::write(dir.path().join("damaged").join("tenant.json"), "{not json").unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let server = server.restart(&["--admin-key", ADMIN_KEY, "--tenants-dir", &path]).await;
    // The port changed; the tenant's token names its old domain and is refused, a new one works.
    let base = format!("{}/t/durable", server.base);
    let mut again = tenant.created.clone();
    again["domain"] = json!(format!("{}/t/durable", server.domain));
    let token = token_for(&server, &base, &again).await;
    let listed = send(&server, Method::GET, &format!("{base}/api/v2/users"), &token, None).await;
    assert_eq!(listed.body[0]["email"], json!("kept@example.test"), "{}", listed.text);
    admin(&server, Method::GET, "/tenants/damaged", None).await.assert_error(404, None, "no tenant named damaged");
    assert!(server.log().contains("cannot serve a tenant created earlier"));
    // Its snapshots survived too: a reset to the one taken at creation empties it.
    let reset = admin(&server, Method::POST, "/tenants/durable/reset", None).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let listed = send(&server, Method::GET, &format!("{base}/api/v2/users"), &token, None).await;
    assert_eq!(listed.body, json!([]), "{}", listed.text);
}

/// Tenants made ahead and not taken yet: directories without metadata, their initial snapshot
/// taken. Waits, up to ten seconds, for at least one.
async fn made_ahead(tenants_dir: &Path) -> Vec<std::path::PathBuf> {
    let found = || async {
        without_metadata(tenants_dir)
            .into_iter()
            .filter(|path| {
                ["initial.db", "initial.schema"].iter().any(|file| path.join("snapshots").join(file).exists())
            })
            .collect::<Vec<_>>()
    };
    settled(Duration::from_secs(10), found, |found| !found.is_empty()).await
}

#[tokio::test]
async fn a_tenant_made_ahead_is_served_as_created_and_those_not_taken_go_at_a_restart() {
    let (server, dir) = start().await;
    // Named neither a tenant nor a tenant file: one made ahead, given its metadata.
    let tenant = Tenant::create(&server, json!({"ttl_seconds": 600, "search_index_lag_ms": 5})).await;
    assert!(tenant.name.starts_with("t-"), "{}", tenant.name);
    assert_eq!(tenant.created["domain"], json!(format!("{}/t/{}", server.domain, tenant.name)));
    assert_eq!(
        (tenant.created["ttl_seconds"].clone(), tenant.created["search_index_lag_ms"].clone()),
        (json!(600), json!(5))
    );
    assert_eq!(tenant.created["snapshots"], json!(["initial"]));
    let other = Tenant::create(&server, json!({})).await;
    assert_ne!(other.name, tenant.name);
    assert_ne!(other.created["client_id"], tenant.created["client_id"]);
    let created = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("ann@example.test"))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    // Only the tenants created are listed.
    let listed = admin(&server, Method::GET, "/tenants", None).await;
    let mut names: Vec<&str> = listed.body.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    let mut expected = vec![tenant.name.as_str(), other.name.as_str()];
    expected.sort();
    assert_eq!(names, expected);

    let waiting = made_ahead(dir.path()).await;
    assert!(!waiting.is_empty(), "no tenant was made ahead");
    let their_schemas: Vec<String> = waiting.iter().flat_map(|path| schemas_named_in(path)).collect();
    let path = dir.path().to_str().unwrap().to_owned();
    let server = server.restart(&["--admin-key", ADMIN_KEY, "--tenants-dir", &path]).await;
    for path in &waiting {
        assert!(!path.exists(), "{} outlived the restart", path.display());
    }
    if server.database.is_postgres() {
        assert_eq!(their_schemas.len(), 2 * waiting.len());
        let list = their_schemas.iter().map(|schema| format!("'{schema}'")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname IN ({list})");
        assert_eq!(server.database.count(&sql).await, 0);
    }
    // The tenant taken is served again, and its initial snapshot is as it was created.
    let base = format!("{}/t/{}", server.base, tenant.name);
    let mut again = tenant.created.clone();
    again["domain"] = json!(format!("{}/t/{}", server.domain, tenant.name));
    let token = token_for(&server, &base, &again).await;
    let listed = send(&server, Method::GET, &format!("{base}/api/v2/users"), &token, None).await;
    assert_eq!(listed.body[0]["email"], json!("ann@example.test"), "{}", listed.text);
    let reset = admin(&server, Method::POST, &format!("/tenants/{}/reset", tenant.name), None).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    let listed = send(&server, Method::GET, &format!("{base}/api/v2/users"), &token, None).await;
    assert_eq!(listed.body, json!([]), "{}", listed.text);
}

#[tokio::test]
async fn a_tenant_starts_from_a_tenant_file_or_not_at_all() {
    let (server, dir) = start().await;
    let file = "roles:\n  - name: support\n    description: Support staff\nusers:\n  - email: seeded@example.test\n    connection: Username-Password-Authentication\n    password: Passw0rd!\n    roles: [support]\n";
    let tenant = Tenant::create(&server, json!({"name": "seeded", "tenant_file": file})).await;
    let users = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
    assert_eq!(users.body[0]["email"], json!("seeded@example.test"), "{}", users.text);
    let roles = tenant.call(&server, Method::GET, "/api/v2/roles", None).await;
    assert_eq!(roles.body[0]["name"], json!("support"));
    // Its initial snapshot holds what the file made.
    tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("later@example.test"))).await;
    admin(&server, Method::POST, "/tenants/seeded/reset", None).await;
    let users = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
    assert_eq!(users.body.as_array().unwrap().len(), 1, "{}", users.text);

    let bad = "roles:\n  - name: support\n    colour: blue\n";
    let refused = admin(&server, Method::POST, "/tenants", Some(json!({"name": "broken", "tenant_file": bad}))).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let message = refused.body["message"].as_str().unwrap();
    assert!(message.starts_with("tenant_file is refused (1 problem)"), "{message}");
    assert!(message.contains("tenant_file:2: roles[0]: ") && message.contains("colour"), "{message}");
    admin(&server, Method::GET, "/tenants/broken", None).await.assert_error(404, None, "no tenant named broken");
    assert!(!dir.path().join("broken").exists());
}

#[tokio::test]
async fn a_tenant_with_auth0s_rate_limit_answers_its_headers_and_429() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({"rate_limit": {"limit": 3, "per_second": 0.2}})).await;
    assert_eq!(tenant.created["rate_limit"], json!({"limit": 3, "per_second": 0.2}));
    let get = || async {
        server.http.get(format!("{}/api/v2/users", tenant.base)).bearer_auth(&tenant.token).send().await.unwrap()
    };
    let header = |response: &reqwest::Response, name: &str| -> i64 {
        response.headers().get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap().parse().unwrap()
    };
    for remaining in [2, 1, 0] {
        let response = get().await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), 3);
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
        assert!(header(&response, "x-ratelimit-reset") > chrono::Utc::now().timestamp());
    }
    let refused = get().await;
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    Reply::from(refused).await.assert_error(429, Some("too_many_requests"), "Global limit has been reached");
    // The journal holds the refusal too.
    let journal = admin(&server, Method::GET, &format!("/tenants/{}/requests?status=429", tenant.name), None).await;
    assert_eq!(journal.body["requests"].as_array().unwrap().len(), 1, "{}", journal.text);

    let changed =
        admin(&server, Method::PATCH, &format!("/tenants/{}", tenant.name), Some(json!({"rate_limit": null}))).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(changed.body.get("rate_limit").is_none());
    let response = get().await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-ratelimit-limit").is_none());
    // The server's own tenant never has one.
    let own = server.http.get(format!("{}/api/v2/users", server.base)).send().await.unwrap();
    assert!(own.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn a_tenant_with_search_lag_finds_new_users_by_query_only_after_it() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    let lagging =
        admin(&server, Method::PATCH, &format!("/tenants/{}", tenant.name), Some(json!({"search_index_lag_ms": 1500})))
            .await;
    assert_eq!(lagging.body["search_index_lag_ms"], json!(1500), "{}", lagging.text);
    let user = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("late@example.test"))).await.body;
    let by_id = format!("/api/v2/users/{}", crate::server::encode(user["user_id"].as_str().unwrap()));
    assert_eq!(tenant.call(&server, Method::GET, &by_id, None).await.status, 200, "reads by id are immediate");
    let search = "/api/v2/users?q=email:%22late@example.test%22&search_engine=v3";
    assert_eq!(tenant.call(&server, Method::GET, search, None).await.body, json!([]));
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let found = tenant.call(&server, Method::GET, search, None).await;
    assert_eq!(found.body[0]["email"], json!("late@example.test"), "{}", found.text);
}

#[tokio::test]
async fn a_tenant_with_search_lag_finds_changed_and_deleted_users_as_they_were_until_it_passes() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    let changed = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("old@example.test"))).await.body;
    let deleted = tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("gone@example.test"))).await.body;
    let path = |user: &Value| format!("/api/v2/users/{}", crate::server::encode(user["user_id"].as_str().unwrap()));
    // Old enough to be indexed when the lag is turned on.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let lag = json!({"search_index_lag_ms": 1500});
    admin(&server, Method::PATCH, &format!("/tenants/{}", tenant.name), Some(lag)).await;
    let search = |q: &str| format!("/api/v2/users?q={q}&search_engine=v3&include_totals=true");
    let emails = |reply: &Reply| -> Vec<String> {
        let users = reply.body["users"].as_array().unwrap();
        users.iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
    };

    let patched =
        tenant.call(&server, Method::PATCH, &path(&changed), Some(json!({"email": "new@example.test"}))).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(tenant.call(&server, Method::DELETE, &path(&deleted), None).await.status, 204);
    assert_eq!(tenant.call(&server, Method::GET, &path(&changed), None).await.body["email"], "new@example.test");
    assert_eq!(tenant.call(&server, Method::GET, &path(&deleted), None).await.status, 404, "reads by id are current");

    let old = tenant.call(&server, Method::GET, &search("email:%22old@example.test%22"), None).await;
    assert_eq!(emails(&old), ["old@example.test"], "the index still holds the old email: {}", old.text);
    let new = tenant.call(&server, Method::GET, &search("email:%22new@example.test%22"), None).await;
    assert_eq!(emails(&new), Vec::<String>::new(), "and not yet the new one");
    let gone = tenant.call(&server, Method::GET, &search("email:%22gone@example.test%22"), None).await;
    assert_eq!(emails(&gone), ["gone@example.test"], "a deleted user is still found");
    let all = tenant.call(&server, Method::GET, &search("email:*example.test"), None).await;
    assert_eq!(all.body["total"], 2, "{}", all.text);

    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let old = tenant.call(&server, Method::GET, &search("email:%22old@example.test%22"), None).await;
    assert_eq!(emails(&old), Vec::<String>::new());
    let new = tenant.call(&server, Method::GET, &search("email:%22new@example.test%22"), None).await;
    assert_eq!(emails(&new), ["new@example.test"]);
    let gone = tenant.call(&server, Method::GET, &search("email:%22gone@example.test%22"), None).await;
    assert_eq!(emails(&gone), Vec::<String>::new());
}

#[tokio::test]
async fn the_journal_lists_requests_with_secrets_masked() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("journal@example.test"))).await;
    tenant.call(&server, Method::GET, "/api/v2/users?per_page=5", None).await;
    let path = format!("/tenants/{}/requests", tenant.name);
    let journal = admin(&server, Method::GET, &path, None).await;
    let requests = journal.body["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{}", journal.text);
    assert_eq!((requests[0]["method"].as_str(), requests[0]["path"].as_str()), (Some("POST"), Some("/api/v2/users")));
    assert_eq!(requests[0]["status"], json!(201));
    assert_eq!(requests[0]["body"]["email"], json!("journal@example.test"));
    assert_eq!(requests[0]["body"]["password"], json!("*****"));
    assert!(!journal.text.contains("Passw0rd!"), "{}", journal.text);
    assert_eq!(requests[1]["query"], json!("per_page=5"));
    let posts = admin(&server, Method::GET, &format!("{path}?method=POST&path=/api/v2/*"), None).await;
    assert_eq!(posts.body["requests"].as_array().unwrap().len(), 1);
    let bad = admin(&server, Method::GET, &format!("{path}?status=lots"), None).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(admin(&server, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(admin(&server, Method::GET, &path, None).await.body["requests"], json!([]));
}

#[tokio::test]
async fn injected_faults_answer_the_next_matching_requests() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    let faults = format!("/tenants/{}/faults", tenant.name);
    let added = admin(
        &server,
        Method::POST,
        &faults,
        Some(json!({"method": "GET", "path": "/api/v2/users", "status": 503, "times": 2})),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["remaining"], json!(2));
    assert_eq!(tenant.call(&server, Method::POST, "/api/v2/users", Some(new_user("f@example.test"))).await.status, 201);
    for _ in 0..2 {
        let failed = tenant.call(&server, Method::GET, "/api/v2/users", None).await;
        failed.assert_error(503, None, "Injected fault (Roster admin API)");
    }
    assert_eq!(tenant.call(&server, Method::GET, "/api/v2/users", None).await.status, 200);
    assert_eq!(admin(&server, Method::GET, &faults, None).await.body, json!([]));

    let custom = json!({"path": "/api/v2/roles*", "status": 429, "body": {"statusCode": 429, "error": "Too Many Requests", "message": "Slow down"}});
    admin(&server, Method::POST, &faults, Some(custom)).await;
    let limited = tenant.call(&server, Method::GET, "/api/v2/roles", None).await;
    assert_eq!((limited.status.as_u16(), limited.body["message"].as_str()), (429, Some("Slow down")));

    admin(&server, Method::POST, &faults, Some(json!({"path": "/api/v2/users", "delay_ms": 400}))).await;
    let began = std::time::Instant::now();
    assert_eq!(tenant.call(&server, Method::GET, "/api/v2/users", None).await.status, 200);
    assert!(began.elapsed() >= std::time::Duration::from_millis(400));

    for bad in [
        json!({"path": "api/v2/users", "status": 500}),
        json!({"path": "/api/v2/users"}),
        json!({"path": "/x", "status": 700}),
        json!({"path": "/x", "status": 500, "times": 0}),
    ] {
        let refused = admin(&server, Method::POST, &faults, Some(bad.clone())).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
    admin(&server, Method::POST, &faults, Some(json!({"path": "/api/v2/users", "status": 500}))).await;
    assert_eq!(admin(&server, Method::DELETE, &faults, None).await.status, 204);
    assert_eq!(tenant.call(&server, Method::GET, "/api/v2/users", None).await.status, 200);
}

#[tokio::test]
async fn changing_a_tenants_settings_refuses_what_it_does_not_know() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({})).await;
    let path = format!("/tenants/{}", tenant.name);
    for bad in [
        json!({"rate_limit": {"limit": 0, "per_second": 1}}),
        json!({"rate_limit": {"limit": 5}}),
        json!({"search_index_lag_ms": -1}),
        json!({"lag": 5}),
    ] {
        let refused = admin(&server, Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.body["errorCode"], json!("invalid_body"));
    }
    let refused =
        admin(&server, Method::POST, "/tenants", Some(json!({"rate_limit": {"limit": 1, "per_second": 0}}))).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    admin(&server, Method::PATCH, "/tenants/nobody", Some(json!({}))).await.assert_error(
        404,
        None,
        "no tenant named nobody",
    );
}

#[tokio::test]
async fn a_tenant_reached_by_path_keeps_its_routes_and_urls_under_its_prefix() {
    let (server, _dir) = start().await;
    let tenant = Tenant::create(&server, json!({"name": "prefixed"})).await;
    // Routes with path parameters read the tenant's own ones, not the prefix's.
    let unknown = tenant.call(&server, Method::GET, "/api/v2/jobs/job_0123456789abcdef", None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let org = tenant.call(&server, Method::POST, "/api/v2/organizations", Some(json!({"name": "acme"}))).await;
    assert_eq!(org.status, 201, "{}", org.text);
    let by_name = tenant.call(&server, Method::GET, "/api/v2/organizations/name/acme", None).await;
    assert_eq!((by_name.status.as_u16(), &by_name.body["id"]), (200, &org.body["id"]), "{}", by_name.text);

    // An export's location is the tenant's.
    let job = tenant.call(&server, Method::POST, "/api/v2/jobs/users-exports", Some(json!({}))).await;
    assert_eq!(job.status, 200, "{}", job.text);
    let path = format!("/api/v2/jobs/{}", job.body["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let location = loop {
        let job = tenant.call(&server, Method::GET, &path, None).await;
        if let Some(location) = job.body["location"].as_str() {
            break location.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "the export did not complete: {}", job.text);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(location.starts_with(&format!("{}/exports/", tenant.base)), "{location}");
    assert_eq!(server.http.get(&location).send().await.unwrap().status(), 200);
}
