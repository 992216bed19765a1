//! RSA keys generated ahead of need. Generating a 2048-bit key takes tens to hundreds of
//! milliseconds, far more than the rest of creating a tenant; a few are kept ready, made on the
//! blocking pool as they are taken.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::Notify;

use crate::auth::keys;
use crate::store::SigningKey;

/// Keys kept ready: a burst of this many tenant creations waits for none.
const READY: usize = 4;

pub struct SpareKeys {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    ready: Mutex<Vec<SigningKey>>,
    taken: Notify,
}

impl SpareKeys {
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let filling = shared.clone();
        // Lives as long as the server.
        tokio::spawn(async move {
            let shared = filling;
            loop {
                if shared.ready.lock().unwrap_or_else(|e| e.into_inner()).len() >= READY {
                    shared.taken.notified().await;
                    continue;
                }
                match tokio::task::spawn_blocking(keys::generate).await {
                    Ok(Ok(key)) => shared.ready.lock().unwrap_or_else(|e| e.into_inner()).push(key),
                    _ => tracing::warn!("generating a spare signing key failed"),
                }
            }
        });
        Self { shared }
    }

    /// A key never handed out before: a ready one, else one made now.
    pub async fn take(&self) -> anyhow::Result<SigningKey> {
        let ready = self.shared.ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
        self.shared.taken.notify_one();
        match ready {
            Some(key) => Ok(key),
            None => tokio::task::spawn_blocking(keys::generate).await.context("key generation task failed")?,
        }
    }
}
