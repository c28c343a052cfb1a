//! Maps HTTP error responses (Azure gateway, Azure model, OpenAI shapes) and transport
//! failures to `Error`, and reads the retry hints the service gives.

use crate::error::{Error, Status, chain_message, find_header};
use crate::response::{filtered_categories, request_id_of, snippet};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The error for a non-2xx response. `host` names the server in the message.
pub fn from_http(status: u16, headers: Vec<(String, String)>, body: &str, host: &str) -> Error {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let err_obj = parsed.as_ref().and_then(|v| {
        v.get("error")
            .filter(|e| e.is_object())
            .or_else(|| v.get("message").map(|_| v))
    });
    let code = err_obj.and_then(|e| str_of(e.get("code")));
    let message = err_obj.and_then(|e| str_of(e.get("message")));
    let error_type = err_obj.and_then(|e| str_of(e.get("type")));
    let param = err_obj.and_then(|e| str_of(e.get("param")));
    // The wire says `innererror` + `content_filter_result`; the spec says `inner_error` +
    // `content_filter_results`. Accept both.
    let inner = err_obj.and_then(|e| e.get("innererror").or_else(|| e.get("inner_error")));
    let inner_code = inner.and_then(|i| str_of(i.get("code")));
    let filter = inner.and_then(|i| {
        i.get("content_filter_result")
            .or_else(|| i.get("content_filter_results"))
    });
    let filtered = filter.map(filtered_categories).unwrap_or_default();
    let is_filter = code.as_deref() == Some("content_filter")
        || inner_code.as_deref() == Some("ResponsibleAIPolicyViolation");
    let st = match status {
        400 if is_filter => Status::ContentFiltered,
        400 | 422 => Status::BadRequest,
        401 => Status::Authentication,
        403 => Status::PermissionDenied,
        404 => Status::NotFound,
        408 => Status::Timeout,
        429 => Status::RateLimited,
        500..=599 => Status::Server,
        _ => Status::Http,
    };
    let retry_after_ms = retry_after(&headers).map(|d| d.as_millis() as u64);
    let detail = match &message {
        Some(m) => m.clone(),
        None if body.trim().is_empty() => "(empty body)".to_string(),
        None => format!(
            "unexpected body (content-type {}): {}",
            find_header(&headers, "content-type").unwrap_or("none"),
            snippet(body)
        ),
    };
    let mut msg = format!("HTTP {status} from {host}");
    if let Some(c) = &code {
        msg.push_str(&format!(" ({c})"));
    }
    msg.push_str(": ");
    msg.push_str(&detail);
    if !filtered.is_empty() {
        msg.push_str(&format!(" [filtered categories: {}]", filtered.join(", ")));
    }
    Error {
        status: st,
        message: msg,
        http_status: status,
        code: code.or(inner_code),
        error_type,
        param,
        request_id: request_id_of(&headers),
        retry_after_ms,
        filtered_categories: filtered,
        body: Some(body.to_string()),
        headers,
        attempts: 1,
        partial: None,
    }
}

