//! Strings handed to C: borrowed ones cached per object (stable pointers, NUL-terminated, with
//! the exact length available), and owned ones freed with `aoai_string_free`.

use super::{ffi_value, set_len};
use std::ffi::{CString, c_char};
use std::sync::Mutex;

/// Cache of NUL-terminated copies, keyed by (field, index, sub-index). A `Box<[u8]>` never
/// moves its heap bytes, so pointers stay valid for the owner's lifetime.
#[derive(Default)]
pub struct StrCache(Mutex<Vec<(CacheKey, Box<[u8]>)>>);

/// (field, index, sub-index).
type CacheKey = (u32, u32, u32);

pub fn nul_terminated(s: &str) -> Box<[u8]> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v.into_boxed_slice()
}

impl StrCache {
    /// The cached C string for `key`, made from `make` on first use; NULL when `make` gives None.
    /// # Safety
    /// `len_out` is NULL or points to writable memory for a `usize`.
    pub unsafe fn get(
        &self,
        key: CacheKey,
        len_out: *mut usize,
        make: impl FnOnce() -> Option<String>,
    ) -> *const c_char {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = g.iter().find(|(k, _)| *k == key) {
            unsafe { set_len(len_out, b.len() - 1) };
            return b.as_ptr() as *const c_char;
        }
        match make() {
            Some(s) => {
                let b = nul_terminated(&s);
                let p = b.as_ptr() as *const c_char;
                unsafe { set_len(len_out, b.len() - 1) };
                g.push((key, b));
                p
            }
            None => {
                unsafe { set_len(len_out, 0) };
                std::ptr::null()
            }
        }
    }
}

/// An owned C string for the caller. Interior NULs (possible in model output) become U+FFFD so
/// the string is whole; the exact bytes stay available through the borrowed accessors.
pub fn owned_cstring(s: &str) -> *mut c_char {
    let c = CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).expect("no NUL left"));
    c.into_raw()
}

/// Frees a string the library returned as `char*` (owned). NULL is a no-op.
/// Never pass a borrowed `const char*` or memory from another allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_string_free(s: *mut c_char) {
    ffi_value!(aoai_string_free, (), {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
        Ok(())
    })
}
