//! Options builder, client lifecycle, library-wide functions.

use super::strings::owned_cstring;
use super::{
    arg_flag, arg_mut, arg_out, arg_ref, arg_str, ffi_status, ffi_value, from_raw, into_raw,
};
use crate::auth::{AccessToken, BoxFuture, TokenSource};
use crate::client::Client;
use crate::config::{ConfigBuilder, Secret, Sourced, check_header, check_retries};
use crate::error::{Error, Result, Status};
use serde_json::Value;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// API types for aoai_options_set_api_type.
pub const AOAI_API_AZURE: i32 = 0;
/// Azure v1 API (`/openai/v1/...`, deployment in the body).
pub const AOAI_API_AZURE_V1: i32 = 1;
/// OpenAI or any OpenAI-compatible server.
pub const AOAI_API_OPENAI: i32 = 2;
/// Azure with Entra ID (the default credential chain unless a credential is set).
pub const AOAI_API_AZURE_AD: i32 = 3;

/// Root certificate sets for aoai_options_set_tls_roots.
pub const AOAI_TLS_ROOTS_SYSTEM: i32 = 0;
pub const AOAI_TLS_ROOTS_BUNDLED: i32 = 1;

/// Library version, also in the header as AOAI_VERSION_*.
pub const AOAI_VERSION_MAJOR: u32 = 0;
pub const AOAI_VERSION_MINOR: u32 = 1;
pub const AOAI_VERSION_PATCH: u32 = 0;

/// Host token callback: write a NUL-terminated token into `token_buf` (capacity
/// `token_buf_len` bytes) and its expiry (unix seconds, 0 = unknown) into `*expires_on_out`;
/// return 0 on success, non-zero on failure. Called on a library thread, never after the
/// client's aoai_client_free returned.
pub type AoaiTokenCallback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        scope: *const c_char,
        token_buf: *mut c_char,
        token_buf_len: usize,
        expires_on_out: *mut i64,
    ) -> i32,
>;

/// The token callback and its user data (kept as an address so the pair is Send).
type HostCallback = (
    unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_char, usize, *mut i64) -> i32,
    usize,
);

/// Log callback: `level` 1 error .. 4 debug; `message` is borrowed for the call only.
/// May be called on any thread, concurrently. It must not call aoai functions.
pub type AoaiLogCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

/// Client configuration under construction. Not thread-safe; copy strings in; free with
/// aoai_options_free (aoai_client_new does not consume it).
pub struct AoaiOptions {
    builder: ConfigBuilder,
    token_cb: Option<HostCallback>,
}

/// A configured client. Thread-safe: share one across threads; free once with aoai_client_free.
pub struct AoaiClient {
    pub(crate) client: Client,
    host_source: Option<Arc<HostTokenSource>>,
}

/// The host's token callback as a token source. The mutex is held while the callback runs, so
/// disabling it waits for a running call: no callback after aoai_client_free returns.
struct HostTokenSource {
    cb: Arc<Mutex<Option<HostCallback>>>,
}

const TOKEN_BUF: usize = 16 * 1024;

fn call_host(cb: &Mutex<Option<HostCallback>>, scope: &str) -> Result<AccessToken> {
    let g = cb.lock().unwrap_or_else(|p| p.into_inner());
    let Some((f, ud)) = *g else {
        return Err(Error::new(Status::Cancelled, "the client was freed"));
    };
    let scope_c =
        std::ffi::CString::new(scope).map_err(|_| Error::invalid_arg("scope has a NUL"))?;
    let mut buf = vec![0u8; TOKEN_BUF];
    let mut expires: i64 = 0;
    let rc = unsafe {
        f(
            ud as *mut c_void,
            scope_c.as_ptr(),
            buf.as_mut_ptr() as *mut c_char,
            TOKEN_BUF,
            &mut expires,
        )
    };
    drop(g);
    if rc != 0 {
        return Err(Error::new(
            Status::Credential,
            format!("the host token callback failed (returned {rc})"),
        ));
    }
    let len = buf.iter().position(|&b| b == 0).ok_or_else(|| {
        Error::new(
            Status::Credential,
            "the host token callback wrote no NUL-terminated token",
        )
    })?;
    let token = std::str::from_utf8(&buf[..len]).map_err(|_| {
        Error::new(
            Status::Credential,
            "the host token callback wrote a token that is not UTF-8",
        )
    })?;
    if token.is_empty() {
        return Err(Error::new(
            Status::Credential,
            "the host token callback returned an empty token",
        ));
    }
    Ok(AccessToken {
        token: Secret::new(token),
        expires_on: (expires > 0)
            .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(expires as u64)),
    })
}

