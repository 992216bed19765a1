//! Black-box HTTP tests: each test starts the real `roster` binary on a temporary database
//! and checks what a client sees.

mod auth;
mod authentication_methods;
mod browser;
mod console;
mod identities;
mod import_hashes;
mod jobs;
mod logins;
mod logs;
mod operations;
mod organization_connections;
mod organizations;
mod recordings;
mod replay;
mod resource_servers;
mod roles;
mod search;
mod seed;
mod server;
mod service;
mod stores;
mod tenant_admin;
mod tenants;
mod tls;
mod users_create;
mod users_delete;
mod users_read;
mod users_update;
