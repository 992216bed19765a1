//! Management API writes as log events: Auth0's `sapi` (Success API Operation) for a write
//! that succeeded and `fapi` (Failed API Operation) for one that was refused, with the request
//! and the response in `details` (shape recorded, go-auth0 `TestLogManager*`).
//!
//! Nothing secret reaches the log: every value under a key that names a secret is replaced by
//! `*****` (Auth0 masks `password` so), and bodies larger than `MAX_LOGGED_BODY` are left out.

use serde::Serialize;
use serde_json::{Map, Value};

use super::log_event::{LogEvent, Scopes, details, kind};

/// Request and response bodies larger than this are logged as `"<omitted: N bytes>"`.
pub const MAX_LOGGED_BODY: usize = 16 * 1024;

/// What replaces a secret.
pub const MASK: &str = "*****";

/// Whether a value under `key` is a secret: passwords and their hashes, client secrets,
/// tokens, recovery codes, TOTP secrets, OTP codes, private keys, and a custom database's
/// `configuration` (where its scripts' secrets live).
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("token")
        || key.contains("recovery_code")
        || key.contains("private_key")
        || matches!(key.as_str(), "otp" | "code" | "configuration" | "authorization" | "ticket")
}

/// Replaces every secret value under `value`, at any depth.
pub fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if is_secret(key) && !item.is_null() {
                    *item = Value::from(MASK);
                } else {
                    mask(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// A body as the log keeps it: `empty` when there is none, `null` when it is not JSON, a note
/// of its size when it is too large, otherwise the JSON with its secrets masked.
pub fn logged_body(bytes: &[u8], empty: Value) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return empty;
    }
    if bytes.len() > MAX_LOGGED_BODY {
        return Value::from(format!("<omitted: {} bytes>", bytes.len()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            mask(&mut value);
            value
        }
        Err(_) => Value::Null,
    }
}

/// A human name for an operation, from its method and route (`/users/{id}/roles`), in Auth0's
/// words where recorded ("Create a User", "Update a User", "Delete a User", "Create a role"):
/// on a collection or one of its items, create, update or delete `a <resource>`; on a
/// sub-collection, add to, update of or remove from it.
pub fn describe(method: &str, route: &str) -> String {
    let segments: Vec<&str> = route.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let resource = segments.first().copied().unwrap_or_default();
    let item = match resource {
        "users" => "a User",
        "roles" => "a role",
        "clients" => "a client",
        "client-grants" => "a client grant",
        "connections" => "a connection",
        "resource-servers" => "a resource server",
        "organizations" => "an Organization",
        other => return format!("{} {}", verb(method), other.replace('-', " ")),
    };
    let tail: Vec<&str> = segments.iter().skip(1).copied().filter(|s| !s.starts_with('{')).collect();
    if tail.is_empty() {
        return format!("{} {item}", verb(method));
    }
    let what = tail.join(" ").replace(['-', '_'], " ");
    match method {
        "POST" => format!("Add {what} to {item}"),
        "DELETE" => format!("Remove {what} from {item}"),
        _ => format!("Update {what} of {item}"),
    }
}

fn verb(method: &str) -> &'static str {
    match method {
        "POST" => "Create",
        "DELETE" => "Delete",
        _ => "Update",
    }
}

/// One Management API write, as the HTTP layer saw it.
#[derive(Debug, Clone, Default)]
pub struct ApiCall {
    /// Upper case, as sent.
    pub method: String,
    /// The route that served it (`/users/{id}`), which names the operation.
    pub route: String,
    /// The path as sent (percent-encoded), with `/api/v2`.
    pub path: String,
    pub query: Map<String, Value>,
    pub request_body: Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub client_id: Option<String>,
    /// The token's scopes (`Caller::scopes_logged`).
    pub scopes: Option<Scopes>,
    pub status: u16,
    pub response_body: Value,
}

impl ApiCall {
    /// `sapi` for a 2xx or 3xx answer, `fapi` otherwise.
    pub fn event(self) -> LogEvent {
        let kind = if self.status < 400 { kind::SUCCESS_API_OPERATION } else { kind::FAILED_API_OPERATION };
        let mut query = Value::Object(self.query);
        mask(&mut query);
        let mut event = LogEvent::new(kind);
        event.description = Some(describe(&self.method, &self.route));
        event.client_id = self.client_id;
        event.client_name = Some(String::new());
        event.ip = self.ip.clone();
        event.user_agent = self.user_agent.clone();
        // A token's scopes are stored apart from the event (`LogEvent::scopes`); without a
        // token the event lists none.
        let scopes = if self.scopes.is_some() { None } else { Some(&[][..]) };
        let request = ApiRequest {
            auth: Auth { credentials: Credentials { scopes }, strategy: "jwt", user: Map::new() },
            body: &self.request_body,
            channel: "api",
            ip: &self.ip,
            method: self.method.to_ascii_lowercase(),
            path: &self.path,
            query: &query,
            user_agent: &self.user_agent,
        };
        let response = ApiResponse { body: &self.response_body, status_code: self.status };
        event.details = details(&ApiDetails { request, response });
        event.scopes = self.scopes;
        event
    }
}

