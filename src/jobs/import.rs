//! A users import: the file's records read as a stream (a JSON array, Auth0's format, or one
//! JSON object a line), each checked as `POST /users` checks a user; new users go into one
//! bulk load, users that exist are updated (upsert) or reported, bad records are reported and
//! written nowhere. The updates and the caller's last statements (a job's outcome) run inside
//! the load's transaction: all of it commits together, or none of it.
//!
//! Records are checked against the database as it was when the load began (on SQLite the load
//! holds the writer, so nothing changes under it). Should a concurrent write (another node, on
//! PostgreSQL) take a credential first, the load fails naming the user; that record is reported
//! as a duplicate and the import runs again from the start of the file.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use futures_util::FutureExt;
use serde::de::{SeqAccess, Visitor};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::domain::connection::Connection;
use crate::domain::import_user::{RecordError, failure, import_user, upsert};
use crate::domain::time;
use crate::seed::plan::fingerprint;
use crate::store::{Conn, ImportError, InLoad, NewUser, Store, StoreError, upsert_user_in};

/// Users handed to the bulk load at a time, and updates run at a time.
const BATCH: usize = 1000;
/// Runs after a concurrent write took a credential the load was writing.
const MAX_RUNS: usize = 5;

pub struct ImportSpec {
    pub connection: Connection,
    pub upsert: bool,
    /// The caller reads nothing through the store while the import runs (the CLI): into a
    /// database without users the load may have it alone (`Store::bulk_load_alone`).
    pub alone: bool,
}

/// What an import did, as Auth0's job summary counts it, and its failed records (file
/// position, `{user, errors}`).
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub inserted: u64,
    pub updated: u64,
    pub failed: u64,
    pub total: u64,
    pub errors: Vec<(i64, Value)>,
}

impl Report {
    pub fn summary(&self) -> Value {
        serde_json::json!({"failed": self.failed, "updated": self.updated, "inserted": self.inserted, "total": self.total})
    }
}

pub enum Ended {
    Done(Report),
    /// The file is not a JSON array of objects (nor NDJSON): nothing was written.
    BadFile(String),
}

/// Opens the file from its start (again, for a second run).
pub type Source<'a> = &'a (dyn Fn() -> anyhow::Result<Box<dyn Read + Send>> + Sync);
/// Statements run last, in the load's transaction, given the report.
pub(crate) type Last<'a> = &'a (dyn Fn(&Report) -> Option<InLoad> + Sync);

