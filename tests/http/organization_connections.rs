//! An organization's connections (`/enabled_connections` and `/connections`, one set of rows),
//! its client grants, the empty discovery-domain listing, and the query parameters the Deploy CLI
//! sends elsewhere, as a client sees them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::Server;

async fn created(server: &mut Server, path: &str, body: Value) -> Value {
    let reply = server.post(path, body).await;
    assert!(reply.status == 200 || reply.status == 201, "POST {path}: {}", reply.text);
    reply.body
}

async fn organization(server: &mut Server, name: &str) -> String {
    created(server, "/api/v2/organizations", json!({"name": name})).await["id"].as_str().unwrap().to_owned()
}

/// A connection of strategy `ad` (as in Auth0's recording), and its id.
async fn connection(server: &mut Server, name: &str) -> String {
    let body = json!({"name": name, "strategy": "ad"});
    created(server, "/api/v2/connections", body).await["id"].as_str().unwrap().to_owned()
}

fn enabled(organization: &str) -> String {
    format!("/api/v2/organizations/{organization}/enabled_connections")
}

fn all(organization: &str) -> String {
    format!("/api/v2/organizations/{organization}/connections")
}

fn information(name: &str) -> Value {
    json!({"name": name, "strategy": "ad"})
}

#[tokio::test]
async fn enabled_connections_as_recorded() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "test-organization991").await;
    let con = connection(&mut server, "test-conn18").await;
    // TestOrganizationManager_Connections: the body go-auth0 sends and Auth0's answers.
    let added = server
        .post(&enabled(&org), json!({"connection_id": con, "assign_membership_on_login": true, "show_as_button": true}))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let shown = json!({"connection_id": con, "assign_membership_on_login": true, "show_as_button": true,
        "connection": information("test-conn18")});
    assert_eq!(added.body, shown);
    let listed = server.get(&format!("{}?include_totals=true&per_page=50", enabled(&org))).await;
    assert_eq!(listed.body, json!({"enabled_connections": [shown], "start": 0, "limit": 1, "total": 1}));
    assert_eq!(server.get(&enabled(&org)).await.body, json!([shown]));
    assert_eq!(server.get(&format!("{}/{con}", enabled(&org))).await.body, shown);

    let patched = server.patch(&format!("{}/{con}", enabled(&org)), json!({"is_signup_enabled": true})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["is_signup_enabled"], json!(true));
    assert_eq!(patched.body["assign_membership_on_login"], json!(true));

    let removed = server.delete(&format!("{}/{con}", enabled(&org))).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    server.get(&format!("{}/{con}", enabled(&org))).await.assert_error(
        404,
        None,
        "The organization connection does not exist.",
    );
    assert_eq!(server.get(&enabled(&org)).await.body, json!([]));
    // Pages: per_page bounds what comes back; `limit` counts it.
    for name in ["con-b", "con-a", "con-c"] {
        let id = connection(&mut server, name).await;
        created(&mut server, &enabled(&org), json!({"connection_id": id})).await;
    }
    let page = server.get(&format!("{}?include_totals=true&per_page=2&page=1", enabled(&org))).await;
    assert_eq!(page.body["total"], json!(3));
    assert_eq!(page.body["limit"], json!(1));
    assert_eq!(page.body["enabled_connections"][0]["connection"]["name"], json!("con-c"));
}

