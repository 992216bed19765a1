//! Logins through the Authentication API (`/oauth/token` password, password-realm, refresh
//! token and MFA grants, `/oauth/revoke`, `/dbconnections/signup`, `/userinfo`) and what they
//! leave behind: the profile's login stamps, refresh tokens, brute-force blocks
//! (`/api/v2/user-blocks`) and log events.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Reply, Server, encode};

pub(crate) const DATABASE: &str = "Username-Password-Authentication";
const PASSWORD: &str = "Passw0rd!";
const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// An application allowed the user grants, enabled on the database connection.
pub(crate) struct App {
    pub id: String,
    pub secret: String,
}

pub(crate) async fn application(server: &mut Server, extra: Value) -> App {
    let mut body = json!({
        "name": format!("app-{}", uuid::Uuid::new_v4().simple()),
        "app_type": "regular_web",
        "grant_types": ["password", PASSWORD_REALM, "refresh_token", MFA_OTP, MFA_RECOVERY_CODE],
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let reply = server.post("/api/v2/clients", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let app = App {
        id: reply.body["client_id"].as_str().unwrap().to_owned(),
        secret: reply.body["client_secret"].as_str().unwrap().to_owned(),
    };
    let connection = server.get(&format!("/api/v2/connections?name={DATABASE}")).await.body[0].clone();
    let mut enabled = connection["enabled_clients"].as_array().cloned().unwrap_or_default();
    enabled.push(json!(app.id));
    let id = connection["id"].as_str().unwrap();
    let reply = server.patch(&format!("/api/v2/connections/{id}"), json!({"enabled_clients": enabled})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app
}

pub(crate) async fn token(server: &Server, body: Value) -> Reply {
    server.send_raw(Method::POST, "/oauth/token", None, Some(&body)).await
}

pub(crate) async fn login(server: &Server, app: &App, username: &str, password: &str, scope: &str) -> Reply {
    token(
        server,
        json!({"grant_type": PASSWORD_REALM, "client_id": app.id, "client_secret": app.secret, "username": username,
               "password": password, "realm": DATABASE, "scope": scope}),
    )
    .await
}

/// A login as a trusted client says its user's IP address is `ip`.
async fn login_from(server: &Server, app: &App, username: &str, password: &str, ip: &str) -> Reply {
    let body = json!({"grant_type": PASSWORD_REALM, "client_id": app.id, "client_secret": app.secret,
                      "username": username, "password": password, "realm": DATABASE});
    let request =
        server.http.post(format!("{}/oauth/token", server.base)).header("auth0-forwarded-for", ip).json(&body);
    Reply::from(request.send().await.unwrap()).await
}

pub(crate) async fn refresh(server: &Server, app: &App, refresh_token: &str) -> Reply {
    token(
        server,
        json!({"grant_type": "refresh_token", "client_id": app.id, "client_secret": app.secret,
               "refresh_token": refresh_token}),
    )
    .await
}

#[track_caller]
pub(crate) fn assert_oauth_error(reply: &Reply, status: u16, error: &str, description: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.body["error"], error, "{}", reply.text);
    assert_eq!(reply.body["error_description"], description, "{}", reply.text);
}

pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub(crate) fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_owned()
}

/// The log's events of `kind` for `user_id`, once the writer has written them.
pub(crate) async fn logged(server: &Server, kind: &str, user_id: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM logs WHERE type = '{kind}' AND user_id = '{user_id}'");
    for _ in 0..50 {
        let count = server.database.count(&sql).await;
        if count > 0 {
            return count;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    0
}

#[tokio::test]
async fn password_login_issues_tokens_and_stamps_the_profile() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let user = server.create_user("ana@example.com").await;
    let user_id = text(&user["user_id"]);

    let reply = login(&server, &app, "Ana@Example.com", PASSWORD, "openid profile email offline_access").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 86400);
    assert_eq!(reply.body["scope"], "openid profile email offline_access");
    assert!(reply.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 32));
    let id_token = claims(reply.body["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], user_id.as_str());
    assert_eq!(id_token["aud"], app.id.as_str());
    assert_eq!(id_token["iss"], format!("https://{}/", server.domain));
    assert_eq!(id_token["email"], "ana@example.com");
    assert_eq!(id_token["email_verified"], false);
    assert!(id_token["exp"].as_i64().unwrap() - id_token["iat"].as_i64().unwrap() == 36000);
    let access_token = reply.body["access_token"].as_str().unwrap().to_owned();
    let access = claims(&access_token);
    assert_eq!(access["aud"], format!("https://{}/userinfo", server.domain));
    assert_eq!(access["gty"], "password");
    assert_eq!(access["azp"], app.id.as_str());
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));

    // /userinfo answers the profile claims the scopes allow.
    let request = server.http.get(format!("{}/userinfo", server.base)).bearer_auth(&access_token);
    let info = Reply::from(request.send().await.unwrap()).await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.body["sub"], user_id.as_str());
    assert_eq!(info.body["email"], "ana@example.com");
    assert_eq!(info.body["nickname"], "ana");

    // The profile counts the login, at once searchable.
    let profile = server.get(&format!("/api/v2/users/{}", encode(&user_id))).await.body;
    assert_eq!(profile["logins_count"], 1);
    assert_eq!(profile["last_ip"], "127.0.0.1");
    assert!(profile["last_login"].as_str().is_some());
    let found = server.get("/api/v2/users?q=logins_count%3A%5B1%20TO%20*%5D&search_engine=v3").await;
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.text);
    assert_eq!(logged(&server, "s", &user_id).await, 1);
    // A success names the tenant's host, with an empty description, as Auth0's events do.
    let events = server.get(&format!("/api/v2/users/{}/logs", encode(&user_id))).await.body;
    let success = events.as_array().unwrap().iter().find(|e| e["type"] == "s").expect("an s event").clone();
    let host = server.base.trim_start_matches("http://");
    assert_eq!((success["hostname"].clone(), success["description"].clone()), (json!(host), json!("")));

    // The same login through the tenant's default directory (grant_type=password).
    let reply = token(
        &server,
        json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
               "username": "ana@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body.get("id_token").is_none() && reply.body.get("refresh_token").is_none());
    let profile = server.get(&format!("/api/v2/users/{}", encode(&user_id))).await.body;
    assert_eq!(profile["logins_count"], 2);
}

