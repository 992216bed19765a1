//! Users imported with a `custom_password_hash` of each kind Auth0's import page describes log
//! in with their password (and not another), and records that break its rules per algorithm
//! fail alone, each with its own error.
//!
//! The vectors are those of `src/auth/imported_hash.rs`'s unit tests (libxcrypt's bcrypt, Node's
//! and OpenSSL's pbkdf2, RFC 7914's and OpenSSL's scrypt) and the examples of Auth0's page whose
//! passwords are known.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Value, json};

use crate::jobs::import;
use crate::logins::{App, application, assert_oauth_error, login};
use crate::server::Server;

/// `$pbkdf2-<digest>$<params>$<salt "salt">$<hash>` with the hash given in hex.
fn pbkdf2(digest: &str, params: &str, hash: &str) -> Value {
    let (salt, hash) = (STANDARD_NO_PAD.encode("salt"), STANDARD_NO_PAD.encode(hex::decode(hash).unwrap()));
    json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-{digest}${params}{salt}${hash}")}})
}

/// One record per kind, with its password.
fn records() -> Vec<(&'static str, Value, &'static str)> {
    // bcrypt("pepper" + "password") and bcrypt("password" + "pepper").
    let prefixed = "$2b$04$abcdefghijklmnopqrstuuTc3Y.EXiQBRlTerldUERWIJ39zp.10u";
    let suffixed = "$2b$04$abcdefghijklmnopqrstuuplyOA/yggp3uDOFweBlaokYQ36s6xTW";
    vec![
        (
            "bcrypt-prefix",
            json!({"algorithm": "bcrypt", "hash": {"value": prefixed, "encoding": "utf8"}, "salt": {"value": "pepper", "position": "prefix"}}),
            "password",
        ),
        (
            "bcrypt-suffix",
            json!({"algorithm": "bcrypt", "hash": {"value": suffixed}, "salt": {"value": "pepper", "position": "suffix"}}),
            "password",
        ),
        (
            "bcrypt-hex-salt",
            json!({"algorithm": "bcrypt", "hash": {"value": prefixed}, "salt": {"value": "706570706572", "encoding": "hex"}}),
            "password",
        ),
        // PBKDF2("password", "salt", 1000 rounds, 32 bytes) under some of Node's names for its digests.
        (
            "pbkdf2-md4",
            pbkdf2("RSA-MD4", "i=1000,l=32$", "fb0618184744c5ae3c685e5c1f592aff4dbb1432d08bf7d77584a7fbcafffbb7"),
            "password",
        ),
        (
            "pbkdf2-ripemd",
            pbkdf2("rmd160", "i=1000,l=32$", "b5c5682c46fdb315930cfc54e82d0987e6ef938fee9320191bfbac2700de4ed4"),
            "password",
        ),
        (
            "pbkdf2-ssl3-sha1",
            pbkdf2("ssl3-sha1", "i=1000,l=32$", "6e88be8bad7eae9d9e10aa061224034fed48d03fcbad968b56006784539d5214"),
            "password",
        ),
        (
            "pbkdf2-sha384",
            pbkdf2(
                "sha384WithRSAEncryption",
                "i=1000,l=32$",
                "3bd37e2236941d4a77b1b5b714c6f913fabb6b0841a6d7d8656b99d611e900fe",
            ),
            "password",
        ),
        (
            "pbkdf2-whirlpool",
            pbkdf2("whirlpool", "i=1000,l=32$", "5ad7361484c7dde6b23e573c4b61d1fd16023fd6c0170d0b26d70f7ac8c683f0"),
            "password",
        ),
        // No parameters: 100000 rounds and 64 bytes.
        (
            "pbkdf2-defaults",
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha512$c2FsdA$9dFwIslq9GwKHcSaWLvmVKKOmBBIg+SvTel0zaLHQSLdCC9BBak/yAaSyk6xp4TP7agb+qM/UZLMkUPYGL11gQ"}}),
            "password",
        ),
        // Auth0's own examples: carmella@ (scrypt) and peter@ (hmac).
        (
            "scrypt-carmella",
            json!({"algorithm": "scrypt", "hash": {"value": "097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29", "encoding": "hex"},
                   "salt": {"value": "abc123", "encoding": "utf8"}, "keylen": 32, "cost": 4096}),
            "password",
        ),
        (
            "hmac-peter",
            json!({"algorithm": "hmac", "hash": {"value": "cg7f42jH39/2EaAU4wNd4s2lKIk=", "encoding": "base64", "digest": "sha1",
                   "key": {"value": "736868", "encoding": "hex"}}}),
            "test",
        ),
        // RFC 7914 §12 (N=1024, r=8, p=16), and Auth0's default parameters (N=16384, r=8, p=1).
        (
            "scrypt-rfc",
            json!({"algorithm": "scrypt", "hash": {"value": "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
                   "salt": {"value": "NaCl"}, "keylen": 64, "cost": 1024, "blockSize": 8, "parallelization": 16}),
            "password",
        ),
        (
            "scrypt-defaults",
            json!({"algorithm": "scrypt", "hash": {"value": "h6_04Qcfu_O335W3I-wQ5kJPUh4JIfchc8iFz_2m5gA", "encoding": "base64"},
                   "salt": {"value": "abc123"}, "keylen": 32}),
            "password",
        ),
        // URL-safe base64: SHA-1("abc"), and SHA-256("a" + "bc") with the salt "a" as "YQ".
        (
            "sha1-url-safe",
            json!({"algorithm": "sha1", "hash": {"value": "qZk-NkcGgWq6PiVxeFDCbJzQ2J0", "encoding": "base64"}}),
            "abc",
        ),
        (
            "sha256-url-safe-salt",
            json!({"algorithm": "sha256", "hash": {"value": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                   "salt": {"value": "YQ", "encoding": "base64"}}),
            "bc",
        ),
    ]
}

fn email(name: &str) -> String {
    format!("{name}@example.com")
}

#[tokio::test]
async fn each_kind_of_imported_hash_logs_in_with_its_password() {
    let mut server = Server::start().await;
    let app: App = application(&mut server, json!({})).await;
    let records = records();
    let users: Vec<Value> =
        records.iter().map(|(name, hash, _)| json!({"email": email(name), "custom_password_hash": hash})).collect();
    let job = import(&mut server, &Value::Array(users), false).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["summary"]["inserted"], records.len(), "{job}");
    assert_eq!(job["summary"]["failed"], 0, "{job}");

    let store = server.store().await;
    for (name, _, password) in &records {
        let wrong = login(&server, &app, &email(name), &format!("{password}!"), "openid").await;
        assert_oauth_error(&wrong, 403, "invalid_grant", "Wrong email or password.");
        let reply = login(&server, &app, &email(name), password, "openid").await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text);
        assert!(reply.body["access_token"].as_str().is_some(), "{name}: {}", reply.text);
        // The match made the tenant's own bcrypt hash of it, which the next login uses.
        let found = server.get(&format!("/api/v2/users-by-email?email={name}%40example.com")).await;
        let user_id = found.body[0]["user_id"].as_str().unwrap().to_owned();
        let stored = store.password_hash(&user_id).await.unwrap().unwrap();
        assert!(stored.starts_with("$2b$10$"), "{name}: {stored}");
        let again = login(&server, &app, &email(name), password, "openid").await;
        assert_eq!(again.status, 200, "{name}: {}", again.text);
    }
}

