//! From a tenant file and the database as it is, the writes that make the tenant what the file
//! says, or every problem of the file (with its line). Nothing here writes.
//!
//! Each object is found by its natural key: connections, roles and organizations by name,
//! resource servers by identifier, clients by `client_id` when given (Roster's extension) else
//! by name, grants by client and audience, users by `user_id` when given else by email (or phone
//! number, or username) in their connection. Lists that relate objects (a role's permissions, a
//! user's roles and direct permissions, an organization's members and their roles) become
//! exactly what the file lists, when the file lists them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::Problem;
use super::yaml::Document;
use crate::auth::password;
use crate::auth::token::Issuer;
use crate::domain::client::{CREATE_CLIENT, ClientAccess, ClientPatch, ClientRecord, UPDATE_CLIENT, new_client};
use crate::domain::client_grant::{
    CREATE_CLIENT_GRANT, ClientGrantRecord, UPDATE_CLIENT_GRANT, apply_patch, new_grant,
};
use crate::domain::connection::{Connection, ConnectionKind, ConnectionRecord, DEFAULT_DATABASE};
use crate::domain::connection_admin::{CREATE_CONNECTION, ConnectionPatch, UPDATE_CONNECTION, new_connection};
use crate::domain::create_user::new_user;
use crate::domain::ids;
use crate::domain::listing::Slice;
use crate::domain::listing::Window;
use crate::domain::organization::{Organization, OrganizationPatch, new_organization};
use crate::domain::organization_connection::AddedConnection;
use crate::domain::rbac::{self, CREATE_ROLE, PermissionRef, PermissionSource, ROLE_PERMISSIONS, Role, RolePatch};
use crate::domain::resource_server::{
    CREATE_RESOURCE_SERVER, ResourceServer, ResourceServerPatch, UPDATE_RESOURCE_SERVER, new_resource_server,
};
use crate::domain::time::{self, Timestamp};
use crate::domain::update_user::UserPatch;
use crate::domain::user::{Projection, User, fold_case};
use crate::domain::user_schemas::{CREATE_USER, UPDATE_USER};
use crate::error::ApiError;
use crate::search::UserSearch;
use crate::search::query::{Column, Query, Scalar, Target, Test};
use crate::store::tenant_admin::ClientGrantFilter;
use crate::store::{BulkLoad, NewUser, Store};
use crate::tenant::MANAGEMENT_CLIENT_NAME;

/// The sections a file may have, in the order they are applied (each may name what the ones
/// before it create).
pub const SECTIONS: &[&str] =
    &["resourceServers", "clients", "clientGrants", "connections", "roles", "users", "organizations"];

const EVERYTHING: Window = Window { offset: 0, limit: i64::MAX as u64 };

/// One write, in the order it must happen (`NewMembersRoles`: the roles of many new members at
/// once).
/// Not `Debug`: its records hold secrets and password hashes; `describe` names it for logs.
pub enum Step {
    CreateResourceServer(ResourceServer),
    UpdateResourceServer { id: String, patch: ResourceServerPatch },
    CreateClient(ClientRecord),
    UpdateClient { client_id: String, patch: ClientPatch },
    CreateGrant(ClientGrantRecord),
    UpdateGrant { id: String, body: Map<String, Value> },
    CreateConnection(ConnectionRecord),
    UpdateConnection { id: String, patch: ConnectionPatch },
    CreateRole(Role),
    UpdateRole { id: String, patch: RolePatch },
    RolePermissions { role_id: String, add: Vec<PermissionRef>, remove: Vec<PermissionRef> },
    UpdateUser { user_id: String, patch: Box<UserPatch>, password_hash: Option<String> },
    UserRoles { user_id: String, add: Vec<String>, remove: Vec<String> },
    UserPermissions { user_id: String, add: Vec<PermissionRef>, remove: Vec<PermissionRef> },
    CreateOrganization { organization: Organization, connections: Vec<AddedConnection> },
    UpdateOrganization { id: String, patch: OrganizationPatch },
    OrganizationConnections { organization_id: String, connections: Vec<AddedConnection> },
    Members { organization_id: String, add: Vec<String>, remove: Vec<String> },
    MemberRoles { organization_id: String, user_id: String, add: Vec<String>, remove: Vec<String> },
    NewMembersRoles { organization_id: String, members: Vec<(String, Vec<String>)> },
}

impl Step {
    /// The write, named by what it writes to (no attribute values: records hold secrets).
    pub fn describe(&self) -> String {
        let counts = |add: usize, remove: usize| format!("+{add} -{remove}");
        match self {
            Self::CreateResourceServer(server) => format!("create API {}", server.identifier),
            Self::UpdateResourceServer { id, .. } => format!("update API {id}"),
            Self::CreateClient(client) => format!("create client {} ({})", client.name, client.client_id),
            Self::UpdateClient { client_id, .. } => format!("update client {client_id}"),
            Self::CreateGrant(grant) => format!("create grant {} -> {}", grant.client_id, grant.audience),
            Self::UpdateGrant { id, .. } => format!("update grant {id}"),
            Self::CreateConnection(record) => format!("create connection {}", record.connection.name),
            Self::UpdateConnection { id, .. } => format!("update connection {id}"),
            Self::CreateRole(role) => format!("create role {}", role.name),
            Self::UpdateRole { id, .. } => format!("update role {id}"),
            Self::RolePermissions { role_id, add, remove } => {
                format!("permissions of role {role_id}: {}", counts(add.len(), remove.len()))
            }
            Self::UpdateUser { user_id, .. } => format!("update user {user_id}"),
            Self::UserRoles { user_id, add, remove } => {
                format!("roles of user {user_id}: {}", counts(add.len(), remove.len()))
            }
            Self::UserPermissions { user_id, add, remove } => {
                format!("permissions of user {user_id}: {}", counts(add.len(), remove.len()))
            }
            Self::CreateOrganization { organization, .. } => format!("create organization {}", organization.name),
            Self::UpdateOrganization { id, .. } => format!("update organization {id}"),
            Self::OrganizationConnections { organization_id, connections } => {
                format!("connections of organization {organization_id}: {}", connections.len())
            }
            Self::Members { organization_id, add, remove } => {
                format!("members of organization {organization_id}: {}", counts(add.len(), remove.len()))
            }
            Self::NewMembersRoles { organization_id, members } => {
                format!("roles of {} new members of organization {organization_id}", members.len())
            }
            Self::MemberRoles { organization_id, user_id, add, remove } => format!(
                "roles of member {user_id} of organization {organization_id}: {}",
                counts(add.len(), remove.len())
            ),
        }
    }
}

/// New users a file creates go into one bulk load as they are checked, rather than one step
/// each: it commits first when the plan is carried out, and is rolled back when it is refused.
const NEW_USERS_BATCH: usize = 1000;

/// Users checked between two progress lines.
const PROGRESS_EVERY: usize = 100_000;

/// The new users of a plan: a bulk load under way, and the entry of each user in it (its
/// `users` index and line), to name the entry a refused load points at. The roles the file
/// creates go into the load too, before the users who may have them.
pub struct NewUsers {
    pub load: BulkLoad,
    pub entries: Vec<(u32, u32)>,
    pub roles_created: usize,
    /// New users given roles.
    pub with_roles: usize,
}

