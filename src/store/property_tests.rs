//! Property test: generated writes sent all at once (creates that race for emails, metadata
//! increments that race on a user, deletes that race on a user) end as some serial order of
//! them would: one create per email wins and the others are refused, no increment is lost, one
//! delete per user deletes. On SQLite these writes meet in the group-commit writer's batches,
//! where a refused write must fail alone; on PostgreSQL in concurrent transactions.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use crate::domain::connection::Connection;
use crate::domain::create_user::new_user;
use crate::domain::time;
use crate::domain::user::User;
use crate::search::property_tests::stores;
use crate::store::{Conflict, NewUser, Store, StoreError};

/// Emails creates compete for, users increments compete on, users deletes compete on.
const EMAILS: usize = 3;
const COUNTERS: usize = 2;
const VICTIMS: usize = 2;

#[derive(Debug, Clone)]
enum Write {
    Create { email: usize },
    Increment { user: usize },
    Delete { user: usize },
}

#[derive(Debug)]
enum Outcome {
    Created(Result<(), StoreError>),
    Incremented(bool),
    Deleted(bool),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (0..EMAILS).prop_map(|email| Write::Create { email }),
        (0..COUNTERS).prop_map(|user| Write::Increment { user }),
        (0..VICTIMS).prop_map(|user| Write::Delete { user }),
    ]
}

/// A new passwordless user, as `POST /users` builds it (`email|<user_id>`).
fn user(user_id: &str, email: String) -> User {
    let body = json!({"connection": "email", "email": email, "user_id": user_id});
    let connection = Connection::passwordless("con_email".into(), "email");
    new_user(body.as_object().unwrap(), &connection, time::now()).unwrap().user
}

