//! `POST /users`: from a validated payload to a new user, by the rules of its connection.

use serde_json::{Map, Value};

use super::connection::{Connection, ConnectionKind};
use super::ids;
use super::metadata::{self, Kind};
use super::password_policy::PasswordRejection;
use super::time::Timestamp;
use super::user::{Identity, Metadata, User, default_picture};
use super::username;
use crate::error::ApiError;

/// A user ready to store, and the password to hash for its identity.
#[derive(Debug)]
pub struct NewUser {
    pub user: User,
    pub password: Option<String>,
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(body: &Map<String, Value>, key: &str) -> Option<bool> {
    body.get(key).and_then(Value::as_bool)
}

fn object(body: &Map<String, Value>, key: &str) -> Option<Metadata> {
    body.get(key).and_then(Value::as_object).cloned()
}

fn missing(property: &str) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: 'Missing required property: {property}'."))
}

/// Auth0 checks a database user's credentials in a second validation layer whose messages
/// read `"password" is required` (seen on a live tenant).
fn credential_missing(property: &str) -> ApiError {
    ApiError::invalid_body(format!("\"{property}\" is required"))
}

pub fn password_error(rejection: PasswordRejection) -> ApiError {
    match rejection {
        PasswordRejection::TooWeak => ApiError::bad_request(None, "PasswordStrengthError: Password is too weak"),
        PasswordRejection::TooLong => ApiError::bad_request(None, "PasswordStrengthError: Password is too long"),
    }
}

/// What Auth0 shows for the display attributes a user was given none of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayDefaults {
    pub name: String,
    pub nickname: String,
    pub picture: String,
}

/// `name` is the user's identifier (its email, else its phone number, else its username),
/// `nickname` the email's local part (else the identifier), `picture` the email's Gravatar with
/// the initials of `name` (the one given, else the default).
pub fn display_defaults(
    email: Option<&str>,
    phone_number: Option<&str>,
    username: Option<&str>,
    name: Option<&str>,
) -> DisplayDefaults {
    let identifier = email.or(phone_number).or(username).unwrap_or_default();
    let nickname = match email {
        Some(email) => email.split('@').next().unwrap_or_default(),
        None => identifier,
    };
    let picture = default_picture(email, name.unwrap_or(identifier));
    DisplayDefaults { name: identifier.to_owned(), nickname: nickname.to_owned(), picture }
}

