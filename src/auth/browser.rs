//! Browser logins, the flow that opens sessions: `/authorize` (single sign-on through a live
//! session, or the login form), the form's password step and MFA step, the code exchange
//! (`grant_type=authorization_code`) and logout. Each step decides; `http::browser` only reads
//! the request and shapes the answer.
//!
//! A login in progress (a "transaction") is a JWT the tenant signs, carried by the form's
//! `state`: what `/authorize` was asked, and after the password step the user. It is bound to
//! the browser by the hash of its `did` cookie, so another site cannot post a form into it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::login::{self, check_password, database_connection, failure, totp_match};
use super::oauth::{OAuthError, TokenRequest, TokenResponse, authenticate_client};
use super::user_tokens::{self, Method, SessionClaims};
use crate::app::App;
use crate::domain::authentication_method::new_recovery_code;
use crate::domain::authorize::{
    self, AuthorizationCode, AuthorizeRequest, CODE_SECONDS, Prompt, REMEMBER_BROWSER_DAYS, ResponseMode,
    TRANSACTION_SECONDS,
};
use crate::domain::client::ClientRecord;
use crate::domain::ids;
use crate::domain::log_event::{LogEvent, details, kind};
use crate::domain::session::{Origin, SecondFactor, Session, SessionLifetimes};
use crate::domain::time::{self, Timestamp};
use crate::domain::user::User;
use crate::store::logins::Credential;

/// What a request from a browser brings: where it came from and its cookies.
#[derive(Debug, Clone, Default)]
pub struct Browser {
    pub origin: Origin,
    /// The `auth0` (or `auth0_compat`) cookie: `{session id}.{secret}`.
    pub session_cookie: Option<String>,
    /// The `did` cookie: a random id that binds login transactions to this browser.
    pub device_id: Option<String>,
    /// The `auth0-mf` cookie: a browser remembered after MFA.
    pub remembered: Option<String>,
}

/// A refusal shown to the user on a page, because it cannot safely go back to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl PageError {
    fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }

    fn invalid_transaction() -> Self {
        Self::bad_request(
            "invalid_request",
            "The login transaction is invalid or has expired. Start again from the application.",
        )
    }
}

impl From<anyhow::Error> for PageError {
    fn from(cause: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{cause:#}"), "browser login failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "Internal Server Error".into(),
        }
    }
}

impl From<OAuthError> for PageError {
    fn from(error: OAuthError) -> Self {
        Self { status: error.status, error: error.error, description: error.error_description }
    }
}

/// The answer that goes back to the application: where, how, and with what.
#[derive(Debug, Clone)]
pub struct Answer {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
    /// A session cookie to set: `(value, seconds it lives)`.
    pub session_cookie: Option<(String, i64)>,
}

impl Answer {
    fn error(request: &AuthorizeRequest, error: &str, description: &str) -> Self {
        let mut params = vec![("error".to_owned(), error.to_owned()), ("error_description".into(), description.into())];
        params.extend(request.state.clone().map(|state| ("state".to_owned(), state)));
        Self { redirect_uri: request.redirect_uri.clone(), mode: request.response_mode, params, session_cookie: None }
    }

    /// Where a redirect answer sends the browser.
    pub fn location(&self) -> String {
        let params: Vec<(&str, &str)> = self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize::redirect_location(&self.redirect_uri, self.mode, &params)
    }
}

/// What `/authorize` does.
#[derive(Debug)]
pub enum Authorized {
    /// A refusal shown on a page: the client or its redirect URI cannot be trusted.
    Refused(PageError),
    /// Back to the application: a code (single sign-on) or an error.
    Answer(Answer),
    /// On to the login form, with this transaction; `device_id` is a new `did` cookie to set.
    Login { state: String, device_id: Option<String> },
}

/// What the login form needs to show.
#[derive(Debug)]
pub struct Form {
    pub client_name: String,
    pub state: String,
}

