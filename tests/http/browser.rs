//! Browser logins as a browser drives them, with a cookie jar and no automatic redirects:
//! `/authorize`, the login form and its MFA step, single sign-on, the code exchange (PKCE,
//! redirect URI, single use), logout, and the sessions the Management API then shows and ends.

use base64::Engine;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::logins::{App, application, assert_oauth_error, claims, logged, refresh, text, token};
use crate::server::{Reply, Server, encode};

const CALLBACK: &str = "https://app.example/callback";
const LOGOUT_URL: &str = "https://app.example/bye";
const PASSWORD: &str = "Passw0rd!";
const USER_AGENT: &str = "Mozilla/5.0 (RosterTest)";

/// A regular web application that logs users in through the browser.
async fn web_app(server: &mut Server, extra: Value) -> App {
    let mut body = json!({"grant_types": ["authorization_code", "refresh_token"], "callbacks": [CALLBACK],
                          "allowed_logout_urls": [LOGOUT_URL]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    application(server, body).await
}

/// A browser: keeps cookies, follows no redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .unwrap()
}

/// A page or redirect as the browser got it.
struct Page {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    html: String,
}

async fn visit(browser: &reqwest::Client, url: &str) -> Page {
    page(browser.get(url).send().await.unwrap()).await
}

async fn post_form(browser: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Page {
    page(browser.post(url).form(form).send().await.unwrap()).await
}

async fn page(response: reqwest::Response) -> Page {
    let header =
        |name| response.headers().get(name).map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned());
    let location = header(LOCATION);
    let cookies = response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    Page { status: response.status().as_u16(), location, cookies, html: response.text().await.unwrap() }
}

impl Page {
    /// The value of the form field `name` (a hidden input or a pre-filled one).
    fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker).unwrap_or_else(|| panic!("no {name} in {}", self.html)) + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].replace("&amp;", "&")
    }

    /// The query parameters of the redirect's location.
    fn redirect_params(&self) -> Vec<(String, String)> {
        let location =
            self.location.as_deref().unwrap_or_else(|| panic!("not a redirect ({}): {}", self.status, self.html));
        let query = location.split_once('?').map_or("", |(_, q)| q);
        serde_urlencoded::from_str(query).unwrap()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.redirect_params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str)
    }
}

fn authorize_url(server: &Server, app: &App, extra: &[(&str, &str)]) -> String {
    let mut params = vec![("response_type", "code"), ("client_id", app.id.as_str()), ("redirect_uri", CALLBACK)];
    params.extend_from_slice(extra);
    format!("{}/authorize?{}", server.base, serde_urlencoded::to_string(&params).unwrap())
}

/// `/authorize` as far as the login form: the form's page.
async fn open_form(server: &Server, browser: &reqwest::Client, app: &App, extra: &[(&str, &str)]) -> Page {
    let start = visit(browser, &authorize_url(server, app, extra)).await;
    assert_eq!(start.status, 302, "{}", start.html);
    let location = start.location.clone().unwrap();
    assert!(location.starts_with("/u/login?state="), "{location}");
    let form = visit(browser, &format!("{}{location}", server.base)).await;
    assert_eq!(form.status, 200, "{}", form.html);
    form
}

/// Logs in through the form: the answer to the password step.
async fn log_in(
    server: &Server,
    browser: &reqwest::Client,
    app: &App,
    (username, password): (&str, &str),
    extra: &[(&str, &str)],
) -> Page {
    let form = open_form(server, browser, app, extra).await;
    let state = form.input("state");
    let url = format!("{}/u/login", server.base);
    post_form(browser, &url, &[("state", &state), ("username", username), ("password", password)]).await
}

/// Logs in and returns the code the application got back.
async fn code_for(
    server: &Server,
    browser: &reqwest::Client,
    app: &App,
    email: &str,
    extra: &[(&str, &str)],
) -> String {
    let done = log_in(server, browser, app, (email, PASSWORD), extra).await;
    assert_eq!(done.status, 302, "{}", done.html);
    assert!(done.location.as_deref().unwrap().starts_with(CALLBACK), "{:?}", done.location);
    done.param("code").expect("code")
}

async fn exchange(server: &Server, app: &App, code: &str, extra: Value) -> Reply {
    let mut body = json!({"grant_type": "authorization_code", "client_id": app.id, "client_secret": app.secret,
                          "code": code, "redirect_uri": CALLBACK});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    token(server, body).await
}

