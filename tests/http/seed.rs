//! Tenant files: `roster seed FILE` and `roster serve --seed FILE`, checked through the API a
//! client sees afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, TestDatabase, encode};

const DOMAIN: &str = "roster.test";
const ORDERS: &str = "https://orders.example.com";
const ORDERS_SECRET: &str = "orders-backend-secret-0123456789abcdef";

/// A tenant with one of everything a file can hold. `##ORDERS_SECRET##` comes from the
/// environment, `##ROSTER_DOMAIN##` is the served domain.
const TENANT: &str = r###"
resourceServers:
  - name: Orders API
    identifier: https://orders.example.com
    scopes:
      - value: read:orders
        description: Read orders
      - value: write:orders
    token_lifetime: 3600
clients:
  - name: Orders backend
    client_id: orders-backend
    client_secret: "##ORDERS_SECRET##"
    app_type: non_interactive
    grant_types: [client_credentials]
  - name: Dashboard
    app_type: spa
clientGrants:
  - client_id: Orders backend
    audience: https://orders.example.com
    scope: [read:orders]
  - client_id: orders-backend
    audience: https://##ROSTER_DOMAIN##/api/v2/
    scope: [read:users, read:roles]
connections:
  - name: Username-Password-Authentication
    strategy: auth0
    enabled_clients: [Dashboard]
    options:
      passwordPolicy: fair
  - name: employees
    strategy: auth0
    enabled_clients: [Dashboard, orders-backend]
    options:
      requires_username: true
roles:
  - name: Order admin
    description: Manages orders
    permissions:
      - permission_name: read:orders
        resource_server_identifier: https://orders.example.com
      - permission_name: write:orders
        resource_server_identifier: https://orders.example.com
  - name: Viewer
    description: Reads orders
users:
  - email: Jane@Example.com
    password: Jane-passw0rd!
    given_name: Jane
    app_metadata: {plan: pro}
    roles: [Order admin]
  - user_id: bob-1
    email: bob@example.com
    connection: employees
    username: bob
    password_hash: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    permissions:
      - permission_name: read:orders
        resource_server_identifier: https://orders.example.com
organizations:
  - name: acme
    display_name: Acme
    metadata: {tier: gold}
    connections:
      - name: Username-Password-Authentication
        assign_membership_on_login: false
    members:
      - email: jane@example.com
        roles: [Viewer]
      - user_id: auth0|bob-1
"###;

struct TenantFile {
    dir: tempfile::TempDir,
}

impl TenantFile {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("tenant.yaml"), text).expect("write the tenant file");
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("tenant.yaml")
    }

    fn rewrite(&self, text: &str) {
        std::fs::write(self.path(), text).expect("rewrite the tenant file");
    }
}

/// Runs `roster seed` on `database`.
fn seed(database: &TestDatabase, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["seed", file.to_str().expect("utf-8 path"), "--database-url", &database.url, "--domain", DOMAIN])
        .env("ORDERS_SECRET", ORDERS_SECRET)
        .env_remove("ROSTER_DATABASE_URL")
        .env_remove("ROSTER_DOMAIN")
        .output()
        .expect("roster seed runs")
}

#[track_caller]
fn seeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "roster seed failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

async fn serve(database: Arc<TestDatabase>) -> Server {
    Server::start_on(database, &["--domain", DOMAIN]).await
}

