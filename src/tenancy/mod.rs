//! Many tenants in one server, managed through the admin API (`/roster/v1`, `http/admin.rs`).
//!
//! Each tenant has a directory of its own under the tenants directory and a database of its
//! own: with a SQLite server a SQLite file there, started from a copy of a template the server
//! migrates once at start; with a PostgreSQL server a schema of the server's database, made
//! from a migrated spare (`storage.rs`). So making one is a copy or a rename, a few inserts
//! (its signing key, management client and grant, default connections) and its initial
//! snapshot (`prepare.rs`); a create that names no tenant and no tenant file takes one made
//! ahead. A request reaches it by a path prefix (`/t/<name>/…`) or by its
//! host (`<name>.<host base>`); its tokens name the path-prefixed domain, and are refused by
//! every other tenant (another key, another issuer and audience).
//!
//! Snapshots are copies (the backup API, or the schema's tables); a reset opens a copy of one as
//! the tenant's next generation and swaps it in, so requests never see a half-restored tenant. Tenants and their
//! snapshots survive a restart; one idle for longer than its time-to-live is deleted.

pub mod front;
mod prepare;
pub mod runtime;
mod spares;
mod storage;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use self::front::{Front, RateLimit};
use self::prepare::{Prepared, prepare};
use self::runtime::{Runtime, RuntimeSettings};
use self::spares::Spares;
use self::storage::Storage;
use crate::auth::keys::KeyRing;
use crate::auth::token::Issuer;
use crate::domain::time::{self, Timestamp};
use crate::store::{SigningKey, Store};

/// The snapshot every tenant gets when created (after its tenant file, if any, is applied).
pub const INITIAL_SNAPSHOT: &str = "initial";
/// How long a tenant may stay idle when its creator names no time-to-live.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Tenants made ahead: a burst of this many creates waits for none (on PostgreSQL each takes
/// ~100 ms to make, beside a spare schema).
const READY_TENANTS: usize = 2;
const METADATA_FILE: &str = "tenant.json";
const SNAPSHOTS_DIR: &str = "snapshots";
/// Signing keys kept ready: a burst of this many tenant creations waits for none.
const SPARE_KEYS: usize = 4;

#[derive(Debug, Clone)]
pub struct TenancyConfig {
    /// The server's own database: hosted tenants are SQLite files too, or schemas of it.
    pub database_url: String,
    /// Where tenants' files (their SQLite databases, or their schemas' names) live.
    pub dir: PathBuf,
    /// `HOST[:PORT]` of the server: a tenant's domain is `<public domain>/t/<name>`.
    pub public_domain: String,
    /// A tenant is also reached at `<name>.<host base>` (e.g. `localhost:8080`).
    pub host_base: String,
    pub runtime: RuntimeSettings,
}

impl TenancyConfig {
    /// What SDKs are given as the tenant's domain: its tokens' issuer.
    fn domain(&self, name: &str) -> String {
        format!("{}/t/{name}", self.public_domain)
    }

    fn host_domain(&self, name: &str) -> String {
        format!("{name}.{}", self.host_base)
    }

    fn issuer(&self, name: &str) -> Issuer {
        Issuer::with_aliases(&self.domain(name), [self.host_domain(name).as_str()])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error("a tenant named {0} exists")]
    NameTaken(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no tenant named {0}")]
    NotFound(String),
    #[error("tenant {tenant} has no snapshot named {snapshot}")]
    SnapshotNotFound { tenant: String, snapshot: String },
    #[error("a snapshot named {0} exists")]
    SnapshotTaken(String),
    /// The tenant file was refused; nothing was created.
    #[error("{0}")]
    TenantFile(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a creator asks for.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub name: Option<String>,
    /// Seconds idle before it is deleted; 0 keeps it until deleted.
    pub ttl_seconds: Option<u64>,
    /// A tenant file (docs/SEED.md) to apply before the tenant is served.
    pub tenant_file: Option<String>,
    #[serde(flatten)]
    pub faithful: Faithful,
}

/// Auth0's behaviours a tenant may opt into, so that apps' retry and consistency code meets
/// them in tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faithful {
    /// The Management API's rate limit (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How long a new user stays out of `q` searches (reads by id see it at once).
    #[serde(default)]
    pub search_index_lag_ms: u64,
}

impl Faithful {
    fn check(&self) -> Result<(), TenancyError> {
        if let Some(rate) = &self.rate_limit {
            rate.check().map_err(TenancyError::BadRequest)?;
        }
        if self.search_index_lag_ms > 3_600_000 {
            return Err(TenancyError::BadRequest("search_index_lag_ms is at most 3600000 (an hour)".to_owned()));
        }
        Ok(())
    }
}

/// What is kept beside a tenant's databases, so it is served again after a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Metadata {
    name: String,
    created_at: Timestamp,
    ttl_seconds: u64,
    client_id: String,
    #[serde(default)]
    faithful: Faithful,
}

