//! What an organization is connected to: its connections (both families of Auth0's endpoints
//! read and write these rows) and its client grants. Each write checks what it names inside its
//! transaction and holds it there (`for_key_share`); the schema's cascades take the rows away
//! with the organization, the connection or the grant.

use serde_json::{Map, Value as Json};

use super::Store;
use super::db::{Conn, Row, Value, args, in_list, job, page};
use super::organizations::{OrganizationError, require_organization};
use super::tenant_admin::TenantObject;
use crate::domain::client_grant::ClientGrantRecord;
use crate::domain::listing::Listed;
use crate::domain::organization_connection::{AddedConnection, OrganizationConnection, apply_update};
use crate::domain::time::Timestamp;

/// Auth0 associates at most 100 client grants with an organization (the spec's 409).
pub const MAX_CLIENT_GRANTS: u64 = 100;

/// An organization's connections with their names and strategies, by connection name.
const CONNECTIONS: &str = "SELECT oc.connection_id, oc.document, c.name, c.strategy FROM organization_connections oc \
     JOIN connections c ON c.id = oc.connection_id WHERE oc.organization_id = $1";

fn connection_from_row(row: &Row) -> anyhow::Result<OrganizationConnection> {
    Ok(OrganizationConnection {
        connection_id: row.get("connection_id")?,
        settings: row.json("document")?,
        name: row.get("name")?,
        strategy: row.get("strategy")?,
    })
}

async fn find_connection(
    conn: &mut Conn<'_>,
    organization_id: &str,
    connection_id: &str,
) -> anyhow::Result<Option<OrganizationConnection>> {
    let sql = format!("{CONNECTIONS} AND oc.connection_id = $2");
    conn.find(&sql, args![organization_id, connection_id], connection_from_row).await
}

/// Adds each connection to the organization (inside the caller's write job): each must exist
/// (`ConnectionNotFound`) and not be the organization's already (`ConnectionAlreadyAdded`).
pub(super) async fn add_connections(
    conn: &mut Conn<'_>,
    organization_id: &str,
    added: &[AddedConnection],
    now: Timestamp,
) -> Result<(), OrganizationError> {
    for item in added {
        if !conn.has("connections", "id", &item.connection_id, true).await? {
            return Err(OrganizationError::ConnectionNotFound);
        }
        let inserted = conn
            .execute(
                "INSERT INTO organization_connections (organization_id, connection_id, document, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                args![organization_id, &item.connection_id, Value::json(&item.settings), &now],
            )
            .await?;
        if inserted == 0 {
            return Err(OrganizationError::ConnectionAlreadyAdded);
        }
    }
    Ok(())
}

/// The organization's connections, by connection name.
pub(super) async fn connections_of(
    conn: &mut Conn<'_>,
    organization_id: &str,
) -> anyhow::Result<Vec<OrganizationConnection>> {
    let sql = format!("{CONNECTIONS} ORDER BY c.name, c.id");
    conn.fetch_all(&sql, args![organization_id]).await?.iter().map(connection_from_row).collect()
}

impl Store {
    /// The organization's connections, by connection name; `None` if there is no such
    /// organization. An organization has few: callers filter and page them.
    pub async fn organization_connections(
        &self,
        organization_id: &str,
    ) -> anyhow::Result<Option<Vec<OrganizationConnection>>> {
        let organization_id = organization_id.to_owned();
        self.db
            .read(job!(|conn| {
                if !conn.has("organizations", "id", &organization_id, false).await? {
                    return Ok(None);
                }
                Ok(Some(connections_of(&mut conn, &organization_id).await?))
            }))
            .await
    }

    /// One connection of the organization (`None`: not the organization's).
    pub async fn organization_connection(
        &self,
        organization_id: &str,
        connection_id: &str,
    ) -> Result<Option<OrganizationConnection>, OrganizationError> {
        let (organization_id, connection_id) = (organization_id.to_owned(), connection_id.to_owned());
        self.db
            .read(job!(|conn| {
                require_organization(&mut conn, &organization_id, false).await?;
                Ok(find_connection(&mut conn, &organization_id, &connection_id).await?)
            }))
            .await
    }

