//! Response accessors. A response is immutable: every accessor may be called from any thread.
//! Returned strings are borrowed from the response and valid until aoai_response_free.

use super::strings::StrCache;
use super::{arg_str, ffi_value, from_raw};
use crate::response::{Response, filter_category, filtered_categories};
use std::ffi::c_char;

/// Usage fields for aoai_response_usage and aoai_event_usage.
pub const AOAI_USAGE_PROMPT_TOKENS: i32 = 0;
pub const AOAI_USAGE_COMPLETION_TOKENS: i32 = 1;
pub const AOAI_USAGE_TOTAL_TOKENS: i32 = 2;
pub const AOAI_USAGE_CACHED_TOKENS: i32 = 3;
pub const AOAI_USAGE_REASONING_TOKENS: i32 = 4;
pub const AOAI_USAGE_PROMPT_AUDIO_TOKENS: i32 = 5;
pub const AOAI_USAGE_COMPLETION_AUDIO_TOKENS: i32 = 6;
pub const AOAI_USAGE_ACCEPTED_PREDICTION_TOKENS: i32 = 7;
pub const AOAI_USAGE_REJECTED_PREDICTION_TOKENS: i32 = 8;

/// A completed (or assembled streamed) response. Free with aoai_response_free. Immutable:
/// readable from several threads at once. Strings are borrowed until aoai_response_free.
pub struct AoaiResponse {
    pub(crate) resp: Response,
    cache: StrCache,
}

impl AoaiResponse {
    pub fn new(resp: Response) -> AoaiResponse {
        AoaiResponse {
            resp,
            cache: StrCache::default(),
        }
    }
}

/// Field numbers for the string cache.
const TEXT: u32 = 0;
const FINISH: u32 = 1;
const REFUSAL: u32 = 2;
const TOOL_ID: u32 = 3;
const TOOL_NAME: u32 = 4;
const TOOL_ARGS: u32 = 5;
const ID: u32 = 6;
const MODEL: u32 = 7;
const JSON: u32 = 8;
const HEADER: u32 = 9;
const CHOICE_FILTER: u32 = 10;
const PROMPT_FILTER: u32 = 11;
const FILTERED: u32 = 12;
const SEVERITY: u32 = 13;
const FINGERPRINT: u32 = 14;
const LOGPROBS: u32 = 15;
const HEADER_NAME: u32 = 16;

fn tool(r: &Response, choice: u32, i: u32) -> Option<&crate::response::ToolCall> {
    r.choices.get(choice as usize)?.tool_calls.get(i as usize)
}

/// Text of a choice (chat `message.content` or completion `text`); NULL when the choice
/// does not exist or its content is null (tool calls). May be "" (a reasoning model that
/// spent its budget thinking: finish reason "length").
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_text(
    resp: *const AoaiResponse,
    choice: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_text, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((TEXT, choice, 0), len_out, || {
            let c = r.resp.choices.get(choice as usize)?;
            c.text.clone()
        }))
    })
}

/// Finish reason of a choice ("stop", "length", "tool_calls", "content_filter"), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_finish_reason(
    resp: *const AoaiResponse,
    choice: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_finish_reason, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((FINISH, choice, 0), len_out, || {
            let c = r.resp.choices.get(choice as usize)?;
            c.finish_reason.clone()
        }))
    })
}

/// Refusal message of a choice (structured outputs), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_refusal(
    resp: *const AoaiResponse,
    choice: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_refusal, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((REFUSAL, choice, 0), len_out, || {
            let c = r.resp.choices.get(choice as usize)?;
            c.refusal.clone()
        }))
    })
}

/// The choice's `content_filter_results` as JSON, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_content_filter_json(
    resp: *const AoaiResponse,
    choice: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_content_filter_json, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((CHOICE_FILTER, choice, 0), len_out, || {
            let c = r.resp.choices.get(choice as usize)?;
            c.content_filter.as_ref().map(|v| v.to_string())
        }))
    })
}

/// The choice's `logprobs` as JSON, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_logprobs_json(
    resp: *const AoaiResponse,
    choice: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_logprobs_json, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((LOGPROBS, choice, 0), len_out, || {
            let c = r.resp.choices.get(choice as usize)?;
            c.logprobs.as_ref().map(|v| v.to_string())
        }))
    })
}

/// Id of tool call `index` of `choice` ("call_..."), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_tool_call_id(
    resp: *const AoaiResponse,
    choice: u32,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_tool_call_id, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((TOOL_ID, choice, index), len_out, || {
            let t = tool(&r.resp, choice, index)?;
            Some(t.id.clone())
        }))
    })
}

