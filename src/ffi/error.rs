//! Error objects: the thread's last error (never NULL) and an operation's own error.

use super::strings::StrCache;
use super::{arg_str, ffi_value};
use crate::error::{Error, Status};
use std::cell::RefCell;
use std::ffi::c_char;

/// Details of a failure. Read-only; owned by the library (the thread's last-error slot or the
/// operation that failed).
pub struct AoaiError {
    pub(crate) err: Error,
    cache: StrCache,
}

impl AoaiError {
    pub fn new(err: Error) -> AoaiError {
        AoaiError {
            err,
            cache: StrCache::default(),
        }
    }
}

thread_local! {
    static LAST: RefCell<Box<AoaiError>> = RefCell::new(Box::new(AoaiError::new(Error::new(Status::Ok, ""))));
}

pub fn set_last_error(e: Error) {
    crate::log::debug(&format!(
        "call failed: {} ({})",
        e.message,
        e.status.as_str()
    ));
    LAST.with(|l| **l.borrow_mut() = AoaiError::new(e));
}

pub fn clear_last_error() {
    LAST.with(|l| {
        let mut b = l.borrow_mut();
        if b.err.status != Status::Ok {
            **b = AoaiError::new(Error::new(Status::Ok, ""));
        }
    });
}

/// The calling thread's last error: never NULL. Valid until the next aoai call on this
/// thread (copy what you need first). After a successful status-returning call its status
/// is AOAI_STATUS_OK. The status returned by each call is the truth; this adds detail.
/// Belongs to the calling thread. It and the strings borrowed from it stay valid until
/// this thread's next status-returning aoai call; accessors never change it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_last_error() -> *const AoaiError {
    ffi_value!(aoai_last_error, std::ptr::null(), {
        Ok(LAST.with(|l| &**l.borrow() as *const AoaiError))
    })
}

/// Shortcut for aoai_error_message(aoai_last_error(), NULL). Borrowed, never NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_last_error_message() -> *const c_char {
    ffi_value!(aoai_last_error_message, c"".as_ptr(), {
        Ok(aoai_error_message(aoai_last_error(), std::ptr::null_mut()))
    })
}

/// A static English description of a status ("rate limited"). Never NULL; unknown values
/// give "unknown status".
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_status_str(status: i32) -> *const c_char {
    ffi_value!(aoai_status_str, c"unknown status".as_ptr(), {
        Ok(status_cstr(status))
    })
}

/// The status of an error. NULL gives AOAI_STATUS_NULL_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_status(err: *const AoaiError) -> Status {
    ffi_value!(aoai_error_status, Status::NullArgument, {
        Ok(err
            .as_ref()
            .map(|e| e.err.status)
            .unwrap_or(Status::NullArgument))
    })
}

/// The message: what went wrong, with the field, host or limit involved. Borrowed from
/// `err`; never NULL ("" when `err` is NULL). `len_out` (may be NULL) gets the length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_message(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_message, c"".as_ptr(), {
        match err.as_ref() {
            Some(e) => Ok(e
                .cache
                .get((0, 0, 0), len_out, || Some(e.err.message.clone()))),
            None => {
                super::set_len(len_out, 0);
                Ok(c"".as_ptr())
            }
        }
    })
}

/// HTTP status of the failing response; 0 when there was none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_http_status(err: *const AoaiError) -> i32 {
    ffi_value!(aoai_error_http_status, 0, {
        Ok(err.as_ref().map(|e| e.err.http_status as i32).unwrap_or(0))
    })
}

/// Service error code ("content_filter", "DeploymentNotFound", "401", "rate_limit_exceeded"),
/// or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_code(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_code, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((1, 0, 0), len_out, || e.err.code.clone()))
    })
}

/// OpenAI error `type` ("invalid_request_error"), or NULL (Azure gateway errors have none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_type(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_type, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((2, 0, 0), len_out, || e.err.error_type.clone()))
    })
}

/// OpenAI error `param` ("prompt", "messages"), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_param(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_param, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((3, 0, 0), len_out, || e.err.param.clone()))
    })
}

/// Request id of the failing response (`apim-request-id`, else `x-request-id`), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_request_id(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_request_id, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((4, 0, 0), len_out, || e.err.request_id.clone()))
    })
}

/// The server's retry hint in milliseconds (`retry-after-ms`, `x-ms-retry-after-ms`,
/// `Retry-After`), or -1 when it gave none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_retry_after_ms(err: *const AoaiError) -> i64 {
    ffi_value!(aoai_error_retry_after_ms, -1, {
        Ok(err
            .as_ref()
            .and_then(|e| e.err.retry_after_ms)
            .map(|v| v as i64)
            .unwrap_or(-1))
    })
}

/// Content-filter categories that blocked the request, comma-separated ("violence,hate"),
/// "" when none. Borrowed from `err`; never NULL for a non-NULL `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_filtered_categories(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_filtered_categories, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((5, 0, 0), len_out, || {
            Some(e.err.filtered_categories.join(","))
        }))
    })
}

/// Raw body of the failing response (the service's error JSON), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_body(
    err: *const AoaiError,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_body, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((6, 0, 0), len_out, || e.err.body.clone()))
    })
}

/// A header of the failing response (name case-insensitive, e.g. "x-ratelimit-remaining-tokens"),
/// or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_header(
    err: *const AoaiError,
    name: *const c_char,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_header, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        let name = arg_str(name, "name")?;
        let idx = e
            .err
            .headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name));
        match idx {
            Some(i) => Ok(e.cache.get((7, i as u32, 0), len_out, || {
                Some(e.err.headers[i].1.clone())
            })),
            None => Ok(std::ptr::null()),
        }
    })
}

/// Number of headers of the failing response (0 when there was no response).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_header_count(err: *const AoaiError) -> u32 {
    ffi_value!(aoai_error_header_count, 0, {
        Ok(err
            .as_ref()
            .map(|e| e.err.headers.len() as u32)
            .unwrap_or(0))
    })
}

/// Name of header `index` of the failing response (lower-case), or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_header_name(
    err: *const AoaiError,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_header_name, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((8, index, 0), len_out, || {
            e.err.headers.get(index as usize).map(|h| h.0.clone())
        }))
    })
}

/// Value of header `index` of the failing response, or NULL. Borrowed from `err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_header_value(
    err: *const AoaiError,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_error_header_value, std::ptr::null(), {
        let Some(e) = err.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(e.cache.get((7, index, 0), len_out, || {
            e.err.headers.get(index as usize).map(|h| h.1.clone())
        }))
    })
}

/// HTTP attempts made before giving up (1 + retries); 0 when no request was sent.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_error_attempts(err: *const AoaiError) -> i32 {
    ffi_value!(aoai_error_attempts, 0, {
        Ok(err.as_ref().map(|e| e.err.attempts as i32).unwrap_or(0))
    })
}

fn status_cstr(status: i32) -> *const c_char {
    Status::from_i32(status)
        .map(|s| s.as_cstr().as_ptr())
        .unwrap_or(c"unknown status".as_ptr())
}
