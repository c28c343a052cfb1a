//! Integration tests of the aoai-emulator binary, on real bytes over real sockets.

mod common;

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use common::{API_KEY, Emulator, RawResponse, TOKEN, format_request, read_response};
use serde_json::{Value, json};

const CHAT: &str = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
const COMPLETIONS: &str =
    "/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21";
const EMBEDDINGS: &str =
    "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21";
const O1: &str = "/openai/deployments/o1/chat/completions?api-version=2024-12-01-preview";
const KEY: &[(&str, &str)] = &[("api-key", API_KEY)];
const BEARER_KEY: &str = "Bearer emulator-key";

const ACCESS_DENIED: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;
const DEPLOYMENT_NOT_FOUND: &str = r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#;
const SERVER_ERROR: &str = r#"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#;

fn user(text: &str) -> String {
    json!({"messages": [{"role": "user", "content": text}]}).to_string()
}

fn with(mut body: Value, extra: Value) -> String {
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    body.to_string()
}

fn chat_req(text: &str, extra: Value) -> String {
    with(
        json!({"messages": [{"role": "user", "content": text}]}),
        extra,
    )
}

fn post(emu: &Emulator, path: &str, body: &str) -> RawResponse {
    emu.request("POST", path, KEY, body)
}

fn chat(emu: &Emulator, text: &str) -> RawResponse {
    post(emu, CHAT, &user(text))
}

fn content(v: &Value) -> &str {
    v["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
}

/// Asserts every object in the raw JSON text has its keys in alphabetical order.
fn assert_sorted(v: &Value) {
    match v {
        Value::Object(m) => {
            let keys: Vec<&String> = m.keys().collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "keys not alphabetical");
            m.values().for_each(assert_sorted);
        }
        Value::Array(a) => a.iter().for_each(assert_sorted),
        _ => {}
    }
}

fn deltas(events: &[Value], index: u64) -> String {
    events
        .iter()
        .flat_map(|e| e["choices"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["index"] == index)
        .filter_map(|c| c["delta"]["content"].as_str().map(str::to_string))
        .collect()
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

// ---------------------------------------------------------------- routes & auth

#[test]
fn health_and_listening_line() {
    let emu = Emulator::start();
    assert!(emu.port > 0);
    assert_eq!(emu.base, format!("http://127.0.0.1:{}", emu.port));
    let r = emu.request("GET", "/_emulator/health", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
}

#[test]
fn azure_chat_body_headers_and_key_order() {
    let emu = Emulator::start();
    let r = emu.request(
        "POST",
        CHAT,
        &[("Api-Key", API_KEY), ("x-ms-client-request-id", "cid-42")],
        &json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi there friend"}
        ]})
        .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-ms-client-request-id"), Some("cid-42"));
    assert_eq!(r.header("x-ms-region"), Some("East US"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("99"));
    assert_eq!(r.header("x-ratelimit-remaining-tokens"), Some("99000"));
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("100"));
    assert_eq!(r.header("x-ratelimit-limit-tokens"), Some("100000"));
    assert_eq!(r.header("x-ms-rai-invoked"), Some("true"));
    assert_eq!(r.header("x-ms-deployment-name"), Some("gpt-4o"));
    let apim = r.header("apim-request-id").expect("apim-request-id");
    assert_eq!(apim.len(), 36);
    assert_ne!(Some(apim), r.header("x-request-id"));
    let v = r.json();
    assert_sorted(&v);
    assert!(
        r.text()
            .starts_with(r#"{"choices":[{"content_filter_results":{"hate":"#)
    );
    let expected_reply = "Hello from the aoai emulator! You said: Hi there friend";
    assert_eq!(content(&v), expected_reply);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["refusal"], Value::Null);
    let cfr = &choice["content_filter_results"];
    for cat in ["hate", "self_harm", "sexual", "violence"] {
        assert_eq!(cfr[cat], json!({"filtered": false, "severity": "safe"}));
    }
    for cat in ["protected_material_code", "protected_material_text"] {
        assert_eq!(cfr[cat], json!({"filtered": false, "detected": false}));
    }
    let pfr = &v["prompt_filter_results"][0];
    assert_eq!(pfr["prompt_index"], 0);
    assert_eq!(
        pfr["content_filter_results"]["jailbreak"],
        json!({"filtered": false, "detected": false})
    );
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-emu"));
    assert_eq!(v["model"], "gpt-4o-2024-08-06");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["system_fingerprint"], "fp_emulator");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    let u = &v["usage"];
    assert_eq!(u["prompt_tokens"], 5);
    assert_eq!(u["completion_tokens"], words(expected_reply));
    assert_eq!(u["total_tokens"], 5 + words(expected_reply));
    assert_eq!(
        u["prompt_tokens_details"],
        json!({"cached_tokens": 0, "audio_tokens": 0})
    );
    assert_eq!(
        u["completion_tokens_details"],
        json!({"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0})
    );
}

#[test]
fn azure_auth_methods() {
    let emu = Emulator::start();
    let body = user("hi");
    let bearer_token = format!("Bearer {TOKEN}");
    let ok = |h: &[(&str, &str)]| emu.request("POST", CHAT, h, &body).status;
    assert_eq!(ok(&[("API-KEY", API_KEY)]), 200);
    assert_eq!(ok(&[("Authorization", &bearer_token)]), 200);
    for bad in [
        vec![("api-key", "wrong")],
        vec![],
        vec![("Authorization", BEARER_KEY)],
        vec![("Authorization", "Bearer nope")],
    ] {
        let r = emu.request("POST", CHAT, &bad, &body);
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), ACCESS_DENIED);
    }
}

