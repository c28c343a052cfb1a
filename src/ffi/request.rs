//! Request builders. A request is not thread-safe while being built; sending only reads it,
//! so one finished request may be sent from several threads at once.

use super::response::AoaiResponse;
use super::strings::owned_cstring;
use super::{
    arg_flag, arg_mut, arg_opt_str, arg_out, arg_ref, arg_str, ffi_status, ffi_value, from_raw,
    into_raw,
};
use crate::config::Operation;
use crate::error::Status;
use crate::request::{Request, Role};
use std::ffi::c_char;

/// Message roles for aoai_request_add_message.
pub const AOAI_ROLE_SYSTEM: i32 = 0;
pub const AOAI_ROLE_DEVELOPER: i32 = 1;
pub const AOAI_ROLE_USER: i32 = 2;
pub const AOAI_ROLE_ASSISTANT: i32 = 3;
pub const AOAI_ROLE_TOOL: i32 = 4;

/// Request kinds for aoai_request_from_json.
pub const AOAI_REQUEST_CHAT: i32 = 0;
pub const AOAI_REQUEST_COMPLETION: i32 = 1;
pub const AOAI_REQUEST_EMBEDDING: i32 = 2;

/// A chat, completion or embeddings request. Free with aoai_request_free.
pub struct AoaiRequest {
    pub(crate) req: Request,
}

fn op_of(kind: i32) -> crate::Result<Operation> {
    match kind {
        AOAI_REQUEST_CHAT => Ok(Operation::Chat),
        AOAI_REQUEST_COMPLETION => Ok(Operation::Completion),
        AOAI_REQUEST_EMBEDDING => Ok(Operation::Embedding),
        _ => Err(crate::Error::invalid_arg(format!(
            "kind {kind} is not one of AOAI_REQUEST_CHAT(0), AOAI_REQUEST_COMPLETION(1), AOAI_REQUEST_EMBEDDING(2)"
        ))),
    }
}

/// 0..2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_temperature(req: *mut AoaiRequest, value: f64) -> Status {
    ffi_status!(aoai_request_set_temperature, {
        arg_mut(req, "req")?.req.set_temperature(value)
    })
}

/// 0..1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_top_p(req: *mut AoaiRequest, value: f64) -> Status {
    ffi_status!(aoai_request_set_top_p, {
        arg_mut(req, "req")?.req.set_top_p(value)
    })
}

/// -2..2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_frequency_penalty(
    req: *mut AoaiRequest,
    value: f64,
) -> Status {
    ffi_status!(aoai_request_set_frequency_penalty, {
        arg_mut(req, "req")?.req.set_frequency_penalty(value)
    })
}

/// -2..2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_presence_penalty(
    req: *mut AoaiRequest,
    value: f64,
) -> Status {
    ffi_status!(aoai_request_set_presence_penalty, {
        arg_mut(req, "req")?.req.set_presence_penalty(value)
    })
}

/// Token limit of the answer (not for o-series models: use max_completion_tokens).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_max_tokens(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_max_tokens, {
        arg_mut(req, "req")?.req.set_max_tokens(value)
    })
}

/// Chat: token limit including reasoning tokens (o-series models).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_max_completion_tokens(
    req: *mut AoaiRequest,
    value: i64,
) -> Status {
    ffi_status!(aoai_request_set_max_completion_tokens, {
        arg_mut(req, "req")?.req.set_max_completion_tokens(value)
    })
}

/// Number of choices, 1..128.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_n(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_n, {
        arg_mut(req, "req")?.req.set_n(value)
    })
}

/// Sampling seed for best-effort determinism.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_seed(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_seed, {
        arg_mut(req, "req")?.req.set_seed(value)
    })
}

/// Chat: 0/1 to return token log probabilities. Completions: 0..5 top log probabilities.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_logprobs(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_logprobs, {
        arg_mut(req, "req")?.req.set_logprobs(value)
    })
}

/// Chat: 0..20 most likely tokens per position (needs logprobs 1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_top_logprobs(
    req: *mut AoaiRequest,
    value: i64,
) -> Status {
    ffi_status!(aoai_request_set_top_logprobs, {
        arg_mut(req, "req")?.req.set_top_logprobs(value)
    })
}

