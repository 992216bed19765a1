//! Roster: a wire-compatible, stateful implementation of Auth0's Management API v2 `users`
//! resource, on embedded SQLite.
//!
//! The request path reads straight through: `http` (parse, check scopes) → `domain` (rules,
//! no I/O) → `store` (SQL) → back out through one response shaper.

pub mod app;
pub mod auth;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod search;
pub mod seed;
pub mod server;
pub mod store;
pub mod tenancy;
pub mod tenant;
pub mod tls;
