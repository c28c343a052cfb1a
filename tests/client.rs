//! The safe core against the emulator: URL forms, auth headers, bodies, errors, retries,
//! streaming and operations, asserted on what went over the wire.

#![allow(clippy::result_large_err)] // aoai::Error is large by design (see src/lib.rs).

mod common;

use aoai::cancel::CancelToken;
use aoai::config::{ConfigBuilder, Operation};
use aoai::op::{Operation as Op, Phase};
use aoai::request::{Request, Role};
use aoai::stream::{Event, EventKind};
use aoai::{Client, Status};
use common::Emulator;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn client_with(emu: &Emulator, extra: Value) -> Client {
    let mut cfg = json!({"endpoint": emu.base, "api_key": common::API_KEY, "deployment": "gpt-4o", "environment": false});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let mut b = ConfigBuilder::new();
    b.load_json(&cfg.to_string()).unwrap();
    Client::new(b.build().unwrap(), None).unwrap()
}

fn chat(text: &str) -> Request {
    let mut r = Request::new(Operation::Chat);
    r.add_message(Role::User, text).unwrap();
    r
}

fn send(c: &Client, r: &Request) -> aoai::Result<aoai::Response> {
    c.call_blocking(r, false, &mut |_| true, &CancelToken::new())
}

fn stream(c: &Client, r: &Request) -> (Vec<Event>, aoai::Result<aoai::Response>) {
    let mut evs = Vec::new();
    let res = c.call_blocking(
        r,
        true,
        &mut |e| {
            evs.push(e);
            true
        },
        &CancelToken::new(),
    );
    (evs, res)
}

fn joined(evs: &[Event], choice: u32) -> String {
    evs.iter()
        .filter(|e| e.kind == EventKind::TextDelta && e.choice == Some(choice))
        .map(|e| e.text.as_str())
        .collect()
}

#[test]
fn azure_classic_chat_sends_api_key_and_parses_the_answer() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let mut r = chat("Hi there");
    r.add_message(Role::System, "be brief").unwrap();
    r.set_temperature(0.7).unwrap();
    let resp = send(&c, &r).unwrap();
    assert_eq!(
        resp.choices[0].text.as_deref(),
        Some("Hello from the aoai emulator! You said: Hi there")
    );
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-2024-08-06"));
    let u = resp.usage.unwrap();
    assert_eq!(
        u.total_tokens,
        Some(u.prompt_tokens.unwrap() + u.completion_tokens.unwrap())
    );
    assert_eq!(u.reasoning_tokens, Some(0));
    assert!(resp.request_id().is_some());
    assert_eq!(resp.header("x-ms-region"), Some("East US"));
    assert_eq!(resp.prompt_filters.len(), 1);
    assert_eq!(resp.attempts, 1);
    let reqs = emu.requests();
    let rq = &reqs[0];
    assert_eq!(rq["path"], "/openai/deployments/gpt-4o/chat/completions");
    assert_eq!(rq["query"], "api-version=2024-10-21");
    assert_eq!(rq["headers"]["api-key"], common::API_KEY);
    assert!(
        rq["headers"].get("authorization").is_none(),
        "never both api-key and authorization"
    );
    assert!(
        rq["headers"]["x-ms-client-request-id"]
            .as_str()
            .unwrap()
            .len()
            >= 32
    );
    let body: Value = serde_json::from_str(rq["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["temperature"], json!(0.7));
    assert!(body.get("stream").is_none() && body.get("model").is_none());
    assert_eq!(body["messages"][1]["role"], "system");
}

#[test]
fn azure_v1_and_openai_forms_put_the_model_in_the_body() {
    let emu = Emulator::start();
    let v1 = client_with(
        &emu,
        json!({"endpoint": format!("{}/openai/v1/", emu.base)}),
    );
    assert_eq!(v1.config().api_type, aoai::config::ApiType::AzureV1);
    send(&v1, &chat("one")).unwrap();
    let oa = client_with(
        &emu,
        json!({"api_type": "openai", "endpoint": null, "base_url": format!("{}/v1/", emu.base), "deployment": "gpt-4o-mini"}),
    );
    let resp = send(&oa, &chat("two")).unwrap();
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    let reqs = emu.requests();
    assert_eq!(reqs[0]["path"], "/openai/v1/chat/completions");
    assert_eq!(reqs[0]["query"], "");
    assert_eq!(
        serde_json::from_str::<Value>(reqs[0]["body"].as_str().unwrap()).unwrap()["model"],
        "gpt-4o"
    );
    assert_eq!(reqs[1]["path"], "/v1/chat/completions");
    assert_eq!(
        reqs[1]["headers"]["authorization"],
        format!("Bearer {}", common::API_KEY)
    );
    assert!(reqs[1]["headers"].get("api-key").is_none());
}

#[test]
fn per_request_deployment_and_percent_encoding() {
    let emu = Emulator::start_with(&["--deployment", "my model=chat"]);
    let c = client_with(&emu, json!({}));
    let mut r = chat("x");
    r.set_deployment("my model").unwrap();
    let resp = send(&c, &r).unwrap();
    assert_eq!(resp.model.as_deref(), Some("my model"));
    assert_eq!(
        emu.requests()[0]["path"],
        "/openai/deployments/my%20model/chat/completions"
    );
}

#[test]
fn legacy_completions_with_a_prompt_array() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({"deployment": "gpt-35-turbo-instruct"}));
    let mut r = Request::new(Operation::Completion);
    r.add_prompt("first").unwrap();
    r.add_prompt("second").unwrap();
    r.set_max_tokens(100).unwrap();
    let resp = send(&c, &r).unwrap();
    assert_eq!(resp.choices.len(), 2);
    assert!(
        resp.choices[1].text.as_deref().unwrap().ends_with("second"),
        "{:?}",
        resp.choices[1].text
    );
    assert_eq!(resp.prompt_filters.len(), 2);
    assert_eq!(
        emu.requests()[0]["path"],
        "/openai/deployments/gpt-35-turbo-instruct/completions"
    );
}

