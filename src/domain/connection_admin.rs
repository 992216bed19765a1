//! Connections as `/api/v2/connections` manages them: the payload schemas (copied from Auth0's
//! OpenAPI spec), what a new connection gets by default, and what a PATCH changes.
//!
//! The defaults are those live tenants answered with (go-auth0's recordings
//! `TestConnectionManager_Create/*`, `TestConnectionManager_Update/*`): a database connection
//! gets MFA settings, `passwordPolicy: good`, passkey settings and brute-force protection; a
//! passwordless one gets brute-force protection; every connection gets its name as its realm.

use serde_json::{Map, Value, json};

use super::connection::{Connection, ConnectionKind, ConnectionRecord};
use super::json_schema::{Additional, Field, Schema};
use crate::error::ApiError;

/// `ConnectionIdentityProviderEnum`. Roster gives behaviour to `auth0`, `email` and `sms`;
/// connections of the other strategies are kept and shown, and refuse users (as Auth0 refuses
/// to create users in social and enterprise connections through the API).
pub const STRATEGIES: &[&str] = &[
    "ad",
    "adfs",
    "amazon",
    "apple",
    "dropbox",
    "bitbucket",
    "auth0-oidc",
    "auth0",
    "baidu",
    "bitly",
    "box",
    "custom",
    "daccount",
    "dwolla",
    "email",
    "evernote-sandbox",
    "evernote",
    "exact",
    "facebook",
    "fitbit",
    "github",
    "google-apps",
    "google-oauth2",
    "instagram",
    "ip",
    "line",
    "linkedin",
    "oauth1",
    "oauth2",
    "office365",
    "oidc",
    "okta",
    "paypal",
    "paypal-sandbox",
    "pingfederate",
    "planningcenter",
    "salesforce-community",
    "salesforce-sandbox",
    "salesforce",
    "samlp",
    "sharepoint",
    "shopify",
    "shop",
    "sms",
    "soundcloud",
    "thirtysevensignals",
    "twitter",
    "untappd",
    "vkontakte",
    "waad",
    "weibo",
    "windowslive",
    "wordpress",
    "yahoo",
    "yandex",
    "auth0-adldap",
];

const NAME_DESCRIPTION: &str = "The name of the connection. Must start and end with an alphanumeric character and can only contain alphanumeric characters and '-'. Max length 128";
pub const NAME_PATTERN: &str = "^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$";

/// `^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$`: alphanumerics, single dashes between them.
pub fn is_connection_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && !name.contains("--")
}

const STRING_ITEM: Schema = Schema::string("");
const USERNAME_LIMITS: Schema = Schema::object(
    "",
    &[
        Field { name: "min", schema: Schema::integer("", Some(1), None) },
        Field { name: "max", schema: Schema::integer("", None, Some(128)) },
    ],
)
.required(&["max", "min"])
.nullable();
const DICTIONARY_ENTRY: Schema =
    Schema::string("Custom Password Dictionary entry. 50 characters max.").length(None, Some(50));

/// `ConnectionPropertiesOptions`: the options Roster's rules read are checked; the rest of
/// what a strategy takes is kept as given (the spec allows additional properties).
const OPTIONS_FIELDS: &[Field] = &[
    Field {
        name: "validation",
        schema: Schema::object("Options for validation", &[Field { name: "username", schema: USERNAME_LIMITS }])
            .nullable(),
    },
    Field {
        name: "non_persistent_attrs",
        schema: Schema::array(
            "An array of user fields that should not be stored in the Auth0 database (https://auth0.com/docs/security/data-security/denylist)",
            &STRING_ITEM,
        )
        .nullable(),
    },
    Field {
        name: "passwordPolicy",
        schema: Schema::string("Password strength level")
            .one_of(&["none", "low", "fair", "good", "excellent"])
            .nullable(),
    },
    Field {
        name: "password_complexity_options",
        schema: Schema::object(
            "Password complexity options",
            &[Field { name: "min_length", schema: Schema::integer("Minimum password length", Some(1), Some(128)) }],
        )
        .nullable(),
    },
    Field {
        name: "password_history",
        schema: Schema::object(
            "Options for password history policy",
            &[
                Field { name: "enable", schema: Schema::boolean("") },
                Field { name: "size", schema: Schema::integer("", Some(0), Some(24)) },
            ],
        )
        .required(&["enable"])
        .nullable(),
    },
    Field {
        name: "password_no_personal_info",
        schema: Schema::object(
            "Options for personal info in passwords policy",
            &[Field { name: "enable", schema: Schema::boolean("") }],
        )
        .required(&["enable"])
        .nullable(),
    },
    Field {
        name: "password_dictionary",
        schema: Schema::object(
            "Options for password dictionary policy",
            &[
                Field { name: "enable", schema: Schema::boolean("") },
                Field {
                    name: "dictionary",
                    schema: Schema::array(
                        "Custom Password Dictionary. An array of up to 200 entries.",
                        &DICTIONARY_ENTRY,
                    ),
                },
            ],
        )
        .required(&["enable"])
        .nullable(),
    },
    Field {
        name: "enable_script_context",
        schema: Schema::boolean(
            "Set to true to inject context into custom DB scripts (warning: cannot be disabled once enabled)",
        ),
    },
    Field { name: "enabledDatabaseCustomization", schema: Schema::boolean("Set to true to use a legacy user store") },
    Field {
        name: "import_mode",
        schema: Schema::boolean(
            "Enable this if you have a legacy user store and you want to gradually migrate those users to the Auth0 user store",
        ),
    },
    // Not in the spec's list, but read by Roster's rules: they must have their type.
    Field { name: "requires_username", schema: Schema::boolean("") },
    Field { name: "brute_force_protection", schema: Schema::boolean("") },
    Field { name: "disable_signup", schema: Schema::boolean("") },
];