/// Function name of tool call `index` of `choice`, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_tool_call_name(
    resp: *const AoaiResponse,
    choice: u32,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_tool_call_name, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((TOOL_NAME, choice, index), len_out, || {
            let t = tool(&r.resp, choice, index)?;
            Some(t.name.clone())
        }))
    })
}

/// Arguments (a JSON text) of tool call `index` of `choice`, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_tool_call_arguments(
    resp: *const AoaiResponse,
    choice: u32,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_tool_call_arguments, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((TOOL_ARGS, choice, index), len_out, || {
            let t = tool(&r.resp, choice, index)?;
            Some(t.arguments.clone())
        }))
    })
}

/// Response id ("chatcmpl-..."), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_id(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_id, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((ID, 0, 0), len_out, || {
            let r = &r.resp;
            r.id.clone()
        }))
    })
}

/// The model that answered ("gpt-4o-2024-08-06": the real model, not the deployment), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_model(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_model, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((MODEL, 0, 0), len_out, || {
            let r = &r.resp;
            r.model.clone()
        }))
    })
}

/// `system_fingerprint`, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_system_fingerprint(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_system_fingerprint, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((FINGERPRINT, 0, 0), len_out, || {
            let r = &r.resp;
            r.system_fingerprint.clone()
        }))
    })
}

/// The raw response body (for a stream: the assembled body in the non-stream shape).
/// Never NULL for a non-NULL `resp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_json(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_json, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((JSON, 0, 0), len_out, || {
            let r = &r.resp;
            Some(r.raw.clone())
        }))
    })
}

/// Request id (`apim-request-id`, else `x-request-id`), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_request_id(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_request_id, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((HEADER + 1000, 0, 0), len_out, || {
            let r = &r.resp;
            r.request_id()
        }))
    })
}

/// Azure region that served the call (`x-ms-region`), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_region(
    resp: *const AoaiResponse,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_region, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((HEADER + 1001, 0, 0), len_out, || {
            let r = &r.resp;
            r.header("x-ms-region").map(str::to_string)
        }))
    })
}

/// Number of choices (0 when `resp` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_choice_count(resp: *const AoaiResponse) -> u32 {
    ffi_value!(aoai_response_choice_count, 0, {
        Ok(resp
            .as_ref()
            .map(|r| r.resp.choices.len() as u32)
            .unwrap_or(0))
    })
}

/// Number of tool calls of `choice` (0 when none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_tool_call_count(
    resp: *const AoaiResponse,
    choice: u32,
) -> u32 {
    ffi_value!(aoai_response_tool_call_count, 0, {
        Ok(resp
            .as_ref()
            .and_then(|r| r.resp.choices.get(choice as usize))
            .map(|c| c.tool_calls.len() as u32)
            .unwrap_or(0))
    })
}

/// A usage count (AOAI_USAGE_*), or -1 when the service did not report it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_usage(resp: *const AoaiResponse, field: i32) -> i64 {
    ffi_value!(aoai_response_usage, -1, {
        Ok(resp
            .as_ref()
            .and_then(|r| r.resp.usage)
            .and_then(|u| u.get(field))
            .unwrap_or(-1))
    })
}

/// HTTP status of the response (200).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_http_status(resp: *const AoaiResponse) -> i32 {
    ffi_value!(aoai_response_http_status, 0, {
        Ok(resp
            .as_ref()
            .map(|r| r.resp.http_status as i32)
            .unwrap_or(0))
    })
}

/// HTTP attempts it took (1 + retries).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_attempts(resp: *const AoaiResponse) -> i32 {
    ffi_value!(aoai_response_attempts, 0, {
        Ok(resp.as_ref().map(|r| r.resp.attempts as i32).unwrap_or(0))
    })
}

/// Unix time the response was created, or -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_created(resp: *const AoaiResponse) -> i64 {
    ffi_value!(aoai_response_created, -1, {
        Ok(resp.as_ref().and_then(|r| r.resp.created).unwrap_or(-1))
    })
}

/// A response header (name case-insensitive: "x-ratelimit-remaining-tokens"), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_header(
    resp: *const AoaiResponse,
    name: *const c_char,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_header, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        let name = arg_str(name, "name")?;
        let Some(i) = r
            .resp
            .headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))
        else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((HEADER, i as u32, 0), len_out, || {
            Some(r.resp.headers[i].1.clone())
        }))
    })
}

/// Number of response headers (names are lower-case), for listing them with
/// aoai_response_header_name / aoai_response_header_value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_header_count(resp: *const AoaiResponse) -> u32 {
    ffi_value!(aoai_response_header_count, 0, {
        Ok(resp
            .as_ref()
            .map(|r| r.resp.headers.len() as u32)
            .unwrap_or(0))
    })
}

