//! Non-blocking operations: one state machine for streaming and whole-response calls.
//! A worker task runs the call; the host polls, drains events, waits, or is notified.
//! Exactly one terminal outcome: done, failed (with its own error) or cancelled.

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::request::Request;
use crate::response::Response;
use crate::stream::Event;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Operation states (values are part of the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending = 0,
    Done = 1,
    Failed = 2,
    Cancelled = 3,
}

pub type NotifyFn = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    phase: Option<Phase>,
    events: VecDeque<Event>,
    response: Option<Response>,
    error: Option<Error>,
    taken: bool,
    /// The worker task has ended (no more events or notifications will come from it).
    task_ended: bool,
}

pub struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    cancel: CancelToken,
    /// Held while the host's notify callback runs, so disabling waits for a running callback.
    notify: Mutex<Option<NotifyFn>>,
    notify_disabled: AtomicBool,
}

thread_local! {
    /// The operation whose notify callback is running on this thread (to avoid self-deadlock
    /// when the callback frees its own operation).
    static IN_NOTIFY: Cell<usize> = const { Cell::new(0) };
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn phase_of(s: &State) -> Phase {
        s.phase.unwrap_or(Phase::Pending)
    }

    fn push_event(&self, ev: Event) {
        let was_empty = {
            let mut s = self.lock();
            if Self::phase_of(&s) != Phase::Pending {
                return; // cancelled: nothing more is delivered
            }
            let was_empty = s.events.is_empty();
            s.events.push_back(ev);
            was_empty
        };
        self.cond.notify_all();
        if was_empty {
            self.call_notify();
        }
    }

    fn finish(&self, result: Result<Response>) {
        {
            let mut s = self.lock();
            if s.phase.is_none() {
                match result {
                    Ok(r) => {
                        s.response = Some(r);
                        s.phase = Some(Phase::Done);
                    }
                    Err(e) if e.status == crate::error::Status::Cancelled => {
                        s.error = Some(e);
                        s.phase = Some(Phase::Cancelled);
                    }
                    Err(e) => {
                        s.error = Some(e);
                        s.phase = Some(Phase::Failed);
                    }
                }
            } else if let Err(e) = result {
                // Cancelled first: keep what the stream had delivered for take_partial.
                if let Some(err) = &mut s.error {
                    if err.partial.is_none() {
                        err.partial = e.partial;
                    }
                }
            }
            s.task_ended = true;
        }
        self.cond.notify_all();
        self.call_notify();
    }

    /// Idempotent, any thread. The outcome becomes Cancelled at once if still pending; the
    /// worker drops the request (closing the connection) as soon as it sees the token.
    pub fn cancel(&self) {
        self.cancel.cancel();
        let changed = {
            let mut s = self.lock();
            if s.phase.is_none() {
                s.phase = Some(Phase::Cancelled);
                s.error = Some(Error::cancelled("the operation was cancelled"));
                true
            } else {
                false
            }
        };
        if changed {
            self.cond.notify_all();
        }
    }

    fn call_notify(&self) {
        if self.notify_disabled.load(Ordering::SeqCst) {
            return;
        }
        let g = self.notify.lock().unwrap_or_else(|p| p.into_inner());
        if self.notify_disabled.load(Ordering::SeqCst) {
            return;
        }
        if let Some(f) = g.as_ref() {
            let me = self as *const Shared as usize;
            IN_NOTIFY.with(|c| c.set(me));
            // A panicking host callback must not take the worker thread down with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f()));
            IN_NOTIFY.with(|c| c.set(0));
        }
    }

    /// After this returns, the notify callback is not running and will never run again.
    pub fn disable_notify(&self) {
        self.notify_disabled.store(true, Ordering::SeqCst);
        let me = self as *const Shared as usize;
        if IN_NOTIFY.with(|c| c.get()) == me {
            return; // called from inside our own callback: it is running, but ends right after
        }
        *self.notify.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Ends an operation whose worker task did not reach its end.
struct FinishGuard(Option<Arc<Shared>>);

impl FinishGuard {
    /// The task reached its end and finishes the operation itself.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for FinishGuard {
    fn drop(&mut self) {
        let Some(sh) = self.0.take() else { return };
        if std::thread::panicking() {
            sh.finish(Err(Error::new(
                crate::error::Status::Panic,
                "internal error: the operation's worker panicked (please report it)",
            )));
        } else {
            // Runtime shutdown: the host is tearing down, so no notify callback runs here (it
            // could land on the thread calling aoai_shutdown); waiters are still woken.
            sh.notify_disabled.store(true, Ordering::SeqCst);
            sh.finish(Err(Error::new(
                crate::error::Status::Shutdown,
                "the library was shut down (aoai_shutdown) while the operation ran",
            )));
        }
    }
}

/// A running or finished call.
pub struct Operation {
    shared: Arc<Shared>,
}

impl Operation {
    /// Starts a call on the library runtime. Never blocks.
    pub fn start(
        client: &Client,
        req: Request,
        stream: bool,
        notify: Option<NotifyFn>,
    ) -> Result<Operation> {
        crate::runtime::check_epoch(client.inner.epoch)?;
        req.check_complete()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            cancel: CancelToken::new(),
            notify: Mutex::new(notify),
            notify_disabled: AtomicBool::new(false),
        });
        client.register_op(&shared);
        let task_shared = shared.clone();
        let task_client = client.clone();
        // If the task is dropped unfinished (aoai_shutdown stops the runtime, even before its
        // first poll) or panics, the guard it owns still gives the operation its one terminal
        // outcome, so waiters never hang.
        let mut guard = FinishGuard(Some(task_shared.clone()));
        client.handle().spawn(async move {
            let sh = task_shared.clone();
            let mut sink = move |ev: Event| {
                sh.push_event(ev);
                true
            };
            let r = task_client
                .execute(&req, stream, &mut sink, &task_shared.cancel)
                .await;
            guard.disarm();
            task_shared.finish(r);
        });
        Ok(Operation { shared })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn phase(&self) -> Phase {
        Shared::phase_of(&self.shared.lock())
    }

    pub fn next_event(&self) -> Option<Event> {
        self.shared.lock().events.pop_front()
    }

    pub fn queued_events(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// Waits until the operation has ended or `timeout` passed; true when it has ended.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.wait_until(timeout, |s| s.phase.is_some())
    }

    /// Waits until an event is queued or the operation has ended.
    pub fn wait_event(&self, timeout: Option<Duration>) -> bool {
        self.wait_until(timeout, |s| s.phase.is_some() || !s.events.is_empty())
    }

    fn wait_until(&self, timeout: Option<Duration>, ready: impl Fn(&State) -> bool) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = self.shared.lock();
        loop {
            if ready(&s) {
                return true;
            }
            match deadline {
                None => s = self.shared.cond.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    s = self
                        .shared
                        .cond
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    pub fn cancel(&self) {
        self.shared.cancel();
    }

    /// The response of a finished operation, once.
    pub fn take_response(&self) -> Result<Response> {
        let mut s = self.shared.lock();
        match Shared::phase_of(&s) {
            Phase::Pending => Err(Error::state(
                "the operation is still running: wait for it or poll until it is done",
            )),
            Phase::Done => {
                if s.taken {
                    return Err(Error::state("the response was already taken"));
                }
                s.taken = true;
                s.response
                    .take()
                    .ok_or_else(|| Error::state("the response was already taken"))
            }
            Phase::Failed | Phase::Cancelled => {
                let e = s
                    .error
                    .clone()
                    .unwrap_or_else(|| Error::cancelled("the operation was cancelled"));
                Err(Error::state(format!(
                    "the operation did not succeed ({}): {}",
                    e.status.as_str(),
                    e.message
                )))
            }
        }
    }

    /// What a failed or cancelled stream had delivered, assembled like a response, once.
    /// Right after a cancel the worker may still be handing its partial over: wait for it
    /// briefly (it ends at its next poll, normally well under a millisecond).
    pub fn take_partial_response(&self) -> Result<Response> {
        let mut s = self.shared.lock();
        let deadline = Instant::now() + Duration::from_secs(2);
        while s.phase.is_some() && !s.task_ended {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s = self
                .shared
                .cond
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        match Shared::phase_of(&s) {
            Phase::Pending => Err(Error::state("the operation is still running")),
            Phase::Done => Err(Error::state(
                "the operation succeeded: take the whole response instead",
            )),
            Phase::Failed | Phase::Cancelled => {
                if s.taken {
                    return Err(Error::state("the partial response was already taken"));
                }
                let partial = s.error.as_mut().and_then(|e| e.partial.take());
                match partial {
                    Some(p) => {
                        s.taken = true;
                        Ok(Arc::try_unwrap(p).unwrap_or_else(|a| (*a).clone()))
                    }
                    None => Err(Error::state(
                        "nothing was received before the operation ended",
                    )),
                }
            }
        }
    }

    /// The error of a failed or cancelled operation.
    pub fn error(&self) -> Option<Error> {
        let s = self.shared.lock();
        match Shared::phase_of(&s) {
            Phase::Failed | Phase::Cancelled => s.error.clone(),
            _ => None,
        }
    }

    /// Whether the worker task has ended (after cancel it may still be closing the connection).
    pub fn task_ended(&self) -> bool {
        self.shared.lock().task_ended
    }

    /// Replaces the notify callback. Refused from inside this operation's own callback (its
    /// lock is held there).
    pub fn set_notify(&self, f: Option<NotifyFn>) -> Result<()> {
        if IN_NOTIFY.with(|c| c.get()) == Arc::as_ptr(&self.shared) as usize {
            return Err(Error::new(
                crate::error::Status::WrongThread,
                "aoai_op_set_notify cannot be called from the operation's own notify callback",
            ));
        }
        let mut g = self.shared.notify.lock().unwrap_or_else(|p| p.into_inner());
        *g = f;
        drop(g);
        // Events or the end may already be there: tell the new callback at once.
        let pending_work = {
            let s = self.shared.lock();
            !s.events.is_empty() || s.phase.is_some()
        };
        if pending_work {
            let sh = self.shared.clone();
            // Notify from a worker thread, as promised, never from the caller's thread.
            if let Ok((h, _)) = crate::runtime::handle() {
                h.spawn(async move { sh.call_notify() });
            }
        }
        Ok(())
    }
}

impl Drop for Operation {
    /// Dropping the handle cancels a running call and silences its callback.
    fn drop(&mut self) {
        self.shared.cancel();
        self.shared.disable_notify();
    }
}