async fn ok(server: &mut Server, path: &str) -> Value {
    let reply = server.get(path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    reply.body
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> =
        list.as_array().expect("array").iter().map(|item| item[key].as_str().expect("name").to_owned()).collect();
    names.sort();
    names
}

async fn user_by_email(server: &mut Server, email: &str) -> Value {
    let found = ok(server, &format!("/api/v2/users-by-email?email={email}")).await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    found[0].clone()
}

/// Everything a file sets, as the API shows it.
async fn snapshot(server: &mut Server) -> Value {
    let jane = user_by_email(server, "jane@example.com").await;
    let jane_id = encode(jane["user_id"].as_str().unwrap());
    let organization = ok(server, "/api/v2/organizations/name/acme").await;
    let org_id = organization["id"].as_str().unwrap().to_owned();
    let role_id = ok(server, "/api/v2/roles?name_filter=Order").await[0]["id"].as_str().unwrap().to_owned();
    json!({
        "resource_servers": ok(server, "/api/v2/resource-servers").await,
        "clients": ok(server, "/api/v2/clients?fields=client_id,name,app_type,grant_types&include_fields=true").await,
        "grants": ok(server, "/api/v2/client-grants").await,
        "connections": ok(server, "/api/v2/connections?fields=id,name,strategy,options,enabled_clients&include_fields=true").await,
        "roles": ok(server, "/api/v2/roles").await,
        "role_permissions": ok(server, &format!("/api/v2/roles/{role_id}/permissions")).await,
        "users": ok(server, "/api/v2/users?sort=email:1").await,
        "jane_roles": ok(server, &format!("/api/v2/users/{jane_id}/roles")).await,
        "bob_permissions": ok(server, "/api/v2/users/auth0%7Cbob-1/permissions").await,
        "organization": organization,
        "members": ok(server, &format!("/api/v2/organizations/{org_id}/members?fields=user_id,email,roles")).await,
    })
}

#[tokio::test]
async fn a_tenant_file_sets_up_the_tenant_the_api_shows() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    let out = seeded(&seed(&database, &file.path()));
    assert!(out.contains("tenant file"), "{out}");
    // The Dashboard has no secret in the file: the generated one is shown once.
    assert!(out.contains("client \"Dashboard\": id "), "{out}");
    let mut server = serve(database).await;

    let api =
        ok(&mut server, &format!("/api/v2/resource-servers/{}", ORDERS.replace(':', "%3A").replace('/', "%2F"))).await;
    assert_eq!(api["name"], "Orders API");
    assert_eq!(api["token_lifetime"], 3600);
    assert_eq!(names(&api["scopes"], "value"), ["read:orders", "write:orders"]);

    // The seeded client gets tokens with exactly what its grants allow.
    let token = |audience: &str| json!({"grant_type": "client_credentials", "client_id": "orders-backend", "client_secret": ORDERS_SECRET, "audience": audience});
    let grants =
        ok(&mut server, "/api/v2/client-grants?client_id=orders-backend&audience=https%3A%2F%2Forders.example.com")
            .await;
    assert_eq!(grants[0]["scope"], json!(["read:orders"]));
    let reply = server.send_raw(Method::POST, "/oauth/token", None, Some(&token(&server.audience()))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["scope"], "read:users read:roles");
    let management = reply.body["access_token"].as_str().unwrap().to_owned();
    let reply = server.send_raw(Method::GET, "/api/v2/users", Some(&management), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = server.send_raw(Method::POST, "/api/v2/users", Some(&management), Some(&json!({}))).await;
    assert_eq!(reply.status, 403, "a grant without create:users cannot create: {}", reply.text);

    let dashboard = ok(&mut server, "/api/v2/clients?fields=client_id,name&include_fields=true").await;
    let dashboard_id =
        dashboard.as_array().unwrap().iter().find(|c| c["name"] == "Dashboard").expect("Dashboard")["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let employees = ok(&mut server, "/api/v2/connections?name=employees").await;
    assert_eq!(employees[0]["strategy"], "auth0");
    assert_eq!(employees[0]["options"]["requires_username"], true);
    assert_eq!(employees[0]["enabled_clients"], json!([dashboard_id, "orders-backend"]));
    let database_connection = ok(&mut server, "/api/v2/connections?name=Username-Password-Authentication").await;
    assert_eq!(database_connection[0]["options"]["passwordPolicy"], "fair");

    let jane = user_by_email(&mut server, "jane@example.com").await;
    assert_eq!(jane["given_name"], "Jane");
    assert_eq!(jane["app_metadata"], json!({"plan": "pro"}));
    let jane_id = jane["user_id"].as_str().unwrap().to_owned();
    let roles = ok(&mut server, &format!("/api/v2/users/{}/roles", encode(&jane_id))).await;
    assert_eq!(names(&roles, "name"), ["Order admin"]);
    let permissions = ok(&mut server, &format!("/api/v2/users/{}/permissions", encode(&jane_id))).await;
    assert_eq!(names(&permissions, "permission_name"), ["read:orders", "write:orders"]);

    let bob = ok(&mut server, "/api/v2/users/auth0%7Cbob-1").await;
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["identities"][0]["connection"], "employees");
    let bob_permissions = ok(&mut server, "/api/v2/users/auth0%7Cbob-1/permissions").await;
    assert_eq!(bob_permissions[0]["sources"], json!([{"source_id": "", "source_name": "", "source_type": "DIRECT"}]));

    // Passwords are stored as bcrypt hashes: the given password, and the given hash as is.
    let store = server.store().await;
    let jane_hash = store.password_hash(&jane_id).await.unwrap().expect("jane has a password");
    assert!(bcrypt::verify("Jane-passw0rd!", &jane_hash).unwrap());
    let bob_hash = store.password_hash("auth0|bob-1").await.unwrap();
    assert_eq!(bob_hash.as_deref(), Some("$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"));

    let organization = ok(&mut server, "/api/v2/organizations/name/acme").await;
    assert_eq!(organization["display_name"], "Acme");
    assert_eq!(organization["metadata"], json!({"tier": "gold"}));
    let org_id = organization["id"].as_str().unwrap().to_owned();
    let members = ok(&mut server, &format!("/api/v2/organizations/{org_id}/members?fields=user_id,roles")).await;
    let mut expected = vec![String::from("auth0|bob-1"), jane_id.clone()];
    expected.sort();
    assert_eq!(names(&members, "user_id"), expected);
    let member_roles =
        ok(&mut server, &format!("/api/v2/organizations/{org_id}/members/{}/roles", encode(&jane_id))).await;
    assert_eq!(names(&member_roles, "name"), ["Viewer"]);
    let user_organizations = ok(&mut server, "/api/v2/users/auth0%7Cbob-1/organizations").await;
    assert_eq!(names(&user_organizations, "name"), ["acme"]);
}

#[tokio::test]
async fn applying_a_file_twice_gives_the_same_tenant() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    seeded(&seed(&database, &file.path()));
    let mut server = serve(database.clone()).await;
    let first = snapshot(&mut server).await;
    server.stop();

    let out = seeded(&seed(&database, &file.path()));
    assert!(
        out.contains(": 0 created, 0 updated, 12 unchanged; 0 assignment lists changed"),
        "the second run changes nothing: {out}"
    );
    assert!(!out.contains("secret"), "no secret is generated or shown again: {out}");
    let mut server = serve(database).await;
    assert_eq!(snapshot(&mut server).await, first);
}

