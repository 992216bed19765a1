//! Resource servers (Auth0's "APIs"): an identifier (the audience), a name, token settings, and
//! the scopes that roles and users are given as permissions.
//!
//! Shapes follow recorded traffic, which differs from the spec: a new resource server gets
//! `signing_alg: RS256`, `allow_offline_access: false`, `token_lifetime: 86400`,
//! `token_lifetime_for_web: 7200` and `skip_consent_for_verifiable_first_party_clients: false`;
//! custom servers carry no `is_system`; one created without `scopes` has no `scopes` key until a
//! PATCH gives it some (then `[]` is kept); `token_encryption.encryption_key.pem` is never shown.

use serde_json::{Map, Value};

use super::json_schema::{Additional, Field, Rules, Schema};
use super::time::Timestamp;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub value: String,
    pub description: Option<String>,
}

impl Scope {
    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("value".into(), Value::from(self.value.as_str()));
        if let Some(description) = &self.description {
            body.insert("description".into(), Value::from(description.as_str()));
        }
        Value::Object(body)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceServer {
    /// 24 hex digits, as Auth0's.
    pub id: String,
    pub identifier: String,
    pub name: String,
    /// `None` when the server was never given scopes (Auth0 then shows no `scopes` key).
    pub scopes: Option<Vec<Scope>>,
    /// Every other attribute, as shown, in the order shown.
    pub settings: Map<String, Value>,
    pub created_at: Timestamp,
}

/// The key that marks, in a stored settings document, that the server has scopes (they live in
/// their own table, where assignments can reference them).
pub const SCOPES_MARKER: &str = "scopes";

impl ResourceServer {
    /// Auth0's own APIs (the Management API) are system resource servers.
    pub fn is_system(&self) -> bool {
        self.settings.get("is_system") == Some(&Value::Bool(true))
    }

    /// The stored document: the settings, plus `"scopes": []` when the server has scopes.
    pub fn document(&self) -> Map<String, Value> {
        let mut document = self.settings.clone();
        if self.scopes.is_some() {
            document.insert(SCOPES_MARKER.into(), Value::Array(Vec::new()));
        }
        document
    }

    /// Rebuilds a server from its row: `scopes` are those stored, used only when the document
    /// says it has scopes.
    pub fn from_stored(
        id: String,
        identifier: String,
        name: String,
        mut document: Map<String, Value>,
        scopes: Vec<Scope>,
        created_at: Timestamp,
    ) -> Self {
        let has_scopes = document.remove(SCOPES_MARKER).is_some();
        Self { id, identifier, name, scopes: has_scopes.then_some(scopes), settings: document, created_at }
    }

    /// The body Auth0 answers with.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("id".into(), Value::from(self.id.as_str()));
        body.insert("name".into(), Value::from(self.name.as_str()));
        body.insert("identifier".into(), Value::from(self.identifier.as_str()));
        if let Some(scopes) = &self.scopes {
            body.insert("scopes".into(), Value::Array(scopes.iter().map(Scope::to_json).collect()));
        }
        for (key, value) in &self.settings {
            body.insert(key.clone(), value.clone());
        }
        body
    }

    /// The scope named `value`, if the server has it.
    pub fn scope(&self, value: &str) -> Option<&Scope> {
        self.scopes.iter().flatten().find(|s| s.value == value)
    }
}

/// `fields`/`include_fields` on a rendered server.
pub fn project(body: Map<String, Value>, fields: Option<&str>, include: bool) -> Map<String, Value> {
    let Some(fields) = fields else { return body };
    let named: Vec<&str> = fields.split(',').map(str::trim).collect();
    body.into_iter().filter(|(key, _)| named.contains(&key.as_str()) == include).collect()
}

/// `^[^<>]+$`
fn name_pattern(text: &str) -> bool {
    !text.is_empty() && !text.contains(['<', '>'])
}

const NAME: Schema = Schema::string("Friendly name for this resource server. Can not contain `<` or `>` characters.")
    .length(None, Some(200))
    .pattern("^[^<>]+$", name_pattern);

const SCOPE: Schema = Schema::object(
    "",
    &[
        Field { name: "value", schema: Schema::string("Value of this scope.").length(Some(1), Some(280)) },
        Field {
            name: "description",
            schema: Schema::string("User-friendly description of this scope.").length(None, Some(500)),
        },
    ],
)
.required(&["value"]);

const SCOPES: Schema = Schema::array("List of permissions (scopes) that this API uses.", &SCOPE);

const SIGNING_ALG: Schema =
    Schema::string("Algorithm used to sign JWTs. Can be `HS256` (default) or `RS256`. `PS256` available via addon.")
        .one_of(&["HS256", "RS256", "RS512", "PS256"]);
