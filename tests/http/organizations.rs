//! Organizations, their members and members' roles, and `GET /users/{id}/organizations`, as a
//! client sees them; and a replay of Auth0's recorded organization traffic.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, encode};

// ---------------------------------------------------------------------------------------------
// Helpers

async fn create_organization(server: &mut Server, body: Value) -> Value {
    let reply = server.post("/api/v2/organizations", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

fn user_id_of(user: &Value) -> String {
    user["user_id"].as_str().expect("user_id").to_owned()
}

/// Creates a role through `POST /api/v2/roles`, or, while Roster answers that with 501 (it is
/// another part of issue 5), straight in the database, as the roles endpoint would.
async fn create_role(server: &mut Server, name: &str, description: Option<&str>) -> String {
    let mut body = json!({"name": name});
    if let Some(description) = description {
        body["description"] = json!(description);
    }
    let reply = server.post("/api/v2/roles", body).await;
    if reply.status != 501 {
        assert!(reply.status == 200 || reply.status == 201, "POST /roles: {}", reply.text);
        return id_of(&reply.body);
    }
    let id = format!("rol_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let description = description.map_or("NULL".to_owned(), |d| format!("'{}'", d.replace('\'', "''")));
    server
        .database
        .execute(&format!(
            "INSERT INTO roles (id, name, description, created_at) VALUES ('{id}', '{name}', {description}, '2024-01-01T00:00:00.000Z')"
        ))
        .await;
    id
}

/// Deletes a role through `DELETE /api/v2/roles/{id}`, or in the database while that answers 501.
async fn delete_role(server: &mut Server, id: &str) {
    let reply = server.call(Method::DELETE, &format!("/api/v2/roles/{id}"), Some(json!({}))).await;
    if reply.status == 501 {
        server.database.execute(&format!("DELETE FROM roles WHERE id = '{id}'")).await;
    } else {
        assert!(reply.status.is_success(), "DELETE /roles: {}", reply.text);
    }
}

fn members_path(organization: &str) -> String {
    format!("/api/v2/organizations/{organization}/members")
}

fn member_roles_path(organization: &str, user_id: &str) -> String {
    format!("/api/v2/organizations/{organization}/members/{}/roles", encode(user_id))
}

/// `field` of every item of a listing (a bare array or under `key`).
fn column(listing: &Value, key: &str, field: &str) -> Vec<String> {
    let items = listing.get(key).unwrap_or(listing);
    items.as_array().expect("array").iter().map(|item| item[field].as_str().unwrap_or_default().to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Organizations

#[tokio::test]
async fn creates_and_reads_an_organization_as_auth0_does() {
    let mut server = Server::start().await;
    // TestUserManager_Organizations: the request go-auth0 sends, and Auth0's answer.
    let body = json!({"name": "test-organization368", "display_name": "Test Organization",
        "branding": {"logo_url": "https://example.com/logo.gif"}});
    let reply = server.post("/api/v2/organizations", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let id = id_of(&reply.body);
    assert!(id.starts_with("org_") && id.len() == 20 && id[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    // Roster answers as a current tenant, which adds `third_party_client_access`.
    let expected = json!({"id": id, "name": "test-organization368", "display_name": "Test Organization",
        "branding": {"logo_url": "https://example.com/logo.gif"}, "third_party_client_access": "block"});
    assert_eq!(reply.body, expected);

    let by_id = server.get(&format!("/api/v2/organizations/{id}")).await;
    assert_eq!((by_id.status.as_u16(), &by_id.body), (200, &expected), "{}", by_id.text);
    let by_name = server.get("/api/v2/organizations/name/test-organization368").await;
    assert_eq!((by_name.status.as_u16(), &by_name.body), (200, &expected), "{}", by_name.text);

    // The smallest organization: a name.
    let bare = create_organization(&mut server, json!({"name": "0"})).await;
    assert_eq!(bare, json!({"id": bare["id"], "name": "0", "third_party_client_access": "block"}));
}

#[tokio::test]
async fn creates_with_every_attribute() {
    let mut server = Server::start().await;
    let body = json!({
        "name": "acme_corp-1",
        "display_name": "Acme Corp",
        "branding": {"logo_url": "https://cdn.example.com/acme.png", "colors": {"primary": "#ff0000", "page_background": "#0F0"}},
        "metadata": {"plan": "gold", "region": "eu", "unset": null},
        "token_quota": {"client_credentials": {"enforce": true, "per_day": 100, "per_hour": 10}},
        "third_party_client_access": "allow",
        "is_app_entitlement_active": true,
    });
    let created = create_organization(&mut server, body).await;
    let expected = json!({
        "id": created["id"], "name": "acme_corp-1", "display_name": "Acme Corp",
        "branding": {"logo_url": "https://cdn.example.com/acme.png", "colors": {"primary": "#ff0000", "page_background": "#0F0"}},
        "metadata": {"plan": "gold", "region": "eu"},
        "token_quota": {"client_credentials": {"enforce": true, "per_day": 100, "per_hour": 10}},
        "third_party_client_access": "allow",
        "is_app_entitlement_active": true,
    });
    assert_eq!(created, expected);
    assert_eq!(server.get(&format!("/api/v2/organizations/{}", id_of(&created))).await.body, expected);

    // Terraform (TestAccDataSourceUserOrganizations) sends `is_app_entitlement_active`.
    let terraform = create_organization(
        &mut server,
        json!({"name": "test-org-tf", "display_name": "Test Org tf", "is_app_entitlement_active": true}),
    )
    .await;
    assert_eq!(
        terraform,
        json!({"id": terraform["id"], "name": "test-org-tf", "display_name": "Test Org tf",
            "third_party_client_access": "block", "is_app_entitlement_active": true})
    );
}

#[tokio::test]
async fn creation_enables_existing_connections_only() {
    let mut server = Server::start().await;
    let store = server.store().await;
    let connection = store
        .connection_by_name("Username-Password-Authentication")
        .await
        .unwrap()
        .expect("the tenant's database connection");
    store.close().await;
    let created = create_organization(
        &mut server,
        json!({"name": "with-connections", "enabled_connections": [{"connection_id": connection.id, "assign_membership_on_login": true}]}),
    )
    .await;
    assert_eq!(
        created["enabled_connections"],
        json!([{"connection_id": connection.id, "assign_membership_on_login": true,
            "connection": {"name": "Username-Password-Authentication", "strategy": "auth0"}}])
    );
    // Reads do not show them (Auth0's `GetOrganizationResponseContent` has no such property).
    let read = server.get(&format!("/api/v2/organizations/{}", id_of(&created))).await;
    assert!(read.body.get("enabled_connections").is_none(), "{}", read.text);

    server
        .post(
            "/api/v2/organizations",
            json!({"name": "nope", "enabled_connections": [{"connection_id": "con_missing"}]}),
        )
        .await
        .assert_error(400, Some("inexistent_connection"), "The connection does not exist.");
    server.get("/api/v2/organizations/name/nope").await.assert_error(
        404,
        Some("inexistent_organization"),
        "No organization found by that id or name",
    );
    server
        .post("/api/v2/organizations", json!({"name": "nope", "enabled_connections": [{"assign_membership_on_login": true}]}))
        .await
        .assert_error(
            400,
            Some("invalid_body"),
            "Payload validation error: 'Missing required property: connection_id' on property enabled_connections[0] (Connection to be added to the organization).",
        );
}

#[tokio::test]
async fn creation_refusals() {
    let mut server = Server::start().await;
    let refused = [
        (json!({}), "Payload validation error: 'Missing required property: name'."),
        (json!({"name": "ok", "logo": "x"}), "Payload validation error: 'Additional properties not allowed: logo'."),
        (json!([]), "Payload validation error: 'Expected type object but found type array'."),
        (
            json!({"name": "Acme Corp"}),
            "Payload validation error: 'Object didn't pass validation for format organization-name: Acme Corp' on property name (The name of this organization).",
        ),
        (
            json!({"name": ""}),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property name (The name of this organization).",
        ),
        (
            json!({"name": "x".repeat(51)}),
            "Payload validation error: 'String is too long (51 chars), maximum 50' on property name (The name of this organization).",
        ),
        (
            json!({"name": "ok", "display_name": 7}),
            "Payload validation error: 'Expected type string but found type integer' on property display_name (Friendly name of this organization).",
        ),
        (
            json!({"name": "ok", "branding": {"logo_url": "http://example.com/logo.gif"}}),
            "Payload validation error: 'Object didn't pass validation for format strict-https-uri-or-null: http://example.com/logo.gif' on property branding.logo_url (URL of logo to display on login page).",
        ),
        (
            json!({"name": "ok", "branding": {"colors": {"primary": "#fff"}}}),
            "Payload validation error: 'Missing required property: page_background' on property branding.colors (Color scheme used to customize the login pages).",
        ),
        (
            json!({"name": "ok", "branding": {"colors": {"primary": "blue", "page_background": "#fff"}}}),
            "Payload validation error: 'Object didn't pass validation for format html-color: blue' on property branding.colors.primary (HEX Color for primary elements).",
        ),
        (
            json!({"name": "ok", "metadata": {"a": "x".repeat(256)}}),
            "Payload validation error: 'String is too long (256 chars), maximum 255' on property metadata.a.",
        ),
        (
            json!({"name": "ok", "third_party_client_access": "sometimes"}),
            "Payload validation error: 'No enum match for: \"sometimes\"' on property third_party_client_access (Whether third-party applications may authenticate users of this organization).",
        ),
        (
            json!({"name": "ok", "token_quota": {"client_credentials": {"per_day": 0}}}),
            "Payload validation error: 'Value 0 is less than minimum 1' on property token_quota.client_credentials.per_day (Maximum number of issued tokens per day).",
        ),
        // Several problems: all reported, last payload key first.
        (
            json!({"name": "", "display_name": ""}),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property display_name (Friendly name of this organization). (also) Payload validation error: 'String is too short (0 chars), minimum 1' on property name (The name of this organization).",
        ),
    ];
    for (body, message) in refused {
        server.post("/api/v2/organizations", body).await.assert_error(400, Some("invalid_body"), message);
    }
    let many: serde_json::Map<String, Value> = (0..26).map(|i| (format!("k{i}"), json!("v"))).collect();
    let reply = server.post("/api/v2/organizations", json!({"name": "ok", "metadata": many})).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["message"].as_str().unwrap().starts_with(
        "Payload validation error: 'Too many properties defined (26), maximum 25' on property metadata ("
    ));
    // Nothing was created by any of them.
    assert_eq!(server.get("/api/v2/organizations").await.body, json!([]));

    // A taken name.
    create_organization(&mut server, json!({"name": "acme"})).await;
    server.post("/api/v2/organizations", json!({"name": "acme", "display_name": "Other"})).await.assert_error(
        409,
        Some("organization_conflict"),
        "An organization with the same name already exists.",
    );
}

#[tokio::test]
async fn unknown_organizations_are_404() {
    let mut server = Server::start().await;
    let missing = "org_0000000000000000";
    for reply in [
        server.get(&format!("/api/v2/organizations/{missing}")).await,
        server.get("/api/v2/organizations/name/no-such-org").await,
        server.patch(&format!("/api/v2/organizations/{missing}"), json!({"display_name": "x"})).await,
        server.delete(&format!("/api/v2/organizations/{missing}")).await,
        server.get(&members_path(missing)).await,
        server.post(&members_path(missing), json!({"members": ["auth0|1"]})).await,
        server.call(Method::DELETE, &members_path(missing), Some(json!({"members": ["auth0|1"]}))).await,
        server.get(&member_roles_path(missing, "auth0|1")).await,
        server.post(&member_roles_path(missing, "auth0|1"), json!({"roles": ["rol_0000000000000000"]})).await,
        server
            .call(
                Method::DELETE,
                &member_roles_path(missing, "auth0|1"),
                Some(json!({"roles": ["rol_0000000000000000"]})),
            )
            .await,
    ] {
        reply.assert_error(404, Some("inexistent_organization"), "No organization found by that id or name");
    }
}

#[tokio::test]
async fn updates_an_organization() {
    let mut server = Server::start().await;
    let created = create_organization(
        &mut server,
        json!({"name": "acme", "display_name": "Acme", "branding": {"logo_url": "https://e.com/a.png"},
            "metadata": {"a": "1", "b": "2"}, "token_quota": {"client_credentials": {"per_hour": 5}}}),
    )
    .await;
    let path = format!("/api/v2/organizations/{}", id_of(&created));

    // auth0.net's crud test: a new display name; the rest stays.
    let reply = server.patch(&path, json!({"display_name": "Integration testing 123"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["display_name"], "Integration testing 123");
    assert_eq!(reply.body["metadata"], json!({"a": "1", "b": "2"}));

    // Metadata and branding are replaced whole, not merged; a null token quota is removed.
    let reply = server
        .patch(
            &path,
            json!({"name": "acme-renamed", "metadata": {"b": "3", "gone": null}, "branding": {"colors": {"primary": "#000", "page_background": "#fff"}},
                "token_quota": null, "third_party_client_access": "allow", "is_app_entitlement_active": false}),
        )
        .await;
    let expected = json!({"id": created["id"], "name": "acme-renamed", "display_name": "Integration testing 123",
        "branding": {"colors": {"primary": "#000", "page_background": "#fff"}}, "metadata": {"b": "3"},
        "third_party_client_access": "allow", "is_app_entitlement_active": false});
    assert_eq!((reply.status.as_u16(), &reply.body), (200, &expected), "{}", reply.text);
    assert_eq!(server.get(&path).await.body, expected);
    assert_eq!(server.get("/api/v2/organizations/name/acme-renamed").await.body, expected);
    server.get("/api/v2/organizations/name/acme").await.assert_error(
        404,
        Some("inexistent_organization"),
        "No organization found by that id or name",
    );
    // An empty payload changes nothing.
    assert_eq!(server.patch(&path, json!({})).await.body, expected);

    // Refusals change nothing either.
    create_organization(&mut server, json!({"name": "taken"})).await;
    server.patch(&path, json!({"name": "taken"})).await.assert_error(
        409,
        Some("organization_conflict"),
        "An organization with the same name already exists.",
    );
    server.patch(&path, json!({"enabled_connections": []})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: enabled_connections'.",
    );
    server.patch(&path, json!({"display_name": null})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type string but found type null' on property display_name (Friendly name of this organization).",
    );
    server.patch(&path, json!({"name": "UPPER"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Object didn't pass validation for format organization-name: UPPER' on property name (The name of this organization).",
    );
    assert_eq!(server.get(&path).await.body, expected);
}

#[tokio::test]
async fn deletes_an_organization() {
    let mut server = Server::start().await;
    let created = create_organization(&mut server, json!({"name": "short-lived"})).await;
    let path = format!("/api/v2/organizations/{}", id_of(&created));
    let reply = server.delete(&path).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    server.get(&path).await.assert_error(
        404,
        Some("inexistent_organization"),
        "No organization found by that id or name",
    );
    server.delete(&path).await.assert_error(
        404,
        Some("inexistent_organization"),
        "No organization found by that id or name",
    );
    // The name is free again.
    create_organization(&mut server, json!({"name": "short-lived"})).await;
}

#[tokio::test]
async fn lists_organizations_with_offset_pages() {
    let mut server = Server::start().await;
    for (name, display_name) in
        [("delta", Some("Alpha")), ("alpha", Some("Delta")), ("charlie", None), ("bravo", Some("Bravo"))]
    {
        let mut body = json!({"name": name});
        if let Some(display_name) = display_name {
            body["display_name"] = json!(display_name);
        }
        create_organization(&mut server, body).await;
    }
    let names = |reply: &crate::server::Reply| column(&reply.body, "organizations", "name");

    let all = server.get("/api/v2/organizations").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(names(&all), ["alpha", "bravo", "charlie", "delta"], "by name by default");
    assert_eq!(all.body[0], server.get("/api/v2/organizations/name/alpha").await.body);

    let page = server.get("/api/v2/organizations?page=1&per_page=2&include_totals=true").await;
    assert_eq!(
        page.body,
        json!({"organizations": [all.body[2], all.body[3]], "start": 2, "limit": 2, "total": 4}),
        "Auth0's wrapper, without `length`"
    );
    let past_the_end = server.get("/api/v2/organizations?page=3&per_page=2&include_totals=true").await;
    assert_eq!(past_the_end.body, json!({"organizations": [], "start": 6, "limit": 2, "total": 4}));

    let by_display = server.get("/api/v2/organizations?sort=display_name:1").await;
    assert_eq!(names(&by_display), ["charlie", "delta", "bravo", "alpha"], "no display name first");
    let by_display_desc = server.get("/api/v2/organizations?sort=display_name:-1").await;
    assert_eq!(names(&by_display_desc), ["alpha", "bravo", "delta", "charlie"]);
    let by_creation = server.get("/api/v2/organizations?sort=created_at:1&per_page=3").await;
    assert_eq!(names(&by_creation).len(), 3);
    let by_name_desc = server.get("/api/v2/organizations?sort=name:-1").await;
    assert_eq!(names(&by_name_desc), ["delta", "charlie", "bravo", "alpha"]);
}

#[tokio::test]
async fn organization_listing_refusals() {
    let mut server = Server::start().await;
    let cases = [
        (
            "per_page=0",
            "Query validation error: 'Value 0 is less than minimum 1' on property per_page (Number of results per page. Defaults to 50).",
        ),
        (
            "per_page=101",
            "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page. Defaults to 50).",
        ),
        (
            "page=1001",
            "Query validation error: 'Value 1001 is greater than maximum 1000' on property page (Page index of the results to return. First page is 0).",
        ),
        (
            "include_totals=yes",
            "Query validation error: 'Expected type boolean but found type string' on property include_totals (Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)).",
        ),
        (
            "sort=email:1",
            "Query validation error: 'String does not match pattern ^(name|display_name|created_at):(1|-1)$: email:1' on property sort (Field to sort by. Use <code>field:order</code> where order is <code>1</code> for ascending and <code>-1</code> for descending. e.g. <code>created_at:1</code>. We currently support sorting by the following fields: <code>name</code>, <code>display_name</code> and <code>created_at</code>).",
        ),
        ("q=name:acme", "Query validation error: 'Additional properties not allowed: q'."),
        (
            "take=0",
            "Query validation error: 'Value 0 is less than minimum 1' on property take (Number of results per page. Defaults to 50).",
        ),
        (
            "take=2&sort=name:1",
            "Query validation error: 'sort cannot be combined with from/take; a checkpoint walks the organizations by name'.",
        ),
        (
            "from=%25%25",
            "Query validation error: 'Invalid cursor: %%' on property from (Optional Id from which to start selection).",
        ),
    ];
    for (query, message) in cases {
        server.get(&format!("/api/v2/organizations?{query}")).await.assert_error(
            400,
            Some("invalid_query_string"),
            message,
        );
    }
    // Offset pages end at the 1000th record (Auth0's docs).
    server.get("/api/v2/organizations?page=10&per_page=100").await.assert_error(
        400,
        Some("invalid_paging"),
        "Requesting page exceeds the allowed maximum of 1000 records.",
    );
    assert_eq!(server.get("/api/v2/organizations?page=9&per_page=100").await.status, 200);
}

#[tokio::test]
async fn lists_organizations_with_checkpoints() {
    let mut server = Server::start().await;
    for name in ["org-e", "org-a", "org-d", "org-b", "org-c"] {
        create_organization(&mut server, json!({"name": name})).await;
    }
    let mut seen = Vec::new();
    let mut query = "take=2".to_owned();
    let mut pages = 0;
    loop {
        // go-auth0 sends `include_totals` and `per_page` along; they do not change the answer.
        let reply = server.get(&format!("/api/v2/organizations?{query}&include_totals=true&per_page=50")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let keys: Vec<&str> = reply.body.as_object().unwrap().keys().map(String::as_str).collect();
        seen.extend(column(&reply.body, "organizations", "name"));
        pages += 1;
        match reply.body.get("next").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(keys, ["organizations", "next"]);
                query = format!("take=2&from={next}");
            }
            None => {
                assert_eq!(keys, ["organizations"], "no `next` on the last page");
                break;
            }
        }
    }
    assert_eq!(seen, ["org-a", "org-b", "org-c", "org-d", "org-e"]);
    assert_eq!(pages, 3);
    // `take` defaults to 50 once `from` is given, and a full last page has no `next` either.
    let first = server.get("/api/v2/organizations?take=4").await;
    let next = first.body["next"].as_str().unwrap().to_owned();
    let rest = server.get(&format!("/api/v2/organizations?from={next}")).await;
    assert_eq!(rest.body, json!({"organizations": [server.get("/api/v2/organizations/name/org-e").await.body]}));
    let exact = server.get("/api/v2/organizations?take=5").await;
    assert!(exact.body.get("next").is_none(), "{}", exact.text);
}

// ---------------------------------------------------------------------------------------------
// Members

#[tokio::test]
async fn adds_lists_and_removes_members() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "members-org"})).await);
    let path = members_path(&organization);
    let first = server.create_user("first@example.com").await;
    let second = server.create_user("second@example.com").await;
    let member = |user: &Value| json!({"user_id": user["user_id"], "email": user["email"], "picture": user["picture"], "name": user["name"]});

    let reply = server.post(&path, json!({"members": [user_id_of(&second)]})).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    // Adding a member again, and others beside, is fine; extra payload keys are allowed.
    let reply = server.post(&path, json!({"members": [user_id_of(&first), user_id_of(&second)], "note": "x"})).await;
    assert_eq!(reply.status, 204, "{}", reply.text);

    // In the order they joined.
    let listed = server.get(&path).await;
    assert_eq!(listed.body, json!([member(&second), member(&first)]));
    let totals = server.get(&format!("{path}?include_totals=true&per_page=1&page=1")).await;
    assert_eq!(totals.body, json!({"members": [member(&first)], "start": 1, "limit": 1, "total": 2}));

    // TestOrganizationManager_DeleteMembers: DELETE with a JSON body, then an empty listing.
    let reply = server.call(Method::DELETE, &path, Some(json!({"members": [user_id_of(&second)]}))).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    assert_eq!(server.get(&path).await.body, json!([member(&first)]));
    let reply =
        server.call(Method::DELETE, &path, Some(json!({"members": [user_id_of(&first), "auth0|not-a-member"]}))).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(
        server.get(&format!("{path}?include_totals=true&per_page=50")).await.body,
        json!({"members": [], "start": 0, "limit": 50, "total": 0})
    );
    // The users are still there.
    assert_eq!(server.get(&format!("/api/v2/users/{}", encode(&user_id_of(&first)))).await.status, 200);
}

#[tokio::test]
async fn lists_members_in_the_order_they_joined() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "join-order"})).await);
    let path = members_path(&organization);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(user_id_of(&server.create_user(&format!("joiner{i}@example.com")).await));
    }
    ids.sort();
    // Neither the user ids' order nor its reverse.
    let joined = [ids[1].clone(), ids[2].clone(), ids[0].clone()];
    for user_id in &joined {
        assert_eq!(server.post(&path, json!({"members": [user_id]})).await.status, 204);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(column(&server.get(&path).await.body, "members", "user_id"), joined);
    let page = server.get(&format!("{path}?page=1&per_page=2&include_totals=true")).await;
    assert_eq!(column(&page.body, "members", "user_id"), [joined[2].clone()]);
    assert_eq!(page.body["total"], 3);
    let first = server.get(&format!("{path}?take=2")).await;
    assert_eq!(column(&first.body, "members", "user_id"), joined[..2]);
    let rest = server.get(&format!("{path}?take=2&from={}", first.body["next"].as_str().unwrap())).await;
    assert_eq!(column(&rest.body, "members", "user_id"), joined[2..]);
}