#[test]
fn tool_call_round_trip() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let mut r = chat("weather in Paris?");
    r.add_function_tool(
        "get_weather",
        Some("Weather"),
        Some(r#"{"type":"object","properties":{"city":{"type":"string"}}}"#),
        false,
    )
    .unwrap();
    let resp = send(&c, &r).unwrap();
    let ch = &resp.choices[0];
    assert_eq!(ch.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(ch.text, None);
    assert_eq!(ch.tool_calls[0].name, "get_weather");
    let args: Value = serde_json::from_str(&ch.tool_calls[0].arguments).unwrap();
    assert_eq!(args["query"], "weather in Paris?");
    r.add_response_message(&resp, 0).unwrap();
    r.add_tool_message(&ch.tool_calls[0].id, "sunny").unwrap();
    let resp2 = send(&c, &r).unwrap();
    assert_eq!(
        resp2.choices[0].text.as_deref(),
        Some("Tool result received: sunny")
    );
}

#[test]
fn reasoning_only_answer_has_empty_content() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({"deployment": "o1"}));
    let mut r = chat("think");
    r.set_max_completion_tokens(10).unwrap();
    let resp = send(&c, &r).unwrap();
    assert_eq!(resp.choices[0].text.as_deref(), Some(""));
    assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("length"));
    let u = resp.usage.unwrap();
    assert_eq!(u.reasoning_tokens, u.completion_tokens);
}

#[test]
fn service_errors_carry_status_code_and_detail() {
    let emu = Emulator::start();
    let bad = client_with(&emu, json!({"api_key": "wrong-key"}));
    let e = send(&bad, &chat("x")).unwrap_err();
    assert_eq!(
        (e.status, e.http_status, e.code.as_deref()),
        (Status::Authentication, 401, Some("401"))
    );
    assert!(e.message.contains(&emu.addr()), "{}", e.message);
    assert!(!e.message.contains("wrong-key"));

    let c = client_with(&emu, json!({"max_retries": 0}));
    let mut r = chat("x");
    r.set_deployment("nope").unwrap();
    let e = send(&c, &r).unwrap_err();
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Status::NotFound, Some("DeploymentNotFound"))
    );
    assert!(e.request_id.is_some());

    let e = send(
        &c,
        &chat("bad [[emu:status=400;code=content_filter;category=hate]]"),
    )
    .unwrap_err();
    assert_eq!(e.status, Status::ContentFiltered);
    assert_eq!(e.filtered_categories, vec!["hate"]);

    let e = send(
        &c,
        &chat("slow down [[emu:status=429;retry-after=7;retry-after-ms=6500]]"),
    )
    .unwrap_err();
    assert_eq!(
        (e.status, e.retry_after_ms),
        (Status::RateLimited, Some(6500))
    );
    assert_eq!(e.attempts, 1);
    assert!(e.header("x-ratelimit-remaining-requests").is_some());

    let e = send(&c, &chat("html [[emu:status=502;body=html]]")).unwrap_err();
    assert_eq!(e.status, Status::Server);

    let e = send(&c, &chat("[[emu:garbage=1]]")).unwrap_err();
    assert_eq!(e.status, Status::ResponseParse);
}

