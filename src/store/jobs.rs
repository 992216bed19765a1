//! Jobs (`/jobs/...`): a row each, queued by `seq`, one running at a time; their files (an
//! import's upload, an export's output) as chunks in `job_files`, their failed records in
//! `job_errors`.
//!
//! A runner claims the oldest pending job and marks it `processing` with its own id and a
//! heartbeat. A `processing` job another runner left behind (a crash, a kill) is interrupted:
//! on SQLite (one server per database) whenever its runner is not this process, on PostgreSQL
//! when its heartbeat is older than `STALE_AFTER`. An interrupted job runs again from the
//! start, which is sound because a job's writes and its outcome commit together; after
//! `MAX_ATTEMPTS` it is failed instead.

use serde_json::{Map, Value};

use super::db::{Conn, Engine, Row, Value as Bound, args, insert_rows, job};
use super::{Store, StoreError};
use crate::domain::time::{self, Timestamp};

/// Runs of a job before an interruption fails it rather than running it again.
pub const MAX_ATTEMPTS: i64 = 3;
/// A PostgreSQL runner's heartbeat older than this means it is gone.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(30);

#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// What Auth0 shows of the job, and its options.
    pub document: Map<String, Value>,
}

const JOB_COLUMNS: &str = "id, type, status, attempts, created_at, expires_at, document";

fn job_from_row(row: &Row) -> anyhow::Result<JobRecord> {
    Ok(JobRecord {
        id: row.get("id")?,
        kind: row.get("type")?,
        status: row.get("status")?,
        attempts: row.get("attempts")?,
        created_at: row.time("created_at")?,
        expires_at: row.opt_time("expires_at")?,
        document: row.json("document")?,
    })
}

/// A job's last writes, in the transaction of its other writes: its status and document, and
/// its failed records (position, `{user, errors}`).
pub struct Outcome {
    pub status: &'static str,
    pub document: Map<String, Value>,
    pub errors: Vec<(i64, Value)>,
    pub expires_at: Option<Timestamp>,
}

/// Writes `outcome` for job `id` on `conn` (inside the caller's transaction).
pub(crate) async fn record_outcome(conn: &mut Conn<'_>, id: &str, outcome: &Outcome) -> Result<(), StoreError> {
    conn.execute("DELETE FROM job_errors WHERE job_id = $1", args![id]).await?;
    let rows: Vec<Bound> = outcome
        .errors
        .iter()
        .flat_map(|(position, error)| [Bound::from(id), Bound::from(*position), Bound::json(error)])
        .collect();
    insert_rows(conn, "job_errors (job_id, position, document)", 3, &rows, "").await?;
    conn.execute(
        "UPDATE jobs SET status = $1, document = $2, expires_at = $3, runner = NULL WHERE id = $4",
        args![outcome.status, Bound::json(&outcome.document), &outcome.expires_at, id],
    )
    .await?;
    Ok(())
}

/// Drops a job's file inside the caller's transaction.
pub(crate) async fn delete_job_file_in(conn: &mut Conn<'_>, id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM job_files WHERE job_id = $1", args![id]).await?;
    Ok(())
}

impl Store {
    /// Wakes the job runner: a job was queued.
    pub fn job_queued(&self) {
        self.jobs_queued.notify_one();
    }

    /// Resolves when a job is queued (`job_queued`).
    pub async fn jobs_queued(&self) {
        self.jobs_queued.notified().await
    }

    pub fn is_sqlite(&self) -> bool {
        self.db.engine() == Engine::Sqlite
    }

