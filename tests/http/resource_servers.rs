//! `/api/v2/resource-servers`, and what changing or deleting a resource server does to the
//! permissions assigned from it and to the client grants for it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::roles::{
    create_api, create_role, futures_join_all, permission, role_permission_names, user_path, user_permissions,
};
use crate::server::{Reply, Server};
use crate::tenant_admin::create_client;

/// `https://x/y` as one path segment.
fn segment(identifier: &str) -> String {
    identifier.replace('/', "%2F")
}

fn keys(body: &Value) -> Vec<&str> {
    body.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn created_with_auth0_defaults_and_read_by_id_or_identifier() {
    let mut server = Server::start().await;
    let identifier = "https://uat.api.terraform-provider-auth0.com/testaccuserpermission";
    // TestAccUserPermission: created with a name and identifier only.
    let created = server
        .post(
            "/api/v2/resource-servers",
            json!({"name": "Acceptance Test - testaccuserpermission", "identifier": identifier}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
    assert_eq!(
        created.body,
        json!({
            "id": id, "name": "Acceptance Test - testaccuserpermission", "identifier": identifier,
            "signing_alg": "RS256", "allow_offline_access": false, "token_lifetime": 86400,
            "token_lifetime_for_web": 7200, "skip_consent_for_verifiable_first_party_clients": false
        })
    );
    assert_eq!(server.get(&format!("/api/v2/resource-servers/{id}")).await.body, created.body);
    // The identifier, percent-encoded, names it too.
    let by_identifier = format!("/api/v2/resource-servers/{}", segment(identifier));
    assert_eq!(
        by_identifier,
        "/api/v2/resource-servers/https:%2F%2Fuat.api.terraform-provider-auth0.com%2Ftestaccuserpermission"
    );
    assert_eq!(server.get(&by_identifier).await.body, created.body);

    // Setting absent options to null changes nothing.
    for option in ["authorization_details", "token_encryption", "proof_of_possession"] {
        let patched = server.patch(&format!("/api/v2/resource-servers/{id}"), json!({option: null})).await;
        assert_eq!((patched.status.as_u16(), &patched.body), (200, &created.body));
    }
    let with_scopes = server
        .patch(
            &by_identifier,
            json!({"scopes": [{"value": "create:foo", "description": "Can create Foo"}, {"value": "read:foo", "description": "Can read Foo"}]}),
        )
        .await;
    assert_eq!(with_scopes.status, 200);
    assert_eq!(
        with_scopes.body["scopes"],
        json!([{"value": "create:foo", "description": "Can create Foo"}, {"value": "read:foo", "description": "Can read Foo"}])
    );
    assert_eq!(server.get(&by_identifier).await.body, with_scopes.body);
    // Emptied, the scopes stay shown, as `[]`.
    let emptied = server.patch(&by_identifier, json!({"scopes": []})).await;
    assert_eq!(emptied.body["scopes"], json!([]));

    assert_eq!(server.delete(&format!("/api/v2/resource-servers/{id}")).await.status, 204);
    server.get(&format!("/api/v2/resource-servers/{id}")).await.assert_error(
        404,
        Some("inexistent_resource_server"),
        "The resource server does not exist.",
    );
    // As recorded (TestResourceServer_Delete): deleting again is still 204.
    let again = server.delete(&format!("/api/v2/resource-servers/{id}")).await;
    assert_eq!((again.status.as_u16(), again.text.as_str()), (204, ""));
}

#[tokio::test]
async fn created_and_updated_with_token_settings() {
    let mut server = Server::start().await;
    // TestResourceServer_Create's payload (the key shortened).
    let created = server
        .post(
            "/api/v2/resource-servers",
            json!({
                "name": "Test Resource Server", "identifier": "https://api.example.com/",
                "scopes": [{"value": "create:resource", "description": "Create Resource"}],
                "signing_alg": "PS256", "token_lifetime": 7200, "token_lifetime_for_web": 3600,
                "enforce_policies": true, "token_dialect": "rfc9068_profile_authz",
                "consent_policy": "transactional-authorization-with-mfa",
                "authorization_details": [{"type": "payment"}, {"type": "my custom type"}],
                "token_encryption": {"format": "compact-nested-jwe", "encryption_key": {"name": "my JWE public key", "alg": "RSA-OAEP-256", "kid": "my-key-id", "pem": "-----BEGIN PUBLIC KEY-----\nMIIC\n-----END PUBLIC KEY-----"}},
                "proof_of_possession": {"mechanism": "mtls", "required": true}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body,
        json!({
            "id": id, "name": "Test Resource Server", "identifier": "https://api.example.com/",
            "scopes": [{"value": "create:resource", "description": "Create Resource"}],
            "signing_alg": "PS256", "allow_offline_access": false, "token_lifetime": 7200, "token_lifetime_for_web": 3600,
            "skip_consent_for_verifiable_first_party_clients": false, "enforce_policies": true,
            "token_dialect": "rfc9068_profile_authz", "consent_policy": "transactional-authorization-with-mfa",
            "authorization_details": [{"type": "payment"}, {"type": "my custom type"}],
            // The public key's PEM is not shown back.
            "token_encryption": {"format": "compact-nested-jwe", "encryption_key": {"name": "my JWE public key", "alg": "RSA-OAEP-256", "kid": "my-key-id"}},
            "proof_of_possession": {"mechanism": "mtls", "required": true}
        })
    );
    assert_eq!(keys(&created.body)[..6], ["id", "name", "identifier", "scopes", "signing_alg", "allow_offline_access"]);

    // TestResourceServer_Update's payload.
    let path = format!("/api/v2/resource-servers/{id}");
    let updated = server
        .patch(
            &path,
            json!({
                "name": "Renamed", "signing_alg": "RS256", "allow_offline_access": true, "token_lifetime_for_web": 5400,
                "skip_consent_for_verifiable_first_party_clients": true, "token_dialect": "access_token_authz",
                "subject_type_authorization": {"user": {"policy": "deny_all"}, "client": {"policy": "deny_all"}},
                "consent_policy": null, "token_encryption": null
            }),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let body = &updated.body;
    assert_eq!(body["name"], "Renamed");
    assert_eq!(body["identifier"], "https://api.example.com/");
    assert_eq!((body["signing_alg"].clone(), body["allow_offline_access"].clone()), (json!("RS256"), json!(true)));
    assert_eq!((body["token_lifetime"].clone(), body["token_lifetime_for_web"].clone()), (json!(7200), json!(5400)));
    assert_eq!(body["token_dialect"], "access_token_authz");
    assert_eq!(
        body["subject_type_authorization"],
        json!({"user": {"policy": "deny_all"}, "client": {"policy": "deny_all"}})
    );
    assert!(body.get("consent_policy").is_none() && body.get("token_encryption").is_none(), "{body}");
    assert_eq!(body["scopes"], created.body["scopes"], "untouched");
    assert_eq!(server.get(&path).await.body, updated.body);

    // What was stored survives a restart.
    let mut server = server.restart(&[]).await;
    assert_eq!(server.get(&path).await.body, updated.body);
}

#[tokio::test]
async fn payload_errors() {
    let mut server = Server::start().await;
    let post = |body: Value| json!(body);
    let cases: Vec<(Value, &str)> = vec![
        (post(json!({"name": "x"})), "Payload validation error: 'Missing required property: identifier'."),
        (
            post(json!({"identifier": "x", "id": "y"})),
            "Payload validation error: 'Additional properties not allowed: id'.",
        ),
        (
            post(json!({"identifier": ""})),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property identifier (Unique identifier for the API used as the audience parameter on authorization calls. Can not be changed once set).",
        ),
        (
            post(json!({"identifier": "x", "name": "<script>"})),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: <script>' on property name (Friendly name for this resource server. Can not contain `<` or `>` characters).",
        ),
        (
            post(json!({"identifier": "x", "signing_alg": "none"})),
            "Payload validation error: 'No enum match for: \"none\"' on property signing_alg (Algorithm used to sign JWTs. Can be `HS256` (default) or `RS256`. `PS256` available via addon).",
        ),
        (
            post(json!({"identifier": "x", "token_lifetime": 2592001})),
            "Payload validation error: 'Value 2592001 is greater than maximum 2592000' on property token_lifetime (Expiration value (in seconds) for access tokens issued for this API from the token endpoint).",
        ),
        (
            post(json!({"identifier": "x", "scopes": [{"description": "no value"}]})),
            "Payload validation error: 'Missing required property: value' on property scopes[0].",
        ),
        (
            post(json!({"identifier": "x", "scopes": [{"value": "a"}, {"value": "b", "description": 5}]})),
            "Payload validation error: 'Expected type string but found type integer' on property scopes[1].description (User-friendly description of this scope).",
        ),
        (
            post(json!({"identifier": "x", "scopes": [{"value": "a"}, {"value": "a"}]})),
            "Payload validation error: 'Scope values must be unique; a is given twice' on property scopes (List of permissions (scopes) that this API uses).",
        ),
        (
            post(json!({"identifier": "x", "proof_of_possession": {"mechanism": "dpop"}})),
            "Payload validation error: 'Missing required property: required' on property proof_of_possession (Proof-of-Possession configuration for access tokens).",
        ),
        (
            post(json!({"identifier": "x", "token_encryption": "yes"})),
            "Payload validation error: 'Expected type object,null but found type string' on property token_encryption.",
        ),
        (
            post(json!({"identifier": "x", "name": "a\u{0}b"})),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property name (Friendly name for this resource server. Can not contain `<` or `>` characters).",
        ),
    ];
    for (body, message) in cases {
        server.post("/api/v2/resource-servers", body).await.assert_error(400, Some("invalid_body"), message);
    }
    let api = create_api(&mut server, "https://api.example.com/", &[]).await;
    let path = format!("/api/v2/resource-servers/{}", api["id"].as_str().unwrap());
    server.patch(&path, json!({"identifier": "https://other.example.com/"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: identifier'.",
    );
    server.patch(&path, json!({"allow_offline_access": "yes", "name": 1})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type string but found type integer' on property name (Friendly name for this resource server. Can not contain `<` or `>` characters). (also) Payload validation error: 'Expected type boolean but found type string' on property allow_offline_access (Whether refresh tokens can be issued for this API (true) or not (false)).",
    );
    assert_eq!(server.get(&path).await.body, api, "refused patches change nothing");
    for method in [Method::GET, Method::PATCH] {
        let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
        server.call(method, "/api/v2/resource-servers/000000000000000000000000", body).await.assert_error(
            404,
            Some("inexistent_resource_server"),
            "The resource server does not exist.",
        );
    }
    server.get("/api/v2/resource-servers/nope%00").await.assert_error(
        404,
        Some("inexistent_resource_server"),
        "The resource server does not exist.",
    );
    server.get(&format!("{path}?fields=id&foo=1")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Additional properties not allowed: foo'.",
    );
}

#[tokio::test]
async fn identifiers_are_unique() {
    let mut server = Server::start().await;
    create_api(&mut server, "https://api.example.com/", &[]).await;
    let conflict = |reply: Reply| {
        reply.assert_error(409, Some("conflict"), "A resource server with the same identifier already exists.");
    };
    conflict(server.post("/api/v2/resource-servers", json!({"identifier": "https://api.example.com/"})).await);
    // The Management API's identifier is taken too, in either scheme.
    let management = server.audience();
    conflict(server.post("/api/v2/resource-servers", json!({"identifier": management})).await);
    let plain = management.replacen("https://", "http://", 1);
    conflict(server.post("/api/v2/resource-servers", json!({"identifier": plain})).await);
    // Another identifier differing only in case is another API.
    assert_eq!(
        server.post("/api/v2/resource-servers", json!({"identifier": "https://API.example.com/"})).await.status,
        201
    );

    let token = server.token().await;
    let body = json!({"identifier": "urn:racer"});
    let attempts =
        (0..20).map(|_| server.send_raw(Method::POST, "/api/v2/resource-servers", Some(&token), Some(&body)));
    let statuses: Vec<u16> = futures_join_all(attempts).await.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn the_management_api_is_listed_first_and_read_only() {
    let mut server = Server::start().await;
    let created = create_api(&mut server, "https://api.example.com/", &["read:x"]).await;
    let listed = server.get("/api/v2/resource-servers?include_totals=true").await;
    assert_eq!(keys(&listed.body), ["resource_servers", "start", "limit", "total"]);
    assert_eq!(
        (listed.body["start"].clone(), listed.body["limit"].clone(), listed.body["total"].clone()),
        (json!(0), json!(50), json!(2))
    );
    let system = listed.body["resource_servers"][0].clone();
    assert_eq!(system["name"], "Auth0 Management API");
    assert_eq!(system["identifier"], json!(server.audience()));
    assert_eq!(system["is_system"], true);
    assert_eq!((system["signing_alg"].clone(), system["token_lifetime"].clone()), (json!("RS256"), json!(86400)));
    let scopes = system["scopes"].as_array().unwrap();
    assert!(scopes.contains(&json!({"value": "read:users", "description": "Read Users"})), "{system}");
    assert!(scopes.contains(&json!({"value": "create:client_grants", "description": "Create Client Grants"})));
    assert!(scopes.len() > 200);
    assert_eq!(listed.body["resource_servers"][1], created);

    // By id and by identifier.
    let system_id = system["id"].as_str().unwrap();
    assert_eq!(server.get(&format!("/api/v2/resource-servers/{system_id}")).await.body, system);
    let by_identifier = format!("/api/v2/resource-servers/{}", segment(&server.audience()));
    assert_eq!(server.get(&by_identifier).await.body, system);
    // Auth0's 400s for system resource servers.
    server.patch(&by_identifier, json!({"token_lifetime": 600})).await.assert_error(
        400,
        None,
        "System resource servers cannot be patched.",
    );
    server.patch(&format!("/api/v2/resource-servers/{system_id}"), json!({"identifier": "x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: identifier'.",
    );
    server.delete(&by_identifier).await.assert_error(400, None, "System resource servers cannot be deleted.");
    server.delete(&format!("/api/v2/resource-servers/{system_id}")).await.assert_error(
        400,
        None,
        "System resource servers cannot be deleted.",
    );
    assert_eq!(server.get(&by_identifier).await.body, system);
}

#[tokio::test]
async fn lists_in_creation_order_with_pages_identifiers_and_fields() {
    let mut server = Server::start().await;
    let mut created = Vec::new();
    for identifier in ["urn:c", "urn:a", "urn:b"] {
        created.push(create_api(&mut server, identifier, &[]).await);
    }
    let identifiers = |reply: &Reply, key: Option<&str>| -> Vec<String> {
        let list = key.map_or(&reply.body, |k| &reply.body[k]);
        list.as_array().unwrap().iter().map(|r| r["identifier"].as_str().unwrap().to_owned()).collect()
    };
    let audience = server.audience();
    let all = server.get("/api/v2/resource-servers").await;
    assert_eq!(identifiers(&all, None), [audience.as_str(), "urn:c", "urn:a", "urn:b"]);
    let page = server.get("/api/v2/resource-servers?per_page=2&page=1&include_totals=true").await;
    assert_eq!(identifiers(&page, Some("resource_servers")), ["urn:a", "urn:b"]);
    assert_eq!((page.body["start"].clone(), page.body["total"].clone()), (json!(2), json!(4)));
    let first = server.get("/api/v2/resource-servers?per_page=1").await;
    assert_eq!(identifiers(&first, None), [audience.as_str()]);
    let second = server.get("/api/v2/resource-servers?per_page=1&page=1").await;
    assert_eq!(identifiers(&second, None), ["urn:c"]);

    // TestResourceServer_List: identifiers, fields and include_fields together.
    let filtered = server
        .get("/api/v2/resource-servers?fields=id%2Cidentifier&identifiers=urn%3Ab&include_fields=true&include_totals=true&per_page=50")
        .await;
    assert_eq!(
        filtered.body,
        json!({"resource_servers": [{"id": created[2]["id"], "identifier": "urn:b"}], "start": 0, "limit": 50, "total": 1})
    );
    let several = server
        .get(&format!(
            "/api/v2/resource-servers?identifiers=urn%3Ab&identifiers=urn%3Ac&identifiers={}",
            segment(&audience).replace(':', "%3A")
        ))
        .await;
    assert_eq!(identifiers(&several, None), [audience.as_str(), "urn:c", "urn:b"]);
    let none = server.get("/api/v2/resource-servers?identifiers=urn%3Anone&include_totals=true").await;
    assert_eq!((none.body["resource_servers"].clone(), none.body["total"].clone()), (json!([]), json!(0)));

    let without = server
        .get(&format!(
            "/api/v2/resource-servers/{}?fields=scopes,name&include_fields=false",
            created[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(keys(&without.body)[..2], ["id", "identifier"]);
    assert!(without.body.get("name").is_none());
    server.get("/api/v2/resource-servers?per_page=0").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property per_page (Number of results per page).",
    );
    server.get("/api/v2/resource-servers?include_fields=maybe").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Expected type boolean but found type string' on property include_fields (Whether specified fields are to be included (true) or excluded (false)).",
    );
}

#[tokio::test]
async fn changing_scopes_keeps_the_assignments_of_kept_scopes() {
    let mut server = Server::start().await;
    let api = "https://api.example.com/";
    let created = create_api(&mut server, api, &["a", "b", "c"]).await;
    let path = format!("/api/v2/resource-servers/{}", created["id"].as_str().unwrap());
    let role = create_role(&mut server, "admin").await;
    let grant = |names: &[&str]| json!({"permissions": names.iter().map(|n| permission(api, n)).collect::<Vec<_>>()});
    server.post(&format!("/api/v2/roles/{role}/permissions"), grant(&["a", "b"])).await;
    let user = server.create_user("holder@example.com").await;
    server.post(&format!("{}/permissions", user_path(&user)), grant(&["b", "c"])).await;
    server.post(&format!("{}/roles", user_path(&user)), json!({"roles": [role]})).await;

    // `a` and `c` go, `b` stays (with a new description), `d` arrives.
    let patched = server
        .patch(
            &path,
            json!({"scopes": [{"value": "d", "description": "Can d"}, {"value": "b", "description": "Now B"}]}),
        )
        .await;
    assert_eq!(
        patched.body["scopes"],
        json!([{"value": "d", "description": "Can d"}, {"value": "b", "description": "Now B"}])
    );
    assert_eq!(role_permission_names(&mut server, &role).await, ["b"]);
    assert_eq!(
        user_permissions(&mut server, &user).await,
        [("b".to_owned(), vec!["DIRECT/".to_owned(), "ROLE/admin".to_owned()])]
    );
    let listed = server.get(&format!("{}/permissions", user_path(&user))).await;
    assert_eq!(listed.body[0]["description"], "Now B");
    // A scope that went away cannot be assigned; the new one can.
    server.post(&format!("/api/v2/roles/{role}/permissions"), grant(&["a"])).await.assert_error(
        400,
        None,
        "Permission 'a' does not exist on resource server 'https://api.example.com/'.",
    );
    assert_eq!(server.post(&format!("/api/v2/roles/{role}/permissions"), grant(&["d"])).await.status, 201);
    // A renamed API shows its new name in permission listings.
    server.patch(&path, json!({"name": "Renamed API"})).await;
    assert_eq!(
        server.get(&format!("/api/v2/roles/{role}/permissions")).await.body[0]["resource_server_name"],
        "Renamed API"
    );
    assert_eq!(role_permission_names(&mut server, &role).await, ["b", "d"]);
}

#[tokio::test]
async fn deleting_a_resource_server_removes_its_permissions_everywhere() {
    let mut server = Server::start().await;
    let gone = create_api(&mut server, "https://gone.example.com/", &["read"]).await;
    create_api(&mut server, "https://kept.example.com/", &["read"]).await;
    let role = create_role(&mut server, "admin").await;
    let both = json!({"permissions": [permission("https://gone.example.com/", "read"), permission("https://kept.example.com/", "read")]});
    server.post(&format!("/api/v2/roles/{role}/permissions"), both.clone()).await;
    let user = server.create_user("holder@example.com").await;
    server.post(&format!("{}/permissions", user_path(&user)), both).await;
    assert_eq!(user_permissions(&mut server, &user).await.len(), 2);

    // By identifier, as the path allows.
    let deleted = server.delete(&format!("/api/v2/resource-servers/{}", segment("https://gone.example.com/"))).await;
    assert_eq!(deleted.status, 204);
    server.get(&format!("/api/v2/resource-servers/{}", gone["id"].as_str().unwrap())).await.assert_error(
        404,
        Some("inexistent_resource_server"),
        "The resource server does not exist.",
    );
    let remaining = server.get(&format!("/api/v2/roles/{role}/permissions")).await;
    assert_eq!(remaining.body.as_array().unwrap().len(), 1);
    assert_eq!(remaining.body[0]["resource_server_identifier"], "https://kept.example.com/");
    let held = server.get(&format!("{}/permissions", user_path(&user))).await;
    assert_eq!(held.body.as_array().unwrap().len(), 1);
    assert_eq!(held.body[0]["resource_server_identifier"], "https://kept.example.com/");

    // The same identifier and scope created again come without the old assignments.
    create_api(&mut server, "https://gone.example.com/", &["read"]).await;
    assert_eq!(role_permission_names(&mut server, &role).await, ["read"]);
    assert_eq!(user_permissions(&mut server, &user).await.len(), 1);
}

async fn create_grant(server: &mut Server, client_id: &str, audience: &str, scope: &str) -> String {
    let body = json!({"client_id": client_id, "audience": audience, "scope": [scope]});
    let reply = server.post("/api/v2/client-grants", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// The ids of the grants `GET /client-grants?{filter}` lists, sorted.
async fn grant_ids(server: &mut Server, filter: &str) -> Vec<String> {
    let reply = server.get(&format!("/api/v2/client-grants?{filter}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut ids: Vec<String> =
        reply.body.as_array().unwrap().iter().map(|grant| grant["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// A client grant names its API by identifier: deleting the API deletes the grants for it (of
/// every client), and no other.
#[tokio::test]
async fn deleting_a_resource_server_deletes_the_client_grants_for_it() {
    let mut server = Server::start().await;
    let gone = create_api(&mut server, "https://gone.example.com/", &["read"]).await;
    create_api(&mut server, "https://kept.example.com/", &["read"]).await;
    let client_id = |client: Value| client["client_id"].as_str().unwrap().to_owned();
    let worker = client_id(create_client(&mut server, json!({"name": "Worker"})).await);
    let reporter = client_id(create_client(&mut server, json!({"name": "Reporter"})).await);
    let gone_grants = [
        create_grant(&mut server, &worker, "https://gone.example.com/", "read").await,
        create_grant(&mut server, &reporter, "https://gone.example.com/", "read").await,
    ];
    let management = server.audience();
    let mut kept_grants = vec![
        create_grant(&mut server, &worker, "https://kept.example.com/", "read").await,
        create_grant(&mut server, &worker, &management, "read:users").await,
    ];
    kept_grants.sort();
    let for_gone = "audience=https://gone.example.com/";
    assert_eq!(grant_ids(&mut server, for_gone).await.len(), 2);

    let deleted = server.delete(&format!("/api/v2/resource-servers/{}", gone["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(grant_ids(&mut server, for_gone).await, Vec::<String>::new());
    for id in &gone_grants {
        server.get(&format!("/api/v2/client-grants/{id}")).await.assert_error(
            404,
            Some("inexistent_client_grant"),
            "The grant does not exist.",
        );
    }
    // The grants for other audiences stay.
    assert_eq!(grant_ids(&mut server, &format!("client_id={worker}")).await, kept_grants);
    assert_eq!(grant_ids(&mut server, &format!("client_id={reporter}")).await, Vec::<String>::new());
    for id in &kept_grants {
        assert_eq!(server.get(&format!("/api/v2/client-grants/{id}")).await.status, 200);
    }

    // The same identifier created again starts without grants, and takes new ones.
    create_api(&mut server, "https://gone.example.com/", &["read"]).await;
    assert_eq!(grant_ids(&mut server, for_gone).await, Vec::<String>::new());
    create_grant(&mut server, &worker, "https://gone.example.com/", "read").await;
}

#[tokio::test]
async fn resource_server_endpoints_check_their_scopes() {
    let mut server = Server::start().await;
    let api = create_api(&mut server, "https://api.example.com/", &[]).await;
    let path = format!("/api/v2/resource-servers/{}", api["id"].as_str().unwrap());
    let token = server.token_with_scope(Some("read:users read:roles")).await;
    for (method, path, scope) in [
        (Method::GET, "/api/v2/resource-servers", "read:resource_servers"),
        (Method::POST, "/api/v2/resource-servers", "create:resource_servers"),
        (Method::GET, path.as_str(), "read:resource_servers"),
        (Method::PATCH, path.as_str(), "update:resource_servers"),
        (Method::DELETE, path.as_str(), "delete:resource_servers"),
    ] {
        let body = (method == Method::POST || method == Method::PATCH).then(|| json!({}));
        server.send_raw(method, path, Some(&token), body.as_ref()).await.assert_error(
            403,
            Some("insufficient_scope"),
            &format!("Insufficient scope, expected any of: {scope}"),
        );
    }
    let reader = server.token_with_scope(Some("read:resource_servers")).await;
    assert_eq!(server.send_raw(Method::GET, &path, Some(&reader), None).await.status, 200);
    assert_eq!(server.get(&path).await.body, api, "the refused requests changed nothing");
}
