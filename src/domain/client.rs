//! Clients (applications) as `/api/v2/clients` manages them: the payload schemas (copied from
//! Auth0's OpenAPI spec), what a new client gets by default, what a PATCH changes, and which of
//! a client's attributes a token may read.
//!
//! Defaults are what live tenants answered (go-auth0's `TestClient_*` and the Terraform
//! provider's `TestAccClient*` recordings): a first-party client with the four classic grant
//! types, `jwt_configuration` `{secret_encoded: false, lifetime_in_seconds: 36000}`, and a
//! refresh-token policy whose lifetimes depend on the application type.

use serde_json::{Map, Value, json};

use super::ids;
use super::json_schema::{Additional, Field, Schema};
use super::time::Timestamp;
use crate::error::ApiError;

/// A client as stored: what tokens and lookups need as fields, and every other Auth0 attribute
/// (`description`, `grant_types`, `callbacks`, `jwt_configuration`, ...) as given.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    /// 32 alphanumerics.
    pub client_id: String,
    pub name: String,
    /// 64 alphanumerics unless set through the API.
    pub client_secret: String,
    pub app_type: Option<String>,
    pub created_at: Timestamp,
    pub attributes: Map<String, Value>,
}

/// Grant types Auth0 accepts in `grant_types`: the spec's list and the other grants its token
/// endpoint knows.
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:openid:params:grant-type:ciba",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
];

/// What a client without `grant_types` may use.
const DEFAULT_GRANT_TYPES: &[&str] = &["authorization_code", "implicit", "refresh_token", "client_credentials"];

/// Attributes anyone allowed to read clients sees (`read:client_summary` is enough).
const SUMMARY: &[&str] = &["client_id", "app_type", "name", "description"];
/// Attributes only `read:client_keys` or `read:client_credentials` reveal.
const KEYS: &[&str] = &["client_secret", "encryption_key", "client_authentication_methods", "signing_keys"];

/// Which parts of a client a token may read (Auth0's rules for `GET /clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAccess {
    /// Everything but the keys: `read:clients` or `read:client_keys`.
    pub configuration: bool,
    /// The secret and other keys: `read:client_keys` or `read:client_credentials`.
    pub keys: bool,
}

impl ClientAccess {
    /// What the caller of a write sees of the client it wrote.
    pub const FULL: Self = Self { configuration: true, keys: true };

    pub fn for_scopes(has: impl Fn(&str) -> bool) -> Self {
        Self {
            configuration: has("read:clients") || has("read:client_keys"),
            keys: has("read:client_keys") || has("read:client_credentials"),
        }
    }

    fn shows(&self, key: &str) -> bool {
        SUMMARY.contains(&key) || if KEYS.contains(&key) { self.keys } else { self.configuration }
    }
}

const NAME_PATTERN: &str = "^[^<>]+$";

const METADATA_VALUE: Schema = Schema::string("").length(None, Some(255)).nullable();

