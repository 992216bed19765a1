//! `POST /oauth/token`, the discovery documents, and how `/api/v2` checks tokens.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{CLIENT_ID, CLIENT_SECRET, Reply, Server, encode};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

async fn post_token(server: &Server, body: Value) -> Reply {
    server.send_raw(Method::POST, "/oauth/token", None, Some(&body)).await
}

#[tokio::test]
async fn issues_rs256_tokens_shaped_like_auth0() {
    let server = Server::start().await;
    let reply = post_token(
        &server,
        json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": server.audience()}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access_token", "scope", "expires_in", "token_type"]);
    assert_eq!((reply.body["token_type"].as_str(), reply.body["expires_in"].as_i64()), (Some("Bearer"), Some(86400)));
    let scope = reply.body["scope"].as_str().unwrap();
    assert!(scope.split(' ').any(|s| s == "create:users") && scope.split(' ').count() > 200, "every scope");
    let token = reply.body["access_token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["iss"], format!("https://{}/", server.domain));
    assert_eq!(claims["aud"], server.audience());
    assert_eq!(claims["sub"], format!("{CLIENT_ID}@clients"));
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["scope"], scope);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 86400);
    let header = header_of(token);
    assert_eq!(header["alg"], "RS256");

    // The key that signed it is published.
    let jwks = server.send_raw(Method::GET, "/.well-known/jwks.json", None, None).await.body;
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("kid in JWKS");
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    let decoding =
        jsonwebtoken::DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[server.audience()]);
    assert!(jsonwebtoken::decode::<Value>(token, &decoding, &validation).is_ok(), "signature verifies with the JWKS");

    let discovery = server.send_raw(Method::GET, "/.well-known/openid-configuration", None, None).await.body;
    assert_eq!(discovery["issuer"], format!("https://{}/", server.domain));
    assert_eq!(discovery["jwks_uri"], format!("https://{}/.well-known/jwks.json", server.domain));
}

#[tokio::test]
async fn accepts_form_bodies_basic_auth_and_the_http_audience() {
    let server = Server::start().await;
    let form = server
        .http
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("audience", &format!("http://{}/api/v2/", server.domain)),
        ])
        .send()
        .await
        .unwrap();
    let form = Reply::from(form).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert_eq!(claims_of(form.body["access_token"].as_str().unwrap())["aud"], server.audience());

    let basic = server
        .http
        .post(format!("{}/oauth/token", server.base))
        .header("authorization", format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))))
        .json(&json!({"grant_type": "client_credentials", "audience": server.audience()}))
        .send()
        .await
        .unwrap();
    let basic = Reply::from(basic).await;
    assert_eq!(basic.status, 200, "{}", basic.text);
    let users = server.send_raw(Method::GET, "/api/v2/users", basic.body["access_token"].as_str(), None).await;
    assert_eq!(users.status, 200);
}

