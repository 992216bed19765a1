//! The console (`/console`, docs/CONSOLE.md) as a browser meets it, without one: sign-in and
//! its cookie, pages that show what the client's scopes allow, forms that need the session's
//! CSRF token, and changes that are the API's own (its errors, its log events). The real-
//! browser flows are in tests/console/ (headless Chromium).

use reqwest::Method;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::server::{CLIENT_ID, CLIENT_SECRET, Server, encode};

/// A browser's view of the console: its cookie, and the pages as HTML.
struct Browser {
    http: reqwest::Client,
    /// `http://host:port` plus a tenant's `/t/<name>` when it is one.
    root: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    content_security_policy: Option<String>,
    html: String,
}

impl Page {
    /// The session's CSRF token, as the page's forms carry it.
    fn csrf(&self) -> String {
        let start = self.html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.html[start..].split('"').next().unwrap().to_owned()
    }

    fn has(&self, fragment: &str) -> bool {
        self.html.contains(fragment)
    }

    /// The text of `#error`.
    fn error(&self) -> String {
        let start = self.html.find("id=\"error\"").map(|i| i + self.html[i..].find('>').unwrap() + 1);
        start.map(|s| self.html[s..].split("</p>").next().unwrap().to_owned()).unwrap_or_default()
    }
}

impl Browser {
    fn new(root: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, root: root.to_owned(), cookie: None }
    }

    async fn send(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Page {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.root));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, format!("roster_console={cookie}"));
        }
        if method == Method::POST {
            request = request.form(form);
        }
        let response = request.send().await.expect("request sent");
        let header =
            |name| response.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned());
        let (location, set_cookie) = (header(LOCATION), header(SET_COOKIE));
        let content_security_policy = header(CONTENT_SECURITY_POLICY);
        let status = response.status().as_u16();
        Page { status, location, set_cookie, content_security_policy, html: response.text().await.unwrap() }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(Method::GET, path, &[]).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, form).await
    }

    /// Posts a form of `page` with its CSRF token.
    async fn submit(&self, page: &Page, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = page.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    async fn sign_in(&mut self, form: &[(&str, &str)]) -> Page {
        let page = self.post("/console/login", form).await;
        if let Some(cookie) = &page.set_cookie {
            let value = cookie.split(';').next().unwrap().strip_prefix("roster_console=").unwrap();
            self.cookie = Some(value.to_owned());
        }
        page
    }
}

async fn signed_in(server: &Server) -> Browser {
    let mut browser = Browser::new(&server.base);
    let page = browser.sign_in(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]).await;
    assert_eq!(page.status, 303, "{}", page.html);
    browser
}

