//! Configuration: three layers (explicit options > JSON config > environment), resolved and
//! validated once into an immutable `Config`. Every setting remembers where it came from so
//! `describe` can explain the effective configuration.

use crate::error::{Error, Result};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Latest dated GA api-version of the Azure deployments API (wire reference §2).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// OpenAI's public base URL.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Entra ID scope for Azure OpenAI.
pub const DEFAULT_TOKEN_SCOPE: &str = "https://cognitiveservices.azure.com/.default";

pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_TOTAL_TIMEOUT_MS: u64 = 600_000;
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_MAX_RETRY_AFTER_MS: u64 = 60_000;
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// A string that must never be printed: `Debug` and `Display` show only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The only way to read the secret; call sites are the auth header and credential code.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which wire dialect the client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiType {
    /// `{endpoint}/openai/deployments/{deployment}/{op}?api-version=...`
    Azure,
    /// `{endpoint}/openai/v1/{op}`, deployment in the body's `model`.
    AzureV1,
    /// `{base_url}/{op}`, model in the body, `Authorization: Bearer`.
    OpenAi,
}

impl ApiType {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiType::Azure => "azure",
            ApiType::AzureV1 => "azure_v1",
            ApiType::OpenAi => "openai",
        }
    }
}

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum AuthConfig {
    /// Azure `api-key` header (or `Authorization: Bearer` for OpenAI).
    ApiKey(Secret),
    /// A fixed Entra ID token (`AZURE_OPENAI_AD_TOKEN`), sent as `Authorization: Bearer`.
    StaticToken(Secret),
    /// Entra ID through azure_identity credentials (a JSON spec: a source or a chain).
    Entra(Value),
    /// Tokens come from the host (a callback or pushes into the live client).
    Host,
}

impl AuthConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            AuthConfig::ApiKey(_) => "api_key",
            AuthConfig::StaticToken(_) => "static_token",
            AuthConfig::Entra(_) => "entra_id",
            AuthConfig::Host => "host_token",
        }
    }
}

/// Time limits. `None` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    /// From sending the request to receiving the response head.
    pub first_byte: Option<Duration>,
    /// Longest silence between two body chunks (a stalled stream).
    pub idle: Option<Duration>,
    /// All attempts of one call together, body included.
    pub total: Option<Duration>,
}

fn ms(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_millis(v))
}

/// A setting value with its origin ("option", "json", "env:AZURE_OPENAI_ENDPOINT").
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// One layer of settings; every field optional. Layers are merged field by field.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub api_type: Option<Sourced<String>>,
    pub endpoint: Option<Sourced<String>>,
    pub base_url: Option<Sourced<String>>,
    pub deployment: Option<Sourced<String>>,
    pub api_version: Option<Sourced<String>>,
    pub api_key: Option<Sourced<Secret>>,
    pub ad_token: Option<Sourced<Secret>>,
    pub credential: Option<Sourced<Value>>,
    pub token_scope: Option<Sourced<String>>,
    pub organization: Option<Sourced<String>>,
    pub project: Option<Sourced<String>>,
    pub allow_insecure_http: Option<Sourced<bool>>,
    pub connect_timeout_ms: Option<Sourced<u64>>,
    pub first_byte_timeout_ms: Option<Sourced<u64>>,
    pub idle_timeout_ms: Option<Sourced<u64>>,
    pub total_timeout_ms: Option<Sourced<u64>>,
    pub max_retries: Option<Sourced<u32>>,
    pub max_retry_after_ms: Option<Sourced<u64>>,
    pub max_response_bytes: Option<Sourced<u64>>,
    /// May carry user:password: kept as a secret (its Debug shows nothing).
    pub proxy: Option<Sourced<Secret>>,
    pub ca_file: Option<Sourced<String>>,
    pub tls_roots: Option<Sourced<String>>,
    /// Extra request headers (merged across layers; higher layers win per name).
    pub headers: Vec<(String, String)>,
    /// Default request parameters (merged; request fields win over these).
    pub defaults: Map<String, Value>,
}

