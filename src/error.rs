//! Errors of the safe core: one `Error` type that carries everything a caller may need to act
//! (status, HTTP status, service code, request id, retry hint, filtered categories).

use std::fmt;

/// Stable status codes. Numbers are part of the ABI: never reuse or renumber one; retired
/// values stay reserved in a comment.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// Success.
    #[default]
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument was out of range or malformed (the message names it).
    InvalidArgument = 2,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 3,
    /// A JSON argument (request, config, tool schema) did not parse or had the wrong shape.
    InvalidJson = 4,
    /// The configuration is incomplete or inconsistent (missing endpoint, key, ...).
    InvalidConfig = 5,
    /// The call is not allowed in the object's current state (e.g. response taken twice).
    InvalidState = 6,
    /// Nothing is available right now (an operation's event queue is empty).
    Empty = 7,
    /// A time limit was reached (the message says which one).
    Timeout = 8,
    /// The operation was cancelled by the caller (cancel call, callback stop, client free).
    Cancelled = 9,
    /// A blocking call was made from a library thread (a callback), where it would deadlock.
    WrongThread = 10,
    /// A bug inside the library was caught at the boundary; the library keeps working.
    Panic = 11,
    /// The library runtime was shut down with `aoai_shutdown`.
    Shutdown = 12,
    /// Could not connect, resolve the host, or the connection broke.
    Connection = 100,
    /// The TLS handshake failed (untrusted certificate, protocol error).
    Tls = 101,
    /// The service answered with an HTTP error not covered by a more specific status.
    Http = 200,
    /// HTTP 400: the service rejected the request.
    BadRequest = 201,
    /// HTTP 401: the key or token was rejected.
    Authentication = 202,
    /// HTTP 403: the identity lacks permission (RBAC role, network rules).
    PermissionDenied = 203,
    /// HTTP 404: unknown deployment, model, api-version or path.
    NotFound = 204,
    /// HTTP 429: rate limit or quota; see the retry-after value.
    RateLimited = 205,
    /// The prompt or the completion was blocked by the content filter.
    ContentFiltered = 206,
    /// HTTP 5xx: the service failed.
    Server = 207,
    /// The response body was not what the API returns (not JSON, truncated, HTML page).
    ResponseParse = 300,
    /// A stream broke off, ended without a finish, or carried an in-band error event.
    Stream = 301,
    /// The response exceeded the configured maximum size.
    ResponseTooLarge = 302,
    /// A token could not be obtained from the configured credential.
    Credential = 400,
}

/// Every status, in numeric order.
/// cbindgen:ignore
pub const ALL_STATUSES: [Status; 27] = [
    Status::Ok,
    Status::NullArgument,
    Status::InvalidArgument,
    Status::InvalidUtf8,
    Status::InvalidJson,
    Status::InvalidConfig,
    Status::InvalidState,
    Status::Empty,
    Status::Timeout,
    Status::Cancelled,
    Status::WrongThread,
    Status::Panic,
    Status::Shutdown,
    Status::Connection,
    Status::Tls,
    Status::Http,
    Status::BadRequest,
    Status::Authentication,
    Status::PermissionDenied,
    Status::NotFound,
    Status::RateLimited,
    Status::ContentFiltered,
    Status::Server,
    Status::ResponseParse,
    Status::Stream,
    Status::ResponseTooLarge,
    Status::Credential,
];

impl Status {
    /// Every status, for tables and tests.
    /// cbindgen:ignore
    pub const ALL: [Status; 27] = ALL_STATUSES;

    /// A short static description, used by `aoai_status_str`.
    pub fn as_cstr(self) -> &'static std::ffi::CStr {
        match self {
            Status::Ok => c"ok",
            Status::NullArgument => c"null argument",
            Status::InvalidArgument => c"invalid argument",
            Status::InvalidUtf8 => c"invalid UTF-8",
            Status::InvalidJson => c"invalid JSON",
            Status::InvalidConfig => c"invalid configuration",
            Status::InvalidState => c"invalid state",
            Status::Empty => c"empty",
            Status::Timeout => c"timeout",
            Status::Cancelled => c"cancelled",
            Status::WrongThread => c"wrong thread",
            Status::Panic => c"internal panic",
            Status::Shutdown => c"library shut down",
            Status::Connection => c"connection error",
            Status::Tls => c"TLS error",
            Status::Http => c"HTTP error",
            Status::BadRequest => c"bad request",
            Status::Authentication => c"authentication failed",
            Status::PermissionDenied => c"permission denied",
            Status::NotFound => c"not found",
            Status::RateLimited => c"rate limited",
            Status::ContentFiltered => c"content filtered",
            Status::Server => c"server error",
            Status::ResponseParse => c"unparseable response",
            Status::Stream => c"stream error",
            Status::ResponseTooLarge => c"response too large",
            Status::Credential => c"credential error",
        }
    }

    pub fn as_str(self) -> &'static str {
        self.as_cstr().to_str().unwrap_or("")
    }

    pub fn from_i32(v: i32) -> Option<Status> {
        ALL_STATUSES.iter().copied().find(|s| *s as i32 == v)
    }
}

/// A failure with all the detail the service and the transport gave us.
#[derive(Clone, Debug, Default)]
pub struct Error {
    pub status: Status,
    pub message: String,
    /// HTTP status of the failing response, 0 when there was none.
    pub http_status: u16,
    /// Service error code (`content_filter`, `DeploymentNotFound`, `401`, `rate_limit_exceeded`).
    pub code: Option<String>,
    /// OpenAI error `type` (absent on Azure gateway errors).
    pub error_type: Option<String>,
    /// OpenAI error `param`.
    pub param: Option<String>,
    /// `apim-request-id` or `x-request-id` of the failing response.
    pub request_id: Option<String>,
    /// The server's retry hint, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// Content-filter categories marked `filtered: true`.
    pub filtered_categories: Vec<String>,
    /// Raw body of the failing response (service error JSON), when there was one.
    pub body: Option<String>,
    /// Headers of the failing response, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// HTTP attempts made (1 + retries).
    pub attempts: u32,
    /// What a broken stream had delivered before it failed.
    pub partial: Option<std::sync::Arc<crate::response::Response>>,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
            ..Default::default()
        }
    }

    pub fn invalid_arg(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    pub fn config(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidConfig, message)
    }

    pub fn json(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidJson, message)
    }

    pub fn state(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidState, message)
    }

    pub fn cancelled(message: impl Into<String>) -> Error {
        Error::new(Status::Cancelled, message)
    }

    /// Value of a response header of the failing response (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// Case-insensitive lookup in a lower-cased header list.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Renders an error with its whole `source()` chain: `Display` alone hides the cause
/// (reqwest says "error sending request" and keeps "connection refused" in the chain).
pub fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}
