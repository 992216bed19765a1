//! [`RbacStore`](crate::store::rbac::RbacStore) on Sqlite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rbac::RbacStore;

#[async_trait]
impl RbacStore for SqliteStore {}