impl HostTokenSource {
    fn disable(&self) {
        *self.cb.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl TokenSource for HostTokenSource {
    fn name(&self) -> String {
        "host token callback".into()
    }
    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        // The host may block (sign-in UI, network): keep it off the I/O workers. The blocking
        // task owns its own handle on the callback, so it stays valid even if the request that
        // asked is cancelled and the client freed meanwhile (then the callback is disabled).
        let cb = self.cb.clone();
        let scope = scope.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || call_host(&cb, &scope))
                .await
                .map_err(|e| {
                    Error::new(
                        Status::Credential,
                        format!("the host token callback panicked: {e}"),
                    )
                })?
        })
    }
}

fn set(opts: &mut AoaiOptions, f: impl FnOnce(&mut crate::config::Settings)) {
    f(&mut opts.builder.explicit)
}

fn opt<T>(v: T) -> Option<Sourced<T>> {
    Some(Sourced {
        value: v,
        source: "option".into(),
    })
}

/// Azure resource URL (`https://NAME.openai.azure.com`).
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_endpoint(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_endpoint, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.endpoint = v.and_then(opt));
        Ok(())
    })
}

/// OpenAI-compatible base URL (`https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`).
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_base_url(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_base_url, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.base_url = v.and_then(opt));
        Ok(())
    })
}

/// Default deployment (Azure) or model (OpenAI).
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_deployment(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_deployment, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.deployment = v.and_then(opt));
        Ok(())
    })
}

/// Azure api-version (default 2024-10-21); "v1" or "preview" select the v1 API.
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_api_version(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_api_version, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.api_version = v.and_then(opt));
        Ok(())
    })
}

/// OpenAI-Organization header.
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_organization(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_organization, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.organization = v.and_then(opt));
        Ok(())
    })
}

/// OpenAI-Project header.
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_project(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_project, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.project = v.and_then(opt));
        Ok(())
    })
}

/// Entra ID token scope (default https://cognitiveservices.azure.com/.default).
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_token_scope(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_token_scope, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.token_scope = v.and_then(opt));
        Ok(())
    })
}

/// Proxy URL for all requests, or "none" to ignore HTTPS_PROXY/HTTP_PROXY.
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_proxy(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_proxy, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(Secret::new);
        set(o, |s| s.proxy = v.and_then(opt));
        Ok(())
    })
}

/// PEM file with extra trusted root certificates.
/// `value` is copied; NULL clears the option (falls back to JSON config and environment).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_ca_file(
    opts: *mut AoaiOptions,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_ca_file, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(value, "value")?.map(str::to_string);
        set(o, |s| s.ca_file = v.and_then(opt));
        Ok(())
    })
}

/// Connect time limit in ms (default 10000; 0 = none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_connect_timeout_ms(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_connect_timeout_ms, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.connect_timeout_ms = opt(value));
        Ok(())
    })
}

/// Time limit from sending to the response head, in ms (default 0 = none; total applies).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_first_byte_timeout_ms(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_first_byte_timeout_ms, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.first_byte_timeout_ms = opt(value));
        Ok(())
    })
}

