//! Jobs: users imports and exports and verification emails, queued as rows in the store and
//! run one at a time, oldest first, by a background runner (`spawn_runner`); the CLI's
//! `roster import` and `roster export` run the same code in the foreground.
//!
//! A job's writes and its outcome commit in one transaction (an import's users, updates and
//! errors; an export's outcome after its file), so a job interrupted by a crash has written
//! nothing it reports: the next runner runs it again from the start (`store::jobs`).

pub mod cli;
pub mod export;
pub mod import;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{Map, Value, json};

use crate::domain::ids;
use crate::domain::log_event::LogEvent;
use crate::domain::time::{self, Timestamp};
use crate::store::jobs::{JobRecord, Outcome, record_outcome};
use crate::store::{Conn, Store};

/// How long an export's file is served after the job ends (Auth0 keeps a finished job 24 h).
pub const EXPORT_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
/// How long any finished job is kept.
pub const JOB_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
/// Bytes of a job's file a chunk holds.
pub const CHUNK: usize = 1 << 20;
/// Users an export reads at a time.
const EXPORT_PAGE: i64 = 2000;

pub fn new_job_id() -> String {
    format!("job_{}", ids::random_alphanumeric(16))
}

/// A new job's row: `pending`, or `uploading` while its file comes in.
pub fn new_job(kind: &str, status: &str, document: Map<String, Value>) -> JobRecord {
    JobRecord {
        id: new_job_id(),
        kind: kind.to_owned(),
        status: status.to_owned(),
        attempts: 0,
        created_at: time::now(),
        expires_at: None,
        document,
    }
}

/// The job as Auth0 shows it; `base_url` is where this server is reached (for an export's
/// `location`).
pub fn render(job: &JobRecord, base_url: &str) -> Value {
    let doc = &job.document;
    let mut out = Map::new();
    out.insert("type".into(), Value::String(job.kind.clone()));
    out.insert("status".into(), Value::String(job.status.clone()));
    let keys: &[&str] = match job.kind.as_str() {
        "users_import" => &["connection_id", "external_id", "summary", "status_details", "connection"],
        "users_export" => &["connection_id", "format", "limit", "fields", "status_details", "connection"],
        _ => &["status_details"],
    };
    for key in keys {
        if let Some(value) = doc.get(*key) {
            out.insert((*key).to_owned(), value.clone());
        }
    }
    if job.kind == "users_export"
        && job.status == "completed"
        && let Some(token) = doc.get("file_token").and_then(Value::as_str)
    {
        let format = doc.get("format").and_then(Value::as_str).unwrap_or("json");
        out.insert(
            "location".into(),
            Value::String(format!("{base_url}/exports/{}/{token}/users.{format}.gz", job.id)),
        );
    }
    out.insert("created_at".into(), Value::String(time::format(&job.created_at)));
    out.insert("id".into(), Value::String(job.id.clone()));
    Value::Object(out)
}

/// Runs queued jobs, one at a time, until the task is aborted (an interrupted job runs again
/// at the next start).
pub fn spawn_runner(store: Arc<Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let runner = uuid::Uuid::new_v4().simple().to_string();
        let mut swept: Option<Timestamp> = None;
        loop {
            let now = time::now();
            if swept.is_none_or(|at| now - at > chrono::Duration::minutes(10)) {
                swept = Some(now);
                if let Err(error) = store.expire_jobs(now - chrono::Duration::hours(1)).await {
                    tracing::warn!(error = %format!("{error:#}"), "jobs: expiry failed");
                }
            }
            match store.claim_job(&runner).await {
                Ok(Some(job)) => {
                    let id = job.id.clone();
                    tracing::info!(job = %id, kind = %job.kind, attempt = job.attempts, "job started");
                    let heartbeat = tokio::spawn(heartbeat(store.clone(), id.clone()));
                    let result = run(&store, job).await;
                    heartbeat.abort();
                    match result {
                        Ok(()) => tracing::info!(job = %id, "job finished"),
                        Err(error) => {
                            tracing::error!(job = %id, error = %format!("{error:#}"), "job failed");
                            let failed =
                                failed_outcome(&store, &id, "the job failed on the server (see its log)").await;
                            if let Err(error) = failed {
                                tracing::error!(job = %id, error = %format!("{error:#}"), "job outcome not recorded");
                            }
                        }
                    }
                }
                Ok(None) => {
                    let _ = tokio::time::timeout(Duration::from_millis(500), store.jobs_queued()).await;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "jobs: claiming failed");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    })
}