#[tokio::test]
async fn member_payload_refusals() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "strict"})).await);
    let path = members_path(&organization);
    let user = server.create_user("member@example.com").await;
    let eleven: Vec<String> = (0..11).map(|i| format!("auth0|{i}")).collect();
    for (method, body, message) in [
        (Method::POST, json!({}), "Payload validation error: 'Missing required property: members'."),
        (
            Method::POST,
            json!({"members": []}),
            "Payload validation error: 'Array is too short (0), minimum 1' on property members (List of user IDs to add to the organization as members).",
        ),
        (
            Method::POST,
            json!({"members": eleven}),
            "Payload validation error: 'Array is too long (11), maximum 10' on property members (List of user IDs to add to the organization as members).",
        ),
        (
            Method::POST,
            json!({"members": [user_id_of(&user), 5]}),
            "Payload validation error: 'Expected type string but found type integer' on property members[1].",
        ),
        (
            Method::POST,
            json!({"members": "auth0|1"}),
            "Payload validation error: 'Expected type array but found type string' on property members (List of user IDs to add to the organization as members).",
        ),
        (Method::DELETE, json!({}), "Payload validation error: 'Missing required property: members'."),
        (
            Method::DELETE,
            json!({"members": []}),
            "Payload validation error: 'Array is too short (0), minimum 1' on property members (List of user IDs to remove from the organization).",
        ),
    ] {
        server.call(method, &path, Some(body)).await.assert_error(400, Some("invalid_body"), message);
    }
    // A user that does not exist: nobody is added.
    server.post(&path, json!({"members": [user_id_of(&user), "auth0|000000000000000000000000"]})).await.assert_error(
        400,
        Some("invalid_body"),
        "One or more users do not exist: auth0|000000000000000000000000",
    );
    assert_eq!(server.get(&path).await.body, json!([]));
    // DELETE without a body.
    server.delete(&path).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: members'.",
    );
}