#[tokio::test]
async fn wrong_credentials_blocked_users_and_bad_requests_are_refused() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let user = server.create_user("bo@example.com").await;
    let user_id = text(&user["user_id"]);

    let wrong = login(&server, &app, "bo@example.com", "nope", "openid").await;
    assert_oauth_error(&wrong, 403, "invalid_grant", "Wrong email or password.");
    let unknown = login(&server, &app, "nobody@example.com", PASSWORD, "openid").await;
    assert_oauth_error(&unknown, 403, "invalid_grant", "Wrong email or password.");
    assert_eq!(logged(&server, "fp", &user_id).await, 1);

    server.patch(&format!("/api/v2/users/{}", encode(&user_id)), json!({"blocked": true})).await;
    let blocked = login(&server, &app, "bo@example.com", PASSWORD, "openid").await;
    assert_oauth_error(&blocked, 401, "unauthorized", "user is blocked");

    let missing =
        token(&server, json!({"grant_type": PASSWORD_REALM, "client_id": app.id, "client_secret": app.secret})).await;
    assert_oauth_error(&missing, 400, "invalid_request", "Missing required parameter: username");
    let bad_secret = token(
        &server,
        json!({"grant_type": "password", "client_id": app.id, "client_secret": "wrong", "username": "bo@example.com",
               "password": PASSWORD}),
    )
    .await;
    assert_oauth_error(&bad_secret, 401, "access_denied", "Unauthorized");

    // A client whose grant_types leave the password grant out; a connection not enabled for it.
    let machine = server.post("/api/v2/clients", json!({"name": "m2m", "app_type": "non_interactive"})).await.body;
    let refused = token(
        &server,
        json!({"grant_type": "password", "client_id": machine["client_id"], "client_secret": machine["client_secret"],
               "username": "bo@example.com", "password": PASSWORD}),
    )
    .await;
    assert_oauth_error(&refused, 403, "unauthorized_client", "Grant type 'password' not allowed for the client.");
    let other = server
        .post("/api/v2/clients", json!({"name": "other", "app_type": "regular_web", "grant_types": ["password"]}))
        .await
        .body;
    let not_enabled = token(
        &server,
        json!({"grant_type": "password", "client_id": other["client_id"], "client_secret": other["client_secret"],
               "username": "bo@example.com", "password": PASSWORD}),
    )
    .await;
    assert_oauth_error(&not_enabled, 403, "invalid_request", "the connection is not enabled");

    let unsupported = token(&server, json!({"grant_type": "magic", "client_id": app.id})).await;
    assert_oauth_error(&unsupported, 400, "unsupported_grant_type", "Unsupported grant type: magic");

    // Without a default directory the password grant fails as Auth0's does.
    let mut server = server.restart(&["--default-directory", ""]).await;
    let _ = server.token().await;
    let reply = token(
        &server,
        json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
               "username": "bo@example.com", "password": PASSWORD}),
    )
    .await;
    assert_oauth_error(&reply, 500, "server_error", "Authorization server not configured with default connection.");
}

