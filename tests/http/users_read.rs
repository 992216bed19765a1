//! `GET /api/v2/users/{id}` and `GET /api/v2/users` (listing).

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, encode};

fn ids(users: &Value) -> Vec<String> {
    users.as_array().expect("array").iter().map(|u| u["email"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn reads_a_user_by_percent_encoded_id() {
    let mut server = Server::start().await;
    let created = server.create_user("read@example.com").await;
    let id = created["user_id"].as_str().unwrap();
    let reply = server.get(&format!("/api/v2/users/{}", encode(id))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, created, "a read returns what the create returned");
    assert_eq!(reply.content_type.as_deref(), Some("application/json; charset=utf-8"));
    // The raw pipe works too.
    assert_eq!(server.get(&format!("/api/v2/users/{id}")).await.status, 200);
}

#[tokio::test]
async fn missing_and_malformed_ids() {
    let mut server = Server::start().await;
    server.get("/api/v2/users/auth0%7C000000000000000000000000").await.assert_error(
        404,
        Some("inexistent_user"),
        "The user does not exist.",
    );
    server.get("/api/v2/users/3241312").await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'String does not match pattern ^.+\\|.+$: 3241312' on property id (ID of the user to retrieve).",
    );
}

#[tokio::test]
async fn fields_include_and_exclude() {
    let mut server = Server::start().await;
    let created = server.create_user("fields@example.com").await;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    let only = server.get(&format!("{path}?fields=email,user_id&include_fields=true")).await;
    assert_eq!(only.body, json!({"email": "fields@example.com", "user_id": created["user_id"]}));
    let only_default = server.get(&format!("{path}?fields=email")).await;
    assert_eq!(only_default.body, json!({"email": "fields@example.com"}));
    let without = server.get(&format!("{path}?fields=identities,picture&include_fields=false")).await;
    assert!(without.body.get("identities").is_none() && without.body.get("picture").is_none());
    assert_eq!(without.body["email"], "fields@example.com");
    let bad = server.get(&format!("{path}?fields=email,password")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["errorCode"], "invalid_query_string");
    assert!(
        bad.body["message"].as_str().unwrap().starts_with(
            "Query validation error: 'String 'email,password' does not match pattern. Must be a comma separated list of the following values: "
        ),
        "{}",
        bad.text
    );
    server.get(&format!("{path}?include_fields=maybe")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Expected type boolean but found type string' on property include_fields (Whether specified fields are to be included (true) or excluded (false)).",
    );
    server.get(&format!("{path}?foo=bar")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Additional properties not allowed: foo'.",
    );
}

#[tokio::test]
async fn lists_as_array_or_with_totals() {
    let mut server = Server::start().await;
    for i in 0..5 {
        server.create_user(&format!("user{i}@example.com")).await;
    }
    let plain = server.get("/api/v2/users").await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        ids(&plain.body),
        ["user0@example.com", "user1@example.com", "user2@example.com", "user3@example.com", "user4@example.com"]
    );

    let wrapped = server.get("/api/v2/users?include_totals=true&page=1&per_page=2").await;
    let keys: Vec<&String> = wrapped.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["start", "limit", "length", "users", "total"], "Auth0's key order");
    assert_eq!((wrapped.body["start"].as_u64(), wrapped.body["limit"].as_u64()), (Some(2), Some(2)));
    assert_eq!((wrapped.body["length"].as_u64(), wrapped.body["total"].as_u64()), (Some(2), Some(5)));
    assert_eq!(ids(&wrapped.body["users"]), ["user2@example.com", "user3@example.com"]);

    let last = server.get("/api/v2/users?include_totals=true&page=2&per_page=2").await;
    assert_eq!(ids(&last.body["users"]), ["user4@example.com"]);
    assert_eq!(last.body["length"], 1);
    let beyond = server.get("/api/v2/users?page=9&per_page=2").await;
    assert_eq!(beyond.body, json!([]));
    let default_page = server.get("/api/v2/users?include_totals=true").await;
    assert_eq!(default_page.body["limit"], 50, "Auth0's default page size");
}

#[tokio::test]
async fn sorts_and_projects_listings() {
    let mut server = Server::start().await;
    for name in ["b@example.com", "c@example.com", "a@example.com"] {
        server.create_user(name).await;
    }
    let by_email = server.get("/api/v2/users?sort=email:1").await;
    assert_eq!(ids(&by_email.body), ["a@example.com", "b@example.com", "c@example.com"]);
    let by_email_desc = server.get("/api/v2/users?sort=email:-1").await;
    assert_eq!(ids(&by_email_desc.body), ["c@example.com", "b@example.com", "a@example.com"]);
    let newest_first = server.get("/api/v2/users?sort=created_at:-1").await;
    assert_eq!(ids(&newest_first.body), ["a@example.com", "c@example.com", "b@example.com"]);
    let projected = server.get("/api/v2/users?fields=email&sort=email:1").await;
    assert_eq!(
        projected.body,
        json!([{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "c@example.com"}])
    );
}

#[tokio::test]
async fn listing_query_errors() {
    let mut server = Server::start().await;
    let cases = [
        (
            "per_page=101",
            "Query validation error: 'Value 101 is greater than maximum 100' on property per_page (Number of results per page).",
        ),
        (
            "page=-1",
            "Query validation error: 'Value -1 is less than minimum 0' on property page (Page index of the results to return. First page is 0).",
        ),
        (
            "include_totals=yes",
            "Query validation error: 'Expected type boolean but found type string' on property include_totals (Return results inside an object that contains the total result count (true) or as a direct array of results (false, default)).",
        ),
        (
            "page=10&per_page=100",
            "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation.",
        ),
        (
            "sort=email",
            "Query validation error: 'String does not match pattern ^(([a-zA-Z0-9_\\.]+))\\:(1|-1)$: email' on property sort (Field to sort by. Use <code>field:order</code> where order is <code>1</code> for ascending and <code>-1</code> for descending. e.g. <code>created_at:1</code>).",
        ),
        ("search_engine=v1", "You are not allowed to use search_engine=v1."),
        ("search_engine=v2", "You are not allowed to use search_engine=v2. Use search_engine=v3 instead."),
        ("bogus=1", "Query validation error: 'Additional properties not allowed: bogus'."),
    ];
    for (query, message) in cases {
        server.get(&format!("/api/v2/users?{query}")).await.assert_error(400, Some("invalid_query_string"), message);
    }
    // The last allowed page of the 1000-result window.
    assert_eq!(server.get("/api/v2/users?page=9&per_page=100").await.status, 200);
    assert_eq!(server.get("/api/v2/users?search_engine=v3").await.status, 200);
}

#[tokio::test]
async fn read_scopes() {
    let mut server = Server::start().await;
    let created = server.create_user("scoped@example.com").await;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    let writer = server.token_with_scope(Some("create:users")).await;
    server.send_raw(Method::GET, "/api/v2/users", Some(&writer), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:users,read:user_idp_tokens",
    );
    server.send_raw(Method::GET, &path, Some(&writer), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:users,read:current_user,read:user_idp_tokens",
    );
    let reader = server.token_with_scope(Some("read:users")).await;
    assert_eq!(server.send_raw(Method::GET, &path, Some(&reader), None).await.status, 200);
    let idp_reader = server.token_with_scope(Some("read:user_idp_tokens")).await;
    assert_eq!(server.send_raw(Method::GET, "/api/v2/users", Some(&idp_reader), None).await.status, 200);
}