async fn run(store: Arc<Store>, writes: &[Write]) -> Vec<Outcome> {
    let tasks: Vec<_> = writes
        .iter()
        .enumerate()
        .map(|(i, write)| {
            let (store, write) = (store.clone(), write.clone());
            tokio::spawn(async move {
                match write {
                    Write::Create { email } => {
                        let user = user(&format!("c{i}"), format!("race{email}@example.com"));
                        Outcome::Created(store.create_user(&user, None).await)
                    }
                    Write::Increment { user } => {
                        let increment = |user: &mut User| {
                            let metadata = user.app_metadata.get_or_insert_default();
                            let n = metadata.get("n").and_then(|n| n.as_i64()).unwrap_or(0);
                            metadata.insert("n".into(), json!(n + 1));
                        };
                        let updated = store.update_user(&format!("email|counter{user}"), None, increment).await;
                        Outcome::Incremented(updated.expect("increment").is_some())
                    }
                    Write::Delete { user } => {
                        Outcome::Deleted(store.delete_user(&format!("email|victim{user}")).await.expect("delete"))
                    }
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("write task"));
    }
    outcomes
}

fn check(writes: &[Write]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    runtime.block_on(async {
        for (name, store, _dir) in stores().await {
            for i in 0..COUNTERS {
                let counter = user(&format!("counter{i}"), format!("counter{i}@example.com"));
                store.create_user(&counter, None).await.unwrap();
            }
            for i in 0..VICTIMS {
                store.create_user(&user(&format!("victim{i}"), format!("victim{i}@example.com")), None).await.unwrap();
            }
            let outcomes = run(store.clone(), writes).await;
            for email in 0..EMAILS {
                let attempts: Vec<&Outcome> = writes
                    .iter()
                    .zip(&outcomes)
                    .filter(|(w, _)| matches!(w, Write::Create { email: e } if *e == email))
                    .map(|(_, o)| o)
                    .collect();
                let won = attempts.iter().filter(|o| matches!(o, Outcome::Created(Ok(())))).count();
                let refused = attempts
                    .iter()
                    .filter(|o| matches!(o, Outcome::Created(Err(StoreError::Conflict(Conflict::Email)))))
                    .count();
                prop_assert_eq!((won, refused), (usize::from(!attempts.is_empty()), attempts.len().saturating_sub(1)));
            }
            for user in 0..COUNTERS {
                let done = writes
                    .iter()
                    .zip(&outcomes)
                    .filter(|(w, _)| matches!(w, Write::Increment { user: u } if *u == user))
                    .filter(|(_, o)| matches!(o, Outcome::Incremented(true)))
                    .count();
                let tried = writes.iter().filter(|w| matches!(w, Write::Increment { user: u } if *u == user)).count();
                let stored = store.user(&format!("email|counter{user}")).await.unwrap().expect("counter user");
                let n = stored.app_metadata.as_ref().and_then(|m| m.get("n")).and_then(|n| n.as_i64()).unwrap_or(0);
                prop_assert_eq!((done, n as usize), (tried, tried), "{}: increments of counter{}", name, user);
            }
            for user in 0..VICTIMS {
                let deleted: Vec<bool> = writes
                    .iter()
                    .zip(&outcomes)
                    .filter_map(|(w, o)| match (w, o) {
                        (Write::Delete { user: u }, Outcome::Deleted(d)) if *u == user => Some(*d),
                        _ => None,
                    })
                    .collect();
                if !deleted.is_empty() {
                    prop_assert_eq!(deleted.iter().filter(|d| **d).count(), 1, "{}: deletes of victim{}", name, user);
                    let gone = store.user(&format!("email|victim{user}")).await.unwrap().is_none();
                    prop_assert!(gone, "{}: victim{} is deleted", name, user);
                }
            }
            // Every create that was answered is there, and only those.
            for (i, (write, outcome)) in writes.iter().zip(&outcomes).enumerate() {
                if let (Write::Create { .. }, Outcome::Created(result)) = (write, outcome) {
                    let stored = store.user(&format!("email|c{i}")).await.unwrap();
                    prop_assert_eq!(stored.is_some(), result.is_ok(), "{}: create {}", name, i);
                }
            }
            store.close().await;
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_writes_end_as_a_serial_order_would(writes in prop::collection::vec(write(), 1..48)) {
        check(&writes)?;
    }
}

/// A bulk load into an empty directory (indexes deferred on SQLite) and into one with users:
/// a user that repeats another's email refuses the whole load, named by its position across
/// batches, and leaves nothing written; a good load is searchable at once; an abandoned or
/// dropped one leaves nothing.
#[test]
fn bulk_loads_are_all_or_nothing_and_name_the_user_at_fault() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for (name, store, _dir) in stores().await {
            let batch = |from: usize, to: usize| -> Vec<NewUser> {
                (from..to)
                    .map(|i| NewUser::without_roles(user(&format!("b{i}"), format!("bulk{i}@example.com")), None))
                    .collect()
            };
            for existing in [false, true] {
                let load = store.bulk_load().await;
                assert!(load.add(batch(0, 3)).await && load.add(batch(3, 6)).await);
                let mut faulty = batch(6, 9);
                faulty[1].user.email = Some(if existing { "kept@example.com" } else { "bulk2@example.com" }.into());
                load.add(faulty).await;
                let refused = load.finish().await.expect_err("a repeated email");
                assert_eq!(refused.at, Some(7), "{name}: {refused}");
                assert!(matches!(refused.error, StoreError::Conflict(Conflict::Email)), "{name}: {refused}");
                assert!(store.user("email|b0").await.unwrap().is_none(), "{name}: nothing of a refused load");
                // The rules hold again after the load, deferred indexes included.
                let kept = user("kept", "kept@example.com".into());
                if !existing {
                    store.create_user(&kept, None).await.unwrap();
                }
                let again = store.create_user(&user("again", "kept@example.com".into()), None).await;
                assert!(matches!(again, Err(StoreError::Conflict(Conflict::Email))), "{name}: {again:?}");
            }
            let load = store.bulk_load().await;
            load.add(batch(0, 2)).await;
            load.abandon().await;
            assert!(store.user("email|b0").await.unwrap().is_none(), "{name}: nothing of an abandoned load");
            // Dropped unfinished (its caller failed): rolled back, not committed.
            let load = store.bulk_load().await;
            load.add(batch(0, 2)).await;
            drop(load);
            store.create_user(&user("after", "after@example.com".into()), None).await.unwrap();
            assert!(store.user("email|b0").await.unwrap().is_none(), "{name}: nothing of a dropped load");

            let load = store.bulk_load().await;
            load.add(batch(0, 4)).await;
            assert_eq!(load.finish().await.unwrap(), 4);
            let query = crate::search::parse("email:*ulk3*").unwrap();
            let search = crate::search::UserSearch {
                query,
                sort: None,
                window: crate::search::Window::Page { offset: 0, limit: 10 },
                with_total: true,
            };
            let found = store.search_users(&search).await.unwrap();
            assert_eq!((found.total, found.users[0].user_id.as_str()), (Some(1), "email|b3"), "{name}");
            store.close().await;
        }
    });
}

/// Write jobs that each change thousands of pages of a directory that has users (an import's
/// batches through group commit, each in a savepoint whose journal holds every page it
/// changes) commit, and the next job sees them. Raising SQLite's in-memory journal threshold
/// once made the second such batch fail with SQLITE_FULL.
#[test]
fn large_write_jobs_into_a_directory_with_users_commit() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for (name, store, _dir) in stores().await {
            for round in 0..4 {
                let batch: Vec<NewUser> = (round * 3000..(round + 1) * 3000)
                    .map(|i| NewUser::without_roles(user(&format!("j{i}"), format!("job{i}@example.com")), None))
                    .collect();
                store.import_users(batch).await.unwrap_or_else(|e| panic!("{name}: round {round}: {e}"));
            }
            assert!(store.user("email|j11999").await.unwrap().is_some(), "{name}");
            store.close().await;
        }
    });
}

