//! Blocking calls on the caller's thread.

use super::client::AoaiClient;
use super::event::AoaiEvent;
use super::request::AoaiRequest;
use super::response::AoaiResponse;
use super::strings::owned_cstring;
use super::{arg_out, arg_ref, arg_str, ffi_status, into_raw};
use crate::cancel::CancelToken;
use crate::config::Operation;
use crate::error::{Error, Status};
use crate::request::{Request, Role};
use crate::stream::Event;
use std::ffi::{c_char, c_void};

/// Return from a stream callback to go on.
pub const AOAI_CONTINUE: i32 = 0;
/// Return from a stream callback to stop: the connection is closed and the call returns
/// AOAI_STATUS_CANCELLED.
pub const AOAI_STOP: i32 = 1;

/// Stream callback: runs on the thread that called aoai_client_stream, once per event, in
/// order. `event` is borrowed for the call only. Return AOAI_CONTINUE or AOAI_STOP. It must
/// not call blocking aoai functions with the same client recursively.
pub type AoaiEventCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const AoaiEvent) -> i32>;

fn one_liner(
    client: *const AoaiClient,
    prompt: *const c_char,
    text_out: *mut *mut c_char,
    op: Operation,
) -> crate::Result<()> {
    let out = unsafe { arg_out(text_out, "text_out") }?;
    let c = unsafe { arg_ref(client, "client") }?;
    let prompt = unsafe { arg_str(prompt, "prompt") }?;
    let mut req = Request::new(op);
    match op {
        Operation::Chat => req.add_message(Role::User, prompt)?,
        _ => req.set_prompt(prompt)?,
    }
    let resp = c
        .client
        .call_blocking(&req, false, &mut |_| true, &CancelToken::new())?;
    let text = resp
        .choices
        .first()
        .and_then(|c| c.text.clone())
        .unwrap_or_default();
    *out = owned_cstring(&text);
    Ok(())
}

/// The one-liner: sends `prompt` as one user message to the configured deployment and puts
/// the text of choice 0 in `*text_out` (owned: free with aoai_string_free; "" when the
/// model returned no text). Blocks the calling thread.
/// Thread-safe on a shared client; from a library callback thread it returns
/// AOAI_STATUS_WRONG_THREAD.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_chat_simple(
    client: *const AoaiClient,
    prompt: *const c_char,
    text_out: *mut *mut c_char,
) -> Status {
    ffi_status!(aoai_chat_simple, {
        one_liner(client, prompt, text_out, Operation::Chat)
    })
}

/// The legacy-completions one-liner: like aoai_chat_simple with the completions endpoint.
/// Thread-safe on a shared client; from a library callback thread it returns
/// AOAI_STATUS_WRONG_THREAD.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_completion_simple(
    client: *const AoaiClient,
    prompt: *const c_char,
    text_out: *mut *mut c_char,
) -> Status {
    ffi_status!(aoai_completion_simple, {
        one_liner(client, prompt, text_out, Operation::Completion)
    })
}

/// Sends a request and waits for the whole response, put in `*resp_out` (free with
/// aoai_response_free). Retries as configured. Blocks the calling thread; use
/// aoai_client_start for a cancellable, non-blocking call.
/// Thread-safe on a shared client; from a library callback thread it returns
/// AOAI_STATUS_WRONG_THREAD.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_send(
    client: *const AoaiClient,
    req: *const AoaiRequest,
    resp_out: *mut *mut AoaiResponse,
) -> Status {
    ffi_status!(aoai_client_send, {
        let out = arg_out(resp_out, "resp_out")?;
        let c = arg_ref(client, "client")?;
        let r = arg_ref(req, "req")?;
        let resp = c
            .client
            .call_blocking(&r.req, false, &mut |_| true, &CancelToken::new())?;
        *out = into_raw(AoaiResponse::new(resp));
        Ok(())
    })
}

/// Streams a chat or completion request: `callback` runs on this thread for each event as
/// it arrives. At the end the assembled response goes to `*resp_out` if `resp_out` is not
/// NULL (free it with aoai_response_free). If the callback returns AOAI_STOP the connection
/// is closed and AOAI_STATUS_CANCELLED is returned.
/// `callback` is required; the event and its strings are valid only during the callback.
/// Embeddings give AOAI_STATUS_INVALID_ARGUMENT; a library callback thread gets
/// AOAI_STATUS_WRONG_THREAD.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_stream(
    client: *const AoaiClient,
    req: *const AoaiRequest,
    callback: AoaiEventCallback,
    user_data: *mut c_void,
    resp_out: *mut *mut AoaiResponse,
) -> Status {
    ffi_status!(aoai_client_stream, {
        let c = arg_ref(client, "client")?;
        let r = arg_ref(req, "req")?;
        let Some(cb) = callback else {
            return Err(Error::new(
                Status::NullArgument,
                "argument 'callback' is NULL",
            ));
        };
        if r.req.op == Operation::Embedding {
            return Err(Error::invalid_arg("embeddings cannot be streamed"));
        }
        let ud = user_data as usize;
        let mut sink = move |ev: Event| {
            let e = AoaiEvent::new(ev);
            // The callback is the host's code: it must not unwind into us (C cannot).
            cb(ud as *mut c_void, &e) == AOAI_CONTINUE
        };
        let resp = c
            .client
            .call_blocking(&r.req, true, &mut sink, &CancelToken::new())?;
        if let Some(out) = resp_out.as_mut() {
            *out = into_raw(AoaiResponse::new(resp));
        }
        Ok(())
    })
}
