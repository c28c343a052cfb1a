//! Fault injection: the emulator's scripted misbehaviour plus a raw TCP server written here
//! (for what an HTTP server would refuse to do) and, when `openssl` exists, a TLS server with a
//! certificate made at test time. Every fault must end in its documented status with a
//! message that names the host, limit or cause, within a bounded time, and retries must follow
//! the policy: connection failures, 408, 409, 429 and 5xx are retried (max_retries + 1
//! attempts, backoff 0.375-8 s or the server's hint), never 400/401/403/404, never after a
//! stream delivered its first event, never past the total deadline.

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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

fn client(endpoint: &str, extra: Value) -> Client {
    let mut cfg = json!({"endpoint": endpoint, "api_key": common::API_KEY, "deployment": "gpt-4o", "environment": false});
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

/// Runs `f` on its own thread and fails the test if it takes longer than `limit`: no fault
/// may hang a call.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("the call did not end within {limit:?}"),
    }
}

/// A blocking call, bounded; returns the result and how long it took.
fn send(c: &Client, r: &Request, limit_s: u64) -> (aoai::Result<aoai::Response>, Duration) {
    let (c, r) = (c.clone(), r.clone());
    within(Duration::from_secs(limit_s), move || {
        let t = Instant::now();
        let res = c.call_blocking(&r, false, &mut |_| true, &CancelToken::new());
        (res, t.elapsed())
    })
}

/// A streaming call, bounded; returns the events, the result and the time.
fn stream(
    c: &Client,
    r: &Request,
    limit_s: u64,
) -> (Vec<Event>, aoai::Result<aoai::Response>, Duration) {
    let (c, r) = (c.clone(), r.clone());
    within(Duration::from_secs(limit_s), move || {
        let t = Instant::now();
        let mut evs = Vec::new();
        let res = c.call_blocking(
            &r,
            true,
            &mut |e| {
                evs.push(e);
                true
            },
            &CancelToken::new(),
        );
        (evs, res, t.elapsed())
    })
}

#[track_caller]
fn expect_err(res: aoai::Result<aoai::Response>, status: Status, needles: &[&str]) -> aoai::Error {
    let e = match res {
        Ok(r) => panic!("expected {status:?}, got a response: {}", r.raw),
        Err(e) => e,
    };
    assert_eq!(e.status, status, "{}", e.message);
    for n in needles {
        assert!(
            e.message.to_lowercase().contains(&n.to_lowercase()),
            "message {:?} should mention {n:?}",
            e.message
        );
    }
    e
}

fn api_requests(emu: &Emulator) -> usize {
    emu.requests().as_array().unwrap().len()
}

fn text_of(evs: &[Event]) -> String {
    evs.iter()
        .filter(|e| e.kind == EventKind::TextDelta)
        .map(|e| e.text.as_str())
        .collect()
}

/// A raw TCP server: every connection goes to `handler` (with its 1-based number) on its own
/// thread. Handlers end by themselves (bounded loops, or when the client goes away).
struct Raw {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Raw {
    fn start(handler: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> Raw {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = Arc::new(handler);
        let hits2 = hits.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { break };
                let n = hits2.fetch_add(1, Ordering::SeqCst) + 1;
                let h = h.clone();
                std::thread::spawn(move || h(conn, n));
            }
        });
        Raw { port, hits }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and Content-Length body) so the client sees its request consumed.
fn read_request(s: &mut TcpStream) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut head = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(head)
}

/// Closes with an RST instead of a FIN.
fn reset(s: TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(s);
}

const OK_BODY: &str = r#"{"id":"chatcmpl-raw","object":"chat.completion","created":1733358923,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"raw ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;

// ---------------------------------------------------------------------------------------------
// Connection faults

