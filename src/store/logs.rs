//! The log: events appended as they happen, read by id, by user and for the whole tenant.
//!
//! Events are recorded without waiting (`Store::log`): they go into a buffer that one task
//! writes out (`Store::flush_logs`), all events waiting in one write job, so that a login or a
//! Management API write does not pay a commit of its own for its log line. Readers flush first,
//! so a log read sees every event recorded before it (Auth0's logs lag; Roster's do not).

use std::sync::Mutex;

use serde_json::Value;

use super::Store;
use super::db::{Row, Value as Bound, insert_rows, job};
use crate::domain::log_event::{self, LogEvent};
use crate::domain::time::Timestamp;
use crate::search::listing::{self, LogWindow};

/// Events older than the retention period are deleted this many at a time, each batch a write
/// job of its own, so that other writes are not held behind one long delete.
const RETENTION_BATCH: i64 = 5000;

/// Events recorded and not yet written.
#[derive(Default)]
pub(crate) struct LogBuffer {
    pending: Mutex<Vec<LogEvent>>,
    /// Wakes the task that writes them.
    recorded: tokio::sync::Notify,
    /// Held while a batch is written: a flush that finds the buffer empty still waits for the
    /// batch another took to be committed.
    writing: tokio::sync::Mutex<()>,
}

/// Columns of a log row, in insert order; the whole event is its `document`, but for the
/// caller's scopes, which `log_scopes` keeps once for all the events that name them.
const LOG_COLUMNS: &str =
    "logs (log_id, date, type, user_id, client_id, connection, ip, user_name, document, scopes_key)";

/// The event a `SELECT_LOG` row holds.
fn document(row: &Row) -> anyhow::Result<Value> {
    let document = row.json::<Value>("document")?;
    Ok(match row.opt_json::<Value>("scopes")? {
        Some(scopes) => log_event::with_scopes(document, scopes),
        None => document,
    })
}

impl Store {
    /// One event, by log id, as rendered when it was recorded.
    pub async fn log_event(&self, log_id: &str) -> anyhow::Result<Option<Value>> {
        self.flush_logs().await?;
        let sql = format!("{} WHERE l.log_id = $1", listing::SELECT_LOG);
        self.db.find(&sql, &[Bound::from(log_id)], document).await
    }

    /// The events `window` selects, rendered, and with `with_total` how many match its query.
    pub async fn search_logs(&self, window: &LogWindow, with_total: bool) -> anyhow::Result<(Vec<Value>, Option<u64>)> {
        self.flush_logs().await?;
        let dialect = self.db.engine().search_dialect();
        let select = listing::select_logs(window, dialect);
        let values: Vec<Bound> = select.binds.iter().map(Bound::from).collect();
        let rows = self.db.fetch_all(&select.sql, &values).await?;
        let events = rows.iter().map(document).collect::<anyhow::Result<Vec<_>>>()?;
        let total = match (window, with_total) {
            (LogWindow::Page { query, .. }, true) => Some(self.count(listing::count_logs(query, dialect)).await?),
            _ => None,
        };
        Ok((events, total))
    }

    /// Deletes the events dated before `cutoff` (through the `logs_date` index), in batches;
    /// returns how many.
    pub async fn delete_logs_before(&self, cutoff: Timestamp) -> anyhow::Result<u64> {
        let mut deleted = 0;
        loop {
            let batch: u64 = self
                .db
                .write(job!(|conn| {
                    let sql =
                        "DELETE FROM logs WHERE seq IN (SELECT seq FROM logs WHERE date < $1 ORDER BY date LIMIT $2)";
                    anyhow::Ok(
                        conn.execute(sql, &[Bound::Time(Some(cutoff)), Bound::Int(Some(RETENTION_BATCH))]).await?,
                    )
                }))
                .await?;
            deleted += batch;
            if batch < RETENTION_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }

    /// Records `event`; it is written shortly after, with the others waiting.
    pub fn log(&self, event: LogEvent) {
        self.logs.pending.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        self.logs.recorded.notify_one();
    }

    /// Resolves once an event has been recorded since the last call (for the writing task).
    pub async fn log_recorded(&self) {
        self.logs.recorded.notified().await;
    }

    /// Writes every event recorded so far, in one write job, and returns once they are durable.
    pub async fn flush_logs(&self) -> anyhow::Result<()> {
        let _writing = self.logs.writing.lock().await;
        let events = std::mem::take(&mut *self.logs.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<Bound<'static>> = events
            .iter()
            .flat_map(|event| {
                [
                    Bound::from(event.log_id.clone()),
                    Bound::Time(Some(event.date)),
                    Bound::from(event.kind.to_owned()),
                    Bound::from(event.user_id.clone()),
                    Bound::from(event.client_id.clone()),
                    Bound::from(event.connection.clone()),
                    Bound::from(event.ip.clone()),
                    Bound::from(event.user_name.clone()),
                    Bound::Json(Some(event.render())),
                    Bound::from(event.scopes.as_ref().map(|scopes| scopes.key.to_string())),
                ]
            })
            .collect();
        // Each scope array the events name, once.
        let mut keys = std::collections::HashSet::new();
        let scopes: Vec<Bound<'static>> = events
            .iter()
            .filter_map(|event| event.scopes.as_ref())
            .filter(|scopes| keys.insert(scopes.key.clone()))
            .flat_map(|scopes| [Bound::from(scopes.key.to_string()), Bound::Json(Some(scopes.json.get().to_owned()))])
            .collect();
        let count = events.len();
        let written = self
            .db
            .write(job!(|conn| {
                insert_rows(&mut conn, "log_scopes (key, scopes)", 2, &scopes, "ON CONFLICT DO NOTHING").await?;
                insert_rows(&mut conn, LOG_COLUMNS, 10, &rows, "").await?;
                anyhow::Ok(())
            }))
            .await;
        if let Err(error) = &written {
            tracing::error!(error = %format!("{error:#}"), count, "log events were not written");
        }
        written
    }
}
