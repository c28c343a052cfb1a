//! Hostile input through the C ABI, called from Rust exactly as C would call it.
//!
//! * `every_exported_function_survives_hostile_input` runs one entry per function of
//!   include/aoai.h (NULL in each pointer argument, invalid UTF-8, out-of-range values, bad
//!   JSON) and fails when the header exports a function the table does not cover, or when an
//!   entry does not actually call the function it is named after.
//! * The other tests cover what does not fit one function: huge and deeply nested inputs,
//!   interior NULs, calls in the wrong state, callbacks on library threads, freed clients,
//!   the panic hook, and the process-wide functions (`aoai_shutdown`, the log callback), which
//!   run in a child process so they cannot disturb tests running in parallel.
//!
//! Nothing here is undefined behaviour: freed objects are never touched again.

#![allow(clippy::missing_safety_doc)]

mod common;

use aoai::Status;
use aoai::ffi::call::*;
use aoai::ffi::client::*;
use aoai::ffi::error::*;
use aoai::ffi::event::*;
use aoai::ffi::op::*;
use aoai::ffi::request::*;
use aoai::ffi::response::*;
use aoai::ffi::strings::aoai_string_free;
use common::Emulator;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::Mutex;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

thread_local! {
    /// Exported functions called on this thread since the last `take_called`.
    static CALLED: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
}

/// Calls an exported function and records its name (for the coverage check).
macro_rules! c {
    ($f:ident ( $($a:expr),* $(,)? )) => {{
        CALLED.with(|s| s.borrow_mut().insert(stringify!($f)));
        #[allow(unused_unsafe)]
        let r = unsafe { $f($($a),*) };
        r
    }};
}

fn take_called() -> BTreeSet<&'static str> {
    CALLED.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Invalid UTF-8 (a lone continuation byte and 0xFF), NUL-terminated.
const BAD: &CStr = c"bad \xff\x80 utf8";

fn cs(s: &str) -> CString {
    CString::new(s).expect("no NUL in test string")
}

