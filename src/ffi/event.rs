//! Stream events. In a stream callback the event is borrowed for the call; from
//! aoai_op_next_event it is owned and freed with aoai_event_free. Strings are borrowed from
//! the event.

use super::strings::StrCache;
use super::{ffi_value, from_raw};
use crate::stream::{Event, EventKind};
use std::ffi::c_char;

/// Event kinds returned by aoai_event_kind.
pub const AOAI_EVENT_TEXT_DELTA: i32 = 1;
pub const AOAI_EVENT_TOOL_CALL_DELTA: i32 = 2;
pub const AOAI_EVENT_FINISH: i32 = 3;
pub const AOAI_EVENT_USAGE: i32 = 4;
pub const AOAI_EVENT_CONTENT_FILTER: i32 = 5;
pub const AOAI_EVENT_REFUSAL_DELTA: i32 = 6;

// cbindgen writes only literal constants; these checks tie them to the core's enum.
const _: () = assert!(
    AOAI_EVENT_TEXT_DELTA == EventKind::TextDelta as i32
        && AOAI_EVENT_TOOL_CALL_DELTA == EventKind::ToolCallDelta as i32
        && AOAI_EVENT_FINISH == EventKind::Finish as i32
        && AOAI_EVENT_USAGE == EventKind::Usage as i32
        && AOAI_EVENT_CONTENT_FILTER == EventKind::ContentFilter as i32
        && AOAI_EVENT_REFUSAL_DELTA == EventKind::RefusalDelta as i32
);

/// One typed stream event: owned from aoai_op_next_event (immutable, any thread; free with
/// aoai_event_free) or borrowed in a stream callback (valid during the call only).
pub struct AoaiEvent {
    pub(crate) ev: Event,
    cache: StrCache,
}

impl AoaiEvent {
    pub fn new(ev: Event) -> AoaiEvent {
        AoaiEvent {
            ev,
            cache: StrCache::default(),
        }
    }
}

/// TEXT_DELTA / REFUSAL_DELTA: the text piece (whole UTF-8 code points). TOOL_CALL_DELTA:
/// the argument fragment. FINISH: the finish reason. NULL for other kinds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_text(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_text, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((0, 0, 0), len_out, || match e.kind {
            EventKind::TextDelta
            | EventKind::RefusalDelta
            | EventKind::ToolCallDelta
            | EventKind::Finish => Some(e.text.clone()),
            _ => None,
        }))
    })
}

/// TOOL_CALL_DELTA: the call id (on the call's first piece only), else NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_tool_call_id(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_tool_call_id, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((1, 0, 0), len_out, || e.tool_id.clone()))
    })
}

/// TOOL_CALL_DELTA: the function name (on the call's first piece only), else NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_tool_call_name(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_tool_call_name, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((2, 0, 0), len_out, || e.tool_name.clone()))
    })
}

/// CONTENT_FILTER: the `content_filter_results` JSON, else NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_filter_json(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_filter_json, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((3, 0, 0), len_out, || {
            e.filter.as_ref().map(|v| v.to_string())
        }))
    })
}

/// CONTENT_FILTER: filtered categories, comma-separated ("" when none), else NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_filtered_categories(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_filtered_categories, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((4, 0, 0), len_out, || {
            e.filter.as_ref().map(|_| e.filtered_categories().join(","))
        }))
    })
}

/// The whole chunk JSON the event came from.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_json(
    event: *const AoaiEvent,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_event_json, std::ptr::null(), {
        let Some(ev) = event.as_ref() else {
            return Ok(std::ptr::null());
        };
        let e = &ev.ev;
        Ok(ev.cache.get((5, 0, 0), len_out, || Some(e.raw.to_string())))
    })
}

/// AOAI_EVENT_* kind (0 when `event` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_kind(event: *const AoaiEvent) -> i32 {
    ffi_value!(aoai_event_kind, 0, {
        Ok(event.as_ref().map(|e| e.ev.kind as i32).unwrap_or(0))
    })
}

/// Choice index, or -1 for prompt-level and usage events.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_choice(event: *const AoaiEvent) -> i32 {
    ffi_value!(aoai_event_choice, -1, {
        Ok(event
            .as_ref()
            .and_then(|e| e.ev.choice)
            .map(|c| c as i32)
            .unwrap_or(-1))
    })
}

/// TOOL_CALL_DELTA: the tool call index within the choice; -1 otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_tool_call_index(event: *const AoaiEvent) -> i32 {
    ffi_value!(aoai_event_tool_call_index, -1, {
        Ok(event
            .as_ref()
            .filter(|e| e.ev.kind == EventKind::ToolCallDelta)
            .map(|e| e.ev.tool_index as i32)
            .unwrap_or(-1))
    })
}

/// USAGE: a count (AOAI_USAGE_*), or -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_usage(event: *const AoaiEvent, field: i32) -> i64 {
    ffi_value!(aoai_event_usage, -1, {
        Ok(event
            .as_ref()
            .and_then(|e| e.ev.usage)
            .and_then(|u| u.get(field))
            .unwrap_or(-1))
    })
}

/// CONTENT_FILTER of the prompt: its prompt index; -1 otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_prompt_index(event: *const AoaiEvent) -> i32 {
    ffi_value!(aoai_event_prompt_index, -1, {
        Ok(event
            .as_ref()
            .and_then(|e| e.ev.prompt_index)
            .map(|i| i as i32)
            .unwrap_or(-1))
    })
}

/// CONTENT_FILTER annotation (asynchronous filter): the offsets into the choice's text;
/// returns 1 and fills the non-NULL outputs when present, else 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_filter_offsets(
    event: *const AoaiEvent,
    check_out: *mut i64,
    start_out: *mut i64,
    end_out: *mut i64,
) -> i32 {
    ffi_value!(aoai_event_filter_offsets, 0, {
        let Some((c, s, e)) = event.as_ref().and_then(|e| e.ev.offsets) else {
            return Ok(0);
        };
        for (p, v) in [(check_out, c), (start_out, s), (end_out, e)] {
            if let Some(p) = p.as_mut() {
                *p = v;
            }
        }
        Ok(1)
    })
}

/// Frees an event taken with aoai_op_next_event. NULL is a no-op. Never free the borrowed
/// event of a stream callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_event_free(event: *mut AoaiEvent) {
    ffi_value!(aoai_event_free, (), {
        drop(from_raw(event));
        Ok(())
    })
}
