//! `/api/v2/connections`, `/api/v2/clients` and `/api/v2/client-grants`, and what they change
//! for users and for `/oauth/token`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{CLIENT_ID, CLIENT_SECRET, Reply, Server, encode};

const DB: &str = "Username-Password-Authentication";

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().expect("object").keys().map(String::as_str).collect()
}

fn is_alphanumeric(text: &str, len: usize) -> bool {
    text.len() == len && text.chars().all(|c| c.is_ascii_alphanumeric())
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("array").iter().map(|c| c["id"].as_str().expect("id").to_owned()).collect()
}

/// The connection named `name`, from the listing.
async fn connection_named(server: &mut Server, name: &str) -> Value {
    let reply = server.get(&format!("/api/v2/connections?name={name}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body[0].clone()
}

async fn create_connection(server: &mut Server, body: Value) -> Value {
    let reply = server.post("/api/v2/connections", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

pub async fn create_client(server: &mut Server, body: Value) -> Value {
    let reply = server.post("/api/v2/clients", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn grant(server: &mut Server, client_id: &str, scope: &[&str]) -> Value {
    let audience = server.audience();
    let reply = server
        .post("/api/v2/client-grants", json!({"client_id": client_id, "audience": audience, "scope": scope}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn request_token(server: &Server, client_id: &str, secret: &str) -> Reply {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                      "audience": server.audience()});
    server.send_raw(Method::POST, "/oauth/token", None, Some(&body)).await
}

async fn token_of(server: &Server, client_id: &str, secret: &str) -> String {
    let reply = request_token(server, client_id, secret).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn create_user_in(server: &mut Server, connection: &str, email: &str) -> Reply {
    server.post("/api/v2/users", json!({"connection": connection, "email": email, "password": "Passw0rd!"})).await
}

// ---------------------------------------------------------------------------------------------
// Connections

#[tokio::test]
async fn lists_the_tenant_connections_as_the_recorded_tenant_shows_them() {
    let mut server = Server::start_with(&["--requires-username", "true"]).await;
    // The request go-auth0 makes (TestUserManager_Link.yaml), and the recorded answer's shape.
    let reply = server.get(&format!("/api/v2/connections?include_totals=true&name={DB}&per_page=50")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let mut sorted = keys(&reply.body);
    sorted.sort_unstable();
    assert_eq!(sorted, ["connections", "limit", "start", "total"]);
    assert_eq!(
        (reply.body["total"].as_u64(), reply.body["start"].as_u64(), reply.body["limit"].as_u64()),
        (Some(1), Some(0), Some(50))
    );
    let connection = &reply.body["connections"][0];
    assert_eq!(
        keys(connection),
        ["id", "options", "strategy", "name", "is_domain_connection", "enabled_clients", "realms"]
    );
    let id = connection["id"].as_str().unwrap();
    assert!(id.starts_with("con_") && is_alphanumeric(&id[4..], 16), "{id}");
    assert_eq!(
        connection["options"],
        json!({"mfa":{"active":true,"return_enroll_settings":true},"validation":{"username":{"max":15,"min":1}},"import_mode":false,"configuration":{},"customScripts":{},"passwordPolicy":"good","password_history":{"size":5,"enable":false},"strategy_version":2,"requires_username":true,"password_dictionary":{"enable":false,"dictionary":[]},"brute_force_protection":true,"password_no_personal_info":{"enable":false},"password_complexity_options":{"min_length":8},"enabledDatabaseCustomization":false})
    );
    assert_eq!(connection["strategy"], "auth0");
    assert_eq!(connection["is_domain_connection"], false);
    assert_eq!(connection["realms"], json!([DB]));
    assert_eq!(connection["enabled_clients"], json!([CLIENT_ID]));

    // Without paging parameters: a bare array of the three connections, in id order.
    let all = server.get("/api/v2/connections").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let listed = ids(&all.body);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    let mut names: Vec<&str> = all.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, [DB, "email", "sms"]);
    let totals = server.get("/api/v2/connections?include_totals=true").await;
    assert_eq!(
        (totals.body["total"].as_u64(), totals.body["limit"].as_u64()),
        (Some(3), Some(100)),
        "the spec's default page size"
    );
}

#[tokio::test]
async fn filters_connections_by_strategy_and_name_and_selects_fields() {
    let mut server = Server::start().await;
    let passwordless = server.get("/api/v2/connections?strategy=email&strategy=sms").await;
    let mut strategies: Vec<&str> =
        passwordless.body.as_array().unwrap().iter().map(|c| c["strategy"].as_str().unwrap()).collect();
    strategies.sort_unstable();
    assert_eq!(strategies, ["email", "sms"]);
    assert_eq!(server.get("/api/v2/connections?strategy=auth0").await.body.as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v2/connections?strategy=github").await.body, json!([]));
    assert_eq!(server.get("/api/v2/connections?name=nope").await.body, json!([]));
    server.get("/api/v2/connections?strategy=nope").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'No enum match for: \"nope\"' on property strategy (Provide strategies to only retrieve connections with such strategies).",
    );
    // TestConnectionManager_List.yaml: `fields=id` answers the id and is_domain_connection.
    let only_ids = server.get("/api/v2/connections?fields=id&include_fields=true").await;
    for connection in only_ids.body.as_array().unwrap() {
        assert_eq!(keys(connection), ["id", "is_domain_connection"]);
    }
    let without = server.get("/api/v2/connections?name=sms&fields=options,enabled_clients&include_fields=false").await;
    assert_eq!(keys(&without.body[0]), ["id", "strategy", "name", "is_domain_connection", "realms"]);
    server.get("/api/v2/connections?nope=1").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Additional properties not allowed: nope'.",
    );
    server.get("/api/v2/connections?per_page=0").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property per_page (The amount of entries per page. Defaults to 100 if not provided).",
    );
}

#[tokio::test]
async fn pages_connections_by_offset_and_checkpoint() {
    let mut server = Server::start().await;
    for name in ["db-a", "db-b", "db-c"] {
        create_connection(&mut server, json!({"name": name, "strategy": "auth0"})).await;
    }
    let all = ids(&server.get("/api/v2/connections").await.body);
    assert_eq!(all.len(), 6);
    let page = server.get("/api/v2/connections?per_page=2&page=1&include_totals=true").await;
    assert_eq!(ids(&page.body["connections"]), all[2..4]);
    assert_eq!(
        (page.body["start"].as_u64(), page.body["limit"].as_u64(), page.body["total"].as_u64()),
        (Some(2), Some(2), Some(6))
    );

    let first = server.get("/api/v2/connections?take=4").await;
    assert_eq!(keys(&first.body), ["connections", "next"]);
    assert_eq!(ids(&first.body["connections"]), all[..4]);
    let next = first.body["next"].as_str().unwrap();
    let second = server.get(&format!("/api/v2/connections?take=4&from={next}")).await;
    assert_eq!(keys(&second.body), ["connections"], "no next on the last page");
    assert_eq!(ids(&second.body["connections"]), all[4..]);
    server.get("/api/v2/connections?from=%25%25").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Invalid cursor: %%' on property from (Optional Id from which to start selection).",
    );
    server.get("/api/v2/connections?take=101").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property take (Number of results per page. Defaults to 50).",
    );
}

#[tokio::test]
async fn creates_database_and_passwordless_connections() {
    let mut server = Server::start().await;
    // The request of go-auth0's TestConnectionManager_Delete.yaml, and the recorded answer.
    let created =
        create_connection(&mut server, json!({"name": "Test-Auth0-Connection-1728906777", "strategy": "auth0"})).await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("con_") && is_alphanumeric(&id[4..], 16));
    assert_eq!(
        created,
        json!({"id": id, "options": {"mfa": {"active": true, "return_enroll_settings": true}, "passwordPolicy": "good",
            "strategy_version": 2, "authentication_methods": {"password": {"enabled": true}, "passkey": {"enabled": false}},
            "passkey_options": {"challenge_ui": "both", "progressive_enrollment_enabled": true, "local_enrollment_enabled": true},
            "brute_force_protection": true}, "strategy": "auth0", "name": "Test-Auth0-Connection-1728906777",
            "is_domain_connection": false, "enabled_clients": [], "realms": ["Test-Auth0-Connection-1728906777"]})
    );
    let read = server.get(&format!("/api/v2/connections/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created);
    let projected = server.get(&format!("/api/v2/connections/{id}?fields=name,strategy")).await;
    assert_eq!(
        projected.body,
        json!({"strategy": "auth0", "name": "Test-Auth0-Connection-1728906777", "is_domain_connection": false})
    );

    // TestConnectionManager_Create/…Email_Connection.yaml
    let email = create_connection(
        &mut server,
        json!({"name": "Test-Email-Connection", "strategy": "email",
        "options": {"name": "Test-Connection-Email", "disable_signup": true, "brute_force_protection": true,
                    "totp": {"time_step": 100, "length": 4}}}),
    )
    .await;
    assert_eq!(
        email["options"],
        json!({"name": "Test-Connection-Email", "disable_signup": true, "brute_force_protection": true, "totp": {"time_step": 100, "length": 4}})
    );
    let sms = create_connection(
        &mut server,
        json!({"name": "texts", "strategy": "sms", "display_name": "Texts",
        "enabled_clients": [CLIENT_ID], "metadata": {"team": "a"}, "realms": ["texts.example"]}),
    )
    .await;
    assert_eq!(sms["options"], json!({"brute_force_protection": true}));
    assert_eq!(
        keys(&sms),
        [
            "id",
            "options",
            "strategy",
            "name",
            "display_name",
            "is_domain_connection",
            "metadata",
            "enabled_clients",
            "realms"
        ]
    );
    assert_eq!((sms["enabled_clients"].clone(), sms["realms"].clone()), (json!([CLIENT_ID]), json!(["texts.example"])));
    // A user in the new passwordless connection.
    let user = server.post("/api/v2/users", json!({"connection": "texts", "phone_number": "+14155550100"})).await;
    assert_eq!(user.status, 201, "{}", user.text);
    assert_eq!(user.body["identities"][0]["connection"], "texts");
}

#[tokio::test]
async fn refuses_invalid_and_duplicate_connections() {
    let mut server = Server::start().await;
    server.post("/api/v2/connections", json!({"name": DB, "strategy": "auth0"})).await.assert_error(
        409,
        Some("connection_conflict"),
        "A connection with the same name already exists",
    );
    server.post("/api/v2/connections", json!({"name": "x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: strategy'.",
    );
    server.post("/api/v2/connections", json!({"name": "bad name", "strategy": "auth0"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String does not match pattern ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$: bad name' on property name (The name of the connection. Must start and end with an alphanumeric character and can only contain alphanumeric characters and '-'. Max length 128).",
    );
    server.post("/api/v2/connections", json!({"name": "x", "strategy": "auth0", "id": "con_1"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: id'.",
    );
    server
        .post("/api/v2/connections", json!({"name": "x", "strategy": "auth0", "options": {"password_complexity_options": {"min_length": 0}}}))
        .await
        .assert_error(
            400,
            Some("invalid_body"),
            "Payload validation error: 'Value 0 is less than minimum 1' on property options.password_complexity_options.min_length (Minimum password length).",
        );
    server
        .post(
            "/api/v2/connections",
            json!({"name": "x", "strategy": "auth0", "options": {"attributes": {}, "validation": null}}),
        )
        .await
        .assert_error(400, Some("invalid_body"), "Cannot set both options.attributes and options.validation");
    server
        .post("/api/v2/connections", json!({"name": "x", "strategy": "auth0", "enabled_clients": ["nope"]}))
        .await
        .assert_error(404, Some("inexistent_client"), "The client does not exist");
    assert_eq!(server.get("/api/v2/connections?name=x").await.body, json!([]), "nothing half-made");
}

#[tokio::test]
async fn unknown_connections_answer_404_and_deleting_one_answers_204() {
    let mut server = Server::start().await;
    for reply in [
        server.get("/api/v2/connections/con_0000000000000000").await,
        server.patch("/api/v2/connections/con_0000000000000000", json!({"display_name": "x"})).await,
        server.get("/api/v2/connections/con_0000000000000000/clients").await,
        server
            .patch(
                "/api/v2/connections/con_0000000000000000/clients",
                json!([{"client_id": CLIENT_ID, "status": true}]),
            )
            .await,
    ] {
        reply.assert_error(404, Some("inexistent_connection"), "The connection does not exist");
    }
    let deleted = server.delete("/api/v2/connections/con_0000000000000000").await;
    assert_eq!((deleted.status.as_u16(), deleted.text.as_str()), (204, ""));
}

#[tokio::test]
async fn patching_a_connection_replaces_its_options_and_keeps_what_auth0_manages() {
    let mut server = Server::start().await;
    let created = create_connection(&mut server, json!({"name": "db2", "strategy": "auth0"})).await;
    let path = format!("/api/v2/connections/{}", created["id"].as_str().unwrap());
    // TestConnectionManager_Update/…Auth0_Connection.yaml
    let updated = server
        .patch(
            &path,
            json!({"options": {"strategy_version": 2, "upstream_params": {"screen_name": {"alias": "login_hint"}}}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let options = &updated.body["options"];
    assert_eq!(options["upstream_params"], json!({"screen_name": {"alias": "login_hint"}}));
    assert!(options.get("mfa").is_none() && options.get("passwordPolicy").is_none(), "the rest is replaced: {options}");
    assert_eq!(options["brute_force_protection"], true);
    assert_eq!(options["passkey_options"], created["options"]["passkey_options"]);
    let changed = server
        .patch(
            &path,
            json!({"display_name": "Second DB", "is_domain_connection": true, "enabled_clients": [CLIENT_ID]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(server.get(&path).await.body, changed.body);
    assert_eq!(changed.body["display_name"], "Second DB");
    assert_eq!(changed.body["is_domain_connection"], true);
    assert_eq!(changed.body["enabled_clients"], json!([CLIENT_ID]));
    assert_eq!(changed.body["options"], updated.body["options"], "options untouched when not given");

    server.patch(&path, json!({})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Too few properties defined (0), minimum 1'.",
    );
    server.patch(&path, json!({"name": "renamed"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: name'.",
    );
    server.patch(&path, json!({"options": {"passwordPolicy": "strong"}})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'No enum match for: \"strong\"' on property options.passwordPolicy (Password strength level).",
    );
    server.patch(&path, json!({"options": {"attributes": {}, "requires_username": true}})).await.assert_error(
        400,
        Some("invalid_body"),
        "Cannot set both options.attributes and options.requires_username",
    );
    server.patch(&path, json!({"enabled_clients": ["nope"]})).await.assert_error(
        404,
        Some("inexistent_client"),
        "The client does not exist",
    );
    assert_eq!(server.get(&path).await.body, changed.body, "refused patches change nothing");
}

#[tokio::test]
async fn connection_changes_apply_to_the_next_user_request() {
    let mut server = Server::start().await;
    let connection = connection_named(&mut server, DB).await;
    let path = format!("/api/v2/connections/{}", connection["id"].as_str().unwrap());
    let mut options = connection["options"].clone();
    assert_eq!(create_user_in(&mut server, DB, "before@example.com").await.status, 201, "Passw0rd! is good enough");

    options["passwordPolicy"] = json!("excellent");
    options["password_complexity_options"] = json!({"min_length": 12});
    assert_eq!(server.patch(&path, json!({"options": options})).await.status, 200);
    create_user_in(&mut server, DB, "weak@example.com").await.assert_error(
        400,
        None,
        "PasswordStrengthError: Password is too weak",
    );
    let strong = server
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "strong@example.com", "password": "Corr3ct-Horse-Battery"}),
        )
        .await;
    assert_eq!(strong.status, 201, "{}", strong.text);
    // And for password changes.
    let user_path = format!("/api/v2/users/{}", encode(strong.body["user_id"].as_str().unwrap()));
    server.patch(&user_path, json!({"password": "Passw0rd!"})).await.assert_error(
        400,
        None,
        "PasswordStrengthError: Password is too weak",
    );

    options["requires_username"] = json!(true);
    options["validation"] = json!({"username": {"min": 3, "max": 5}});
    options["passwordPolicy"] = json!("none");
    options["password_complexity_options"] = Value::Null;
    assert_eq!(server.patch(&path, json!({"options": options})).await.status, 200);
    create_user_in(&mut server, DB, "nouser@example.com").await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: username'.",
    );
    let long = server
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "long@example.com", "password": "x", "username": "sixsix"}),
        )
        .await;
    long.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'The username must be between 3 and 5 characters long' on property username.",
    );
    let fits = server
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "fits@example.com", "password": "x", "username": "fives"}),
        )
        .await;
    assert_eq!(fits.status, 201, "{}", fits.text);

    // The stored setting survives a restart (no --requires-username given).
    let mut server = server.restart(&[]).await;
    assert_eq!(connection_named(&mut server, DB).await["options"]["requires_username"], true);
}

#[tokio::test]
async fn deleting_a_connection_deletes_its_users() {
    let mut server = Server::start().await;
    let created =
        create_connection(&mut server, json!({"name": "doomed", "strategy": "auth0", "enabled_clients": [CLIENT_ID]}))
            .await;
    let path = format!("/api/v2/connections/{}", created["id"].as_str().unwrap());
    let mut doomed = Vec::new();
    for email in ["one@example.com", "two@example.com"] {
        let reply = create_user_in(&mut server, "doomed", email).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        doomed.push(reply.body["user_id"].as_str().unwrap().to_owned());
    }
    let kept = server.create_user("one@example.com").await;

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let deleted = server.delete(&path).await;
    assert_eq!(deleted.status, 202, "{}", deleted.text);
    assert_eq!(keys(&deleted.body), ["deleted_at"]);
    let deleted_at = chrono::DateTime::parse_from_rfc3339(deleted.body["deleted_at"].as_str().unwrap()).unwrap();
    assert!(deleted_at >= before && deleted_at <= chrono::Utc::now());

    server.get(&path).await.assert_error(404, Some("inexistent_connection"), "The connection does not exist");
    for user_id in &doomed {
        server.get(&format!("/api/v2/users/{}", encode(user_id))).await.assert_error(
            404,
            Some("inexistent_user"),
            "The user does not exist.",
        );
    }
    let kept_path = format!("/api/v2/users/{}", encode(kept["user_id"].as_str().unwrap()));
    assert_eq!(server.get(&kept_path).await.status, 200, "users of other connections stay");
    let found = server.get("/api/v2/users?q=identities.connection:%22doomed%22&include_totals=true").await;
    assert_eq!((found.body["total"].as_u64(), found.body["users"].clone()), (Some(0), json!([])));
    let emails = server.get("/api/v2/users-by-email?email=one@example.com").await;
    assert_eq!(emails.body.as_array().unwrap().len(), 1);
    let identities = server.database.count("SELECT COUNT(*) FROM identities WHERE connection = 'doomed'").await;
    assert_eq!(identities, 0, "no identity dangles");
    create_user_in(&mut server, "doomed", "three@example.com").await.assert_error(
        400,
        Some("inexistent_connection"),
        "The connection does not exist.",
    );

    // A new connection of the same name starts empty: the old credentials are free.
    create_connection(&mut server, json!({"name": "doomed", "strategy": "auth0", "enabled_clients": [CLIENT_ID]}))
        .await;
    assert_eq!(create_user_in(&mut server, "doomed", "one@example.com").await.status, 201);
    assert_eq!(server.delete(&path).await.status, 204, "the old id is gone");
}

#[tokio::test]
async fn enables_and_disables_clients_on_a_connection() {
    let mut server = Server::start().await;
    let connection = connection_named(&mut server, "email").await;
    let path = format!("/api/v2/connections/{}/clients", connection["id"].as_str().unwrap());
    assert_eq!(server.get(&path).await.body, json!({"clients": [{"client_id": CLIENT_ID}]}));
    let client = create_client(&mut server, json!({"name": "App"})).await;
    let client_id = client["client_id"].as_str().unwrap();

    // TestConnectionManager_EnabledClients.yaml
    let enabled = server.patch(&path, json!([{"client_id": client_id, "status": true}])).await;
    assert_eq!((enabled.status.as_u16(), enabled.text.as_str()), (204, ""));
    assert_eq!(server.get(&path).await.body, json!({"clients": [{"client_id": CLIENT_ID}, {"client_id": client_id}]}));
    let first = server.get(&format!("{path}?take=1")).await;
    assert_eq!(first.body["clients"], json!([{"client_id": CLIENT_ID}]));
    let next = first.body["next"].as_str().unwrap();
    let second = server.get(&format!("{path}?take=1&from={next}")).await;
    assert_eq!(second.body, json!({"clients": [{"client_id": client_id}]}));
    let connection_path = format!("/api/v2/connections/{}", connection["id"].as_str().unwrap());
    assert_eq!(server.get(&connection_path).await.body["enabled_clients"], json!([CLIENT_ID, client_id]));

    assert_eq!(server.patch(&path, json!([{"client_id": CLIENT_ID, "status": false}])).await.status, 204);
    assert_eq!(server.get(&path).await.body, json!({"clients": [{"client_id": client_id}]}));

    server.patch(&path, json!([{"client_id": "nope", "status": true}])).await.assert_error(
        404,
        Some("inexistent_client"),
        "The client does not exist",
    );
    server.patch(&path, json!([])).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array is too short (0), minimum 1'.",
    );
    server.patch(&path, json!([{"client_id": client_id}])).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: status' on property [0].",
    );
    server.patch(&path, json!({"client_id": client_id, "status": true})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type array but found type object'.",
    );
    server.get(&format!("{path}?take=1001")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 1001 is greater than maximum 1000' on property take (Number of results per page. Defaults to 50).",
    );
    assert_eq!(server.get(&path).await.body, json!({"clients": [{"client_id": client_id}]}), "refusals change nothing");
}

// ---------------------------------------------------------------------------------------------
// Clients

#[tokio::test]
async fn creates_clients_shaped_like_auth0() {
    let mut server = Server::start().await;
    // The request of go-auth0's TestClient_Create.yaml, and the recorded answer (Roster makes no
    // signing certificate, so no `signing_keys`).
    let created = create_client(
        &mut server,
        json!({"name": "Test Client (Apr 18 00:05:11.716)", "description": "This is just a test client."}),
    )
    .await;
    let client_id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert!(is_alphanumeric(client_id, 32), "{client_id}");
    assert!(is_alphanumeric(secret, 64));
    assert_eq!(
        created,
        json!({"name": "Test Client (Apr 18 00:05:11.716)", "description": "This is just a test client.",
            "client_id": client_id, "client_secret": secret, "is_first_party": true,
            "is_token_endpoint_ip_header_trusted": false, "oidc_conformant": false,
            "jwt_configuration": {"secret_encoded": false, "lifetime_in_seconds": 36000}, "sso_disabled": false,
            "cross_origin_authentication": false,
            "grant_types": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "custom_login_page_on": true,
            "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
                "token_lifetime": 2592000, "infinite_token_lifetime": true, "infinite_idle_token_lifetime": true,
                "idle_token_lifetime": 1296000}})
    );
    assert_eq!(server.get(&format!("/api/v2/clients/{client_id}")).await.body, created);

    // The Terraform provider's TestAccAllowUpdatingTheClientSecret.yaml.
    let m2m = create_client(
        &mut server,
        json!({"name": "Acceptance Test - Client Credentials With Secret Rotation",
        "app_type": "non_interactive", "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    assert_eq!(
        keys(&m2m),
        [
            "name",
            "client_id",
            "client_secret",
            "app_type",
            "is_first_party",
            "is_token_endpoint_ip_header_trusted",
            "oidc_conformant",
            "jwt_configuration",
            "sso_disabled",
            "cross_origin_authentication",
            "grant_types",
            "custom_login_page_on",
            "refresh_token",
            "token_endpoint_auth_method"
        ]
    );
    assert_eq!(
        (m2m["refresh_token"]["token_lifetime"].as_u64(), m2m["refresh_token"]["idle_token_lifetime"].as_u64()),
        (Some(31557600), Some(2592000))
    );
    let spa = create_client(
        &mut server,
        json!({"name": "SPA", "app_type": "spa", "callbacks": ["https://app.example/cb"],
        "client_metadata": {"team": "web"}, "grant_types": ["authorization_code", "refresh_token"],
        "jwt_configuration": {"alg": "RS256"}}),
    )
    .await;
    assert_eq!(spa["callbacks"], json!(["https://app.example/cb"]));
    assert_eq!(spa["client_metadata"], json!({"team": "web"}));
    assert_eq!(spa["grant_types"], json!(["authorization_code", "refresh_token"]));
    // TestClient_Read.yaml: a given configuration gets no default lifetime.
    assert_eq!(spa["jwt_configuration"], json!({"secret_encoded": false, "alg": "RS256"}));
    let seeded =
        create_client(&mut server, json!({"name": "Seeded", "client_secret": "a-secret-kept-in-a-file"})).await;
    assert_eq!(seeded["client_secret"], "a-secret-kept-in-a-file");
}

#[tokio::test]
async fn refuses_invalid_clients() {
    let mut server = Server::start().await;
    server.post("/api/v2/clients", json!({"description": "x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: name'.",
    );
    server.post("/api/v2/clients", json!({"name": "<script>"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String does not match pattern ^[^<>]+$: <script>' on property name (Name of this client (min length: 1 character, does not allow `<` or `>`)).",
    );
    // PostgreSQL text cannot hold U+0000: refused on both stores alike, nested values too.
    server.post("/api/v2/clients", json!({"name": "a\u{0}b"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String must not contain the NUL character (U+0000)' on property name (Name of this client (min length: 1 character, does not allow `<` or `>`)).",
    );
    server.post("/api/v2/clients", json!({"name": "a", "client_metadata": {"k": "\u{0}"}})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String must not contain the NUL character (U+0000)' on property client_metadata.k.",
    );
    server.post("/api/v2/clients", json!({"name": "a", "client_id": "mine"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: client_id'.",
    );
    server.post("/api/v2/clients", json!({"name": "a", "app_type": "desktop"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'No enum match for: \"desktop\"' on property app_type (The type of application this client represents).",
    );
    server.post("/api/v2/clients", json!({"name": "a", "description": "d".repeat(141)})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'String is too long (141 chars), maximum 140' on property description (Free text description of this client (max length: 140 characters)).",
    );
    // auth0-deploy-cli issue #45 quotes this answer.
    server
        .post(
            "/api/v2/clients",
            json!({"name": "a", "grant_types": ["implicit", "http://auth0.com/oauth/legacy/grant-type/ro"]}),
        )
        .await
        .assert_error(400, Some("invalid_body"), "Invalid grant types: http://auth0.com/oauth/legacy/grant-type/ro");
    let listed = server.get("/api/v2/clients").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "only the management client: {}", listed.text);
}

#[tokio::test]
async fn lists_clients_with_paging_filters_and_fields() {
    let mut server = Server::start().await;
    create_client(&mut server, json!({"name": "Web", "app_type": "regular_web"})).await;
    create_client(&mut server, json!({"name": "SPA", "app_type": "spa", "is_first_party": false})).await;
    create_client(&mut server, json!({"name": "Bare"})).await;
    let all = server.get("/api/v2/clients").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let client_ids: Vec<String> =
        all.body.as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(client_ids.len(), 4);
    let mut sorted = client_ids.clone();
    sorted.sort();
    assert_eq!(client_ids, sorted, "in client id order");

    // go-auth0's TestClient_List.yaml asks for this.
    let page =
        server.get("/api/v2/clients?fields=client_id&include_fields=true&include_totals=true&per_page=2&page=1").await;
    assert_eq!(
        page.body,
        json!({"clients": [{"client_id": client_ids[2]}, {"client_id": client_ids[3]}], "start": 2, "limit": 2, "total": 4})
    );
    let first = server.get("/api/v2/clients?take=3&fields=client_id").await;
    assert_eq!(first.body["clients"].as_array().unwrap().len(), 3);
    let next = first.body["next"].as_str().unwrap();
    let rest = server.get(&format!("/api/v2/clients?take=3&fields=client_id&from={next}")).await;
    assert_eq!(rest.body, json!({"clients": [{"client_id": client_ids[3]}]}));

    let names = |reply: &Reply| -> Vec<String> {
        let mut names: Vec<String> =
            reply.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&server.get("/api/v2/clients?app_type=spa,regular_web").await), ["SPA", "Web"]);
    assert_eq!(names(&server.get("/api/v2/clients?app_type=non_interactive").await), ["Roster Management API Client"]);
    assert_eq!(names(&server.get("/api/v2/clients?is_first_party=false").await), ["SPA"]);
    assert_eq!(server.get("/api/v2/clients?is_global=true").await.body, json!([]));
    assert_eq!(server.get("/api/v2/clients?is_global=false").await.body.as_array().unwrap().len(), 4);
    let trimmed =
        server.get("/api/v2/clients?fields=client_secret,refresh_token,jwt_configuration&include_fields=false").await;
    assert!(
        trimmed.body.as_array().unwrap().iter().all(|c| c.get("client_secret").is_none() && c.get("name").is_some())
    );
    server.get("/api/v2/clients?per_page=101").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page. Default value is 50, maximum value is 100).",
    );
    // `q` takes the spec's two queries only (tests/http/organization_connections.rs).
    server.get("/api/v2/clients?q=name:x").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Unsupported query: name:x; permitted: client_grant.organization_id:{organization_id}, client_grant.allow_any_organization:true' on property q (Advanced Query in Lucene syntax).",
    );
}

#[tokio::test]
async fn what_a_token_reads_of_a_client_follows_its_scopes() {
    let mut server = Server::start().await;
    let created = create_client(&mut server, json!({"name": "App", "description": "d", "app_type": "spa"})).await;
    let path = format!("/api/v2/clients/{}", created["client_id"].as_str().unwrap());
    let read_as = |scope: &'static str| {
        let server = &server;
        let path = path.clone();
        async move {
            let token = server.token_with_scope(Some(scope)).await;
            server.send_raw(Method::GET, &path, Some(&token), None).await
        }
    };
    let summary = read_as("read:client_summary").await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(keys(&summary.body), ["name", "description", "client_id", "app_type"]);
    let configuration = read_as("read:clients").await.body;
    assert!(configuration.get("grant_types").is_some() && configuration.get("client_secret").is_none());
    let credentials = read_as("read:client_credentials").await.body;
    assert_eq!(keys(&credentials), ["name", "description", "client_id", "client_secret", "app_type"]);
    let everything = read_as("read:client_keys").await.body;
    assert_eq!(everything, created);
    let listed = {
        let token = server.token_with_scope(Some("read:clients")).await;
        server.send_raw(Method::GET, "/api/v2/clients", Some(&token), None).await
    };
    assert!(listed.body.as_array().unwrap().iter().all(|c| c.get("client_secret").is_none()));
    let token = server.token_with_scope(Some("read:users")).await;
    server.send_raw(Method::GET, &path, Some(&token), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:clients,read:client_keys,read:client_credentials,read:client_summary",
    );
}

#[tokio::test]
async fn updates_clients() {
    let mut server = Server::start().await;
    let created = create_client(
        &mut server,
        json!({"name": "App", "description": "first", "client_metadata": {"a": "1", "b": "2"}}),
    )
    .await;
    let client_id = created["client_id"].as_str().unwrap();
    let path = format!("/api/v2/clients/{client_id}");
    // Close to go-auth0's TestClient_Update.yaml.
    let updated = server
        .patch(
            &path,
            json!({"name": "App 2", "description": "This is more than just a test client.",
            "jwt_configuration": {"alg": "RS256"}, "client_metadata": {"a": null, "c": "3"}, "app_type": "regular_web",
            "callbacks": ["https://app.example/cb"], "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let body = &updated.body;
    assert_eq!(
        (body["name"].as_str(), body["description"].as_str(), body["app_type"].as_str()),
        (Some("App 2"), Some("This is more than just a test client."), Some("regular_web"))
    );
    assert_eq!(
        body["jwt_configuration"],
        json!({"secret_encoded": false, "lifetime_in_seconds": 36000, "alg": "RS256"})
    );
    assert_eq!(body["client_metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(body["client_secret"], created["client_secret"]);
    assert_eq!(server.get(&path).await.body, updated.body);
    let located = server.patch(&path, json!({"cross_origin_loc": "https://app.example/co"})).await;
    assert_eq!(located.body["cross_origin_loc"], "https://app.example/co");
    let cleared = server.patch(&path, json!({"callbacks": [], "cross_origin_loc": null})).await;
    assert_eq!(cleared.body["callbacks"], json!([]));
    assert!(cleared.body.get("cross_origin_loc").is_none(), "null removes it");

    // The secret needs update:client_keys.
    let token = server.token_with_scope(Some("update:clients")).await;
    server.send_raw(Method::PATCH, &path, Some(&token), Some(&json!({"client_secret": "s".repeat(40)}))).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Some fields cannot be updated with the permissions granted by the bearer token scopes. The following fields require update:client_keys: client_secret",
    );
    let renamed = server.send_raw(Method::PATCH, &path, Some(&token), Some(&json!({"name": "App 3"}))).await;
    assert_eq!(renamed.body["name"], "App 3");
    grant(&mut server, client_id, &["read:users"]).await;
    let set = server.patch(&path, json!({"client_secret": "chosen-secret-0123456789"})).await;
    assert_eq!(set.body["client_secret"], "chosen-secret-0123456789");
    token_of(&server, client_id, "chosen-secret-0123456789").await;

    server.patch(&path, json!({"grant_types": ["implicit", "implicit"]})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Array items are not unique (indexes 0 and 1)' on property grant_types (A set of grant types that the client is authorized to use. Can include `authorization_code`, `implicit`, `refresh_token`, `client_credentials`, `password`, `http://auth0.com/oauth/grant-type/password-realm`, `http://auth0.com/oauth/grant-type/mfa-oob`, `http://auth0.com/oauth/grant-type/mfa-otp`, `http://auth0.com/oauth/grant-type/mfa-recovery-code`, `urn:openid:params:grant-type:ciba`, `urn:ietf:params:oauth:grant-type:device_code`, and `urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`).",
    );
    server.patch(&path, json!({"client_id": "other"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: client_id'.",
    );
    for reply in [
        server.get("/api/v2/clients/nope").await,
        server.patch("/api/v2/clients/nope", json!({"name": "x"})).await,
        server.post("/api/v2/clients/nope/rotate-secret", json!({})).await,
    ] {
        reply.assert_error(404, Some("inexistent_client"), "The client does not exist");
    }
}

#[tokio::test]
async fn rotating_a_secret_retires_the_old_one() {
    let mut server = Server::start().await;
    let created = create_client(&mut server, json!({"name": "Rotating", "app_type": "non_interactive"})).await;
    let client_id = created["client_id"].as_str().unwrap();
    let old = created["client_secret"].as_str().unwrap();
    grant(&mut server, client_id, &["read:users"]).await;
    token_of(&server, client_id, old).await;

    let rotated = server.call(Method::POST, &format!("/api/v2/clients/{client_id}/rotate-secret"), None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.body["client_secret"].as_str().unwrap();
    assert!(is_alphanumeric(new, 64) && new != old);
    let mut without_secret = rotated.body.clone();
    without_secret["client_secret"] = created["client_secret"].clone();
    assert_eq!(without_secret, created, "only the secret changes");

    let refused = request_token(&server, client_id, old).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, json!({"error": "access_denied", "error_description": "Unauthorized"}));
    token_of(&server, client_id, new).await;
    assert_eq!(server.get(&format!("/api/v2/clients/{client_id}")).await.body["client_secret"], new);
}

#[tokio::test]
async fn deleting_a_client_removes_its_grants_and_connection_links() {
    let mut server = Server::start().await;
    let created = create_client(&mut server, json!({"name": "Short-lived"})).await;
    let client_id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    grant(&mut server, client_id, &["read:users"]).await;
    let email = connection_named(&mut server, "email").await;
    let clients_path = format!("/api/v2/connections/{}/clients", email["id"].as_str().unwrap());
    server.patch(&clients_path, json!([{"client_id": client_id, "status": true}])).await;
    create_connection(
        &mut server,
        json!({"name": "apps-db", "strategy": "auth0", "enabled_clients": [client_id, CLIENT_ID]}),
    )
    .await;

    let deleted = server.delete(&format!("/api/v2/clients/{client_id}")).await;
    assert_eq!((deleted.status.as_u16(), deleted.text.as_str()), (204, ""));
    server.get(&format!("/api/v2/clients/{client_id}")).await.assert_error(
        404,
        Some("inexistent_client"),
        "The client does not exist",
    );
    assert_eq!(server.get(&format!("/api/v2/client-grants?client_id={client_id}")).await.body, json!([]));
    assert_eq!(server.get(&clients_path).await.body, json!({"clients": [{"client_id": CLIENT_ID}]}));
    assert_eq!(connection_named(&mut server, "apps-db").await["enabled_clients"], json!([CLIENT_ID]));
    assert_eq!(request_token(&server, client_id, secret).await.status, 401);
    assert_eq!(server.delete(&format!("/api/v2/clients/{client_id}")).await.status, 204, "again: still 204");
}

#[tokio::test]
async fn the_management_client_is_a_client_like_the_others() {
    let mut server = Server::start().await;
    let management = server.get(&format!("/api/v2/clients/{CLIENT_ID}")).await;
    assert_eq!(management.status, 200, "{}", management.text);
    assert_eq!(management.body["name"], "Roster Management API Client");
    assert_eq!(management.body["client_secret"], CLIENT_SECRET);
    assert_eq!(management.body["app_type"], "non_interactive");
    assert_eq!(management.body["grant_types"], json!(["client_credentials"]));
    assert_eq!(management.body["token_endpoint_auth_method"], "client_secret_post");
    let grants = server.get(&format!("/api/v2/client-grants?client_id={CLIENT_ID}")).await;
    assert_eq!(grants.body.as_array().unwrap().len(), 1);
    assert_eq!(keys(&grants.body[0]), ["id", "client_id", "audience", "scope"]);
    assert_eq!(grants.body[0]["audience"], server.audience());
    assert!(grants.body[0]["scope"].as_array().unwrap().len() > 200);

    // Deleting it is allowed: no new tokens then, until a restart recreates it.
    let token = server.token().await;
    assert_eq!(server.delete(&format!("/api/v2/clients/{CLIENT_ID}")).await.status, 204);
    assert_eq!(request_token(&server, CLIENT_ID, CLIENT_SECRET).await.status, 401);
    let listed = server.send_raw(Method::GET, "/api/v2/clients", Some(&token), None).await;
    assert_eq!(listed.body, json!([]), "a token issued before stays valid until it expires");
    let mut server = server.restart(&[]).await;
    assert_eq!(server.get(&format!("/api/v2/clients/{CLIENT_ID}")).await.body["client_secret"], CLIENT_SECRET);
}

// ---------------------------------------------------------------------------------------------
// Client grants and what tokens may do

#[tokio::test]
async fn a_grant_decides_what_a_client_token_may_do() {
    let mut server = Server::start().await;
    let created = create_client(&mut server, json!({"name": "Reader", "app_type": "non_interactive"})).await;
    let client_id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();

    // No grant: Auth0's refusal.
    let refused = request_token(&server, client_id, secret).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        json!({"error": "access_denied", "error_description": format!("Client \"{client_id}\" is not authorized to access resource server \"{}\". You need to create a \"client-grant\" associated to this API.", server.audience())})
    );

    let grant = grant(&mut server, client_id, &["read:users"]).await;
    let grant_id = grant["id"].as_str().unwrap();
    assert!(grant_id.starts_with("cgr_") && is_alphanumeric(&grant_id[4..], 16));
    assert_eq!(
        grant,
        json!({"id": grant_id, "client_id": client_id, "audience": server.audience(), "scope": ["read:users"]})
    );
    let token_reply = request_token(&server, client_id, secret).await;
    assert_eq!(token_reply.body["scope"], "read:users");
    let token = token_reply.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.send_raw(Method::GET, "/api/v2/users", Some(&token), None).await.status, 200);
    let body = json!({"connection": DB, "email": "no@example.com", "password": "Passw0rd!"});
    server.send_raw(Method::POST, "/api/v2/users", Some(&token), Some(&body)).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: create:users",
    );

    // Widening the grant reaches the next token.
    let widened = server
        .patch(&format!("/api/v2/client-grants/{grant_id}"), json!({"scope": ["read:users", "create:users"]}))
        .await;
    assert_eq!(widened.body["scope"], json!(["read:users", "create:users"]));
    let token = token_of(&server, client_id, secret).await;
    // A user is created only in a connection enabled for the client calling.
    server.send_raw(Method::POST, "/api/v2/users", Some(&token), Some(&body)).await.assert_error(
        400,
        Some("auth0_idp_error"),
        &format!(
            "Connection must be enabled for this client to perform single user creation and signup operations \
             (client_id: {client_id} - connection: {DB})"
        ),
    );
    let database = connection_named(&mut server, DB).await;
    let enabled = json!({"enabled_clients": [CLIENT_ID, client_id]});
    let path = format!("/api/v2/connections/{}", database["id"].as_str().unwrap());
    assert_eq!(server.patch(&path, enabled).await.status, 200);
    assert_eq!(server.send_raw(Method::POST, "/api/v2/users", Some(&token), Some(&body)).await.status, 201);

    // Deleting the grant: no new tokens.
    let deleted = server.delete(&format!("/api/v2/client-grants/{grant_id}")).await;
    assert_eq!((deleted.status.as_u16(), deleted.text.as_str()), (204, ""));
    assert_eq!(request_token(&server, client_id, secret).await.status, 403);
}

#[tokio::test]
async fn a_client_without_the_client_credentials_grant_type_gets_no_token() {
    let mut server = Server::start().await;
    let created =
        create_client(&mut server, json!({"name": "Web", "grant_types": ["authorization_code", "refresh_token"]}))
            .await;
    let client_id = created["client_id"].as_str().unwrap();
    grant(&mut server, client_id, &["read:users"]).await;
    let refused = request_token(&server, client_id, created["client_secret"].as_str().unwrap()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        json!({"error": "unauthorized_client", "error_description": "Grant type 'client_credentials' not allowed for the client."})
    );
    server.patch(&format!("/api/v2/clients/{client_id}"), json!({"grant_types": ["client_credentials"]})).await;
    token_of(&server, client_id, created["client_secret"].as_str().unwrap()).await;
}

#[tokio::test]
async fn lists_reads_and_refuses_client_grants() {
    let mut server = Server::start().await;
    let app = create_client(&mut server, json!({"name": "App"})).await;
    let client_id = app["client_id"].as_str().unwrap();
    server
        .database
        .execute(
            "INSERT INTO resource_servers (id, identifier, name, document, created_at) \
             VALUES ('6894adff31e56f3d4b1be230', 'https://api.example.com/', 'Example API', '{}', '2025-08-07T13:45:34.546Z')",
        )
        .await;
    // go-auth0's TestClientGrantManager_Create.yaml
    let created = server
        .post("/api/v2/client-grants", json!({"client_id": client_id, "audience": "https://api.example.com/",
            "scope": ["create:resource"], "subject_type": "user", "authorization_details_types": ["payment", "shipping"]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let grant_id = created.body["id"].as_str().unwrap();
    assert_eq!(
        keys(&created.body),
        ["id", "client_id", "audience", "scope", "subject_type", "authorization_details_types"]
    );
    let management = grant(&mut server, client_id, &["read:users"]).await;
    assert_eq!(server.get(&format!("/api/v2/client-grants/{grant_id}")).await.body, created.body);

    // TestClientGrantManager_List.yaml
    let listed =
        server.get(&format!("/api/v2/client-grants?client_id={client_id}&include_totals=true&per_page=50")).await;
    assert_eq!(listed.body["total"], 2);
    assert_eq!((listed.body["start"].as_u64(), listed.body["limit"].as_u64()), (Some(0), Some(50)));
    let by_audience = server.get("/api/v2/client-grants?audience=https://api.example.com/").await;
    assert_eq!(by_audience.body, json!([created.body]));
    // The Management API answers to its http:// name too.
    let http = server.audience().replacen("https://", "http://", 1);
    let management_grants = server.get(&format!("/api/v2/client-grants?audience={http}")).await;
    assert_eq!(management_grants.body.as_array().unwrap().len(), 2, "the management client's and App's");
    assert_eq!(server.get("/api/v2/client-grants?subject_type=user").await.body, json!([created.body]));
    assert_eq!(server.get("/api/v2/client-grants?allow_any_organization=true").await.body, json!([]));
    let all = server.get("/api/v2/client-grants").await.body;
    let first = server.get("/api/v2/client-grants?take=2").await;
    assert_eq!(first.body["client_grants"], json!(all.as_array().unwrap()[..2]));
    let next = first.body["next"].as_str().unwrap();
    let rest = server.get(&format!("/api/v2/client-grants?take=2&from={next}")).await;
    assert_eq!(rest.body, json!({"client_grants": [all[2]]}));

    // TestClientGrantManager_Update.yaml
    let updated = server
        .patch(
            &format!("/api/v2/client-grants/{grant_id}"),
            json!({"scope": ["create:resource", "update:resource"], "authorization_details_types": []}),
        )
        .await;
    assert_eq!(updated.body["scope"], json!(["create:resource", "update:resource"]));
    assert_eq!(updated.body["authorization_details_types"], json!([]));

    let management_audience = server.audience();
    server
        .post("/api/v2/client-grants", json!({"client_id": client_id, "audience": management_audience, "scope": []}))
        .await
        .assert_error(
            409,
            None,
            &format!("A client grant already exists between {client_id} and {management_audience}"),
        );
    server
        .post("/api/v2/client-grants", json!({"client_id": "nope", "audience": management_audience}))
        .await
        .assert_error(404, None, "Client not found");
    server
        .post("/api/v2/client-grants", json!({"client_id": client_id, "audience": "https://nope.example/"}))
        .await
        .assert_error(404, None, "No resource with identifier https://nope.example/");
    server.post("/api/v2/client-grants", json!({"client_id": client_id})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: audience'.",
    );
    server
        .post("/api/v2/client-grants", json!({"client_id": client_id, "audience": management_audience, "scope": "read:users"}))
        .await
        .assert_error(
            400,
            Some("invalid_body"),
            "Payload validation error: 'Expected type array but found type string' on property scope (Scopes allowed for this client grant).",
        );
    let path = format!("/api/v2/client-grants/{}", management["id"].as_str().unwrap());
    server.patch(&path, json!({})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Too few properties defined (0), minimum 1'.",
    );
    server.patch(&path, json!({"audience": "x"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: audience'.",
    );
    server.get("/api/v2/client-grants/cgr_0000000000000000").await.assert_error(
        404,
        Some("inexistent_client_grant"),
        "The grant does not exist.",
    );
    server.patch("/api/v2/client-grants/cgr_0000000000000000", json!({"scope": []})).await.assert_error(
        404,
        Some("inexistent_client_grant"),
        "The client grant does not exist.",
    );
    assert_eq!(server.delete("/api/v2/client-grants/cgr_0000000000000000").await.status, 204);
    server.get("/api/v2/client-grants?subject_type=robot").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'No enum match for: \"robot\"' on property subject_type (The type of application access the client grant allows).",
    );
}

#[tokio::test]
async fn every_operation_checks_its_scopes() {
    let server = Server::start().await;
    let token = server.token_with_scope(Some("read:users")).await;
    let cases: &[(Method, &str, &str)] = &[
        (Method::GET, "/api/v2/connections", "read:connections"),
        (Method::POST, "/api/v2/connections", "create:connections"),
        (Method::GET, "/api/v2/connections/con_1", "read:connections"),
        (Method::PATCH, "/api/v2/connections/con_1", "update:connections"),
        (Method::DELETE, "/api/v2/connections/con_1", "delete:connections"),
        (Method::GET, "/api/v2/connections/con_1/clients", "read:connections"),
        (Method::PATCH, "/api/v2/connections/con_1/clients", "update:connections"),
        (Method::GET, "/api/v2/clients", "read:clients,read:client_keys,read:client_credentials,read:client_summary"),
        (Method::POST, "/api/v2/clients", "create:clients"),
        (Method::GET, "/api/v2/clients/x", "read:clients,read:client_keys,read:client_credentials,read:client_summary"),
        (
            Method::PATCH,
            "/api/v2/clients/x",
            "update:clients,update:client_keys,update:client_credentials,update:client_token_vault_privileged_access",
        ),
        (Method::DELETE, "/api/v2/clients/x", "delete:clients"),
        (Method::POST, "/api/v2/clients/x/rotate-secret", "update:client_keys"),
        (Method::GET, "/api/v2/client-grants", "read:client_grants"),
        (Method::POST, "/api/v2/client-grants", "create:client_grants"),
        (Method::GET, "/api/v2/client-grants/cgr_1", "read:client_grants"),
        (Method::PATCH, "/api/v2/client-grants/cgr_1", "update:client_grants"),
        (Method::DELETE, "/api/v2/client-grants/cgr_1", "delete:client_grants"),
    ];
    for (method, path, scopes) in cases {
        server.send_raw(method.clone(), path, Some(&token), Some(&json!({}))).await.assert_error(
            403,
            Some("insufficient_scope"),
            &format!("Insufficient scope, expected any of: {scopes}"),
        );
    }
}