#[tokio::test]
async fn walks_members_with_checkpoints() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "checkpoints"})).await);
    let path = members_path(&organization);
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(user_id_of(&server.create_user(&format!("chuck{i}@example.com")).await));
    }
    // TestOrganizationManager_MembersCheckpointPagination: three members added at once, walked
    // two at a time (go-auth0 sends include_totals and per_page too).
    assert_eq!(server.post(&path, json!({"members": users})).await.status, 204);
    let first = server.get(&format!("{path}?include_totals=true&per_page=50&take=2")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let next = first.body["next"].as_str().expect("a next cursor").to_owned();
    let second = server.get(&format!("{path}?from={next}&include_totals=true&per_page=50&take=2")).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert!(second.body.get("next").is_none(), "the last page: {}", second.text);
    let mut seen = column(&first.body, "members", "user_id");
    seen.extend(column(&second.body, "members", "user_id"));
    let mut expected = users.clone();
    expected.sort(); // joined together: by user id
    assert_eq!(seen, expected);
    assert_eq!(
        first.body["members"][0],
        json!({"user_id": expected[0], "email": first.body["members"][0]["email"],
            "picture": first.body["members"][0]["picture"], "name": first.body["members"][0]["name"]})
    );

    // Members who joined later come after; a member who left is not listed.
    let late = user_id_of(&server.create_user("late@example.com").await);
    assert_eq!(server.post(&path, json!({"members": [late.clone()]})).await.status, 204);
    let resumed = server.get(&format!("{path}?from={next}&take=5")).await;
    assert_eq!(column(&resumed.body, "members", "user_id"), [expected[2].clone(), late.clone()]);
    let reply = server.call(Method::DELETE, &path, Some(json!({"members": [expected[2].clone()]}))).await;
    assert_eq!(reply.status, 204);
    let resumed = server.get(&format!("{path}?from={next}&take=5")).await;
    assert_eq!(column(&resumed.body, "members", "user_id"), [late]);

    // Terraform asks for user ids only, with a large take.
    let terraform = server
        .get(&format!("{path}?fields=user_id&include_fields=true&include_totals=true&per_page=50&take=100"))
        .await;
    assert_eq!(terraform.body["members"].as_array().unwrap().len(), 3);
    assert!(terraform.body["members"].as_array().unwrap().iter().all(|m| m.as_object().unwrap().len() == 1));

    for bad in ["%25%25", "bm90IGEgY3Vyc29y"] {
        server.get(&format!("{path}?from={bad}")).await.assert_error(
            400,
            Some("invalid_query_string"),
            &format!(
                "Query validation error: 'Invalid cursor: {}' on property from (Optional Id from which to start selection).",
                bad.replace("%25", "%")
            ),
        );
    }
}