fn last_msg() -> String {
    unsafe { CStr::from_ptr(aoai_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn last_status() -> Status {
    unsafe { aoai_error_status(aoai_last_error()) }
}

/// A borrowed C string from the library (NULL → None), copied.
fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// An owned string from the library, copied and freed.
fn owned(p: *mut c_char) -> String {
    assert!(!p.is_null(), "owned string out is NULL");
    let s = text(p).unwrap();
    unsafe { aoai_string_free(p) };
    s
}

#[track_caller]
fn ok(st: Status) {
    assert_eq!(st, Status::Ok, "expected OK: {}", last_msg());
    assert_eq!(last_status(), Status::Ok, "last error after success");
}

/// `st` is `want`, the thread's last error agrees and its message contains `needle`.
#[track_caller]
fn fails(st: Status, want: Status, needle: &str) {
    let msg = last_msg();
    assert_eq!(st, want, "status (message: {msg})");
    assert_eq!(last_status(), want, "last error status (message: {msg})");
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "message {msg:?} should mention {needle:?}"
    );
}

/// NULL_ARGUMENT whose message names the argument.
#[track_caller]
fn null_arg(st: Status, arg: &str) {
    fails(st, Status::NullArgument, &format!("'{arg}'"));
}

/// INVALID_UTF8 whose message names the argument.
#[track_caller]
fn bad_utf8(st: Status, arg: &str) {
    fails(st, Status::InvalidUtf8, &format!("'{arg}'"));
}

#[track_caller]
fn invalid(st: Status, needle: &str) {
    fails(st, Status::InvalidArgument, needle);
}

#[track_caller]
fn bad_json(st: Status, needle: &str) {
    fails(st, Status::InvalidJson, needle);
}

/// The thread's last error (status and message), to check that an accessor left it alone.
fn last_error_snapshot() -> (Status, String) {
    (last_status(), last_msg())
}

/// Accessors (value-returning functions) never replace the last error: the caller may still
/// be reading strings borrowed from it. A bad argument gives the documented default (NULL).
#[track_caller]
fn unchanged_last_error(before: &(Status, String)) {
    assert_eq!(
        &last_error_snapshot(),
        before,
        "an accessor replaced the last error"
    );
}

/// `n` nested JSON arrays: far deeper than serde_json's recursion limit (128).
fn deep_json(n: usize) -> CString {
    let mut s = String::with_capacity(2 * n);
    s.extend(std::iter::repeat_n('[', n));
    s.extend(std::iter::repeat_n(']', n));
    cs(&s)
}

fn new_opts() -> *mut AoaiOptions {
    let mut o = null_mut();
    ok(c!(aoai_options_new(&mut o)));
    assert!(!o.is_null());
    o
}

/// Options for a client of the emulator, the environment ignored.
fn emu_opts(emu: &Emulator) -> *mut AoaiOptions {
    let o = new_opts();
    ok(c!(aoai_options_set_use_environment(o, 0)));
    ok(c!(aoai_options_set_endpoint(o, cs(&emu.base).as_ptr())));
    ok(c!(aoai_options_set_api_key(
        o,
        cs(common::API_KEY).as_ptr()
    )));
    ok(c!(aoai_options_set_deployment(o, c"gpt-4o".as_ptr())));
    o
}

fn emu_client(emu: &Emulator, extra: impl Fn(*mut AoaiOptions)) -> *mut AoaiClient {
    let o = emu_opts(emu);
    extra(o);
    let mut c = null_mut();
    ok(c!(aoai_client_new(o, &mut c)));
    c!(aoai_options_free(o));
    assert!(!c.is_null());
    c
}

fn chat_req(prompt: &str) -> *mut AoaiRequest {
    let mut r = null_mut();
    ok(c!(aoai_chat_request_new(&mut r)));
    ok(c!(aoai_request_add_message(
        r,
        AOAI_ROLE_USER,
        cs(prompt).as_ptr()
    )));
    r
}

fn send(client: *const AoaiClient, req: *const AoaiRequest) -> *mut AoaiResponse {
    let mut resp = null_mut();
    ok(c!(aoai_client_send(client, req, &mut resp)));
    assert!(!resp.is_null());
    resp
}

fn resp_text(resp: *const AoaiResponse, choice: u32) -> Option<String> {
    text(c!(aoai_response_text(resp, choice, null_mut())))
}

fn req_json(req: *const AoaiRequest) -> Value {
    let mut out = null_mut();
    ok(c!(aoai_request_to_json(req, &mut out)));
    serde_json::from_str(&owned(out)).unwrap()
}

fn start(client: *const AoaiClient, req: *const AoaiRequest, flags: i32) -> *mut AoaiOp {
    let mut op = null_mut();
    ok(c!(aoai_client_start(
        client,
        req,
        flags,
        None,
        null_mut(),
        &mut op
    )));
    assert!(!op.is_null());
    op
}

fn poll(op: *const AoaiOp) -> i32 {
    let mut st = -1;
    ok(c!(aoai_op_poll(op, &mut st)));
    st
}

fn wait(op: *const AoaiOp) {
    ok(c!(aoai_op_wait(op, 20_000)));
}

/// Waits (bounded) until the operation's worker has ended.
fn wait_finished(op: *const AoaiOp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut f = 0;
        ok(c!(aoai_op_is_finished(op, &mut f)));
        if f == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "operation worker did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------------
// The fixture shared by the per-function entries.

struct Fx {
    emu: Emulator,
    client: *mut AoaiClient,
    /// A complete chat request.
    req: *mut AoaiRequest,
    /// A chat response with text and filter results.
    resp: *mut AoaiResponse,
    /// An owned stream event (the first of a stream: the prompt filter event).
    ev: *mut AoaiEvent,
    /// A finished streaming operation (events drained).
    op: *mut AoaiOp,
    /// A failed operation, for its error object.
    failed: *mut AoaiOp,
}

impl Fx {
    fn new() -> Fx {
        let emu = Emulator::start();
        let client = emu_client(&emu, |o| {
            ok(c!(aoai_options_set_max_retries(o, 0)));
        });
        let req = chat_req("hello fixture");
        let resp = send(client, req);
        let op = start(client, req, AOAI_START_STREAM);
        wait(op);
        assert_eq!(poll(op), AOAI_OP_DONE);
        let mut ev = null_mut();
        ok(c!(aoai_op_next_event(op, &mut ev)));
        while {
            let mut e = null_mut();
            let st = c!(aoai_op_next_event(op, &mut e));
            c!(aoai_event_free(e));
            st == Status::Ok
        } {}
        let bad = chat_req("[[emu:status=429;retry-after=3]] no");
        let failed = start(client, bad, 0);
        wait(failed);
        assert_eq!(poll(failed), AOAI_OP_FAILED);
        c!(aoai_request_free(bad));
        Fx {
            emu,
            client,
            req,
            resp,
            ev,
            op,
            failed,
        }
    }

    fn err(&self) -> *const AoaiError {
        let e = c!(aoai_op_error(self.failed));
        assert!(!e.is_null());
        e
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        unsafe {
            aoai_event_free(self.ev);
            aoai_op_free(self.op);
            aoai_op_free(self.failed);
            aoai_response_free(self.resp);
            aoai_request_free(self.req);
            aoai_client_free(self.client);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes shared by many functions.

/// An options string setter: NULL opts, invalid UTF-8, a value, NULL (clears).
macro_rules! opt_str {
    ($f:ident, $arg:literal) => {{
        let o = new_opts();
        null_arg(c!($f(null_mut(), c"x".as_ptr())), "opts");
        bad_utf8(c!($f(o, BAD.as_ptr())), $arg);
        ok(c!($f(o, c"x".as_ptr())));
        ok(c!($f(o, null())));
        c!(aoai_options_free(o));
    }};
}

/// An options number setter: NULL opts; the extremes are accepted at set time.
macro_rules! opt_u64 {
    ($f:ident) => {{
        let o = new_opts();
        null_arg(c!($f(null_mut(), 1)), "opts");
        ok(c!($f(o, 0)));
        ok(c!($f(o, u64::MAX)));
        c!(aoai_options_free(o));
    }};
}

/// A request string setter: NULL req, NULL value, invalid UTF-8 (before any kind check).
macro_rules! req_str {
    ($f:ident) => {{
        let r = chat_req("x");
        null_arg(c!($f(null_mut(), c"x".as_ptr())), "req");
        null_arg(c!($f(r, null())), "value");
        bad_utf8(c!($f(r, BAD.as_ptr())), "value");
        c!(aoai_request_free(r));
    }};
}

/// A request number setter: NULL req and each out-of-range value (named in the message);
/// a failed setter leaves the request unchanged. `$kind` makes the request.
macro_rules! req_num {
    ($f:ident, $new:ident, $name:literal, [$($bad:expr),*], $good:expr) => {{
        let mut r = null_mut();
        ok(c!($new(&mut r)));
        null_arg(c!($f(null_mut(), $good)), "req");
        let before = req_json(r);
        $( invalid(c!($f(r, $bad)), $name); )*
        assert_eq!(req_json(r), before, "a failed setter changed the request");
        ok(c!($f(r, $good)));
        c!(aoai_request_free(r));
    }};
}

/// A 0/1 flag setter of a request.
macro_rules! req_flag {
    ($f:ident, $new:ident, $arg:literal) => {{
        let mut r = null_mut();
        ok(c!($new(&mut r)));
        null_arg(c!($f(null_mut(), 1)), "req");
        for v in [2, -1, i32::MAX, i32::MIN] {
            invalid(c!($f(r, v)), concat!("'", $arg, "'"));
        }
        ok(c!($f(r, 1)));
        ok(c!($f(r, 0)));
        c!(aoai_request_free(r));
    }};
}

/// A request time-limit setter.
macro_rules! req_ms {
    ($f:ident) => {{
        let r = chat_req("x");
        null_arg(c!($f(null_mut(), 1)), "req");
        ok(c!($f(r, 0)));
        ok(c!($f(r, u64::MAX)));
        c!(aoai_request_free(r));
    }};
}

/// A response string getter of a choice: NULL resp, a choice that does not exist, and a
/// valid call with NULL len_out.
macro_rules! resp_choice_str {
    ($fx:ident, $f:ident) => {{
        let mut len = 0usize;
        assert!(c!($f(null(), 0, &mut len)).is_null());
        assert!(c!($f($fx.resp, u32::MAX, &mut len)).is_null());
        let _ = c!($f($fx.resp, 0, null_mut()));
    }};
}

/// A response tool-call getter (choice, index).
macro_rules! resp_tool_str {
    ($fx:ident, $f:ident) => {{
        let mut len = 0usize;
        assert!(c!($f(null(), 0, 0, &mut len)).is_null());
        assert!(c!($f($fx.resp, 0, u32::MAX, &mut len)).is_null());
        assert!(c!($f($fx.resp, u32::MAX, 0, null_mut())).is_null());
    }};
}

/// A response string getter without index.
macro_rules! resp_str {
    ($fx:ident, $f:ident) => {{
        let mut len = 0usize;
        assert!(c!($f(null(), &mut len)).is_null());
        let _ = c!($f($fx.resp, null_mut()));
    }};
}

/// An error string getter: NULL err gives NULL, a real one works with NULL len_out.
macro_rules! err_str {
    ($fx:ident, $f:ident) => {{
        let mut len = 0usize;
        assert!(c!($f(null(), &mut len)).is_null());
        let _ = c!($f($fx.err(), null_mut()));
    }};
}

/// An event string getter.
macro_rules! ev_str {
    ($fx:ident, $f:ident) => {{
        let mut len = 0usize;
        assert!(c!($f(null(), &mut len)).is_null());
        let _ = c!($f($fx.ev, null_mut()));
    }};
}

type Entry = (&'static str, Box<dyn Fn(&Fx)>);

macro_rules! table {
    ($($name:ident => |$fx:ident| $body:block)*) => {
        vec![$((stringify!($name), Box::new(|$fx: &Fx| { let _ = &$fx; $body }) as Box<dyn Fn(&Fx)>)),*]
    };
}

unsafe extern "C" fn count_event(ud: *mut c_void, _ev: *const AoaiEvent) -> i32 {
    unsafe { *(ud as *mut u32) += 1 };
    AOAI_CONTINUE
}

unsafe extern "C" fn no_token(
    _ud: *mut c_void,
    _scope: *const c_char,
    _buf: *mut c_char,
    _len: usize,
    _exp: *mut i64,
) -> i32 {
    1
}

fn hostile_table() -> Vec<Entry> {
    table! {
        // ---- one-liners and blocking calls ----
        aoai_chat_simple => |fx| {
            let mut out = null_mut();
            null_arg(c!(aoai_chat_simple(null(), c"x".as_ptr(), &mut out)), "client");
            null_arg(c!(aoai_chat_simple(fx.client, null(), &mut out)), "prompt");
            null_arg(c!(aoai_chat_simple(fx.client, c"x".as_ptr(), null_mut())), "text_out");
            bad_utf8(c!(aoai_chat_simple(fx.client, BAD.as_ptr(), &mut out)), "prompt");
            assert!(out.is_null(), "text_out written on failure");
            ok(c!(aoai_chat_simple(fx.client, c"one-liner".as_ptr(), &mut out)));
            assert!(owned(out).ends_with("one-liner"));
        }
        aoai_completion_simple => |fx| {
            let mut out = null_mut();
            null_arg(c!(aoai_completion_simple(null(), c"x".as_ptr(), &mut out)), "client");
            null_arg(c!(aoai_completion_simple(fx.client, null(), &mut out)), "prompt");
            null_arg(c!(aoai_completion_simple(fx.client, c"x".as_ptr(), null_mut())), "text_out");
            bad_utf8(c!(aoai_completion_simple(fx.client, BAD.as_ptr(), &mut out)), "prompt");
            // gpt-4o does not do legacy completions: a service error, not a crash.
            fails(c!(aoai_completion_simple(fx.client, c"x".as_ptr(), &mut out)), Status::BadRequest, "OperationNotSupported");
            assert!(out.is_null());
        }
        aoai_client_send => |fx| {
            let mut resp = null_mut();
            null_arg(c!(aoai_client_send(null(), fx.req, &mut resp)), "client");
            null_arg(c!(aoai_client_send(fx.client, null(), &mut resp)), "req");
            null_arg(c!(aoai_client_send(fx.client, fx.req, null_mut())), "resp_out");
            // An incomplete request fails before anything is sent.
            let mut empty = null_mut();
            ok(c!(aoai_chat_request_new(&mut empty)));
            invalid(c!(aoai_client_send(fx.client, empty, &mut resp)), "at least one message");
            c!(aoai_request_free(empty));
            assert!(resp.is_null());
        }
        aoai_client_stream => |fx| {
            let mut n = 0u32;
            let ud = &mut n as *mut u32 as *mut c_void;
            let mut resp = null_mut();
            null_arg(c!(aoai_client_stream(null(), fx.req, Some(count_event), ud, &mut resp)), "client");
            null_arg(c!(aoai_client_stream(fx.client, null(), Some(count_event), ud, &mut resp)), "req");
            null_arg(c!(aoai_client_stream(fx.client, fx.req, None, ud, &mut resp)), "callback");
            assert_eq!(n, 0);
            // resp_out may be NULL.
            ok(c!(aoai_client_stream(fx.client, fx.req, Some(count_event), ud, null_mut())));
            assert!(n > 0);
            let mut e = null_mut();
            ok(c!(aoai_embedding_request_new(&mut e)));
            ok(c!(aoai_request_add_input(e, c"x".as_ptr())));
            invalid(c!(aoai_client_stream(fx.client, e, Some(count_event), ud, null_mut())), "embeddings cannot be streamed");
            c!(aoai_request_free(e));
        }

        // ---- options ----
        aoai_options_set_endpoint => |fx| { opt_str!(aoai_options_set_endpoint, "value") }
        aoai_options_set_base_url => |fx| { opt_str!(aoai_options_set_base_url, "value") }
        aoai_options_set_deployment => |fx| { opt_str!(aoai_options_set_deployment, "value") }
        aoai_options_set_api_version => |fx| { opt_str!(aoai_options_set_api_version, "value") }
        aoai_options_set_organization => |fx| { opt_str!(aoai_options_set_organization, "value") }
        aoai_options_set_project => |fx| { opt_str!(aoai_options_set_project, "value") }
        aoai_options_set_token_scope => |fx| { opt_str!(aoai_options_set_token_scope, "value") }
        aoai_options_set_proxy => |fx| { opt_str!(aoai_options_set_proxy, "value") }
        aoai_options_set_ca_file => |fx| { opt_str!(aoai_options_set_ca_file, "value") }
        aoai_options_set_api_key => |fx| { opt_str!(aoai_options_set_api_key, "key") }
        aoai_options_set_ad_token => |fx| { opt_str!(aoai_options_set_ad_token, "token") }
        aoai_options_set_credential => |fx| {
            opt_str!(aoai_options_set_credential, "spec");
            let o = new_opts();
            bad_json(c!(aoai_options_set_credential(o, c"{\"type\": ".as_ptr())), "credential spec");
            bad_json(c!(aoai_options_set_credential(o, deep_json(100_000).as_ptr())), "recursion limit");
            c!(aoai_options_free(o));
        }
        aoai_options_set_connect_timeout_ms => |fx| { opt_u64!(aoai_options_set_connect_timeout_ms) }
        aoai_options_set_first_byte_timeout_ms => |fx| { opt_u64!(aoai_options_set_first_byte_timeout_ms) }
        aoai_options_set_idle_timeout_ms => |fx| { opt_u64!(aoai_options_set_idle_timeout_ms) }
        aoai_options_set_total_timeout_ms => |fx| { opt_u64!(aoai_options_set_total_timeout_ms) }
        aoai_options_set_max_retry_after_ms => |fx| { opt_u64!(aoai_options_set_max_retry_after_ms) }
        aoai_options_set_max_response_bytes => |fx| {
            opt_u64!(aoai_options_set_max_response_bytes);
            // Below the minimum: refused when the client is made, naming the setting.
            let o = emu_opts(&fx.emu);
            ok(c!(aoai_options_set_max_response_bytes(o, 10)));
            let mut cl = std::ptr::dangling_mut::<AoaiClient>();
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "max_response_bytes");
            assert_eq!(cl, std::ptr::dangling_mut::<AoaiClient>(), "client_out written on failure");
            c!(aoai_options_free(o));
        }
        aoai_options_new => |fx| { null_arg(c!(aoai_options_new(null_mut())), "opts_out"); }
        aoai_options_set_api_type => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_api_type(null_mut(), AOAI_API_AZURE)), "opts");
            for v in [-1, 4, i32::MAX, i32::MIN] {
                invalid(c!(aoai_options_set_api_type(o, v)), "api_type");
            }
            ok(c!(aoai_options_set_api_type(o, AOAI_API_AZURE_AD)));
            c!(aoai_options_free(o));
        }
        aoai_options_set_token_callback => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_token_callback(null_mut(), Some(no_token), null_mut())), "opts");
            ok(c!(aoai_options_set_token_callback(o, None, null_mut())));
            ok(c!(aoai_options_set_token_callback(o, Some(no_token), null_mut())));
            c!(aoai_options_free(o));
        }
        aoai_options_set_allow_insecure_http => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_allow_insecure_http(null_mut(), 1)), "opts");
            for v in [2, -1, i32::MIN] {
                invalid(c!(aoai_options_set_allow_insecure_http(o, v)), "'allow'");
            }
            ok(c!(aoai_options_set_allow_insecure_http(o, 0)));
            c!(aoai_options_free(o));
        }
        aoai_options_set_tls_roots => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_tls_roots(null_mut(), 0)), "opts");
            for v in [2, -1, i32::MAX] {
                invalid(c!(aoai_options_set_tls_roots(o, v)), "AOAI_TLS_ROOTS_SYSTEM");
            }
            ok(c!(aoai_options_set_tls_roots(o, 1)));
            ok(c!(aoai_options_set_tls_roots(o, 0)));
            c!(aoai_options_free(o));
        }
        aoai_options_set_max_retries => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_max_retries(null_mut(), 1)), "opts");
            for v in [21, u32::MAX] {
                invalid(c!(aoai_options_set_max_retries(o, v)), "max_retries");
            }
            ok(c!(aoai_options_set_max_retries(o, 20)));
            c!(aoai_options_free(o));
        }
        aoai_options_add_header => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_add_header(null_mut(), c"x-a".as_ptr(), c"v".as_ptr())), "opts");
            null_arg(c!(aoai_options_add_header(o, null(), c"v".as_ptr())), "name");
            null_arg(c!(aoai_options_add_header(o, c"x-a".as_ptr(), null())), "value");
            bad_utf8(c!(aoai_options_add_header(o, BAD.as_ptr(), c"v".as_ptr())), "name");
            bad_utf8(c!(aoai_options_add_header(o, c"x-a".as_ptr(), BAD.as_ptr())), "value");
            invalid(c!(aoai_options_add_header(o, c"bad name".as_ptr(), c"v".as_ptr())), "header name");
            invalid(c!(aoai_options_add_header(o, c"".as_ptr(), c"v".as_ptr())), "header name");
            invalid(c!(aoai_options_add_header(o, c"x-a".as_ptr(), c"v\r\nInjected: 1".as_ptr())), "line break");
            invalid(c!(aoai_options_add_header(o, c"Authorization".as_ptr(), c"Bearer x".as_ptr())), "set by the library");
            invalid(c!(aoai_options_add_header(o, c"API-KEY".as_ptr(), c"x".as_ptr())), "set by the library");
            ok(c!(aoai_options_add_header(o, c"x-a".as_ptr(), c"v".as_ptr())));
            c!(aoai_options_free(o));
        }
        aoai_options_set_default_json => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_default_json(null_mut(), c"k".as_ptr(), c"1".as_ptr())), "opts");
            null_arg(c!(aoai_options_set_default_json(o, null(), c"1".as_ptr())), "key");
            null_arg(c!(aoai_options_set_default_json(o, c"k".as_ptr(), null())), "value_json");
            bad_utf8(c!(aoai_options_set_default_json(o, BAD.as_ptr(), c"1".as_ptr())), "key");
            bad_utf8(c!(aoai_options_set_default_json(o, c"k".as_ptr(), BAD.as_ptr())), "value_json");
            bad_json(c!(aoai_options_set_default_json(o, c"k".as_ptr(), c"{".as_ptr())), "default 'k'");
            bad_json(c!(aoai_options_set_default_json(o, c"k".as_ptr(), c"1e400".as_ptr())), "out of range");
            bad_json(c!(aoai_options_set_default_json(o, c"k".as_ptr(), deep_json(100_000).as_ptr())), "recursion limit");
            ok(c!(aoai_options_set_default_json(o, c"temperature".as_ptr(), c"0.2".as_ptr())));
            c!(aoai_options_free(o));
        }
        aoai_options_set_use_environment => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_set_use_environment(null_mut(), 0)), "opts");
            invalid(c!(aoai_options_set_use_environment(o, 2)), "'use_env'");
            c!(aoai_options_free(o));
        }
        aoai_options_load_json => |fx| {
            let o = new_opts();
            null_arg(c!(aoai_options_load_json(null_mut(), c"{}".as_ptr())), "opts");
            null_arg(c!(aoai_options_load_json(o, null())), "json_or_path");
            bad_utf8(c!(aoai_options_load_json(o, BAD.as_ptr())), "json_or_path");
            bad_json(c!(aoai_options_load_json(o, c"{\"endpoint\": ".as_ptr())), "not valid JSON");
            bad_json(c!(aoai_options_load_json(o, c"[1, 2]".as_ptr())), "JSON object");
            bad_json(c!(aoai_options_load_json(o, deep_json(100_000).as_ptr())), "recursion limit");
            let deep_obj = cs(&format!("{{\"defaults\": {{\"x\": {}}}}}", deep_json(100_000).to_str().unwrap()));
            bad_json(c!(aoai_options_load_json(o, deep_obj.as_ptr())), "recursion limit");
            // Wrong types and out-of-range numbers name the key.
            bad_json(c!(aoai_options_load_json(o, c"{\"max_retries\": \"2\"}".as_ptr())), "max_retries");
            bad_json(c!(aoai_options_load_json(o, c"{\"connect_timeout_ms\": -1}".as_ptr())), "connect_timeout_ms");
            bad_json(c!(aoai_options_load_json(o, c"{\"idle_timeout_ms\": 1.5}".as_ptr())), "idle_timeout_ms");
            bad_json(c!(aoai_options_load_json(o, c"{\"max_response_bytes\": 18446744073709551616}".as_ptr())), "max_response_bytes");
            bad_json(c!(aoai_options_load_json(o, c"{\"total_timeout_ms\": 1e400}".as_ptr())), "out of range");
            bad_json(c!(aoai_options_load_json(o, c"{\"headers\": [\"x\"]}".as_ptr())), "headers");
            bad_json(c!(aoai_options_load_json(o, c"{\"allow_insecure_http\": \"yes\"}".as_ptr())), "allow_insecure_http");
            invalid(c!(aoai_options_load_json(o, c"{\"max_retries\": 99}".as_ptr())), "max_retries");
            fails(c!(aoai_options_load_json(o, c"{\"endpoit\": \"x\"}".as_ptr())), Status::InvalidConfig, "endpoit");
            fails(c!(aoai_options_load_json(o, c"/nonexistent/aoai-config.json".as_ptr())), Status::InvalidConfig, "/nonexistent/aoai-config.json");
            ok(c!(aoai_options_load_json(o, c"{\"max_retries\": 1, \"deployment\": null}".as_ptr())));
            c!(aoai_options_free(o));
        }
        aoai_options_free => |fx| { c!(aoai_options_free(null_mut())); }

        // ---- client ----
        aoai_client_new => |fx| {
            let o = new_opts();
            ok(c!(aoai_options_set_use_environment(o, 0)));
            let mut cl = null_mut();
            null_arg(c!(aoai_client_new(null(), &mut cl)), "opts");
            null_arg(c!(aoai_client_new(o, null_mut())), "client_out");
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "no endpoint");
            ok(c!(aoai_options_set_endpoint(o, c"http://example.com".as_ptr())));
            ok(c!(aoai_options_set_api_key(o, c"k".as_ptr())));
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "clear text");
            ok(c!(aoai_options_set_endpoint(o, c"https://x.openai.azure.com/some/path".as_ptr())));
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "unexpected path");
            ok(c!(aoai_options_set_endpoint(o, c"not a url".as_ptr())));
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "not a valid url");
            ok(c!(aoai_options_set_endpoint(o, c"https://x.openai.azure.com".as_ptr())));
            ok(c!(aoai_options_set_api_key(o, c"key\twith control".as_ptr())));
            fails(c!(aoai_client_new(o, &mut cl)), Status::InvalidConfig, "control characters");
            assert!(cl.is_null(), "client_out written on failure");
            c!(aoai_options_free(o));
        }
        aoai_client_from_env => |fx| {
            null_arg(c!(aoai_client_from_env(null_mut())), "client_out");
            let mut cl = null_mut();
            let st = c!(aoai_client_from_env(&mut cl));
            assert!(matches!(st, Status::Ok | Status::InvalidConfig), "{st:?}: {}", last_msg());
            c!(aoai_client_free(cl));
        }
        aoai_client_from_json => |fx| {
            let mut cl = null_mut();
            null_arg(c!(aoai_client_from_json(null(), &mut cl)), "json_or_path");
            null_arg(c!(aoai_client_from_json(c"{}".as_ptr(), null_mut())), "client_out");
            bad_utf8(c!(aoai_client_from_json(BAD.as_ptr(), &mut cl)), "json_or_path");
            bad_json(c!(aoai_client_from_json(c"{".as_ptr(), &mut cl)), "not valid JSON");
            bad_json(c!(aoai_client_from_json(deep_json(100_000).as_ptr(), &mut cl)), "recursion limit");
            let cfg = cs(&json!({"endpoint": fx.emu.base, "api_key": common::API_KEY, "environment": false}).to_string());
            ok(c!(aoai_client_from_json(cfg.as_ptr(), &mut cl)));
            c!(aoai_client_free(cl));
        }
        aoai_client_describe => |fx| {
            let mut out = null_mut();
            null_arg(c!(aoai_client_describe(null(), &mut out)), "client");
            null_arg(c!(aoai_client_describe(fx.client, null_mut())), "json_out");
            ok(c!(aoai_client_describe(fx.client, &mut out)));
            let d = owned(out);
            assert!(!d.contains(common::API_KEY), "describe shows the key: {d}");
        }
        aoai_client_set_token => |fx| {
            null_arg(c!(aoai_client_set_token(null(), c"t".as_ptr(), 0)), "client");
            null_arg(c!(aoai_client_set_token(fx.client, null(), 0)), "token");
            bad_utf8(c!(aoai_client_set_token(fx.client, BAD.as_ptr(), 0)), "token");
            fails(c!(aoai_client_set_token(fx.client, c"t".as_ptr(), 0)), Status::InvalidState, "fixed key");
            // A client that takes tokens still refuses junk.
            let cl = emu_client(&fx.emu, |o| {
                ok(c!(aoai_options_set_api_key(o, null())));
                ok(c!(aoai_options_set_token_callback(o, None, null_mut())));
            });
            invalid(c!(aoai_client_set_token(cl, c"".as_ptr(), 0)), "empty");
            invalid(c!(aoai_client_set_token(cl, c"tok\nen".as_ptr(), 0)), "control characters");
            ok(c!(aoai_client_set_token(cl, c"emulator-token".as_ptr(), i64::MAX)));
            ok(c!(aoai_client_set_token(cl, c"emulator-token".as_ptr(), i64::MIN)));
            c!(aoai_client_free(cl));
        }
        aoai_shutdown => |fx| {
            // Process-wide: the real shutdown runs in `process_wide_functions_in_a_child`.
            // Here: from a library thread it is refused and nothing stops.
            let probe = run_in_notify(fx, |_op| c!(aoai_shutdown()));
            assert_eq!(probe, Status::WrongThread);
            let mut out = null_mut();
            ok(c!(aoai_chat_simple(fx.client, c"still alive".as_ptr(), &mut out)));
            owned(out);
        }
        aoai_set_log_callback => |fx| {
            for lvl in [-1, 5, i32::MAX] {
                invalid(c!(aoai_set_log_callback(None, null_mut(), lvl)), "max_level");
            }
            ok(c!(aoai_set_log_callback(None, null_mut(), 0)));
        }
        aoai_debug_panic => |fx| {
            fails(c!(aoai_debug_panic()), Status::Panic, "deliberate panic");
        }
        aoai_client_free => |fx| { c!(aoai_client_free(null_mut())); }
        aoai_version => |fx| {
            assert_eq!(text(c!(aoai_version())).as_deref(), Some(env!("CARGO_PKG_VERSION")));
        }
        aoai_version_number => |fx| {
            assert_eq!(c!(aoai_version_number()), (AOAI_VERSION_MAJOR << 16) | (AOAI_VERSION_MINOR << 8) | AOAI_VERSION_PATCH);
        }
        aoai_last_error => |fx| { assert!(!c!(aoai_last_error()).is_null()); }
        aoai_last_error_message => |fx| { assert!(!c!(aoai_last_error_message()).is_null()); }
        aoai_status_str => |fx| {
            for s in Status::ALL {
                let t = text(c!(aoai_status_str(s as i32))).unwrap();
                assert!(!t.is_empty() && t != "unknown status", "{s:?}");
            }
            for v in [-1, 13, 99, 303, i32::MAX, i32::MIN] {
                assert_eq!(text(c!(aoai_status_str(v))).as_deref(), Some("unknown status"));
            }
        }

        // ---- errors ----
        aoai_error_status => |fx| {
            assert_eq!(c!(aoai_error_status(null())), Status::NullArgument);
            assert_eq!(c!(aoai_error_status(fx.err())), Status::RateLimited);
        }
        aoai_error_message => |fx| {
            let mut len = 99usize;
            assert_eq!(text(c!(aoai_error_message(null(), &mut len))).as_deref(), Some(""));
            let m = text(c!(aoai_error_message(fx.err(), &mut len))).unwrap();
            assert_eq!(m.len(), len);
            assert!(m.contains("429"), "{m}");
            let _ = c!(aoai_error_message(fx.err(), null_mut()));
        }
        aoai_error_http_status => |fx| {
            assert_eq!(c!(aoai_error_http_status(null())), 0);
            assert_eq!(c!(aoai_error_http_status(fx.err())), 429);
        }
        aoai_error_code => |fx| { err_str!(fx, aoai_error_code) }
        aoai_error_type => |fx| { err_str!(fx, aoai_error_type) }
        aoai_error_param => |fx| { err_str!(fx, aoai_error_param) }
        aoai_error_request_id => |fx| { err_str!(fx, aoai_error_request_id) }
        aoai_error_body => |fx| { err_str!(fx, aoai_error_body) }
        aoai_error_filtered_categories => |fx| {
            err_str!(fx, aoai_error_filtered_categories);
            assert_eq!(text(c!(aoai_error_filtered_categories(fx.err(), null_mut()))).as_deref(), Some(""));
        }
        aoai_error_retry_after_ms => |fx| {
            assert_eq!(c!(aoai_error_retry_after_ms(null())), -1);
            assert_eq!(c!(aoai_error_retry_after_ms(fx.err())), 3000);
        }
        aoai_error_header => |fx| {
            let before = last_error_snapshot();
            let mut len = 0usize;
            assert!(c!(aoai_error_header(null(), c"retry-after".as_ptr(), &mut len)).is_null());
            assert!(c!(aoai_error_header(fx.err(), null(), &mut len)).is_null());
            unchanged_last_error(&before);
            assert!(c!(aoai_error_header(fx.err(), BAD.as_ptr(), &mut len)).is_null());
            unchanged_last_error(&before);
            assert_eq!(text(c!(aoai_error_header(fx.err(), c"Retry-After".as_ptr(), null_mut()))).as_deref(), Some("3"));
        }
        aoai_error_header_count => |fx| {
            assert_eq!(c!(aoai_error_header_count(null())), 0);
            assert!(c!(aoai_error_header_count(fx.err())) > 0);
        }
        aoai_error_header_name => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_error_header_name(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_error_header_name(fx.err(), u32::MAX, &mut len)).is_null());
            let n = text(c!(aoai_error_header_name(fx.err(), 0, null_mut()))).unwrap();
            assert_eq!(n, n.to_lowercase());
        }
        aoai_error_header_value => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_error_header_value(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_error_header_value(fx.err(), u32::MAX, &mut len)).is_null());
            let last = c!(aoai_error_header_count(fx.err())) - 1;
            assert!(!c!(aoai_error_header_value(fx.err(), last, null_mut())).is_null());
        }
        aoai_error_attempts => |fx| {
            assert_eq!(c!(aoai_error_attempts(null())), 0);
            assert_eq!(c!(aoai_error_attempts(fx.err())), 1);
        }

        // ---- events ----
        aoai_event_text => |fx| { ev_str!(fx, aoai_event_text) }
        aoai_event_tool_call_id => |fx| { ev_str!(fx, aoai_event_tool_call_id) }
        aoai_event_tool_call_name => |fx| { ev_str!(fx, aoai_event_tool_call_name) }
        aoai_event_filter_json => |fx| { ev_str!(fx, aoai_event_filter_json) }
        aoai_event_filtered_categories => |fx| { ev_str!(fx, aoai_event_filtered_categories) }
        aoai_event_json => |fx| {
            ev_str!(fx, aoai_event_json);
            let mut len = 0usize;
            let j = text(c!(aoai_event_json(fx.ev, &mut len))).unwrap();
            assert_eq!(j.len(), len);
            serde_json::from_str::<Value>(&j).unwrap();
        }
        aoai_event_kind => |fx| {
            assert_eq!(c!(aoai_event_kind(null())), 0);
            assert_eq!(c!(aoai_event_kind(fx.ev)), AOAI_EVENT_CONTENT_FILTER);
        }
        aoai_event_choice => |fx| {
            assert_eq!(c!(aoai_event_choice(null())), -1);
            assert_eq!(c!(aoai_event_choice(fx.ev)), -1, "the prompt filter event has no choice");
        }
        aoai_event_tool_call_index => |fx| {
            assert_eq!(c!(aoai_event_tool_call_index(null())), -1);
            assert_eq!(c!(aoai_event_tool_call_index(fx.ev)), -1);
        }
        aoai_event_usage => |fx| {
            assert_eq!(c!(aoai_event_usage(null(), AOAI_USAGE_TOTAL_TOKENS)), -1);
            for f in [-1, 9, i32::MAX, i32::MIN] {
                assert_eq!(c!(aoai_event_usage(fx.ev, f)), -1);
            }
        }
        aoai_event_prompt_index => |fx| {
            assert_eq!(c!(aoai_event_prompt_index(null())), -1);
            assert_eq!(c!(aoai_event_prompt_index(fx.ev)), 0);
        }
        aoai_event_filter_offsets => |fx| {
            let (mut a, mut b, mut d) = (7i64, 7i64, 7i64);
            assert_eq!(c!(aoai_event_filter_offsets(null(), &mut a, &mut b, &mut d)), 0);
            assert_eq!(c!(aoai_event_filter_offsets(fx.ev, null_mut(), null_mut(), null_mut())), 0);
            assert_eq!((a, b, d), (7, 7, 7), "outputs written without offsets");
        }
        aoai_event_free => |fx| { c!(aoai_event_free(null_mut())); }

        // ---- operations ----
        aoai_client_start => |fx| {
            let mut op = null_mut();
            null_arg(c!(aoai_client_start(null(), fx.req, 0, None, null_mut(), &mut op)), "client");
            null_arg(c!(aoai_client_start(fx.client, null(), 0, None, null_mut(), &mut op)), "req");
            null_arg(c!(aoai_client_start(fx.client, fx.req, 0, None, null_mut(), null_mut())), "op_out");
            for flags in [2, -1, i32::MIN, 0x100] {
                invalid(c!(aoai_client_start(fx.client, fx.req, flags, None, null_mut(), &mut op)), "flags");
            }
            let mut empty = null_mut();
            ok(c!(aoai_chat_request_new(&mut empty)));
            invalid(c!(aoai_client_start(fx.client, empty, 0, None, null_mut(), &mut op)), "at least one message");
            c!(aoai_request_free(empty));
            let mut e = null_mut();
            ok(c!(aoai_embedding_request_new(&mut e)));
            ok(c!(aoai_request_add_input(e, c"x".as_ptr())));
            invalid(c!(aoai_client_start(fx.client, e, AOAI_START_STREAM, None, null_mut(), &mut op)), "embeddings cannot be streamed");
            c!(aoai_request_free(e));
            assert!(op.is_null(), "op_out written on failure");
        }
        aoai_op_poll => |fx| {
            let mut st = 0;
            null_arg(c!(aoai_op_poll(null(), &mut st)), "op");
            null_arg(c!(aoai_op_poll(fx.op, null_mut())), "state_out");
        }
        aoai_op_next_event => |fx| {
            let mut e = null_mut();
            null_arg(c!(aoai_op_next_event(null_mut(), &mut e)), "op");
            null_arg(c!(aoai_op_next_event(fx.op, null_mut())), "event_out");
            fails(c!(aoai_op_next_event(fx.op, &mut e)), Status::Empty, "no event");
            assert!(e.is_null());
        }
        aoai_op_wait => |fx| {
            null_arg(c!(aoai_op_wait(null(), 0)), "op");
            ok(c!(aoai_op_wait(fx.op, 0)));
            ok(c!(aoai_op_wait(fx.op, i32::MIN)));
        }
        aoai_op_wait_event => |fx| {
            null_arg(c!(aoai_op_wait_event(null(), 0)), "op");
            ok(c!(aoai_op_wait_event(fx.op, -7)));
        }
        aoai_op_cancel => |fx| {
            null_arg(c!(aoai_op_cancel(null())), "op");
            ok(c!(aoai_op_cancel(fx.op)));
            assert_eq!(poll(fx.op), AOAI_OP_DONE, "cancel after the end changes nothing");
        }
        aoai_op_take_response => |fx| {
            let mut r = null_mut();
            null_arg(c!(aoai_op_take_response(null_mut(), &mut r)), "op");
            null_arg(c!(aoai_op_take_response(fx.op, null_mut())), "resp_out");
            fails(c!(aoai_op_take_response(fx.failed, &mut r)), Status::InvalidState, "did not succeed");
            assert!(r.is_null());
        }
        aoai_op_take_partial_response => |fx| {
            let mut r = null_mut();
            null_arg(c!(aoai_op_take_partial_response(null_mut(), &mut r)), "op");
            null_arg(c!(aoai_op_take_partial_response(fx.op, null_mut())), "resp_out");
            fails(c!(aoai_op_take_partial_response(fx.op, &mut r)), Status::InvalidState, "succeeded");
            fails(c!(aoai_op_take_partial_response(fx.failed, &mut r)), Status::InvalidState, "nothing was received");
            assert!(r.is_null());
        }
        aoai_op_set_notify => |fx| {
            null_arg(c!(aoai_op_set_notify(null_mut(), None, null_mut())), "op");
            ok(c!(aoai_op_set_notify(fx.op, None, null_mut())));
        }
        aoai_op_is_finished => |fx| {
            let mut f = 0;
            null_arg(c!(aoai_op_is_finished(null(), &mut f)), "op");
            null_arg(c!(aoai_op_is_finished(fx.op, null_mut())), "finished_out");
        }
        aoai_op_error => |fx| {
            assert!(c!(aoai_op_error(null())).is_null());
            assert!(c!(aoai_op_error(fx.op)).is_null(), "a DONE operation has no error");
            assert_eq!(c!(aoai_op_error(fx.failed)), c!(aoai_op_error(fx.failed)), "the same object every time");
        }
        aoai_op_free => |fx| { c!(aoai_op_free(null_mut())); }

        // ---- requests: numbers ----
        aoai_request_set_temperature => |fx| {
            req_num!(aoai_request_set_temperature, aoai_chat_request_new, "temperature", [-0.1, 2.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY], 0.7)
        }
        aoai_request_set_top_p => |fx| {
            req_num!(aoai_request_set_top_p, aoai_chat_request_new, "top_p", [-1e-9, 1.5, f64::NAN], 1.0)
        }
        aoai_request_set_frequency_penalty => |fx| {
            req_num!(aoai_request_set_frequency_penalty, aoai_chat_request_new, "frequency_penalty", [-2.5, 2.5, f64::NAN, f64::MAX], -2.0)
        }
        aoai_request_set_presence_penalty => |fx| {
            req_num!(aoai_request_set_presence_penalty, aoai_chat_request_new, "presence_penalty", [-2.5, 2.5, f64::MIN], 2.0)
        }
        aoai_request_set_max_tokens => |fx| {
            req_num!(aoai_request_set_max_tokens, aoai_chat_request_new, "max_tokens", [0, -1, i64::MIN, i64::MAX], 16)
        }
        aoai_request_set_max_completion_tokens => |fx| {
            req_num!(aoai_request_set_max_completion_tokens, aoai_chat_request_new, "max_completion_tokens", [0, -5, i64::MAX], 100)
        }
        aoai_request_set_n => |fx| {
            req_num!(aoai_request_set_n, aoai_chat_request_new, "n", [0, 129, -1, i64::MAX], 128)
        }
        aoai_request_set_seed => |fx| {
            req_num!(aoai_request_set_seed, aoai_chat_request_new, "seed", [], i64::MIN)
        }
        aoai_request_set_logprobs => |fx| {
            req_num!(aoai_request_set_logprobs, aoai_chat_request_new, "logprobs", [2, -1], 1);
            req_num!(aoai_request_set_logprobs, aoai_completion_request_new, "logprobs", [6, -1, i64::MIN], 5)
        }
        aoai_request_set_top_logprobs => |fx| {
            req_num!(aoai_request_set_top_logprobs, aoai_chat_request_new, "top_logprobs", [21, -1], 20)
        }
        aoai_request_set_best_of => |fx| {
            req_num!(aoai_request_set_best_of, aoai_completion_request_new, "best_of", [0, 21], 20);
            // On a chat request it names the mismatch.
            let r = chat_req("x");
            invalid(c!(aoai_request_set_best_of(r, 2)), "completion requests");
            c!(aoai_request_free(r));
        }
        aoai_request_set_dimensions => |fx| {
            req_num!(aoai_request_set_dimensions, aoai_embedding_request_new, "dimensions", [0, -1, i64::MAX], 256)
        }
        aoai_request_set_logit_bias => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_set_logit_bias(null_mut(), 1, 1)), "req");
            invalid(c!(aoai_request_set_logit_bias(r, -1, 1)), "token id");
            invalid(c!(aoai_request_set_logit_bias(r, 1, 101)), "logit_bias");
            invalid(c!(aoai_request_set_logit_bias(r, 1, i64::MIN)), "logit_bias");
            ok(c!(aoai_request_set_logit_bias(r, i64::MAX, -100)));
            c!(aoai_request_free(r));
        }

        // ---- requests: strings ----
        aoai_request_set_user => |fx| { req_str!(aoai_request_set_user) }
        aoai_request_add_stop => |fx| {
            req_str!(aoai_request_add_stop);
            let r = chat_req("x");
            invalid(c!(aoai_request_add_stop(r, c"".as_ptr())), "empty");
            for _ in 0..4 { ok(c!(aoai_request_add_stop(r, c"s".as_ptr()))); }
            invalid(c!(aoai_request_add_stop(r, c"s".as_ptr())), "at most 4");
            assert_eq!(req_json(r)["stop"].as_array().unwrap().len(), 4);
            c!(aoai_request_free(r));
        }
        aoai_request_set_deployment => |fx| {
            req_str!(aoai_request_set_deployment);
            let r = chat_req("x");
            invalid(c!(aoai_request_set_deployment(r, c"  ".as_ptr())), "deployment");
            // Path characters are percent-encoded, never a path traversal.
            ok(c!(aoai_request_set_deployment(r, c"../../x?y#z".as_ptr())));
            let mut resp = null_mut();
            fails(c!(aoai_client_send(fx.client, r, &mut resp)), Status::NotFound, "DeploymentNotFound");
            c!(aoai_request_free(r));
        }
        aoai_request_set_prompt => |fx| { req_str!(aoai_request_set_prompt) }
        aoai_request_add_prompt => |fx| { req_str!(aoai_request_add_prompt) }
        aoai_request_set_suffix => |fx| { req_str!(aoai_request_set_suffix) }
        aoai_request_add_input => |fx| { req_str!(aoai_request_add_input) }
        aoai_request_set_tool_choice => |fx| {
            req_str!(aoai_request_set_tool_choice);
            let r = chat_req("x");
            invalid(c!(aoai_request_set_tool_choice(r, c"".as_ptr())), "tool_choice");
            c!(aoai_request_free(r));
        }
        aoai_request_set_reasoning_effort => |fx| {
            req_str!(aoai_request_set_reasoning_effort);
            let r = chat_req("x");
            invalid(c!(aoai_request_set_reasoning_effort(r, c"extreme".as_ptr())), "reasoning_effort");
            c!(aoai_request_free(r));
        }
        aoai_request_add_text_part => |fx| {
            req_str!(aoai_request_add_text_part);
            let mut r = null_mut();
            ok(c!(aoai_chat_request_new(&mut r)));
            fails(c!(aoai_request_add_text_part(r, c"x".as_ptr())), Status::InvalidState, "add a message");
            c!(aoai_request_free(r));
        }
        aoai_request_add_message_json => |fx| {
            req_str!(aoai_request_add_message_json);
            let r = chat_req("x");
            bad_json(c!(aoai_request_add_message_json(r, c"{\"role\":".as_ptr())), "not valid JSON");
            bad_json(c!(aoai_request_add_message_json(r, c"[]".as_ptr())), "JSON object");
            bad_json(c!(aoai_request_add_message_json(r, c"{\"role\": 5, \"content\": \"x\"}".as_ptr())), "role");
            bad_json(c!(aoai_request_add_message_json(r, c"{\"role\": \"wizard\", \"content\": \"x\"}".as_ptr())), "wizard");
            bad_json(c!(aoai_request_add_message_json(r, c"{\"role\": \"user\", \"content\": 42}".as_ptr())), "content");
            bad_json(c!(aoai_request_add_message_json(r, deep_json(100_000).as_ptr())), "recursion limit");
            assert_eq!(req_json(r)["messages"].as_array().unwrap().len(), 1);
            c!(aoai_request_free(r));
        }
        aoai_request_merge_json => |fx| {
            req_str!(aoai_request_merge_json);
            let r = chat_req("x");
            let before = req_json(r);
            bad_json(c!(aoai_request_merge_json(r, c"[1]".as_ptr())), "JSON object");
            bad_json(c!(aoai_request_merge_json(r, c"{\"messages\": {}}".as_ptr())), "messages");
            bad_json(c!(aoai_request_merge_json(r, c"{\"n\": \"two\"}".as_ptr())), "'n'");
            bad_json(c!(aoai_request_merge_json(r, c"{\"n\": -1}".as_ptr())), "'n'");
            bad_json(c!(aoai_request_merge_json(r, c"{\"stream\": \"yes\"}".as_ptr())), "stream");
            bad_json(c!(aoai_request_merge_json(r, deep_json(100_000).as_ptr())), "recursion limit");
            assert_eq!(req_json(r), before, "invalid shapes leave the request unchanged");
            c!(aoai_request_free(r));
        }
        aoai_chat_request_new => |fx| { null_arg(c!(aoai_chat_request_new(null_mut())), "req_out"); }
        aoai_completion_request_new => |fx| { null_arg(c!(aoai_completion_request_new(null_mut())), "req_out"); }
        aoai_embedding_request_new => |fx| { null_arg(c!(aoai_embedding_request_new(null_mut())), "req_out"); }
        aoai_request_from_json => |fx| {
            let mut r = null_mut();
            null_arg(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, null(), &mut r)), "json");
            null_arg(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{}".as_ptr(), null_mut())), "req_out");
            bad_utf8(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, BAD.as_ptr(), &mut r)), "json");
            for k in [-1, 3, i32::MAX] {
                invalid(c!(aoai_request_from_json(k, c"{}".as_ptr(), &mut r)), "kind");
            }
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{\"messages\": [".as_ptr(), &mut r)), "not valid JSON");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"\"just a string\"".as_ptr(), &mut r)), "JSON object");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{\"messages\": \"hi\"}".as_ptr(), &mut r)), "messages");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{\"messages\": [42]}".as_ptr(), &mut r)), "messages[0]");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_COMPLETION, c"{\"prompt\": {}}".as_ptr(), &mut r)), "prompt");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{\"model\": 1}".as_ptr(), &mut r)), "model");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, c"{\"max_tokens\": 1e3}".as_ptr(), &mut r)), "max_tokens");
            bad_json(c!(aoai_request_from_json(AOAI_REQUEST_CHAT, deep_json(100_000).as_ptr(), &mut r)), "recursion limit");
            assert!(r.is_null(), "req_out written on failure");
        }
        aoai_request_add_message => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_add_message(null_mut(), AOAI_ROLE_USER, c"x".as_ptr())), "req");
            null_arg(c!(aoai_request_add_message(r, AOAI_ROLE_USER, null())), "content");
            bad_utf8(c!(aoai_request_add_message(r, AOAI_ROLE_USER, BAD.as_ptr())), "content");
            for role in [-1, 5, i32::MAX] {
                invalid(c!(aoai_request_add_message(r, role, c"x".as_ptr())), "role");
            }
            invalid(c!(aoai_request_add_message(r, AOAI_ROLE_TOOL, c"x".as_ptr())), "tool call id");
            let mut cmp = null_mut();
            ok(c!(aoai_completion_request_new(&mut cmp)));
            invalid(c!(aoai_request_add_message(cmp, AOAI_ROLE_USER, c"x".as_ptr())), "chat");
            c!(aoai_request_free(cmp));
            c!(aoai_request_free(r));
        }
        aoai_request_add_tool_message => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_add_tool_message(null_mut(), c"id".as_ptr(), c"x".as_ptr())), "req");
            null_arg(c!(aoai_request_add_tool_message(r, null(), c"x".as_ptr())), "tool_call_id");
            null_arg(c!(aoai_request_add_tool_message(r, c"id".as_ptr(), null())), "content");
            bad_utf8(c!(aoai_request_add_tool_message(r, BAD.as_ptr(), c"x".as_ptr())), "tool_call_id");
            bad_utf8(c!(aoai_request_add_tool_message(r, c"id".as_ptr(), BAD.as_ptr())), "content");
            invalid(c!(aoai_request_add_tool_message(r, c"".as_ptr(), c"x".as_ptr())), "tool_call_id");
            c!(aoai_request_free(r));
        }
        aoai_request_add_response_message => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_add_response_message(null_mut(), fx.resp, 0)), "req");
            null_arg(c!(aoai_request_add_response_message(r, null(), 0)), "resp");
            invalid(c!(aoai_request_add_response_message(r, fx.resp, 1)), "choice 1");
            invalid(c!(aoai_request_add_response_message(r, fx.resp, u32::MAX)), "does not exist");
            ok(c!(aoai_request_add_response_message(r, fx.resp, 0)));
            c!(aoai_request_free(r));
        }
        aoai_request_add_image_part => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_add_image_part(null_mut(), c"u".as_ptr(), null())), "req");
            null_arg(c!(aoai_request_add_image_part(r, null(), null())), "url");
            bad_utf8(c!(aoai_request_add_image_part(r, BAD.as_ptr(), null())), "url");
            bad_utf8(c!(aoai_request_add_image_part(r, c"u".as_ptr(), BAD.as_ptr())), "detail");
            invalid(c!(aoai_request_add_image_part(r, c"u".as_ptr(), c"ultra".as_ptr())), "detail");
            invalid(c!(aoai_request_add_image_part(r, c"".as_ptr(), null())), "url");
            ok(c!(aoai_request_add_image_part(r, c"data:image/png;base64,AAAA".as_ptr(), null())));
            c!(aoai_request_free(r));
        }
        aoai_request_add_function_tool => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_add_function_tool(null_mut(), c"f".as_ptr(), null(), null(), 0)), "req");
            null_arg(c!(aoai_request_add_function_tool(r, null(), null(), null(), 0)), "name");
            bad_utf8(c!(aoai_request_add_function_tool(r, BAD.as_ptr(), null(), null(), 0)), "name");
            bad_utf8(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), BAD.as_ptr(), null(), 0)), "description");
            bad_utf8(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), BAD.as_ptr(), 0)), "parameters_json");
            invalid(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), null(), 2)), "'strict'");
            invalid(c!(aoai_request_add_function_tool(r, c"bad name!".as_ptr(), null(), null(), 0)), "tool name");
            let long = cs(&"a".repeat(65));
            invalid(c!(aoai_request_add_function_tool(r, long.as_ptr(), null(), null(), 0)), "tool name");
            bad_json(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), c"[1]".as_ptr(), 0)), "JSON object");
            bad_json(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), c"{".as_ptr(), 0)), "not valid JSON");
            bad_json(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), deep_json(100_000).as_ptr(), 0)), "recursion limit");
            assert!(req_json(r).get("tools").is_none());
            ok(c!(aoai_request_add_function_tool(r, c"f".as_ptr(), null(), null(), 1)));
            c!(aoai_request_free(r));
        }
        aoai_request_set_parallel_tool_calls => |fx| { req_flag!(aoai_request_set_parallel_tool_calls, aoai_chat_request_new, "on") }
        aoai_request_set_echo => |fx| {
            req_flag!(aoai_request_set_echo, aoai_completion_request_new, "on");
            let r = chat_req("x");
            invalid(c!(aoai_request_set_echo(r, 1)), "completion requests");
            c!(aoai_request_free(r));
        }
        aoai_request_set_stream_include_usage => |fx| { req_flag!(aoai_request_set_stream_include_usage, aoai_chat_request_new, "on") }
        aoai_request_set_response_format_json_object => |fx| {
            null_arg(c!(aoai_request_set_response_format_json_object(null_mut())), "req");
            let mut e = null_mut();
            ok(c!(aoai_embedding_request_new(&mut e)));
            invalid(c!(aoai_request_set_response_format_json_object(e)), "chat requests");
            c!(aoai_request_free(e));
        }
        aoai_request_set_response_format_json_schema => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_set_response_format_json_schema(null_mut(), c"n".as_ptr(), c"{}".as_ptr(), 0)), "req");
            null_arg(c!(aoai_request_set_response_format_json_schema(r, null(), c"{}".as_ptr(), 0)), "name");
            null_arg(c!(aoai_request_set_response_format_json_schema(r, c"n".as_ptr(), null(), 0)), "schema_json");
            bad_utf8(c!(aoai_request_set_response_format_json_schema(r, BAD.as_ptr(), c"{}".as_ptr(), 0)), "name");
            bad_utf8(c!(aoai_request_set_response_format_json_schema(r, c"n".as_ptr(), BAD.as_ptr(), 0)), "schema_json");
            invalid(c!(aoai_request_set_response_format_json_schema(r, c"n".as_ptr(), c"{}".as_ptr(), 7)), "'strict'");
            invalid(c!(aoai_request_set_response_format_json_schema(r, c"".as_ptr(), c"{}".as_ptr(), 0)), "name");
            bad_json(c!(aoai_request_set_response_format_json_schema(r, c"n".as_ptr(), c"true".as_ptr(), 0)), "JSON object");
            bad_json(c!(aoai_request_set_response_format_json_schema(r, c"n".as_ptr(), deep_json(100_000).as_ptr(), 0)), "recursion limit");
            c!(aoai_request_free(r));
        }
        aoai_request_set_field_json => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_set_field_json(null_mut(), c"k".as_ptr(), c"1".as_ptr())), "req");
            null_arg(c!(aoai_request_set_field_json(r, null(), c"1".as_ptr())), "key");
            null_arg(c!(aoai_request_set_field_json(r, c"k".as_ptr(), null())), "value_json");
            bad_utf8(c!(aoai_request_set_field_json(r, BAD.as_ptr(), c"1".as_ptr())), "key");
            bad_utf8(c!(aoai_request_set_field_json(r, c"k".as_ptr(), BAD.as_ptr())), "value_json");
            let before = req_json(r);
            invalid(c!(aoai_request_set_field_json(r, c"".as_ptr(), c"1".as_ptr())), "field name");
            invalid(c!(aoai_request_set_field_json(r, c"stream".as_ptr(), c"true".as_ptr())), "stream");
            bad_json(c!(aoai_request_set_field_json(r, c"k".as_ptr(), c"{".as_ptr())), "field 'k'");
            bad_json(c!(aoai_request_set_field_json(r, c"k".as_ptr(), c"".as_ptr())), "field 'k'");
            bad_json(c!(aoai_request_set_field_json(r, c"k".as_ptr(), c"1 2".as_ptr())), "field 'k'");
            bad_json(c!(aoai_request_set_field_json(r, c"k".as_ptr(), c"-1e999".as_ptr())), "out of range");
            bad_json(c!(aoai_request_set_field_json(r, c"k".as_ptr(), deep_json(100_000).as_ptr())), "recursion limit");
            bad_json(c!(aoai_request_set_field_json(r, c"n".as_ptr(), c"\"two\"".as_ptr())), "'n'");
            bad_json(c!(aoai_request_set_field_json(r, c"messages".as_ptr(), c"null".as_ptr())), "messages");
            assert_eq!(req_json(r), before, "a refused field leaves the request unchanged");
            c!(aoai_request_free(r));
        }
        aoai_request_remove_field => |fx| {
            let r = chat_req("x");
            null_arg(c!(aoai_request_remove_field(null_mut(), c"k".as_ptr())), "req");
            null_arg(c!(aoai_request_remove_field(r, null())), "key");
            bad_utf8(c!(aoai_request_remove_field(r, BAD.as_ptr())), "key");
            ok(c!(aoai_request_remove_field(r, c"no-such-field".as_ptr())));
            ok(c!(aoai_request_set_field_json(r, c"seed".as_ptr(), c"1".as_ptr())));
            ok(c!(aoai_request_remove_field(r, c"seed".as_ptr())));
            assert!(req_json(r).get("seed").is_none());
            c!(aoai_request_free(r));
        }
        aoai_request_set_idle_timeout_ms => |fx| { req_ms!(aoai_request_set_idle_timeout_ms) }
        aoai_request_set_first_byte_timeout_ms => |fx| { req_ms!(aoai_request_set_first_byte_timeout_ms) }
        aoai_request_set_total_timeout_ms => |fx| { req_ms!(aoai_request_set_total_timeout_ms) }
        aoai_request_to_json => |fx| {
            let mut out = null_mut();
            null_arg(c!(aoai_request_to_json(null(), &mut out)), "req");
            null_arg(c!(aoai_request_to_json(fx.req, null_mut())), "json_out");
            assert!(out.is_null());
        }
        aoai_request_free => |fx| { c!(aoai_request_free(null_mut())); }

        // ---- responses ----
        aoai_response_text => |fx| {
            resp_choice_str!(fx, aoai_response_text);
            let mut len = 0usize;
            let t = text(c!(aoai_response_text(fx.resp, 0, &mut len))).unwrap();
            assert_eq!(t.len(), len);
        }
        aoai_response_finish_reason => |fx| { resp_choice_str!(fx, aoai_response_finish_reason) }
        aoai_response_refusal => |fx| { resp_choice_str!(fx, aoai_response_refusal) }
        aoai_response_content_filter_json => |fx| { resp_choice_str!(fx, aoai_response_content_filter_json) }
        aoai_response_logprobs_json => |fx| { resp_choice_str!(fx, aoai_response_logprobs_json) }
        aoai_response_tool_call_id => |fx| { resp_tool_str!(fx, aoai_response_tool_call_id) }
        aoai_response_tool_call_name => |fx| { resp_tool_str!(fx, aoai_response_tool_call_name) }
        aoai_response_tool_call_arguments => |fx| { resp_tool_str!(fx, aoai_response_tool_call_arguments) }
        aoai_response_id => |fx| { resp_str!(fx, aoai_response_id) }
        aoai_response_model => |fx| { resp_str!(fx, aoai_response_model) }
        aoai_response_system_fingerprint => |fx| { resp_str!(fx, aoai_response_system_fingerprint) }
        aoai_response_json => |fx| { resp_str!(fx, aoai_response_json) }
        aoai_response_request_id => |fx| { resp_str!(fx, aoai_response_request_id) }
        aoai_response_region => |fx| { resp_str!(fx, aoai_response_region) }
        aoai_response_choice_count => |fx| {
            assert_eq!(c!(aoai_response_choice_count(null())), 0);
            assert_eq!(c!(aoai_response_choice_count(fx.resp)), 1);
        }
        aoai_response_tool_call_count => |fx| {
            assert_eq!(c!(aoai_response_tool_call_count(null(), 0)), 0);
            assert_eq!(c!(aoai_response_tool_call_count(fx.resp, u32::MAX)), 0);
        }
        aoai_response_usage => |fx| {
            assert_eq!(c!(aoai_response_usage(null(), AOAI_USAGE_TOTAL_TOKENS)), -1);
            for f in [-1, 9, i32::MAX, i32::MIN] {
                assert_eq!(c!(aoai_response_usage(fx.resp, f)), -1);
            }
            assert!(c!(aoai_response_usage(fx.resp, AOAI_USAGE_TOTAL_TOKENS)) > 0);
        }
        aoai_response_http_status => |fx| {
            assert_eq!(c!(aoai_response_http_status(null())), 0);
            assert_eq!(c!(aoai_response_http_status(fx.resp)), 200);
        }
        aoai_response_attempts => |fx| {
            assert_eq!(c!(aoai_response_attempts(null())), 0);
            assert_eq!(c!(aoai_response_attempts(fx.resp)), 1);
        }
        aoai_response_created => |fx| {
            assert_eq!(c!(aoai_response_created(null())), -1);
        }
        aoai_response_header => |fx| {
            let before = last_error_snapshot();
            let mut len = 0usize;
            assert!(c!(aoai_response_header(null(), c"x".as_ptr(), &mut len)).is_null());
            assert!(c!(aoai_response_header(fx.resp, null(), &mut len)).is_null());
            unchanged_last_error(&before);
            assert!(c!(aoai_response_header(fx.resp, BAD.as_ptr(), &mut len)).is_null());
            unchanged_last_error(&before);
            assert!(c!(aoai_response_header(fx.resp, c"".as_ptr(), null_mut())).is_null());
            assert_eq!(text(c!(aoai_response_header(fx.resp, c"X-MS-REGION".as_ptr(), null_mut()))).as_deref(), Some("East US"));
        }
        aoai_response_header_count => |fx| {
            assert_eq!(c!(aoai_response_header_count(null())), 0);
            assert!(c!(aoai_response_header_count(fx.resp)) > 0);
        }
        aoai_response_header_name => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_response_header_name(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_response_header_name(fx.resp, u32::MAX, &mut len)).is_null());
            let n = c!(aoai_response_header_count(fx.resp));
            let names: Vec<String> = (0..n)
                .map(|i| text(c!(aoai_response_header_name(fx.resp, i, null_mut()))).unwrap())
                .collect();
            assert!(names.iter().any(|h| h == "x-ms-region"), "{names:?}");
        }
        aoai_response_header_value => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_response_header_value(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_response_header_value(fx.resp, u32::MAX, &mut len)).is_null());
            assert!(!c!(aoai_response_header_value(fx.resp, 0, null_mut())).is_null());
        }
        aoai_response_prompt_filter_count => |fx| {
            assert_eq!(c!(aoai_response_prompt_filter_count(null())), 0);
            assert_eq!(c!(aoai_response_prompt_filter_count(fx.resp)), 1);
        }
        aoai_response_prompt_filter_json => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_response_prompt_filter_json(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_response_prompt_filter_json(fx.resp, u32::MAX, &mut len)).is_null());
            assert!(!c!(aoai_response_prompt_filter_json(fx.resp, 0, null_mut())).is_null());
        }
        aoai_response_filtered_categories => |fx| {
            let mut len = 0usize;
            assert!(c!(aoai_response_filtered_categories(null(), 0, &mut len)).is_null());
            assert!(c!(aoai_response_filtered_categories(fx.resp, i32::MAX, &mut len)).is_null());
            for ch in [-1, i32::MIN] {
                assert_eq!(text(c!(aoai_response_filtered_categories(fx.resp, ch, null_mut()))).as_deref(), Some(""));
            }
        }
        aoai_response_filter_severity => |fx| {
            let before = last_error_snapshot();
            let mut f = 7;
            assert!(c!(aoai_response_filter_severity(null(), 0, c"hate".as_ptr(), &mut f)).is_null());
            assert!(c!(aoai_response_filter_severity(fx.resp, 0, null(), &mut f)).is_null());
            unchanged_last_error(&before);
            assert!(c!(aoai_response_filter_severity(fx.resp, 0, BAD.as_ptr(), &mut f)).is_null());
            unchanged_last_error(&before);
            assert!(c!(aoai_response_filter_severity(fx.resp, i32::MAX, c"hate".as_ptr(), &mut f)).is_null());
            assert!(c!(aoai_response_filter_severity(fx.resp, 0, c"no_such_category".as_ptr(), &mut f)).is_null());
            assert_eq!(f, 7, "filtered_out written although nothing was found");
            assert_eq!(text(c!(aoai_response_filter_severity(fx.resp, 0, c"hate".as_ptr(), null_mut()))).as_deref(), Some("safe"));
        }
        aoai_response_embedding_count => |fx| {
            assert_eq!(c!(aoai_response_embedding_count(null())), 0);
            assert_eq!(c!(aoai_response_embedding_count(fx.resp)), 0);
        }
        aoai_response_embedding => |fx| {
            let mut dims = 5usize;
            assert!(c!(aoai_response_embedding(null(), 0, &mut dims)).is_null());
            assert_eq!(dims, 0);
            assert!(c!(aoai_response_embedding(fx.resp, 0, null_mut())).is_null());
        }
        aoai_response_free => |fx| { c!(aoai_response_free(null_mut())); }
        aoai_string_free => |fx| { c!(aoai_string_free(null_mut())); }
    }
}