#[test]
fn azure_v1_route_and_auth() {
    let emu = Emulator::start();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "yo"}]})
        .to_string();
    let bearer_token = format!("Bearer {TOKEN}");
    for h in [
        vec![("api-key", API_KEY)],
        vec![("Authorization", BEARER_KEY)],
        vec![("Authorization", bearer_token.as_str())],
    ] {
        let r = emu.request("POST", "/openai/v1/chat/completions", &h, &body);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-ms-deployment-name"), Some("gpt-4o-mini"));
        let v = r.json();
        assert_eq!(v["model"], "gpt-4o-mini-2024-07-18");
        assert_sorted(&v);
        assert!(v["prompt_filter_results"].is_array());
    }
    let r = emu.request(
        "POST",
        "/openai/v1/chat/completions",
        &[("api-key", "bad")],
        &body,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), ACCESS_DENIED);
    let r = emu.request(
        "POST",
        "/openai/v1/chat/completions",
        KEY,
        &user("no model"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = emu.request(
        "POST",
        "/openai/v1/chat/completions",
        KEY,
        &json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}).to_string(),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), DEPLOYMENT_NOT_FOUND);
}

#[test]
fn openai_route_shape_headers_and_errors() {
    let emu = Emulator::start();
    let body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}).to_string();
    let r = emu.request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", BEARER_KEY)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().starts_with(r#"{"id":"chatcmpl-emu"#),
        "{}",
        r.text()
    );
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "object",
            "created",
            "model",
            "choices",
            "usage",
            "system_fingerprint"
        ]
    );
    assert!(v.get("prompt_filter_results").is_none());
    assert!(v["choices"][0].get("content_filter_results").is_none());
    assert!(r.header("x-request-id").unwrap().starts_with("req_"));
    assert!(r.header("openai-processing-ms").is_some());
    assert_eq!(r.header("x-ratelimit-reset-requests"), Some("6ms"));
    assert_eq!(r.header("x-ratelimit-reset-tokens"), Some("0s"));
    assert!(r.header("x-ratelimit-limit-tokens").is_some());
    assert!(r.header("apim-request-id").is_none());

    let r = emu.request("POST", "/v1/chat/completions", KEY, &body);
    assert_eq!(r.status, 401);
    let e = r.json()["error"].clone();
    assert_eq!(e["code"], "invalid_api_key");
    assert_eq!(e["type"], "invalid_request_error");
    assert_eq!(e["param"], Value::Null);
    let r = emu.request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", BEARER_KEY)],
        &json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}).to_string(),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    let r = emu.request(
        "POST",
        "/v1/nothing",
        &[("Authorization", BEARER_KEY)],
        "{}",
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn api_version_deployments_and_bad_bodies() {
    let emu = Emulator::start();
    let r = post(
        &emu,
        "/openai/deployments/gpt-4o/chat/completions",
        &user("x"),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        r#"{"error":{"code":"404","message":"Resource not found"}}"#
    );
    let r = post(
        &emu,
        "/openai/deployments/invalid%20model%20name/chat/completions?api-version=2024-10-21",
        &user("x"),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), DEPLOYMENT_NOT_FOUND);
    let r = post(
        &emu,
        "/openai/deployments/gpt%2D4o/chat/completions?api-version=2024-10-21",
        &user("x"),
    );
    assert_eq!(r.status, 200);
    let r = post(
        &emu,
        "/openai/deployments/gpt-4o/unknown?api-version=1",
        &user("x"),
    );
    assert_eq!(r.status, 404);
    let r = post(&emu, "/somewhere/else", &user("x"));
    assert_eq!(r.status, 404);
    let r = post(&emu, CHAT, "this is {not json");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = post(&emu, CHAT, "[1,2]");
    assert_eq!(r.status, 400);
    let r = post(&emu, CHAT, "{}");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["param"], "messages");
    let r = post(
        &emu,
        "/openai/deployments/text-embedding-3-small/chat/completions?api-version=2024-10-21",
        &user("x"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "OperationNotSupported");
    let r = emu.request("GET", CHAT, KEY, "");
    assert_eq!(r.status, 405);
}

#[test]
fn custom_cli_options() {
    let dir = std::env::temp_dir().join(format!("aoai-emu-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port_file = dir.join("port");
    let emu = Emulator::start_with(&[
        "--api-key",
        "k2",
        "--token",
        "t2",
        "--deployment",
        "my-embed=embeddings",
        "--deployment",
        "my chat",
        "--port-file",
        port_file.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&port_file).unwrap();
    assert_eq!(written.trim(), emu.port.to_string());
    let r = emu.request("POST", CHAT, &[("api-key", "k2")], &user("x"));
    assert_eq!(r.status, 200);
    let r = emu.request("POST", CHAT, &[("api-key", API_KEY)], &user("x"));
    assert_eq!(r.status, 401);
    let r = emu.request("POST", CHAT, &[("Authorization", "Bearer t2")], &user("x"));
    assert_eq!(r.status, 200);
    let r = emu.request(
        "POST",
        CHAT,
        &[("Authorization", "Bearer emulator-token")],
        &user("x"),
    );
    assert_eq!(r.status, 401);
    let r = emu.request(
        "POST",
        "/openai/deployments/my-embed/embeddings?api-version=1",
        &[("api-key", "k2")],
        r#"{"input":"a"}"#,
    );
    assert_eq!(r.status, 200);
    let r = emu.request(
        "POST",
        "/openai/deployments/my%20chat/chat/completions?api-version=1",
        &[("api-key", "k2")],
        &user("x"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["model"], "my chat");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- chat answers

#[test]
fn chat_n_and_truncation() {
    let emu = Emulator::start();
    let r = post(&emu, CHAT, &chat_req("one two", json!({"n": 3})));
    let v = r.json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    let reply = "Hello from the aoai emulator! You said: one two";
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["message"]["content"], reply);
    }
    assert_eq!(v["usage"]["completion_tokens"], 3 * words(reply));
    assert_eq!(v["usage"]["prompt_tokens"], 2);

    for key in ["max_tokens", "max_completion_tokens"] {
        let v = post(&emu, CHAT, &chat_req("one two", json!({key: 3}))).json();
        assert_eq!(content(&v), "Hello from the");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(v["usage"]["completion_tokens"], 3);
    }
    let v = post(&emu, CHAT, &chat_req("x", json!({"max_tokens": 100}))).json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let r = post(&emu, CHAT, &chat_req("x", json!({"n": 0})));
    assert_eq!(r.status, 400);
}

#[test]
fn chat_response_format_and_array_content() {
    let emu = Emulator::start();
    let v = post(
        &emu,
        CHAT,
        &chat_req(
            "say \"hi\"",
            json!({"response_format": {"type": "json_object"}}),
        ),
    )
    .json();
    let parsed: Value = serde_json::from_str(content(&v)).unwrap();
    assert_eq!(
        parsed,
        json!({"answer": "Hello from the aoai emulator! You said: say \"hi\""})
    );
    let schema = json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}});
    let v = post(&emu, CHAT, &chat_req("q", schema)).json();
    assert!(serde_json::from_str::<Value>(content(&v)).unwrap()["answer"].is_string());
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "part one"}, {"type": "image_url", "image_url": {"url": "x"}}]}]});
    let v = post(&emu, CHAT, &body.to_string()).json();
    assert_eq!(
        content(&v),
        "Hello from the aoai emulator! You said: part one"
    );
}

