//! Organizations: what one is, the payloads that create and change one (Auth0's
//! `CreateOrganizationRequestContent` and `UpdateOrganizationRequestContent`, descriptions copied
//! from the spec), and how one is rendered.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids;
use super::json_schema::{Additional, Field, Schema};
use super::organization_connection::AddedConnection;
use super::rbac::Role;
use super::schema::is_strict_uri;
use super::time::Timestamp;
use crate::error::ApiResult;

/// Auth0 assigns at most 50 roles to a member of an organization.
pub const MAX_ROLES_PER_MEMBER: u64 = 50;

/// The order of an organization listing (`sort=name:1`, `display_name:-1`, `created_at:1`);
/// ties (and the default) go by name, which is unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganizationOrder {
    #[default]
    Name,
    DisplayName,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrganizationSort {
    pub by: OrganizationOrder,
    pub descending: bool,
}

/// Where a member listing resumes: the membership's creation time and user id of the last
/// member seen (members are listed in the order they joined, then by user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCursor {
    pub joined_at: Timestamp,
    pub user_id: String,
}

/// A member of an organization: the user's profile attributes Auth0 lists, and (when asked
/// for) the member's roles in the organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user_id: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub name: Option<String>,
    pub joined_at: Timestamp,
    pub roles: Vec<Role>,
}

/// What Auth0 answers for `third_party_client_access` when it was never set (a tenant of 2026
/// does, TestAccDataSourceUserOrganizations).
pub const DEFAULT_THIRD_PARTY_CLIENT_ACCESS: &str = "block";

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// `org_` + 16 alphanumerics.
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub settings: Settings,
    /// Not shown (Auth0 does not return it); orders `sort=created_at:1`.
    pub created_at: Timestamp,
}

/// The attributes that are only stored and returned (the `document` column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_quota: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_client_access: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_app_entitlement_active: Option<bool>,
}

impl Organization {
    /// Auth0's `Organization` object. The creation's answer adds `enabled_connections`.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("id".into(), Value::from(self.id.as_str()));
        out.insert("name".into(), Value::from(self.name.as_str()));
        if let Some(display_name) = &self.display_name {
            out.insert("display_name".into(), Value::from(display_name.as_str()));
        }
        let settings = &self.settings;
        for (key, value) in
            [("branding", &settings.branding), ("metadata", &settings.metadata), ("token_quota", &settings.token_quota)]
        {
            if let Some(value) = value {
                out.insert(key.into(), Value::Object(value.clone()));
            }
        }
        let access = settings.third_party_client_access.as_deref().unwrap_or(DEFAULT_THIRD_PARTY_CLIENT_ACCESS);
        out.insert("third_party_client_access".into(), Value::from(access));
        if let Some(active) = settings.is_app_entitlement_active {
            out.insert("is_app_entitlement_active".into(), Value::from(active));
        }
        out
    }
}

