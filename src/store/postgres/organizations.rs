//! [`OrganizationStore`](crate::store::organizations::OrganizationStore) on Postgres.

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::organizations::OrganizationStore;

#[async_trait]
impl OrganizationStore for PostgresStore {}