/// What a tenant's database needs before it is served.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// Served before this start: what the server's domain names may have changed
    /// (`tenant::bootstrap`, which finds the rest there).
    Again,
    /// A copy of the tenant's own snapshot, taken by this process: nothing.
    Restored,
}

/// A tenant served.
pub struct Hosted {
    /// As created, but for `faithful`, which is kept in `faithful`.
    metadata: Metadata,
    faithful: Mutex<Faithful>,
    pub front: Front,
    /// `faithful.search_index_lag_ms`, as every generation's `App` reads it.
    search_lag_ms: Arc<AtomicU64>,
    dir: PathBuf,
    running: RwLock<Arc<Runtime>>,
    /// The generation of `running`'s database (`data-<n>.db`, or `.schema`).
    generation: AtomicU64,
    /// Milliseconds since the Unix epoch of the last request it was sent.
    last_used: AtomicI64,
    /// Snapshots, resets and deletion one at a time.
    admin: tokio::sync::Mutex<()>,
    /// Generations resets replaced, being closed and removed: deletion and shutdown wait for
    /// them.
    retiring: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Hosted {
    /// Once the generations resets replaced are closed and removed.
    async fn retired(&self) {
        let pending = std::mem::take(&mut *self.retiring.lock().unwrap_or_else(|e| e.into_inner()));
        for task in pending {
            let _ = task.await;
        }
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The tenant as it runs now; marks it used.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.last_used.store(time::now().timestamp_millis(), Ordering::Relaxed);
        self.running.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn idle_for(&self, now: Timestamp) -> Duration {
        let idle = now.timestamp_millis() - self.last_used.load(Ordering::Relaxed);
        Duration::from_millis(idle.max(0) as u64)
    }
}

/// A tenant as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct TenantView {
    pub name: String,
    /// What SDKs are given as the tenant's domain.
    pub domain: String,
    /// The same tenant reached by its host.
    pub host: String,
    pub management_api_audience: String,
    pub client_id: String,
    /// Only when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: Timestamp,
    pub ttl_seconds: u64,
    #[serde(flatten)]
    pub faithful: Faithful,
    pub snapshots: Vec<String>,
}

pub struct Tenants {
    config: Arc<TenancyConfig>,
    hosted: RwLock<HashMap<String, Arc<Hosted>>>,
    /// Names of tenants being created or deleted, so that two requests cannot both take one.
    busy: Mutex<std::collections::HashSet<String>>,
    spare_keys: Arc<Spares<SigningKey>>,
    /// Tenants made ahead, for creates that name neither a tenant nor a tenant file
    /// (`prepare.rs`).
    ready: Spares<Prepared>,
    storage: Arc<Storage>,
}

impl Tenants {
    /// Prepares the template and serves the tenants the directory holds.
    pub async fn open(config: TenancyConfig) -> anyhow::Result<Arc<Self>> {
        tokio::fs::create_dir_all(&config.dir)
            .await
            .with_context(|| format!("cannot create the tenants directory {}", config.dir.display()))?;
        let storage = Arc::new(Storage::open(&config.database_url, &config.dir).await?);
        let config = Arc::new(config);
        prepare::remove_unfinished(&storage, &config).await?;
        let spare_keys = Arc::new(Spares::start(SPARE_KEYS, "signing key", || async {
            tokio::task::spawn_blocking(crate::auth::keys::generate).await.context("key generation task failed")?
        }));
        let ready = Spares::start(READY_TENANTS, "tenant", {
            let (storage, spare_keys, config) = (storage.clone(), spare_keys.clone(), config.clone());
            move || {
                let (storage, spare_keys, config) = (storage.clone(), spare_keys.clone(), config.clone());
                async move { Ok(prepare(&storage, &spare_keys, &config, generated_name(), None).await?) }
            }
        });
        let tenants =
            Arc::new(Self { config, hosted: Default::default(), busy: Default::default(), spare_keys, ready, storage });
        tenants.serve_existing().await?;
        Ok(tenants)
    }

