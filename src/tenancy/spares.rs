//! Things made ahead of need, because making one takes far longer than the rest of creating a
//! tenant: RSA signing keys (tens to hundreds of milliseconds each) and, on PostgreSQL,
//! migrated schemas (a hundred or more). A few are kept ready, made one at a time as they are
//! taken.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

type Make<T> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send>> + Send + Sync>;

pub struct Spares<T> {
    shared: Arc<Shared<T>>,
    make: Make<T>,
}

struct Shared<T> {
    ready: Mutex<Vec<T>>,
    /// One was taken, or the spares were dropped.
    taken: Notify,
    dropped: AtomicBool,
}

impl<T: Send + 'static> Spares<T> {
    /// Keeps `ready` of what `make` makes; `what` names them in the log.
    pub fn start<F>(ready: usize, what: &'static str, make: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        let make: Make<T> = Arc::new(move || Box::pin(make()));
        let shared =
            Arc::new(Shared { ready: Mutex::new(Vec::new()), taken: Notify::new(), dropped: AtomicBool::new(false) });
        // Lives as long as the spares: it stops once they are dropped.
        tokio::spawn(fill(shared.clone(), ready, what, make.clone()));
        Self { shared, make }
    }

    /// One never handed out before: a ready one, else one made now.
    pub async fn take(&self) -> anyhow::Result<T> {
        let ready = self.shared.ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
        self.shared.taken.notify_one();
        match ready {
            Some(spare) => Ok(spare),
            None => (self.make)().await,
        }
    }

    /// Those ready now, no longer kept: none is made after (on shutdown), but one being made
    /// meanwhile is left behind.
    pub fn drain(&self) -> Vec<T> {
        self.stop_making();
        std::mem::take(&mut *self.shared.ready.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<T> Spares<T> {
    fn stop_making(&self) {
        self.shared.dropped.store(true, Ordering::Release);
        self.shared.taken.notify_one();
    }
}

impl<T> Drop for Spares<T> {
    fn drop(&mut self) {
        self.stop_making();
    }
}

async fn fill<T>(shared: Arc<Shared<T>>, ready: usize, what: &'static str, make: Make<T>) {
    while !shared.dropped.load(Ordering::Acquire) {
        if shared.ready.lock().unwrap_or_else(|e| e.into_inner()).len() >= ready {
            shared.taken.notified().await;
            continue;
        }
        match make().await {
            Ok(spare) => shared.ready.lock().unwrap_or_else(|e| e.into_inner()).push(spare),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "making a spare {what} failed");
                // Not in a tight loop: the database may be down for a while.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