#[test]
fn retries_honour_hints_and_limits() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let t = Instant::now();
    let resp = send(
        &c,
        &chat("[[emu:status=503;times=1;retry-after-ms=50]] then fine"),
    )
    .unwrap();
    assert_eq!(resp.attempts, 2);
    assert!(t.elapsed() >= Duration::from_millis(50));
    // A hint above the cap fails at once, with the wait in the message.
    let c = client_with(&emu, json!({"max_retry_after_ms": 1000}));
    let t = Instant::now();
    let e = send(&c, &chat("[[emu:status=429;retry-after=30]]")).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(e.attempts, 1);
    assert!(e.message.contains("30.0 s"), "{}", e.message);
    // 400 is never retried.
    emu.clear_requests();
    let e = send(&c, &chat("[[emu:status=400]]")).unwrap_err();
    assert_eq!((e.status, e.attempts), (Status::BadRequest, 1));
    assert_eq!(emu.requests().as_array().unwrap().len(), 1);
    // Connection reset before the response is retried.
    emu.clear_requests();
    let resp = send(&c, &chat("[[emu:reset=before;times=1]] ok")).unwrap();
    assert_eq!(resp.attempts, 2);
}

#[test]
fn stream_events_assemble_to_the_non_stream_answer() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let whole = send(&c, &chat("stream me please")).unwrap();
    let mut r = chat("stream me please");
    r.set_stream_include_usage(true).unwrap();
    let (evs, res) = stream(&c, &r);
    let resp = res.unwrap();
    let want = whole.choices[0].text.clone().unwrap();
    assert_eq!(joined(&evs, 0), want);
    assert_eq!(resp.choices[0].text.as_deref(), Some(want.as_str()));
    assert!(resp.streamed);
    assert_eq!(
        evs.first().unwrap().kind,
        EventKind::ContentFilter,
        "Azure's prompt filter event comes first"
    );
    assert_eq!(evs.first().unwrap().choice, None);
    let fin: Vec<_> = evs.iter().filter(|e| e.kind == EventKind::Finish).collect();
    assert_eq!((fin.len(), fin[0].text.as_str()), (1, "stop"));
    let usage = evs.iter().find(|e| e.kind == EventKind::Usage).unwrap();
    assert_eq!(usage.usage, whole.usage);
    assert_eq!(resp.usage, whole.usage);
    assert_eq!(
        resp.id.as_deref().map(|s| s.starts_with("chatcmpl")),
        Some(true)
    );
    let body: Value = serde_json::from_str(emu.requests()[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[test]
fn azure_stream_quirks_are_handled() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let text = "caf\u{e9} \u{1F600} \u{4e16}\u{754c} done";
    let directive = |d: &str| chat(&format!("[[emu:reply={};{d}]]", text.replace(' ', "%20")));
    for d in [
        "split=1",
        "crlf=1",
        "done-no-blank=1",
        "heartbeat=1",
        "no-done=1",
        "prompt-annotations=1",
    ] {
        let (evs, res) = stream(&c, &directive(d));
        let resp = res.unwrap_or_else(|e| panic!("{d}: {e}"));
        assert_eq!(joined(&evs, 0), text, "{d}");
        assert_eq!(resp.choices[0].text.as_deref(), Some(text), "{d}");
    }
    // Asynchronous filter annotations come after the finish and have no delta.
    let (evs, res) = stream(&c, &directive("async-filter=1"));
    res.unwrap();
    let fin = evs
        .iter()
        .position(|e| e.kind == EventKind::Finish)
        .unwrap();
    let ann = evs
        .iter()
        .rposition(|e| e.kind == EventKind::ContentFilter && e.choice == Some(0))
        .unwrap();
    assert!(ann > fin);
    assert!(evs[ann].offsets.is_some());
    assert_eq!(joined(&evs, 0), text);
    // finish_reason content_filter.
    let (evs, res) = stream(&c, &chat("[[emu:finish=content_filter]] x y z"));
    let resp = res.unwrap();
    assert_eq!(
        resp.choices[0].finish_reason.as_deref(),
        Some("content_filter")
    );
    assert!(
        evs.iter()
            .any(|e| e.kind == EventKind::ContentFilter
                && e.filtered_categories() == vec!["violence"])
    );
}

#[test]
fn broken_streams_are_errors_with_the_partial_text() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({"max_retries": 0}));
    let (_, res) = stream(&c, &chat("[[emu:no-finish=1]] a b c"));
    let e = res.unwrap_err();
    assert_eq!(e.status, Status::Stream);
    assert!(e.message.contains("[DONE]"), "{}", e.message);
    let (evs, res) = stream(&c, &chat("[[emu:error-after=3]] a b c d e"));
    let e = res.unwrap_err();
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Status::Stream, Some("server_error"))
    );
    assert!(!evs.is_empty());
    let (evs, res) = stream(
        &c,
        &chat("[[emu:reset-after=4]] one two three four five six"),
    );
    let e = res.unwrap_err();
    assert!(
        matches!(e.status, Status::Connection | Status::Stream),
        "{:?} {}",
        e.status,
        e.message
    );
    let partial = e.partial.expect("partial response");
    assert_eq!(
        partial.choices[0].text.clone().unwrap_or_default(),
        joined(&evs, 0)
    );
}