#[derive(Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub new_users: Option<NewUsers>,
    /// Objects the file names that are already as it says.
    pub unchanged: usize,
    /// Secrets generated for new clients the file gives none (name, client id, secret).
    pub generated_secrets: Vec<(String, String, String)>,
}

impl Plan {
    /// Rolls back what the plan wrote while it was made (its new users).
    pub async fn abandon(self) {
        if let Some(new_users) = self.new_users {
            new_users.load.abandon().await;
        }
    }

    /// How many writes carrying out the plan makes (each new user counts as one).
    pub fn writes(&self) -> usize {
        self.steps.len() + self.new_users.as_ref().map_or(0, |new| new.entries.len())
    }
}

/// The tenant as the steps planned so far leave it: what later entries may name.
#[derive(Default)]
struct Tenant {
    /// API identifier → its scopes.
    servers: HashMap<String, BTreeSet<String>>,
    clients: Vec<(String, String)>,
    connections: HashMap<String, Connection>,
    /// Role name → id.
    roles: HashMap<String, String>,
    /// Users the file creates or updates, by the (folded) emails organizations' members name
    /// them by: one email may be a user's in each connection.
    users: HashMap<String, BTreeSet<String>>,
    /// The ids of the stored users the file updates, and of those organizations' members name,
    /// with the entry that creates or updates them.
    user_ids: HashMap<String, String>,
    /// The emails (folded) and user ids organizations' members name: only those users are
    /// remembered, so that a file of a million users is checked in flat memory.
    member_emails: HashSet<String>,
    member_ids: HashSet<String>,
    /// Whether the database had users: if not, no entry can be one (nothing to look up).
    had_users: bool,
    /// The stored organizations the file's names name (`None`: none by that name), read before
    /// the users: a load into a database without users then reads nothing while it runs, which
    /// lets it have the database to itself (`Store::bulk_load`).
    organizations: HashMap<String, Option<Organization>>,
    /// Every client, read once.
    client_records: HashMap<String, ClientRecord>,
    /// Clients an entry already describes, with that entry.
    claimed_clients: HashMap<String, String>,
    /// Objects the file has that were refused (`api:<identifier>`, `client:<name or id>`,
    /// `connection:<name>`, `role:<name>`): a reference to one is not reported again.
    refused: HashSet<String>,
}

struct Planner<'a> {
    store: &'a Store,
    issuer: &'a Issuer,
    doc: &'a Document,
    /// The `users` entry being checked, a document of its own (the file streams them), and its
    /// index in the list.
    entry: Option<Document>,
    entry_index: u32,
    /// New users checked, not yet handed to the bulk load.
    pending: Vec<NewUser>,
    /// The entry (`users` index, line) of each new user, in load order.
    new_entries: Vec<(u32, u32)>,
    problems: Vec<Problem>,
    plan: Plan,
    tenant: Tenant,
    now: Timestamp,
}

/// The plan for `doc` and the `users` entries streamed from the same file, or every problem
/// found in them. New users are written into a bulk load as they are checked; the plan holds
/// it open (refused, it is rolled back here).
pub async fn plan(
    store: &Store,
    issuer: &Issuer,
    doc: &Document,
    users: mpsc::Receiver<Document>,
) -> anyhow::Result<Result<Plan, Vec<Problem>>> {
    let mut planner = Planner {
        store,
        issuer,
        doc,
        entry: None,
        entry_index: 0,
        pending: Vec::new(),
        new_entries: Vec::new(),
        problems: Vec::new(),
        plan: Plan::default(),
        tenant: Tenant::default(),
        now: time::now(),
    };
    let objects: usize = SECTIONS.iter().filter_map(|section| doc.value.get(*section)?.as_array().map(Vec::len)).sum();
    let objects = objects + doc.streamed;
    if objects > 1000 {
        tracing::info!("tenant file: checking {objects} objects against the database");
    }
    planner.load_tenant().await?;
    match &doc.value {
        Value::Object(sections) => {
            // `x-…` keys hold what anchors and aliases share (`x-defaults: &defaults {…}`), as in
            // Compose files; they are not applied.
            for key in sections.keys().filter(|key| !SECTIONS.contains(&key.as_str()) && !key.starts_with("x-")) {
                planner.problem(
                    key,
                    format!(
                        "unknown section {key:?}: a tenant file may have {} (and x-… keys for anchors)",
                        SECTIONS.join(", ")
                    ),
                );
            }
        }
        Value::Null => {}
        _ => planner.problem("", "a tenant file is a mapping of sections (resourceServers, clients, …)"),
    }
    planner.resource_servers().await?;
    planner.clients().await?;
    planner.client_grants().await?;
    planner.connections().await?;
    planner.roles().await?;
    planner.users(users).await?;
    planner.organizations().await?;
    if planner.problems.is_empty() {
        return Ok(Ok(planner.plan));
    }
    std::mem::take(&mut planner.plan).abandon().await;
    planner.problems.sort_by_key(|problem| problem.line);
    Ok(Err(planner.problems))
}

/// `base.key`, or `key` at the top.
fn join(base: &str, key: &str) -> String {
    if base.is_empty() { key.to_owned() } else { format!("{base}.{key}") }
}

fn text<'v>(entry: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    entry.get(key).and_then(Value::as_str)
}