fn s256(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

async fn sessions_of(server: &mut Server, user_id: &str) -> Vec<Value> {
    let reply = server.get(&format!("/api/v2/users/{}/sessions", encode(user_id))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["sessions"].as_array().unwrap().clone()
}

/// Whether the browser is still signed in: a silent `/authorize` answers a code.
async fn signed_in(server: &Server, browser: &reqwest::Client, app: &App) -> bool {
    let silent = visit(browser, &authorize_url(server, app, &[("prompt", "none")])).await;
    assert_eq!(silent.status, 302, "{}", silent.html);
    match silent.param("error") {
        Some(error) => {
            assert_eq!(error, "login_required");
            assert_eq!(silent.param("error_description").as_deref(), Some("Login required"));
            false
        }
        None => silent.param("code").is_some(),
    }
}

#[tokio::test]
async fn a_browser_login_opens_a_session_whose_code_is_exchanged_once() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let user = server.create_user("ana@example.com").await;
    let user_id = text(&user["user_id"]);
    let browser = browser();

    let scope = "openid profile email offline_access";
    let form = open_form(&server, &browser, &app, &[("scope", scope), ("state", "xyz&1"), ("nonce", "n-0S6")]).await;
    assert!(form.html.contains("<form method=\"post\" action=\"login\">"), "{}", form.html);
    let state = form.input("state");
    let done = post_form(
        &browser,
        &format!("{}/u/login", server.base),
        &[("state", &state), ("username", "Ana@Example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status, 302, "{}", done.html);
    assert_eq!(done.param("state").as_deref(), Some("xyz&1"));
    let code = done.param("code").unwrap();
    // Auth0's cookie pair; over plain http SameSite=None cannot be set (it needs Secure).
    let session_cookie = done.cookie("auth0").expect("auth0 cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(!session_cookie.contains("Secure"), "{session_cookie}");
    let compat = done.cookie("auth0_compat").expect("auth0_compat cookie");
    assert!(compat.contains("HttpOnly") && !compat.contains("SameSite"), "{compat}");

    // The session, as the Management API shows it.
    let sessions = sessions_of(&mut server, &user_id).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = &sessions[0];
    let sid = text(&session["id"]);
    assert_eq!(sid.len(), 32);
    assert_eq!(session["user_id"], user_id.as_str());
    assert_eq!(session["device"]["initial_ip"], "127.0.0.1");
    assert_eq!(session["device"]["last_user_agent"], USER_AGENT);
    assert!(session["device"].get("initial_asn").is_none());
    assert_eq!(session["clients"], json!([{"client_id": app.id}]));
    assert_eq!(session["authentication"]["methods"][0]["name"], "pwd");
    assert_eq!(session["authentication"]["methods"][0]["timestamp"], session["authenticated_at"]);
    let created = chrono::DateTime::parse_from_rfc3339(session["created_at"].as_str().unwrap()).unwrap();
    let idle = chrono::DateTime::parse_from_rfc3339(session["idle_expires_at"].as_str().unwrap()).unwrap();
    let absolute = chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((idle - created).num_hours(), 72);
    assert_eq!((absolute - created).num_hours(), 168);
    let by_id = server.get(&format!("/api/v2/sessions/{sid}")).await;
    assert_eq!(&by_id.body, session);
    // The cookie carries more than the id: the id alone (as in an ID token's sid) signs nobody in.
    assert!(session_cookie.starts_with(&format!("auth0={sid}.")));

    // The code, for the client that asked, at the redirect URI it named: tokens for the session.
    let tokens = exchange(&server, &app, &code, json!({})).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = claims(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], user_id.as_str());
    assert_eq!(id_token["sid"], sid.as_str());
    assert_eq!(id_token["nonce"], "n-0S6");
    assert_eq!(id_token["email"], "ana@example.com");
    assert!(id_token.get("amr").is_none());
    let access = claims(tokens.body["access_token"].as_str().unwrap());
    assert!(access.get("gty").is_none(), "{access}");
    assert_eq!(access["azp"], app.id.as_str());
    let refresh_token = text(&tokens.body["refresh_token"]);
    let listed = server.get(&format!("/api/v2/users/{}/refresh-tokens", encode(&user_id))).await;
    assert_eq!(listed.body["tokens"][0]["session_id"], sid.as_str(), "{}", listed.text);
    assert_eq!(refresh(&server, &app, &refresh_token).await.status, 200);

    // Once only.
    let again = exchange(&server, &app, &code, json!({})).await;
    assert_oauth_error(&again, 403, "invalid_grant", "Invalid authorization code");
    let bogus = exchange(&server, &app, "nope", json!({})).await;
    assert_oauth_error(&bogus, 403, "invalid_grant", "Invalid authorization code");
    let missing = token(
        &server,
        json!({"grant_type": "authorization_code", "client_id": app.id,
                                        "client_secret": app.secret}),
    )
    .await;
    assert_oauth_error(&missing, 400, "invalid_request", "Missing required parameter: code");

    let profile = server.get(&format!("/api/v2/users/{}", encode(&user_id))).await.body;
    assert_eq!(profile["logins_count"], 1);
    assert_eq!(logged(&server, "s", &user_id).await, 1);
    assert_eq!(logged(&server, "seacft", &user_id).await, 1);
    let failed = "SELECT COUNT(*) FROM logs WHERE type = 'feacft'";
    for _ in 0..50 {
        if server.database.count(failed).await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(server.database.count(failed).await, 2);
}

#[tokio::test]
async fn single_sign_on_skips_the_form_adds_the_client_and_honours_prompt() {
    let mut server = Server::start().await;
    let first = web_app(&mut server, json!({})).await;
    let second = web_app(&mut server, json!({})).await;
    let user = server.create_user("bo@example.com").await;
    let user_id = text(&user["user_id"]);
    let browser = browser();
    code_for(&server, &browser, &first, "bo@example.com", &[]).await;
    let before = sessions_of(&mut server, &user_id).await[0].clone();

    // Another application: no form, straight back with a code, in the same session.
    let sso = visit(&browser, &authorize_url(&server, &second, &[("state", "s2"), ("scope", "openid")])).await;
    assert_eq!(sso.status, 302, "{}", sso.html);
    assert_eq!(sso.param("state").as_deref(), Some("s2"));
    let code = sso.param("code").unwrap();
    let tokens = exchange(&server, &second, &code, json!({})).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(claims(tokens.body["id_token"].as_str().unwrap())["sid"], before["id"]);
    let after = sessions_of(&mut server, &user_id).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], before["id"]);
    assert_eq!(after[0]["clients"], json!([{"client_id": first.id}, {"client_id": second.id}]));
    assert!(after[0]["last_interacted_at"].as_str() >= before["last_interacted_at"].as_str());
    assert_eq!(after[0]["authenticated_at"], before["authenticated_at"]);

    // prompt=none answers silently; prompt=login shows the form again.
    assert!(signed_in(&server, &browser, &first).await);
    assert_eq!(logged(&server, "ssa", &user_id).await, 1);
    let forced = visit(&browser, &authorize_url(&server, &first, &[("prompt", "login")])).await;
    assert!(forced.location.as_deref().unwrap().starts_with("/u/login?state="), "{:?}", forced.location);
    assert_eq!(sessions_of(&mut server, &user_id).await.len(), 1, "the form alone ends nothing");

    // Another user logging in on this browser ends the first one's session there.
    let other = server.create_user("bo2@example.com").await;
    let other_id = text(&other["user_id"]);
    let forced = log_in(&server, &browser, &first, ("bo2@example.com", PASSWORD), &[("prompt", "login")]).await;
    assert_eq!(forced.status, 302, "{}", forced.html);
    assert!(sessions_of(&mut server, &user_id).await.is_empty());
    assert_eq!(sessions_of(&mut server, &other_id).await.len(), 1);

    // A browser without the cookie is not signed in.
    assert!(!signed_in(&server, &self::browser(), &first).await);

    // A session past its idle expiry is not honoured.
    server.database.execute("UPDATE sessions SET idle_expires_at = created_at").await;
    assert!(!signed_in(&server, &browser, &first).await);
}

#[tokio::test]
async fn pkce_and_the_redirect_uri_are_checked_at_the_exchange() {
    let mut server = Server::start().await;
    let public = web_app(&mut server, json!({"app_type": "spa", "token_endpoint_auth_method": "none"})).await;
    let confidential = web_app(&mut server, json!({"callbacks": [CALLBACK, "https://app.example/other"]})).await;
    server.create_user("cy@example.com").await;
    let browser = browser();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more";
    let challenge = s256(verifier);
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("scope", "openid")];
    let public_exchange = |code: String, verifier: Option<&str>| {
        let mut body = json!({"grant_type": "authorization_code", "client_id": public.id, "code": code,
                              "redirect_uri": CALLBACK});
        if let Some(verifier) = verifier {
            body["code_verifier"] = json!(verifier);
        }
        token(&server, body)
    };

    let code = code_for(&server, &browser, &public, "cy@example.com", &pkce).await;
    let wrong = public_exchange(code, Some("not-the-verifier")).await;
    assert_oauth_error(&wrong, 403, "invalid_grant", "Failed to verify code verifier");
    // The code was used up by the failed attempt.
    let sso = visit(&browser, &authorize_url(&server, &public, &pkce)).await;
    let code = sso.param("code").unwrap();
    let missing = public_exchange(code, None).await;
    assert_oauth_error(&missing, 403, "invalid_grant", "Failed to verify code verifier");
    let sso = visit(&browser, &authorize_url(&server, &public, &pkce)).await;
    let right = public_exchange(sso.param("code").unwrap(), Some(verifier)).await;
    assert_eq!(right.status, 200, "{}", right.text);
    assert!(right.body["id_token"].is_string());

    // plain: the verifier is the challenge.
    let plain = [("code_challenge", "plain-challenge-value"), ("code_challenge_method", "plain")];
    let sso = visit(&browser, &authorize_url(&server, &public, &plain)).await;
    assert_eq!(public_exchange(sso.param("code").unwrap(), Some("plain-challenge-value")).await.status, 200);
    // A verifier for a code that had no challenge is refused too.
    let sso = visit(&browser, &authorize_url(&server, &public, &[])).await;
    let unasked = public_exchange(sso.param("code").unwrap(), Some(verifier)).await;
    assert_oauth_error(&unasked, 403, "invalid_grant", "Failed to verify code verifier");

    // The redirect URI of the exchange must be the one /authorize was given.
    let sso = visit(&browser, &authorize_url(&server, &confidential, &[])).await;
    let code = sso.param("code").unwrap();
    let mismatch = exchange(&server, &confidential, &code, json!({"redirect_uri": "https://app.example/other"})).await;
    assert_oauth_error(&mismatch, 403, "invalid_grant", "Invalid redirect_uri");
    // A code is only its client's; a confidential client authenticates.
    let sso = visit(&browser, &authorize_url(&server, &confidential, &[])).await;
    let code = sso.param("code").unwrap();
    let unauthenticated = token(
        &server,
        json!({"grant_type": "authorization_code", "client_id": confidential.id, "code": code, "redirect_uri": CALLBACK}),
    )
    .await;
    assert_oauth_error(&unauthenticated, 401, "access_denied", "Unauthorized");
    let foreign = exchange(&server, &public, &code, json!({})).await;
    assert_oauth_error(&foreign, 403, "invalid_grant", "Invalid authorization code");
    assert_eq!(exchange(&server, &confidential, &code, json!({})).await.status, 200);
}

#[tokio::test]
async fn authorize_refuses_on_a_page_or_back_at_the_application() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let machine =
        application(&mut server, json!({"grant_types": ["client_credentials"], "callbacks": [CALLBACK]})).await;
    let browser = browser();
    let base = format!("{}/authorize", server.base);

    // What cannot be trusted is shown, not redirected.
    let no_client = visit(&browser, &format!("{base}?response_type=code")).await;
    assert_eq!((no_client.status, no_client.location.clone()), (400, None));
    assert!(no_client.html.contains("Missing required parameter: client_id"), "{}", no_client.html);
    let nul = visit(&browser, &format!("{base}?response_type=code&client_id=a%00b")).await;
    assert_eq!(nul.status, 400, "{}", nul.html);
    let unknown = visit(&browser, &format!("{base}?response_type=code&client_id=%3Cscript%3E")).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.html.contains("Unknown client: &lt;script&gt;"), "{}", unknown.html);
    let evil = "https://evil.example/cb";
    let mismatch =
        visit(&browser, &format!("{base}?response_type=code&client_id={}&redirect_uri={evil}", app.id)).await;
    assert_eq!((mismatch.status, mismatch.location.clone()), (400, None));
    assert!(
        mismatch.html.contains(&format!("Callback URL mismatch. {evil} is not in the list of allowed callback URLs.")),
        "{}",
        mismatch.html
    );

    // The rest goes back to the application, with the state.
    fn back(base: &str, app: &App, extra: &[(&str, &str)]) -> String {
        let mut params = vec![("client_id", app.id.as_str()), ("redirect_uri", CALLBACK), ("state", "st")];
        params.extend_from_slice(extra);
        format!("{base}?{}", serde_urlencoded::to_string(&params).unwrap())
    }
    /// Extra parameters, and the error they come back with.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[], "invalid_request", "Missing required parameter: response_type"),
        (&[("response_type", "token")], "unsupported_response_type", "Unsupported response type: token"),
        (&[("response_type", "code"), ("prompt", "none")], "login_required", "Login required"),
        (
            &[("response_type", "code"), ("audience", "https://nothing.example")],
            "access_denied",
            "Service not found: https://nothing.example",
        ),
        (
            &[("response_type", "code"), ("code_challenge", "x"), ("code_challenge_method", "S512")],
            "invalid_request",
            "Unsupported code_challenge_method: S512",
        ),
        (&[("response_type", "code"), ("connection", "nowhere")], "invalid_request", "Unknown connection"),
    ];
    for (extra, error, description) in cases {
        let reply = visit(&browser, &back(&base, &app, extra)).await;
        assert_eq!(reply.status, 302, "{extra:?}: {}", reply.html);
        assert!(reply.location.as_deref().unwrap().starts_with(CALLBACK));
        assert_eq!(reply.param("error").as_deref(), Some(*error), "{extra:?}");
        assert_eq!(reply.param("error_description").as_deref(), Some(*description), "{extra:?}");
        assert_eq!(reply.param("state").as_deref(), Some("st"));
    }
    let refused = visit(&browser, &back(&base, &machine, &[("response_type", "code")])).await;
    assert_eq!(refused.param("error").as_deref(), Some("unauthorized_client"));
    assert_eq!(
        refused.param("error_description").as_deref(),
        Some("Grant type 'authorization_code' not allowed for the client.")
    );

    // form_post: a page whose form carries the answer to the redirect URI.
    let form_post = [("response_type", "code"), ("prompt", "none"), ("response_mode", "form_post")];
    let posted = visit(&browser, &back(&base, &app, &form_post)).await;
    assert_eq!(posted.status, 200);
    assert!(posted.html.contains(&format!("action=\"{CALLBACK}\"")), "{}", posted.html);
    assert_eq!(posted.input("error"), "login_required");
    assert_eq!(posted.input("state"), "st");
}