/// Whether a failed response may be retried: the `x-should-retry` header wins, then
/// 408, 409, 429 and 5xx (openai-python's rules).
pub fn retryable_status(status: u16, headers: &[(String, String)]) -> bool {
    match find_header(headers, "x-should-retry") {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The server's wait hint: `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` in
/// seconds or as an HTTP date.
pub fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = find_header(headers, name).and_then(|v| v.trim().parse::<f64>().ok()) {
            if ms.is_finite() && ms >= 0.0 {
                return Some(Duration::from_micros((ms * 1000.0) as u64));
            }
        }
    }
    let v = find_header(headers, "retry-after")?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        // Too large for a Duration (`Retry-After: 1e30`): the longest wait the ms hints can
        // express, so it is over any cap and the call fails at once (never a panic).
        let longest = Duration::from_micros(u64::MAX);
        return (secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).map_or(longest, |d| d.min(longest)));
    }
    let at = parse_http_date(v)?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// RFC 7231 IMF-fixdate: `Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == mon)? as i64 + 1;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    // A hostile date must not overflow the arithmetic below (debug builds panic on overflow).
    if !(1..=31).contains(&day)
        || !(0..=9999).contains(&year)
        || !(0..24).contains(h)
        || !(0..60).contains(m)
        || !(0..=60).contains(sec)
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    (secs >= 0).then(|| UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// Classifies a transport failure. Returns the error and whether a retry may help.
pub fn from_transport(
    e: &reqwest::Error,
    host: &str,
    connect_timeout: Option<Duration>,
) -> (Error, bool) {
    let chain = chain_message(e);
    let lower = chain.to_ascii_lowercase();
    let tls = lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("unknownissuer");
    if e.is_connect() && e.is_timeout() {
        let limit = connect_timeout
            .map(|d| format!(" within {} ms", d.as_millis()))
            .unwrap_or_default();
        return (
            Error::new(
                Status::Timeout,
                format!("connect timeout: could not connect to {host}{limit} (connect_timeout_ms)"),
            ),
            true,
        );
    }
    if tls {
        return (
            Error::new(
                Status::Tls,
                format!("TLS failure talking to {host}: {chain}"),
            ),
            false,
        );
    }
    if e.is_connect() {
        let dns = lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve");
        let what = if dns {
            "could not resolve"
        } else {
            "could not connect to"
        };
        return (
            Error::new(Status::Connection, format!("{what} {host}: {chain}")),
            // A name that does not resolve will not resolve a second later.
            !dns,
        );
    }
    if e.is_timeout() {
        return (
            Error::new(
                Status::Timeout,
                format!("timeout talking to {host}: {chain}"),
            ),
            true,
        );
    }
    (
        Error::new(
            Status::Connection,
            format!("connection to {host} failed: {chain}"),
        ),
        e.is_request() || e.is_body(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn content_filter_400_with_innererror() {
        let body = r#"{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}"#;
        let e = from_http(
            400,
            h(&[("apim-request-id", "r1")]),
            body,
            "x.openai.azure.com",
        );
        assert_eq!(e.status, Status::ContentFiltered);
        assert_eq!(e.code.as_deref(), Some("content_filter"));
        assert_eq!(e.filtered_categories, vec!["violence"]);
        assert_eq!(e.param.as_deref(), Some("prompt"));
        assert_eq!(e.request_id.as_deref(), Some("r1"));
        assert!(e.message.contains("x.openai.azure.com"), "{}", e.message);
    }

    #[test]
    fn spec_spelling_and_no_innererror() {
        let body = r#"{"error":{"code":"content_filter","message":"m","inner_error":{"code":"ResponsibleAIPolicyViolation","content_filter_results":{"sexual":{"filtered":true,"severity":"high"}}}}}"#;
        let e = from_http(400, vec![], body, "h");
        assert_eq!(e.filtered_categories, vec!["sexual"]);
        let e = from_http(
            400,
            vec![],
            r#"{"error":{"code":"content_filter","message":"m"}}"#,
            "h",
        );
        assert_eq!(e.status, Status::ContentFiltered);
        assert!(e.filtered_categories.is_empty());
    }

    #[test]
    fn gateway_codes_are_strings_and_html_bodies_are_quoted() {
        let e = from_http(
            401,
            vec![],
            r#"{"error":{"code":"401","message":"Access denied"}}"#,
            "h",
        );
        assert_eq!(
            (e.status, e.code.as_deref()),
            (Status::Authentication, Some("401"))
        );
        let e = from_http(
            502,
            h(&[("content-type", "text/html")]),
            "<html>Bad Gateway</html>",
            "h",
        );
        assert_eq!(e.status, Status::Server);
        assert!(e.message.contains("text/html") && e.message.contains("Bad Gateway"));
    }

    #[test]
    fn retry_hints() {
        assert_eq!(
            retry_after(&h(&[("retry-after-ms", "1500")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&h(&[("x-ms-retry-after-ms", "20")])),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            retry_after(&h(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_445_412_480))
        );
        assert!(
            retryable_status(429, &[]) && retryable_status(503, &[]) && !retryable_status(400, &[])
        );
        assert!(!retryable_status(503, &h(&[("x-should-retry", "false")])));
    }
}
