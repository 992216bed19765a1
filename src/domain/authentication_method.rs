//! Authentication methods: a user's MFA factors (phone, email, TOTP, push, WebAuthn, recovery
//! code) and passkeys, as the Management API creates, masks and renders them, and what the
//! user profile and the Guardian enrollments endpoint derive from them.
//!
//! A method is stored with its attributes unmasked; reads mask the email and phone number as
//! Auth0 does (`chuc****@exam*******`, `XXXXXXXXXXX5044`), the `PUT` answer does not (both
//! recorded, `TestUserManager_AuthenticationMethods.yaml`). What a login checks later (a TOTP
//! secret, a recovery code's hash) is kept apart and never rendered.

use serde_json::{Map, Value, json};

use super::ids;
use super::json_schema::{Field, Schema};
use super::schema::{self, Location};
use super::time::{self, Timestamp};
use crate::error::ApiError;

/// The types `POST` creates (`CreatedUserAuthenticationMethodTypeEnum`).
pub const CREATABLE_TYPES: &[&str] = &["phone", "email", "totp", "webauthn-roaming", "passkey"];
/// The types `PUT` sets (`AuthenticationTypeEnum`).
pub const SETTABLE_TYPES: &[&str] = &["phone", "email", "totp"];
/// `PreferredAuthenticationMethodEnum`.
const PHONE_CHANNELS: &[&str] = &["voice", "sms"];

const NAME: &str = "A human-readable label to identify the authentication method.";
const PHONE_NUMBER: &str = "Applies to phone authentication methods only. The destination phone number used to send \
                            verification codes via text and voice.";
const EMAIL: &str =
    "Applies to email authentication methods only. The email address used to send verification messages.";
const PREFERRED: &str = "Applies to phone authentication methods only. The preferred communication method.";

const TRANSPORT: Schema = Schema::string("");

/// `POST /users/{id}/authentication-methods` (`CreateUserAuthenticationMethodRequestContent`).
pub const CREATE_METHOD: Schema = Schema::object(
    "",
    &[
        Field { name: "type", schema: Schema::string("").one_of(CREATABLE_TYPES) },
        Field { name: "name", schema: Schema::string(NAME) },
        Field { name: "totp_secret", schema: Schema::string("Base32 encoded secret for TOTP generation.") },
        Field { name: "phone_number", schema: Schema::string(PHONE_NUMBER).length(Some(2), Some(30)) },
        Field { name: "email", schema: Schema::string(EMAIL) },
        Field { name: "preferred_authentication_method", schema: Schema::string(PREFERRED).one_of(PHONE_CHANNELS) },
        Field {
            name: "key_id",
            schema: Schema::string(
                "Applies to webauthn/passkey authentication methods only. The id of the credential.",
            ),
        },
        Field {
            name: "public_key",
            schema: Schema::string(
                "Applies to webauthn/passkey authentication methods only. The public key, which is encoded as base64.",
            ),
        },
        Field {
            name: "aaguid",
            schema: Schema::string("Applies to passkeys only. Authenticator Attestation Globally Unique Identifier")
                .format("uuid", is_uuid),
        },
        Field {
            name: "relying_party_identifier",
            schema: Schema::string("Applies to webauthn authentication methods only. The relying party identifier.")
                .format("hostname", is_hostname),
        },
        Field {
            name: "credential_device_type",
            schema: Schema::string(
                "Applies to passkeys only. The kind of device the credential is stored on as defined by backup \
                 eligibility.",
            )
            .one_of(&["single_device", "multi_device"]),
        },
        Field {
            name: "credential_backed_up",
            schema: Schema::boolean("Applies to passkeys only. Whether the credential was backed up."),
        },
        Field {
            name: "identity_user_id",
            schema: Schema::string(
                "Applies to passkeys only. The ID of the user identity linked with the authentication method.",
            ),
        },
        Field {
            name: "user_agent",
            schema: Schema::string(
                "Applies to passkeys only. The user-agent of the browser used to create the passkey.",
            ),
        },
        Field {
            name: "user_handle",
            schema: Schema::string("Applies to passkeys only. The user handle of the user identity."),
        },
        Field {
            name: "transports",
            schema: Schema::array(
                "Applies to passkeys only. The transports used by clients to communicate with the authenticator.",
                &TRANSPORT,
            ),
        },
    ],
)
.required(&["type"]);