#[tokio::test]
async fn the_login_form_refuses_what_the_password_grant_refuses_and_foreign_posts() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let user = server.create_user("di@example.com").await;
    let user_id = text(&user["user_id"]);
    let browser = browser();

    let wrong = log_in(&server, &browser, &app, ("di@example.com", "nope"), &[]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("Wrong email or password."), "{}", wrong.html);
    assert_eq!(wrong.input("username"), "di@example.com");
    assert!(wrong.cookie("auth0").is_none());
    assert_eq!(logged(&server, "fp", &user_id).await, 1);
    let unknown = log_in(&server, &browser, &app, ("<b>nobody</b>", PASSWORD), &[]).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.html.contains("value=\"&lt;b&gt;nobody&lt;/b&gt;\""), "{}", unknown.html);

    // A form posted from elsewhere (another browser, no `did` cookie), or a forged state.
    let form = open_form(&server, &browser, &app, &[]).await;
    let state = form.input("state");
    let login = format!("{}/u/login", server.base);
    let credentials = [("state", state.as_str()), ("username", "di@example.com"), ("password", PASSWORD)];
    let foreign = post_form(&self::browser(), &login, &credentials).await;
    assert_eq!(foreign.status, 400);
    assert!(foreign.html.contains("The login transaction is invalid or has expired."), "{}", foreign.html);
    let forged = format!("{}x", &state[..state.len() - 1]);
    let tampered =
        post_form(&browser, &login, &[("state", &forged), ("username", "di@example.com"), ("password", PASSWORD)])
            .await;
    assert_eq!(tampered.status, 400);
    assert_eq!(visit(&browser, &format!("{}/u/login?state=junk", server.base)).await.status, 400);

    // A user blocked by an administrator.
    server.patch(&format!("/api/v2/users/{}", encode(&user_id)), json!({"blocked": true})).await;
    let blocked = post_form(&browser, &login, &credentials).await;
    assert_eq!(blocked.status, 401);
    assert!(blocked.html.contains("user is blocked"), "{}", blocked.html);
    server.patch(&format!("/api/v2/users/{}", encode(&user_id)), json!({"blocked": false})).await;

    // Brute-force protection counts the form's failures as the grant's.
    for _ in 0..9 {
        post_form(&browser, &login, &[("state", &state), ("username", "di@example.com"), ("password", "bad")]).await;
    }
    let blocked = post_form(&browser, &login, &credentials).await;
    assert_eq!(blocked.status, 429, "{}", blocked.html);
    assert!(blocked.html.contains("Your account has been blocked"), "{}", blocked.html);
    assert_eq!(logged(&server, "limit_wc", &user_id).await, 1);
}