/// Every JSON config key, with the type it takes. Also the list `describe` documents.
pub const CONFIG_KEYS: &[(&str, &str)] = &[
    ("api_type", "string: azure | azure_ad | azure_v1 | openai"),
    (
        "endpoint",
        "string: Azure resource URL, https://NAME.openai.azure.com",
    ),
    (
        "base_url",
        "string: OpenAI-compatible base URL, e.g. https://api.openai.com/v1",
    ),
    (
        "deployment",
        "string: Azure deployment (or model for OpenAI)",
    ),
    (
        "api_version",
        "string: e.g. 2024-10-21, or v1 / preview for the v1 API",
    ),
    ("api_key", "string (secret)"),
    ("ad_token", "string (secret): a fixed Entra ID token"),
    (
        "credential",
        "string, object or array: Entra ID source or chain (docs/entra-id.md)",
    ),
    ("token_scope", "string"),
    ("organization", "string: OpenAI-Organization"),
    ("project", "string: OpenAI-Project"),
    (
        "allow_insecure_http",
        "bool: allow http:// to a non-loopback host",
    ),
    ("connect_timeout_ms", "integer ms, 0 = none"),
    ("first_byte_timeout_ms", "integer ms, 0 = none"),
    ("idle_timeout_ms", "integer ms, 0 = none"),
    ("total_timeout_ms", "integer ms, 0 = none"),
    ("max_retries", "integer"),
    ("max_retry_after_ms", "integer ms"),
    ("max_response_bytes", "integer bytes"),
    ("proxy", "string: proxy URL, or \"none\""),
    ("ca_file", "string: PEM file of extra trusted roots"),
    (
        "tls_roots",
        "string: system (default; bundled Mozilla roots when the system has none) | bundled",
    ),
    ("headers", "object of string: extra request headers"),
    ("defaults", "object: default request parameters"),
    (
        "environment",
        "bool: read environment variables (default true)",
    ),
];

fn sourced<T>(value: T, source: &str) -> Option<Sourced<T>> {
    Some(Sourced {
        value,
        source: source.to_string(),
    })
}

