//! [`TenantAdminStore`](crate::store::tenant_admin::TenantAdminStore) on Postgres.

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::tenant_admin::TenantAdminStore;

#[async_trait]
impl TenantAdminStore for PostgresStore {}