/// A user with a confirmed TOTP authenticator, and its recovery code.
async fn mfa_user(server: &mut Server, email: &str) -> (String, String, String) {
    let user = server.create_user(email).await;
    let user_id = text(&user["user_id"]);
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let methods = format!("/api/v2/users/{}/authentication-methods", encode(&user_id));
    let created = server.post(&methods, json!({"type": "totp", "totp_secret": secret})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let code = server.post(&format!("/api/v2/users/{}/recovery-code-regeneration", encode(&user_id)), json!({})).await;
    (user_id, secret.to_owned(), text(&code.body["recovery_code"]))
}

fn totp(secret: &str) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build_noncompliant()
        .generate_current()
        .to_string()
}

/// The MFA form a password step sent the browser to.
async fn mfa_form(server: &Server, browser: &reqwest::Client, step: &Page) -> Page {
    assert_eq!(step.status, 302, "{}", step.html);
    let location = step.location.clone().unwrap();
    assert!(location.starts_with("/u/mfa?state="), "{location}");
    let form = visit(browser, &format!("{}{location}", server.base)).await;
    assert_eq!(form.status, 200, "{}", form.html);
    form
}

#[tokio::test]
async fn mfa_with_totp_then_a_remembered_browser_until_invalidated() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let (user_id, secret, _) = mfa_user(&mut server, "ed@example.com").await;
    let browser = browser();
    let mfa = format!("{}/u/mfa", server.base);

    let step = log_in(&server, &browser, &app, ("ed@example.com", PASSWORD), &[("scope", "openid")]).await;
    assert!(step.cookie("auth0").is_none(), "no session before the second factor");
    let form = mfa_form(&server, &browser, &step).await;
    let state = form.input("state");
    let wrong = post_form(&browser, &mfa, &[("state", &state), ("otp", "000000")]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("The code you entered is invalid."), "{}", wrong.html);
    assert_eq!(logged(&server, "gd_auth_failed", &user_id).await, 1);
    // The MFA step is bound to the browser too.
    let foreign = post_form(&self::browser(), &mfa, &[("state", &state), ("otp", &totp(&secret))]).await;
    assert_eq!(foreign.status, 400);

    let done =
        post_form(&browser, &mfa, &[("state", &state), ("otp", &totp(&secret)), ("remember_browser", "on")]).await;
    assert_eq!(done.status, 302, "{}", done.html);
    assert!(done.cookie("auth0-mf").is_some_and(|c| c.contains("HttpOnly")), "{:?}", done.cookies);
    let tokens = exchange(&server, &app, &done.param("code").unwrap(), json!({})).await;
    assert_eq!(claims(tokens.body["id_token"].as_str().unwrap())["amr"], json!(["mfa"]));
    let sessions = sessions_of(&mut server, &user_id).await;
    let methods = &sessions[0]["authentication"]["methods"];
    assert_eq!(
        (methods[0]["name"].clone(), methods[1]["name"].clone(), methods[1]["type"].clone()),
        (json!("pwd"), json!("mfa"), json!("otp"))
    );
    assert_eq!(logged(&server, "gd_auth_succeed", &user_id).await, 1);

    // Logged out, the remembered browser skips the second step...
    let out = visit(&browser, &format!("{}/v2/logout", server.base)).await;
    assert_eq!(out.status, 200);
    let remembered = log_in(&server, &browser, &app, ("ed@example.com", PASSWORD), &[]).await;
    assert_eq!(remembered.status, 302, "{}", remembered.html);
    assert!(remembered.location.as_deref().unwrap().starts_with(CALLBACK), "{:?}", remembered.location);

    // ...until remembered browsers are invalidated.
    let invalidate = format!("/api/v2/users/{}/multifactor/actions/invalidate-remember-browser", encode(&user_id));
    assert_eq!(server.post(&invalidate, json!({})).await.status, 204);
    visit(&browser, &format!("{}/v2/logout", server.base)).await;
    let asked = log_in(&server, &browser, &app, ("ed@example.com", PASSWORD), &[]).await;
    mfa_form(&server, &browser, &asked).await;
}