#[tokio::test]
async fn member_fields_and_roles() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "fields"})).await);
    let path = members_path(&organization);
    let user = server.create_user("fields@example.com").await;
    let user_id = user_id_of(&user);
    let role = create_role(&mut server, "test-role403", Some("Test Role")).await;
    // TestOrganizationManager_Members: the role is assigned before the membership.
    let reply = server.post(&member_roles_path(&organization, &user_id), json!({"roles": [role.clone()]})).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(server.post(&path, json!({"members": [user_id.clone()]})).await.status, 204);
    let reply =
        server.get(&format!("{path}?fields=user_id%2Croles&include_fields=true&include_totals=true&per_page=50")).await;
    assert_eq!(
        reply.body,
        json!({"members": [{"user_id": user_id, "roles": [{"id": role, "name": "test-role403"}]}], "start": 0, "limit": 50, "total": 1})
    );
    // Without `fields`, no roles; excluding a field leaves the others (auth0.net's members test).
    let plain = server.get(&path).await;
    assert_eq!(
        plain.body,
        json!([{"user_id": user_id, "email": "fields@example.com", "picture": user["picture"], "name": user["name"]}])
    );
    let without_name = server.get(&format!("{path}?fields=name&include_fields=false")).await;
    assert_eq!(
        without_name.body,
        json!([{"user_id": user_id, "email": "fields@example.com", "picture": user["picture"]}])
    );
    server.get(&format!("{path}?fields=user_id,password")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'String 'user_id,password' does not match pattern. Must be a comma separated list of the following values: user_id,email,picture,name,roles' on property fields (Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields).",
    );

    // Roles need `read:organization_member_roles` besides the operation's scope.
    let token = server.token_with_scope(Some("read:organization_members")).await;
    let reply = server.send_raw(Method::GET, &format!("{path}?fields=roles"), Some(&token), None).await;
    reply.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:organization_member_roles",
    );
    let reply = server.send_raw(Method::GET, &path, Some(&token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = server
        .send_raw(
            Method::GET,
            &path,
            Some(&server.token_with_scope(Some("read:organization_member_roles")).await),
            None,
        )
        .await;
    reply.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:organization_members",
    );
}

