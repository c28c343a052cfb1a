//! `/chat/completions`: deterministic answers, tool calls, the o1 reasoning shapes and
//! the Azure streaming sequence (wire reference §6.1, §7).

use serde_json::{Map, Value, json};

use crate::azure::{
    FINGERPRINT, Gen, Payload, chat_logprob, chat_usage, output_filter, output_filter_blocked,
};
use crate::errors::invalid_request;
use crate::script::strip;
use crate::state::Kind;
use crate::util::{fragments, pieces, truncate_words, unix_now, word_count};

/// o1 spends this many reasoning tokens on every answer it manages to give.
const REASONING_TOKENS: u64 = 32;
/// Below this `max_completion_tokens`, o1 runs out of budget while reasoning.
const REASONING_FLOOR: u64 = 50;
const ARGUMENT_FRAGMENT: usize = 8;

struct Msg {
    role: String,
    text: String,
}

enum Content {
    Text(String),
    Tool { name: String, arguments: String },
}

struct Plan {
    content: Content,
    finish: &'static str,
    blocked: bool,
    completion_per_choice: u64,
    reasoning_per_choice: u64,
    prompt_tokens: u64,
    n: u64,
    logprobs: bool,
    top_logprobs: u64,
    /// One id per choice when answering with a tool call.
    call_ids: Vec<String>,
}

/// Text of a message `content`: a string, or the text parts of an array.
fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn messages(body: &Map<String, Value>) -> Result<Vec<Msg>, Value> {
    let list = match body.get("messages") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => {
            return Err(invalid_request(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                Some("messages"),
            ));
        }
        Some(_) => {
            return Err(invalid_request(
                "Invalid type for 'messages': expected an array.",
                Some("messages"),
            ));
        }
        None => {
            return Err(invalid_request(
                "Missing required parameter: 'messages'.",
                Some("messages"),
            ));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let role = m.get("role").and_then(Value::as_str).ok_or_else(|| {
                invalid_request(
                    &format!("Missing required parameter: 'messages[{i}].role'."),
                    Some(&format!("messages[{i}].role")),
                )
            })?;
            Ok(Msg {
                role: role.to_string(),
                text: content_text(m.get("content")),
            })
        })
        .collect()
}

/// The text scanned for `[[emu:...]]` directives: the last user message.
pub fn directive_text(body: &Map<String, Value>) -> Option<String> {
    let list = body.get("messages")?.as_array()?;
    list.iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| content_text(m.get("content")))
}

fn check_uint(g: &Gen, key: &str) -> Result<Option<u64>, Value> {
    match g.body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            invalid_request(
                &format!("Invalid '{key}': expected a non-negative integer."),
                Some(key),
            )
        }),
    }
}

fn check_n(g: &Gen) -> Result<u64, Value> {
    match check_uint(g, "n")? {
        None => Ok(1),
        Some(n) if (1..=128).contains(&n) => Ok(n),
        Some(_) => Err(invalid_request(
            "Invalid 'n': integer out of range. Expected a value between 1 and 128.",
            Some("n"),
        )),
    }
}

fn tool_name(g: &Gen) -> Option<String> {
    let tools = g.body.get("tools")?.as_array().filter(|t| !t.is_empty())?;
    let choice = g.body.get("tool_choice");
    if choice.and_then(Value::as_str) == Some("none") {
        return None;
    }
    let named = choice
        .and_then(|c| c.get("function"))
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str);
    let first = tools[0]
        .get("function")
        .and_then(|f| f.get("name"))
        .and_then(Value::as_str);
    Some(named.or(first).unwrap_or("function").to_string())
}

fn wants_json(g: &Gen) -> bool {
    let kind = g
        .body
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str);
    matches!(kind, Some("json_object" | "json_schema"))
}

fn reply_text(g: &Gen, last: &Msg, clean: &str) -> String {
    let reply = if let Some(r) = g.dirs.get("reply") {
        r.to_string()
    } else if last.role == "tool" {
        format!("Tool result received: {}", last.text)
    } else {
        format!("Hello from the aoai emulator! You said: {clean}")
    };
    if wants_json(g) {
        json!({ "answer": reply }).to_string()
    } else {
        reply
    }
}