    /// Tenants left in the directory by an earlier start. One that cannot be served is named in
    /// the log and left as it is; the others are served.
    async fn serve_existing(&self) -> anyhow::Result<()> {
        let mut entries = tokio::fs::read_dir(&self.config.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let dir = entry.path();
            let Ok(text) = tokio::fs::read_to_string(dir.join(METADATA_FILE)).await else { continue };
            if let Err(error) = self.serve_again(&text, dir.clone()).await {
                tracing::error!(dir = %dir.display(), error = %format!("{error:#}"), "cannot serve a tenant created earlier");
            }
        }
        Ok(())
    }

    async fn serve_again(&self, metadata: &str, dir: PathBuf) -> anyhow::Result<()> {
        let metadata: Metadata = serde_json::from_str(metadata).context("unreadable tenant metadata")?;
        let generation = self.latest_generation(&dir).await?.context("a tenant without a database")?;
        // Generations a reset replaced, left by a stop before they were removed.
        for earlier in 1..generation {
            self.storage.remove(&self.storage.data_file(&dir, earlier)).await?;
        }
        let lag = Arc::new(AtomicU64::new(metadata.faithful.search_index_lag_ms));
        let database = self.storage.data_file(&dir, generation);
        let runtime = self.start(&metadata.name, &database, Setup::Again, lag.clone()).await?;
        let hosted = self.host(metadata, dir, runtime, generation, lag);
        tracing::info!(tenant = hosted.name(), "serving a tenant created earlier");
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<Arc<Hosted>> {
        self.hosted.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// The tenant named, or `NotFound`.
    pub fn hosted(&self, name: &str) -> Result<Arc<Hosted>, TenancyError> {
        self.get(name).ok_or_else(|| TenancyError::NotFound(name.to_owned()))
    }

    /// The tenant `host` (`<name>.<host base>`) names, if any.
    pub fn by_host(&self, host: &str) -> Option<Arc<Hosted>> {
        let name = host.strip_suffix(&self.config.host_base)?.strip_suffix('.')?;
        self.get(name)
    }

    /// Opens a tenant's database, sets it up as `setup` says and starts serving it.
    async fn start(
        &self,
        name: &str,
        database: &Path,
        setup: Setup,
        search_lag_ms: Arc<AtomicU64>,
    ) -> anyhow::Result<Runtime> {
        let started = std::time::Instant::now();
        let store = self.storage.open_store(database, matches!(setup, Setup::Again)).await?;
        let opened = started.elapsed();
        let keys = match setup {
            Setup::Again => {
                crate::tenant::bootstrap(&store, &Default::default(), &self.config.issuer(name)).await.map(|t| t.keys)
            }
            Setup::Restored => store.signing_keys().await.and_then(|keys| KeyRing::new(&keys)),
        };
        match keys {
            Ok(keys) => {
                let set_up = started.elapsed();
                let runtime = self.run(name, store, keys, search_lag_ms);
                let (open_ms, setup_ms) = (ms(opened), ms(set_up - opened));
                tracing::debug!(
                    tenant = name,
                    ?setup,
                    open_ms,
                    setup_ms,
                    total_ms = ms(started.elapsed()),
                    "tenant started"
                );
                Ok(runtime)
            }
            Err(error) => {
                store.close().await;
                Err(error)
            }
        }
    }

    fn run(&self, name: &str, store: Arc<Store>, keys: KeyRing, search_lag_ms: Arc<AtomicU64>) -> Runtime {
        let issuer = self.config.issuer(name);
        Runtime::start(store, keys, issuer, &self.config.runtime, search_lag_ms, axum::Router::new())
    }

    fn host(
        &self,
        metadata: Metadata,
        dir: PathBuf,
        runtime: Runtime,
        generation: u64,
        search_lag_ms: Arc<AtomicU64>,
    ) -> Arc<Hosted> {
        let front = Front::default();
        front.set_rate_limit(metadata.faithful.rate_limit);
        let hosted = Arc::new(Hosted {
            last_used: AtomicI64::new(time::now().timestamp_millis()),
            faithful: Mutex::new(metadata.faithful.clone()),
            front,
            search_lag_ms,
            metadata,
            dir,
            running: RwLock::new(Arc::new(runtime)),
            generation: AtomicU64::new(generation),
            admin: Default::default(),
            retiring: Default::default(),
        });
        let mut all = self.hosted.write().unwrap_or_else(|e| e.into_inner());
        all.insert(hosted.metadata.name.clone(), hosted.clone());
        count_tenants(all.len());
        hosted
    }

    /// Creates a tenant, applies its tenant file and takes its initial snapshot; only then is
    /// it served. One without a tenant file was made ahead, unless it is named and the engine
    /// cannot rename a tenant in place (SQLite, where making one is as quick).
    pub async fn create(&self, request: NewTenant) -> Result<TenantView, TenancyError> {
        request.faithful.check()?;
        let began = std::time::Instant::now();
        let name = request.name.map(valid_name).transpose()?;
        let made_ahead = request.tenant_file.is_none() && (name.is_none() || self.storage.renames_in_place());
        let (prepared, _reserved) = match name {
            None if made_ahead => {
                let prepared = self.ready.take().await?;
                match self.reserve(&prepared.name) {
                    Ok(reserved) => (prepared, reserved),
                    Err(taken) => {
                        prepare::discard(&self.storage, prepared).await;
                        return Err(taken);
                    }
                }
            }
            Some(name) if made_ahead => {
                let reserved = self.reserve(&name)?;
                // Made first, so that an existing one refuses the name; the rename replaces it.
                let dir = self.config.dir.join(&name);
                prepare::claim_dir(&dir, &name).await?;
                let ready = self.ready.take().await;
                let renamed = match ready {
                    Ok(prepared) => self.rename(prepared, name).await,
                    Err(error) => Err(error.into()),
                };
                if renamed.is_err() {
                    let _ = tokio::fs::remove_dir(&dir).await;
                }
                (renamed?, reserved)
            }
            name => {
                let name = name.unwrap_or_else(generated_name);
                let reserved = self.reserve(&name)?;
                let prepared =
                    prepare(&self.storage, &self.spare_keys, &self.config, name, request.tenant_file).await?;
                (prepared, reserved)
            }
        };
        let metadata = Metadata {
            name: prepared.name.clone(),
            created_at: time::now(),
            ttl_seconds: request.ttl_seconds.unwrap_or(DEFAULT_TTL.as_secs()),
            client_id: prepared.client_id.clone(),
            faithful: request.faithful,
        };
        // Written last: a restart serves the tenant only once its creation is answered.
        if let Err(error) = write_metadata(&prepared.dir, &metadata).await {
            prepare::discard(&self.storage, prepared).await;
            return Err(error.into());
        }
        let Prepared { name, dir, store, keys, secret, .. } = prepared;
        let lag = Arc::new(AtomicU64::new(metadata.faithful.search_index_lag_ms));
        let hosted = self.host(metadata, dir, self.run(&name, store, keys, lag.clone()), 1, lag);
        tracing::info!(tenant = name, made_ahead, total_ms = ms(began.elapsed()), "tenant created");
        let mut view = self.view(&hosted).await?;
        view.client_secret = secret;
        Ok(view)
    }

    /// A tenant made ahead, moved to the directory of `name` (made empty by the caller) and its
    /// management grant pointed at its own Management API, in its database and its initial
    /// snapshot: the one place its name is kept. Discarded if that fails.
    async fn rename(&self, mut prepared: Prepared, name: String) -> Result<Prepared, TenancyError> {
        let dir = self.config.dir.join(&name);
        let (from, to) =
            (self.config.issuer(&prepared.name).management_audience, self.config.issuer(&name).management_audience);
        let moved = async {
            tokio::fs::rename(&prepared.dir, &dir).await.context("cannot move a tenant made ahead")?;
            prepared.dir = dir.clone();
            let initial = self.storage.snapshot_file(&dir, INITIAL_SNAPSHOT);
            let snapshot = self.storage.open_store(&initial, false).await?;
            let moved = tokio::try_join!(
                prepared.store.move_client_grants(&from, &to),
                snapshot.move_client_grants(&from, &to),
                sync_dir(&self.config.dir),
            );
            snapshot.close().await;
            moved?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        match moved {
            Ok(()) => {
                prepared.name = name;
                Ok(prepared)
            }
            Err(error) => {
                prepare::discard(&self.storage, prepared).await;
                Err(error.into())
            }
        }
    }

    /// Holds `name` while it is created or deleted.
    fn reserve(&self, name: &str) -> Result<Reserved<'_>, TenancyError> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if self.get(name).is_some() || !busy.insert(name.to_owned()) {
            return Err(TenancyError::NameTaken(name.to_owned()));
        }
        Ok(Reserved { tenants: self, name: name.to_owned() })
    }

    pub async fn list(&self) -> anyhow::Result<Vec<TenantView>> {
        let mut hosted: Vec<Arc<Hosted>> =
            self.hosted.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        hosted.sort_by(|a, b| (a.metadata.created_at, a.name()).cmp(&(b.metadata.created_at, b.name())));
        let mut views = Vec::with_capacity(hosted.len());
        for tenant in &hosted {
            views.push(self.view(tenant).await?);
        }
        Ok(views)
    }

    pub async fn describe(&self, name: &str) -> Result<TenantView, TenancyError> {
        let hosted = self.hosted(name)?;
        Ok(self.view(&hosted).await?)
    }

    async fn view(&self, hosted: &Hosted) -> anyhow::Result<TenantView> {
        let name = hosted.name();
        let faithful = hosted.faithful.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(TenantView {
            name: name.to_owned(),
            domain: self.config.domain(name),
            host: self.config.host_domain(name),
            management_api_audience: self.config.issuer(name).management_audience,
            client_id: hosted.metadata.client_id.clone(),
            client_secret: None,
            created_at: hosted.metadata.created_at,
            ttl_seconds: hosted.metadata.ttl_seconds,
            faithful,
            snapshots: self.snapshots(&hosted.dir).await?.into_keys().collect(),
        })
    }

    /// Changes what of Auth0's behaviour the tenant copies: each setting given replaces its own
    /// (`rate_limit: null` turns the limit off). Kept across restarts.
    pub async fn set_faithful(&self, name: &str, change: &serde_json::Value) -> Result<TenantView, TenancyError> {
        let hosted = self.hosted(name)?;
        let _admin = hosted.admin.lock().await;
        let mut faithful = hosted.faithful.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let serde_json::Value::Object(change) = change else {
            return Err(TenancyError::BadRequest("the body is a JSON object".to_owned()));
        };
        for (key, value) in change {
            let invalid = |error: serde_json::Error| TenancyError::BadRequest(format!("{key}: {error}"));
            match key.as_str() {
                "rate_limit" => faithful.rate_limit = serde_json::from_value(value.clone()).map_err(invalid)?,
                "search_index_lag_ms" => {
                    faithful.search_index_lag_ms = serde_json::from_value(value.clone()).map_err(invalid)?
                }
                other => {
                    return Err(TenancyError::BadRequest(format!(
                        "unknown setting {other}: rate_limit, search_index_lag_ms"
                    )));
                }
            }
        }
        faithful.check()?;
        write_metadata(&hosted.dir, &Metadata { faithful: faithful.clone(), ..hosted.metadata.clone() }).await?;
        hosted.front.set_rate_limit(faithful.rate_limit);
        hosted.search_lag_ms.store(faithful.search_index_lag_ms, Ordering::Relaxed);
        *hosted.faithful.lock().unwrap_or_else(|e| e.into_inner()) = faithful;
        Ok(self.view(&hosted).await?)
    }

    /// Stops serving a tenant and removes its files.
    pub async fn delete(&self, name: &str) -> Result<(), TenancyError> {
        let hosted = self.hosted(name)?;
        let _admin = hosted.admin.lock().await;
        {
            let mut all = self.hosted.write().unwrap_or_else(|e| e.into_inner());
            if all.remove(name).is_none() {
                return Err(TenancyError::NotFound(name.to_owned()));
            }
            count_tenants(all.len());
        }
        hosted.retired().await;
        hosted.runtime().stop().await;
        self.storage.remove_all(&hosted.dir).await?;
        Ok(())
    }

    /// Takes a snapshot of the tenant as it is now, under a name not yet taken.
    pub async fn snapshot(&self, name: &str, snapshot: &str) -> Result<(), TenancyError> {
        let snapshot = valid_name(snapshot.to_owned())?;
        let hosted = self.hosted(name)?;
        let _admin = hosted.admin.lock().await;
        let file = self.storage.snapshot_file(&hosted.dir, &snapshot);
        if tokio::fs::try_exists(&file).await.unwrap_or(false) {
            return Err(TenancyError::SnapshotTaken(snapshot));
        }
        let database = self.storage.data_file(&hosted.dir, hosted.generation.load(Ordering::Acquire));
        self.storage.snapshot(&hosted.runtime().app.store, &database, &file).await?;
        self.storage.fill_ahead(&file);
        Ok(())
    }

    pub async fn delete_snapshot(&self, name: &str, snapshot: &str) -> Result<(), TenancyError> {
        let hosted = self.hosted(name)?;
        let _admin = hosted.admin.lock().await;
        let file = self.snapshot_of(&hosted, snapshot).await?;
        self.storage.remove(&file).await.context("cannot remove the snapshot")?;
        Ok(())
    }

    /// Makes the tenant what it was when `snapshot` was taken: a copy of the snapshot becomes
    /// its next generation, served from the moment it is open; the previous one is then closed
    /// and removed. Requests already running finish on the previous one.
    pub async fn reset(self: &Arc<Self>, name: &str, snapshot: &str) -> Result<TenantView, TenancyError> {
        let hosted = self.hosted(name)?;
        let _admin = hosted.admin.lock().await;
        let source = self.snapshot_of(&hosted, snapshot).await?;
        let previous = hosted.generation.load(Ordering::Acquire);
        let next = previous + 1;
        let database = self.storage.data_file(&hosted.dir, next);
        let began = std::time::Instant::now();
        self.storage.restore(&source, &database).await?;
        let restored = began.elapsed();
        let runtime = match self.start(name, &database, Setup::Restored, hosted.search_lag_ms.clone()).await {
            Ok(started) => started,
            Err(error) => {
                let _ = self.storage.remove(&database).await;
                return Err(error.into());
            }
        };
        let retired =
            std::mem::replace(&mut *hosted.running.write().unwrap_or_else(|e| e.into_inner()), Arc::new(runtime));
        hosted.generation.store(next, Ordering::Release);
        let (total_ms, restore_ms) = (ms(began.elapsed()), ms(restored));
        tracing::info!(tenant = name, total_ms, restore_ms, start_ms = total_ms - restore_ms, "tenant reset");
        // The generation replaced is closed and removed after the answer: requests still on it
        // finish first, and PostgreSQL takes tens of milliseconds to drop a schema. The tenant's
        // deletion and the server's shutdown wait for it.
        let (tenants, replaced) = (self.clone(), self.storage.data_file(&hosted.dir, previous));
        let retiring = tokio::spawn(async move {
            retired.stop().await;
            if let Err(error) = tenants.storage.retire(&replaced).await {
                tracing::warn!(file = %replaced.display(), error = %format!("{error:#}"), "cannot remove a generation a reset replaced");
            }
        });
        {
            let mut pending = hosted.retiring.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|task| !task.is_finished());
            pending.push(retiring);
        }
        Ok(self.view(&hosted).await?)
    }

