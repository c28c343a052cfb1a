//! The one tokio runtime the library owns. Created on first use, stopped by `shutdown`
//! (after which clients created before fail with `Status::Shutdown`; new clients start a
//! fresh runtime).

use crate::error::{Error, Result, Status};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
static EPOCH: AtomicU64 = AtomicU64::new(1);

fn worker_threads() -> usize {
    std::env::var("AOAI_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(2)
        })
}

/// The runtime handle and the epoch it belongs to.
pub fn handle() -> Result<(Handle, u64)> {
    let mut g = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if g.is_none() {
        let rt = Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("aoai-worker")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| {
                Error::new(
                    Status::Connection,
                    format!("cannot start the I/O runtime: {e}"),
                )
            })?;
        *g = Some(rt);
    }
    let h = g.as_ref().map(|rt| rt.handle().clone()).expect("set above");
    Ok((h, EPOCH.load(Ordering::SeqCst)))
}

/// Errors with `Shutdown` when the runtime a client was made on has been stopped.
pub fn check_epoch(epoch: u64) -> Result<()> {
    let alive = RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    if !alive || EPOCH.load(Ordering::SeqCst) != epoch {
        return Err(Error::new(
            Status::Shutdown,
            "the library was shut down (aoai_shutdown) after this client was created: create a new client",
        ));
    }
    Ok(())
}

/// Whether the current thread is one of the library's runtime threads (a callback thread).
pub fn on_runtime_thread() -> bool {
    Handle::try_current().is_ok()
}

/// Runs a future to completion on the calling thread, driven by the library runtime.
/// Refused on runtime threads (a callback), where it would deadlock or panic.
pub fn block_on<F: Future>(handle: &Handle, fut: F) -> Result<F::Output> {
    if on_runtime_thread() {
        return Err(Error::new(
            Status::WrongThread,
            "a blocking aoai call was made from a library callback thread; use the non-blocking API (aoai_client_start) there",
        ));
    }
    Ok(handle.block_on(fut))
}

/// Stops the runtime: running operations are dropped (their connections closed), worker
/// threads end within a few seconds. Safe to call more than once.
pub fn shutdown() -> Result<()> {
    if on_runtime_thread() {
        return Err(Error::new(
            Status::WrongThread,
            "aoai_shutdown cannot be called from a library callback thread",
        ));
    }
    let rt = RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(rt) = rt {
        EPOCH.fetch_add(1, Ordering::SeqCst);
        rt.shutdown_timeout(Duration::from_secs(5));
    }
    Ok(())
}