/// `organization-name`: lowercase letters, digits, `_` and `-` (Auth0's docs: "May contain
/// lowercase alphabetical characters, numbers, underscores (_), and dashes (-). Can start with
/// a number."). Lengths are checked apart.
pub fn is_organization_name(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `strict-https-uri-or-null`.
fn is_https_uri(text: &str) -> bool {
    text.starts_with("https://") && is_strict_uri(text)
}

/// `html-color`: `#rgb` or `#rrggbb`.
fn is_html_color(text: &str) -> bool {
    text.strip_prefix('#').is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

const NAME: Schema = Schema::string("The name of this organization.")
    .length(Some(1), Some(50))
    .format("organization-name", is_organization_name);
const DISPLAY_NAME: Schema = Schema::string("Friendly name of this organization.").length(Some(1), Some(255));
const BRANDING: Schema = Schema::object(
    "Theme defines how to style the login pages.",
    &[
        Field {
            name: "logo_url",
            schema: Schema::string("URL of logo to display on login page.")
                .nullable()
                .format("strict-https-uri-or-null", is_https_uri),
        },
        Field {
            name: "colors",
            schema: Schema::object(
                "Color scheme used to customize the login pages.",
                &[
                    Field {
                        name: "primary",
                        schema: Schema::string("HEX Color for primary elements.").format("html-color", is_html_color),
                    },
                    Field {
                        name: "page_background",
                        schema: Schema::string("HEX Color for background.").format("html-color", is_html_color),
                    },
                ],
            )
            .required(&["primary", "page_background"]),
        },
    ],
);
const METADATA_VALUE: Schema = Schema::string("").nullable().length(None, Some(255));
const METADATA: Schema = Schema::object(
    "Metadata associated with the organization, in the form of an object with string values (max 255 chars). Maximum of 25 metadata properties allowed.",
    &[],
)
.additional(Additional::Matching(&METADATA_VALUE))
.properties_count(None, Some(25));
const CLIENT_CREDENTIALS_QUOTA: Schema = Schema::object(
    "The token quota configuration",
    &[
        Field {
            name: "enforce",
            schema: Schema::boolean(
                "If enabled, the quota will be enforced and requests in excess of the quota will fail. If disabled, the quota will not be enforced, but notifications for requests exceeding the quota will be available in logs.",
            ),
        },
        Field {
            name: "per_day",
            schema: Schema::integer("Maximum number of issued tokens per day", Some(1), Some(2147483647)),
        },
        Field {
            name: "per_hour",
            schema: Schema::integer("Maximum number of issued tokens per hour", Some(1), Some(2147483647)),
        },
    ],
)
.properties_count(Some(1), None);
const TOKEN_QUOTA: Schema =
    Schema::object("", &[Field { name: "client_credentials", schema: CLIENT_CREDENTIALS_QUOTA }])
        .required(&["client_credentials"]);
/// Newer tenants' organization attributes, which the spec does not list yet (Terraform sends
/// `is_app_entitlement_active`, TestAccDataSourceUserOrganizations; the values and description
/// are those of Auth0's current SDKs).
const THIRD_PARTY_CLIENT_ACCESS: Schema =
    Schema::string("Whether third-party applications may authenticate users of this organization.")
        .one_of(&["allow", "block"]);
const IS_APP_ENTITLEMENT_ACTIVE: Schema = Schema::boolean("Whether app entitlement is active for this organization.");
const ENABLED_CONNECTION: Schema = Schema::object(
    "Connection to be added to the organization.",
    &[
        Field { name: "connection_id", schema: Schema::string("ID of the connection.") },
        Field {
            name: "assign_membership_on_login",
            schema: Schema::boolean(
                "When true, all users that log in with this connection will be automatically granted membership in the organization. When false, users must be granted membership in the organization before logging in with this connection.",
            ),
        },
        Field {
            name: "show_as_button",
            schema: Schema::boolean(
                "Determines whether a connection should be displayed on this organization’s login prompt. Only applicable for enterprise connections. Default: true.",
            ),
        },
        Field {
            name: "is_signup_enabled",
            schema: Schema::boolean(
                "Determines whether organization signup should be enabled for this organization connection. Only applicable for database connections. Default: false.",
            ),
        },
    ],
)
.required(&["connection_id"]);
const ENABLED_CONNECTIONS: Schema = Schema::array(
    "Connections that will be enabled for this organization. See POST enabled_connections endpoint for the object format. (Max of 10 connections allowed)",
    &ENABLED_CONNECTION,
)
.items_count(None, Some(10));

/// `CreateOrganizationRequestContent`.
pub const CREATE_ORGANIZATION: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: NAME },
        Field { name: "display_name", schema: DISPLAY_NAME },
        Field { name: "branding", schema: BRANDING },
        Field { name: "metadata", schema: METADATA },
        Field { name: "enabled_connections", schema: ENABLED_CONNECTIONS },
        Field { name: "token_quota", schema: TOKEN_QUOTA },
        Field { name: "third_party_client_access", schema: THIRD_PARTY_CLIENT_ACCESS },
        Field { name: "is_app_entitlement_active", schema: IS_APP_ENTITLEMENT_ACTIVE },
    ],
)
.required(&["name"]);