/// What a form post does.
#[derive(Debug)]
pub enum Step {
    /// The form again, with what went wrong.
    Retry { status: StatusCode, message: String },
    /// On to the MFA form, with this transaction.
    Mfa { state: String },
    /// Done: back to the application; `remember` is a new `auth0-mf` cookie to set; and a new
    /// recovery code to show first when one was used up.
    Done { answer: Answer, remember: Option<String>, recovery_code: Option<String> },
}

/// The session cookie's value, and the hash the session keeps of its secret.
fn session_cookie(session_id: &str) -> (String, String) {
    let secret = ids::random_alphanumeric(43);
    (format!("{session_id}.{secret}"), ids::sha256_hex(&secret))
}

/// The live session a browser's cookie names, if its secret checks out.
async fn cookie_session(app: &App, browser: &Browser, now: &Timestamp) -> anyhow::Result<Option<Session>> {
    let Some((id, secret)) = browser.session_cookie.as_deref().and_then(|c| c.split_once('.')) else {
        return Ok(None);
    };
    app.store.session_for_cookie(id, &ids::sha256_hex(secret), now).await
}

fn event(app: &App, kind: &'static str, client: &ClientRecord, origin: &Origin) -> LogEvent {
    let mut event = LogEvent::new(kind);
    event.ip = Some(origin.ip.clone());
    event.user_agent = origin.user_agent.clone();
    event.client_id = Some(client.client_id.clone());
    event.client_name = Some(client.name.clone());
    event.hostname = app.issuer.issuer.strip_prefix("https://").map(|h| h.trim_end_matches('/').to_owned());
    event
}

/// A token request standing for a form post, for the log events the password step writes.
fn form_request(client: &ClientRecord, origin: &Origin) -> TokenRequest {
    TokenRequest {
        client_id: Some(client.client_id.clone()),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        ..TokenRequest::default()
    }
}