#[tokio::test]
async fn brute_force_protection_blocks_a_user_from_one_ip_until_unblocked() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({"is_token_endpoint_ip_header_trusted": true})).await;
    let user = server.create_user("cy@example.com").await;
    let user_id = text(&user["user_id"]);
    let blocks_path = format!("/api/v2/user-blocks/{}", encode(&user_id));
    assert_eq!(server.get(&blocks_path).await.body, json!({"blocked_for": []}));

    for _ in 0..10 {
        let reply = login_from(&server, &app, "cy@example.com", "wrong", "10.0.0.1").await;
        assert_oauth_error(&reply, 403, "invalid_grant", "Wrong email or password.");
    }
    let blocked = login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.1").await;
    assert_oauth_error(
        &blocked,
        429,
        "too_many_attempts",
        "Your account has been blocked after multiple consecutive login attempts. We\u{2019}ve sent you an email with instructions on how to unblock it.",
    );
    // Another address is not blocked.
    assert_eq!(login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.2").await.status, 200);
    assert_eq!(logged(&server, "limit_wc", &user_id).await, 1);

    let expected = json!({"blocked_for": [{"identifier": "cy@example.com", "ip": "10.0.0.1", "connection": DATABASE}]});
    assert_eq!(server.get(&blocks_path).await.body, expected);
    assert_eq!(server.get("/api/v2/user-blocks?identifier=cy%40example.com").await.body, expected);
    assert_eq!(server.get("/api/v2/user-blocks?identifier=nobody").await.body, json!({"blocked_for": []}));
    server.get("/api/v2/user-blocks").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Missing required property: identifier' on property identifier.",
    );
    server.get("/api/v2/user-blocks/auth0%7Cnobody").await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );

    let unblocked = server.delete(&blocks_path).await;
    assert_eq!(unblocked.status, 204);
    assert_eq!(unblocked.text, "");
    assert_eq!(server.get(&blocks_path).await.body, json!({"blocked_for": []}));
    assert_eq!(login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.1").await.status, 200);

    // Unblocking by identifier.
    for _ in 0..10 {
        login_from(&server, &app, "cy@example.com", "wrong", "10.0.0.3").await;
    }
    assert_eq!(login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.3").await.status, 429);
    assert_eq!(server.delete("/api/v2/user-blocks?identifier=cy%40example.com").await.status, 204);
    assert_eq!(login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.3").await.status, 200);

    // A password change lifts the blocks too.
    for _ in 0..10 {
        login_from(&server, &app, "cy@example.com", "wrong", "10.0.0.4").await;
    }
    assert_eq!(login_from(&server, &app, "cy@example.com", PASSWORD, "10.0.0.4").await.status, 429);
    let changed =
        server.patch(&format!("/api/v2/users/{}", encode(&user_id)), json!({"password": "N3w-Passw0rd!"})).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(server.get(&blocks_path).await.body, json!({"blocked_for": []}));
    assert_eq!(login_from(&server, &app, "cy@example.com", "N3w-Passw0rd!", "10.0.0.4").await.status, 200);

    // Turning the connection's protection off lifts its blocks: logins pass, and the listing
    // that considers it is empty (the one that does not still shows the block).
    for _ in 0..10 {
        login_from(&server, &app, "cy@example.com", "wrong", "10.0.0.5").await;
    }
    assert_eq!(login_from(&server, &app, "cy@example.com", "N3w-Passw0rd!", "10.0.0.5").await.status, 429);
    let considering = format!("{blocks_path}?consider_brute_force_enablement=true");
    assert_eq!(server.get(&considering).await.body["blocked_for"].as_array().unwrap().len(), 1);
    let database = server.get(&format!("/api/v2/connections?name={DATABASE}")).await.body[0].clone();
    let mut options = database["options"].clone();
    options["brute_force_protection"] = json!(false);
    let path = format!("/api/v2/connections/{}", text(&database["id"]));
    assert_eq!(server.patch(&path, json!({"options": options})).await.status, 200);
    assert_eq!(server.get(&considering).await.body, json!({"blocked_for": []}));
    let by_identifier = "/api/v2/user-blocks?identifier=cy%40example.com&consider_brute_force_enablement=true";
    assert_eq!(server.get(by_identifier).await.body, json!({"blocked_for": []}));
    assert_eq!(server.get(&blocks_path).await.body["blocked_for"].as_array().unwrap().len(), 1);
    assert_eq!(login_from(&server, &app, "cy@example.com", "N3w-Passw0rd!", "10.0.0.5").await.status, 200);
}

#[tokio::test]
async fn rotating_refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let mut server = Server::start().await;
    let app = application(
        &mut server,
        json!({"refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "token_lifetime": 3600,
                                 "idle_token_lifetime": 1800, "leeway": 0,
                                 "infinite_token_lifetime": false, "infinite_idle_token_lifetime": false}}),
    )
    .await;
    let user = server.create_user("di@example.com").await;
    let user_id = text(&user["user_id"]);
    let first = login(&server, &app, "di@example.com", PASSWORD, "openid offline_access").await;
    let first = text(&first.body["refresh_token"]);

    let second = refresh(&server, &app, &first).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert!(second.body["id_token"].is_string());
    let second = text(&second.body["refresh_token"]);
    assert_ne!(first, second);
    let third = text(&refresh(&server, &app, &second).await.body["refresh_token"]);

    let listed = server.get(&format!("/api/v2/users/{}/refresh-tokens", encode(&user_id))).await;
    assert_eq!(listed.body["tokens"].as_array().unwrap().len(), 1, "{}", listed.text);
    let listed = &listed.body["tokens"][0];
    assert_eq!(listed["rotating"], true);
    assert!(
        listed["expires_at"].is_string()
            && listed["idle_expires_at"].is_string()
            && listed["last_exchanged_at"].is_string()
    );

    // The first token again: reuse. It and every token rotated from it stop working.
    let reused = refresh(&server, &app, &first).await;
    assert_oauth_error(&reused, 403, "invalid_grant", "Unknown or invalid refresh token.");
    let after = refresh(&server, &app, &third).await;
    assert_oauth_error(&after, 403, "invalid_grant", "Unknown or invalid refresh token.");
    assert_eq!(logged(&server, "ferrt", &user_id).await, 1);
}

