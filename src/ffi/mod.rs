//! The C ABI. Every exported function goes through `ffi_status!` or `ffi_value!`, which catch
//! panics, and uses the `arg_*` helpers, which check pointers and UTF-8; this layer only
//! converts, checks and delegates to the safe core.
//!
//! Conventions (also in the header): functions return `AoaiStatus`; outputs are written only
//! on success; strings in are NUL-terminated UTF-8 and copied; strings out are either borrowed
//! (`const char*` valid as long as the object that returned them) or owned (`char*`, freed with
//! `aoai_string_free`); every `*_free` accepts NULL.

#![allow(clippy::missing_safety_doc)] // The safety contract of every function is in the header.

pub mod call;
pub mod client;
pub mod error;
pub mod event;
pub mod op;
pub mod request;
pub mod response;
pub mod strings;

use crate::error::{Error, Result, Status};
use std::cell::Cell;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// Set while an exported function runs, so the panic hook stays quiet for panics we catch.
    static IN_FFI: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// Panics caught at the boundary become a status; the default hook would also print them to the
/// host's stderr. Ours logs them through the library log instead and leaves every other panic of
/// the process to the previous hook.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_FFI.with(|c| c.get()) > 0 {
                crate::log::log(
                    crate::log::Level::Error,
                    &format!("internal panic caught at the C boundary: {info}"),
                );
            } else {
                prev(info);
            }
        }));
    });
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f` behind the panic boundary; records the failure as the thread's last error.
pub fn boundary(name: &str, f: impl FnOnce() -> Result<()>) -> Status {
    install_panic_hook();
    IN_FFI.with(|c| c.set(c.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_FFI.with(|c| c.set(c.get() - 1));
    match r {
        Ok(Ok(())) => {
            error::clear_last_error();
            Status::Ok
        }
        Ok(Err(e)) => {
            let st = e.status;
            error::set_last_error(e);
            st
        }
        Err(p) => {
            let msg = format!(
                "internal error in {name}: {} (please report it; the library keeps working)",
                panic_message(p.as_ref())
            );
            error::set_last_error(Error::new(Status::Panic, msg));
            Status::Panic
        }
    }
}

/// Like `boundary` for functions that return a value instead of a status: a failure or panic
/// returns `default`. Only a panic is recorded as the last error: accessors are called while
/// the caller still reads strings borrowed from the last error, which must not change under it.
pub fn boundary_value<T>(name: &str, default: T, f: impl FnOnce() -> Result<T>) -> T {
    install_panic_hook();
    IN_FFI.with(|c| c.set(c.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_FFI.with(|c| c.set(c.get() - 1));
    match r {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            crate::log::debug(&format!("{name}: {}", e.message));
            default
        }
        Err(p) => {
            error::set_last_error(Error::new(
                Status::Panic,
                format!("internal error in {name}: {}", panic_message(p.as_ref())),
            ));
            default
        }
    }
}

/// The body of an exported function that returns `AoaiStatus`: runs `$body` (a block that
/// evaluates to `Result<()>`) behind the panic boundary. The signature stays written out in
/// full at each function so cbindgen sees it.
macro_rules! ffi_status {
    ($name:ident, $body:block) => {{
        #[allow(unused_unsafe)]
        let status = $crate::ffi::boundary(stringify!($name), || -> $crate::error::Result<()> {
            unsafe { $body }
        });
        status
    }};
}

/// The body of an exported function that returns a value: `$default` on failure or panic.
macro_rules! ffi_value {
    ($name:ident, $default:expr, $body:block) => {{
        #[allow(unused_unsafe)]
        let value = $crate::ffi::boundary_value(stringify!($name), $default, || unsafe { $body });
        value
    }};
}

pub(crate) use ffi_status;
pub(crate) use ffi_value;

fn null_arg(name: &str) -> Error {
    Error::new(Status::NullArgument, format!("argument '{name}' is NULL"))
}

/// A borrowed object from a pointer the caller passed.
pub unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    unsafe { p.as_ref() }.ok_or_else(|| null_arg(name))
}

pub unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    unsafe { p.as_mut() }.ok_or_else(|| null_arg(name))
}

/// A NUL-terminated UTF-8 string argument (required).
pub unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null_arg(name));
    }
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        Error::new(
            Status::InvalidUtf8,
            format!(
                "argument '{name}' is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// An optional string argument: NULL means "not given".
pub unsafe fn arg_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// Checks an output pointer before any work is done, so nothing is lost when it is NULL.
pub unsafe fn arg_out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    unsafe { p.as_mut() }.ok_or_else(|| null_arg(name))
}

/// A 0/1 flag argument (no `bool` in the ABI).
pub fn arg_flag(v: i32, name: &str) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::invalid_arg(format!(
            "argument '{name}' must be 0 or 1 (got {v})"
        ))),
    }
}

/// Moves a value to the heap for the caller; freed by the matching `*_free`.
pub fn into_raw<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Takes back ownership of a pointer made by `into_raw` (NULL is a no-op).
pub unsafe fn from_raw<T>(p: *mut T) -> Option<Box<T>> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { Box::from_raw(p) })
    }
}

/// Writes an optional length output.
pub unsafe fn set_len(len_out: *mut usize, n: usize) {
    if let Some(l) = unsafe { len_out.as_mut() } {
        *l = n;
    }
}