fn callbacks(client: &ClientRecord, key: &str) -> Vec<String> {
    let list = client.attributes.get(key).and_then(Value::as_array);
    list.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// `GET /authorize` with its query `params` (each named once; the first wins).
pub async fn authorize(app: &App, params: &[(String, String)], browser: &Browser) -> Result<Authorized, PageError> {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let Some(client_id) = param("client_id") else {
        return Ok(Authorized::Refused(PageError::bad_request(
            "invalid_request",
            "Missing required parameter: client_id",
        )));
    };
    let Some(client) = app.store.client_record(client_id).await? else {
        return Ok(Authorized::Refused(PageError::bad_request(
            "invalid_request",
            format!("Unknown client: {client_id}"),
        )));
    };
    let allowed = callbacks(&client, "callbacks");
    let redirect_uri = match param("redirect_uri") {
        Some(uri) if authorize::url_allowed(&allowed, uri) => uri.to_owned(),
        Some(uri) => {
            let description = format!("Callback URL mismatch. {uri} is not in the list of allowed callback URLs.");
            return Ok(Authorized::Refused(PageError::bad_request("invalid_request", description)));
        }
        None => match allowed.first() {
            Some(first) => first.clone(),
            None => {
                let description = "Missing required parameter: redirect_uri";
                return Ok(Authorized::Refused(PageError::bad_request("invalid_request", description)));
            }
        },
    };
    let mut request = AuthorizeRequest {
        client_id: client.client_id.clone(),
        redirect_uri_given: param("redirect_uri").is_some(),
        redirect_uri,
        response_mode: ResponseMode::Query,
        scope: param("scope").map(str::to_owned),
        state: param("state").map(str::to_owned),
        nonce: param("nonce").map(str::to_owned),
        audience: param("audience").map(str::to_owned),
        code_challenge: param("code_challenge").map(str::to_owned),
        code_challenge_method: None,
        connection: String::new(),
    };
    let refuse = |request: &AuthorizeRequest, error: &str, description: &str| {
        Ok(Authorized::Answer(Answer::error(request, error, description)))
    };
    match ResponseMode::parse(param("response_mode")) {
        Ok(mode) => request.response_mode = mode,
        Err(description) => return refuse(&request, "invalid_request", &description),
    }
    match param("response_type") {
        None => return refuse(&request, "invalid_request", "Missing required parameter: response_type"),
        Some("code") => {}
        Some(other) => {
            return refuse(&request, "unsupported_response_type", &format!("Unsupported response type: {other}"));
        }
    }
    if !client.allows_grant("authorization_code") {
        let description = "Grant type 'authorization_code' not allowed for the client.";
        return refuse(&request, "unauthorized_client", description);
    }
    match authorize::code_challenge_method(param("code_challenge"), param("code_challenge_method")) {
        Ok(method) => request.code_challenge_method = method,
        Err(description) => return refuse(&request, "invalid_request", &description),
    }
    let prompt = match Prompt::parse(param("prompt")) {
        Ok(prompt) => prompt,
        Err(description) => return refuse(&request, "invalid_request", &description),
    };
    match database_connection(app, &client, param("connection")).await {
        Ok(connection) => request.connection = connection.name,
        Err(error) => return refuse(&request, error.error, &error.error_description),
    }
    if let Some(audience) = &request.audience
        && app.store.resource_server(audience).await?.is_none_or(|s| s.identifier != *audience)
    {
        return refuse(&request, "access_denied", &format!("Service not found: {audience}"));
    }

    let now = time::now();
    let session = if prompt == Prompt::Login { None } else { cookie_session(app, browser, &now).await? };
    if let Some(session) = session {
        return single_sign_on(app, (&client, request), session, prompt, browser).await;
    }
    if prompt == Prompt::None {
        let mut failed = event(app, kind::FAILED_SILENT_AUTH, &client, &browser.origin);
        failed.description = Some("Login required".into());
        app.store.log(failed);
        return refuse(&request, "login_required", "Login required");
    }
    let (device_id, new_device) = match &browser.device_id {
        Some(id) => (id.clone(), None),
        None => {
            let id = ids::random_alphanumeric(32);
            (id.clone(), Some(id))
        }
    };
    let state = transaction(app, &request, &device_id, None)?;
    Ok(Authorized::Login { state, device_id: new_device })
}

/// A live session signs the browser in again without the form: the session is touched, the
/// client added to it, and a code issued.
async fn single_sign_on(
    app: &App,
    (client, request): (&ClientRecord, AuthorizeRequest),
    session: Session,
    prompt: Prompt,
    browser: &Browser,
) -> Result<Authorized, PageError> {
    let now = time::now();
    let (code, code_hash) = authorize::new_code();
    let grant = AuthorizationCode {
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        mfa: session.used_mfa(),
        expires_at: now + chrono::Duration::seconds(CODE_SECONDS),
        request: request.clone(),
    };
    let lifetimes = SessionLifetimes::default();
    let stored = (code_hash, client.client_id.clone(), grant);
    let Some((session, user)) =
        app.store.continue_session(&session.id, &browser.origin, lifetimes, &now, stored).await?
    else {
        return Ok(Authorized::Answer(Answer::error(&request, "login_required", "Login required")));
    };
    let kind = if prompt == Prompt::None { kind::SUCCESS_SILENT_AUTH } else { kind::SUCCESS_LOGIN };
    app.store.log(login_event(app, kind, client, browser, (&user, &session), &request.connection));
    Ok(Authorized::Answer(code_answer(&request, code, None)))
}

fn code_answer(request: &AuthorizeRequest, code: String, session_cookie: Option<(String, i64)>) -> Answer {
    let mut params = vec![("code".to_owned(), code)];
    params.extend(request.state.clone().map(|state| ("state".to_owned(), state)));
    Answer { redirect_uri: request.redirect_uri.clone(), mode: request.response_mode, params, session_cookie }
}

fn login_event(
    app: &App,
    kind: &'static str,
    client: &ClientRecord,
    browser: &Browser,
    (user, session): (&User, &Session),
    connection: &str,
) -> LogEvent {
    let mut logged = event(app, kind, client, &browser.origin);
    logged.user_id = Some(user.user_id.clone());
    logged.user_name = user.email.clone().or_else(|| user.username.clone());
    logged.connection = Some(connection.to_owned());
    logged.strategy = Some("auth0".into());
    logged.strategy_type = Some("database".into());
    logged.details = details(&json!({
        "session_id": session.id,
        "stats": {"loginsCount": user.logins_count.unwrap_or_default()},
    }));
    logged
}

fn transaction_audience(app: &App) -> String {
    format!("{}u/login", app.issuer.issuer)
}

/// A login transaction: what `/authorize` was asked, bound to the browser's `did`; after the
/// password step, the user it checked (`sub`) and when.
fn transaction(
    app: &App,
    request: &AuthorizeRequest,
    device_id: &str,
    user_id: Option<&str>,
) -> Result<String, PageError> {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": app.issuer.issuer,
        "aud": transaction_audience(app),
        "iat": now,
        "exp": now + TRANSACTION_SECONDS,
        "did": ids::sha256_hex(device_id),
        "req": request,
    });
    if let Some(user_id) = user_id {
        claims["sub"] = json!(user_id);
    }
    Ok(user_tokens::sign_rs256(&app.keys, &claims)?)
}

