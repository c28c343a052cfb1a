//! Requests: a JSON object built by typed setters (which validate ranges and shapes) or passed
//! through whole. The library adds only what it must (`model`, `stream`) when sending.

use crate::config::Operation;
use crate::error::{Error, Result};
use crate::response::Response;
use serde_json::{Map, Value, json};

/// Chat message roles (values are part of the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System = 0,
    Developer = 1,
    User = 2,
    Assistant = 3,
    Tool = 4,
}

impl Role {
    pub fn from_i32(v: i32) -> Result<Role> {
        Ok(match v {
            0 => Role::System,
            1 => Role::Developer,
            2 => Role::User,
            3 => Role::Assistant,
            4 => Role::Tool,
            _ => {
                return Err(Error::invalid_arg(format!(
                    "role {v} is not one of SYSTEM(0), DEVELOPER(1), USER(2), ASSISTANT(3), TOOL(4)"
                )));
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub op: Operation,
    pub body: Map<String, Value>,
    /// Per-request deployment (Azure path segment, or `model` in the body elsewhere).
    pub deployment: Option<String>,
    /// Per-request overrides of the client's time limits (ms; 0 = none).
    pub idle_timeout_ms: Option<u64>,
    pub total_timeout_ms: Option<u64>,
    pub first_byte_timeout_ms: Option<u64>,
}

fn range_f64(name: &str, v: f64, lo: f64, hi: f64) -> Result<Value> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(Error::invalid_arg(format!(
            "{name} must be between {lo} and {hi} (got {v})"
        )));
    }
    // f64 through JSON: keep short decimal forms (0.7, not 0.699999988079071).
    Ok(json!(v))
}

fn range_i64(name: &str, v: i64, lo: i64, hi: i64) -> Result<Value> {
    if v < lo || v > hi {
        return Err(Error::invalid_arg(format!(
            "{name} must be between {lo} and {hi} (got {v})"
        )));
    }
    Ok(json!(v))
}

pub fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::json(format!("{what} is not valid JSON: {e}")))
}