#[test]
fn reset_before_the_response_is_retried_then_reported() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({}));
    let (res, _) = send(&c, &chat("[[emu:reset=before]] x"), 20);
    let e = expect_err(res, Status::Connection, &[&emu.addr()]);
    assert_eq!(e.attempts, 3, "max_retries 2 → 3 attempts");
    assert_eq!(api_requests(&emu), 3);
    // Raw server: RST right after reading the request, then a good answer.
    let raw = Raw::start(|mut s, n| {
        read_request(&mut s);
        if n == 1 {
            reset(s);
        } else {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{OK_BODY}",
                OK_BODY.len()
            );
        }
    });
    let c = client(&raw.base(), json!({}));
    let (res, _) = send(&c, &chat("x"), 20);
    let r = res.unwrap();
    assert_eq!((r.attempts, raw.hits()), (2, 2));
    assert_eq!(r.choices[0].text.as_deref(), Some("raw ok"));
}

#[test]
fn reset_during_the_body_and_truncated_bodies() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({"max_retries": 1}));
    let (res, _) = send(&c, &chat("[[emu:reset=body]] a b c d e f g h"), 20);
    let e = expect_err(res, Status::Connection, &["broke off", &emu.addr()]);
    assert_eq!((e.attempts, api_requests(&emu)), (2, 2));
    // Content-Length promises more than arrives, then FIN: a connection error (retried),
    // never a silently short body.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
            OK_BODY.len(),
            &OK_BODY[..OK_BODY.len() / 2]
        );
    });
    let c = client(&raw.base(), json!({"max_retries": 1}));
    let (res, _) = send(&c, &chat("x"), 20);
    let e = expect_err(res, Status::Connection, &[&raw.host()]);
    assert_eq!((e.attempts, raw.hits()), (2, 2));
    // A complete but truncated JSON text: a parse error, not retried.
    let emu_c = client(&emu.base, json!({}));
    emu.clear_requests();
    let (res, _) = send(&emu_c, &chat("[[emu:garbage=1]]"), 20);
    let e = expect_err(
        res,
        Status::ResponseParse,
        &["not valid JSON", "{\"choices\""],
    );
    assert_eq!((e.attempts, api_requests(&emu)), (1, 1));
    assert_eq!(e.http_status, 200);
    assert!(e.body.is_some() && e.request_id.is_some());
}

#[test]
fn reset_mid_stream_is_never_retried_after_the_first_event() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({"max_retries": 3}));
    let (evs, res, _) = stream(
        &c,
        &chat("[[emu:reset-after=4]] one two three four five six"),
        20,
    );
    let e = res.unwrap_err();
    assert!(
        matches!(e.status, Status::Connection | Status::Stream),
        "{:?} {}",
        e.status,
        e.message
    );
    assert!(e.message.contains("broke off"), "{}", e.message);
    assert!(!evs.is_empty());
    assert_eq!(
        (e.attempts, api_requests(&emu)),
        (1, 1),
        "a stream that delivered events is not retried"
    );
    let partial = e.partial.expect("partial response");
    assert_eq!(
        partial.choices[0].text.clone().unwrap_or_default(),
        text_of(&evs)
    );
    // An in-band error after events: not retried either.
    emu.clear_requests();
    let (evs, res, _) = stream(&c, &chat("[[emu:error-after=3]] a b c d e"), 20);
    let e = expect_err(res, Status::Stream, &["server_error"]);
    assert!(!evs.is_empty());
    assert_eq!((e.attempts, api_requests(&emu)), (1, 1));
    // A reset before the first event may be retried (nothing reached the caller).
    emu.clear_requests();
    emu.script(json!([{"reset": "before"}, {"reset": "before"}]));
    let (evs, res, _) = stream(&c, &chat("recovered stream"), 20);
    let r = res.unwrap();
    assert_eq!(r.attempts, 3);
    assert!(text_of(&evs).ends_with("recovered stream"));
    assert_eq!(api_requests(&emu), 3);
    // A stream that ends early without [DONE] or a finish is an error, not a short success.
    let (_, res, _) = stream(&c, &chat("[[emu:no-finish=1]] a b"), 20);
    expect_err(res, Status::Stream, &["[DONE]"]);
}