/// The transaction `state` carries, if this tenant made it for this browser and it is still
/// good; the user of its password step, if it had one.
fn open_transaction(
    app: &App,
    state: &str,
    browser: &Browser,
) -> Result<(AuthorizeRequest, Option<String>), PageError> {
    let claims = user_tokens::verify_rs256(&app.keys, &app.issuer, &transaction_audience(app), state, true)
        .map_err(|_| PageError::invalid_transaction())?;
    let bound = browser.device_id.as_deref().map(ids::sha256_hex);
    if bound.is_none() || claims.get("did").and_then(Value::as_str) != bound.as_deref() {
        return Err(PageError::invalid_transaction());
    }
    let request: AuthorizeRequest =
        serde_json::from_value(claims["req"].clone()).map_err(|_| PageError::invalid_transaction())?;
    Ok((request, claims.get("sub").and_then(Value::as_str).map(str::to_owned)))
}

async fn transaction_client(app: &App, request: &AuthorizeRequest) -> Result<ClientRecord, PageError> {
    app.store.client_record(&request.client_id).await?.ok_or_else(PageError::invalid_transaction)
}

/// `GET /u/login`: the form of a transaction (the password step).
pub async fn login_form(app: &App, state: &str, browser: &Browser) -> Result<Form, PageError> {
    let (request, _) = open_transaction(app, state, browser)?;
    let client = transaction_client(app, &request).await?;
    Ok(Form { client_name: client.name, state: state.to_owned() })
}

/// `GET /u/mfa`: the second step's form.
pub async fn mfa_form(app: &App, state: &str, browser: &Browser) -> Result<Form, PageError> {
    let (request, user) = open_transaction(app, state, browser)?;
    user.ok_or_else(PageError::invalid_transaction)?;
    let client = transaction_client(app, &request).await?;
    Ok(Form { client_name: client.name, state: state.to_owned() })
}

/// Whether the browser's `auth0-mf` cookie remembers `credential`'s user since after its
/// remembered browsers were last invalidated.
fn remembered(app: &App, browser: &Browser, credential: &Credential) -> bool {
    let Some(cookie) = &browser.remembered else { return false };
    let audience = format!("{}mf", app.issuer.issuer);
    let Ok(claims) = user_tokens::verify_rs256(&app.keys, &app.issuer, &audience, cookie, true) else { return false };
    let at = claims.get("remembered_at").and_then(Value::as_i64);
    claims.get("sub").and_then(Value::as_str) == Some(credential.user_id.as_str())
        && at.is_some_and(|at| credential.remember_browser_invalidated_at.is_none_or(|i| at > i.timestamp_millis()))
}