fn parse_object(what: &str, text: &str) -> Result<Map<String, Value>> {
    match parse_json(what, text)? {
        Value::Object(m) => Ok(m),
        other => Err(Error::json(format!(
            "{what} must be a JSON object (got {})",
            json_type(&other)
        ))),
    }
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Request {
    pub fn new(op: Operation) -> Request {
        Request {
            op,
            body: Map::new(),
            deployment: None,
            idle_timeout_ms: None,
            total_timeout_ms: None,
            first_byte_timeout_ms: None,
        }
    }

    /// A request from a whole JSON body. The body is checked for the fields its operation needs.
    pub fn from_json(op: Operation, text: &str) -> Result<Request> {
        let body = parse_object("request JSON", text)?;
        let mut r = Request::new(op);
        r.body = body;
        r.check_shape()?;
        Ok(r)
    }

    fn require(&self, op: Operation, setter: &str) -> Result<()> {
        if self.op != op {
            return Err(Error::invalid_arg(format!(
                "{setter} applies to {} requests, this is a {} request",
                op_name(op),
                op_name(self.op)
            )));
        }
        Ok(())
    }

    fn set(&mut self, key: &str, v: Value) -> Result<()> {
        self.body.insert(key.to_string(), v);
        Ok(())
    }

    // ---- shared sampling parameters ----
    pub fn set_temperature(&mut self, v: f64) -> Result<()> {
        let v = range_f64("temperature", v, 0.0, 2.0)?;
        self.set("temperature", v)
    }
    pub fn set_top_p(&mut self, v: f64) -> Result<()> {
        let v = range_f64("top_p", v, 0.0, 1.0)?;
        self.set("top_p", v)
    }
    pub fn set_frequency_penalty(&mut self, v: f64) -> Result<()> {
        let v = range_f64("frequency_penalty", v, -2.0, 2.0)?;
        self.set("frequency_penalty", v)
    }
    pub fn set_presence_penalty(&mut self, v: f64) -> Result<()> {
        let v = range_f64("presence_penalty", v, -2.0, 2.0)?;
        self.set("presence_penalty", v)
    }
    pub fn set_max_tokens(&mut self, v: i64) -> Result<()> {
        let v = range_i64("max_tokens", v, 1, i32::MAX as i64)?;
        self.set("max_tokens", v)
    }
    pub fn set_max_completion_tokens(&mut self, v: i64) -> Result<()> {
        self.require(Operation::Chat, "max_completion_tokens")?;
        let v = range_i64("max_completion_tokens", v, 1, i32::MAX as i64)?;
        self.set("max_completion_tokens", v)
    }
    pub fn set_n(&mut self, v: i64) -> Result<()> {
        let v = range_i64("n", v, 1, 128)?;
        self.set("n", v)
    }
    pub fn set_seed(&mut self, v: i64) -> Result<()> {
        self.set("seed", json!(v))
    }
    pub fn set_user(&mut self, v: &str) -> Result<()> {
        self.set("user", json!(v))
    }
    pub fn add_stop(&mut self, v: &str) -> Result<()> {
        if v.is_empty() {
            return Err(Error::invalid_arg("a stop sequence must not be empty"));
        }
        let stops = match self.body.remove("stop") {
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => vec![Value::String(s)],
            _ => Vec::new(),
        };
        if stops.len() >= 4 {
            self.body.insert("stop".into(), Value::Array(stops));
            return Err(Error::invalid_arg("at most 4 stop sequences are allowed"));
        }
        let mut stops = stops;
        stops.push(json!(v));
        self.set("stop", Value::Array(stops))
    }
    pub fn set_logit_bias(&mut self, token: i64, bias: i64) -> Result<()> {
        if token < 0 {
            return Err(Error::invalid_arg(format!(
                "logit_bias token id must be non-negative (got {token})"
            )));
        }
        let bias = range_i64("logit_bias value", bias, -100, 100)?;
        let entry = self
            .body
            .entry("logit_bias")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        entry
            .as_object_mut()
            .expect("just made an object")
            .insert(token.to_string(), bias);
        Ok(())
    }
    /// Chat: `logprobs: bool` (0/1). Completions: integer 0..=5 top log probabilities.
    pub fn set_logprobs(&mut self, v: i64) -> Result<()> {
        match self.op {
            Operation::Chat => {
                let v = range_i64("logprobs", v, 0, 1)?;
                self.set("logprobs", json!(v.as_i64() == Some(1)))
            }
            _ => {
                let v = range_i64("logprobs", v, 0, 5)?;
                self.set("logprobs", v)
            }
        }
    }
    pub fn set_top_logprobs(&mut self, v: i64) -> Result<()> {
        self.require(Operation::Chat, "top_logprobs")?;
        let v = range_i64("top_logprobs", v, 0, 20)?;
        self.set("top_logprobs", v)
    }
    pub fn set_deployment(&mut self, d: &str) -> Result<()> {
        if d.trim().is_empty() {
            return Err(Error::invalid_arg("deployment must not be empty"));
        }
        self.deployment = Some(d.to_string());
        Ok(())
    }
    pub fn set_stream_include_usage(&mut self, on: bool) -> Result<()> {
        if on {
            self.set("stream_options", json!({"include_usage": true}))
        } else {
            self.body.remove("stream_options");
            Ok(())
        }
    }

    // ---- chat ----
    fn messages(&mut self) -> Result<&mut Vec<Value>> {
        self.require(Operation::Chat, "messages")?;
        let m = self
            .body
            .entry("messages")
            .or_insert_with(|| Value::Array(Vec::new()));
        match m {
            Value::Array(a) => Ok(a),
            _ => Err(Error::json("the request's 'messages' is not an array")),
        }
    }
    pub fn add_message(&mut self, role: Role, content: &str) -> Result<()> {
        if role == Role::Tool {
            return Err(Error::invalid_arg(
                "tool messages need the tool call id: use add_tool_message",
            ));
        }
        self.messages()?
            .push(json!({"role": role.as_str(), "content": content}));
        Ok(())
    }
    pub fn add_tool_message(&mut self, tool_call_id: &str, content: &str) -> Result<()> {
        if tool_call_id.is_empty() {
            return Err(Error::invalid_arg("tool_call_id must not be empty"));
        }
        self.messages()?
            .push(json!({"role": "tool", "tool_call_id": tool_call_id, "content": content}));
        Ok(())
    }
    pub fn add_message_json(&mut self, text: &str) -> Result<()> {
        let m = parse_object("message JSON", text)?;
        check_message(&m, usize::MAX)?;
        self.messages()?.push(Value::Object(m));
        Ok(())
    }
    /// Appends the assistant message of a response's choice (text and tool calls), so a tool
    /// round trip needs no JSON from the caller.
    pub fn add_response_message(&mut self, resp: &Response, choice: usize) -> Result<()> {
        let c = resp.choices.get(choice).ok_or_else(|| {
            Error::invalid_arg(format!(
                "choice {choice} does not exist (the response has {})",
                resp.choices.len()
            ))
        })?;
        let mut m = Map::new();
        m.insert("role".into(), json!("assistant"));
        m.insert(
            "content".into(),
            c.text.as_ref().map(|t| json!(t)).unwrap_or(Value::Null),
        );
        if !c.tool_calls.is_empty() {
            m.insert(
                "tool_calls".into(),
                Value::Array(
                    c.tool_calls
                        .iter()
                        .map(|t| {
                            json!({"id": t.id, "type": "function",
                                   "function": {"name": t.name, "arguments": t.arguments}})
                        })
                        .collect(),
                ),
            );
        }
        self.messages()?.push(Value::Object(m));
        Ok(())
    }
    fn last_message_parts(&mut self) -> Result<&mut Vec<Value>> {
        let msgs = self.messages()?;
        let last = msgs
            .last_mut()
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Error::state("add a message before adding content parts to it"))?;
        let content = last.entry("content").or_insert(Value::Null);
        if let Value::String(s) = content {
            let text = std::mem::take(s);
            *content = if text.is_empty() {
                json!([])
            } else {
                json!([{"type": "text", "text": text}])
            };
        } else if content.is_null() {
            *content = json!([]);
        }
        match content {
            Value::Array(a) => Ok(a),
            _ => Err(Error::json(
                "the last message's content is not a string or an array",
            )),
        }
    }
    pub fn add_text_part(&mut self, text: &str) -> Result<()> {
        self.last_message_parts()?
            .push(json!({"type": "text", "text": text}));
        Ok(())
    }
    pub fn add_image_part(&mut self, url: &str, detail: Option<&str>) -> Result<()> {
        if url.is_empty() {
            return Err(Error::invalid_arg("image URL must not be empty"));
        }
        if let Some(d) = detail {
            if !matches!(d, "auto" | "low" | "high") {
                return Err(Error::invalid_arg(format!(
                    "image detail must be auto, low or high (got '{d}')"
                )));
            }
        }
        let mut img = json!({"url": url});
        if let Some(d) = detail {
            img["detail"] = json!(d);
        }
        self.last_message_parts()?
            .push(json!({"type": "image_url", "image_url": img}));
        Ok(())
    }
    pub fn add_function_tool(
        &mut self,
        name: &str,
        description: Option<&str>,
        parameters_json: Option<&str>,
        strict: bool,
    ) -> Result<()> {
        self.require(Operation::Chat, "tools")?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::invalid_arg(format!(
                "tool name '{name}' must be 1-64 characters of a-z, A-Z, 0-9, _ or -"
            )));
        }
        let mut f = Map::new();
        f.insert("name".into(), json!(name));
        if let Some(d) = description {
            f.insert("description".into(), json!(d));
        }
        if let Some(p) = parameters_json {
            let schema = parse_object("tool parameters schema", p)?;
            f.insert("parameters".into(), Value::Object(schema));
        }
        if strict {
            f.insert("strict".into(), json!(true));
        }
        let tools = self
            .body
            .entry("tools")
            .or_insert_with(|| Value::Array(Vec::new()));
        match tools {
            Value::Array(a) => {
                a.push(json!({"type": "function", "function": f}));
                Ok(())
            }
            _ => Err(Error::json("the request's 'tools' is not an array")),
        }
    }
    /// `auto`, `none`, `required`, or the name of a function to force.
    pub fn set_tool_choice(&mut self, choice: &str) -> Result<()> {
        self.require(Operation::Chat, "tool_choice")?;
        let v = match choice {
            "auto" | "none" | "required" => json!(choice),
            "" => return Err(Error::invalid_arg("tool_choice must not be empty")),
            name => json!({"type": "function", "function": {"name": name}}),
        };
        self.set("tool_choice", v)
    }
    pub fn set_parallel_tool_calls(&mut self, on: bool) -> Result<()> {
        self.require(Operation::Chat, "parallel_tool_calls")?;
        self.set("parallel_tool_calls", json!(on))
    }
    pub fn set_response_format_text(&mut self) -> Result<()> {
        self.require(Operation::Chat, "response_format")?;
        self.set("response_format", json!({"type": "text"}))
    }
    pub fn set_response_format_json_object(&mut self) -> Result<()> {
        self.require(Operation::Chat, "response_format")?;
        self.set("response_format", json!({"type": "json_object"}))
    }
    pub fn set_response_format_json_schema(
        &mut self,
        name: &str,
        schema_json: &str,
        strict: bool,
    ) -> Result<()> {
        self.require(Operation::Chat, "response_format")?;
        if name.is_empty() {
            return Err(Error::invalid_arg("json_schema name must not be empty"));
        }
        let schema = parse_object("json_schema schema", schema_json)?;
        self.set(
            "response_format",
            json!({"type": "json_schema",
                   "json_schema": {"name": name, "schema": schema, "strict": strict}}),
        )
    }
    pub fn set_reasoning_effort(&mut self, effort: &str) -> Result<()> {
        self.require(Operation::Chat, "reasoning_effort")?;
        if !matches!(effort, "minimal" | "low" | "medium" | "high") {
            return Err(Error::invalid_arg(format!(
                "reasoning_effort must be minimal, low, medium or high (got '{effort}')"
            )));
        }
        self.set("reasoning_effort", json!(effort))
    }

    // ---- legacy completions ----
    pub fn set_prompt(&mut self, prompt: &str) -> Result<()> {
        self.require(Operation::Completion, "prompt")?;
        self.set("prompt", json!(prompt))
    }
    pub fn add_prompt(&mut self, prompt: &str) -> Result<()> {
        self.require(Operation::Completion, "prompt")?;
        let list = match self.body.remove("prompt") {
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => vec![Value::String(s)],
            _ => Vec::new(),
        };
        let mut list = list;
        list.push(json!(prompt));
        self.set("prompt", Value::Array(list))
    }
    pub fn set_suffix(&mut self, s: &str) -> Result<()> {
        self.require(Operation::Completion, "suffix")?;
        self.set("suffix", json!(s))
    }
    pub fn set_echo(&mut self, on: bool) -> Result<()> {
        self.require(Operation::Completion, "echo")?;
        self.set("echo", json!(on))
    }
    pub fn set_best_of(&mut self, v: i64) -> Result<()> {
        self.require(Operation::Completion, "best_of")?;
        let v = range_i64("best_of", v, 1, 20)?;
        self.set("best_of", v)
    }

    // ---- embeddings ----
    pub fn add_input(&mut self, text: &str) -> Result<()> {
        self.require(Operation::Embedding, "input")?;
        let list = match self.body.remove("input") {
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => vec![Value::String(s)],
            _ => Vec::new(),
        };
        let mut list = list;
        list.push(json!(text));
        self.set("input", Value::Array(list))
    }
    pub fn set_dimensions(&mut self, v: i64) -> Result<()> {
        self.require(Operation::Embedding, "dimensions")?;
        let v = range_i64("dimensions", v, 1, 65_536)?;
        self.set("dimensions", v)
    }

    // ---- pass-through ----
    /// Sets any top-level field to a JSON value (for parameters without a typed setter).
    pub fn set_field_json(&mut self, key: &str, value_json: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid_arg("field name must not be empty"));
        }
        if key == "stream" {
            return Err(Error::invalid_arg(
                "'stream' is chosen by the call (send or stream), not by a field",
            ));
        }
        let v = parse_json(&format!("value of field '{key}'"), value_json)?;
        let old = self.body.insert(key.to_string(), v);
        if let Err(e) = self.check_shape() {
            match old {
                Some(o) => self.body.insert(key.to_string(), o),
                None => self.body.remove(key),
            };
            return Err(e);
        }
        Ok(())
    }
    pub fn remove_field(&mut self, key: &str) -> bool {
        self.body.remove(key).is_some()
    }
    /// Merges a JSON object into the body (top-level keys replace).
    pub fn merge_json(&mut self, text: &str) -> Result<()> {
        let m = parse_object("JSON to merge", text)?;
        let saved = self.body.clone();
        for (k, v) in m {
            self.body.insert(k, v);
        }
        if let Err(e) = self.check_shape() {
            self.body = saved;
            return Err(e);
        }
        Ok(())
    }

    /// Shape checks on fields whose type the library relies on.
    pub fn check_shape(&self) -> Result<()> {
        if let Some(m) = self.body.get("messages") {
            let a = m.as_array().ok_or_else(|| {
                Error::json(format!(
                    "'messages' must be an array (got {})",
                    json_type(m)
                ))
            })?;
            for (i, msg) in a.iter().enumerate() {
                let o = msg.as_object().ok_or_else(|| {
                    Error::json(format!(
                        "messages[{i}] must be an object (got {})",
                        json_type(msg)
                    ))
                })?;
                check_message(o, i)?;
            }
        }
        if let Some(p) = self.body.get("prompt") {
            let ok = p.is_string()
                || p.as_array().is_some_and(|a| {
                    a.iter()
                        .all(|x| x.is_string() || x.is_number() || x.is_array())
                });
            if !ok {
                return Err(Error::json(format!(
                    "'prompt' must be a string or an array of strings (got {})",
                    json_type(p)
                )));
            }
        }
        if let Some(s) = self.body.get("stream") {
            if !s.is_boolean() {
                return Err(Error::json("'stream' must be true or false"));
            }
        }
        for key in ["n", "max_tokens", "max_completion_tokens"] {
            if let Some(v) = self.body.get(key) {
                if !v.is_u64() {
                    return Err(Error::json(format!(
                        "'{key}' must be a positive integer (got {})",
                        json_type(v)
                    )));
                }
            }
        }
        if let Some(m) = self.body.get("model") {
            if !m.is_string() {
                return Err(Error::json("'model' must be a string"));
            }
        }
        Ok(())
    }

    /// Checks that the request has what its operation needs before anything goes on the wire.
    pub fn check_complete(&self) -> Result<()> {
        self.check_shape()?;
        match self.op {
            Operation::Chat => {
                if self
                    .body
                    .get("messages")
                    .and_then(Value::as_array)
                    .is_none_or(|a| a.is_empty())
                {
                    return Err(Error::invalid_arg(
                        "a chat request needs at least one message",
                    ));
                }
            }
            Operation::Completion => {
                if !self.body.contains_key("prompt") {
                    return Err(Error::invalid_arg("a completion request needs a prompt"));
                }
            }
            Operation::Embedding => {
                if !self.body.contains_key("input") {
                    return Err(Error::invalid_arg("an embeddings request needs an input"));
                }
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        Value::Object(self.body.clone()).to_string()
    }
}

fn check_message(m: &Map<String, Value>, i: usize) -> Result<()> {
    let at = if i == usize::MAX {
        "message".to_string()
    } else {
        format!("messages[{i}]")
    };
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::json(format!("{at} needs a string 'role'")))?;
    if !matches!(
        role,
        "system" | "developer" | "user" | "assistant" | "tool" | "function"
    ) {
        return Err(Error::json(format!("{at} has unknown role '{role}'")));
    }
    match m.get("content") {
        None | Some(Value::Null) if role == "assistant" => {}
        Some(Value::String(_)) | Some(Value::Array(_)) => {}
        Some(Value::Null) | None => {
            return Err(Error::json(format!("{at} needs 'content'")));
        }
        Some(other) => {
            return Err(Error::json(format!(
                "{at} content must be a string or an array of parts (got {})",
                json_type(other)
            )));
        }
    }
    Ok(())
}

pub fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Chat => "chat",
        Operation::Completion => "completion",
        Operation::Embedding => "embeddings",
    }
}