#[test]
fn idle_and_total_timeouts_name_the_limit() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({"idle_timeout_ms": 300, "max_retries": 0}));
    let t = Instant::now();
    let (evs, res) = stream(&c, &chat("[[emu:stall-after=3]] a b c d"));
    let e = res.unwrap_err();
    assert_eq!(e.status, Status::Timeout);
    assert!(e.message.contains("idle_timeout_ms"), "{}", e.message);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(!evs.is_empty());
    let c = client_with(&emu, json!({"total_timeout_ms": 300, "max_retries": 0}));
    let e = send(&c, &chat("[[emu:delay-ms=2000]]")).unwrap_err();
    assert!(e.message.contains("total_timeout_ms"), "{}", e.message);
    emu.wait_stats(|s| s["streams_client_closed"].as_u64() >= Some(1));
}

#[test]
fn callback_stop_closes_the_connection() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let mut n = 0;
    let r = chat("[[emu:chunk-delay-ms=20]] one two three four five six seven eight");
    let res = c.call_blocking(
        &r,
        true,
        &mut |_| {
            n += 1;
            n < 3
        },
        &CancelToken::new(),
    );
    assert_eq!(res.unwrap_err().status, Status::Cancelled);
    let s = emu.wait_stats(|s| s["streams_client_closed"] == 1);
    assert_eq!(s["streams_client_closed"], 1, "{s}");
}

#[test]
fn operations_cancel_poll_and_finish_once() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let op = Op::start(
        &c,
        chat("[[emu:chunk-delay-ms=30]] a b c d e f g h i j"),
        true,
        None,
    )
    .unwrap();
    assert!(op.wait_event(Some(Duration::from_secs(5))));
    assert_eq!(op.phase(), Phase::Pending);
    op.cancel();
    op.cancel();
    assert_eq!(op.phase(), Phase::Cancelled);
    assert_eq!(op.error().unwrap().status, Status::Cancelled);
    assert_eq!(op.take_response().unwrap_err().status, Status::InvalidState);
    let s = emu.wait_stats(|s| s["streams_client_closed"] == 1);
    assert_eq!(
        s["streams_client_closed"], 1,
        "the emulator saw the connection close: {s}"
    );

    let op = Op::start(&c, chat("whole"), false, None).unwrap();
    assert!(op.wait(Some(Duration::from_secs(10))));
    assert_eq!(op.phase(), Phase::Done);
    assert!(
        op.take_response().unwrap().choices[0]
            .text
            .as_deref()
            .unwrap()
            .ends_with("whole")
    );
    assert_eq!(op.take_response().unwrap_err().status, Status::InvalidState);
    op.cancel(); // after the end: no change
    assert_eq!(op.phase(), Phase::Done);
}

