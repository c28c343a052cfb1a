//! The client: one HTTP connection pool, one validated configuration, one authorizer.
//! Immutable after creation (except the host-pushed token) and safe to share across threads.

use crate::auth::{AccessToken, Authorizer, TokenCache, TokenSource};
use crate::cancel::CancelToken;
use crate::config::{ApiType, AuthConfig, Config, Operation, Secret, TlsRoots};
use crate::error::{Error, Result, Status};
use crate::request::Request;
use crate::response::Response;
use crate::service_error;
use crate::sse::SseParser;
use crate::stream::{Assembler, Event, EventKind, Flow, Sink};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::runtime::Handle;
use tokio::time::Instant;

pub(crate) struct Inner {
    pub config: Config,
    http: reqwest::Client,
    auth: Authorizer,
    pub handle: Handle,
    pub epoch: u64,
    /// Operations started on this client, so freeing the client can cancel them.
    pub ops: Mutex<Vec<Weak<crate::op::Shared>>>,
    host: String,
    /// Fixed headers of every request (content-type, org, project, user headers).
    base_headers: HeaderMap,
}

#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// What one HTTP attempt ended with, when it failed.
struct Failure {
    error: Error,
    retryable: bool,
    /// The bearer token the service rejected with 401 (to refresh once).
    rejected: Option<Secret>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            retryable: false,
            rejected: None,
        }
    }
}

fn header_value(name: &str, v: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v).map_err(|_| {
        Error::invalid_arg(format!(
            "header '{name}' has characters HTTP headers cannot carry"
        ))
    })
}

pub(crate) fn build_http(config: &Config) -> Result<reqwest::Client> {
    let extra = match &config.ca_file {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    if config.tls_roots == TlsRoots::Bundled {
        return http_builder(config, extra, true)?
            .build()
            .map_err(build_error);
    }
    match http_builder(config, extra.clone(), false)?.build() {
        Ok(c) => Ok(c),
        // A host without a CA store (minimal containers): the platform verifier cannot start.
        // The bundled Mozilla roots keep TLS working instead of failing every call.
        Err(e) => {
            crate::log::warn(&format!(
                "the system CA store is unusable ({}); using the bundled Mozilla roots",
                crate::error::chain_message(&e)
            ));
            http_builder(config, extra, true)?
                .build()
                .map_err(build_error)
        }
    }
}

fn http_builder(
    config: &Config,
    extra_roots: Vec<reqwest::Certificate>,
    bundled: bool,
) -> Result<reqwest::ClientBuilder> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("aoai/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(t) = config.timeouts.connect {
        b = b.connect_timeout(t);
    }
    match config.proxy.as_ref().map(Secret::expose) {
        Some("none") => b = b.no_proxy(),
        Some(p) => {
            let proxy = reqwest::Proxy::all(p).map_err(|e| {
                Error::config(format!(
                    "proxy '{}' is not usable: {e}",
                    crate::config::redact_url(p)
                ))
            })?;
            b = b.proxy(proxy);
        }
        None => {}
    }
    if bundled {
        let mut roots: Vec<reqwest::Certificate> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok())
            .collect();
        roots.extend(extra_roots);
        b = b.tls_certs_only(roots);
    } else if !extra_roots.is_empty() {
        b = b.tls_certs_merge(extra_roots);
    }
    Ok(b)
}

fn read_ca_file(path: &str) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::config(format!("cannot read ca_file '{path}': {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::config(format!(
            "ca_file '{path}' is not a PEM certificate bundle: {e}"
        ))
    })?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "ca_file '{path}' holds no certificate"
        )));
    }
    Ok(certs)
}

fn build_error(e: reqwest::Error) -> Error {
    Error::new(
        Status::Tls,
        format!(
            "cannot set up the HTTP client: {}",
            crate::error::chain_message(&e)
        ),
    )
}

