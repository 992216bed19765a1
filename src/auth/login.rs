//! The grants a user signs in with: password (and password-realm), refresh token, and the MFA
//! grants that answer an `mfa_required` challenge; and `/oauth/revoke`. Each writes what it
//! did to the log with Auth0's event codes.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::oauth::{
    MFA_OTP, MFA_RECOVERY_CODE, OAuthError, PASSWORD_REALM, TokenRequest, TokenResponse, authenticate_client,
};
use super::password;
use super::user_tokens::{self, Granted, Method};
use crate::app::App;
use crate::domain::authentication_method::new_recovery_code;
use crate::domain::client::ClientRecord;
use crate::domain::connection::{Connection, ConnectionKind};
use crate::domain::log_event::{LogEvent, details, kind};
use crate::domain::refresh_token::{Device, Grant, Lifetimes, NewRefreshToken};
use crate::domain::time;
use crate::domain::{ids, user::User};
use crate::store::logins::{Credential, Exchange};

/// Brute-force protection's threshold: failed logins in a row for one user from one IP.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a brute-force block lasts without an unblock (Auth0: 30 days).
pub const BLOCK_DAYS: i64 = 30;
/// How long an `mfa_token` is good for (Auth0: 10 minutes, not configurable).
const MFA_TOKEN_SECONDS: i64 = 600;

const WRONG_CREDENTIALS: &str = "Wrong email or password.";
const INVALID_REFRESH_TOKEN: &str = "Unknown or invalid refresh token.";
const TOO_MANY_ATTEMPTS: &str = "Your account has been blocked after multiple consecutive login attempts. We\u{2019}ve sent \
                                 you an email with instructions on how to unblock it.";

fn with_connection(mut event: LogEvent, connection: &Connection) -> LogEvent {
    event.connection = Some(connection.name.clone());
    event.connection_id = Some(connection.id.clone());
    event.strategy = Some(connection.strategy.clone());
    event.strategy_type = Some("database".into());
    event
}

pub(crate) fn failure(mut event: LogEvent, message: &str) -> LogEvent {
    event.description = Some(message.to_owned());
    event.details = details(&json!({"error": {"message": message}}));
    event
}

/// The IP a login counts against: a trusted client's `auth0-forwarded-for`, else the peer's.
fn login_ip(request: &TokenRequest, client: &ClientRecord) -> String {
    let trusted = client.attributes.get("is_token_endpoint_ip_header_trusted") == Some(&Value::Bool(true))
        && request.client_secret.is_some();
    match &request.forwarded_for {
        Some(ip) if trusted => ip.clone(),
        _ => request.ip.clone(),
    }
}

/// `grant_type=password` (the tenant's default directory) and `password-realm` (the
/// connection `realm` names).
pub async fn password_grant(app: &App, request: &TokenRequest, grant_type: &str) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(&app.store, request, grant_type).await?;
    let username = request.required("username")?;
    let password = request.required("password")?;
    let realm = request.field("realm").filter(|_| grant_type == PASSWORD_REALM);
    let connection = database_connection(app, &client, realm).await?;
    let ip = login_ip(request, &client);
    let credential = check_password(app, request, (&client, &connection), (username, password), &ip).await?;
    let with_user = |kind| LogEvent {
        user_id: Some(credential.user_id.clone()),
        ip: Some(ip.clone()),
        user_name: Some(username.to_owned()),
        ..with_connection(request.log_event(kind, Some(&client)), &connection)
    };
    let granted =
        user_tokens::grant(&app.store, &credential.user_id, request.field("audience"), request.field("scope")).await?;
    if credential.multifactor {
        let mfa_token = mfa_token(app, &client, &credential.user_id, &connection.name, &granted)?;
        app.store.log(with_user(kind::MFA_REQUIRED));
        let mut challenge =
            OAuthError::new(StatusCode::FORBIDDEN, "mfa_required", "Multifactor authentication required");
        challenge.mfa_token = Some(mfa_token);
        return Err(challenge);
    }
    let signed = SignIn { client: &client, connection: &connection, ip: &ip, granted, method: Method::Password };
    let response = sign_in(app, request, &credential.user_id, signed, None).await?;
    app.store.log(with_user(kind::SUCCESS_LOGIN));
    app.store.log(with_user(kind::SUCCESS_PASSWORD_EXCHANGE));
    Ok(response)
}

