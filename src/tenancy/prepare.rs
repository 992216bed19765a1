//! A tenant made and set up, with its initial snapshot, not yet served.
//!
//! Making one is a database copied (SQLite) or renamed (PostgreSQL) from a migrated template, its
//! setup written (a signing key, the management client and grant, three connections), a tenant
//! file applied if one is given, and the initial snapshot: ~15 ms on SQLite, most of it waiting
//! for the disk's syncs, and ~90 ms on PostgreSQL, most of it copying the tables for the
//! snapshot. So a create that names neither a tenant nor a tenant file (as the fixtures in
//! `docs/examples` do) takes one made ahead of need (`Tenants::ready`) and only writes the
//! tenant's metadata before serving it. Its name is chosen when it is made, as such a create
//! would choose it: the name is in its database (the management grant's audience) and snapshot.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::spares::Spares;
use super::storage::Storage;
use super::{INITIAL_SNAPSHOT, SNAPSHOTS_DIR, TenancyConfig, TenancyError, ms, sync_dir};
use crate::auth::keys::KeyRing;
use crate::store::{SigningKey, Store};

pub(super) struct Prepared {
    pub name: String,
    /// The tenant's directory, with its database and initial snapshot; no metadata yet, so a
    /// restart removes it (`remove_unfinished`).
    pub dir: PathBuf,
    pub store: Arc<Store>,
    pub keys: KeyRing,
    pub client_id: String,
    /// The management client's secret, shown once, in the create's answer.
    pub secret: Option<String>,
}

/// Makes the tenant `name` in its own directory: refused with `NameTaken` when the directory
/// exists. Nothing is left behind when it fails.
pub(super) async fn prepare(
    storage: &Storage,
    keys: &Spares<SigningKey>,
    config: &TenancyConfig,
    name: String,
    tenant_file: Option<String>,
) -> Result<Prepared, TenancyError> {
    let dir = config.dir.join(&name);
    claim_dir(&dir, &name).await?;
    let made = make(storage, keys, config, &name, &dir, tenant_file).await;
    match made {
        Ok((store, tenant)) => Ok(Prepared {
            name,
            dir,
            store,
            keys: tenant.keys,
            client_id: tenant.client_id,
            secret: tenant.generated_secret,
        }),
        Err(error) => {
            if let Err(left) = storage.remove_all(&dir).await {
                tracing::warn!(tenant = name, error = %format!("{left:#}"), "cannot remove a tenant not created");
            }
            Err(error)
        }
    }
}

/// Makes the directory of the tenant `name`, empty: `NameTaken` when it exists (a tenant's, or
/// one a tenant left that could not be served again).
pub(super) async fn claim_dir(dir: &std::path::Path, name: &str) -> Result<(), TenancyError> {
    match tokio::fs::create_dir(dir).await {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(TenancyError::NameTaken(name.to_owned()))
        }
        made => Ok(made.context("cannot create the tenant's directory")?),
    }
}

async fn make(
    storage: &Storage,
    keys: &Spares<SigningKey>,
    config: &TenancyConfig,
    name: &str,
    dir: &std::path::Path,
    tenant_file: Option<String>,
) -> Result<(Arc<Store>, crate::tenant::Tenant), TenancyError> {
    let began = Instant::now();
    tokio::fs::create_dir(dir.join(SNAPSHOTS_DIR)).await.context("cannot create the tenant's directory")?;
    let database = storage.data_file(dir, 1);
    storage.create(&database).await?;
    let store = storage.open_store(&database, false).await?;
    let made = began.elapsed();
    let issuer = config.issuer(name);
    let set_up = async {
        let tenant = crate::tenant::bootstrap_new(&store, &issuer, keys.take().await?).await?;
        let bootstrapped = began.elapsed();
        if let Some(text) = tenant_file {
            apply_tenant_file(&store, &issuer, &config.domain(name), dir, text).await?;
        }
        let applied = began.elapsed();
        // The tenants directory's entry for this one, synced while the snapshot is taken.
        let initial = storage.snapshot_file(dir, INITIAL_SNAPSHOT);
        tokio::try_join!(storage.snapshot(&store, &database, &initial), sync_dir(&config.dir))?;
        tracing::debug!(
            tenant = name,
            total_ms = ms(began.elapsed()),
            database_ms = ms(made),
            setup_ms = ms(bootstrapped - made),
            tenant_file_ms = ms(applied - bootstrapped),
            snapshot_ms = ms(began.elapsed() - applied),
            "tenant prepared"
        );
        Ok::<_, TenancyError>(tenant)
    };
    match set_up.await {
        Ok(tenant) => Ok((store, tenant)),
        Err(error) => {
            store.close().await;
            Err(error)
        }
    }
}

async fn apply_tenant_file(
    store: &Store,
    issuer: &crate::auth::token::Issuer,
    domain: &str,
    dir: &std::path::Path,
    text: String,
) -> Result<(), TenancyError> {
    let file = dir.join("tenant-file.yaml");
    tokio::fs::write(&file, text).await.context("cannot keep the tenant file")?;
    let applied = crate::seed::apply_file(store, issuer, domain, &file).await;
    let _ = tokio::fs::remove_file(&file).await;
    applied.map(drop).map_err(|error| match error.downcast::<crate::seed::Refused>() {
        // Named as the request names it, not by the server's copy of it.
        Ok(mut refused) => {
            refused.file = "tenant_file".to_owned();
            TenancyError::TenantFile(refused.to_string())
        }
        Err(error) => TenancyError::Other(error),
    })
}

/// Closes a tenant made and not served, and removes it.
pub(super) async fn discard(storage: &Storage, prepared: Prepared) {
    prepared.store.close().await;
    if let Err(error) = storage.remove_all(&prepared.dir).await {
        tracing::warn!(tenant = prepared.name, error = %format!("{error:#}"), "cannot remove a tenant not served");
    }
}

/// Removes the tenants whose creation never ended: a directory without metadata, left by a
/// crash or by a stop while tenants made ahead were waiting. Run at start, before any is made.
pub(super) async fn remove_unfinished(storage: &Storage, config: &TenancyConfig) -> anyhow::Result<()> {
    let mut entries = tokio::fs::read_dir(&config.dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let dir = entry.path();
        if !entry.file_type().await?.is_dir() || tokio::fs::try_exists(dir.join(super::METADATA_FILE)).await? {
            continue;
        }
        match storage.remove_all(&dir).await {
            Ok(()) => tracing::info!(dir = %dir.display(), "removed a tenant whose creation never ended"),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), error = %format!("{error:#}"), "cannot remove an unfinished tenant")
            }
        }
    }
    Ok(())
}