/// `PATCH /users/{id}/authentication-methods/{authentication_method_id}`.
pub const UPDATE_METHOD: Schema = Schema::object(
    "",
    &[
        Field { name: "name", schema: Schema::string(NAME) },
        Field {
            name: "preferred_authentication_method",
            schema: Schema::string("Preferred phone authentication method").one_of(PHONE_CHANNELS),
        },
    ],
);

/// One item of `PUT /users/{id}/authentication-methods` (`SetUserAuthenticationMethods`).
pub const SET_METHOD: Schema = Schema::object(
    "",
    &[
        Field { name: "type", schema: Schema::string("").one_of(SETTABLE_TYPES) },
        Field { name: "preferred_authentication_method", schema: Schema::string(PREFERRED).one_of(PHONE_CHANNELS) },
        Field {
            name: "name",
            schema: Schema::string("AA human-readable label to identify the authentication method.")
                .length(Some(1), Some(20)),
        },
        Field { name: "phone_number", schema: Schema::string(PHONE_NUMBER).length(Some(2), Some(30)) },
        Field { name: "email", schema: Schema::string(EMAIL).length(Some(1), None) },
        Field {
            name: "totp_secret",
            schema: Schema::string(
                "Applies to totp authentication methods only. The base32 encoded secret for TOTP generation.",
            )
            .length(Some(1), None),
        },
    ],
)
.required(&["type"]);

/// The body of `PUT`: an array of `SET_METHOD`s.
pub const SET_METHODS: Schema = Schema::array("", &SET_METHOD);

/// A WebAuthn credential's attributes (every one a passkey takes), in the order Auth0 renders
/// them.
const CREDENTIAL_ATTRIBUTES: &[&str] = &[
    "key_id",
    "public_key",
    "aaguid",
    "relying_party_identifier",
    "credential_device_type",
    "credential_backed_up",
    "identity_user_id",
    "user_agent",
    "user_handle",
    "transports",
];

/// The attributes a method keeps, in the order Auth0 renders them after `id`, `type` and
/// `confirmed` (`name`, which every type takes, first); `created_at` and the phone's channels
/// follow (see `to_json`).
fn attributes() -> impl Iterator<Item = &'static str> {
    ["name", "email", "phone_number"].into_iter().chain(CREDENTIAL_ATTRIBUTES.iter().copied())
}

/// A stored authentication method.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticationMethod {
    /// `<type>|dev_<16 alphanumerics>`.
    pub id: String,
    pub kind: String,
    pub confirmed: bool,
    pub created_at: Timestamp,
    /// What the request gave, unmasked: `attributes()` and, for phones,
    /// `preferred_authentication_method`; and `last_auth_at`, when a login last used it.
    pub attributes: Map<String, Value>,
}

/// The attribute a login stamps on the method it used.
const LAST_AUTH_AT: &str = "last_auth_at";

/// A method to store, with what a login will check and no answer shows.
#[derive(Debug, Clone)]
pub struct NewMethod {
    pub method: AuthenticationMethod,
    pub secret: Option<String>,
}

/// How a method is rendered: by a read (masked, with `confirmed`), in the answer to the write
/// that made or changed it (masked, without `confirmed`), or in the answer to `PUT` (as given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Read,
    Written,
    Replaced,
}

impl AuthenticationMethod {
    fn new(kind: &str, at: Timestamp) -> Self {
        let id = format!("{kind}|dev_{}", ids::random_alphanumeric(16));
        Self { id, kind: kind.to_owned(), confirmed: true, created_at: at, attributes: Map::new() }
    }