/// The database connection a login names (`realm`, or the tenant's default directory), if
/// `client` may log users in with it.
pub async fn database_connection(
    app: &App,
    client: &ClientRecord,
    realm: Option<&str>,
) -> Result<Connection, OAuthError> {
    let realm = match realm {
        Some(realm) => realm.to_owned(),
        None => app.default_directory.clone().ok_or_else(|| {
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Authorization server not configured with default connection.",
            )
        })?,
    };
    let connection = app
        .store
        .connection_by_name(&realm)
        .await?
        .filter(|c| c.kind() == ConnectionKind::Database)
        .ok_or_else(|| OAuthError::new(StatusCode::FORBIDDEN, "invalid_request", "Unknown connection"))?;
    if !connection.enabled_clients.contains(&client.client_id) {
        return Err(OAuthError::new(StatusCode::FORBIDDEN, "invalid_request", "the connection is not enabled"));
    }
    Ok(connection)
}

/// The password step every login shares, the password grants' and the login form's: the user
/// `username` names in `connection`, if `password` is theirs, they are not blocked and
/// brute-force protection lets `ip` try. Wrong passwords count towards a block; each refusal is
/// logged (`fu`, `fp`, `f`, `limit_wc`). The hash is checked on the blocking pool.
pub async fn check_password(
    app: &App,
    request: &TokenRequest,
    (client, connection): (&ClientRecord, &Connection),
    (username, password): (&str, &str),
    ip: &str,
) -> Result<Credential, OAuthError> {
    let logged = |kind| {
        let mut event = with_connection(request.log_event(kind, Some(client)), connection);
        event.ip = Some(ip.to_owned());
        event.user_name = Some(username.to_owned());
        event
    };
    let now = time::now();
    let Some(credential) = app.store.login_credential(&connection.name, username, ip).await? else {
        password::waste_a_verification(password.to_owned()).await?;
        app.store.log(failure(logged(kind::UNKNOWN_USER), WRONG_CREDENTIALS));
        return Err(OAuthError::invalid_grant(WRONG_CREDENTIALS));
    };
    let with_user = |kind| LogEvent { user_id: Some(credential.user_id.clone()), ..logged(kind) };
    // Turning the connection's protection off also lifts the blocks it made.
    let protected = brute_force_protected(connection);
    if protected && credential.blocked_from_ip_at.is_some_and(|at| at > now - chrono::Duration::days(BLOCK_DAYS)) {
        app.store.log(failure(with_user(kind::FAILED_LOGIN), TOO_MANY_ATTEMPTS));
        return Err(OAuthError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", TOO_MANY_ATTEMPTS));
    }
    let matches = match credential.password_hash.clone() {
        Some(hash) => password::verify(password.to_owned(), hash).await?,
        None => false,
    };
    // An imported hash in another algorithm becomes the tenant's own on the first login.
    if matches && credential.password_hash.as_deref().is_some_and(password::needs_upgrade) {
        let upgraded = password::hash(password.to_owned()).await?;
        app.store.update_user(&credential.user_id, Some(&upgraded), |_| {}).await.map_err(anyhow::Error::from)?;
    }
    if !matches {
        if protected
            && app
                .store
                .record_failed_login(&credential.user_id, ip, (&connection.name, username), MAX_ATTEMPTS, &now)
                .await?
        {
            let description = format!(
                "User ({username}) attempted {MAX_ATTEMPTS} consecutive logins unsuccessfully. Brute force protection is \
                 enabled for this connection, further attempts are blocked from this IP address for this user."
            );
            app.store.log(LogEvent { description: Some(description), ..with_user(kind::BLOCKED_ACCOUNT) });
        }
        app.store.log(failure(with_user(kind::WRONG_PASSWORD), WRONG_CREDENTIALS));
        return Err(OAuthError::invalid_grant(WRONG_CREDENTIALS));
    }
    if credential.blocked {
        app.store.log(failure(with_user(kind::FAILED_LOGIN), "user is blocked"));
        return Err(OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked"));
    }
    Ok(credential)
}

/// Whether a connection's brute-force protection is on (`options.brute_force_protection`, on
/// unless set to false).
pub fn brute_force_protected(connection: &Connection) -> bool {
    connection.options.get("brute_force_protection") != Some(&Value::Bool(false))
}

/// What a completed login was granted, and by whom.
struct SignIn<'a> {
    client: &'a ClientRecord,
    connection: &'a Connection,
    ip: &'a str,
    granted: Granted,
    method: Method,
}

/// Ends a login that checked out: mints the tokens (and a refresh token when `offline_access`
/// was granted and the client and API allow it), stamps the login on the profile and stores the
/// refresh token, in one write.
async fn sign_in(
    app: &App,
    request: &TokenRequest,
    user_id: &str,
    sign_in: SignIn<'_>,
    recovery_code: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let now = time::now();
    let SignIn { client, connection, ip, granted, method } = sign_in;
    let refresh = refresh_token_for(request, (client, &connection.name), user_id, &granted, (ip, None), &now);
    let (refresh_value, refresh_row) = refresh.unzip();
    let user = app
        .store
        .record_login(user_id, ip, &now, refresh_row)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant(WRONG_CREDENTIALS))?;
    let mut response = user_tokens::mint(&app.keys, &app.issuer, client, &user, &granted, method, None)?;
    response.refresh_token = refresh_value;
    response.recovery_code = recovery_code;
    Ok(response)
}