// ---------------------------------------------------------------------------------------------
// Members' roles

#[tokio::test]
async fn assigns_lists_and_removes_member_roles() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "roles-org"})).await);
    let user_id = user_id_of(&server.create_user("roles@example.com").await);
    let path = member_roles_path(&organization, &user_id);
    let tester = create_role(&mut server, "test-role403", Some("Test Role")).await;
    let admin = create_role(&mut server, "admin", None).await;
    assert_eq!(server.post(&members_path(&organization), json!({"members": [user_id.clone()]})).await.status, 204);

    // TestOrganizationManager_MemberRoles.
    let reply = server.post(&path, json!({"roles": [tester.clone()]})).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    let listed = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(
        listed.body,
        json!({"roles": [{"id": tester, "name": "test-role403", "description": "Test Role"}], "start": 0, "limit": 50, "total": 1})
    );
    // Again, with another: by name; a role without description has none.
    assert_eq!(server.post(&path, json!({"roles": [tester.clone(), admin.clone()]})).await.status, 204);
    let both = server.get(&path).await;
    assert_eq!(
        both.body,
        json!([{"id": admin, "name": "admin"}, {"id": tester, "name": "test-role403", "description": "Test Role"}])
    );
    let second_page = server.get(&format!("{path}?page=1&per_page=1&include_totals=true")).await;
    assert_eq!(second_page.body, json!({"roles": [both.body[1]], "start": 1, "limit": 1, "total": 2}));

    let reply = server.call(Method::DELETE, &path, Some(json!({"roles": [tester.clone()]}))).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    assert_eq!(server.get(&path).await.body, json!([both.body[0]]));
    // Removing a role the member does not have is fine.
    assert_eq!(server.call(Method::DELETE, &path, Some(json!({"roles": [tester.clone()]}))).await.status, 204);
    assert_eq!(server.call(Method::DELETE, &path, Some(json!({"roles": [admin]}))).await.status, 204);
    assert_eq!(
        server.get(&format!("{path}?include_totals=true&per_page=50")).await.body,
        json!({"roles": [], "start": 0, "limit": 50, "total": 0})
    );

    // Roles belong to one organization's membership.
    let other = id_of(&create_organization(&mut server, json!({"name": "other-org"})).await);
    assert_eq!(server.post(&member_roles_path(&other, &user_id), json!({"roles": [tester.clone()]})).await.status, 204);
    assert_eq!(server.get(&path).await.body, json!([]));
    assert_eq!(column(&server.get(&member_roles_path(&other, &user_id)).await.body, "roles", "id"), [tester]);
}