fn plan(g: &Gen) -> Result<Plan, Value> {
    let msgs = messages(g.body)?;
    let n = check_n(g)?;
    let max_tokens = check_uint(g, "max_tokens")?;
    let max_completion = check_uint(g, "max_completion_tokens")?;
    let reasoning_model = g.dep.kind == Kind::Reasoning;
    if reasoning_model && max_tokens.is_some() {
        return Err(json!({"error": {
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter",
        }}));
    }
    let last = &msgs[msgs.len() - 1];
    let clean = directive_text(g.body)
        .map(|t| strip(&t))
        .unwrap_or_default();
    let prompt_tokens = msgs.iter().map(|m| word_count(&m.text)).sum::<u64>().max(1);
    let mut p = Plan {
        content: Content::Text(String::new()),
        finish: "stop",
        blocked: false,
        completion_per_choice: 0,
        reasoning_per_choice: 0,
        prompt_tokens,
        n,
        logprobs: g.body.get("logprobs").and_then(Value::as_bool) == Some(true),
        top_logprobs: g.uint("top_logprobs").unwrap_or(0),
        call_ids: Vec::new(),
    };
    if let Some(name) = tool_name(g).filter(|_| last.role == "user") {
        let arguments = json!({ "query": clean }).to_string();
        p.completion_per_choice = word_count(&arguments).max(1);
        p.content = Content::Tool { name, arguments };
        p.finish = "tool_calls";
        p.call_ids = (0..n)
            .map(|_| format!("call_emu_{}", g.state.next_id()))
            .collect();
        return Ok(p);
    }
    let reply = reply_text(g, last, &clean);
    let limit = if reasoning_model {
        if let Some(m) = max_completion.filter(|m| *m < REASONING_FLOOR) {
            // Budget exhausted while reasoning: empty content, everything is reasoning.
            p.finish = "length";
            p.completion_per_choice = m;
            p.reasoning_per_choice = m;
            return Ok(p);
        }
        p.reasoning_per_choice = REASONING_TOKENS;
        max_completion.map(|m| m - REASONING_TOKENS)
    } else {
        max_completion.or(max_tokens)
    };
    let (mut text, cut) = match limit {
        Some(l) => truncate_words(&reply, l),
        None => (reply, false),
    };
    if cut {
        p.finish = "length";
    }
    match g.finish_override() {
        Some("content_filter") => {
            text = truncate_words(&text, word_count(&text) / 2).0;
            p.finish = "content_filter";
            p.blocked = true;
        }
        Some("length") => p.finish = "length",
        Some("stop") => p.finish = "stop",
        _ => {}
    }
    p.completion_per_choice = word_count(&text) + p.reasoning_per_choice;
    p.content = Content::Text(text);
    Ok(p)
}

pub fn answer(g: &Gen) -> Result<Payload, Value> {
    let p = plan(g)?;
    let id = format!("chatcmpl-emu{}", g.state.next_id());
    let created = unix_now();
    Ok(if g.stream() {
        Payload::Sse(stream_events(g, &p, &id, created))
    } else {
        Payload::Json(full_body(g, &p, &id, created))
    })
}

fn usage(p: &Plan) -> Value {
    chat_usage(
        p.prompt_tokens,
        p.completion_per_choice * p.n,
        p.reasoning_per_choice * p.n,
    )
}

fn tool_call(p: &Plan, i: usize, name: &str, arguments: &str) -> Value {
    json!({"id": p.call_ids[i], "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn choice_filter(p: &Plan) -> Value {
    match (&p.content, p.blocked) {
        (Content::Tool { .. }, _) => json!({}),
        (_, true) => output_filter_blocked(),
        _ => output_filter(),
    }
}

fn full_body(g: &Gen, p: &Plan, id: &str, created: u64) -> Value {
    let choices: Vec<Value> = (0..p.n as usize)
        .map(|i| {
            let (message, logprobs) = match &p.content {
                Content::Text(text) => {
                    let lp = p.logprobs.then(|| {
                        let content: Vec<Value> = pieces(text)
                            .iter()
                            .enumerate()
                            .map(|(k, t)| chat_logprob(t, k, p.top_logprobs))
                            .collect();
                        json!({ "content": content })
                    });
                    (json!({"role": "assistant", "content": text, "refusal": null}), lp)
                }
                Content::Tool { name, arguments } => (
                    json!({"role": "assistant", "content": null, "refusal": null,
                           "tool_calls": [tool_call(p, i, name, arguments)]}),
                    None,
                ),
            };
            let mut c = json!({"index": i, "message": message, "logprobs": logprobs, "finish_reason": p.finish});
            if g.azure() {
                c["content_filter_results"] = choice_filter(p);
            }
            c
        })
        .collect();
    let mut body = json!({
        "id": id, "object": "chat.completion", "created": created, "model": g.model(),
        "choices": choices, "usage": usage(p), "system_fingerprint": FINGERPRINT,
    });
    g.add_prompt_filter(&mut body, 1);
    body
}

/// Builds and renders stream chunks that share id/created/model.
struct Chunks<'a> {
    g: &'a Gen<'a>,
    id: &'a str,
    created: u64,
    events: Vec<String>,
}

impl Chunks<'_> {
    fn push(&mut self, choices: Vec<Value>) {
        let mut v = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.g.model(), "system_fingerprint": FINGERPRINT, "choices": choices,
        });
        if self.g.include_usage() {
            v["usage"] = Value::Null;
        }
        self.events.push(self.g.render(v));
    }

    fn push_choice(&mut self, index: usize, delta: Value, filter: Option<Value>, logprobs: Value) {
        let mut c =
            json!({"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": null});
        if let (true, Some(f)) = (self.g.azure(), filter) {
            c["content_filter_results"] = f;
        }
        self.push(vec![c]);
    }
}