    pub async fn add_organization_connection(
        &self,
        organization_id: &str,
        added: AddedConnection,
        now: Timestamp,
    ) -> Result<OrganizationConnection, OrganizationError> {
        let organization_id = organization_id.to_owned();
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                add_connections(&mut conn, &organization_id, std::slice::from_ref(&added), now).await?;
                let added = find_connection(&mut conn, &organization_id, &added.connection_id).await?;
                Ok(added.ok_or_else(|| anyhow::anyhow!("an organization connection just added is gone"))?)
            }))
            .await
    }

    /// Sets the flags `changes` names (`null` unsets one); `None` when the connection is not
    /// the organization's, or (`enabled_only`) is disabled.
    pub async fn update_organization_connection(
        &self,
        organization_id: &str,
        connection_id: &str,
        enabled_only: bool,
        changes: Map<String, Json>,
    ) -> Result<Option<OrganizationConnection>, OrganizationError> {
        let (organization_id, connection_id) = (organization_id.to_owned(), connection_id.to_owned());
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let sql = format!("{CONNECTIONS} AND oc.connection_id = $2{}", conn.engine().for_update());
                let found = conn.find(&sql, args![&organization_id, &connection_id], connection_from_row).await?;
                let Some(mut found) = found.filter(|c| !enabled_only || c.is_enabled()) else { return Ok(None) };
                apply_update(&mut found.settings, &changes);
                conn.execute(
                    "UPDATE organization_connections SET document = $1 WHERE organization_id = $2 AND connection_id = $3",
                    args![Value::json(&found.settings), &organization_id, &connection_id],
                )
                .await?;
                Ok(Some(found))
            }))
            .await
    }

    /// Whether the connection was the organization's (and, with `enabled_only`, enabled) and
    /// is no more.
    pub async fn remove_organization_connection(
        &self,
        organization_id: &str,
        connection_id: &str,
        enabled_only: bool,
    ) -> Result<bool, OrganizationError> {
        let (organization_id, connection_id) = (organization_id.to_owned(), connection_id.to_owned());
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let found = find_connection(&mut conn, &organization_id, &connection_id).await?;
                if !found.is_some_and(|c| !enabled_only || c.is_enabled()) {
                    return Ok(false);
                }
                let delete = "DELETE FROM organization_connections WHERE organization_id = $1 AND connection_id = $2";
                conn.execute(delete, args![&organization_id, &connection_id]).await?;
                Ok(true)
            }))
            .await
    }

    /// Makes the organization's connections exactly `wanted` (a tenant file's list): others go,
    /// those listed are added or take the flags given.
    pub async fn set_organization_connections(
        &self,
        organization_id: &str,
        wanted: Vec<AddedConnection>,
        now: Timestamp,
    ) -> Result<(), OrganizationError> {
        let organization_id = organization_id.to_owned();
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let ids: Vec<String> = wanted.iter().map(|w| w.connection_id.clone()).collect();
                let delete = "DELETE FROM organization_connections WHERE organization_id = $1";
                if ids.is_empty() {
                    conn.execute(delete, args![&organization_id]).await?;
                } else {
                    let (list, values) = in_list(args![&organization_id], &ids);
                    conn.execute(&format!("{delete} AND connection_id NOT IN ({list})"), &values).await?;
                }
                for item in &wanted {
                    if !conn.has("connections", "id", &item.connection_id, true).await? {
                        return Err(OrganizationError::ConnectionNotFound);
                    }
                    conn.execute(
                        "INSERT INTO organization_connections (organization_id, connection_id, document, created_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (organization_id, connection_id) DO UPDATE SET document = excluded.document",
                        args![&organization_id, &item.connection_id, Value::json(&item.settings), &now],
                    )
                    .await?;
                }
                Ok(())
            }))
            .await
    }

    /// The organization's client grants, in the order they were added, narrowed by audience,
    /// client and grant ids; `None` if there is no such organization.
    pub async fn organization_client_grants(
        &self,
        organization_id: &str,
        filter: &OrganizationGrantFilter,
        (offset, limit): (u64, u64),
    ) -> anyhow::Result<Option<Listed<ClientGrantRecord>>> {
        let (organization_id, filter) = (organization_id.to_owned(), filter.clone());
        self.db
            .read(job!(|conn| {
                if !conn.has("organizations", "id", &organization_id, false).await? {
                    return Ok(None);
                }
                let any_id = if filter.grant_ids.is_empty() { "1 = 1" } else { "1 = 0" };
                let (ids, values) =
                    in_list(args![&organization_id, &filter.audience, &filter.client_id], &filter.grant_ids);
                let from = format!(
                    "FROM organization_client_grants og JOIN client_grants g ON g.id = og.grant_id \
                     WHERE og.organization_id = $1 AND ($2 IS NULL OR g.audience = $2) \
                     AND ($3 IS NULL OR g.client_id = $3) AND ({any_id} OR g.id IN ({ids}))"
                );
                let columns = ClientGrantRecord::COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>();
                let select = format!("SELECT {} {from} ORDER BY og.created_at, g.id", columns.join(", "));
                let count = format!("SELECT COUNT(*) AS total {from}");
                let sql = (select.as_str(), count.as_str());
                Ok(Some(page(&mut conn, sql, &values, (offset, limit), ClientGrantRecord::from_row).await?))
            }))
            .await
    }

    /// Associates the client grant with the organization.
    pub async fn add_organization_client_grant(
        &self,
        organization_id: &str,
        grant_id: &str,
        now: Timestamp,
    ) -> Result<ClientGrantRecord, OrganizationError> {
        let (organization_id, grant_id) = (organization_id.to_owned(), grant_id.to_owned());
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let sql = format!(
                    "SELECT {} FROM client_grants WHERE id = $1{}",
                    ClientGrantRecord::COLUMNS,
                    conn.engine().for_key_share()
                );
                let Some(grant) = conn.find(&sql, args![&grant_id], ClientGrantRecord::from_row).await? else {
                    return Err(OrganizationError::GrantNotFound);
                };
                let inserted = conn
                    .execute(
                        "INSERT INTO organization_client_grants (organization_id, grant_id, created_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        args![&organization_id, &grant_id, &now],
                    )
                    .await?;
                if inserted == 0 {
                    return Err(OrganizationError::GrantAlreadyAdded);
                }
                let count = "SELECT COUNT(*) AS total FROM organization_client_grants WHERE organization_id = $1";
                // Refusing rolls back what this job wrote.
                if conn.count(count, args![&organization_id]).await? > MAX_CLIENT_GRANTS {
                    return Err(OrganizationError::TooManyGrants);
                }
                Ok(grant)
            }))
            .await
    }

    /// Ends the association (none is not an error).
    pub async fn remove_organization_client_grant(
        &self,
        organization_id: &str,
        grant_id: &str,
    ) -> Result<(), OrganizationError> {
        let (organization_id, grant_id) = (organization_id.to_owned(), grant_id.to_owned());
        self.db
            .write(job!(|conn| {
                require_organization(&mut conn, &organization_id, true).await?;
                let delete = "DELETE FROM organization_client_grants WHERE organization_id = $1 AND grant_id = $2";
                conn.execute(delete, args![&organization_id, &grant_id]).await?;
                Ok(())
            }))
            .await
    }
}

/// `GET /organizations/{id}/client-grants` filters.
#[derive(Debug, Clone, Default)]
pub struct OrganizationGrantFilter {
    pub audience: Option<String>,
    pub client_id: Option<String>,
    pub grant_ids: Vec<String>,
}
