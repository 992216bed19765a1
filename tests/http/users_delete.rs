//! `DELETE /api/v2/users/{id}`

use reqwest::Method;
use serde_json::json;

use crate::server::{Server, encode};

#[tokio::test]
async fn deletes_and_answers_204_even_when_already_gone() {
    let mut server = Server::start().await;
    let created = server.create_user("gone@example.com").await;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    let deleted = server.delete(&path).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.text, "");
    assert_eq!(deleted.content_type.as_deref(), Some("application/json; charset=utf-8"));
    server.get(&path).await.assert_error(404, Some("inexistent_user"), "The user does not exist.");
    // As recorded in TestUserManager_Delete.yaml: deleting again is still 204.
    assert_eq!(server.delete(&path).await.status, 204);
    server.delete("/api/v2/users/nopipe").await.assert_error(
        400,
        Some("invalid_uri"),
        "Path validation error: 'String does not match pattern ^.+\\|.+$: nopipe' on property id (ID of the user to delete).",
    );
}

#[tokio::test]
async fn deleting_frees_the_credentials() {
    let mut server = Server::start().await;
    let created = server.create_user("again@example.com").await;
    server.delete(&format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()))).await;
    let recreated = server
        .post(
            "/api/v2/users",
            json!({"connection": "Username-Password-Authentication", "email": "again@example.com", "password": "Passw0rd!"}),
        )
        .await;
    assert_eq!(recreated.status, 201, "{}", recreated.text);
    assert_eq!(server.get("/api/v2/users?include_totals=true").await.body["total"], 1);
}

#[tokio::test]
async fn requires_delete_scope() {
    let mut server = Server::start().await;
    let created = server.create_user("kept@example.com").await;
    let path = format!("/api/v2/users/{}", encode(created["user_id"].as_str().unwrap()));
    let token = server.token_with_scope(Some("read:users update:users")).await;
    server.send_raw(Method::DELETE, &path, Some(&token), None).await.assert_error(
        403,
        Some("insufficient_scope"),
        "Insufficient scope, expected any of: delete:users,delete:current_user",
    );
    assert_eq!(server.get(&path).await.status, 200, "still there");
}