impl Settings {
    /// Reads the environment through `get` (injected so tests need not touch the process env).
    /// Names and meanings follow openai-python and LangChain (wire reference §4).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Settings {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let first = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|n| var(n).map(|v| (v, format!("env:{n}"))))
        };
        let s = |names: &[&'static str]| {
            first(names).map(|(v, src)| Sourced {
                value: v.trim().to_string(),
                source: src,
            })
        };
        let secret = |names: &[&'static str]| {
            first(names).map(|(v, src)| Sourced {
                value: Secret::new(v.trim()),
                source: src,
            })
        };
        let api_type = s(&["OPENAI_API_TYPE"]);
        let openai_mode = api_type
            .as_ref()
            .map(|t| matches!(t.value.to_ascii_lowercase().as_str(), "openai" | "open_ai"))
            .unwrap_or(false)
            || (var("AZURE_OPENAI_ENDPOINT").is_none() && var("OPENAI_BASE_URL").is_some());
        Settings {
            api_type,
            endpoint: s(&["AZURE_OPENAI_ENDPOINT"]),
            base_url: s(&["OPENAI_BASE_URL", "OPENAI_API_BASE"]),
            deployment: s(&["AZURE_OPENAI_DEPLOYMENT_NAME"]),
            api_version: s(&["OPENAI_API_VERSION", "AZURE_OPENAI_API_VERSION"]),
            // LangChain falls back to OPENAI_API_KEY for Azure; OpenAI mode reads only it.
            api_key: if openai_mode {
                secret(&["OPENAI_API_KEY"])
            } else {
                secret(&["AZURE_OPENAI_API_KEY", "OPENAI_API_KEY"])
            },
            ad_token: if openai_mode {
                None
            } else {
                secret(&["AZURE_OPENAI_AD_TOKEN"])
            },
            organization: s(&["OPENAI_ORG_ID", "OPENAI_ORGANIZATION"]),
            project: s(&["OPENAI_PROJECT_ID"]),
            ..Default::default()
        }
    }

    /// Parses a JSON config object. Unknown keys and wrong types are errors that name the key,
    /// so a typo never silently falls back to the environment.
    /// Returns the settings and whether the environment should be read.
    pub fn from_json(v: &Value) -> Result<(Settings, bool)> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::json("configuration must be a JSON object"))?;
        let mut s = Settings::default();
        let mut use_env = true;
        for (key, val) in obj {
            let key = canonical_key(key);
            let src = "json";
            let want_str = || -> Result<String> {
                val.as_str().map(str::to_string).ok_or_else(|| {
                    Error::json(format!("configuration key '{key}' must be a string"))
                })
            };
            let want_u64 = || -> Result<u64> {
                val.as_u64().ok_or_else(|| {
                    Error::json(format!(
                        "configuration key '{key}' must be a non-negative integer"
                    ))
                })
            };
            let want_bool = || -> Result<bool> {
                val.as_bool().ok_or_else(|| {
                    Error::json(format!("configuration key '{key}' must be true or false"))
                })
            };
            // null means "not set in this layer", like an absent key.
            if val.is_null() {
                continue;
            }
            match key {
                "api_type" => s.api_type = sourced(want_str()?, src),
                "endpoint" => s.endpoint = sourced(want_str()?, src),
                "base_url" => s.base_url = sourced(want_str()?, src),
                "deployment" => s.deployment = sourced(want_str()?, src),
                "api_version" => s.api_version = sourced(want_str()?, src),
                "api_key" => s.api_key = sourced(Secret::new(want_str()?), src),
                "ad_token" => s.ad_token = sourced(Secret::new(want_str()?), src),
                "credential" => {
                    if !(val.is_string() || val.is_object() || val.is_array()) {
                        return Err(Error::json(
                            "configuration key 'credential' must be a string, an object or an array",
                        ));
                    }
                    s.credential = sourced(val.clone(), src)
                }
                "token_scope" => s.token_scope = sourced(want_str()?, src),
                "organization" => s.organization = sourced(want_str()?, src),
                "project" => s.project = sourced(want_str()?, src),
                "allow_insecure_http" => s.allow_insecure_http = sourced(want_bool()?, src),
                "connect_timeout_ms" => s.connect_timeout_ms = sourced(want_u64()?, src),
                "first_byte_timeout_ms" => s.first_byte_timeout_ms = sourced(want_u64()?, src),
                "idle_timeout_ms" => s.idle_timeout_ms = sourced(want_u64()?, src),
                "total_timeout_ms" => s.total_timeout_ms = sourced(want_u64()?, src),
                "max_retries" => {
                    let n = want_u64()?;
                    s.max_retries = sourced(check_retries(n)?, src)
                }
                "max_retry_after_ms" => s.max_retry_after_ms = sourced(want_u64()?, src),
                "max_response_bytes" => s.max_response_bytes = sourced(want_u64()?, src),
                "proxy" => s.proxy = sourced(Secret::new(want_str()?), src),
                "ca_file" => s.ca_file = sourced(want_str()?, src),
                "tls_roots" => s.tls_roots = sourced(want_str()?, src),
                "environment" => use_env = want_bool()?,
                "headers" => {
                    let h = val.as_object().ok_or_else(|| {
                        Error::json("configuration key 'headers' must be an object of strings")
                    })?;
                    for (name, value) in h {
                        let value = value.as_str().ok_or_else(|| {
                            Error::json(format!("header '{name}' in 'headers' must be a string"))
                        })?;
                        check_header(name, value)?;
                        s.headers
                            .push((name.to_ascii_lowercase(), value.to_string()));
                    }
                }
                "defaults" => {
                    let d = val.as_object().ok_or_else(|| {
                        Error::json("configuration key 'defaults' must be an object")
                    })?;
                    s.defaults = d.clone();
                }
                other => {
                    return Err(Error::config(format!(
                        "unknown configuration key '{other}' (known keys: {})",
                        CONFIG_KEYS
                            .iter()
                            .map(|(k, _)| *k)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        Ok((s, use_env))
    }

    /// `self` over `lower`: each field of `self` that is set wins.
    pub fn over(self, lower: Settings) -> Settings {
        macro_rules! pick {
            ($($f:ident),*) => { Settings { $($f: self.$f.or(lower.$f),)* headers: merge_headers(self.headers, lower.headers), defaults: merge_defaults(self.defaults, lower.defaults) } };
        }
        pick!(
            api_type,
            endpoint,
            base_url,
            deployment,
            api_version,
            api_key,
            ad_token,
            credential,
            token_scope,
            organization,
            project,
            allow_insecure_http,
            connect_timeout_ms,
            first_byte_timeout_ms,
            idle_timeout_ms,
            total_timeout_ms,
            max_retries,
            max_retry_after_ms,
            max_response_bytes,
            proxy,
            ca_file,
            tls_roots
        )
    }

    fn has_credential(&self) -> bool {
        self.api_key.is_some() || self.ad_token.is_some() || self.credential.is_some()
    }
}

fn merge_headers(high: Vec<(String, String)>, low: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = low
        .into_iter()
        .filter(|(n, _)| !high.iter().any(|(h, _)| h == n))
        .collect();
    out.extend(high);
    out
}

fn merge_defaults(high: Map<String, Value>, mut low: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in high {
        low.insert(k, v);
    }
    low
}

/// Accepts openai-python / LangChain spellings so configs can be ported as they are.
fn canonical_key(key: &str) -> &str {
    match key {
        "azure_endpoint" => "endpoint",
        "azure_deployment" | "deployment_name" | "model" => "deployment",
        "azure_ad_token" => "ad_token",
        "openai_api_version" => "api_version",
        "openai_api_type" => "api_type",
        other => other,
    }
}

pub fn check_retries(n: u64) -> Result<u32> {
    if n > 20 {
        return Err(Error::invalid_arg(format!(
            "max_retries must be between 0 and 20 (got {n})"
        )));
    }
    Ok(n as u32)
}

/// Header names and values must be legal HTTP tokens; auth headers are set by the library.
pub fn check_header(name: &str, value: &str) -> Result<()> {
    let lname = name.to_ascii_lowercase();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err(Error::invalid_arg(format!(
            "header name '{name}' is not a valid HTTP header name"
        )));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::invalid_arg(format!(
            "header '{name}' has a line break or NUL in its value"
        )));
    }
    if matches!(
        lname.as_str(),
        "api-key" | "authorization" | "content-length" | "host" | "transfer-encoding"
    ) {
        return Err(Error::invalid_arg(format!(
            "header '{name}' is set by the library and cannot be overridden"
        )));
    }
    Ok(())
}

/// Key, token and Entra ID spec, taken together from one layer.
type Credentials = (
    Option<Sourced<Secret>>,
    Option<Sourced<Secret>>,
    Option<Sourced<Value>>,
);

/// Configuration files are small; a limit keeps a wrong path (a device, a log) from eating memory.
const MAX_CONFIG_FILE: u64 = 1024 * 1024;

fn read_small_file(path: &str) -> Result<String> {
    use std::io::Read;
    let err =
        |e: std::io::Error| Error::config(format!("cannot read configuration file '{path}': {e}"));
    let f = std::fs::File::open(path).map_err(err)?;
    let mut text = String::new();
    f.take(MAX_CONFIG_FILE + 1)
        .read_to_string(&mut text)
        .map_err(err)?;
    if text.len() as u64 > MAX_CONFIG_FILE {
        return Err(Error::config(format!(
            "configuration file '{path}' is larger than {MAX_CONFIG_FILE} bytes"
        )));
    }
    Ok(text)
}

/// Builds a `Config` from the three layers.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    pub explicit: Settings,
    pub json: Option<Settings>,
    /// `None`: read the environment unless the JSON layer says `"environment": false`.
    pub use_env: Option<bool>,
    json_use_env: bool,
}

impl ConfigBuilder {
    pub fn new() -> ConfigBuilder {
        ConfigBuilder {
            json_use_env: true,
            ..Default::default()
        }
    }

    /// Loads a JSON config: text that starts with `{` (or `[`, to report it is not an object),
    /// else a path to a file holding it.
    pub fn load_json(&mut self, text_or_path: &str) -> Result<()> {
        let trimmed = text_or_path.trim_start();
        let (text, origin) = if trimmed.starts_with(['{', '[']) {
            (text_or_path.to_string(), "JSON config".to_string())
        } else {
            let text = read_small_file(text_or_path)?;
            (text, format!("configuration file '{text_or_path}'"))
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::json(format!("{origin} is not valid JSON: {e}")))?;
        let (s, use_env) =
            Settings::from_json(&v).map_err(|e| Error::new(e.status, format!("{origin}: {e}")))?;
        self.json = Some(s);
        self.json_use_env = use_env;
        Ok(())
    }

    pub fn build(&self) -> Result<Config> {
        self.build_with_env(&|k| std::env::var(k).ok())
    }

    pub fn build_with_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let use_env = self.use_env.unwrap_or(self.json_use_env);
        let env_layer = if use_env {
            Settings::from_env(env)
        } else {
            Settings::default()
        };
        let json_layer = self.json.clone().unwrap_or_default();
        // Credentials are taken whole from the highest layer that sets any, so an explicit
        // key is never mixed with an environment token.
        let (cred_layer, in_env) = if self.explicit.has_credential() {
            (&self.explicit, false)
        } else if json_layer.has_credential() {
            (&json_layer, false)
        } else {
            (&env_layer, true)
        };
        let creds = (
            cred_layer.api_key.clone(),
            cred_layer.ad_token.clone(),
            cred_layer.credential.clone(),
        );
        let merged = self
            .explicit
            .clone()
            .over(json_layer.clone())
            .over(env_layer);
        Config::resolve(merged, creds, in_env)
    }
}