/// The exported functions of include/aoai.h (declarations inside the extern "C" block).
fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/aoai.h"))
        .expect("read include/aoai.h");
    // Drop comments, then take every `aoai_name(` that starts a declaration (not a macro or
    // a typedef).
    let mut code = String::new();
    let mut rest = h.as_str();
    while let Some(i) = rest.find("/*") {
        code.push_str(&rest[..i]);
        rest = rest[i..]
            .find("*/")
            .map(|j| &rest[i + j + 2..])
            .unwrap_or("");
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    for decl in code.split(';') {
        let d = decl.trim();
        if d.contains("typedef") {
            continue;
        }
        let Some(paren) = d.find('(') else { continue };
        let head = &d[..paren];
        let name: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if name.starts_with("aoai_") {
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_exported_function_survives_hostile_input() {
    let header = header_functions();
    assert!(header.len() > 100, "parsed only {} functions", header.len());
    let table = hostile_table();
    let covered: BTreeSet<String> = table.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(covered.len(), table.len(), "duplicate entries in the table");
    let missing: Vec<_> = header.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&header).collect();
    assert!(
        missing.is_empty(),
        "exported functions without hostile-input coverage in tests/abi.rs: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "table entries not in the header: {stale:?}"
    );

    let fx = Fx::new();
    take_called();
    for (name, check) in &table {
        check(&fx);
        let called = take_called();
        assert!(
            called.contains(name),
            "the entry for {name} never called it (called: {called:?})"
        );
    }
    eprintln!("hostile input: {} exported functions covered", table.len());
}

// ---------------------------------------------------------------------------------------------
// Callbacks on library threads.

struct NotifyProbe<F: Fn(*mut AoaiOp) -> Status> {
    f: F,
    result: Mutex<Option<(Status, BTreeSet<&'static str>)>>,
}

unsafe extern "C" fn probe_notify<F: Fn(*mut AoaiOp) -> Status>(ud: *mut c_void, op: *mut AoaiOp) {
    let p = unsafe { &*(ud as *const NotifyProbe<F>) };
    let mut r = p.result.lock().unwrap();
    if r.is_none() {
        take_called();
        let st = (p.f)(op);
        // The names called on this worker thread count for the caller's coverage.
        *r = Some((st, take_called()));
    }
}

/// Runs `f` inside the notify callback of an operation (a library worker thread).
fn run_in_notify<F: Fn(*mut AoaiOp) -> Status>(fx: &Fx, f: F) -> Status {
    let probe = NotifyProbe {
        f,
        result: Mutex::new(None),
    };
    let mut op = null_mut();
    ok(c!(aoai_client_start(
        fx.client,
        fx.req,
        0,
        Some(probe_notify::<F>),
        &probe as *const NotifyProbe<F> as *mut c_void,
        &mut op
    )));
    wait(op);
    let deadline = Instant::now() + Duration::from_secs(10);
    while probe.result.lock().unwrap().is_none() {
        assert!(Instant::now() < deadline, "notify never ran");
        std::thread::sleep(Duration::from_millis(2));
    }
    // aoai_op_free returns only when the callback is not running and never will again.
    c!(aoai_op_free(op));
    let (st, called) = probe.result.into_inner().unwrap().unwrap();
    CALLED.with(|s| s.borrow_mut().extend(called));
    st
}

#[test]
fn blocking_calls_from_a_library_thread_are_refused() {
    let fx = Fx::new();
    let (client, req) = (fx.client as usize, fx.req as usize);
    assert_eq!(
        run_in_notify(&fx, |op| c!(aoai_op_wait(op, -1))),
        Status::WrongThread
    );
    assert_eq!(
        run_in_notify(&fx, |op| c!(aoai_op_wait_event(op, 1000))),
        Status::WrongThread
    );
    assert_eq!(
        run_in_notify(&fx, move |_| {
            let mut resp = null_mut();
            c!(aoai_client_send(
                client as *const AoaiClient,
                req as *const AoaiRequest,
                &mut resp
            ))
        }),
        Status::WrongThread
    );
    assert_eq!(
        run_in_notify(&fx, move |_| {
            let mut out = null_mut();
            c!(aoai_chat_simple(
                client as *const AoaiClient,
                c"x".as_ptr(),
                &mut out
            ))
        }),
        Status::WrongThread
    );
    // What the notify callback may do: poll, drain, cancel; and free its own operation.
    assert_eq!(
        run_in_notify(&fx, |op| {
            let mut st = 0;
            let a = c!(aoai_op_poll(op, &mut st));
            let b = c!(aoai_op_cancel(op));
            if a == Status::Ok && b == Status::Ok {
                Status::Ok
            } else {
                Status::InvalidState
            }
        }),
        Status::Ok
    );
}

unsafe extern "C" fn free_self(_ud: *mut c_void, op: *mut AoaiOp) {
    unsafe { aoai_op_free(op) };
}

#[test]
fn an_operation_may_free_itself_from_its_notify_callback() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let req = chat_req("free me");
    for _ in 0..20 {
        let mut op = null_mut();
        ok(c!(aoai_client_start(
            client,
            req,
            AOAI_START_STREAM,
            Some(free_self),
            null_mut(),
            &mut op
        )));
        // The op is freed by its callback: never touch `op` again.
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut out = null_mut();
    ok(c!(aoai_chat_simple(client, c"after".as_ptr(), &mut out)));
    owned(out);
    c!(aoai_request_free(req));
    c!(aoai_client_free(client));
}

// ---------------------------------------------------------------------------------------------
// Calls in the wrong state.

#[test]
fn calls_in_the_wrong_state_get_invalid_state() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    // Taking before the end, then twice.
    let slow = chat_req("[[emu:delay-ms=400]] slow");
    let op = start(client, slow, 0);
    let mut resp = null_mut();
    fails(
        c!(aoai_op_take_response(op, &mut resp)),
        Status::InvalidState,
        "still running",
    );
    fails(
        c!(aoai_op_take_partial_response(op, &mut resp)),
        Status::InvalidState,
        "still running",
    );
    assert!(c!(aoai_op_error(op)).is_null(), "no error while pending");
    assert_eq!(poll(op), AOAI_OP_PENDING);
    fails(c!(aoai_op_wait(op, 0)), Status::Timeout, "still running");
    wait(op);
    assert_eq!(poll(op), AOAI_OP_DONE);
    ok(c!(aoai_op_take_response(op, &mut resp)));
    assert!(resp_text(resp, 0).unwrap().ends_with("slow"));
    let mut again = null_mut();
    fails(
        c!(aoai_op_take_response(op, &mut again)),
        Status::InvalidState,
        "already taken",
    );
    assert!(again.is_null());
    // The taken response outlives its operation.
    c!(aoai_op_free(op));
    assert!(resp_text(resp, 0).unwrap().ends_with("slow"));
    c!(aoai_response_free(resp));

    // A cancelled stream: partial once, then never again; cancel is idempotent.
    let streaming = chat_req("[[emu:chunk-delay-ms=30]] a b c d e f g h i j k l");
    let op = start(client, streaming, AOAI_START_STREAM);
    ok(c!(aoai_op_wait_event(op, 10_000)));
    for _ in 0..3 {
        ok(c!(aoai_op_cancel(op)));
    }
    assert_eq!(poll(op), AOAI_OP_CANCELLED);
    let err = c!(aoai_op_error(op));
    assert_eq!(c!(aoai_error_status(err)), Status::Cancelled);
    fails(
        c!(aoai_op_take_response(op, &mut resp)),
        Status::InvalidState,
        "cancelled",
    );
    wait_finished(op);
    let mut partial = null_mut();
    let st = c!(aoai_op_take_partial_response(op, &mut partial));
    if st == Status::Ok {
        c!(aoai_response_free(partial));
        fails(
            c!(aoai_op_take_partial_response(op, &mut partial)),
            Status::InvalidState,
            "already taken",
        );
    } else {
        fails(st, Status::InvalidState, "nothing was received");
    }
    // Events that arrived before the cancel stay available; then EMPTY, repeatedly.
    loop {
        let mut e = null_mut();
        match c!(aoai_op_next_event(op, &mut e)) {
            Status::Ok => c!(aoai_event_free(e)),
            st => {
                fails(st, Status::Empty, "no event");
                break;
            }
        }
    }
    let mut e = null_mut();
    fails(
        c!(aoai_op_next_event(op, &mut e)),
        Status::Empty,
        "no event",
    );
    c!(aoai_op_free(op));
    for r in [slow, streaming] {
        c!(aoai_request_free(r));
    }
    c!(aoai_client_free(client));
}

#[test]
fn waiting_on_an_operation_whose_client_was_freed_ends_cancelled() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let slow = chat_req("[[emu:delay-ms=3000]] never answered");
    let streaming = chat_req("[[emu:chunk-delay-ms=200]] a b c d e f g h i j");
    let ops: Vec<_> = (0..8)
        .map(|i| {
            if i % 2 == 0 {
                start(client, slow, 0)
            } else {
                start(client, streaming, AOAI_START_STREAM)
            }
        })
        .collect();
    c!(aoai_request_free(slow));
    c!(aoai_request_free(streaming));
    let t = Instant::now();
    c!(aoai_client_free(client));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "aoai_client_free took {:?}",
        t.elapsed()
    );
    for op in ops {
        ok(c!(aoai_op_wait(op, 5_000)));
        assert_eq!(poll(op), AOAI_OP_CANCELLED);
        let err = c!(aoai_op_error(op));
        assert_eq!(c!(aoai_error_status(err)), Status::Cancelled);
        let mut r = null_mut();
        fails(
            c!(aoai_op_take_response(op, &mut r)),
            Status::InvalidState,
            "cancelled",
        );
        wait_finished(op);
        c!(aoai_op_free(op));
    }
    // Every connection was closed by the client.
    // (the stats query itself is one open connection)
    let s = emu.wait_stats(|s| s["connections_open"].as_u64() <= Some(1));
    assert!(s["connections_open"].as_u64() <= Some(1), "{s}");
}

