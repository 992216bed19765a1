//! The user profile as Auth0 stores and renders it.
//!
//! Every optional attribute is `Option`: Auth0 leaves unset attributes out of its responses
//! rather than writing `null`, so rendering skips `None`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::{self, Timestamp};

pub type Metadata = Map<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub user_id: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    pub phone_verified: Option<bool>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub blocked: Option<bool>,
    pub app_metadata: Option<Metadata>,
    pub user_metadata: Option<Metadata>,
    /// The first identity is the primary one; it decides the user's connection.
    pub identities: Vec<Identity>,
    pub multifactor: Option<Vec<String>>,
    pub multifactor_last_modified: Option<Timestamp>,
    pub last_ip: Option<String>,
    pub last_login: Option<Timestamp>,
    pub logins_count: Option<i64>,
    pub last_password_reset: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One entry of `identities`: a credential in one connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Profile of a linked (secondary) identity. Auth0 writes it first.
    #[serde(rename = "profileData", default, skip_serializing_if = "Option::is_none")]
    pub profile_data: Option<Metadata>,
    pub connection: String,
    /// The id inside the provider, without the `provider|` prefix.
    pub user_id: String,
    pub provider: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
}

impl User {
    pub fn primary_identity(&self) -> &Identity {
        &self.identities[0]
    }

    pub fn connection(&self) -> &str {
        &self.primary_identity().connection
    }

    /// What identifies the primary identity inside its connection, and so must be unique
    /// there: email and username for database users, the email or phone number for
    /// passwordless users.
    pub fn credential_keys(&self) -> CredentialKeys<'_> {
        let (email, username, phone_number) = match self.primary_identity().provider.as_str() {
            "auth0" => (self.email.as_deref(), self.username.as_deref(), None),
            "email" => (self.email.as_deref(), None, None),
            "sms" => (None, None, self.phone_number.as_deref()),
            _ => (None, None, None),
        };
        CredentialKeys { email, username, phone_number }
    }

    pub fn search_keys(&self) -> SearchKeys {
        let fold = |value: &Option<String>| value.as_deref().map(fold_case);
        let email = fold(&self.email);
        SearchKeys {
            email_domain: email.as_deref().and_then(|e| e.rsplit_once('@')).map(|(_, domain)| domain.to_owned()),
            email,
            name: fold(&self.name),
            given_name: fold(&self.given_name),
            family_name: fold(&self.family_name),
            nickname: fold(&self.nickname),
        }
    }

    /// The user as Auth0 renders it, keeping only the fields `projection` allows.
    pub fn to_json(&self, projection: &Projection) -> Map<String, Value> {
        match serde_json::to_value(self.rendered(projection)) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("a rendered user is a JSON object"),
        }
    }

    /// The user as Auth0 renders it, serialized straight from the struct: responses and
    /// exports write it without first building (and cloning into) a JSON map.
    pub fn rendered<'a>(&'a self, projection: &'a Projection) -> Rendered<'a> {
        Rendered { user: self, projection }
    }
}

/// A user rendered as Auth0 renders it (`User::rendered`).
pub struct Rendered<'a> {
    user: &'a User,
    projection: &'a Projection,
}

impl Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (user, projection) = (self.user, self.projection);
        let mut map = serializer.serialize_map(None)?;
        macro_rules! put {
            ($key:literal, $value:expr) => {
                if let Some(value) = $value
                    && projection.allows($key)
                {
                    map.serialize_entry($key, &value)?;
                }
            };
        }
        let stamp = |t: &Option<Timestamp>| t.as_ref().map(time::format);
        // Auth0 writes stored attributes in alphabetical order, then the rest.
        put!("blocked", user.blocked);
        put!("created_at", Some(time::format(&user.created_at)));
        put!("email", user.email.as_ref());
        put!("email_verified", user.email_verified);
        put!("family_name", user.family_name.as_ref());
        put!("given_name", user.given_name.as_ref());
        put!("identities", Some(&user.identities));
        put!("name", user.name.as_ref());
        put!("nickname", user.nickname.as_ref());
        put!("phone_number", user.phone_number.as_ref());
        put!("phone_verified", user.phone_verified);
        put!("picture", user.picture.as_ref());
        put!("updated_at", Some(time::format(&user.updated_at)));
        put!("user_id", Some(&user.user_id));
        put!("user_metadata", user.user_metadata.as_ref());
        put!("username", user.username.as_ref());
        put!("last_password_reset", stamp(&user.last_password_reset));
        put!("app_metadata", user.app_metadata.as_ref());
        put!("multifactor", user.multifactor.as_ref());
        put!("multifactor_last_modified", stamp(&user.multifactor_last_modified));
        put!("last_ip", user.last_ip.as_ref());
        put!("last_login", stamp(&user.last_login));
        put!("logins_count", user.logins_count);
        map.end()
    }
}

/// Case-folded copies of the attributes Auth0 searches without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKeys {
    pub email: Option<String>,
    pub email_domain: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
}