/// Longest silence between body chunks, in ms (default 60000; 0 = none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_idle_timeout_ms(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_idle_timeout_ms, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.idle_timeout_ms = opt(value));
        Ok(())
    })
}

/// Time limit for a whole call including retries, in ms (default 600000; 0 = none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_total_timeout_ms(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_total_timeout_ms, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.total_timeout_ms = opt(value));
        Ok(())
    })
}

/// Longest server-requested retry wait that is honoured, in ms (default 60000).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_max_retry_after_ms(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_max_retry_after_ms, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.max_retry_after_ms = opt(value));
        Ok(())
    })
}

/// Largest response body accepted, in bytes (default 64 MiB; minimum 1024).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_max_response_bytes(
    opts: *mut AoaiOptions,
    value: u64,
) -> Status {
    ffi_status!(aoai_options_set_max_response_bytes, {
        let o = arg_mut(opts, "opts")?;
        set(o, |s| s.max_response_bytes = opt(value));
        Ok(())
    })
}

/// Creates an empty options builder in `*opts_out`. Free it with aoai_options_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_new(opts_out: *mut *mut AoaiOptions) -> Status {
    ffi_status!(aoai_options_new, {
        let out = arg_out(opts_out, "opts_out")?;
        *out = into_raw(AoaiOptions {
            builder: ConfigBuilder::new(),
            token_cb: None,
        });
        Ok(())
    })
}

/// AOAI_API_AZURE, AOAI_API_AZURE_V1, AOAI_API_OPENAI or AOAI_API_AZURE_AD.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_api_type(
    opts: *mut AoaiOptions,
    api_type: i32,
) -> Status {
    ffi_status!(aoai_options_set_api_type, {
        let o = arg_mut(opts, "opts")?;
        let word = match api_type {
            AOAI_API_AZURE => "azure",
            AOAI_API_AZURE_V1 => "azure_v1",
            AOAI_API_OPENAI => "openai",
            AOAI_API_AZURE_AD => "azure_ad",
            _ => {
                return Err(Error::invalid_arg(format!(
                    "api_type {api_type} is not one of AOAI_API_AZURE(0), AOAI_API_AZURE_V1(1), AOAI_API_OPENAI(2), AOAI_API_AZURE_AD(3)"
                )));
            }
        };
        set(o, |s| s.api_type = opt(word.to_string()));
        Ok(())
    })
}

/// API key (`api-key` header for Azure, `Authorization: Bearer` for OpenAI). Copied; never
/// printed. NULL clears it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_api_key(
    opts: *mut AoaiOptions,
    key: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_api_key, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(key, "key")?.map(Secret::new);
        set(o, |s| s.api_key = v.and_then(opt));
        Ok(())
    })
}

/// A fixed Entra ID access token (`Authorization: Bearer`). Copied; never printed.
/// NULL clears it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_ad_token(
    opts: *mut AoaiOptions,
    token: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_ad_token, {
        let o = arg_mut(opts, "opts")?;
        let v = super::arg_opt_str(token, "token")?.map(Secret::new);
        set(o, |s| s.ad_token = v.and_then(opt));
        Ok(())
    })
}

/// Entra ID credential: a name ("default", "managed_identity", "azure_cli",
/// "azure_developer_cli", "client_secret", "workload_identity", "environment") or a JSON
/// object/array describing a source or a chain. See docs/entra-id.md.
/// Copied; NULL clears it; a spec starting with `{` or `[` must be JSON
/// (AOAI_STATUS_INVALID_JSON).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_credential(
    opts: *mut AoaiOptions,
    spec: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_credential, {
        let o = arg_mut(opts, "opts")?;
        let v = match super::arg_opt_str(spec, "spec")? {
            None => None,
            Some(t) if t.trim_start().starts_with(['{', '[']) => {
                Some(crate::request::parse_json("credential spec", t)?)
            }
            Some(t) => Some(Value::String(t.to_string())),
        };
        set(o, |s| s.credential = v.and_then(opt));
        Ok(())
    })
}

