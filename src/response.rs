//! Responses: the raw body and headers, plus the fields callers ask for, parsed leniently
//! (Azure bodies vary by api-version; unknown or missing fields never fail a call).

use crate::config::Operation;
use crate::error::{Error, Status, find_header};
use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

#[derive(Clone, Debug, Default)]
pub struct Choice {
    pub index: u32,
    /// Chat `message.content` or completion `text`; `None` when null (tool calls).
    pub text: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// Azure `content_filter_results` of this choice.
    pub content_filter: Option<Value>,
    pub logprobs: Option<Value>,
}

/// Token counts. `-1` is never stored: absent counts are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub prompt_audio_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub completion_audio_tokens: Option<i64>,
    pub accepted_prediction_tokens: Option<i64>,
    pub rejected_prediction_tokens: Option<i64>,
}

/// Usage fields by number (values are part of the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageField {
    PromptTokens = 0,
    CompletionTokens = 1,
    TotalTokens = 2,
    CachedTokens = 3,
    ReasoningTokens = 4,
    PromptAudioTokens = 5,
    CompletionAudioTokens = 6,
    AcceptedPredictionTokens = 7,
    RejectedPredictionTokens = 8,
}

impl Usage {
    pub fn from_json(v: &Value) -> Option<Usage> {
        let o = v.as_object()?;
        let n = |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_i64);
        let pd = o.get("prompt_tokens_details").and_then(Value::as_object);
        let cd = o
            .get("completion_tokens_details")
            .and_then(Value::as_object);
        Some(Usage {
            prompt_tokens: n(o, "prompt_tokens"),
            completion_tokens: n(o, "completion_tokens"),
            total_tokens: n(o, "total_tokens"),
            cached_tokens: pd.and_then(|d| n(d, "cached_tokens")),
            prompt_audio_tokens: pd.and_then(|d| n(d, "audio_tokens")),
            reasoning_tokens: cd.and_then(|d| n(d, "reasoning_tokens")),
            completion_audio_tokens: cd.and_then(|d| n(d, "audio_tokens")),
            accepted_prediction_tokens: cd.and_then(|d| n(d, "accepted_prediction_tokens")),
            rejected_prediction_tokens: cd.and_then(|d| n(d, "rejected_prediction_tokens")),
        })
    }

    pub fn get(&self, field: i32) -> Option<i64> {
        match field {
            0 => self.prompt_tokens,
            1 => self.completion_tokens,
            2 => self.total_tokens,
            3 => self.cached_tokens,
            4 => self.reasoning_tokens,
            5 => self.prompt_audio_tokens,
            6 => self.completion_audio_tokens,
            7 => self.accepted_prediction_tokens,
            8 => self.rejected_prediction_tokens,
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Response {
    pub op: Option<Operation>,
    /// The body as received (for a stream: the assembled body in non-stream shape).
    pub raw: String,
    pub http_status: u16,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub id: Option<String>,
    pub model: Option<String>,
    pub created: Option<i64>,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// Azure prompt filter results (`prompt_filter_results` or older `prompt_annotations`),
    /// one entry per prompt: (prompt_index, content_filter_results).
    pub prompt_filters: Vec<(u32, Value)>,
    /// Embeddings: one vector per input, in input order.
    pub embeddings: Vec<Vec<f32>>,
    /// HTTP attempts it took (1 + retries).
    pub attempts: u32,
    /// Whether this response was assembled from a stream.
    pub streamed: bool,
}

fn str_field(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Collects `(prompt_index, results)` from either spelling Azure has used.
pub fn prompt_filters_of(o: &Map<String, Value>) -> Vec<(u32, Value)> {
    let list = o
        .get("prompt_filter_results")
        .or_else(|| o.get("prompt_annotations"))
        .and_then(Value::as_array);
    let Some(list) = list else { return Vec::new() };
    list.iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let e = e.as_object()?;
            let idx = e
                .get("prompt_index")
                .and_then(Value::as_u64)
                .unwrap_or(i as u64) as u32;
            Some((
                idx,
                e.get("content_filter_results")
                    .cloned()
                    .unwrap_or(Value::Null),
            ))
        })
        .collect()
}

/// Tool calls of a message object.
fn tool_calls_of(msg: &Map<String, Value>) -> Vec<ToolCall> {
    let mut out = Vec::new();
    if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
        for c in calls {
            let Some(c) = c.as_object() else { continue };
            let f = c.get("function").and_then(Value::as_object);
            out.push(ToolCall {
                id: str_field(c, "id").unwrap_or_default(),
                name: f.and_then(|f| str_field(f, "name")).unwrap_or_default(),
                arguments: f
                    .and_then(|f| f.get("arguments"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    } else if let Some(f) = msg.get("function_call").and_then(Value::as_object) {
        // Legacy `function_call` (pre-tools API versions).
        out.push(ToolCall {
            id: String::new(),
            name: str_field(f, "name").unwrap_or_default(),
            arguments: f
                .get("arguments")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
    }
    out
}

impl Response {
    /// Parses a successful body. Only a body that is not a JSON object is an error.
    pub fn parse(
        op: Operation,
        http_status: u16,
        headers: Vec<(String, String)>,
        raw: String,
    ) -> Result<Response, Error> {
        let v: Value = serde_json::from_str(&raw).map_err(|e| {
            let ct = find_header(&headers, "content-type").unwrap_or("none");
            Error {
                status: Status::ResponseParse,
                message: format!(
                    "the response body is not valid JSON ({e}); content-type: {ct}; body starts: {}",
                    snippet(&raw)
                ),
                http_status,
                request_id: request_id_of(&headers),
                headers: headers.clone(),
                body: Some(raw.clone()),
                ..Default::default()
            }
        })?;
        let Value::Object(o) = &v else {
            return Err(Error {
                status: Status::ResponseParse,
                message: format!(
                    "the response body is JSON but not an object: {}",
                    snippet(&raw)
                ),
                http_status,
                headers,
                ..Default::default()
            });
        };
        let mut r = Response::from_object(op, o);
        r.raw = raw;
        r.http_status = http_status;
        r.headers = headers;
        Ok(r)
    }

    pub fn from_object(op: Operation, o: &Map<String, Value>) -> Response {
        let mut r = Response {
            op: Some(op),
            id: str_field(o, "id"),
            model: str_field(o, "model"),
            created: o.get("created").and_then(Value::as_i64),
            system_fingerprint: str_field(o, "system_fingerprint"),
            usage: o.get("usage").and_then(Usage::from_json),
            prompt_filters: prompt_filters_of(o),
            attempts: 1,
            ..Default::default()
        };
        if let Some(choices) = o.get("choices").and_then(Value::as_array) {
            for (i, c) in choices.iter().enumerate() {
                let Some(c) = c.as_object() else { continue };
                let msg = c.get("message").and_then(Value::as_object);
                let text = match msg {
                    Some(m) => m.get("content").and_then(Value::as_str).map(str::to_string),
                    None => c.get("text").and_then(Value::as_str).map(str::to_string),
                };
                r.choices.push(Choice {
                    index: c.get("index").and_then(Value::as_u64).unwrap_or(i as u64) as u32,
                    text,
                    refusal: msg.and_then(|m| str_field(m, "refusal")),
                    finish_reason: str_field(c, "finish_reason"),
                    tool_calls: msg.map(tool_calls_of).unwrap_or_default(),
                    content_filter: c.get("content_filter_results").cloned(),
                    logprobs: c.get("logprobs").filter(|l| !l.is_null()).cloned(),
                });
            }
            r.choices.sort_by_key(|c| c.index);
        }
        if op == Operation::Embedding {
            if let Some(data) = o.get("data").and_then(Value::as_array) {
                let mut rows: Vec<(u64, Vec<f32>)> = data
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        let d = d.as_object()?;
                        let idx = d.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
                        let emb = match d.get("embedding")? {
                            Value::Array(a) => {
                                a.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect()
                            }
                            Value::String(b64) => decode_base64_f32(b64)?,
                            _ => return None,
                        };
                        Some((idx, emb))
                    })
                    .collect();
                rows.sort_by_key(|(i, _)| *i);
                r.embeddings = rows.into_iter().map(|(_, e)| e).collect();
            }
        }
        r
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn request_id(&self) -> Option<String> {
        request_id_of(&self.headers)
    }

    pub fn choice(&self, i: usize) -> Option<&Choice> {
        self.choices.get(i)
    }
}

pub fn request_id_of(headers: &[(String, String)]) -> Option<String> {
    find_header(headers, "apim-request-id")
        .or_else(|| find_header(headers, "x-request-id"))
        .map(str::to_string)
}

/// The start of a body for an error message, on a char boundary.
pub fn snippet(s: &str) -> String {
    let s = s.trim();
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Content-filter categories marked filtered in a results object (any api-version shape).
pub fn filtered_categories(results: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = results.as_object() {
        for (k, v) in o {
            let hit = match v {
                Value::Object(c) => c.get("filtered").and_then(Value::as_bool).unwrap_or(false),
                // `custom_blocklists` is an array of {filtered,id} in some versions.
                Value::Array(a) => a
                    .iter()
                    .any(|x| x.get("filtered").and_then(Value::as_bool).unwrap_or(false)),
                _ => false,
            };
            if hit {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Severity of one category: (filtered, severity name or "detected"/"not_detected").
pub fn filter_category(results: &Value, category: &str) -> Option<(bool, String)> {
    let c = results.get(category)?.as_object()?;
    let filtered = c.get("filtered").and_then(Value::as_bool).unwrap_or(false);
    let level = if let Some(s) = c.get("severity").and_then(Value::as_str) {
        s.to_string()
    } else if let Some(d) = c.get("detected").and_then(Value::as_bool) {
        if d {
            "detected".into()
        } else {
            "not_detected".into()
        }
    } else {
        String::new()
    };
    Some((filtered, level))
}

fn decode_base64_f32(s: &str) -> Option<Vec<f32>> {
    let bytes = decode_base64(s)?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Standard base64 (embeddings with `encoding_format: base64`).
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