/// The entry without Roster's extension keys, ready for the Management API's payload checks.
fn without(entry: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    entry.iter().filter(|(key, _)| !keys.contains(&key.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The entry's keys whose values differ from `current`.
fn changed(entry: &Map<String, Value>, current: &Map<String, Value>) -> Map<String, Value> {
    entry.iter().filter(|(key, value)| current.get(*key) != Some(value)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Planner<'_> {
    /// Plans the update `step` makes if it changes anything; else counts the object unchanged.
    fn update_if(&mut self, changes: bool, step: impl FnOnce() -> Step) {
        if changes {
            self.plan.steps.push(step());
        } else {
            self.plan.unchanged += 1;
        }
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        let doc = match &self.entry {
            Some(entry) if path.starts_with("users[") => entry,
            _ => self.doc,
        };
        self.problems.push(doc.problem(path, message));
    }

    /// A Management API refusal of an entry, each of its problems pointed at the property it
    /// names when it does (`… on property permissions[0].permission_name (…)`).
    fn refusal(&mut self, path: &str, error: ApiError) {
        self.refusal_renamed(path, error, None);
    }

    /// As `refusal`, for a payload whose property `(from, to)` the file calls otherwise.
    fn refusal_renamed(&mut self, path: &str, error: ApiError, rename: Option<(&str, &str)>) {
        for message in error.message.split(" (also) ") {
            let property = message
                .split_once("on property ")
                .map(|(_, rest)| rest.split([' ', '\'']).next().unwrap_or_default().trim_end_matches('.'))
                .filter(|property| !property.is_empty());
            let property = property.or_else(|| message.starts_with("PasswordStrengthError").then_some("password"));
            let property = property.map(|property| match rename {
                Some((from, to)) if property.starts_with(from) => format!("{to}{}", &property[from.len()..]),
                _ => property.to_owned(),
            });
            let at = property.map_or_else(|| path.to_owned(), |property| join(path, &property));
            self.problem(&at, message);
        }
    }

    /// The entries of a section: a list of mappings.
    fn entries(&mut self, section: &str) -> Vec<(String, Map<String, Value>)> {
        let Some(value) = self.doc.value.get(section) else { return Vec::new() };
        let Some(items) = value.as_array() else {
            if !value.is_null() {
                self.problem(section, format!("{section} must be a list"));
            }
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let path = format!("{section}[{index}]");
            match item.as_object() {
                Some(entry) => entries.push((path, entry.clone())),
                None => self.problem(&path, "each entry must be a mapping"),
            }
        }
        entries
    }

    /// A key that must be a non-empty string, once per section.
    fn key(
        &mut self,
        path: &str,
        entry: &Map<String, Value>,
        key: &str,
        seen: &mut BTreeSet<String>,
    ) -> Option<String> {
        match text(entry, key) {
            Some(value) if !value.is_empty() => {
                if !seen.insert(value.to_owned()) {
                    self.problem(&join(path, key), format!("{key} {value:?} appears twice in the file"));
                    return None;
                }
                Some(value.to_owned())
            }
            _ if entry.contains_key(key) => {
                self.problem(
                    &join(path, key),
                    format!("{key} must be a non-empty string (quote names that YAML reads as numbers)"),
                );
                None
            }
            _ => {
                self.problem(path, format!("missing {key} (a non-empty string)"));
                None
            }
        }
    }

    /// A list of strings at `entry.key`, if the key is there.
    fn names(&mut self, path: &str, entry: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
        let value = entry.get(key)?;
        let path = join(path, key);
        let Some(items) = value.as_array() else {
            self.problem(&path, format!("{key} must be a list"));
            return None;
        };
        let mut names = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(name) => names.push(name.to_owned()),
                None => self.problem(&format!("{path}[{index}]"), "must be a string"),
            }
        }
        Some(names)
    }

    async fn load_tenant(&mut self) -> anyhow::Result<()> {
        for server in self.store.resource_servers(None, EVERYTHING).await?.items {
            self.tenant.servers.insert(server.identifier.clone(), scope_values(&server));
        }
        for client in self.store.list_clients().await? {
            self.tenant.clients.push((client.client_id.clone(), client.name.clone()));
            self.tenant.client_records.insert(client.client_id.clone(), client);
        }
        for record in self.store.list_connections(&Default::default()).await? {
            self.tenant.connections.insert(record.connection.name.clone(), record.connection);
        }
        for role in self.store.roles(None, EVERYTHING).await?.items {
            self.tenant.roles.insert(role.name, role.id);
        }
        self.tenant.had_users = self.store.has_users().await?;
        let organizations = self.doc.value.get("organizations").and_then(Value::as_array).into_iter().flatten();
        for name in organizations.filter_map(|o| o.get("name")?.as_str()) {
            if !self.tenant.organizations.contains_key(name) {
                let stored = self.store.organization_by_name(name).await?;
                self.tenant.organizations.insert(name.to_owned(), stored);
            }
        }
        let members = self.doc.value.get("organizations").and_then(Value::as_array).into_iter().flatten();
        for member in members.filter_map(|o| o.get("members")?.as_array()).flatten() {
            if let Some(id) = member.get("user_id").and_then(Value::as_str) {
                self.tenant.member_ids.insert(id.to_owned());
            }
            if let Some(email) = member.get("email").and_then(Value::as_str) {
                self.tenant.member_emails.insert(fold_case(email));
            }
        }
        Ok(())
    }

    async fn resource_servers(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        for (path, entry) in self.entries("resourceServers") {
            let Some(identifier) = self.key(&path, &entry, "identifier", &mut seen) else { continue };
            if self.issuer.management_api(&identifier).is_some() {
                self.problem(&join(&path, "identifier"), "the Management API is built in; it cannot be seeded");
                continue;
            }
            let body = Value::Object(entry.clone());
            let server = match CREATE_RESOURCE_SERVER
                .validate_payload(&body)
                .and_then(|valid| new_resource_server(valid, ids::object_id(&self.now), self.now))
            {
                Ok(server) => server,
                Err(error) => {
                    self.refusal(&path, error);
                    self.tenant.refused.insert(format!("api:{identifier}"));
                    continue;
                }
            };
            let scopes = match self.store.resource_server(&identifier).await? {
                None => {
                    let scopes = scope_values(&server);
                    self.plan.steps.push(Step::CreateResourceServer(server));
                    scopes
                }
                Some(stored) => {
                    // Only what differs is a change (a PATCH refuses an empty body).
                    let update = changed(&without(&entry, &["identifier"]), &stored.to_json());
                    if update.is_empty() {
                        self.plan.unchanged += 1;
                        self.tenant.servers.insert(identifier, scope_values(&stored));
                        continue;
                    }
                    let update = Value::Object(update);
                    match UPDATE_RESOURCE_SERVER.validate_payload(&update).and_then(ResourceServerPatch::plan) {
                        Ok(patch) => {
                            let after = patched(&stored, |server| patch.apply(server));
                            self.update_if(after != stored, || Step::UpdateResourceServer { id: stored.id, patch });
                            scope_values(&after)
                        }
                        Err(error) => {
                            self.refusal(&path, error);
                            self.tenant.refused.insert(format!("api:{identifier}"));
                            continue;
                        }
                    }
                }
            };
            self.tenant.servers.insert(identifier, scopes);
        }
        Ok(())
    }

    /// The id of the client a file names (by id, else by name); a problem at `path` if none or
    /// several match.
    fn client_id(&mut self, path: &str, reference: &str) -> Option<String> {
        if self.tenant.clients.iter().any(|(id, _)| id == reference) {
            return Some(reference.to_owned());
        }
        let named: Vec<&String> =
            self.tenant.clients.iter().filter(|(_, name)| name == reference).map(|(id, _)| id).collect();
        match named.as_slice() {
            [id] => Some((*id).clone()),
            [] => {
                if !self.tenant.refused.contains(&format!("client:{reference}")) {
                    self.problem(
                        path,
                        format!("no client with the id or name {reference:?} in the file or the database"),
                    );
                }
                None
            }
            _ => {
                self.problem(path, format!("several clients are named {reference:?}: name it by client_id"));
                None
            }
        }
    }

    async fn clients(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        for (path, entry) in self.entries("clients") {
            let Some(name) = self.key(&path, &entry, "name", &mut seen) else { continue };
            let given_id = match entry.get("client_id") {
                None => None,
                Some(Value::String(id)) if !id.is_empty() && id.chars().all(|c| c.is_ascii_graphic()) => {
                    Some(id.clone())
                }
                Some(_) => {
                    self.problem(&join(&path, "client_id"), "client_id must be a non-empty string of printable ASCII");
                    continue;
                }
            };
            let body = without(&entry, &["client_id"]);
            let existing = match &given_id {
                Some(id) => self.tenant.client_records.get(id).cloned(),
                None => {
                    let mut named: Vec<ClientRecord> =
                        self.tenant.client_records.values().filter(|c| c.name == name).cloned().collect();
                    if named.len() > 1 {
                        self.problem(&path, format!("several clients are named {name:?}: give this one's client_id"));
                        continue;
                    }
                    named.pop()
                }
            };
            // Checked as a creation even when it exists: the file is valid whatever the database.
            let created = CREATE_CLIENT
                .validate_payload(&Value::Object(body.clone()))
                .and_then(|valid| new_client(valid, self.now));
            let mut client = match created {
                Ok(client) => client,
                Err(error) => {
                    self.refusal(&path, error);
                    self.tenant.refused.insert(format!("client:{name}"));
                    if let Some(id) = &given_id {
                        self.tenant.refused.insert(format!("client:{id}"));
                    }
                    continue;
                }
            };
            let planned_id = existing.as_ref().map(|stored| stored.client_id.clone()).or_else(|| given_id.clone());
            if let Some(id) = &planned_id
                && let Some(other) = self.tenant.claimed_clients.get(id)
            {
                self.problem(&path, format!("this is the client {other} describes already ({id})"));
                continue;
            }
            let client_id = match existing {
                None => {
                    if let Some(id) = given_id {
                        client.client_id = id;
                    }
                    if !body.contains_key("client_secret") {
                        self.plan.generated_secrets.push((
                            name.clone(),
                            client.client_id.clone(),
                            client.client_secret.clone(),
                        ));
                    }
                    let id = client.client_id.clone();
                    self.plan.steps.push(Step::CreateClient(client));
                    id
                }
                Some(stored) => {
                    // Only what differs is a change (a PATCH refuses some create-only keys).
                    let update = changed(&body, &stored.to_json(ClientAccess::FULL));
                    if update.is_empty() {
                        self.plan.unchanged += 1;
                    } else {
                        let patch = UPDATE_CLIENT.validate_payload(&Value::Object(update)).and_then(ClientPatch::plan);
                        match patch {
                            Ok(patch) => {
                                let after = patched(&stored, |client| patch.apply(client));
                                let client_id = stored.client_id.clone();
                                self.update_if(after != stored, || Step::UpdateClient { client_id, patch });
                            }
                            Err(error) => self.refusal(&path, error),
                        }
                    }
                    stored.client_id
                }
            };
            self.tenant.claimed_clients.insert(client_id.clone(), path.clone());
            self.tenant.clients.retain(|(id, _)| *id != client_id);
            self.tenant.clients.push((client_id, name));
        }
        Ok(())
    }

    async fn client_grants(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        let stored = self.store.list_client_grants(&ClientGrantFilter::default()).await?;
        for (path, entry) in self.entries("clientGrants") {
            let (Some(client), Some(audience)) = (text(&entry, "client_id"), text(&entry, "audience")) else {
                self.problem(&path, "a client grant needs client_id (a client's id or name) and audience");
                continue;
            };
            let Some(client_id) = self.client_id(&join(&path, "client_id"), client) else { continue };
            let audience = self.issuer.management_api(audience).unwrap_or(audience).to_owned();
            if !seen.insert((client_id.clone(), audience.clone())) {
                self.problem(&path, "this client and audience appear twice in the file");
                continue;
            }
            let scopes = self.tenant.servers.get(&audience).cloned();
            if self.issuer.management_api(&audience).is_none() && scopes.is_none() {
                if !self.tenant.refused.contains(&format!("api:{audience}")) {
                    self.problem(
                        &join(&path, "audience"),
                        format!("no API with the identifier {audience:?} in the file or the database"),
                    );
                }
                continue;
            }
            let mut body = entry.clone();
            body.insert("client_id".into(), Value::String(client_id.clone()));
            // Checked as a creation even when it exists: the file is valid whatever the database.
            let created = CREATE_CLIENT_GRANT
                .validate_payload(&Value::Object(body.clone()))
                .and_then(|valid| new_grant(valid, audience.clone()));
            let created = match created {
                Ok(created) => created,
                Err(error) => {
                    self.refusal(&path, error);
                    continue;
                }
            };
            match stored.iter().find(|g| g.client_id == client_id && g.audience == audience) {
                None => self.plan.steps.push(Step::CreateGrant(created)),
                Some(grant) => {
                    // Only what differs is a change (a PATCH refuses the create-only keys).
                    let update = changed(&without(&body, &["client_id", "audience"]), &grant.to_json());
                    if update.is_empty() {
                        self.plan.unchanged += 1;
                        continue;
                    }
                    match UPDATE_CLIENT_GRANT.validate_payload(&Value::Object(update)) {
                        Ok(valid) => {
                            let after = patched(grant, |grant| apply_patch(valid, grant));
                            self.update_if(after != *grant, || Step::UpdateGrant {
                                id: grant.id.clone(),
                                body: valid.clone(),
                            });
                        }
                        Err(error) => self.refusal(&path, error),
                    }
                }
            }
        }
        Ok(())
    }

    async fn connections(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        for (path, entry) in self.entries("connections") {
            let Some(name) = self.key(&path, &entry, "name", &mut seen) else { continue };
            let stored = match self.tenant.connections.get(&name) {
                Some(connection) => self.store.connection_by_id(&connection.id).await?,
                None => None,
            };
            let mut body = entry.clone();
            // The Deploy CLI names enabled clients by name.
            if let Some(clients) = self.names(&path, &entry, "enabled_clients") {
                let mut ids = Vec::new();
                for (index, client) in clients.iter().enumerate() {
                    ids.extend(self.client_id(&format!("{path}.enabled_clients[{index}]"), client));
                }
                // Every start enables Roster's management client on the connections it is
                // enabled on; a file that leaves it out keeps it, or each start and seed would
                // undo the other.
                let management = stored.iter().flat_map(|record| &record.connection.enabled_clients).filter(|id| {
                    self.tenant.clients.iter().any(|(client, name)| client == *id && name == MANAGEMENT_CLIENT_NAME)
                });
                for id in management.cloned().collect::<Vec<_>>() {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                body.insert("enabled_clients".into(), json!(ids));
            }
            if let Some(stored) = &stored
                && !body.contains_key("strategy")
            {
                body.insert("strategy".into(), Value::String(stored.connection.strategy.clone()));
            }
            // Checked as a creation even when it exists, so that an updated connection ends up
            // as a created one would (its options with the defaults a new connection gets).
            let created = CREATE_CONNECTION
                .validate_payload(&Value::Object(body.clone()))
                .and_then(|valid| new_connection(valid, ids::prefixed("con")));
            let created = match created {
                Ok(created) => created,
                Err(error) => {
                    self.refusal(&path, error);
                    self.tenant.refused.insert(format!("connection:{name}"));
                    continue;
                }
            };
            let record = match stored {
                None => {
                    self.plan.steps.push(Step::CreateConnection(created.clone()));
                    created
                }
                Some(stored) => {
                    if stored.connection.strategy != created.connection.strategy {
                        self.problem(
                            &join(&path, "strategy"),
                            format!(
                                "connection {name:?} exists with strategy {:?}; a strategy cannot change",
                                stored.connection.strategy
                            ),
                        );
                        continue;
                    }
                    let mut update = without(&body, &["name", "strategy"]);
                    if update.contains_key("options") {
                        update.insert("options".into(), Value::Object(created.connection.options.clone()));
                    }
                    // Only what differs is a change (a PATCH refuses an empty body).
                    let update = changed(&update, &stored.to_json());
                    if update.is_empty() {
                        self.plan.unchanged += 1;
                        self.tenant.connections.insert(name, stored.connection);
                        continue;
                    }
                    match UPDATE_CONNECTION.validate_payload(&Value::Object(update)).and_then(ConnectionPatch::plan) {
                        Ok(patch) => {
                            let after = patched(&stored, |record| patch.apply(record));
                            let id = stored.connection.id.clone();
                            self.update_if(after != stored, || Step::UpdateConnection { id, patch });
                            after
                        }
                        Err(error) => {
                            self.refusal(&path, error);
                            self.tenant.refused.insert(format!("connection:{name}"));
                            continue;
                        }
                    }
                }
            };
            self.tenant.connections.insert(name, record.connection);
        }
        Ok(())
    }

    /// Permissions as the file lists them: each must name a scope of an API in the file or the
    /// database.
    fn permissions(&mut self, path: &str, entry: &Map<String, Value>) -> Option<Vec<PermissionRef>> {
        let list = entry.get("permissions")?;
        let path = join(path, "permissions");
        if list.as_array().is_some_and(Vec::is_empty) {
            return Some(Vec::new());
        }
        let refs = match ROLE_PERMISSIONS.validate_payload(&json!({"permissions": list})) {
            Ok(valid) => rbac::permission_refs(valid),
            Err(error) => {
                self.refusal(path.strip_suffix(".permissions").unwrap_or(&path), error);
                return None;
            }
        };
        let mut known = Vec::new();
        for (index, permission) in refs.into_iter().enumerate() {
            let at = format!("{path}[{index}]");
            match self.tenant.servers.get(&permission.resource_server_identifier) {
                None if self.tenant.refused.contains(&format!("api:{}", permission.resource_server_identifier)) => {}
                None => self.problem(
                    &at,
                    format!(
                        "no API with the identifier {:?} in the file or the database",
                        permission.resource_server_identifier
                    ),
                ),
                Some(scopes) if !scopes.contains(&permission.permission_name) => self.problem(
                    &at,
                    format!(
                        "the API {:?} has no scope {:?}",
                        permission.resource_server_identifier, permission.permission_name
                    ),
                ),
                Some(_) => known.push(permission),
            }
        }
        Some(known)
    }

    /// The ids of the roles a file names.
    fn role_ids(&mut self, path: &str, entry: &Map<String, Value>) -> Option<Vec<String>> {
        let names = self.names(path, entry, "roles")?;
        let mut ids = Vec::new();
        for (index, name) in names.iter().enumerate() {
            match self.tenant.roles.get(name) {
                Some(id) => ids.push(id.clone()),
                None if self.tenant.refused.contains(&format!("role:{name}")) => {}
                None => self.problem(
                    &format!("{path}.roles[{index}]"),
                    format!("no role named {name:?} in the file or the database"),
                ),
            }
        }
        Some(ids)
    }

    async fn roles(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        for (path, entry) in self.entries("roles") {
            let Some(name) = self.key(&path, &entry, "name", &mut seen) else { continue };
            let body = Value::Object(without(&entry, &["permissions"]));
            let valid = match CREATE_ROLE.validate_payload(&body) {
                Ok(valid) => valid,
                Err(error) => {
                    self.refusal(&path, error);
                    self.tenant.refused.insert(format!("role:{name}"));
                    continue;
                }
            };
            let permissions = self.permissions(&path, &entry);
            let (role_id, current) = match self.tenant.roles.get(&name).cloned() {
                None => {
                    let role = rbac::new_role(valid, ids::prefixed("rol"));
                    let id = role.id.clone();
                    self.plan.steps.push(Step::CreateRole(role));
                    (id, Vec::new())
                }
                Some(id) => {
                    let stored = self.store.role(&id).await?;
                    let patch = rbac::role_patch(valid);
                    if let Some(stored) = stored {
                        let after = patched(&stored, |role| patch.apply(role));
                        self.update_if(after != stored, || Step::UpdateRole { id: id.clone(), patch });
                    }
                    let listed = self.store.role_permissions(&id, EVERYTHING).await.map_err(anyhow::Error::from)?;
                    let current = listed.items.iter().map(|p| p.reference()).collect();
                    (id, current)
                }
            };
            if let Some(wanted) = permissions {
                let (add, remove) = difference(&current, &wanted);
                if !add.is_empty() || !remove.is_empty() {
                    self.plan.steps.push(Step::RolePermissions { role_id: role_id.clone(), add, remove });
                }
            }
            self.tenant.roles.insert(name, role_id);
        }
        Ok(())
    }

    /// Checks the `users` entries as the file streams them in; new users go to a bulk load.
    async fn users(&mut self, mut entries: mpsc::Receiver<Document>) -> anyhow::Result<()> {
        if let Some(users) = self.doc.value.get("users")
            && !users.is_array()
            && !users.is_null()
        {
            self.problem("users", "users must be a list");
        }
        // Hashes of the credentials seen (128 bits: no two differ by chance), not the strings.
        let mut seen = HashSet::new();
        let mut index = 0;
        while let Some(mut entry) = entries.recv().await {
            let path = format!("users[{index}]");
            self.entry_index = index as u32;
            index += 1;
            let value = std::mem::take(&mut entry.value);
            self.entry = Some(entry);
            match value {
                Value::Object(fields) => self.user(&path, &fields, &mut seen).await?,
                _ => self.problem(&path, "each entry must be a mapping"),
            }
            if index % PROGRESS_EVERY == 0 {
                tracing::info!("tenant file: {index} users checked");
            }
        }
        self.entry = None;
        self.load_new_users().await;
        if let Some(new_users) = &mut self.plan.new_users {
            new_users.entries = std::mem::take(&mut self.new_entries);
        }
        Ok(())
    }

    /// Hands the new users checked so far to the bulk load (opened with the first), unless
    /// the file has problems: it will be refused, and writing more would be wasted.
    async fn load_new_users(&mut self) {
        if self.pending.is_empty() || !self.problems.is_empty() {
            self.pending.clear();
            return;
        }
        if self.plan.new_users.is_none() {
            // Into a database without users, the planner reads nothing more until the load
            // ends (the organizations were read before): the load may have the database alone.
            let load =
                if self.tenant.had_users { self.store.bulk_load().await } else { self.store.bulk_load_alone().await };
            // The roles are all planned by now (the section comes before users).
            let mut roles = Vec::new();
            for step in std::mem::take(&mut self.plan.steps) {
                match step {
                    Step::CreateRole(role) => roles.push(role),
                    other => self.plan.steps.push(other),
                }
            }
            let roles_created = roles.len();
            if roles_created > 0 {
                load.create_roles(roles, self.now).await;
            }
            self.plan.new_users = Some(NewUsers { load, entries: Vec::new(), roles_created, with_roles: 0 });
        }
        if let Some(new_users) = &mut self.plan.new_users {
            new_users.with_roles += self.pending.iter().filter(|new| !new.role_ids.is_empty()).count();
            // A refused batch makes the load fail: `finish` says at which user.
            new_users.load.add(std::mem::take(&mut self.pending)).await;
        }
    }

    /// A new user to create, with its roles: into the bulk load, with the entry that describes it.
    async fn create_user(&mut self, path: &str, user: User, password_hash: Option<String>, role_ids: Vec<String>) {
        let line = self.entry.as_ref().map_or(0, |entry| entry.line(path)) as u32;
        tracing::debug!(step = %format!("create user {}", user.user_id), "bulk load");
        self.pending.push(NewUser { user, password_hash, role_ids, methods: Vec::new() });
        self.new_entries.push((self.entry_index, line));
        if self.pending.len() >= NEW_USERS_BATCH {
            self.load_new_users().await;
        }
    }

    async fn user(&mut self, path: &str, entry: &Map<String, Value>, seen: &mut HashSet<u128>) -> anyhow::Result<()> {
        let mut body = without(entry, &["roles", "permissions", "password_hash"]);
        body.entry("connection").or_insert_with(|| Value::String(DEFAULT_DATABASE.to_owned()));
        let connection_name = text(&body, "connection").unwrap_or_default().to_owned();
        let Some(connection) = self.tenant.connections.get(&connection_name).cloned() else {
            if !self.tenant.refused.contains(&format!("connection:{connection_name}")) {
                self.problem(
                    &join(path, "connection"),
                    format!("no connection named {connection_name:?} in the file or the database"),
                );
            }
            return Ok(());
        };
        let password_hash = match entry.get("password_hash") {
            None => None,
            Some(_) if connection.kind() != ConnectionKind::Database => {
                self.problem(&join(path, "password_hash"), "only users of database connections have passwords");
                return Ok(());
            }
            Some(Value::String(hash)) if is_bcrypt(hash) => {
                if body.contains_key("password") {
                    self.problem(path, "give password or password_hash, not both");
                    return Ok(());
                }
                Some(hash.clone())
            }
            Some(_) => {
                self.problem(
                    &join(path, "password_hash"),
                    "password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)",
                );
                return Ok(());
            }
        };
        // A given hash stands for the password, and a user that exists may be described without
        // one: the payload checks see a placeholder that any password policy accepts, and it is
        // never stored (a new user without either is refused below).
        let mut checked = body.clone();
        let without_password = connection.kind() == ConnectionKind::Database && !body.contains_key("password");
        if without_password {
            checked.insert("password".into(), Value::String("Placeholder-for-a-given-hash-7Qz!".into()));
        }
        let permissions = self.permissions(path, entry);
        let mut roles = self.role_ids(path, entry);
        let new = match CREATE_USER
            .validate(&Value::Object(checked))
            .and_then(|valid| new_user(valid, &connection, self.now))
        {
            Ok(new) => new,
            Err(error) => {
                self.refusal(path, error);
                return Ok(());
            }
        };
        let keys: Vec<String> = [
            text(&body, "user_id").map(|_| new.user.user_id.clone()),
            new.user.email.clone().map(|email| format!("{connection_name}/email/{email}")),
            new.user.username.clone().map(|name| format!("{connection_name}/username/{name}")),
            new.user.phone_number.clone().map(|phone| format!("{connection_name}/phone/{phone}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let new_email = new.user.email.clone();
        let prints: Vec<u128> = keys.iter().map(|key| fingerprint(key)).collect();
        if let Some(key) = keys.iter().zip(&prints).find(|(_, print)| seen.contains(*print)).map(|(key, _)| key) {
            self.problem(
                path,
                format!("this user appears twice in the file ({})", key.rsplit('/').next().unwrap_or(key)),
            );
            return Ok(());
        }
        seen.extend(prints);

        // The stored users holding the entry's credentials; the first is the entry's user unless
        // the file names it by id.
        let holders = if self.tenant.had_users {
            self.credential_holders(&new.user, &connection_name).await?
        } else {
            Vec::new()
        };
        let stored = if text(&body, "user_id").is_some() && self.tenant.had_users {
            self.store.user(&new.user.user_id).await?
        } else {
            holders.first().map(|(_, holder)| holder.clone())
        };
        if let Some(stored) = &stored
            && stored.connection() != connection_name
        {
            self.problem(
                &join(path, "connection"),
                format!(
                    "user {} is in connection {:?}; a user cannot move to another",
                    stored.user_id,
                    stored.connection()
                ),
            );
            return Ok(());
        }
        // Entries are matched against the database as it was: two entries describing one stored
        // user would overwrite each other (the second, say, after the first changed its email).
        if let Some(stored) = &stored
            && let Some(other) = self.tenant.user_ids.get(&stored.user_id)
        {
            self.problem(
                path,
                format!(
                    "this is the user {other} describes already ({}): give each entry its own user",
                    stored.user_id
                ),
            );
            return Ok(());
        }
        let own_id = stored.as_ref().map(|user| user.user_id.clone());
        // Another holder of a credential would make the write a duplicate.
        for (credential, holder) in holders.iter().filter(|(_, holder)| Some(&holder.user_id) != own_id.as_ref()) {
            self.problem(
                &join(path, credential),
                format!("user {} of connection {connection_name:?} already has this {credential}", holder.user_id),
            );
        }
        let user_id = match stored {
            None if without_password && password_hash.is_none() => {
                self.problem(
                    &join(path, "password"),
                    "a new user of a database connection needs password or password_hash",
                );
                return Ok(());
            }
            None => {
                let hash = match (&new.password, &password_hash) {
                    // The placeholder never gets here: without a password there is a hash.
                    (_, Some(hash)) => Some(hash.clone()),
                    (Some(password), None) => Some(password::hash(password.clone()).await?),
                    (None, None) => None,
                };
                let user_id = new.user.user_id.clone();
                self.create_user(path, new.user, hash, roles.take().unwrap_or_default()).await;
                (user_id, Vec::new(), Vec::new())
            }
            Some(stored) => {
                self.plan_user_update(path, &body, &stored, &connection, password_hash).await?;
                let roles = self.store.user_roles(&stored.user_id, EVERYTHING).await.map_err(anyhow::Error::from)?;
                let current_roles = roles.items.into_iter().map(|r| r.id).collect();
                let current_permissions = self
                    .store
                    .user_permissions(&stored.user_id)
                    .await
                    .map_err(anyhow::Error::from)?
                    .into_iter()
                    .filter(|p| p.sources.contains(&PermissionSource::Direct))
                    .map(|p| p.permission.reference())
                    .collect();
                (stored.user_id, current_roles, current_permissions)
            }
        };
        let (user_id, current_roles, current_permissions) = user_id;
        let updated = own_id.is_some();
        // (A new user's roles went into the load with it.)
        if let Some(wanted) = roles {
            let (add, remove) = difference(&current_roles, &wanted);
            if !add.is_empty() || !remove.is_empty() {
                self.plan.steps.push(Step::UserRoles { user_id: user_id.clone(), add, remove });
            }
        }
        if let Some(wanted) = permissions {
            let (add, remove) = difference(&current_permissions, &wanted);
            if !add.is_empty() || !remove.is_empty() {
                self.plan.steps.push(Step::UserPermissions { user_id: user_id.clone(), add, remove });
            }
        }
        if let Some(email) = new_email.map(|email| fold_case(&email))
            && self.tenant.member_emails.contains(&email)
        {
            self.tenant.users.entry(email).or_default().insert(user_id.clone());
        }
        if updated || self.tenant.member_ids.contains(&user_id) {
            self.tenant.user_ids.insert(user_id, path.to_owned());
        }
        Ok(())
    }

    /// The stored users of `connection` holding one of `user`'s credentials (its email, phone
    /// number, username: unique in a connection), with the credential's name.
    async fn credential_holders(&self, user: &User, connection: &str) -> anyhow::Result<Vec<(&'static str, User)>> {
        let credentials = [
            ("email", Column::Email, user.email.as_deref().map(fold_case)),
            ("phone_number", Column::PhoneNumber, user.phone_number.clone()),
            ("username", Column::Username, user.username.clone()),
        ];
        let mut holders = Vec::new();
        for (name, column, value) in credentials {
            let Some(value) = value else { continue };
            let search = UserSearch {
                query: Query::Match(Target::Column(column), Test::Equals(Scalar::Text(value))),
                sort: None,
                window: crate::search::Window::Page { offset: 0, limit: 1000 },
                with_total: false,
            };
            let found = self.store.search_users(&search).await?.users;
            holders.extend(found.into_iter().filter(|stored| stored.connection() == connection).map(|u| (name, u)));
        }
        Ok(holders)
    }

    /// Updates a stored user to what the file says: the attributes that differ (as a PATCH
    /// would), and the password unless the stored hash already matches it.
    async fn plan_user_update(
        &mut self,
        path: &str,
        body: &Map<String, Value>,
        stored: &User,
        connection: &Connection,
        password_hash: Option<String>,
    ) -> anyhow::Result<()> {
        let current = stored.to_json(&Projection::all());
        let mut update = changed(&without(body, &["user_id", "connection", "password"]), &current);
        if let Some(email) = text(&update, "email")
            && stored.email.as_deref().map(fold_case) == Some(fold_case(email))
        {
            update.remove("email");
        }
        let stored_hash = self.store.password_hash(&stored.user_id).await?;
        let new_hash = match (text(body, "password"), password_hash) {
            (_, Some(hash)) => (stored_hash.as_deref() != Some(hash.as_str())).then_some(hash),
            (Some(password), None) => {
                let matches = match stored_hash {
                    Some(hash) => password::verify(password.to_owned(), hash).await.unwrap_or(false),
                    None => false,
                };
                if matches {
                    None
                } else {
                    // Checked against the policy as a PATCH would check it.
                    let body = json!({"password": password, "connection": connection.name});
                    if let Err(error) =
                        UPDATE_USER.validate(&body).and_then(|valid| UserPatch::plan(valid, stored, connection))
                    {
                        self.refusal(path, error);
                        return Ok(());
                    }
                    Some(password::hash(password.to_owned()).await?)
                }
            }
            (None, None) => None,
        };
        if !update.is_empty() {
            update.insert("connection".into(), Value::String(connection.name.clone()));
        }
        let patch = match UPDATE_USER
            .validate(&Value::Object(update.clone()))
            .and_then(|valid| UserPatch::plan(valid, stored, connection))
        {
            Ok(patch) => patch,
            Err(error) => {
                self.refusal(path, error);
                return Ok(());
            }
        };
        let after = patched(stored, |user| patch.apply(user, stored.updated_at));
        self.update_if(after != *stored || new_hash.is_some(), || Step::UpdateUser {
            user_id: stored.user_id.clone(),
            patch: Box::new(patch),
            password_hash: new_hash,
        });
        Ok(())
    }

    /// The id of a user an organization's member entry names: `user_id`, or `email` of a user
    /// in the file or the database.
    async fn member_id(&mut self, path: &str, member: &Value) -> anyhow::Result<Option<String>> {
        let (user_id, email) = match member {
            Value::Object(entry) => (text(entry, "user_id"), text(entry, "email")),
            _ => (None, None),
        };
        if let Some(user_id) = user_id {
            // Without stored users there is nothing to look up (and on PostgreSQL a bulk load into
            // the empty tables holds them locked until it commits).
            if self.tenant.user_ids.contains_key(user_id)
                || (self.tenant.had_users && self.store.user(user_id).await?.is_some())
            {
                return Ok(Some(user_id.to_owned()));
            }
            let hint = if user_id.contains('|') { "" } else { " (a user id names its provider: auth0|…)" };
            self.problem(&join(path, "user_id"), format!("no user {user_id:?} in the file or the database{hint}"));
            return Ok(None);
        }
        let Some(email) = email else {
            self.problem(path, "a member is {user_id: …} or {email: …}, with optional roles");
            return Ok(None);
        };
        let folded = fold_case(email);
        let in_file: BTreeSet<&String> = self.tenant.users.get(&folded).into_iter().flatten().collect();
        if in_file.len() == 1 {
            return Ok(in_file.into_iter().next().cloned());
        }
        let search = UserSearch {
            query: Query::Match(Target::Column(Column::Email), Test::Equals(Scalar::Text(folded.clone()))),
            sort: None,
            window: crate::search::Window::Page { offset: 0, limit: 2 },
            with_total: false,
        };
        let found = if self.tenant.had_users { self.store.search_users(&search).await?.users } else { Vec::new() };
        match (in_file.len(), found.as_slice()) {
            (0, [user]) => Ok(Some(user.user_id.clone())),
            (0, []) => {
                self.problem(
                    &join(path, "email"),
                    format!("no user with the email {email:?} in the file or the database"),
                );
                Ok(None)
            }
            _ => {
                self.problem(
                    &join(path, "email"),
                    format!("several users have the email {email:?}: name the member by user_id"),
                );
                Ok(None)
            }
        }
    }

    async fn organizations(&mut self) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        for (path, entry) in self.entries("organizations") {
            let Some(name) = self.key(&path, &entry, "name", &mut seen) else { continue };
            let mut body = without(&entry, &["connections", "members"]);
            let enabled = self.enabled_connections(&path, &entry);
            if let Some(enabled) = &enabled {
                body.insert("enabled_connections".into(), json!(enabled));
            }
            let members = self.members(&path, &entry).await?;
            // Checked as a creation even when it exists: the file is valid whatever the database.
            let (created, connections) = match new_organization(&Value::Object(body.clone()), self.now) {
                Ok(created) => created,
                Err(error) => {
                    self.refusal_renamed(&path, error, Some(("enabled_connections", "connections")));
                    continue;
                }
            };
            let stored = match self.tenant.organizations.get(&name) {
                Some(stored) => stored.clone(),
                None => self.store.organization_by_name(&name).await?,
            };
            let (organization_id, current_members) = match stored {
                None => {
                    let id = created.id.clone();
                    self.plan.steps.push(Step::CreateOrganization { organization: created, connections });
                    (id, Vec::new())
                }
                Some(stored) => {
                    // Only what differs is a change (a PATCH refuses an empty body).
                    let update = changed(&without(&body, &["enabled_connections"]), &stored.to_json());
                    let patch = if update.is_empty() {
                        Ok(OrganizationPatch::default())
                    } else {
                        OrganizationPatch::plan(&Value::Object(update))
                    };
                    match patch {
                        Ok(patch) => {
                            let after = patched(&stored, |organization| patch.apply(organization));
                            let id = stored.id.clone();
                            self.update_if(after != stored, || Step::UpdateOrganization { id, patch });
                        }
                        Err(error) => {
                            self.refusal(&path, error);
                            continue;
                        }
                    }
                    // The file's `connections` (when given) are the organization's whole list.
                    if enabled.is_some() {
                        let current = self.store.organization_connections(&stored.id).await?.unwrap_or_default();
                        let current: Vec<AddedConnection> = current
                            .into_iter()
                            .map(|c| AddedConnection { connection_id: c.connection_id, settings: c.settings })
                            .collect();
                        let same = current.len() == connections.len()
                            && connections.iter().all(|wanted| current.contains(wanted));
                        if !same {
                            let organization_id = stored.id.clone();
                            self.plan.steps.push(Step::OrganizationConnections { organization_id, connections });
                        }
                    }
                    let slice = Slice::Page { offset: 0, limit: i64::MAX as u64 };
                    // Members are users: none without stored users.
                    let listed =
                        if self.tenant.had_users { self.store.members(&stored.id, &slice, true).await? } else { None };
                    (stored.id, listed.map(|l| l.items).unwrap_or_default())
                }
            };
            let Some(members) = members else { continue };
            let current_ids: Vec<String> = current_members.iter().map(|m| m.user_id.clone()).collect();
            let wanted_ids: Vec<String> = members.iter().map(|(id, _)| id.clone()).collect();
            let (add, remove) = difference(&current_ids, &wanted_ids);
            if !add.is_empty() || !remove.is_empty() {
                self.plan.steps.push(Step::Members { organization_id: organization_id.clone(), add, remove });
            }
            let current_roles: HashMap<&str, Vec<String>> = current_members
                .iter()
                .map(|m| (m.user_id.as_str(), m.roles.iter().map(|r| r.id.clone()).collect()))
                .collect();
            let mut new_members_roles = Vec::new();
            for (user_id, roles) in members {
                // Without `roles`, the member's roles are left as they are.
                let Some(roles) = roles else { continue };
                let Some(current) = current_roles.get(user_id.as_str()) else {
                    if !roles.is_empty() {
                        new_members_roles.push((user_id, roles));
                    }
                    continue;
                };
                let (add, remove) = difference(current, &roles);
                if !add.is_empty() || !remove.is_empty() {
                    self.plan.steps.push(Step::MemberRoles {
                        organization_id: organization_id.clone(),
                        user_id,
                        add,
                        remove,
                    });
                }
            }
            for chunk in new_members_roles.chunks(NEW_USERS_BATCH) {
                let (organization_id, members) = (organization_id.clone(), chunk.to_vec());
                self.plan.steps.push(Step::NewMembersRoles { organization_id, members });
            }
        }
        Ok(())
    }

    /// The Deploy CLI's `connections: [{name, assign_membership_on_login}]` as the enabled
    /// connections an organization stores.
    fn enabled_connections(&mut self, path: &str, entry: &Map<String, Value>) -> Option<Vec<Map<String, Value>>> {
        let list = entry.get("connections")?;
        let path = join(path, "connections");
        let Some(items) = list.as_array() else {
            self.problem(&path, "connections must be a list of {name, assign_membership_on_login}");
            return None;
        };
        let mut enabled = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{path}[{index}]");
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                self.problem(&at, "an enabled connection needs the connection's name");
                continue;
            };
            let Some(connection) = self.tenant.connections.get(name) else {
                if !self.tenant.refused.contains(&format!("connection:{name}")) {
                    self.problem(
                        &join(&at, "name"),
                        format!("no connection named {name:?} in the file or the database"),
                    );
                }
                continue;
            };
            let mut stored = Map::new();
            stored.insert("connection_id".into(), Value::String(connection.id.clone()));
            for (key, value) in item.as_object().into_iter().flatten().filter(|(key, _)| *key != "name") {
                stored.insert(key.clone(), value.clone());
            }
            enabled.push(stored);
        }
        Some(enabled)
    }

    /// Roster's `members: [{user_id | email, roles: [role names]}]`, as user ids with role ids.
    async fn members(
        &mut self,
        path: &str,
        entry: &Map<String, Value>,
    ) -> anyhow::Result<Option<Vec<(String, Option<Vec<String>>)>>> {
        let Some(list) = entry.get("members") else { return Ok(None) };
        let path = join(path, "members");
        let Some(items) = list.as_array() else {
            self.problem(&path, "members must be a list of {user_id | email, roles}");
            return Ok(None);
        };
        let mut members: Vec<(String, Option<Vec<String>>)> = Vec::new();
        let mut seen = HashSet::new();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{path}[{index}]");
            if let Some(unknown) =
                item.as_object().and_then(|m| m.keys().find(|k| !["user_id", "email", "roles"].contains(&k.as_str())))
            {
                self.problem(
                    &join(&at, unknown),
                    format!("unknown key {unknown:?}: a member has user_id or email, and roles"),
                );
                continue;
            }
            let Some(user_id) = self.member_id(&at, item).await? else { continue };
            let roles = item.as_object().and_then(|entry| self.role_ids(&at, entry));
            if !seen.insert(user_id.clone()) {
                self.problem(&at, "this member appears twice");
                continue;
            }
            members.push((user_id, roles));
        }
        Ok(Some(members))
    }
}

/// A copy of `stored` with `change` made to it.
fn patched<T: Clone>(stored: &T, change: impl FnOnce(&mut T)) -> T {
    let mut copy = stored.clone();
    change(&mut copy);
    copy
}

/// What to add to `current` and remove from it to make it `wanted` (lists of an
/// organization's hundred thousand members included).
fn difference<T: Clone + Eq + Hash>(current: &[T], wanted: &[T]) -> (Vec<T>, Vec<T>) {
    let (current_set, wanted_set): (HashSet<&T>, HashSet<&T>) = (current.iter().collect(), wanted.iter().collect());
    let add = wanted.iter().filter(|item| !current_set.contains(item)).cloned().collect();
    let remove = current.iter().filter(|item| !wanted_set.contains(item)).cloned().collect();
    (add, remove)
}

fn scope_values(server: &ResourceServer) -> BTreeSet<String> {
    server.scopes.iter().flatten().map(|scope| scope.value.clone()).collect()
}

/// A 128-bit hash of `key`: two keys share one by chance with odds far below a disk error's.
/// Imports (jobs/import.rs) remember the credentials they have seen by it too.
pub(crate) fn fingerprint(key: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        (salt, key).hash(&mut hasher);
        hasher.finish() as u128
    };
    (half(0) << 64) | half(1)
}

fn is_bcrypt(hash: &str) -> bool {
    hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix))
}