/// The validated, immutable configuration of a client.
#[derive(Clone, Debug)]
pub struct Config {
    pub api_type: ApiType,
    /// Azure: the resource URL without path (`https://x.openai.azure.com`);
    /// OpenAI: the base URL (`https://api.openai.com/v1`).
    pub endpoint: String,
    pub deployment: Option<String>,
    /// `api-version` query value; always set for `Azure`, optional for `AzureV1`.
    pub api_version: Option<String>,
    pub auth: AuthConfig,
    pub token_scope: String,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub allow_insecure_http: bool,
    pub timeouts: Timeouts,
    pub max_retries: u32,
    pub max_retry_after: Duration,
    pub max_response_bytes: u64,
    pub proxy: Option<Secret>,
    pub ca_file: Option<String>,
    pub tls_roots: TlsRoots,
    pub headers: Vec<(String, String)>,
    pub defaults: Map<String, Value>,
    /// Where each effective setting came from.
    pub sources: BTreeMap<&'static str, String>,
}

/// Which root certificates verify servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsRoots {
    /// The platform's store; the bundled Mozilla roots when the host has none.
    System,
    /// Only the bundled Mozilla roots (plus `ca_file`).
    Bundled,
}

/// The operations the client can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Chat,
    Completion,
    Embedding,
}