/// A new `auth0-mf` cookie: this browser skips MFA for `user_id` for 30 days.
fn remember_cookie(app: &App, user_id: &str) -> Result<String, PageError> {
    let now = time::now();
    let claims = json!({
        "iss": app.issuer.issuer,
        "aud": format!("{}mf", app.issuer.issuer),
        "sub": user_id,
        "iat": now.timestamp(),
        "exp": now.timestamp() + REMEMBER_BROWSER_DAYS * 86_400,
        "remembered_at": now.timestamp_millis(),
    });
    Ok(user_tokens::sign_rs256(&app.keys, &claims)?)
}

/// `POST /u/login`: the password step, through the password grants' own checks.
pub async fn submit_login(
    app: &App,
    state: &str,
    (username, password): (&str, &str),
    browser: &Browser,
) -> Result<Step, PageError> {
    let (request, _) = open_transaction(app, state, browser)?;
    let client = transaction_client(app, &request).await?;
    if username.is_empty() || password.is_empty() {
        return Ok(Step::Retry {
            status: StatusCode::BAD_REQUEST,
            message: "Enter your email or username and password.".into(),
        });
    }
    let connection = database_connection(app, &client, Some(&request.connection)).await?;
    let token_request = form_request(&client, &browser.origin);
    let checked =
        check_password(app, &token_request, (&client, &connection), (username, password), &browser.origin.ip).await;
    let credential = match checked {
        Ok(credential) => credential,
        Err(error) if error.status.is_server_error() => return Err(error.into()),
        Err(error) => {
            let status = if error.status == StatusCode::FORBIDDEN { StatusCode::BAD_REQUEST } else { error.status };
            return Ok(Step::Retry { status, message: error.error_description });
        }
    };
    let skip_mfa = remembered(app, browser, &credential);
    if credential.multifactor && !skip_mfa {
        let device_id = browser.device_id.as_deref().unwrap_or_default();
        return Ok(Step::Mfa { state: transaction(app, &request, device_id, Some(&credential.user_id))? });
    }
    let factor = (credential.multifactor && skip_mfa).then_some(SecondFactor::RememberedBrowser);
    let answer = complete(app, (&client, &request), &credential.user_id, factor, browser).await?;
    Ok(Step::Done { answer, remember: None, recovery_code: None })
}

/// `POST /u/mfa`: the second step, with a TOTP code (`otp`) or a recovery code.
pub async fn submit_mfa(
    app: &App,
    state: &str,
    (otp, recovery_code, remember): (Option<&str>, Option<&str>, bool),
    browser: &Browser,
) -> Result<Step, PageError> {
    let (request, user_id) = open_transaction(app, state, browser)?;
    let user_id = user_id.ok_or_else(PageError::invalid_transaction)?;
    let client = transaction_client(app, &request).await?;
    let logged = |kind| {
        let mut logged = event(app, kind, &client, &browser.origin);
        logged.user_id = Some(user_id.clone());
        logged.connection = Some(request.connection.clone());
        logged
    };
    let (factor, new_code) = match (otp, recovery_code) {
        (Some(otp), _) => {
            let methods = app.store.totp_secrets(&user_id).await?;
            let Some(used) = totp_match(&methods, otp.trim()) else {
                app.store.log(failure(logged(kind::MFA_FAILED), "Invalid otp_code."));
                let message = "The code you entered is invalid.".to_owned();
                return Ok(Step::Retry { status: StatusCode::BAD_REQUEST, message });
            };
            app.store.record_method_use(&user_id, used, &time::now()).await?;
            app.store.log(logged(kind::MFA_SUCCEEDED));
            (SecondFactor::Otp, None)
        }
        (None, Some(code)) => {
            let (new_code, replacement) = new_recovery_code(time::now());
            let hash = ids::sha256_hex(&code.trim().to_ascii_uppercase());
            if !app.store.redeem_recovery_code(&user_id, &hash, replacement).await? {
                app.store.log(failure(logged(kind::RECOVERY_FAILED), "Invalid recovery_code."));
                let message = "The recovery code you entered is invalid.".to_owned();
                return Ok(Step::Retry { status: StatusCode::BAD_REQUEST, message });
            }
            app.store.log(logged(kind::RECOVERY_SUCCEEDED));
            (SecondFactor::RecoveryCode, Some(new_code))
        }
        (None, None) => {
            return Ok(Step::Retry { status: StatusCode::BAD_REQUEST, message: "Enter the code.".into() });
        }
    };
    let remember = if remember { Some(remember_cookie(app, &user_id)?) } else { None };
    let answer = complete(app, (&client, &request), &user_id, Some(factor), browser).await?;
    Ok(Step::Done { answer, remember, recovery_code: new_code })
}

