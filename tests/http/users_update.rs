//! `PATCH /api/v2/users/{id}`

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, encode};

const DB: &str = "Username-Password-Authentication";

async fn user_path(server: &mut Server, email: &str) -> (String, Value) {
    let created = server.create_user(email).await;
    (format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap())), created)
}

#[tokio::test]
async fn replaces_root_attributes_and_bumps_updated_at() {
    let mut server = Server::start().await;
    let (path, created) = user_path(&mut server, "patch@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // As in TestAccUser.yaml.
    let reply = server
        .patch(
            &path,
            json!({"name": "Firstname Lastname", "given_name": "Firstname", "family_name": "Lastname",
                   "picture": "https://www.example.com/picture.jpg"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let user = &reply.body;
    assert_eq!(user["name"], "Firstname Lastname");
    assert_eq!((user["given_name"].as_str(), user["family_name"].as_str()), (Some("Firstname"), Some("Lastname")));
    assert_eq!(user["picture"], "https://www.example.com/picture.jpg");
    assert_eq!(user["nickname"], created["nickname"], "untouched attributes stay");
    assert_eq!(user["created_at"], created["created_at"]);
    assert!(user["updated_at"].as_str() > created["updated_at"].as_str(), "updated_at moves");
    assert_eq!(server.get(&path).await.body, reply.body, "the change is stored");

    let unset = server.patch(&path, json!({"given_name": null, "family_name": null})).await;
    assert!(unset.body.get("given_name").is_none() && unset.body.get("family_name").is_none(), "{}", unset.text);
}

#[tokio::test]
async fn metadata_merges_at_the_first_level_as_recorded() {
    let mut server = Server::start().await;
    let (path, _) = user_path(&mut server, "meta@example.com").await;
    // The sequence of TestAccUser.yaml.
    let steps = [
        (
            json!({"user_metadata": {"baz": "qux", "foo": "bar"}, "app_metadata": {"baz": "qux", "foo": "bar"}}),
            Some(json!({"baz": "qux", "foo": "bar"})),
            Some(json!({"baz": "qux", "foo": "bar"})),
        ),
        (
            json!({"user_metadata": {"baz": null, "foo": "bars"}, "app_metadata": {"baz": null, "foo": "bars"}}),
            Some(json!({"foo": "bars"})),
            Some(json!({"foo": "bars"})),
        ),
        (
            json!({"user_metadata": {"nested": {"a": 1}}}),
            Some(json!({"foo": "bars", "nested": {"a": 1}})),
            Some(json!({"foo": "bars"})),
        ),
        (
            json!({"user_metadata": {"nested": {"b": 2}}}),
            Some(json!({"foo": "bars", "nested": {"b": 2}})),
            Some(json!({"foo": "bars"})),
        ),
        (json!({"user_metadata": {}, "app_metadata": {}}), Some(json!({})), None),
    ];
    for (body, user_metadata, app_metadata) in steps {
        let reply = server.patch(&path, body.clone()).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        assert_eq!(reply.body.get("user_metadata"), user_metadata.as_ref(), "after {body}");
        assert_eq!(reply.body.get("app_metadata"), app_metadata.as_ref(), "after {body}");
    }
}

#[tokio::test]
async fn password_change_sets_last_password_reset_and_rehashes() {
    let mut server = Server::start().await;
    let (path, created) = user_path(&mut server, "pw@example.com").await;
    assert!(created.get("last_password_reset").is_none());
    // As in TestUserManager_Update.yaml.
    let reply = server
        .patch(&path, json!({"connection": DB, "password": "I don't need one", "app_metadata": {"foo": "bar"}}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["last_password_reset"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(reply.body["app_metadata"], json!({"foo": "bar"}));
    let store = server.store().await;
    let hash = store.password_hash(created["user_id"].as_str().unwrap()).await.unwrap().expect("a password hash");
    store.close().await;
    assert!(bcrypt::verify("I don't need one", &hash).unwrap());
    server.patch(&path, json!({"password": "weak"})).await.assert_error(
        400,
        None,
        "PasswordStrengthError: Password is too weak",
    );
}

#[tokio::test]
async fn email_changes() {
    let mut server = Server::start().await;
    let (path, _) = user_path(&mut server, "first@example.com").await;
    server.create_user("taken@example.com").await;
    let verified = server.patch(&path, json!({"email_verified": true})).await;
    assert_eq!(verified.body["email_verified"], true);
    let moved = server.patch(&path, json!({"email": "Second@Example.com"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["email"], "second@example.com");
    assert_eq!(moved.body["email_verified"], false, "a new address starts unverified");
    server.patch(&path, json!({"email": "taken@example.com"})).await.assert_error(
        400,
        Some("invalid_body"),
        "The specified new email already exists",
    );
    // The old address is free again; the new one is taken.
    let reuse = server
        .post("/api/v2/users", json!({"connection": DB, "email": "first@example.com", "password": "Passw0rd!"}))
        .await;
    assert_eq!(reuse.status, 201, "{}", reuse.text);
    server
        .post("/api/v2/users", json!({"connection": DB, "email": "second@example.com", "password": "Passw0rd!"}))
        .await
        .assert_error(409, Some("auth0_idp_error"), "The user already exists.");
}

#[tokio::test]
async fn username_changes_when_required() {
    let mut server = Server::start_with(&["--requires-username", "true"]).await;
    let create = |email: &'static str, username: &'static str| json!({"connection": DB, "email": email, "password": "MyPass123$", "username": username});
    let first = server.post("/api/v2/users", create("u1@example.com", "user_terra")).await.body;
    server.post("/api/v2/users", create("u2@example.com", "other")).await;
    let path = format!("/api/v2/users/{}", encode(first["user_id"].as_str().unwrap()));
    let renamed = server.patch(&path, json!({"username": "user_x_terra"})).await;
    assert_eq!(renamed.body["username"], "user_x_terra", "{}", renamed.text);
    server.patch(&path, json!({"username": "OTHER"})).await.assert_error(
        400,
        Some("invalid_body"),
        "The specified new username already exists",
    );
    server.patch(&path, json!({"username": "bob", "email": "x@example.com"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Cannot update username and email simultaneously.",
    );
}

#[tokio::test]
async fn refusals() {
    let mut server = Server::start().await;
    let (path, _) = user_path(&mut server, "refuse@example.com").await;
    let cases = [
        (
            json!({"password": "Passw0rd!2", "email": "n@example.com"}),
            "Cannot update password and email simultaneously.",
        ),
        (
            json!({"password": "Passw0rd!2", "email_verified": true}),
            "Cannot update password and email_verified simultaneously.",
        ),
        (json!({"username": "bob"}), "Cannot set username for connection without requires_username."),
        (json!({"phone_number": "+14155550100"}), "Cannot update phone_number for non-sms user"),
        (json!({"email": null}), "The following user attributes cannot be removed: email."),
        (
            json!({"user_id": "x", "created_at": "y"}),
            "Payload validation error: 'Additional properties not allowed: user_id,created_at (consider storing them in app_metadata or user_metadata. See \"Users Metadata\" in https://auth0.com/docs/api/v2/changes for more details)'.",
        ),
        (
            json!({"email": "nope"}),
            "Payload validation error: 'Object didn't pass validation for format email: nope' on property email (The new email).",
        ),
        (
            json!({"blocked": "true"}),
            "Payload validation error: 'Expected type boolean but found type string' on property blocked (Whether this user was blocked by an administrator (true) or not (false)).",
        ),
    ];
    for (body, message) in cases {
        server.patch(&path, body).await.assert_error(400, Some("invalid_body"), message);
    }
    server.patch(&path, json!({"connection": "sms"})).await.assert_error(
        400,
        Some("inexistent_connection"),
        "Connection does not exist.",
    );
    server.patch("/api/v2/users/auth0%7C000000000000000000000000", json!({"name": "x"})).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    let unchanged = server.get(&path).await.body;
    assert_eq!(unchanged["email"], "refuse@example.com");
    assert!(unchanged.get("username").is_none());
}

#[tokio::test]
async fn blocked_and_verification_flags() {
    let mut server = Server::start().await;
    let (path, created) = user_path(&mut server, "flags@example.com").await;
    assert!(created.get("blocked").is_none(), "absent until set");
    let reply = server.patch(&path, json!({"blocked": true, "email_verified": true, "verify_email": false})).await;
    assert_eq!((reply.body["blocked"].as_bool(), reply.body["email_verified"].as_bool()), (Some(true), Some(true)));
    // A new password set through the Management API also lifts the block (Auth0's "Block and
    // Unblock Users").
    let reset = server.patch(&path, json!({"password": "Corr3ct-Horse-Battery!"})).await;
    assert_eq!(reset.body["blocked"], json!(false), "{}", reset.text);
    assert_eq!(server.get(&path).await.body["blocked"], json!(false));
    let sms = server.post("/api/v2/users", json!({"connection": "sms", "phone_number": "+14155550100"})).await.body;
    let sms_path = format!("/api/v2/users/{}", encode(sms["user_id"].as_str().unwrap()));
    let moved = server.patch(&sms_path, json!({"phone_number": "+14155550199", "phone_verified": true})).await;
    assert_eq!(
        (moved.body["phone_number"].as_str(), moved.body["phone_verified"].as_bool()),
        (Some("+14155550199"), Some(true))
    );
    server.patch(&sms_path, json!({"email_verified": true})).await.assert_error(
        400,
        Some("invalid_body"),
        "Email verification is not supported for enterprise users.",
    );
}

#[tokio::test]
async fn app_metadata_scope_limits_what_can_change() {
    let mut server = Server::start().await;
    let (path, _) = user_path(&mut server, "limited@example.com").await;
    let token = server.token_with_scope(Some("update:users_app_metadata")).await;
    let allowed =
        server.send_raw(Method::PATCH, &path, Some(&token), Some(&json!({"app_metadata": {"plan": "gold"}}))).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.body["app_metadata"], json!({"plan": "gold"}));
    let refused = server.send_raw(Method::PATCH, &path, Some(&token), Some(&json!({"name": "x"}))).await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["errorCode"].as_str()),
        (403, Some("insufficient_scope")),
        "{}",
        refused.text
    );
    assert_ne!(server.get(&path).await.body["name"], "x");
    let reader = server.token_with_scope(Some("read:users")).await;
    server.send_raw(Method::PATCH, &path, Some(&reader), Some(&json!({"name": "x"}))).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: update:users,update:users_app_metadata,update:current_user_metadata",
    );
}