    /// `dev_…`: the id without its type, shared by a phone's channels and its enrollment.
    pub fn device_id(&self) -> &str {
        self.id.split_once('|').map_or(self.id.as_str(), |(_, device)| device)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    pub fn email(&self) -> Option<&str> {
        self.text("email")
    }

    pub fn phone_number(&self) -> Option<&str> {
        self.text("phone_number")
    }

    /// When a login last used the method.
    pub fn last_auth_at(&self) -> Option<&str> {
        self.text(LAST_AUTH_AT)
    }

    /// Records that a login used the method at `at`.
    pub fn used_at(&mut self, at: &Timestamp) {
        self.attributes.insert(LAST_AUTH_AT.into(), json!(time::format(at)));
    }

    pub fn to_json(&self, view: View) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("type".into(), json!(self.kind));
        if view == View::Read {
            out.insert("confirmed".into(), json!(self.confirmed));
        }
        for key in attributes() {
            let Some(value) = self.attributes.get(key) else { continue };
            let masked = match (view, key, value.as_str()) {
                (View::Replaced, _, _) => None,
                (_, "email", Some(email)) => Some(mask_email(email)),
                (_, "phone_number", Some(phone)) => Some(mask_phone(phone)),
                _ => None,
            };
            out.insert(key.into(), masked.map_or_else(|| value.clone(), Value::String));
        }
        out.insert("created_at".into(), json!(time::format(&self.created_at)));
        if let Some(at) = self.last_auth_at() {
            out.insert(LAST_AUTH_AT.into(), json!(at));
        }
        if self.kind == "phone" {
            let channel = self.text("preferred_authentication_method").unwrap_or("sms");
            out.insert("preferred_authentication_method".into(), json!(channel));
            out.insert(
                "authentication_methods".into(),
                json!([{"id": format!("{channel}|{}", self.device_id()), "type": channel}]),
            );
        }
        Value::Object(out)
    }
}

/// Auth0's mask of an email: the first four characters of each side of the `@` kept and the
/// rest starred, a local part of four or fewer characters starred whole as `****`
/// (`chuck334@example.com` → `chuc****@exam*******`, `foo@example.com` → `****@exam*******`).
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else { return mask_tail(email, 4) };
    let local = if local.chars().count() <= 4 { "****".to_owned() } else { mask_tail(local, 4) };
    format!("{local}@{}", mask_tail(domain, 4))
}

/// The first `kept` characters, then a `*` for each of the rest.
fn mask_tail(text: &str, kept: usize) -> String {
    text.chars().enumerate().map(|(i, c)| if i < kept { c } else { '*' }).collect()
}

/// Auth0's mask of a phone number: every character but the last four as `X`
/// (`+44207183875044` → `XXXXXXXXXXX5044`).
pub fn mask_phone(phone: &str) -> String {
    let count = phone.chars().count();
    phone.chars().enumerate().map(|(i, c)| if i + 4 < count { 'X' } else { c }).collect()
}

/// The method a valid `POST` body (checked with `CREATE_METHOD`) describes; each type's own
/// requirements are checked here.
pub fn method_to_create(body: &Map<String, Value>, at: Timestamp) -> Result<NewMethod, ApiError> {
    new_method(body, at)
}

/// The methods a valid `PUT` body (checked with `SET_METHODS`) describes, in its order.
pub fn methods_to_set(body: &Value, at: Timestamp) -> Result<Vec<NewMethod>, ApiError> {
    let items = body.as_array().map(Vec::as_slice).unwrap_or_default();
    items.iter().map(|item| new_method(item.as_object().expect("checked by SET_METHODS"), at)).collect()
}

/// What each type requires, and every attribute it takes besides `name`, which all take.
fn attributes_of(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "phone" => (&["phone_number"], &["phone_number", "preferred_authentication_method"]),
        "email" => (&["email"], &["email"]),
        "totp" => (&["totp_secret"], &["totp_secret"]),
        "webauthn-roaming" => (&["key_id", "public_key"], &["key_id", "public_key", "relying_party_identifier"]),
        _ => (&["key_id", "public_key"], CREDENTIAL_ATTRIBUTES),
    }
}

fn new_method(body: &Map<String, Value>, at: Timestamp) -> Result<NewMethod, ApiError> {
    let kind = body["type"].as_str().unwrap_or_default();
    let (required, allowed) = attributes_of(kind);
    require(body, required)?;
    refuse_others(body, kind, allowed)?;
    let secret = checked_secret(body)?;
    let mut method = AuthenticationMethod::new(kind, at);
    for key in std::iter::once("name").chain(allowed.iter().copied()).filter(|key| *key != "totp_secret") {
        if let Some(value) = body.get(key) {
            method.attributes.insert(key.into(), value.clone());
        }
    }
    check_contact(&method)?;
    Ok(NewMethod { method, secret })
}

