//! A bounded pool for verification: group operations run on blocking
//! threads, at most `size` at a time, so that they never stall the async
//! workers that serve health checks, status streams and other sessions.
//!
//! When every slot is taken a caller may wait, briefly and in a short line:
//! at most [`WAITING_PER_SLOT`] callers per slot wait, each at most
//! [`MAX_WAIT`]; anyone beyond gets [`PoolBusy`] at once (the daemon
//! answers `503` with `Retry-After`). So a burst of honest wallets is
//! served in turn, while a flood cannot build a queue (each waiter holds a
//! request body) or make honest wallets wait longer than [`MAX_WAIT`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Callers that may wait for a slot, per slot.
pub const WAITING_PER_SLOT: usize = 4;
/// Longest wait for a slot.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// The default pool size: one slot per core.
pub fn default_size() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Every verification slot is in use and the line is full (or the wait
/// ran out); retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every verification slot is in use; retry shortly")]
pub struct PoolBusy;

/// The pool. Cheap to clone (the slots and the line are shared).
#[derive(Debug, Clone)]
pub struct VerifyPool {
    slots: Arc<Semaphore>,
    size: usize,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    max_wait: Duration,
}

/// Counts a waiter for as long as it lives (also when its caller gives up).
struct Waiter(Arc<AtomicUsize>);

impl Drop for Waiter {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl VerifyPool {
    /// A pool of `size` slots (at least one) with the default line
    /// ([`WAITING_PER_SLOT`] per slot, [`MAX_WAIT`]).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self::with_line(size, size.saturating_mul(WAITING_PER_SLOT), MAX_WAIT)
    }

    /// A pool of `size` slots (at least one) where at most `max_waiting`
    /// callers wait, each at most `max_wait`.
    pub fn with_line(size: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let size = size.max(1);
        Self {
            slots: Arc::new(Semaphore::new(size)),
            size,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            max_wait,
        }
    }

    /// The number of slots.
    pub fn size(&self) -> usize {
        self.size
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, PoolBusy> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolBusy);
        }
        let _waiter = Waiter(self.waiting.clone());
        match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The wait ran out (or the semaphore closed, which it never is).
            _ => Err(PoolBusy),
        }
    }

    /// Runs `work` on a blocking thread when a slot is free (waiting in
    /// line if there is room, see the module docs), else refuses. The slot
    /// is held until `work` returns, even if the caller stops waiting (a
    /// client that disconnects does not free a slot early).
    pub async fn run<T, F>(&self, work: F) -> Result<T, PoolBusy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.slot().await?;
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

    /// Holds one slot of `pool` until the returned sender is used.
    async fn hold(
        pool: &VerifyPool,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<i32, PoolBusy>>,
    ) {
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let pool = pool.clone();
        let task = tokio::spawn(async move {
            pool.run(move || {
                let _ = started_tx.send(());
                let _ = hold_rx.recv();
                1
            })
            .await
        });
        started_rx.await.unwrap();
        (hold_tx, task)
    }

    #[tokio::test]
    async fn a_full_pool_without_a_line_refuses_at_once() {
        let pool = VerifyPool::with_line(1, 0, Duration::from_secs(60));
        let (release, busy) = hold(&pool).await;
        assert_eq!(pool.run(|| 2).await, Err(PoolBusy));
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(1));
        // The slot is free again.
        assert_eq!(pool.run(|| 3).await, Ok(3));
        assert_eq!(VerifyPool::new(0).size(), 1);
    }

    #[tokio::test]
    async fn the_line_is_bounded_and_served_in_turn() {
        let pool = VerifyPool::with_line(1, 1, Duration::from_secs(60));
        let (release, busy) = hold(&pool).await;
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        // Until the waiter is in line (polling the counter, no sleeps).
        while pool.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // The line is full: the next caller is refused at once.
        assert_eq!(pool.run(|| 3).await, Err(PoolBusy));
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(1));
        assert_eq!(waiter.await.unwrap(), Ok(2));
        assert_eq!(pool.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_waiter_gives_up_when_its_wait_runs_out() {
        // The slot is held until released, so the wait must run out.
        let pool = VerifyPool::with_line(1, 4, Duration::from_millis(10));
        let (release, busy) = hold(&pool).await;
        assert_eq!(pool.run(|| 2).await, Err(PoolBusy));
        assert_eq!(pool.waiting.load(Ordering::Acquire), 0);
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(1));
    }
}