/// A refresh token for a login, when `offline_access` was granted and the client and the API
/// allow one: bound to the browser session it was issued in, if any; it remembers the device
/// it was issued to.
pub fn refresh_token_for(
    request: &TokenRequest,
    (client, connection): (&ClientRecord, &str),
    user_id: &str,
    granted: &Granted,
    (ip, session_id): (&str, Option<&str>),
    now: &crate::domain::time::Timestamp,
) -> Option<(String, NewRefreshToken)> {
    let allowed = granted.has("offline_access") && granted.offline_allowed && client.allows_grant("refresh_token");
    allowed.then(|| {
        let device = Device {
            initial_ip: Some(ip.to_owned()),
            initial_user_agent: request.user_agent.clone(),
            last_ip: Some(ip.to_owned()),
            last_user_agent: request.user_agent.clone(),
        };
        let grant = Grant {
            audience: granted.audience.clone(),
            scope: granted.scope_text(),
            connection: connection.to_owned(),
            device,
        };
        user_tokens::new_refresh_token(client, user_id, (grant, session_id.map(str::to_owned)), now)
    })
}

/// The `mfa_token` of a challenge: a short-lived JWT, signed by the tenant, that carries what
/// the password grant decided, so that the MFA grant can finish the login without it.
fn mfa_token(
    app: &App,
    client: &ClientRecord,
    user_id: &str,
    connection: &str,
    granted: &Granted,
) -> Result<String, OAuthError> {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": app.issuer.issuer,
        "sub": user_id,
        "aud": mfa_audience(app),
        "azp": client.client_id,
        "iat": now,
        "exp": now + MFA_TOKEN_SECONDS,
        "connection": connection,
        "api": granted.audience,
        "scope": granted.scope_text(),
    });
    user_tokens::sign_rs256(&app.keys, &claims)
}

fn mfa_audience(app: &App) -> String {
    format!("{}mfa/", app.issuer.issuer)
}

/// What an `mfa_token` carries, once checked: the user, the connection and what was asked for.
struct Challenge {
    user_id: String,
    connection: String,
    audience: Option<String>,
    scope: String,
}

