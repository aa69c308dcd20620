//! A bounded pool for verification: group operations run on blocking
//! threads, at most `size` at a time, so that they never stall the async
//! workers that serve health checks, status streams and other sessions.
//!
//! When every slot is taken the caller gets [`PoolBusy`] at once (the
//! daemon answers `503` with `Retry-After`) instead of a place in a queue:
//! a queue without bound is memory an attacker can fill, and a wallet
//! retries anyway.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// The default pool size: one slot per core.
pub fn default_size() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Every verification slot is in use; retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every verification slot is in use; retry shortly")]
pub struct PoolBusy;

/// The pool. Cheap to clone (the slots are shared).
#[derive(Debug, Clone)]
pub struct VerifyPool {
    slots: Arc<Semaphore>,
    size: usize,
}

impl VerifyPool {
    /// A pool of `size` slots (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            slots: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// The number of slots.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `work` on a blocking thread if a slot is free, else refuses.
    /// The slot is held until `work` returns, even if the caller stops
    /// waiting (a client that disconnects does not free a slot early).
    pub async fn run<T, F>(&self, work: F) -> Result<T, PoolBusy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolBusy)?;
        let handle = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        match handle.await {
            Ok(value) => Ok(value),
            // The work panicked: re-raise it here rather than invent a result.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: as good as busy.
            Err(_) => Err(PoolBusy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_instead_of_queueing() {
        let pool = VerifyPool::new(1);
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    let _ = hold_rx.recv();
                    1
                })
                .await
            })
        };
        started_rx.await.unwrap();
        assert_eq!(pool.run(|| 2).await, Err(PoolBusy));
        hold_tx.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(1));
        // The slot is free again.
        assert_eq!(pool.run(|| 3).await, Ok(3));
        assert_eq!(VerifyPool::new(0).size(), 1);
    }
}