#[test]
fn chat_tools() {
    let emu = Emulator::start();
    let tools = json!([
        {"type": "function", "function": {"name": "search", "parameters": {}}},
        {"type": "function", "function": {"name": "weather", "parameters": {}}}
    ]);
    let text = "what's \"up\" in Zürich?";
    let v = post(&emu, CHAT, &chat_req(text, json!({"tools": tools}))).json();
    let c = &v["choices"][0];
    assert_eq!(c["finish_reason"], "tool_calls");
    assert_eq!(c["message"]["content"], Value::Null);
    let call = &c["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_emu_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "search");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"query": text}));

    let choice = json!({"type": "function", "function": {"name": "weather"}});
    let v = post(
        &emu,
        CHAT,
        &chat_req("x", json!({"tools": tools, "tool_choice": choice})),
    )
    .json();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "weather"
    );

    let v = post(
        &emu,
        CHAT,
        &chat_req("x", json!({"tools": tools, "tool_choice": "none"})),
    )
    .json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    let body = json!({"tools": tools, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}
    ]});
    let v = post(&emu, CHAT, &body.to_string()).json();
    assert_eq!(content(&v), "Tool result received: sunny, 21C");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[test]
fn o1_reasoning_shapes() {
    let emu = Emulator::start();
    let v = post(
        &emu,
        O1,
        &chat_req("think", json!({"max_completion_tokens": 16})),
    )
    .json();
    assert_eq!(content(&v), "");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["model"], "o1-2024-12-17");
    let u = &v["usage"];
    assert_eq!(u["completion_tokens"], 16);
    assert_eq!(u["completion_tokens_details"]["reasoning_tokens"], 16);

    let v = post(
        &emu,
        O1,
        &chat_req("think", json!({"max_completion_tokens": 1000})),
    )
    .json();
    let text = content(&v).to_string();
    assert!(text.starts_with("Hello from the aoai emulator!"));
    let reasoning = v["usage"]["completion_tokens_details"]["reasoning_tokens"]
        .as_u64()
        .unwrap();
    assert!(reasoning > 0);
    assert_eq!(v["usage"]["completion_tokens"], words(&text) + reasoning);

    let r = post(&emu, O1, &chat_req("x", json!({"max_tokens": 100})));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "unsupported_parameter");
}

