//! Non-blocking operations. An operation handle may be used from one thread at a time, except
//! aoai_op_cancel, which any thread may call at any time.

use super::client::AoaiClient;
use super::error::AoaiError;
use super::event::AoaiEvent;
use super::request::AoaiRequest;
use super::response::AoaiResponse;
use super::{arg_mut, arg_out, arg_ref, ffi_status, ffi_value, from_raw, into_raw};
use crate::error::{Error, Status};
use crate::op::{Operation, Phase};
use std::ffi::c_void;
use std::sync::OnceLock;
use std::time::Duration;

/// Flag for aoai_client_start: stream the answer as events.
pub const AOAI_START_STREAM: i32 = 1;

/// Operation states from aoai_op_poll.
pub const AOAI_OP_PENDING: i32 = 0;
pub const AOAI_OP_DONE: i32 = 1;
pub const AOAI_OP_FAILED: i32 = 2;
pub const AOAI_OP_CANCELLED: i32 = 3;

// cbindgen writes only literal constants; this check ties them to the core's enum.
const _: () = assert!(
    AOAI_OP_PENDING == Phase::Pending as i32
        && AOAI_OP_DONE == Phase::Done as i32
        && AOAI_OP_FAILED == Phase::Failed as i32
        && AOAI_OP_CANCELLED == Phase::Cancelled as i32
);

/// Notify callback: runs on a library worker thread when the event queue becomes non-empty and
/// once when the operation ends. It should only signal (set a flag, post to a queue, complete
/// a promise) and return: it must not block, must not call blocking aoai functions
/// (aoai_op_wait, aoai_client_send: they return AOAI_STATUS_WRONG_THREAD there), and may call
/// aoai_op_poll, aoai_op_next_event, aoai_op_cancel. It never runs after aoai_op_free or the
/// client's aoai_client_free has returned.
pub type AoaiNotifyCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, op: *mut AoaiOp)>;

/// A running or finished call. Free with aoai_op_free. One thread at a time, except
/// aoai_op_cancel from any thread; it may outlive its client (then it is cancelled).
pub struct AoaiOp {
    op: Operation,
    /// The operation's own error, made once it has ended (so its pointer stays valid).
    error: OnceLock<Box<AoaiError>>,
}

fn notify_fn(
    cb: Option<unsafe extern "C" fn(*mut c_void, *mut AoaiOp)>,
    ud: *mut c_void,
    op: *mut AoaiOp,
) -> Option<crate::op::NotifyFn> {
    let f = cb?;
    let (ud, op) = (ud as usize, op as usize);
    Some(std::sync::Arc::new(move || unsafe {
        f(ud as *mut c_void, op as *mut AoaiOp)
    }))
}

fn timeout(ms: i32) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// Starts a call without blocking; the handle goes to `*op_out`. `flags`: 0, or
/// AOAI_START_STREAM to receive events. `notify` may be NULL (poll instead); see
/// AoaiNotifyCallback. The request is copied: free it whenever you like.
/// Free `*op_out` with aoai_op_free. `user_data` must stay valid until aoai_op_free or the
/// client's aoai_client_free has returned. An incomplete request fails here with
/// AOAI_STATUS_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_start(
    client: *const AoaiClient,
    req: *const AoaiRequest,
    flags: i32,
    notify: AoaiNotifyCallback,
    user_data: *mut c_void,
    op_out: *mut *mut AoaiOp,
) -> Status {
    ffi_status!(aoai_client_start, {
        let out = arg_out(op_out, "op_out")?;
        let c = arg_ref(client, "client")?;
        let r = arg_ref(req, "req")?;
        if flags & !AOAI_START_STREAM != 0 {
            return Err(Error::invalid_arg(format!(
                "unknown flags 0x{flags:x}: only AOAI_START_STREAM (1) is defined"
            )));
        }
        let stream = flags & AOAI_START_STREAM != 0;
        if stream && r.req.op == crate::config::Operation::Embedding {
            return Err(Error::invalid_arg("embeddings cannot be streamed"));
        }
        let op = Operation::start(&c.client, r.req.clone(), stream, None)?;
        let raw = into_raw(AoaiOp {
            op,
            error: OnceLock::new(),
        });
        // The callback is installed once the handle exists, so it never sees a half-made op;
        // set_notify calls it at once if events already arrived.
        if let Some(f) = notify_fn(notify, user_data, raw) {
            (*raw).op.set_notify(Some(f))?;
        }
        *out = raw;
        Ok(())
    })
}

/// The state in `*state_out`: AOAI_OP_PENDING, _DONE, _FAILED or _CANCELLED. Never blocks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_poll(op: *const AoaiOp, state_out: *mut i32) -> Status {
    ffi_status!(aoai_op_poll, {
        let out = arg_out(state_out, "state_out")?;
        *out = arg_ref(op, "op")?.op.phase() as i32;
        Ok(())
    })
}

/// Takes the next queued event into `*event_out` (free with aoai_event_free), or returns
/// AOAI_STATUS_EMPTY when none is queued right now. Events stay available after the end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_next_event(
    op: *mut AoaiOp,
    event_out: *mut *mut AoaiEvent,
) -> Status {
    ffi_status!(aoai_op_next_event, {
        let out = arg_out(event_out, "event_out")?;
        let o = arg_mut(op, "op")?;
        match o.op.next_event() {
            Some(ev) => {
                *out = into_raw(AoaiEvent::new(ev));
                Ok(())
            }
            None => Err(Error::new(Status::Empty, "no event is queued right now")),
        }
    })
}