#[tokio::test]
async fn mfa_with_a_recovery_code_shows_its_replacement() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let (user_id, _, recovery_code) = mfa_user(&mut server, "fi@example.com").await;
    let browser = browser();
    let mfa = format!("{}/u/mfa", server.base);

    let step = log_in(&server, &browser, &app, ("fi@example.com", PASSWORD), &[("state", "r1")]).await;
    let state = mfa_form(&server, &browser, &step).await.input("state");
    let wrong = post_form(&browser, &mfa, &[("state", &state), ("recovery_code", "NOPE")]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("The recovery code you entered is invalid."), "{}", wrong.html);
    let used = post_form(&browser, &mfa, &[("state", &state), ("recovery_code", &recovery_code)]).await;
    assert_eq!(used.status, 200, "{}", used.html);
    let start = used.html.find("<code id=\"recovery_code\">").unwrap() + "<code id=\"recovery_code\">".len();
    let replacement = &used.html[start..start + used.html[start..].find('<').unwrap()];
    assert_ne!(replacement, recovery_code);
    assert!(used.cookie("auth0").is_some());
    let link_start = used.html.find("href=\"").unwrap() + 6;
    let link = used.html[link_start..link_start + used.html[link_start..].find('"').unwrap()].replace("&amp;", "&");
    assert!(link.starts_with(&format!("{CALLBACK}?code=")) && link.ends_with("&state=r1"), "{link}");
    let sessions = sessions_of(&mut server, &user_id).await;
    assert_eq!(sessions[0]["authentication"]["methods"][1]["type"], "recovery-code");
    assert_eq!(logged(&server, "gd_recovery_succeed", &user_id).await, 1);
    assert_eq!(logged(&server, "gd_recovery_failed", &user_id).await, 1);

    // The code used up is refused next time; its replacement works.
    visit(&browser, &format!("{}/v2/logout", server.base)).await;
    let step = log_in(&server, &browser, &app, ("fi@example.com", PASSWORD), &[]).await;
    let state = mfa_form(&server, &browser, &step).await.input("state");
    assert_eq!(post_form(&browser, &mfa, &[("state", &state), ("recovery_code", &recovery_code)]).await.status, 400);
    assert_eq!(post_form(&browser, &mfa, &[("state", &state), ("recovery_code", replacement)]).await.status, 200);
}