#[test]
fn refused_connection_names_host_and_port() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(
        &format!("http://127.0.0.1:{port}"),
        json!({"max_retries": 1}),
    );
    let (res, t) = send(&c, &chat("x"), 20);
    let e = expect_err(
        res,
        Status::Connection,
        &["could not connect", &format!("127.0.0.1:{port}")],
    );
    assert_eq!(e.attempts, 2);
    assert!(t >= Duration::from_millis(370), "one backoff wait: {t:?}");
    assert!(t < Duration::from_secs(5), "{t:?}");
}

#[test]
fn unresolvable_host_fails_fast_with_could_not_resolve() {
    let c = client(
        "https://aoai-fault-test.invalid",
        json!({"max_retries": 0, "connect_timeout_ms": 5000}),
    );
    let (res, t) = send(&c, &chat("x"), 20);
    let e = expect_err(
        res,
        Status::Connection,
        &["could not resolve", "aoai-fault-test.invalid"],
    );
    assert_eq!(e.attempts, 1);
    eprintln!("unresolvable host: {t:?}: {}", e.message);
}

// ---------------------------------------------------------------------------------------------
// Bodies that are not what the API returns

#[test]
fn html_and_wrong_content_types_are_parse_errors_with_a_snippet() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({}));
    // A proxy's 200 error page.
    emu.script(json!({"status": 200, "headers": {"content-type": "text/html; charset=utf-8"},
                      "body": "<html><body><h1>Proxy Error</h1>upstream unavailable</body></html>"}));
    let (res, _) = send(&c, &chat("x"), 20);
    let e = expect_err(
        res,
        Status::ResponseParse,
        &["text/html", "Proxy Error", &emu.addr()],
    );
    assert_eq!((e.http_status, e.attempts), (200, 1));
    // JSON under a wrong content type is refused too (it is not the API talking).
    emu.script(json!({"status": 200, "headers": {"content-type": "text/plain"}, "body": OK_BODY}));
    let (res, _) = send(&c, &chat("x"), 20);
    expect_err(
        res,
        Status::ResponseParse,
        &["text/plain", "instead of JSON"],
    );
    emu.script(json!({"status": 200, "headers": {"content-type": "application/octet-stream"}, "body": "\u{1}\u{2}binary"}));
    let (res, _) = send(&c, &chat("x"), 20);
    expect_err(res, Status::ResponseParse, &["application/octet-stream"]);
    // JSON that is not an object, and an empty body.
    emu.script(json!({"status": 200, "body": "[1,2,3]"}));
    let (res, _) = send(&c, &chat("x"), 20);
    expect_err(res, Status::ResponseParse, &["not an object"]);
    emu.script(json!({"status": 200, "headers": {"content-type": "application/json"}, "body": ""}));
    let (res, _) = send(&c, &chat("x"), 20);
    expect_err(res, Status::ResponseParse, &["not valid JSON"]);
    // A stream request answered with an HTML page under text/event-stream.
    emu.script(
        json!({"status": 200, "headers": {"content-type": "text/event-stream"},
                      "body": "<html>gateway</html>"}),
    );
    let (_, res, _) = stream(&c, &chat("x"), 20);
    expect_err(res, Status::Stream, &[]);
    // An error status with an HTML body keeps the status and quotes the page.
    let (res, _) = send(&c, &chat("[[emu:status=502;body=html]] x"), 30);
    let e = expect_err(res, Status::Server, &["502", "text/html"]);
    assert_eq!(e.attempts, 3);
    // A body that is not UTF-8.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        let body = b"{\"choices\":[{\"message\":{\"content\":\"\xff\xfe\"}}]}";
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(body);
    });
    let c = client(&raw.base(), json!({}));
    let (res, _) = send(&c, &chat("x"), 20);
    expect_err(res, Status::ResponseParse, &["not UTF-8"]);
}

