//! `/api/v2/users/{id}/authentication-methods`, `/authenticators`, `/enrollments`,
//! `/multifactor/…` and `/recovery-code-regeneration`: a user's MFA as real state.

use reqwest::Method;
use serde_json::{Value, json};

use crate::roles::user_path;
use crate::server::{Server, encode};

const TOTP_SECRET: &str = "5HCWXIP2MJNSUBGYVUZFLRB2HWIGXR4SYJQXNBQ";

fn methods_path(user: &Value) -> String {
    format!("{}/authentication-methods", user_path(user))
}

async fn add(server: &mut Server, user: &Value, body: Value) -> Value {
    let reply = server.post(&methods_path(user), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn listed(server: &mut Server, user: &Value) -> Vec<Value> {
    let reply = server.get(&methods_path(user)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

async fn profile(server: &mut Server, user: &Value) -> Value {
    let reply = server.get(&user_path(user)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

fn method_path(user: &Value, method: &Value) -> String {
    format!("{}/{}", methods_path(user), encode(method["id"].as_str().unwrap()))
}

#[tokio::test]
async fn each_creatable_type_is_stored_confirmed_and_read_back_masked() {
    let mut server = Server::start().await;
    let user = server.create_user("chuck334@example.com").await;
    let email =
        add(&mut server, &user, json!({"type": "email", "name": "Test", "email": "chuck334@example.com"})).await;
    // Recorded: the answer to POST is masked and has no `confirmed`.
    assert_eq!(email["email"], "chuc****@exam*******");
    assert!(email.get("confirmed").is_none() && email["id"].as_str().unwrap().starts_with("email|dev_"));
    let phone = add(
        &mut server,
        &user,
        json!({"type": "phone", "phone_number": "+15555550123", "preferred_authentication_method": "voice"}),
    )
    .await;
    let totp = add(&mut server, &user, json!({"type": "totp", "name": "Phone app", "totp_secret": TOTP_SECRET})).await;
    assert!(totp.get("totp_secret").is_none(), "{totp}");
    let key = add(
        &mut server,
        &user,
        json!({"type": "webauthn-roaming", "key_id": "key-1", "public_key": "cHVibGlj", "relying_party_identifier": "example.com"}),
    )
    .await;
    let passkey = add(
        &mut server,
        &user,
        json!({"type": "passkey", "key_id": "pk-1", "public_key": "cGs=", "aaguid": "08987058-cadc-4b81-b6e1-30de50dcbe96",
               "credential_device_type": "multi_device", "credential_backed_up": true, "transports": ["internal"]}),
    )
    .await;

    let methods = listed(&mut server, &user).await;
    let ids: Vec<&str> = methods.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let created: Vec<&str> =
        [&email, &phone, &totp, &key, &passkey].iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, created, "listed in creation order");
    assert!(methods.iter().all(|m| m["confirmed"] == true));
    let device = phone["id"].as_str().unwrap().strip_prefix("phone|").unwrap();
    assert_eq!(methods[1]["phone_number"], "XXXXXXXX0123");
    assert_eq!(methods[1]["authentication_methods"], json!([{"id": format!("voice|{device}"), "type": "voice"}]));
    assert_eq!(methods[3]["relying_party_identifier"], "example.com");
    assert_eq!(methods[4]["transports"], json!(["internal"]));
    assert!(!serde_json::to_string(&methods).unwrap().contains(TOTP_SECRET), "the TOTP secret is never shown");

    let one = server.get(&method_path(&user, &totp)).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body, methods[2]);

    // The profile says the user has MFA.
    let profile = profile(&mut server, &user).await;
    assert_eq!(profile["multifactor"], json!(["guardian"]));
    assert!(profile["multifactor_last_modified"].is_string());
}

#[tokio::test]
async fn listing_pages_and_wraps_as_recorded() {
    let mut server = Server::start().await;
    let user = server.create_user("pages@example.com").await;
    let empty = server.get(&format!("{}?include_totals=true", methods_path(&user))).await;
    assert_eq!(empty.body, json!({"authenticators": [], "start": 0, "limit": 50}), "no total when empty");
    for n in 0..3 {
        add(&mut server, &user, json!({"type": "email", "email": format!("m{n}@example.com")})).await;
    }
    let page = server.get(&format!("{}?include_totals=true&per_page=2&page=1", methods_path(&user))).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let keys: Vec<&str> = page.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["authenticators", "total", "start", "limit"]);
    assert_eq!(
        (page.body["total"].clone(), page.body["start"].clone(), page.body["limit"].clone()),
        (json!(3), json!(2), json!(2))
    );
    assert_eq!(page.body["authenticators"][0]["email"], "****@exam*******");
    // Past the end the page is empty, but the user has methods: `total` stays.
    let past = server.get(&format!("{}?include_totals=true&page=5", methods_path(&user))).await;
    assert_eq!(past.body, json!({"authenticators": [], "total": 3, "start": 250, "limit": 50}));
    let bad = server.get(&format!("{}?per_page=101", methods_path(&user))).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["errorCode"], "invalid_query_string");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let mut server = Server::start().await;
    let user = server.create_user("bad@example.com").await;
    let path = methods_path(&user);
    let cases = [
        (json!({}), "Payload validation error: 'Missing required property: type'."),
        (json!({"type": "sms"}), "Payload validation error: 'No enum match for: \"sms\"' on property type."),
        (json!({"type": "email"}), "Payload validation error: 'Missing required property: email'."),
        (json!({"type": "phone"}), "Payload validation error: 'Missing required property: phone_number'."),
        (json!({"type": "totp"}), "Payload validation error: 'Missing required property: totp_secret'."),
        (
            json!({"type": "passkey", "key_id": "k"}),
            "Payload validation error: 'Missing required property: public_key'.",
        ),
        (
            json!({"type": "phone", "phone_number": "1"}),
            "Payload validation error: 'String is too short (1 chars), minimum 2' on property phone_number (Applies to phone authentication methods only. The destination phone number used to send verification codes via text and voice).",
        ),
        (
            json!({"type": "email", "email": "not an email"}),
            "Payload validation error: 'Object didn't pass validation for format email: not an email' on property email (Applies to email authentication methods only. The email address used to send verification messages).",
        ),
        (json!({"type": "totp", "totp_secret": "not base32!"}), "totp_secret must be a base32 encoded string."),
        (
            json!({"type": "email", "email": "a@example.com", "phone_number": "+15555550123"}),
            "The following properties are not allowed for email authentication methods: phone_number.",
        ),
        (
            json!({"type": "email", "email": "a@example.com", "color": "red"}),
            "Payload validation error: 'Additional properties not allowed: color'.",
        ),
        (
            json!({"type": "email", "email": 5}),
            "Payload validation error: 'Expected type string but found type integer' on property email (Applies to email authentication methods only. The email address used to send verification messages).",
        ),
    ];
    for (body, message) in cases {
        let reply = server.post(&path, body.clone()).await;
        reply.assert_error(400, Some("invalid_body"), message);
    }
    // PUT takes an array.
    let reply = server.call(Method::PUT, &path, Some(json!({"type": "email"}))).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Expected type array but found type object'.",
    );
    let reply = server.call(Method::PUT, &path, Some(json!([{"type": "passkey"}]))).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(listed(&mut server, &user).await.is_empty());
    assert!(profile(&mut server, &user).await.get("multifactor").is_none());
}

#[tokio::test]
async fn duplicates_conflict_and_each_type_has_a_limit() {
    let mut server = Server::start().await;
    let user = server.create_user("dup@example.com").await;
    add(&mut server, &user, json!({"type": "email", "email": "one@example.com"})).await;
    let again = server.post(&methods_path(&user), json!({"type": "email", "email": "ONE@example.com"})).await;
    again.assert_error(409, Some("authentication_method_exists"), "Authentication method already exists.");
    add(&mut server, &user, json!({"type": "totp", "totp_secret": TOTP_SECRET})).await;
    let second_totp =
        server.post(&methods_path(&user), json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"})).await;
    assert_eq!(second_totp.status, 409, "one TOTP per user: {}", second_totp.text);
    // One WebAuthn credential, whichever type registers it.
    add(&mut server, &user, json!({"type": "webauthn-roaming", "key_id": "key-1", "public_key": "cA=="})).await;
    let same_key =
        server.post(&methods_path(&user), json!({"type": "passkey", "key_id": "key-1", "public_key": "cA=="})).await;
    assert_eq!(same_key.status, 409, "{}", same_key.text);
    for n in 1..20 {
        add(&mut server, &user, json!({"type": "email", "email": format!("e{n}@example.com")})).await;
    }
    let over = server.post(&methods_path(&user), json!({"type": "email", "email": "e20@example.com"})).await;
    over.assert_error(403, Some("too_many_entities"), "You reached the limit of entities of this type for this user.");
    // PUT refuses a body that repeats itself, and leaves what was there.
    let repeat = json!([{"type": "email", "email": "x@example.com"}, {"type": "email", "email": "x@example.com"}]);
    let reply = server.call(Method::PUT, &methods_path(&user), Some(repeat)).await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert_eq!(listed(&mut server, &user).await.len(), 22);
}

#[tokio::test]
async fn concurrent_duplicates_make_one_method() {
    let mut server = Server::start().await;
    let user = server.create_user("race@example.com").await;
    let token = server.token().await;
    let path = methods_path(&user);
    let body = json!({"type": "phone", "phone_number": "+15555550199"});
    let statuses =
        futures_util::future::join_all((0..8).map(|_| server.send_raw(Method::POST, &path, Some(&token), Some(&body))))
            .await;
    let created = statuses.iter().filter(|r| r.status == 201).count();
    let conflicts = statuses.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    assert_eq!(listed(&mut server, &user).await.len(), 1);
}

#[tokio::test]
async fn put_replaces_every_method_and_answers_them_unmasked() {
    let mut server = Server::start().await;
    let user = server.create_user("put@example.com").await;
    let old = add(&mut server, &user, json!({"type": "email", "email": "old@example.com"})).await;
    // Recorded body and answer shape (TestUserManager_AuthenticationMethods.yaml).
    let body = json!([
        {"type": "email", "name": "MyEmail", "email": "foo@example.com"},
        {"type": "phone", "name": "MyPhone", "phone_number": "+44207183875044", "preferred_authentication_method": "sms"},
        {"type": "totp", "name": "MyTotp", "totp_secret": TOTP_SECRET}
    ]);
    let reply = server.call(Method::PUT, &methods_path(&user), Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answer = reply.body.as_array().unwrap();
    assert_eq!(answer[0]["email"], "foo@example.com");
    assert_eq!(answer[1]["phone_number"], "+44207183875044");
    assert!(answer.iter().all(|m| m.get("confirmed").is_none() && m.get("totp_secret").is_none()));
    let methods = listed(&mut server, &user).await;
    assert_eq!(methods.len(), 3);
    assert!(methods.iter().all(|m| m["id"] != old["id"]), "the old method is gone");
    assert_eq!(methods[0]["email"], "****@exam*******");
    // An empty PUT removes them all.
    let reply = server.call(Method::PUT, &methods_path(&user), Some(json!([]))).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (200, json!([])));
    assert!(listed(&mut server, &user).await.is_empty());
    assert!(profile(&mut server, &user).await.get("multifactor").is_none());
}

#[tokio::test]
async fn a_user_with_a_passkey_cannot_have_methods_replaced_or_deleted_together() {
    let mut server = Server::start().await;
    let user = server.create_user("pk@example.com").await;
    add(&mut server, &user, json!({"type": "passkey", "key_id": "pk", "public_key": "cGs="})).await;
    let reply = server
        .call(Method::PUT, &methods_path(&user), Some(json!([{"type": "email", "email": "a@example.com"}])))
        .await;
    reply.assert_error(
        403,
        Some("operation_not_supported"),
        "Operation not permitted when the user has registered at least 1 passkey",
    );
    // Deleting all methods is refused alike, and deletes nothing.
    add(&mut server, &user, json!({"type": "email", "email": "b@example.com"})).await;
    server.delete(&methods_path(&user)).await.assert_error(
        403,
        Some("operation_not_supported"),
        "Operation not permitted when the user has registered at least 1 passkey",
    );
    let types = |methods: Vec<Value>| methods.iter().map(|m| m["type"].clone()).collect::<Vec<_>>();
    assert_eq!(types(listed(&mut server, &user).await), [json!("passkey"), json!("email")]);
    // Deleting the authenticators takes the factors and keeps the passkey, a first factor.
    let reply = server.delete(&format!("{}/authenticators", user_path(&user))).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(types(listed(&mut server, &user).await), [json!("passkey")]);
}

#[tokio::test]
async fn patch_renames_and_changes_a_phones_channel() {
    let mut server = Server::start().await;
    let user = server.create_user("patch@example.com").await;
    let phone = add(&mut server, &user, json!({"type": "phone", "phone_number": "+15555550123"})).await;
    let stamped = profile(&mut server, &user).await["multifactor_last_modified"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let reply = server
        .patch(&method_path(&user, &phone), json!({"name": "Work", "preferred_authentication_method": "voice"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let restamped = profile(&mut server, &user).await["multifactor_last_modified"].clone();
    assert!(restamped.as_str() > stamped.as_str(), "a change to a method stamps the profile: {stamped} {restamped}");
    assert_eq!(reply.body["name"], "Work");
    assert_eq!(reply.body["phone_number"], "XXXXXXXX0123");
    let read = server.get(&method_path(&user, &phone)).await.body;
    assert_eq!(read["preferred_authentication_method"], "voice");
    assert_eq!(read["authentication_methods"][0]["type"], "voice");

    let email = add(&mut server, &user, json!({"type": "email", "email": "x@example.com"})).await;
    let reply = server.patch(&method_path(&user, &email), json!({"preferred_authentication_method": "sms"})).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "preferred_authentication_method can only be set on phone authentication methods.",
    );
    let reply = server.patch(&method_path(&user, &email), json!({"email": "y@example.com"})).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: email'.",
    );
    let reply = server.patch(&format!("{}/email%7Cdev_nothere", methods_path(&user)), json!({"name": "x"})).await;
    reply.assert_error(404, Some("inexistent_authentication_method"), "The authentication method could not be found.");
}

#[tokio::test]
async fn deleting_methods_updates_the_profile() {
    let mut server = Server::start().await;
    let user = server.create_user("del@example.com").await;
    let totp = add(&mut server, &user, json!({"type": "totp", "totp_secret": TOTP_SECRET})).await;
    let first = profile(&mut server, &user).await["multifactor_last_modified"].clone();
    let reply = server.delete(&method_path(&user, &totp)).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    let after = profile(&mut server, &user).await;
    assert!(after.get("multifactor").is_none(), "{after}");
    assert!(after["multifactor_last_modified"].as_str() >= first.as_str());
    let again = server.delete(&method_path(&user, &totp)).await;
    again.assert_error(404, Some("inexistent_authentication_method"), "The authentication method could not be found.");
    let reply = server.get(&method_path(&user, &totp)).await;
    assert_eq!(reply.status, 404);

    // DELETE /authenticators removes every factor and the recovery code.
    add(&mut server, &user, json!({"type": "email", "email": "a@example.com"})).await;
    add(&mut server, &user, json!({"type": "phone", "phone_number": "+15555550123"})).await;
    assert_eq!(server.post(&format!("{}/recovery-code-regeneration", user_path(&user)), json!({})).await.status, 200);
    assert_eq!(listed(&mut server, &user).await.len(), 3);
    let reply = server.delete(&format!("{}/authenticators", user_path(&user))).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(listed(&mut server, &user).await.is_empty());

    // Deleting the user deletes its methods.
    add(&mut server, &user, json!({"type": "email", "email": "a@example.com"})).await;
    assert_eq!(server.delete(&user_path(&user)).await.status, 204);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM authentication_methods").await, 0);
}

#[tokio::test]
async fn a_user_that_does_not_exist_is_a_404_everywhere() {
    let mut server = Server::start().await;
    let missing = json!({"user_id": "auth0|000000000000000000000000"});
    let base = user_path(&missing);
    let calls = [
        (Method::GET, format!("{base}/authentication-methods"), None),
        (
            Method::POST,
            format!("{base}/authentication-methods"),
            Some(json!({"type": "email", "email": "a@example.com"})),
        ),
        (Method::PUT, format!("{base}/authentication-methods"), Some(json!([]))),
        (Method::DELETE, format!("{base}/authentication-methods"), None),
        (Method::GET, format!("{base}/authentication-methods/email%7Cdev_x"), None),
        (Method::PATCH, format!("{base}/authentication-methods/email%7Cdev_x"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("{base}/authentication-methods/email%7Cdev_x"), None),
        (Method::DELETE, format!("{base}/authenticators"), None),
        (Method::GET, format!("{base}/enrollments"), None),
        (Method::DELETE, format!("{base}/multifactor/duo"), None),
        (Method::POST, format!("{base}/multifactor/actions/invalidate-remember-browser"), None),
        (Method::POST, format!("{base}/recovery-code-regeneration"), Some(json!({}))),
    ];
    for (method, path, body) in calls {
        let reply = server.call(method.clone(), &path, body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        reply.assert_error(404, Some("inexistent_user"), "The user does not exist.");
    }
}

#[tokio::test]
async fn scopes_are_checked() {
    let server = Server::start().await;
    let token = server.token_with_scope(Some("read:users")).await;
    let reply =
        server.send_raw(Method::GET, "/api/v2/users/auth0%7Cx/authentication-methods", Some(&token), None).await;
    reply.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:authentication_methods",
    );
}

#[tokio::test]
async fn enrollments_show_the_first_confirmed_factor() {
    let mut server = Server::start().await;
    let user = server.create_user("enroll@example.com").await;
    let path = format!("{}/enrollments", user_path(&user));
    assert_eq!(server.get(&path).await.body, json!([]));
    // A recovery code alone is no enrollment.
    assert_eq!(server.post(&format!("{}/recovery-code-regeneration", user_path(&user)), json!({})).await.status, 200);
    assert_eq!(server.get(&path).await.body, json!([]));
    let totp = add(&mut server, &user, json!({"type": "totp", "name": "App", "totp_secret": TOTP_SECRET})).await;
    add(&mut server, &user, json!({"type": "phone", "phone_number": "+15555550123"})).await;
    let reply = server.get(&path).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let enrollments = reply.body.as_array().unwrap();
    assert_eq!(enrollments.len(), 1);
    assert_eq!(enrollments[0]["id"], totp["id"].as_str().unwrap().strip_prefix("totp|").unwrap());
    assert_eq!(enrollments[0]["status"], "confirmed");
    assert_eq!(enrollments[0]["auth_method"], "authenticator");
    assert_eq!(enrollments[0]["enrolled_at"], totp["created_at"]);
    // Neither route takes query parameters.
    let one = format!("{}/{}", methods_path(&user), encode(totp["id"].as_str().unwrap()));
    for path in [format!("{path}?foo=1"), format!("{one}?foo=1")] {
        server.get(&path).await.assert_error(
            400,
            Some("invalid_query_string"),
            "Query validation error: 'Additional properties not allowed: foo'.",
        );
    }
}

#[tokio::test]
async fn a_recovery_code_is_shown_once_and_replaced_on_regeneration() {
    let mut server = Server::start().await;
    let user = server.create_user("recover@example.com").await;
    let path = format!("{}/recovery-code-regeneration", user_path(&user));
    let first = server.post(&path, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let code = first.body["recovery_code"].as_str().unwrap().to_owned();
    assert!(code.len() == 24 && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{code}");
    let listed_once = listed(&mut server, &user).await;
    assert_eq!(listed_once.len(), 1);
    assert_eq!(listed_once[0]["type"], "recovery-code");
    assert!(!listed_once[0].to_string().contains(&code), "the code is never shown again");

    // No body at all works too (go-auth0 sends `{}`, others nothing).
    let second = server.call(Method::POST, &path, None).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_ne!(second.body["recovery_code"].as_str().unwrap(), code);
    let listed_twice = listed(&mut server, &user).await;
    assert_eq!(listed_twice.len(), 1, "the old code is gone");
    assert_ne!(listed_twice[0]["id"], listed_once[0]["id"]);
    // A recovery code alone is not MFA.
    assert!(profile(&mut server, &user).await.get("multifactor").is_none());
    let reply = server.post(&path, json!({"extra": true})).await;
    reply.assert_error(
        400,
        Some("invalid_body"),
        "Payload validation error: 'Additional properties not allowed: extra'.",
    );
}

#[tokio::test]
async fn invalidating_remembered_browsers_is_recorded() {
    let mut server = Server::start().await;
    let user = server.create_user("browser@example.com").await;
    let invalidated = "SELECT COUNT(*) FROM users WHERE remember_browser_invalidated_at IS NOT NULL";
    assert_eq!(server.database.count(invalidated).await, 0);
    let reply = server
        .call(Method::POST, &format!("{}/multifactor/actions/invalidate-remember-browser", user_path(&user)), None)
        .await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    assert_eq!(server.database.count(invalidated).await, 1);
}

#[tokio::test]
async fn a_legacy_provider_comes_off_the_profile() {
    let mut server = Server::start().await;
    let user = server.create_user("legacy@example.com").await;
    let id = user["user_id"].as_str().unwrap();
    server.database.execute(&format!("UPDATE users SET multifactor = '[\"duo\"]' WHERE user_id = '{id}'")).await;
    add(&mut server, &user, json!({"type": "totp", "totp_secret": TOTP_SECRET})).await;
    assert_eq!(profile(&mut server, &user).await["multifactor"], json!(["guardian", "duo"]));
    let reply = server.delete(&format!("{}/multifactor/duo", user_path(&user))).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(profile(&mut server, &user).await["multifactor"], json!(["guardian"]));
    // One it does not have changes nothing.
    let reply = server.delete(&format!("{}/multifactor/google-authenticator", user_path(&user))).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    let reply = server.delete(&format!("{}/multifactor/sms", user_path(&user))).await;
    reply.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'No enum match for: \"sms\"' on property provider (The multi-factor provider. Supported values 'duo' or 'google-authenticator').",
    );
}

// ---------------------------------------------------------------------------------------------
// Replay of Auth0's recorded traffic

mod replay {
    use serde_json::Value;

    use crate::replay::Expectations;

    struct Mfa;

    impl Expectations for Mfa {
        const CHECKPOINT_ITEMS: &str = "authenticators";

        fn compares(&self, path: &str) -> bool {
            ["/authentication-methods", "/enrollments", "/recovery-code-regeneration", "/risk-assessments"]
                .iter()
                .any(|p| path.contains(p))
        }

        /// Creation times and recovery codes cannot match; each must be well formed. A phone's
        /// channel shares its method's device id. Listings compare as sets (Auth0's order after
        /// a PUT was not the order given).
        fn normalize(&self, _path: &str, answer: &mut Value) {
            match answer {
                Value::Object(object) => {
                    if let Some(code) = object.get_mut("recovery_code") {
                        let text = code.as_str().unwrap_or_default();
                        assert!(text.len() == 24 && text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text}");
                        *code = Value::from("<code>");
                    }
                    if let Some(at) = object.get_mut("created_at") {
                        assert!(roster::domain::time::parse(at.as_str().unwrap_or_default()).is_some(), "{at}");
                        *at = Value::from("<time>");
                    }
                    let device = object
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| id.split_once('|'))
                        .map(|(_, d)| d.to_owned());
                    if let (Some(device), Some(Value::Array(channels))) =
                        (device, object.get_mut("authentication_methods"))
                    {
                        for channel in channels {
                            let id = channel["id"].as_str().unwrap_or_default().to_owned();
                            assert!(id.ends_with(&format!("|{device}")), "{id} is not a channel of {device}");
                            channel["id"] = Value::from("<channel>");
                        }
                    }
                    for value in object.values_mut() {
                        self.normalize(_path, value);
                    }
                    if let Some(Value::Array(items)) = object.get_mut("authenticators") {
                        items.sort_by_key(|item| item["id"].as_str().unwrap_or_default().to_owned());
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(|item| self.normalize(_path, item)),
                _ => {}
            }
        }
    }

    #[tokio::test]
    async fn authentication_methods_go_auth0() {
        // POST, GET (list), GET, PATCH, GET, DELETE, GET (empty list), PUT, GET (list), DELETE all, GET.
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_AuthenticationMethods.yaml", &Mfa).await, 11);
    }

    #[tokio::test]
    async fn enrollments_go_auth0() {
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_Enrollments.yaml", &Mfa).await, 1);
    }

    #[tokio::test]
    async fn recovery_code_go_auth0() {
        assert_eq!(crate::replay::replay("go-auth0/TestUserManager_RegenerateRecoveryCode.yaml", &Mfa).await, 1);
    }

    #[tokio::test]
    async fn clear_risk_assessments_go_auth0() {
        let recording = "go-auth0/TestUserManager_ClearRiskAssessmentAssessors.yaml";
        assert_eq!(crate::replay::replay(recording, &Mfa).await, 1);
    }
}

/// Roster runs no risk assessment: clearing checks the body and the user, and answers 204.
#[tokio::test]
async fn clearing_risk_assessments_checks_its_body() {
    let mut server = Server::start().await;
    let user = server.create_user("risk@example.com").await;
    let path = format!("{}/risk-assessments/clear", user_path(&user));
    let body = json!({"connection": "Username-Password-Authentication", "assessors": ["new-device"]});
    let reply = server.post(&path, body.clone()).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (204, ""));
    for (bad, message) in [
        (json!({"connection": "Username-Password-Authentication"}), "Missing required property: assessors"),
        (
            json!({"connection": "Username-Password-Authentication", "assessors": ["old-device"]}),
            "No enum match for: \"old-device\"' on property assessors[0]",
        ),
        (
            json!({"connection": "Username-Password-Authentication", "assessors": []}),
            "Array is too short (0), minimum 1",
        ),
    ] {
        let reply = server.post(&path, bad).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert!(reply.body["message"].as_str().unwrap().contains(message), "{}", reply.text);
    }
    server.post("/api/v2/users/auth0%7Cnobody/risk-assessments/clear", body).await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
}

#[tokio::test]
async fn a_linked_secondary_takes_no_methods_to_the_primary() {
    let mut server = Server::start().await;
    let primary = server.create_user("primary@example.com").await;
    let secondary = server.create_user("secondary@example.com").await;
    add(&mut server, &primary, json!({"type": "email", "email": "primary@example.com"})).await;
    add(&mut server, &secondary, json!({"type": "totp", "totp_secret": TOTP_SECRET})).await;
    let link = json!({"provider": "auth0", "user_id": secondary["user_id"]});
    let reply = server.post(&format!("{}/identities", user_path(&primary)), link).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let kinds: Vec<Value> = listed(&mut server, &primary).await.iter().map(|m| m["type"].clone()).collect();
    assert_eq!(kinds, [json!("email")]);
    assert_eq!(server.database.count("SELECT COUNT(*) FROM authentication_methods").await, 1);
    assert_eq!(server.get(&methods_path(&secondary)).await.status, 404, "the secondary is no user any more");
}
