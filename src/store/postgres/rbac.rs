//! [`RbacStore`](crate::store::rbac::RbacStore) on Postgres.

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::rbac::RbacStore;

#[async_trait]
impl RbacStore for PostgresStore {}