#[test]
fn endless_bodies_stop_at_max_response_bytes() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({"max_response_bytes": 65536}));
    let (res, t) = send(&c, &chat("[[emu:endless=1]] x"), 20);
    let e = expect_err(
        res,
        Status::ResponseTooLarge,
        &["max_response_bytes", "65536"],
    );
    assert_eq!(e.attempts, 1, "not retried");
    assert!(t < Duration::from_secs(5), "{t:?}");
    emu.wait_stats(|s| s["connections_open"].as_u64() <= Some(1));
    // The same through a stream request (the endless body is JSON, not SSE).
    let (_, res, _) = stream(&c, &chat("[[emu:endless=1]] y"), 20);
    expect_err(res, Status::ResponseTooLarge, &["max_response_bytes"]);
    // A declared length above the limit is refused from the head alone.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1099511627776\r\n\r\n{{"
        );
        std::thread::sleep(Duration::from_secs(2));
    });
    let rc = client(&raw.base(), json!({"max_response_bytes": 65536}));
    let (res, t) = send(&rc, &chat("x"), 20);
    expect_err(res, Status::ResponseTooLarge, &["1099511627776"]);
    assert!(t < Duration::from_secs(2), "{t:?}");
    // An endless SSE stream of comments (no event ever completes) is bounded too.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        if write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        .is_err()
        {
            return;
        }
        let chunk = format!(": {}\n", "x".repeat(4000));
        for _ in 0..10_000 {
            if write!(s, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
                return;
            }
        }
    });
    let rc = client(&raw.base(), json!({"max_response_bytes": 65536}));
    let (_, res, t) = stream(&rc, &chat("x"), 20);
    expect_err(res, Status::ResponseTooLarge, &["max_response_bytes"]);
    assert!(t < Duration::from_secs(5), "{t:?}");
    // An endless single SSE line (no newline ever) is bounded as well.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let chunk = "y".repeat(8000);
        let _ = write!(s, "6\r\ndata: \r\n");
        for _ in 0..10_000 {
            if write!(s, "{:x}\r\n{chunk}\r\n", chunk.len()).is_err() {
                return;
            }
        }
    });
    let rc = client(&raw.base(), json!({"max_response_bytes": 65536}));
    let (_, res, _) = stream(&rc, &chat("x"), 20);
    expect_err(res, Status::ResponseTooLarge, &["max_response_bytes"]);
}

// ---------------------------------------------------------------------------------------------
// Slow servers and deadlines

