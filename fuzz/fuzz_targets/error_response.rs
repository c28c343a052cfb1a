//! The error-response parser: the input is an HTTP response as text (status line, headers,
//! blank line, body), as the service or a proxy may send it. Exercises the status mapping,
//! the Azure/OpenAI error shapes, content-filter details and every retry hint form
//! (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After` seconds or HTTP date).
//! Oracles: never a panic; the message names the host; the hint is never negative.
#![no_main]

use aoai::service_error::{from_http, retry_after, retryable_status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or(("", &text));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().find_map(|w| w.parse::<u16>().ok()))
        .unwrap_or(429);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let _ = retryable_status(status, &headers);
    let hint = retry_after(&headers);
    let e = from_http(status, headers, body, "fuzz.example:443");
    assert!(e.message.contains("fuzz.example:443"), "{}", e.message);
    assert_eq!(e.http_status, status);
    // (an HTTP-date hint is relative to now: allow the time between the two readings)
    let want = hint.map(|d| d.as_millis() as u64);
    match (e.retry_after_ms, want) {
        (Some(a), Some(b)) => assert!(a.abs_diff(b) <= 1000, "{a} vs {b}"),
        (a, b) => assert_eq!(a, b),
    }
});