const SIGNING_SECRET: Schema =
    Schema::string("Secret used to sign tokens when using symmetric algorithms (HS256).").length(Some(16), None);
const ALLOW_OFFLINE_ACCESS: Schema =
    Schema::boolean("Whether refresh tokens can be issued for this API (true) or not (false).");
const ALLOW_ONLINE_ACCESS: Schema =
    Schema::boolean("Whether Online Refresh Tokens can be issued for this API (true) or not (false).");
const ALLOW_ONLINE_ACCESS_EPHEMERAL: Schema = Schema::boolean(
    "Whether Online Refresh Tokens can be issued even when sessions are configured as ephemeral (true) or not (false).",
);
const TOKEN_LIFETIME: Schema = Schema::integer(
    "Expiration value (in seconds) for access tokens issued for this API from the token endpoint.",
    Some(0),
    Some(2_592_000),
);
/// Not in the request schemas of Auth0's spec, but sent by go-auth0 and accepted (recorded).
const TOKEN_LIFETIME_FOR_WEB: Schema = Schema::integer(
    "Expiration value (in seconds) for access tokens issued for this API via Implicit or Hybrid Flows. Cannot be greater than the `token_lifetime` value.",
    Some(0),
    Some(2_592_000),
);
const SKIP_CONSENT: Schema =
    Schema::boolean("Whether to skip user consent for applications flagged as first party (true) or not (false).");
const TOKEN_DIALECT: Schema = Schema::string("Dialect of issued access token. `access_token` is a JWT containing standard Auth0 claims; `rfc9068_profile` is a JWT conforming to the IETF JWT Access Token Profile. `access_token_authz` and `rfc9068_profile_authz` additionally include RBAC permissions claims.")
    .one_of(&["access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz"]);
const ENCRYPTION_KEY: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: Schema::string("Name of the encryption key.").length(Some(1), Some(128)) },
        Field {
            name: "alg",
            schema: Schema::string("Algorithm used to encrypt the token.").one_of(&[
                "RSA-OAEP-256",
                "RSA-OAEP-384",
                "RSA-OAEP-512",
            ]),
        },
        Field { name: "kid", schema: Schema::string("Key ID.").length(Some(1), Some(128)) },
        Field {
            name: "pem",
            schema: Schema::string("PEM-formatted public key. Must be JSON escaped.").length(Some(1), Some(4096)),
        },
    ],
)
.required(&["alg", "pem"]);
const TOKEN_ENCRYPTION: Schema = Schema::object(
    "",
    &[
        Field {
            name: "format",
            schema: Schema::string("Format of the encrypted JWT payload.").one_of(&["compact-nested-jwe"]),
        },
        Field { name: "encryption_key", schema: ENCRYPTION_KEY },
    ],
)
.required(&["format", "encryption_key"])
.nullable();
const CONSENT_POLICY: Schema = Schema::string("").one_of(&["transactional-authorization-with-mfa"]).nullable();
const AUTHORIZATION_DETAILS_ITEM: Schema = Schema::any("");
const AUTHORIZATION_DETAILS: Schema = Schema::array("", &AUTHORIZATION_DETAILS_ITEM).nullable();
const PROOF_OF_POSSESSION: Schema = Schema::object(
    "Proof-of-Possession configuration for access tokens",
    &[
        Field {
            name: "mechanism",
            schema: Schema::string("Intended mechanism for Proof-of-Possession").one_of(&["mtls", "dpop"]),
        },
        Field {
            name: "required",
            schema: Schema::boolean("Whether the use of Proof-of-Possession is required for the resource server"),
        },
        Field {
            name: "required_for",
            schema: Schema::string("Specifies which client types require Proof-of-Possession")
                .one_of(&["public_clients", "all_clients"]),
        },
    ],
)
.required(&["mechanism", "required"])
.nullable();
const SUBJECT_TYPE_AUTHORIZATION: Schema = Schema::object(
    "Defines application access permission for a resource server",
    &[
        Field {
            name: "user",
            schema: Schema::object(
                "Access Permissions for user flows",
                &[Field {
                    name: "policy",
                    schema: Schema::string("Defines the user flows policy for the resource server").one_of(&[
                        "allow_all",
                        "deny_all",
                        "require_client_grant",
                    ]),
                }],
            )
            .additional(Additional::Allowed),
        },
        Field {
            name: "client",
            schema: Schema::object(
                "Access Permissions for client flows",
                &[Field {
                    name: "policy",
                    schema: Schema::string("Defines the client flows policy for the resource server")
                        .one_of(&["deny_all", "require_client_grant"]),
                }],
            )
            .additional(Additional::Allowed),
        },
    ],
);
const AUTHORIZATION_POLICY: Schema = Schema::object(
    "Authorization policy for the resource server.",
    &[Field {
        name: "policy_id",
        schema: Schema::string("The ID of the authorization policy to apply.").length(Some(1), Some(1024)),
    }],
)
.required(&["policy_id"])
.nullable();

