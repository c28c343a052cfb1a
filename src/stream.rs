//! Turns stream chunks (chat and legacy completions, Azure and OpenAI shapes) into typed events
//! and assembles the final response. Azure's extra events are expected, not tolerated by luck:
//! the prompt-filter event with empty `choices`, per-chunk filter results, asynchronous filter
//! annotations without `delta` after the finish, and the `include_usage` final chunk.

use crate::config::Operation;
use crate::error::{Error, Status};
use crate::response::{Response, ToolCall, Usage, filtered_categories, prompt_filters_of};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Event kinds (values are part of the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A piece of a choice's text; always whole UTF-8 code points.
    TextDelta = 1,
    /// A piece of a tool call: index, and id/name on its first piece, argument fragment.
    ToolCallDelta = 2,
    /// A choice finished; `text` holds the finish reason.
    Finish = 3,
    /// Token usage (the `include_usage` final chunk).
    Usage = 4,
    /// Content-filter results: for the prompt (choice -1) or an annotation of a choice.
    ContentFilter = 5,
    /// A piece of a refusal message (OpenAI structured outputs).
    RefusalDelta = 6,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    /// Choice index; `None` for prompt-level and usage events.
    pub choice: Option<u32>,
    /// Text delta, refusal delta, tool-call argument fragment, or finish reason.
    pub text: String,
    pub tool_index: u32,
    pub tool_id: Option<String>,
    pub tool_name: Option<String>,
    pub usage: Option<Usage>,
    /// Content-filter results object (ContentFilter events).
    pub filter: Option<Value>,
    pub prompt_index: Option<u32>,
    /// Async-filter offsets: (check, start, end).
    pub offsets: Option<(i64, i64, i64)>,
    /// The whole chunk JSON this event came from.
    pub raw: Arc<str>,
}

impl Event {
    pub(crate) fn new(kind: EventKind, choice: Option<u32>, raw: &Arc<str>) -> Event {
        Event {
            kind,
            choice,
            text: String::new(),
            tool_index: 0,
            tool_id: None,
            tool_name: None,
            usage: None,
            filter: None,
            prompt_index: None,
            offsets: None,
            raw: raw.clone(),
        }
    }

    /// Categories marked filtered in a ContentFilter event.
    pub fn filtered_categories(&self) -> Vec<String> {
        self.filter
            .as_ref()
            .map(filtered_categories)
            .unwrap_or_default()
    }
}

#[derive(Default, Debug)]
struct ChoiceAcc {
    text: String,
    saw_text: bool,
    refusal: String,
    finish_reason: Option<String>,
    tool_calls: BTreeMap<u32, ToolCall>,
    content_filter: Option<Value>,
    logprobs: Vec<Value>,
}

/// What the caller's sink wants after an event.
pub type Sink<'a> = dyn FnMut(Event) -> bool + Send + 'a;

#[derive(Debug)]
pub struct Assembler {
    op: Operation,
    choices: BTreeMap<u32, ChoiceAcc>,
    usage: Option<Usage>,
    prompt_filters: Vec<(u32, Value)>,
    id: Option<String>,
    model: Option<String>,
    created: Option<i64>,
    fingerprint: Option<String>,
    done: bool,
    events: u64,
}

/// Whether to keep reading.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// `[DONE]` was seen.
    Done,
    /// The sink asked to stop.
    Stopped,
}