    /// Stores a new job; `status` is `pending`, or `uploading` while its file comes in.
    pub async fn create_job(&self, job: &JobRecord) -> anyhow::Result<()> {
        let job = job.clone();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO jobs (id, type, status, created_at, expires_at, document) VALUES ($1, $2, $3, $4, $5, $6)",
                    args![&job.id, &job.kind, &job.status, &job.created_at, &job.expires_at, Bound::json(&job.document)],
                )
                .await?;
                Ok(())
            }))
            .await
    }

    /// Appends the `part`th chunk of a job's file.
    pub async fn put_job_file_part(&self, id: &str, part: i64, data: Vec<u8>) -> anyhow::Result<()> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.execute(
                    "INSERT INTO job_files (job_id, part, data) VALUES ($1, $2, $3)",
                    args![&id, part, data.as_slice()],
                )
                .await?;
                Ok(())
            }))
            .await
    }

    /// The `part`th chunk of a job's file, if there is one.
    pub async fn job_file_part(&self, id: &str, part: i64) -> anyhow::Result<Option<Vec<u8>>> {
        let row = self
            .db
            .fetch_optional("SELECT data FROM job_files WHERE job_id = $1 AND part = $2", args![id, part])
            .await?;
        row.map(|row| row.get("data")).transpose()
    }

    /// Drops a job's file (an output written half by an interrupted run, an upload once read).
    pub async fn delete_job_file(&self, id: &str) -> anyhow::Result<()> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                conn.execute("DELETE FROM job_files WHERE job_id = $1", args![&id]).await?;
                Ok(())
            }))
            .await
    }

    /// Replaces a job's document (an upload's, once its form is read).
    pub async fn set_job_document(&self, id: &str, document: &Map<String, Value>) -> anyhow::Result<()> {
        self.db
            .execute("UPDATE jobs SET document = $1 WHERE id = $2", args![Bound::json(document), id])
            .await
            .map(|_: u64| ())
    }

    /// Makes an uploaded job runnable.
    pub async fn queue_job(&self, id: &str) -> anyhow::Result<()> {
        self.db
            .execute("UPDATE jobs SET status = 'pending' WHERE id = $1 AND status = 'uploading'", args![id])
            .await
            .map(|_: u64| ())
    }

    /// Deletes a job (an upload that failed).
    /// How many jobs there are of each kind in each status: `(kind, status, count)`.
    pub async fn job_counts(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        let sql = "SELECT type, status, COUNT(*) AS total FROM jobs GROUP BY type, status";
        let rows = self.db.fetch_all(sql, &[]).await?;
        rows.iter().map(|row| Ok((row.get("type")?, row.get("status")?, row.get("total")?))).collect()
    }

    pub async fn delete_job(&self, id: &str) -> anyhow::Result<()> {
        self.db.execute("DELETE FROM jobs WHERE id = $1", args![id]).await.map(|_: u64| ())
    }

    pub async fn job(&self, id: &str) -> anyhow::Result<Option<JobRecord>> {
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"));
        self.db.find(&SQL, args![id], job_from_row).await
    }

    /// A job's failed records, in file order.
    pub async fn job_errors(&self, id: &str) -> anyhow::Result<Vec<Value>> {
        let rows =
            self.db.fetch_all("SELECT document FROM job_errors WHERE job_id = $1 ORDER BY position", args![id]).await?;
        rows.iter().map(|row| row.json("document")).collect()
    }

    /// Writes a job's outcome on its own (a job whose other writes, if any, are committed).
    pub async fn finish_job(&self, id: &str, outcome: Outcome) -> anyhow::Result<()> {
        let id = id.to_owned();
        self.db
            .write(job!(|conn| {
                record_outcome(&mut conn, &id, &outcome).await.map_err(anyhow::Error::from)?;
                Ok(())
            }))
            .await
    }

    /// Marks the job alive.
    pub async fn job_heartbeat(&self, id: &str) -> anyhow::Result<()> {
        let id = id.to_owned();
        let now = time::now();
        self.db.execute("UPDATE jobs SET heartbeat_at = $1 WHERE id = $2", args![&now, &id]).await.map(|_: u64| ())
    }

    /// The next job to run, marked `processing` by `runner`; `None` when none is pending or one
    /// is running elsewhere. Interrupted jobs are queued again first (or failed, after
    /// `MAX_ATTEMPTS`).
    pub async fn claim_job(&self, runner: &str) -> anyhow::Result<Option<JobRecord>> {
        let runner = runner.to_owned();
        self.db
            .write(job!(|conn| {
                conn.lock("jobs").await?;
                let now = time::now();
                let stale = match conn.engine() {
                    // One server per SQLite database: any other runner is gone.
                    Engine::Sqlite => now + chrono::Duration::days(365_000),
                    Engine::Postgres => now - STALE_AFTER,
                };
                let sql = format!(
                    "SELECT {JOB_COLUMNS}, runner, heartbeat_at FROM jobs WHERE status = 'processing' ORDER BY seq{}",
                    conn.engine().for_update()
                );
                for row in conn.fetch_all(&sql, &[]).await? {
                    let job = job_from_row(&row)?;
                    let mine = row.get::<Option<String>>("runner")?.as_deref() == Some(runner.as_str());
                    let alive = row.opt_time("heartbeat_at")?.is_some_and(|at| at > stale);
                    if mine || alive {
                        // One job at a time per tenant.
                        return Ok(None);
                    }
                    tracing::warn!(job = %job.id, attempts = job.attempts, "job interrupted; nothing of it was kept");
                    if job.attempts >= MAX_ATTEMPTS {
                        let mut document = job.document.clone();
                        document.insert(
                            "status_details".into(),
                            Value::String(format!("interrupted {} times; nothing of it was written", job.attempts)),
                        );
                        let outcome = Outcome { status: "failed", document, errors: Vec::new(), expires_at: None };
                        record_outcome(&mut conn, &job.id, &outcome).await.map_err(anyhow::Error::from)?;
                    } else {
                        conn.execute("UPDATE jobs SET status = 'pending', runner = NULL WHERE id = $1", args![&job.id])
                            .await?;
                    }
                }
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'pending' ORDER BY seq LIMIT 1{}",
                    conn.engine().for_update()
                );
                let Some(mut job) = conn.find(&sql, &[], job_from_row).await? else {
                    return Ok(None);
                };
                conn.execute(
                    "UPDATE jobs SET status = 'processing', runner = $1, heartbeat_at = $2, attempts = attempts + 1 \
                     WHERE id = $3",
                    args![&runner, &now, &job.id],
                )
                .await?;
                job.status = "processing".into();
                job.attempts += 1;
                Ok(Some(job))
            }))
            .await
    }

    /// Deletes jobs past their expiry, with their files and errors, and uploads abandoned
    /// before `uploads_before`.
    pub async fn expire_jobs(&self, uploads_before: Timestamp) -> anyhow::Result<u64> {
        let now = time::now();
        self.db
            .write(job!(|conn| {
                let expired = conn
                    .execute(
                        "DELETE FROM jobs WHERE (expires_at IS NOT NULL AND expires_at < $1) \
                         OR (status = 'uploading' AND created_at < $2)",
                        args![&now, &uploads_before],
                    )
                    .await?;
                Ok(expired)
            }))
            .await
    }

    /// The user holding one of `keys` (email, username, phone number) in `connection`, if any.
    pub async fn credential_holder(
        &self,
        connection: &str,
        keys: crate::domain::user::CredentialKeys<'_>,
    ) -> anyhow::Result<Option<String>> {
        for (column, value) in [("email", keys.email), ("username", keys.username), ("phone_number", keys.phone_number)]
        {
            let Some(value) = value else { continue };
            let sql = format!("SELECT user_id FROM identities WHERE connection = $1 AND {column} = $2");
            if let Some(row) = self.db.fetch_optional(&sql, args![connection, value]).await? {
                return Ok(Some(row.get("user_id")?));
            }
        }
        Ok(None)
    }

    /// A page of the users of `connection` (all users when `None`) after `after` (a `seq`), in
    /// creation order, with the `seq` of the last.
    pub async fn users_after(
        &self,
        connection: Option<&str>,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<(Vec<crate::domain::user::User>, Option<i64>)> {
        let sql = format!(
            "SELECT seq, {} FROM users WHERE seq > $1 AND ($2 IS NULL OR EXISTS (SELECT 1 FROM identities i \
             WHERE i.user_id = users.user_id AND i.connection = $2 AND i.user_id = i.provider || '|' || i.provider_user_id)) \
             ORDER BY seq LIMIT $3",
            super::users::USER_COLUMNS
        );
        let rows = self.db.fetch_all(&sql, args![after, connection, limit]).await?;
        let last = rows.last().map(|row| row.get::<i64>("seq")).transpose()?;
        let users = rows.iter().map(super::users::user_from_row).collect::<anyhow::Result<Vec<_>>>()?;
        Ok((users, last))
    }
}