/// Checks a valid `PATCH` body (checked with `UPDATE_METHOD`) against the method's type: any
/// method takes a new name, only a phone a preferred channel. The store merges it.
pub fn check_update(method: &AuthenticationMethod, body: &Map<String, Value>) -> Result<(), ApiError> {
    if body.contains_key("preferred_authentication_method") && method.kind != "phone" {
        return Err(ApiError::invalid_body(
            "preferred_authentication_method can only be set on phone authentication methods.",
        ));
    }
    Ok(())
}

fn require(body: &Map<String, Value>, names: &[&str]) -> Result<(), ApiError> {
    match names.iter().find(|name| !body.contains_key(**name)) {
        Some(missing) => Err(Location::Payload.single(&format!("Missing required property: {missing}"), None)),
        None => Ok(()),
    }
}

/// Attributes of other types are refused, naming them, rather than stored and never shown.
fn refuse_others(body: &Map<String, Value>, kind: &str, allowed: &[&str]) -> Result<(), ApiError> {
    let others: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|key| !["type", "name"].contains(key) && !allowed.contains(key))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid_body(format!(
        "The following properties are not allowed for {kind} authentication methods: {}.",
        others.join(", ")
    )))
}

/// A TOTP secret, which must be base32 (RFC 4648, padding optional), stored in capitals.
fn checked_secret(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let Some(secret) = body.get("totp_secret").and_then(Value::as_str) else { return Ok(None) };
    let normalized = secret.trim_end_matches('=').to_ascii_uppercase();
    if normalized.is_empty() || !normalized.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)) {
        return Err(ApiError::invalid_body("totp_secret must be a base32 encoded string."));
    }
    Ok(Some(normalized))
}

/// An email method's address must be an email; texts may not hold U+0000.
fn check_contact(method: &AuthenticationMethod) -> Result<(), ApiError> {
    for (key, value) in &method.attributes {
        if let Some(text) = value.as_str()
            && let Err(problem) = schema::refuse_nul(text)
        {
            return Err(Location::Payload.error(&[Location::Payload.message_at(&problem, key, "")]));
        }
    }
    if let Some(email) = method.email()
        && !schema::is_email(email)
    {
        return Err(Location::Payload.error(&[Location::Payload.message_at(
            &format!("Object didn't pass validation for format email: {email}"),
            "email",
            EMAIL,
        )]));
    }
    Ok(())
}

/// Why a new method cannot join a user's: it repeats one they have (the same address, number,
/// credential, or a second TOTP), or there are already as many of its type as Auth0 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Exists,
    LimitReached,
}

/// How many methods of one type a user may have.
pub const MAX_PER_TYPE: usize = 20;

/// Whether the user has a passkey, which keeps `PUT` and `DELETE` of all their methods from
/// touching any (the spec's 403 for both).
pub fn has_passkey(methods: &[AuthenticationMethod]) -> bool {
    methods.iter().any(|method| method.kind == "passkey")
}

/// Checks `new` against the user's `existing` methods.
pub fn admit(existing: &[AuthenticationMethod], new: &AuthenticationMethod) -> Result<(), Refusal> {
    let is_credential = |kind: &str| matches!(kind, "webauthn-roaming" | "passkey");
    let repeats = |m: &AuthenticationMethod| match new.kind.as_str() {
        // A WebAuthn credential is one key, whichever of the two types registered it.
        kind if is_credential(kind) => is_credential(&m.kind) && m.text("key_id") == new.text("key_id"),
        kind if m.kind != kind => false,
        "totp" => true,
        "email" => m.email().map(str::to_lowercase) == new.email().map(str::to_lowercase),
        "phone" => m.phone_number() == new.phone_number(),
        _ => false,
    };
    if existing.iter().any(repeats) {
        return Err(Refusal::Exists);
    }
    let same_type = existing.iter().filter(|m| m.kind == new.kind);
    if same_type.count() >= MAX_PER_TYPE {
        return Err(Refusal::LimitReached);
    }
    Ok(())
}

/// Whether a type is a second factor (what `multifactor` and the enrollments report), rather
/// than a first factor (passkey, password) or a fallback (recovery code).
pub fn is_second_factor(kind: &str) -> bool {
    matches!(kind, "phone" | "email" | "totp" | "push" | "webauthn-roaming" | "webauthn-platform")
}

