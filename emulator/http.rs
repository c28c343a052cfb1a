//! Hand-written HTTP/1.1: request parsing (Content-Length and chunked bodies,
//! pipelining, `Expect: 100-continue`) and the low-level response writer. Written by
//! hand because the emulator needs byte-level control over framing, timing and resets.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::{http_date, query_decode, unix_now};

const MAX_HEAD: usize = 64 * 1024;
const MAX_LINE: usize = 8 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Idle keep-alive connections are dropped eventually so that abandoned sockets do not
/// pile up during long benchmark runs.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Minor version of HTTP/1.x.
    pub minor: u8,
    /// Names are lowercased; repeats are kept in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    pub fn keep_alive(&self) -> bool {
        if self.minor == 0 {
            self.has_token("connection", "keep-alive")
        } else {
            !self.has_token("connection", "close")
        }
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (query_decode(k) == name).then(|| query_decode(v))
            })
            .next()
    }
}

#[derive(Debug)]
pub enum ReadError {
    /// The peer went away (or idled out); there is nobody to answer.
    Closed,
    Bad(String),
    HeadTooLarge,
    BodyTooLarge,
    BadVersion,
}

impl ReadError {
    /// Status and message for the error answer, if one should be sent.
    pub fn answer(&self) -> Option<(u16, String)> {
        match self {
            ReadError::Closed => None,
            ReadError::Bad(msg) => Some((400, format!("Bad Request: {msg}"))),
            ReadError::HeadTooLarge => Some((431, "Request header fields too large".into())),
            ReadError::BodyTooLarge => Some((413, "Request body too large".into())),
            ReadError::BadVersion => Some((505, "HTTP version not supported".into())),
        }
    }
}

fn bad<T>(msg: &str) -> Result<T, ReadError> {
    Err(ReadError::Bad(msg.to_string()))
}

pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
        }
    }

    fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        self.buf.reserve(16 * 1024);
        match tokio::time::timeout(IDLE_TIMEOUT, self.stream.read_buf(&mut self.buf)).await {
            Ok(Ok(n)) if n > 0 => Ok(()),
            _ => Err(ReadError::Closed),
        }
    }

    async fn ensure(&mut self, n: usize) -> Result<(), ReadError> {
        while self.available() < n {
            self.fill().await?;
        }
        Ok(())
    }

    /// Returns the next line (without its terminator) and consumes it.
    async fn read_line(&mut self) -> Result<String, ReadError> {
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let mut line = &self.buf[self.pos..self.pos + i];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let text = String::from_utf8_lossy(line).into_owned();
                self.pos += i + 1;
                return Ok(text);
            }
            if self.available() > MAX_LINE {
                return bad("line too long");
            }
            self.fill().await?;
        }
    }

    pub async fn read_request(&mut self) -> Result<Request, ReadError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let (head_len, consumed) = loop {
            // Robustness (RFC 9112 §2.2): ignore empty lines before a request line.
            while self.pos < self.buf.len() && matches!(self.buf[self.pos], b'\r' | b'\n') {
                self.pos += 1;
            }
            if let Some(found) = find_head_end(&self.buf[self.pos..]) {
                break found;
            }
            if self.available() > MAX_HEAD {
                return Err(ReadError::HeadTooLarge);
            }
            self.fill().await?;
        };
        if head_len > MAX_HEAD {
            return Err(ReadError::HeadTooLarge);
        }
        let head = String::from_utf8_lossy(&self.buf[self.pos..self.pos + head_len]).into_owned();
        self.pos += consumed;
        let mut req = parse_head(&head)?;
        req.body = self.read_body(&req).await?;
        Ok(req)
    }

    async fn read_body(&mut self, req: &Request) -> Result<Vec<u8>, ReadError> {
        let te: Vec<&str> = values(req, "transfer-encoding");
        let cl: Vec<&str> = values(req, "content-length");
        if !te.is_empty() && !cl.is_empty() {
            return bad("both Transfer-Encoding and Content-Length");
        }
        if !te.is_empty() {
            if te.len() != 1 || !te[0].trim().eq_ignore_ascii_case("chunked") {
                return bad("unsupported Transfer-Encoding");
            }
            self.continue_if_expected(req, 1).await?;
            return self.read_chunked().await;
        }
        let Some(first) = cl.first() else {
            return Ok(Vec::new());
        };
        let len = parse_length(first)?;
        if cl.iter().any(|v| parse_length(v).ok() != Some(len)) {
            return bad("conflicting Content-Length");
        }
        if len > MAX_BODY {
            return Err(ReadError::BodyTooLarge);
        }
        self.continue_if_expected(req, len).await?;
        self.ensure(len).await?;
        let body = self.buf[self.pos..self.pos + len].to_vec();
        self.pos += len;
        Ok(body)
    }

    async fn continue_if_expected(&mut self, req: &Request, need: usize) -> Result<(), ReadError> {
        let expects = req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects && req.minor >= 1 && self.available() < need {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| ReadError::Closed)?;
        }
        Ok(())
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            if size_text.is_empty()
                || size_text.len() > 16
                || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return bad("invalid chunk size");
            }
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| ReadError::Bad("chunk size overflow".into()))?;
            if size == 0 {
                // Trailer section ends with an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            if size > MAX_BODY - body.len() {
                return Err(ReadError::BodyTooLarge);
            }
            self.ensure(size).await?;
            body.extend_from_slice(&self.buf[self.pos..self.pos + size]);
            self.pos += size;
            if !self.read_line().await?.is_empty() {
                return bad("missing CRLF after chunk data");
            }
        }
    }
}