#[tokio::test]
async fn refresh_tokens_are_listed_read_revoked_and_deleted() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let user = server.create_user("ed@example.com").await;
    let user_id = text(&user["user_id"]);
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let reply = login(&server, &app, "ed@example.com", PASSWORD, "openid offline_access").await;
        tokens.push(text(&reply.body["refresh_token"]));
    }
    // Non-rotating: the same token refreshes again, and no new one is answered.
    for _ in 0..2 {
        let reply = refresh(&server, &app, &tokens[0]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.body.get("refresh_token").is_none());
    }

    let path = format!("/api/v2/users/{}/refresh-tokens", encode(&user_id));
    let all = server.get(&format!("{path}?include_totals=true")).await;
    assert_eq!(all.status, 200);
    let items = all.body["tokens"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["next"], items[2]["id"]);
    let ids: Vec<String> = items.iter().map(|t| text(&t["id"])).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "id order");
    assert_eq!(items[0]["session_id"], Value::Null);
    assert_eq!(items[0]["rotating"], false);
    assert_eq!(items[0]["client_id"], app.id.as_str());
    let page = server.get(&format!("{path}?take=1&from={}", ids[0])).await.body;
    assert_eq!(page["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(page["tokens"][0]["id"], ids[1].as_str());
    assert!(page.get("total").is_none());

    let one = server.get(&format!("/api/v2/refresh-tokens/{}", ids[0])).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["user_id"], user_id.as_str());
    server.get("/api/v2/refresh-tokens/nope").await.assert_error(
        404,
        Some("inexistent_refresh_token"),
        "The refresh token does not exist.",
    );

    // /oauth/revoke: 200 with no body, and the token no longer refreshes.
    let revoke = server
        .send_raw(
            Method::POST,
            "/oauth/revoke",
            None,
            Some(&json!({"client_id": app.id, "client_secret": app.secret, "token": tokens[0]})),
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", revoke.text);
    assert_eq!(revoke.text, "");
    assert_eq!(refresh(&server, &app, &tokens[0]).await.status, 403);
    assert_eq!(logged(&server, "srrt", &user_id).await, 1);

    // Deleting one by id (ids are random: which login's token it is, the test learns by trying).
    let left = server.get(&path).await.body["tokens"].as_array().unwrap().clone();
    assert_eq!(left.len(), 2);
    let deleted = server.delete(&format!("/api/v2/refresh-tokens/{}", text(&left[0]["id"]))).await;
    assert_eq!((deleted.status.as_u16(), deleted.body.clone()), (202, json!({})));
    let mut refused = 0;
    for token in &tokens[1..] {
        if refresh(&server, &app, token).await.status == 403 {
            refused += 1;
        }
    }
    assert_eq!(refused, 1);
    let deleted = server.delete(&path).await;
    assert_eq!((deleted.status.as_u16(), deleted.body.clone()), (202, json!({})));
    assert_eq!(server.get(&format!("{path}?include_totals=true")).await.body, json!({"tokens": [], "total": 0}));
    for token in &tokens {
        assert_eq!(refresh(&server, &app, token).await.status, 403);
    }
    server.get("/api/v2/users/auth0%7Cnobody/refresh-tokens").await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    let scoped = server.token_with_scope(Some("read:users")).await;
    let reply = server.send_raw(Method::GET, &path, Some(&scoped), None).await;
    reply.assert_error(403, Some("insufficient_scope"), "Insufficient scope, expected any of: read:refresh_tokens");
}

#[tokio::test]
async fn password_logins_open_no_session() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let user = server.create_user("fa@example.com").await;
    let path = format!("/api/v2/users/{}/sessions", encode(&text(&user["user_id"])));
    assert_eq!(login(&server, &app, "fa@example.com", PASSWORD, "openid").await.status, 200);
    assert_eq!(server.get(&path).await.body, json!({"sessions": []}));
    assert_eq!(server.get(&format!("{path}?include_totals=true")).await.body, json!({"sessions": [], "total": 0}));
    let deleted = server.delete(&path).await;
    assert_eq!((deleted.status.as_u16(), deleted.body.clone()), (202, json!({})));
    server.get("/api/v2/sessions/nope").await.assert_error(
        404,
        Some("inexistent_session"),
        "The session does not exist.",
    );
    server.get("/api/v2/users/auth0%7Cnobody/sessions").await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.get(&format!("{path}?take=0")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property take (Number of results per page. Defaults to 50).",
    );
}