/// Builds the user that `body` (already checked against `CREATE_USER`) asks for.
pub fn new_user(body: &Map<String, Value>, connection: &Connection, now: Timestamp) -> Result<NewUser, ApiError> {
    let kind = connection.kind();
    if kind == ConnectionKind::External {
        return Err(ApiError::invalid_body(
            "Connection does not support user creation through the API. It must either be a database or passwordless connection.",
        ));
    }
    let password = text(body, "password");
    let phone_number = text(body, "phone_number");
    // Database and email connections identify users by a lower-cased email.
    let email = text(body, "email").map(|e| if kind == ConnectionKind::Sms { e } else { e.to_lowercase() });

    match kind {
        ConnectionKind::Database => {
            if connection.requires_username() && !body.contains_key("username") {
                return Err(missing("username"));
            }
            if email.is_none() {
                return Err(if connection.requires_username() {
                    credential_missing("email")
                } else {
                    missing("email")
                });
            }
            if password.is_none() {
                return Err(credential_missing("password"));
            }
        }
        ConnectionKind::Email if email.is_none() => return Err(missing("email")),
        ConnectionKind::Sms if phone_number.is_none() => return Err(missing("phone_number")),
        _ => {}
    }
    if kind != ConnectionKind::Database && password.is_some() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'Password is only valid for auth0 connection strategy' on property password (Initial password for this user. Only valid for auth0 connection strategy.).",
        ));
    }

    let username = match (text(body, "username"), connection.requires_username()) {
        (Some(name), true) => Some(username::normalise(connection, &name)?),
        (None, true) => None,
        (Some(_), false) => {
            return Err(ApiError::invalid_body("Cannot set username for connection without requires_username."));
        }
        (None, false) => None,
    };

    if let Some(password) = &password {
        connection.password_policy().check(password).map_err(password_error)?;
    }

    let app_metadata = object(body, "app_metadata");
    let user_metadata = object(body, "user_metadata");
    if let Some(m) = &app_metadata {
        metadata::validate(Kind::App, m)?;
    }
    if let Some(m) = &user_metadata {
        metadata::validate(Kind::User, m)?;
    }

    let provider_user_id = match text(body, "user_id").filter(|id| !id.is_empty()) {
        Some(given) => given,
        None => ids::object_id(&now),
    };
    let given_name = text(body, "name");
    let defaults =
        display_defaults(email.as_deref(), phone_number.as_deref(), username.as_deref(), given_name.as_deref());
    let name = given_name.unwrap_or(defaults.name);
    let nickname = text(body, "nickname").unwrap_or(defaults.nickname);
    let picture = text(body, "picture").unwrap_or(defaults.picture);
    let (email_verified, phone_verified) = match kind {
        ConnectionKind::Sms => (
            email.as_ref().map(|_| flag(body, "email_verified").unwrap_or(false)),
            Some(flag(body, "phone_verified").unwrap_or(false)),
        ),
        _ => (Some(flag(body, "email_verified").unwrap_or(false)), flag(body, "phone_verified")),
    };

    let user = User {
        user_id: format!("{}|{provider_user_id}", connection.provider()),
        email,
        email_verified,
        username,
        phone_number,
        phone_verified,
        name: Some(name),
        nickname: Some(nickname),
        given_name: text(body, "given_name"),
        family_name: text(body, "family_name"),
        picture: Some(picture),
        blocked: flag(body, "blocked"),
        // Auth0 leaves an empty app_metadata out, but keeps an empty user_metadata.
        app_metadata: app_metadata.filter(|m| !m.is_empty()),
        user_metadata,
        identities: vec![Identity {
            connection: connection.name.clone(),
            user_id: provider_user_id,
            provider: connection.provider().to_owned(),
            is_social: connection.is_social(),
            profile_data: None,
        }],
        multifactor: None,
        multifactor_last_modified: None,
        last_ip: None,
        last_login: None,
        logins_count: None,
        last_password_reset: None,
        created_at: now,
        updated_at: now,
    };
    Ok(NewUser { user, password })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;
    use serde_json::json;

    fn create(body: Value, connection: &Connection) -> Result<NewUser, ApiError> {
        new_user(body.as_object().unwrap(), connection, time::now())
    }

    fn database() -> Connection {
        Connection::default_database("con_1".into(), false)
    }

    #[test]
    fn database_user_defaults_match_recording() {
        let created = create(
            json!({"connection": "Username-Password-Authentication", "email": "Chuck@Example.com", "password": "Passw0rd!"}),
            &database(),
        )
        .unwrap();
        let user = created.user;
        assert_eq!(user.email.as_deref(), Some("chuck@example.com"));
        assert_eq!(user.name.as_deref(), Some("chuck@example.com"));
        assert_eq!(user.nickname.as_deref(), Some("chuck"));
        assert_eq!(user.email_verified, Some(false));
        assert_eq!(user.blocked, None);
        assert!(user.user_id.starts_with("auth0|") && user.user_id.len() == 30);
        assert_eq!(user.identities[0].user_id, &user.user_id[6..]);
        assert!(user.picture.unwrap().contains("0b79e7da7bc7877560620cf8f2cc93ae"));
        assert_eq!(created.password.as_deref(), Some("Passw0rd!"));
    }

    #[test]
    fn database_rules() {
        let db = database();
        let err = create(json!({"connection": "c", "password": "Passw0rd!"}), &db).unwrap_err();
        assert_eq!(err.message, "Payload validation error: 'Missing required property: email'.");
        let err = create(json!({"connection": "c", "email": "a@b.co"}), &db).unwrap_err();
        assert_eq!(err.message, "\"password\" is required");
        let err = create(json!({"connection": "c", "email": "a@b.co", "password": "weak"}), &db).unwrap_err();
        assert_eq!((err.status.as_u16(), err.error_code.clone()), (400, None));
        assert_eq!(err.message, "PasswordStrengthError: Password is too weak");
        let err = create(json!({"connection": "c", "email": "a@b.co", "password": "Passw0rd!", "username": "x"}), &db)
            .unwrap_err();
        assert_eq!(err.message, "Cannot set username for connection without requires_username.");
        let custom =
            create(json!({"connection": "c", "email": "a@b.co", "password": "Passw0rd!", "user_id": "abc"}), &db)
                .unwrap();
        assert_eq!(custom.user.user_id, "auth0|abc");
    }

    #[test]
    fn username_required_when_connection_says_so() {
        let db = Connection::default_database("con_1".into(), true);
        let err = create(json!({"connection": "c", "email": "a@b.co", "password": "Passw0rd!"}), &db).unwrap_err();
        assert_eq!(err.message, "Payload validation error: 'Missing required property: username'.");
        let ok =
            create(json!({"connection": "c", "email": "a@b.co", "password": "Passw0rd!", "username": "Chuck"}), &db)
                .unwrap();
        assert_eq!(ok.user.username.as_deref(), Some("chuck"));
    }

    #[test]
    fn passwordless_rules() {
        let sms = Connection::passwordless("con_2".into(), "sms");
        let err = create(json!({"connection": "sms", "email": "a@b.co"}), &sms).unwrap_err();
        assert_eq!(err.message, "Payload validation error: 'Missing required property: phone_number'.");
        let user = create(json!({"connection": "sms", "phone_number": "+14155550100"}), &sms).unwrap().user;
        assert!(user.user_id.starts_with("sms|"));
        assert_eq!(user.phone_verified, Some(false));
        assert_eq!(user.email_verified, None);
        assert_eq!(user.name.as_deref(), Some("+14155550100"));
        assert_eq!(user.nickname.as_deref(), Some("+14155550100"));
        assert_eq!(user.picture.as_deref(), Some("https://cdn.auth0.com/avatars/default.png"));
        let email = Connection::passwordless("con_3".into(), "email");
        assert!(create(json!({"connection": "email", "email": "a@b.co", "password": "x"}), &email).is_err());
        assert!(
            create(json!({"connection": "email", "email": "a@b.co"}), &email)
                .unwrap()
                .user
                .user_id
                .starts_with("email|")
        );
    }

    #[test]
    fn empty_app_metadata_is_left_out_but_user_metadata_kept() {
        let user = create(
            json!({"connection": "c", "email": "a@b.co", "password": "Passw0rd!", "app_metadata": {}, "user_metadata": {}}),
            &database(),
        )
        .unwrap()
        .user;
        assert_eq!(user.app_metadata, None);
        assert_eq!(user.user_metadata, Some(Metadata::new()));
    }
}