/// What a load into an empty directory dropped is back after it, foreign keys included: a loaded
/// user deleted takes its identity with it (`ON DELETE CASCADE`), so its email is free again.
#[test]
fn a_load_into_an_empty_directory_keeps_the_schema_rules() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for (name, store, _dir) in stores().await {
            let load = store.bulk_load().await;
            load.add(vec![NewUser::without_roles(user("f0", "fk0@example.com".into()), None)]).await;
            assert_eq!(load.finish().await.unwrap(), 1, "{name}");
            assert!(store.delete_user("email|f0").await.unwrap(), "{name}");
            store.create_user(&user("f1", "fk0@example.com".into()), None).await.unwrap();
            let again = store.create_user(&user("f2", "fk0@example.com".into()), None).await;
            assert!(matches!(again, Err(StoreError::Conflict(Conflict::Email))), "{name}: {again:?}");
            store.close().await;
        }
    });
}

/// On SQLite a load that may have the database alone is written through a rollback journal
/// when no other connection has it open: reads through the store are refused meanwhile, WAL mode
/// is back once it ends, and a refused one leaves nothing. With the database open elsewhere it
/// goes through the WAL as any load, reads going on.
#[test]
fn sqlite_loads_alone_take_the_database_only_when_no_one_else_has_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alone.db");
        let store = crate::store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let mode = || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0)).unwrap()
        };
        let batch = |from: usize, to: usize| -> Vec<NewUser> {
            (from..to)
                .map(|i| NewUser::without_roles(user(&format!("a{i}"), format!("alone{i}@example.com")), None))
                .collect()
        };
        // Three batches sent: the channel holds two, so the load has begun.
        let load = store.bulk_load_alone().await;
        assert!(load.add(batch(0, 3)).await && load.add(batch(3, 6)).await && load.add(batch(6, 9)).await);
        let read = store.user("email|a0").await;
        assert!(read.is_err_and(|e| e.to_string().contains("bulk loaded")), "reads wait for the load");
        let mut faulty = batch(9, 12);
        faulty[0].user.email = Some("alone1@example.com".into());
        load.add(faulty).await;
        assert_eq!(load.finish().await.expect_err("a repeated email").at, Some(9));
        assert!(store.user("email|a0").await.unwrap().is_none(), "nothing of a refused load");
        assert_eq!(mode(), "wal");

        let load = store.bulk_load_alone().await;
        assert!(load.add(batch(0, 3)).await && load.add(batch(3, 6)).await && load.add(batch(6, 9)).await);
        assert_eq!(load.finish().await.unwrap(), 9);
        assert!(store.user("email|a8").await.unwrap().is_some());
        assert_eq!(mode(), "wal");
        assert!(!dir.path().join("alone.db-journal").exists());

        // Another connection has the database open: the load goes through the WAL.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.query_row("SELECT COUNT(*) FROM users", [], |row| row.get::<_, i64>(0)).unwrap();
        let load = store.bulk_load_alone().await;
        assert!(load.add(batch(20, 23)).await && load.add(batch(23, 26)).await && load.add(batch(26, 29)).await);
        assert!(store.user("email|a0").await.unwrap().is_some(), "reads go on");
        assert_eq!(load.finish().await.unwrap(), 9);
        let users: i64 = other.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0)).unwrap();
        assert_eq!(users, 18);
        drop(other);
        store.close().await;
    });
}