impl Operation {
    pub fn path(self) -> &'static str {
        match self {
            Operation::Chat => "chat/completions",
            Operation::Completion => "completions",
            Operation::Embedding => "embeddings",
        }
    }
}

impl Config {
    fn resolve(s: Settings, creds: Credentials, creds_from_env: bool) -> Result<Config> {
        let mut sources = BTreeMap::new();
        let mut note = |name: &'static str, src: &str| {
            sources.insert(name, src.to_string());
        };

        let type_word = s
            .api_type
            .as_ref()
            .map(|t| t.value.trim().to_ascii_lowercase());
        if let Some(t) = &s.api_type {
            note("api_type", &t.source);
        }
        let mut entra_requested = false;
        let mut api_type = match type_word.as_deref() {
            Some("azure") => ApiType::Azure,
            Some("azure_ad") | Some("azuread") => {
                entra_requested = true;
                ApiType::Azure
            }
            Some("azure_v1") => ApiType::AzureV1,
            Some("openai") | Some("open_ai") => ApiType::OpenAi,
            Some(other) => {
                return Err(Error::config(format!(
                    "unknown api type '{other}' (from {}): expected azure, azure_ad, azure_v1 or openai",
                    s.api_type
                        .as_ref()
                        .map(|t| t.source.as_str())
                        .unwrap_or("?")
                )));
            }
            None => {
                if s.endpoint.is_some() {
                    ApiType::Azure
                } else if s.base_url.is_some()
                    || creds
                        .0
                        .as_ref()
                        .is_some_and(|k| k.source != "env:AZURE_OPENAI_API_KEY")
                {
                    // A key without an endpoint is OpenAI's, unless it is the Azure variable.
                    ApiType::OpenAi
                } else {
                    return Err(Error::config(
                        "no endpoint configured: set AZURE_OPENAI_ENDPOINT (Azure OpenAI) or OPENAI_BASE_URL / OPENAI_API_KEY (OpenAI), or give 'endpoint' / 'base_url' in the configuration",
                    ));
                }
            }
        };

        let mut deployment = s.deployment.clone();
        let mut api_version = s.api_version.clone();
        let endpoint;
        if api_type == ApiType::OpenAi {
            let base = s.base_url.clone().unwrap_or(Sourced {
                value: DEFAULT_OPENAI_BASE_URL.to_string(),
                source: "default".into(),
            });
            note("base_url", &base.source);
            endpoint = normalise_base_url(&base.value, &base.source)?;
        } else {
            let ep = s.endpoint.clone().ok_or_else(|| {
                Error::config(
                    "no Azure endpoint configured: set AZURE_OPENAI_ENDPOINT or 'endpoint' (https://YOUR-RESOURCE.openai.azure.com)",
                )
            })?;
            if let Some(b) = &s.base_url {
                if !b.source.starts_with("env:") {
                    return Err(Error::config(format!(
                        "both 'endpoint' ({}) and 'base_url' ({}) are set: use 'endpoint' for Azure and 'base_url' for OpenAI-compatible servers",
                        ep.source, b.source
                    )));
                }
            }
            note("endpoint", &ep.source);
            let (root, form) = normalise_azure_endpoint(&ep.value, &ep.source)?;
            endpoint = root;
            match form {
                EndpointForm::Root => {}
                EndpointForm::V1 => api_type = ApiType::AzureV1,
                EndpointForm::Deployment(d) => {
                    if let Some(existing) = &deployment {
                        if existing.value != d {
                            return Err(Error::config(format!(
                                "the endpoint names deployment '{d}' but the deployment is set to '{}' (from {})",
                                existing.value, existing.source
                            )));
                        }
                    }
                    deployment = Some(Sourced {
                        value: d,
                        source: ep.source.clone(),
                    });
                }
            }
            // The v1 API is selected by an api-version of v1 / preview / latest too.
            if let Some(v) = &api_version {
                if matches!(v.value.as_str(), "v1" | "preview" | "latest") {
                    api_type = ApiType::AzureV1;
                }
            }
            if api_type == ApiType::Azure && api_version.is_none() {
                api_version = Some(Sourced {
                    value: DEFAULT_AZURE_API_VERSION.into(),
                    source: "default".into(),
                });
            }
            if api_type == ApiType::AzureV1 {
                if let Some(v) = &api_version {
                    if v.value == "v1" {
                        // "v1" is the GA default; sending no query is what the docs show.
                        api_version = None;
                    }
                }
            }
        }
        if let Some(v) = &api_version {
            check_api_version(&v.value, &v.source)?;
            note("api_version", &v.source);
        }
        if let Some(d) = &deployment {
            if d.value.trim().is_empty() {
                return Err(Error::config(format!(
                    "the deployment name (from {}) is empty",
                    d.source
                )));
            }
            note("deployment", &d.source);
        }

