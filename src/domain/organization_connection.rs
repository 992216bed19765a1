//! An organization's connections: the payloads of the two families of endpoints that manage
//! them (`/organizations/{id}/enabled_connections`, Auth0's first, and
//! `/organizations/{id}/connections`, which adds `is_enabled`, `organization_access_level` and
//! `organization_connection_name`), descriptions copied from the spec, and how one is rendered.
//! Both families read and write the same rows: the first sees those not disabled.

use serde_json::{Map, Value};

use super::identity_link::is_connection_id;
use super::json_schema::{Field, Schema};
use crate::error::ApiResult;

/// One connection of an organization, with the connection's name and strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationConnection {
    pub connection_id: String,
    /// The flags as given, in the order given; a flag never given is absent.
    pub settings: Map<String, Value>,
    pub name: String,
    pub strategy: String,
}

/// A connection to add to an organization: its id and the flags given, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedConnection {
    pub connection_id: String,
    pub settings: Map<String, Value>,
}

/// The flags the first family knows, in the order it shows them.
const ENABLED_FLAGS: &[&str] = &["assign_membership_on_login", "show_as_button", "is_signup_enabled"];

impl OrganizationConnection {
    /// Whether `/enabled_connections` sees it: not added or set with `is_enabled: false`.
    pub fn is_enabled(&self) -> bool {
        self.settings.get("is_enabled").and_then(Value::as_bool).unwrap_or(true)
    }

    fn render(&self, keep: impl Fn(&str) -> bool, is_enabled: bool) -> Value {
        let mut out = Map::new();
        out.insert("connection_id".into(), Value::from(self.connection_id.as_str()));
        for (key, value) in self.settings.iter().filter(|(key, _)| keep(key)) {
            out.insert(key.clone(), value.clone());
        }
        if is_enabled {
            out.insert("is_enabled".into(), Value::from(self.is_enabled()));
        }
        out.insert("connection".into(), serde_json::json!({"name": self.name, "strategy": self.strategy}));
        Value::Object(out)
    }

    /// Auth0's `OrganizationConnection` (`/enabled_connections`): `connection_id`, the flags
    /// given, `connection: {name, strategy}` (recorded, TestOrganizationManager_Connections).
    pub fn to_enabled_json(&self) -> Value {
        self.render(|key| ENABLED_FLAGS.contains(&key), false)
    }

    /// `OrganizationAllConnectionPost` (`/connections`): every flag given, and `is_enabled`
    /// always (true unless set false), which the Deploy CLI compares with its own default.
    pub fn to_json(&self) -> Value {
        self.render(|key| key != "is_enabled", true)
    }
}

const ASSIGN_MEMBERSHIP_ON_LOGIN: Schema = Schema::boolean(
    "When true, all users that log in with this connection will be automatically granted membership in the organization. When false, users must be granted membership in the organization before logging in with this connection.",
);
const SHOW_AS_BUTTON: Schema = Schema::boolean(
    "Determines whether a connection should be displayed on this organization’s login prompt. Only applicable for enterprise connections. Default: true.",
);
const IS_SIGNUP_ENABLED: Schema = Schema::boolean(
    "Determines whether organization signup should be enabled for this organization connection. Only applicable for database connections. Default: false.",
);
const ORGANIZATION_CONNECTION_NAME: Schema =
    Schema::string("Name of the connection in the scope of this organization.")
        .length(Some(1), Some(50))
        .pattern("^[^\\u0000]*$", |text| !text.contains('\0'));
const ACCESS_LEVELS: &[&str] = &["none", "readonly", "limited", "full"];
const ORGANIZATION_ACCESS_LEVEL: Schema =
    Schema::string("Access level for the organization (e.g., \"none\", \"full\").").one_of(ACCESS_LEVELS);
const IS_ENABLED: Schema = Schema::boolean("Whether the connection is enabled for the organization.");

/// `AddOrganizationConnectionRequestContent` (`POST …/enabled_connections`).
pub const ADD_ENABLED_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field {
            name: "connection_id",
            schema: Schema::string("Single connection ID to add to the organization.")
                .format("connection-id", is_connection_id),
        },
        Field { name: "assign_membership_on_login", schema: ASSIGN_MEMBERSHIP_ON_LOGIN },
        Field { name: "is_signup_enabled", schema: IS_SIGNUP_ENABLED },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
    ],
)
.required(&["connection_id"]);

/// `UpdateOrganizationConnectionRequestContent` (`PATCH …/enabled_connections/{connectionId}`).
pub const UPDATE_ENABLED_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field { name: "assign_membership_on_login", schema: ASSIGN_MEMBERSHIP_ON_LOGIN },
        Field { name: "is_signup_enabled", schema: IS_SIGNUP_ENABLED },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
    ],
);

