//! Shapes shared by every Azure/OpenAI success body: the generation context,
//! content-filter annotations, usage objects and response headers.

use serde_json::{Map, Value, json};

use crate::http::Request;
use crate::router::Flavor;
use crate::script::Directives;
use crate::state::{Deployment, State};

pub const FINGERPRINT: &str = "fp_emulator";
pub const JSON: &str = "application/json";
pub const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

/// A generated answer before it is framed.
pub enum Payload {
    Json(Value),
    Sse(Vec<String>),
}

/// Everything a body builder needs to know about the request.
pub struct Gen<'a> {
    pub flavor: Flavor,
    pub state: &'a State,
    pub dep: &'a Deployment,
    pub body: &'a Map<String, Value>,
    pub dirs: &'a Directives,
}

impl Gen<'_> {
    pub fn azure(&self) -> bool {
        self.flavor.is_azure()
    }

    pub fn model(&self) -> &str {
        &self.dep.model
    }

    pub fn stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    pub fn include_usage(&self) -> bool {
        self.body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    pub fn uint(&self, key: &str) -> Option<u64> {
        self.body.get(key).and_then(Value::as_u64)
    }

    /// Azure (2024-12+) sends keys in alphabetical order; OpenAI keeps its own order,
    /// which is the order the builders insert keys in.
    pub fn render(&self, mut v: Value) -> String {
        if self.azure() {
            v.sort_all_objects();
        }
        v.to_string()
    }

    pub fn prompt_filter_key(&self) -> &'static str {
        if self.dirs.flag("prompt-annotations") {
            "prompt_annotations"
        } else {
            "prompt_filter_results"
        }
    }

    /// Adds Azure's prompt annotations to a body (no-op for OpenAI).
    pub fn add_prompt_filter(&self, v: &mut Value, prompts: usize) {
        if self.azure() {
            v[self.prompt_filter_key()] = prompt_filter_results(prompts, 0);
        }
    }

    /// Azure's first stream event(s): prompt annotations with empty metadata.
    pub fn prompt_filter_event(&self, prompt_index: usize) -> String {
        let v = json!({
            "choices": [], "created": 0, "id": "", "model": "", "object": "",
            self.prompt_filter_key(): prompt_filter_results(1, prompt_index),
        });
        self.render(v)
    }

    /// Finish reason forced by `finish=`.
    pub fn finish_override(&self) -> Option<&str> {
        self.dirs
            .get("finish")
            .filter(|f| matches!(*f, "stop" | "length" | "content_filter"))
    }
}

fn safe() -> Value {
    json!({"filtered": false, "severity": "safe"})
}

fn undetected() -> Value {
    json!({"filtered": false, "detected": false})
}

/// Output-side annotations on a choice.
pub fn output_filter() -> Value {
    json!({
        "hate": safe(),
        "protected_material_code": undetected(),
        "protected_material_text": undetected(),
        "self_harm": safe(),
        "sexual": safe(),
        "violence": safe(),
    })
}

/// Output annotations for a choice cut short by `finish=content_filter`.
pub fn output_filter_blocked() -> Value {
    let mut v = output_filter();
    v["violence"] = json!({"filtered": true, "severity": "high"});
    v
}

pub fn prompt_filter() -> Value {
    json!({
        "hate": safe(),
        "jailbreak": undetected(),
        "self_harm": safe(),
        "sexual": safe(),
        "violence": safe(),
    })
}

pub fn prompt_filter_results(count: usize, first_index: usize) -> Value {
    (first_index..first_index + count)
        .map(|i| json!({"prompt_index": i, "content_filter_results": prompt_filter()}))
        .collect()
}

pub fn chat_usage(prompt: u64, completion: u64, reasoning: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}

pub fn plain_usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
}

/// One logprob entry for a chat token.
pub fn chat_logprob(token: &str, index: usize, top: u64) -> Value {
    let lp = token_logprob(index);
    let tops: Vec<Value> = if top > 0 {
        vec![json!({"token": token, "logprob": lp, "bytes": token.as_bytes()})]
    } else {
        Vec::new()
    };
    json!({"token": token, "logprob": lp, "bytes": token.as_bytes(), "top_logprobs": tops})
}

/// Deterministic, plausible-looking log probabilities.
pub fn token_logprob(index: usize) -> f64 {
    -0.1 - (index % 5) as f64 * 0.05
}

/// Replaces a header of the same name, or appends it.
pub fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    let name = name.to_ascii_lowercase();
    headers.retain(|(n, _)| *n != name);
    headers.push((name, value.to_string()));
}

/// Headers every API answer carries, per flavour (wire reference §9).
pub fn api_headers(
    flavor: Flavor,
    req: &Request,
    state: &State,
    deployment: Option<&str>,
    elapsed_ms: u128,
) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = Vec::with_capacity(14);
    let mut add = |n: &str, v: String| h.push((n.to_string(), v));
    if flavor == Flavor::OpenAi {
        add("x-request-id", format!("req_{}", state.hex32()));
        add("openai-organization", "user-emulator".into());
        add("openai-processing-ms", elapsed_ms.to_string());
        add("openai-version", "2020-10-01".into());
        add("x-ratelimit-limit-requests", "10000".into());
        add("x-ratelimit-limit-tokens", "30000000".into());
        add("x-ratelimit-remaining-requests", "9999".into());
        add("x-ratelimit-remaining-tokens", "29999000".into());
        add("x-ratelimit-reset-requests", "6ms".into());
        add("x-ratelimit-reset-tokens", "0s".into());
        return h;
    }
    add("apim-request-id", state.uuid());
    add("x-request-id", state.uuid());
    add("x-ms-region", "East US".into());
    add("x-ratelimit-limit-requests", "100".into());
    add("x-ratelimit-limit-tokens", "100000".into());
    add("x-ratelimit-remaining-requests", "99".into());
    add("x-ratelimit-remaining-tokens", "99000".into());
    add("x-ms-rai-invoked", "true".into());
    add("x-content-type-options", "nosniff".into());
    if let Some(d) = deployment {
        add("x-ms-deployment-name", d.to_string());
    }
    if let Some(id) = req.header("x-ms-client-request-id") {
        add("x-ms-client-request-id", id.to_string());
    }
    h
}