/// Completions: server-side candidates, 1..20 (>= n).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_best_of(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_best_of, {
        arg_mut(req, "req")?.req.set_best_of(value)
    })
}

/// Embeddings: output dimensions (text-embedding-3 models).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_dimensions(req: *mut AoaiRequest, value: i64) -> Status {
    ffi_status!(aoai_request_set_dimensions, {
        arg_mut(req, "req")?.req.set_dimensions(value)
    })
}

/// End-user id for abuse monitoring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_user(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_user, {
        let r = arg_mut(req, "req")?;
        r.req.set_user(arg_str(value, "value")?)
    })
}

/// Adds a stop sequence (at most 4).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_stop(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_stop, {
        let r = arg_mut(req, "req")?;
        r.req.add_stop(arg_str(value, "value")?)
    })
}

/// Deployment (Azure) or model (OpenAI, Azure v1) for this request only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_deployment(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_deployment, {
        let r = arg_mut(req, "req")?;
        r.req.set_deployment(arg_str(value, "value")?)
    })
}

/// Completions: the prompt (replaces any earlier prompt).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_prompt(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_prompt, {
        let r = arg_mut(req, "req")?;
        r.req.set_prompt(arg_str(value, "value")?)
    })
}

/// Completions: appends a prompt, making `prompt` an array (one choice set per prompt).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_prompt(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_prompt, {
        let r = arg_mut(req, "req")?;
        r.req.add_prompt(arg_str(value, "value")?)
    })
}

/// Completions: text after the completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_suffix(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_suffix, {
        let r = arg_mut(req, "req")?;
        r.req.set_suffix(arg_str(value, "value")?)
    })
}

/// Embeddings: appends an input text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_input(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_input, {
        let r = arg_mut(req, "req")?;
        r.req.add_input(arg_str(value, "value")?)
    })
}

/// Chat: "auto", "none", "required", or the name of a function to call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_tool_choice(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_tool_choice, {
        let r = arg_mut(req, "req")?;
        r.req.set_tool_choice(arg_str(value, "value")?)
    })
}

/// Chat: "minimal", "low", "medium" or "high" (o-series models).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_reasoning_effort(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_reasoning_effort, {
        let r = arg_mut(req, "req")?;
        r.req.set_reasoning_effort(arg_str(value, "value")?)
    })
}

/// Chat: appends a text part to the last message (its content becomes a part array).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_text_part(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_text_part, {
        let r = arg_mut(req, "req")?;
        r.req.add_text_part(arg_str(value, "value")?)
    })
}

/// Chat: appends a whole message given as a JSON object (any role, parts, tool calls).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_message_json(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_message_json, {
        let r = arg_mut(req, "req")?;
        r.req.add_message_json(arg_str(value, "value")?)
    })
}

/// Merges a JSON object into the request body (top-level keys replace). Invalid shapes
/// leave the request unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_merge_json(
    req: *mut AoaiRequest,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_request_merge_json, {
        let r = arg_mut(req, "req")?;
        r.req.merge_json(arg_str(value, "value")?)
    })
}

/// A new chat request in `*req_out`.
/// Free it with aoai_request_free. Build it from one thread at a time; a finished request may
/// be sent from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_chat_request_new(req_out: *mut *mut AoaiRequest) -> Status {
    ffi_status!(aoai_chat_request_new, {
        let out = arg_out(req_out, "req_out")?; // checked before anything is allocated
        *out = into_raw(AoaiRequest {
            req: Request::new(Operation::Chat),
        });
        Ok(())
    })
}

/// A new legacy completion request in `*req_out`.
/// Free it with aoai_request_free. Build it from one thread at a time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_completion_request_new(req_out: *mut *mut AoaiRequest) -> Status {
    ffi_status!(aoai_completion_request_new, {
        let out = arg_out(req_out, "req_out")?; // checked before anything is allocated
        *out = into_raw(AoaiRequest {
            req: Request::new(Operation::Completion),
        });
        Ok(())
    })
}