/// How search folds case: the same function for stored values and for query values.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialKeys<'a> {
    pub email: Option<&'a str>,
    pub username: Option<&'a str>,
    pub phone_number: Option<&'a str>,
}

/// `fields` + `include_fields`: which top-level attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    fields: Vec<String>,
    include: bool,
}

impl Projection {
    /// All fields.
    pub fn all() -> Self {
        Self::default()
    }

    /// `fields` is Auth0's comma-separated list; `include` is `include_fields` (default true).
    pub fn new(fields: Option<&str>, include: bool) -> Self {
        let fields: Vec<String> =
            fields.unwrap_or_default().split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
        Self { fields, include }
    }

    pub fn allows(&self, key: &str) -> bool {
        if self.fields.is_empty() {
            return true;
        }
        self.fields.iter().any(|f| f == key) == self.include
    }
}

/// Auth0's default `picture`: the Gravatar of the email, falling back to an avatar with the
/// user's initials; without an email, Auth0's default avatar.
pub fn default_picture(email: Option<&str>, display_name: &str) -> String {
    match email {
        Some(email) => {
            let initials = initials(display_name);
            use md5::{Digest, Md5};
            let hash = hex::encode(Md5::digest(email.trim().to_lowercase().as_bytes()));
            format!(
                "https://s.gravatar.com/avatar/{hash}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{initials}.png"
            )
        }
        None => "https://cdn.auth0.com/avatars/default.png".to_owned(),
    }
}

/// Two lowercase letters: the first letters of the first two words, or the first two
/// characters of a single word (`chuck@example.com` → `ch`, `John Doe` → `jd`).
fn initials(display_name: &str) -> String {
    let words: Vec<&str> = display_name.split_whitespace().collect();
    let picked: String = match words.as_slice() {
        [first, second, ..] => first.chars().take(1).chain(second.chars().take(1)).collect(),
        [single] => single.chars().filter(|c| c.is_alphanumeric()).take(2).collect(),
        [] => String::new(),
    };
    let picked = picked.to_lowercase();
    if picked.is_empty() { "default".to_owned() } else { picked }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gravatar_matches_recordings() {
        // TestUserManager_Create.yaml and TestAccUser.yaml.
        assert_eq!(
            default_picture(Some("chuck@example.com"), "chuck"),
            "https://s.gravatar.com/avatar/0b79e7da7bc7877560620cf8f2cc93ae?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fch.png"
        );
        assert_eq!(
            default_picture(Some("testaccuser@acceptance.test.com"), "testaccuser@acceptance.test.com"),
            "https://s.gravatar.com/avatar/324ad113b0ef6dabbb2c2c4cf8a8d108?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fte.png"
        );
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("John Doe"), "jd");
        assert_eq!(initials("+14155550100"), "14");
        assert_eq!(initials(""), "default");
    }

    #[test]
    fn rendering_follows_auth0s_key_order_and_leaves_unset_attributes_out() {
        let body =
            serde_json::json!({"connection": "email", "email": "a@b.co", "name": "A", "user_metadata": {"k": 1}});
        let connection = crate::domain::connection::Connection::passwordless("con_email".into(), "email");
        let now = time::now();
        let mut user = crate::domain::create_user::new_user(body.as_object().unwrap(), &connection, now).unwrap().user;
        user.blocked = Some(false);
        user.logins_count = Some(3);
        user.last_login = Some(now);
        user.app_metadata = Some(Map::from_iter([("plan".to_owned(), Value::from("pro"))]));
        let keys = |map: &Map<String, Value>| map.keys().cloned().collect::<Vec<_>>();
        let all = user.to_json(&Projection::all());
        assert_eq!(
            keys(&all),
            [
                "blocked",
                "created_at",
                "email",
                "email_verified",
                "identities",
                "name",
                "nickname",
                "picture",
                "updated_at",
                "user_id",
                "user_metadata",
                "app_metadata",
                "last_login",
                "logins_count"
            ]
        );
        assert_eq!(all["created_at"], Value::from(time::format(&now)));
        assert_eq!(all["identities"][0]["connection"], "email");
        let text = serde_json::to_string(&user.rendered(&Projection::all())).unwrap();
        assert_eq!(text, Value::Object(all).to_string(), "written straight or through a map, the same text");
        let some = Projection::new(Some("email,logins_count"), true);
        assert_eq!(serde_json::to_string(&user.rendered(&some)).unwrap(), r#"{"email":"a@b.co","logins_count":3}"#);
    }

    #[test]
    fn projection_includes_or_excludes() {
        let include = Projection::new(Some("email, name"), true);
        assert!(include.allows("email") && include.allows("name") && !include.allows("user_id"));
        let exclude = Projection::new(Some("email"), false);
        assert!(!exclude.allows("email") && exclude.allows("user_id"));
        assert!(Projection::new(Some(""), true).allows("anything"));
    }
}