#[test]
fn a_byte_every_few_seconds_hits_the_idle_limit() {
    // The head arrives at once; then the body trickles one byte every 2 s.
    let raw = Raw::start(|mut s, _| {
        read_request(&mut s);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            OK_BODY.len()
        );
        for b in OK_BODY.bytes().take(15) {
            if s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    let c = client(
        &raw.base(),
        json!({"idle_timeout_ms": 500, "max_retries": 0}),
    );
    let (res, t) = send(&c, &chat("x"), 20);
    expect_err(res, Status::Timeout, &["idle_timeout_ms", "500 ms"]);
    assert!(t < Duration::from_secs(3), "{t:?}");
    // Streams: the emulator trickles a whole stream byte by byte, and stalls after events.
    let emu = Emulator::start();
    let c = client(
        &emu.base,
        json!({"idle_timeout_ms": 400, "max_retries": 0, "first_byte_timeout_ms": 10000}),
    );
    let (_, res, t) = stream(&c, &chat("[[emu:stall-after=2]] a b c d"), 20);
    expect_err(res, Status::Timeout, &["idle_timeout_ms", "400 ms"]);
    assert!(t < Duration::from_secs(4), "{t:?}");
    // While the response head itself trickles, the first-byte limit applies (the idle limit
    // is about gaps in the body) ...
    let c = client(
        &emu.base,
        json!({"idle_timeout_ms": 400, "first_byte_timeout_ms": 700, "max_retries": 0}),
    );
    let (res, t) = send(&c, &chat("[[emu:trickle-ms=2000]] x"), 20);
    expect_err(res, Status::Timeout, &["first_byte_timeout_ms", "700 ms"]);
    assert!(t < Duration::from_secs(3), "{t:?}");
    // ... and without one the total limit does.
    let c = client(
        &emu.base,
        json!({"idle_timeout_ms": 400, "total_timeout_ms": 1500, "max_retries": 0}),
    );
    let (res, t) = send(&c, &chat("[[emu:trickle-ms=2000]] x"), 20);
    expect_err(res, Status::Timeout, &["total_timeout_ms", "1500 ms"]);
    assert!(t < Duration::from_secs(4), "{t:?}");
    // Every abandoned connection was closed by the client.
    let s = emu.wait_stats(|s| s["connections_open"].as_u64() <= Some(1));
    assert!(s["connections_open"].as_u64() <= Some(1), "{s}");
}

#[test]
fn the_total_deadline_bounds_all_attempts() {
    let emu = Emulator::start();
    // A server that always asks to come back in 1 s; 20 retries allowed; 2.5 s in total.
    let c = client(
        &emu.base,
        json!({"max_retries": 20, "total_timeout_ms": 2500}),
    );
    let (res, t) = send(
        &c,
        &chat("[[emu:status=503;retry-after=0;retry-after-ms=1000]] x"),
        20,
    );
    let e = expect_err(res, Status::Server, &["total time limit", "2500 ms"]);
    assert!((2..=3).contains(&e.attempts), "attempts {}", e.attempts);
    assert!(t < Duration::from_millis(2600), "{t:?}");
    assert_eq!(api_requests(&emu) as u32, e.attempts);
    // A server that never answers: the deadline cuts the attempt itself.
    let c = client(
        &emu.base,
        json!({"max_retries": 5, "total_timeout_ms": 800}),
    );
    let (res, t) = send(&c, &chat("[[emu:delay-ms=10000]] x"), 20);
    expect_err(res, Status::Timeout, &["total_timeout_ms", "800 ms"]);
    assert!(t < Duration::from_secs(3), "{t:?}");
    // A per-request total overrides the client's.
    let mut r = chat("[[emu:delay-ms=10000]] y");
    r.total_timeout_ms = Some(300);
    let (res, t) = send(&c, &r, 20);
    expect_err(res, Status::Timeout, &["300 ms"]);
    assert!(t < Duration::from_secs(2), "{t:?}");
}

// ---------------------------------------------------------------------------------------------
// Status codes and retry hints

#[test]
fn a_429_storm_without_retry_after_uses_the_backoff_schedule() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({}));
    let (res, t) = send(&c, &chat("[[emu:status=429;retry-after=none]] x"), 30);
    let e = expect_err(res, Status::RateLimited, &["429", &emu.addr()]);
    assert_eq!(e.attempts, 3);
    assert_eq!(e.retry_after_ms, None);
    assert_eq!(api_requests(&emu), 3);
    // Waits of 0.375-0.5 s then 0.75-1 s (openai-python's schedule with 25 % jitter).
    assert!(t >= Duration::from_millis(1100), "{t:?}");
    assert!(t < Duration::from_millis(4000), "{t:?}");
    eprintln!("429 storm, backoff only: {t:?}");
    // More retries: the schedule doubles up to 8 s (checked on the schedule itself).
    for n in 0..12 {
        let b = aoai::client::backoff(n);
        let cap = (0.5 * 2f64.powi(n as i32)).min(8.0);
        assert!(
            b.as_secs_f64() <= cap && b.as_secs_f64() >= cap * 0.75,
            "backoff({n}) = {b:?}"
        );
    }
}