#[test]
fn chat_logprobs() {
    let emu = Emulator::start();
    let v = post(
        &emu,
        CHAT,
        &chat_req("hé", json!({"logprobs": true, "top_logprobs": 1})),
    )
    .json();
    let entries = v["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap()
        .clone();
    let joined: String = entries
        .iter()
        .map(|e| e["token"].as_str().unwrap())
        .collect();
    assert_eq!(joined, content(&v));
    for e in &entries {
        let bytes: Vec<u8> = e["bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(bytes, e["token"].as_str().unwrap().as_bytes());
        assert!(e["logprob"].as_f64().unwrap() < 0.0);
        assert_eq!(e["top_logprobs"].as_array().unwrap().len(), 1);
    }
}

// ---------------------------------------------------------------- completions & embeddings

#[test]
fn legacy_completions() {
    let emu = Emulator::start();
    let v = post(&emu, COMPLETIONS, r#"{"prompt":"Say this"}"#).json();
    assert_sorted(&v);
    let text = " This is a completion from the aoai emulator for: Say this";
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-emu"));
    assert_eq!(v["model"], "gpt-35-turbo-instruct");
    assert_eq!(v["choices"][0]["text"], text);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["logprobs"], Value::Null);
    assert!(v["choices"][0]["content_filter_results"]["violence"].is_object());
    assert_eq!(
        v["usage"],
        json!({"completion_tokens": words(text), "prompt_tokens": 2, "total_tokens": 2 + words(text)})
    );

    let v = post(&emu, COMPLETIONS, r#"{"prompt":["a","b c"],"n":2}"#).json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 4);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
    }
    assert!(choices[0]["text"].as_str().unwrap().ends_with("for: a"));
    assert!(choices[3]["text"].as_str().unwrap().ends_with("for: b c"));
    let pfr = v["prompt_filter_results"].as_array().unwrap();
    assert_eq!(pfr.len(), 2);
    assert_eq!(pfr[1]["prompt_index"], 1);
    assert_eq!(v["usage"]["prompt_tokens"], 3);

    let v = post(
        &emu,
        COMPLETIONS,
        r#"{"prompt":"Hi","echo":true,"suffix":" END"}"#,
    )
    .json();
    assert_eq!(
        v["choices"][0]["text"],
        "Hi This is a completion from the aoai emulator for: Hi END"
    );

    let long = "w ".repeat(20);
    let v = post(&emu, COMPLETIONS, &json!({"prompt": long}).to_string()).json();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 16);

    let v = post(
        &emu,
        COMPLETIONS,
        r#"{"prompt":"x","logprobs":1,"max_tokens":3}"#,
    )
    .json();
    let lp = &v["choices"][0]["logprobs"];
    assert_eq!(lp["tokens"], json!([" This", " is", " a"]));
    assert_eq!(lp["token_logprobs"].as_array().unwrap().len(), 3);
    assert!(lp["top_logprobs"][0][" This"].is_number());
    assert_eq!(lp["text_offset"], json!([1, 6, 9]));

    let v = post(&emu, COMPLETIONS, r#"{"prompt":[[1,2,3],[4]]}"#).json();
    assert_eq!(v["choices"].as_array().unwrap().len(), 2);
    assert_eq!(v["usage"]["prompt_tokens"], 4);

    let r = post(
        &emu,
        "/openai/deployments/gpt-4o/completions?api-version=2024-10-21",
        r#"{"prompt":"x"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "OperationNotSupported");
}

#[test]
fn embeddings_float_and_base64() {
    let emu = Emulator::start();
    let v = post(&emu, EMBEDDINGS, r#"{"input":"hello world"}"#).json();
    assert_sorted(&v);
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    assert_eq!(v["usage"], json!({"prompt_tokens": 2, "total_tokens": 2}));
    let emb: Vec<f64> = v["data"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(emb.len(), 8);
    let norm: f64 = emb.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    assert_eq!(v["data"][0]["object"], "embedding");

    let again = post(
        &emu,
        EMBEDDINGS,
        r#"{"input":["hello world","other"],"dimensions":16}"#,
    )
    .json();
    let data = again["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 16);
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    let same = post(&emu, EMBEDDINGS, r#"{"input":"hello world"}"#).json();
    assert_eq!(same["data"][0]["embedding"], v["data"][0]["embedding"]);

    let b = post(
        &emu,
        EMBEDDINGS,
        r#"{"input":"hello world","encoding_format":"base64"}"#,
    )
    .json();
    let bytes = decode_base64(b["data"][0]["embedding"].as_str().unwrap());
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let expected: Vec<f32> = emb.iter().map(|x| *x as f32).collect();
    assert_eq!(floats, expected);
}

fn decode_base64(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> = s
        .bytes()
        .filter(|b| *b != b'=')
        .map(|b| alphabet.iter().position(|a| *a == b).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let mut n = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

// ---------------------------------------------------------------- streaming

#[test]
fn azure_chat_stream_sequence() {
    let emu = Emulator::start();
    let plain = chat(&emu, "stream me").json();
    let r = post(
        &emu,
        CHAT,
        &chat_req(
            "stream me",
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert!(r.text().ends_with("data: [DONE]\n\n"));
    // One SSE event per HTTP chunk.
    assert_eq!(r.chunk_sizes.len(), data.len());
    let events = r.sse_json();
    let first = &events[0];
    assert_eq!(first["choices"], json!([]));
    assert_eq!(first["id"], "");
    assert_eq!(first["created"], 0);
    assert!(first["prompt_filter_results"][0]["content_filter_results"]["jailbreak"].is_object());
    let role = &events[1]["choices"][0];
    assert_eq!(
        role["delta"],
        json!({"content": "", "refusal": null, "role": "assistant"})
    );
    assert_eq!(role["content_filter_results"], json!({}));
    assert_eq!(deltas(&events, 0), content(&plain));
    for e in &events[1..events.len() - 1] {
        assert_eq!(e["usage"], Value::Null);
        assert_eq!(e["object"], "chat.completion.chunk");
        assert_sorted(e);
    }
    assert!(events[2]["choices"][0]["content_filter_results"]["hate"].is_object());
    let finish = &events[events.len() - 2]["choices"][0];
    assert_eq!(finish["delta"], json!({}));
    assert_eq!(finish["finish_reason"], "stop");
    let last = &events[events.len() - 1];
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"], plain["usage"]);

    let r = post(&emu, CHAT, &chat_req("no usage", json!({"stream": true})));
    assert!(r.sse_json().iter().all(|e| e.get("usage").is_none()));
}

#[test]
fn stream_n_interleaved_and_tools() {
    let emu = Emulator::start();
    let r = post(
        &emu,
        CHAT,
        &chat_req("multi", json!({"stream": true, "n": 2})),
    );
    let events = r.sse_json();
    let reply = "Hello from the aoai emulator! You said: multi";
    assert_eq!(deltas(&events, 0), reply);
    assert_eq!(deltas(&events, 1), reply);
    let indexes: Vec<u64> = events[3..7]
        .iter()
        .map(|e| e["choices"][0]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 0, 1]);

    let tools = json!([{"type": "function", "function": {"name": "lookup", "parameters": {}}}]);
    let plain = post(
        &emu,
        CHAT,
        &chat_req("find the thing", json!({"tools": tools})),
    )
    .json();
    let r = post(
        &emu,
        CHAT,
        &chat_req("find the thing", json!({"tools": tools, "stream": true})),
    );
    let events = r.sse_json();
    let first = &events[1]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["content"], Value::Null);
    let call = &first["tool_calls"][0];
    assert_eq!(call["index"], 0);
    assert!(call["id"].as_str().unwrap().starts_with("call_emu_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"], json!({"arguments": "", "name": "lookup"}));
    let fragments: Vec<String> = events[2..]
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert!(fragments.len() > 2);
    assert_eq!(
        fragments.concat(),
        plain["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        events.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn openai_and_completions_streams() {
    let emu = Emulator::start();
    let body = json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hey"}]});
    let r = emu.request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", BEARER_KEY)],
        &body.to_string(),
    );
    assert_eq!(r.status, 200);
    let data = r.sse_data();
    assert!(data[0].starts_with(r#"{"id":"chatcmpl-emu"#), "{}", data[0]);
    let events = r.sse_json();
    assert!(
        events
            .iter()
            .all(|e| e.get("prompt_filter_results").is_none())
    );
    assert!(
        events
            .iter()
            .all(|e| e["choices"][0].get("content_filter_results").is_none())
    );
    assert_eq!(
        deltas(&events, 0),
        "Hello from the aoai emulator! You said: hey"
    );

    let r = post(
        &emu,
        COMPLETIONS,
        r#"{"prompt":["p one","p two"],"stream":true,"stream_options":{"include_usage":true}}"#,
    );
    let events = r.sse_json();
    for (i, e) in events[..2].iter().enumerate() {
        assert_eq!(e["choices"], json!([]));
        assert_eq!(e["prompt_filter_results"][0]["prompt_index"], i);
    }
    let text_of = |idx: u64| -> String {
        events
            .iter()
            .flat_map(|e| e["choices"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["index"] == idx)
            .filter_map(|c| c["text"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(
        text_of(0),
        " This is a completion from the aoai emulator for: p one"
    );
    assert_eq!(
        text_of(1),
        " This is a completion from the aoai emulator for: p two"
    );
    assert_eq!(events[2]["object"], "text_completion");
    assert!(events[2]["choices"][0]["content_filter_results"]["hate"].is_object());
    let last = events.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["prompt_tokens"], 4);
}

// ---------------------------------------------------------------- directives

#[test]
fn directive_status_codes() {
    let emu = Emulator::start();
    let r = chat(&emu, "[[emu:status=503]] hi");
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), SERVER_ERROR);
    let r = chat(&emu, "[[emu:status=500]]");
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), SERVER_ERROR);
    let r = chat(&emu, "[[emu:status=401]]");
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), ACCESS_DENIED);
    let r = chat(&emu, "[[emu:status=404]]");
    assert_eq!(r.text(), DEPLOYMENT_NOT_FOUND);
    for s in [403, 408, 409] {
        let r = chat(&emu, &format!("[[emu:status={s}]]"));
        assert_eq!(r.status, s);
        assert_eq!(r.json()["error"]["code"], s.to_string());
    }
    let r = chat(&emu, "[[emu:status=400]]");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = chat(&emu, "[[emu:status=502;body=html]]");
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.text().contains("<title>502 Bad Gateway</title>"));
    // Errors come back as plain JSON even for stream requests.
    let r = post(
        &emu,
        CHAT,
        &chat_req("[[emu:status=503]]", json!({"stream": true})),
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn directive_429_headers() {
    let emu = Emulator::start();
    let r = chat(
        &emu,
        "[[emu:status=429;retry-after=7;retry-after-ms=7000;x-ms-retry-after-ms=6500]]",
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("retry-after-ms"), Some("7000"));
    assert_eq!(r.header("x-ms-retry-after-ms"), Some("6500"));
    let e = r.json()["error"].clone();
    assert_eq!(e["code"], "429");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21"),
        "{msg}"
    );
    assert!(msg.contains("Please retry after 7 seconds"), "{msg}");
    let r = chat(&emu, "[[emu:status=429]]");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.header("retry-after-ms").is_none());
    let r = chat(&emu, "[[emu:status=429;retry-after=none]]");
    assert!(r.header("retry-after").is_none());
}

#[test]
fn directive_content_filter_400() {
    let emu = Emulator::start();
    let r = chat(&emu, "[[emu:status=400;code=content_filter]] bad");
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(text.starts_with(r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy."#), "{text}");
    let e = r.json()["error"].clone();
    assert_eq!(e["code"], "content_filter");
    assert_eq!(e["param"], "prompt");
    assert_eq!(e["type"], Value::Null);
    assert_eq!(e["status"], 400);
    assert_eq!(e["innererror"]["code"], "ResponsibleAIPolicyViolation");
    let result = &e["innererror"]["content_filter_result"];
    assert_eq!(
        result["violence"],
        json!({"filtered": true, "severity": "medium"})
    );
    assert_eq!(
        result["hate"],
        json!({"filtered": false, "severity": "safe"})
    );
    let e =
        chat(&emu, "[[emu:status=400;code=content_filter;category=hate]]").json()["error"].clone();
    assert_eq!(
        e["innererror"]["content_filter_result"]["hate"]["filtered"],
        true
    );
    assert_eq!(
        e["innererror"]["content_filter_result"]["violence"]["filtered"],
        false
    );
    let e = chat(&emu, "[[emu:status=400;code=content_filter;inner=none]]").json()["error"].clone();
    assert_eq!(e["code"], "content_filter");
    assert!(e.get("innererror").is_none());
}

#[test]
fn directive_times_then_success() {
    let emu = Emulator::start();
    let text = "[[emu:status=503;times=2]] retry me";
    assert_eq!(chat(&emu, text).status, 503);
    assert_eq!(chat(&emu, text).status, 503);
    let r = chat(&emu, text);
    assert_eq!(r.status, 200);
    assert_eq!(
        content(&r.json()),
        "Hello from the aoai emulator! You said: retry me"
    );
    // A different directive string has its own counter.
    assert_eq!(chat(&emu, "[[emu:status=503;times=1]] other").status, 503);
    // reset clears the counters.
    emu.reset();
    assert_eq!(chat(&emu, text).status, 503);
}

#[test]
fn directive_reply_and_finish() {
    let emu = Emulator::start();
    let v = chat(&emu, "[[emu:reply=Semi%3Bcolon and %E2%82%AC]] ignored").json();
    assert_eq!(content(&v), "Semi;colon and €");
    let r = post(
        &emu,
        CHAT,
        &chat_req("[[emu:reply=a b c]]", json!({"stream": true})),
    );
    assert_eq!(deltas(&r.sse_json(), 0), "a b c");
    let v = post(&emu, COMPLETIONS, r#"{"prompt":"[[emu:reply=done.]]"}"#).json();
    assert_eq!(v["choices"][0]["text"], "done.");

    let v = chat(
        &emu,
        "[[emu:finish=content_filter;reply=one two three four]]",
    )
    .json();
    let c = &v["choices"][0];
    assert_eq!(c["finish_reason"], "content_filter");
    assert_eq!(c["message"]["content"], "one two");
    assert_eq!(
        c["content_filter_results"]["violence"],
        json!({"filtered": true, "severity": "high"})
    );
    let r = post(
        &emu,
        CHAT,
        &chat_req(
            "[[emu:finish=content_filter;reply=one two three four]]",
            json!({"stream": true}),
        ),
    );
    let events = r.sse_json();
    assert_eq!(deltas(&events, 0), "one two");
    let fin = &events.last().unwrap()["choices"][0];
    assert_eq!(fin["finish_reason"], "content_filter");
    assert_eq!(fin["content_filter_results"]["violence"]["filtered"], true);
    let v = chat(&emu, "[[emu:finish=length]]").json();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
}

#[test]
fn directive_delay() {
    let emu = Emulator::start();
    let start = Instant::now();
    assert_eq!(chat(&emu, "[[emu:delay-ms=300]]").status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    let r = post(
        &emu,
        CHAT,
        &chat_req(
            "[[emu:chunk-delay-ms=20;reply=a b c d e]]",
            json!({"stream": true}),
        ),
    );
    assert!(start.elapsed() >= Duration::from_millis(20 * 7));
    assert_eq!(deltas(&r.sse_json(), 0), "a b c d e");
}

#[test]
fn directive_split_stream_reassembles() {
    let emu = Emulator::start();
    let text = "[[emu:split=1;crlf=1;reply=Grüße 🌍 from\r\nZürich]]";
    let plain = post(
        &emu,
        CHAT,
        &chat_req(
            "[[emu:reply=Grüße 🌍 from\r\nZürich]]",
            json!({"stream": true}),
        ),
    );
    let r = post(&emu, CHAT, &chat_req(text, json!({"stream": true})));
    assert_eq!(r.status, 200);
    assert!(
        r.chunk_sizes.len() > 100,
        "only {} chunks",
        r.chunk_sizes.len()
    );
    assert!(r.chunk_sizes.iter().all(|s| (1..=7).contains(s)));
    assert!(r.text().contains("\r\n\r\n"));
    let events = r.sse_json();
    assert_eq!(deltas(&events, 0), "Grüße 🌍 from\r\nZürich");
    assert_eq!(deltas(&events, 0), deltas(&plain.sse_json(), 0));
    assert_eq!(r.sse_data().last().map(String::as_str), Some("[DONE]"));
}

#[test]
fn directive_stream_terminations() {
    let emu = Emulator::start();
    let stream = |d: &str| {
        post(
            &emu,
            CHAT,
            &chat_req(&format!("[[emu:{d};reply=a b c]]"), json!({"stream": true})),
        )
    };
    let r = stream("no-done=1");
    let data = r.sse_data();
    assert!(!data.contains(&"[DONE]".to_string()));
    assert_eq!(
        r.sse_json().last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    let r = stream("no-finish=1");
    assert!(!r.sse_data().contains(&"[DONE]".to_string()));
    assert!(
        r.sse_json()
            .iter()
            .all(|e| e["choices"][0]["finish_reason"].is_null())
    );
    assert_eq!(deltas(&r.sse_json(), 0), "a b c");
    let r = stream("error-after=2");
    let data = r.sse_data();
    assert_eq!(data.len(), 3);
    assert_eq!(
        data[2],
        r#"{"error":{"code":"server_error","message":"The model produced invalid content."}}"#
    );
    let r = stream("done-no-blank=1");
    assert!(r.text().ends_with("}\n\ndata: [DONE]\n"), "{:?}", r.text());
    let r = stream("heartbeat=1");
    assert!(r.text().contains("\n\n: keep-alive\n\ndata: "));
    assert_eq!(deltas(&r.sse_json(), 0), "a b c");
    let r = stream("crlf=1");
    assert!(r.text().ends_with("data: [DONE]\r\n\r\n"));
    assert!(!r.text().replace("\r\n", "").contains('\n'));
}

#[test]
fn directive_async_filter_and_prompt_annotations() {
    let emu = Emulator::start();
    let r = post(
        &emu,
        CHAT,
        &chat_req(
            "[[emu:async-filter=1;reply=abc def]]",
            json!({"stream": true}),
        ),
    );
    let events = r.sse_json();
    let content_chunks: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        })
        .collect();
    assert_eq!(content_chunks.len(), 2);
    assert!(
        content_chunks
            .iter()
            .all(|e| e["choices"][0].get("content_filter_results").is_none())
    );
    let finish_pos = events
        .iter()
        .position(|e| e["choices"][0]["finish_reason"] == "stop")
        .unwrap();
    let annotations = &events[finish_pos + 1..];
    assert!(!annotations.is_empty());
    for a in annotations {
        let c = &a["choices"][0];
        assert!(c.get("delta").is_none());
        assert_eq!(c["content_filter_offsets"]["end_offset"], 7);
        assert!(c["content_filter_results"]["hate"].is_object());
        assert_eq!(a["id"], "");
        assert_eq!(a["created"], 0);
        assert_eq!(a["object"], "");
    }
    let v = chat(&emu, "[[emu:prompt-annotations=1]]").json();
    assert!(v.get("prompt_filter_results").is_none());
    assert_eq!(v["prompt_annotations"][0]["prompt_index"], 0);
    let r = post(
        &emu,
        CHAT,
        &chat_req("[[emu:prompt-annotations=1]]", json!({"stream": true})),
    );
    assert!(r.sse_json()[0]["prompt_annotations"].is_array());
}

#[test]
fn directive_body_faults() {
    let emu = Emulator::start();
    let r = chat(&emu, "[[emu:content-type=text/plain]]");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let r = chat(&emu, "[[emu:garbage=1]]");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, br#"{"choices":[{"mess"#);

    let mut s = emu.connect();
    s.write_all(&format_request(
        "POST",
        CHAT,
        KEY,
        &user("[[emu:endless=1]]"),
    ))
    .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < 4 * 1024 * 1024 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        total += n;
    }
    drop(s);
    assert_eq!(emu.request("GET", "/_emulator/health", &[], "").status, 200);
}

#[test]
fn directive_trickle() {
    let emu = Emulator::start();
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "[[emu:trickle-ms=1;reply=x]]"}]});
    let mut s = emu.connect();
    s.write_all(&format_request(
        "POST",
        "/v1/chat/completions",
        &[("Authorization", BEARER_KEY), ("Connection", "close")],
        &body.to_string(),
    ))
    .unwrap();
    let mut reads = 0;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        reads += 1;
        data.extend_from_slice(&buf[..n]);
    }
    assert!(reads > 50, "only {reads} reads");
    let resp = read_response(&mut BufReader::new(&data[..])).unwrap();
    assert_eq!(content(&resp.json()), "x");
}

#[test]
fn directive_resets() {
    let emu = Emulator::start();
    let err = emu.try_request("POST", CHAT, KEY, &user("[[emu:reset=before]]"));
    assert!(err.is_err(), "expected a connection error, got {err:?}");
    let err = emu.try_request("POST", CHAT, KEY, &user("[[emu:reset=body]]"));
    assert!(err.is_err(), "expected a truncated body, got {err:?}");
    let err = emu.try_request(
        "POST",
        CHAT,
        KEY,
        &chat_req("[[emu:reset-after=2]]", json!({"stream": true})),
    );
    assert!(err.is_err(), "expected a reset mid-stream, got {err:?}");
    let err = emu.try_request(
        "POST",
        CHAT,
        KEY,
        &chat_req("[[emu:reset=body]]", json!({"stream": true})),
    );
    assert!(err.is_err());
    assert_eq!(emu.request("GET", "/_emulator/health", &[], "").status, 200);
}

#[test]
fn stalled_stream_client_close_is_counted() {
    let emu = Emulator::start();
    let mut s = emu.connect();
    let body = chat_req("[[emu:stall-after=2]]", json!({"stream": true}));
    s.write_all(&format_request("POST", CHAT, KEY, &body))
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches("data: ").count() < 2 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(s.read(&mut buf).is_err(), "stalled stream sent more data");
    let stats = emu.stats();
    assert_eq!(stats["streams_started"], 1);
    assert_eq!(stats["streams_client_closed"], 0);
    drop(s);
    let stats = emu.wait_stats(|s| s["streams_client_closed"] == 1);
    assert_eq!(stats["streams_client_closed"], 1);
    assert_eq!(stats["streams_completed"], 0);
}

// ---------------------------------------------------------------- control API

#[test]
fn scripts_fifo() {
    let emu = Emulator::start();
    emu.script(json!([
        {"status": 503, "headers": {"retry-after": "0"}, "body": {"error": {"code": "x", "message": "scripted"}}},
        {"status": 200, "body": "plain text"},
        {"sse": ["{\"a\":1}", {"b": 2}], "done": false},
        {"status": 429, "headers": {"retry-after": "0"}}
    ]));
    let r = chat(&emu, "[[emu:status=500]]");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("0"));
    assert_eq!(r.json()["error"]["message"], "scripted");
    let r = chat(&emu, "x");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "plain text");
    let r = chat(&emu, "x");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.sse_data(), ["{\"a\":1}", "{\"b\":2}"]);
    let r = chat(&emu, "x");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("0"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    assert_eq!(chat(&emu, "x").status, 200);

    emu.script(json!([{"sse": ["{}"]}]));
    let r = chat(&emu, "x");
    assert_eq!(r.sse_data(), ["{}", "[DONE]"]);
    emu.script(json!([{"reset": "before"}]));
    assert!(emu.try_request("POST", CHAT, KEY, &user("x")).is_err());
    emu.script(json!([{"delay_ms": 200}]));
    let start = Instant::now();
    assert_eq!(chat(&emu, "x").status, 200);
    assert!(start.elapsed() >= Duration::from_millis(200));
    emu.script(json!([{"status": 500}, {"status": 500}]));
    assert_eq!(
        emu.request("DELETE", "/_emulator/script", &[], "").status,
        200
    );
    assert_eq!(chat(&emu, "x").status, 200);
    let r = emu.request("POST", "/_emulator/script", &[], "not json");
    assert_eq!(r.status, 400);
}

#[test]
fn requests_are_recorded() {
    let emu = Emulator::start();
    emu.request(
        "POST",
        CHAT,
        &[("api-key", API_KEY), ("X-Multi", "a"), ("x-multi", "b")],
        &user("recorded"),
    );
    emu.stats();
    let list = emu.requests();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let rec = &list[0];
    assert_eq!(rec["method"], "POST");
    assert_eq!(rec["path"], "/openai/deployments/gpt-4o/chat/completions");
    assert_eq!(rec["query"], "api-version=2024-10-21");
    assert_eq!(rec["headers"]["api-key"], API_KEY);
    assert_eq!(rec["headers"]["x-multi"], "a, b");
    assert_eq!(rec["body"], user("recorded"));
    emu.clear_requests();
    assert_eq!(emu.requests(), json!([]));
}

#[test]
fn request_log_is_capped() {
    let emu = Emulator::start();
    let total = 10_005;
    let mut s = emu.connect();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    // Pipelined in batches to keep the test fast.
    for batch in (0..total).collect::<Vec<_>>().chunks(500) {
        let mut buf = Vec::new();
        for i in batch {
            buf.extend(format_request("POST", &format!("/nowhere/{i}"), &[], "{}"));
        }
        s.write_all(&buf).unwrap();
        for _ in batch {
            assert_eq!(read_response(&mut reader).unwrap().status, 404);
        }
    }
    let list = emu.requests();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 10_000);
    assert_eq!(list[0]["path"], "/nowhere/5");
    assert_eq!(list[9_999]["path"], format!("/nowhere/{}", total - 1));
    assert_eq!(emu.stats()["requests"], total);
}

#[test]
fn stats_and_reset() {
    let emu = Emulator::start();
    chat(&emu, "x");
    post(&emu, CHAT, &chat_req("x", json!({"stream": true})));
    let s = emu.stats();
    assert_eq!(s["requests"], 2);
    assert_eq!(s["streams_started"], 1);
    assert_eq!(s["streams_completed"], 1);
    assert_eq!(s["streams_client_closed"], 0);
    assert!(s["connections_accepted"].as_u64().unwrap() >= 3);
    assert!(s["connections_open"].as_u64().unwrap() >= 1);
    emu.script(json!([{"status": 500}]));
    emu.reset();
    assert_eq!(emu.requests(), json!([]));
    let s = emu.stats();
    assert_eq!(s["requests"], 0);
    assert_eq!(s["streams_started"], 0);
    assert_eq!(chat(&emu, "x").status, 200);
    assert_eq!(emu.request("GET", "/_emulator/nope", &[], "").status, 404);
    assert_eq!(emu.request("POST", "/_emulator/stats", &[], "").status, 405);
}

#[test]
fn shutdown_exits_cleanly() {
    let mut emu = Emulator::start();
    let r = emu.request("POST", "/_emulator/shutdown", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(emu.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(!emu.is_running());
}

// ---------------------------------------------------------------- HTTP/1.1 behaviour

#[test]
fn keep_alive_and_pipelining() {
    let emu = Emulator::start();
    let mut s = emu.connect();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    s.write_all(&format_request("POST", CHAT, KEY, &user("first")))
        .unwrap();
    let a = read_response(&mut reader).unwrap();
    assert!(a.header("connection").is_none());
    s.write_all(&format_request(
        "POST",
        CHAT,
        KEY,
        &chat_req("second", json!({"stream": true})),
    ))
    .unwrap();
    let b = read_response(&mut reader).unwrap();
    assert_eq!(
        deltas(&b.sse_json(), 0),
        "Hello from the aoai emulator! You said: second"
    );
    let mut both = format_request("POST", CHAT, KEY, &user("third"));
    both.extend(format_request(
        "POST",
        CHAT,
        &[("api-key", API_KEY), ("Connection", "close")],
        &user("fourth"),
    ));
    s.write_all(&both).unwrap();
    assert_eq!(
        content(&read_response(&mut reader).unwrap().json()),
        "Hello from the aoai emulator! You said: third"
    );
    let last = read_response(&mut reader).unwrap();
    assert_eq!(last.header("connection"), Some("close"));
    assert_eq!(
        content(&last.json()),
        "Hello from the aoai emulator! You said: fourth"
    );
    let mut rest = Vec::new();
    assert_eq!(
        reader.read_to_end(&mut rest).unwrap(),
        0,
        "server did not close"
    );
    assert_eq!(emu.stats()["connections_accepted"], 2);
}

#[test]
fn chunked_request_body_and_expect_continue() {
    let emu = Emulator::start();
    let body = user("chunked body");
    let (a, b) = body.split_at(10);
    let mut s = emu.connect();
    let req = format!(
        "POST {CHAT} HTTP/1.1\r\nHost: x\r\napi-key: {API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nTrailer: t\r\n\r\n",
        a.len(),
        b.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let r = read_response(&mut reader).unwrap();
    assert_eq!(
        content(&r.json()),
        "Hello from the aoai emulator! You said: chunked body"
    );

    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nHost: x\r\napi-key: {API_KEY}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_response(&mut reader).unwrap().status, 200);
}

#[test]
fn http10_gets_close_delimited_stream() {
    let emu = Emulator::start();
    let body = chat_req("old", json!({"stream": true}));
    let req = format!(
        "POST {CHAT} HTTP/1.0\r\napi-key: {API_KEY}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = emu.connect();
    s.write_all(req.as_bytes()).unwrap();
    let r = read_response(&mut BufReader::new(s)).unwrap();
    assert!(r.header("transfer-encoding").is_none());
    assert_eq!(
        deltas(&r.sse_json(), 0),
        "Hello from the aoai emulator! You said: old"
    );
}

#[test]
fn malformed_requests_get_400() {
    let emu = Emulator::start();
    let cases: [&[u8]; 7] = [
        b"GARBAGE\r\n\r\n",
        b"POST /x HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST x HTTP/1.1\r\n\r\n",
        b"\x00\xff\xfe garbage \x01\r\n\r\n",
    ];
    for case in cases {
        let mut s = emu.connect();
        s.write_all(case).unwrap();
        let r = read_response(&mut BufReader::new(s)).unwrap();
        assert_eq!(r.status, 400, "for {:?}", String::from_utf8_lossy(case));
        assert_eq!(r.header("connection"), Some("close"));
    }
    let mut s = emu.connect();
    s.write_all(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(s)).unwrap().status, 413);
    let mut s = emu.connect();
    s.write_all(b"GET / HTTP/2.0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut BufReader::new(s)).unwrap().status, 505);
    let mut s = emu.connect();
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    let _ = s.write_all(huge.as_bytes());
    assert_eq!(read_response(&mut BufReader::new(s)).unwrap().status, 431);
    // Half a request then hang up: nothing to answer, nothing must break.
    let mut s = emu.connect();
    s.write_all(b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    drop(s);
    assert_eq!(emu.request("GET", "/_emulator/health", &[], "").status, 200);
    assert_eq!(emu.stats()["requests"], 0);
}
