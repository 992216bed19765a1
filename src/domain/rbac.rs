//! Roles, permissions and where a user's permissions come from, as Auth0 shapes them.
//!
//! A permission is a scope of a resource server, named by the pair (`resource_server_identifier`,
//! `permission_name`). Users get permissions directly or through roles; Auth0 lists each
//! permission once with its `sources`: `{"source_id":"","source_name":"","source_type":"DIRECT"}`
//! for a direct assignment (recorded traffic), and, by the same pattern, `{"source_id":"rol_…",
//! "source_name":"<role name>","source_type":"ROLE"}` for each role that grants it.

use serde_json::{Map, Value, json};

use super::json_schema::{Field, Rules, Schema};
use super::time::Timestamp;
use super::user::fold_case;
use crate::error::ApiError;

/// Where a checkpoint walk through a role's users resumes: after the member assigned at `0`
/// with user id `1` (members come in assignment order, then by user id).
pub type RoleMemberKey = (Timestamp, String);

/// A page of a role's members in checkpoint order; `next` is the key of the last one returned
/// when more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleMembers {
    pub users: Vec<RoleUser>,
    pub next: Option<RoleMemberKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `rol_` + 16 alphanumerics.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

impl Role {
    /// `{"id","name","description"}`; a role without a description has no `description` key.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("id".into(), Value::from(self.id.as_str()));
        body.insert("name".into(), Value::from(self.name.as_str()));
        if let Some(description) = &self.description {
            body.insert("description".into(), Value::from(description.as_str()));
        }
        Value::Object(body)
    }
}

/// Whether `name` passes `GET /roles?name_filter=`: Auth0 documents a case-insensitive filter
/// on the name; Roster matches names containing the filter, case folded.
pub fn name_matches(name: &str, filter: &str) -> bool {
    fold_case(name).contains(&fold_case(filter))
}

/// A change to a role: each field replaces the stored one when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl RolePatch {
    pub fn apply(&self, role: &mut Role) {
        if let Some(name) = &self.name {
            role.name = name.clone();
        }
        if let Some(description) = &self.description {
            role.description = Some(description.clone());
        }
    }
}

/// `POST /roles`. Auth0's spec gives role names no length limits; Roster refuses an empty name
/// (here and in `PATCH`), which could not be told apart in a list (see docs/COMPATIBILITY.md).
pub const CREATE_ROLE: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: Schema::string("Name of the role.").length(Some(1), None) },
        Field { name: "description", schema: Schema::string("Description of the role.") },
    ],
)
.required(&["name"])
.rules(Rules::RBAC);

/// `PATCH /roles/{id}`.
pub const UPDATE_ROLE: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: Schema::string("Name of this role.").length(Some(1), None) },
        Field { name: "description", schema: Schema::string("Description of this role.") },
    ],
)
.rules(Rules::RBAC);

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A new role from a validated `POST /roles` payload.
pub fn new_role(body: &Map<String, Value>, id: String) -> Role {
    Role { id, name: text(body, "name").unwrap_or_default(), description: text(body, "description") }
}

/// The change a validated `PATCH /roles/{id}` payload asks for.
pub fn role_patch(body: &Map<String, Value>) -> RolePatch {
    RolePatch { name: text(body, "name"), description: text(body, "description") }
}

/// A permission as requests name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PermissionRef {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

const PERMISSION_REQUEST: Schema = Schema::object(
    "",
    &[
        Field {
            name: "resource_server_identifier",
            schema: Schema::string("Resource server (API) identifier that this permission is for."),
        },
        Field { name: "permission_name", schema: Schema::string("Name of this permission.") },
    ],
)
.required(&["resource_server_identifier", "permission_name"]);

const ROLE_PERMISSION_LIST: Schema =
    Schema::array("array of resource_server_identifier, permission_name pairs.", &PERMISSION_REQUEST)
        .items_count(Some(1), None);
const ADD_USER_PERMISSION_LIST: Schema =
    Schema::array("List of permissions to add to this user.", &PERMISSION_REQUEST).items_count(Some(1), None);
const REMOVE_USER_PERMISSION_LIST: Schema =
    Schema::array("List of permissions to remove from this user.", &PERMISSION_REQUEST).items_count(Some(1), None);

/// `POST /roles/{id}/permissions` and `DELETE /roles/{id}/permissions`.
pub const ROLE_PERMISSIONS: Schema = Schema::object("", &[Field { name: "permissions", schema: ROLE_PERMISSION_LIST }])
    .required(&["permissions"])
    .rules(Rules::RBAC);