/// The properties of `CreateClientRequestContent` (and `client_secret`, see [`CREATE_CLIENT`]).
const CREATE_FIELDS: &[Field] = &[
    Field { name: "name", schema: Schema::string("Name of this client (min length: 1 character, does not allow `<` or `>`).") },
    Field { name: "description", schema: Schema::string("Free text description of this client (max length: 140 characters).").length(None, Some(140)) },
    Field { name: "client_secret", schema: Schema::string("The secret used to sign tokens for the client").length(Some(1), None) },
    Field { name: "logo_uri", schema: Schema::string("URL of the logo to display for this client. Recommended size is 150x150 pixels.") },
    Field { name: "callbacks", schema: Schema::array("Comma-separated list of URLs whitelisted for Auth0 to use as a callback to the client after authentication.", &URL) },
    Field { name: "oidc_logout", schema: Schema::object("Configuration for OIDC backchannel logout", &[]).additional(Additional::Allowed) },
    Field { name: "oidc_backchannel_logout", schema: Schema::object("Configuration for OIDC backchannel logout (deprecated, in favor of oidc_logout)", &[]).additional(Additional::Allowed) },
    Field { name: "session_transfer", schema: Schema::object("Native to Web SSO Configuration", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "allowed_origins", schema: Schema::array("Comma-separated list of URLs allowed to make requests from JavaScript to Auth0 API (typically used with CORS). By default, all your callback URLs will be allowed. This field allows you to enter other origins if necessary. You can also use wildcards at the subdomain level (e.g., https://*.contoso.com). Query strings and hash information are not taken into account when validating these URLs.", &URL) },
    Field { name: "web_origins", schema: Schema::array("Comma-separated list of allowed origins for use with <a href='https://auth0.com/docs/cross-origin-authentication'>Cross-Origin Authentication</a>, <a href='https://auth0.com/docs/flows/concepts/device-auth'>Device Flow</a>, and <a href='https://auth0.com/docs/protocols/oauth2#how-response-mode-works'>web message response mode</a>.", &URL) },
    Field { name: "client_aliases", schema: Schema::array("List of audiences/realms for SAML protocol. Used by the wsfed addon.", &NON_EMPTY) },
    Field { name: "allowed_clients", schema: Schema::array("List of allow clients and API ids that are allowed to make delegation requests. Empty means all all your clients are allowed.", &NON_EMPTY) },
    Field { name: "allowed_logout_urls", schema: Schema::array("Comma-separated list of URLs that are valid to redirect to after logout from Auth0. Wildcards are allowed for subdomains.", &URL) },
    Field { name: "grant_types", schema: Schema::array("List of grant types supported for this application. Can include `authorization_code`, `implicit`, `refresh_token`, `client_credentials`, `password`, `http://auth0.com/oauth/grant-type/password-realm`, `http://auth0.com/oauth/grant-type/mfa-oob`, `http://auth0.com/oauth/grant-type/mfa-otp`, `http://auth0.com/oauth/grant-type/mfa-recovery-code`, `urn:openid:params:grant-type:ciba`, `urn:ietf:params:oauth:grant-type:device_code`, and `urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`.", &NON_EMPTY) },
    Field { name: "token_endpoint_auth_method", schema: Schema::string("Defines the requested authentication method for the token endpoint. Can be `none` (public client without a client secret), `client_secret_post` (client uses HTTP POST parameters), or `client_secret_basic` (client uses HTTP Basic).").one_of(&["none", "client_secret_post", "client_secret_basic"]) },
    Field { name: "is_token_endpoint_ip_header_trusted", schema: Schema::boolean("If true, trust that the IP specified in the `auth0-forwarded-for` header is the end-user's IP for brute-force-protection on token endpoint.") },
    Field { name: "app_type", schema: Schema::string("The type of application this client represents").one_of(&["native", "spa", "regular_web", "non_interactive", "resource_server", "express_configuration", "rms", "box", "cloudbees", "concur", "dropbox", "mscrm", "echosign", "egnyte", "newrelic", "office365", "salesforce", "sentry", "sharepoint", "slack", "springcm", "zendesk", "zoom", "sso_integration", "oag"]) },
    Field { name: "is_first_party", schema: Schema::boolean("Whether this client a first party client or not") },
    Field { name: "oidc_conformant", schema: Schema::boolean("Whether this client conforms to <a href='https://auth0.com/docs/api-auth/tutorials/adoption'>strict OIDC specifications</a> (true) or uses legacy features (false).") },
    Field { name: "jwt_configuration", schema: Schema::object("Configuration related to JWTs for the client.", &[]).additional(Additional::Allowed) },
    Field { name: "encryption_key", schema: Schema::object("Encryption used for WsFed responses with this client.", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "sso", schema: Schema::boolean("Applies only to SSO clients and determines whether Auth0 will handle Single Sign On (true) or whether the Identity Provider will (false).") },
    Field { name: "cross_origin_authentication", schema: Schema::boolean("Whether this client can be used to make cross-origin authentication requests (true) or it is not allowed to make such requests (false).") },
    Field { name: "cross_origin_loc", schema: Schema::string("URL of the location in your site where the cross origin verification takes place for the cross-origin auth flow when performing Auth in your own domain instead of Auth0 hosted login page.") },
    Field { name: "sso_disabled", schema: Schema::boolean("<code>true</code> to disable Single Sign On, <code>false</code> otherwise (default: <code>false</code>)") },
    Field { name: "custom_login_page_on", schema: Schema::boolean("<code>true</code> if the custom login page is to be used, <code>false</code> otherwise. Defaults to <code>true</code>") },
    Field { name: "custom_login_page", schema: Schema::string("The content (HTML, CSS, JS) of the custom login page.").length(Some(1), None) },
    Field { name: "custom_login_page_preview", schema: Schema::string("The content (HTML, CSS, JS) of the custom login page. (Used on Previews)").length(Some(1), None) },
    Field { name: "form_template", schema: Schema::string("HTML form template to be used for WS-Federation.").length(Some(1), None) },
    Field { name: "addons", schema: Schema::object("Addons enabled for this client and their associated configurations.", &[]).additional(Additional::Allowed) },
    Field { name: "client_metadata", schema: Schema::object("Metadata associated with the client, in the form of an object with string values (max 255 chars).  Maximum of 10 metadata properties allowed.  Field names (max 255 chars) are alphanumeric and may only include the following special characters:  :,-+=_*?\"/\\()<>@\t[Tab] [Space]", &[]).additional(Additional::Matching(&METADATA_VALUE)).properties_count(None, Some(10)) },
    Field { name: "mobile", schema: Schema::object("Additional configuration for native mobile apps.", &[]).additional(Additional::Allowed) },
    Field { name: "initiate_login_uri", schema: Schema::string("Initiate login uri, must be https") },
    Field { name: "native_social_login", schema: Schema::object("Configure native social settings", &[]).additional(Additional::Allowed) },
    Field { name: "fedcm_login", schema: Schema::object("Configure FedCM login settings for New Universal Login", &[]).additional(Additional::Allowed) },
    Field { name: "refresh_token", schema: Schema::object("Refresh token configuration", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "default_organization", schema: Schema::object("Defines the default Organization ID and flows", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "organization_usage", schema: Schema::string("Defines how to proceed during an authentication transaction with regards an organization. Can be `deny` (default), `allow` or `require`.").one_of(&["deny", "allow", "require"]) },
    Field { name: "organization_require_behavior", schema: Schema::string("Defines how to proceed during an authentication transaction when `client.organization_usage: 'require'`. Can be `no_prompt` (default), `pre_login_prompt` or `post_login_prompt`. `post_login_prompt` requires `oidc_conformant: true`.").one_of(&["no_prompt", "pre_login_prompt", "post_login_prompt"]) },
    Field { name: "organization_discovery_methods", schema: Schema::array("Defines the available methods for organization discovery during the `pre_login_prompt`. Users can discover their organization either by `email`, `organization_name` or both.", &DISCOVERY_METHOD) },
    Field { name: "client_authentication_methods", schema: Schema::object("Defines client authentication methods.", &[]).additional(Additional::Allowed) },
    Field { name: "require_pushed_authorization_requests", schema: Schema::boolean("Makes the use of Pushed Authorization Requests mandatory for this client") },
    Field { name: "require_proof_of_possession", schema: Schema::boolean("Makes the use of Proof-of-Possession mandatory for this client") },
    Field { name: "signed_request_object", schema: Schema::object("JWT-secured Authorization Requests (JAR) settings.", &[]).additional(Additional::Allowed) },
    Field { name: "token_vault_privileged_access", schema: Schema::object("Settings for Token Vault Privileged Access.", &[]).additional(Additional::Allowed) },
    Field { name: "compliance_level", schema: Schema::string("Defines the compliance level for this client, which may restrict it's capabilities").one_of(&["none", "fapi1_adv_pkj_par", "fapi1_adv_mtls_par", "fapi2_sp_pkj_mtls", "fapi2_sp_mtls_mtls"]).nullable() },
    Field { name: "skip_non_verifiable_callback_uri_confirmation_prompt", schema: Schema::boolean("Controls whether a confirmation prompt is shown during login flows when the redirect URI uses non-verifiable callback URIs (for example, a custom URI schema such as `myapp://`, or `localhost`).\nIf set to true, a confirmation prompt will not be shown. We recommend that this is set to false for improved protection from malicious apps.\nSee https://auth0.com/docs/secure/security-guidance/measures-against-app-impersonation for more information.") },
    Field { name: "token_exchange", schema: Schema::object("Configuration for token exchange.", &[]).additional(Additional::Allowed) },
    Field { name: "par_request_expiry", schema: Schema::integer("Specifies how long, in seconds, a Pushed Authorization Request URI remains valid", Some(10), Some(600)).nullable() },
    Field { name: "token_quota", schema: Schema::object("", &[]).additional(Additional::Allowed) },
    Field { name: "resource_server_identifier", schema: Schema::string("The identifier of the resource server that this client is linked to.").length(Some(1), Some(600)) },
    Field { name: "third_party_security_mode", schema: Schema::string("Security mode for third-party clients. `strict` enforces <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/security-controls\">enhanced security controls</a>: OAuth 2.1 alignment, explicit API authorization, and a curated set of supported features. `permissive` preserves <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/permissive-mode\">pre-existing behavior</a> and is only available to tenants with prior third-party client usage. Set on creation and cannot be modified.").one_of(&["strict", "permissive"]) },
    Field { name: "redirection_policy", schema: Schema::string("Controls whether Auth0 redirects users to the application's callback URL on authentication errors or in email verification flows. `open_redirect_protection` shows an error page instead of redirecting, and hides the callback domain from email templates. `allow_always` enables standard redirect behavior. Defaults to `open_redirect_protection` for third-party clients. Only applies when `is_first_party` is `false` and `third_party_security_mode` is `strict`. To learn more, read <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/security-controls#redirect-protection\">Redirect protection</a>.").one_of(&["allow_always", "open_redirect_protection"]) },
    Field { name: "express_configuration", schema: Schema::object("Application specific configuration for use with the OIN Express Configuration feature.", &[]).additional(Additional::Allowed) },
    Field { name: "my_organization_configuration", schema: Schema::object("Configuration related to the My Organization Configuration for the client.", &[]).additional(Additional::Allowed) },
    Field { name: "async_approval_notification_channels", schema: Schema::array("Array of notification channels for contacting the user when their approval is required. Valid values are `guardian-push`, `email`.", &NOTIFICATION_CHANNEL) },
];
/// The properties of `UpdateClientRequestContent`.
const UPDATE_FIELDS: &[Field] = &[
    Field { name: "name", schema: Schema::string("The name of the client. Must contain at least one character. Does not allow '<' or '>'.") },
    Field { name: "description", schema: Schema::string("Free text description of the purpose of the Client. (Max character length: <code>140</code>)").length(None, Some(140)) },
    Field { name: "client_secret", schema: Schema::string("The secret used to sign tokens for the client").length(Some(1), None) },
    Field { name: "logo_uri", schema: Schema::string("The URL of the client logo (recommended size: 150x150)") },
    Field { name: "callbacks", schema: Schema::array("A set of URLs that are valid to call back from Auth0 when authenticating users", &URL) },
    Field { name: "oidc_logout", schema: Schema::object("Configuration for OIDC backchannel logout", &[]).additional(Additional::Allowed) },
    Field { name: "oidc_backchannel_logout", schema: Schema::object("Configuration for OIDC backchannel logout (deprecated, in favor of oidc_logout)", &[]).additional(Additional::Allowed) },
    Field { name: "session_transfer", schema: Schema::object("Native to Web SSO Configuration", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "allowed_origins", schema: Schema::array("A set of URLs that represents valid origins for CORS", &URL) },
    Field { name: "web_origins", schema: Schema::array("A set of URLs that represents valid web origins for use with web message response mode", &URL) },
    Field { name: "grant_types", schema: Schema::array("A set of grant types that the client is authorized to use. Can include `authorization_code`, `implicit`, `refresh_token`, `client_credentials`, `password`, `http://auth0.com/oauth/grant-type/password-realm`, `http://auth0.com/oauth/grant-type/mfa-oob`, `http://auth0.com/oauth/grant-type/mfa-otp`, `http://auth0.com/oauth/grant-type/mfa-recovery-code`, `urn:openid:params:grant-type:ciba`, `urn:ietf:params:oauth:grant-type:device_code`, and `urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token`.", &NON_EMPTY) },
    Field { name: "client_aliases", schema: Schema::array("List of audiences for SAML protocol", &NON_EMPTY) },
    Field { name: "allowed_clients", schema: Schema::array("Ids of clients that will be allowed to perform delegation requests. Clients that will be allowed to make delegation request. By default, all your clients will be allowed. This field allows you to specify specific clients", &NON_EMPTY) },
    Field { name: "allowed_logout_urls", schema: Schema::array("URLs that are valid to redirect to after logout from Auth0", &URL) },
    Field { name: "jwt_configuration", schema: Schema::object("An object that holds settings related to how JWTs are created", &[]).additional(Additional::Allowed) },
    Field { name: "encryption_key", schema: Schema::object("The client's encryption key", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "sso", schema: Schema::boolean("<code>true</code> to use Auth0 instead of the IdP to do Single Sign On, <code>false</code> otherwise (default: <code>false</code>)") },
    Field { name: "cross_origin_authentication", schema: Schema::boolean("<code>true</code> if this client can be used to make cross-origin authentication requests, <code>false</code> otherwise if cross origin is disabled") },
    Field { name: "cross_origin_loc", schema: Schema::string("URL for the location in your site where the cross origin verification takes place for the cross-origin auth flow when performing Auth in your own domain instead of Auth0 hosted login page.").nullable() },
    Field { name: "sso_disabled", schema: Schema::boolean("<code>true</code> to disable Single Sign On, <code>false</code> otherwise (default: <code>false</code>)") },
    Field { name: "custom_login_page_on", schema: Schema::boolean("<code>true</code> if the custom login page is to be used, <code>false</code> otherwise.") },
    Field { name: "token_endpoint_auth_method", schema: Schema::string("Defines the requested authentication method for the token endpoint. Can be `none` (public client without a client secret), `client_secret_post` (client uses HTTP POST parameters), or `client_secret_basic` (client uses HTTP Basic).").one_of(&["none", "client_secret_post", "client_secret_basic"]).nullable() },
    Field { name: "is_token_endpoint_ip_header_trusted", schema: Schema::boolean("If true, trust that the IP specified in the `auth0-forwarded-for` header is the end-user's IP for brute-force-protection on token endpoint.") },
    Field { name: "app_type", schema: Schema::string("The type of application this client represents").one_of(&["native", "spa", "regular_web", "non_interactive", "resource_server", "express_configuration", "rms", "box", "cloudbees", "concur", "dropbox", "mscrm", "echosign", "egnyte", "newrelic", "office365", "salesforce", "sentry", "sharepoint", "slack", "springcm", "zendesk", "zoom", "sso_integration", "oag"]) },
    Field { name: "is_first_party", schema: Schema::boolean("Whether this client a first party client or not") },
    Field { name: "oidc_conformant", schema: Schema::boolean("Whether this client will conform to strict OIDC specifications") },
    Field { name: "custom_login_page", schema: Schema::string("The content (HTML, CSS, JS) of the custom login page") },
    Field { name: "custom_login_page_preview", schema: Schema::string("") },
    Field { name: "token_quota", schema: Schema::object("", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "form_template", schema: Schema::string("Form template for WS-Federation protocol") },
    Field { name: "addons", schema: Schema::object("Addons enabled for this client and their associated configurations.", &[]).additional(Additional::Allowed) },
    Field { name: "client_metadata", schema: Schema::object("Metadata associated with the client, in the form of an object with string values (max 255 chars).  Maximum of 10 metadata properties allowed.  Field names (max 255 chars) are alphanumeric and may only include the following special characters:  :,-+=_*?\"/\\()<>@\t[Tab] [Space]", &[]).additional(Additional::Matching(&METADATA_VALUE)).properties_count(None, Some(10)) },
    Field { name: "mobile", schema: Schema::object("Configuration related to native mobile apps", &[]).additional(Additional::Allowed) },
    Field { name: "initiate_login_uri", schema: Schema::string("Initiate login uri, must be https") },
    Field { name: "native_social_login", schema: Schema::object("Configure native social settings", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "fedcm_login", schema: Schema::object("Configure FedCM login settings for New Universal Login", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "refresh_token", schema: Schema::object("Refresh token configuration", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "default_organization", schema: Schema::object("Defines the default Organization ID and flows", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "organization_usage", schema: Schema::string("Defines how to proceed during an authentication transaction with regards an organization. Can be `deny` (default), `allow` or `require`.").one_of(&["deny", "allow", "require"]).nullable() },
    Field { name: "organization_require_behavior", schema: Schema::string("Defines how to proceed during an authentication transaction when `client.organization_usage: 'require'`. Can be `no_prompt` (default), `pre_login_prompt` or `post_login_prompt`. `post_login_prompt` requires `oidc_conformant: true`.").one_of(&["no_prompt", "pre_login_prompt", "post_login_prompt"]).nullable() },
    Field { name: "organization_discovery_methods", schema: Schema::array("Defines the available methods for organization discovery during the `pre_login_prompt`. Users can discover their organization either by `email`, `organization_name` or both.", &DISCOVERY_METHOD).nullable() },
    Field { name: "client_authentication_methods", schema: Schema::object("Defines client authentication methods.", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "require_pushed_authorization_requests", schema: Schema::boolean("Makes the use of Pushed Authorization Requests mandatory for this client") },
    Field { name: "require_proof_of_possession", schema: Schema::boolean("Makes the use of Proof-of-Possession mandatory for this client") },
    Field { name: "signed_request_object", schema: Schema::object("JWT-secured Authorization Requests (JAR) settings.", &[]).additional(Additional::Allowed) },
    Field { name: "token_vault_privileged_access", schema: Schema::object("Settings for Token Vault Privileged Access.", &[]).additional(Additional::Allowed) },
    Field { name: "compliance_level", schema: Schema::string("Defines the compliance level for this client, which may restrict it's capabilities").one_of(&["none", "fapi1_adv_pkj_par", "fapi1_adv_mtls_par", "fapi2_sp_pkj_mtls", "fapi2_sp_mtls_mtls"]).nullable() },
    Field { name: "skip_non_verifiable_callback_uri_confirmation_prompt", schema: Schema::boolean("Controls whether a confirmation prompt is shown during login flows when the redirect URI uses non-verifiable callback URIs (for example, a custom URI schema such as `myapp://`, or `localhost`).\nIf set to true, a confirmation prompt will not be shown. We recommend that this is set to false for improved protection from malicious apps.\nSee https://auth0.com/docs/secure/security-guidance/measures-against-app-impersonation for more information.").nullable() },
    Field { name: "token_exchange", schema: Schema::object("Configuration for token exchange.", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "par_request_expiry", schema: Schema::integer("Specifies how long, in seconds, a Pushed Authorization Request URI remains valid", Some(10), Some(600)).nullable() },
    Field { name: "express_configuration", schema: Schema::object("Application specific configuration for use with the OIN Express Configuration feature.", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "my_organization_configuration", schema: Schema::object("Configuration related to the My Organization Configuration for the client.", &[]).additional(Additional::Allowed).nullable() },
    Field { name: "async_approval_notification_channels", schema: Schema::array("Array of notification channels for contacting the user when their approval is required. Valid values are `guardian-push`, `email`.", &NOTIFICATION_CHANNEL).nullable() },
    Field { name: "third_party_security_mode", schema: Schema::string("Security mode for third-party clients. `strict` enforces <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/security-controls\">enhanced security controls</a>: OAuth 2.1 alignment, explicit API authorization, and a curated set of supported features. `permissive` preserves <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/permissive-mode\">pre-existing behavior</a> and is only available to tenants with prior third-party client usage. Set on creation and cannot be modified.").one_of(&["strict", "permissive"]) },
    Field { name: "redirection_policy", schema: Schema::string("Controls whether Auth0 redirects users to the application's callback URL on authentication errors or in email verification flows. `open_redirect_protection` shows an error page instead of redirecting, and hides the callback domain from email templates. `allow_always` enables standard redirect behavior. Defaults to `open_redirect_protection` for third-party clients. Only applies when `is_first_party` is `false` and `third_party_security_mode` is `strict`. To learn more, read <a href=\"https://auth0.com/docs/get-started/applications/third-party-applications/security-controls#redirect-protection\">Redirect protection</a>.").one_of(&["allow_always", "open_redirect_protection"]) },
];
const URL: Schema = Schema::string("");
const NON_EMPTY: Schema = Schema::string("").length(Some(1), None);
const DISCOVERY_METHOD: Schema = Schema::string("").one_of(&["email", "organization_name"]);
const NOTIFICATION_CHANNEL: Schema = Schema::string("").one_of(&["guardian-push", "email"]);

/// `CreateClientRequestContent`, plus `client_secret`: the spec's notes on this operation
/// speak of it ("leaving the `client_secret` parameter unspecified"), though its schema omits
/// it; tenants kept in files need their secrets.
pub const CREATE_CLIENT: Schema = Schema::object("", CREATE_FIELDS).required(&["name"]);
/// `UpdateClientRequestContent`
pub const UPDATE_CLIENT: Schema = Schema::object("", UPDATE_FIELDS);

fn description_of(fields: &[Field], name: &str) -> &'static str {
    fields.iter().find(|f| f.name == name).map_or("", |f| f.schema.description)
}

fn payload_error(detail: &str, property: &str, description: &str) -> ApiError {
    let description = description.strip_suffix('.').unwrap_or(description);
    ApiError::invalid_body(format!("Payload validation error: '{detail}' on property {property} ({description})."))
}

/// Rules beyond the schema: the name's pattern, and `grant_types` that Auth0 knows, each once
/// (`Invalid grant types: …` and z-schema's uniqueness message, both seen on live tenants).
fn check_body(body: &Map<String, Value>, fields: &[Field]) -> Result<(), ApiError> {
    if let Some(name) = body.get("name").and_then(Value::as_str)
        && (name.is_empty() || name.contains(['<', '>']))
    {
        return Err(payload_error(
            &format!("String does not match pattern {NAME_PATTERN}: {name}"),
            "name",
            description_of(fields, "name"),
        ));
    }
    if let Some(Value::Array(grants)) = body.get("grant_types") {
        let grants: Vec<&str> = grants.iter().filter_map(Value::as_str).collect();
        for (second, grant) in grants.iter().enumerate() {
            if let Some(first) = grants[..second].iter().position(|g| g == grant) {
                return Err(payload_error(
                    &format!("Array items are not unique (indexes {first} and {second})"),
                    "grant_types",
                    description_of(fields, "grant_types"),
                ));
            }
        }
        let unknown: Vec<&str> = grants.iter().copied().filter(|g| !GRANT_TYPES.contains(g)).collect();
        if !unknown.is_empty() {
            return Err(ApiError::invalid_body(format!("Invalid grant types: {}", unknown.join(", "))));
        }
    }
    Ok(())
}

/// Confidential web and machine-to-machine applications get longer refresh-token lifetimes.
fn refresh_token_defaults(app_type: Option<&str>) -> Value {
    let (token_lifetime, idle_token_lifetime) = match app_type {
        Some("regular_web" | "non_interactive") => (31_557_600, 2_592_000),
        _ => (2_592_000, 1_296_000),
    };
    json!({
        "rotation_type": "non-rotating",
        "expiration_type": "non-expiring",
        "leeway": 0,
        "token_lifetime": token_lifetime,
        "infinite_token_lifetime": true,
        "infinite_idle_token_lifetime": true,
        "idle_token_lifetime": idle_token_lifetime,
    })
}

/// The attributes a new client starts with, before those given.
fn default_attributes(app_type: Option<&str>) -> Map<String, Value> {
    let Value::Object(defaults) = json!({
        "is_first_party": true,
        "is_token_endpoint_ip_header_trusted": false,
        "oidc_conformant": false,
        "jwt_configuration": {"secret_encoded": false, "lifetime_in_seconds": 36000},
        "sso_disabled": false,
        "cross_origin_authentication": false,
        "grant_types": DEFAULT_GRANT_TYPES,
        "custom_login_page_on": true,
        "refresh_token": refresh_token_defaults(app_type),
    }) else {
        unreachable!("an object literal")
    };
    defaults
}

/// The attributes of the management client the tenant creates on first start: a
/// machine-to-machine application that authenticates with its secret in the body. Migration
/// 0006 stores exactly this for it (a unit test holds them together).
pub fn management_client_attributes() -> Map<String, Value> {
    let mut attributes = default_attributes(Some("non_interactive"));
    attributes.insert("grant_types".into(), json!(["client_credentials"]));
    attributes.insert("token_endpoint_auth_method".into(), json!("client_secret_post"));
    attributes
}

/// Sets `key` on `attributes`: objects that Auth0 merges are merged (a `null` inside removes
/// that key), anything else is replaced, and a `null` removes the attribute.
fn set_attribute(attributes: &mut Map<String, Value>, key: &str, value: &Value) {
    const MERGED: &[&str] = &[
        "jwt_configuration",
        "refresh_token",
        "client_metadata",
        "mobile",
        "addons",
        "native_social_login",
        "fedcm_login",
    ];
    match (value, attributes.get_mut(key)) {
        (Value::Null, _) => {
            attributes.shift_remove(key);
        }
        (Value::Object(changes), Some(Value::Object(current))) if MERGED.contains(&key) => {
            for (inner, value) in changes {
                if value.is_null() {
                    current.shift_remove(inner);
                } else {
                    current.insert(inner.clone(), value.clone());
                }
            }
        }
        (Value::Object(given), _) if key == "client_metadata" => {
            let kept: Map<String, Value> =
                given.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
            attributes.insert(key.to_owned(), Value::Object(kept));
        }
        _ => {
            attributes.insert(key.to_owned(), value.clone());
        }
    }
}

/// The client `body` (checked against [`CREATE_CLIENT`]) asks for.
pub fn new_client(body: &Map<String, Value>, now: Timestamp) -> Result<ClientRecord, ApiError> {
    check_body(body, CREATE_FIELDS)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let app_type = text("app_type");
    let mut attributes = Map::new();
    if let Some(description) = body.get("description") {
        attributes.insert("description".into(), description.clone());
    }
    attributes.extend(default_attributes(app_type.as_deref()));
    if body.contains_key("jwt_configuration") {
        // A given configuration gets no default lifetime (TestClient_Read.yaml: `{alg}` is
        // answered as `{secret_encoded: false, alg}`).
        attributes.insert("jwt_configuration".into(), json!({"secret_encoded": false}));
    }
    for (key, value) in body {
        if !matches!(key.as_str(), "name" | "client_secret" | "app_type" | "description") {
            set_attribute(&mut attributes, key, value);
        }
    }
    Ok(ClientRecord {
        client_id: ids::random_alphanumeric(32),
        name: text("name").unwrap_or_default(),
        client_secret: text("client_secret").unwrap_or_else(new_secret),
        app_type,
        created_at: now,
        attributes,
    })
}

/// A fresh client secret: 64 alphanumerics from the OS's random source.
pub fn new_secret() -> String {
    ids::random_alphanumeric(64)
}

/// A checked `PATCH /clients/{id}` body, applied to the client as stored.
#[derive(Debug, Clone)]
pub struct ClientPatch {
    body: Map<String, Value>,
}

impl ClientPatch {
    /// `body` has been checked against [`UPDATE_CLIENT`].
    pub fn plan(body: &Map<String, Value>) -> Result<Self, ApiError> {
        check_body(body, UPDATE_FIELDS)?;
        Ok(Self { body: body.clone() })
    }

    /// A 403 unless the token's scopes allow every attribute the patch sets: the keys need
    /// `update:client_keys`, credentials `update:client_credentials`, the rest `update:clients`
    /// (or `update:client_keys`, which allows everything, as `read:client_keys` does for reads).
    pub fn check_scopes(&self, has: impl Fn(&str) -> bool) -> Result<(), ApiError> {
        let needed = |key: &str| -> Option<&'static str> {
            let allowed = match key {
                "client_secret" | "encryption_key" => has("update:client_keys"),
                "client_authentication_methods" => has("update:client_credentials") || has("update:client_keys"),
                "token_vault_privileged_access" => {
                    has("update:client_token_vault_privileged_access")
                        || has("update:clients")
                        || has("update:client_keys")
                }
                _ => has("update:clients") || has("update:client_keys"),
            };
            (!allowed).then_some(match key {
                "client_secret" | "encryption_key" => "update:client_keys",
                "client_authentication_methods" => "update:client_credentials",
                _ => "update:clients",
            })
        };
        let refused: Vec<(&str, &str)> = self.body.keys().filter_map(|k| needed(k).map(|s| (k.as_str(), s))).collect();
        let Some((_, scope)) = refused.first() else { return Ok(()) };
        let fields: Vec<&str> = refused.iter().filter(|(_, s)| s == scope).map(|(k, _)| *k).collect();
        Err(ApiError::forbidden(
            Some("insufficient_scope"),
            format!(
                "Some fields cannot be updated with the permissions granted by the bearer token scopes. The following fields require {scope}: {}",
                fields.join(",")
            ),
        ))
    }

    pub fn apply(&self, client: &mut ClientRecord) {
        for (key, value) in &self.body {
            match (key.as_str(), value) {
                ("name", Value::String(name)) => client.name = name.clone(),
                ("client_secret", Value::String(secret)) => client.client_secret = secret.clone(),
                ("app_type", Value::String(app_type)) => client.app_type = Some(app_type.clone()),
                _ => set_attribute(&mut client.attributes, key, value),
            }
        }
    }
}

impl ClientRecord {
    /// Auth0's JSON, as much of it as `access` allows: `name`, `description`, `client_id`,
    /// `client_secret`, `app_type`, then the other attributes as stored.
    pub fn to_json(&self, access: ClientAccess) -> Map<String, Value> {
        let mut json = Map::new();
        json.insert("name".into(), Value::from(self.name.as_str()));
        if let Some(description) = self.attributes.get("description") {
            json.insert("description".into(), description.clone());
        }
        json.insert("client_id".into(), Value::from(self.client_id.as_str()));
        json.insert("client_secret".into(), Value::from(self.client_secret.as_str()));
        if let Some(app_type) = &self.app_type {
            json.insert("app_type".into(), Value::from(app_type.as_str()));
        }
        for (key, value) in &self.attributes {
            if key != "description" {
                json.insert(key.clone(), value.clone());
            }
        }
        json.retain(|key, _| access.shows(key));
        json
    }

    /// Whether the client may use `grant_type` (all default grants when it names none).
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        match self.attributes.get("grant_types").and_then(Value::as_array) {
            Some(grants) => grants.iter().any(|g| g.as_str() == Some(grant_type)),
            None => DEFAULT_GRANT_TYPES.contains(&grant_type),
        }
    }

    pub fn is_first_party(&self) -> bool {
        self.attributes.get("is_first_party").and_then(Value::as_bool).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    fn create(body: Value) -> Result<ClientRecord, ApiError> {
        new_client(CREATE_CLIENT.validate_payload(&body)?, time::now())
    }

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.unwrap_err().message.into_owned()
    }

    #[test]
    fn a_new_client_looks_like_the_recorded_one() {
        let client = create(json!({"name": "Test Client", "description": "This is just a test client."})).unwrap();
        assert_eq!(client.client_id.len(), 32);
        assert!(client.client_id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(client.client_secret.len(), 64);
        let mut json = client.to_json(ClientAccess::FULL);
        assert_eq!(json.shift_remove("client_id"), Some(Value::from(client.client_id.as_str())));
        assert_eq!(json.shift_remove("client_secret"), Some(Value::from(client.client_secret.as_str())));
        // TestClient_Create.yaml (go-auth0), less the signing certificate Roster does not make.
        assert_eq!(
            Value::Object(json),
            json!({"name": "Test Client", "description": "This is just a test client.", "is_first_party": true,
                "is_token_endpoint_ip_header_trusted": false, "oidc_conformant": false,
                "jwt_configuration": {"secret_encoded": false, "lifetime_in_seconds": 36000}, "sso_disabled": false,
                "cross_origin_authentication": false,
                "grant_types": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
                "custom_login_page_on": true,
                "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
                    "token_lifetime": 2592000, "infinite_token_lifetime": true, "infinite_idle_token_lifetime": true,
                    "idle_token_lifetime": 1296000}})
        );
    }

    #[test]
    fn given_attributes_override_and_merge_with_defaults() {
        let client =
            create(json!({"name": "M2M", "app_type": "non_interactive", "jwt_configuration": {"alg": "RS256"},
            "token_endpoint_auth_method": "client_secret_post", "callbacks": ["https://a.example/cb"]}))
            .unwrap();
        let json = client.to_json(ClientAccess::FULL);
        assert_eq!(json["app_type"], "non_interactive");
        assert_eq!(json["jwt_configuration"], json!({"secret_encoded": false, "alg": "RS256"}));
        assert_eq!(json["refresh_token"]["token_lifetime"], 31557600, "TestAccAllowUpdatingTheClientSecret.yaml");
        assert_eq!(json["callbacks"], json!(["https://a.example/cb"]));
        assert_eq!(json["token_endpoint_auth_method"], "client_secret_post");
        assert!(client.allows_grant("client_credentials") && !client.allows_grant("password"));
    }

    #[test]
    fn refuses_bad_names_and_grant_types() {
        assert_eq!(
            message(create(json!({"name": "<b>"}))),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: <b>' on property name (Name of this client (min length: 1 character, does not allow `<` or `>`))."
        );
        assert_eq!(
            message(create(json!({"description": "x"}))),
            "Payload validation error: 'Missing required property: name'."
        );
        assert_eq!(
            message(create(
                json!({"name": "a", "grant_types": ["implicit", "http://auth0.com/oauth/legacy/grant-type/ro"]})
            )),
            "Invalid grant types: http://auth0.com/oauth/legacy/grant-type/ro"
        );
        let body = json!({"grant_types": ["implicit", "password", "implicit"]});
        assert!(message(ClientPatch::plan(UPDATE_CLIENT.validate_payload(&body).unwrap())).starts_with(
            "Payload validation error: 'Array items are not unique (indexes 0 and 2)' on property grant_types ("
        ));
        assert_eq!(
            message(create(json!({"name": "a", "app_type": "desktop"}))),
            "Payload validation error: 'No enum match for: \"desktop\"' on property app_type (The type of application this client represents)."
        );
    }

    #[test]
    fn patches_merge_objects_and_need_the_right_scopes() {
        let mut client = create(json!({"name": "a", "client_metadata": {"k": "v", "drop": null},
            "cross_origin_loc": "https://a.example/co"}))
        .unwrap();
        assert_eq!(client.attributes["client_metadata"], json!({"k": "v"}));
        let body = json!({"name": "b", "client_secret": "s3cret", "jwt_configuration": {"alg": "RS256"},
            "client_metadata": {"k": null, "n": "1"}, "callbacks": ["https://x.example"], "cross_origin_loc": null});
        let patch = ClientPatch::plan(UPDATE_CLIENT.validate_payload(&body).unwrap()).unwrap();
        assert_eq!(
            message(patch.check_scopes(|s| s == "update:clients")),
            "Some fields cannot be updated with the permissions granted by the bearer token scopes. The following fields require update:client_keys: client_secret"
        );
        assert!(patch.check_scopes(|s| s == "update:client_keys").is_ok());
        patch.apply(&mut client);
        assert_eq!((client.name.as_str(), client.client_secret.as_str()), ("b", "s3cret"));
        assert_eq!(
            client.attributes["jwt_configuration"],
            json!({"secret_encoded": false, "lifetime_in_seconds": 36000, "alg": "RS256"})
        );
        assert_eq!(client.attributes["client_metadata"], json!({"n": "1"}));
        assert_eq!(client.attributes["callbacks"], json!(["https://x.example"]));
        assert!(!client.attributes.contains_key("cross_origin_loc"), "null removes");
    }

    #[test]
    fn reading_needs_the_scopes_auth0_names() {
        let client = create(json!({"name": "a", "description": "d", "app_type": "spa"})).unwrap();
        let summary = client.to_json(ClientAccess::for_scopes(|s| s == "read:client_summary"));
        assert_eq!(summary.keys().collect::<Vec<_>>(), ["name", "description", "client_id", "app_type"]);
        let configuration = client.to_json(ClientAccess::for_scopes(|s| s == "read:clients"));
        assert!(configuration.contains_key("grant_types") && !configuration.contains_key("client_secret"));
        let keys = client.to_json(ClientAccess::for_scopes(|s| s == "read:client_credentials"));
        assert!(keys.contains_key("client_secret") && !keys.contains_key("grant_types"));
    }

    #[test]
    fn migration_0006_stores_the_management_client_defaults() {
        for migration in [
            include_str!("../../migrations/sqlite/0006_tenant_admin.sql"),
            include_str!("../../migrations/postgres/0006_tenant_admin.sql"),
        ] {
            let literal = migration
                .split("DEFAULT '")
                .find(|part| part.starts_with("{\"is_first_party\""))
                .and_then(|part| part.split('\'').next())
                .expect("the clients.document default");
            let stored: Map<String, Value> = serde_json::from_str(literal).unwrap();
            assert_eq!(stored, management_client_attributes());
        }
    }
}