fn check_mfa_token(app: &App, client: &ClientRecord, token: &str) -> Result<Challenge, OAuthError> {
    let malformed = || OAuthError::invalid_grant("Malformed mfa_token");
    let claims = user_tokens::verify_rs256(&app.keys, &app.issuer, &mfa_audience(app), token, true).map_err(
        |kind| match kind {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                OAuthError::new(StatusCode::UNAUTHORIZED, "expired_token", "mfa_token is expired")
            }
            _ => malformed(),
        },
    )?;
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    if text("azp").as_deref() != Some(client.client_id.as_str()) {
        return Err(malformed());
    }
    Ok(Challenge {
        user_id: text("sub").ok_or_else(malformed)?,
        connection: text("connection").ok_or_else(malformed)?,
        audience: text("api"),
        scope: text("scope").unwrap_or_default(),
    })
}

/// Of the user's TOTP methods (id, secret), the id of the one whose current code (or the one
/// before or after) `otp` is.
pub(crate) fn totp_match<'a>(methods: &'a [(String, String)], otp: &str) -> Option<&'a str> {
    methods.iter().find_map(|(id, secret)| {
        let secret = totp_rs::Secret::try_from_base32(secret).ok()?;
        let current = totp_rs::Builder::new().with_secret(secret).build_noncompliant().check_current(otp).is_some();
        current.then_some(id.as_str())
    })
}

/// `mfa-otp` and `mfa-recovery-code`: the second step of a login that answered `mfa_required`.
pub async fn mfa_grant(app: &App, request: &TokenRequest, grant_type: &str) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(&app.store, request, grant_type).await?;
    let challenge = check_mfa_token(app, &client, request.required("mfa_token")?)?;
    let connection = app
        .store
        .connection_by_name(&challenge.connection)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("Malformed mfa_token"))?;
    let ip = login_ip(request, &client);
    let logged = |kind| LogEvent {
        user_id: Some(challenge.user_id.clone()),
        ip: Some(ip.clone()),
        ..with_connection(request.log_event(kind, Some(&client)), &connection)
    };
    let mut recovery_code = None;
    if grant_type == MFA_OTP {
        let otp = request.required("otp")?;
        let methods = app.store.totp_secrets(&challenge.user_id).await?;
        let Some(used) = totp_match(&methods, otp) else {
            app.store.log(failure(logged(kind::MFA_FAILED), "Invalid otp_code."));
            app.store.log(failure(logged(kind::FAILED_OTP_EXCHANGE), "Invalid otp_code."));
            return Err(OAuthError::invalid_grant("Invalid otp_code."));
        };
        app.store.record_method_use(&challenge.user_id, used, &time::now()).await?;
        app.store.log(logged(kind::MFA_SUCCEEDED));
    } else {
        debug_assert_eq!(grant_type, MFA_RECOVERY_CODE);
        let code = request.required("recovery_code")?;
        let (new_code, replacement) = new_recovery_code(time::now());
        let hash = ids::sha256_hex(&code.trim().to_ascii_uppercase());
        if !app.store.redeem_recovery_code(&challenge.user_id, &hash, replacement).await? {
            app.store.log(failure(logged(kind::RECOVERY_FAILED), "Invalid recovery_code."));
            app.store.log(failure(logged(kind::FAILED_RECOVERY_EXCHANGE), "Invalid recovery_code."));
            return Err(OAuthError::invalid_grant("Invalid recovery_code."));
        }
        app.store.log(logged(kind::RECOVERY_SUCCEEDED));
        recovery_code = Some(new_code);
    }
    let granted = user_tokens::grant(
        &app.store,
        &challenge.user_id,
        challenge.audience.as_deref(),
        Some(challenge.scope.as_str()),
    )
    .await?;
    let signed = SignIn { client: &client, connection: &connection, ip: &ip, granted, method: Method::PasswordAndMfa };
    let response = sign_in(app, request, &challenge.user_id, signed, recovery_code).await?;
    let exchanged = if grant_type == MFA_OTP { kind::SUCCESS_OTP_EXCHANGE } else { kind::SUCCESS_RECOVERY_EXCHANGE };
    app.store.log(logged(kind::SUCCESS_LOGIN));
    app.store.log(logged(exchanged));
    Ok(response)
}