/// Name of header `index` (lower-case), or NULL when out of range. Borrowed from `resp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_header_name(
    resp: *const AoaiResponse,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_header_name, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((HEADER_NAME, index, 0), len_out, || {
            r.resp.headers.get(index as usize).map(|h| h.0.clone())
        }))
    })
}

/// Value of header `index`, or NULL when out of range. Borrowed from `resp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_header_value(
    resp: *const AoaiResponse,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_header_value, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((HEADER, index, 0), len_out, || {
            r.resp.headers.get(index as usize).map(|h| h.1.clone())
        }))
    })
}

/// Number of prompt filter results (Azure `prompt_filter_results`, one per prompt).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_prompt_filter_count(resp: *const AoaiResponse) -> u32 {
    ffi_value!(aoai_response_prompt_filter_count, 0, {
        Ok(resp
            .as_ref()
            .map(|r| r.resp.prompt_filters.len() as u32)
            .unwrap_or(0))
    })
}

/// The `content_filter_results` of prompt filter entry `index` as JSON, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_prompt_filter_json(
    resp: *const AoaiResponse,
    index: u32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_prompt_filter_json, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((PROMPT_FILTER, index, 0), len_out, || {
            r.resp
                .prompt_filters
                .get(index as usize)
                .map(|(_, v)| v.to_string())
        }))
    })
}

/// Filtered categories, comma-separated ("" when none): of choice `choice`, or with
/// `choice` -1 of the prompt filter results. NULL when that choice does not exist.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_filtered_categories(
    resp: *const AoaiResponse,
    choice: i32,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value!(aoai_response_filtered_categories, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        Ok(r.cache.get((FILTERED, choice as u32, 0), len_out, || {
            let cats: Vec<String> = if choice < 0 {
                r.resp
                    .prompt_filters
                    .iter()
                    .flat_map(|(_, v)| filtered_categories(v))
                    .collect()
            } else {
                filtered_categories(
                    r.resp
                        .choices
                        .get(choice as usize)?
                        .content_filter
                        .as_ref()?,
                )
            };
            Some(cats.join(","))
        }))
    })
}

/// Severity of a filter category ("safe", "low", "medium", "high"; "detected" /
/// "not_detected" for jailbreak and protected material), of choice `choice` or with -1 of
/// the first prompt; NULL when absent. `*filtered_out` (may be NULL) gets 1 if it blocked.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_filter_severity(
    resp: *const AoaiResponse,
    choice: i32,
    category: *const c_char,
    filtered_out: *mut i32,
) -> *const c_char {
    ffi_value!(aoai_response_filter_severity, std::ptr::null(), {
        let Some(r) = resp.as_ref() else {
            return Ok(std::ptr::null());
        };
        let category = arg_str(category, "category")?;
        let results = if choice < 0 {
            r.resp.prompt_filters.first().map(|(_, v)| v)
        } else {
            r.resp
                .choices
                .get(choice as usize)
                .and_then(|c| c.content_filter.as_ref())
        };
        let Some((filtered, level)) = results.and_then(|v| filter_category(v, category)) else {
            return Ok(std::ptr::null());
        };
        if let Some(f) = filtered_out.as_mut() {
            *f = filtered as i32;
        }
        // The category's position in its results object: unique, unlike a hash of its name.
        let key = results
            .and_then(|v| v.as_object())
            .and_then(|m| m.keys().position(|k| k == category))
            .unwrap_or(0) as u32;
        Ok(r.cache
            .get((SEVERITY, choice as u32, key), std::ptr::null_mut(), || {
                Some(level)
            }))
    })
}

/// Number of embedding vectors.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_embedding_count(resp: *const AoaiResponse) -> u32 {
    ffi_value!(aoai_response_embedding_count, 0, {
        Ok(resp
            .as_ref()
            .map(|r| r.resp.embeddings.len() as u32)
            .unwrap_or(0))
    })
}

/// Embedding vector `index` as `*dims_out` floats, borrowed from the response; NULL when
/// absent.
/// NULL and `*dims_out` 0 when `index` is out of range or `resp` is NULL. Copy the floats to
/// keep them past aoai_response_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_embedding(
    resp: *const AoaiResponse,
    index: u32,
    dims_out: *mut usize,
) -> *const f32 {
    ffi_value!(aoai_response_embedding, std::ptr::null(), {
        let Some(v) = resp
            .as_ref()
            .and_then(|r| r.resp.embeddings.get(index as usize))
        else {
            super::set_len(dims_out, 0);
            return Ok(std::ptr::null());
        };
        super::set_len(dims_out, v.len());
        Ok(v.as_ptr())
    })
}

/// Frees a response. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_response_free(resp: *mut AoaiResponse) {
    ffi_value!(aoai_response_free, (), {
        drop(from_raw(resp));
        Ok(())
    })
}