#[tokio::test]
async fn member_role_refusals() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "roles-refusals"})).await);
    let user_id = user_id_of(&server.create_user("refusals@example.com").await);
    let path = member_roles_path(&organization, &user_id);
    let role = create_role(&mut server, "reader", None).await;
    for (method, body, message) in [
        (Method::POST, json!({}), "Payload validation error: 'Missing required property: roles'."),
        (
            Method::POST,
            json!({"roles": [role.clone()], "x": 1}),
            "Payload validation error: 'Additional properties not allowed: x'.",
        ),
        (
            Method::POST,
            json!({"roles": []}),
            "Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs to associated with the user).",
        ),
        (
            Method::POST,
            json!({"roles": ["admin"]}),
            "Payload validation error: 'Object didn't pass validation for format role-id: admin' on property roles[0].",
        ),
        (
            Method::DELETE,
            json!({"roles": []}),
            "Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs associated with the organization member to remove).",
        ),
    ] {
        server.call(method, &path, Some(body)).await.assert_error(400, Some("invalid_body"), message);
    }
    server.post(&path, json!({"roles": [role.clone(), "rol_0000000000000000"]})).await.assert_error(
        400,
        Some("invalid_body"),
        "One or more roles do not exist: rol_0000000000000000",
    );
    // Nothing was assigned, and the refusal did not make the user a member.
    assert_eq!(server.get(&path).await.body, json!([]));
    assert_eq!(server.get(&members_path(&organization)).await.body, json!([]));

    // A user that does not exist.
    let missing = member_roles_path(&organization, "auth0|000000000000000000000000");
    server.get(&missing).await.assert_error(404, Some("inexistent_user"), "The user does not exist.");
    server.post(&missing, json!({"roles": [role.clone()]})).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.call(Method::DELETE, &missing, Some(json!({"roles": [role.clone()]}))).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.get(&format!("{path}?per_page=101")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page. Defaults to 50).",
    );

    // At most 50 roles per member (Auth0's docs); the 51st is refused and nothing changes.
    let mut roles = Vec::new();
    for i in 0..51 {
        roles.push(create_role(&mut server, &format!("role-{i:02}"), None).await);
    }
    assert_eq!(server.post(&path, json!({"roles": roles[..50].to_vec()})).await.status, 204);
    server.post(&path, json!({"roles": [roles[50].clone(), role]})).await.assert_error(
        409,
        None,
        "No more roles can be assigned to this organization member.",
    );
    assert_eq!(server.get(&format!("{path}?include_totals=true&per_page=1")).await.body["total"], 50);
}

// ---------------------------------------------------------------------------------------------
// GET /users/{id}/organizations

#[tokio::test]
async fn lists_a_users_organizations() {
    let mut server = Server::start().await;
    let user_id = user_id_of(&server.create_user("orgs@example.com").await);
    let path = format!("/api/v2/users/{}/organizations", encode(&user_id));
    assert_eq!(server.get(&path).await.body, json!([]));
    assert_eq!(
        server.get(&format!("{path}?include_totals=true")).await.body,
        json!({"organizations": [], "start": 0, "limit": 50, "total": 0})
    );

    let zeta = create_organization(
        &mut server,
        json!({"name": "zeta", "display_name": "Zeta", "branding": {"logo_url": "https://example.com/logo.gif"}}),
    )
    .await;
    let alpha = create_organization(&mut server, json!({"name": "alpha", "metadata": {"k": "v"}})).await;
    create_organization(&mut server, json!({"name": "not-mine"})).await;
    for organization in [&zeta, &alpha] {
        let reply = server.post(&members_path(&id_of(organization)), json!({"members": [user_id.clone()]})).await;
        assert_eq!(reply.status, 204);
    }
    // TestUserManager_Organizations: go-auth0 asks with include_totals; `total` is the true count
    // (a 2026 tenant answered 0, an Auth0 quirk Roster does not copy).
    let reply = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"organizations": [alpha, zeta], "start": 0, "limit": 50, "total": 2}));
    assert_eq!(server.get(&path).await.body, json!([alpha, zeta]));
    // Terraform walks pages until one is empty.
    assert_eq!(
        server.get(&format!("{path}?include_totals=true&page=1&per_page=50")).await.body,
        json!({"organizations": [], "start": 50, "limit": 50, "total": 2})
    );
    assert_eq!(server.get(&format!("{path}?page=1&per_page=1")).await.body, json!([zeta]));

    server.get("/api/v2/users/auth0%7C000000000000000000000000/organizations").await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.get("/api/v2/users/3241312/organizations").await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'String does not match pattern ^.+\\|.+$: 3241312' on property id (ID of the user to retrieve the organizations for).",
    );
    server.get(&format!("{path}?page=-1")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value -1 is less than minimum 0' on property page (Page index of the results to return. First page is 0).",
    );
    server.get(&format!("{path}?take=1")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Additional properties not allowed: take'.",
    );
    // Scopes: `read:organizations` (the spec's security list).
    let token = server.token_with_scope(Some("read:users")).await;
    server.send_raw(Method::GET, &path, Some(&token), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:organizations",
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing dangles

#[tokio::test]
async fn deleting_an_organization_ends_its_memberships() {
    let mut server = Server::start().await;
    let user_id = user_id_of(&server.create_user("stays@example.com").await);
    let organization = id_of(&create_organization(&mut server, json!({"name": "doomed"})).await);
    let role = create_role(&mut server, "doomed-role", None).await;
    assert_eq!(server.post(&member_roles_path(&organization, &user_id), json!({"roles": [role]})).await.status, 204);
    let user_organizations = format!("/api/v2/users/{}/organizations", encode(&user_id));
    assert_eq!(
        column(&server.get(&user_organizations).await.body, "organizations", "id"),
        std::slice::from_ref(&organization)
    );

    assert_eq!(server.delete(&format!("/api/v2/organizations/{organization}")).await.status, 204);
    assert_eq!(server.get(&user_organizations).await.body, json!([]));
    assert_eq!(server.get(&format!("/api/v2/users/{}", encode(&user_id))).await.status, 200, "the user stays");
    // A new organization of the same name starts empty.
    let again = id_of(&create_organization(&mut server, json!({"name": "doomed"})).await);
    assert_eq!(server.get(&members_path(&again)).await.body, json!([]));
    assert_eq!(server.get(&member_roles_path(&again, &user_id)).await.body, json!([]));
    let left = server.database.count("SELECT COUNT(*) FROM organization_member_roles").await;
    assert_eq!(left, 0, "no member role points at the deleted organization");
}

#[tokio::test]
async fn deleting_a_user_ends_their_memberships() {
    let mut server = Server::start().await;
    let leaving = user_id_of(&server.create_user("leaving@example.com").await);
    let staying = user_id_of(&server.create_user("staying@example.com").await);
    let organization = id_of(&create_organization(&mut server, json!({"name": "team"})).await);
    let role = create_role(&mut server, "member", None).await;
    for user_id in [&leaving, &staying] {
        let reply = server.post(&member_roles_path(&organization, user_id), json!({"roles": [role.clone()]})).await;
        assert_eq!(reply.status, 204);
    }
    assert_eq!(server.delete(&format!("/api/v2/users/{}", encode(&leaving))).await.status, 204);
    let listed = server.get(&format!("{}?fields=user_id,roles&include_totals=true", members_path(&organization))).await;
    assert_eq!(
        listed.body,
        json!({"members": [{"user_id": staying, "roles": [{"id": role, "name": "member"}]}], "start": 0, "limit": 50, "total": 1})
    );
    server.get(&member_roles_path(&organization, &leaving)).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    // No membership points at the deleted user.
    assert_eq!(server.database.count("SELECT COUNT(*) FROM organization_members").await, 1);
}

#[tokio::test]
async fn deleting_a_role_or_a_membership_removes_member_roles() {
    let mut server = Server::start().await;
    let user_id = user_id_of(&server.create_user("roles-go@example.com").await);
    let organization = id_of(&create_organization(&mut server, json!({"name": "role-cascade"})).await);
    let path = member_roles_path(&organization, &user_id);
    let kept = create_role(&mut server, "kept", None).await;
    let dropped = create_role(&mut server, "dropped", None).await;
    assert_eq!(server.post(&path, json!({"roles": [kept.clone(), dropped.clone()]})).await.status, 204);

    delete_role(&mut server, &dropped).await;
    assert_eq!(column(&server.get(&path).await.body, "roles", "id"), std::slice::from_ref(&kept));
    let listed = server.get(&format!("{}?fields=roles", members_path(&organization))).await;
    assert_eq!(listed.body, json!([{"roles": [{"id": kept, "name": "kept"}]}]));

    // Leaving the organization drops the roles in it: coming back starts without them.
    let members = members_path(&organization);
    assert_eq!(server.call(Method::DELETE, &members, Some(json!({"members": [user_id.clone()]}))).await.status, 204);
    assert_eq!(server.post(&members, json!({"members": [user_id.clone()]})).await.status, 204);
    assert_eq!(server.get(&path).await.body, json!([]));
}

#[tokio::test]
async fn operations_need_their_scopes() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "scoped"})).await);
    let token = server.token_with_scope(Some("read:users")).await;
    let checks = [
        (Method::GET, "/api/v2/organizations".to_owned(), "read:organizations,read:organizations_summary"),
        (Method::POST, "/api/v2/organizations".to_owned(), "create:organizations,create:organization_connections"),
        (Method::PATCH, format!("/api/v2/organizations/{organization}"), "update:organizations"),
        (Method::DELETE, format!("/api/v2/organizations/{organization}"), "delete:organizations"),
        (Method::GET, "/api/v2/organizations/name/scoped".to_owned(), "read:organizations"),
        (Method::POST, members_path(&organization), "create:organization_members"),
        (Method::DELETE, members_path(&organization), "delete:organization_members"),
        (Method::POST, member_roles_path(&organization, "auth0|1"), "create:organization_member_roles"),
        (Method::GET, member_roles_path(&organization, "auth0|1"), "read:organization_member_roles"),
        (Method::DELETE, member_roles_path(&organization, "auth0|1"), "delete:organization_member_roles"),
    ];
    for (method, path, scopes) in checks {
        server.send_raw(method, &path, Some(&token), Some(&json!({}))).await.assert_error(
            403,
            Some("insufficient_scope"),
            &format!("Insufficient scope, expected any of: {scopes}"),
        );
    }
    let reader = server.token_with_scope(Some("read:organizations")).await;
    let reply =
        server.send_raw(Method::GET, &format!("/api/v2/organizations/{organization}"), Some(&reader), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.send_raw(Method::GET, "/api/v2/organizations", None, None).await.status, 401);
}