/// Keeps a PostgreSQL job's heartbeat fresh (on SQLite the job's own write holds the writer;
/// a runner there is never taken for gone while its process lives).
async fn heartbeat(store: Arc<Store>, id: String) {
    if store.is_sqlite() {
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = store.job_heartbeat(&id).await;
    }
}

async fn failed_outcome(store: &Store, id: &str, why: &str) -> anyhow::Result<()> {
    let Some(job) = store.job(id).await? else { return Ok(()) };
    let mut document = job.document;
    document.insert("status_details".into(), Value::String(why.to_owned()));
    let expires_at = Some(time::now() + JOB_LIFETIME);
    store.finish_job(id, Outcome { status: "failed", document, errors: Vec::new(), expires_at }).await?;
    store.delete_job_file(id).await
}

async fn run(store: &Arc<Store>, job: JobRecord) -> anyhow::Result<()> {
    match job.kind.as_str() {
        "users_import" => run_import(store, job).await,
        "users_export" => run_export(store, job).await,
        "verification_email" => {
            let user_id = job.document.get("user_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            let user = store.user(&user_id).await?;
            let expires_at = Some(time::now() + JOB_LIFETIME);
            // Auth0 fails the job of a user whose email is verified already (recorded: no
            // details given); otherwise the request is recorded, as no mail leaves Roster.
            let status = if user.as_ref().is_none_or(|user| user.email_verified == Some(true)) {
                "failed"
            } else {
                let mut event = LogEvent::new("svr");
                event.description = Some("Verification email requested (Roster sends no mail)".into());
                event.user_id = Some(user_id);
                event.client_id = job.document.get("client_id").and_then(Value::as_str).map(str::to_owned);
                store.log(event);
                "completed"
            };
            store.finish_job(&job.id, Outcome { status, document: job.document, errors: Vec::new(), expires_at }).await
        }
        other => anyhow::bail!("unknown job type {other}"),
    }
}

/// Reads a job's uploaded file, chunk after chunk, on a blocking thread.
struct StoredFile {
    store: Arc<Store>,
    id: String,
    part: i64,
    buffer: std::io::Cursor<Vec<u8>>,
    runtime: tokio::runtime::Handle,
}

impl Read for StoredFile {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.buffer.read(out)?;
            if n > 0 || out.is_empty() {
                return Ok(n);
            }
            let next =
                self.runtime.block_on(self.store.job_file_part(&self.id, self.part)).map_err(std::io::Error::other)?;
            match next {
                Some(data) => {
                    self.part += 1;
                    self.buffer = std::io::Cursor::new(data);
                }
                None => return Ok(0),
            }
        }
    }
}

async fn run_import(store: &Arc<Store>, job: JobRecord) -> anyhow::Result<()> {
    let connection_name = job.document.get("connection").and_then(Value::as_str).unwrap_or_default();
    let Some(connection) = store.connection_by_name(connection_name).await? else {
        return failed_outcome(store, &job.id, "the connection was deleted before the job ran").await;
    };
    let spec = import::ImportSpec {
        connection,
        upsert: job.document.get("upsert").and_then(Value::as_bool).unwrap_or(false),
        alone: false,
    };
    let runtime = tokio::runtime::Handle::current();
    let open = || -> anyhow::Result<Box<dyn Read + Send>> {
        let buffer = std::io::Cursor::new(Vec::new());
        Ok(Box::new(StoredFile { store: store.clone(), id: job.id.clone(), part: 0, buffer, runtime: runtime.clone() }))
    };
    let last = |report: &import::Report| -> Option<crate::store::InLoad> {
        let mut document = job.document.clone();
        document.insert("summary".into(), report.summary());
        let outcome = Outcome {
            status: "completed",
            document,
            errors: report.errors.clone(),
            expires_at: Some(time::now() + JOB_LIFETIME),
        };
        let id = job.id.clone();
        Some(Box::new(move |conn: &mut Conn<'_>| {
            async move {
                record_outcome(conn, &id, &outcome).await?;
                // The upload is read: it goes with the import's commit.
                crate::store::jobs::delete_job_file_in(conn, &id).await?;
                Ok(())
            }
            .boxed()
        }))
    };
    match import::import(store, &open, &spec, &|_| {}, &last).await? {
        import::Ended::Done(report) => {
            tracing::info!(job = %job.id, inserted = report.inserted, updated = report.updated, failed = report.failed, "import done");
            Ok(())
        }
        import::Ended::BadFile(why) => failed_outcome(store, &job.id, &why).await,
    }
}