#[test]
fn a_429_storm_with_retry_after_honours_every_hint_form() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({"max_retries": 2}));
    // Retry-After in seconds.
    let (res, t) = send(&c, &chat("[[emu:status=429;retry-after=1]] x"), 30);
    let e = expect_err(res, Status::RateLimited, &["429"]);
    assert_eq!((e.attempts, e.retry_after_ms), (3, Some(1000)));
    assert!(t >= Duration::from_millis(2000), "{t:?}");
    assert!(t < Duration::from_secs(5), "{t:?}");
    assert!(e.header("x-ratelimit-remaining-requests").is_some());
    // retry-after-ms wins over Retry-After; x-ms-retry-after-ms works alone.
    let (res, t) = send(
        &c,
        &chat("[[emu:status=429;retry-after=30;retry-after-ms=50]] y"),
        30,
    );
    let e = expect_err(res, Status::RateLimited, &[]);
    assert_eq!((e.attempts, e.retry_after_ms), (3, Some(50)));
    assert!(t < Duration::from_secs(2), "{t:?}");
    emu.script(json!([
        {"status": 429, "headers": {"x-ms-retry-after-ms": "20"}},
        {"status": 429, "headers": {"x-ms-retry-after-ms": "20"}}
    ]));
    let (res, _) = send(&c, &chat("third time lucky"), 30);
    assert_eq!(res.unwrap().attempts, 3);
    // Retry-After as an HTTP date in the past: retry at once.
    emu.script(json!({"status": 429, "headers": {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}}));
    let (res, t) = send(&c, &chat("dated"), 30);
    assert_eq!(res.unwrap().attempts, 2);
    assert!(t < Duration::from_secs(1), "{t:?}");
    // Beyond the cap (default 60 s): fail at once, with the wait in the message.
    let (res, t) = send(&c, &chat("[[emu:status=429;retry-after=86400]] z"), 30);
    let e = expect_err(res, Status::RateLimited, &["86400", "max_retry_after_ms"]);
    assert_eq!((e.attempts, e.retry_after_ms), (1, Some(86_400_000)));
    assert!(t < Duration::from_secs(2), "{t:?}");
    // Junk hints fall back to the backoff schedule.
    for junk in ["-5", "NaN", "soon", "", "Thu, 99 Foo 2015 99:99:99 GMT"] {
        emu.script(json!({"status": 429, "headers": {"retry-after": junk}}));
        let (res, t) = send(&c, &chat("junk hint"), 30);
        let r = res.unwrap_or_else(|e| panic!("hint {junk:?}: {}", e.message));
        assert_eq!(r.attempts, 2, "hint {junk:?}");
        assert!(t < Duration::from_secs(3), "hint {junk:?}: {t:?}");
    }
    // Huge hints in milliseconds or as a far date are above the cap: no panic, no wait.
    for (h, v) in [
        ("retry-after", "1e30"),
        ("retry-after", "18446744073709551616"),
        ("retry-after", "inf"),
        ("retry-after-ms", "1e30"),
        ("retry-after-ms", "18446744073709551616"),
        ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ] {
        emu.script(json!({"status": 429, "headers": {h: v}}));
        let (res, t) = send(&c, &chat("huge hint"), 30);
        let e = expect_err(res, Status::RateLimited, &["max_retry_after_ms"]);
        assert_eq!(e.attempts, 1, "{h}: {v}");
        assert!(t < Duration::from_secs(2), "{t:?}");
    }
    // More retries: exactly max_retries + 1 attempts.
    let c = client(&emu.base, json!({"max_retries": 5}));
    emu.clear_requests();
    let (res, _) = send(
        &c,
        &chat("[[emu:status=429;retry-after=0;retry-after-ms=10]] w"),
        30,
    );
    let e = expect_err(res, Status::RateLimited, &[]);
    assert_eq!((e.attempts, api_requests(&emu)), (6, 6));
}