#[tokio::test]
async fn both_families_read_and_write_the_same_connections() {
    let mut server = Server::start().await;
    let con = connection(&mut server, "shared-ad").await;
    let other = connection(&mut server, "other-ad").await;
    let created_org = created(
        &mut server,
        "/api/v2/organizations",
        json!({"name": "both", "enabled_connections": [{"connection_id": con, "show_as_button": false}]}),
    )
    .await;
    let org = created_org["id"].as_str().unwrap().to_owned();
    // What the creation enabled is there for both families.
    assert_eq!(
        server.get(&enabled(&org)).await.body,
        json!([{"connection_id": con, "show_as_button": false,
        "connection": information("shared-ad")}])
    );
    assert_eq!(
        server.get(&all(&org)).await.body,
        json!([{"connection_id": con, "show_as_button": false,
        "is_enabled": true, "connection": information("shared-ad")}])
    );

    // Added disabled through /connections: listed there, not among the enabled ones.
    let added = server
        .post(
            &all(&org),
            json!({"connection_id": other, "is_enabled": false, "organization_access_level": "readonly",
            "organization_connection_name": "Partners"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(
        added.body,
        json!({"connection_id": other, "organization_access_level": "readonly", "organization_connection_name": "Partners",
            "is_enabled": false, "connection": information("other-ad")})
    );
    assert_eq!(server.get(&enabled(&org)).await.body.as_array().unwrap().len(), 1);
    let disabled = server.get(&format!("{}?is_enabled=false&include_totals=true", all(&org))).await;
    assert_eq!(disabled.body["total"], json!(1), "{}", disabled.text);
    assert_eq!(disabled.body["connections"][0]["connection_id"], json!(other));
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        server.call(method, &format!("{}/{other}", enabled(&org)), Some(json!({}))).await.assert_error(
            404,
            None,
            "The organization connection does not exist.",
        );
    }
    // The first family's fields only: `is_enabled` is not one of them.
    server.post(&enabled(&org), json!({"connection_id": other, "is_enabled": true})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: is_enabled'.",
    );
    // `null` unsets: enabled again, and no name.
    let patched = server
        .patch(&format!("{}/{other}", all(&org)), json!({"is_enabled": null, "organization_connection_name": null}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.body,
        json!({"connection_id": other, "organization_access_level": "readonly", "is_enabled": true,
            "connection": information("other-ad")})
    );
    assert_eq!(
        server.get(&format!("{}/{other}", enabled(&org))).await.body,
        json!({"connection_id": other, "connection": information("other-ad")})
    );
    assert_eq!(server.delete(&format!("{}/{other}", all(&org))).await.status, 204);
    assert_eq!(server.get(&all(&org)).await.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn connection_refusals() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "refusals").await;
    let con = connection(&mut server, "refused-ad").await;
    let missing_org = "org_0000000000000000";
    for (method, path) in [
        (Method::GET, enabled(missing_org)),
        (Method::POST, enabled(missing_org)),
        (Method::GET, format!("{}/{con}", enabled(missing_org))),
        (Method::PATCH, format!("{}/{con}", enabled(missing_org))),
        (Method::DELETE, format!("{}/{con}", enabled(missing_org))),
        (Method::GET, all(missing_org)),
        (Method::POST, all(missing_org)),
        (Method::GET, format!("{}/{con}", all(missing_org))),
        (Method::PATCH, format!("{}/{con}", all(missing_org))),
        (Method::DELETE, format!("{}/{con}", all(missing_org))),
    ] {
        let body = json!({"connection_id": con});
        let body = if method == Method::PATCH { json!({}) } else { body };
        server.call(method.clone(), &path, Some(body)).await.assert_error(
            404,
            Some("inexistent_organization"),
            "No organization found by that id or name",
        );
    }
    // Not the organization's.
    for family in [enabled(&org), all(&org)] {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            server.call(method, &format!("{family}/{con}"), Some(json!({}))).await.assert_error(
                404,
                None,
                "The organization connection does not exist.",
            );
        }
    }
    // Bad bodies.
    server.post(&enabled(&org), json!({"assign_membership_on_login": true})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: connection_id'.",
    );
    server.post(&enabled(&org), json!({"connection_id": "nope"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Object didn't pass validation for format connection-id: nope' on property connection_id (Single connection ID to add to the organization).",
    );
    server.post(&all(&org), json!({"connection_id": con, "show_as_button": "yes"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type boolean but found type string' on property show_as_button (Determines whether a connection should be displayed on this organization’s login prompt. Only applicable for enterprise connections. Default: true).",
    );
    server.post(&all(&org), json!({"connection_id": con, "organization_access_level": "most"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'No enum match for: \"most\"' on property organization_access_level (Access level for the organization (e.g., \"none\", \"full\")).",
    );
    server.post(&enabled(&org), json!({"connection_id": "con_0000000000000000"})).await.assert_error(
        400,
        Some("inexistent_connection"),
        "The connection does not exist.",
    );
    // Added once, in either family.
    assert_eq!(server.post(&enabled(&org), json!({"connection_id": con})).await.status, 201);
    for family in [enabled(&org), all(&org)] {
        server.post(&family, json!({"connection_id": con})).await.assert_error(
            409,
            None,
            "The organization connection already exists.",
        );
    }
    let patch = server.patch(&format!("{}/{con}", enabled(&org)), json!({"organization_access_level": "full"})).await;
    patch.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: organization_access_level'.",
    );
    server.get(&format!("{}?per_page=101", enabled(&org))).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page. Defaults to 50).",
    );
}

#[tokio::test]
async fn connections_go_with_the_connection_and_the_organization() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "cascade").await;
    let con = connection(&mut server, "doomed-ad").await;
    created(&mut server, &enabled(&org), json!({"connection_id": con})).await;
    assert_eq!(server.delete(&format!("/api/v2/connections/{con}")).await.status, 202);
    assert_eq!(server.get(&enabled(&org)).await.body, json!([]));
    let con = connection(&mut server, "doomed-ad").await;
    created(&mut server, &enabled(&org), json!({"connection_id": con})).await;
    assert_eq!(server.delete(&format!("/api/v2/organizations/{org}")).await.status, 204);
    let count = server.database.count("SELECT COUNT(*) FROM organization_connections").await;
    assert_eq!(count, 0);
}

async fn client_grant(server: &mut Server, client_name: &str, audience: &str) -> (String, String) {
    created(
        server,
        "/api/v2/resource-servers",
        json!({"identifier": audience, "scopes": [{"value": "create:resource"}]}),
    )
    .await;
    let client = created(server, "/api/v2/clients", json!({"name": client_name, "app_type": "non_interactive"})).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let grant = created(
        server,
        "/api/v2/client-grants",
        json!({"client_id": client_id, "audience": audience, "scope": ["create:resource"], "allow_any_organization": true,
            "organization_usage": "allow"}),
    )
    .await;
    (grant["id"].as_str().unwrap().to_owned(), client_id)
}

#[tokio::test]
async fn client_grants_as_recorded() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "test-organization978").await;
    let path = format!("/api/v2/organizations/{org}/client-grants");
    let (grant, client_id) = client_grant(&mut server, "Test Client", "https://api.example.com/").await;
    // TestOrganizationManager_ClientGrants.
    let added = server.post(&path, json!({"grant_id": grant})).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(
        added.body,
        json!({"grant_id": grant, "client_id": client_id, "audience": "https://api.example.com/", "scope": ["create:resource"]})
    );
    let shown = json!({"id": grant, "client_id": client_id, "audience": "https://api.example.com/",
        "scope": ["create:resource"], "organization_usage": "allow", "allow_any_organization": true});
    let listed = server.get(&format!("{path}?include_totals=true&per_page=50")).await;
    assert_eq!(listed.body, json!({"client_grants": [shown], "start": 0, "limit": 50, "total": 1}));
    // Filters.
    let (other, other_client) = client_grant(&mut server, "Other Client", "https://other.example.com/").await;
    created(&mut server, &path, json!({"grant_id": other})).await;
    let ids = |reply: &Value| -> Vec<String> {
        reply.as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&server.get(&path).await.body), vec![grant.clone(), other.clone()]);
    assert_eq!(
        ids(&server.get(&format!("{path}?audience=https://other.example.com/")).await.body),
        vec![other.clone()]
    );
    assert_eq!(ids(&server.get(&format!("{path}?client_id={client_id}")).await.body), vec![grant.clone()]);
    assert_eq!(ids(&server.get(&format!("{path}?grant_ids={other}")).await.body), vec![other.clone()]);
    assert_eq!(ids(&server.get(&format!("{path}?grant_ids={grant}&grant_ids={other}")).await.body).len(), 2);
    server.get(&format!("{path}?grant_ids=nope")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Object didn't pass validation for format client-grant-id: nope' on property grant_ids (Optional filter on the ID of the client grant. Must be URL encoded and may be specified multiple times (max 10).<br /><b>e.g.</b> <i>../client-grants?grant_ids=id1&grant_ids=id2</i>).",
    );
    // Refusals.
    server.post(&path, json!({"grant_id": grant})).await.assert_error(
        409,
        None,
        "The client grant has already been added to this organization.",
    );
    server.post(&path, json!({"grant_id": "cgr_0000000000000000"})).await.assert_error(
        404,
        None,
        "The grant does not exist.",
    );
    server.post(&path, json!({})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: grant_id'.",
    );
    server.post(&path, json!({"grant_id": "grant-1"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Object didn't pass validation for format client-grant-id: grant-1' on property grant_id (A Client Grant ID to add to the organization).",
    );
    let missing = "/api/v2/organizations/org_0000000000000000/client-grants";
    for (method, path) in [
        (Method::GET, missing.to_owned()),
        (Method::POST, missing.to_owned()),
        (Method::DELETE, format!("{missing}/{grant}")),
    ] {
        server.call(method, &path, Some(json!({"grant_id": grant}))).await.assert_error(
            404,
            Some("inexistent_organization"),
            "No organization found by that id or name",
        );
    }
    // `GET /clients?q=`: the two queries the spec permits, now that grants have organizations.
    let clients = |reply: &Value| -> Vec<String> {
        let mut ids: Vec<String> =
            reply["clients"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![client_id.clone(), other_client.clone()];
    both.sort();
    let by_org = server.get(&format!("/api/v2/clients?q=client_grant.organization_id:{org}&take=50")).await;
    assert_eq!(clients(&by_org.body), both, "{}", by_org.text);
    let any = server.get("/api/v2/clients?q=client_grant.allow_any_organization:true&take=50").await;
    assert_eq!(clients(&any.body), both, "{}", any.text);
    let none = server.get("/api/v2/clients?q=client_grant.organization_id:org_0000000000000000&take=50").await;
    assert_eq!(clients(&none.body), Vec::<String>::new());
    assert_eq!(
        server.get("/api/v2/clients?external_client_id=https://app.example.com/cimd.json").await.body,
        json!([])
    );
    assert_eq!(server.get("/api/v2/clients?q=name:x").await.status, 400);
    // Removing: 204, also for a grant that is not the organization's; a deleted grant leaves.
    assert_eq!(server.delete(&format!("{path}/{grant}")).await.status, 204);
    assert_eq!(server.delete(&format!("{path}/{grant}")).await.status, 204);
    assert_eq!(ids(&server.get(&path).await.body), vec![other.clone()]);
    assert_eq!(server.delete(&format!("/api/v2/clients/{other_client}")).await.status, 204);
    assert_eq!(server.get(&path).await.body, json!([]));
}

#[tokio::test]
async fn discovery_domains_scim_and_role_types() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "discovering").await;
    let reply = server.get(&format!("/api/v2/organizations/{org}/discovery-domains?take=50")).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (200, json!({"domains": []})));
    server.get("/api/v2/organizations/org_0000000000000000/discovery-domains").await.assert_error(
        404,
        Some("inexistent_organization"),
        "No organization found by that id or name",
    );
    let con = connection(&mut server, "no-scim").await;
    server.get(&format!("/api/v2/connections/{con}/scim-configuration")).await.assert_error(
        404,
        None,
        "The connection has no SCIM configuration.",
    );
    server.get("/api/v2/connections/con_0000000000000000/scim-configuration").await.assert_error(
        404,
        Some("inexistent_connection"),
        "The connection does not exist",
    );
    // `type` and `owner_id` (the Deploy CLI sends `type=tenant`): every Roster role is a tenant's.
    created(&mut server, "/api/v2/roles", json!({"name": "tenant-role"})).await;
    let tenant = server.get("/api/v2/roles?per_page=100&page=0&include_totals=true&type=tenant").await;
    assert_eq!(tenant.body["total"], json!(1), "{}", tenant.text);
    assert_eq!(server.get("/api/v2/roles?type=organization").await.body, json!([]));
    assert_eq!(server.get(&format!("/api/v2/roles?owner_id={org}")).await.body, json!([]));
    server.get("/api/v2/roles?type=group").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'No enum match for: \"group\"' on property type (Optional filter on the role type: tenant or organization).",
    );
}

#[tokio::test]
async fn operations_need_their_scopes() {
    let mut server = Server::start().await;
    let org = organization(&mut server, "scoped-links").await;
    let token = server.token_with_scope(Some("read:organizations")).await;
    let base = format!("/api/v2/organizations/{org}");
    let checks = [
        (Method::GET, format!("{base}/enabled_connections"), "read:organization_connections"),
        (Method::POST, format!("{base}/enabled_connections"), "create:organization_connections"),
        (Method::GET, format!("{base}/enabled_connections/con_1"), "read:organization_connections"),
        (Method::PATCH, format!("{base}/enabled_connections/con_1"), "update:organization_connections"),
        (Method::DELETE, format!("{base}/enabled_connections/con_1"), "delete:organization_connections"),
        (Method::GET, format!("{base}/connections"), "read:organization_connections"),
        (Method::POST, format!("{base}/connections"), "create:organization_connections"),
        (Method::GET, format!("{base}/connections/con_1"), "read:organization_connections"),
        (Method::PATCH, format!("{base}/connections/con_1"), "update:organization_connections"),
        (Method::DELETE, format!("{base}/connections/con_1"), "delete:organization_connections"),
        (Method::GET, format!("{base}/client-grants"), "read:organization_client_grants"),
        (Method::POST, format!("{base}/client-grants"), "create:organization_client_grants"),
        (Method::DELETE, format!("{base}/client-grants/cgr_1"), "delete:organization_client_grants"),
        (Method::GET, format!("{base}/discovery-domains"), "read:organization_discovery_domains"),
        (Method::GET, "/api/v2/connections/con_1/scim-configuration".to_owned(), "read:scim_config"),
    ];
    for (method, path, scopes) in checks {
        server.send_raw(method.clone(), &path, Some(&token), Some(&json!({}))).await.assert_error(
            403,
            Some("insufficient_scope"),
            &format!("Insufficient scope, expected any of: {scopes}"),
        );
        assert_eq!(server.send_raw(method, &path, None, None).await.status, 401, "{path}");
    }
}