fn stream_events(g: &Gen, p: &Plan, id: &str, created: u64) -> Vec<String> {
    let mut ch = Chunks {
        g,
        id,
        created,
        events: Vec::new(),
    };
    if g.azure() {
        ch.events.push(g.prompt_filter_event(0));
    }
    let n = p.n as usize;
    match &p.content {
        Content::Text(text) => stream_text(&mut ch, p, text),
        Content::Tool { name, arguments } => stream_tool(&mut ch, p, name, arguments),
    }
    if g.dirs.flag("no-finish") {
        return ch.events;
    }
    for i in 0..n {
        let filter = if p.blocked {
            output_filter_blocked()
        } else {
            json!({})
        };
        let mut c = json!({"index": i, "delta": {}, "logprobs": null, "finish_reason": p.finish});
        if g.azure() {
            c["content_filter_results"] = filter;
        }
        ch.push(vec![c]);
    }
    if g.azure() && g.dirs.flag("async-filter") {
        if let Content::Text(text) = &p.content {
            push_annotations(&mut ch, p, text);
        }
    }
    if g.include_usage() {
        let v = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": g.model(),
            "system_fingerprint": FINGERPRINT, "choices": [], "usage": usage(p),
        });
        ch.events.push(g.render(v));
    }
    ch.events
}

fn stream_text(ch: &mut Chunks, p: &Plan, text: &str) {
    let n = p.n as usize;
    let sync_filter = !ch.g.dirs.flag("async-filter");
    for i in 0..n {
        let delta = json!({"role": "assistant", "content": "", "refusal": null});
        ch.push_choice(i, delta, Some(json!({})), Value::Null);
    }
    for (k, piece) in pieces(text).into_iter().enumerate() {
        for i in 0..n {
            let logprobs = if p.logprobs {
                json!({"content": [chat_logprob(piece, k, p.top_logprobs)]})
            } else {
                Value::Null
            };
            let filter = sync_filter.then(output_filter);
            ch.push_choice(i, json!({ "content": piece }), filter, logprobs);
        }
    }
}

fn stream_tool(ch: &mut Chunks, p: &Plan, name: &str, arguments: &str) {
    let n = p.n as usize;
    for i in 0..n {
        let call = json!({"index": 0, "id": p.call_ids[i], "type": "function",
                          "function": {"name": name, "arguments": ""}});
        let delta = json!({"role": "assistant", "content": null, "tool_calls": [call]});
        ch.push_choice(i, delta, Some(json!({})), Value::Null);
    }
    for frag in fragments(arguments, ARGUMENT_FRAGMENT) {
        for i in 0..n {
            let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]});
            ch.push_choice(i, delta, Some(json!({})), Value::Null);
        }
    }
}

/// Asynchronous-filter annotations: no `delta`, empty metadata, character offsets.
fn push_annotations(ch: &mut Chunks, p: &Plan, text: &str) {
    let len = text.chars().count();
    for i in 0..p.n as usize {
        let filter = if p.blocked {
            output_filter_blocked()
        } else {
            output_filter()
        };
        let v = json!({
            "choices": [{
                "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": len},
                "content_filter_results": filter,
                "finish_reason": null,
                "index": i,
            }],
            "created": 0, "id": "", "model": "", "object": "",
        });
        ch.events.push(ch.g.render(v));
    }
}