/// Tokens come from the host: `callback` (may be NULL) is asked for a token when needed,
/// and aoai_client_set_token pushes new ones. `user_data` is passed back untouched.
/// The callback runs on a library thread reserved for blocking work and may block; at most
/// one call at a time per client; `token_buf_len` is 16 KiB. `user_data` must stay valid until
/// aoai_client_free has returned for every client made from these options. With `callback`
/// NULL, calls fail with AOAI_STATUS_CREDENTIAL until a token is pushed with
/// aoai_client_set_token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_token_callback(
    opts: *mut AoaiOptions,
    callback: AoaiTokenCallback,
    user_data: *mut c_void,
) -> Status {
    ffi_status!(aoai_options_set_token_callback, {
        let o = arg_mut(opts, "opts")?;
        o.token_cb = callback.map(|f| (f, user_data as usize));
        set(o, |s| s.credential = opt(Value::String("host".into())));
        Ok(())
    })
}

/// 1 allows http:// to a non-loopback host (keys in clear text: only for trusted networks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_allow_insecure_http(
    opts: *mut AoaiOptions,
    allow: i32,
) -> Status {
    ffi_status!(aoai_options_set_allow_insecure_http, {
        let o = arg_mut(opts, "opts")?;
        let v = arg_flag(allow, "allow")?;
        set(o, |s| s.allow_insecure_http = opt(v));
        Ok(())
    })
}

/// Root certificates: AOAI_TLS_ROOTS_SYSTEM (default: the platform store, and the bundled
/// Mozilla roots when the host has none) or AOAI_TLS_ROOTS_BUNDLED (only the bundled roots,
/// plus aoai_options_set_ca_file).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_tls_roots(opts: *mut AoaiOptions, roots: i32) -> Status {
    ffi_status!(aoai_options_set_tls_roots, {
        let o = arg_mut(opts, "opts")?;
        let word = match roots {
            AOAI_TLS_ROOTS_SYSTEM => "system",
            AOAI_TLS_ROOTS_BUNDLED => "bundled",
            _ => {
                return Err(Error::invalid_arg(format!(
                    "roots {roots} is not AOAI_TLS_ROOTS_SYSTEM(0) or AOAI_TLS_ROOTS_BUNDLED(1)"
                )));
            }
        };
        set(o, |s| s.tls_roots = opt(word.to_string()));
        Ok(())
    })
}

/// Retries after a failed attempt (connection errors, 408, 409, 429, 5xx); default 2, max 20.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_max_retries(
    opts: *mut AoaiOptions,
    retries: u32,
) -> Status {
    ffi_status!(aoai_options_set_max_retries, {
        let o = arg_mut(opts, "opts")?;
        let v = check_retries(retries as u64)?;
        set(o, |s| s.max_retries = opt(v));
        Ok(())
    })
}

/// Adds a header to every request (not api-key/authorization, which the library sets).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_add_header(
    opts: *mut AoaiOptions,
    name: *const c_char,
    value: *const c_char,
) -> Status {
    ffi_status!(aoai_options_add_header, {
        let o = arg_mut(opts, "opts")?;
        let (n, v) = (arg_str(name, "name")?, arg_str(value, "value")?);
        check_header(n, v)?;
        let n = n.to_ascii_lowercase();
        o.builder.explicit.headers.retain(|(k, _)| *k != n);
        o.builder.explicit.headers.push((n, v.to_string()));
        Ok(())
    })
}

/// A default request parameter for every call (`"temperature"`, `"0.2"`); requests override it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_default_json(
    opts: *mut AoaiOptions,
    key: *const c_char,
    value_json: *const c_char,
) -> Status {
    ffi_status!(aoai_options_set_default_json, {
        let o = arg_mut(opts, "opts")?;
        let k = arg_str(key, "key")?;
        let v = crate::request::parse_json(
            &format!("default '{k}'"),
            arg_str(value_json, "value_json")?,
        )?;
        o.builder.explicit.defaults.insert(k.to_string(), v);
        Ok(())
    })
}