// ---------------------------------------------------------------------------------------------
// Replay of Auth0's recorded organization traffic

/// Replays recordings (`crate::replay`) against a fresh server: every organization, member,
/// member role and user-organizations interaction must answer Auth0's status and body, with
/// recorded ids (users, organizations, roles, cursors) mapped to Roster's. Users interactions only
/// set the scene (their bodies are `recordings.rs`'s business) and must answer the recorded
/// status; roles are created and deleted through `create_role`/`delete_role`.
///
/// The documented differences (docs/COMPATIBILITY.md, Organizations) are applied to what Auth0
/// answered before comparing:
/// - organizations carry `third_party_client_access` (`"block"` unless set), as a current
///   tenant's do;
/// - the 2026 tenant's `total: 0` beside one organization is Auth0's quirk: Roster counts;
/// - a checkpoint walk lists the same members, as many per page, in Roster's order (members who
///   joined together come by user id, and Roster's user ids do not sort as Auth0's did); Auth0
///   also gives a `next` after the last page, which Roster does not, so the empty page that
///   followed it is not asked for.
mod replay {
    use serde_json::{Value, json};

    use super::{create_role, delete_role};
    use crate::replay::{Expectations, Mapping};
    use crate::server::Server;

    struct Organizations;

    impl Expectations for Organizations {
        const CHECKPOINT_ITEMS: &str = "members";
        const NEXT_AFTER_LAST_PAGE: bool = true;

        async fn set_scene(
            &self,
            server: &mut Server,
            mapping: &mut Mapping,
            path: &str,
            request_body: Option<&Value>,
            recorded: Option<&Value>,
        ) -> bool {
            // Roles are another part of issue 5: made through the helpers, not compared here.
            if path == "/api/v2/roles" {
                let body = request_body.expect("role body");
                let ours = create_role(
                    server,
                    body["name"].as_str().unwrap(),
                    body.get("description").and_then(Value::as_str),
                )
                .await;
                mapping.learn(recorded.expect("role")["id"].as_str().unwrap(), &ours);
                return true;
            }
            if let Some(id) = path.strip_prefix("/api/v2/roles/") {
                delete_role(server, &mapping.text(id)).await;
                return true;
            }
            false
        }

        fn compares(&self, path: &str) -> bool {
            let is_users_crud =
                path == "/api/v2/users" || path.strip_prefix("/api/v2/users/").is_some_and(|rest| !rest.contains('/'));
            !is_users_crud
        }

        fn adjust_expected(&self, file: &str, path: &str, expected: &mut Value) {
            with_third_party_default(expected);
            if path.starts_with("/api/v2/users/") && file.ends_with("TestAccDataSourceUserOrganizations.yaml") {
                // The user is a member of exactly one organization throughout.
                expected["total"] = json!(1);
            }
        }
    }