#[tokio::test]
async fn mfa_challenges_are_answered_with_totp_and_recovery_codes() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let user = server.create_user("gu@example.com").await;
    let user_id = text(&user["user_id"]);
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let methods = format!("/api/v2/users/{}/authentication-methods", encode(&user_id));
    let created = server.post(&methods, json!({"type": "totp", "totp_secret": secret})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let code = server.post(&format!("/api/v2/users/{}/recovery-code-regeneration", encode(&user_id)), json!({})).await;
    let recovery_code = text(&code.body["recovery_code"]);

    let challenge = login(&server, &app, "gu@example.com", PASSWORD, "openid").await;
    assert_eq!(challenge.status, 403, "{}", challenge.text);
    assert_eq!(challenge.body["error"], "mfa_required");
    assert_eq!(challenge.body["error_description"], "Multifactor authentication required");
    let mfa_token = text(&challenge.body["mfa_token"]);
    assert_eq!(logged(&server, "mfar", &user_id).await, 1);

    let otp_grant = |otp: String| json!({"grant_type": MFA_OTP, "client_id": app.id, "client_secret": app.secret, "mfa_token": mfa_token, "otp": otp});
    let wrong = token(&server, otp_grant("000000".into())).await;
    assert_oauth_error(&wrong, 403, "invalid_grant", "Invalid otp_code.");
    let method_path = format!("{methods}/{}", encode(&text(&created.body["id"])));
    let enrollments = format!("/api/v2/users/{}/enrollments", encode(&user_id));
    assert_eq!(server.get(&method_path).await.body.get("last_auth_at"), None, "a wrong code is no use");
    assert_eq!(server.get(&enrollments).await.body[0].get("last_auth"), None);
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build_noncompliant()
        .generate_current();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let answered = token(&server, otp_grant(totp.to_string())).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(claims(answered.body["id_token"].as_str().unwrap())["amr"], json!(["mfa"]));
    // The method it used, and the enrollment it is, say when.
    let method = server.get(&method_path).await.body;
    let used: chrono::DateTime<chrono::Utc> = text(&method["last_auth_at"]).parse().unwrap();
    assert!(used >= before && used <= chrono::Utc::now(), "{method}");
    let keys: Vec<&str> = method.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "type", "confirmed", "created_at", "last_auth_at"]);
    assert_eq!(server.get(&enrollments).await.body[0]["last_auth"], method["last_auth_at"]);

    let recovery = |code: &str| {
        json!({"grant_type": MFA_RECOVERY_CODE, "client_id": app.id, "client_secret": app.secret,
               "mfa_token": mfa_token, "recovery_code": code})
    };
    let used = token(&server, recovery(&recovery_code)).await;
    assert_eq!(used.status, 200, "{}", used.text);
    let next_code = text(&used.body["recovery_code"]);
    assert_eq!(next_code.len(), 24);
    let again = token(&server, recovery(&recovery_code)).await;
    assert_oauth_error(&again, 403, "invalid_grant", "Invalid recovery_code.");
    assert_eq!(token(&server, recovery(&next_code)).await.status, 200);

    let malformed = token(
        &server,
        otp_grant("123456".into())
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("mfa_token".into(), json!("not-a-token"));
                Value::Object(o)
            })
            .unwrap(),
    )
    .await;
    assert_oauth_error(&malformed, 403, "invalid_grant", "Malformed mfa_token");
    let profile = server.get(&format!("/api/v2/users/{}", encode(&user_id))).await.body;
    assert_eq!(profile["logins_count"], 3);
}