/// `POST /users/{id}/permissions`.
pub const ADD_USER_PERMISSIONS: Schema =
    Schema::object("", &[Field { name: "permissions", schema: ADD_USER_PERMISSION_LIST }])
        .required(&["permissions"])
        .rules(Rules::RBAC);
/// `DELETE /users/{id}/permissions`.
pub const REMOVE_USER_PERMISSIONS: Schema =
    Schema::object("", &[Field { name: "permissions", schema: REMOVE_USER_PERMISSION_LIST }])
        .required(&["permissions"])
        .rules(Rules::RBAC);

/// The permissions of a validated permissions payload, without repeats, in request order.
pub fn permission_refs(body: &Map<String, Value>) -> Vec<PermissionRef> {
    let mut refs: Vec<PermissionRef> = Vec::new();
    for item in body.get("permissions").and_then(Value::as_array).into_iter().flatten() {
        let field = |key| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let permission = PermissionRef {
            resource_server_identifier: field("resource_server_identifier"),
            permission_name: field("permission_name"),
        };
        if !refs.contains(&permission) {
            refs.push(permission);
        }
    }
    refs
}

const ROLE_ID: Schema = Schema::string("").length(Some(1), None);
const USER_ID: Schema = Schema::string("");

/// `POST /users/{id}/roles`.
pub const ASSIGN_USER_ROLES: Schema = Schema::object(
    "",
    &[Field {
        name: "roles",
        schema: Schema::array("List of roles IDs to associated with the user.", &ROLE_ID).items_count(Some(1), None),
    }],
)
.required(&["roles"])
.rules(Rules::RBAC);
/// `DELETE /users/{id}/roles`.
pub const REMOVE_USER_ROLES: Schema = Schema::object(
    "",
    &[Field {
        name: "roles",
        schema: Schema::array("List of roles IDs to remove from the user.", &ROLE_ID).items_count(Some(1), None),
    }],
)
.required(&["roles"])
.rules(Rules::RBAC);
/// `POST /roles/{id}/users` (no `minItems` in Auth0's spec).
pub const ASSIGN_ROLE_USERS: Schema = Schema::object(
    "",
    &[Field { name: "users", schema: Schema::array("user_id's of the users to assign the role to.", &USER_ID) }],
)
.required(&["users"])
.rules(Rules::RBAC);

/// The strings under `key` of a validated payload, without repeats, in request order.
pub fn ids(body: &Map<String, Value>, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in body.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !ids.iter().any(|seen| seen == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// A permission with what Auth0 shows of it: its scope's description and its API's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub resource_server_identifier: String,
    pub permission_name: String,
    pub resource_server_name: String,
    pub description: Option<String>,
}

impl Permission {
    /// `{"permission_name","description","resource_server_name","resource_server_identifier"}`
    /// in the recordings' order; a scope without a description has no `description` key.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("permission_name".into(), Value::from(self.permission_name.as_str()));
        if let Some(description) = &self.description {
            body.insert("description".into(), Value::from(description.as_str()));
        }
        body.insert("resource_server_name".into(), Value::from(self.resource_server_name.as_str()));
        body.insert("resource_server_identifier".into(), Value::from(self.resource_server_identifier.as_str()));
        body
    }

    /// How requests name this permission.
    pub fn reference(&self) -> PermissionRef {
        PermissionRef {
            resource_server_identifier: self.resource_server_identifier.clone(),
            permission_name: self.permission_name.clone(),
        }
    }

    /// Auth0's listing order, as far as the recordings show it (Roster's reading): by API
    /// identifier, then by permission name.
    pub fn sort_key(&self) -> (&str, &str) {
        (&self.resource_server_identifier, &self.permission_name)
    }
}

/// Why a user has a permission.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PermissionSource {
    Direct,
    /// Through this role (its id and name).
    Role {
        name: String,
        id: String,
    },
}

impl PermissionSource {
    pub fn to_json(&self) -> Value {
        match self {
            Self::Direct => json!({"source_id": "", "source_name": "", "source_type": "DIRECT"}),
            Self::Role { name, id } => json!({"source_id": id, "source_name": name, "source_type": "ROLE"}),
        }
    }
}

/// One permission of a user and every source it comes from (direct first, then roles by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPermission {
    pub permission: Permission,
    pub sources: Vec<PermissionSource>,
}