/// `POST /resource-servers`
pub const CREATE_RESOURCE_SERVER: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: NAME },
        Field {
            name: "identifier",
            schema: Schema::string(
                "Unique identifier for the API used as the audience parameter on authorization calls. Can not be changed once set.",
            )
            .length(Some(1), Some(600)),
        },
        Field { name: "scopes", schema: SCOPES },
        Field { name: "signing_alg", schema: SIGNING_ALG },
        Field { name: "signing_secret", schema: SIGNING_SECRET },
        Field { name: "allow_offline_access", schema: ALLOW_OFFLINE_ACCESS },
        Field { name: "allow_online_access", schema: ALLOW_ONLINE_ACCESS },
        Field { name: "allow_online_access_with_ephemeral_sessions", schema: ALLOW_ONLINE_ACCESS_EPHEMERAL },
        Field { name: "token_lifetime", schema: TOKEN_LIFETIME },
        Field { name: "token_lifetime_for_web", schema: TOKEN_LIFETIME_FOR_WEB },
        Field { name: "token_dialect", schema: TOKEN_DIALECT },
        Field { name: "skip_consent_for_verifiable_first_party_clients", schema: SKIP_CONSENT },
        Field {
            name: "enforce_policies",
            schema: Schema::boolean("Whether to enforce authorization policies (true) or to ignore them (false)."),
        },
        Field { name: "token_encryption", schema: TOKEN_ENCRYPTION },
        Field { name: "consent_policy", schema: CONSENT_POLICY },
        Field { name: "authorization_details", schema: AUTHORIZATION_DETAILS },
        Field { name: "proof_of_possession", schema: PROOF_OF_POSSESSION },
        Field { name: "subject_type_authorization", schema: SUBJECT_TYPE_AUTHORIZATION },
        Field { name: "authorization_policy", schema: AUTHORIZATION_POLICY },
    ],
)
.required(&["identifier"])
.rules(Rules::RBAC);

/// `PATCH /resource-servers/{id}`: no `identifier` (it cannot change).
pub const UPDATE_RESOURCE_SERVER: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: NAME },
        Field { name: "scopes", schema: SCOPES },
        Field { name: "signing_alg", schema: SIGNING_ALG },
        Field { name: "signing_secret", schema: SIGNING_SECRET },
        Field { name: "skip_consent_for_verifiable_first_party_clients", schema: SKIP_CONSENT },
        Field { name: "allow_offline_access", schema: ALLOW_OFFLINE_ACCESS },
        Field { name: "allow_online_access", schema: ALLOW_ONLINE_ACCESS },
        Field { name: "allow_online_access_with_ephemeral_sessions", schema: ALLOW_ONLINE_ACCESS_EPHEMERAL },
        Field { name: "token_lifetime", schema: TOKEN_LIFETIME },
        Field { name: "token_lifetime_for_web", schema: TOKEN_LIFETIME_FOR_WEB },
        Field { name: "token_dialect", schema: TOKEN_DIALECT },
        Field {
            name: "enforce_policies",
            schema: Schema::boolean("Whether authorization policies are enforced (true) or not enforced (false)."),
        },
        Field { name: "token_encryption", schema: TOKEN_ENCRYPTION },
        Field { name: "consent_policy", schema: CONSENT_POLICY },
        Field { name: "authorization_details", schema: AUTHORIZATION_DETAILS },
        Field { name: "proof_of_possession", schema: PROOF_OF_POSSESSION },
        Field { name: "subject_type_authorization", schema: SUBJECT_TYPE_AUTHORIZATION },
        Field { name: "authorization_policy", schema: AUTHORIZATION_POLICY },
    ],
)
.rules(Rules::RBAC);