/// A `Retry-After` in seconds too large for a Duration (1e30) must not panic (bug B1, fixed
/// in service_error::retry_after): before the fix a blocking call came back as PANIC and an
/// operation's worker task died, leaving the operation PENDING forever.
#[test]
fn a_retry_after_too_large_for_a_duration_does_not_panic() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({}));
    for v in ["1e30", "1e20", "18446744073709551616"] {
        emu.script(json!({"status": 429, "headers": {"retry-after": v}}));
        let (c2, r) = (c.clone(), chat("x"));
        let res = within(Duration::from_secs(10), move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                c2.call_blocking(&r, false, &mut |_| true, &CancelToken::new())
            }))
        });
        let res = res.unwrap_or_else(|_| panic!("Retry-After: {v} panicked"));
        let e = expect_err(res, Status::RateLimited, &["max_retry_after_ms"]);
        assert_eq!(e.attempts, 1);
        emu.script(json!({"status": 429, "headers": {"retry-after": v}}));
        let op = Op::start(&c, chat("y"), false, None).unwrap();
        assert!(
            op.wait(Some(Duration::from_secs(5))),
            "Retry-After: {v}: the operation never ended"
        );
        assert_eq!(op.phase(), Phase::Failed);
    }
}

#[test]
fn five_hundreds_then_success_and_what_is_never_retried() {
    let emu = Emulator::start();
    let c = client(&emu.base, json!({}));
    let (res, _) = send(
        &c,
        &chat("[[emu:status=503;times=2;retry-after-ms=20]] fine"),
        30,
    );
    let r = res.unwrap();
    assert_eq!(r.attempts, 3);
    assert!(r.choices[0].text.as_deref().unwrap().ends_with("fine"));
    assert_eq!(api_requests(&emu), 3);
    // Retried: 408, 409, 429, 500, 502, 503, 504.
    for st in [408, 409, 429, 500, 502, 503, 504] {
        emu.clear_requests();
        let d = format!("[[emu:status={st};times=1;retry-after=0;retry-after-ms=5]] retried {st}");
        let (res, _) = send(&c, &chat(&d), 30);
        let r = res.unwrap_or_else(|e| panic!("{st}: {}", e.message));
        assert_eq!((r.attempts, api_requests(&emu)), (2, 2), "status {st}");
    }
    // Never retried: 400, 401, 403, 404, 422, and a content filter.
    for (st, want) in [
        (400, Status::BadRequest),
        (401, Status::Authentication),
        (403, Status::PermissionDenied),
        (404, Status::NotFound),
        (422, Status::BadRequest),
    ] {
        emu.clear_requests();
        let (res, _) = send(&c, &chat(&format!("[[emu:status={st}]] x")), 30);
        let e = expect_err(res, want, &[&st.to_string(), &emu.addr()]);
        assert_eq!((e.attempts, api_requests(&emu)), (1, 1), "status {st}");
    }
    emu.clear_requests();
    let (res, _) = send(&c, &chat("[[emu:status=400;code=content_filter]] x"), 30);
    let e = expect_err(res, Status::ContentFiltered, &["content_filter"]);
    assert_eq!(e.filtered_categories, vec!["violence"]);
    assert_eq!(api_requests(&emu), 1);
    // The server's x-should-retry wins both ways.
    emu.clear_requests();
    emu.script(json!({"status": 503, "headers": {"x-should-retry": "false"}}));
    let (res, _) = send(&c, &chat("x"), 30);
    assert_eq!(expect_err(res, Status::Server, &[]).attempts, 1);
    emu.script(
        json!({"status": 400, "headers": {"x-should-retry": "true", "retry-after-ms": "5"}}),
    );
    let (res, _) = send(&c, &chat("should retry"), 30);
    assert_eq!(res.unwrap().attempts, 2);
    // Operations retry the same way and report attempts.
    emu.clear_requests();
    let op = Op::start(
        &c,
        chat("[[emu:status=500;times=1;retry-after-ms=5]] op"),
        false,
        None,
    )
    .unwrap();
    assert!(op.wait(Some(Duration::from_secs(20))));
    assert_eq!(op.take_response().unwrap().attempts, 2);
}

