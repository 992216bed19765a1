//! Roles, resource servers (their scopes are the permissions), and the roles and permissions assigned to users.

use async_trait::async_trait;

#[async_trait]
pub trait RbacStore: Send + Sync {}