#[tokio::test]
async fn a_changed_file_makes_the_tenant_what_it_now_says() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    seeded(&seed(&database, &file.path()));
    // Bob signs up with a password through the API; the file then drops a permission, moves
    // Jane to another role, renames the organization's display name and removes Bob from it.
    let changed = TENANT
        .replace(
            "      - permission_name: write:orders\n        resource_server_identifier: https://orders.example.com\n  - name: Viewer",
            "  - name: Viewer",
        )
        .replace("    roles: [Order admin]", "    roles: [Viewer]")
        .replace("    given_name: Jane", "    given_name: Janet")
        .replace("    display_name: Acme", "    display_name: Acme Inc")
        .replace("      - user_id: auth0|bob-1\n", "")
        .replace("    password: Jane-passw0rd!", "    password: Jane-passw0rd!-2");
    assert_ne!(changed, TENANT);
    file.rewrite(&changed);
    let out = seeded(&seed(&database, &file.path()));
    assert!(out.contains(": 0 created, "), "{out}");

    let mut server = serve(database).await;
    let role_id = ok(&mut server, "/api/v2/roles?name_filter=Order").await[0]["id"].as_str().unwrap().to_owned();
    let permissions = ok(&mut server, &format!("/api/v2/roles/{role_id}/permissions")).await;
    assert_eq!(names(&permissions, "permission_name"), ["read:orders"]);
    let jane = user_by_email(&mut server, "jane@example.com").await;
    assert_eq!(jane["given_name"], "Janet");
    assert!(jane.get("last_password_reset").is_some(), "a new password counts as a reset: {jane}");
    let jane_id = jane["user_id"].as_str().unwrap().to_owned();
    let roles = ok(&mut server, &format!("/api/v2/users/{}/roles", encode(&jane_id))).await;
    assert_eq!(names(&roles, "name"), ["Viewer"]);
    let hash = server.store().await.password_hash(&jane_id).await.unwrap().unwrap();
    assert!(bcrypt::verify("Jane-passw0rd!-2", &hash).unwrap());
    let organization = ok(&mut server, "/api/v2/organizations/name/acme").await;
    assert_eq!(organization["display_name"], "Acme Inc");
    let org_id = organization["id"].as_str().unwrap();
    let members = ok(&mut server, &format!("/api/v2/organizations/{org_id}/members")).await;
    assert_eq!(names(&members, "user_id"), [jane_id]);
}