/// Ends a login that checked out: a new session (ending the one the browser had), the login
/// stamped on the profile, a code for the client, and the `s` event.
async fn complete(
    app: &App,
    (client, request): (&ClientRecord, &AuthorizeRequest),
    user_id: &str,
    factor: Option<SecondFactor>,
    browser: &Browser,
) -> Result<Answer, PageError> {
    let now = time::now();
    let lifetimes = SessionLifetimes::default();
    let previous = cookie_session(app, browser, &now).await?.map(|s| s.id);
    let session = Session::new(user_id, &client.client_id, &browser.origin, factor, lifetimes, now);
    let (cookie, cookie_hash) = session_cookie(&session.id);
    let (code, code_hash) = authorize::new_code();
    let grant = AuthorizationCode {
        user_id: user_id.to_owned(),
        session_id: session.id.clone(),
        mfa: factor.is_some(),
        expires_at: now + chrono::Duration::seconds(CODE_SECONDS),
        request: request.clone(),
    };
    let stored = (code_hash, client.client_id.clone(), grant);
    let user = app
        .store
        .open_session(session.clone(), cookie_hash, previous, &browser.origin.ip, stored)
        .await?
        .ok_or_else(PageError::invalid_transaction)?;
    app.store.log(login_event(app, kind::SUCCESS_LOGIN, client, browser, (&user, &session), &request.connection));
    let lives = (session.expires_at - now).num_seconds();
    Ok(code_answer(request, code, Some((cookie, lives))))
}

