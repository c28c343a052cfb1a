//! Scripted behaviour: `[[emu:...]]` directives embedded in prompts, and the FIFO of
//! responses queued through `POST /_emulator/script`.

use serde_json::Value;

use crate::send::{Faults, Reset};
use crate::state::{State, lock};
use crate::util::percent_decode;

const OPEN: &str = "[[emu:";
const CLOSE: &str = "]]";

/// Parsed directive keys (normalised to lowercase with `-`), later keys win.
#[derive(Clone, Debug, Default)]
pub struct Directives {
    pairs: Vec<(String, String)>,
    /// The raw text of every block, the identity used by `times=`.
    raw: String,
}

impl Directives {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn num(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on" | ""))
    }
}

/// Finds every complete `[[emu:...]]` block; returns the text without the blocks
/// (trimmed) and the merged directives.
pub fn extract(text: &str) -> (String, Directives) {
    let mut clean = String::with_capacity(text.len());
    let mut dirs = Directives::default();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else {
            break;
        };
        clean.push_str(&rest[..start]);
        dirs.raw
            .push_str(&rest[start..start + OPEN.len() + end + CLOSE.len()]);
        for item in after[..end].split(';') {
            let (k, v) = item.split_once('=').unwrap_or((item, "1"));
            let key = k.trim().to_ascii_lowercase().replace('_', "-");
            if !key.is_empty() {
                dirs.pairs.push((key, percent_decode(v)));
            }
        }
        rest = &after[end + CLOSE.len()..];
    }
    clean.push_str(rest);
    (clean.trim().to_string(), dirs)
}

/// Text with directive blocks removed.
pub fn strip(text: &str) -> String {
    if text.contains(OPEN) {
        extract(text).0
    } else {
        text.trim().to_string()
    }
}

/// Applies `times=N`: once a directive string has been seen N times, everything but
/// `reply=` is dropped so the request is answered normally.
pub fn apply_times(state: &State, dirs: Directives) -> Directives {
    let Some(limit) = dirs.num("times") else {
        return dirs;
    };
    let mut counts = lock(&state.times);
    let seen = counts.entry(dirs.raw.clone()).or_insert(0);
    *seen += 1;
    if *seen <= limit {
        return dirs;
    }
    let pairs = dirs
        .pairs
        .into_iter()
        .filter(|(k, _)| k == "reply")
        .collect();
    Directives {
        pairs,
        raw: dirs.raw,
    }
}

pub fn faults_from(dirs: &Directives) -> Faults {
    let idx = |k: &str| dirs.num(k).map(|n| n as usize);
    let reset = match dirs.get("reset") {
        Some("before") => Some(Reset::Before),
        Some("body") => Some(Reset::Body),
        _ => None,
    };
    Faults {
        delay_ms: dirs.num("delay-ms").unwrap_or(0),
        chunk_delay_ms: dirs.num("chunk-delay-ms").unwrap_or(0),
        trickle_ms: dirs.num("trickle-ms").unwrap_or(0),
        reset,
        reset_after: idx("reset-after"),
        stall_after: idx("stall-after"),
        error_after: idx("error-after"),
        split: dirs.flag("split"),
        crlf: dirs.flag("crlf"),
        heartbeat: dirs.flag("heartbeat"),
        done: !dirs.flag("no-done") && !dirs.flag("no-finish"),
        done_no_blank: dirs.flag("done-no-blank"),
    }
}

/// One queued response from `POST /_emulator/script`.
#[derive(Clone, Debug, Default)]
pub struct ScriptEntry {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// The body was given as a JSON value rather than a string.
    pub body_is_json: bool,
    pub sse: Option<Vec<String>>,
    pub done: bool,
    pub delay_ms: u64,
    pub chunk_delay_ms: u64,
    pub reset: Option<Reset>,
    pub reset_after_events: Option<usize>,
    pub stall_after_events: Option<usize>,
}

