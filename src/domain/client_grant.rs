//! Client grants as `/api/v2/client-grants` manages them: which scopes of which API (audience)
//! a client may ask for in a client-credentials token. A grant shows exactly what it was given
//! (go-auth0's `TestClientGrantManager_*` recordings): `id`, `client_id`, `audience`, `scope`,
//! then the optional attributes (`subject_type`, `organization_usage`, ...) that were set.

use serde_json::{Map, Value};

use super::ids;
use super::json_schema::{Field, Schema};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub struct ClientGrantRecord {
    /// `cgr_` + 16 alphanumerics.
    pub id: String,
    pub client_id: String,
    /// The API's identifier; the Management API's in its canonical `https://` form.
    pub audience: String,
    pub scope: Vec<String>,
    pub attributes: Map<String, Value>,
}

const SCOPE: Schema = Schema::string("").length(Some(1), Some(280));
const AUTHORIZATION_DETAILS_TYPE: Schema = Schema::string("").length(Some(1), Some(255));
const AUTHORIZATION_DETAILS_TYPES: Field = Field {
    name: "authorization_details_types",
    schema: Schema::array("Types of authorization_details allowed for this client grant.", &AUTHORIZATION_DETAILS_TYPE),
};
const ORGANIZATION_USAGE: &[&str] = &["deny", "allow", "require"];

/// `CreateClientGrantRequestContent`
pub const CREATE_CLIENT_GRANT: Schema = Schema::object(
    "",
    &[
        Field { name: "client_id", schema: Schema::string("ID of the client.") },
        Field {
            name: "audience",
            schema: Schema::string("The audience (API identifier) of this client grant").length(Some(1), None),
        },
        Field {
            name: "default_for",
            schema: Schema::string("Applies this client grant as the default for all clients in the specified group. The only accepted value is <a href=\"https://auth0.com/docs/get-started/applications/application-access-to-apis-client-grants#default-permissions-for-third-party-applications\">`third_party_clients`</a>, which applies the grant to all third-party clients. Per-client grants for the same audience take precedence. Mutually exclusive with `client_id`.")
                .one_of(&["third_party_clients"]),
        },
        Field {
            name: "organization_usage",
            schema: Schema::string(
                "Defines whether organizations can be used with client credentials exchanges for this grant.",
            )
            .one_of(ORGANIZATION_USAGE),
        },
        Field {
            name: "allow_any_organization",
            schema: Schema::boolean(
                "If enabled, any organization can be used with this grant. If disabled (default), the grant must be explicitly assigned to the desired organizations.",
            ),
        },
        Field { name: "scope", schema: Schema::array("Scopes allowed for this client grant.", &SCOPE) },
        Field {
            name: "subject_type",
            schema: Schema::string("The type of application access the client grant allows.").one_of(&["client", "user"]),
        },
        AUTHORIZATION_DETAILS_TYPES,
        Field {
            name: "allow_all_scopes",
            schema: Schema::boolean(
                "If enabled, all scopes configured on the resource server are allowed for this grant.",
            ),
        },
    ],
)
.required(&["audience"]);

/// `UpdateClientGrantRequestContent`
pub const UPDATE_CLIENT_GRANT: Schema = Schema::object(
    "",
    &[
        Field { name: "scope", schema: Schema::array("Scopes allowed for this client grant.", &SCOPE).nullable() },
        Field {
            name: "organization_usage",
            schema: Schema::string("Controls how organizations may be used with this grant")
                .one_of(ORGANIZATION_USAGE)
                .nullable(),
        },
        Field {
            name: "allow_any_organization",
            schema: Schema::boolean("Controls allowing any organization to be used with this grant").nullable(),
        },
        AUTHORIZATION_DETAILS_TYPES,
        Field {
            name: "allow_all_scopes",
            schema: Schema::boolean(
                "If enabled, all scopes configured on the resource server are allowed for this grant.",
            )
            .nullable(),
        },
    ],
)
.properties_count(Some(1), None);