/// A new embeddings request in `*req_out`.
/// Free it with aoai_request_free. Build it from one thread at a time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_embedding_request_new(req_out: *mut *mut AoaiRequest) -> Status {
    ffi_status!(aoai_embedding_request_new, {
        let out = arg_out(req_out, "req_out")?; // checked before anything is allocated
        *out = into_raw(AoaiRequest {
            req: Request::new(Operation::Embedding),
        });
        Ok(())
    })
}

/// A request from a whole JSON body (passed through; the library adds only `model` where
/// the API needs it and `stream`). `kind`: AOAI_REQUEST_CHAT, _COMPLETION or _EMBEDDING.
/// Free it with aoai_request_free. Bad JSON gives AOAI_STATUS_INVALID_JSON, an unknown `kind`
/// AOAI_STATUS_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_from_json(
    kind: i32,
    json: *const c_char,
    req_out: *mut *mut AoaiRequest,
) -> Status {
    ffi_status!(aoai_request_from_json, {
        let out = arg_out(req_out, "req_out")?;
        let op = op_of(kind)?;
        *out = into_raw(AoaiRequest {
            req: Request::from_json(op, arg_str(json, "json")?)?,
        });
        Ok(())
    })
}

/// Chat: appends a message. `role`: AOAI_ROLE_SYSTEM, _DEVELOPER, _USER or _ASSISTANT
/// (tool results go through aoai_request_add_tool_message).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_message(
    req: *mut AoaiRequest,
    role: i32,
    content: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_message, {
        let r = arg_mut(req, "req")?;
        let role = Role::from_i32(role)?;
        r.req.add_message(role, arg_str(content, "content")?)
    })
}

/// Chat: appends a tool result for the tool call `tool_call_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_tool_message(
    req: *mut AoaiRequest,
    tool_call_id: *const c_char,
    content: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_tool_message, {
        let r = arg_mut(req, "req")?;
        r.req.add_tool_message(
            arg_str(tool_call_id, "tool_call_id")?,
            arg_str(content, "content")?,
        )
    })
}

/// Chat: appends the assistant message of `choice` in `resp` (text and tool calls), for
/// multi-turn conversations and tool round trips.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_response_message(
    req: *mut AoaiRequest,
    resp: *const AoaiResponse,
    choice: u32,
) -> Status {
    ffi_status!(aoai_request_add_response_message, {
        let r = arg_mut(req, "req")?;
        let resp = arg_ref(resp, "resp")?;
        r.req.add_response_message(&resp.resp, choice as usize)
    })
}

/// Chat: appends an image part (URL or data: URL) to the last message; `detail` may be
/// NULL, or "auto", "low", "high".
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_image_part(
    req: *mut AoaiRequest,
    url: *const c_char,
    detail: *const c_char,
) -> Status {
    ffi_status!(aoai_request_add_image_part, {
        let r = arg_mut(req, "req")?;
        r.req
            .add_image_part(arg_str(url, "url")?, arg_opt_str(detail, "detail")?)
    })
}

/// Chat: declares a function tool. `description` and `parameters_json` (a JSON schema
/// object) may be NULL; `strict` 0/1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_add_function_tool(
    req: *mut AoaiRequest,
    name: *const c_char,
    description: *const c_char,
    parameters_json: *const c_char,
    strict: i32,
) -> Status {
    ffi_status!(aoai_request_add_function_tool, {
        let r = arg_mut(req, "req")?;
        let strict = arg_flag(strict, "strict")?;
        r.req.add_function_tool(
            arg_str(name, "name")?,
            arg_opt_str(description, "description")?,
            arg_opt_str(parameters_json, "parameters_json")?,
            strict,
        )
    })
}

/// Chat: 0/1, whether the model may call several tools in one turn.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_parallel_tool_calls(
    req: *mut AoaiRequest,
    on: i32,
) -> Status {
    ffi_status!(aoai_request_set_parallel_tool_calls, {
        let r = arg_mut(req, "req")?;
        r.req.set_parallel_tool_calls(arg_flag(on, "on")?)
    })
}

/// Chat: answer as a JSON object (`response_format: {"type":"json_object"}`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_response_format_json_object(
    req: *mut AoaiRequest,
) -> Status {
    ffi_status!(aoai_request_set_response_format_json_object, {
        arg_mut(req, "req")?.req.set_response_format_json_object()
    })
}