#[tokio::test]
async fn logout_ends_the_session_and_checks_where_it_returns() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let user = server.create_user("gu@example.com").await;
    let user_id = text(&user["user_id"]);
    let browser = browser();
    code_for(&server, &browser, &app, "gu@example.com", &[]).await;

    // A returnTo the client does not allow is refused, and the session stays.
    let logout = format!("{}/v2/logout", server.base);
    let refused = visit(&browser, &format!("{logout}?client_id={}&returnTo=https%3A%2F%2Fevil.example", app.id)).await;
    assert_eq!((refused.status, refused.location.clone()), (400, None));
    assert!(
        refused.html.contains("is not defined as a valid URL in &quot;Allowed Logout URLs&quot;"),
        "{}",
        refused.html
    );
    assert!(signed_in(&server, &browser, &app).await);

    let out = visit(&browser, &format!("{logout}?client_id={}&returnTo={LOGOUT_URL}%3Fa%3D1", app.id)).await;
    assert_eq!(out.status, 302, "{}", out.html);
    assert_eq!(out.location.as_deref(), Some(format!("{LOGOUT_URL}?a=1").as_str()));
    assert!(out.cookie("auth0").is_some_and(|c| c.contains("Max-Age=0")), "{:?}", out.cookies);
    assert!(sessions_of(&mut server, &user_id).await.is_empty());
    assert!(!signed_in(&server, &browser, &app).await);
    assert_eq!(logged(&server, "slo", &user_id).await, 1);
    // Without returnTo: the client's first allowed logout URL, or Auth0's plain OK.
    let first = visit(&browser, &format!("{logout}?client_id={}", app.id)).await;
    assert_eq!(first.location.as_deref(), Some(LOGOUT_URL));
    let plain = visit(&browser, &logout).await;
    assert_eq!((plain.status, plain.html.as_str()), (200, "OK"));

    // OpenID Connect logout, with the ID token as the hint, back with the state.
    let code = code_for(&server, &browser, &app, "gu@example.com", &[("scope", "openid")]).await;
    let id_token = text(&exchange(&server, &app, &code, json!({})).await.body["id_token"]);
    let oidc = format!("{}/oidc/logout", server.base);
    let bad_hint =
        visit(&browser, &format!("{oidc}?id_token_hint=abc.def.ghi&post_logout_redirect_uri={LOGOUT_URL}")).await;
    assert_eq!(bad_hint.status, 400);
    let elsewhere = visit(
        &browser,
        &format!("{oidc}?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example"),
    )
    .await;
    assert_eq!(elsewhere.status, 400);
    assert!(signed_in(&server, &browser, &app).await);
    let out =
        visit(&browser, &format!("{oidc}?id_token_hint={id_token}&post_logout_redirect_uri={LOGOUT_URL}&state=bye"))
            .await;
    assert_eq!(out.status, 302, "{}", out.html);
    assert_eq!(out.location.as_deref(), Some(format!("{LOGOUT_URL}?state=bye").as_str()));
    assert!(!signed_in(&server, &browser, &app).await);
}

