//! Puts a prepared reply on the wire, applying the scripted misbehaviours (delays,
//! resets, stalls, split writes, trickling, truncated streams).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::http::{Conn, Framing, Out, head_bytes};
use crate::state::Stats;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// Abort before a single byte is sent.
    Before,
    /// Abort half-way through the body.
    Body,
}

/// How a reply misbehaves; the default is a well-behaved reply.
#[derive(Clone, Debug)]
pub struct Faults {
    pub delay_ms: u64,
    pub chunk_delay_ms: u64,
    pub trickle_ms: u64,
    pub reset: Option<Reset>,
    pub reset_after: Option<usize>,
    pub stall_after: Option<usize>,
    pub error_after: Option<usize>,
    pub split: bool,
    pub crlf: bool,
    pub heartbeat: bool,
    pub done: bool,
    pub done_no_blank: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            delay_ms: 0,
            chunk_delay_ms: 0,
            trickle_ms: 0,
            reset: None,
            reset_after: None,
            stall_after: None,
            error_after: None,
            split: false,
            crlf: false,
            heartbeat: false,
            done: true,
            done_no_blank: false,
        }
    }
}

pub enum Body {
    Bytes(Vec<u8>),
    /// SSE `data:` payloads; `[DONE]` is appended when `Faults::done` is set.
    Sse(Vec<String>),
    /// A chunked body that never ends.
    Endless,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub faults: Faults,
}

impl Reply {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Body) -> Reply {
        Reply {
            status,
            headers,
            body,
            faults: Faults::default(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    KeepAlive,
    /// Close after the reply, letting the client read everything first.
    Close,
    /// Drop the socket now (client gone, or a deliberate reset).
    Abort,
}

pub struct Target<'a> {
    pub conn: &'a mut Conn,
    pub stats: &'a Stats,
    pub keep_alive: bool,
    pub http11: bool,
}

const STREAM_ERROR: &str =
    r#"{"error":{"code":"server_error","message":"The model produced invalid content."}}"#;

pub async fn send(t: Target<'_>, reply: Reply) -> Flow {
    let f = &reply.faults;
    if f.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
    }
    if f.reset == Some(Reset::Before) {
        return reset(t.conn);
    }
    match &reply.body {
        Body::Bytes(bytes) => send_bytes(t, &reply, bytes).await,
        Body::Sse(events) => send_sse(t, &reply, events).await,
        Body::Endless => send_endless(t, &reply).await,
    }
}

/// SO_LINGER 0 turns the close into an RST, which is what a crashed proxy looks like.
fn reset(conn: &mut Conn) -> Flow {
    let _ = conn.stream.set_zero_linger();
    Flow::Abort
}

fn trickle(f: &Faults) -> Option<Duration> {
    (f.trickle_ms > 0).then(|| Duration::from_millis(f.trickle_ms))
}

async fn send_bytes(t: Target<'_>, reply: &Reply, body: &[u8]) -> Flow {
    let close = !t.keep_alive;
    let mut data = head_bytes(
        reply.status,
        &reply.headers,
        Framing::Length(body.len()),
        close,
    );
    let mut out = Out {
        stream: &mut t.conn.stream,
        chunked: false,
        trickle: trickle(&reply.faults),
    };
    if reply.faults.reset == Some(Reset::Body) {
        data.extend_from_slice(&body[..body.len() / 2]);
        let _ = out.raw(&data).await;
        return reset(t.conn);
    }
    data.extend_from_slice(body);
    match out.raw(&data).await {
        Err(_) => Flow::Abort,
        Ok(()) if close => Flow::Close,
        Ok(()) => Flow::KeepAlive,
    }
}

fn sse_event(payload: &str, crlf: bool, blank: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut ev = format!("data: {payload}{eol}");
    if blank {
        ev.push_str(eol);
    }
    ev.into_bytes()
}

/// Cuts an event into 1..7-byte pieces, with extra cuts right after every `\r` and
/// inside every multi-byte UTF-8 character, so client parsers meet the awkward cases
/// deterministically.
fn split_points(data: &[u8], seed: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut target = 1 + seed % 7;
    for (i, &b) in data.iter().enumerate() {
        let len = i + 1 - start;
        if len >= target || b == b'\r' || b >= 0xC0 {
            out.push(&data[start..=i]);
            start = i + 1;
            target = 1 + (target + 2) % 7;
        }
    }
    if start < data.len() {
        out.push(&data[start..]);
    }
    out
}

enum Step {
    Continue,
    Stop(Flow),
}