#[tokio::test]
async fn an_invalid_file_is_refused_whole_naming_each_line() {
    let database = TestDatabase::new().await;
    // Valid objects first, so that a half-applied file would show.
    let file = TenantFile::new(
        r###"resourceServers:
  - identifier: https://orders.example.com
    scopes: [{value: read:orders}]
  - identifier: https://broken.example.com
    token_lifetime: long
roles:
  - name: Reader
    permissions:
      - {permission_name: delete:orders, resource_server_identifier: https://orders.example.com}
users:
  - email: not-an-email
    password: Passw0rd!
  - email: ann@example.com
    password: Passw0rd!
    roles: [Nobody]
  - email: ann@example.com
    password: Passw0rd!
  - email: weak@example.com
    password: short
clientGrants:
  - {client_id: Nobody's client, audience: https://orders.example.com}
clients:
  - name: Dashboard
    description: "##UNSET_KEYWORD_FOR_TEST##"
rules: []
"###,
    );
    let output = seed(&database, &file.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file_name = file.path().display().to_string();
    for expected in [
        "is refused (9 problems); nothing was applied:",
        ":5: resourceServers[1].token_lifetime: Payload validation error: 'Expected type integer but found type string' on property token_lifetime",
        ":9: roles[0].permissions[0]: the API \"https://orders.example.com\" has no scope \"delete:orders\"",
        ":11: users[0].email: Payload validation error: 'Object didn't pass validation for format email: not-an-email'",
        ":15: users[1].roles[0]: no role named \"Nobody\" in the file or the database",
        ":16: users[2]: this user appears twice in the file (ann@example.com)",
        ":19: users[3].password: PasswordStrengthError: Password is too weak",
        ":21: clientGrants[0].client_id: no client with the id or name \"Nobody's client\" in the file or the database",
        ":24: clients[0].description: ##UNSET_KEYWORD_FOR_TEST## names no keyword: set the environment variable UNSET_KEYWORD_FOR_TEST",
        ":25: rules: unknown section \"rules\"",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(stderr.contains(&format!("{file_name}:5:")), "problems name the file: {stderr}");

    // Nothing was written: the valid API and role are not there.
    let mut server = serve(database).await;
    let apis = ok(&mut server, "/api/v2/resource-servers").await;
    assert!(!apis.to_string().contains("orders.example.com"), "{apis}");
    assert_eq!(ok(&mut server, "/api/v2/roles").await, json!([]));
    assert_eq!(ok(&mut server, "/api/v2/users").await, json!([]));
}

#[tokio::test]
async fn a_file_cannot_take_another_users_credentials_or_move_a_user() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    seeded(&seed(&database, &file.path()));
    // Jane exists (found by email); another entry with her email and its own id would be a
    // duplicate, and Bob (found by id) cannot change connection.
    file.rewrite(
        "users:\n  - user_id: other-1\n    email: jane@example.com\n    password: Passw0rd!-1\n  - user_id: bob-1\n    email: bob@example.com\n    password: Passw0rd!-1\n",
    );
    let output = seed(&database, &file.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(":3: users[0].email: user auth0|"), "{stderr}");
    assert!(stderr.contains("of connection \"Username-Password-Authentication\" already has this email"), "{stderr}");
    assert!(
        stderr.contains(
            ":5: users[1].connection: user auth0|bob-1 is in connection \"employees\"; a user cannot move to another"
        ),
        "{stderr}"
    );
    let mut server = serve(database).await;
    let users = ok(&mut server, "/api/v2/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(2), "nothing was written: {users}");
}

#[tokio::test]
async fn debug_logs_name_each_write_and_no_secret() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["seed", file.path().to_str().unwrap(), "--database-url", &database.url, "--domain", DOMAIN])
        .env("ORDERS_SECRET", ORDERS_SECRET)
        .env("ROSTER_LOG", "debug")
        .env_remove("ROSTER_DATABASE_URL")
        .output()
        .expect("roster seed runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("create client Orders backend (orders-backend)"), "{log}");
    assert!(log.contains("create user auth0|bob-1"), "{log}");
    assert!(!log.contains(ORDERS_SECRET), "the client secret is logged: {log}");
    assert!(!log.contains("$2b$10$"), "a password hash is logged: {log}");
}

#[tokio::test]
async fn minimal_entries_apply_twice_without_a_write() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(
        "resourceServers:\n  - identifier: https://min.example.com\nclients:\n  - name: Minimal\n    client_id: minimal\n\
         clientGrants:\n  - {client_id: Minimal, audience: https://min.example.com}\n  - {client_id: minimal, audience: https://roster.test/api/v2/, subject_type: client}\n\
         connections:\n  - {name: partners, strategy: auth0}\n  - {name: Username-Password-Authentication}\nroles:\n  - name: Bare\n\
         organizations:\n  - name: bare\n",
    );
    let first = seeded(&seed(&database, &file.path()));
    assert!(first.contains(": 7 created, "), "{first}");
    let second = seeded(&seed(&database, &file.path()));
    assert!(second.contains(": 0 created, 0 updated, 8 unchanged; 0 assignment lists changed"), "{second}");

    // A client found by its id can be renamed.
    file.rewrite("clients:\n  - name: Renamed\n    client_id: minimal\n");
    assert!(seeded(&seed(&database, &file.path())).contains(": 0 created, 1 updated, "));
    let mut server = serve(database).await;
    assert_eq!(ok(&mut server, "/api/v2/clients/minimal").await["name"], "Renamed");
}

#[tokio::test]
async fn two_entries_cannot_describe_one_user_or_client_and_members_keep_roles_the_file_leaves_out() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    seeded(&seed(&database, &file.path()));
    // Bob's entry moves his email away and a second entry takes it: matched against the
    // database as it was, both would describe Bob.
    file.rewrite(
        "users:\n  - {user_id: bob-1, connection: employees, email: robert@example.com, username: bob}\n\
         \x20 - {email: bob@example.com, connection: employees, username: bobby, password: Passw0rd!-2}\n\
         clients:\n  - {name: Orders backend}\n  - {name: Other, client_id: orders-backend}\n",
    );
    let output = seed(&database, &file.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(":3: users[1]: this is the user users[0] describes already (auth0|bob-1)"), "{stderr}");
    assert!(
        stderr.contains(":6: clients[1]: this is the client clients[0] describes already (orders-backend)"),
        "{stderr}"
    );

    // A member without `roles` keeps the roles they have; a member key the file misspells is
    // refused rather than read as "no roles".
    file.rewrite(
        "organizations:\n  - name: acme\n    members:\n      - email: jane@example.com\n      - user_id: auth0|bob-1\n",
    );
    seeded(&seed(&database, &file.path()));
    file.rewrite("organizations:\n  - name: acme\n    members:\n      - {email: jane@example.com, role: [Viewer]}\n");
    let stderr = String::from_utf8_lossy(&seed(&database, &file.path()).stderr).into_owned();
    assert!(stderr.contains(":4: organizations[0].members[0].role: unknown key \"role\""), "{stderr}");
    let mut server = serve(database).await;
    let jane = user_by_email(&mut server, "jane@example.com").await;
    let org_id = ok(&mut server, "/api/v2/organizations/name/acme").await["id"].as_str().unwrap().to_owned();
    let roles = ok(
        &mut server,
        &format!("/api/v2/organizations/{org_id}/members/{}/roles", encode(jane["user_id"].as_str().unwrap())),
    )
    .await;
    assert_eq!(names(&roles, "name"), ["Viewer"]);
}

#[tokio::test]
async fn empty_lists_clear_assignments_and_a_refused_object_is_reported_once() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new(TENANT);
    seeded(&seed(&database, &file.path()));
    file.rewrite(
        "roles:\n  - name: Order admin\n    permissions: []\nusers:\n  - email: jane@example.com\n    roles: []\n\
         organizations:\n  - name: acme\n    members: []\n",
    );
    let out = seeded(&seed(&database, &file.path()));
    assert!(out.contains("; 3 assignment lists changed"), "{out}");
    let mut server = serve(database.clone()).await;
    let role_id = ok(&mut server, "/api/v2/roles?name_filter=Order").await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(ok(&mut server, &format!("/api/v2/roles/{role_id}/permissions")).await, json!([]));
    let jane = user_by_email(&mut server, "jane@example.com").await;
    assert_eq!(
        ok(&mut server, &format!("/api/v2/users/{}/roles", encode(jane["user_id"].as_str().unwrap()))).await,
        json!([])
    );
    let org_id = ok(&mut server, "/api/v2/organizations/name/acme").await["id"].as_str().unwrap().to_owned();
    assert_eq!(ok(&mut server, &format!("/api/v2/organizations/{org_id}/members")).await, json!([]));
    server.stop();

    // An API the file gets wrong is one problem, not one more for each role or grant naming it;
    // `x-` keys hold anchors, and `<<` merges them.
    file.rewrite(
        "x-scope: &scope {resource_server_identifier: https://bad.example.com}\n\
         resourceServers:\n  - {identifier: https://bad.example.com, token_lifetime: long}\n\
         roles:\n  - name: Reader\n    permissions: [{<<: *scope, permission_name: read}]\n\
         clientGrants:\n  - {client_id: orders-backend, audience: https://bad.example.com}\n",
    );
    let output = seed(&database, &file.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is refused (1 problem)"), "{stderr}");
    assert!(stderr.contains(":3: resourceServers[0].token_lifetime: "), "{stderr}");
}

#[tokio::test]
async fn yaml_errors_name_their_line() {
    let database = TestDatabase::new().await;
    let file = TenantFile::new("roles:\n  - name: a\n  - name: [\n");
    let output = seed(&database, &file.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is refused (1 problem)"), "{stderr}");
    assert!(stderr.contains("tenant.yaml:4:"), "{stderr}");

    file.rewrite("roles:\n  - name: a\n    name: b\n");
    let stderr = String::from_utf8_lossy(&seed(&database, &file.path()).stderr).into_owned();
    assert!(stderr.contains("tenant.yaml:3: roles[0].name: duplicate key \"name\""), "{stderr}");
}

#[tokio::test]
async fn serve_applies_a_seed_file_before_serving_and_refuses_to_start_on_a_bad_one() {
    let file = TenantFile::new("roles:\n  - name: Support\n    description: Helps\n");
    let path = file.path().display().to_string();
    let mut server = Server::start_with(&["--seed", &path]).await;
    let roles = ok(&mut server, "/api/v2/roles").await;
    assert_eq!(names(&roles, "name"), ["Support"]);

    // Restarting with the same file keeps one role.
    let mut server = server.restart(&["--seed", &path]).await;
    assert_eq!(ok(&mut server, "/api/v2/roles").await.as_array().map(Vec::len), Some(1));
    server.stop();

    file.rewrite("roles:\n  - description: no name\n");
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &server.database.url, "--seed", &path])
        .env_remove("ROSTER_DATABASE_URL")
        .output()
        .expect("roster serve runs");
    assert!(!output.status.success(), "a bad seed file stops the start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tenant.yaml:2: roles[0]: missing name"), "{stderr}");
}

