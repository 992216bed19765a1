//! Black-box HTTP tests: each test starts the real `roster` binary on a temporary database
//! and checks what a client sees.

mod auth;
mod recordings;
mod search;
mod server;
mod service;
mod stores;
mod users_create;
mod users_delete;
mod users_read;
mod users_update;