impl UserPermission {
    pub fn to_json(&self) -> Value {
        let mut body = self.permission.to_json();
        body.insert("sources".into(), Value::Array(self.sources.iter().map(PermissionSource::to_json).collect()));
        Value::Object(body)
    }
}

/// Merges a user's permission grants (each permission with one source) into Auth0's list:
/// one entry per permission, sorted, its sources sorted.
pub fn merge_grants(grants: Vec<(Permission, PermissionSource)>) -> Vec<UserPermission> {
    let mut merged: Vec<UserPermission> = Vec::new();
    let mut grants = grants;
    grants.sort_by(|(a, sa), (b, sb)| a.sort_key().cmp(&b.sort_key()).then_with(|| sa.cmp(sb)));
    for (permission, source) in grants {
        match merged.last_mut() {
            Some(last) if last.permission.sort_key() == permission.sort_key() => {
                if !last.sources.contains(&source) {
                    last.sources.push(source);
                }
            }
            _ => merged.push(UserPermission { permission, sources: vec![source] }),
        }
    }
    merged
}

/// A member of a role as `GET /roles/{id}/users` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUser {
    pub user_id: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub name: Option<String>,
}

impl RoleUser {
    /// `{"user_id","email","picture","name"}` in the recordings' order, absent attributes left out.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("user_id".into(), Value::from(self.user_id.as_str()));
        for (key, value) in [("email", &self.email), ("picture", &self.picture), ("name", &self.name)] {
            if let Some(value) = value {
                body.insert(key.into(), Value::from(value.as_str()));
            }
        }
        Value::Object(body)
    }
}

/// The errors of role and permission writes, in Auth0's words. Auth0's authorization service
/// answers these without an `errorCode` (recorded: `{"statusCode":404,"error":"Not Found",
/// "message":"The role does not exist."}`).
pub fn role_not_found() -> ApiError {
    ApiError::not_found("The role does not exist.")
}

pub fn role_exists() -> ApiError {
    ApiError::new(axum::http::StatusCode::CONFLICT, None, "The role already exists.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(identifier: &str, name: &str) -> Permission {
        Permission {
            resource_server_identifier: identifier.into(),
            permission_name: name.into(),
            resource_server_name: "API".into(),
            description: None,
        }
    }

    fn role(name: &str) -> PermissionSource {
        PermissionSource::Role { name: name.into(), id: format!("rol_{name}") }
    }

    #[test]
    fn merges_sources_per_permission() {
        let merged = merge_grants(vec![
            (permission("https://b", "read"), role("Zed")),
            (permission("https://a", "write"), PermissionSource::Direct),
            (permission("https://b", "read"), PermissionSource::Direct),
            (permission("https://b", "read"), role("Admin")),
            (permission("https://a", "read"), role("Admin")),
        ]);
        let shown: Vec<(&str, &str, Vec<Value>)> = merged
            .iter()
            .map(|p| {
                (
                    p.permission.resource_server_identifier.as_str(),
                    p.permission.permission_name.as_str(),
                    p.sources.iter().map(|s| s.to_json()["source_type"].clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("https://a", "read", vec![json!("ROLE")]),
                ("https://a", "write", vec![json!("DIRECT")]),
                ("https://b", "read", vec![json!("DIRECT"), json!("ROLE"), json!("ROLE")]),
            ]
        );
        assert_eq!(merged[2].sources[1], role("Admin"));
    }

    #[test]
    fn name_filter_is_case_insensitive_substring() {
        assert!(name_matches("Test Admin", "admin"));
        assert!(name_matches("Test Admin", "ST AD"));
        assert!(name_matches("Éditeur", "éDIT"));
        assert!(!name_matches("Owner", "admin"));
    }

    #[test]
    fn payloads_keep_request_order_without_repeats() {
        let body = json!({"roles": ["rol_b", "rol_a", "rol_b"]});
        assert_eq!(ids(body.as_object().unwrap(), "roles"), vec!["rol_b", "rol_a"]);
        assert_eq!(
            ASSIGN_USER_ROLES.validate_payload(&json!({"roles": []})).unwrap_err().message,
            "Payload validation error: 'Array is too short (0), minimum 1' on property roles (List of roles IDs to associated with the user)."
        );
        assert_eq!(
            ADD_USER_PERMISSIONS
                .validate_payload(&json!({"permissions": [{"permission_name": "read"}]}))
                .unwrap_err()
                .message,
            "Payload validation error: 'Missing required property: resource_server_identifier' on property permissions[0]."
        );
    }
}