/// Users beyond a batch of the bulk load, a problem after them, then the file fixed.
/// `users` new users with a role, then the `late` entry, and an organization naming every
/// hundredth user.
fn many_users_file(users: usize, late: Option<&str>) -> String {
    const HASH: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    let mut file = String::from("roles:\n  - name: Member\nusers:\n");
    for n in 0..users {
        file.push_str(&format!("  - {{email: many{n}@example.com, password_hash: '{HASH}', roles: [Member]}}\n"));
    }
    if let Some(late) = late {
        file.push_str(&format!("  - {late}\n"));
    }
    file.push_str("organizations:\n  - name: many\n    members:\n");
    for n in (0..users).step_by(100) {
        file.push_str(&format!("      - {{email: many{n}@example.com, roles: [Member]}}\n"));
    }
    file
}

#[tokio::test]
async fn a_large_file_streams_its_users_and_a_late_problem_leaves_none_of_them() {
    let database = TestDatabase::new().await;
    // 2,500 new users: two batches are in the bulk load before the bad entry is read.
    let file = TenantFile::new(&many_users_file(2500, Some("{email: not-an-email, password: Passw0rd!}")));
    let output = seed(&database, &file.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is refused (1 problem); nothing was applied:"), "{stderr}");
    assert!(stderr.contains(":2504: users[2500].email: Payload validation error"), "{stderr}");
    {
        let mut server = serve(database.clone()).await;
        let users = ok(&mut server, "/api/v2/users?include_totals=true&per_page=1").await;
        assert_eq!(users["total"], 0, "nothing of the refused file was written: {users}");
        assert_eq!(ok(&mut server, "/api/v2/roles").await, json!([]));
    }

    // A problem the YAML reader finds, late among the users, refuses the file as well.
    file.rewrite(&many_users_file(
        2500,
        Some("{email: twice@example.com, email: again@example.com, password: Passw0rd!}"),
    ));
    let stderr = String::from_utf8_lossy(&seed(&database, &file.path()).stderr).into_owned();
    assert!(stderr.contains("is refused (1 problem); nothing was applied:"), "{stderr}");
    assert!(stderr.contains(":2504: users[2500].email: duplicate key \"email\""), "{stderr}");

    file.rewrite(&many_users_file(2500, None));
    // Assignment lists: the 2,500 users' roles, the members, and 25 members' roles.
    let first = seeded(&seed(&database, &file.path()));
    assert!(first.contains(": 2502 created, 0 updated, 0 unchanged; 2526 assignment lists changed"), "{first}");
    let second = seeded(&seed(&database, &file.path()));
    assert!(second.contains(": 0 created, 0 updated, 2502 unchanged; 0 assignment lists changed"), "{second}");

    let mut server = serve(database).await;
    let users = ok(&mut server, "/api/v2/users?include_totals=true&per_page=1&q=email:many2499@example.com").await;
    assert_eq!(users["total"], 1, "{users}");
    let user_id = users["users"][0]["user_id"].as_str().expect("user_id").to_owned();
    let roles = ok(&mut server, &format!("/api/v2/users/{}/roles", encode(&user_id))).await;
    assert_eq!(names(&roles, "name"), ["Member"]);
    let role_id = ok(&mut server, "/api/v2/roles").await[0]["id"].as_str().expect("id").to_owned();
    let holders = ok(&mut server, &format!("/api/v2/roles/{role_id}/users?include_totals=true&per_page=1")).await;
    assert_eq!(holders["total"], 2500, "{holders}");
    let organization = ok(&mut server, "/api/v2/organizations/name/many").await;
    let id = organization["id"].as_str().expect("id");
    let members = ok(&mut server, &format!("/api/v2/organizations/{id}/members?include_totals=true&per_page=1")).await;
    assert_eq!(members["total"], 25, "{members}");
}
