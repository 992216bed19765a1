//! `/api/v2/jobs`: users imports, exports, verification emails; their errors, the recorded
//! traffic of go-auth0's job tests, and a job interrupted by SIGKILL.

use std::io::Read;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Reply, Server, TestDatabase};

const BOUNDARY: &str = "roster-test-boundary-7f3a";

/// A multipart body as SDKs send it: the text fields, then the users file.
fn multipart(fields: &[(&str, &str)], users: Option<&str>) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    if let Some(users) = users {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"users\"; filename=\"users.json\"\r\nContent-Type: application/json\r\n\r\n{users}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body.into_bytes()
}

async fn upload(server: &mut Server, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Reply {
    let token = match token {
        Some(token) => token.to_owned(),
        None => server.token().await,
    };
    let request = server
        .http
        .post(format!("{}/api/v2/jobs/users-imports", server.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    Reply::from(request.send().await.unwrap()).await
}

async fn connection_id(server: &mut Server) -> String {
    let reply = server.get("/api/v2/connections?name=Username-Password-Authentication").await;
    reply.body[0]["id"].as_str().unwrap().to_owned()
}

/// Imports `users` into the database connection and waits for the job to end.
pub(crate) async fn import(server: &mut Server, users: &Value, upsert: bool) -> Value {
    let id = connection_id(server).await;
    let upsert = upsert.to_string();
    let body = multipart(&[("connection_id", &id), ("upsert", &upsert)], Some(&users.to_string()));
    let reply = upload(server, None, &format!("multipart/form-data; boundary={BOUNDARY}"), body).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    finished(server, reply.body["id"].as_str().unwrap()).await
}

/// Polls the job until it is completed or failed.
async fn finished(server: &mut Server, id: &str) -> Value {
    // On PostgreSQL a job whose server was killed is taken up again once its heartbeat is 30 s
    // old (`store::jobs::STALE_AFTER`).
    for _ in 0..1200 {
        let reply = server.get(&format!("/api/v2/jobs/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        if matches!(reply.body["status"].as_str(), Some("completed" | "failed")) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

async fn gunzip(server: &Server, location: &str) -> String {
    let response = server.http.get(location).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    text
}

async fn export(server: &mut Server, body: Value) -> String {
    let reply = server.post("/api/v2/jobs/users-exports", body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let job = finished(server, reply.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    gunzip(server, job["location"].as_str().unwrap()).await
}

#[tokio::test]
async fn an_import_writes_the_good_records_and_reports_the_bad_ones() {
    let mut server = Server::start().await;
    let users = json!([
        {"email": "good1@example.com", "email_verified": true, "user_metadata": {"plan": "pro"}},
        {"email": "not an email"},
        {"email": "good2@example.com", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"}}},
        {"email": "good1@example.com"},
        {"email": "bad-hash@example.com", "password_hash": "plain"},
        "not an object",
    ]);
    let job = import(&mut server, &users, false).await;
    assert_eq!(job["status"], "completed");
    assert_eq!(job["summary"], json!({"failed": 4, "updated": 0, "inserted": 2, "total": 6}));
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await;
    assert_eq!(errors.status, 200);
    let errors = errors.body.as_array().unwrap().clone();
    assert_eq!(errors.len(), 4);
    assert_eq!(errors[0]["user"], json!({"email": "not an email"}));
    assert_eq!(errors[0]["errors"][0]["code"], "FORMAT");
    assert_eq!(errors[0]["errors"][0]["path"], "email");
    assert_eq!(errors[1]["errors"][0]["code"], "DUPLICATED_USER");
    assert_eq!(errors[2]["errors"][0]["path"], "password_hash");
    assert_eq!(errors[3]["errors"][0]["code"], "INVALID_TYPE");
    // The bad records are nowhere; the good ones are there.
    let found = server.get("/api/v2/users-by-email?email=good1%40example.com").await;
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["user_metadata"], json!({"plan": "pro"}));
    assert_eq!(found.body[0]["email_verified"], true);
    let all = server.get("/api/v2/users?q=*&include_totals=true").await;
    assert_eq!(all.body["total"], 2, "{}", all.text);
    // A job without errors: 204.
    let job = import(&mut server, &json!([{"email": "good3@example.com"}]), false).await;
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await;
    assert_eq!(errors.status, 204);
}

#[tokio::test]
async fn upsert_updates_users_that_exist_and_without_it_they_are_reported() {
    let mut server = Server::start().await;
    let created = server.create_user("chuck@example.com").await;
    let users = json!([{"email": "chuck@example.com", "email_verified": true, "given_name": "Chuck", "user_metadata": {"a": 1}}]);
    let job = import(&mut server, &users, false).await;
    assert_eq!(job["summary"], json!({"failed": 1, "updated": 0, "inserted": 0, "total": 1}));
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await;
    assert_eq!(
        errors.body,
        json!([{"user": users[0], "errors": [{"code": "DUPLICATED_USER", "message": "The user already exist and upsert parameter is false"}]}])
    );
    let job = import(&mut server, &users, true).await;
    assert_eq!(job["summary"], json!({"failed": 0, "updated": 1, "inserted": 0, "total": 1}));
    let user =
        server.get(&format!("/api/v2/users/{}", crate::server::encode(created["user_id"].as_str().unwrap()))).await;
    assert_eq!(user.body["given_name"], "Chuck");
    assert_eq!(user.body["email_verified"], true);
    assert_eq!(user.body["user_metadata"], json!({"a": 1}));
}

#[tokio::test]
async fn imported_hashes_log_in_and_become_bcrypt() {
    let mut server = Server::start().await;
    let users = json!([{"email": "md5@example.com", "custom_password_hash": {"algorithm": "sha256",
        "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}, "salt": {"value": "a", "position": "prefix"}}}]);
    let job = import(&mut server, &users, false).await;
    assert_eq!(job["summary"]["inserted"], 1);
    let store = server.store().await;
    let found = server.get("/api/v2/users-by-email?email=md5%40example.com").await;
    let user_id = found.body[0]["user_id"].as_str().unwrap().to_owned();
    let stored = store.password_hash(&user_id).await.unwrap().unwrap();
    assert!(stored.starts_with("custom:"), "{stored}");
    assert!(roster::auth::password::verify("bc".into(), stored.clone()).await.unwrap());
    assert!(!roster::auth::password::verify("bd".into(), stored).await.unwrap());
}

/// `mfa_factors` become confirmed authentication methods: listed, in the profile's
/// `multifactor`, and the TOTP one answers the MFA challenge of a password login.
#[tokio::test]
async fn imported_mfa_factors_are_confirmed_methods_that_challenge_logins() {
    let mut server = Server::start().await;
    let app = crate::logins::application(&mut server, json!({})).await;
    let secret = "JBSWY3DPEHPK3PXP";
    // Password "bc": SHA-256("abc") with the salt "a" before it.
    let hash = json!({"algorithm": "sha256", "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                      "salt": {"value": "a", "position": "prefix"}});
    let users = json!([
        {"email": "mfa@example.com", "custom_password_hash": hash,
         "mfa_factors": [{"totp": {"secret": secret}}, {"phone": {"value": "+14155550100"}}, {"email": {"value": "second@example.com"}}]},
        {"email": "lower@example.com", "mfa_factors": [{"totp": {"secret": "jbswy3dp"}}]},
        {"email": "twice@example.com", "mfa_factors": [{"totp": {"secret": secret}}, {"totp": {"secret": secret}}]},
        {"email": "empty@example.com", "mfa_factors": []},
        {"email": "voice@example.com", "mfa_factors": [{"phone": {"value": "555"}, "email": {"value": "a@b.co"}}]},
    ]);
    let job = import(&mut server, &users, false).await;
    assert_eq!(job["summary"], json!({"failed": 4, "updated": 0, "inserted": 1, "total": 5}), "{job}");
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await.body;
    let messages: Vec<&str> =
        errors.as_array().unwrap().iter().map(|e| e["errors"][0]["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        [
            "MFA import error: String does not match pattern ^[A-Z2-7]+$: jbswy3dp",
            "MFA import error: the totp factor is given twice",
            "MFA import error: Array is too short (0), minimum 1",
            "MFA import error: Too many properties defined (2), maximum 1",
        ]
    );
    assert!(errors.as_array().unwrap().iter().all(|e| e["errors"][0]["path"] == "mfa_factors"), "{errors}");
    assert_eq!(
        server.get("/api/v2/users?q=*&include_totals=true").await.body["total"],
        1,
        "the bad records are nowhere"
    );

    let found = server.get("/api/v2/users-by-email?email=mfa%40example.com").await;
    assert_eq!(found.body[0]["multifactor"], json!(["guardian"]), "{}", found.text);
    let user_id = found.body[0]["user_id"].as_str().unwrap().to_owned();
    let listed = server.get(&format!("/api/v2/users/{}/authentication-methods", crate::server::encode(&user_id))).await;
    let listed = listed.body.as_array().unwrap().clone();
    let shown: Vec<(&str, bool)> =
        listed.iter().map(|m| (m["type"].as_str().unwrap(), m["confirmed"].as_bool().unwrap())).collect();
    assert_eq!(shown, [("totp", true), ("phone", true), ("email", true)]);
    assert_eq!(listed[1]["phone_number"], "XXXXXXXX0100");
    assert_eq!(listed[2]["email"], "seco**@exam*******");

    let login = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": app.id,
                       "client_secret": app.secret, "username": "mfa@example.com", "password": "bc",
                       "realm": crate::logins::DATABASE, "scope": "openid"});
    let challenge = crate::logins::token(&server, login).await;
    crate::logins::assert_oauth_error(&challenge, 403, "mfa_required", "Multifactor authentication required");
    let code = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build_noncompliant()
        .generate_current();
    let answer = json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "client_id": app.id,
                        "client_secret": app.secret, "mfa_token": challenge.body["mfa_token"], "otp": code.to_string()});
    let answered = crate::logins::token(&server, answer).await;
    assert_eq!(answered.status, 200, "{}", answered.text);
}

/// Auth0's schema: `mfa_factors` are not upserted, and `custom_password_hash` only while the user
/// has not logged in with the hash imported first.
#[tokio::test]
async fn upsert_keeps_factors_and_a_password_in_use() {
    let mut server = Server::start().await;
    let app = crate::logins::application(&mut server, json!({})).await;
    // SHA-256 of the salt "a" and the password: "bc", then "bd", then "be".
    let hash = |hex: &str| json!({"algorithm": "sha256", "hash": {"value": hex}, "salt": {"value": "a"}});
    let bc = hash("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let bd = hash("a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
    let be = hash("d81a65c1de02e17d9cfd88d68a8768fd1e3262f5e2fb859382fe33734b3f3ca8");
    let users = json!([{"email": "up@example.com", "custom_password_hash": bc,
                        "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}]}]);
    assert_eq!(import(&mut server, &users, false).await["summary"]["inserted"], 1);
    let found = server.get("/api/v2/users-by-email?email=up%40example.com").await;
    let user_id = found.body[0]["user_id"].as_str().unwrap().to_owned();
    let methods = format!("/api/v2/users/{}/authentication-methods", crate::server::encode(&user_id));
    let store = server.store().await;
    let password_is = |password: &'static str| {
        let store = store.clone();
        let user_id = user_id.clone();
        async move {
            let stored = store.password_hash(&user_id).await.unwrap().unwrap();
            roster::auth::password::verify(password.into(), stored).await.unwrap()
        }
    };

    let users = json!([{"email": "up@example.com", "given_name": "Up", "custom_password_hash": bd,
                        "mfa_factors": [{"phone": {"value": "+14155550100"}}]}]);
    assert_eq!(import(&mut server, &users, true).await["summary"]["updated"], 1);
    let kinds: Vec<Value> =
        server.get(&methods).await.body.as_array().unwrap().iter().map(|m| m["type"].clone()).collect();
    assert_eq!(kinds, [json!("totp")], "the factors stay as they were");
    assert!(password_is("bd").await, "a hash nobody logged in with is replaced");

    // Once the user logs in, a later upsert leaves the password alone.
    let login = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": app.id,
                       "client_secret": app.secret, "username": "up@example.com", "password": "bd",
                       "realm": crate::logins::DATABASE, "scope": "openid"});
    let challenge = crate::logins::token(&server, login).await;
    crate::logins::assert_oauth_error(&challenge, 403, "mfa_required", "Multifactor authentication required");
    let code = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32("JBSWY3DPEHPK3PXP").unwrap())
        .build_noncompliant()
        .generate_current();
    let answer = json!({"grant_type": "http://auth0.com/oauth/grant-type/mfa-otp", "client_id": app.id,
                        "client_secret": app.secret, "mfa_token": challenge.body["mfa_token"], "otp": code.to_string()});
    assert_eq!(crate::logins::token(&server, answer).await.status, 200);
    let users = json!([{"email": "up@example.com", "given_name": "Again", "custom_password_hash": be}]);
    assert_eq!(import(&mut server, &users, true).await["summary"]["updated"], 1);
    assert!(password_is("bd").await && !password_is("be").await, "the password in use stays");
    let user = server.get(&format!("/api/v2/users/{}", crate::server::encode(&user_id))).await.body;
    assert_eq!(user["given_name"], "Again", "the rest of the record is upserted");
}

/// A failed record is reported without its secrets (Auth0: "Sensitive fields such as
/// `hash.value` will be redacted").
#[tokio::test]
async fn failed_records_are_reported_without_their_secrets() {
    let mut server = Server::start().await;
    let users = json!([
        {"email": "not an email", "custom_password_hash": {"algorithm": "hmac",
            "hash": {"value": "c2VjcmV0", "encoding": "base64", "digest": "sha256", "key": {"value": "hmac-key"}}}},
        {"email": "bad@", "password_hash": "$2b$10$abcdefghijklmnopqrstuuJ5f1wQxqv3gWw1bJ0l7y5qS8xq4Y8Qm",
         "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}]},
    ]);
    let job = import(&mut server, &users, false).await;
    assert_eq!(job["summary"]["failed"], 2, "{job}");
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await.body;
    let reported: Vec<Value> = errors.as_array().unwrap().iter().map(|e| e["user"].clone()).collect();
    assert_eq!(
        reported,
        [
            json!({"email": "not an email", "custom_password_hash": {"algorithm": "hmac",
                "hash": {"value": "*****", "encoding": "base64", "digest": "sha256", "key": {"value": "*****"}}}}),
            json!({"email": "bad@", "password_hash": "*****", "mfa_factors": [{"totp": {"secret": "*****"}}]}),
        ]
    );
}

#[tokio::test]
async fn import_requests_are_checked() {
    let mut server = Server::start().await;
    let id = connection_id(&mut server).await;
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
    // Not multipart at all.
    let reply = upload(&mut server, None, "application/json", b"{}".to_vec()).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    // A broken multipart body.
    let reply = upload(&mut server, None, &multipart_type, b"--nope\r\n".to_vec()).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    // No connection_id, no users file.
    let reply = upload(&mut server, None, &multipart_type, multipart(&[], Some("[]"))).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Missing required property: connection_id'.",
    );
    let reply = upload(&mut server, None, &multipart_type, multipart(&[("connection_id", &id)], None)).await;
    reply.assert_error(400, Some("invalid_body"), "Payload validation error: 'Missing required property: users'.");
    // An unknown connection.
    let reply =
        upload(&mut server, None, &multipart_type, multipart(&[("connection_id", "con_AAAAAAAAAAAAAAAA")], Some("[]")))
            .await;
    reply.assert_error(400, Some("inexistent_connection"), "The connection does not exist.");
    // Not an array.
    let reply =
        upload(&mut server, None, &multipart_type, multipart(&[("connection_id", &id)], Some("{\"email\": 1}"))).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    // Bad JSON inside the array: the job fails, nothing is written.
    let body = multipart(&[("connection_id", &id)], Some("[{\"email\": \"ok@example.com\"}, {\"email\": "));
    let reply = upload(&mut server, None, &multipart_type, body).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let job = finished(&mut server, reply.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert!(job["status_details"].as_str().unwrap().contains("not a valid JSON array"), "{job}");
    assert!(server.get("/api/v2/users-by-email?email=ok%40example.com").await.body.as_array().unwrap().is_empty());
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await;
    assert_eq!(errors.body["status"], "failed");
    // Scopes: create:users to import, read:users to export, update:users for verification emails.
    let token = server.token_with_scope(Some("read:users")).await;
    let reply =
        upload(&mut server, Some(&token), &multipart_type, multipart(&[("connection_id", &id)], Some("[]"))).await;
    reply.assert_error(403, Some("insufficient_scope"), "Insufficient scope, expected any of: create:users");
    let token = server.token_with_scope(Some("create:users")).await;
    let reply = server.send_raw(Method::POST, "/api/v2/jobs/users-exports", Some(&token), Some(&json!({}))).await;
    reply.assert_error(403, Some("insufficient_scope"), "Insufficient scope, expected any of: read:users");
    let reply = server
        .send_raw(Method::POST, "/api/v2/jobs/verification-email", Some(&token), Some(&json!({"user_id": "auth0|x"})))
        .await;
    reply.assert_error(403, Some("insufficient_scope"), "Insufficient scope, expected any of: update:users");
    let token = server.token_with_scope(Some("read:clients")).await;
    let reply = server.send_raw(Method::GET, "/api/v2/jobs/job_AAAAAAAAAAAAAAAA", Some(&token), None).await;
    assert_eq!(reply.status, 403);
    // Unknown and malformed job ids.
    server.get("/api/v2/jobs/job_AAAAAAAAAAAAAAAA").await.assert_error(
        404,
        Some("inexistent_job"),
        "The job does not exist.",
    );
    let reply = server.get("/api/v2/jobs/job_AAAAAAAAAAAAAAAA/errors").await;
    assert_eq!(reply.status, 404);
    assert_eq!(server.get("/api/v2/jobs/nope").await.status, 400);
    // Exports: unknown properties, formats and connections.
    let reply = server.post("/api/v2/jobs/users-exports", json!({"format": "xml"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = server.post("/api/v2/jobs/users-exports", json!({"connection_id": "con_AAAAAAAAAAAAAAAA"})).await;
    reply.assert_error(400, Some("inexistent_connection"), "The connection does not exist.");
    let reply = server.post("/api/v2/jobs/users-exports", json!({"nope": 1})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = server.post("/api/v2/jobs/verification-email", json!({"user_id": "auth0|nobody"})).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
}

#[tokio::test]
async fn exports_serve_gzipped_ndjson_and_csv() {
    let mut server = Server::start().await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        server.create_user(email).await;
    }
    let id = connection_id(&mut server).await;
    let text = export(
        &mut server,
        json!({"connection_id": id, "format": "json", "limit": 2,
               "fields": [{"name": "email"}, {"name": "identities[0].connection", "export_as": "connection"}]}),
    )
    .await;
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines,
        vec![
            json!({"email": "a@example.com", "connection": "Username-Password-Authentication"}),
            json!({"email": "b@example.com", "connection": "Username-Password-Authentication"}),
        ]
    );
    let text = export(&mut server, json!({"format": "csv", "fields": [{"name": "email", "export_as": "Email"}]})).await;
    assert_eq!(text, "\"'Email\"\n\"'a@example.com\"\n\"'b@example.com\"\n\"'c@example.com\"\n");
    // CSV takes at most 30 fields, and metadata field by field (JSON takes either).
    let many: Vec<Value> = (0..31).map(|i| json!({"name": format!("user_metadata.f{i}")})).collect();
    let reply = server.post("/api/v2/jobs/users-exports", json!({"format": "csv", "fields": many})).await;
    reply.assert_error(400, Some("invalid_body"), "CSV exports are limited to 30 fields.");
    let whole = json!([{"name": "email"}, {"name": "app_metadata"}]);
    let reply = server.post("/api/v2/jobs/users-exports", json!({"format": "csv", "fields": whole})).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "CSV exports cannot include app_metadata as a single object; name its fields (app_metadata.<field>).",
    );
    let reply = server.post("/api/v2/jobs/users-exports", json!({"format": "json", "fields": whole})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A wrong token is refused.
    let reply = server.post("/api/v2/jobs/users-exports", json!({})).await;
    let job = finished(&mut server, reply.body["id"].as_str().unwrap()).await;
    let location = job["location"].as_str().unwrap();
    let (head, _) = location.rsplit_once("/users.").unwrap();
    let (base, _) = head.rsplit_once('/').unwrap();
    let forged = format!("{base}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/users.json.gz");
    assert_eq!(server.http.get(forged).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn verification_email_is_a_job_and_a_log_event() {
    let mut server = Server::start().await;
    let user = server.create_user("verify@example.com").await;
    let user_id = user["user_id"].as_str().unwrap();
    let reply = server.post("/api/v2/jobs/verification-email", json!({"user_id": user_id})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["type", "status", "created_at", "id"]);
    assert_eq!(reply.body["type"], "verification_email");
    let job = finished(&mut server, reply.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed");
    for _ in 0..50 {
        let logs = server.get(&format!("/api/v2/users/{}/logs", crate::server::encode(user_id))).await;
        if logs.body.as_array().is_some_and(|events| events.iter().any(|e| e["type"] == "svr")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no svr log event");
}

/// What a round trip compares: the users as exported, ids and times aside.
fn comparable(text: &str) -> Vec<Value> {
    let mut users: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    users.sort_by_key(|u| u["email"].as_str().unwrap_or_default().to_owned());
    users
}

#[tokio::test]
async fn import_export_import_round_trip_is_equal() {
    const FIELDS: &[&str] = &[
        "user_id",
        "email",
        "email_verified",
        "given_name",
        "family_name",
        "name",
        "nickname",
        "picture",
        "blocked",
        "app_metadata",
        "user_metadata",
    ];
    let fields: Vec<Value> = FIELDS.iter().map(|name| json!({"name": name})).collect();
    let users: Vec<Value> = (0..50)
        .map(|i| {
            json!({"email": format!("u{i}@example.com"), "email_verified": i % 2 == 0, "given_name": format!("G{i}"),
                   "user_metadata": {"n": i, "tags": ["x", i]}, "app_metadata": {"plan": format!("p{}", i % 3)},
                   "blocked": i % 7 == 0, "user_id": format!("id{i}")})
        })
        .collect();
    let mut first = Server::start().await;
    let job = import(&mut first, &Value::Array(users), false).await;
    assert_eq!(job["summary"]["inserted"], 50, "{job}");
    let exported = export(&mut first, json!({"format": "json", "fields": fields})).await;
    // Auth0's exports are NDJSON and its imports JSON arrays: converted as its docs say.
    let records: Vec<Value> = exported.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut second = Server::start_on(TestDatabase::new().await, &[]).await;
    let job = import(&mut second, &Value::Array(records), false).await;
    assert_eq!(job["summary"], json!({"failed": 0, "updated": 0, "inserted": 50, "total": 50}), "{job}");
    let again = export(&mut second, json!({"format": "json", "fields": fields})).await;
    assert_eq!(comparable(&again), comparable(&exported));
}

#[tokio::test]
async fn an_import_killed_midway_runs_again_and_reports_once() {
    const USERS: usize = 40_000;
    let database = TestDatabase::new().await;
    let mut server = Server::start_on(database.clone(), &[]).await;
    let users: Vec<Value> =
        (0..USERS).map(|i| json!({"email": format!("k{i}@example.com"), "user_metadata": {"i": i}})).collect();
    let id = connection_id(&mut server).await;
    let body = multipart(&[("connection_id", &id)], Some(&Value::Array(users).to_string()));
    let reply = upload(&mut server, None, &format!("multipart/form-data; boundary={BOUNDARY}"), body).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let job_id = reply.body["id"].as_str().unwrap().to_owned();
    // Killed while the job runs.
    for _ in 0..200 {
        if server.get(&format!("/api/v2/jobs/{job_id}")).await.body["status"] == "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    let interrupted = database.count("SELECT COUNT(*) FROM users").await;
    let status =
        database.count(&format!("SELECT COUNT(*) FROM jobs WHERE id = '{job_id}' AND status = 'completed'")).await;
    // Either it had finished (all of it), or nothing of it is there.
    assert!(
        (status == 1 && interrupted == USERS as i64) || (status == 0 && interrupted == 0),
        "half-written: {interrupted} users, completed={status}"
    );
    let mut server = Server::start_on(database.clone(), &[]).await;
    let job = finished(&mut server, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["summary"], json!({"failed": 0, "updated": 0, "inserted": USERS, "total": USERS}));
    assert_eq!(database.count("SELECT COUNT(*) FROM users").await, USERS as i64);
    assert_eq!(database.count("SELECT COUNT(*) FROM job_errors").await, 0);
}

mod recordings {
    //! go-auth0's job tests, replayed: every recorded request is sent (multipart bodies as
    //! recorded, with ids mapped) and must get Auth0's status; job objects must have Auth0's
    //! keys and values (ids and times aside), and `/errors` Auth0's whole body. A recorded job
    //! that Auth0 had finished is polled here until Roster's has.

    use super::*;
    use crate::replay::{Cassette, Mapping, TenantShape, recorded_json, recordings_dir};

    /// The job's keys and values, its times and id only checked to be strings.
    fn job_shape(job: &Value) -> Value {
        let mut job = job.clone();
        for key in ["created_at", "id"] {
            assert!(job[key].is_string(), "{job}");
            job[key] = json!("…");
        }
        job
    }

    async fn replay(file: &str) -> usize {
        let cassette = Cassette::load(&recordings_dir().join(file), file);
        let mut server = TenantShape::of(&cassette).start().await;
        let mut mapping = Mapping::default();
        let mut compared = 0;
        for (index, interaction) in cassette.interactions.iter().enumerate() {
            let url = reqwest::Url::parse(&interaction.request.url).unwrap();
            let path = url.path().to_owned();
            if path == "/oauth/token" {
                continue;
            }
            let context = format!("{file} #{index}: {} {url}", interaction.request.method);
            let recorded = recorded_json(interaction.response.body.as_deref()).map(|b| mapping.value(&b));
            let mut target = mapping.text(&path);
            if let Some(query) = url.query() {
                target = format!("{target}?{query}");
            }
            if target.ends_with("/errors") {
                // Auth0 had run the job by then; Roster runs it as soon, but the request may
                // come first.
                let id = target.trim_end_matches("/errors").rsplit('/').next().unwrap().to_owned();
                finished(&mut server, &id).await;
            }
            let raw = interaction.request.body.clone().unwrap_or_default();
            let mut reply = if raw.starts_with("--") {
                let boundary = raw.lines().next().unwrap().trim_start_matches("--").trim().to_owned();
                let token = server.token().await;
                let request = server
                    .http
                    .post(format!("{}{target}", server.base))
                    .bearer_auth(token)
                    .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                    .body(mapping.text(&raw));
                Reply::from(request.send().await.unwrap()).await
            } else {
                let method = Method::from_bytes(interaction.request.method.as_bytes()).unwrap();
                let body = recorded_json(Some(&raw)).map(|b| mapping.value(&b));
                server.call(method, &target, body).await
            };
            assert_eq!(reply.status.as_u16(), interaction.response.code, "{context}: {}", reply.text);
            if path.starts_with("/api/v2/connections")
                && let (Some(theirs), Some(ours)) =
                    (interaction.response.body.as_deref(), reply.body["connections"][0]["id"].as_str())
            {
                let theirs: Value = serde_json::from_str(theirs).unwrap();
                mapping.learn(theirs["connections"][0]["id"].as_str().unwrap(), ours);
            }
            if interaction.request.method == "POST"
                && let Some(recorded) = &recorded
            {
                for key in ["user_id", "id"] {
                    if let (Some(theirs), Some(ours)) = (recorded[key].as_str(), reply.body[key].as_str()) {
                        mapping.learn(theirs, ours);
                    }
                }
            }
            if !path.starts_with("/api/v2/jobs") {
                continue;
            }
            let Some(expected) = recorded.map(|r| mapping.value(&r)) else {
                assert_eq!(reply.text, "", "{context}");
                continue;
            };
            if path.ends_with("/errors") {
                assert_eq!(reply.body, expected, "{context}");
            } else {
                if interaction.request.method == "GET"
                    && matches!(expected["status"].as_str(), Some("completed" | "failed"))
                {
                    reply.body = finished(&mut server, reply.body["id"].as_str().unwrap()).await;
                }
                assert_eq!(job_shape(&reply.body), job_shape(&expected), "{context}");
            }
            compared += 1;
        }
        compared
    }

    #[tokio::test]
    async fn import_users() {
        assert_eq!(replay("go-auth0-other/TestJobManager_ImportUsers.yaml").await, 2);
    }

    #[tokio::test]
    async fn import_users_with_nil_options() {
        assert_eq!(replay("go-auth0-other/TestJobManager_ImportUsersWithNilOptions.yaml").await, 1);
    }

    #[tokio::test]
    async fn export_users() {
        assert_eq!(replay("go-auth0-other/TestJobManager_ExportUsers.yaml").await, 1);
    }

    #[tokio::test]
    async fn read_errors() {
        assert_eq!(replay("go-auth0-other/TestJobManager_ReadErrors.yaml").await, 2);
    }

    #[tokio::test]
    async fn verify_email() {
        assert!(replay("go-auth0-other/TestJobManager_VerifyEmail.yaml").await >= 1);
    }
}