/// `UpdateOrganizationRequestContent`.
pub const UPDATE_ORGANIZATION: Schema = Schema::object(
    "",
    &[
        Field { name: "display_name", schema: DISPLAY_NAME },
        Field { name: "name", schema: NAME },
        Field { name: "branding", schema: BRANDING },
        Field { name: "metadata", schema: METADATA },
        Field { name: "token_quota", schema: TOKEN_QUOTA.nullable() },
        Field { name: "third_party_client_access", schema: THIRD_PARTY_CLIENT_ACCESS },
        Field { name: "is_app_entitlement_active", schema: IS_APP_ENTITLEMENT_ACTIVE },
    ],
);

/// An object payload value without its `null` members: `null` means "not set".
fn without_nulls(value: &Value) -> Map<String, Value> {
    value
        .as_object()
        .map(|object| object.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A new organization from a create payload (checked against `CREATE_ORGANIZATION` here), and
/// the connections it enables (`enabled_connections`), which the store checks.
pub fn new_organization(body: &Value, now: Timestamp) -> ApiResult<(Organization, Vec<AddedConnection>)> {
    let body = CREATE_ORGANIZATION.validate_payload(body)?;
    let mut organization = Organization {
        id: ids::prefixed("org"),
        name: text(body, "name").unwrap_or_default(),
        display_name: text(body, "display_name"),
        settings: Settings::default(),
        created_at: now,
    };
    OrganizationPatch::from_valid(body).apply(&mut organization);
    let connections = body
        .get("enabled_connections")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).map(AddedConnection::from_valid).collect())
        .unwrap_or_default();
    Ok((organization, connections))
}

/// A validated `PATCH /organizations/{id}` payload. Auth0 replaces `branding` and `metadata`
/// whole (it does not merge them as it merges a user's metadata); `token_quota: null` removes
/// the quota.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub display_name: Option<String>,
    branding: Option<Map<String, Value>>,
    metadata: Option<Map<String, Value>>,
    token_quota: Option<Option<Map<String, Value>>>,
    third_party_client_access: Option<String>,
    is_app_entitlement_active: Option<bool>,
}

impl OrganizationPatch {
    pub fn plan(body: &Value) -> ApiResult<Self> {
        Ok(Self::from_valid(UPDATE_ORGANIZATION.validate_payload(body)?))
    }

    fn from_valid(body: &Map<String, Value>) -> Self {
        Self {
            name: text(body, "name"),
            display_name: text(body, "display_name"),
            branding: body.get("branding").map(without_nulls),
            metadata: body.get("metadata").map(without_nulls),
            token_quota: body.get("token_quota").map(|v| v.as_object().cloned()),
            third_party_client_access: text(body, "third_party_client_access"),
            is_app_entitlement_active: body.get("is_app_entitlement_active").and_then(Value::as_bool),
        }
    }