/// Waits until the operation has ended: AOAI_STATUS_OK then (poll tells how it ended), or
/// AOAI_STATUS_TIMEOUT after `timeout_ms` (-1 waits forever). Not from a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_wait(op: *const AoaiOp, timeout_ms: i32) -> Status {
    ffi_status!(aoai_op_wait, {
        let o = arg_ref(op, "op")?;
        check_not_worker("aoai_op_wait")?;
        if o.op.wait(timeout(timeout_ms)) {
            Ok(())
        } else {
            Err(Error::new(
                Status::Timeout,
                format!("the operation is still running after {timeout_ms} ms"),
            ))
        }
    })
}

/// Waits until an event is queued or the operation has ended (AOAI_STATUS_OK), or
/// AOAI_STATUS_TIMEOUT after `timeout_ms` (-1 waits forever). Not from a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_wait_event(op: *const AoaiOp, timeout_ms: i32) -> Status {
    ffi_status!(aoai_op_wait_event, {
        let o = arg_ref(op, "op")?;
        check_not_worker("aoai_op_wait_event")?;
        if o.op.wait_event(timeout(timeout_ms)) {
            Ok(())
        } else {
            Err(Error::new(
                Status::Timeout,
                format!("no event within {timeout_ms} ms"),
            ))
        }
    })
}

/// Cancels: the connection is closed and, if it had not ended yet, the outcome is
/// AOAI_OP_CANCELLED at once. Idempotent; any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_cancel(op: *const AoaiOp) -> Status {
    ffi_status!(aoai_op_cancel, {
        arg_ref(op, "op")?.op.cancel();
        Ok(())
    })
}

/// Moves the response of a DONE operation into `*resp_out` (free with aoai_response_free).
/// Once only: a second call, or a call before DONE, is AOAI_STATUS_INVALID_STATE.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_take_response(
    op: *mut AoaiOp,
    resp_out: *mut *mut AoaiResponse,
) -> Status {
    ffi_status!(aoai_op_take_response, {
        let out = arg_out(resp_out, "resp_out")?;
        let o = arg_mut(op, "op")?;
        *out = into_raw(AoaiResponse::new(o.op.take_response()?));
        Ok(())
    })
}

/// For a FAILED or CANCELLED stream: what arrived before the end, assembled like a
/// response (text so far, finished tool calls), into `*resp_out`. Once only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_take_partial_response(
    op: *mut AoaiOp,
    resp_out: *mut *mut AoaiResponse,
) -> Status {
    ffi_status!(aoai_op_take_partial_response, {
        let out = arg_out(resp_out, "resp_out")?;
        let o = arg_mut(op, "op")?;
        *out = into_raw(AoaiResponse::new(o.op.take_partial_response()?));
        Ok(())
    })
}

/// Sets or replaces (NULL removes) the notify callback. If events are queued or the
/// operation has ended it is called soon, on a worker thread. Not from the operation's own
/// notify callback (AOAI_STATUS_WRONG_THREAD).
/// Returns once the previous callback is not running; its `user_data` may then be released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_set_notify(
    op: *mut AoaiOp,
    notify: AoaiNotifyCallback,
    user_data: *mut c_void,
) -> Status {
    ffi_status!(aoai_op_set_notify, {
        let o = arg_mut(op, "op")?;
        let f = notify_fn(notify, user_data, o as *mut AoaiOp);
        o.op.set_notify(f)
    })
}

/// 1 in `*finished_out` when the operation's worker has fully ended (after a cancel it may
/// still be closing the connection for a moment), else 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_is_finished(op: *const AoaiOp, finished_out: *mut i32) -> Status {
    ffi_status!(aoai_op_is_finished, {
        let out = arg_out(finished_out, "finished_out")?;
        *out = arg_ref(op, "op")?.op.task_ended() as i32;
        Ok(())
    })
}

fn check_not_worker(name: &str) -> crate::Result<()> {
    if crate::runtime::on_runtime_thread() {
        return Err(Error::new(
            Status::WrongThread,
            format!(
                "{name} cannot be called from a library callback thread: it would block the thread that completes the operation"
            ),
        ));
    }
    Ok(())
}

/// The error of a FAILED or CANCELLED operation (its own object, valid until aoai_op_free;
/// independent of any thread's last error); NULL while pending or when DONE.
/// Its strings are borrowed from the operation; readable from any thread. NULL `op` gives NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_error(op: *const AoaiOp) -> *const AoaiError {
    ffi_value!(aoai_op_error, std::ptr::null(), {
        let Some(o) = op.as_ref() else {
            return Ok(std::ptr::null());
        };
        if let Some(e) = o.error.get() {
            return Ok(&**e);
        }
        match o.op.error() {
            Some(e) => Ok(&**o.error.get_or_init(|| Box::new(AoaiError::new(e)))),
            None => Ok(std::ptr::null()),
        }
    })
}

/// Frees an operation: cancels it if still running and returns only when its notify
/// callback is not running and never will again. NULL is a no-op. From inside its own
/// notify callback it is allowed (the callback ends right after).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_op_free(op: *mut AoaiOp) {
    ffi_value!(aoai_op_free, (), {
        drop(from_raw(op));
        Ok(())
    })
}