// ---------------------------------------------------------------------------------------------
// TLS

struct Openssl {
    child: Child,
    port: u16,
    _dir: TempDir,
    /// The test CA that signed the server's certificate.
    ca: String,
}

impl Drop for Openssl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl s_server` with a self-signed certificate for localhost made now; None (with the
/// reason printed) when openssl is not installed.
fn tls_server() -> Option<Openssl> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIP: openssl is not installed: the untrusted-certificate test needs it");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("aoai-faults-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A test CA and a server certificate for localhost / 127.0.0.1 signed by it.
    let ext = dir.join("leaf.ext");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        &["req", "-x509", "-days", "1", "-subj", "/CN=aoai-test-ca"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
    ]
    .concat());
    run(&[
        &["req", "-subj", "/CN=localhost"][..],
        &ec,
        &["-keyout", "key.pem", "-out", "leaf.csr"],
    ]
    .concat());
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(port.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Openssl {
        child,
        port,
        ca: dir.join("ca.pem").to_string_lossy().into_owned(),
        _dir: TempDir(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

#[test]
fn tls_with_an_untrusted_certificate_fails_fast_and_clearly() {
    let Some(srv) = tls_server() else { return };
    for host in ["localhost", "127.0.0.1"] {
        let c = client(&format!("https://{host}:{}", srv.port), json!({}));
        let (res, t) = send(&c, &chat("x"), 20);
        let e = expect_err(res, Status::Tls, &["TLS", &format!("{host}:{}", srv.port)]);
        let m = e.message.to_lowercase();
        assert!(
            m.contains("certificate") && m.contains("unknownissuer"),
            "{}",
            e.message
        );
        assert_eq!(e.attempts, 1, "a TLS failure is not retried");
        assert!(t < Duration::from_secs(5), "{t:?}");
        eprintln!("untrusted certificate: {t:?}: {}", e.message);
    }
    // Trusting the certificate with ca_file gets past the handshake (s_server is no API: the
    // answer is whatever it says, but not a TLS error).
    let c = client(
        &format!("https://localhost:{}", srv.port),
        json!({"ca_file": srv.ca, "max_retries": 0, "total_timeout_ms": 5000}),
    );
    let (res, _) = send(&c, &chat("x"), 20);
    if let Err(e) = res {
        assert_ne!(e.status, Status::Tls, "{}", e.message);
    }
    // A plain-HTTP server on an https:// endpoint is a TLS failure, fast.
    let raw = Raw::start(|mut s, _| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let c = client(&format!("https://127.0.0.1:{}", raw.port), json!({}));
    let (res, t) = send(&c, &chat("x"), 20);
    let e = res.unwrap_err();
    assert!(
        matches!(e.status, Status::Tls | Status::Connection),
        "{:?}: {}",
        e.status,
        e.message
    );
    assert!(t < Duration::from_secs(5), "{t:?}");
}

/// Hostile `Retry-After` dates: the parser's arithmetic must not overflow (debug builds, which
/// the C tests and these tests use, panic on overflow).
#[test]
fn hostile_retry_after_dates_do_not_overflow() {
    for d in [
        "Wed, 21 Oct 999999999999999999 07:28:00 GMT",
        "Wed, 21 Oct -999999999999999999 07:28:00 GMT",
        "Wed, 21 Oct 2015 99999999999999:00:00 GMT",
        "Wed, 9223372036854775807 Oct 2015 07:28:00 GMT",
        "Wed, -9223372036854775808 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:-9223372036854775808 GMT",
    ] {
        let r = std::panic::catch_unwind(|| {
            aoai::service_error::retry_after(&[("retry-after".to_string(), d.to_string())])
        });
        assert!(r.is_ok(), "Retry-After: {d} panicked");
    }
}