fn scopes(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// The grant `body` (checked against [`CREATE_CLIENT_GRANT`]) asks for, for `audience` (the
/// body's, made canonical by the caller). Grants name their client: Roster has no default
/// grants for groups of clients (`default_for`).
pub fn new_grant(body: &Map<String, Value>, audience: String) -> Result<ClientGrantRecord, ApiError> {
    if body.contains_key("default_for") {
        return Err(ApiError::invalid_body(
            "Roster does not support default_for client grants; create a grant for each client_id.",
        ));
    }
    let Some(client_id) = body.get("client_id").and_then(Value::as_str) else {
        return Err(ApiError::invalid_body("Payload validation error: 'Missing required property: client_id'."));
    };
    let attributes = body
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "client_id" | "audience" | "scope"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(ClientGrantRecord {
        id: ids::prefixed("cgr"),
        client_id: client_id.to_owned(),
        audience,
        scope: scopes(body.get("scope")),
        attributes,
    })
}

/// A checked `PATCH /client-grants/{id}` body (against [`UPDATE_CLIENT_GRANT`]): `scope`
/// replaces the scopes (`null` clears them), a `null` elsewhere removes the attribute.
pub fn apply_patch(body: &Map<String, Value>, grant: &mut ClientGrantRecord) {
    for (key, value) in body {
        match (key.as_str(), value) {
            ("scope", value) => grant.scope = scopes(Some(value)),
            (_, Value::Null) => {
                grant.attributes.shift_remove(key);
            }
            _ => {
                grant.attributes.insert(key.clone(), value.clone());
            }
        }
    }
}

impl ClientGrantRecord {
    pub fn to_json(&self) -> Map<String, Value> {
        let mut json = Map::new();
        json.insert("id".into(), Value::from(self.id.as_str()));
        json.insert("client_id".into(), Value::from(self.client_id.as_str()));
        json.insert("audience".into(), Value::from(self.audience.as_str()));
        json.insert("scope".into(), Value::from(self.scope.clone()));
        json.extend(self.attributes.clone());
        json
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_grant_shows_what_it_was_given() {
        // TestClientGrantManager_Create.yaml
        let body = json!({"client_id": "vMlLcitIrYwysng0hqWjQSREGa2RSdTK", "audience": "https://api.example.com/",
            "scope": ["create:resource"], "subject_type": "user", "authorization_details_types": ["payment", "shipping"]});
        let body = CREATE_CLIENT_GRANT.validate_payload(&body).unwrap();
        let mut grant = new_grant(body, "https://api.example.com/".into()).unwrap();
        assert!(grant.id.starts_with("cgr_") && grant.id.len() == 20);
        let mut json = Value::Object(grant.to_json());
        json["id"] = json!("cgr_VoablmktAIYPIFnb");
        assert_eq!(
            json.to_string(),
            r#"{"id":"cgr_VoablmktAIYPIFnb","client_id":"vMlLcitIrYwysng0hqWjQSREGa2RSdTK","audience":"https://api.example.com/","scope":["create:resource"],"subject_type":"user","authorization_details_types":["payment","shipping"]}"#
        );
        // TestClientGrantManager_Update.yaml
        let patch = json!({"scope": ["create:resource", "update:resource"], "authorization_details_types": []});
        apply_patch(UPDATE_CLIENT_GRANT.validate_payload(&patch).unwrap(), &mut grant);
        assert_eq!(grant.scope, ["create:resource", "update:resource"]);
        assert_eq!(grant.to_json()["authorization_details_types"], json!([]));
        let patch = json!({"scope": null, "allow_any_organization": true});
        apply_patch(UPDATE_CLIENT_GRANT.validate_payload(&patch).unwrap(), &mut grant);
        assert!(grant.scope.is_empty());
        assert_eq!(grant.to_json()["allow_any_organization"], true);
        apply_patch(
            UPDATE_CLIENT_GRANT.validate_payload(&json!({"allow_any_organization": null})).unwrap(),
            &mut grant,
        );
        assert!(grant.to_json().get("allow_any_organization").is_none());
    }

    #[test]
    fn refusals() {
        let error = |body: Value| {
            CREATE_CLIENT_GRANT
                .validate_payload(&body)
                .and_then(|b| new_grant(b, "a".into()))
                .unwrap_err()
                .message
                .into_owned()
        };
        assert_eq!(
            error(json!({"client_id": "c"})),
            "Payload validation error: 'Missing required property: audience'."
        );
        assert_eq!(
            error(json!({"audience": "a"})),
            "Payload validation error: 'Missing required property: client_id'."
        );
        assert_eq!(
            error(json!({"audience": "a", "client_id": "c", "scope": [""]})),
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property scope[0]."
        );
        assert_eq!(
            UPDATE_CLIENT_GRANT.validate_payload(&json!({"audience": "x"})).unwrap_err().message,
            "Payload validation error: 'Additional properties not allowed: audience'."
        );
    }
}