#[tokio::test]
async fn token_endpoint_errors() {
    let server = Server::start().await;
    let audience = server.audience();
    let cases = [
        (
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": audience}),
            400,
            "invalid_request",
            "Missing required parameter: grant_type".to_owned(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong", "audience": audience}),
            401,
            "access_denied",
            "Unauthorized".to_owned(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": CLIENT_SECRET, "audience": audience}),
            401,
            "access_denied",
            "Unauthorized".to_owned(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": "https://elsewhere/api/"}),
            403,
            "access_denied",
            "Service not enabled within domain: https://elsewhere/api/".to_owned(),
        ),
        (
            json!({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": audience}),
            403,
            "unauthorized_client",
            "Grant type 'password' not allowed for the client.".to_owned(),
        ),
        (
            json!({"grant_type": "magic", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": audience}),
            400,
            "unsupported_grant_type",
            "Unsupported grant type: magic".to_owned(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": audience, "scope": "read:nothing"}),
            403,
            "access_denied",
            "Client has not been granted scopes: read:nothing".to_owned(),
        ),
    ];
    for (body, status, error, description) in cases {
        let reply = post_token(&server, body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.text);
        assert_eq!(reply.body, json!({"error": error, "error_description": description}), "{body}");
    }
}

#[tokio::test]
async fn narrowed_scopes_limit_the_token() {
    let server = Server::start().await;
    let token = server.token_with_scope(Some("read:users read:nothing")).await;
    assert_eq!(claims_of(&token)["scope"], "read:users");
}

/// Signs claims with the server's own key, read from its database, to forge tokens the
/// server would accept but for one property.
pub async fn forge(server: &Server, claims: Value) -> String {
    let store = server.store().await;
    let key = store.signing_keys().await.unwrap().into_iter().next().expect("a signing key");
    store.close().await;
    let (kid, der) = (key.kid, key.private_key_pkcs8);
    let body = STANDARD.encode(der);
    let lines: Vec<String> = body.as_bytes().chunks(64).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn claims(server: &Server, overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": format!("https://{}/", server.domain), "sub": "someone@clients", "aud": server.audience(),
                            "iat": now, "exp": now + 600, "scope": "read:users"});
    claims.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
    claims
}

#[tokio::test]
async fn api_rejects_bad_tokens_as_auth0_does() {
    let mut server = Server::start().await;
    let list = |token: Option<String>| {
        let server = &server;
        async move { server.send_raw(Method::GET, "/api/v2/users", token.as_deref(), None).await }
    };
    let missing = list(None).await;
    missing.assert_error(401, None, "Missing authentication");
    list(Some("opaque-token".into())).await.assert_error(400, Some("Bearer"), "Bad HTTP authentication header format");

    let good = forge(&server, claims(&server, json!({}))).await;
    assert_eq!(list(Some(good.clone())).await.status, 200, "a forged-but-valid token is accepted: the forge works");

    let invalid = |reply: Reply, message: &str| {
        reply.assert_error(401, None, message);
        assert_eq!(reply.body["attributes"], json!({"error": message}));
    };
    let expired = forge(&server, claims(&server, json!({"exp": chrono::Utc::now().timestamp() - 10}))).await;
    invalid(list(Some(expired)).await, "Expired token received for JSON Web Token validation");
    let wrong_audience = forge(&server, claims(&server, json!({"aud": "https://other/api/v2/"}))).await;
    invalid(list(Some(wrong_audience)).await, "Invalid token");
    let wrong_issuer = forge(&server, claims(&server, json!({"iss": "https://evil/"}))).await;
    invalid(list(Some(wrong_issuer)).await, "Invalid token");
    // Flip a character well inside the signature (the last one may only carry padding bits).
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    invalid(list(Some(tampered)).await, "Invalid signature received for JSON Web Token validation.");
    let (head, rest) = good.split_once('.').unwrap();
    let none_alg = format!("{}.{}", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), rest);
    assert_ne!(head, URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
    invalid(list(Some(none_alg)).await, "Invalid token");
    let _ = server.token().await;
}

#[tokio::test]
async fn current_user_scopes_only_reach_the_subjects_own_user() {
    let mut server = Server::start().await;
    let me = server.create_user("me@example.com").await;
    let other = server.create_user("other@example.com").await;
    let my_id = me["user_id"].as_str().unwrap();
    let token = forge(&server, claims(&server, json!({"sub": my_id, "scope": "read:current_user"}))).await;
    let mine = server.send_raw(Method::GET, &format!("/api/v2/users/{}", encode(my_id)), Some(&token), None).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let theirs = server
        .send_raw(
            Method::GET,
            &format!("/api/v2/users/{}", encode(other["user_id"].as_str().unwrap())),
            Some(&token),
            None,
        )
        .await;
    theirs.assert_error(403, None, "User to be acted on does not match subject in bearer token.");
}

#[tokio::test]
async fn tokens_and_credentials_survive_a_restart() {
    let args = ["--domain", "roster.test"];
    let mut server = Server::start_with(&args).await;
    let token = server.token().await;
    let user = server.create_user("kept@example.com").await;
    let mut server = server.restart(&args).await;
    // The signing key, the client and the user are in the database, not in the process.
    let path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    let reply = server.send_raw(Method::GET, &path, Some(&token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, user);
    let fresh = server.token_with_scope(None).await;
    assert_eq!(header_of(&fresh)["kid"], header_of(&token)["kid"], "same signing key");
    assert_eq!(server.get(&path).await.status, 200);
}
