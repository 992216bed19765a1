//! Connections, clients and client grants as the Management API manages them.

use async_trait::async_trait;

#[async_trait]
pub trait TenantAdminStore: Send + Sync {}
