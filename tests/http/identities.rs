//! `POST /api/v2/users/{id}/identities` (link) and
//! `DELETE /api/v2/users/{id}/identities/{provider}/{user_id}` (unlink).

use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::forge;
use crate::server::{CLIENT_ID, Reply, Server, encode};

const DATABASE: &str = "Username-Password-Authentication";

/// A database user with a full profile and metadata, as go-auth0's tests create them.
async fn create_full_user(server: &mut Server, email: &str) -> Value {
    let reply = server
        .post(
            "/api/v2/users",
            json!({"connection": DATABASE, "email": email, "given_name": "Chuck", "family_name": "Sanchez",
                   "nickname": "Chucky", "password": "Passw0rd!", "user_metadata": {"favourite_attack": "roundhouse_kick"},
                   "app_metadata": {"facts": ["count_to_infinity_twice"]}, "picture": "https://example-picture-url.jpg",
                   "blocked": false, "email_verified": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

fn id_of(user: &Value) -> String {
    user["user_id"].as_str().unwrap().to_owned()
}

/// The part of a user id after `provider|`.
fn bare(user_id: &str) -> String {
    user_id.split_once('|').unwrap().1.to_owned()
}

fn identities_path(primary: &str) -> String {
    format!("/api/v2/users/{}/identities", encode(primary))
}

fn unlink_path(primary: &str, secondary: &str) -> String {
    let (provider, id) = secondary.split_once('|').unwrap();
    format!("/api/v2/users/{}/identities/{provider}/{id}", encode(primary))
}

async fn link(server: &mut Server, primary: &str, secondary: &str) -> Reply {
    let provider = secondary.split_once('|').unwrap().0;
    server.post(&identities_path(primary), json!({"provider": provider, "user_id": secondary})).await
}

async fn connection_id(server: &mut Server, name: &str) -> String {
    let reply = server.get(&format!("/api/v2/connections?name={name}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body[0]["id"].as_str().unwrap().to_owned()
}

async fn search(server: &mut Server, q: &str) -> Vec<String> {
    let reply = server.call(Method::GET, &format!("/api/v2/users?q={}", urlencode(q)), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().iter().map(id_of).collect()
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap().trim_start_matches('=').to_owned()
}

/// The profile of a user made by `create_full_user`, as `profileData` shows it (as recorded in
/// TestUserManager_Link.yaml: no `name`, which was not given, nor metadata or `blocked`).
fn full_profile(email: &str) -> Value {
    json!({"email": email, "given_name": "Chuck", "family_name": "Sanchez", "nickname": "Chucky",
           "picture": "https://example-picture-url.jpg", "email_verified": true})
}

fn identity(user_id: &str, profile: Option<Value>) -> Value {
    let mut identity =
        json!({"connection": DATABASE, "user_id": bare(user_id), "provider": "auth0", "isSocial": false});
    if let Some(profile) = profile {
        let mut with = json!({"profileData": profile});
        with.as_object_mut().unwrap().extend(identity.as_object().unwrap().clone());
        identity = with;
    }
    identity
}

#[tokio::test]
async fn links_a_secondary_as_recorded() {
    let mut server = Server::start().await;
    let primary = create_full_user(&mut server, "primary@example.com").await;
    let secondary = create_full_user(&mut server, "secondary@example.com").await;
    let (primary_id, secondary_id) = (id_of(&primary), id_of(&secondary));
    let role = crate::roles::create_role(&mut server, "linked-away").await;
    let assigned =
        server.post(&format!("/api/v2/users/{}/roles", encode(&secondary_id)), json!({"roles": [role]})).await;
    assert_eq!(assigned.status, 204, "{}", assigned.text);

    // go-auth0 sends the full `auth0|…` id and the connection's id.
    let connection = connection_id(&mut server, DATABASE).await;
    let linked = server
        .post(
            &identities_path(&primary_id),
            json!({"connection_id": connection, "user_id": secondary_id, "provider": "auth0"}),
        )
        .await;
    assert_eq!(linked.status, 201, "{}", linked.text);
    assert_eq!(linked.content_type.as_deref(), Some("application/json; charset=utf-8"));
    let expected = json!([
        identity(&primary_id, Some(full_profile("primary@example.com"))),
        identity(&secondary_id, Some(full_profile("secondary@example.com"))),
    ]);
    assert_eq!(linked.body, expected);
    // profileData first, as Auth0 writes it.
    assert!(
        linked.text.starts_with(r#"[{"profileData":{"email":"primary@example.com","given_name""#),
        "{}",
        linked.text
    );

    // The primary keeps its profile and metadata; its primary identity shows no profileData.
    let fetched = server.get(&format!("/api/v2/users/{}", encode(&primary_id))).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(
        fetched.body["identities"],
        json!([identity(&primary_id, None), identity(&secondary_id, Some(full_profile("secondary@example.com")))])
    );
    assert_eq!(fetched.body["email"], "primary@example.com");
    assert_eq!(fetched.body["app_metadata"], primary["app_metadata"]);
    assert_eq!(fetched.body["user_metadata"], primary["user_metadata"]);
    assert_ne!(fetched.body["updated_at"], primary["updated_at"], "linking updates the primary");
    assert_eq!(fetched.body["created_at"], primary["created_at"]);

    // The secondary is gone as a user; search finds the primary by the linked identity.
    let gone = server.get(&format!("/api/v2/users/{}", encode(&secondary_id))).await;
    gone.assert_error(404, Some("inexistent_user"), "The user does not exist.");
    assert_eq!(
        search(&mut server, &format!("identities.user_id:\"{}\"", bare(&secondary_id))).await,
        [primary_id.as_str()]
    );
    assert_eq!(search(&mut server, &format!("identities.connection:\"{DATABASE}\"")).await, [primary_id.as_str()]);
    assert_eq!(search(&mut server, "identities.provider:auth0").await, [primary_id.as_str()]);
    assert_eq!(search(&mut server, "email:\"secondary@example.com\"").await, Vec::<String>::new());
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 1);
    // Its metadata, roles and search leaves went with it.
    let database = server.database.clone();
    assert_eq!(database.count("SELECT COUNT(*) FROM user_roles").await, 0);
    assert_eq!(database.count("SELECT COUNT(*) FROM identities").await, 2);

    // Its credentials stay taken in their connection.
    let again = server
        .post(
            "/api/v2/users",
            json!({"connection": DATABASE, "email": "secondary@example.com", "password": "Passw0rd!"}),
        )
        .await;
    again.assert_error(409, Some("auth0_idp_error"), "The user already exists.");
}

#[tokio::test]
async fn links_by_bare_id_across_connections() {
    let mut server = Server::start().await;
    let primary = id_of(&server.create_user("main@example.com").await);
    let sms = server.post("/api/v2/users", json!({"connection": "sms", "phone_number": "+14155550100"})).await;
    assert_eq!(sms.status, 201, "{}", sms.text);
    let sms_id = id_of(&sms.body);
    let linked = server.post(&identities_path(&primary), json!({"provider": "sms", "user_id": bare(&sms_id)})).await;
    assert_eq!(linked.status, 201, "{}", linked.text);
    assert_eq!(
        linked.body[1],
        json!({"profileData": {"phone_number": "+14155550100", "phone_verified": false},
               "connection": "sms", "user_id": bare(&sms_id), "provider": "sms", "isSocial": false})
    );
    // The primary's own profileData leaves out what Auth0 derives (name, nickname, picture).
    assert_eq!(linked.body[0]["profileData"], json!({"email": "main@example.com", "email_verified": false}));
    assert_eq!(search(&mut server, "identities.connection:sms").await, [primary.as_str()]);

    // Unlinked, it is the user it was, derived attributes derived again.
    let unlinked = server.delete(&unlink_path(&primary, &sms_id)).await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.text);
    let restored = server.get(&format!("/api/v2/users/{}", encode(&sms_id))).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    for key in ["phone_number", "phone_verified", "name", "nickname", "picture", "identities"] {
        assert_eq!(restored.body[key], sms.body[key], "{key}");
    }
}

#[tokio::test]
async fn unlinks_into_a_standalone_user() {
    let mut server = Server::start().await;
    let primary = create_full_user(&mut server, "keeper@example.com").await;
    let secondary = create_full_user(&mut server, "leaver@example.com").await;
    let (primary_id, secondary_id) = (id_of(&primary), id_of(&secondary));
    assert_eq!(link(&mut server, &primary_id, &secondary_id).await.status, 201);
    let linked_at = server.get(&format!("/api/v2/users/{}", encode(&primary_id))).await.body["updated_at"].clone();

    let unlinked = server.delete(&unlink_path(&primary_id, &secondary_id)).await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.text);
    assert_eq!(unlinked.content_type.as_deref(), Some("application/json; charset=utf-8"));
    assert_eq!(unlinked.body, json!([identity(&primary_id, Some(full_profile("keeper@example.com")))]));

    let primary_now = server.get(&format!("/api/v2/users/{}", encode(&primary_id))).await;
    assert_eq!(primary_now.body["identities"], json!([identity(&primary_id, None)]));
    assert_ne!(primary_now.body["updated_at"], linked_at, "unlinking updates the primary");

    // The secondary is a user again, with its id and profile, without its metadata.
    let restored = server.get(&format!("/api/v2/users/{}", encode(&secondary_id))).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    let mut expected = secondary.clone();
    for key in ["user_metadata", "app_metadata", "blocked", "created_at", "updated_at"] {
        expected.as_object_mut().unwrap().remove(key);
    }
    let mut got = restored.body.clone();
    assert_eq!(got["created_at"], got["updated_at"]);
    for key in ["created_at", "updated_at"] {
        got.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(got, expected);
    assert_eq!(
        search(&mut server, &format!("identities.user_id:\"{}\"", bare(&secondary_id))).await,
        [secondary_id.as_str()]
    );

    // It can be linked again, and deleted, which frees its email.
    assert_eq!(link(&mut server, &primary_id, &secondary_id).await.status, 201);
    // The docs allow the full `provider|id` in the unlink path too.
    let full = format!("/api/v2/users/{}/identities/auth0/{}", encode(&primary_id), encode(&secondary_id));
    assert_eq!(server.delete(&full).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v2/users/{}", encode(&secondary_id))).await.status, 204);
    server.get(&format!("/api/v2/users/{}", encode(&secondary_id))).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    let recreated = server
        .post("/api/v2/users", json!({"connection": DATABASE, "email": "leaver@example.com", "password": "Passw0rd!"}))
        .await;
    assert_eq!(recreated.status, 201, "{}", recreated.text);
}

#[tokio::test]
async fn deleting_the_primary_deletes_its_linked_identities() {
    let mut server = Server::start().await;
    let primary = id_of(&server.create_user("first@example.com").await);
    let secondary = id_of(&server.create_user("second@example.com").await);
    assert_eq!(link(&mut server, &primary, &secondary).await.status, 201);
    assert_eq!(server.delete(&format!("/api/v2/users/{}", encode(&primary))).await.status, 204);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM identities").await, 0);
    for email in ["second@example.com", "first@example.com"] {
        let created = server
            .post("/api/v2/users", json!({"connection": DATABASE, "email": email, "password": "Passw0rd!"}))
            .await;
        assert_eq!(created.status, 201, "{email}: {}", created.text);
    }
}

#[tokio::test]
async fn link_errors() {
    let mut server = Server::start().await;
    let primary = id_of(&server.create_user("p@example.com").await);
    let secondary = id_of(&server.create_user("s@example.com").await);
    let other = id_of(&server.create_user("o@example.com").await);
    let path = identities_path(&primary);

    link(&mut server, "auth0|000000000000000000000000", &secondary).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    link(&mut server, &primary, "auth0|000000000000000000000000").await.assert_error(
        400,
        Some("invalid_body"),
        "Provided secondary account not found.",
    );
    link(&mut server, &primary, &primary).await.assert_error(
        400,
        Some("invalid_body"),
        "Main identity and the new one are the same.",
    );
    // A connection that is not the secondary's, and one that does not exist.
    let sms = connection_id(&mut server, "sms").await;
    server.post(&path, json!({"provider": "auth0", "user_id": secondary, "connection_id": sms})).await.assert_error(
        400,
        Some("invalid_body"),
        "Provided secondary account not found.",
    );
    server
        .post(&path, json!({"provider": "auth0", "user_id": secondary, "connection_id": "con_0000000000000000"}))
        .await
        .assert_error(400, Some("invalid_body"), "The provider/connection is not configured.");

    assert_eq!(link(&mut server, &primary, &secondary).await.status, 201);
    // Linked already, here or to another user.
    link(&mut server, &primary, &secondary).await.assert_error(
        409,
        Some("identity_conflict"),
        "Specified identity already exists.",
    );
    link(&mut server, &other, &secondary).await.assert_error(
        409,
        Some("identity_conflict"),
        "Specified identity already exists.",
    );
    // A linked identity's id is no user's: it cannot be a primary.
    link(&mut server, &secondary, &other).await.assert_error(404, Some("inexistent_user"), "The user does not exist.");

    // Bodies.
    let bad = |message: &str| message.to_owned();
    for (body, message) in [
        (json!({}), bad("Payload validation error: 'Too few properties defined (0), minimum 1'.")),
        (
            json!({"provider": "auth0", "user_id": other, "extra": 1}),
            bad("Payload validation error: 'Additional properties not allowed: extra'."),
        ),
        (json!({"provider": "auth0"}), bad("Payload validation error: 'Missing required property: user_id'.")),
        (json!({"user_id": other}), bad("Payload validation error: 'Missing required property: provider'.")),
        (
            json!({"provider": "nope", "user_id": other}),
            bad(
                "Payload validation error: 'No enum match for: \"nope\"' on property provider (Identity provider of the secondary user account being linked).",
            ),
        ),
        (
            json!({"provider": "auth0", "user_id": true}),
            bad(
                "Payload validation error: 'Data does not match any schemas from 'oneOf'' on property user_id (user_id of the secondary user account being linked).",
            ),
        ),
        (
            json!({"link_with": "a.b.c", "provider": "auth0", "user_id": other}),
            bad(roster::domain::identity_link::LINK_WITH_EXCLUSIVE),
        ),
        (
            json!({"link_with": 5}),
            bad(
                "Payload validation error: 'Expected type string but found type integer' on property link_with (JWT for the secondary account being linked. If sending this parameter, `provider`, `user_id`, and `connection_id` must not be sent).",
            ),
        ),
    ] {
        server.post(&path, body.clone()).await.assert_error(400, Some("invalid_body"), &message);
    }

    // Paths.
    server.post("/api/v2/users/nopipe/identities", json!({"provider": "auth0", "user_id": other})).await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'String does not match pattern ^.+\\|.+$: nopipe' on property id (ID of the primary user account to link a second user account to).",
    );
    // Scopes.
    let reader = server.token_with_scope(Some("read:users")).await;
    server
        .send_raw(Method::POST, &path, Some(&reader), Some(&json!({"provider": "auth0", "user_id": other})))
        .await
        .assert_error(
            403,
            Some("insufficient_scope"),
            "Insufficient scope, expected any of: update:users,update:current_user_identities",
        );
    // `update:current_user_identities` acts on the token's own user only.
    let own = server.token_with_scope(Some("update:current_user_identities")).await;
    server
        .send_raw(Method::POST, &path, Some(&own), Some(&json!({"provider": "auth0", "user_id": other})))
        .await
        .assert_error(403, None, "User to be acted on does not match subject in bearer token.");
    // Nothing above changed the other user.
    assert_eq!(server.get(&format!("/api/v2/users/{}", encode(&other))).await.status, 200);
}

#[tokio::test]
async fn unlink_errors() {
    let mut server = Server::start().await;
    let primary = id_of(&server.create_user("p@example.com").await);
    let secondary = id_of(&server.create_user("s@example.com").await);
    let other = id_of(&server.create_user("o@example.com").await);
    assert_eq!(link(&mut server, &primary, &secondary).await.status, 201);

    server.delete(&unlink_path(&primary, &primary)).await.assert_error(
        400,
        Some("invalid_body"),
        "Main identity cannot be removed.",
    );
    server.delete(&unlink_path(&primary, &other)).await.assert_error(400, Some("invalid_body"), "Identity not found.");
    server.delete(&unlink_path("auth0|000000000000000000000000", &secondary)).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    // A linked identity's id is not a user.
    server.delete(&unlink_path(&secondary, &other)).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.delete(&format!("/api/v2/users/nopipe/identities/auth0/{}", bare(&secondary))).await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'String does not match pattern ^.+\\|.+$: nopipe' on property id (ID of the primary user account).",
    );
    server.delete(&format!("/api/v2/users/{}/identities/nope/{}", encode(&primary), bare(&secondary))).await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'No enum match for: \"nope\"' on property provider (Identity provider name of the secondary linked account (e.g. `google-oauth2`)).",
    );
    // Still linked.
    let fetched = server.get(&format!("/api/v2/users/{}", encode(&primary))).await;
    assert_eq!(fetched.body["identities"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_links_of_one_secondary_link_it_once() {
    let mut server = Server::start().await;
    let secondary = id_of(&server.create_user("wanted@example.com").await);
    let mut primaries = Vec::new();
    for i in 0..4 {
        primaries.push(id_of(&server.create_user(&format!("p{i}@example.com")).await));
    }
    let token = server.token().await;
    let body = json!({"provider": "auth0", "user_id": secondary});
    let attempts = primaries.iter().map(|primary| {
        let (server, token, body, path) = (&server, &token, &body, identities_path(primary));
        async move { server.send_raw(Method::POST, &path, Some(token), Some(body)).await }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let won: Vec<usize> = (0..replies.len()).filter(|i| replies[*i].status == 201).collect();
    assert_eq!(won.len(), 1, "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    for (i, reply) in replies.iter().enumerate() {
        if i != won[0] {
            reply.assert_error(409, Some("identity_conflict"), "Specified identity already exists.");
        }
    }
    for (i, primary) in primaries.iter().enumerate() {
        let identities = server.get(&format!("/api/v2/users/{}", encode(primary))).await.body["identities"].clone();
        assert_eq!(identities.as_array().unwrap().len(), if i == won[0] { 2 } else { 1 }, "{primary}");
    }
    assert_eq!(server.database.count("SELECT COUNT(*) FROM identities").await, 5);
}

#[tokio::test]
async fn crossed_links_wait_for_each_other() {
    // A into B and B into A at once: the rows are locked in one order, so one link waits for the
    // other (no deadlock on PostgreSQL) and then finds its primary linked away, no user any more.
    let mut server = Server::start().await;
    let token = server.token().await;
    for round in 0..3 {
        let a = id_of(&server.create_user(&format!("a{round}@example.com")).await);
        let b = id_of(&server.create_user(&format!("b{round}@example.com")).await);
        let (into_a, into_b) = (json!({"provider": "auth0", "user_id": b}), json!({"provider": "auth0", "user_id": a}));
        let (path_a, path_b) = (identities_path(&a), identities_path(&b));
        let (first, second) = tokio::join!(
            server.send_raw(Method::POST, &path_a, Some(&token), Some(&into_a)),
            server.send_raw(Method::POST, &path_b, Some(&token), Some(&into_b)),
        );
        let (won, lost) = if first.status == 201 { (first, second) } else { (second, first) };
        assert_eq!(won.status, 201, "{}", won.text);
        lost.assert_error(404, Some("inexistent_user"), "The user does not exist.");
    }
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 3);
}

/// An ID token for `sub` signed by the server's own key, for `aud` (the calling client by
/// default), with `overrides`.
async fn id_token(server: &Server, sub: &str, overrides: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": format!("https://{}/", server.domain), "sub": sub, "aud": CLIENT_ID,
                            "iat": now, "exp": now + 600, "email": "s@example.com"});
    claims.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
    if let Some(object) = claims.as_object_mut() {
        object.retain(|_, value| !value.is_null());
    }
    forge(server, claims).await
}

#[tokio::test]
async fn links_with_an_id_token() {
    let mut server = Server::start().await;
    let primary = id_of(&server.create_user("p@example.com").await);
    let secondary = id_of(&server.create_user("s@example.com").await);
    let path = identities_path(&primary);

    let refused = |message: &'static str| move |reply: Reply| reply.assert_error(400, Some("invalid_body"), message);
    let now = chrono::Utc::now().timestamp();
    for (overrides, check) in [
        (json!({"exp": now - 10}), refused("Invalid token (link_with).")),
        (json!({"aud": "another-client"}), refused("JWT (link_with) contains an invalid aud claim.")),
        (
            json!({"aud": null}),
            refused("JWT (link_with) must have an aud claim that matches that of the calling token's azp."),
        ),
        (
            json!({"iss": "https://evil.example.com/"}),
            refused("JWT (link_with) must have the same issuer as the calling user."),
        ),
        (json!({"sub": null}), refused("JWT (link_with) must contains sub claim.")),
        (json!({"sub": "no-pipe"}), refused("JWT (link_with) contains an invalid sub claim.")),
        (json!({"sub": primary}), refused("Main identity and the new one are the same.")),
    ] {
        let token = id_token(&server, &secondary, overrides).await;
        check(server.post(&path, json!({"link_with": token})).await);
    }
    let good = id_token(&server, &secondary, json!({})).await;
    // Tampered signature, an unsigned token, and something that is no token at all.
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    server.post(&path, json!({"link_with": tampered})).await.assert_error(
        400,
        Some("invalid_body"),
        "Invalid token (link_with).",
    );
    let (header, rest) = good.split_once('.').unwrap();
    let _ = header;
    let none_header = base64_url(r#"{"alg":"HS256","typ":"JWT"}"#);
    server.post(&path, json!({"link_with": format!("{none_header}.{rest}")})).await.assert_error(
        400,
        Some("invalid_body"),
        "JWT (link_with) must have an alg of RS256.",
    );
    server.post(&path, json!({"link_with": "not-a-token"})).await.assert_error(
        400,
        Some("invalid_body"),
        "Invalid token (link_with).",
    );
    assert_eq!(server.get(&format!("/api/v2/users/{}", encode(&secondary))).await.status, 200, "still a user");

    let linked = server.post(&path, json!({"link_with": good})).await;
    assert_eq!(linked.status, 201, "{}", linked.text);
    assert_eq!(linked.body[1]["user_id"], json!(bare(&secondary)));
    assert_eq!(linked.body[1]["profileData"], json!({"email": "s@example.com", "email_verified": false}));
    assert_eq!(server.get(&format!("/api/v2/users/{}", encode(&secondary))).await.status, 404);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

// ---------------------------------------------------------------------------------------------
// Replay of Auth0's recorded link and unlink traffic

/// Replays go-auth0's link and unlink recordings (`crate::replay`): every interaction must
/// answer Auth0's status, and the link and unlink answers Auth0's body, with the recorded user
/// and connection ids mapped to Roster's. Two kinds of interaction only set the scene: the
/// creates, sent here so that the bare ids (`identities[].user_id`, the unlink path) are mapped
/// too, and go-auth0's connection lookup, which maps the recorded connection id.
mod replay {
    use serde_json::Value;

    use crate::replay::{Expectations, Mapping};
    use crate::server::Server;

    struct Identities;

    impl Expectations for Identities {
        const CHECKPOINT_ITEMS: &str = "identities";

        async fn set_scene(
            &self,
            server: &mut Server,
            mapping: &mut Mapping,
            path: &str,
            request_body: Option<&Value>,
            recorded: Option<&Value>,
        ) -> bool {
            let Some(recorded) = recorded else { return false };
            match path {
                "/api/v2/users" => {
                    let created = server.post(path, request_body.expect("a create payload").clone()).await;
                    assert_eq!(created.status, 201, "{}", created.text);
                    // `auth0|<id>`: mapping the bare ids maps the full ones too.
                    let bare = |user: &Value| user["user_id"].as_str().unwrap().split_once('|').unwrap().1.to_owned();
                    mapping.learn(&bare(recorded), &bare(&created.body));
                    true
                }
                "/api/v2/connections" => {
                    let name = recorded["connections"][0]["name"].as_str().unwrap();
                    let ours = server.get(&format!("/api/v2/connections?name={name}")).await;
                    assert_eq!(ours.status, 200, "{}", ours.text);
                    let (theirs, ours) = (&recorded["connections"][0]["id"], &ours.body[0]["id"]);
                    mapping.learn(theirs.as_str().unwrap(), ours.as_str().unwrap());
                    true
                }
                _ => false,
            }
        }

        fn compares(&self, path: &str) -> bool {
            path.contains("/identities")
        }
    }

    #[tokio::test]
    async fn link_go_auth0() {
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_Link.yaml", &Identities).await, 1);
    }

    #[tokio::test]
    async fn unlink_go_auth0() {
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_Unlink.yaml", &Identities).await, 2);
    }
}
