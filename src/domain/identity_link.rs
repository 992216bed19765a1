//! Account linking (`POST /users/{id}/identities`, `DELETE /users/{id}/identities/{provider}/{user_id}`):
//! the request body, the profile a linked identity carries (`profileData`), and the standalone
//! user an unlinked identity becomes again. No I/O: the store applies these inside one write.
//!
//! What Auth0 shows (recorded by go-auth0, `TestUserManager_Link.yaml`, `_Unlink.yaml`): a linked
//! identity keeps its connection, provider and id, and carries the secondary user's profile
//! attributes as `profileData` (email, names, username, nickname, picture, the verified flags:
//! never metadata, `blocked` or the default `name`); the link and unlink answers give the
//! primary identity a `profileData` too, built from the primary's own profile.

use serde_json::{Map, Value};

use super::connection_admin::STRATEGIES;
use super::create_user::display_defaults;
use super::ids;
use super::json_schema::{Additional, Field, Schema};
use super::schema::Location;
use super::time::Timestamp;
use super::user::{Identity, Metadata, User};
use crate::error::ApiError;

/// `UserIdentityProviderEnum`: in Auth0's spec, the connection strategies
/// (`ConnectionStrategyEnum`) but the last, `auth0-adldap`.
pub const PROVIDERS: &[&str] = match STRATEGIES.split_last() {
    Some((_, providers)) => providers,
    None => &[],
};

pub(crate) fn is_connection_id(text: &str) -> bool {
    text.strip_prefix("con_").is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

const USER_ID_DESCRIPTION: &str = "user_id of the secondary user account being linked.";

/// `LinkUserIdentityRequestContent`. `user_id` is `oneOf [string (minLength 1), integer]`,
/// which the walk cannot say: it is checked apart (`secondary_id`).
pub const LINK_IDENTITY: Schema = Schema::object(
    "",
    &[
        Field {
            name: "provider",
            schema: Schema::string("Identity provider of the secondary user account being linked.").one_of(PROVIDERS),
        },
        Field {
            name: "connection_id",
            schema: Schema::string(
                "connection_id of the secondary user account being linked when more than one `auth0` database provider exists.",
            )
            .pattern("^con_[A-Za-z0-9]{16}$", is_connection_id),
        },
        Field { name: "user_id", schema: Schema::any(USER_ID_DESCRIPTION) },
        Field {
            name: "link_with",
            schema: Schema::string(
                "JWT for the secondary account being linked. If sending this parameter, `provider`, `user_id`, and `connection_id` must not be sent.",
            ),
        },
    ],
)
.additional(Additional::Forbidden)
.properties_count(Some(1), None);

/// Who to link, as the body names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRequest {
    /// Server-side: the secondary's identity, and optionally the id of its connection.
    Identity { provider: String, user_id: String, connection_id: Option<String> },
    /// Client-side: the secondary's ID token.
    Token(String),
}

/// The message of a 400 about the body that is not a schema problem.
fn body_error(message: &str) -> ApiError {
    ApiError::invalid_body(message.to_owned())
}

/// Reads a link body: checked against `LINK_IDENTITY`, then the rules the schema cannot say.
pub fn parse_link_request(body: &Value) -> Result<LinkRequest, ApiError> {
    let body = LINK_IDENTITY.validate_payload(body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let user_id = body.get("user_id").map(secondary_id).transpose()?;
    if let Some(token) = text("link_with") {
        if ["provider", "user_id", "connection_id"].iter().any(|key| body.contains_key(*key)) {
            return Err(body_error(LINK_WITH_EXCLUSIVE));
        }
        return Ok(LinkRequest::Token(token));
    }
    let Some(provider) = text("provider") else {
        return Err(Location::Payload.single("Missing required property: provider", None));
    };
    let Some(user_id) = user_id else {
        return Err(Location::Payload.single("Missing required property: user_id", None));
    };
    // go-auth0 sends the full `auth0|…` id, which Auth0 accepts.
    let user_id = without_provider(&provider, user_id);
    Ok(LinkRequest::Identity { provider, user_id, connection_id: text("connection_id") })
}

/// An identity's id inside its provider, given bare or (as go-auth0 links and Auth0's docs
/// unlink) in the full `provider|id` form.
pub fn without_provider(provider: &str, user_id: String) -> String {
    match user_id.strip_prefix(provider).and_then(|rest| rest.strip_prefix('|')) {
        Some(bare) if !bare.is_empty() => bare.to_owned(),
        _ => user_id,
    }
}

/// `link_with` sent with any of the server-side properties. The spec says they "must not be
/// sent" together but not in what words Auth0 refuses it (see docs/COMPATIBILITY.md).
pub const LINK_WITH_EXCLUSIVE: &str =
    "Payload validation error: 'link_with cannot be combined with provider, user_id or connection_id'.";

/// `user_id` of the body: a non-empty string or an integer (as its decimal text); z-schema
/// words any other value as a failed `oneOf`.
fn secondary_id(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) if !text.is_empty() && !text.contains('\0') => Ok(text.clone()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Ok(number.to_string()),
        _ => Err(Location::Payload.error(&[Location::Payload.message_at(
            "Data does not match any schemas from 'oneOf'",
            "user_id",
            USER_ID_DESCRIPTION,
        )])),
    }
}

