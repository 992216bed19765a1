//! Where hosted tenants' databases are: the one part of `tenancy` that differs by engine.
//!
//! The registry names every database of a tenant (its generations `data-<n>.<ext>`, its
//! snapshots `snapshots/<name>.<ext>`) by a file in the tenant's directory, on both engines.
//! With a SQLite server the file is the database; with a PostgreSQL one it is a schema of the
//! server's database (`store::Schemas`), and the file (`.schema`) holds its name, written
//! durably once the schema is made. So the directory says, on both engines, what a restart
//! serves, and listing, expiry and restarts are one code path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::spares::Spares;
use super::{SNAPSHOTS_DIR, copy_durably, remove_database, with_suffix, write_durably};
use crate::store::{self, Schemas, Store};

/// The SQLite template new tenants are copied from, remade at every start.
const TEMPLATE_FILE: &str = ".template.db";
/// Migrated schemas kept ready: a create and a reset each take one.
const SPARE_SCHEMAS: usize = 2;
const SPARE_PREFIX: &str = "roster_spare_";
const TENANT_PREFIX: &str = "roster_t_";
const SNAPSHOT_PREFIX: &str = "roster_s_";

pub(super) enum Storage {
    /// A file per database, copied from a template migrated at start.
    Sqlite { template: PathBuf },
    /// A schema per database in the server's own PostgreSQL database, made from migrated spares.
    Postgres {
        schemas: Arc<Schemas>,
        targets: Targets,
        /// By snapshot file: a schema being filled with a copy of the snapshot, for the next
        /// reset to it (`restore`).
        copies: Mutex<HashMap<PathBuf, Copy>>,
    },
}

/// The migrated schemas new tenants are made in (spares) and copies of snapshots are filled
/// in (the generations resets replaced, emptied, then spares): resets in a loop then never
/// wait for a spare to be migrated (~200 ms each).
#[derive(Clone)]
pub(super) struct Targets {
    spares: Arc<Spares<String>>,
    emptied: Arc<Mutex<Vec<String>>>,
}

impl Targets {
    async fn for_copy(&self) -> anyhow::Result<String> {
        let emptied = self.emptied.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match emptied {
            Some(schema) => Ok(schema),
            None => self.spares.take().await,
        }
    }

    /// Those not taken, no longer kept (on shutdown).
    fn drain(&self) -> Vec<String> {
        let mut all = self.spares.drain();
        all.append(&mut self.emptied.lock().unwrap_or_else(|e| e.into_inner()));
        all
    }
}

/// A copy of a snapshot, filled ahead of need: its schema once filled.
type Copy = tokio::task::JoinHandle<anyhow::Result<String>>;

impl Storage {
    /// SQLite or PostgreSQL, as the server's own database is; `dir` is the tenants directory.
    pub async fn open(database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        if !store::is_postgres(database_url) {
            let template = dir.join(TEMPLATE_FILE);
            // Made again at every start: a new binary may carry new migrations.
            for stale in [template.clone(), with_suffix(&template, "-wal"), with_suffix(&template, "-shm")] {
                let _ = tokio::fs::remove_file(stale).await;
            }
            store::open(&sqlite_url(&template)).await?.close().await;
            return Ok(Self::Sqlite { template });
        }
        let schemas = Arc::new(Schemas::connect(database_url).await?);
        let spares = Arc::new(Spares::start(SPARE_SCHEMAS, "schema", {
            let schemas = schemas.clone();
            move || {
                let schemas = schemas.clone();
                async move { schemas.create_migrated(SPARE_PREFIX).await }
            }
        }));
        Ok(Self::Postgres { schemas, targets: Targets { spares, emptied: Arc::default() }, copies: Mutex::default() })
    }