const CREATE_OPTIONS: Schema =
    Schema::object("The connection's options (depend on the connection strategy)", OPTIONS_FIELDS)
        .additional(Additional::Allowed);
const UPDATE_OPTIONS: Schema = Schema::object(
    "The connection's options (depend on the connection strategy). To update these options, the `update:connections_options` scope must be present. To verify your changes, also include the `read:connections_options` scope. If this scope is not specified, you will not be able to review the updated object.",
    OPTIONS_FIELDS,
)
.additional(Additional::Allowed)
.nullable();

const METADATA_VALUE: Schema = Schema::string("").length(None, Some(255)).nullable();
const METADATA: Schema = Schema::object(
    "Metadata associated with the connection in the form of an object with string values (max 255 chars).  Maximum of 10 metadata properties allowed.",
    &[],
)
.additional(Additional::Matching(&METADATA_VALUE))
.properties_count(None, Some(10));
const AUTHENTICATION: Schema = Schema::object(
    "Configure the purpose of a connection to be used for authentication during login.",
    &[Field { name: "active", schema: Schema::boolean("") }],
)
.required(&["active"]);
const CONNECTED_ACCOUNTS: Schema = Schema::object(
    "Configure the purpose of a connection to be used for connected accounts and Token Vault.",
    &[
        Field { name: "active", schema: Schema::boolean("") },
        Field { name: "cross_app_access", schema: Schema::boolean("") },
    ],
)
.required(&["active"]);
const CROSS_APP_ACCESS: Schema = Schema::object(
    "Configure the connection to be used as a Requesting Application for Cross App Access.",
    &[Field {
        name: "active",
        schema: Schema::boolean(
            "Set to `true` to enable the connection as a Requesting Application for Cross App Access.",
        ),
    }],
)
.required(&["active"]);
const REALM: Schema = Schema::string("The realm where this connection belongs");
const REALMS: Schema = Schema::array(
    "Defines the realms for which the connection will be used (ie: email domains). If the array is empty or the property is not specified, the connection name will be added as realm.",
    &REALM,
);
const IS_DOMAIN_CONNECTION: Schema = Schema::boolean(
    "<code>true</code> promotes to a domain-level connection so that third-party applications can use it. <code>false</code> does not promote the connection, so only first-party applications with the connection enabled can use it. (Defaults to <code>false</code>.)",
);
const SHOW_AS_BUTTON: Schema = Schema::boolean(
    "Enables showing a button for the connection in the login page (new experience only). If false, it will be usable only by HRD. (Defaults to <code>false</code>.)",
);
const CREATE_ENABLED_CLIENT: Schema = Schema::string("The id of the client for which the connection is to be enabled.");
const UPDATE_ENABLED_CLIENT: Schema =
    Schema::string("The client_id of the client to for which the connection is to be enabled");