/// Token settings every new resource server has, with Auth0's defaults, in Auth0's order.
type DefaultSetting = (&'static str, fn() -> Value);

const DEFAULT_SETTINGS: &[DefaultSetting] = &[
    ("signing_alg", || Value::from("RS256")),
    ("allow_offline_access", || Value::Bool(false)),
    ("token_lifetime", || Value::from(86_400)),
    ("token_lifetime_for_web", || Value::from(7_200)),
    ("skip_consent_for_verifiable_first_party_clients", || Value::Bool(false)),
];

/// Payload keys that are not settings.
const NOT_SETTINGS: &[&str] = &["name", "identifier", "scopes"];

/// A payload value as stored and shown: without the public key's PEM.
fn stored_value(key: &str, value: &Value) -> Value {
    let mut value = value.clone();
    if key == "token_encryption"
        && let Some(key) = value.get_mut("encryption_key").and_then(Value::as_object_mut)
    {
        key.remove("pem");
    }
    value
}

/// The scopes of a validated payload; a value given twice is refused (Roster's wording: the
/// spec does not say what Auth0 does).
fn scopes(body: &Map<String, Value>) -> Result<Option<Vec<Scope>>, ApiError> {
    let Some(items) = body.get("scopes").and_then(Value::as_array) else { return Ok(None) };
    let mut scopes: Vec<Scope> = Vec::with_capacity(items.len());
    for item in items {
        let value = item.get("value").and_then(Value::as_str).unwrap_or_default().to_owned();
        if scopes.iter().any(|s| s.value == value) {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: 'Scope values must be unique; {value} is given twice' on property scopes (List of permissions (scopes) that this API uses)."
            )));
        }
        let description = item.get("description").and_then(Value::as_str).map(str::to_owned);
        scopes.push(Scope { value, description });
    }
    Ok(Some(scopes))
}

/// A new resource server from a validated `POST /resource-servers` payload. Without a `name`,
/// it is named after its identifier (Roster's choice: the spec makes `name` optional and does
/// not say what Auth0 fills in).
pub fn new_resource_server(
    body: &Map<String, Value>,
    id: String,
    created_at: Timestamp,
) -> Result<ResourceServer, ApiError> {
    let identifier = body.get("identifier").and_then(Value::as_str).unwrap_or_default().to_owned();
    let name = body.get("name").and_then(Value::as_str).map_or_else(|| identifier.clone(), str::to_owned);
    let mut settings = Map::new();
    for (key, default) in DEFAULT_SETTINGS {
        let value = body.get(*key).cloned().unwrap_or_else(default);
        settings.insert((*key).to_owned(), value);
        if *key == "signing_alg"
            && let Some(secret) = body.get("signing_secret")
        {
            settings.insert("signing_secret".into(), secret.clone());
        }
    }
    for (key, value) in body {
        if NOT_SETTINGS.contains(&key.as_str()) || settings.contains_key(key) || value.is_null() {
            continue;
        }
        settings.insert(key.clone(), stored_value(key, value));
    }
    Ok(ResourceServer { id, identifier, name, scopes: scopes(body)?, settings, created_at })
}

/// What a validated `PATCH /resource-servers/{id}` payload changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceServerPatch {
    name: Option<String>,
    scopes: Option<Vec<Scope>>,
    /// `null` removes the setting.
    settings: Map<String, Value>,
}

impl ResourceServerPatch {
    pub fn plan(body: &Map<String, Value>) -> Result<Self, ApiError> {
        Ok(Self {
            name: body.get("name").and_then(Value::as_str).map(str::to_owned),
            scopes: scopes(body)?,
            settings: body
                .iter()
                .filter(|(key, _)| !NOT_SETTINGS.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), stored_value(key, value)))
                .collect(),
        })
    }

    /// Whether the patch replaces the scopes.
    pub fn changes_scopes(&self) -> bool {
        self.scopes.is_some()
    }

    pub fn apply(&self, server: &mut ResourceServer) {
        if let Some(name) = &self.name {
            server.name = name.clone();
        }
        if let Some(scopes) = &self.scopes {
            server.scopes = Some(scopes.clone());
        }
        for (key, value) in &self.settings {
            if value.is_null() {
                server.settings.remove(key);
            } else {
                server.settings.insert(key.clone(), value.clone());
            }
        }
    }
}