async fn signup(server: &Server, body: Value) -> Reply {
    server.send_raw(Method::POST, "/dbconnections/signup", None, Some(&body)).await
}

#[tokio::test]
async fn signup_creates_a_user_that_can_log_in() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let body = json!({"client_id": app.id, "connection": DATABASE, "email": "Hu@Example.com", "password": PASSWORD,
                      "given_name": "Hu", "user_metadata": {"plan": "free"}});
    let created = signup(&server, body.clone()).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = text(&created.body["_id"]);
    assert_eq!(created.body, json!({"_id": id, "email": "hu@example.com", "email_verified": false}));

    let again = signup(&server, body).await;
    assert_eq!(
        again.body,
        json!({"name": "BadRequestError", "code": "invalid_signup", "description": "Invalid sign up", "statusCode": 400})
    );
    let weak = signup(
        &server,
        json!({"client_id": app.id, "connection": DATABASE, "email": "iv@example.com", "password": "x"}),
    )
    .await;
    assert_eq!(weak.status, 400);
    assert_eq!(weak.body["name"], "PasswordStrengthError");
    assert_eq!(weak.body["code"], "invalid_password");
    let unknown = signup(
        &server,
        json!({"client_id": app.id, "connection": "nope", "email": "jo@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(unknown.body["code"], "invalid_connection");
    // A signup's user_metadata: at most 10 string fields (Auth0's signup reference).
    let eleven: serde_json::Map<String, Value> = (0..11).map(|i| (format!("f{i}"), json!("x"))).collect();
    for (metadata, description) in [
        (json!({"consent": true}), "invalid user_metadata.consent type (only strings are allowed)"),
        (json!("plan=free"), "invalid user_metadata type (expected object)"),
        (Value::Object(eleven), "invalid user_metadata (at most 10 fields are allowed)"),
        (json!({"bio": "x".repeat(501)}), "invalid user_metadata.bio value (at most 500 characters)"),
    ] {
        let refused = signup(
            &server,
            json!({"client_id": app.id, "connection": DATABASE, "email": "meta@example.com", "password": PASSWORD,
                   "user_metadata": metadata}),
        )
        .await;
        assert_eq!(
            refused.body,
            json!({"name": "BadRequestError", "code": description, "description": description, "statusCode": 400})
        );
    }
    assert_eq!(server.get("/api/v2/users-by-email?email=meta%40example.com").await.body, json!([]));

    let user = server.get(&format!("/api/v2/users/auth0%7C{id}")).await;
    assert_eq!(user.body["given_name"], "Hu");
    assert_eq!(user.body["user_metadata"], json!({"plan": "free"}));
    assert_eq!(login(&server, &app, "hu@example.com", PASSWORD, "openid").await.status, 200);
    assert_eq!(logged(&server, "ss", &format!("auth0|{id}")).await, 1);
}

#[tokio::test]
async fn userinfo_refuses_missing_and_foreign_tokens_in_plain_text() {
    let mut server = Server::start().await;
    let plain = Reply::from(server.http.get(format!("{}/userinfo", server.base)).send().await.unwrap()).await;
    assert_eq!(plain.status, 401);
    assert_eq!(plain.text, "Unauthorized");
    // A Management API token is not for /userinfo.
    let management = server.token().await;
    let request = server.http.get(format!("{}/userinfo", server.base)).bearer_auth(management);
    let response = request.send().await.unwrap();
    assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer realm=\"Users\""));
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn api_tokens_carry_the_permissions_of_an_rbac_api() {
    let mut server = Server::start().await;
    let app = application(&mut server, json!({})).await;
    let api = server
        .post(
            "/api/v2/resource-servers",
            json!({"identifier": "https://orders.example", "name": "orders", "token_dialect": "access_token_authz",
                   "allow_offline_access": true, "scopes": [{"value": "read:orders"}, {"value": "write:orders"}]}),
        )
        .await;
    assert_eq!(api.status, 201, "{}", api.text);
    let rbac = server
        .patch(&format!("/api/v2/resource-servers/{}", text(&api.body["id"])), json!({"enforce_policies": true}))
        .await;
    assert_eq!(rbac.status, 200, "{}", rbac.text);
    let user = server.create_user("ka@example.com").await;
    let user_id = text(&user["user_id"]);
    let granted = server
        .post(
            &format!("/api/v2/users/{}/permissions", encode(&user_id)),
            json!({"permissions": [{"resource_server_identifier": "https://orders.example", "permission_name": "read:orders"}]}),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    let reply = token(
        &server,
        json!({"grant_type": PASSWORD_REALM, "client_id": app.id, "client_secret": app.secret, "username": "ka@example.com",
               "password": PASSWORD, "realm": DATABASE, "audience": "https://orders.example",
               "scope": "openid read:orders write:orders offline_access"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["scope"], "openid offline_access read:orders");
    let access = claims(reply.body["access_token"].as_str().unwrap());
    assert_eq!(access["permissions"], json!(["read:orders"]));
    assert_eq!(access["aud"], json!(["https://orders.example", format!("https://{}/userinfo", server.domain)]));
    assert!(reply.body["refresh_token"].is_string());

    let unknown = token(
        &server,
        json!({"grant_type": PASSWORD_REALM, "client_id": app.id, "client_secret": app.secret, "username": "ka@example.com",
               "password": PASSWORD, "realm": DATABASE, "audience": "https://nope.example"}),
    )
    .await;
    assert_oauth_error(&unknown, 403, "access_denied", "Service not enabled within domain: https://nope.example");
}

// ---------------------------------------------------------------------------------------------
// Replay of Auth0's recorded traffic

mod replay {
    use serde_json::{Map, Value, json};

    use super::{PASSWORD, application, login, text};
    use crate::replay::{Cassette, Expectations, recorded_json, recordings_dir};
    use crate::server::{Server, encode};

    struct Logins;

    impl Expectations for Logins {
        const CHECKPOINT_ITEMS: &str = "sessions";

        fn compares(&self, path: &str) -> bool {
            ["/sessions", "/user-blocks", "/refresh-tokens"].iter().any(|p| path.contains(p))
        }
    }

    #[tokio::test]
    async fn user_sessions_go_auth0() {
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_ListUserSessions.yaml", &Logins).await, 1);
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_DeleteUserSessions.yaml", &Logins).await, 1);
    }

    #[tokio::test]
    async fn user_blocks_go_auth0() {
        for (file, compared) in [
            ("go-auth0/TestUserManager_Blocks.yaml", 1),
            ("go-auth0/TestUserManager_BlocksByIdentifier.yaml", 1),
            ("go-auth0/TestUserManager_Unblock.yaml", 1),
            ("go-auth0/TestUserManager_UnblockByIdentifier.yaml", 1),
        ] {
            assert_eq!(crate::replay::replay(file, &Logins).await, compared, "{file}");
        }
    }

    /// The refresh-token recordings list tokens of a user the cassette never creates (ids
    /// scrubbed to `UserID`): here the user and its two tokens come from two logins, then the
    /// recorded requests are sent and each answer must have the recorded shape, key for key.
    #[tokio::test]
    async fn refresh_tokens_go_auth0() {
        for file in
            ["go-auth0/TestUserManager_ListRefreshTokens.yaml", "go-auth0/TestUserManager_DeleteRefreshTokens.yaml"]
        {
            let cassette = Cassette::load(&recordings_dir().join(file), file);
            let mut server = Server::start().await;
            let app = application(&mut server, json!({})).await;
            let user_id = text(&server.create_user("rt@example.com").await["user_id"]);
            for _ in 0..2 {
                let reply = login(&server, &app, "rt@example.com", PASSWORD, "openid profile offline_access").await;
                assert_eq!(reply.status, 200, "{}", reply.text);
            }
            for interaction in &cassette.interactions {
                let url = reqwest::Url::parse(&interaction.request.url).unwrap();
                if !url.path().contains("/refresh-tokens") {
                    continue;
                }
                let path = url.path().replace("UserID", &encode(&user_id));
                let target = format!("{path}?{}", url.query().unwrap_or_default());
                let method = reqwest::Method::from_bytes(interaction.request.method.as_bytes()).unwrap();
                let reply = server.call(method, &target, None).await;
                assert_eq!(reply.status.as_u16(), interaction.response.code, "{file} {target}: {}", reply.text);
                let recorded = recorded_json(interaction.response.body.as_deref()).unwrap();
                assert_same_shape(&recorded, &reply.body, &format!("{file} {target}"));
            }
        }
    }

    /// Same keys, in the same order, with values of the same JSON type, all the way down.
    fn assert_same_shape(expected: &Value, actual: &Value, at: &str) {
        let kind = |v: &Value| std::mem::discriminant(v);
        assert_eq!(kind(expected), kind(actual), "{at}: {expected} vs {actual}");
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
                assert_eq!(keys(e), keys(a), "{at}");
                for (key, value) in e {
                    assert_same_shape(value, &a[key], &format!("{at}.{key}"));
                }
            }
            (Value::Array(e), Value::Array(a)) => {
                assert_eq!(e.len(), a.len(), "{at}");
                for (i, (e, a)) in e.iter().zip(a).enumerate() {
                    assert_same_shape(e, a, &format!("{at}[{i}]"));
                }
            }
            _ => {}
        }
    }
}