/// The primary and the secondary are one identity.
pub fn same_identity(primary_id: &str, provider: &str, user_id: &str) -> bool {
    ids::split_user_id(primary_id) == Some((provider, user_id))
}

/// The profile a linked identity carries: the user's attributes as stored, without the ones
/// Auth0 derives when they are not set (the recordings show no `name` for users created
/// without one; `nickname` and `picture` are treated alike) and without metadata or `blocked`.
pub fn profile_data(user: &User) -> Metadata {
    let defaults = display_defaults(
        user.email.as_deref(),
        user.phone_number.as_deref(),
        user.username.as_deref(),
        user.name.as_deref(),
    );
    let mut profile = Map::new();
    let mut text = |key: &str, value: &Option<String>, default: Option<&str>| {
        if let Some(value) = value
            && Some(value.as_str()) != default
        {
            profile.insert(key.to_owned(), Value::String(value.clone()));
        }
    };
    // The recorded order (which follows the go SDK's create payload), unrecorded keys where
    // that payload would have them.
    text("email", &user.email, None);
    text("name", &user.name, Some(&defaults.name));
    text("given_name", &user.given_name, None);
    text("family_name", &user.family_name, None);
    text("username", &user.username, None);
    text("nickname", &user.nickname, Some(&defaults.nickname));
    text("phone_number", &user.phone_number, None);
    text("picture", &user.picture, Some(&defaults.picture));
    if let Some(flag) = user.phone_verified {
        profile.insert("phone_verified".to_owned(), Value::Bool(flag));
    }
    if let Some(flag) = user.email_verified {
        profile.insert("email_verified".to_owned(), Value::Bool(flag));
    }
    profile
}

/// The secondary user's identities as they join the primary's: its own identity with its
/// profile, then any it had linked itself.
pub fn identities_to_link(secondary: &User) -> Vec<Identity> {
    let mut linked = secondary.identities.clone();
    linked[0].profile_data = Some(profile_data(secondary));
    linked
}

/// The primary's identities as the link and unlink answers show them: the primary identity
/// with a `profileData` of the primary's profile.
pub fn identities_response(primary: &User) -> Value {
    let mut identities = primary.identities.clone();
    identities[0].profile_data = Some(profile_data(primary));
    serde_json::to_value(identities).expect("identities serialize")
}

/// Where `provider`/`user_id` is among `user`'s linked identities (never the primary one).
pub fn linked_position(user: &User, provider: &str, user_id: &str) -> Option<usize> {
    user.identities.iter().skip(1).position(|i| i.provider == provider && i.user_id == user_id).map(|i| i + 1)
}

