//! Property test of the tenant-file promises, on SQLite (and PostgreSQL when
//! `ROSTER_TEST_POSTGRES_URL` names a server): for a sequence of generated files, mostly valid,
//! some not, each applied to the same store in turn,
//! - a file is either refused (and then nothing in the store changed) or applied without any
//!   write failing: no refusal comes after the first write;
//! - a file that was applied, planned again, has nothing left to write.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Map, Value, json};

use super::{apply, plan, yaml};
use crate::auth::token::Issuer;
use crate::domain::listing::Slice;
use crate::domain::listing::Window;
use crate::domain::organization::OrganizationSort;
use crate::search::Query;
use crate::search::UserSearch;
use crate::search::property_tests::stores;
use crate::store::Store;
use crate::store::tenant_admin::{ClientGrantFilter, ConnectionFilter};

const EVERYTHING: Window = Window { offset: 0, limit: 1000 };

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> + Clone {
    (0..items.len()).prop_map(move |i| items[i].clone())
}

/// An attribute: usually one of `valid`, sometimes absent (unless `required`), rarely one of
/// `invalid` (a bad value, or a name nothing has), so that most files apply and some do not.
fn attribute(
    key: &'static str,
    required: bool,
    valid: &'static [Value],
    invalid: &'static [Value],
) -> BoxedStrategy<Option<(String, Value)>> {
    let valid = pick(valid).prop_map(move |value| Some((key.to_owned(), value)));
    let invalid = pick(invalid).prop_map(move |value| Some((key.to_owned(), value)));
    let absent = if required { 0 } else { 4 };
    prop_oneof![16 => valid, absent => Just(None), 1 => invalid].boxed()
}

fn values(items: Vec<Value>) -> &'static [Value] {
    Box::leak(items.into_boxed_slice())
}

fn entry(attributes: Vec<BoxedStrategy<Option<(String, Value)>>>) -> BoxedStrategy<Value> {
    attributes
        .prop_map(|attributes| Value::Object(attributes.into_iter().flatten().collect::<Map<String, Value>>()))
        .boxed()
}

fn api() -> BoxedStrategy<Value> {
    entry(vec![
        attribute(
            "identifier",
            true,
            values(vec![json!("https://a.example.com"), json!("https://b.example.com")]),
            values(vec![json!(7)]),
        ),
        attribute(
            "scopes",
            false,
            values(vec![
                json!([{"value": "read"}]),
                json!([{"value": "read"}, {"value": "write", "description": "Write"}]),
                json!([]),
            ]),
            values(vec![json!([{"value": "read"}, {"value": "read"}])]),
        ),
        attribute("token_lifetime", false, values(vec![json!(3600), json!(7200)]), values(vec![json!("long")])),
    ])
}

fn client() -> BoxedStrategy<Value> {
    entry(vec![
        attribute("name", true, values(vec![json!("c1"), json!("c2")]), values(vec![json!(12)])),
        attribute("client_id", false, values(vec![json!("cid-1"), json!("cid-2")]), values(vec![json!("")])),
        attribute(
            "app_type",
            false,
            values(vec![json!("non_interactive"), json!("spa")]),
            values(vec![json!("desktop")]),
        ),
        attribute("client_secret", false, values(vec![json!("secret-0123456789abcdef")]), values(vec![json!(1)])),
    ])
}

fn grant() -> BoxedStrategy<Value> {
    entry(vec![
        attribute("client_id", true, values(vec![json!("c1"), json!("cid-2")]), values(vec![json!("nobody")])),
        attribute(
            "audience",
            true,
            values(vec![json!("https://a.example.com"), json!("https://roster.test/api/v2/")]),
            values(vec![json!("https://nowhere.example.com")]),
        ),
        attribute(
            "scope",
            false,
            values(vec![json!(["read"]), json!([]), json!(["read:users"])]),
            values(vec![json!("read")]),
        ),
    ])
}

fn connection() -> BoxedStrategy<Value> {
    entry(vec![
        attribute(
            "name",
            true,
            values(vec![json!("Username-Password-Authentication"), json!("partners")]),
            values(vec![json!("bad name")]),
        ),
        attribute("strategy", false, values(vec![json!("auth0")]), values(vec![json!("email")])),
        attribute(
            "options",
            false,
            values(vec![json!({"passwordPolicy": "fair"}), json!({"passwordPolicy": "low"})]),
            values(vec![json!({"passwordPolicy": 3})]),
        ),
        attribute("enabled_clients", false, values(vec![json!(["c1"]), json!([])]), values(vec![json!(["nobody"])])),
    ])
}

fn role() -> BoxedStrategy<Value> {
    entry(vec![
        attribute("name", true, values(vec![json!("r1"), json!("r2")]), values(vec![json!("")])),
        attribute("description", false, values(vec![json!("one"), json!("two")]), values(vec![json!(5)])),
        attribute(
            "permissions",
            false,
            values(vec![
                json!([{"permission_name": "read", "resource_server_identifier": "https://a.example.com"}]),
                json!([]),
            ]),
            values(vec![
                json!([{"permission_name": "read", "resource_server_identifier": "https://nowhere.example.com"}]),
            ]),
        ),
    ])
}