#[tokio::test]
async fn records_that_break_auth0s_rules_for_their_algorithm_fail_alone() {
    let mut server = Server::start().await;
    let argon2 = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let refused = [
        (
            json!({"algorithm": "argon2", "hash": {"value": argon2}, "salt": {"value": "s"}}),
            "custom_password_hash.salt is not allowed for argon2",
        ),
        (
            json!({"algorithm": "md5", "hash": {"value": "abc", "encoding": "utf8"}}),
            "custom_password_hash.hash.encoding must be hex or base64 for md5",
        ),
        (
            json!({"algorithm": "bcrypt", "hash": {"value": "$2b$04$abcdefghijklmnopqrstuuTc3Y.EXiQBRlTerldUERWIJ39zp.10u", "encoding": "hex"}}),
            "custom_password_hash.hash.encoding must be utf8 for bcrypt",
        ),
        (
            json!({"algorithm": "scrypt", "hash": {"value": "00"}, "keylen": 32, "cost": 1u64 << 20}),
            "custom_password_hash: scrypt with cost 1048576, blockSize 8 and parallelization 1 is above Roster's bound \
             (128 × cost × blockSize at most 64 MiB, cost × blockSize × parallelization at most 1048576)",
        ),
        (json!({"algorithm": "scrypt", "hash": {"value": "00"}}), "custom_password_hash.keylen is required for scrypt"),
        (
            pbkdf2("mdc2", "", "00000000000000000000000000000000"),
            "custom_password_hash: pbkdf2 digest \"mdc2\" is not supported by Roster",
        ),
    ];
    let mut users: Vec<Value> = refused
        .iter()
        .enumerate()
        .map(|(i, (hash, _))| json!({"email": format!("refused{i}@example.com"), "custom_password_hash": hash}))
        .collect();
    users.push(json!({"email": "extra@example.com", "custom_password_hash": {"algorithm": "md5",
        "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"}, "iterations": 1}}));
    users.push(json!({"email": "good@example.com", "custom_password_hash": {"algorithm": "md5",
        "hash": {"value": "900150983cd24fb0d6963f7d28e17f72"}}}));
    let job = import(&mut server, &Value::Array(users), false).await;
    let total = refused.len() + 2;
    assert_eq!(job["summary"], json!({"failed": total - 1, "updated": 0, "inserted": 1, "total": total}), "{job}");
    let errors = server.get(&format!("/api/v2/jobs/{}/errors", job["id"].as_str().unwrap())).await;
    assert_eq!(errors.status, 200, "{}", errors.text);
    let errors = errors.body.as_array().unwrap().clone();
    assert_eq!(errors.len(), total - 1);
    for (error, (_, message)) in errors.iter().zip(refused.iter()) {
        assert_eq!(
            error["errors"],
            json!([{"code": "INVALID_FORMAT", "message": message, "path": "custom_password_hash"}])
        );
    }
    let extra = &errors[refused.len()]["errors"][0];
    assert_eq!(extra["path"], "custom_password_hash");
    assert!(extra["message"].as_str().unwrap().contains("unknown field `iterations`"), "{extra}");
    let found = server.get("/api/v2/users?q=*&include_totals=true").await;
    assert_eq!(found.body["total"], 1, "{}", found.text);
}