/// Imports a file on its own (the CLI): nothing else commits with it.
pub async fn import_file(
    store: &Arc<Store>,
    open: Source<'_>,
    spec: &ImportSpec,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Ended> {
    import(store, open, spec, progress, &|_| None).await
}

pub(crate) async fn import(
    store: &Arc<Store>,
    open: Source<'_>,
    spec: &ImportSpec,
    progress: &(dyn Fn(u64) + Sync),
    last: Last<'_>,
) -> anyhow::Result<Ended> {
    let mut conflicts = HashSet::new();
    for _ in 0..MAX_RUNS {
        match run(store, open()?, spec, progress, last, &conflicts).await? {
            Run::Ended(ended) => return Ok(ended),
            Run::Conflict(position) => {
                tracing::info!(position, "import: a concurrent write took a credential; running again without it");
                conflicts.insert(position);
            }
        }
    }
    anyhow::bail!("the import conflicted with concurrent writes {MAX_RUNS} times")
}

enum Run {
    Ended(Ended),
    Conflict(i64),
}

enum Parsed {
    Records(Vec<(i64, Value)>),
    Bad(String),
}

async fn run(
    store: &Arc<Store>,
    file: Box<dyn Read + Send>,
    spec: &ImportSpec,
    progress: &(dyn Fn(u64) + Sync),
    last: Last<'_>,
    conflicts: &HashSet<i64>,
) -> anyhow::Result<Run> {
    let had_users = store.has_users().await?;
    let (sender, mut records) = mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || read_records(file, &sender));
    let load = if spec.alone && !had_users { store.bulk_load_alone().await } else { store.bulk_load().await };
    let connection = &spec.connection;
    let now = time::now();
    let mut report = Report::default();
    // A 16-byte fingerprint of each credential seen (user id, email, username, phone number):
    // the one thing kept per user, so that a record repeating an earlier one's fails alone. The
    // database cannot tell: into an empty directory its unique indexes are built at the end.
    let mut seen: HashSet<u128> = HashSet::new();
    // The file positions of the records not in the load (failed or updated), in file order:
    // what maps a user's place in the load back to its record's.
    let mut skipped: Vec<i64> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut updates: Vec<Update> = Vec::new();
    let mut bad_file = None;
    while let Some(parsed) = records.recv().await {
        let chunk = match parsed {
            Parsed::Records(chunk) => chunk,
            Parsed::Bad(why) => {
                bad_file = Some(why);
                break;
            }
        };
        for (position, record) in chunk {
            report.total += 1;
            let mut fail = |errors: Vec<RecordError>, record: &Value| {
                skipped.push(position);
                report.failed += 1;
                report.errors.push((position, failure(record, &errors)));
            };
            let Value::Object(fields) = &record else {
                fail(vec![RecordError::new("INVALID_TYPE", "Expected type object", None)], &record);
                continue;
            };
            if conflicts.contains(&position) {
                fail(vec![RecordError::duplicate()], &record);
                continue;
            }
            let imported = match import_user(fields, connection, now) {
                Ok(imported) => imported,
                Err(errors) => {
                    fail(errors, &record);
                    continue;
                }
            };
            let user = &imported.user;
            let keys = user.credential_keys();
            let prints: Vec<u128> = [
                imported.named.then(|| format!("id/{}", user.user_id)),
                keys.email.map(|email| format!("email/{email}")),
                keys.username.map(|name| format!("username/{name}")),
                keys.phone_number.map(|phone| format!("phone/{phone}")),
            ]
            .into_iter()
            .flatten()
            .map(|key| fingerprint(&key))
            .collect();
            if prints.iter().any(|print| seen.contains(print)) {
                fail(vec![RecordError::new("DUPLICATED_USER", "The user appears twice in the file", None)], &record);
                continue;
            }
            seen.extend(prints);
            let existing = if !had_users {
                None
            } else if imported.named && store.user(&user.user_id).await?.is_some() {
                Some(user.user_id.clone())
            } else {
                store.credential_holder(&connection.name, keys).await?
            };
            match existing {
                Some(user_id) if spec.upsert => {
                    // Auth0's schema: `custom_password_hash` is upserted (while the user has not
                    // logged in with the one imported first); `password_hash` and `mfa_factors`
                    // are not.
                    let hash =
                        fields.contains_key("custom_password_hash").then(|| imported.password_hash.clone()).flatten();
                    updates.push(Update { user_id, fields: fields.clone(), hash });
                    skipped.push(position);
                    report.updated += 1;
                }
                Some(_) => fail(vec![RecordError::duplicate()], &record),
                None => {
                    let mut new = NewUser::without_roles(imported.user, imported.password_hash);
                    new.methods = imported.methods;
                    batch.push(new);
                    report.inserted += 1;
                }
            }
            if batch.len() >= BATCH {
                load.add(std::mem::take(&mut batch)).await;
            }
            if updates.len() >= BATCH {
                load.run(update_batch(std::mem::take(&mut updates), now)).await;
            }
        }
        progress(report.total);
    }
    drop(records);
    reader.await??;
    if let Some(why) = bad_file {
        load.abandon().await;
        return Ok(Run::Ended(Ended::BadFile(why)));
    }
    if !batch.is_empty() {
        load.add(batch).await;
    }
    if !updates.is_empty() {
        load.run(update_batch(updates, now)).await;
    }
    if let Some(statements) = last(&report) {
        load.run(statements).await;
    }
    match load.finish().await {
        Ok(_) => Ok(Run::Ended(Ended::Done(report))),
        Err(ImportError { at: Some(at), error: StoreError::Conflict(_) }) if (at as u64) < report.inserted => {
            Ok(Run::Conflict(position_in_file(at, &skipped)))
        }
        Err(error) => Err(anyhow::Error::from(error).context("the import's write failed")),
    }
}

