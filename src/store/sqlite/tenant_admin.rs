//! [`TenantAdminStore`](crate::store::tenant_admin::TenantAdminStore) on Sqlite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::tenant_admin::TenantAdminStore;

#[async_trait]
impl TenantAdminStore for SqliteStore {}
