//! Error bodies, copied from what Azure OpenAI and OpenAI actually send
//! (see the wire reference §8).

use serde_json::{Value, json};

use crate::http::reason;
use crate::router::{Flavor, Op};
use crate::script::Directives;

pub const ACCESS_DENIED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";
pub const DEPLOYMENT_NOT_FOUND: &str = "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.";
pub const SERVER_ERROR: &str =
    "The server had an error while processing your request. Sorry about that!";
pub const CONTENT_FILTER: &str = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";
pub const INVALID_JSON: &str = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

/// Azure gateway shape: `code` is a string, no `type`/`param`.
pub fn azure(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// OpenAI shape (also used by Azure for model-level validation errors).
pub fn openai(message: &str, kind: Option<&str>, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

pub fn invalid_request(message: &str, param: Option<&str>) -> Value {
    openai(message, Some("invalid_request_error"), param, None)
}

pub fn unauthorized(flavor: Flavor) -> Value {
    match flavor {
        Flavor::OpenAi => openai(
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            Some("invalid_request_error"),
            None,
            Some("invalid_api_key"),
        ),
        _ => azure("401", ACCESS_DENIED),
    }
}

pub fn model_not_found(flavor: Flavor, name: &str) -> Value {
    match flavor {
        Flavor::OpenAi => openai(
            &format!("The model `{name}` does not exist or you do not have access to it."),
            Some("invalid_request_error"),
            None,
            Some("model_not_found"),
        ),
        _ => azure("DeploymentNotFound", DEPLOYMENT_NOT_FOUND),
    }
}

pub fn resource_not_found() -> Value {
    azure("404", "Resource not found")
}

pub fn unknown_path(flavor: Flavor, method: &str, path: &str) -> Value {
    match flavor {
        Flavor::OpenAi => openai(
            &format!("Invalid URL ({method} {path})"),
            Some("invalid_request_error"),
            None,
            None,
        ),
        _ => resource_not_found(),
    }
}

pub fn operation_not_supported(op: Op, model: &str) -> Value {
    azure(
        "OperationNotSupported",
        &format!(
            "The {} operation does not work with the specified model, {model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
            op.azure_name()
        ),
    )
}

/// Prompt content-filter 400, with `category` marked as filtered.
pub fn content_filter(category: &str, with_inner: bool) -> Value {
    let safe = || json!({"filtered": false, "severity": "safe"});
    let mut result = json!({
        "hate": safe(), "self_harm": safe(), "sexual": safe(), "violence": safe(),
    });
    result[category] = match category {
        "jailbreak" | "profanity" => json!({"filtered": true, "detected": true}),
        _ => json!({"filtered": true, "severity": "medium"}),
    };
    let mut err = json!({
        "message": CONTENT_FILTER, "type": null, "param": "prompt",
        "code": "content_filter", "status": 400,
    });
    if with_inner {
        err["innererror"] = json!({
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": result,
        });
    }
    json!({ "error": err })
}

/// What the failing request was about, for realistic messages.
pub struct ErrCtx<'a> {
    pub flavor: Flavor,
    pub op: Option<Op>,
    pub api_version: &'a str,
    pub model: &'a str,
}

pub struct ErrorOut {
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

fn html_page(status: u16) -> Vec<u8> {
    let title = format!("{status} {}", reason(status));
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    .into_bytes()
}

fn retry_headers(dirs: &Directives) -> (String, Vec<(String, String)>) {
    let after = dirs.get("retry-after").unwrap_or("1").trim().to_string();
    if after == "none" {
        return ("1".into(), Vec::new());
    }
    let mut headers = vec![("retry-after".to_string(), after.clone())];
    for key in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(v) = dirs.get(key) {
            headers.push((key.to_string(), v.trim().to_string()));
        }
    }
    (after, headers)
}

fn rate_limited(ctx: &ErrCtx, seconds: &str) -> Value {
    match ctx.flavor {
        Flavor::OpenAi => openai(
            &format!(
                "Rate limit reached for {} in organization org-emulator on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. Please try again in {seconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                ctx.model
            ),
            Some("tokens"),
            None,
            Some("rate_limit_exceeded"),
        ),
        _ => azure(
            "429",
            &format!(
                "Requests to the {} Operation under Azure OpenAI API version {} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after {seconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
                ctx.op.unwrap_or(Op::Chat).azure_operation(),
                ctx.api_version
            ),
        ),
    }
}

fn bad_request(dirs: &Directives) -> Value {
    if dirs.get("code") == Some("content_filter") {
        let category = dirs.get("category").unwrap_or("violence");
        return content_filter(category, dirs.get("inner") != Some("none"));
    }
    let message = dirs
        .get("message")
        .unwrap_or("The request was rejected by the aoai emulator as scripted.");
    openai(
        message,
        Some("invalid_request_error"),
        None,
        dirs.get("code"),
    )
}

fn generic(ctx: &ErrCtx, status: u16, dirs: &Directives) -> Value {
    let message = dirs.get("message");
    match (ctx.flavor, status) {
        (Flavor::OpenAi, 500..) => openai(
            message.unwrap_or(SERVER_ERROR),
            Some("server_error"),
            None,
            None,
        ),
        (Flavor::OpenAi, _) => openai(
            message.unwrap_or(reason(status)),
            Some("invalid_request_error"),
            None,
            dirs.get("code"),
        ),
        (_, 500..) => azure(
            dirs.get("code").unwrap_or("InternalServerError"),
            message.unwrap_or(SERVER_ERROR),
        ),
        (_, 403) => azure(
            "403",
            message.unwrap_or("Access denied due to Virtual Network/Firewall rules."),
        ),
        (_, 408) => azure("408", message.unwrap_or("Request timed out.")),
        (_, _) => azure(&status.to_string(), message.unwrap_or(reason(status))),
    }
}

/// The realistic answer for `status=N` (directive or status-only script entry).
pub fn for_status(status: u16, ctx: &ErrCtx, dirs: &Directives) -> ErrorOut {
    let mut headers = Vec::new();
    let body = match status {
        400 => bad_request(dirs),
        401 => {
            if let Some(m) = dirs.get("message") {
                azure("401", m)
            } else {
                unauthorized(ctx.flavor)
            }
        }
        404 => model_not_found(ctx.flavor, ctx.model),
        429 => {
            let (seconds, retry) = retry_headers(dirs);
            headers = retry;
            headers.push(("x-ratelimit-remaining-tokens".into(), "0".into()));
            rate_limited(ctx, &seconds)
        }
        _ => generic(ctx, status, dirs),
    };
    if dirs.get("body") == Some("html") {
        return ErrorOut {
            body: html_page(status),
            content_type: "text/html".into(),
            headers,
        };
    }
    ErrorOut {
        body: body.to_string().into_bytes(),
        content_type: "application/json".into(),
        headers,
    }
}