    /// The extension of the files that are, or name, tenants' databases.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "db",
            Self::Postgres { .. } => "schema",
        }
    }

    /// Whether a tenant's directory may be renamed while its database is open: a schema's name
    /// is in a file there, where a SQLite database is the file, and its store would reopen it
    /// by its path.
    pub fn renames_in_place(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// A generation's database (`data-<n>.db`), or the file naming its schema (`.schema`).
    pub fn data_file(&self, dir: &Path, generation: u64) -> PathBuf {
        dir.join(format!("data-{generation}.{}", self.extension()))
    }

    pub fn snapshot_file(&self, dir: &Path, snapshot: &str) -> PathBuf {
        dir.join(SNAPSHOTS_DIR).join(format!("{snapshot}.{}", self.extension()))
    }

    /// A new tenant's database at `path`, migrated and empty.
    pub async fn create(&self, path: &Path) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { template } => {
                tokio::fs::copy(template, path).await.context("cannot copy the template")?;
                Ok(())
            }
            Self::Postgres { schemas, targets, .. } => {
                let spare = targets.spares.take().await?;
                let named = schemas.rename(&spare, TENANT_PREFIX).await;
                let schema = match named {
                    Ok(schema) => schema,
                    Err(error) => {
                        let _ = schemas.drop_schema(&spare).await;
                        return Err(error);
                    }
                };
                name_schema(schemas, path, &schema).await
            }
        }
    }

    /// Opens the database at `path`. `served_before`: by an earlier start, so it may need
    /// migrations (SQLite's are always run: they cost nothing when there are none).
    pub async fn open_store(&self, path: &Path, served_before: bool) -> anyhow::Result<Arc<Store>> {
        match self {
            Self::Sqlite { .. } => store::open(&sqlite_url(path)).await,
            Self::Postgres { schemas, .. } => {
                store::open_in_schema(schemas, &schema_at(path).await?, served_before).await
            }
        }
    }

    /// A snapshot at `to` of the database at `from`, which `store` serves, as of its last commit.
    pub async fn snapshot(&self, store: &Store, from: &Path, to: &Path) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { .. } => store.snapshot_into(to).await,
            Self::Postgres { schemas, .. } => {
                store.flush_logs().await?;
                let snapshot = schemas.snapshot(&schema_at(from).await?, SNAPSHOT_PREFIX).await?;
                name_schema(schemas, to, &snapshot).await
            }
        }
    }

    /// A new database at `to`, a copy of the snapshot at `snapshot`.
    ///
    /// On PostgreSQL, filling a schema from a snapshot takes a hundred milliseconds or more
    /// (every table's rows copied), so a reset takes a copy filled ahead when there is one,
    /// and starts filling the one the next reset to the same snapshot takes; taking a snapshot
    /// starts its first (`fill_ahead`). A test suite resetting its tenant before each test then
    /// waits for a copy only when its tests take less time than a fill. The snapshot never
    /// changes, so the copy is as exact.
    pub async fn restore(&self, snapshot: &Path, to: &Path) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { .. } => copy_durably(snapshot, to).await.context("cannot copy the snapshot"),
            Self::Postgres { schemas, targets, copies } => {
                let ahead = lock(copies).remove(snapshot);
                let restored = match ahead {
                    Some(copy) => match filled(copy).await {
                        Ok(schema) => schema,
                        Err(error) => {
                            tracing::warn!(error = %format!("{error:#}"), "a copy filled ahead failed; filling one now");
                            fill_copy(schemas, targets, snapshot).await?
                        }
                    },
                    None => fill_copy(schemas, targets, snapshot).await?,
                };
                name_schema(schemas, to, &restored).await?;
                self.fill_ahead(snapshot);
                Ok(())
            }
        }
    }

    /// On PostgreSQL, starts filling a copy of the snapshot at `snapshot` for the next reset to
    /// it.
    pub fn fill_ahead(&self, snapshot: &Path) {
        if let Self::Postgres { schemas, targets, copies } = self {
            let (schemas, targets, source) = (schemas.clone(), targets.clone(), snapshot.to_owned());
            let copy = tokio::spawn({
                let schemas = schemas.clone();
                async move { fill_copy(&schemas, &targets, &source).await }
            });
            // One of an earlier snapshot of that name, deleted meanwhile.
            if let Some(stale) = lock(copies).insert(snapshot.to_owned(), copy) {
                tokio::spawn(async move { drop_copy(&schemas, stale).await });
            }
        }
    }

    /// Removes the generation at `replaced`, which a reset replaced and which is closed. On
    /// PostgreSQL its schema is emptied instead, for a copy to be filled in.
    pub async fn retire(&self, replaced: &Path) -> anyhow::Result<()> {
        let Self::Postgres { schemas, targets, .. } = self else { return self.remove(replaced).await };
        let schema = schema_at(replaced).await?;
        let emptied = schemas.empty(&schema, SPARE_PREFIX).await;
        let _ = tokio::fs::remove_file(replaced).await;
        match emptied {
            Ok(emptied) => {
                targets.emptied.lock().unwrap_or_else(|e| e.into_inner()).push(emptied);
                Ok(())
            }
            Err(error) => {
                let _ = schemas.drop_schema(&schema).await;
                Err(error)
            }
        }
    }

    /// Removes the database at `path`, no longer served (or the snapshot there, with its copy
    /// filled ahead).
    pub async fn remove(&self, path: &Path) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { .. } => remove_database(path).await,
            Self::Postgres { schemas, copies, .. } => {
                let copy = lock(copies).remove(path);
                if let Some(copy) = copy {
                    drop_copy(schemas, copy).await;
                }
                if let Ok(schema) = schema_at(path).await {
                    schemas.drop_schema(&schema).await?;
                }
                let _ = tokio::fs::remove_file(path).await;
            }
        }
        Ok(())
    }

    /// Removes a tenant's directory and every database it names.
    pub async fn remove_all(&self, dir: &Path) -> anyhow::Result<()> {
        if let Self::Postgres { .. } = self {
            for folder in [dir.to_owned(), dir.join(SNAPSHOTS_DIR)] {
                let Ok(mut entries) = tokio::fs::read_dir(&folder).await else { continue };
                while let Some(entry) = entries.next_entry().await? {
                    if entry.path().extension().is_some_and(|ext| ext == self.extension()) {
                        self.remove(&entry.path()).await?;
                    }
                }
            }
        }
        tokio::fs::remove_dir_all(dir).await.context("cannot remove the tenant's files")
    }

    /// Drops the spare schemas made and not taken (on shutdown). One being made meanwhile is
    /// left behind, empty.
    pub async fn stop(&self) {
        if let Self::Postgres { schemas, targets, copies } = self {
            let filled: Vec<Copy> = lock(copies).drain().map(|(_, copy)| copy).collect();
            for copy in filled {
                drop_copy(schemas, copy).await;
            }
            for spare in targets.drain() {
                let _ = schemas.drop_schema(&spare).await;
            }
            schemas.close().await;
        }
    }
}

