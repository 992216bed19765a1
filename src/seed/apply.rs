//! Carries out a checked plan, step by step, through the same store calls the Management API
//! makes. Every step is an upsert or a set difference computed from the state the plan read,
//! so a run that is interrupted (a crash, a lost database) is completed by running it again.

use anyhow::{Context, anyhow};
use futures_util::{StreamExt, stream};

use super::plan::{Plan, Step};
use crate::domain::time;
use crate::store::Store;

/// What applying a file did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Lists of assignments (a role's permissions, a user's roles, members…) that changed.
    pub assignments: usize,
    /// Secrets generated for new clients the file gives none (name, client id, secret): shown
    /// once, as `roster serve` shows the management client's.
    pub generated_secrets: Vec<(String, String, String)>,
}

/// Writes between two progress lines.
const PROGRESS_EVERY: usize = 10_000;

/// Assignments written at once.
const IN_FLIGHT: usize = 64;

/// The kind of an assignment that may be written beside others of its kind.
fn concurrent_kind(step: &Step) -> Option<u8> {
    match step {
        Step::UserRoles { .. } => Some(0),
        Step::UserPermissions { .. } => Some(1),
        Step::MemberRoles { .. } => Some(2),
        Step::NewMembersRoles { .. } => Some(3),
        _ => None,
    }
}

pub async fn apply(store: &Store, plan: Plan) -> anyhow::Result<Applied> {
    let writes = plan.writes();
    let mut applied =
        Applied { unchanged: plan.unchanged, generated_secrets: plan.generated_secrets, ..Applied::default() };
    let now = time::now();
    if writes > PROGRESS_EVERY {
        tracing::info!("tenant file: {writes} writes to make");
    }
    // New users first, in their own transaction: the steps after may name them.
    if let Some(new_users) = plan.new_users {
        applied.created += new_users.roles_created;
        applied.assignments += new_users.with_roles;
        applied.created += new_users.load.finish().await.map_err(|refused| {
            match refused.at.and_then(|at| new_users.entries.get(at)) {
                Some((index, line)) => anyhow!("users[{index}] (line {line}): {}", refused.error),
                None => anyhow!("writing the new users: {refused}"),
            }
        })?;
        if writes > PROGRESS_EVERY {
            tracing::info!("tenant file: {} new users and roles committed", applied.created);
        }
    }
    let total = plan.steps.len();
    let mut steps = plan.steps.into_iter().peekable();
    let mut done = 0;
    while let Some(step) = steps.next() {
        // A run of one kind of assignment (each for another user or member) is written
        // concurrently: group commit makes one transaction, and one fsync, of many.
        let mut batch = vec![step];
        while let (Some(kind), Some(next)) = (concurrent_kind(&batch[0]), steps.peek())
            && concurrent_kind(next) == Some(kind)
            && batch.len() < IN_FLIGHT * 4
        {
            batch.extend(steps.next());
        }
        for step in &batch {
            match step {
                Step::CreateResourceServer(_)
                | Step::CreateClient(_)
                | Step::CreateGrant(_)
                | Step::CreateConnection(_)
                | Step::CreateRole(_)
                | Step::CreateOrganization { .. } => applied.created += 1,
                Step::NewMembersRoles { members, .. } => applied.assignments += members.len(),
                Step::RolePermissions { .. }
                | Step::UserRoles { .. }
                | Step::UserPermissions { .. }
                | Step::Members { .. }
                | Step::OrganizationConnections { .. }
                | Step::MemberRoles { .. } => applied.assignments += 1,
                _ => applied.updated += 1,
            }
            // What is written, by name: never the records, which hold secrets and password hashes.
            tracing::debug!(step = %step.describe(), "applying");
        }
        let before = done;
        done += batch.len();
        let mut writes = stream::iter(batch).map(|step| run(store, step, now)).buffer_unordered(IN_FLIGHT);
        while let Some(written) = writes.next().await {
            written?;
        }
        if done / PROGRESS_EVERY > before / PROGRESS_EVERY {
            tracing::info!("tenant file: {done} of {total} writes made");
        }
    }
    Ok(applied)
}