impl ScriptEntry {
    /// Without a body, SSE list or status the entry only adds timing/reset faults to
    /// an otherwise normal answer.
    pub fn is_modifier_only(&self) -> bool {
        self.body.is_none() && self.sse.is_none() && self.status.is_none()
    }

    pub fn faults(&self) -> Faults {
        Faults {
            delay_ms: self.delay_ms,
            chunk_delay_ms: self.chunk_delay_ms,
            reset: self.reset,
            reset_after: self.reset_after_events,
            stall_after: self.stall_after_events,
            done: self.done,
            ..Faults::default()
        }
    }

    /// Script faults override directive faults where the script sets them.
    pub fn merge_into(&self, base: Faults) -> Faults {
        Faults {
            delay_ms: if self.delay_ms > 0 {
                self.delay_ms
            } else {
                base.delay_ms
            },
            chunk_delay_ms: if self.chunk_delay_ms > 0 {
                self.chunk_delay_ms
            } else {
                base.chunk_delay_ms
            },
            reset: self.reset.or(base.reset),
            reset_after: self.reset_after_events.or(base.reset_after),
            stall_after: self.stall_after_events.or(base.stall_after),
            done: base.done && self.done,
            ..base
        }
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opt_u64(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a non-negative integer")),
    }
}

fn parse_entry(v: &Value) -> Result<ScriptEntry, String> {
    let obj = v.as_object().ok_or("each script entry must be an object")?;
    let status = match opt_u64(obj, "status")? {
        None => None,
        Some(s) if (100..=999).contains(&s) => Some(s as u16),
        Some(_) => return Err("'status' must be between 100 and 999".into()),
    };
    let headers = match obj.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(h)) => h
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), as_text(v)))
            .collect(),
        Some(_) => return Err("'headers' must be an object".into()),
    };
    let (body, body_is_json) = match obj.get("body") {
        None | Some(Value::Null) => (None, false),
        Some(Value::String(s)) => (Some(s.clone().into_bytes()), false),
        Some(other) => (Some(other.to_string().into_bytes()), true),
    };
    let sse = match obj.get("sse") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items.iter().map(as_text).collect()),
        Some(_) => return Err("'sse' must be an array".into()),
    };
    let reset = match obj.get("reset") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "before" => Some(Reset::Before),
        Some(Value::String(s)) if s == "body" => Some(Reset::Body),
        Some(_) => return Err("'reset' must be \"before\", \"body\" or null".into()),
    };
    Ok(ScriptEntry {
        status,
        headers,
        body,
        body_is_json,
        sse,
        done: obj.get("done").and_then(Value::as_bool).unwrap_or(true),
        delay_ms: opt_u64(obj, "delay_ms")?.unwrap_or(0),
        chunk_delay_ms: opt_u64(obj, "chunk_delay_ms")?.unwrap_or(0),
        reset,
        reset_after_events: opt_u64(obj, "reset_after_events")?.map(|n| n as usize),
        stall_after_events: opt_u64(obj, "stall_after_events")?.map(|n| n as usize),
    })
}

/// Accepts an array of entries (or a single entry object).
pub fn parse_script(v: &Value) -> Result<Vec<ScriptEntry>, String> {
    match v {
        Value::Array(items) => items.iter().map(parse_entry).collect(),
        Value::Object(_) => Ok(vec![parse_entry(v)?]),
        _ => Err("the script must be a JSON array of entries".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_blocks() {
        let (clean, d) = extract("Hi [[emu:status=503;times=2]] there [[emu:reply=a%3Bb c]]");
        assert_eq!(clean, "Hi  there");
        assert_eq!(d.num("status"), Some(503));
        assert_eq!(d.get("reply"), Some("a;b c"));
        assert_eq!(d.raw, "[[emu:status=503;times=2]][[emu:reply=a%3Bb c]]");
        let (clean, d) = extract("no [[emu:close");
        assert_eq!(clean, "no [[emu:close");
        assert!(d.pairs.is_empty());
        let (_, d) = extract("[[emu:split;no_done=1]]");
        assert!(d.flag("split") && d.flag("no-done"));
    }
}
