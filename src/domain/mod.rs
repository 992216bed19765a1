//! Types and rules with no I/O: what a user is, how Auth0 validates, defaults and merges.

pub mod api_operation;
pub mod authentication_method;
pub mod client;
pub mod client_grant;
pub mod connection;
pub mod connection_admin;
pub mod create_user;
pub mod identity_link;
pub mod ids;
pub mod import_user;
pub mod json_schema;
pub mod listing;
pub mod log_event;
pub mod metadata;
pub mod organization;
pub mod password_policy;
pub mod rbac;
pub mod refresh_token;
pub mod resource_server;
pub mod schema;
pub mod time;
pub mod update_user;
pub mod user;
pub mod user_schemas;
pub mod username;