/// The standalone user an unlinked identity becomes: its id again, its profile from its
/// `profileData` (with the derived attributes derived again), no metadata, created now.
pub fn standalone_user(identity: &Identity, now: Timestamp) -> User {
    let profile = identity.profile_data.clone().unwrap_or_default();
    let text = |key: &str| profile.get(key).and_then(Value::as_str).map(str::to_owned);
    let flag = |key: &str| profile.get(key).and_then(Value::as_bool);
    let (email, phone_number, username) = (text("email"), text("phone_number"), text("username"));
    let name = text("name");
    let defaults = display_defaults(email.as_deref(), phone_number.as_deref(), username.as_deref(), name.as_deref());
    let email_verified = match (&email, flag("email_verified")) {
        (Some(_), None) => Some(false),
        (_, verified) => verified,
    };
    User {
        user_id: format!("{}|{}", identity.provider, identity.user_id),
        email,
        email_verified,
        username,
        phone_verified: flag("phone_verified"),
        phone_number,
        name: Some(name.unwrap_or(defaults.name)),
        nickname: Some(text("nickname").unwrap_or(defaults.nickname)),
        given_name: text("given_name"),
        family_name: text("family_name"),
        picture: Some(text("picture").unwrap_or(defaults.picture)),
        blocked: None,
        app_metadata: None,
        user_metadata: None,
        identities: vec![Identity { profile_data: None, ..identity.clone() }],
        multifactor: None,
        multifactor_last_modified: None,
        last_ip: None,
        last_login: None,
        logins_count: None,
        last_password_reset: None,
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::connection::Connection;
    use crate::domain::create_user::new_user;
    use crate::domain::time;

    fn error(body: Value) -> String {
        parse_link_request(&body).unwrap_err().message.into_owned()
    }

    /// The secondary of TestUserManager_Link.yaml, created as recorded.
    fn recorded_secondary() -> User {
        let body = json!({"connection":"Username-Password-Authentication","email":"chuck203@example.com","given_name":"Chuck","family_name":"Sanchez","username":"test-user840","nickname":"Chucky","password":"Passwords hide their chuck","user_metadata":{"favourite_attack":"roundhouse_kick"},"verify_email":false,"app_metadata":{"facts":["count_to_infinity_twice"]},"picture":"https://example-picture-url.jpg","blocked":false,"email_verified":true});
        let connection = Connection::default_database("con_1".into(), true);
        new_user(body.as_object().unwrap(), &connection, time::now()).unwrap().user
    }

    #[test]
    fn server_side_bodies() {
        let parsed = parse_link_request(
            &json!({"provider": "auth0", "user_id": "auth0|abc", "connection_id": "con_ftSSLHb0O7rcUGmF"}),
        );
        assert_eq!(
            parsed.unwrap(),
            LinkRequest::Identity {
                provider: "auth0".into(),
                user_id: "abc".into(),
                connection_id: Some("con_ftSSLHb0O7rcUGmF".into())
            }
        );
        let bare = parse_link_request(&json!({"provider": "google-oauth2", "user_id": 1234})).unwrap();
        assert_eq!(
            bare,
            LinkRequest::Identity { provider: "google-oauth2".into(), user_id: "1234".into(), connection_id: None }
        );
        assert_eq!(parse_link_request(&json!({"link_with": "a.b.c"})).unwrap(), LinkRequest::Token("a.b.c".into()));
    }

    #[test]
    fn refused_bodies() {
        assert_eq!(error(json!({})), "Payload validation error: 'Too few properties defined (0), minimum 1'.");
        assert_eq!(
            error(json!({"provider": "auth0", "user_id": "a", "x": 1})),
            "Payload validation error: 'Additional properties not allowed: x'."
        );
        assert_eq!(
            error(json!({"provider": "auth0"})),
            "Payload validation error: 'Missing required property: user_id'."
        );
        assert_eq!(
            error(json!({"user_id": "abc"})),
            "Payload validation error: 'Missing required property: provider'."
        );
        assert_eq!(
            error(json!({"provider": "nope", "user_id": "a"})),
            "Payload validation error: 'No enum match for: \"nope\"' on property provider (Identity provider of the secondary user account being linked)."
        );
        assert_eq!(
            error(json!({"provider": "auth0", "user_id": "a", "connection_id": "con_x"})),
            "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$: con_x' on property connection_id (connection_id of the secondary user account being linked when more than one `auth0` database provider exists)."
        );
        assert_eq!(
            error(json!({"provider": "auth0", "user_id": ""})),
            "Payload validation error: 'Data does not match any schemas from 'oneOf'' on property user_id (user_id of the secondary user account being linked)."
        );
        assert_eq!(error(json!({"link_with": "a.b.c", "provider": "auth0"})), LINK_WITH_EXCLUSIVE);
    }

    #[test]
    fn profile_data_matches_recording() {
        let profile = profile_data(&recorded_secondary());
        let recorded = json!({"email":"chuck203@example.com","given_name":"Chuck","family_name":"Sanchez","username":"test-user840","nickname":"Chucky","picture":"https://example-picture-url.jpg","email_verified":true});
        assert_eq!(Value::Object(profile.clone()), recorded);
        // In the recorded order too.
        assert_eq!(serde_json::to_string(&profile).unwrap(), recorded.to_string());
    }

    #[test]
    fn derived_attributes_stay_out_of_profile_data() {
        let mut user = recorded_secondary();
        let defaults = display_defaults(user.email.as_deref(), None, None, None);
        user.nickname = Some(defaults.nickname);
        user.picture = Some(defaults.picture);
        user.name = Some("Chuck Sanchez".into());
        user.picture = Some(display_defaults(user.email.as_deref(), None, None, Some("Chuck Sanchez")).picture);
        let profile = profile_data(&user);
        assert_eq!(profile.get("name"), Some(&json!("Chuck Sanchez")));
        assert!(!profile.contains_key("nickname") && !profile.contains_key("picture"));
    }

    #[test]
    fn unlinked_identity_becomes_the_user_it_was() {
        let secondary = recorded_secondary();
        let identity = identities_to_link(&secondary).remove(0);
        let now = time::now();
        let restored = standalone_user(&identity, now);
        assert_eq!(restored.user_id, secondary.user_id);
        assert_eq!(restored.identities, secondary.identities);
        for (ours, theirs) in [
            (&restored.email, &secondary.email),
            (&restored.name, &secondary.name),
            (&restored.nickname, &secondary.nickname),
            (&restored.picture, &secondary.picture),
            (&restored.username, &secondary.username),
            (&restored.given_name, &secondary.given_name),
        ] {
            assert_eq!(ours, theirs);
        }
        assert_eq!(restored.email_verified, Some(true));
        assert_eq!((restored.app_metadata, restored.user_metadata, restored.blocked), (None, None, None));
        assert_eq!((restored.created_at, restored.updated_at), (now, now));
    }

    #[test]
    fn same_identity_compares_provider_and_id() {
        assert!(same_identity("auth0|abc", "auth0", "abc"));
        assert!(!same_identity("auth0|abc", "sms", "abc"));
    }

    #[test]
    fn providers_are_the_strategies_but_ad_ldap() {
        assert_eq!(STRATEGIES.last(), Some(&"auth0-adldap"));
        assert_eq!(PROVIDERS.len(), 55);
        assert!(PROVIDERS.contains(&"google-oauth2") && !PROVIDERS.contains(&"auth0-adldap"));
    }
}