/// An API operation's `details`, in Auth0's order (recorded). Serialized straight from the
/// call's parts: the scopes are already JSON text.
#[derive(Serialize)]
struct ApiDetails<'a> {
    request: ApiRequest<'a>,
    response: ApiResponse<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiRequest<'a> {
    auth: Auth,
    body: &'a Value,
    channel: &'static str,
    ip: &'a Option<String>,
    method: String,
    path: &'a str,
    query: &'a Value,
    user_agent: &'a Option<String>,
}

#[derive(Serialize)]
struct Auth {
    credentials: Credentials,
    strategy: &'static str,
    user: Map<String, Value>,
}

#[derive(Serialize)]
struct Credentials {
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'static [&'static str]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiResponse<'a> {
    body: &'a Value,
    status_code: u16,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::log_event::with_scopes;

    #[test]
    fn descriptions() {
        assert_eq!(describe("POST", "/users"), "Create a User");
        assert_eq!(describe("PATCH", "/users/{id}"), "Update a User");
        assert_eq!(describe("DELETE", "/users/{id}"), "Delete a User");
        assert_eq!(describe("POST", "/roles"), "Create a role");
        assert_eq!(describe("POST", "/users/{id}/roles"), "Add roles to a User");
        assert_eq!(describe("DELETE", "/organizations/{id}/members"), "Remove members from an Organization");
        assert_eq!(
            describe("PATCH", "/users/{id}/authentication-methods/{authentication_method_id}"),
            "Update authentication methods of a User"
        );
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let mut value = json!({
            "password": "hunter2",
            "email": "a@b.co",
            "client_secret": "s",
            "options": {"configuration": {"KEY": "v"}, "totp_secret": "x", "kept": 1},
            "methods": [{"recovery_code": "r", "type": "totp"}, {"password_hash": "$2b$"}],
            "refresh_token": "t",
            "name": null,
        });
        mask(&mut value);
        assert_eq!(
            value,
            json!({
                "password": MASK,
                "email": "a@b.co",
                "client_secret": MASK,
                "options": {"configuration": MASK, "totp_secret": MASK, "kept": 1},
                "methods": [{"recovery_code": MASK, "type": "totp"}, {"password_hash": MASK}],
                "refresh_token": MASK,
                "name": null,
            })
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(logged_body(b"", json!({})), json!({}));
        assert_eq!(logged_body(b"not json", Value::Null), Value::Null);
        assert_eq!(logged_body(br#"{"password":"x"}"#, Value::Null), json!({"password": MASK}));
        let large = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_LOGGED_BODY));
        assert_eq!(logged_body(large.as_bytes(), Value::Null), json!(format!("<omitted: {} bytes>", large.len())));
    }

    #[test]
    fn events() {
        let call = ApiCall {
            method: "DELETE".into(),
            route: "/users/{id}".into(),
            path: "/api/v2/users/auth0%7C1".into(),
            status: 204,
            response_body: json!({}),
            ..ApiCall::default()
        };
        let event = call.event();
        assert_eq!(event.kind, kind::SUCCESS_API_OPERATION);
        assert_eq!(event.description.as_deref(), Some("Delete a User"));
        let details: Value = serde_json::from_str(event.details.unwrap().get()).unwrap();
        assert_eq!(details["request"]["method"], "delete");
        assert_eq!(details["response"], json!({"body": {}, "statusCode": 204}));
        assert_eq!(details["request"]["auth"]["credentials"], json!({"scopes": []}));
        // A token's scopes are kept apart and put back where the event lists them.
        let scoped = ApiCall { scopes: Some(Scopes::new(&["read:users", "delete:users"])), ..ApiCall::default() };
        let event = scoped.event();
        let scopes = event.scopes.clone().unwrap();
        let document: Value = serde_json::from_str(&event.render()).unwrap();
        assert_eq!(document["details"]["request"]["auth"]["credentials"], json!({}));
        let document = with_scopes(document, serde_json::from_str(scopes.json.get()).unwrap());
        let credentials = &document["details"]["request"]["auth"]["credentials"];
        assert_eq!(credentials["scopes"], json!(["delete:users", "read:users"]));
        let refused = ApiCall { method: "POST".into(), route: "/users".into(), status: 400, ..ApiCall::default() };
        assert_eq!(refused.event().kind, kind::FAILED_API_OPERATION);
    }
}
