//! Usernames on connections that require one.

use super::connection::Connection;
use super::schema::is_email;
use crate::error::ApiError;

/// Besides ASCII letters and digits, Auth0 allows these twelve characters.
const ALLOWED_SPECIALS: &str = "@^$.!`-#+'~_";

/// Validates and normalises (lower-cases) a username for `connection`.
pub fn normalise(connection: &Connection, username: &str) -> Result<String, ApiError> {
    let (min, max) = connection.username_limits();
    let length = username.chars().count();
    if length < min || length > max {
        return Err(ApiError::bad_request(
            Some("invalid_body"),
            format!(
                "Payload validation error: 'The username must be between {min} and {max} characters long' on property username."
            ),
        ));
    }
    if !username.chars().all(|c| c.is_ascii_alphanumeric() || ALLOWED_SPECIALS.contains(c)) {
        return Err(ApiError::bad_request(
            Some("invalid_body"),
            format!(
                "Payload validation error: 'The username can only contain alphanumeric characters and the following: {ALLOWED_SPECIALS}' on property username."
            ),
        ));
    }
    if is_email(username) {
        return Err(ApiError::bad_request(
            Some("invalid_body"),
            "Payload validation error: 'The username cannot be an email address' on property username.",
        ));
    }
    Ok(username.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let db = Connection::default_database("con_1".into(), true);
        assert_eq!(normalise(&db, "Test-User636").unwrap(), "test-user636");
        assert!(normalise(&db, "has space").is_err());
        assert!(normalise(&db, "a_very_long_username").is_err(), "over 15");
        assert!(normalise(&db, "a@b.co").is_err(), "email");
        assert!(normalise(&db, "josé").is_err(), "accents");
    }
}