        let allow_insecure = s
            .allow_insecure_http
            .as_ref()
            .map(|v| v.value)
            .unwrap_or(false);
        check_scheme(&endpoint, allow_insecure)?;

        // Authentication.
        let (key, token, credential) = creds;
        let auth = match (key, token, credential) {
            (Some(k), Some(t), _) if !creds_from_env => {
                return Err(Error::config(format!(
                    "both an API key (from {}) and an Entra ID token (from {}) are set: give only one",
                    k.source, t.source
                )));
            }
            (_, Some(t), None) => {
                // openai-python: AZURE_OPENAI_AD_TOKEN takes precedence over the key.
                note("auth", &t.source);
                AuthConfig::StaticToken(t.value)
            }
            (Some(_), _, Some(c)) | (_, Some(_), Some(c)) if !creds_from_env => {
                return Err(Error::config(format!(
                    "a key or token and an Entra ID credential (from {}) are both set: give only one",
                    c.source
                )));
            }
            (_, _, Some(c)) => {
                note("auth", &c.source);
                AuthConfig::Entra(c.value)
            }
            (Some(k), _, None) if !entra_requested => {
                note("auth", &k.source);
                AuthConfig::ApiKey(k.value)
            }
            (Some(k), _, None) => {
                // OPENAI_API_TYPE=azure_ad with a key: the key is an Entra token (openai 0.28).
                note("auth", &k.source);
                AuthConfig::StaticToken(k.value)
            }
            (None, _, None) if entra_requested => {
                note("auth", "api_type azure_ad (default credential chain)");
                AuthConfig::Entra(Value::String("default".into()))
            }
            (None, _, None) => {
                let hint = match api_type {
                    ApiType::OpenAi => "set OPENAI_API_KEY or 'api_key'",
                    _ => {
                        "set AZURE_OPENAI_API_KEY, AZURE_OPENAI_AD_TOKEN, OPENAI_API_TYPE=azure_ad (Entra ID), or 'api_key' / 'ad_token' / 'credential'"
                    }
                };
                return Err(Error::config(format!(
                    "no credential configured for {}: {hint}",
                    endpoint
                )));
            }
        };
        if let AuthConfig::ApiKey(k) | AuthConfig::StaticToken(k) = &auth {
            if k.expose().trim().is_empty() || k.expose().bytes().any(|b| b < 0x20 || b == 0x7f) {
                return Err(Error::config(
                    "the API key or token is empty or contains control characters",
                ));
            }
        }