// ---------------------------------------------------------------------------------------------
// Huge, deep and NUL-carrying input.

#[test]
fn a_ten_megabyte_prompt_builds_and_is_sent() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let big: String = "word "
        .repeat(2 * 1024 * 1024)
        .trim_end()
        .to_string()
        .replace("word word", "w\u{e9}rd \u{1F600}");
    assert!(big.len() >= 10 * 1024 * 1024);
    let r = chat_req(&big);
    assert_eq!(
        req_json(r)["messages"][0]["content"]
            .as_str()
            .unwrap()
            .len(),
        big.len()
    );
    // Other string entry points take it too (not sent: the echo would double it).
    let bigc = cs(&big);
    let other = chat_req("x");
    ok(c!(aoai_request_set_user(other, bigc.as_ptr())));
    ok(c!(aoai_request_add_text_part(other, bigc.as_ptr())));
    ok(c!(aoai_request_add_stop(other, bigc.as_ptr())));
    let mut raw = null_mut();
    ok(c!(aoai_request_to_json(other, &mut raw)));
    assert!(owned(raw).len() > 3 * big.len());
    c!(aoai_request_free(other));
    let resp = send(client, r);
    let t = resp_text(resp, 0).unwrap();
    let tail_at = big.char_indices().rev().nth(999).unwrap().0;
    assert!(t.ends_with(&big[tail_at..]), "echo lost the tail");
    assert!(c!(aoai_response_usage(resp, AOAI_USAGE_PROMPT_TOKENS)) > 1_000_000);
    c!(aoai_response_free(resp));
    c!(aoai_request_free(r));
    c!(aoai_client_free(client));
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    // Inputs: every JSON-taking entry point refuses 100 000 nested arrays (and objects).
    let deep = deep_json(100_000);
    let mut objs = String::new();
    for _ in 0..100_000 {
        objs.push_str("{\"a\":");
    }
    objs.push('1');
    objs.push_str(&"}".repeat(100_000));
    let objs = cs(&objs);
    for d in [&deep, &objs] {
        let r = chat_req("x");
        bad_json(
            c!(aoai_request_set_field_json(r, c"x".as_ptr(), d.as_ptr())),
            "recursion limit",
        );
        bad_json(
            c!(aoai_request_merge_json(r, d.as_ptr())),
            "recursion limit",
        );
        let mut out = null_mut();
        bad_json(
            c!(aoai_request_from_json(
                AOAI_REQUEST_CHAT,
                d.as_ptr(),
                &mut out
            )),
            "recursion limit",
        );
        c!(aoai_request_free(r));
    }
    // Within the limit works (127 levels).
    let r = chat_req("x");
    ok(c!(aoai_request_set_field_json(
        r,
        c"metadata".as_ptr(),
        deep_json(120).as_ptr()
    )));
    c!(aoai_request_free(r));

    // Responses: a deep body, a deep stream event and a deep error body from the server.
    let emu = Emulator::start();
    let client = emu_client(&emu, |o| {
        ok(c!(aoai_options_set_max_retries(o, 0)));
    });
    let deep_s = deep.to_str().unwrap().to_string();
    let req = chat_req("x");
    emu.script(json!({"status": 200, "body": deep_s}));
    let mut resp = null_mut();
    fails(
        c!(aoai_client_send(client, req, &mut resp)),
        Status::ResponseParse,
        "recursion limit",
    );
    emu.script(json!({"sse": [deep_s]}));
    let mut n = 0u32;
    fails(
        c!(aoai_client_stream(
            client,
            req,
            Some(count_event),
            &mut n as *mut u32 as *mut c_void,
            null_mut()
        )),
        Status::Stream,
        "recursion limit",
    );
    emu.script(json!({"status": 400, "body": deep_s}));
    fails(
        c!(aoai_client_send(client, req, &mut resp)),
        Status::BadRequest,
        "HTTP 400",
    );
    assert!(resp.is_null());
    c!(aoai_request_free(req));
    c!(aoai_client_free(client));
}

