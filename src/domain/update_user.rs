//! `PATCH /users/{id}`: which changes a payload asks for, whether Auth0 allows them, and how
//! they apply. Root attributes are replaced (`null` unsets them); metadata merges at the first
//! level (see `metadata::merge`).

use serde_json::{Map, Value};

use super::connection::{Connection, ConnectionKind};
use super::create_user::password_error;
use super::metadata::{self, Kind};
use super::time::Timestamp;
use super::user::{Metadata, User};
use super::username;
use crate::error::ApiError;

/// `None`: not in the payload; `Some(None)`: `null` (unset); `Some(Some(v))`: new value.
type Change<T> = Option<Option<T>>;

/// A validated set of changes. Built against the user as read before the write, then applied
/// to the user as stored inside the write transaction.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct UserPatch {
    blocked: Option<bool>,
    email_verified: Option<bool>,
    phone_verified: Option<bool>,
    email: Option<String>,
    phone_number: Change<String>,
    username: Option<String>,
    given_name: Change<String>,
    family_name: Change<String>,
    name: Change<String>,
    nickname: Change<String>,
    picture: Change<String>,
    user_metadata: Option<Metadata>,
    app_metadata: Option<Metadata>,
    password: Option<String>,
}

fn change(body: &Map<String, Value>, key: &str) -> Change<String> {
    body.get(key).map(|v| v.as_str().map(str::to_owned))
}

fn cannot_remove(attribute: &str) -> ApiError {
    ApiError::invalid_body(format!("The following user attributes cannot be removed: {attribute}."))
}

/// Pairs Auth0 refuses to change in one request, in the order it checks them.
const EXCLUSIVE: [(&str, &str); 5] = [
    ("password", "email"),
    ("password", "email_verified"),
    ("username", "email"),
    ("username", "email_verified"),
    ("username", "password"),
];

impl UserPatch {
    /// Checks `body` (already valid against `UPDATE_USER`) for `user`, whose primary identity
    /// lives in `connection`.
    pub fn plan(body: &Map<String, Value>, user: &User, connection: &Connection) -> Result<Self, ApiError> {
        for (first, second) in EXCLUSIVE {
            if body.contains_key(first) && body.contains_key(second) {
                return Err(ApiError::invalid_body(format!("Cannot update {first} and {second} simultaneously.")));
            }
        }
        if let Some(target) = body.get("connection").and_then(Value::as_str)
            && !user.identities.iter().any(|identity| identity.connection == target)
        {
            return Err(ApiError::bad_request(Some("inexistent_connection"), "Connection does not exist."));
        }

        let kind = connection.kind();
        let mut patch = UserPatch {
            blocked: body.get("blocked").and_then(Value::as_bool),
            email_verified: body.get("email_verified").and_then(Value::as_bool),
            phone_verified: body.get("phone_verified").and_then(Value::as_bool),
            given_name: change(body, "given_name"),
            family_name: change(body, "family_name"),
            name: change(body, "name"),
            nickname: change(body, "nickname"),
            picture: change(body, "picture"),
            ..Self::default()
        };

        if patch.email_verified.is_some() && kind == ConnectionKind::Sms {
            return Err(ApiError::invalid_body("Email verification is not supported for enterprise users."));
        }

        match change(body, "email") {
            None => {}
            Some(_) if !matches!(kind, ConnectionKind::Database | ConnectionKind::Email) => {
                return Err(ApiError::invalid_body("Cannot update email for non-database user."));
            }
            Some(None) => return Err(cannot_remove("email")),
            Some(Some(email)) => patch.email = Some(email.to_lowercase()),
        }

        patch.phone_number = change(body, "phone_number");
        match &patch.phone_number {
            Some(_) if kind != ConnectionKind::Sms => {
                return Err(ApiError::invalid_body("Cannot update phone_number for non-sms user"));
            }
            Some(None) => return Err(cannot_remove("phone_number")),
            _ => {}
        }

        match change(body, "username") {
            None => {}
            Some(_) if !connection.requires_username() => {
                return Err(ApiError::invalid_body("Cannot set username for connection without requires_username."));
            }
            Some(None) => return Err(cannot_remove("username")),
            Some(Some(name)) => patch.username = Some(username::normalise(connection, &name)?),
        }

        match change(body, "password") {
            None => {}
            Some(_) if kind != ConnectionKind::Database => {
                return Err(ApiError::invalid_body("Cannot update password for non-database user."));
            }
            Some(None) => return Err(cannot_remove("password")),
            Some(Some(password)) => {
                connection.password_policy().check(&password).map_err(password_error)?;
                patch.password = Some(password);
            }
        }

        for (kind, slot) in [(Kind::App, &mut patch.app_metadata), (Kind::User, &mut patch.user_metadata)] {
            if let Some(object) = body.get(kind.property()).and_then(Value::as_object) {
                metadata::validate(kind, object)?;
                *slot = Some(object.clone());
            }
        }
        Ok(patch)
    }