#[test]
fn notify_runs_on_a_worker_and_never_after_client_shutdown() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let calls2 = calls.clone();
    let main = std::thread::current().id();
    let notify: aoai::op::NotifyFn =
        Arc::new(move || calls2.lock().unwrap().push(std::thread::current().id()));
    let op = Op::start(
        &c,
        chat("[[emu:chunk-delay-ms=50]] a b c d e f g h"),
        true,
        Some(notify),
    )
    .unwrap();
    assert!(op.wait_event(Some(Duration::from_secs(5))));
    std::thread::sleep(Duration::from_millis(20));
    c.shutdown_ops();
    let n = calls.lock().unwrap().len();
    assert!(n >= 1);
    assert!(calls.lock().unwrap().iter().all(|t| *t != main));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        calls.lock().unwrap().len(),
        n,
        "no callback after shutdown_ops returned"
    );
    assert_eq!(op.phase(), Phase::Cancelled);
}

#[test]
fn sixty_four_operations_from_eight_threads() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                let ops: Vec<_> = (0..8)
                    .map(|i| {
                        Op::start(
                            &c,
                            chat(&format!("[[emu:chunk-delay-ms=5]] t{t} op{i}")),
                            true,
                            None,
                        )
                        .unwrap()
                    })
                    .collect();
                for (i, op) in ops.iter().enumerate() {
                    assert!(op.wait(Some(Duration::from_secs(30))));
                    let mut text = String::new();
                    while let Some(e) = op.next_event() {
                        if e.kind == EventKind::TextDelta {
                            text.push_str(&e.text);
                        }
                    }
                    assert!(text.ends_with(&format!("t{t} op{i}")), "{text}");
                    assert_eq!(
                        op.take_response().unwrap().choices[0].text.as_deref(),
                        Some(text.as_str())
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn embeddings_float_and_base64() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({"deployment": "text-embedding-3-small"}));
    let mut r = Request::new(Operation::Embedding);
    r.add_input("alpha").unwrap();
    r.add_input("beta").unwrap();
    r.set_dimensions(4).unwrap();
    let a = send(&c, &r).unwrap();
    assert_eq!((a.embeddings.len(), a.embeddings[0].len()), (2, 4));
    r.set_field_json("encoding_format", "\"base64\"").unwrap();
    let b = send(&c, &r).unwrap();
    assert_eq!(a.embeddings, b.embeddings);
}

#[test]
fn a_key_echoed_by_the_service_is_scrubbed_from_the_error() {
    let emu = Emulator::start();
    let c = client_with(
        &emu,
        json!({"api_type": "openai", "endpoint": null, "base_url": format!("{}/v1", emu.base), "api_key": "sk-wrong-key-12345"}),
    );
    emu.script(json!([{"status": 401, "body": {"error": {"message": "Incorrect API key provided: sk-wrong-key-12345.", "type": "invalid_request_error", "code": "invalid_api_key"}}}]));
    let e = send(&c, &chat("x")).unwrap_err();
    assert_eq!(e.status, Status::Authentication);
    assert!(
        !e.message.contains("sk-wrong-key-12345") && e.message.contains("<redacted>"),
        "{}",
        e.message
    );
    assert!(!e.body.unwrap().contains("sk-wrong-key-12345"));
    assert!(!c.describe().contains("sk-wrong-key-12345"));
}

#[test]
fn a_cancelled_stream_keeps_what_it_received() {
    let emu = Emulator::start();
    let c = client_with(&emu, json!({}));
    let op = Op::start(
        &c,
        chat("[[emu:chunk-delay-ms=100]] a b c d e f g h"),
        true,
        None,
    )
    .unwrap();
    let mut text = String::new();
    while text.split(' ').count() < 3 {
        assert!(op.wait_event(Some(Duration::from_secs(5))));
        while let Some(e) = op.next_event() {
            if e.kind == EventKind::TextDelta {
                text.push_str(&e.text);
            }
        }
    }
    op.cancel();
    let t = Instant::now();
    while !op.task_ended() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the worker ends promptly after cancel"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(op.phase(), Phase::Cancelled);
    let partial = op.take_partial_response().unwrap();
    assert_eq!(partial.choices[0].text.as_deref(), Some(text.as_str()));
    assert_eq!(
        op.take_partial_response().unwrap_err().status,
        Status::InvalidState
    );
}

#[test]
fn a_host_correlation_id_is_kept() {
    let emu = Emulator::start();
    let c = client_with(
        &emu,
        json!({"headers": {"x-ms-client-request-id": "host-id-1", "x-team": "games"}}),
    );
    send(&c, &chat("x")).unwrap();
    let rq = &emu.requests()[0];
    assert_eq!(rq["headers"]["x-ms-client-request-id"], "host-id-1");
    assert_eq!(rq["headers"]["x-team"], "games");
}