#[test]
fn interior_nul_travels_as_a_json_escape_and_comes_back_with_its_length() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    // In: a C string cannot hold a NUL, a JSON "\u0000" escape can.
    let r = chat_req("x");
    ok(c!(aoai_request_set_field_json(
        r,
        c"user".as_ptr(),
        c"\"a\\u0000b\"".as_ptr()
    )));
    ok(c!(aoai_request_add_message_json(
        r,
        c"{\"role\":\"user\",\"content\":\"nul\\u0000inside\"}".as_ptr()
    )));
    let j = req_json(r);
    assert_eq!(j["user"], "a\u{0}b");
    assert_eq!(j["messages"][1]["content"], "nul\u{0}inside");
    let mut raw = null_mut();
    ok(c!(aoai_request_to_json(r, &mut raw)));
    assert!(
        owned(raw).contains("a\\u0000b"),
        "escaped in the owned C string"
    );
    let resp = send(client, r);
    c!(aoai_response_free(resp));
    let sent: Value = serde_json::from_str(emu.requests()[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["user"], "a\u{0}b");
    assert_eq!(sent["messages"][1]["content"], "nul\u{0}inside");
    // A C string argument ends at its first NUL, as C says.
    let r2 = chat_req("x");
    let with_nul = b"ab\0cd\0";
    ok(c!(aoai_request_set_user(
        r2,
        with_nul.as_ptr() as *const c_char
    )));
    assert_eq!(req_json(r2)["user"], "ab");

    // Out: a response text with an embedded NUL has its full length in len_out, the bytes
    // are exact; the owned one-liner string replaces the NUL (a C string cannot hold it).
    for (prompt, stream) in [
        ("[[emu:reply=left%00right]] x", false),
        ("[[emu:reply=left%00right]] y", true),
    ] {
        let q = chat_req(prompt);
        let resp = if stream {
            let mut resp = null_mut();
            let mut n = 0u32;
            ok(c!(aoai_client_stream(
                client,
                q,
                Some(count_event),
                &mut n as *mut u32 as *mut c_void,
                &mut resp
            )));
            resp
        } else {
            send(client, q)
        };
        let mut len = 0usize;
        let p = c!(aoai_response_text(resp, 0, &mut len));
        assert_eq!(len, "left\0right".len(), "stream={stream}");
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len + 1) };
        assert_eq!(bytes, b"left\0right\0");
        let mut jl = 0usize;
        let jp = c!(aoai_response_json(resp, &mut jl));
        let body = unsafe { std::slice::from_raw_parts(jp as *const u8, jl) };
        assert!(!body.contains(&0), "the raw JSON keeps the escape");
        c!(aoai_response_free(resp));
        c!(aoai_request_free(q));
    }
    let mut out = null_mut();
    ok(c!(aoai_chat_simple(
        client,
        c"[[emu:reply=left%00right]]".as_ptr(),
        &mut out
    )));
    assert_eq!(owned(out), "left\u{FFFD}right");
    c!(aoai_request_free(r));
    c!(aoai_request_free(r2));
    c!(aoai_client_free(client));
}