#[tokio::test]
async fn deleting_sessions_ends_single_sign_on_and_revoking_one_ends_its_refresh_tokens() {
    let mut server = Server::start().await;
    let app = web_app(&mut server, json!({})).await;
    let user = server.create_user("ha@example.com").await;
    let user_id = text(&user["user_id"]);
    let scope = [("scope", "openid offline_access")];

    // DELETE /sessions/{id}: the cookie signs in no more; the refresh token lives on, as Auth0's
    // do ("Refresh tokens can remain active after a session has expired or been deleted").
    let browser = browser();
    let code = code_for(&server, &browser, &app, "ha@example.com", &scope).await;
    let refresh_token = text(&exchange(&server, &app, &code, json!({})).await.body["refresh_token"]);
    let sid = text(&sessions_of(&mut server, &user_id).await[0]["id"]);
    let deleted = server.delete(&format!("/api/v2/sessions/{sid}")).await;
    assert_eq!((deleted.status.as_u16(), deleted.body.clone()), (202, json!({})));
    assert!(!signed_in(&server, &browser, &app).await);
    server.get(&format!("/api/v2/sessions/{sid}")).await.assert_error(
        404,
        Some("inexistent_session"),
        "The session does not exist.",
    );
    assert_eq!(refresh(&server, &app, &refresh_token).await.status, 200);

    // DELETE /users/{id}/sessions ends every browser's.
    let (one, two) = (self::browser(), self::browser());
    code_for(&server, &one, &app, "ha@example.com", &[]).await;
    code_for(&server, &two, &app, "ha@example.com", &[]).await;
    assert_eq!(sessions_of(&mut server, &user_id).await.len(), 2);
    let all = server.delete(&format!("/api/v2/users/{}/sessions", encode(&user_id))).await;
    assert_eq!(all.status, 202);
    assert!(!signed_in(&server, &one, &app).await && !signed_in(&server, &two, &app).await);

    // POST /sessions/{id}/revoke ends the session and the refresh tokens issued in it.
    let code = code_for(&server, &browser, &app, "ha@example.com", &scope).await;
    let bound = text(&exchange(&server, &app, &code, json!({})).await.body["refresh_token"]);
    let sid = text(&sessions_of(&mut server, &user_id).await[0]["id"]);
    let revoked = server.post(&format!("/api/v2/sessions/{sid}/revoke"), json!({})).await;
    assert_eq!((revoked.status.as_u16(), revoked.body.clone()), (202, json!({})));
    assert!(!signed_in(&server, &browser, &app).await);
    assert_oauth_error(
        &refresh(&server, &app, &bound).await,
        403,
        "invalid_grant",
        "Unknown or invalid refresh token.",
    );
    assert_eq!(refresh(&server, &app, &refresh_token).await.status, 200, "a token of another session stays");
    server.post("/api/v2/sessions/nope/revoke", json!({})).await.assert_error(
        404,
        Some("inexistent_session"),
        "The session does not exist.",
    );
}
