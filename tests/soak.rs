//! Soak and concurrency runs through the C ABI against the emulator. Ignored by default (they
//! take minutes); `tests/soak/run.sh` runs them in release mode, one at a time:
//!
//! ```sh
//! cargo test --release --test soak -- --ignored --nocapture --test-threads=1
//! SOAK_REQUESTS=100000 SOAK_THREADS=16 tests/soak/run.sh
//! ```
//!
//! They print figures (resident memory at start, peak and end from /proc/self/status,
//! requests/s, failures) and assert only on correctness: every answer right, exactly one
//! terminal state per operation, no crash, no hang (bounded waits), and resident memory at
//! the end within a generous factor of the level after warm-up. They never assert on time.

#![allow(clippy::missing_safety_doc)]

mod common;

use aoai::Status;
use aoai::ffi::call::*;
use aoai::ffi::client::*;
use aoai::ffi::error::*;
use aoai::ffi::event::*;
use aoai::ffi::op::*;
use aoai::ffi::request::*;
use aoai::ffi::response::*;
use common::Emulator;
use std::ffi::{CStr, CString, c_void};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (VmRSS, VmHWM) in KiB.
fn rss_kib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Samples VmRSS every 50 ms until dropped; `peak()` is the highest sample.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        // Reset the kernel's peak (VmHWM) so it covers this run only (best effort).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib().0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib().0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssSampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(rss_kib().1)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_msg() -> String {
    unsafe { CStr::from_ptr(aoai_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[track_caller]
fn ok(st: Status) {
    assert_eq!(st, Status::Ok, "{}", last_msg());
}

/// A client of the emulator (environment ignored), shareable across threads by address.
fn client(emu: &Emulator, max_retries: u32) -> *mut AoaiClient {
    unsafe {
        let mut o = null_mut();
        ok(aoai_options_new(&mut o));
        ok(aoai_options_set_use_environment(o, 0));
        ok(aoai_options_set_endpoint(o, cs(&emu.base).as_ptr()));
        ok(aoai_options_set_api_key(o, cs(common::API_KEY).as_ptr()));
        ok(aoai_options_set_deployment(o, c"gpt-4o".as_ptr()));
        ok(aoai_options_set_max_retries(o, max_retries));
        let mut c = null_mut();
        ok(aoai_client_new(o, &mut c));
        aoai_options_free(o);
        c
    }
}

fn chat_req(prompt: &str) -> *mut AoaiRequest {
    unsafe {
        let mut r = null_mut();
        ok(aoai_chat_request_new(&mut r));
        ok(aoai_request_add_message(
            r,
            AOAI_ROLE_USER,
            cs(prompt).as_ptr(),
        ));
        r
    }
}

fn resp_text(resp: *const AoaiResponse) -> String {
    let p = unsafe { aoai_response_text(resp, 0, null_mut()) };
    if p.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

const EXPECT_PREFIX: &str = "Hello from the aoai emulator! You said: ";

/// One blocking request through aoai_client_send; true when the answer is right.
fn one_request(client: *const AoaiClient, tag: &str) -> Result<(), String> {
    let req = chat_req(tag);
    let mut resp = null_mut();
    let st = unsafe { aoai_client_send(client, req, &mut resp) };
    unsafe { aoai_request_free(req) };
    if st != Status::Ok {
        return Err(format!("{st:?}: {}", last_msg()));
    }
    let t = resp_text(resp);
    let total = unsafe { aoai_response_usage(resp, AOAI_USAGE_TOTAL_TOKENS) };
    unsafe { aoai_response_free(resp) };
    if t != format!("{EXPECT_PREFIX}{tag}") || total <= 0 {
        return Err(format!(
            "wrong answer for {tag}: {t:?} (total tokens {total})"
        ));
    }
    Ok(())
}

#[test]
#[ignore = "soak: run with tests/soak/run.sh"]
fn soak_requests_from_many_threads() {
    let n = env_usize("SOAK_REQUESTS", 100_000);
    let threads = env_usize("SOAK_THREADS", 16).max(1);
    let emu = Emulator::start();
    let c = client(&emu, 2);
    let addr = c as usize;
    // Warm-up: the runtime, the connection pool, allocator arenas of every thread.
    let warm = (threads * 50).min(n / 10).max(threads);
    let run = |count: usize, label: &'static str| {
        let failures = Arc::new(AtomicUsize::new(0));
        let first_failure = Arc::new(std::sync::Mutex::new(None::<String>));
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (failures, first, next) =
                    (failures.clone(), first_failure.clone(), next.clone());
                std::thread::spawn(move || {
                    let c = addr as *const AoaiClient;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        if let Err(e) = one_request(c, &format!("{label} t{t} #{i}")) {
                            failures.fetch_add(1, Ordering::Relaxed);
                            first.lock().unwrap().get_or_insert(e);
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().expect("a soak thread panicked");
        }
        let dt = t0.elapsed();
        let f = failures.load(Ordering::Relaxed);
        (dt, f, first_failure.lock().unwrap().clone())
    };
    let (rss0, _) = rss_kib();
    let (dt_w, f_w, e_w) = run(warm, "warm");
    assert_eq!(f_w, 0, "warm-up failures: {e_w:?}");
    let sampler = RssSampler::start();
    let (rss_start, _) = rss_kib();
    let (dt, failures, first) = run(n, "soak");
    let peak = sampler.peak();
    drop(sampler);
    let (rss_end, _) = rss_kib();
    println!(
        "soak: {n} requests from {threads} threads in {:.1} s = {:.0} requests/s; failures: {failures}",
        dt.as_secs_f64(),
        n as f64 / dt.as_secs_f64()
    );
    println!(
        "soak: warm-up {warm} requests in {:.1} s; RSS before warm-up {}, start {}, peak {}, end {}",
        dt_w.as_secs_f64(),
        mib(rss0),
        mib(rss_start),
        mib(peak),
        mib(rss_end)
    );
    unsafe { aoai_client_free(c) };
    let (rss_freed, _) = rss_kib();
    println!("soak: RSS after aoai_client_free {}", mib(rss_freed));
    assert_eq!(failures, 0, "first failure: {first:?}");
    assert!(
        rss_end <= rss_start * 2 + 32 * 1024,
        "resident memory grew from {} to {}",
        mib(rss_start),
        mib(rss_end)
    );
}

/// Everything about one started operation, checked once it ended.
fn check_op_done(op: *mut AoaiOp, tag: &str, stream: bool) -> Result<(), String> {
    unsafe {
        let mut st = -1;
        ok(aoai_op_poll(op, &mut st));
        if st != AOAI_OP_DONE {
            let e = aoai_op_error(op);
            let msg = CStr::from_ptr(aoai_error_message(e, null_mut())).to_string_lossy();
            return Err(format!("{tag}: state {st}: {msg}"));
        }
        let mut text = String::new();
        loop {
            let mut ev = null_mut();
            if aoai_op_next_event(op, &mut ev) != Status::Ok {
                break;
            }
            if aoai_event_kind(ev) == AOAI_EVENT_TEXT_DELTA {
                let mut len = 0usize;
                let p = aoai_event_text(ev, &mut len);
                let b = std::slice::from_raw_parts(p as *const u8, len);
                text.push_str(std::str::from_utf8(b).unwrap());
            }
            aoai_event_free(ev);
        }
        let mut resp = null_mut();
        ok(aoai_op_take_response(op, &mut resp));
        let whole = resp_text(resp);
        aoai_response_free(resp);
        let want = format!("{EXPECT_PREFIX}{tag}");
        if whole != want || (stream && text != want) || (!stream && !text.is_empty()) {
            return Err(format!("{tag}: events {text:?}, response {whole:?}"));
        }
        Ok(())
    }
}

unsafe extern "C" fn count_notify(ud: *mut c_void, _op: *mut AoaiOp) {
    unsafe { &*(ud as *const AtomicUsize) }.fetch_add(1, Ordering::Relaxed);
}

#[test]
#[ignore = "soak: run with tests/soak/run.sh"]
fn soak_a_thousand_operations_in_flight() {
    let n = env_usize("SOAK_OPS", 1000);
    let rounds = env_usize("SOAK_OP_ROUNDS", 3);
    let emu = Emulator::start();
    let c = client(&emu, 2);
    let notified = AtomicUsize::new(0);
    let sampler = RssSampler::start();
    let (rss_start, _) = rss_kib();
    for round in 0..rounds {
        let t0 = Instant::now();
        // Every answer is held back 300 ms, so all of them are in flight together.
        let ops: Vec<(*mut AoaiOp, String)> = (0..n)
            .map(|i| {
                let tag = format!("r{round} op{i}");
                let req = chat_req(&format!("[[emu:delay-ms=300;chunk-delay-ms=2]] {tag}"));
                let mut op = null_mut();
                ok(unsafe {
                    aoai_client_start(
                        c,
                        req,
                        AOAI_START_STREAM,
                        Some(count_notify),
                        &notified as *const AtomicUsize as *mut c_void,
                        &mut op,
                    )
                });
                unsafe { aoai_request_free(req) };
                (op, tag)
            })
            .collect();
        let started = t0.elapsed();
        let pending = ops
            .iter()
            .filter(|(op, _)| {
                let mut st = -1;
                ok(unsafe { aoai_op_poll(*op, &mut st) });
                st == AOAI_OP_PENDING
            })
            .count();
        let mut failures = Vec::new();
        for (op, tag) in &ops {
            ok(unsafe { aoai_op_wait(*op, 120_000) });
            if let Err(e) = check_op_done(*op, tag, true) {
                failures.push(e);
            }
        }
        let dt = t0.elapsed();
        for (op, _) in ops {
            unsafe { aoai_op_free(op) };
        }
        println!(
            "in flight: round {round}: {n} operations started in {:.0} ms ({pending} still pending after the last start), all ended in {:.2} s; failures: {}; RSS {} (peak so far {})",
            started.as_secs_f64() * 1000.0,
            dt.as_secs_f64(),
            failures.len(),
            mib(rss_kib().0),
            mib(sampler.peak())
        );
        assert!(
            failures.is_empty(),
            "{} failures, first: {}",
            failures.len(),
            failures[0]
        );
    }
    let peak = sampler.peak();
    drop(sampler);
    unsafe { aoai_client_free(c) };
    let (rss_end, _) = rss_kib();
    println!(
        "in flight: RSS start {}, peak {}, end {}; notify calls {}",
        mib(rss_start),
        mib(peak),
        mib(rss_end),
        notified.load(Ordering::Relaxed)
    );
    assert!(notified.load(Ordering::Relaxed) >= n * rounds);
}

#[test]
#[ignore = "soak: run with tests/soak/run.sh"]
fn soak_freeing_a_client_while_requests_are_in_flight() {
    let iterations = env_usize("SOAK_FREE_ITERATIONS", 300);
    let per = 16;
    let emu = Emulator::start();
    let sampler = RssSampler::start();
    let (rss_start, _) = rss_kib();
    let (mut done, mut cancelled) = (0usize, 0usize);
    let notified = AtomicUsize::new(0);
    let t0 = Instant::now();
    for it in 0..iterations {
        let c = client(&emu, 0);
        let ops: Vec<(*mut AoaiOp, String)> = (0..per)
            .map(|i| {
                let tag = format!("it{it} op{i}");
                // A mix: fast answers, delayed answers, slow streams.
                let directive = match i % 4 {
                    0 => "",
                    1 => "[[emu:delay-ms=5]] ",
                    2 => "[[emu:chunk-delay-ms=3]] ",
                    _ => "[[emu:delay-ms=200]] ",
                };
                let req = chat_req(&format!("{directive}{tag}"));
                let mut op = null_mut();
                let flags = if i % 2 == 0 { AOAI_START_STREAM } else { 0 };
                ok(unsafe {
                    aoai_client_start(
                        c,
                        req,
                        flags,
                        Some(count_notify),
                        &notified as *const AtomicUsize as *mut c_void,
                        &mut op,
                    )
                });
                unsafe { aoai_request_free(req) };
                (op, tag)
            })
            .collect();
        std::thread::sleep(Duration::from_millis((it % 10) as u64 * 4));
        let before = notified.load(Ordering::SeqCst);
        unsafe { aoai_client_free(c) };
        // No notify callback runs after aoai_client_free returned.
        std::thread::sleep(Duration::from_millis(2));
        let after = notified.load(Ordering::SeqCst);
        assert!(after >= before);
        for (i, (op, tag)) in ops.into_iter().enumerate() {
            ok(unsafe { aoai_op_wait(op, 10_000) });
            let mut st = -1;
            ok(unsafe { aoai_op_poll(op, &mut st) });
            match st {
                AOAI_OP_DONE => {
                    check_op_done(op, &tag, i % 2 == 0).unwrap();
                    done += 1;
                }
                AOAI_OP_CANCELLED => {
                    let e = unsafe { aoai_op_error(op) };
                    assert_eq!(unsafe { aoai_error_status(e) }, Status::Cancelled);
                    cancelled += 1;
                }
                other => panic!("{tag}: unexpected state {other} after the client was freed"),
            }
            unsafe { aoai_op_free(op) };
        }
        assert_eq!(
            notified.load(Ordering::SeqCst),
            after,
            "a notify callback ran after aoai_client_free returned"
        );
    }
    let peak = sampler.peak();
    drop(sampler);
    let (rss_end, _) = rss_kib();
    println!(
        "free while in flight: {iterations} clients x {per} operations in {:.1} s: {done} done, {cancelled} cancelled; RSS start {}, peak {}, end {}",
        t0.elapsed().as_secs_f64(),
        mib(rss_start),
        mib(peak),
        mib(rss_end)
    );
    assert_eq!(done + cancelled, iterations * per);
    assert!(
        rss_end <= rss_start * 2 + 32 * 1024,
        "resident memory grew from {} to {}",
        mib(rss_start),
        mib(rss_end)
    );
}

#[test]
#[ignore = "soak: run with tests/soak/run.sh"]
fn soak_cancel_racing_completion() {
    let iterations = env_usize("SOAK_CANCEL_ITERATIONS", 10_000);
    let emu = Emulator::start();
    let c = client(&emu, 0);
    let req = chat_req("race");
    // The canceller thread cancels every operation it is handed, at once, then says so;
    // the operation is freed only after that (a freed operation must never be touched).
    let (to_cancel, cancel_rx) = mpsc::channel::<(usize, u64)>();
    let (acked, ack_rx) = mpsc::channel::<Status>();
    let canceller = std::thread::spawn(move || {
        for (op, delay_us) in cancel_rx {
            // A varying head start for the worker, so both outcomes happen.
            let until = Instant::now() + Duration::from_micros(delay_us);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            let st = unsafe { aoai_op_cancel(op as *const AoaiOp) };
            acked.send(st).unwrap();
        }
    });
    let sampler = RssSampler::start();
    let (rss_start, _) = rss_kib();
    let t0 = Instant::now();
    let (mut done, mut cancelled) = (0usize, 0usize);
    for i in 0..iterations {
        let flags = if i % 2 == 0 { 0 } else { AOAI_START_STREAM };
        let mut op = null_mut();
        ok(unsafe { aoai_client_start(c, req, flags, None, null_mut(), &mut op) });
        to_cancel.send((op as usize, (i % 64) as u64 * 40)).unwrap();
        // Wait concurrently with the cancel (allowed: cancel is any-thread).
        ok(unsafe { aoai_op_wait(op, 10_000) });
        let cancel_status = ack_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(cancel_status, Status::Ok);
        let mut st = -1;
        ok(unsafe { aoai_op_poll(op, &mut st) });
        // Exactly one terminal state, and it never changes afterwards.
        let mut finished = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while finished == 0 {
            ok(unsafe { aoai_op_is_finished(op, &mut finished) });
            assert!(Instant::now() < deadline, "worker never ended");
            std::thread::yield_now();
        }
        let mut st2 = -1;
        ok(unsafe { aoai_op_poll(op, &mut st2) });
        assert_eq!(st, st2, "iteration {i}: the terminal state changed");
        let err = unsafe { aoai_op_error(op) };
        let mut resp = null_mut();
        let take = unsafe { aoai_op_take_response(op, &mut resp) };
        match st {
            AOAI_OP_DONE => {
                assert!(err.is_null(), "iteration {i}: DONE with an error");
                assert_eq!(take, Status::Ok);
                assert_eq!(resp_text(resp), format!("{EXPECT_PREFIX}race"));
                unsafe { aoai_response_free(resp) };
                done += 1;
            }
            AOAI_OP_CANCELLED => {
                assert_eq!(unsafe { aoai_error_status(err) }, Status::Cancelled);
                assert_eq!(take, Status::InvalidState);
                cancelled += 1;
            }
            other => panic!("iteration {i}: state {other}"),
        }
        unsafe { aoai_op_free(op) };
    }
    drop(to_cancel);
    canceller.join().unwrap();
    let peak = sampler.peak();
    drop(sampler);
    let (rss_end, _) = rss_kib();
    println!(
        "cancel race: {iterations} start + cancel from another thread in {:.1} s: {done} done first, {cancelled} cancelled first; RSS start {}, peak {}, end {}",
        t0.elapsed().as_secs_f64(),
        mib(rss_start),
        mib(peak),
        mib(rss_end)
    );
    unsafe {
        aoai_request_free(req);
        aoai_client_free(c);
    }
    assert_eq!(done + cancelled, iterations);
}