    /// Deletes the tenants idle for longer than their time-to-live; checked every second.
    pub fn spawn_expiry(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let tenants = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            loop {
                interval.tick().await;
                let Some(tenants) = tenants.upgrade() else { return };
                let now = time::now();
                let expired: Vec<String> = {
                    let hosted = tenants.hosted.read().unwrap_or_else(|e| e.into_inner());
                    hosted
                        .values()
                        .filter(|t| t.metadata.ttl_seconds > 0)
                        .filter(|t| t.idle_for(now) > Duration::from_secs(t.metadata.ttl_seconds))
                        .map(|t| t.name().to_owned())
                        .collect()
                };
                for name in expired {
                    match tenants.delete(&name).await {
                        Ok(()) => tracing::info!(tenant = name, "deleted a tenant idle past its time-to-live"),
                        Err(error) => tracing::warn!(tenant = name, %error, "cannot delete an expired tenant"),
                    }
                }
            }
        })
    }

    /// Stops every tenant (on shutdown).
    pub async fn stop_all(&self) {
        let hosted: Vec<Arc<Hosted>> =
            self.hosted.write().unwrap_or_else(|e| e.into_inner()).drain().map(|(_, t)| t).collect();
        for tenant in hosted {
            tenant.retired().await;
            tenant.runtime().stop().await;
        }
        for prepared in self.ready.drain() {
            prepare::discard(&self.storage, prepared).await;
        }
        self.storage.stop().await;
    }

    /// The newest generation in `dir`.
    async fn latest_generation(&self, dir: &Path) -> anyhow::Result<Option<u64>> {
        let mut newest = None;
        let mut entries = tokio::fs::read_dir(dir).await?;
        let extension = format!(".{}", self.storage.extension());
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let generation =
                name.to_str().and_then(|n| n.strip_prefix("data-")?.strip_suffix(&extension)?.parse::<u64>().ok());
            newest = newest.max(generation);
        }
        Ok(newest)
    }

    /// The file of one of a tenant's snapshots, or `SnapshotNotFound`.
    async fn snapshot_of(&self, hosted: &Hosted, snapshot: &str) -> Result<PathBuf, TenancyError> {
        let missing =
            || TenancyError::SnapshotNotFound { tenant: hosted.name().to_owned(), snapshot: snapshot.to_owned() };
        self.snapshots(&hosted.dir).await?.remove(snapshot).ok_or_else(missing)
    }

    /// A tenant's snapshots by name, with their files.
    async fn snapshots(&self, dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
        let mut found = BTreeMap::new();
        let mut entries = tokio::fs::read_dir(dir.join(SNAPSHOTS_DIR)).await?;
        let extension = format!(".{}", self.storage.extension());
        while let Some(entry) = entries.next_entry().await? {
            if let Some(name) = entry.file_name().to_str().and_then(|n| n.strip_suffix(&extension)) {
                found.insert(name.to_owned(), entry.path());
            }
        }
        Ok(found)
    }
}