/// Chat: structured output following `schema_json` (a JSON schema object) named `name`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_response_format_json_schema(
    req: *mut AoaiRequest,
    name: *const c_char,
    schema_json: *const c_char,
    strict: i32,
) -> Status {
    ffi_status!(aoai_request_set_response_format_json_schema, {
        let r = arg_mut(req, "req")?;
        let strict = arg_flag(strict, "strict")?;
        r.req.set_response_format_json_schema(
            arg_str(name, "name")?,
            arg_str(schema_json, "schema_json")?,
            strict,
        )
    })
}

/// Completions: 0/1, whether the prompt is echoed before the completion.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_echo(req: *mut AoaiRequest, on: i32) -> Status {
    ffi_status!(aoai_request_set_echo, {
        let r = arg_mut(req, "req")?;
        r.req.set_echo(arg_flag(on, "on")?)
    })
}

/// Completions and chat: token id `token` gets `bias` (-100..100).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_logit_bias(
    req: *mut AoaiRequest,
    token: i64,
    bias: i64,
) -> Status {
    ffi_status!(aoai_request_set_logit_bias, {
        arg_mut(req, "req")?.req.set_logit_bias(token, bias)
    })
}

/// Streaming: 0/1, ask for a final usage event (`stream_options.include_usage`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_stream_include_usage(
    req: *mut AoaiRequest,
    on: i32,
) -> Status {
    ffi_status!(aoai_request_set_stream_include_usage, {
        let r = arg_mut(req, "req")?;
        r.req.set_stream_include_usage(arg_flag(on, "on")?)
    })
}

/// Sets any top-level field to a JSON value (`"logprobs"`, `"true"`), for parameters
/// without a typed setter. `stream` is refused: the call decides it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_field_json(
    req: *mut AoaiRequest,
    key: *const c_char,
    value_json: *const c_char,
) -> Status {
    ffi_status!(aoai_request_set_field_json, {
        let r = arg_mut(req, "req")?;
        r.req
            .set_field_json(arg_str(key, "key")?, arg_str(value_json, "value_json")?)
    })
}

/// Removes a top-level field from the request body (no error when it is absent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_remove_field(
    req: *mut AoaiRequest,
    key: *const c_char,
) -> Status {
    ffi_status!(aoai_request_remove_field, {
        let r = arg_mut(req, "req")?;
        r.req.remove_field(arg_str(key, "key")?);
        Ok(())
    })
}

/// Per-request idle limit between chunks in ms (0 = none), overriding the client's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_idle_timeout_ms(
    req: *mut AoaiRequest,
    ms: u64,
) -> Status {
    ffi_status!(aoai_request_set_idle_timeout_ms, {
        arg_mut(req, "req")?.req.idle_timeout_ms = Some(ms);
        Ok(())
    })
}

/// Per-request limit in ms from sending to the response head (0 = none), overriding the
/// client's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_first_byte_timeout_ms(
    req: *mut AoaiRequest,
    ms: u64,
) -> Status {
    ffi_status!(aoai_request_set_first_byte_timeout_ms, {
        arg_mut(req, "req")?.req.first_byte_timeout_ms = Some(ms);
        Ok(())
    })
}

/// Per-request total limit in ms (0 = none), overriding the client's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_set_total_timeout_ms(
    req: *mut AoaiRequest,
    ms: u64,
) -> Status {
    ffi_status!(aoai_request_set_total_timeout_ms, {
        arg_mut(req, "req")?.req.total_timeout_ms = Some(ms);
        Ok(())
    })
}

/// The request body as JSON in `*json_out` (what would be sent, before the library adds
/// `model`/`stream`); free with aoai_string_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_to_json(
    req: *const AoaiRequest,
    json_out: *mut *mut c_char,
) -> Status {
    ffi_status!(aoai_request_to_json, {
        let out = arg_out(json_out, "json_out")?;
        *out = owned_cstring(&arg_ref(req, "req")?.req.to_json());
        Ok(())
    })
}

/// Frees a request. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_request_free(req: *mut AoaiRequest) {
    ffi_value!(aoai_request_free, (), {
        drop(from_raw(req));
        Ok(())
    })
}
