//! `POST /api/v2/users`

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::Server;

const DB: &str = "Username-Password-Authentication";

async fn create(server: &mut Server, body: Value) -> crate::server::Reply {
    server.post("/api/v2/users", body).await
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn creates_a_database_user_with_auth0_defaults() {
    let mut server = Server::start().await;
    let before = chrono::Utc::now().timestamp();
    let reply =
        create(&mut server, json!({"connection": DB, "email": "Chuck@Example.com", "password": "Passw0rd!"})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let user = &reply.body;
    // Exactly the fields Auth0 returns for a fresh user (recording TestUserManager_Create), none null.
    assert_eq!(
        keys(user),
        ["created_at", "email", "email_verified", "identities", "name", "nickname", "picture", "updated_at", "user_id"]
    );
    assert_eq!(user["email"], "chuck@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["name"], "chuck@example.com");
    assert_eq!(user["nickname"], "chuck");
    assert_eq!(
        user["picture"],
        "https://s.gravatar.com/avatar/0b79e7da7bc7877560620cf8f2cc93ae?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fch.png"
    );
    assert_eq!(user["created_at"], user["updated_at"]);
    let user_id = user["user_id"].as_str().unwrap();
    let hex = user_id.strip_prefix("auth0|").expect("auth0| prefix");
    assert_eq!(hex.len(), 24);
    assert!(hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    let seconds = i64::from_str_radix(&hex[..8], 16).unwrap();
    assert!((before - 1..=before + 5).contains(&seconds), "first 8 hex digits are the creation time");
    assert_eq!(user["identities"], json!([{"connection": DB, "user_id": hex, "provider": "auth0", "isSocial": false}]));
    let created_at = user["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "millisecond ISO-8601: {created_at}");
}

#[tokio::test]
async fn keeps_given_attributes_as_the_recorded_tenant_did() {
    let mut server = Server::start_with(&["--requires-username", "true"]).await;
    // The body of TestUserManager_Read.yaml.
    let reply = create(
        &mut server,
        json!({"connection": DB, "email": "chuck878@example.com", "given_name": "Chuck", "family_name": "Sanchez",
               "username": "test-user636", "nickname": "Chucky", "password": "Passwords hide their chuck",
               "user_metadata": {"favourite_attack": "roundhouse_kick"}, "verify_email": false,
               "app_metadata": {"facts": ["count_to_infinity_twice"]}, "picture": "https://example-picture-url.jpg",
               "blocked": false, "email_verified": true}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let user = &reply.body;
    assert_eq!(
        keys(user),
        [
            "app_metadata",
            "blocked",
            "created_at",
            "email",
            "email_verified",
            "family_name",
            "given_name",
            "identities",
            "name",
            "nickname",
            "picture",
            "updated_at",
            "user_id",
            "user_metadata",
            "username"
        ]
    );
    assert_eq!(user["blocked"], false);
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["name"], "chuck878@example.com");
    assert_eq!(user["nickname"], "Chucky");
    assert_eq!(user["username"], "test-user636");
    assert_eq!(user["picture"], "https://example-picture-url.jpg");
    assert_eq!(user["user_metadata"], json!({"favourite_attack": "roundhouse_kick"}));
    assert_eq!(user["app_metadata"], json!({"facts": ["count_to_infinity_twice"]}));
    assert!(user.get("password").is_none() && !reply.text.contains("Passwords hide"));
}

#[tokio::test]
async fn stores_a_bcrypt_hash_and_never_the_password() {
    let mut server = Server::start().await;
    let user = create(&mut server, json!({"connection": DB, "email": "hash@example.com", "password": "Sup3r-secret!"}))
        .await
        .body;
    let store = server.store().await;
    let hash = store.password_hash(user["user_id"].as_str().unwrap()).await.unwrap().expect("a password hash");
    store.close().await;
    assert!(hash.starts_with("$2b$10$"), "bcrypt at cost 10: {hash}");
    assert!(bcrypt::verify("Sup3r-secret!", &hash).unwrap());
    assert!(!server.log().contains("Sup3r-secret!"), "password must not be logged");
}

#[tokio::test]
async fn custom_user_id_and_metadata_presence() {
    let mut server = Server::start().await;
    let reply = create(
        &mut server,
        json!({"connection": DB, "email": "custom@example.com", "password": "Passw0rd!", "user_id": "testaccuser",
               "app_metadata": {}, "user_metadata": {}}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["user_id"], "auth0|testaccuser");
    assert_eq!(reply.body["identities"][0]["user_id"], "testaccuser");
    // Auth0 leaves out an empty app_metadata but keeps an empty user_metadata.
    assert!(reply.body.get("app_metadata").is_none());
    assert_eq!(reply.body["user_metadata"], json!({}));
    let again = create(
        &mut server,
        json!({"connection": DB, "email": "other@example.com", "password": "Passw0rd!", "user_id": "testaccuser"}),
    )
    .await;
    again.assert_error(409, Some("auth0_idp_error"), "The user already exists.");
}

#[tokio::test]
async fn duplicate_email_in_a_connection_conflicts_and_stores_nothing() {
    let mut server = Server::start().await;
    server.create_user("dup@example.com").await;
    let reply =
        create(&mut server, json!({"connection": DB, "email": "DUP@example.com", "password": "Passw0rd!"})).await;
    reply.assert_error(409, Some("auth0_idp_error"), "The user already exists.");
    let listed = server.get("/api/v2/users?include_totals=true").await;
    assert_eq!(listed.body["total"], 1);
    // The same address in another connection is another user.
    let other = create(&mut server, json!({"connection": "email", "email": "dup@example.com"})).await;
    assert_eq!(other.status, 201, "{}", other.text);
}

#[tokio::test]
async fn passwordless_users() {
    let mut server = Server::start().await;
    let sms = create(&mut server, json!({"connection": "sms", "phone_number": "+14155550100"})).await;
    assert_eq!(sms.status, 201, "{}", sms.text);
    assert!(sms.body["user_id"].as_str().unwrap().starts_with("sms|"));
    assert_eq!(sms.body["phone_number"], "+14155550100");
    assert_eq!(sms.body["phone_verified"], false);
    assert_eq!(sms.body["name"], "+14155550100");
    assert!(sms.body.get("email_verified").is_none());
    assert_eq!(sms.body["identities"][0]["provider"], "sms");
    assert_eq!(sms.body["identities"][0]["connection"], "sms");
    create(&mut server, json!({"connection": "sms", "phone_number": "+14155550100"})).await.assert_error(
        409,
        Some("auth0_idp_error"),
        "The user already exists.",
    );
    create(&mut server, json!({"connection": "sms", "email": "a@example.com"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: phone_number'.",
    );

    let email = create(&mut server, json!({"connection": "email", "email": "Pat@Example.com"})).await;
    assert_eq!(email.status, 201, "{}", email.text);
    assert!(email.body["user_id"].as_str().unwrap().starts_with("email|"));
    assert_eq!(email.body["email"], "pat@example.com");
    assert_eq!(email.body["nickname"], "pat");
    let with_password =
        create(&mut server, json!({"connection": "email", "email": "x@example.com", "password": "Passw0rd!"})).await;
    assert_eq!(with_password.status, 400);
    assert_eq!(with_password.body["errorCode"], "invalid_body");
}

#[tokio::test]
async fn payload_validation_errors() {
    let mut server = Server::start().await;
    let cases = [
        (json!({"email": "a@example.com"}), "Payload validation error: 'Missing required property: connection'."),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "scopes": 1, "foo": 2}),
            "Payload validation error: 'Additional properties not allowed: scopes,foo'.",
        ),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "blocked": "yes"}),
            "Payload validation error: 'Expected type boolean but found type string' on property blocked (Whether this user was blocked by an administrator (true) or not (false)).",
        ),
        (
            json!({"connection": DB, "email": "not-an-email", "password": "Passw0rd!"}),
            "Payload validation error: 'Object didn't pass validation for format email: not-an-email' on property email (The user's email).",
        ),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "phone_number": "555"}),
            "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$: 555' on property phone_number (The user's phone number (following the E.164 recommendation)).",
        ),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "given_name": ""}),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property given_name (The user's given name(s)).",
        ),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "picture": "not a uri"}),
            "Payload validation error: 'Object didn't pass validation for format strict-uri: not a uri' on property picture (A URI pointing to the user's picture).",
        ),
        (
            json!({"connection": DB, "password": "Passw0rd!"}),
            "Payload validation error: 'Missing required property: email'.",
        ),
        (json!({"connection": DB, "email": "a@example.com"}), "\"password\" is required"),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "username": "bob"}),
            "Cannot set username for connection without requires_username.",
        ),
        (json!([1, 2]), "Payload validation error: 'Expected type object but found type array'."),
        (
            json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "nickname": "nul\u{0}here"}),
            "Payload validation error: 'String must not contain the NUL character (U+0000)' on property nickname (The user's nickname).",
        ),
    ];
    for (body, message) in cases {
        create(&mut server, body).await.assert_error(400, Some("invalid_body"), message);
    }
    create(&mut server, json!({"connection": "Nope", "email": "a@example.com", "password": "Passw0rd!"}))
        .await
        .assert_error(400, Some("inexistent_connection"), "The connection does not exist.");
    create(
        &mut server,
        json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "app_metadata": {"email": "x"}}),
    )
    .await
    .assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'The property name email is reserved' on property app_metadata.",
    );
    // Nothing above was stored.
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 0);
}