    pub fn apply(&self, organization: &mut Organization) {
        if let Some(name) = &self.name {
            organization.name = name.clone();
        }
        if let Some(display_name) = &self.display_name {
            organization.display_name = Some(display_name.clone());
        }
        let settings = &mut organization.settings;
        if let Some(branding) = &self.branding {
            settings.branding = Some(branding.clone());
        }
        if let Some(metadata) = &self.metadata {
            settings.metadata = Some(metadata.clone());
        }
        if let Some(token_quota) = &self.token_quota {
            settings.token_quota = token_quota.clone();
        }
        if let Some(access) = &self.third_party_client_access {
            settings.third_party_client_access = Some(access.clone());
        }
        if let Some(active) = self.is_app_entitlement_active {
            settings.is_app_entitlement_active = Some(active);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::time;

    fn now() -> Timestamp {
        time::parse("2024-05-01T10:00:00.000Z").unwrap()
    }

    fn create_error(body: Value) -> String {
        new_organization(&body, now()).map(|_| ()).unwrap_err().message.into_owned()
    }

    #[test]
    fn creates_with_an_org_id_and_renders_what_was_given() {
        let body =
            json!({"name": "acme", "display_name": "Acme", "branding": {"logo_url": "https://example.com/logo.gif"}});
        let (organization, _) = new_organization(&body, now()).unwrap();
        assert!(organization.id.starts_with("org_") && organization.id.len() == 20);
        assert_eq!(
            Value::Object(organization.to_json()),
            json!({"id": organization.id, "name": "acme", "display_name": "Acme",
                "branding": {"logo_url": "https://example.com/logo.gif"}, "third_party_client_access": "block"})
        );
    }

    #[test]
    fn refuses_what_auth0_refuses() {
        assert_eq!(create_error(json!({})), "Payload validation error: 'Missing required property: name'.");
        assert_eq!(
            create_error(json!({"name": "Acme"})),
            "Payload validation error: 'Object didn't pass validation for format organization-name: Acme' on property name (The name of this organization)."
        );
        assert_eq!(
            create_error(json!({"name": "a".repeat(51)})),
            "Payload validation error: 'String is too long (51 chars), maximum 50' on property name (The name of this organization)."
        );
        assert_eq!(
            create_error(json!({"name": "acme", "branding": {"logo_url": "http://example.com/x.png"}})),
            "Payload validation error: 'Object didn't pass validation for format strict-https-uri-or-null: http://example.com/x.png' on property branding.logo_url (URL of logo to display on login page)."
        );
        assert_eq!(
            create_error(
                json!({"name": "acme", "branding": {"colors": {"primary": "red", "page_background": "#fff"}}})
            ),
            "Payload validation error: 'Object didn't pass validation for format html-color: red' on property branding.colors.primary (HEX Color for primary elements)."
        );
        let many: Map<String, Value> = (0..26).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            create_error(json!({"name": "acme", "metadata": many})),
            "Payload validation error: 'Too many properties defined (26), maximum 25' on property metadata (Metadata associated with the organization, in the form of an object with string values (max 255 chars). Maximum of 25 metadata properties allowed)."
        );
        assert_eq!(
            create_error(json!({"name": "acme", "metadata": {"k": 1}})),
            "Payload validation error: 'Expected type string,null but found type integer' on property metadata.k."
        );
        assert_eq!(
            create_error(json!({"name": "acme", "token_quota": {"client_credentials": {}}})),
            "Payload validation error: 'Too few properties defined (0), minimum 1' on property token_quota.client_credentials (The token quota configuration)."
        );
    }

    #[test]
    fn names_and_colors() {
        for ok in ["acme", "0rg", "a_b-c", "a"] {
            assert!(is_organization_name(ok), "{ok}");
        }
        for bad in ["Acme", "a b", "a.b", "ä"] {
            assert!(!is_organization_name(bad), "{bad}");
        }
        assert!(is_html_color("#fff") && is_html_color("#00FF00"));
        assert!(!is_html_color("fff") && !is_html_color("#ffff") && !is_html_color("#ggg"));
    }

    #[test]
    fn patch_replaces_branding_and_metadata_and_drops_nulls() {
        let (mut organization, _) = new_organization(
            &json!({"name": "acme", "branding": {"logo_url": "https://e.com/a.png"}, "metadata": {"a": "1", "b": "2"},
                "token_quota": {"client_credentials": {"per_day": 10}}}),
            now(),
        )
        .unwrap();
        let patch = OrganizationPatch::plan(&json!({"metadata": {"b": "3", "c": null}, "token_quota": null,
            "third_party_client_access": "allow", "is_app_entitlement_active": false}))
        .unwrap();
        patch.apply(&mut organization);
        let json = Value::Object(organization.to_json());
        assert_eq!(json["metadata"], json!({"b": "3"}));
        assert_eq!(json["branding"], json!({"logo_url": "https://e.com/a.png"}));
        assert!(json.get("token_quota").is_none());
        assert_eq!(
            (json["third_party_client_access"].clone(), json["is_app_entitlement_active"].clone()),
            (json!("allow"), json!(false))
        );
        assert_eq!(
            OrganizationPatch::plan(&json!({"enabled_connections": []})).unwrap_err().message,
            "Payload validation error: 'Additional properties not allowed: enabled_connections'."
        );
    }
}