        let u = |o: &Option<Sourced<u64>>, d: u64| o.as_ref().map(|v| v.value).unwrap_or(d);
        let timeouts = Timeouts {
            connect: ms(u(&s.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS)),
            first_byte: ms(u(&s.first_byte_timeout_ms, 0)),
            idle: ms(u(&s.idle_timeout_ms, DEFAULT_IDLE_TIMEOUT_MS)),
            total: ms(u(&s.total_timeout_ms, DEFAULT_TOTAL_TIMEOUT_MS)),
        };
        let max_response_bytes = u(&s.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        if max_response_bytes < 1024 {
            return Err(Error::config(format!(
                "max_response_bytes must be at least 1024 (got {max_response_bytes})"
            )));
        }
        if let Some(p) = &s.proxy {
            if p.value.expose() != "none" {
                reqwest::Url::parse(p.value.expose()).map_err(|e| {
                    Error::config(format!(
                        "proxy '{}' (from {}) is not a URL: {e}",
                        redact_url(p.value.expose()),
                        p.source
                    ))
                })?;
            }
            note("proxy", &p.source);
        }
        let opt = |o: Option<Sourced<String>>,
                   name: &'static str,
                   sources: &mut BTreeMap<&'static str, String>| {
            o.map(|v| {
                sources.insert(name, v.source);
                v.value
            })
        };
        let organization = opt(s.organization, "organization", &mut sources);
        let project = opt(s.project, "project", &mut sources);
        for (n, v) in [("organization", &organization), ("project", &project)] {
            if let Some(v) = v {
                if v.bytes().any(|b| b < 0x20) {
                    return Err(Error::config(format!("{n} contains control characters")));
                }
            }
        }
        Ok(Config {
            api_type,
            endpoint,
            deployment: deployment.map(|d| d.value),
            api_version: api_version.map(|v| v.value),
            auth,
            token_scope: s
                .token_scope
                .map(|v| v.value)
                .unwrap_or_else(|| DEFAULT_TOKEN_SCOPE.to_string()),
            organization,
            project,
            allow_insecure_http: allow_insecure,
            timeouts,
            max_retries: s
                .max_retries
                .map(|v| v.value)
                .unwrap_or(DEFAULT_MAX_RETRIES),
            max_retry_after: Duration::from_millis(u(
                &s.max_retry_after_ms,
                DEFAULT_MAX_RETRY_AFTER_MS,
            )),
            max_response_bytes,
            proxy: s.proxy.map(|p| p.value),
            ca_file: s.ca_file.map(|p| p.value),
            tls_roots: match s.tls_roots.as_ref().map(|v| v.value.as_str()) {
                None | Some("system") => TlsRoots::System,
                Some("bundled") => TlsRoots::Bundled,
                Some(other) => {
                    return Err(Error::config(format!(
                        "tls_roots '{other}' is not one of system, bundled"
                    )));
                }
            },
            headers: s.headers,
            defaults: s.defaults,
            sources,
        })
    }

    /// The URL of an operation for a deployment (`None` = the configured one).
    pub fn url(&self, op: Operation, deployment: Option<&str>) -> Result<String> {
        match self.api_type {
            ApiType::Azure => {
                let d = deployment.or(self.deployment.as_deref()).ok_or_else(|| {
                    Error::invalid_arg(format!(
                        "no deployment given for {}: set AZURE_OPENAI_DEPLOYMENT_NAME, 'deployment' in the configuration, or the request's deployment",
                        self.endpoint
                    ))
                })?;
                Ok(format!(
                    "{}/openai/deployments/{}/{}?api-version={}",
                    self.endpoint,
                    percent_encode_segment(d),
                    op.path(),
                    self.api_version
                        .as_deref()
                        .unwrap_or(DEFAULT_AZURE_API_VERSION)
                ))
            }
            ApiType::AzureV1 => Ok(match &self.api_version {
                Some(v) => format!("{}/openai/v1/{}?api-version={v}", self.endpoint, op.path()),
                None => format!("{}/openai/v1/{}", self.endpoint, op.path()),
            }),
            ApiType::OpenAi => Ok(format!("{}/{}", self.endpoint, op.path())),
        }
    }

    /// Whether the body must carry `model` (the deployment) for this dialect.
    pub fn model_in_body(&self) -> bool {
        self.api_type != ApiType::Azure
    }

    /// The effective configuration as JSON, secrets redacted (like printing a LangChain model).
    pub fn describe(&self) -> Value {
        let t = |d: Option<Duration>| d.map(|d| d.as_millis() as u64).unwrap_or(0);
        let auth = match &self.auth {
            AuthConfig::ApiKey(_) | AuthConfig::StaticToken(_) => json!({
                "kind": self.auth.kind(),
                "header": self.auth_header_name(),
                "value": "<redacted>",
            }),
            AuthConfig::Entra(spec) => json!({
                "kind": "entra_id",
                "credential": redact_credential_spec(spec),
                "scope": self.token_scope,
            }),
            AuthConfig::Host => json!({"kind": "host_token", "scope": self.token_scope}),
        };
        let url = |op| self.url(op, None).ok();
        let proxy = match &self.proxy {
            Some(p) if p.expose() == "none" => Value::String("none".into()),
            Some(p) => Value::String(redact_url(p.expose())),
            None => Value::String("from environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)".into()),
        };
        json!({
            "library": format!("aoai {}", env!("CARGO_PKG_VERSION")),
            "api_type": self.api_type.as_str(),
            "endpoint": self.endpoint,
            "deployment": self.deployment,
            "api_version": self.api_version,
            "chat_completions_url": url(Operation::Chat),
            "completions_url": url(Operation::Completion),
            "embeddings_url": url(Operation::Embedding),
            "auth": auth,
            "organization": self.organization,
            "project": self.project,
            "allow_insecure_http": self.allow_insecure_http,
            "timeouts_ms": {
                "connect": t(self.timeouts.connect),
                "first_byte": t(self.timeouts.first_byte),
                "idle": t(self.timeouts.idle),
                "total": t(self.timeouts.total),
            },
            "max_retries": self.max_retries,
            "max_retry_after_ms": self.max_retry_after.as_millis() as u64,
            "max_response_bytes": self.max_response_bytes,
            "proxy": proxy,
            "ca_file": self.ca_file,
            "tls_roots": match self.tls_roots { TlsRoots::System => "system", TlsRoots::Bundled => "bundled" },
            "headers": self.headers.iter().map(|(k, v)| (k.clone(), Value::String(if sensitive_header(k) { "<redacted>".into() } else { v.clone() }))).collect::<Map<_, _>>(),
            "defaults": self.defaults,
            "sources": self.sources,
        })
    }

    pub fn auth_header_name(&self) -> &'static str {
        match (&self.auth, self.api_type) {
            (AuthConfig::ApiKey(_), ApiType::Azure | ApiType::AzureV1) => "api-key",
            _ => "authorization",
        }
    }
}