    /// The new password to hash, if the payload sets one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Applies the changes to `user` as stored at write time.
    pub fn apply(&self, user: &mut User, now: Timestamp) {
        fn set(slot: &mut Option<String>, change: &Change<String>) {
            if let Some(value) = change {
                *slot = value.clone();
            }
        }
        if let Some(email) = &self.email {
            if user.email.as_deref() != Some(email.as_str()) {
                // A new address is unverified unless the same request says otherwise.
                user.email_verified = Some(false);
            }
            user.email = Some(email.clone());
        }
        if let Some(verified) = self.email_verified {
            user.email_verified = Some(verified);
        }
        if let Some(blocked) = self.blocked {
            user.blocked = Some(blocked);
        }
        if let Some(verified) = self.phone_verified {
            user.phone_verified = Some(verified);
        }
        if let Some(username) = &self.username {
            user.username = Some(username.clone());
        }
        set(&mut user.phone_number, &self.phone_number);
        set(&mut user.given_name, &self.given_name);
        set(&mut user.family_name, &self.family_name);
        set(&mut user.name, &self.name);
        set(&mut user.nickname, &self.nickname);
        set(&mut user.picture, &self.picture);
        if let Some(patch) = &self.user_metadata {
            // Once set, user_metadata stays, even when emptied; app_metadata disappears.
            user.user_metadata = Some(metadata::merge(user.user_metadata.take(), patch));
        }
        if let Some(patch) = &self.app_metadata {
            let merged = metadata::merge(user.app_metadata.take(), patch);
            user.app_metadata = (!merged.is_empty()).then_some(merged);
        }
        if self.password.is_some() {
            user.last_password_reset = Some(now);
            // "If you use the Management API to reset a user's password, it also unblocks the
            // user" (Auth0's "Block and Unblock Users"), unless the same request blocks them.
            if user.blocked == Some(true) && self.blocked.is_none() {
                user.blocked = Some(false);
            }
        }
        user.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::create_user::new_user;
    use crate::domain::time;
    use serde_json::json;

    fn user_in(connection: &Connection, extra: Value) -> User {
        let mut body = json!({"connection": connection.name, "email": "chuck@example.com", "password": "Passw0rd!"});
        if connection.kind() == ConnectionKind::Sms {
            body = json!({"connection": "sms", "phone_number": "+14155550100"});
        }
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        new_user(body.as_object().unwrap(), connection, time::now()).unwrap().user
    }

    fn patch(connection: &Connection, user: &User, body: Value) -> Result<UserPatch, ApiError> {
        UserPatch::plan(body.as_object().unwrap(), user, connection)
    }

    #[test]
    fn exclusive_pairs_are_refused() {
        let db = Connection::default_database("con_1".into(), true);
        let user = user_in(&db, json!({"username": "chuck"}));
        let err = patch(&db, &user, json!({"password": "Passw0rd!2", "email": "x@y.co"})).unwrap_err();
        assert_eq!(err.message, "Cannot update password and email simultaneously.");
        let err = patch(&db, &user, json!({"username": "bob", "password": "Passw0rd!2"})).unwrap_err();
        assert_eq!(err.message, "Cannot update username and password simultaneously.");
        // The recorded combination of connection + password + app_metadata is fine.
        assert!(
            patch(
                &db,
                &user,
                json!({"connection": db.name, "password": "I don't need one", "app_metadata": {"foo": "bar"}})
            )
            .is_ok()
        );
    }

    #[test]
    fn a_new_password_unblocks_unless_the_same_request_blocks() {
        let db = Connection::default_database("con_1".into(), false);
        let now = time::now();
        let mut user = user_in(&db, json!({"blocked": true}));
        patch(&db, &user, json!({"name": "x"})).unwrap().apply(&mut user, now);
        assert_eq!(user.blocked, Some(true), "other changes leave the block");
        patch(&db, &user, json!({"password": "New-passw0rd", "blocked": true})).unwrap().apply(&mut user, now);
        assert_eq!(user.blocked, Some(true));
        patch(&db, &user, json!({"password": "New-passw0rd"})).unwrap().apply(&mut user, now);
        assert_eq!(user.blocked, Some(false));
        let mut never = user_in(&db, json!({}));
        patch(&db, &never, json!({"password": "New-passw0rd"})).unwrap().apply(&mut never, now);
        assert_eq!(never.blocked, None, "no block, nothing to lift");
    }

    #[test]
    fn applies_root_changes_and_metadata_merge() {
        let db = Connection::default_database("con_1".into(), false);
        let mut user = user_in(&db, json!({"given_name": "Chuck", "app_metadata": {"a": 1, "b": 2}}));
        let later = time::parse("2030-01-01T00:00:00.000Z").unwrap();
        let planned = patch(
            &db,
            &user,
            json!({"given_name": null, "name": "Chuck N", "app_metadata": {"a": null}, "password": "New-passw0rd"}),
        )
        .unwrap();
        planned.apply(&mut user, later);
        assert_eq!(user.given_name, None);
        assert_eq!(user.name.as_deref(), Some("Chuck N"));
        assert_eq!(Value::Object(user.app_metadata.clone().unwrap()), json!({"b": 2}));
        assert_eq!(user.last_password_reset, Some(later));
        assert_eq!(user.updated_at, later);
        patch(&db, &user, json!({"app_metadata": {}, "user_metadata": {}})).unwrap().apply(&mut user, later);
        assert_eq!(user.app_metadata, None);
        assert_eq!(user.user_metadata, Some(Metadata::new()));
    }

    #[test]
    fn new_email_is_unverified_unless_stated() {
        let db = Connection::default_database("con_1".into(), false);
        let mut user = user_in(&db, json!({"email_verified": true}));
        let now = time::now();
        patch(&db, &user, json!({"email": "NEW@example.com"})).unwrap().apply(&mut user, now);
        assert_eq!((user.email.as_deref(), user.email_verified), (Some("new@example.com"), Some(false)));
        patch(&db, &user, json!({"email": "other@example.com", "email_verified": true})).unwrap().apply(&mut user, now);
        assert_eq!(user.email_verified, Some(true));
    }

    #[test]
    fn connection_specific_refusals() {
        let sms = Connection::passwordless("con_2".into(), "sms");
        let user = user_in(&sms, json!({}));
        assert_eq!(
            patch(&sms, &user, json!({"email": "a@b.co"})).unwrap_err().message,
            "Cannot update email for non-database user."
        );
        assert_eq!(
            patch(&sms, &user, json!({"password": "Passw0rd!"})).unwrap_err().message,
            "Cannot update password for non-database user."
        );
        assert!(patch(&sms, &user, json!({"email_verified": true})).is_err());
        assert!(patch(&sms, &user, json!({"phone_number": null})).is_err());
        assert_eq!(
            patch(&sms, &user, json!({"connection": "nope"})).unwrap_err().message,
            "Connection does not exist."
        );
        let db = Connection::default_database("con_1".into(), false);
        let user = user_in(&db, json!({}));
        assert!(patch(&db, &user, json!({"username": "bob"})).is_err());
        assert!(patch(&db, &user, json!({"password": "weak"})).is_err());
        assert!(patch(&db, &user, json!({"email": null})).is_err());
        let err = patch(&db, &user, json!({"phone_number": "+14155550100"})).unwrap_err();
        assert_eq!(err.message, "Cannot update phone_number for non-sms user");
    }
}
