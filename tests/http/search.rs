//! `GET /api/v2/users?q=…` (Auth0's search), the cursor extension, and `GET /users-by-email`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::server::{Server, encode};

const DB: &str = "Username-Password-Authentication";

fn emails(users: &Value) -> Vec<String> {
    let mut emails: Vec<String> =
        users.as_array().expect("array").iter().map(|u| u["email"].as_str().unwrap_or_default().to_owned()).collect();
    emails.sort();
    emails
}

/// `q` URL-encoded, so tests can write queries as a user types them.
fn search_path(q: &str, rest: &str) -> String {
    let q: String = url_encode(q);
    format!("/api/v2/users?q={q}{rest}")
}

fn url_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn found(server: &mut Server, q: &str) -> Vec<String> {
    let reply = server.get(&search_path(q, "")).await;
    assert_eq!(reply.status, 200, "{q}: {}", reply.text);
    emails(&reply.body)
}

async fn seed(server: &mut Server) {
    let people = [
        json!({"email": "Jane.Smith@Example.com", "name": "Jane Smith", "given_name": "Jane", "family_name": "Smith",
               "app_metadata": {"plan": "gold", "roles": ["admin", "billing"]}, "user_metadata": {"city": "Paris"}}),
        json!({"email": "john.doe@example.com", "name": "John Doe", "given_name": "John", "nickname": "jd",
               "app_metadata": {"plan": "silver"}, "blocked": true}),
        json!({"email": "ann@usa.gov", "name": "Ann of the USA", "email_verified": true,
               "user_metadata": {"address": {"city": "Seattle"}}}),
    ];
    for person in people {
        let mut body = person.clone();
        body["connection"] = json!(DB);
        body["password"] = json!("Passw0rd!");
        let reply = server.post("/api/v2/users", body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let sms = server.post("/api/v2/users", json!({"connection": "sms", "phone_number": "+14155550100"})).await;
    assert_eq!(sms.status, 201);
}

#[tokio::test]
async fn finds_users_by_field_wildcard_range_and_metadata() {
    let mut server = Server::start().await;
    seed(&mut server).await;
    let cases: &[(&str, &[&str])] = &[
        ("email:\"jane.smith@example.com\"", &["jane.smith@example.com"]),
        ("email:JANE.SMITH@EXAMPLE.COM", &["jane.smith@example.com"]),
        ("name:\"jane smith\"", &["jane.smith@example.com"]),
        ("name:jane", &[]),
        ("name:j*", &["jane.smith@example.com", "john.doe@example.com"]),
        ("name:*smith", &["jane.smith@example.com"]),
        ("name:*ohn*", &["john.doe@example.com"]),
        ("name:jane*smith", &["jane.smith@example.com"]),
        ("email.domain:usa.gov", &["ann@usa.gov"]),
        ("app_metadata.plan:gold", &["jane.smith@example.com"]),
        ("app_metadata.plan:Gold", &[]),
        ("app_metadata.roles:billing", &["jane.smith@example.com"]),
        ("user_metadata.address.city:Seattle", &["ann@usa.gov"]),
        ("_exists_:user_metadata.address", &["ann@usa.gov"]),
        ("_exists_:app_metadata", &["jane.smith@example.com", "john.doe@example.com"]),
        ("blocked:true", &["john.doe@example.com"]),
        ("NOT blocked:true AND _exists_:email", &["ann@usa.gov", "jane.smith@example.com"]),
        ("email_verified:true OR nickname:jd", &["ann@usa.gov", "john.doe@example.com"]),
        ("(name:j* AND app_metadata.plan:silver) OR email.domain:usa.gov", &["ann@usa.gov", "john.doe@example.com"]),
        ("john", &["john.doe@example.com"]),
        ("identities.connection:\"sms\"", &[""]),
        ("identities.provider:auth0 AND -name:j*", &["ann@usa.gov"]),
        ("user_id:auth0*", &["ann@usa.gov", "jane.smith@example.com", "john.doe@example.com"]),
        ("phone_number:\"+14155550100\"", &[""]),
        ("created_at:[2020-01-01 TO *]", &["", "ann@usa.gov", "jane.smith@example.com", "john.doe@example.com"]),
        ("created_at:[* TO 2020-01-01]", &[]),
        ("NOT _exists_:logins_count", &["", "ann@usa.gov", "jane.smith@example.com", "john.doe@example.com"]),
    ];
    for (q, expected) in cases {
        assert_eq!(found(&mut server, q).await, *expected, "q={q}");
    }
}

/// Auth0's query syntax page gives these two examples: users who never logged in, and users
/// without a verified email. A negation an explicit OR joins is one of the alternatives.
#[tokio::test]
async fn auth0s_documented_negative_examples_find_what_its_documentation_says() {
    let mut server = Server::start().await;
    seed(&mut server).await;
    let app = crate::logins::application(&mut server, json!({})).await;
    let login = crate::logins::token(
        &server,
        json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
               "username": "john.doe@example.com", "password": "Passw0rd!"}),
    )
    .await;
    // john is blocked: log in as ann instead, whose login counts.
    assert_eq!(login.status, 401, "{}", login.text);
    let login = crate::logins::token(
        &server,
        json!({"grant_type": "password", "client_id": app.id, "client_secret": app.secret,
               "username": "ann@usa.gov", "password": "Passw0rd!"}),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let cases: &[(&str, &[&str])] = &[
        ("NOT _exists_:logins_count OR logins_count:0", &["", "jane.smith@example.com", "john.doe@example.com"]),
        ("logins_count:0 OR NOT _exists_:logins_count", &["", "jane.smith@example.com", "john.doe@example.com"]),
        ("(NOT _exists_:logins_count OR logins_count:0)", &["", "jane.smith@example.com", "john.doe@example.com"]),
        (
            "NOT _exists_:logins_count OR logins_count:1",
            &["", "ann@usa.gov", "jane.smith@example.com", "john.doe@example.com"],
        ),
        (
            "NOT _exists_:email_verified OR email_verified:false",
            &["", "jane.smith@example.com", "john.doe@example.com"],
        ),
        (
            "_exists_:email AND (NOT _exists_:logins_count OR logins_count:0)",
            &["jane.smith@example.com", "john.doe@example.com"],
        ),
        // Their neighbours: a negation alone, beside a positive clause by adjacency or AND.
        ("NOT blocked:true", &["", "ann@usa.gov", "jane.smith@example.com"]),
        ("_exists_:email NOT blocked:true", &["ann@usa.gov", "jane.smith@example.com"]),
        ("_exists_:email -blocked:true", &["ann@usa.gov", "jane.smith@example.com"]),
        ("blocked:true OR NOT _exists_:email", &["", "john.doe@example.com"]),
        ("NOT (blocked:true OR _exists_:logins_count)", &["", "jane.smith@example.com"]),
    ];
    for (q, expected) in cases {
        assert_eq!(found(&mut server, q).await, *expected, "q={q}");
    }
}

#[tokio::test]
async fn search_errors_point_at_the_problem() {
    let mut server = Server::start().await;
    let description = "on property q (Query in Lucene query string syntax).";
    let cases = [
        ("name:(jane", "missing ')' at position 11"),
        (
            "name:*sa",
            "a wildcard search that starts with '*' needs at least 3 consecutive characters besides wildcards on name (at position 1)",
        ),
        ("user_metadata.city:Par*", "wildcard searches are not supported on user_metadata.city (at position 1)"),
        ("app_metadata.age:[1 TO 2]", "range searches are not supported on app_metadata.age (at position 1)"),
        ("password:x", "the field password is not searchable (at position 1)"),
        (
            "email:/.*@gmail\\.com/",
            "regular expressions (/…/) are not supported; escape the slash as '\\/' at position 7",
        ),
        ("logins_count:lots", "logins_count takes an integer, not lots (at position 1)"),
        (
            "updated_at:>=2018-01-15",
            "comparisons such as field:>=value are not supported; use a range such as field:[value TO *] at position 12",
        ),
    ];
    for (q, detail) in cases {
        server.get(&search_path(q, "")).await.assert_error(
            400,
            Some("invalid_query_string"),
            &format!("Query validation error: '{detail}' {description}"),
        );
    }
    let long = "a ".repeat(3000);
    let reply = server.get(&search_path(&long, "")).await;
    assert_eq!(
        (reply.status.as_u16(), reply.body["errorCode"].as_str()),
        (400, Some("invalid_query_string")),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn search_paging_totals_sort_and_fields() {
    let mut server = Server::start().await;
    for i in 0..7 {
        let body =
            json!({"connection": "email", "email": format!("p{i}@example.com"), "name": format!("Person {}", 7 - i)});
        assert_eq!(server.post("/api/v2/users", body).await.status, 201);
    }
    server.post("/api/v2/users", json!({"connection": "email", "email": "other@elsewhere.org"})).await;
    let q = "email.domain:example.com";
    let page = server.get(&search_path(q, "&include_totals=true&page=1&per_page=3&sort=name:1&search_engine=v3")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!((page.body["start"].as_u64(), page.body["limit"].as_u64()), (Some(3), Some(3)));
    assert_eq!((page.body["length"].as_u64(), page.body["total"].as_u64()), (Some(3), Some(7)));
    let names: Vec<&str> = page.body["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Person 4", "Person 5", "Person 6"]);
    let projected = server.get(&search_path(q, "&fields=email&sort=email:-1&per_page=2")).await;
    assert_eq!(projected.body, json!([{"email": "p6@example.com"}, {"email": "p5@example.com"}]));
    server.get(&search_path(q, "&page=20&per_page=50")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation.",
    );
    server.get(&search_path(q, "&sort=user_metadata.x:1")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Cannot sort by user_metadata.x' on property sort.",
    );
    let filtered = server.get("/api/v2/users?connection=email&q=&include_totals=true").await;
    assert_eq!(filtered.body["total"], 8);
    let none = server.get(&format!("/api/v2/users?connection={}", url_encode(DB))).await;
    assert_eq!(none.body, json!([]));
}

#[tokio::test]
async fn search_reads_its_own_writes() {
    let mut server = Server::start().await;
    let user = server.create_user("fresh@example.com").await;
    assert_eq!(found(&mut server, "email:fresh@example.com").await, ["fresh@example.com"], "found at once");
    let path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    server.patch(&path, json!({"app_metadata": {"tier": "pro"}, "name": "Fresh Prince"})).await;
    assert_eq!(found(&mut server, "app_metadata.tier:pro AND name:\"fresh prince\"").await, ["fresh@example.com"]);
    assert_eq!(found(&mut server, "name:*prin*").await, ["fresh@example.com"], "contains, through the trigram index");
    server.patch(&path, json!({"app_metadata": {"tier": null}})).await;
    assert!(found(&mut server, "app_metadata.tier:pro").await.is_empty(), "a removed key is not found");
    assert_eq!(found(&mut server, "name:*prin*").await, ["fresh@example.com"], "a metadata change keeps the name");
    server.patch(&path, json!({"name": "Fresh Duke"})).await;
    assert!(found(&mut server, "name:*prin*").await.is_empty(), "the old name is gone from the trigram index");
    assert_eq!(found(&mut server, "name:*duk*").await, ["fresh@example.com"]);
    server.delete(&path).await;
    assert!(found(&mut server, "email:fresh@example.com").await.is_empty(), "a deleted user is not found");
}

#[tokio::test]
async fn cursor_walks_past_the_1000_result_window() {
    let mut server = Server::start().await;
    let token = server.token().await;
    // Passwordless users: no password to hash, so 1,100 creates stay quick.
    let creates: Vec<_> = (0..1100)
        .map(|i| {
            let request = server
                .http
                .post(format!("{}/api/v2/users", server.base))
                .bearer_auth(&token)
                .json(&json!({"connection": "email", "email": format!("bulk{i:04}@example.com")}));
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    for create in creates {
        assert_eq!(create.await.unwrap(), 201);
    }
    let mut seen = Vec::new();
    let mut path = search_path("email.domain:example.com", "&take=100");
    let mut pages = 0;
    loop {
        let reply = server.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
        assert!(keys == ["users", "next"] || keys == ["users"], "{keys:?}");
        seen.extend(emails(&reply.body["users"]));
        pages += 1;
        match reply.body.get("next").and_then(Value::as_str) {
            Some(next) => path = search_path("email.domain:example.com", &format!("&take=100&from={next}")),
            None => break,
        }
    }
    assert_eq!(pages, 11);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 1100, "every user once");
    server.get("/api/v2/users?from=not-a-cursor").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Invalid cursor: not-a-cursor' on property from (Cursor from which to continue: the `next` of the previous page).",
    );
    server.get("/api/v2/users?take=10&page=1").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'page cannot be combined with from/take; a cursor walks the matches in creation order'.",
    );
    let last = server.get("/api/v2/users?take=100&q=email:bulk1099@example.com").await;
    assert_eq!(last.body, json!({"users": [last.body["users"][0].clone()]}), "no next on the last page");
}

#[tokio::test]
async fn users_by_email() {
    let mut server = Server::start().await;
    let db_user = server.create_user("Same@Example.com").await;
    let passwordless =
        server.post("/api/v2/users", json!({"connection": "email", "email": "same@example.com"})).await.body;
    let reply = server.get("/api/v2/users-by-email?email=same%40example.com").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut ids: Vec<&str> = reply.body.as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![db_user["user_id"].as_str().unwrap(), passwordless["user_id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);
    let case_sensitive = server.get("/api/v2/users-by-email?email=Same%40Example.com").await;
    assert_eq!(case_sensitive.body, json!([]), "Auth0 documents this lookup as case-sensitive");
    let fields = server.get("/api/v2/users-by-email?email=same%40example.com&fields=user_id").await;
    assert!(fields.body.as_array().unwrap().iter().all(|u| u.as_object().unwrap().keys().eq(["user_id"])));
    server.get("/api/v2/users-by-email").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Missing required property: email'.",
    );
    let token = server.token_with_scope(Some("create:users")).await;
    server.send_raw(Method::GET, "/api/v2/users-by-email?email=a%40b.co", Some(&token), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: read:users",
    );
}

#[tokio::test]
async fn totals_follow_every_write() {
    let mut server = Server::start().await;
    async fn total(server: &mut Server) -> u64 {
        let path = search_path("app_metadata.team:red", "&include_totals=true&per_page=1");
        server.get(&path).await.body["total"].as_u64().unwrap()
    }
    for i in 0..3 {
        let body =
            json!({"connection": "email", "email": format!("t{i}@example.com"), "app_metadata": {"team": "red"}});
        server.post("/api/v2/users", body).await;
    }
    assert_eq!(total(&mut server).await, 3);
    assert_eq!(total(&mut server).await, 3, "asked again, unchanged");
    let extra = server
        .post(
            "/api/v2/users",
            json!({"connection": "email", "email": "t3@example.com", "app_metadata": {"team": "red"}}),
        )
        .await
        .body;
    assert_eq!(total(&mut server).await, 4, "a create counts at once");
    let path = format!("/api/v2/users/{}", encode(extra["user_id"].as_str().unwrap()));
    server.patch(&path, json!({"app_metadata": {"team": "blue"}})).await;
    assert_eq!(total(&mut server).await, 3, "an update counts at once");
    server.patch(&path, json!({"app_metadata": {"team": "red"}})).await;
    assert_eq!(total(&mut server).await, 4);
    server.delete(&path).await;
    assert_eq!(total(&mut server).await, 3, "a delete counts at once");
}