/// `CreateConnectionRequestContent`
pub const CREATE_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: Schema::string(NAME_DESCRIPTION).length(None, Some(128)) },
        Field {
            name: "display_name",
            schema: Schema::string("Connection name used in the new universal login experience").length(None, Some(128)),
        },
        Field {
            name: "strategy",
            schema: Schema::string("The identity provider identifier for the connection").one_of(STRATEGIES),
        },
        Field { name: "options", schema: CREATE_OPTIONS },
        Field {
            name: "enabled_clients",
            schema: Schema::array(
                "Use of this property is NOT RECOMMENDED. Use the PATCH /v2/connections/{id}/clients endpoint to enable the connection for a set of clients.",
                &CREATE_ENABLED_CLIENT,
            ),
        },
        Field { name: "is_domain_connection", schema: IS_DOMAIN_CONNECTION },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
        Field { name: "realms", schema: REALMS },
        Field { name: "metadata", schema: METADATA },
        Field { name: "authentication", schema: AUTHENTICATION },
        Field { name: "connected_accounts", schema: CONNECTED_ACCOUNTS },
        Field { name: "cross_app_access_requesting_app", schema: CROSS_APP_ACCESS },
    ],
)
.required(&["name", "strategy"]);

/// `UpdateConnectionRequestContent`: the name and strategy cannot change.
pub const UPDATE_CONNECTION: Schema = Schema::object(
    "",
    &[
        Field {
            name: "display_name",
            schema: Schema::string(
                "The connection name used in the new universal login experience. If display_name is not included in the request, the field will be overwritten with the name value.",
            )
            .length(None, Some(128)),
        },
        Field { name: "options", schema: UPDATE_OPTIONS },
        Field {
            name: "enabled_clients",
            schema: Schema::array(
                "DEPRECATED property. Use the PATCH /v2/connections/{id}/clients endpoint to enable or disable the connection for any clients.",
                &UPDATE_ENABLED_CLIENT,
            )
            .nullable(),
        },
        Field { name: "is_domain_connection", schema: IS_DOMAIN_CONNECTION },
        Field { name: "show_as_button", schema: SHOW_AS_BUTTON },
        Field { name: "realms", schema: REALMS },
        Field { name: "metadata", schema: METADATA },
        Field { name: "authentication", schema: AUTHENTICATION },
        Field { name: "connected_accounts", schema: CONNECTED_ACCOUNTS },
        Field { name: "cross_app_access_requesting_app", schema: CROSS_APP_ACCESS },
    ],
)
.properties_count(Some(1), None);

/// Top-level attributes kept beside the options, in the order Auth0 shows them.
const ATTRIBUTES: &[&str] = &[
    "display_name",
    "is_domain_connection",
    "show_as_button",
    "metadata",
    "authentication",
    "connected_accounts",
    "cross_app_access_requesting_app",
    "realms",
];

/// Options Auth0 manages itself: a PATCH whose `options` leave them out keeps them (the rest
/// of `options` is replaced as a whole, as Auth0 documents and the recordings show).
fn managed_options(kind: ConnectionKind) -> &'static [&'static str] {
    match kind {
        ConnectionKind::Database => &["authentication_methods", "passkey_options", "brute_force_protection"],
        ConnectionKind::Email | ConnectionKind::Sms => &["brute_force_protection"],
        ConnectionKind::External => &[],
    }
}

/// The options a new connection of `kind` starts with, around the ones given.
fn initial_options(kind: ConnectionKind, given: Map<String, Value>) -> Map<String, Value> {
    let mut options = Map::new();
    if kind == ConnectionKind::Database {
        options.insert("mfa".into(), json!({"active": true, "return_enroll_settings": true}));
        // The newer `password_options` replaces the level.
        if !given.contains_key("password_options") {
            options.insert("passwordPolicy".into(), json!("good"));
        }
        options.insert("strategy_version".into(), json!(2));
    }
    options.extend(given);
    let defaults = match kind {
        ConnectionKind::Database => json!({
            "authentication_methods": {"password": {"enabled": true}, "passkey": {"enabled": false}},
            "passkey_options": {"challenge_ui": "both", "progressive_enrollment_enabled": true, "local_enrollment_enabled": true},
            "brute_force_protection": true,
        }),
        ConnectionKind::Email | ConnectionKind::Sms => json!({"brute_force_protection": true}),
        ConnectionKind::External => json!({}),
    };
    if let Value::Object(defaults) = defaults {
        for (key, value) in defaults {
            options.entry(key).or_insert(value);
        }
    }
    options
}