/// `CreateOrganizationAllConnectionRequestContent` (`POST …/connections`).
pub const ADD_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field { name: "organization_connection_name", schema: ORGANIZATION_CONNECTION_NAME },
        Field { name: "assign_membership_on_login", schema: ASSIGN_MEMBERSHIP_ON_LOGIN },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
        Field { name: "is_signup_enabled", schema: IS_SIGNUP_ENABLED },
        Field { name: "organization_access_level", schema: ORGANIZATION_ACCESS_LEVEL },
        Field { name: "is_enabled", schema: IS_ENABLED },
        Field {
            name: "connection_id",
            schema: Schema::string("Connection identifier.")
                .length(Some(1), Some(50))
                .format("connection-id", is_connection_id),
        },
    ],
)
.required(&["connection_id"]);

/// `UpdateOrganizationAllConnectionRequestContent` (`PATCH …/connections/{connection_id}`):
/// `null` unsets the name, the access level and `is_enabled`.
pub const UPDATE_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field { name: "organization_connection_name", schema: ORGANIZATION_CONNECTION_NAME.nullable() },
        Field { name: "assign_membership_on_login", schema: ASSIGN_MEMBERSHIP_ON_LOGIN },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
        Field { name: "is_signup_enabled", schema: IS_SIGNUP_ENABLED },
        Field { name: "organization_access_level", schema: ORGANIZATION_ACCESS_LEVEL.nullable() },
        Field { name: "is_enabled", schema: IS_ENABLED.nullable() },
    ],
);

/// A checked add payload.
pub fn plan_add(schema: &Schema, body: &Value) -> ApiResult<AddedConnection> {
    Ok(AddedConnection::from_valid(schema.validate_payload(body)?))
}

impl AddedConnection {
    /// From a payload item already checked (`connection_id` and flags).
    pub fn from_valid(item: &Map<String, Value>) -> Self {
        let connection_id = item.get("connection_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let settings = item.iter().filter(|(key, _)| *key != "connection_id").map(|(k, v)| (k.clone(), v.clone()));
        Self { connection_id, settings: settings.collect() }
    }
}

/// A checked update payload: the flags to set (`null`: to unset).
pub fn plan_update(schema: &Schema, body: &Value) -> ApiResult<Map<String, Value>> {
    Ok(schema.validate_payload(body)?.clone())
}

/// `settings` with `changes` made: a `null` removes the flag, others replace or are appended.
pub fn apply_update(settings: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (key, value) in changes {
        if value.is_null() {
            settings.remove(key);
        } else {
            settings.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn connection(settings: Value) -> OrganizationConnection {
        OrganizationConnection {
            connection_id: "con_4CigdJIES5PJV5FO".into(),
            settings: settings.as_object().unwrap().clone(),
            name: "test-conn18".into(),
            strategy: "ad".into(),
        }
    }

    #[test]
    fn renders_as_recorded() {
        let enabled = connection(json!({"assign_membership_on_login": true, "show_as_button": true}));
        assert_eq!(
            serde_json::to_string(&enabled.to_enabled_json()).unwrap(),
            r#"{"connection_id":"con_4CigdJIES5PJV5FO","assign_membership_on_login":true,"show_as_button":true,"connection":{"name":"test-conn18","strategy":"ad"}}"#
        );
        let disabled = connection(json!({"organization_access_level": "full", "is_enabled": false}));
        assert!(!disabled.is_enabled());
        assert_eq!(
            disabled.to_enabled_json(),
            json!({"connection_id": "con_4CigdJIES5PJV5FO", "connection": {"name": "test-conn18", "strategy": "ad"}})
        );
        assert_eq!(
            disabled.to_json(),
            json!({"connection_id": "con_4CigdJIES5PJV5FO", "organization_access_level": "full", "is_enabled": false,
                "connection": {"name": "test-conn18", "strategy": "ad"}})
        );
        assert_eq!(enabled.to_json()["is_enabled"], json!(true));
    }

    #[test]
    fn payloads() {
        let added = plan_add(
            &ADD_ENABLED_CONNECTION,
            &json!({"show_as_button": false, "connection_id": "con_4CigdJIES5PJV5FO"}),
        )
        .unwrap();
        assert_eq!(
            (added.connection_id.as_str(), Value::Object(added.settings)),
            ("con_4CigdJIES5PJV5FO", json!({"show_as_button": false}))
        );
        assert_eq!(
            plan_add(&ADD_ENABLED_CONNECTION, &json!({})).unwrap_err().message,
            "Payload validation error: 'Missing required property: connection_id'."
        );
        assert_eq!(
            plan_add(&ADD_ENABLED_CONNECTION, &json!({"connection_id": "con_4CigdJIES5PJV5FO", "is_enabled": true}))
                .unwrap_err()
                .message,
            "Payload validation error: 'Additional properties not allowed: is_enabled'."
        );
        assert!(
            plan_add(&ADD_CONNECTION, &json!({"connection_id": "con_4CigdJIES5PJV5FO", "is_enabled": false})).is_ok()
        );
        assert!(plan_update(&UPDATE_CONNECTION, &json!({"organization_access_level": "most"})).is_err());
        let mut settings = json!({"is_enabled": false, "show_as_button": true}).as_object().unwrap().clone();
        apply_update(
            &mut settings,
            plan_update(&UPDATE_CONNECTION, &json!({"is_enabled": null, "show_as_button": false})).as_ref().unwrap(),
        );
        assert_eq!(Value::Object(settings), json!({"show_as_button": false}));
    }
}
