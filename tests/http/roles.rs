//! `/api/v2/roles` (roles, their permissions and users), `/api/v2/users/{id}/roles` and
//! `/api/v2/users/{id}/permissions`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Reply, Server, encode};

/// Creates a role and returns its id.
pub async fn create_role(server: &mut Server, name: &str) -> String {
    let reply = server.post("/api/v2/roles", json!({"name": name, "description": format!("{name} role")})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Creates a resource server with these scopes (values, described `Can <value>`).
pub async fn create_api(server: &mut Server, identifier: &str, scopes: &[&str]) -> Value {
    let scopes: Vec<Value> = scopes.iter().map(|s| json!({"value": s, "description": format!("Can {s}")})).collect();
    let reply = server
        .post(
            "/api/v2/resource-servers",
            json!({"name": format!("API {identifier}"), "identifier": identifier, "scopes": scopes}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

pub fn permission(identifier: &str, name: &str) -> Value {
    json!({"resource_server_identifier": identifier, "permission_name": name})
}

/// A user's path under `/api/v2/users/`.
pub fn user_path(user: &Value) -> String {
    format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()))
}

/// `(permission_name, [source_type/source_name…])` of each permission a user has, in order.
pub async fn user_permissions(server: &mut Server, user: &Value) -> Vec<(String, Vec<String>)> {
    let reply = server.get(&format!("{}/permissions", user_path(user))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let sources = p["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{}/{}", s["source_type"].as_str().unwrap(), s["source_name"].as_str().unwrap()))
                .collect();
            (p["permission_name"].as_str().unwrap().to_owned(), sources)
        })
        .collect()
}

/// The names of a user's roles, in order.
pub async fn user_role_names(server: &mut Server, user: &Value) -> Vec<String> {
    let reply = server.get(&format!("{}/roles", user_path(user))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

/// `permission_name`s a role grants, in order.
pub async fn role_permission_names(server: &mut Server, role_id: &str) -> Vec<String> {
    let reply = server.get(&format!("/api/v2/roles/{role_id}/permissions")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().iter().map(|p| p["permission_name"].as_str().unwrap().to_owned()).collect()
}

async fn delete_with(server: &mut Server, path: &str, body: Value) -> Reply {
    server.call(Method::DELETE, path, Some(body)).await
}

fn assert_empty_204(reply: &Reply) {
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(reply.text, "");
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
}

fn is_role_id(id: &str) -> bool {
    id.strip_prefix("rol_").is_some_and(|rest| rest.len() == 16 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

// ---------------------------------------------------------------------------------------------
// Roles

#[tokio::test]
async fn role_lifecycle_as_recorded() {
    let mut server = Server::start().await;
    // TestRoleManager_Create/Read/Update/Delete: 200 on create, 200 `{}` on delete.
    let created = server.post("/api/v2/roles", json!({"name": "test-role606", "description": "Test Role"})).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(is_role_id(&id), "{id}");
    assert_eq!(created.body, json!({"id": id, "name": "test-role606", "description": "Test Role"}));
    assert_eq!(created.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let path = format!("/api/v2/roles/{id}");
    assert_eq!(server.get(&path).await.body, created.body);

    let updated = server.patch(&path, json!({"description": "The Administrator"})).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body, json!({"id": id, "name": "test-role606", "description": "The Administrator"}));
    let renamed = server.patch(&path, json!({"name": "renamed"})).await;
    assert_eq!(renamed.body, json!({"id": id, "name": "renamed", "description": "The Administrator"}));
    assert_eq!(server.get(&path).await.body, renamed.body);

    let deleted = server.delete(&path).await;
    assert_eq!((deleted.status.as_u16(), deleted.body.clone()), (200, json!({})));
    // Recorded: `{"statusCode":404,"error":"Not Found","message":"The role does not exist."}`.
    server.get(&path).await.assert_error(404, None, "The role does not exist.");
    server.delete(&path).await.assert_error(404, None, "The role does not exist.");
    server.patch(&path, json!({"name": "x"})).await.assert_error(404, None, "The role does not exist.");
    server.get("/api/v2/roles/rol_nope%00").await.assert_error(404, None, "The role does not exist.");
}

#[tokio::test]
async fn a_role_without_description_has_no_description_key() {
    let mut server = Server::start().await;
    let created = server.post("/api/v2/roles", json!({"name": "bare"})).await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "name"]);
}

#[tokio::test]
async fn role_payload_errors() {
    let mut server = Server::start().await;
    server.post("/api/v2/roles", json!({"description": "x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: name'.",
    );
    server.post("/api/v2/roles", json!({"name": "a", "permissions": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: permissions'.",
    );
    server.post("/api/v2/roles", json!({"name": 5, "description": false})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type string but found type boolean' on property description (Description of the role). (also) Payload validation error: 'Expected type string but found type integer' on property name (Name of the role).",
    );
    server.post("/api/v2/roles", json!({"name": ""})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String is too short (0 chars), minimum 1' on property name (Name of the role).",
    );
    server.post("/api/v2/roles", json!(["x"])).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type object but found type array'.",
    );
    let id = create_role(&mut server, "admin").await;
    server.patch(&format!("/api/v2/roles/{id}"), json!({"id": "rol_x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: id'.",
    );
    server.patch(&format!("/api/v2/roles/{id}"), json!({"description": null})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type string but found type null' on property description (Description of this role).",
    );
    // Nothing was stored by the refused requests.
    assert_eq!(server.get("/api/v2/roles?include_totals=true").await.body["total"], 1);
}

#[tokio::test]
async fn role_names_are_unique() {
    let mut server = Server::start().await;
    create_role(&mut server, "admin").await;
    let other = create_role(&mut server, "editor").await;
    server.post("/api/v2/roles", json!({"name": "admin"})).await.assert_error(409, None, "The role already exists.");
    server.patch(&format!("/api/v2/roles/{other}"), json!({"name": "admin"})).await.assert_error(
        409,
        None,
        "The role already exists.",
    );
    assert_eq!(server.get(&format!("/api/v2/roles/{other}")).await.body["name"], "editor");
    // Names differing only in case are different names.
    assert_eq!(server.post("/api/v2/roles", json!({"name": "Admin"})).await.status, 200);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_role() {
    let mut server = Server::start().await;
    let token = server.token().await;
    let body = json!({"name": "racer"});
    let attempts = (0..20).map(|_| server.send_raw(Method::POST, "/api/v2/roles", Some(&token), Some(&body)));
    let replies = futures_join_all(attempts).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    assert_eq!(server.get("/api/v2/roles?include_totals=true").await.body["total"], 1);
}

/// Runs the futures concurrently on this task and collects their outputs in order.
pub async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => outputs[i] = Some(output),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn lists_roles_by_name_with_pages_totals_and_name_filter() {
    let mut server = Server::start().await;
    for name in ["Test Owner", "viewer", "Test Admin", "Éditeur"] {
        create_role(&mut server, name).await;
    }
    let names = |reply: &Reply, key: Option<&str>| -> Vec<String> {
        let list = key.map_or(&reply.body, |k| &reply.body[k]);
        list.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    let all = server.get("/api/v2/roles").await;
    assert_eq!(names(&all, None), ["Test Admin", "Test Owner", "viewer", "Éditeur"]);

    let page = server.get("/api/v2/roles?per_page=2&page=1&include_totals=true").await;
    assert_eq!(page.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["roles", "start", "limit", "total"]);
    assert_eq!(
        (page.body["start"].clone(), page.body["limit"].clone(), page.body["total"].clone()),
        (json!(2), json!(2), json!(4))
    );
    assert_eq!(names(&page, Some("roles")), ["viewer", "Éditeur"]);

    // go-auth0's TestRoleManager_List: name_filter, include_totals and per_page together.
    let filtered = server.get("/api/v2/roles?include_totals=true&name_filter=test%20a&per_page=50").await;
    assert_eq!(names(&filtered, Some("roles")), ["Test Admin"]);
    assert_eq!(filtered.body["total"], 1);
    let filtered = server.get("/api/v2/roles?name_filter=TEST").await;
    assert_eq!(names(&filtered, None), ["Test Admin", "Test Owner"]);
    let filtered = server.get("/api/v2/roles?name_filter=%C3%89DIT").await;
    assert_eq!(names(&filtered, None), ["Éditeur"]);
    let filtered = server.get("/api/v2/roles?name_filter=test&per_page=1&page=1&include_totals=true").await;
    assert_eq!(
        (names(&filtered, Some("roles")), filtered.body["total"].clone()),
        (vec!["Test Owner".to_owned()], json!(2))
    );
    assert_eq!(server.get("/api/v2/roles?name_filter=nobody").await.body, json!([]));

    server.get("/api/v2/roles?per_page=0").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property per_page (Number of results per page. Defaults to 50).",
    );
    server.get("/api/v2/roles?per_page=101").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page. Defaults to 50).",
    );
    server.get("/api/v2/roles?page=-1").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value -1 is less than minimum 0' on property page (Page index of the results to return. First page is 0).",
    );
    server.get("/api/v2/roles?include_totals=yes").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Expected type boolean but found type string' on property include_totals (Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)).",
    );
    server.get("/api/v2/roles?q=admin").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Additional properties not allowed: q'.",
    );
}

#[tokio::test]
async fn role_endpoints_check_their_scopes() {
    let mut server = Server::start().await;
    let id = create_role(&mut server, "admin").await;
    let user = server.create_user("member@example.com").await;
    let reader = server.token_with_scope(Some("read:users")).await;
    let expect = |reply: Reply, scopes: &str| {
        reply.assert_error(403, Some("insufficient_scope"), &format!("Insufficient scope, expected any of: {scopes}"));
    };
    expect(server.send_raw(Method::GET, "/api/v2/roles", Some(&reader), None).await, "read:roles");
    expect(
        server.send_raw(Method::POST, "/api/v2/roles", Some(&reader), Some(&json!({"name": "x"}))).await,
        "create:roles",
    );
    expect(server.send_raw(Method::GET, &format!("/api/v2/roles/{id}"), Some(&reader), None).await, "read:roles");
    expect(
        server.send_raw(Method::PATCH, &format!("/api/v2/roles/{id}"), Some(&reader), Some(&json!({}))).await,
        "update:roles",
    );
    expect(server.send_raw(Method::DELETE, &format!("/api/v2/roles/{id}"), Some(&reader), None).await, "delete:roles");
    expect(
        server.send_raw(Method::GET, &format!("/api/v2/roles/{id}/permissions"), Some(&reader), None).await,
        "read:roles",
    );
    expect(
        server
            .send_raw(Method::POST, &format!("/api/v2/roles/{id}/permissions"), Some(&reader), Some(&json!({})))
            .await,
        "update:roles",
    );
    expect(
        server
            .send_raw(Method::DELETE, &format!("/api/v2/roles/{id}/permissions"), Some(&reader), Some(&json!({})))
            .await,
        "update:roles",
    );
    expect(
        server.send_raw(Method::POST, &format!("/api/v2/roles/{id}/users"), Some(&reader), Some(&json!({}))).await,
        "update:roles,create:role_members",
    );
    let roles_reader = server.token_with_scope(Some("read:roles")).await;
    expect(
        server.send_raw(Method::POST, &format!("{}/roles", user_path(&user)), Some(&roles_reader), None).await,
        "update:users,create:role_members",
    );
    expect(
        server.send_raw(Method::DELETE, &format!("{}/roles", user_path(&user)), Some(&roles_reader), None).await,
        "update:users,delete:role_members",
    );
    expect(
        server.send_raw(Method::GET, &format!("{}/permissions", user_path(&user)), Some(&roles_reader), None).await,
        "read:users",
    );
    expect(
        server.send_raw(Method::POST, &format!("{}/permissions", user_path(&user)), Some(&roles_reader), None).await,
        "update:users",
    );
    expect(
        server.send_raw(Method::DELETE, &format!("{}/permissions", user_path(&user)), Some(&roles_reader), None).await,
        "update:users",
    );
    // A role's users and a user's roles need read:users and read:roles together.
    let users_of_role = format!("/api/v2/roles/{id}/users");
    let roles_of_user = format!("{}/roles", user_path(&user));
    let both = server.token_with_scope(Some("read:users read:roles")).await;
    for token in [&reader, &roles_reader, &server.token_with_scope(Some("read:role_members")).await] {
        for path in [&users_of_role, &roles_of_user] {
            server.send_raw(Method::GET, path, Some(token), None).await.assert_error(
                403,
                Some("insufficient_scope"),
                "Insufficient scope, expected all of: read:users,read:roles",
            );
            assert_eq!(server.send_raw(Method::GET, path, Some(&both), None).await.status, 200);
        }
    }

    // Any one of an operation's scopes will do.
    let members = server.token_with_scope(Some("create:role_members read:role_members")).await;
    let assigned = server
        .send_raw(
            Method::POST,
            &format!("/api/v2/roles/{id}/users"),
            Some(&members),
            Some(&json!({"users": [user["user_id"]]})),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let listed = server.send_raw(Method::GET, &roles_of_user, Some(&both), None).await;
    assert_eq!(listed.body[0]["id"], json!(id));
    assert_eq!(server.send_raw(Method::GET, "/api/v2/roles", None, None).await.status, 401);
}

// ---------------------------------------------------------------------------------------------
// Role permissions

#[tokio::test]
async fn role_permissions_as_recorded() {
    let mut server = Server::start().await;
    let role = create_role(&mut server, "test-role885").await;
    create_api(&mut server, "https://api.example.com/", &["create:resource", "read:resource"]).await;
    create_api(&mut server, "https://a.example.com/", &["read:a"]).await;
    let path = format!("/api/v2/roles/{role}/permissions");

    // TestRoleManager_Permissions: 201 `{}`, then the listing, then 204 on removal.
    let added =
        server.post(&path, json!({"permissions": [permission("https://api.example.com/", "create:resource")]})).await;
    assert_eq!((added.status.as_u16(), added.body.clone()), (201, json!({})));
    let listed = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(
        listed.body,
        json!({"permissions": [{
            "permission_name": "create:resource", "description": "Can create:resource",
            "resource_server_name": "API https://api.example.com/", "resource_server_identifier": "https://api.example.com/"
        }], "start": 0, "limit": 50, "total": 1})
    );

    // Adding again, and adding more: each permission once, by API identifier then name.
    let more = json!({"permissions": [
        permission("https://api.example.com/", "read:resource"),
        permission("https://api.example.com/", "create:resource"),
        permission("https://a.example.com/", "read:a"),
    ]});
    assert_eq!(server.post(&path, more).await.status, 201);
    let listed = server.get(&path).await;
    let pairs: Vec<(String, String)> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (p["resource_server_identifier"].as_str().unwrap().into(), p["permission_name"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("https://a.example.com/".to_owned(), "read:a".to_owned()),
            ("https://api.example.com/".to_owned(), "create:resource".to_owned()),
            ("https://api.example.com/".to_owned(), "read:resource".to_owned()),
        ]
    );
    let page = server.get(&format!("{path}?per_page=1&page=2&include_totals=true")).await;
    assert_eq!(page.body["permissions"][0]["permission_name"], "read:resource");
    assert_eq!((page.body["start"].clone(), page.body["total"].clone()), (json!(2), json!(3)));

    let removed = delete_with(
        &mut server,
        &path,
        json!({"permissions": [permission("https://api.example.com/", "create:resource"), permission("https://a.example.com/", "read:a")]}),
    )
    .await;
    assert_empty_204(&removed);
    assert_eq!(role_permission_names(&mut server, &role).await, ["read:resource"]);
    // Removing what the role does not have changes nothing.
    let again =
        delete_with(&mut server, &path, json!({"permissions": [permission("https://x.example.com/", "nope")]})).await;
    assert_empty_204(&again);
    assert_eq!(role_permission_names(&mut server, &role).await, ["read:resource"]);
}

#[tokio::test]
async fn role_permission_errors() {
    let mut server = Server::start().await;
    let role = create_role(&mut server, "admin").await;
    create_api(&mut server, "https://api.example.com/", &["read:x"]).await;
    let path = format!("/api/v2/roles/{role}/permissions");
    let good = json!({"permissions": [permission("https://api.example.com/", "read:x")]});

    for method in [Method::GET, Method::POST, Method::DELETE] {
        let body = (method != Method::GET).then(|| good.clone());
        server.call(method, "/api/v2/roles/rol_0000000000000000/permissions", body).await.assert_error(
            404,
            None,
            "The role does not exist.",
        );
    }
    // The spec lists an unknown API among this operation's 404s.
    server
        .post(&path, json!({"permissions": [permission("https://api.example.com/", "read:x"), permission("https://none.example.com/", "read:x")]}))
        .await
        .assert_error(404, None, "The resource server does not exist.");
    server
        .post(&path, json!({"permissions": [permission("https://api.example.com/", "read:x"), permission("https://api.example.com/", "write:x")]}))
        .await
        .assert_error(400, None, "Permission 'write:x' does not exist on resource server 'https://api.example.com/'.");
    // All or nothing: the good permission of a refused request was not added.
    assert!(role_permission_names(&mut server, &role).await.is_empty());

    server.post(&path, json!({"permissions": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array is too short (0), minimum 1' on property permissions (array of resource_server_identifier, permission_name pairs).",
    );
    server.post(&path, json!({})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: permissions'.",
    );
    server.post(&path, json!({"permissions": [{"permission_name": "read:x"}]})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: resource_server_identifier' on property permissions[0].",
    );
    delete_with(&mut server, &path, json!({"permissions": [{"resource_server_identifier": "https://api.example.com/", "permission_name": 1}]}))
        .await
        .assert_error(
            400,
            Some("invalid_body"),
            "Payload validation error: 'Expected type string but found type integer' on property permissions[0].permission_name (Name of this permission).",
        );
    server.get(&format!("{path}?per_page=500")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 500 is greater than maximum 100' on property per_page (Number of results per page. Defaults to 50).",
    );
}

// ---------------------------------------------------------------------------------------------
// Role users

#[tokio::test]
async fn role_users_with_offset_and_checkpoint_pagination() {
    let mut server = Server::start().await;
    let role = create_role(&mut server, "test-role256").await;
    let mut users = Vec::new();
    for email in ["chuck986@example.com", "chuck499@example.com", "chuck908@example.com"] {
        users.push(server.create_user(email).await);
    }
    let path = format!("/api/v2/roles/{role}/users");
    let ids: Vec<Value> = users.iter().map(|u| u["user_id"].clone()).collect();
    // TestRoleManager_UsersCheckpointPagination: 200 `{}`.
    let assigned = server.post(&path, json!({"users": ids})).await;
    assert_eq!((assigned.status.as_u16(), assigned.body.clone()), (200, json!({})));
    // Assigned together, members come in user id order.
    let mut expected: Vec<Value> = users
        .iter()
        .map(|u| json!({"user_id": u["user_id"], "email": u["email"], "picture": u["picture"], "name": u["name"]}))
        .collect();
    expected.sort_by(|a, b| a["user_id"].as_str().cmp(&b["user_id"].as_str()));

    let listed = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(listed.body, json!({"users": expected, "start": 0, "limit": 50, "total": 3}));
    assert_eq!(server.get(&format!("{path}?per_page=2&page=1")).await.body, json!([expected[2]]));

    // go-auth0 sends include_totals and per_page along with take: the checkpoint wins.
    let first = server.get(&format!("{path}?include_totals=true&per_page=50&take=2")).await;
    assert_eq!(first.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["users", "next"]);
    assert_eq!(first.body["users"], json!(expected[..2]));
    let next = first.body["next"].as_str().unwrap();
    let second = server.get(&format!("{path}?from={next}&include_totals=true&per_page=50&take=2")).await;
    assert_eq!(second.body, json!({"users": [expected[2]]}));
    // A later assignment comes after the earlier ones, whatever its id.
    let late = server.create_user("aaa-late@example.com").await;
    assert_eq!(server.post(&path, json!({"users": [late["user_id"]]})).await.status, 200);
    let rest = server.get(&format!("{path}?from={next}&take=5")).await;
    let rest_ids: Vec<&Value> = rest.body["users"].as_array().unwrap().iter().map(|u| &u["user_id"]).collect();
    assert_eq!(rest_ids, [&expected[2]["user_id"], &late["user_id"]]);
    let walked = server.get(&format!("{path}?take=100")).await;
    assert_eq!(walked.body["users"].as_array().unwrap().len(), 4);
    assert!(walked.body.get("next").is_none());

    server.get(&format!("{path}?from=%25%25")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Invalid cursor: %%' on property from (Optional Id from which to start selection).",
    );
    server.get(&format!("{path}?from=bm90IGEgY3Vyc29y")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Invalid cursor: bm90IGEgY3Vyc29y' on property from (Optional Id from which to start selection).",
    );
    server.get(&format!("{path}?take=0")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property take (Number of results per page. Defaults to 50).",
    );
}

#[tokio::test]
async fn role_user_errors() {
    let mut server = Server::start().await;
    let role = create_role(&mut server, "admin").await;
    let user = server.create_user("one@example.com").await;
    let path = format!("/api/v2/roles/{role}/users");
    server.get("/api/v2/roles/rol_0000000000000000/users").await.assert_error(404, None, "The role does not exist.");
    server.get("/api/v2/roles/rol_0000000000000000/users?take=1").await.assert_error(
        404,
        None,
        "The role does not exist.",
    );
    server.post("/api/v2/roles/rol_0000000000000000/users", json!({"users": [user["user_id"]]})).await.assert_error(
        404,
        None,
        "The role does not exist.",
    );
    server.post(&path, json!({"users": [user["user_id"], "auth0|nobody"]})).await.assert_error(
        404,
        None,
        "One or more of the users do not exist.",
    );
    assert_eq!(server.get(&path).await.body, json!([]), "all or nothing");
    server.post(&path, json!({"users": "auth0|x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type array but found type string' on property users (user_id's of the users to assign the role to).",
    );
    server.post(&path, json!({})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: users'.",
    );
    // Assigning twice keeps one membership.
    for _ in 0..2 {
        assert_eq!(server.post(&path, json!({"users": [user["user_id"]]})).await.status, 200);
    }
    assert_eq!(server.get(&format!("{path}?include_totals=true")).await.body["total"], 1);
}

// ---------------------------------------------------------------------------------------------
// A user's roles

#[tokio::test]
async fn user_roles_as_recorded() {
    let mut server = Server::start().await;
    let owner = create_role(&mut server, "Test Owner testaccuserroles").await;
    let admin = create_role(&mut server, "Test Admin testaccuserroles").await;
    let user = server.create_user("testaccuserroles@acceptance.test.com").await;
    let path = format!("{}/roles", user_path(&user));
    let empty = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(empty.body, json!({"roles": [], "start": 0, "limit": 50, "total": 0}));

    // TestAccUserRoles: one role, then the other; 204 each time; listed by name.
    assert_empty_204(&server.post(&path, json!({"roles": [owner]})).await);
    assert_empty_204(&server.post(&path, json!({"roles": [admin]})).await);
    let listed = server.get(&format!("{path}?include_totals=true&page=0&per_page=100")).await;
    assert_eq!(
        listed.body,
        json!({"roles": [
            {"id": admin, "name": "Test Admin testaccuserroles", "description": "Test Admin testaccuserroles role"},
            {"id": owner, "name": "Test Owner testaccuserroles", "description": "Test Owner testaccuserroles role"}
        ], "start": 0, "limit": 100, "total": 2})
    );
    assert_eq!(server.get(&format!("{path}?per_page=1&page=1")).await.body, json!([listed.body["roles"][1]]));
    // Assigning a role the user has changes nothing.
    assert_empty_204(&server.post(&path, json!({"roles": [admin, admin]})).await);
    assert_eq!(user_role_names(&mut server, &user).await.len(), 2);

    // DELETE with a JSON body; roles the user does not have are ignored.
    assert_empty_204(&delete_with(&mut server, &path, json!({"roles": [admin, "rol_0000000000000000"]})).await);
    assert_eq!(user_role_names(&mut server, &user).await, ["Test Owner testaccuserroles"]);
    // The role is still there; only the assignment went.
    assert_eq!(server.get(&format!("/api/v2/roles/{admin}")).await.status, 200);
}

#[tokio::test]
async fn user_role_errors() {
    let mut server = Server::start().await;
    let role = create_role(&mut server, "admin").await;
    let user = server.create_user("one@example.com").await;
    let path = format!("{}/roles", user_path(&user));

    for method in [Method::GET, Method::POST, Method::DELETE] {
        let body = (method != Method::GET).then(|| json!({"roles": [role]}));
        server.call(method, "/api/v2/users/auth0%7Cnobody/roles", body).await.assert_error(
            404,
            Some("inexistent_user"),
            "The user does not exist.",
        );
    }
    for (method, description) in [
        (Method::GET, "ID of the user to list roles for"),
        (Method::POST, "ID of the user to associate roles with"),
        (Method::DELETE, "ID of the user to remove roles from"),
    ] {
        let body = (method != Method::GET).then(|| json!({"roles": [role]}));
        server.call(method, "/api/v2/users/nopipe/roles", body).await.assert_error(
            400,
            Some("invalid_uri"),
            &format!("Path validation error: 'String does not match pattern ^.+\\|.+$: nopipe' on property id ({description})."),
        );
    }
    server.post(&path, json!({"roles": ["rol_0000000000000001", role, "rol_0000000000000000"]})).await.assert_error(
        400,
        Some("invalid_body"),
        "One or more of the specified roles do not exist: rol_0000000000000001, rol_0000000000000000",
    );
    assert!(user_role_names(&mut server, &user).await.is_empty(), "all or nothing");
    server.post(&path, json!({"roles": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs to associated with the user).",
    );
    server.post(&path, json!({"roles": [""]})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String is too short (0 chars), minimum 1' on property roles[0].",
    );
    delete_with(&mut server, &path, json!({"roles": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs to remove from the user).",
    );
    delete_with(&mut server, &path, json!({"role": [role]})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: role'.",
    );
    server.get(&format!("{path}?per_page=0")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property per_page (Number of results per page).",
    );
}

#[tokio::test]
async fn deleting_a_role_or_a_user_removes_their_assignments() {
    let mut server = Server::start().await;
    create_api(&mut server, "https://api.example.com/", &["read:x"]).await;
    let role = create_role(&mut server, "admin").await;
    let kept = create_role(&mut server, "kept").await;
    server
        .post(
            &format!("/api/v2/roles/{role}/permissions"),
            json!({"permissions": [permission("https://api.example.com/", "read:x")]}),
        )
        .await;
    let user = server.create_user("member@example.com").await;
    server.post(&format!("{}/roles", user_path(&user)), json!({"roles": [role, kept]})).await;
    assert_eq!(user_permissions(&mut server, &user).await, [("read:x".to_owned(), vec!["ROLE/admin".to_owned()])]);

    assert_eq!(server.delete(&format!("/api/v2/roles/{role}")).await.status, 200);
    assert_eq!(user_role_names(&mut server, &user).await, ["kept"]);
    assert!(user_permissions(&mut server, &user).await.is_empty());
    // A new role of the same name starts empty.
    let again = create_role(&mut server, "admin").await;
    assert!(role_permission_names(&mut server, &again).await.is_empty());
    assert_eq!(server.get(&format!("/api/v2/roles/{again}/users")).await.body, json!([]));

    // Deleting the user removes its memberships; the same user id created again has none.
    assert_eq!(server.get(&format!("/api/v2/roles/{kept}/users?include_totals=true")).await.body["total"], 1);
    assert_eq!(server.delete(&user_path(&user)).await.status, 204);
    assert_eq!(server.get(&format!("/api/v2/roles/{kept}/users?include_totals=true")).await.body["total"], 0);
    let provider_id = user["user_id"].as_str().unwrap().strip_prefix("auth0|").unwrap();
    let recreated = server
        .post(
            "/api/v2/users",
            json!({"connection": "Username-Password-Authentication", "email": "member@example.com", "password": "Passw0rd!", "user_id": provider_id}),
        )
        .await;
    assert_eq!(recreated.body["user_id"], user["user_id"], "{}", recreated.text);
    assert!(user_role_names(&mut server, &user).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// A user's permissions

#[tokio::test]
async fn user_permissions_as_recorded() {
    let mut server = Server::start().await;
    let api = "https://uat.api.terraform-provider-auth0.com/testaccuserpermissions";
    create_api(&mut server, api, &["create:foo", "read:foo"]).await;
    let user = server.create_user("testaccuserpermissions@acceptance.test.com").await;
    let path = format!("{}/permissions", user_path(&user));
    let empty = server.get(&format!("{path}?include_totals=true&page=0&per_page=100")).await;
    assert_eq!(empty.body, json!({"permissions": [], "start": 0, "limit": 100, "total": 0}));

    // TestAccUserPermissions: 201 `{}` on assignment, then the listing with its sources.
    let added = server.post(&path, json!({"permissions": [permission(api, "read:foo")]})).await;
    assert_eq!((added.status.as_u16(), added.body.clone()), (201, json!({})));
    server.post(&path, json!({"permissions": [permission(api, "create:foo")]})).await;
    let listed = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    let direct = json!([{"source_id": "", "source_name": "", "source_type": "DIRECT"}]);
    assert_eq!(
        listed.body,
        json!({"permissions": [
            {"permission_name": "create:foo", "description": "Can create:foo", "resource_server_name": format!("API {api}"), "resource_server_identifier": api, "sources": direct},
            {"permission_name": "read:foo", "description": "Can read:foo", "resource_server_name": format!("API {api}"), "resource_server_identifier": api, "sources": direct}
        ], "start": 0, "limit": 50, "total": 2})
    );
    let page = server.get(&format!("{path}?per_page=1&page=1")).await;
    assert_eq!(page.body, json!([listed.body["permissions"][1]]));

    assert_empty_204(&delete_with(&mut server, &path, json!({"permissions": [permission(api, "read:foo")]})).await);
    assert_eq!(user_permissions(&mut server, &user).await, [("create:foo".to_owned(), vec!["DIRECT/".to_owned()])]);
    // Removing a permission the user does not have, or one that does not exist, changes nothing.
    let again = delete_with(
        &mut server,
        &path,
        json!({"permissions": [permission(api, "read:foo"), permission("https://none.example.com/", "x")]}),
    )
    .await;
    assert_empty_204(&again);
    assert_eq!(user_permissions(&mut server, &user).await.len(), 1);
}

#[tokio::test]
async fn user_permissions_merge_direct_and_role_sources() {
    let mut server = Server::start().await;
    create_api(&mut server, "https://b.example.com/", &["read", "write", "delete"]).await;
    create_api(&mut server, "https://a.example.com/", &["read"]).await;
    let zed = create_role(&mut server, "Zed").await;
    let admin = create_role(&mut server, "Admin").await;
    let grant = |identifier: &str, names: &[&str]| -> Value {
        json!({"permissions": names.iter().map(|n| permission(identifier, n)).collect::<Vec<_>>()})
    };
    server
        .post(&format!("/api/v2/roles/{admin}/permissions"), grant("https://b.example.com/", &["read", "write"]))
        .await;
    server.post(&format!("/api/v2/roles/{zed}/permissions"), grant("https://b.example.com/", &["write"])).await;
    server.post(&format!("/api/v2/roles/{zed}/permissions"), grant("https://a.example.com/", &["read"])).await;
    let user = server.create_user("merged@example.com").await;
    server
        .post(&format!("{}/permissions", user_path(&user)), grant("https://b.example.com/", &["read", "delete"]))
        .await;
    server.post(&format!("{}/roles", user_path(&user)), json!({"roles": [zed, admin]})).await;

    let listed = server.get(&format!("{}/permissions?include_totals=true", user_path(&user))).await;
    assert_eq!(listed.body["total"], 4);
    let read = &listed.body["permissions"][2];
    assert_eq!(read["resource_server_identifier"], "https://b.example.com/");
    assert_eq!(
        read["sources"],
        json!([
            {"source_id": "", "source_name": "", "source_type": "DIRECT"},
            {"source_id": admin, "source_name": "Admin", "source_type": "ROLE"}
        ])
    );
    let shown: Vec<(String, Vec<String>)> = user_permissions(&mut server, &user).await;
    let expected = |name: &str, sources: &[&str]| (name.to_owned(), sources.iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(
        shown,
        [
            expected("read", &["ROLE/Zed"]),
            expected("delete", &["DIRECT/"]),
            expected("read", &["DIRECT/", "ROLE/Admin"]),
            expected("write", &["ROLE/Admin", "ROLE/Zed"]),
        ]
    );
    // A renamed role shows its new name.
    server.patch(&format!("/api/v2/roles/{zed}"), json!({"name": "Zorro"})).await;
    assert_eq!(user_permissions(&mut server, &user).await[0], expected("read", &["ROLE/Zorro"]));
    // Losing a role loses what only it granted.
    delete_with(&mut server, &format!("{}/roles", user_path(&user)), json!({"roles": [zed]})).await;
    assert_eq!(
        user_permissions(&mut server, &user).await,
        [
            expected("delete", &["DIRECT/"]),
            expected("read", &["DIRECT/", "ROLE/Admin"]),
            expected("write", &["ROLE/Admin"])
        ]
    );
}

#[tokio::test]
async fn user_permission_errors() {
    let mut server = Server::start().await;
    let api = "https://api.example.com/";
    create_api(&mut server, api, &["read:x"]).await;
    let user = server.create_user("one@example.com").await;
    let path = format!("{}/permissions", user_path(&user));
    let good = json!({"permissions": [permission(api, "read:x")]});

    for method in [Method::GET, Method::POST, Method::DELETE] {
        let body = (method != Method::GET).then(|| good.clone());
        server.call(method, "/api/v2/users/auth0%7Cnobody/permissions", body).await.assert_error(
            404,
            Some("inexistent_user"),
            "The user does not exist.",
        );
    }
    for (method, description) in [
        (Method::GET, "ID of the user to retrieve the permissions for"),
        (Method::POST, "ID of the user to assign permissions to"),
        (Method::DELETE, "ID of the user to remove permissions from"),
    ] {
        let body = (method != Method::GET).then(|| good.clone());
        server.call(method, "/api/v2/users/nopipe/permissions", body).await.assert_error(
            400,
            Some("invalid_uri"),
            &format!("Path validation error: 'String does not match pattern ^.+\\|.+$: nopipe' on property id ({description})."),
        );
    }
    server
        .post(
            &path,
            json!({"permissions": [permission(api, "read:x"), permission("https://none.example.com/", "read:x")]}),
        )
        .await
        .assert_error(400, None, "The resource server does not exist.");
    server
        .post(&path, json!({"permissions": [permission(api, "read:x"), permission(api, "write:x")]}))
        .await
        .assert_error(400, None, "Permission 'write:x' does not exist on resource server 'https://api.example.com/'.");
    assert!(user_permissions(&mut server, &user).await.is_empty(), "all or nothing");
    server.post(&path, json!({"permissions": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array is too short (0), minimum 1' on property permissions (List of permissions to add to this user).",
    );
    delete_with(&mut server, &path, json!({"permissions": [{"resource_server_identifier": api}]})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: permission_name' on property permissions[0].",
    );
    delete_with(&mut server, &path, json!({"permissions": {}})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type array but found type object' on property permissions (List of permissions to remove from this user).",
    );
    server
        .post(&path, json!({"permissions": [{"resource_server_identifier": api, "permission_name": "read:x", "x": 1}]}))
        .await
        .assert_error(
            400,
            Some("invalid_body"),
            "Payload validation error: 'Additional properties not allowed: x' on property permissions[0].",
        );
    server.get(&format!("{path}?include_totals=1")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Expected type boolean but found type number' on property include_totals (Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)).",
    );
}

// ---------------------------------------------------------------------------------------------
// Replay of Auth0's recorded roles, permissions and resource servers traffic

/// Replays recordings (`crate::replay`) against a fresh server: every interaction with roles,
/// resource servers, a user's roles or a user's permissions must answer Auth0's status and body,
/// with the recorded ids (users, roles, resource servers) and cursors mapped to Roster's. Users
/// interactions only set the scene (`recordings.rs` compares their bodies) and must answer the
/// recorded status.
///
/// One documented difference is applied: a checkpoint walk through a role's users lists the same
/// users, as many per page, in Roster's order (users assigned together come by user id, and
/// Roster's ids do not sort as Auth0's did).
mod replay {
    use crate::replay::Expectations;

    struct RolesAndPermissions;

    impl Expectations for RolesAndPermissions {
        const CHECKPOINT_ITEMS: &str = "users";

        fn compares(&self, path: &str) -> bool {
            path.starts_with("/api/v2/roles")
                || path.starts_with("/api/v2/resource-servers")
                || (path.starts_with("/api/v2/users/") && (path.ends_with("/roles") || path.ends_with("/permissions")))
        }
    }

    /// Replays one file; returns how many roles, resource servers and user roles or permissions
    /// interactions were compared.
    async fn replay(file: &str) -> usize {
        crate::replay::replay(file, &RolesAndPermissions).await
    }

    #[tokio::test]
    async fn user_roles_go_auth0() {
        // POST /roles, POST/GET/DELETE users/{id}/roles, DELETE /roles/{id}.
        assert_eq!(replay("go-auth0/TestUserManager_Roles.yaml").await, 6);
    }

    #[tokio::test]
    async fn user_permissions_go_auth0() {
        // POST /resource-servers, POST/GET/DELETE users/{id}/permissions, DELETE the server.
        assert_eq!(replay("go-auth0/TestUserManager_Permissions.yaml").await, 6);
    }

    #[tokio::test]
    async fn role_users() {
        assert_eq!(replay("go-auth0-other/TestRoleManager_Users.yaml").await, 4);
    }

    #[tokio::test]
    async fn role_users_checkpoint_pagination() {
        assert_eq!(replay("go-auth0-other/TestRoleManager_UsersCheckpointPagination.yaml").await, 5);
    }

    #[tokio::test]
    async fn terraform_user_role() {
        assert_eq!(replay("terraform-provider-auth0/TestAccUserRole.yaml").await, 86);
    }

    #[tokio::test]
    async fn terraform_user_roles() {
        assert_eq!(replay("terraform-provider-auth0/TestAccUserRoles.yaml").await, 111);
    }

    #[tokio::test]
    async fn terraform_user_permission() {
        assert_eq!(replay("terraform-provider-auth0/TestAccUserPermission.yaml").await, 90);
    }

    #[tokio::test]
    async fn terraform_user_permissions() {
        assert_eq!(replay("terraform-provider-auth0/TestAccUserPermissions.yaml").await, 101);
    }

    #[tokio::test]
    async fn terraform_user_data_source() {
        assert_eq!(replay("terraform-provider-auth0/TestAccDataSourceUser.yaml").await, 70);
    }
}
