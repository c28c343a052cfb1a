//! Shared test helper: runs the `aoai-emulator` binary and talks raw HTTP/1.1 to it
//! over `std::net::TcpStream` (no HTTP crate, so tests see the real bytes).

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const API_KEY: &str = "emulator-key";
pub const TOKEN: &str = "emulator-token";
pub const API_VERSION: &str = "2024-10-21";

/// A parsed HTTP response; `body` is already de-chunked.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sizes of the chunks of a chunked body, in order (empty otherwise).
    pub chunk_sizes: Vec<usize>,
}

impl RawResponse {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The `data:` payloads of an SSE body, in order (comments skipped).
    pub fn sse_data(&self) -> Vec<String> {
        sse_data(&self.text())
    }

    /// The SSE payloads parsed as JSON, excluding `[DONE]`.
    pub fn sse_json(&self) -> Vec<Value> {
        self.sse_data()
            .iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad event {d}: {e}")))
            .collect()
    }
}

/// Splits an SSE text into `data:` payloads (handles `\n` and `\r\n`).
pub fn sse_data(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split('\n')
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d).to_string())
        .collect()
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one response (skipping `100 Continue`) from a buffered connection.
pub fn read_response(r: &mut impl BufRead) -> io::Result<RawResponse> {
    loop {
        let status_line = read_line(r)?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
        let mut headers = Vec::new();
        loop {
            let line = read_line(r)?;
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap_or((&line, ""));
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        if status == 100 {
            continue;
        }
        let mut resp = RawResponse {
            status,
            headers,
            body: Vec::new(),
            chunk_sizes: Vec::new(),
        };
        read_body(r, &mut resp)?;
        return Ok(resp);
    }
}

fn read_body(r: &mut impl BufRead, resp: &mut RawResponse) -> io::Result<()> {
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let line = read_line(r)?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad chunk size {line:?}"),
                    )
                })?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                return Ok(());
            }
            let mut data = vec![0; size];
            r.read_exact(&mut data)?;
            resp.body.extend_from_slice(&data);
            resp.chunk_sizes.push(size);
            if !read_line(r)?.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "missing chunk CRLF",
                ));
            }
        }
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad length"))?;
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body)
    } else {
        r.read_to_end(&mut resp.body).map(|_| ())
    }
}

/// Serialises a request; adds Host and Content-Length unless given.
pub fn format_request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        req.push_str("Host: 127.0.0.1\r\n");
    }
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !has("content-length") && !has("transfer-encoding") && (!body.is_empty() || method == "POST")
    {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req.into_bytes()
}

pub struct Emulator {
    pub port: u16,
    pub base: String,
    child: Child,
}

impl Emulator {
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// Starts the emulator with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aoai-emulator"))
            .args(["--port", "0", "--quiet"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn aoai-emulator");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("aoai-emulator did not print its listening line within 10 s");
            }
        };
        let prefix = "aoai-emulator listening on http://127.0.0.1:";
        let port: u16 = line
            .trim()
            .strip_prefix(prefix)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Emulator {
            port,
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A fresh connection with a 10 s read timeout.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.set_nodelay(true).expect("nodelay");
        s
    }

    /// One request on a fresh connection (sent with `Connection: close`).
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> io::Result<RawResponse> {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
        {
            all.push(("Connection", "close"));
        }
        let mut stream = self.connect();
        stream.write_all(&format_request(method, path, &all, body))?;
        read_response(&mut BufReader::new(stream))
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> RawResponse {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
    }

    fn control_json(&self, method: &str, path: &str, body: &str) -> Value {
        let resp = self.request(method, path, &[("Content-Type", "application/json")], body);
        assert_eq!(resp.status, 200, "{method} {path}: {}", resp.text());
        resp.json()
    }

    pub fn requests(&self) -> Value {
        self.control_json("GET", "/_emulator/requests", "")
    }

    pub fn clear_requests(&self) {
        self.control_json("DELETE", "/_emulator/requests", "");
    }

    pub fn script(&self, json: Value) {
        self.control_json("POST", "/_emulator/script", &json.to_string());
    }

    pub fn stats(&self) -> Value {
        self.control_json("GET", "/_emulator/stats", "")
    }

    pub fn reset(&self) {
        self.control_json("POST", "/_emulator/reset", "");
    }

    /// Polls `stats()` until `pred` holds (5 s limit); returns the last stats.
    pub fn wait_stats(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = self.stats();
            if pred(&s) || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the emulator process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (up to `limit`) for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