impl Client {
    /// Creates a client. `host_source` is the host's token callback, if any.
    pub fn new(config: Config, host_source: Option<Arc<dyn TokenSource>>) -> Result<Client> {
        let (handle, epoch) = crate::runtime::handle()?;
        let http = build_http(&config)?;
        let auth = match &config.auth {
            AuthConfig::ApiKey(k) => Authorizer::Fixed {
                header: if config.api_type == ApiType::OpenAi {
                    "authorization"
                } else {
                    "api-key"
                },
                value: if config.api_type == ApiType::OpenAi {
                    Secret::new(format!("Bearer {}", k.expose()))
                } else {
                    k.clone()
                },
            },
            AuthConfig::StaticToken(t) => Authorizer::Fixed {
                header: "authorization",
                value: Secret::new(format!("Bearer {}", t.expose())),
            },
            AuthConfig::Host => Authorizer::Tokens(Arc::new(TokenCache::new(
                host_source,
                config.token_scope.clone(),
            ))),
            AuthConfig::Entra(spec) => {
                // "host" without a callback: the host pushes every token (aoai_client_set_token).
                let source = match host_source {
                    Some(s) => Some(s),
                    None if spec.as_str() == Some("host") => None,
                    None => Some(crate::credential::source_from_spec(spec, &config, &http)?),
                };
                Authorizer::Tokens(Arc::new(TokenCache::new(
                    source,
                    config.token_scope.clone(),
                )))
            }
        };
        // Validate the auth value once, so a bad key fails at creation, not per request.
        if let Authorizer::Fixed { header, value } = &auth {
            header_value(header, value.expose()).map_err(|_| {
                Error::config("the API key or token has characters HTTP headers cannot carry")
            })?;
        }
        let mut base_headers = HeaderMap::new();
        base_headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Some(org) = &config.organization {
            base_headers.insert("openai-organization", header_value("organization", org)?);
        }
        if let Some(p) = &config.project {
            base_headers.insert("openai-project", header_value("project", p)?);
        }
        for (k, v) in &config.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::invalid_arg(format!("header name '{k}' is not valid")))?;
            base_headers.insert(name, header_value(k, v)?);
        }
        let host = reqwest::Url::parse(&config.endpoint)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| config.endpoint.clone());
        crate::log::info(&format!(
            "client created: {} {} ({})",
            config.api_type.as_str(),
            config.endpoint,
            auth.describe()
        ));
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                auth,
                handle,
                epoch,
                ops: Mutex::new(Vec::new()),
                host,
                base_headers,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// The effective configuration as pretty JSON, secrets redacted.
    pub fn describe(&self) -> String {
        let mut v = self.inner.config.describe();
        if let Authorizer::Tokens(c) = &self.inner.auth {
            v["auth"]["token_source"] = Value::String(c.source_name());
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Pushes a token into a client that uses tokens (host-supplied or Entra ID).
    pub fn set_token(&self, token: &str, expires_on_unix: i64) -> Result<()> {
        let Authorizer::Tokens(cache) = &self.inner.auth else {
            return Err(Error::state(
                "this client authenticates with a fixed key or token; create it with a token source (credential \"host\") to push tokens",
            ));
        };
        if token.is_empty() || token.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(Error::invalid_arg(
                "the token is empty or contains control characters",
            ));
        }
        let expires_on = (expires_on_unix > 0)
            .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(expires_on_unix as u64));
        cache.push(AccessToken {
            token: Secret::new(token),
            expires_on,
        });
        Ok(())
    }

    /// The token cache, for tests and diagnostics.
    pub fn token_cache(&self) -> Option<Arc<TokenCache>> {
        match &self.inner.auth {
            Authorizer::Tokens(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Blocking call on the caller's thread. `sink` receives stream events there.
    pub fn call_blocking(
        &self,
        req: &Request,
        stream: bool,
        sink: &mut Sink<'_>,
        cancel: &CancelToken,
    ) -> Result<Response> {
        // Before touching the runtime handle: after aoai_shutdown it belongs to a dead runtime.
        crate::runtime::check_epoch(self.inner.epoch)?;
        crate::runtime::block_on(&self.inner.handle, self.execute(req, stream, sink, cancel))?
    }

    /// The body to send: client defaults, then the request's fields, then what the library
    /// must set (`model` where the dialect needs it, `stream`).
    fn prepare(&self, req: &Request, stream: bool) -> Result<(String, Bytes)> {
        req.check_complete()?;
        let cfg = &self.inner.config;
        let url = cfg.url(req.op, req.deployment.as_deref())?;
        let mut body = cfg.defaults.clone();
        for (k, v) in &req.body {
            body.insert(k.clone(), v.clone());
        }
        if cfg.model_in_body() {
            match (&req.deployment, body.contains_key("model")) {
                (Some(d), _) => {
                    body.insert("model".into(), Value::String(d.clone()));
                }
                (None, true) => {}
                (None, false) => {
                    let d = cfg.deployment.clone().ok_or_else(|| {
                        Error::invalid_arg(format!(
                            "no model given for {}: set the deployment ('deployment', AZURE_OPENAI_DEPLOYMENT_NAME) or the request's model",
                            cfg.endpoint
                        ))
                    })?;
                    body.insert("model".into(), Value::String(d));
                }
            }
        }
        if stream {
            body.insert("stream".into(), Value::Bool(true));
        } else {
            body.remove("stream");
            // OpenAI rejects stream_options without stream.
            body.remove("stream_options");
        }
        let bytes =
            serde_json::to_vec(&Value::Object(body)).map_err(|e| Error::json(e.to_string()))?;
        Ok((url, Bytes::from(bytes)))
    }

    /// One logical call: attempts with retries, bounded by the total deadline, abandoned at
    /// once (connection closed) when `cancel` fires.
    pub async fn execute(
        &self,
        req: &Request,
        stream: bool,
        sink: &mut Sink<'_>,
        cancel: &CancelToken,
    ) -> Result<Response> {
        crate::runtime::check_epoch(self.inner.epoch)?;
        let (url, body) = self.prepare(req, stream)?;
        let cfg = &self.inner.config;
        let total = limit(req.total_timeout_ms, cfg.timeouts.total);
        let limits = Limits {
            deadline: total.map(|t| (Instant::now() + t, t)),
            idle: limit(req.idle_timeout_ms, cfg.timeouts.idle),
            first_byte: limit(req.first_byte_timeout_ms, cfg.timeouts.first_byte),
            cancel: cancel.clone(),
        };
        if cancel.is_cancelled() {
            return Err(Error::cancelled("the operation was cancelled"));
        }
        // Every wait inside goes through `limits.run`, which also watches `cancel`: the
        // request is dropped (connection closed) at once, and a stream keeps what it received.
        self.attempts(req.op, &url, body, stream, sink, &limits)
            .await
    }

    async fn attempts(
        &self,
        op: Operation,
        url: &str,
        body: Bytes,
        stream: bool,
        sink: &mut Sink<'_>,
        limits: &Limits,
    ) -> Result<Response> {
        let cfg = &self.inner.config;
        let request_id = client_request_id();
        let mut attempt: u32 = 0;
        let mut retries_left = cfg.max_retries;
        let mut refreshed_after_401 = false;
        let mut rejected: Option<Secret> = None;
        let mut delivered = 0u64;
        loop {
            attempt += 1;
            let res = self
                .attempt(
                    op,
                    url,
                    body.clone(),
                    stream,
                    sink,
                    limits,
                    &request_id,
                    rejected.take(),
                    &mut delivered,
                )
                .await;
            let mut f = match res {
                Ok(mut r) => {
                    r.attempts = attempt;
                    return Ok(r);
                }
                Err(f) => f,
            };
            f.error.attempts = attempt;
            self.scrub(&mut f.error);
            // A 401 on a token: refresh it once and try again (not counted as a retry).
            if f.error.http_status == 401 && f.rejected.is_some() && !refreshed_after_401 {
                refreshed_after_401 = true;
                rejected = f.rejected.take();
                crate::log::info("401 with a bearer token: refreshing the token and retrying once");
                continue;
            }
            if !f.retryable || retries_left == 0 || delivered > 0 {
                return Err(f.error);
            }
            let hint = f.error.retry_after_ms.map(Duration::from_millis);
            let wait = match hint {
                Some(h) if h > cfg.max_retry_after => {
                    f.error.message.push_str(&format!(
                        " (the service asks to wait {:.1} s before retrying, more than max_retry_after_ms = {} ms: not retried)",
                        h.as_secs_f64(),
                        cfg.max_retry_after.as_millis()
                    ));
                    return Err(f.error);
                }
                Some(h) => h,
                None => backoff(cfg.max_retries - retries_left),
            };
            if let Some((dl, total)) = limits.deadline {
                if Instant::now() + wait >= dl {
                    f.error.message.push_str(&format!(
                        " (no retry: waiting {} ms would pass the total time limit of {} ms, total_timeout_ms)",
                        wait.as_millis(),
                        total.as_millis()
                    ));
                    return Err(f.error);
                }
            }
            retries_left -= 1;
            crate::log::info(&format!(
                "attempt {attempt} failed ({}); retrying in {} ms",
                f.error.message,
                wait.as_millis()
            ));
            limits.run(tokio::time::sleep(wait), Stage::Total).await?;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        op: Operation,
        url: &str,
        body: Bytes,
        stream: bool,
        sink: &mut Sink<'_>,
        limits: &Limits,
        request_id: &str,
        rejected: Option<Secret>,
        delivered: &mut u64,
    ) -> std::result::Result<Response, Failure> {
        let inner = &self.inner;
        let mut headers = inner.base_headers.clone();
        headers.insert(
            "accept",
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        // The host may bring its own correlation id (aoai_options_add_header); keep it.
        if !headers.contains_key("x-ms-client-request-id") {
            if let Ok(v) = HeaderValue::from_str(request_id) {
                headers.insert("x-ms-client-request-id", v);
            }
        }
        let used_token = match &inner.auth {
            Authorizer::Fixed { header, value } => {
                let mut v = header_value(header, value.expose())?;
                v.set_sensitive(true);
                headers.insert(*header, v);
                None
            }
            Authorizer::Tokens(cache) => {
                let tok = limits
                    .run(cache.token(rejected.as_ref()), Stage::Total)
                    .await??;
                let mut v = header_value("authorization", &format!("Bearer {}", tok.expose()))?;
                v.set_sensitive(true);
                headers.insert("authorization", v);
                Some(tok)
            }
        };
        let send = inner.http.post(url).headers(headers).body(body).send();
        let resp = match limits.run(send, Stage::FirstByte).await? {
            Ok(r) => r,
            Err(e) => {
                let (error, retryable) =
                    service_error::from_transport(&e, &inner.host, inner.config.timeouts.connect);
                return Err(Failure {
                    error,
                    retryable,
                    rejected: None,
                });
            }
        };
        let status = resp.status().as_u16();
        let resp_headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let max = inner.config.max_response_bytes;
        if !(200..300).contains(&status) {
            let body = match read_body(resp, limits, max, &inner.host).await {
                Ok(b) => b,
                // A cancellation while reading an error body stays a cancellation.
                Err(e) if e.status == Status::Cancelled => return Err(e.into()),
                Err(e) => format!("(body unreadable: {})", e.message),
            };
            let error = service_error::from_http(status, resp_headers, &body, &inner.host);
            // An exhausted quota is a 429 that no wait fixes.
            let retryable = service_error::retryable_status(status, &error.headers)
                && error.code.as_deref() != Some("insufficient_quota");
            return Err(Failure {
                error,
                retryable,
                rejected: if status == 401 { used_token } else { None },
            });
        }
        let ctype = crate::error::find_header(&resp_headers, "content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        if stream && ctype.starts_with("text/event-stream") {
            return self
                .read_stream(op, resp, status, resp_headers, sink, limits, delivered)
                .await;
        }
        let body = read_body(resp, limits, max, &inner.host)
            .await
            .map_err(|e| {
                let retryable = e.status == Status::Connection;
                Failure {
                    error: e,
                    retryable,
                    rejected: None,
                }
            })?;
        if !ctype.is_empty() && !ctype.contains("json") {
            let mut e = Error::new(
                Status::ResponseParse,
                format!(
                    "HTTP {status} from {} with content-type '{ctype}' instead of JSON (a proxy's page?): {}",
                    inner.host,
                    crate::response::snippet(&body)
                ),
            );
            e.http_status = status;
            e.request_id = crate::response::request_id_of(&resp_headers);
            e.headers = resp_headers;
            e.body = Some(body);
            return Err(e.into());
        }
        let resp = Response::parse(op, status, resp_headers, body)?;
        if stream {
            // The server answered a stream request with a whole JSON body: deliver the same
            // events a stream would have carried.
            for ev in events_of(&resp) {
                *delivered += 1;
                if !sink(ev) {
                    return Err(Error::cancelled("the stream was stopped by the callback").into());
                }
            }
        }
        Ok(resp)
    }

    #[allow(clippy::too_many_arguments)]
    async fn read_stream(
        &self,
        op: Operation,
        mut resp: reqwest::Response,
        status: u16,
        headers: Vec<(String, String)>,
        sink: &mut Sink<'_>,
        limits: &Limits,
        delivered: &mut u64,
    ) -> std::result::Result<Response, Failure> {
        let max = self.inner.config.max_response_bytes;
        let mut parser = SseParser::new();
        let mut asm = Assembler::new(op);
        let mut events = Vec::new();
        let mut received: u64 = 0;
        let mut finished = false;
        let fail = |asm: &Assembler, mut e: Error, delivered: u64| {
            e.http_status = status;
            e.request_id = crate::response::request_id_of(&headers);
            e.headers = headers.clone();
            // Retrying is safe only before anything reached the caller.
            let retryable =
                delivered == 0 && matches!(e.status, Status::Connection | Status::Timeout);
            e.partial = Some(Arc::new(asm.response(status, &headers)));
            Failure {
                error: e,
                retryable,
                rejected: None,
            }
        };
        while !finished {
            let chunk = match limits.run(resp.chunk(), Stage::Idle).await {
                Err(e) => return Err(fail(&asm, e, *delivered)),
                Ok(Err(e)) => {
                    let (mut err, _) = service_error::from_transport(&e, &self.inner.host, None);
                    err.message = format!("the stream broke off: {}", err.message);
                    // Retryable as a connection failure while nothing was delivered, reported
                    // as what it is: a broken stream.
                    let mut f = fail(&asm, err, *delivered);
                    f.error.status = Status::Stream;
                    return Err(f);
                }
                Ok(Ok(c)) => c,
            };
            match chunk {
                Some(bytes) => {
                    received += bytes.len() as u64;
                    if received > max {
                        let e = Error::new(
                            Status::ResponseTooLarge,
                            format!(
                                "the stream from {} exceeded max_response_bytes ({max})",
                                self.inner.host
                            ),
                        );
                        return Err(fail(&asm, e, *delivered));
                    }
                    parser
                        .feed(&bytes, &mut events)
                        .map_err(|e| fail(&asm, e, *delivered))?;
                }
                None => {
                    parser
                        .finish(&mut events)
                        .map_err(|e| fail(&asm, e, *delivered))?;
                    finished = true;
                }
            }
            for ev in events.drain(..) {
                let mut counting = |e: Event| {
                    *delivered += 1;
                    sink(e)
                };
                match asm.on_data(&ev.data, &mut counting) {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Done) => finished = true,
                    Ok(Flow::Stopped) => {
                        return Err(
                            Error::cancelled("the stream was stopped by the callback").into()
                        );
                    }
                    Err(e) => return Err(fail(&asm, e, *delivered)),
                }
            }
        }
        // After [DONE] the connection goes back to the pool only if the body is drained;
        // the remaining bytes are at most a blank line.
        asm.check_complete()
            .map_err(|e| fail(&asm, e, *delivered))?;
        Ok(asm.response(status, &headers))
    }

    /// Removes the key from what the service echoed back (OpenAI quotes a wrong key in its
    /// 401 message): secrets never reach an error message or body.
    fn scrub(&self, e: &mut Error) {
        let secret = match &self.inner.auth {
            Authorizer::Fixed { value, .. } => {
                value.expose().trim_start_matches("Bearer ").to_string()
            }
            Authorizer::Tokens(_) => return, // tokens are not echoed by the service
        };
        if secret.len() < 4 {
            return;
        }
        if e.message.contains(&secret) {
            e.message = e.message.replace(&secret, "<redacted>");
        }
        if let Some(b) = &mut e.body {
            if b.contains(&secret) {
                *b = b.replace(&secret, "<redacted>");
            }
        }
    }

    /// Registers an operation so `shutdown_ops` can reach it.
    pub(crate) fn register_op(&self, op: &Arc<crate::op::Shared>) {
        let mut ops = self.inner.ops.lock().unwrap_or_else(|p| p.into_inner());
        ops.retain(|w| w.strong_count() > 0);
        ops.push(Arc::downgrade(op));
    }

    /// Cancels every operation of this client and waits until none can call back.
    pub fn shutdown_ops(&self) {
        let ops: Vec<_> =
            std::mem::take(&mut *self.inner.ops.lock().unwrap_or_else(|p| p.into_inner()));
        for w in ops {
            if let Some(op) = w.upgrade() {
                op.cancel();
                op.disable_notify();
            }
        }
    }
}

/// The events a stream would have carried for a whole response.
pub fn events_of(resp: &Response) -> Vec<Event> {
    let raw: Arc<str> = Arc::from(resp.raw.as_str());
    let mut out = Vec::new();
    let mk = |kind, choice: Option<u32>| Event::new(kind, choice, &raw);
    for (i, f) in &resp.prompt_filters {
        let mut e = mk(EventKind::ContentFilter, None);
        e.prompt_index = Some(*i);
        e.filter = Some(f.clone());
        out.push(e);
    }
    for c in &resp.choices {
        if let Some(t) = c.text.as_ref().filter(|t| !t.is_empty()) {
            let mut e = mk(EventKind::TextDelta, Some(c.index));
            e.text = t.clone();
            out.push(e);
        }
        for (i, t) in c.tool_calls.iter().enumerate() {
            let mut e = mk(EventKind::ToolCallDelta, Some(c.index));
            e.tool_index = i as u32;
            e.tool_id = Some(t.id.clone());
            e.tool_name = Some(t.name.clone());
            e.text = t.arguments.clone();
            out.push(e);
        }
        if let Some(fr) = &c.finish_reason {
            let mut e = mk(EventKind::Finish, Some(c.index));
            e.text = fr.clone();
            out.push(e);
        }
    }
    if let Some(u) = resp.usage {
        let mut e = mk(EventKind::Usage, None);
        e.usage = Some(u);
        out.push(e);
    }
    out
}

async fn read_body(
    mut resp: reqwest::Response,
    limits: &Limits,
    max: u64,
    host: &str,
) -> Result<String> {
    let mut buf: Vec<u8> = Vec::new();
    if let Some(len) = resp.content_length() {
        if len > max {
            return Err(Error::new(
                Status::ResponseTooLarge,
                format!(
                    "the response from {host} is {len} bytes, more than max_response_bytes ({max})"
                ),
            ));
        }
        buf.reserve(len as usize);
    }
    loop {
        match limits.run(resp.chunk(), Stage::Idle).await? {
            Ok(Some(c)) => {
                if buf.len() as u64 + c.len() as u64 > max {
                    return Err(Error::new(
                        Status::ResponseTooLarge,
                        format!("the response from {host} exceeded max_response_bytes ({max})"),
                    ));
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(e) => {
                let (mut err, _) = service_error::from_transport(&e, host, None);
                err.message = format!(
                    "the response body broke off after {} bytes: {}",
                    buf.len(),
                    err.message
                );
                return Err(err);
            }
        }
    }
    String::from_utf8(buf).map_err(|_| {
        Error::new(
            Status::ResponseParse,
            format!("the response from {host} is not UTF-8"),
        )
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    FirstByte,
    Idle,
    Total,
}

struct Limits {
    /// Overall deadline and the limit it came from.
    deadline: Option<(Instant, Duration)>,
    idle: Option<Duration>,
    first_byte: Option<Duration>,
    cancel: CancelToken,
}

impl Limits {
    /// Runs `fut` under the stage's limit and the total deadline; the error names the limit hit.
    async fn run<F: std::future::Future>(&self, fut: F, stage: Stage) -> Result<F::Output> {
        let stage_limit = match stage {
            Stage::FirstByte => self.first_byte,
            Stage::Idle => self.idle,
            Stage::Total => None,
        };
        let now = Instant::now();
        let stage_deadline = stage_limit.map(|d| now + d);
        let (deadline, is_total) = match (stage_deadline, self.deadline) {
            (Some(s), Some((t, _))) if t <= s => (Some(t), true),
            (Some(s), _) => (Some(s), false),
            (None, Some((t, _))) => (Some(t), true),
            (None, None) => (None, false),
        };
        let timed = async {
            let Some(dl) = deadline else {
                return Ok(fut.await);
            };
            tokio::time::timeout_at(dl, fut)
                .await
                .map_err(|_| self.timeout_error(is_total, stage, stage_limit))
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::cancelled("the operation was cancelled")),
            r = timed => r,
        }
    }

    fn timeout_error(&self, is_total: bool, stage: Stage, stage_limit: Option<Duration>) -> Error {
        let ms = |d: Option<Duration>| d.unwrap_or_default().as_millis();
        let msg = if is_total {
            format!(
                "total time limit reached ({} ms, total_timeout_ms)",
                ms(self.deadline.map(|d| d.1))
            )
        } else if stage == Stage::Idle {
            format!(
                "no data from the server for {} ms (idle_timeout_ms)",
                ms(stage_limit)
            )
        } else {
            format!(
                "no response head within {} ms (first_byte_timeout_ms)",
                ms(stage_limit)
            )
        };
        Error::new(Status::Timeout, msg)
    }
}

/// A per-request limit in ms (0 = none) over the client's.
fn limit(request_ms: Option<u64>, client: Option<Duration>) -> Option<Duration> {
    match request_ms {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => client,
    }
}

/// openai-python's backoff: min(0.5 * 2^n, 8) s, minus up to 25 % jitter.
pub fn backoff(retries_taken: u32) -> Duration {
    let base = (0.5 * 2f64.powi(retries_taken.min(10) as i32)).min(8.0);
    Duration::from_secs_f64(base * (1.0 - 0.25 * jitter()))
}

static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

/// A cheap, non-cryptographic random value in [0, 1) (spreads retries; no rand crate needed).
fn jitter() -> f64 {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = SEED.fetch_add(t | 1, Ordering::Relaxed) ^ t;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A per-call id sent as `x-ms-client-request-id` (Azure echoes it; support asks for it).
fn client_request_id() -> String {
    let a = (jitter() * u64::MAX as f64) as u64;
    let b = (jitter() * u64::MAX as f64) as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