/// 0 ignores environment variables; 1 reads them (the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_set_use_environment(
    opts: *mut AoaiOptions,
    use_env: i32,
) -> Status {
    ffi_status!(aoai_options_set_use_environment, {
        let o = arg_mut(opts, "opts")?;
        o.builder.use_env = Some(arg_flag(use_env, "use_env")?);
        Ok(())
    })
}

/// Loads a JSON config (text starting with `{`, else a file path) as the layer between
/// explicit options and the environment. Unknown keys are errors.
/// Read now (a path is relative to the current directory); a second call replaces the JSON
/// layer. Unknown key or unreadable file: AOAI_STATUS_INVALID_CONFIG; bad JSON or wrong types:
/// AOAI_STATUS_INVALID_JSON.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_load_json(
    opts: *mut AoaiOptions,
    json_or_path: *const c_char,
) -> Status {
    ffi_status!(aoai_options_load_json, {
        let o = arg_mut(opts, "opts")?;
        o.builder.load_json(arg_str(json_or_path, "json_or_path")?)
    })
}

/// Creates a client from the options (explicit options > JSON config > environment) in
/// `*client_out`. The options stay owned by the caller and may be freed right after.
/// Free it with aoai_client_free. No network I/O happens here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_new(
    opts: *const AoaiOptions,
    client_out: *mut *mut AoaiClient,
) -> Status {
    ffi_status!(aoai_client_new, {
        let out = arg_out(client_out, "client_out")?;
        let o = arg_ref(opts, "opts")?;
        *out = into_raw(make_client(&o.builder, o.token_cb)?);
        Ok(())
    })
}

/// Creates a client from environment variables only (AZURE_OPENAI_ENDPOINT, ...).
/// Free it with aoai_client_free. No network I/O happens here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_from_env(client_out: *mut *mut AoaiClient) -> Status {
    ffi_status!(aoai_client_from_env, {
        let out = arg_out(client_out, "client_out")?;
        *out = into_raw(make_client(&ConfigBuilder::new(), None)?);
        Ok(())
    })
}

/// Creates a client from a JSON config (text or file path) over the environment.
/// The text or file is read now. Free the client with aoai_client_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_from_json(
    json_or_path: *const c_char,
    client_out: *mut *mut AoaiClient,
) -> Status {
    ffi_status!(aoai_client_from_json, {
        let out = arg_out(client_out, "client_out")?;
        let mut b = ConfigBuilder::new();
        b.load_json(arg_str(json_or_path, "json_or_path")?)?;
        *out = into_raw(make_client(&b, None)?);
        Ok(())
    })
}

/// The effective configuration as JSON (secrets redacted) in `*json_out`; free it with
/// aoai_string_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_describe(
    client: *const AoaiClient,
    json_out: *mut *mut c_char,
) -> Status {
    ffi_status!(aoai_client_describe, {
        let out = arg_out(json_out, "json_out")?;
        let c = arg_ref(client, "client")?;
        *out = owned_cstring(&c.client.describe());
        Ok(())
    })
}

/// Pushes a new Entra ID token into a live client that uses tokens (token callback or
/// credential). `expires_on_unix` 0 means unknown. Thread-safe.
/// The token is copied and never printed. AOAI_STATUS_INVALID_STATE for a client that uses a
/// fixed key or token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_set_token(
    client: *const AoaiClient,
    token: *const c_char,
    expires_on_unix: i64,
) -> Status {
    ffi_status!(aoai_client_set_token, {
        let c = arg_ref(client, "client")?;
        c.client
            .set_token(arg_str(token, "token")?, expires_on_unix)
    })
}