fn user() -> BoxedStrategy<Value> {
    entry(vec![
        attribute("user_id", false, values(vec![json!("u-1"), json!("u-2")]), values(vec![json!(3)])),
        attribute(
            "email",
            true,
            values(vec![json!("a@example.com"), json!("b@example.com")]),
            values(vec![json!("nope")]),
        ),
        attribute(
            "connection",
            false,
            values(vec![json!("Username-Password-Authentication"), json!("partners")]),
            values(vec![json!("ghost")]),
        ),
        attribute(
            "password",
            false,
            values(vec![json!("Passw0rd!-one"), json!("Passw0rd!-two")]),
            values(vec![json!("short")]),
        ),
        attribute("given_name", false, values(vec![json!("Ann"), json!("Bea")]), values(vec![json!(1)])),
        attribute(
            "app_metadata",
            false,
            values(vec![json!({"plan": "pro"}), json!({"plan": "free", "n": 1})]),
            values(vec![json!("x")]),
        ),
        attribute(
            "roles",
            false,
            values(vec![json!(["r1"]), json!([]), json!(["r1", "r2"])]),
            values(vec![json!(["ghost"])]),
        ),
    ])
}

fn organization() -> BoxedStrategy<Value> {
    entry(vec![
        attribute("name", true, values(vec![json!("o1"), json!("o2")]), values(vec![json!("Not Valid")])),
        attribute("display_name", false, values(vec![json!("One"), json!("Uno")]), values(vec![json!(1)])),
        attribute(
            "members",
            false,
            values(vec![
                json!([{"email": "a@example.com", "roles": ["r1"]}]),
                json!([{"email": "b@example.com"}]),
                json!([]),
            ]),
            values(vec![json!([{"user_id": "auth0|nobody"}])]),
        ),
        attribute(
            "connections",
            false,
            values(vec![
                json!([{"name": "Username-Password-Authentication", "assign_membership_on_login": false}]),
                json!([]),
            ]),
            values(vec![json!([{"name": "partners", "assign_membership_on_login": "maybe"}])]),
        ),
    ])
}

fn tenant_file() -> impl Strategy<Value = Value> {
    let section = |entries: BoxedStrategy<Value>| prop::option::of(prop::collection::vec(entries, 0..2));
    (
        section(api()),
        section(client()),
        section(grant()),
        section(connection()),
        section(role()),
        section(user()),
        section(organization()),
    )
        .prop_map(|(apis, clients, grants, connections, roles, users, organizations)| {
            let mut file = Map::new();
            for (key, entries) in [
                ("resourceServers", apis),
                ("clients", clients),
                ("clientGrants", grants),
                ("connections", connections),
                ("roles", roles),
                ("users", users),
                ("organizations", organizations),
            ] {
                if let Some(entries) = entries {
                    file.insert(key.to_owned(), Value::Array(entries));
                }
            }
            Value::Object(file)
        })
}

/// Everything a tenant file can change, as the store holds it.
async fn snapshot(store: &Store) -> Value {
    let mut roles = Vec::new();
    for role in store.roles(None, EVERYTHING).await.unwrap().items {
        let permissions = store.role_permissions(&role.id, EVERYTHING).await.unwrap().items;
        roles.push(json!([role.to_json(), permissions.iter().map(|p| p.to_json()).collect::<Vec<_>>()]));
    }
    let search = UserSearch {
        query: Query::All,
        sort: None,
        window: crate::search::Window::Page { offset: 0, limit: 1000 },
        with_total: false,
    };
    let mut users = Vec::new();
    for user in store.search_users(&search).await.unwrap().users {
        let roles = store.user_roles(&user.user_id, EVERYTHING).await.unwrap().items;
        let permissions = store.user_permissions(&user.user_id).await.unwrap();
        let hash = store.password_hash(&user.user_id).await.unwrap();
        users.push(json!([
            user.to_json(&crate::domain::user::Projection::all()),
            roles.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            permissions.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
            hash
        ]));
    }
    let mut organizations = Vec::new();
    let listed =
        store.organizations(OrganizationSort::default(), &Slice::Page { offset: 0, limit: 100 }).await.unwrap();
    for organization in listed.items {
        let members = store.members(&organization.id, &Slice::Page { offset: 0, limit: 100 }, true).await.unwrap();
        let members: Vec<Value> = members
            .map(|l| l.items)
            .unwrap_or_default()
            .iter()
            .map(|m| json!([m.user_id, m.roles.iter().map(|r| &r.id).collect::<Vec<_>>()]))
            .collect();
        let connections: Vec<Value> = store
            .organization_connections(&organization.id)
            .await
            .unwrap()
            .unwrap_or_default()
            .iter()
            .map(|c| c.to_json())
            .collect();
        organizations.push(json!([organization.to_json(), connections, members]));
    }
    json!({
        "servers": store.resource_servers(None, EVERYTHING).await.unwrap().items.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        "clients": store.list_clients().await.unwrap().iter().map(|c| c.to_json(crate::domain::client::ClientAccess::FULL)).collect::<Vec<_>>(),
        "grants": store.list_client_grants(&ClientGrantFilter::default()).await.unwrap().iter().map(|g| g.to_json()).collect::<Vec<_>>(),
        "connections": store.list_connections(&ConnectionFilter::default()).await.unwrap().iter().map(|c| c.to_json()).collect::<Vec<_>>(),
        "roles": roles,
        "users": users,
        "organizations": organizations,
    })
}