    /// Auth0's organization objects as Roster renders them.
    fn with_third_party_default(value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(with_third_party_default),
            Value::Object(object) => {
                let is_organization = object.get("id").and_then(Value::as_str).is_some_and(|id| id.starts_with("org_"))
                    && object.contains_key("name");
                if is_organization && !object.contains_key("third_party_client_access") {
                    object.insert("third_party_client_access".into(), json!("block"));
                }
                object.values_mut().for_each(with_third_party_default);
            }
            _ => {}
        }
    }

    /// Replays one file; returns how many organization interactions were compared.
    async fn replay(file: &str) -> usize {
        crate::replay::replay(file, &Organizations).await
    }

    #[tokio::test]
    async fn user_organizations_go_auth0() {
        // POST organizations, POST members, GET users/{id}/organizations, DELETE organization.
        assert_eq!(replay("go-auth0/TestUserManager_Organizations.yaml").await, 4);
    }

    #[tokio::test]
    async fn add_members() {
        assert_eq!(replay("go-auth0-other/TestOrganizationManager_AddMembers.yaml").await, 3);
    }

    #[tokio::test]
    async fn delete_members() {
        assert_eq!(replay("go-auth0-other/TestOrganizationManager_DeleteMembers.yaml").await, 5);
    }

    #[tokio::test]
    async fn member_roles() {
        assert_eq!(replay("go-auth0-other/TestOrganizationManager_MemberRoles.yaml").await, 7);
    }

    #[tokio::test]
    async fn members_with_roles() {
        assert_eq!(replay("go-auth0-other/TestOrganizationManager_Members.yaml").await, 5);
    }

    #[tokio::test]
    async fn members_checkpoint_pagination() {
        // The third page (empty at Auth0, after a `next` on the last page) is not asked for.
        assert_eq!(replay("go-auth0-other/TestOrganizationManager_MembersCheckpointPagination.yaml").await, 5);
    }

    #[tokio::test]
    async fn user_organizations_terraform() {
        assert_eq!(replay("terraform-provider-auth0/TestAccDataSourceUserOrganizations.yaml").await, 14);
    }
}

// ---------------------------------------------------------------------------------------------
// User search by organization

#[tokio::test]
async fn searches_users_by_organization() {
    let mut server = Server::start().await;
    let inside = user_id_of(&server.create_user("jane@acme.com").await);
    let outside = user_id_of(&server.create_user("john@acme.com").await);
    let elsewhere = user_id_of(&server.create_user("jim@example.com").await);
    let acme = id_of(&create_organization(&mut server, json!({"name": "acme"})).await);
    let other = id_of(&create_organization(&mut server, json!({"name": "other"})).await);
    assert_eq!(server.post(&members_path(&acme), json!({"members": [inside.clone()]})).await.status, 204);
    assert_eq!(server.post(&members_path(&other), json!({"members": [elsewhere.clone()]})).await.status, 204);
    let search = |q: String| format!("/api/v2/users?include_totals=true&q={}", urlencode(&q));
    let found = |reply: &crate::server::Reply| {
        let mut ids = column(&reply.body, "users", "user_id");
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    // The examples of Auth0's docs ("Search Organization Members").
    let reply = server.get(&search(format!("organization_id:\"{acme}\""))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!((found(&reply), reply.body["total"].clone()), (vec![inside.clone()], json!(1)));
    let reply = server.get(&search(format!("email.domain:\"acme.com\" AND NOT organization_id:\"{acme}\""))).await;
    assert_eq!(found(&reply), std::slice::from_ref(&outside));
    let reply = server.get(&search(format!("organization_id:\"{acme}\" AND email:jane*"))).await;
    assert_eq!(found(&reply), std::slice::from_ref(&inside));
    let reply = server.get(&search("_exists_:organization_id".to_owned())).await;
    assert_eq!(found(&reply), sorted(vec![inside.clone(), elsewhere.clone()]));

    // Memberships are searchable at once, totals included.
    assert_eq!(server.post(&members_path(&acme), json!({"members": [outside.clone()]})).await.status, 204);
    let reply = server.get(&search(format!("organization_id:\"{acme}\""))).await;
    assert_eq!((found(&reply), reply.body["total"].clone()), (sorted(vec![inside.clone(), outside.clone()]), json!(2)));
    assert_eq!(server.delete(&format!("/api/v2/organizations/{acme}")).await.status, 204);
    let reply = server.get(&search(format!("organization_id:\"{acme}\""))).await;
    assert_eq!((found(&reply), reply.body["total"].clone()), (Vec::<String>::new(), json!(0)));

    server.get(&search("organization_id:org_*".to_owned())).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'wildcard searches are not supported on organization_id (at position 1)' on property q (Query in Lucene query string syntax).",
    );
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).unwrap().trim_start_matches("q=").to_owned()
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/// Sends `requests` (method, path, body) at once with the full-scope token; their statuses, in
/// order.
async fn concurrently(server: &mut Server, requests: Vec<(Method, String, Value)>) -> Vec<(u16, String)> {
    let token = server.token().await;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (method, path, body)) in requests.into_iter().enumerate() {
        let request = server.http.request(method, format!("{}{path}", server.base)).bearer_auth(&token).json(&body);
        tasks.spawn(async move {
            let response = request.send().await.expect("request sent");
            (index, response.status().as_u16(), response.text().await.unwrap_or_default())
        });
    }
    let mut answers = tasks.join_all().await;
    answers.sort();
    answers.into_iter().map(|(_, status, text)| (status, text)).collect()
}

#[tokio::test]
async fn concurrent_role_assignments_keep_the_cap() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "busy"})).await);
    let user_id = user_id_of(&server.create_user("busy@example.com").await);
    let path = member_roles_path(&organization, &user_id);
    let mut roles = Vec::new();
    for i in 0..60 {
        roles.push(create_role(&mut server, &format!("busy-{i:02}"), None).await);
    }
    // Six requests of ten distinct roles each: only five fit under 50.
    let requests = roles.chunks(10).map(|chunk| (Method::POST, path.clone(), json!({"roles": chunk}))).collect();
    let answers = concurrently(&mut server, requests).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 5, "{answers:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "{answers:?}");
    assert_eq!(server.get(&format!("{path}?include_totals=true&per_page=1")).await.body["total"], 50);
}

#[tokio::test]
async fn members_added_while_users_are_deleted() {
    let mut server = Server::start().await;
    let organization = id_of(&create_organization(&mut server, json!({"name": "racing"})).await);
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(user_id_of(&server.create_user(&format!("racer{i}@example.com")).await));
    }
    let mut requests = Vec::new();
    for user_id in &users {
        requests.push((Method::POST, members_path(&organization), json!({"members": [user_id]})));
        requests.push((Method::DELETE, format!("/api/v2/users/{}", encode(user_id)), json!({})));
    }
    let answers = concurrently(&mut server, requests).await;
    for (index, (status, text)) in answers.iter().enumerate() {
        if index % 2 == 0 {
            // Added before the delete (204; the delete then ends the membership) or after (400).
            assert!(
                *status == 204 || (*status == 400 && text.contains("One or more users do not exist")),
                "add: {status} {text}"
            );
        } else {
            assert_eq!(*status, 204, "delete: {text}");
        }
    }
    assert_eq!(server.get(&members_path(&organization)).await.body, json!([]));
    assert_eq!(server.database.count("SELECT COUNT(*) FROM organization_members").await, 0);
}