// ---------------------------------------------------------------------------------------------
// Panics.

#[test]
fn a_panic_comes_back_as_a_status_and_the_library_keeps_working() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let client_addr = client as usize;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let client = client_addr as *const AoaiClient;
                for i in 0..25 {
                    fails(c!(aoai_debug_panic()), Status::Panic, "deliberate panic");
                    assert!(last_msg().contains("keeps working"), "{}", last_msg());
                    let mut out = null_mut();
                    let p = cs(&format!("after panic t{t} i{i}"));
                    ok(c!(aoai_chat_simple(client, p.as_ptr(), &mut out)));
                    assert!(owned(out).ends_with(&format!("t{t} i{i}")));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic escapes the boundary");
    }
    // The thread's last error is reset by the next successful call.
    fails(c!(aoai_debug_panic()), Status::Panic, "deliberate panic");
    let mut o = null_mut();
    ok(c!(aoai_options_new(&mut o)));
    c!(aoai_options_free(o));
    c!(aoai_client_free(client));
}

// ---------------------------------------------------------------------------------------------
// Process-wide functions: in a child process.

const CHILD_ENV: &str = "AOAI_ABI_CHILD";

fn run_child(test: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {test} failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn process_wide_functions_in_a_child() {
    run_child("child_shutdown");
    run_child("child_log_callback_and_secrets");
}

#[test]
#[ignore = "runs only as a child of process_wide_functions_in_a_child"]
fn child_shutdown() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let req = chat_req("before shutdown");
    // A finished operation, still held: its handle stays usable after the shutdown.
    let done = start(client, req, 0);
    wait(done);
    let t = Instant::now();
    ok(c!(aoai_shutdown()));
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    ok(c!(aoai_shutdown())); // idempotent
    // The old client fails with SHUTDOWN, never crashes.
    let mut out = null_mut();
    fails(
        c!(aoai_chat_simple(client, c"x".as_ptr(), &mut out)),
        Status::Shutdown,
        "shut down",
    );
    let mut op2 = null_mut();
    fails(
        c!(aoai_client_start(
            client,
            req,
            0,
            None,
            null_mut(),
            &mut op2
        )),
        Status::Shutdown,
        "shut down",
    );
    assert_eq!(poll(done), AOAI_OP_DONE);
    let mut resp = null_mut();
    ok(c!(aoai_op_take_response(done, &mut resp)));
    assert!(resp_text(resp, 0).unwrap().ends_with("before shutdown"));
    c!(aoai_response_free(resp));
    c!(aoai_op_free(done));
    c!(aoai_client_free(client));
    // A new client starts a new runtime.
    let client = emu_client(&emu, |_| {});
    ok(c!(aoai_chat_simple(client, c"reborn".as_ptr(), &mut out)));
    assert!(owned(out).ends_with("reborn"));
    c!(aoai_client_free(client));
    c!(aoai_request_free(req));
    ok(c!(aoai_shutdown()));
}