/// Rules over `options` beyond their schema; the two messages are live tenants'
/// (go-auth0's `TestConnectionManager_CreateDBConnectionWithDifferentOptions`).
fn check_options(options: &Map<String, Value>) -> Result<(), ApiError> {
    if options.contains_key("attributes") {
        for other in ["requires_username", "validation"] {
            if options.contains_key(other) {
                return Err(ApiError::invalid_body(format!("Cannot set both options.attributes and options.{other}")));
            }
        }
    }
    let limits = options.get("validation").and_then(|v| v.get("username"));
    let bound = |key: &str| limits.and_then(|l| l.get(key)).and_then(Value::as_i64);
    if let (Some(min), Some(max)) = (bound("min"), bound("max"))
        && min > max
    {
        return Err(ApiError::invalid_body(format!(
            "options.validation.username.min ({min}) cannot be greater than options.validation.username.max ({max})"
        )));
    }
    Ok(())
}

fn client_ids(value: Option<&Value>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// Realms as given; an empty list means the connection's name, as Auth0 documents.
fn realms(value: &Value, name: &str) -> Value {
    match value.as_array() {
        Some(realms) if !realms.is_empty() => value.clone(),
        _ => json!([name]),
    }
}

/// The connection `body` (checked against [`CREATE_CONNECTION`]) asks for, with id `id`.
pub fn new_connection(body: &Map<String, Value>, id: String) -> Result<ConnectionRecord, ApiError> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let name = text("name");
    if !is_connection_name(&name) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'String does not match pattern {NAME_PATTERN}: {name}' on property name ({NAME_DESCRIPTION})."
        )));
    }
    let given = body.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
    check_options(&given)?;
    let mut connection = Connection {
        id,
        name,
        strategy: text("strategy"),
        options: Map::new(),
        enabled_clients: client_ids(body.get("enabled_clients")),
    };
    connection.options = initial_options(connection.kind(), given);
    let mut attributes = Map::new();
    for key in ATTRIBUTES {
        match (*key, body.get(*key)) {
            ("is_domain_connection", value) => {
                attributes.insert((*key).into(), value.cloned().unwrap_or(Value::Bool(false)));
            }
            ("realms", value) => {
                attributes.insert((*key).into(), realms(value.unwrap_or(&Value::Null), &connection.name));
            }
            (_, Some(value)) => {
                attributes.insert((*key).into(), value.clone());
            }
            (_, None) => {}
        }
    }
    Ok(ConnectionRecord { connection, attributes })
}

/// A checked `PATCH /connections/{id}` body, applied to the connection as stored.
#[derive(Debug, Clone)]
pub struct ConnectionPatch {
    body: Map<String, Value>,
}

impl ConnectionPatch {
    /// `body` has been checked against [`UPDATE_CONNECTION`].
    pub fn plan(body: &Map<String, Value>) -> Result<Self, ApiError> {
        if let Some(Value::Object(options)) = body.get("options") {
            check_options(options)?;
        }
        Ok(Self { body: body.clone() })
    }

    /// The clients the connection will be enabled for, if the patch sets them.
    pub fn enabled_clients(&self) -> Option<Vec<String>> {
        self.body.get("enabled_clients").map(|value| client_ids(Some(value)))
    }