fn user_page(user: &Value) -> String {
    format!("/console/users/{}", encode(user["user_id"].as_str().unwrap()))
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_a_wrong_secret_gets_none() {
    let server = Server::start().await;
    let mut browser = Browser::new(&server.base);
    let page = browser.get("/console/users").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/login")), "no session: to sign-in");

    let form = browser.get("/console/login").await;
    assert_eq!(form.status, 200);
    assert!(form.has("id=\"login\"") && form.has("<label for=\"client_secret\">"), "{}", form.html);
    assert!(!form.has("id=\"admin-login\""), "no admin key, no admin form");

    let refused = browser.sign_in(&[("client_id", CLIENT_ID), ("client_secret", "wrong")]).await;
    assert_eq!(refused.status, 401);
    assert!(refused.set_cookie.is_none());
    assert!(refused.error().contains("Wrong client ID or secret"), "{}", refused.html);

    let page = browser.sign_in(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/users")));
    let cookie = page.set_cookie.unwrap();
    for attribute in ["Path=/console", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let users = browser.get("/console/users").await;
    assert_eq!(users.status, 200);
    assert!(users.has("Roster Management API Client") || users.has(CLIENT_ID), "who is signed in is shown");
    let policy = users.content_security_policy.unwrap();
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"), "{policy}");

    // An altered cookie is no session.
    let mut forged = Browser::new(&server.base);
    forged.cookie = Some(format!("{}x", browser.cookie.clone().unwrap()));
    assert_eq!(forged.get("/console/users").await.status, 303);
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused_sign_in_included() {
    let server = Server::start().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in = |origin: String| {
        http.post(format!("{}/console/login", server.base))
            .header(reqwest::header::ORIGIN, origin)
            .form(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
            .send()
    };
    let foreign = sign_in("https://evil.example".to_owned()).await.unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(foreign.headers().get(SET_COOKIE).is_none());
    let own = sign_in(server.base.clone()).await.unwrap();
    assert_eq!(own.status(), 303, "the console's own origin signs in");
}

#[tokio::test]
async fn search_finds_users_and_a_wrong_query_shows_the_apis_error() {
    let mut server = Server::start().await;
    server.create_user("ada@example.com").await;
    server.create_user("grace@example.com").await;
    let browser = signed_in(&server).await;

    let all = browser.get("/console/users").await;
    assert!(all.has("ada@example.com") && all.has("grace@example.com"));
    assert!(all.has("id=\"total\">2 users"), "{}", all.html);

    let found = browser.get("/console/users?q=email%3A%22ada%40example.com%22&sort=email%3A1").await;
    assert_eq!(found.status, 200);
    assert!(found.has("ada@example.com") && !found.has("grace@example.com"), "{}", found.html);
    assert!(found.has("value=\"email:1\" selected"), "the chosen order stays chosen");

    let wrong = browser.get("/console/users?q=email%3A%28").await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.error().starts_with("Query validation error"), "{}", wrong.error());
    assert!(wrong.has("value=\"email:(\""), "the query stays in the box to be fixed");
}

#[tokio::test]
async fn editing_metadata_is_an_api_patch_and_bad_json_changes_nothing() {
    let mut server = Server::start().await;
    let user = server.create_user("meta@example.com").await;
    let api_path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    server.patch(&api_path, json!({"user_metadata": {"theme": "dark", "old": 1}})).await;
    let browser = signed_in(&server).await;
    let page = browser.get(&user_page(&user)).await;
    assert!(page.has("id=\"identities\"") && page.has("Username-Password-Authentication"));
    assert!(page.has("&quot;theme&quot;: &quot;dark&quot;"), "metadata as formatted JSON: {}", page.html);

    let edit =
        [("name", "Meta Person"), ("user_metadata", r#"{"theme": "light", "lang": "fr"}"#), ("app_metadata", "{}")];
    let saved = browser.submit(&page, &user_page(&user), &edit).await;
    assert_eq!(saved.status, 303);
    assert!(saved.location.unwrap().ends_with("?notice=saved"));
    let now = server.get(&api_path).await.body;
    assert_eq!(now["user_metadata"], json!({"theme": "light", "lang": "fr"}), "the key taken out is gone");
    assert_eq!(now["name"], "Meta Person");

    let bad = browser.submit(&page, &user_page(&user), &[("user_metadata", "{\"theme\": ")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.error().starts_with("user_metadata is not valid JSON"), "{}", bad.error());
    assert!(bad.has("{&quot;theme&quot;: </textarea>"), "what was typed stays: {}", bad.html);
    assert_eq!(server.get(&api_path).await.body["user_metadata"], now["user_metadata"]);

    // The API's own validation message, for metadata that is JSON but not an object.
    let refused = browser.submit(&page, &user_page(&user), &[("user_metadata", "[1, 2]")]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.error().contains("user_metadata"), "{}", refused.error());

    // The change is a Management API write, logged as the client's.
    let logs = server.get("/api/v2/logs?q=type%3Asapi").await.body;
    let update =
        logs.as_array().unwrap().iter().find(|e| e["description"] == "Update a User").expect("an update event");
    assert_eq!(update["client_id"], CLIENT_ID);
    assert_eq!(update["details"]["request"]["path"], api_path);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let mut server = Server::start().await;
    let user = server.create_user("csrf@example.com").await;
    let browser = signed_in(&server).await;
    let path = format!("{}/block", user_page(&user));
    assert_eq!(browser.post(&path, &[]).await.status, 403);
    let wrong = browser.post(&path, &[("csrf", "not-the-token")]).await;
    assert_eq!(wrong.status, 403);
    assert!(wrong.error().contains("did not come from this console session"));
    // Another session's token is not this one's.
    let other = signed_in(&server).await;
    let other_page = other.get("/console/users").await;
    assert_eq!(browser.post(&path, &[("csrf", &other_page.csrf())]).await.status, 403);
    let api_path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    assert_eq!(server.get(&api_path).await.body["blocked"], Value::Null, "nothing changed");
}

#[tokio::test]
async fn a_read_only_client_sees_no_write_controls_and_a_forged_post_is_refused() {
    let mut server = Server::start().await;
    let user = server.create_user("reader@example.com").await;
    let client = server.post("/api/v2/clients", json!({"name": "reader", "app_type": "non_interactive"})).await.body;
    let grant = json!({"client_id": client["client_id"], "audience": server.audience(), "scope": ["read:users"]});
    let grant = server.post("/api/v2/client-grants", grant).await.body;
    let mut browser = Browser::new(&server.base);
    let id = client["client_id"].as_str().unwrap();
    let page =
        browser.sign_in(&[("client_id", id), ("client_secret", client["client_secret"].as_str().unwrap())]).await;
    assert_eq!(page.status, 303, "{}", page.html);

    let list = browser.get("/console/users").await;
    assert!(list.has("reader@example.com") && !list.has("id=\"create-user\""));
    let page = browser.get(&user_page(&user)).await;
    assert_eq!(page.status, 200);
    for control in ["id=\"edit-user\"", "id=\"block\"", "id=\"delete-user\"", "id=\"assign-role\""] {
        assert!(!page.has(control), "{control} shown to a read-only client");
    }
    assert!(page.has("Insufficient scope"), "a section it may not read says so: {}", page.html);

    let forged = browser.submit(&page, &format!("{}/block", user_page(&user)), &[]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.error().starts_with("Insufficient scope"), "{}", forged.error());
    let api_path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    assert_eq!(server.get(&api_path).await.body["blocked"], Value::Null);

    // The grant deleted, the session is over at the next page.
    let deleted = server.delete(&format!("/api/v2/client-grants/{}", grant["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status, 204);
    let after = browser.get("/console/users").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.location.as_deref(), Some("/console/login?ended=grant"));
}

#[tokio::test]
async fn block_roles_sessions_and_delete_act_on_the_user() {
    let mut server = Server::start().await;
    let user = server.create_user("acted@example.com").await;
    let role = server.post("/api/v2/roles", json!({"name": "editor", "description": "Edits"})).await.body;
    let api_path = format!("/api/v2/users/{}", encode(user["user_id"].as_str().unwrap()));
    let browser = signed_in(&server).await;
    let page_path = user_page(&user);
    let page = browser.get(&page_path).await;

    let blocked = browser.submit(&page, &format!("{page_path}/block"), &[]).await;
    assert_eq!(blocked.location.as_deref(), Some(format!("{page_path}?notice=blocked").as_str()));
    assert_eq!(server.get(&api_path).await.body["blocked"], true);
    let shown = browser.get(&blocked.location.unwrap()).await;
    assert!(shown.has("id=\"blocked\"") && shown.has("id=\"unblock\"") && shown.has("The user is blocked."));
    browser.submit(&page, &format!("{page_path}/unblock"), &[]).await;
    assert_eq!(server.get(&api_path).await.body["blocked"], false);

    let role_id = role["id"].as_str().unwrap();
    assert!(page.has(&format!("<option value=\"{role_id}\">editor</option>")), "{}", page.html);
    let assigned = browser.submit(&page, &format!("{page_path}/roles"), &[("role_id", role_id)]).await;
    assert_eq!(assigned.status, 303);
    assert_eq!(server.get(&format!("{api_path}/roles")).await.body[0]["name"], "editor");
    assert!(browser.get(&page_path).await.has("class=\"remove-role\""));
    browser.submit(&page, &format!("{page_path}/roles/remove"), &[("role_id", role_id)]).await;
    assert_eq!(server.get(&format!("{api_path}/roles")).await.body, json!([]));
    let unknown = browser.submit(&page, &format!("{page_path}/roles"), &[("role_id", "rol_nope")]).await;
    assert_eq!(unknown.status, 400, "the API's refusal, on the user's page");
    assert!(unknown.error().contains("specified roles do not exist"), "{}", unknown.error());
    assert!(unknown.has("id=\"profile\""), "shown on the user's page");

    let revoked = browser.submit(&page, &format!("{page_path}/sessions/revoke"), &[]).await;
    assert_eq!(revoked.status, 303);
    assert!(browser.get(&page_path).await.has("No sessions."));

    let confirm = browser.get(&format!("{page_path}/delete")).await;
    assert!(confirm.has("id=\"confirm-delete\"") && confirm.has("acted@example.com"));
    let deleted = browser.submit(&confirm, &format!("{page_path}/delete"), &[]).await;
    assert_eq!(deleted.location.as_deref(), Some("/console/users?notice=deleted"));
    assert_eq!(server.get(&api_path).await.status, 404);
}

#[tokio::test]
async fn users_are_created_with_the_apis_checks() {
    let mut server = Server::start().await;
    let browser = signed_in(&server).await;
    let form = browser.get("/console/users/new").await;
    assert!(form.has("<option value=\"Username-Password-Authentication\""), "{}", form.html);
    let fields =
        [("connection", "Username-Password-Authentication"), ("email", "new@example.com"), ("password", "Passw0rd!")];
    let created = browser.submit(&form, "/console/users/new", &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let listed = server.get("/api/v2/users-by-email?email=new%40example.com").await.body;
    assert_eq!(listed[0]["email"], "new@example.com");
    assert!(created.location.unwrap().ends_with("?notice=created"));

    let again = browser.submit(&form, "/console/users/new", &fields).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.error(), "The user already exists.");
    assert!(again.has("value=\"new@example.com\""), "the form keeps what was typed");
    assert!(!again.has("Passw0rd!"), "but never the password");
}

#[tokio::test]
async fn roles_organizations_and_connections_are_created_edited_and_deleted() {
    let mut server = Server::start().await;
    let browser = signed_in(&server).await;
    for (kind, create, edit, api) in [
        ("roles", vec![("name", "auditor"), ("description", "Reads")], ("description", "Reads all"), "/api/v2/roles"),
        (
            "organizations",
            vec![("name", "acme"), ("display_name", "Acme")],
            ("display_name", "Acme Inc"),
            "/api/v2/organizations",
        ),
        ("connections", vec![("name", "staff-db")], ("display_name", "Staff"), "/api/v2/connections"),
    ] {
        let list = browser.get(&format!("/console/{kind}")).await;
        assert_eq!(list.status, 200, "{kind}");
        let created = browser.submit(&list, &format!("/console/{kind}"), &create).await;
        assert_eq!(created.status, 303, "{kind}: {}", created.error());
        let page_path = created.location.unwrap().split('?').next().unwrap().to_owned();
        let id = page_path.rsplit('/').next().unwrap().to_owned();
        let page = browser.get(&page_path).await;
        assert_eq!(page.status, 200, "{kind}");
        let saved = browser.submit(&page, &page_path, &[edit]).await;
        assert_eq!(saved.status, 303, "{kind}: {}", saved.error());
        let object = server.get(&format!("{api}/{id}")).await.body;
        assert_eq!(object[edit.0], edit.1, "{kind}: {object}");
        let again = browser.submit(&list, &format!("/console/{kind}"), &create).await;
        assert_eq!(again.status, 409, "{kind}: a second with the same name is the API's conflict");
        let deleted = browser.submit(&page, &format!("{page_path}/delete"), &[]).await;
        assert_eq!(deleted.location, Some(format!("/console/{kind}?notice=deleted")), "{kind}");
        assert_eq!(server.get(&format!("{api}/{id}")).await.status, 404, "{kind}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let server = Server::start().await;
    let browser = signed_in(&server).await;
    let page = browser.get("/console/users").await;
    let out = browser.submit(&page, "/console/logout", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    // The old cookie, kept by someone, opens nothing.
    assert_eq!(browser.get("/console/users").await.status, 303);
}

#[tokio::test]
async fn the_admin_key_signs_in_to_any_tenants_console_and_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let key = "console-admin-key-0123456789";
    let mut server = Server::start_with(&["--admin-key", key, "--tenants-dir", dir.path().to_str().unwrap()]).await;
    let reply = server
        .http
        .post(format!("{}/roster/v1/tenants", server.base))
        .bearer_auth(key)
        .json(&json!({"name": "shop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    server.create_user("own@example.com").await;

    let mut tenant = Browser::new(&format!("{}/t/shop", server.base));
    assert!(tenant.get("/console/login").await.has("id=\"admin-login\""));
    assert_eq!(tenant.sign_in(&[("admin_key", "wrong")]).await.status, 401);
    let page = tenant.sign_in(&[("admin_key", key)]).await;
    assert_eq!(page.location.as_deref(), Some("/t/shop/console/users"));
    assert!(page.set_cookie.unwrap().contains("Path=/t/shop/console"));
    let users = tenant.get("/console/users").await;
    assert!(users.has("id=\"total\">0 users") && users.has("href=\"/t/shop/console/roles\""), "{}", users.html);
    let created = tenant.submit(&users, "/console/roles", &[("name", "tenant-role")]).await;
    assert!(created.location.unwrap().starts_with("/t/shop/console/roles/"));

    // The tenant's session is not the server's own tenant's.
    let mut own = Browser::new(&server.base);
    own.cookie = tenant.cookie.clone();
    assert_eq!(own.get("/console/users").await.status, 303);
    assert_eq!(server.get("/api/v2/roles").await.body, json!([]));
}
