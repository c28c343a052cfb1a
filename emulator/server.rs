//! Accept loop and the per-connection keep-alive loop.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::api;
use crate::control::{self, Outcome};
use crate::http::{Conn, Request};
use crate::identity;
use crate::router::{self, Route};
use crate::send::{self, Body, Flow, Reply, Target};
use crate::state::{Recorded, State, Stats};

/// How long a closing connection may take to drain what the client still sends, so
/// the close does not turn into an RST that destroys the final response.
const LINGER_DRAIN: Duration = Duration::from_secs(2);

pub async fn run(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let state = Arc::clone(&state);
                tokio::spawn(serve(stream, state));
            }
            // Typically EMFILE under load: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Keeps `connections_open` right however the connection task ends.
struct OpenGuard<'a>(&'a Stats);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(stream: TcpStream, state: Arc<State>) {
    let stats = &state.stats;
    Stats::bump(&stats.connections_accepted);
    Stats::bump(&stats.connections_open);
    let _guard = OpenGuard(stats);
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(stream);
    loop {
        let flow = match conn.read_request().await {
            Ok(req) => handle(&mut conn, req, &state).await,
            Err(e) => match e.answer() {
                Some((status, message)) => malformed(&mut conn, &state, status, &message).await,
                None => Flow::Abort,
            },
        };
        match flow {
            Flow::KeepAlive => continue,
            Flow::Close => {
                graceful_close(&mut conn).await;
                return;
            }
            Flow::Abort => return,
        }
    }
}

async fn graceful_close(conn: &mut Conn) {
    let _ = conn.stream.shutdown().await;
    let mut scratch = [0u8; 8192];
    let _ = tokio::time::timeout(LINGER_DRAIN, async {
        while let Ok(n) = conn.stream.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

fn json_reply(status: u16, body: &serde_json::Value) -> Reply {
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    Reply::new(status, headers, Body::Bytes(body.to_string().into_bytes()))
}

async fn malformed(conn: &mut Conn, state: &State, status: u16, message: &str) -> Flow {
    log(state, "-", "-", status);
    let body = json!({"error": {"code": status.to_string(), "message": message}});
    let target = Target {
        conn,
        stats: &state.stats,
        keep_alive: false,
        http11: true,
    };
    send::send(target, json_reply(status, &body)).await
}

fn log(state: &State, method: &str, path: &str, status: u16) {
    if !state.config.quiet {
        // Path only: query strings are not logged so nothing secret-looking leaks.
        let _ = writeln!(std::io::stderr().lock(), "{method} {path} {status}");
    }
}

async fn handle(conn: &mut Conn, req: Request, state: &Arc<State>) -> Flow {
    let started = Instant::now();
    let keep_alive = req.keep_alive();
    let http11 = req.minor >= 1;
    if matches!(router::route(&req.path), Route::Control) {
        return handle_control(conn, &req, state, keep_alive, http11).await;
    }
    Stats::bump(&state.stats.requests);
    // The identity endpoint is recorded like the API but never consumes script entries.
    let reply = if identity::handles(&req, state) {
        identity::respond(&req, state)
    } else {
        api::respond(&req, state, started)
    };
    log(state, &req.method, &req.path, reply.status);
    state.record(Recorded {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
    });
    let target = Target {
        conn,
        stats: &state.stats,
        keep_alive,
        http11,
    };
    send::send(target, reply).await
}

async fn handle_control(
    conn: &mut Conn,
    req: &Request,
    state: &State,
    keep_alive: bool,
    http11: bool,
) -> Flow {
    let outcome = control::handle(req, state);
    let (status, body, shutdown) = match outcome {
        Outcome::Reply(status, body) => (status, body, false),
        Outcome::Shutdown => (200, json!({"ok": true}), true),
    };
    log(state, &req.method, &req.path, status);
    let target = Target {
        conn,
        stats: &state.stats,
        keep_alive: keep_alive && !shutdown,
        http11,
    };
    let flow = send::send(target, json_reply(status, &body)).await;
    if shutdown {
        let _ = conn.stream.shutdown().await;
        std::process::exit(0);
    }
    flow
}