/// Stops the library runtime and its threads. Free every client first; clients that are
/// still alive fail with AOAI_STATUS_SHUTDOWN afterwards. A later aoai_client_* call starts
/// a new runtime. Not from a callback (AOAI_STATUS_WRONG_THREAD).
/// Blocks up to about 5 s while the threads stop; no other thread may be making aoai calls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_shutdown() -> Status {
    ffi_status!(aoai_shutdown, { crate::runtime::shutdown() })
}

/// Routes library logs to `callback`; NULL sends messages up to `max_level` to stderr
/// (`NULL, NULL, 0` turns logging off). This replaces AOAI_LOG's level.
/// `max_level`: 0 off, 1 error, 2 warn, 3 info, 4 debug. Process-wide; set it at startup.
/// Returns once the previous callback is not running (call it with NULL before unloading
/// the code behind a callback). Never call it from inside the log callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_set_log_callback(
    callback: AoaiLogCallback,
    user_data: *mut c_void,
    max_level: i32,
) -> Status {
    ffi_status!(aoai_set_log_callback, {
        if !(0..=4).contains(&max_level) {
            return Err(Error::invalid_arg(format!(
                "max_level must be 0..4 (got {max_level})"
            )));
        }
        let sink: Option<crate::log::LogFn> = callback.map(|f| {
            let ud = user_data as usize;
            Arc::new(move |level: crate::log::Level, msg: &str| {
                let c = std::ffi::CString::new(msg.replace('\0', " ")).unwrap_or_default();
                unsafe { f(ud as *mut c_void, level as i32, c.as_ptr()) }
            }) as crate::log::LogFn
        });
        crate::log::set_sink(sink, max_level);
        Ok(())
    })
}

/// Test hook: panics inside the library; returns AOAI_STATUS_PANIC and the library keeps
/// working. Lets bindings test their panic path.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_debug_panic() -> Status {
    ffi_status!(aoai_debug_panic, {
        panic!("deliberate panic from aoai_debug_panic");
    })
}

fn make_client(builder: &ConfigBuilder, token_cb: Option<HostCallback>) -> Result<AoaiClient> {
    let config = builder.build()?;
    let host_source = token_cb.map(|cb| {
        Arc::new(HostTokenSource {
            cb: Arc::new(Mutex::new(Some(cb))),
        })
    });
    let dyn_source = host_source.clone().map(|s| s as Arc<dyn TokenSource>);
    let client = Client::new(config, dyn_source)?;
    Ok(AoaiClient {
        client,
        host_source,
    })
}

/// Frees options. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_options_free(opts: *mut AoaiOptions) {
    ffi_value!(aoai_options_free, (), {
        drop(from_raw(opts));
        Ok(())
    })
}

/// Frees a client: cancels its running operations and returns only when none of its
/// callbacks (notify, token) is running or can run again. NULL is a no-op. Do not call it
/// from one of this client's callbacks.
/// No other thread may be using the client. Operations started on it stay valid (cancelled)
/// until aoai_op_free.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_client_free(client: *mut AoaiClient) {
    ffi_value!(aoai_client_free, (), {
        if let Some(c) = from_raw(client) {
            c.client.shutdown_ops();
            if let Some(h) = &c.host_source {
                h.disable();
            }
        }
        Ok(())
    })
}

/// The library version, e.g. "0.1.0". Static; never free it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_version() -> *const c_char {
    ffi_value!(aoai_version, c"".as_ptr(), {
        Ok(concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char)
    })
}

/// The library version as (MAJOR << 16) | (MINOR << 8) | PATCH, to compare with
/// AOAI_VERSION_NUMBER from the header you compiled against.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aoai_version_number() -> u32 {
    ffi_value!(aoai_version_number, 0, {
        Ok((AOAI_VERSION_MAJOR << 16) | (AOAI_VERSION_MINOR << 8) | AOAI_VERSION_PATCH)
    })
}