/// The exporter a job's document asks for.
pub fn exporter_of(document: &Map<String, Value>) -> export::Exporter {
    let format = match document.get("format").and_then(Value::as_str) {
        Some("csv") => export::Format::Csv,
        _ => export::Format::Json,
    };
    let fields = document
        .get("fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|field| {
                    Some(export::Field {
                        name: field.get("name")?.as_str()?.to_owned(),
                        export_as: field.get("export_as").and_then(Value::as_str).map(str::to_owned),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    export::Exporter::new(format, fields)
}

/// Writes every user of `connection` (all when `None`), up to `limit`, through `exporter` to
/// `sink`, a page at a time; the users written.
pub async fn export_users(
    store: &Store,
    exporter: &export::Exporter,
    connection: Option<&str>,
    limit: Option<u64>,
    sink: &mut (dyn FnMut(&[u8]) -> std::io::Result<()> + Send),
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    if let Some(header) = exporter.header() {
        sink(header.as_bytes())?;
    }
    let (mut after, mut written) = (0i64, 0u64);
    let mut text = Vec::new();
    loop {
        let page = match limit {
            Some(limit) => EXPORT_PAGE.min((limit - written) as i64),
            None => EXPORT_PAGE,
        };
        if page == 0 {
            break;
        }
        let (users, last) = store.users_after(connection, after, page).await?;
        let Some(last) = last else { break };
        after = last;
        text.clear();
        for user in &users {
            exporter.write_line(user, &mut text);
        }
        sink(&text)?;
        written += users.len() as u64;
        progress(written);
    }
    Ok(written)
}

async fn run_export(store: &Arc<Store>, job: JobRecord) -> anyhow::Result<()> {
    // What an interrupted run wrote of the file.
    store.delete_job_file(&job.id).await?;
    let exporter = exporter_of(&job.document);
    let connection = job.document.get("connection").and_then(Value::as_str).map(str::to_owned);
    let limit = job.document.get("limit").and_then(Value::as_u64);
    // Parts are stored as they fill, by a task of their own, in order.
    let (parts, mut filled) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn({
        let (store, id) = (store.clone(), job.id.clone());
        async move {
            let mut part = 0i64;
            while let Some(data) = filled.recv().await {
                store.put_job_file_part(&id, part, data).await?;
                part += 1;
            }
            anyhow::Ok(())
        }
    });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let written = {
        let mut sink = |bytes: &[u8]| -> std::io::Result<()> {
            use std::io::Write;
            gzip.write_all(bytes)?;
            if gzip.get_ref().len() >= CHUNK {
                let _ = parts.send(std::mem::take(gzip.get_mut()));
            }
            Ok(())
        };
        export_users(store, &exporter, connection.as_deref(), limit, &mut sink, &|_| {}).await?
    };
    let _ = parts.send(gzip.finish()?);
    drop(parts);
    writer.await??;
    let mut document = job.document;
    document.insert("file_token".into(), Value::String(ids::random_alphanumeric(32)));
    document.insert("exported".into(), json!(written));
    let expires_at = Some(time::now() + EXPORT_LIFETIME);
    store.finish_job(&job.id, Outcome { status: "completed", document, errors: Vec::new(), expires_at }).await
}