fn lock(copies: &Mutex<HashMap<PathBuf, Copy>>) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Copy>> {
    copies.lock().unwrap_or_else(|e| e.into_inner())
}

/// A schema filled with a copy of the snapshot at `snapshot`: its name.
async fn fill_copy(schemas: &Schemas, targets: &Targets, snapshot: &Path) -> anyhow::Result<String> {
    let source = schema_at(snapshot).await?;
    let spare = targets.for_copy().await?;
    match schemas.restore(&source, &spare, TENANT_PREFIX).await {
        Ok(filled) => Ok(filled),
        Err(error) => {
            let _ = schemas.drop_schema(&spare).await;
            Err(error.context("cannot copy the snapshot"))
        }
    }
}

/// The schema of a copy filled ahead, once it is filled.
async fn filled(copy: Copy) -> anyhow::Result<String> {
    copy.await?
}

/// Drops a copy no reset will take, once it is filled.
async fn drop_copy(schemas: &Schemas, copy: Copy) {
    if let Ok(schema) = filled(copy).await {
        let _ = schemas.drop_schema(&schema).await;
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Writes `schema`'s name to `path` durably; if that fails, drops the schema.
async fn name_schema(schemas: &Schemas, path: &Path, schema: &str) -> anyhow::Result<()> {
    if let Err(error) = write_durably(path, schema.as_bytes()).await {
        let _ = schemas.drop_schema(schema).await;
        return Err(error.context("cannot record the schema's name"));
    }
    Ok(())
}

/// The schema the file at `path` names.
async fn schema_at(path: &Path) -> anyhow::Result<String> {
    let name = tokio::fs::read_to_string(path).await.with_context(|| format!("cannot read {}", path.display()))?;
    Ok(name.trim().to_owned())
}