/// The profile's `multifactor` given its current value and the user's methods: `guardian`
/// while any confirmed second factor remains, beside legacy providers (`duo`,
/// `google-authenticator`) the profile already lists; absent when empty.
pub fn multifactor(current: Option<&[String]>, methods: &[AuthenticationMethod]) -> Option<Vec<String>> {
    let mut providers: Vec<String> =
        current.unwrap_or_default().iter().filter(|p| p.as_str() != "guardian").cloned().collect();
    if methods.iter().any(|m| m.confirmed && is_second_factor(&m.kind)) {
        providers.insert(0, "guardian".to_owned());
    }
    (!providers.is_empty()).then_some(providers)
}

/// The user's first confirmed enrollment (`GET /users/{id}/enrollments` answers it alone, or
/// nothing), derived from their second factors in creation order. An email counts: Auth0
/// answers a verified email as the first enrollment (auth0-java issue #472).
pub fn first_enrollment(methods: &[AuthenticationMethod]) -> Option<Value> {
    let method = methods.iter().find(|m| m.confirmed && is_second_factor(&m.kind))?;
    let (kind, auth_method) = match method.kind.as_str() {
        "totp" => ("authenticator", "authenticator"),
        "push" => ("pn", "guardian"),
        "phone" => ("sms", "sms"),
        other => (other, other),
    };
    let mut out = Map::new();
    out.insert("id".into(), json!(method.device_id()));
    out.insert("status".into(), json!("confirmed"));
    out.insert("type".into(), json!(kind));
    match (method.text("name"), method.email()) {
        (Some(name), _) => out.insert("name".into(), json!(name)),
        (None, Some(email)) => out.insert("name".into(), json!(mask_email(email))),
        (None, None) => None,
    };
    if let Some(phone) = method.phone_number() {
        out.insert("phone_number".into(), json!(mask_phone(phone)));
    }
    out.insert("auth_method".into(), json!(auth_method));
    out.insert("enrolled_at".into(), json!(time::format(&method.created_at)));
    if let Some(at) = method.last_auth_at() {
        out.insert("last_auth".into(), json!(at));
    }
    Some(Value::Object(out))
}

/// A new recovery code as Auth0 makes them (24 capitals and digits, shown once), the method
/// that stands for it, and the SHA-256 a login will compare against (a random 124-bit code
/// needs no slow hash).
pub fn new_recovery_code(at: Timestamp) -> (String, NewMethod) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let code = ids::random_from(ALPHABET, 24);
    let method = AuthenticationMethod::new("recovery-code", at);
    (code.clone(), NewMethod { method, secret: Some(recovery_code_hash(&code)) })
}