/// An operation still running at aoai_shutdown (the caller broke the "free every client
/// first" rule) must still end: a wait on it must not hang forever.
#[test]
fn an_operation_in_flight_at_shutdown_ends() {
    run_child("child_op_in_flight_at_shutdown");
}

#[test]
#[ignore = "runs only as a child of an_operation_in_flight_at_shutdown_ends"]
fn child_op_in_flight_at_shutdown() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let req = chat_req("[[emu:delay-ms=3000]] in flight at shutdown");
    let op = start(client, req, 0);
    ok(c!(aoai_shutdown()));
    // Bounded wait: never a hang.
    let st = c!(aoai_op_wait(op, 5_000));
    assert_eq!(
        st,
        Status::Ok,
        "an operation in flight at aoai_shutdown never ended (state {})",
        poll(op)
    );
    assert_ne!(poll(op), AOAI_OP_PENDING);
    c!(aoai_op_free(op));
    c!(aoai_client_free(client));
    c!(aoai_request_free(req));
}

static LOGS: Mutex<Vec<(i32, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn capture_log(_ud: *mut c_void, level: i32, msg: *const c_char) {
    let m = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    LOGS.lock().unwrap().push((level, m));
}

#[test]
#[ignore = "runs only as a child of process_wide_functions_in_a_child"]
fn child_log_callback_and_secrets() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    const KEY: &str = "sk-FAKE-KEY-7f3a9c";
    const TOKEN: &str = "eyFAKE-TOKEN-41d2";
    const PROXY_PW: &str = "proxy-pass-9b8e";
    ok(c!(aoai_set_log_callback(Some(capture_log), null_mut(), 4)));
    let emu = Emulator::start_with(&["--api-key", KEY]);
    let mut seen: Vec<String> = Vec::new();

    // A working client with the fake key; a rejected one; a token client; a proxy with a
    // password (unreachable): collect every string the library hands out.
    let client = emu_client(&emu, |o| {
        ok(c!(aoai_options_set_api_key(o, cs(KEY).as_ptr())));
        ok(c!(aoai_options_set_max_retries(o, 1)));
    });
    let mut out = null_mut();
    ok(c!(aoai_client_describe(client, &mut out)));
    seen.push(owned(out));
    ok(c!(aoai_chat_simple(client, c"hello".as_ptr(), &mut out)));
    seen.push(owned(out));
    let req = chat_req("[[emu:status=503]] fail");
    let mut resp = null_mut();
    fails(
        c!(aoai_client_send(client, req, &mut resp)),
        Status::Server,
        "503",
    );
    seen.push(last_msg());
    let wrong = emu_client(&emu, |o| {
        ok(c!(aoai_options_set_api_key(
            o,
            cs(&format!("{KEY}-wrong")).as_ptr()
        )));
    });
    fails(
        c!(aoai_client_send(wrong, req, &mut resp)),
        Status::Authentication,
        "401",
    );
    let err = c!(aoai_last_error());
    seen.push(last_msg());
    seen.extend(text(c!(aoai_error_body(err, null_mut()))));
    let tok = emu_client(&emu, |o| {
        ok(c!(aoai_options_set_api_key(o, null())));
        ok(c!(aoai_options_set_ad_token(o, cs(TOKEN).as_ptr())));
    });
    ok(c!(aoai_client_describe(tok, &mut out)));
    seen.push(owned(out));
    fails(
        c!(aoai_client_send(tok, req, &mut resp)),
        Status::Authentication,
        "401",
    );
    seen.push(last_msg());
    let proxied = emu_client(&emu, |o| {
        ok(c!(aoai_options_set_endpoint(
            o,
            c"https://aoai-test.invalid".as_ptr()
        )));
        ok(c!(aoai_options_set_proxy(
            o,
            cs(&format!("http://user:{PROXY_PW}@127.0.0.1:9")).as_ptr()
        )));
        ok(c!(aoai_options_set_max_retries(o, 0)));
        ok(c!(aoai_options_set_connect_timeout_ms(o, 2000)));
    });
    ok(c!(aoai_client_describe(proxied, &mut out)));
    seen.push(owned(out));
    let st = c!(aoai_client_send(proxied, req, &mut resp));
    assert!(
        matches!(st, Status::Connection | Status::Timeout | Status::Tls),
        "{st:?}: {}",
        last_msg()
    );
    seen.push(last_msg());
    // A bad proxy URL is named without its password.
    let o = emu_opts(&emu);
    ok(c!(aoai_options_set_proxy(
        o,
        cs(&format!("http://user:{PROXY_PW}@[::1")).as_ptr()
    )));
    let mut cl = null_mut();
    fails(
        c!(aoai_client_new(o, &mut cl)),
        Status::InvalidConfig,
        "proxy",
    );
    seen.push(last_msg());
    c!(aoai_options_free(o));
    // Stream errors and operations' own errors.
    let sreq = chat_req("[[emu:error-after=2]] a b c");
    let op = start(client, sreq, AOAI_START_STREAM);
    wait(op);
    seen.extend(text(c!(aoai_error_message(
        c!(aoai_op_error(op)),
        null_mut()
    ))));
    c!(aoai_op_free(op));

    ok(c!(aoai_set_log_callback(None, null_mut(), 0)));
    let logs = LOGS.lock().unwrap().clone();
    assert!(
        !logs.is_empty(),
        "the log callback saw nothing at debug level"
    );
    assert!(logs.iter().all(|(l, _)| (1..=4).contains(l)));
    seen.extend(logs.into_iter().map(|(_, m)| m));
    for s in &seen {
        for secret in [KEY, TOKEN, PROXY_PW] {
            assert!(!s.contains(secret), "secret {secret} leaked in: {s}");
        }
    }
    // Debug output of the safe core's configuration.
    let mut b = aoai::ConfigBuilder::new();
    b.load_json(
        &json!({"endpoint": emu.base, "api_key": KEY, "environment": false, "ad_token": null})
            .to_string(),
    )
    .unwrap();
    let cfg = b.build().unwrap();
    for dbg in [format!("{b:?}"), format!("{cfg:?}")] {
        assert!(!dbg.contains(KEY), "key in Debug output: {dbg}");
    }
    for p in [req, sreq] {
        c!(aoai_request_free(p));
    }
    for cl in [client, wrong, tok, proxied] {
        c!(aoai_client_free(cl));
    }
}