/// A name held by `Tenants::reserve`, released when dropped.
struct Reserved<'a> {
    tenants: &'a Tenants,
    name: String,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.tenants.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
    }
}

/// The name of a tenant its creator did not name.
fn generated_name() -> String {
    format!("t-{}", crate::domain::ids::random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", 10))
}

/// Tenant and snapshot names: a DNS label (they are hosts' first labels and file names).
fn valid_name(name: String) -> Result<String, TenancyError> {
    let label = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if label {
        Ok(name)
    } else {
        Err(TenancyError::BadRequest(format!(
            "invalid name {name:?}: 1 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
        )))
    }
}

/// The metrics' count: the server's own tenant and those hosted.
fn count_tenants(hosted: usize) {
    crate::metrics::metrics().set_tenants(1 + hosted as i64);
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a closed database with its WAL and shared-memory files.
async fn remove_database(path: &Path) {
    for file in [path.to_owned(), with_suffix(path, "-wal"), with_suffix(path, "-shm")] {
        let _ = tokio::fs::remove_file(file).await;
    }
}

/// A restart serves a tenant's newest database file: one is only ever there whole.
async fn copy_durably(from: &Path, to: &Path) -> anyhow::Result<()> {
    let partial = with_suffix(to, ".partial");
    tokio::fs::copy(from, &partial).await?;
    tokio::fs::File::open(&partial).await?.sync_all().await?;
    tokio::fs::rename(&partial, to).await?;
    sync_dir(to.parent().unwrap_or(Path::new("."))).await
}

async fn write_metadata(dir: &Path, metadata: &Metadata) -> anyhow::Result<()> {
    write_durably(&dir.join(METADATA_FILE), &serde_json::to_vec_pretty(metadata)?).await
}

/// Written whole, synced, then renamed into place and the rename synced: a tenant whose
/// creation was answered is served again after a crash.
async fn write_durably(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let partial = with_suffix(path, ".partial");
    let mut file = tokio::fs::File::create(&partial).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, contents).await?;
    file.sync_all().await?;
    tokio::fs::rename(&partial, path).await?;
    sync_dir(path.parent().unwrap_or(Path::new("."))).await
}

/// Makes the entries of `dir` (files created, renamed or removed in it) durable.
async fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    Ok(tokio::fs::File::open(dir).await?.sync_all().await?)
}

/// A duration in milliseconds, as the log's `…_ms` fields give it.
fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