fn values<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn parse_length(v: &str) -> Result<usize, ReadError> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return bad("invalid Content-Length");
    }
    v.parse().map_err(|_| ReadError::BodyTooLarge)
}

/// Finds the blank line ending the head; returns (head length, bytes to consume).
/// Bare `\n` line endings are tolerated.
fn find_head_end(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'\n') {
        let nl = i + off;
        match b.get(nl + 1) {
            Some(b'\n') => return Some((nl, nl + 2)),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => return Some((nl, nl + 3)),
            _ => i = nl + 1,
        }
    }
    None
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_head(head: &str) -> Result<Request, ReadError> {
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let parts: Vec<&str> = request_line.split(' ').collect();
    if parts.len() != 3 {
        return bad("malformed request line");
    }
    let (method, target, version) = (parts[0], parts[1], parts[2]);
    if !is_token(method) {
        return bad("invalid method");
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => return Err(ReadError::BadVersion),
        _ => return bad("invalid HTTP version"),
    };
    let target = origin_form(target)?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return bad("obsolete header line folding");
        }
        let Some((name, value)) = line.split_once(':') else {
            return bad("header line without colon");
        };
        if !is_token(name) {
            return bad("invalid header name");
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        minor,
        headers,
        body: Vec::new(),
    })
}

/// Accepts origin-form and absolute-form (as sent to proxies) request targets.
fn origin_form(target: &str) -> Result<&str, ReadError> {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let after_scheme = &target[target.find("//").map_or(0, |i| i + 2)..];
        return Ok(after_scheme.find('/').map_or("/", |i| &after_scheme[i..]));
    }
    if target.starts_with('/') && !target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        Ok(target)
    } else {
        bad("invalid request target")
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

pub enum Framing {
    Length(usize),
    Chunked,
    /// HTTP/1.0 clients get close-delimited streams.
    UntilClose,
}

pub fn head_bytes(
    status: u16,
    headers: &[(String, String)],
    framing: Framing,
    close: bool,
) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\ndate: {}\r\n",
        reason(status),
        http_date(unix_now())
    );
    for (name, value) in headers {
        // Header values come partly from tests; CR/LF must not break the framing.
        let clean: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        h.push_str(name);
        h.push_str(": ");
        h.push_str(&clean);
        h.push_str("\r\n");
    }
    match framing {
        Framing::Length(n) => h.push_str(&format!("content-length: {n}\r\n")),
        Framing::Chunked => h.push_str("transfer-encoding: chunked\r\n"),
        Framing::UntilClose => {}
    }
    if close || matches!(framing, Framing::UntilClose) {
        h.push_str("connection: close\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// Writes response bytes, optionally one byte at a time (`trickle-ms`) and optionally
/// wrapped in chunked framing. Every call is its own write so the client sees separate
/// TCP segments (TCP_NODELAY is set on accepted sockets).
pub struct Out<'a> {
    pub stream: &'a mut TcpStream,
    pub chunked: bool,
    pub trickle: Option<Duration>,
}

impl Out<'_> {
    pub async fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.trickle {
            None => self.stream.write_all(bytes).await,
            Some(pause) => {
                for b in bytes {
                    self.stream.write_all(std::slice::from_ref(b)).await?;
                    tokio::time::sleep(pause).await;
                }
                Ok(())
            }
        }
    }

    pub async fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if !self.chunked {
            return self.raw(data).await;
        }
        let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
        framed.reserve(data.len() + 2);
        framed.extend_from_slice(data);
        framed.extend_from_slice(b"\r\n");
        self.raw(&framed).await
    }

    pub async fn end(&mut self) -> io::Result<()> {
        if self.chunked {
            self.raw(b"0\r\n\r\n").await
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_parsing() {
        let r =
            parse_head("POST /a/b?x=1&api-version=2024%2D10-21 HTTP/1.1\r\nHost: h\r\nApi-Key: k")
                .unwrap();
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query_param("api-version").as_deref(), Some("2024-10-21"));
        assert_eq!(r.header("api-key"), Some("k"));
        assert!(r.keep_alive());
        assert!(parse_head("GARBAGE").is_err());
        assert!(parse_head("GET / HTTP/1.1\r\nno colon").is_err());
        assert!(matches!(
            parse_head("GET / HTTP/2.0"),
            Err(ReadError::BadVersion)
        ));
        assert_eq!(
            parse_head("GET http://x:1/p?q HTTP/1.1").unwrap().path,
            "/p"
        );
    }

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some((15, 18)));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nrest"), Some((14, 16)));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