/// How the files of a run went: refused, and applied with how many writes.
#[derive(Default)]
struct Outcomes {
    refused: usize,
    applied: usize,
    writes: usize,
}

/// What the generated files name, so that most of their references resolve.
fn base_tenant() -> Value {
    json!({
        "resourceServers": [{"identifier": "https://a.example.com", "scopes": [{"value": "read"}, {"value": "write"}]}],
        "clients": [{"name": "c1", "client_id": "cid-1"}, {"name": "c2", "client_id": "cid-2"}],
        "connections": [{"name": "partners", "strategy": "auth0"}],
        "roles": [{"name": "r1"}, {"name": "r2"}],
    })
}

/// The `users` entries of a file, as `apply_file` streams them.
fn streamed(users: &[yaml::Document]) -> tokio::sync::mpsc::Receiver<yaml::Document> {
    let (entries, receiver) = tokio::sync::mpsc::channel(users.len().max(1));
    for entry in users {
        entries.try_send(entry.clone()).expect("room for every entry");
    }
    receiver
}

async fn check_files(store: &Store, files: &[Value], outcomes: &mut Outcomes) -> Result<(), String> {
    let issuer = Issuer::new("roster.test");
    crate::tenant::bootstrap(store, &Default::default(), &issuer).await.map_err(|e| e.to_string())?;
    let files: Vec<Value> = std::iter::once(base_tenant()).chain(files.iter().cloned()).collect();
    for (index, file) in files.iter().enumerate() {
        let text = serde_json::to_string_pretty(file).unwrap();
        let mut users = Vec::new();
        let (doc, problems) = yaml::read(text.as_bytes(), &|_| None, Some(&mut |entry| users.push(entry)))
            .map_err(|p| format!("file {index} is not YAML: {p:?}"))?;
        assert!(problems.is_empty(), "{problems:?}");
        let before = snapshot(store).await;
        let planned = plan::plan(store, &issuer, &doc, streamed(&users)).await;
        match planned.map_err(|e| format!("file {index}: planning failed: {e:#}"))? {
            Err(problems) => {
                if std::env::var("SEED_PROPERTY_DEBUG").is_ok() {
                    eprintln!("refused: {:?}", problems.iter().map(|p| &p.message).collect::<Vec<_>>());
                }
                outcomes.refused += 1;
                if snapshot(store).await != before {
                    return Err(format!("file {index} was refused but the store changed:\n{text}"));
                }
            }
            Ok(planned) => {
                outcomes.applied += 1;
                outcomes.writes += planned.writes();
                apply::apply(store, planned)
                    .await
                    .map_err(|e| format!("file {index}: a write failed after the plan accepted it: {e:#}\n{text}"))?;
                match plan::plan(store, &issuer, &doc, streamed(&users)).await.map_err(|e| e.to_string())? {
                    Ok(again) if again.writes() == 0 => {}
                    Ok(again) => {
                        let mut left: Vec<String> = again.steps.iter().map(|s| s.describe()).collect();
                        if let Some(new_users) = &again.new_users {
                            left.push(format!("{} new users", new_users.entries.len()));
                        }
                        return Err(format!("file {index} applied, then planned again still writes {left:?}:\n{text}"));
                    }
                    Err(problems) => {
                        return Err(format!("file {index} applied, then is refused: {problems:?}:\n{text}"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn applied_files_leave_nothing_to_write_and_refused_files_change_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let sequences = prop::collection::vec(tenant_file(), 1..4);
    let mut outcomes = Outcomes::default();
    for case in 0..60 {
        let files = sequences.new_tree(&mut runner).unwrap().current();
        runtime.block_on(async {
            for (name, store, _dir) in stores().await {
                if let Err(problem) = check_files(store.as_ref(), &files, &mut outcomes).await {
                    panic!("case {case} on {name}: {problem}");
                }
                store.close().await;
            }
        });
    }
    eprintln!("files refused: {}, applied: {} ({} writes)", outcomes.refused, outcomes.applied, outcomes.writes);
    // The generator must exercise both sides, or the properties hold vacuously.
    assert!(outcomes.refused >= 10 && outcomes.applied >= 10 && outcomes.writes >= 50, "too one-sided a sample");
}
