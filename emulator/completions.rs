//! Legacy `/completions`: prompt arrays, echo, suffix, integer logprobs and the
//! per-prompt Azure stream annotations (wire reference §5.2, §6.2).

use serde_json::{Map, Value, json};

use crate::azure::{
    Gen, Payload, output_filter, output_filter_blocked, plain_usage, token_logprob,
};
use crate::errors::invalid_request;
use crate::script::strip;
use crate::util::{pieces, truncate_words, unix_now, word_count};

/// The API's default `max_tokens` for legacy completions.
const DEFAULT_MAX_TOKENS: u64 = 16;

struct Choice {
    prompt: String,
    completion: String,
    finish: &'static str,
}

struct Plan {
    /// One entry per prompt; every prompt yields `n` choices.
    per_prompt: Vec<Choice>,
    n: usize,
    echo: bool,
    suffix: String,
    logprobs: bool,
    blocked: bool,
    prompt_tokens: u64,
}

impl Plan {
    fn choices(&self) -> impl Iterator<Item = (usize, &Choice)> {
        let n = self.n;
        self.per_prompt
            .iter()
            .enumerate()
            .flat_map(move |(p, c)| (0..n).map(move |j| (p * n + j, c)))
    }

    fn completion_tokens(&self) -> u64 {
        self.choices().map(|(_, c)| word_count(&c.completion)).sum()
    }
}

fn token_text(v: &Value) -> Option<String> {
    let tokens = v.as_array()?;
    tokens
        .iter()
        .map(|t| t.as_i64().map(|t| t.to_string()))
        .collect::<Option<Vec<_>>>()
        .map(|t| t.join(" "))
}

