//! Organizations, their members, and members' roles in them.

use async_trait::async_trait;

#[async_trait]
pub trait OrganizationStore: Send + Sync {}
