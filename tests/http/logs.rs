//! `GET /api/v2/logs`, `GET /api/v2/logs/{id}`, `GET /api/v2/users/{id}/logs`, and the `sapi` /
//! `fapi` events Management API writes leave.

use reqwest::Method;
use roster::domain::log_event::{LogEvent, kind};
use roster::domain::time;
use serde_json::{Value, json};

use crate::server::{CLIENT_ID, Server, encode};

fn q(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Records events behind the server's back, as logins will: `count` events of `kind` for
/// `user_id`, one a minute from `start` (ISO date), written before this returns.
async fn record(server: &Server, kind: &'static str, user_id: &str, start: &str, count: usize) -> Vec<String> {
    let store = server.store().await;
    let start = time::parse(start).unwrap();
    let mut ids = Vec::new();
    for n in 0..count {
        let mut event = LogEvent::new(kind);
        event.date = start + chrono::Duration::minutes(n as i64);
        event.user_id = Some(user_id.to_owned());
        event.user_name = Some(format!("{}@example.com", user_id.replace('|', ".")));
        event.connection = Some("Username-Password-Authentication".into());
        event.client_id = Some("app".into());
        event.description = Some(format!("event {n}"));
        ids.push(event.log_id.clone());
        store.log(event);
    }
    store.flush_logs().await.unwrap();
    store.close().await;
    ids
}

/// A server whose log holds nothing yet: the test's own token request (a `seccft` event, as
/// Auth0 logs client-credentials exchanges) is made and cleared first, and the token is reused.
async fn quiet_server() -> Server {
    let mut server = Server::start().await;
    server.get("/api/v2/logs").await; // takes the token; a read writes what is buffered first
    server.database.execute("DELETE FROM logs").await;
    server
}

fn types(listing: &Value) -> Vec<&str> {
    listing.as_array().expect("a bare array").iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn descriptions(listing: &Value) -> Vec<&str> {
    listing.as_array().expect("a bare array").iter().map(|e| e["description"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn writes_leave_sapi_events_with_secrets_masked() {
    let mut server = quiet_server().await;
    assert_eq!(server.get("/api/v2/logs").await.body, json!([]));
    let user = server.create_user("logged@example.com").await;
    let path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    assert_eq!(server.patch(&path, json!({"password": "An0ther-Passw0rd!", "name": "N"})).await.status, 200);
    assert_eq!(server.get(&path).await.status, 200, "a read is not logged");
    assert_eq!(server.delete(&path).await.status, 204);

    // Read-your-writes: the events are listed at once, newest first.
    let listed = server.get("/api/v2/logs").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(descriptions(&listed.body), ["Delete a User", "Update a User", "Create a User"]);
    assert_eq!(types(&listed.body), ["sapi", "sapi", "sapi"]);
    let created = &listed.body[2];
    let keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys[..4], ["_id", "log_id", "date", "type"]);
    assert_eq!(created["_id"], created["log_id"]);
    assert_eq!(created["client_id"], CLIENT_ID);
    assert_eq!(created["client_name"], "");
    assert_eq!(created["user_id"], Value::Null, "Auth0's sapi events name no user");
    assert_eq!(created["isMobile"], false);
    let request = &created["details"]["request"];
    assert_eq!(request["method"], "post");
    assert_eq!(request["path"], "/api/v2/users");
    assert_eq!(request["channel"], "api");
    assert_eq!(request["auth"]["strategy"], "jwt");
    assert!(request["auth"]["credentials"]["scopes"].as_array().unwrap().contains(&json!("create:users")));
    assert_eq!(request["body"]["password"], "*****");
    assert_eq!(request["body"]["email"], "logged@example.com");
    assert_eq!(request["ip"], "127.0.0.1");
    assert_eq!(created["details"]["response"]["statusCode"], 201);
    assert_eq!(created["details"]["response"]["body"]["user_id"], user["user_id"]);
    assert_eq!(listed.body[1]["details"]["request"]["body"]["password"], "*****");
    assert_eq!(listed.body[0]["details"]["request"]["path"], path);
    assert_eq!(listed.body[0]["details"]["response"], json!({"body": {}, "statusCode": 204}));
    assert!(!listed.text.contains("Passw0rd"), "no password reaches the log: {}", listed.text);

    // One event by id; an unknown id is Auth0's 404.
    let id = created["log_id"].as_str().unwrap();
    let one = server.get(&format!("/api/v2/logs/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body, *created);
    server.get("/api/v2/logs/90020230314144709188593000000000000001223372037868840734").await.assert_error(
        404,
        Some("inexistent_log"),
        "Log not found.",
    );
}

#[tokio::test]
async fn refused_writes_leave_fapi_events() {
    let mut server = quiet_server().await;
    let refused =
        server.post("/api/v2/users", json!({"connection": "nope", "email": "x@example.com", "password": "p"})).await;
    assert_eq!(refused.status, 400);
    let token = server.token_with_scope(Some("read:users")).await;
    let reply = server.send_raw(Method::DELETE, "/api/v2/users/auth0%7C1", Some(&token), None).await;
    assert_eq!(reply.status, 403);
    // No token: not logged.
    assert_eq!(server.send_raw(Method::DELETE, "/api/v2/users/auth0%7C1", None, None).await.status, 401);
    let listed = server.get("/api/v2/logs?q=type%3Afapi").await;
    assert_eq!(types(&listed.body), ["fapi", "fapi"]);
    assert_eq!(descriptions(&listed.body), ["Delete a User", "Create a User"]);
    assert_eq!(listed.body[0]["details"]["response"]["statusCode"], 403);
    assert_eq!(listed.body[0]["details"]["request"]["auth"]["credentials"]["scopes"], json!(["read:users"]));
    assert_eq!(listed.body[1]["details"]["response"]["body"]["message"], refused.body["message"]);
    assert_eq!(listed.body[1]["details"]["request"]["body"]["password"], "*****");
}

#[tokio::test]
async fn listing_pages_sorts_projects_and_counts() {
    let mut server = quiet_server().await;
    record(&server, kind::WRONG_PASSWORD, "auth0|a", "2024-01-01T00:00:00.000Z", 3).await;
    record(&server, kind::SUCCESS_LOGIN, "auth0|b", "2023-06-01T00:00:00.000Z", 2).await;

    // Newest written first, whatever the dates.
    assert_eq!(types(&server.get("/api/v2/logs").await.body), ["s", "s", "fp", "fp", "fp"]);
    let by_date = server.get("/api/v2/logs?sort=date:-1").await.body;
    assert_eq!(types(&by_date), ["fp", "fp", "fp", "s", "s"]);
    assert_eq!(by_date[0]["description"], "event 2");
    assert_eq!(types(&server.get("/api/v2/logs?sort=date:1").await.body), ["s", "s", "fp", "fp", "fp"]);
    assert_eq!(server.get("/api/v2/logs?sort=user_id:1&per_page=1").await.body[0]["user_id"], "auth0|a");

    let page = server.get("/api/v2/logs?page=1&per_page=2&include_totals=true").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let keys: Vec<&str> = page.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["start", "limit", "length", "total", "logs"]);
    assert_eq!((page.body["start"].clone(), page.body["limit"].clone()), (json!(2), json!(2)));
    assert_eq!((page.body["length"].clone(), page.body["total"].clone()), (json!(2), json!(5)));
    assert_eq!(types(&page.body["logs"]), ["fp", "fp"]);
    assert_eq!(server.get("/api/v2/logs?page=3&per_page=2").await.body, json!([]), "past the end: empty");

    let projected = server.get("/api/v2/logs?fields=type,log_id&per_page=1").await.body;
    let keys: Vec<&str> = projected[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["log_id", "type"]);
    let excluded = server.get("/api/v2/logs?fields=details,location_info&include_fields=false&per_page=1").await.body;
    assert!(excluded[0].get("details").is_none() && excluded[0].get("date").is_some());

    server.get("/api/v2/logs?per_page=101").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property per_page ( Number of results per page. Paging is disabled if parameter not sent. Default: <code>50</code>. Max value: <code>100</code>).",
    );
    server.get("/api/v2/logs?page=10&per_page=100").await.assert_error(
        400,
        Some("invalid_query_string"),
        "You can only page through the first 1000 records. See https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api#limitations.",
    );
    server.get("/api/v2/logs?sort=details:1").await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Cannot sort by details' on property sort.",
    );
    assert_eq!(server.get("/api/v2/logs?sort=date").await.status, 400);
    assert_eq!(server.get("/api/v2/logs?bogus=1").await.status, 400);
}

#[tokio::test]
async fn search_by_fields_dates_and_bare_terms() {
    let mut server = quiet_server().await;
    record(&server, kind::WRONG_PASSWORD, "auth0|a", "2024-01-01T00:00:00.000Z", 3).await;
    record(&server, kind::SUCCESS_LOGIN, "auth0|b", "2024-02-01T00:00:00.000Z", 2).await;
    let count = |body: &Value| body.as_array().map_or(0, Vec::len);
    let mut search = async |query: &str| {
        let reply = server.get(&format!("/api/v2/logs?{query}")).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        reply.body
    };
    assert_eq!(types(&search(&format!("q={}", q("type:fp"))).await), ["fp", "fp", "fp"]);
    assert_eq!(count(&search(&format!("q={}", q("type:\"s\""))).await), 2);
    assert_eq!(count(&search(&format!("search={}", q("type:s"))).await), 2, "search is q's alias");
    assert_eq!(count(&search(&format!("q={}", q("user_id:\"auth0|a\" AND type:fp"))).await), 3);
    assert_eq!(count(&search(&format!("q={}", q("NOT type:fp"))).await), 2);
    assert_eq!(count(&search(&format!("q={}", q("date:[2024-01-01 TO 2024-01-31]"))).await), 3);
    assert_eq!(count(&search(&format!("q={}", q("date:2024-02"))).await), 2);
    assert_eq!(count(&search(&format!("q={}", q("date:{2024-01-01T00:00:00.000Z TO *]"))).await), 4);
    // Auth0's log search examples give times without a zone: UTC.
    assert_eq!(count(&search(&format!("q={}", q("date:[2024-01-01T00:00:00 TO 2024-01-31T12:00}"))).await), 3);
    assert_eq!(count(&search(&format!("q={}", q("user_name:auth0.a*"))).await), 3);
    assert_eq!(count(&search(&format!("q={}", q("description:\"event 1\""))).await), 2);
    assert_eq!(count(&search(&format!("q={}", q("_exists_:user_id"))).await), 5);
    assert_eq!(count(&search(&format!("q={}", q("fp"))).await), 3, "a bare term searches type among others");
    let totals = search(&format!("q={}&include_totals=true&per_page=1", q("type:fp"))).await;
    assert_eq!((totals["total"].clone(), totals["length"].clone()), (json!(3), json!(1)));

    server.get(&format!("/api/v2/logs?q={}", q("email:x"))).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'the field email is not searchable (at position 1)' on property q (Query in Lucene query string syntax).",
    );
    let broken = server.get(&format!("/api/v2/logs?q={}", q("type:(fp"))).await;
    assert_eq!(broken.status, 400, "{}", broken.text);
    assert_eq!(broken.body["errorCode"], "invalid_query_string");
    let bad_date = server.get(&format!("/api/v2/logs?search={}", q("date:yesterday"))).await;
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.body["message"].as_str().unwrap().contains("on property search"), "{}", bad_date.text);
}

#[tokio::test]
async fn checkpoint_walks_in_log_id_order() {
    let mut server = quiet_server().await;
    let ids = record(&server, kind::SUCCESS_LOGIN, "auth0|a", "2024-01-01T00:00:00.000Z", 5).await;
    let walked = server.get(&format!("/api/v2/logs?from={}&take=2", ids[0])).await;
    assert_eq!(walked.status, 200, "{}", walked.text);
    let listed: Vec<&str> = walked.body.as_array().unwrap().iter().map(|e| e["log_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[1].as_str(), ids[2].as_str()]);
    // Other parameters are ignored with `from`.
    let rest =
        server.get(&format!("/api/v2/logs?from={}&q={}&sort=date:-1&include_totals=true", ids[2], q("type:fp"))).await;
    let listed: Vec<&str> = rest.body.as_array().unwrap().iter().map(|e| e["log_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[3].as_str(), ids[4].as_str()]);
    assert_eq!(server.get(&format!("/api/v2/logs?from={}", ids[4])).await.body, json!([]));
    // The `Link` header's `next` continues after the last event given, or repeats the
    // checkpoint when none was (Auth0's "Retrieve log events using the Management API").
    let token = server.token().await;
    for (from, next) in [(&ids[0], &ids[2]), (&ids[4], &ids[4])] {
        let url = format!("{}/api/v2/logs?from={from}&take=2", server.base);
        let response = server.http.get(&url).bearer_auth(&token).send().await.unwrap();
        let link = response.headers().get("link").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(link, Some(format!("<{}/api/v2/logs?from={next}&take=2>; rel=\"next\"", server.base)));
    }
    server.get(&format!("/api/v2/logs?from={}&take=101", ids[0])).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 101 is greater than maximum 100' on property take (Number of entries to retrieve when using the <code>from</code> parameter. Default <code>50</code>, max <code>100</code>).",
    );
}

#[tokio::test]
async fn a_users_events() {
    let mut server = Server::start().await;
    record(&server, kind::WRONG_PASSWORD, "auth0|a", "2024-01-01T00:00:00.000Z", 3).await;
    record(&server, kind::SUCCESS_LOGIN, "auth0|b", "2024-02-01T00:00:00.000Z", 2).await;
    record(&server, kind::SUCCESS_LOGIN, "auth0|a", "2024-03-01T00:00:00.000Z", 1).await;
    let path = format!("/api/v2/users/{}/logs", encode("auth0|a"));
    let listed = server.get(&path).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(types(&listed.body), ["s", "fp", "fp", "fp"]);
    assert!(listed.body.as_array().unwrap().iter().all(|e| e["user_id"] == "auth0|a"));
    assert_eq!(types(&server.get(&format!("{path}?sort=date:1&per_page=2")).await.body), ["fp", "fp"]);
    let page = server.get(&format!("{path}?page=1&per_page=3&include_totals=true")).await.body;
    assert_eq!(page["total"], 4);
    assert_eq!(page["length"], 1);
    assert_eq!(page["start"], 3);
    assert_eq!(server.get(&format!("{path}?page=5")).await.body, json!([]));
    // A user that does not exist has no events: `[]`, as recorded for a new user.
    assert_eq!(server.get(&format!("/api/v2/users/{}/logs", encode("auth0|nobody"))).await.body, json!([]));

    server.get(&format!("{path}?per_page=0")).await.assert_error(
        400,
        Some("invalid_query_string"),
        "Query validation error: 'Value 0 is less than minimum 1' on property per_page (Number of results per page. Paging is disabled if parameter not sent).",
    );
    assert_eq!(server.get("/api/v2/users/nopipe/logs").await.status, 400);
    assert_eq!(server.get(&format!("{path}?q=type:fp")).await.status, 400, "no q here");
}

#[tokio::test]
async fn reading_logs_takes_read_logs_or_read_logs_users() {
    let server = Server::start().await;
    let ids = record(&server, kind::SUCCESS_LOGIN, "auth0|a", "2024-01-01T00:00:00.000Z", 1).await;
    let token = server.token_with_scope(Some("read:users")).await;
    for path in
        ["/api/v2/logs".to_owned(), format!("/api/v2/logs/{}", ids[0]), "/api/v2/users/auth0%7Ca/logs".to_owned()]
    {
        server.send_raw(Method::GET, &path, Some(&token), None).await.assert_error(
            403,
            Some("insufficient_scope"),
            "Insufficient scope, expected any of: read:logs,read:logs_users",
        );
        for scope in ["read:logs", "read:logs_users"] {
            let token = server.token_with_scope(Some(scope)).await;
            assert_eq!(server.send_raw(Method::GET, &path, Some(&token), None).await.status, 200, "{path} {scope}");
        }
        assert_eq!(server.send_raw(Method::GET, &path, None, None).await.status, 401);
    }
}

#[tokio::test]
async fn old_events_are_deleted_after_the_retention_period() {
    let server = Server::start().await;
    let old = record(&server, kind::SUCCESS_LOGIN, "auth0|a", "2001-01-01T00:00:00.000Z", 3).await;
    let recent = record(&server, kind::SUCCESS_LOGIN, "auth0|a", &time::format(&time::now()), 1).await;
    let mut server = server.restart(&["--log-retention-days", "7"]).await;
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = server.get("/api/v2/logs?q=type%3As").await.body.as_array().unwrap().len();
        if left == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 1, "the old events are gone, the recent one kept");
    assert_eq!(server.get(&format!("/api/v2/logs/{}", old[0])).await.status, 404);
    assert_eq!(server.get(&format!("/api/v2/logs/{}", recent[0])).await.status, 200);
}

mod replays {
    use crate::replay::{Expectations, replay};

    struct Logs;

    impl Expectations for Logs {
        const CHECKPOINT_ITEMS: &str = "logs";

        /// The user's log listing; the user itself is compared by the users replays.
        fn compares(&self, path: &str) -> bool {
            path.ends_with("/logs")
        }
    }

    #[tokio::test]
    async fn get_user_logs_go_auth0() {
        // POST /users, GET /users/{id}/logs (`[]`: the create is a sapi event of no user),
        // DELETE /users/{id}.
        assert_eq!(replay("go-auth0/TestUserManager_GetUserLogs.yaml", &Logs).await, 1);
    }
}