fn prompts(body: &Map<String, Value>) -> Result<Vec<String>, Value> {
    let invalid = || invalid_request("Invalid type for 'prompt'.", Some("prompt"));
    match body.get("prompt") {
        None | Some(Value::Null) => Err(invalid_request(
            "Missing required parameter: 'prompt'.",
            Some("prompt"),
        )),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.is_empty() => Err(invalid_request(
            "Invalid 'prompt': empty array. Expected an array with minimum length 1.",
            Some("prompt"),
        )),
        Some(v @ Value::Array(items)) => {
            if items.iter().all(Value::is_number) {
                return token_text(v).map(|t| vec![t]).ok_or_else(invalid);
            }
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Some(s.clone()),
                    other => token_text(other),
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

/// The text scanned for directives: the first prompt.
pub fn directive_text(body: &Map<String, Value>) -> Option<String> {
    match body.get("prompt")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first()?.as_str().map(str::to_string),
        _ => None,
    }
}

fn uint(g: &Gen, key: &str) -> Result<Option<u64>, Value> {
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

fn plan(g: &Gen) -> Result<Plan, Value> {
    let raw = prompts(g.body)?;
    let n = uint(g, "n")?.unwrap_or(1);
    if !(1..=128).contains(&n) {
        return Err(invalid_request(
            "Invalid 'n': expected a value between 1 and 128.",
            Some("n"),
        ));
    }
    let limit = uint(g, "max_tokens")?.unwrap_or(DEFAULT_MAX_TOKENS);
    let logprobs = uint(g, "logprobs")?.is_some();
    let finish_override = g.finish_override();
    let mut blocked = false;
    let per_prompt = raw
        .iter()
        .map(|prompt| {
            let reply = match g.dirs.get("reply") {
                Some(r) => r.to_string(),
                None => format!(
                    " This is a completion from the aoai emulator for: {}",
                    strip(prompt)
                ),
            };
            let (mut completion, cut) = truncate_words(&reply, limit);
            let mut finish = if cut { "length" } else { "stop" };
            match finish_override {
                Some("content_filter") => {
                    completion = truncate_words(&completion, word_count(&completion) / 2).0;
                    finish = "content_filter";
                    blocked = true;
                }
                Some("length") => finish = "length",
                Some("stop") => finish = "stop",
                _ => {}
            }
            Choice {
                prompt: prompt.clone(),
                completion,
                finish,
            }
        })
        .collect();
    Ok(Plan {
        per_prompt,
        n: n as usize,
        echo: g.body.get("echo").and_then(Value::as_bool) == Some(true),
        suffix: g
            .body
            .get("suffix")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        logprobs,
        blocked,
        prompt_tokens: raw.iter().map(|p| word_count(p)).sum::<u64>().max(1),
    })
}

pub fn answer(g: &Gen) -> Result<Payload, Value> {
    let p = plan(g)?;
    let id = format!("cmpl-emu{}", g.state.next_id());
    let created = unix_now();
    Ok(if g.stream() {
        Payload::Sse(stream_events(g, &p, &id, created))
    } else {
        Payload::Json(full_body(g, &p, &id, created))
    })
}

/// Legacy logprobs object for the given completion pieces, offsets counted from the
/// start of the prompt.
fn logprobs_for(tokens: &[&str], first_index: usize, start_offset: usize) -> Value {
    let mut offset = start_offset;
    let mut text_offset = Vec::with_capacity(tokens.len());
    for t in tokens {
        text_offset.push(offset);
        offset += t.chars().count();
    }
    let lps: Vec<f64> = (0..tokens.len())
        .map(|k| token_logprob(first_index + k))
        .collect();
    let top: Vec<Value> = tokens
        .iter()
        .zip(&lps)
        .map(|(t, lp)| {
            let mut m = Map::new();
            m.insert(t.to_string(), json!(lp));
            Value::Object(m)
        })
        .collect();
    json!({"tokens": tokens, "token_logprobs": lps, "top_logprobs": top, "text_offset": text_offset})
}

fn filter_for(p: &Plan) -> Value {
    if p.blocked {
        output_filter_blocked()
    } else {
        output_filter()
    }
}

fn full_body(g: &Gen, p: &Plan, id: &str, created: u64) -> Value {
    let choices: Vec<Value> = p
        .choices()
        .map(|(index, c)| {
            let prefix = if p.echo { c.prompt.as_str() } else { "" };
            let text = format!("{prefix}{}{}", c.completion, p.suffix);
            let logprobs = if p.logprobs {
                logprobs_for(&pieces(&c.completion), 0, c.prompt.chars().count())
            } else {
                Value::Null
            };
            let mut v = json!({"text": text, "index": index, "logprobs": logprobs, "finish_reason": c.finish});
            if g.azure() {
                v["content_filter_results"] = filter_for(p);
            }
            v
        })
        .collect();
    let mut body = json!({
        "id": id, "object": "text_completion", "created": created, "model": g.model(),
        "choices": choices, "usage": plain_usage(p.prompt_tokens, p.completion_tokens()),
    });
    g.add_prompt_filter(&mut body, p.per_prompt.len());
    body
}

struct Chunks<'a> {
    g: &'a Gen<'a>,
    id: &'a str,
    created: u64,
    events: Vec<String>,
}

impl Chunks<'_> {
    fn push(
        &mut self,
        index: usize,
        text: &str,
        finish: Option<&str>,
        logprobs: Value,
        filter: Value,
    ) {
        let mut c =
            json!({"text": text, "index": index, "logprobs": logprobs, "finish_reason": finish});
        if self.g.azure() {
            c["content_filter_results"] = filter;
        }
        let mut v = json!({
            "id": self.id, "object": "text_completion", "created": self.created,
            "choices": [c], "model": self.g.model(),
        });
        if self.g.include_usage() {
            v["usage"] = Value::Null;
        }
        self.events.push(self.g.render(v));
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
        ch.events
            .extend((0..p.per_prompt.len()).map(|i| g.prompt_filter_event(i)));
    }
    let choices: Vec<(usize, &Choice)> = p.choices().collect();
    if p.echo {
        for (index, c) in &choices {
            ch.push(*index, &c.prompt, None, Value::Null, filter_for(p));
        }
    }
    let split: Vec<Vec<&str>> = choices.iter().map(|(_, c)| pieces(&c.completion)).collect();
    let longest = split.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for ((index, c), parts) in choices.iter().zip(&split) {
            let Some(piece) = parts.get(k) else { continue };
            let logprobs = if p.logprobs {
                let offset = c.prompt.chars().count()
                    + parts[..k].iter().map(|t| t.chars().count()).sum::<usize>();
                logprobs_for(&[piece], k, offset)
            } else {
                Value::Null
            };
            ch.push(*index, piece, None, logprobs, filter_for(p));
        }
    }
    if !p.suffix.is_empty() {
        for (index, _) in &choices {
            ch.push(*index, &p.suffix, None, Value::Null, filter_for(p));
        }
    }
    if g.dirs.flag("no-finish") {
        return ch.events;
    }
    for (index, c) in &choices {
        let filter = if p.blocked {
            output_filter_blocked()
        } else {
            json!({})
        };
        ch.push(*index, "", Some(c.finish), Value::Null, filter);
    }
    if g.include_usage() {
        let v = json!({
            "id": id, "object": "text_completion", "created": created, "choices": [],
            "model": g.model(), "usage": plain_usage(p.prompt_tokens, p.completion_tokens()),
        });
        ch.events.push(g.render(v));
    }
    ch.events
}