/// The file position of the load's `at`th user, given the positions (ascending) of the records
/// that are not in the load.
fn position_in_file(at: usize, skipped: &[i64]) -> i64 {
    let mut position = at as i64;
    for &left_out in skipped {
        if left_out > position {
            break;
        }
        position += 1;
    }
    position
}

/// An upsert: the user's id, the record, the password hash it gives.
struct Update {
    user_id: String,
    fields: Map<String, Value>,
    hash: Option<String>,
}

/// Upserts, inside the load's transaction.
fn update_batch(updates: Vec<Update>, now: time::Timestamp) -> InLoad {
    Box::new(move |conn: &mut Conn<'_>| {
        async move {
            for Update { user_id, fields, hash } in updates {
                upsert_user_in(conn, &user_id, hash.as_deref(), |user| upsert(user, &fields, now)).await?;
            }
            Ok(())
        }
        .boxed()
    })
}

/// Reads the records on a blocking thread and sends them in batches with their positions;
/// a JSON array (Auth0's format) or, when the file starts otherwise, one object a line.
fn read_records(file: Box<dyn Read + Send>, sender: &mpsc::Sender<Parsed>) -> anyhow::Result<()> {
    let mut file = BufReader::with_capacity(1 << 20, file);
    let first = loop {
        let buffer = file.fill_buf()?;
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => break Some(buffer[at]),
            None if buffer.is_empty() => break None,
            None => {
                let n = buffer.len();
                file.consume(n);
            }
        }
    };
    let mut batcher = Batcher { sender, batch: Vec::with_capacity(BATCH), position: 0, stopped: false };
    let outcome = match first {
        None => Err("the users file is empty".to_owned()),
        Some(b'[') => {
            let mut deserializer = serde_json::Deserializer::from_reader(file);
            serde::Deserializer::deserialize_seq(&mut deserializer, &mut batcher)
                .and_then(|()| deserializer.end())
                .map_err(|e| format!("the users file is not a valid JSON array: {e}"))
        }
        Some(_) => {
            let mut result = Ok(());
            for value in serde_json::Deserializer::from_reader(file).into_iter::<Value>() {
                match value {
                    Ok(value) => batcher.push(value),
                    Err(e) => {
                        result = Err(format!("the users file is neither a JSON array nor JSON lines: {e}"));
                        break;
                    }
                }
                if batcher.stopped {
                    break;
                }
            }
            result
        }
    };
    batcher.flush();
    if let Err(why) = outcome
        && !batcher.stopped
    {
        let _ = sender.blocking_send(Parsed::Bad(why));
    }
    Ok(())
}

struct Batcher<'s> {
    sender: &'s mpsc::Sender<Parsed>,
    batch: Vec<(i64, Value)>,
    position: i64,
    /// The receiver is gone (the import stopped).
    stopped: bool,
}

impl Batcher<'_> {
    fn push(&mut self, value: Value) {
        self.batch.push((self.position, value));
        self.position += 1;
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() && !self.stopped {
            let batch = std::mem::take(&mut self.batch);
            self.stopped = self.sender.blocking_send(Parsed::Records(batch)).is_err();
        }
    }
}

impl<'de> Visitor<'de> for &mut Batcher<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.push(value);
            if self.stopped {
                // Read no further: the import stopped.
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_place_in_the_load_maps_back_to_its_record() {
        // Records 1, 3 and 4 were left out: the load holds records 0, 2, 5, 6.
        let skipped = [1, 3, 4];
        let positions: Vec<i64> = (0..4).map(|at| super::position_in_file(at, &skipped)).collect();
        assert_eq!(positions, [0, 2, 5, 6]);
        assert_eq!(super::position_in_file(3, &[]), 3);
    }
}