async fn run(store: &Store, step: Step, now: time::Timestamp) -> anyhow::Result<()> {
    match step {
        Step::CreateResourceServer(server) => store
            .create_resource_server(&server)
            .await
            .with_context(|| format!("creating the API {}", server.identifier))?,
        Step::UpdateResourceServer { id, patch } => {
            store.update_resource_server(&id, move |server| patch.apply(server)).await.context("updating an API")?;
        }
        Step::CreateClient(client) => {
            store.create_client(&client).await.with_context(|| format!("creating the client {}", client.name))?
        }
        Step::UpdateClient { client_id, patch } => {
            store.update_client(&client_id, move |client| patch.apply(client)).await.context("updating a client")?;
        }
        Step::CreateGrant(grant) => store.create_client_grant(&grant).await.context("creating a client grant")?,
        Step::UpdateGrant { id, body } => {
            store
                .update_client_grant(&id, move |grant| crate::domain::client_grant::apply_patch(&body, grant))
                .await
                .context("updating a client grant")?;
        }
        Step::CreateConnection(record) => store
            .create_connection(&record)
            .await
            .with_context(|| format!("creating the connection {}", record.connection.name))?,
        Step::UpdateConnection { id, patch } => {
            store.update_connection(&id, move |record| patch.apply(record)).await.context("updating a connection")?;
        }
        Step::CreateRole(role) => {
            store.create_role(&role, &now).await.with_context(|| format!("creating the role {}", role.name))?
        }
        Step::UpdateRole { id, patch } => {
            store.update_role(&id, &patch).await.context("updating a role")?;
        }
        Step::RolePermissions { role_id, add, remove } => {
            if !remove.is_empty() {
                store.remove_role_permissions(&role_id, &remove).await.context("removing a role's permissions")?;
            }
            if !add.is_empty() {
                store.add_role_permissions(&role_id, &add, &now).await.context("adding a role's permissions")?;
            }
        }
        Step::UpdateUser { user_id, patch, password_hash } => {
            store
                .update_user(&user_id, password_hash.clone().as_deref(), move |user| {
                    patch.apply(user, now);
                    if password_hash.is_some() {
                        user.last_password_reset = Some(now);
                    }
                })
                .await
                .map_err(|error| anyhow!("updating the user {user_id}: {error}"))?;
        }
        Step::UserRoles { user_id, add, remove } => {
            if !remove.is_empty() {
                store.remove_user_roles(&user_id, &remove).await.context("removing a user's roles")?;
            }
            if !add.is_empty() {
                store.assign_user_roles(&user_id, &add, &now).await.context("assigning a user's roles")?;
            }
        }
        Step::NewMembersRoles { organization_id, members } => store
            .assign_new_members_roles(&organization_id, members, now)
            .await
            .map_err(|error| anyhow!("assigning new members' roles: {error}"))?,
        Step::UserPermissions { user_id, add, remove } => {
            if !remove.is_empty() {
                store.remove_user_permissions(&user_id, &remove).await.context("removing a user's permissions")?;
            }
            if !add.is_empty() {
                store.add_user_permissions(&user_id, &add, &now).await.context("adding a user's permissions")?;
            }
        }
        Step::CreateOrganization { organization, connections } => {
            store
                .create_organization(&organization, &connections)
                .await
                .with_context(|| format!("creating the organization {}", organization.name))?;
        }
        Step::UpdateOrganization { id, patch } => {
            store
                .update_organization(&id, move |organization| patch.apply(organization))
                .await
                .context("updating an organization")?;
        }
        Step::OrganizationConnections { organization_id, connections } => {
            store
                .set_organization_connections(&organization_id, connections, now)
                .await
                .context("setting an organization's connections")?;
        }
        Step::Members { organization_id, add, remove } => {
            if !remove.is_empty() {
                store.remove_members(&organization_id, &remove).await.context("removing members")?;
            }
            if !add.is_empty() {
                store.add_members(&organization_id, &add, now).await.context("adding members")?;
            }
        }
        Step::MemberRoles { organization_id, user_id, add, remove } => {
            if !remove.is_empty() {
                store
                    .remove_member_roles(&organization_id, &user_id, &remove)
                    .await
                    .context("removing member roles")?;
            }
            if !add.is_empty() {
                store
                    .assign_member_roles(&organization_id, &user_id, &add, now)
                    .await
                    .context("assigning member roles")?;
            }
        }
    }
    Ok(())
}