fn nonempty(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Assembler {
    pub fn new(op: Operation) -> Assembler {
        Assembler {
            op,
            choices: BTreeMap::new(),
            usage: None,
            prompt_filters: Vec::new(),
            id: None,
            model: None,
            created: None,
            fingerprint: None,
            done: false,
            events: 0,
        }
    }

    /// Events delivered to the sink so far (retries are allowed only before the first).
    pub fn events_delivered(&self) -> u64 {
        self.events
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Handles one SSE `data` payload.
    pub fn on_data(&mut self, data: &str, sink: &mut Sink<'_>) -> Result<Flow, Error> {
        if self.done {
            return Ok(Flow::Done); // openai-python drains what follows [DONE].
        }
        if data.trim_start().starts_with("[DONE]") {
            self.done = true;
            return Ok(Flow::Done);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            Error::new(
                Status::Stream,
                format!(
                    "a stream event is not valid JSON ({e}): {}",
                    crate::response::snippet(data)
                ),
            )
        })?;
        let Value::Object(o) = v else {
            return Err(Error::new(
                Status::Stream,
                "a stream event is JSON but not an object",
            ));
        };
        if let Some(err) = o
            .get("error")
            .filter(|e| !e.is_null() && *e != &json!(false))
        {
            return Err(in_band_error(err));
        }
        let raw: Arc<str> = Arc::from(data);
        let mut out: Vec<Event> = Vec::new();
        self.absorb(&o, &raw, &mut out);
        for ev in out {
            self.events += 1;
            if !sink(ev) {
                return Ok(Flow::Stopped);
            }
        }
        Ok(Flow::Continue)
    }

    /// Folds a chunk into the assembled state and lists the events it carries.
    fn absorb(&mut self, o: &Map<String, Value>, raw: &Arc<str>, out: &mut Vec<Event>) {
        // Azure's filter and annotation events have empty id/model: never let them win.
        if self.id.is_none() {
            self.id = nonempty(o, "id");
        }
        if self.model.is_none() {
            self.model = nonempty(o, "model");
        }
        if self.created.is_none() {
            self.created = o.get("created").and_then(Value::as_i64).filter(|c| *c != 0);
        }
        if self.fingerprint.is_none() {
            self.fingerprint = nonempty(o, "system_fingerprint");
        }
        for (idx, results) in prompt_filters_of(o) {
            let mut ev = Event::new(EventKind::ContentFilter, None, raw);
            ev.prompt_index = Some(idx);
            ev.filter = Some(results.clone());
            out.push(ev);
            self.prompt_filters.push((idx, results));
        }
        if let Some(choices) = o.get("choices").and_then(Value::as_array) {
            for (i, c) in choices.iter().enumerate() {
                if let Some(c) = c.as_object() {
                    self.absorb_choice(c, i as u32, raw, out);
                }
            }
        }
        if let Some(u) = o.get("usage").and_then(Usage::from_json) {
            let mut ev = Event::new(EventKind::Usage, None, raw);
            ev.usage = Some(u);
            out.push(ev);
            self.usage = Some(u);
        }
    }

    fn absorb_choice(
        &mut self,
        c: &Map<String, Value>,
        pos: u32,
        raw: &Arc<str>,
        out: &mut Vec<Event>,
    ) {
        let index = c
            .get("index")
            .and_then(Value::as_u64)
            .map(|i| i as u32)
            .unwrap_or(pos);
        let acc = self.choices.entry(index).or_default();
        let delta = c.get("delta").and_then(Value::as_object);
        let text = match delta {
            Some(d) => d.get("content").and_then(Value::as_str),
            None => c.get("text").and_then(Value::as_str),
        };
        if let Some(t) = text {
            acc.saw_text = true;
            if !t.is_empty() {
                acc.text.push_str(t);
                let mut ev = Event::new(EventKind::TextDelta, Some(index), raw);
                ev.text = t.to_string();
                out.push(ev);
            }
        }
        if let Some(d) = delta {
            if let Some(r) = d
                .get("refusal")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                acc.refusal.push_str(r);
                let mut ev = Event::new(EventKind::RefusalDelta, Some(index), raw);
                ev.text = r.to_string();
                out.push(ev);
            }
            for (i, tc) in d
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(tc) = tc.as_object() else { continue };
                let ti = tc.get("index").and_then(Value::as_u64).unwrap_or(i as u64) as u32;
                let f = tc.get("function").and_then(Value::as_object);
                let id = nonempty(tc, "id");
                let name = f.and_then(|f| nonempty(f, "name"));
                let args = f
                    .and_then(|f| f.get("arguments"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let call = acc.tool_calls.entry(ti).or_default();
                if let Some(id) = &id {
                    call.id = id.clone();
                }
                if let Some(n) = &name {
                    call.name.push_str(n);
                }
                call.arguments.push_str(args);
                let mut ev = Event::new(EventKind::ToolCallDelta, Some(index), raw);
                ev.tool_index = ti;
                ev.tool_id = id;
                ev.tool_name = name;
                ev.text = args.to_string();
                out.push(ev);
            }
        }
        if let Some(lp) = c.get("logprobs").filter(|l| !l.is_null()) {
            acc.logprobs.push(lp.clone());
        }
        let results = c
            .get("content_filter_results")
            .filter(|r| r.as_object().is_some_and(|m| !m.is_empty()));
        if let Some(r) = results {
            acc.content_filter = Some(merge_filter(acc.content_filter.take(), r));
            // Per-chunk "all safe" results ride on the text event's raw JSON; an event of
            // their own is worth it for annotations (no delta) and for actual hits.
            let offsets = c.get("content_filter_offsets").and_then(Value::as_object);
            if delta.is_none() && text.is_none() || !filtered_categories(r).is_empty() {
                let mut ev = Event::new(EventKind::ContentFilter, Some(index), raw);
                ev.filter = Some(r.clone());
                ev.offsets = offsets.map(|o| {
                    let n = |k| o.get(k).and_then(Value::as_i64).unwrap_or(-1);
                    (n("check_offset"), n("start_offset"), n("end_offset"))
                });
                out.push(ev);
            }
        }
        if let Some(fr) = c.get("finish_reason").and_then(Value::as_str) {
            if acc.finish_reason.is_none() {
                acc.finish_reason = Some(fr.to_string());
                let mut ev = Event::new(EventKind::Finish, Some(index), raw);
                ev.text = fr.to_string();
                out.push(ev);
            }
        }
    }

    fn any_finish(&self) -> bool {
        self.choices.values().any(|c| c.finish_reason.is_some())
    }

    /// The response assembled so far, in the non-stream body shape.
    pub fn response(&self, http_status: u16, headers: &[(String, String)]) -> Response {
        let chat = self.op == Operation::Chat;
        let choices: Vec<Value> = self
            .choices
            .iter()
            .map(|(i, c)| {
                let mut ch = Map::new();
                ch.insert("index".into(), json!(i));
                if chat {
                    let mut m = Map::new();
                    m.insert("role".into(), json!("assistant"));
                    let has_text = c.saw_text && (!c.text.is_empty() || c.tool_calls.is_empty());
                    m.insert(
                        "content".into(),
                        if has_text { json!(c.text) } else { Value::Null },
                    );
                    if !c.refusal.is_empty() {
                        m.insert("refusal".into(), json!(c.refusal));
                    }
                    if !c.tool_calls.is_empty() {
                        let calls: Vec<Value> = c
                            .tool_calls
                            .values()
                            .map(|t| json!({"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}))
                            .collect();
                        m.insert("tool_calls".into(), Value::Array(calls));
                    }
                    ch.insert("message".into(), Value::Object(m));
                } else {
                    ch.insert("text".into(), json!(c.text));
                }
                ch.insert("finish_reason".into(), json!(c.finish_reason));
                if let Some(f) = &c.content_filter {
                    ch.insert("content_filter_results".into(), f.clone());
                }
                if !c.logprobs.is_empty() {
                    ch.insert("logprobs".into(), merge_logprobs(&c.logprobs));
                }
                Value::Object(ch)
            })
            .collect();
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert(
            "object".into(),
            json!(if chat {
                "chat.completion"
            } else {
                "text_completion"
            }),
        );
        body.insert("created".into(), json!(self.created));
        body.insert("model".into(), json!(self.model));
        if let Some(f) = &self.fingerprint {
            body.insert("system_fingerprint".into(), json!(f));
        }
        body.insert("choices".into(), Value::Array(choices));
        if !self.prompt_filters.is_empty() {
            let pf: Vec<Value> = self
                .prompt_filters
                .iter()
                .map(|(i, r)| json!({"prompt_index": i, "content_filter_results": r}))
                .collect();
            body.insert("prompt_filter_results".into(), Value::Array(pf));
        }
        if let Some(u) = &self.usage {
            body.insert("usage".into(), usage_json(u));
        }
        let mut r = Response::from_object(self.op, &body);
        r.raw = Value::Object(body).to_string();
        r.http_status = http_status;
        r.headers = headers.to_vec();
        r.streamed = true;
        r
    }

    /// End of the byte stream: a stream that ends without `[DONE]` and without any finish is
    /// an error (a silent truncation must not look like success).
    pub fn check_complete(&self) -> Result<(), Error> {
        if self.done || self.any_finish() {
            Ok(())
        } else {
            Err(Error::new(
                Status::Stream,
                "the stream ended without [DONE] and without a finish_reason (connection closed early?)",
            ))
        }
    }
}

fn usage_json(u: &Usage) -> Value {
    let mut m = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Option<i64>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    put(&mut m, "prompt_tokens", u.prompt_tokens);
    put(&mut m, "completion_tokens", u.completion_tokens);
    put(&mut m, "total_tokens", u.total_tokens);
    let mut pd = Map::new();
    put(&mut pd, "cached_tokens", u.cached_tokens);
    put(&mut pd, "audio_tokens", u.prompt_audio_tokens);
    if !pd.is_empty() {
        m.insert("prompt_tokens_details".into(), Value::Object(pd));
    }
    let mut cd = Map::new();
    put(&mut cd, "reasoning_tokens", u.reasoning_tokens);
    put(&mut cd, "audio_tokens", u.completion_audio_tokens);
    put(
        &mut cd,
        "accepted_prediction_tokens",
        u.accepted_prediction_tokens,
    );
    put(
        &mut cd,
        "rejected_prediction_tokens",
        u.rejected_prediction_tokens,
    );
    if !cd.is_empty() {
        m.insert("completion_tokens_details".into(), Value::Object(cd));
    }
    Value::Object(m)
}

/// Later filter results for a choice refine earlier ones: keep every category seen, and a
/// category once filtered stays filtered.
fn merge_filter(old: Option<Value>, new: &Value) -> Value {
    let Some(Value::Object(mut acc)) = old else {
        return new.clone();
    };
    if let Some(n) = new.as_object() {
        for (k, v) in n {
            let was_filtered = acc
                .get(k)
                .and_then(|o| o.get("filtered"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !was_filtered {
                acc.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(acc)
}

/// Chat logprobs arrive as `{"content":[...]}` per chunk: concatenate the lists.
fn merge_logprobs(parts: &[Value]) -> Value {
    let mut content = Vec::new();
    for p in parts {
        if let Some(c) = p.get("content").and_then(Value::as_array) {
            content.extend(c.iter().cloned());
        }
    }
    if content.is_empty() {
        parts.last().cloned().unwrap_or(Value::Null)
    } else {
        json!({"content": content})
    }
}

/// `data: {"error": {...}}` inside a 200 stream.
pub fn in_band_error(err: &Value) -> Error {
    let o = err.as_object();
    let s = |k: &str| {
        o.and_then(|o| o.get(k)).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let message = s("message")
        .or_else(|| err.as_str().map(str::to_string))
        .unwrap_or_else(|| "an error occurred during streaming".into());
    let code = s("code");
    Error {
        status: Status::Stream,
        message: format!(
            "the service reported an error inside the stream{}: {message}",
            code.as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        code,
        error_type: s("type"),
        body: Some(err.to_string()),
        ..Default::default()
    }
}