#[tokio::test]
async fn password_policy_is_enforced() {
    let mut server = Server::start().await;
    for weak in ["short1A", "alllowercase", "NoDigitsOrSpecial"] {
        create(&mut server, json!({"connection": DB, "email": "a@example.com", "password": weak})).await.assert_error(
            400,
            None,
            "PasswordStrengthError: Password is too weak",
        );
    }
    let reply =
        create(&mut server, json!({"connection": DB, "email": "a@example.com", "password": "passpass$12$12"})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[tokio::test]
async fn username_rules_when_the_connection_requires_one() {
    let mut server = Server::start_with(&["--requires-username", "true"]).await;
    create(&mut server, json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!"}))
        .await
        .assert_error(400, Some("invalid_body"), "Payload validation error: 'Missing required property: username'.");
    let reply = create(
        &mut server,
        json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!", "username": "Chuck_N"}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["username"], "chuck_n");
    assert_eq!(reply.body["nickname"], "a", "nickname comes from the email even with a username");
    create(
        &mut server,
        json!({"connection": DB, "email": "b@example.com", "password": "Passw0rd!", "username": "CHUCK_N"}),
    )
    .await
    .assert_error(409, Some("auth0_idp_error"), "The user already exists.");
    let bad = create(
        &mut server,
        json!({"connection": DB, "email": "c@example.com", "password": "Passw0rd!", "username": "has space"}),
    )
    .await;
    assert_eq!((bad.status.as_u16(), bad.body["errorCode"].as_str()), (400, Some("invalid_body")), "{}", bad.text);
    let long = create(
        &mut server,
        json!({"connection": DB, "email": "d@example.com", "password": "Passw0rd!", "username": "sixteen_chars_xx"}),
    )
    .await;
    assert_eq!(long.status, 400, "{}", long.text);
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let mut server = Server::start().await;
    let token = server.token().await;
    let send = |body: Vec<u8>, content_type: &'static str| {
        server
            .http
            .post(format!("{}/api/v2/users", server.base))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let reply = crate::server::Reply::from(send(b"{\"connection\":".to_vec(), "application/json").await.unwrap()).await;
    reply.assert_error(400, Some("invalid_body"), "Invalid request payload JSON format");
    let huge = format!("{{\"connection\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let reply = crate::server::Reply::from(send(huge.into_bytes(), "application/json").await.unwrap()).await;
    reply.assert_error(413, None, "Payload content length greater than maximum allowed: 1048576");
    let reply = crate::server::Reply::from(send(b"connection=x".to_vec(), "text/plain").await.unwrap()).await;
    reply.assert_error(415, None, "Unsupported Media Type");
}

#[tokio::test]
async fn requires_create_users_scope() {
    let server = Server::start().await;
    let token = server.token_with_scope(Some("read:users")).await;
    let reply = server
        .send_raw(
            Method::POST,
            "/api/v2/users",
            Some(&token),
            Some(&json!({"connection": DB, "email": "a@example.com", "password": "Passw0rd!"})),
        )
        .await;
    reply.assert_error(403, Some("insufficient_scope"), "Insufficient scope, expected any of: create:users");
}