/// Proxy credentials are secrets: `Debug` of the configuration must not print them
/// (describe and error messages redact them already).
#[test]
fn proxy_password_never_in_debug_output() {
    let mut b = aoai::ConfigBuilder::new();
    b.load_json(
        &json!({"endpoint": "https://x.openai.azure.com", "api_key": "k", "environment": false,
                "proxy": "http://user:proxy-pass-9b8e@127.0.0.1:3128"})
        .to_string(),
    )
    .unwrap();
    let cfg = b.build().unwrap();
    for dbg in [format!("{b:?}"), format!("{cfg:?}")] {
        assert!(!dbg.contains("proxy-pass-9b8e"), "{dbg}");
    }
}

/// Severity strings are cached per category: two category names must never share an entry.
#[test]
fn filter_severity_of_colliding_category_names() {
    let emu = Emulator::start();
    let client = emu_client(&emu, |_| {});
    let body = json!({"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"index": 0,
        "finish_reason": "stop", "message": {"role": "assistant", "content": "x"},
        "content_filter_results": {"Aa": {"filtered": false, "severity": "low"},
                                   "BB": {"filtered": true, "severity": "high"}}}]});
    emu.script(json!({"status": 200, "body": body}));
    let req = chat_req("x");
    let resp = send(client, req);
    let mut f = 0;
    let a = text(c!(aoai_response_filter_severity(
        resp,
        0,
        c"Aa".as_ptr(),
        &mut f
    )));
    assert_eq!((a.as_deref(), f), (Some("low"), 0));
    let b = text(c!(aoai_response_filter_severity(
        resp,
        0,
        c"BB".as_ptr(),
        &mut f
    )));
    assert_eq!((b.as_deref(), f), (Some("high"), 1));
    c!(aoai_response_free(resp));
    c!(aoai_request_free(req));
    c!(aoai_client_free(client));
}