/// `grant_type=refresh_token`: new tokens for a refresh token the client holds. A rotating
/// token is answered with its successor; presenting one already rotated away revokes them all.
pub async fn refresh_grant(app: &App, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(&app.store, request, "refresh_token").await?;
    let presented = request.required("refresh_token")?;
    let now = time::now();
    let lifetimes = Lifetimes::of_client(client.attributes.get("refresh_token").and_then(Value::as_object));
    let successor = ids::random_alphanumeric(48);
    let exchange = app
        .store
        .exchange_refresh_token(
            &ids::sha256_hex(presented),
            &client.client_id,
            &now,
            &ids::sha256_hex(&successor),
            Lifetimes::expiry(lifetimes.idle, &now),
        )
        .await?;
    let refused = |kind, user_id: Option<String>| {
        let mut event = failure(request.log_event(kind, Some(&client)), INVALID_REFRESH_TOKEN);
        event.user_id = user_id;
        app.store.log(event);
        OAuthError::invalid_grant(INVALID_REFRESH_TOKEN)
    };
    let token = match exchange {
        Exchange::Granted(token) => token,
        Exchange::Invalid => return Err(refused(kind::FAILED_REFRESH_EXCHANGE, None)),
        Exchange::Reused { token_id, user_id } => {
            tracing::warn!(refresh_token = %token_id, "a rotated refresh token was presented again; its family is revoked");
            return Err(refused(kind::REFRESH_TOKEN_REUSE, Some(user_id)));
        }
    };
    let user: User =
        app.store.user(&token.user_id).await?.ok_or_else(|| refused(kind::FAILED_REFRESH_EXCHANGE, None))?;
    if user.blocked == Some(true) {
        return Err(OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked"));
    }
    let original: Vec<&str> = token.grant.scope.split_whitespace().collect();
    let scope = match request.field("scope") {
        Some(asked) => {
            if let Some(extra) = asked.split_whitespace().find(|s| !original.contains(s)) {
                return Err(OAuthError::new(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    format!("Scope \"{extra}\" was not granted to the refresh token"),
                ));
            }
            asked.to_owned()
        }
        None => token.grant.scope.clone(),
    };
    let granted = user_tokens::grant(&app.store, &user.user_id, token.grant.audience.as_deref(), Some(&scope)).await?;
    let mut response = user_tokens::mint(&app.keys, &app.issuer, &client, &user, &granted, Method::Refresh, None)?;
    if token.rotating {
        response.refresh_token = Some(successor);
    }
    let mut event = request.log_event(kind::SUCCESS_REFRESH_EXCHANGE, Some(&client));
    event.user_id = Some(user.user_id.clone());
    event.audience = token.grant.audience.clone();
    event.scope = Some(granted.scope_text());
    event.connection = Some(token.grant.connection.clone());
    app.store.log(event);
    Ok(response)
}

/// `POST /oauth/revoke`: revokes a refresh token of the calling client (and what rotated from
/// it). Revoking a token that is unknown or already revoked succeeds (RFC 7009).
pub async fn revoke(app: &App, request: &TokenRequest) -> Result<(), OAuthError> {
    let client = authenticate_client(&app.store, request, None).await?;
    let token = request.required("token")?;
    if let Some(revoked) = app.store.revoke_refresh_token(&ids::sha256_hex(token), &client.client_id).await? {
        let mut event = request.log_event(kind::REFRESH_TOKEN_REVOKED, Some(&client));
        event.user_id = Some(revoked.user_id);
        event.audience = revoked.grant.audience;
        event.details = details(&json!({"credential_id": revoked.id}));
        app.store.log(event);
    }
    Ok(())
}