async fn send_sse(t: Target<'_>, reply: &Reply, events: &[String]) -> Flow {
    let f = &reply.faults;
    let stats = t.stats;
    Stats::bump(&stats.streams_started);
    let framing = if t.http11 {
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    let close = !t.keep_alive || !t.http11;
    let head = head_bytes(reply.status, &reply.headers, framing, close);
    let mut list: Vec<Vec<u8>> = events.iter().map(|e| sse_event(e, f.crlf, true)).collect();
    if f.done {
        list.push(sse_event("[DONE]", f.crlf, !f.done_no_blank));
    }
    let total = list.len();
    let reset_after = f
        .reset_after
        .or((f.reset == Some(Reset::Body)).then_some(total / 2));
    let conn = t.conn;
    let chunked = t.http11;
    if out_for(conn, chunked, f).raw(&head).await.is_err() {
        return client_closed(stats);
    }
    for i in 0..=total {
        if f.stall_after == Some(i) {
            return stall(conn, stats).await;
        }
        if reset_after == Some(i) {
            return reset(conn);
        }
        if f.error_after == Some(i) {
            let ev = sse_event(STREAM_ERROR, f.crlf, true);
            return finish_stream(&mut out_for(conn, chunked, f), &ev, stats, close).await;
        }
        let Some(ev) = list.get(i) else {
            break;
        };
        let mut out = out_for(conn, chunked, f);
        if let Step::Stop(flow) = write_event(&mut out, f, i, ev, stats).await {
            return flow;
        }
    }
    finish_stream(&mut out_for(conn, chunked, f), &[], stats, close).await
}

fn out_for<'a>(conn: &'a mut Conn, chunked: bool, f: &Faults) -> Out<'a> {
    Out {
        stream: &mut conn.stream,
        chunked,
        trickle: trickle(f),
    }
}

async fn write_event(out: &mut Out<'_>, f: &Faults, i: usize, ev: &[u8], stats: &Stats) -> Step {
    if i > 0 {
        if f.chunk_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.chunk_delay_ms)).await;
        }
        if f.heartbeat {
            let beat: &[u8] = if f.crlf {
                b": keep-alive\r\n\r\n"
            } else {
                b": keep-alive\n\n"
            };
            if out.chunk(beat).await.is_err() {
                return Step::Stop(client_closed(stats));
            }
        }
    }
    let result = if f.split {
        let mut r = Ok(());
        for piece in split_points(ev, i) {
            r = out.chunk(piece).await;
            if r.is_err() {
                break;
            }
        }
        r
    } else {
        out.chunk(ev).await
    };
    match result {
        Ok(()) => Step::Continue,
        Err(_) => Step::Stop(client_closed(stats)),
    }
}

async fn finish_stream(out: &mut Out<'_>, last: &[u8], stats: &Stats, close: bool) -> Flow {
    // Counted before the final bytes leave: a client that has read the whole stream
    // and then asks for the stats must already see it as completed.
    Stats::bump(&stats.streams_completed);
    if out.chunk(last).await.is_err() || out.end().await.is_err() {
        stats.streams_completed.fetch_sub(1, Ordering::Relaxed);
        return client_closed(stats);
    }
    if close { Flow::Close } else { Flow::KeepAlive }
}

fn client_closed(stats: &Stats) -> Flow {
    Stats::bump(&stats.streams_client_closed);
    Flow::Abort
}

/// Holds the stream open without sending anything until the client gives up.
async fn stall(conn: &mut Conn, stats: &Stats) -> Flow {
    let mut scratch = [0u8; 4096];
    loop {
        match conn.stream.read(&mut scratch).await {
            Ok(0) | Err(_) => return client_closed(stats),
            Ok(_) => {}
        }
    }
}

async fn send_endless(t: Target<'_>, reply: &Reply) -> Flow {
    let framing = if t.http11 {
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    let head = head_bytes(reply.status, &reply.headers, framing, !t.keep_alive);
    let mut out = out_for(t.conn, t.http11, &reply.faults);
    if out.raw(&head).await.is_err() || out.chunk(br#"{"pad":""#).await.is_err() {
        return Flow::Abort;
    }
    let pad = vec![b'x'; 64 * 1024];
    loop {
        if out.chunk(&pad).await.is_err() {
            return Flow::Abort;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rejoins_and_cuts_awkwardly() {
        let ev = "data: {\"x\":\"é€\"}\r\n\r\n".as_bytes();
        let parts = split_points(ev, 3);
        assert_eq!(parts.concat(), ev);
        assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= 7));
        assert!(parts.iter().any(|p| p.last() == Some(&b'\r')));
        assert!(parts.iter().any(|p| p.last().is_some_and(|b| *b >= 0xC0)));
    }
}