/// Extra headers whose name suggests a credential (a gateway key) are not shown by describe.
fn sensitive_header(name: &str) -> bool {
    [
        "key",
        "token",
        "secret",
        "auth",
        "password",
        "cookie",
        "signature",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// Credential specs may carry a client secret: keep the shape, hide the values.
fn redact_credential_spec(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let secret =
                        k.contains("secret") || k.contains("token") || k.contains("password");
                    (
                        k.clone(),
                        if secret {
                            Value::String("<redacted>".into())
                        } else {
                            redact_credential_spec(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact_credential_spec).collect()),
        other => other.clone(),
    }
}

/// Proxy URLs may carry `user:password@`: keep only the host part.
pub fn redact_url(u: &str) -> String {
    match reqwest::Url::parse(u) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("<redacted>");
            let _ = url.set_password(None);
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

enum EndpointForm {
    Root,
    V1,
    Deployment(String),
}

fn parse_http_url(raw: &str, what: &str, source: &str) -> Result<reqwest::Url> {
    let trimmed = raw.trim();
    let url = reqwest::Url::parse(trimmed).map_err(|e| {
        Error::config(format!(
            "{what} '{trimmed}' (from {source}) is not a valid URL: {e}; expected e.g. https://YOUR-RESOURCE.openai.azure.com"
        ))
    })?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(Error::config(format!(
            "{what} '{trimmed}' (from {source}) must start with https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "{what} '{trimmed}' (from {source}) must not have a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{what} (from {source}) must not carry user:password"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!(
            "{what} '{trimmed}' (from {source}) has no host"
        )));
    }
    Ok(url)
}

fn origin(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s
}

/// Azure endpoints are resource URLs. Trailing slashes and a bare `/openai` are unambiguous and
/// normalised; `/openai/v1` selects the v1 API; `/openai/deployments/NAME` names the deployment
/// (openai-python's base_url form). Any other path is rejected.
fn normalise_azure_endpoint(raw: &str, source: &str) -> Result<(String, EndpointForm)> {
    let url = parse_http_url(raw, "endpoint", source)?;
    let root = origin(&url);
    let segs: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    let form = match segs.as_slice() {
        [] | ["openai"] => EndpointForm::Root,
        ["openai", "v1"] => EndpointForm::V1,
        ["openai", "deployments", d] => EndpointForm::Deployment(percent_decode(d)),
        _ => {
            return Err(Error::config(format!(
                "endpoint '{}' (from {source}) has an unexpected path '{}': give the resource URL only, like {root}",
                raw.trim(),
                url.path()
            )));
        }
    };
    Ok((root, form))
}

fn normalise_base_url(raw: &str, source: &str) -> Result<String> {
    let url = parse_http_url(raw, "base URL", source)?;
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}{}", origin(&url), path))
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Keys never travel in clear text: http:// only to loopback unless explicitly allowed.
fn check_scheme(endpoint: &str, allow_insecure: bool) -> Result<()> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| Error::config(e.to_string()))?;
    if url.scheme() == "http" && !allow_insecure && !is_loopback_host(url.host_str().unwrap_or(""))
    {
        return Err(Error::config(format!(
            "refusing plain http:// to non-loopback host '{}': credentials would travel in clear text; use https:// or set allow_insecure_http",
            url.host_str().unwrap_or("")
        )));
    }
    Ok(())
}

fn check_api_version(v: &str, source: &str) -> Result<()> {
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(Error::config(format!(
            "api-version '{v}' (from {source}) is not valid: expected e.g. {DEFAULT_AZURE_API_VERSION} or 2025-04-01-preview"
        )));
    }
    Ok(())
}

/// Deployment names are one URL path segment.
pub fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            ) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
