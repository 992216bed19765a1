//! [`OrganizationStore`](crate::store::organizations::OrganizationStore) on Sqlite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::organizations::OrganizationStore;

#[async_trait]
impl OrganizationStore for SqliteStore {}