/// `grant_type=authorization_code`: a browser login's code for its tokens, once. The
/// `redirect_uri` must be the one `/authorize` was given, and the `code_verifier` must answer
/// its PKCE challenge.
pub async fn code_grant(app: &App, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(&app.store, request, "authorization_code").await?;
    let code = request.required("code")?;
    let now = time::now();
    let failed = |description: &str| {
        app.store.log(failure(request.log_event(kind::FAILED_CODE_EXCHANGE, Some(&client)), description));
        OAuthError::invalid_grant(description)
    };
    let Some(grant) = app.store.redeem_code(&ids::sha256_hex(code), &client.client_id, &now).await? else {
        return Err(failed("Invalid authorization code"));
    };
    let asked = &grant.request;
    let redirect_matches = match request.field("redirect_uri") {
        Some(uri) => uri == asked.redirect_uri,
        None => !asked.redirect_uri_given,
    };
    if !redirect_matches {
        return Err(failed("Invalid redirect_uri"));
    }
    let verified = match (&asked.code_challenge, request.field("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            authorize::pkce_verifies(challenge, asked.code_challenge_method.as_deref().unwrap_or("plain"), verifier)
        }
        (None, None) => true,
        _ => false,
    };
    if !verified {
        return Err(failed("Failed to verify code verifier"));
    }
    let user = app.store.user(&grant.user_id).await?.ok_or_else(|| failed("Invalid authorization code"))?;
    if user.blocked == Some(true) {
        return Err(OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked"));
    }
    let granted =
        user_tokens::grant(&app.store, &user.user_id, asked.audience.as_deref(), asked.scope.as_deref()).await?;
    let refresh = login::refresh_token_for(
        request,
        (&client, &asked.connection),
        &user.user_id,
        &granted,
        (&request.ip, Some(&grant.session_id)),
        &now,
    );
    let (refresh_value, refresh_row) = refresh.unzip();
    if let Some(row) = refresh_row {
        app.store.insert_refresh_token(row).await?;
    }
    let claims = SessionClaims { sid: grant.session_id.clone(), nonce: asked.nonce.clone() };
    let method = Method::AuthorizationCode { mfa: grant.mfa };
    let mut response = user_tokens::mint(&app.keys, &app.issuer, &client, &user, &granted, method, Some(&claims))?;
    response.refresh_token = refresh_value;
    let mut exchanged = request.log_event(kind::SUCCESS_CODE_EXCHANGE, Some(&client));
    exchanged.user_id = Some(user.user_id.clone());
    exchanged.audience = granted.audience.clone();
    exchanged.scope = Some(granted.scope_text());
    exchanged.connection = Some(asked.connection.clone());
    app.store.log(exchanged);
    Ok(response)
}

/// What a logout does: where the browser goes next (or a plain page), and whether the
/// browser's cookies are to be cleared (always, once it is accepted).
#[derive(Debug)]
pub enum LoggedOut {
    Redirect(String),
    /// No URL to go back to: Auth0 answers a plain `OK`.
    Page,
    Refused(PageError),
}

/// `GET /v2/logout`: ends the browser's session, then sends it to `returnTo` if the client
/// (`client_id`) lists it among its `allowed_logout_urls`; without `returnTo`, to the client's
/// first allowed logout URL.
pub async fn logout(app: &App, params: &[(String, String)], browser: &Browser) -> Result<LoggedOut, PageError> {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let client = match param("client_id") {
        Some(id) => app.store.client_record(id).await?,
        None => None,
    };
    let allowed = client.as_ref().map(|c| callbacks(c, "allowed_logout_urls")).unwrap_or_default();
    let next = match param("returnTo") {
        Some(url) if authorize::logout_url_allowed(&allowed, url) => LoggedOut::Redirect(url.to_owned()),
        Some(url) => {
            let description = format!(
                "The \"returnTo\" querystring parameter \"{url}\" is not defined as a valid URL in \"Allowed Logout URLs\". \
                 To add a new URL, please do it here: https://manage.auth0.com/#/account/advanced"
            );
            let mut failed = LogEvent::new(kind::FAILED_LOGOUT);
            failed.ip = Some(browser.origin.ip.clone());
            failed.user_agent = browser.origin.user_agent.clone();
            failed.client_id = client.as_ref().map(|c| c.client_id.clone());
            failed.description = Some(description.clone());
            app.store.log(failed);
            return Ok(LoggedOut::Refused(PageError::bad_request("invalid_request", description)));
        }
        None => allowed.first().map_or(LoggedOut::Page, |url| LoggedOut::Redirect(url.clone())),
    };
    end_session(app, client.as_ref(), browser).await?;
    Ok(next)
}

/// `GET /oidc/logout` (OpenID Connect RP-initiated logout): the client is the one the
/// `id_token_hint` was issued to (or `client_id`); `post_logout_redirect_uri` must be one of its
/// `allowed_logout_urls`, and gets `state` back.
pub async fn oidc_logout(app: &App, params: &[(String, String)], browser: &Browser) -> Result<LoggedOut, PageError> {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let hinted = match param("id_token_hint") {
        Some(hint) => Some(id_token_client(app, hint).await?.ok_or_else(|| {
            PageError::bad_request("invalid_request", "The id_token_hint parameter is not a valid ID token.")
        })?),
        None => None,
    };
    let client = match (hinted, param("client_id")) {
        (Some(client), Some(id)) if client.client_id != id => {
            return Ok(LoggedOut::Refused(PageError::bad_request(
                "invalid_request",
                "The client_id parameter does not match the id_token_hint's audience.",
            )));
        }
        (Some(client), _) => Some(client),
        (None, Some(id)) => app.store.client_record(id).await?,
        (None, None) => None,
    };
    let next = match param("post_logout_redirect_uri") {
        None => LoggedOut::Page,
        Some(_) if client.is_none() => {
            let description = "A post_logout_redirect_uri needs an id_token_hint or a client_id.";
            return Ok(LoggedOut::Refused(PageError::bad_request("invalid_request", description)));
        }
        Some(url) => {
            let allowed = client.as_ref().map(|c| callbacks(c, "allowed_logout_urls")).unwrap_or_default();
            if !authorize::url_allowed(&allowed, url) {
                let description = format!(
                    "The \"post_logout_redirect_uri\" parameter \"{url}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
                );
                return Ok(LoggedOut::Refused(PageError::bad_request("invalid_request", description)));
            }
            let state: Vec<(&str, &str)> = param("state").map(|s| ("state", s)).into_iter().collect();
            LoggedOut::Redirect(authorize::redirect_location(url, ResponseMode::Query, &state))
        }
    };
    end_session(app, client.as_ref(), browser).await?;
    Ok(next)
}

/// The client an ID token of this tenant was issued to (expired ones too, as OIDC allows).
async fn id_token_client(app: &App, token: &str) -> anyhow::Result<Option<ClientRecord>> {
    let unverified = token.split('.').nth(1).and_then(|payload| {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok()
    });
    let Some(audience) = unverified.as_ref().and_then(|c| c.get("aud")).and_then(Value::as_str) else {
        return Ok(None);
    };
    let Some(client) = app.store.client_record(audience).await? else { return Ok(None) };
    let header = jsonwebtoken::decode_header(token).ok();
    let valid = if header.is_some_and(|h| h.alg == jsonwebtoken::Algorithm::HS256) {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[&app.issuer.issuer]);
        validation.set_audience(&[&client.client_id]);
        validation.validate_exp = false;
        let key = jsonwebtoken::DecodingKey::from_secret(client.client_secret.as_bytes());
        jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
    } else {
        user_tokens::verify_rs256(&app.keys, &app.issuer, &client.client_id, token, false).is_ok()
    };
    Ok(valid.then_some(client))
}

/// Ends the browser's session, if it has one, and logs `slo`.
async fn end_session(app: &App, client: Option<&ClientRecord>, browser: &Browser) -> anyhow::Result<()> {
    let now = time::now();
    let Some(session) = cookie_session(app, browser, &now).await? else { return Ok(()) };
    let Some(ended) = app.store.end_session(&session.id).await? else { return Ok(()) };
    let mut logged = LogEvent::new(kind::SUCCESS_LOGOUT);
    logged.ip = Some(browser.origin.ip.clone());
    logged.user_agent = browser.origin.user_agent.clone();
    logged.client_id = client.map(|c| c.client_id.clone());
    logged.client_name = client.map(|c| c.name.clone());
    logged.user_id = Some(ended.user_id.clone());
    logged.details = details(&json!({"session_id": ended.id}));
    app.store.log(logged);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_keeps_only_the_hash_of_its_secret() {
        let (cookie, hash) = session_cookie("sid123");
        let (id, secret) = cookie.split_once('.').unwrap();
        assert_eq!(id, "sid123");
        assert_eq!(secret.len(), 43);
        assert_eq!(hash, ids::sha256_hex(secret));
    }
}