    pub fn apply(&self, record: &mut ConnectionRecord) {
        let kind = record.connection.kind();
        for (key, value) in &self.body {
            match key.as_str() {
                "options" => {
                    let mut options = value.as_object().cloned().unwrap_or_default();
                    for managed in managed_options(kind) {
                        if let (false, Some(kept)) =
                            (options.contains_key(*managed), record.connection.options.get(*managed))
                        {
                            options.insert((*managed).into(), kept.clone());
                        }
                    }
                    record.connection.options = options;
                }
                "enabled_clients" => record.connection.enabled_clients = client_ids(Some(value)),
                "realms" => {
                    record.attributes.insert(key.clone(), realms(value, &record.connection.name));
                }
                _ if value.is_null() => {
                    record.attributes.shift_remove(key);
                }
                _ => {
                    record.attributes.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value) -> Result<ConnectionRecord, ApiError> {
        let body = CREATE_CONNECTION.validate_payload(&body)?;
        new_connection(body, "con_0000000000000001".into())
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.unwrap_err().message.into_owned()
    }

    #[test]
    fn a_database_connection_gets_the_recorded_defaults() {
        let record = create(json!({"name": "Test-Auth0-Connection", "strategy": "auth0"})).unwrap();
        // TestConnectionManager_Delete.yaml: the answer to this very request.
        assert_eq!(
            Value::Object(record.to_json()),
            json!({"id": "con_0000000000000001", "options": {"mfa": {"active": true, "return_enroll_settings": true},
                "passwordPolicy": "good", "strategy_version": 2,
                "authentication_methods": {"password": {"enabled": true}, "passkey": {"enabled": false}},
                "passkey_options": {"challenge_ui": "both", "progressive_enrollment_enabled": true, "local_enrollment_enabled": true},
                "brute_force_protection": true},
                "strategy": "auth0", "name": "Test-Auth0-Connection", "is_domain_connection": false,
                "enabled_clients": [], "realms": ["Test-Auth0-Connection"]})
        );
    }

    #[test]
    fn passwordless_connections_keep_their_options() {
        let record = create(json!({"name": "Test-Email", "strategy": "email"})).unwrap();
        assert_eq!(Value::Object(record.connection.options.clone()), json!({"brute_force_protection": true}));
        let record =
            create(json!({"name": "sms2", "strategy": "sms", "options": {"from": "+1", "disable_signup": true,
            "brute_force_protection": false}, "realms": []}))
            .unwrap();
        assert_eq!(
            Value::Object(record.connection.options.clone()),
            json!({"from": "+1", "disable_signup": true, "brute_force_protection": false})
        );
        assert_eq!(record.to_json()["realms"], json!(["sms2"]));
    }

    #[test]
    fn refuses_bad_names_and_options() {
        assert_eq!(
            message(create(json!({"name": "-bad", "strategy": "auth0"}))),
            format!(
                "Payload validation error: 'String does not match pattern {NAME_PATTERN}: -bad' on property name ({NAME_DESCRIPTION})."
            )
        );
        assert!(create(json!({"name": "a--b", "strategy": "auth0"})).is_err());
        assert!(create(json!({"name": "a-b-9", "strategy": "auth0"})).is_ok());
        assert_eq!(
            message(create(json!({"name": "db", "strategy": "nope"}))),
            "Payload validation error: 'No enum match for: \"nope\"' on property strategy (The identity provider identifier for the connection)."
        );
        assert_eq!(
            message(create(json!({"name": "db", "strategy": "auth0", "options": {"passwordPolicy": "strong"}}))),
            "Payload validation error: 'No enum match for: \"strong\"' on property options.passwordPolicy (Password strength level)."
        );
        assert_eq!(
            message(create(
                json!({"name": "db", "strategy": "auth0", "options": {"attributes": {}, "requires_username": true}})
            )),
            "Cannot set both options.attributes and options.requires_username"
        );
        assert_eq!(
            message(create(
                json!({"name": "db", "strategy": "auth0", "options": {"validation": {"username": {"min": 9, "max": 3}}}})
            )),
            "options.validation.username.min (9) cannot be greater than options.validation.username.max (3)"
        );
    }

    #[test]
    fn patching_options_replaces_them_but_keeps_what_auth0_manages() {
        let mut record = create(json!({"name": "db", "strategy": "auth0"})).unwrap();
        let body = json!({"options": {"strategy_version": 2, "passwordPolicy": "excellent"}, "display_name": "DB",
            "enabled_clients": ["a", "b", "a"]});
        let body = UPDATE_CONNECTION.validate_payload(&body).unwrap();
        let patch = ConnectionPatch::plan(body).unwrap();
        assert_eq!(patch.enabled_clients(), Some(vec!["a".to_owned(), "b".to_owned()]));
        patch.apply(&mut record);
        let options = &record.connection.options;
        assert_eq!(options.get("passwordPolicy"), Some(&json!("excellent")));
        assert!(options.get("mfa").is_none(), "replaced");
        assert_eq!(options.get("brute_force_protection"), Some(&json!(true)), "kept");
        assert_eq!(record.to_json()["display_name"], "DB");
        let body = json!({"realms": []});
        ConnectionPatch::plan(UPDATE_CONNECTION.validate_payload(&body).unwrap()).unwrap().apply(&mut record);
        assert_eq!(record.to_json()["realms"], json!(["db"]), "no realms means the name");
        assert_eq!(
            message(UPDATE_CONNECTION.validate_payload(&json!({}))),
            "Payload validation error: 'Too few properties defined (0), minimum 1'."
        );
        assert_eq!(
            message(UPDATE_CONNECTION.validate_payload(&json!({"name": "x"}))),
            "Payload validation error: 'Additional properties not allowed: name'."
        );
    }
}
