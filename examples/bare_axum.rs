//! The baseline for throughput benchmarks: a bare axum endpoint that returns a fixed JSON
//! user of the same size as Roster's, with no authentication and no database. Roster's
//! figures are reported as a ratio to this one, measured in the same run on the same machine.
//!
//!     cargo run --release --example bare_axum -- 127.0.0.1:18081

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const USER: &str = r#"{"created_at":"2026-11-26T23:50:06.846Z","email":"chuck@example.com","email_verified":false,"identities":[{"connection":"Username-Password-Authentication","user_id":"6b08c5aeac4bed0b58e099bd","provider":"auth0","isSocial":false}],"name":"chuck@example.com","nickname":"chuck","picture":"https://s.gravatar.com/avatar/0b79e7da7bc7877560620cf8f2cc93ae?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fch.png","updated_at":"2026-11-26T23:50:06.846Z","user_id":"auth0|6b08c5aeac4bed0b58e099bd"}"#;

async fn user() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], USER)
}

#[tokio::main]
async fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await.expect("bind");
    println!("bare axum listening on http://{address}");
    axum::serve(listener, Router::new().route("/api/v2/users/{id}", get(user))).await.expect("serve");
}