/// `Read Client Grants` for `read:client_grants`: the descriptions Auth0 gives the Management
/// API's scopes.
fn describe_scope(scope: &str) -> String {
    scope
        .split([':', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Auth0's own resource server for the Management API (`https://{domain}/api/v2/`), which every
/// tenant lists with `is_system: true`. Roster serves it read-only, derived from the domain and
/// the scope table; its id is stable for a given identifier.
pub fn management_api(identifier: &str, scopes: &[&str], created_at: Timestamp) -> ResourceServer {
    use md5::{Digest, Md5};
    let id = hex::encode(&Md5::digest(identifier.as_bytes())[..12]);
    let mut settings = Map::new();
    for (key, default) in DEFAULT_SETTINGS {
        settings.insert((*key).to_owned(), default());
    }
    settings.insert("is_system".into(), Value::Bool(true));
    ResourceServer {
        id,
        identifier: identifier.to_owned(),
        name: "Auth0 Management API".into(),
        scopes: Some(
            scopes.iter().map(|s| Scope { value: (*s).to_owned(), description: Some(describe_scope(s)) }).collect(),
        ),
        settings,
        created_at,
    }
}

/// 404 for an unknown resource server (errorCode as in Auth0's SDK tests).
pub fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        Some("inexistent_resource_server"),
        "The resource server does not exist.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: Value) -> ResourceServer {
        let body = CREATE_RESOURCE_SERVER.validate_payload(&body).unwrap();
        new_resource_server(body, "66e0a201e5d56cfb7a9a50a1".into(), crate::domain::time::now()).unwrap()
    }

    #[test]
    fn new_servers_get_auth0_defaults_and_no_scopes_key() {
        let server = create(json!({"name": "API", "identifier": "https://api.example.com/"}));
        assert_eq!(
            Value::Object(server.to_json()),
            json!({
                "id": "66e0a201e5d56cfb7a9a50a1", "name": "API", "identifier": "https://api.example.com/",
                "signing_alg": "RS256", "allow_offline_access": false, "token_lifetime": 86400,
                "token_lifetime_for_web": 7200, "skip_consent_for_verifiable_first_party_clients": false
            })
        );
        let keys: Vec<String> = server.to_json().keys().cloned().collect();
        assert_eq!(&keys[..3], ["id", "name", "identifier"]);
    }

    #[test]
    fn patch_replaces_scopes_and_null_removes_settings() {
        let mut server = create(json!({
            "identifier": "urn:x", "token_dialect": "access_token", "token_lifetime": 60,
            "token_encryption": {"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": "P", "kid": "k"}}
        }));
        assert_eq!(server.name, "urn:x");
        assert_eq!(
            server.settings["token_encryption"],
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "kid": "k"}})
        );
        let body = json!({"scopes": [], "token_encryption": null, "enforce_policies": true});
        let patch = ResourceServerPatch::plan(UPDATE_RESOURCE_SERVER.validate_payload(&body).unwrap()).unwrap();
        patch.apply(&mut server);
        assert_eq!(server.scopes, Some(vec![]));
        assert!(!server.settings.contains_key("token_encryption"));
        assert_eq!(server.settings["token_dialect"], json!("access_token"));
        assert_eq!(server.settings["enforce_policies"], json!(true));
        assert_eq!(server.settings["token_lifetime"], json!(60));
        let stored = ResourceServer::from_stored(
            server.id.clone(),
            server.identifier.clone(),
            server.name.clone(),
            server.document(),
            vec![],
            server.created_at,
        );
        assert_eq!(stored, server);
    }

    #[test]
    fn refuses_bad_payloads_with_z_schema_messages() {
        let error = |body: Value| CREATE_RESOURCE_SERVER.validate_payload(&body).unwrap_err().message.into_owned();
        assert_eq!(error(json!({"name": "x"})), "Payload validation error: 'Missing required property: identifier'.");
        assert_eq!(
            error(json!({"identifier": "x", "name": "<b>"})),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: <b>' on property name (Friendly name for this resource server. Can not contain `<` or `>` characters)."
        );
        assert_eq!(
            error(json!({"identifier": "x", "signing_alg": "none"})),
            "Payload validation error: 'No enum match for: \"none\"' on property signing_alg (Algorithm used to sign JWTs. Can be `HS256` (default) or `RS256`. `PS256` available via addon)."
        );
        assert_eq!(
            error(json!({"identifier": "x", "scopes": [{"value": "a", "x": 1}]})),
            "Payload validation error: 'Additional properties not allowed: x' on property scopes[0]."
        );
        let body = json!({"identifier": "x", "scopes": [{"value": "a"}, {"value": "a"}]});
        let body = CREATE_RESOURCE_SERVER.validate_payload(&body).unwrap();
        assert!(new_resource_server(body, "i".into(), crate::domain::time::now()).is_err());
    }

    #[test]
    fn management_api_is_a_stable_system_server() {
        let now = crate::domain::time::now();
        let api = management_api("https://t.example/api/v2/", &["read:client_grants", "read:users_app_metadata"], now);
        assert!(api.is_system());
        assert_eq!(api.id, management_api("https://t.example/api/v2/", &[], now).id);
        assert_eq!(api.id.len(), 24);
        assert_eq!(api.scope("read:client_grants").unwrap().description.as_deref(), Some("Read Client Grants"));
        assert_eq!(
            api.scope("read:users_app_metadata").unwrap().description.as_deref(),
            Some("Read Users App Metadata")
        );
    }
}