/// What is stored of a recovery code.
pub fn recovery_code_hash(code: &str) -> String {
    ids::sha256_hex(code)
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        time::parse("2023-03-10T16:25:51.113Z").unwrap()
    }

    fn create(body: Value) -> Result<NewMethod, ApiError> {
        let body = CREATE_METHOD.validate_payload(&body)?;
        method_to_create(body, at())
    }

    #[test]
    fn masks_as_recorded() {
        assert_eq!(mask_email("chuck334@example.com"), "chuc****@exam*******");
        assert_eq!(mask_email("foo@example.com"), "****@exam*******");
        assert_eq!(mask_phone("+44207183875044"), "XXXXXXXXXXX5044");
    }

    #[test]
    fn renders_a_phone_with_its_channel_masked_on_read_and_as_given_after_put() {
        let new = create(json!({"type": "phone", "name": "MyPhone", "phone_number": "+44207183875044"})).unwrap();
        let device = new.method.device_id().to_owned();
        assert!(new.method.id.starts_with("phone|dev_") && device.len() == 20, "{}", new.method.id);
        let read = new.method.to_json(View::Read);
        assert_eq!(
            read,
            json!({"id": new.method.id, "type": "phone", "confirmed": true, "name": "MyPhone",
                   "phone_number": "XXXXXXXXXXX5044", "created_at": "2023-03-10T16:25:51.113Z",
                   "preferred_authentication_method": "sms",
                   "authentication_methods": [{"id": format!("sms|{device}"), "type": "sms"}]})
        );
        let replaced = new.method.to_json(View::Replaced);
        assert_eq!(replaced["phone_number"], "+44207183875044");
        assert!(replaced.get("confirmed").is_none());
    }

    #[test]
    fn each_type_requires_its_own_attributes() {
        let missing = create(json!({"type": "email", "name": "x"})).unwrap_err();
        assert_eq!(missing.message, "Payload validation error: 'Missing required property: email'.");
        assert!(create(json!({"type": "totp", "totp_secret": "not base32!"})).is_err());
        assert!(create(json!({"type": "totp", "totp_secret": "5HCWXIP2MJNSUBGYVUZFLRB2HWIGXR4SYJQXNBQ"})).is_ok());
        let other = create(json!({"type": "email", "email": "a@example.com", "phone_number": "+1555"})).unwrap_err();
        assert!(other.message.contains("phone_number"), "{}", other.message);
        assert!(create(json!({"type": "passkey", "key_id": "k", "public_key": "p", "aaguid": "x"})).is_err());
        assert!(create(json!({"type": "bogus"})).is_err());
    }

    #[test]
    fn secrets_are_not_attributes() {
        let new = create(json!({"type": "totp", "totp_secret": "jbswy3dpehpk3pxp"})).unwrap();
        assert_eq!(new.secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert!(!new.method.to_json(View::Replaced).to_string().contains("JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn duplicates_and_a_second_totp_are_refused() {
        let email = create(json!({"type": "email", "email": "A@example.com"})).unwrap().method;
        let again = create(json!({"type": "email", "email": "a@example.com"})).unwrap().method;
        let other = create(json!({"type": "email", "email": "b@example.com"})).unwrap().method;
        assert_eq!(admit(std::slice::from_ref(&email), &again), Err(Refusal::Exists));
        assert_eq!(admit(std::slice::from_ref(&email), &other), Ok(()));
        let totp = create(json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"})).unwrap().method;
        assert_eq!(admit(std::slice::from_ref(&totp), &totp.clone()), Err(Refusal::Exists));
        let key = create(json!({"type": "webauthn-roaming", "key_id": "k", "public_key": "p"})).unwrap().method;
        let passkey = create(json!({"type": "passkey", "key_id": "k", "public_key": "p"})).unwrap().method;
        assert_eq!(admit(std::slice::from_ref(&key), &passkey), Err(Refusal::Exists));
        assert_eq!(admit(std::slice::from_ref(&email), &totp), Ok(()));
    }

    #[test]
    fn multifactor_follows_second_factors_and_keeps_legacy_providers() {
        let totp = create(json!({"type": "totp", "totp_secret": "JBSWY3DPEHPK3PXP"})).unwrap().method;
        let (_, code) = new_recovery_code(at());
        assert_eq!(multifactor(None, std::slice::from_ref(&totp)), Some(vec!["guardian".to_owned()]));
        assert_eq!(multifactor(Some(&["guardian".to_owned()]), std::slice::from_ref(&code.method)), None);
        assert_eq!(multifactor(Some(&["duo".to_owned()]), &[]), Some(vec!["duo".to_owned()]));
    }

    #[test]
    fn recovery_codes_look_like_auth0s() {
        let (code, new) = new_recovery_code(at());
        assert_eq!(code.len(), 24);
        assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(new.secret.unwrap(), recovery_code_hash(&code));
        assert!(new.method.id.starts_with("recovery-code|dev_"));
    }

    #[test]
    fn the_first_second_factor_is_the_enrollment() {
        let email = create(json!({"type": "email", "email": "someone@example.com"})).unwrap().method;
        let phone = create(json!({"type": "phone", "phone_number": "+15555550123"})).unwrap().method;
        let (_, code) = new_recovery_code(at());
        assert_eq!(first_enrollment(std::slice::from_ref(&code.method)), None);
        let enrollment = first_enrollment(&[code.method, email.clone()]).unwrap();
        assert_eq!(
            (enrollment["type"].as_str(), enrollment["name"].as_str()),
            (Some("email"), Some("some***@exam*******"))
        );
        let enrollment = first_enrollment(&[phone.clone(), email]).unwrap();
        assert_eq!(enrollment["id"], phone.device_id());
        assert_eq!(enrollment["auth_method"], "sms");
        assert_eq!(enrollment["phone_number"], "XXXXXXXX0123");
    }
}
