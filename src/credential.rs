//! Entra ID token sources built from a credential spec: one azure_identity credential, the
//! default chain (DefaultAzureCredential's order) or an explicit chain. See docs/entra-id.md.
//!
//! A spec is a JSON value:
//! - a name: `"default"`, `"environment"`, `"client_secret"`, `"workload_identity"`,
//!   `"managed_identity"`, `"azure_cli"`, `"azure_developer_cli"`;
//! - an object `{"type": NAME, ...fields}` (fields per type: see [`Kind::fields`]);
//! - an array of specs, or `{"type": "chain", "sources": [...]}`: an explicit chain.
//!
//! Every credential gets our own HTTP client as its transport and a bounded retry policy, is
//! constructed behind `catch_unwind`, and sits behind the library's `TokenCache`
//! (src/auth.rs), which caches, refreshes ahead of expiry and single-flights fetches.

mod azure;
mod chain;
mod process;

use crate::auth::TokenSource;
use crate::config::{Config, Secret};
use crate::error::{Error, Result, Status};
use azure_core::http::HttpClient;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

pub use azure::IMDS_ENDPOINT;

/// How long one source may take to produce a token (HTTP retries or a CLI run included),
/// unless the spec gives `timeout_ms`.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(30);

/// The names a spec may use: the default chain's five in its order, then `client_secret`,
/// `default` and `chain`.
pub const SOURCE_NAMES: &[&str] = &[
    "environment",
    "workload_identity",
    "managed_identity",
    "azure_cli",
    "azure_developer_cli",
    "client_secret",
    "default",
    "chain",
];

/// Builds the token source a credential spec describes. Credentials use `http` (the
/// client's own reqwest client: TLS roots, `ca_file`, proxy, connect timeout) as transport.
pub fn source_from_spec(
    spec: &Value,
    config: &Config,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenSource>> {
    source_from_spec_with_transport(spec, config, http, Arc::new(http.clone()))
}

/// Like [`source_from_spec`] with another transport for the credentials' HTTP requests.
/// For tests: an in-process `HttpClient` fakes IMDS (169.254.169.254) and the authority
/// without any socket.
#[doc(hidden)]
pub fn source_from_spec_with_transport(
    spec: &Value,
    _config: &Config,
    _http: &reqwest::Client,
    transport: Arc<dyn HttpClient>,
) -> Result<Arc<dyn TokenSource>> {
    let spec = parse(spec)?;
    let ctx = azure::BuildCtx { transport };
    build(&spec, &ctx)
}

/// One source kind of azure_identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Client secret from AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET.
    Environment,
    /// Client secret from the spec (falling back to the same environment variables).
    ClientSecret,
    /// Kubernetes workload identity: a federated token file.
    WorkloadIdentity,
    /// Managed identity: App Service (IDENTITY_ENDPOINT) or IMDS.
    ManagedIdentity,
    /// `az account get-access-token`.
    AzureCli,
    /// `azd auth token`.
    AzureDeveloperCli,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Environment => "environment",
            Kind::ClientSecret => "client_secret",
            Kind::WorkloadIdentity => "workload_identity",
            Kind::ManagedIdentity => "managed_identity",
            Kind::AzureCli => "azure_cli",
            Kind::AzureDeveloperCli => "azure_developer_cli",
        }
    }

    fn from_name(s: &str) -> Option<Kind> {
        Some(match s {
            "environment" => Kind::Environment,
            "client_secret" => Kind::ClientSecret,
            "workload_identity" => Kind::WorkloadIdentity,
            "managed_identity" => Kind::ManagedIdentity,
            "azure_cli" => Kind::AzureCli,
            "azure_developer_cli" => Kind::AzureDeveloperCli,
            _ => return None,
        })
    }

    /// The fields an object spec of this type may carry (besides `type`).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Environment => &["authority_host", "timeout_ms"],
            Kind::ClientSecret => &[
                "tenant_id",
                "client_id",
                "client_secret",
                "authority_host",
                "timeout_ms",
            ],
            Kind::WorkloadIdentity => &[
                "tenant_id",
                "client_id",
                "token_file",
                "authority_host",
                "timeout_ms",
            ],
            Kind::ManagedIdentity => &["client_id", "object_id", "resource_id", "timeout_ms"],
            Kind::AzureCli => &["tenant_id", "subscription", "timeout_ms"],
            Kind::AzureDeveloperCli => &["tenant_id", "timeout_ms"],
        }
    }

    /// The default chain, in DefaultAzureCredential's order.
    pub const DEFAULT_CHAIN: [Kind; 5] = [
        Kind::Environment,
        Kind::WorkloadIdentity,
        Kind::ManagedIdentity,
        Kind::AzureCli,
        Kind::AzureDeveloperCli,
    ];
}

/// The values of an object spec (all optional; environment fallbacks apply per kind).
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub token_file: Option<String>,
    pub object_id: Option<String>,
    pub resource_id: Option<String>,
    pub authority_host: Option<String>,
    pub subscription: Option<String>,
    pub timeout: Option<Duration>,
}

/// A parsed, validated spec.
#[derive(Clone, Debug)]
pub(crate) enum Spec {
    Default { timeout: Option<Duration> },
    Source(Kind, Fields),
    Chain(Vec<Spec>),
}

fn bad(msg: impl Into<String>) -> Error {
    Error::config(format!("credential spec: {}", msg.into()))
}

fn known_names() -> String {
    SOURCE_NAMES.join(", ")
}

pub(crate) fn parse(v: &Value) -> Result<Spec> {
    match v {
        Value::String(s) => parse_name(s.trim()),
        Value::Array(items) => parse_chain(items),
        Value::Object(m) => parse_object(m),
        other => Err(bad(format!(
            "expected a name, an object or an array, got {}",
            type_word(other)
        ))),
    }
}

fn type_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_name(s: &str) -> Result<Spec> {
    match s {
        "default" => Ok(Spec::Default { timeout: None }),
        "chain" => Err(bad(
            "'chain' needs its sources: give an array such as [\"managed_identity\", \"azure_cli\"] or {\"type\": \"chain\", \"sources\": [...]}",
        )),
        "host" => Err(bad(
            "'host' (tokens from the host) cannot be part of a credential chain: use it alone with aoai_options_set_token_callback or aoai_client_set_token",
        )),
        _ => match Kind::from_name(s) {
            Some(k) => Ok(Spec::Source(k, Fields::default())),
            None => Err(bad(format!(
                "unknown credential '{s}' (known: {})",
                known_names()
            ))),
        },
    }
}

fn parse_chain(items: &[Value]) -> Result<Spec> {
    if items.is_empty() {
        return Err(bad("a credential chain needs at least one source"));
    }
    items
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>>>()
        .map(Spec::Chain)
}

fn parse_object(m: &Map<String, Value>) -> Result<Spec> {
    let ty = match m.get("type") {
        Some(Value::String(t)) => t.trim(),
        Some(other) => {
            return Err(bad(format!(
                "'type' must be a string, got {}",
                type_word(other)
            )));
        }
        None => {
            return Err(bad(format!(
                "an object needs a 'type' (one of {})",
                known_names()
            )));
        }
    };
    let check_keys = |allowed: &[&str], what: &str| -> Result<()> {
        for k in m.keys() {
            if k != "type" && !allowed.contains(&k.as_str()) {
                return Err(bad(format!(
                    "unknown field '{k}' for {what} (allowed: {})",
                    if allowed.is_empty() {
                        "none besides type".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
        }
        Ok(())
    };
    match ty {
        "chain" => {
            check_keys(&["sources"], "chain")?;
            match m.get("sources") {
                Some(Value::Array(items)) => parse_chain(items),
                Some(other) => Err(bad(format!(
                    "'sources' of a chain must be an array, got {}",
                    type_word(other)
                ))),
                None => Err(bad(
                    "a chain needs 'sources' (an array of credential specs)",
                )),
            }
        }
        "default" => {
            check_keys(&["timeout_ms"], "default")?;
            Ok(Spec::Default {
                timeout: timeout_field(m)?,
            })
        }
        _ => {
            let Some(kind) = Kind::from_name(ty) else {
                return Err(bad(format!(
                    "unknown credential type '{ty}' (known: {})",
                    known_names()
                )));
            };
            check_keys(kind.fields(), kind.name())?;
            let s = |key: &str| -> Result<Option<String>> {
                match m.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(v)) if v.trim().is_empty() => {
                        Err(bad(format!("'{key}' of {} is empty", kind.name())))
                    }
                    Some(Value::String(v)) => {
                        if v.bytes().any(|b| b < 0x20 || b == 0x7f) {
                            return Err(bad(format!(
                                "'{key}' of {} contains control characters",
                                kind.name()
                            )));
                        }
                        Ok(Some(v.trim().to_string()))
                    }
                    Some(other) => Err(bad(format!(
                        "'{key}' of {} must be a string, got {}",
                        kind.name(),
                        type_word(other)
                    ))),
                }
            };
            let f = Fields {
                tenant_id: s("tenant_id")?,
                client_id: s("client_id")?,
                client_secret: s("client_secret")?.map(Secret::new),
                token_file: s("token_file")?,
                object_id: s("object_id")?,
                resource_id: s("resource_id")?,
                authority_host: s("authority_host")?,
                subscription: s("subscription")?,
                timeout: timeout_field(m)?,
            };
            if kind == Kind::ManagedIdentity {
                let ids = [&f.client_id, &f.object_id, &f.resource_id]
                    .iter()
                    .filter(|x| x.is_some())
                    .count();
                if ids > 1 {
                    return Err(bad(
                        "managed_identity takes at most one of client_id, object_id, resource_id",
                    ));
                }
            }
            if let Some(a) = &f.authority_host {
                check_authority(a).map_err(bad)?;
            }
            Ok(Spec::Source(kind, f))
        }
    }
}

fn timeout_field(m: &Map<String, Value>) -> Result<Option<Duration>> {
    match m.get("timeout_ms") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(bad("'timeout_ms' must be a positive integer")),
        },
    }
}

/// The authority must be an https URL (azure_identity refuses anything else).
pub(crate) fn check_authority(a: &str) -> std::result::Result<(), String> {
    let url = reqwest::Url::parse(a)
        .map_err(|e| format!("authority_host '{a}' is not a valid URL: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!(
            "authority_host '{a}' must use https:// (Entra ID token requests carry secrets)"
        ));
    }
    Ok(())
}

/// A process environment variable, `None` when unset or blank.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn build(spec: &Spec, ctx: &azure::BuildCtx) -> Result<Arc<dyn TokenSource>> {
    match spec {
        Spec::Source(kind, f) => {
            azure::build_source(*kind, f, ctx, azure::Role::Alone).map_err(|e| Error {
                message: format!("credential {}: {}", kind.name(), e.message),
                ..e
            })
        }
        Spec::Default { timeout } => Ok(Arc::new(default_chain(*timeout, ctx))),
        Spec::Chain(items) => {
            let members = items
                .iter()
                .map(|s| member(s, ctx, azure::Role::InChain))
                .collect();
            Ok(Arc::new(chain::ChainSource::new("chain", members)))
        }
    }
}

/// A chain member: a source, or the reason it is skipped.
fn member(spec: &Spec, ctx: &azure::BuildCtx, role: azure::Role) -> chain::Member {
    match spec {
        Spec::Source(kind, f) => match azure::build_source(*kind, f, ctx, role) {
            Ok(s) => chain::Member::ready(kind.name(), s),
            Err(e) => chain::Member::skipped(kind.name(), e.message),
        },
        Spec::Default { timeout } => {
            let c = default_chain(*timeout, ctx);
            chain::Member::ready("default", Arc::new(c))
        }
        Spec::Chain(_) => match build(spec, ctx) {
            Ok(s) => chain::Member::ready("chain", s),
            Err(e) => chain::Member::skipped("chain", e.message),
        },
    }
}

/// DefaultAzureCredential's order: environment → workload identity → managed identity →
/// Azure CLI → Azure Developer CLI. Sources whose environment is absent are skipped with the
/// reason; managed identity uses AZURE_CLIENT_ID as its user-assigned client id when set.
fn default_chain(timeout: Option<Duration>, ctx: &azure::BuildCtx) -> chain::ChainSource {
    let members = Kind::DEFAULT_CHAIN
        .iter()
        .map(|&kind| {
            let mut f = Fields {
                timeout,
                ..Default::default()
            };
            if kind == Kind::ManagedIdentity {
                f.client_id = env_var("AZURE_CLIENT_ID");
            }
            member(&Spec::Source(kind, f), ctx, azure::Role::InDefaultChain)
        })
        .collect();
    chain::ChainSource::new("default chain", members)
}

/// Status of a source that cannot be built (kept distinct from spec errors).
pub(crate) fn credential_error(msg: impl Into<String>) -> Error {
    Error::new(Status::Credential, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_parse_and_reject_unknowns() {
        assert!(matches!(parse(&json!("default")), Ok(Spec::Default { .. })));
        assert!(matches!(
            parse(&json!("azure_cli")),
            Ok(Spec::Source(Kind::AzureCli, _))
        ));
        assert!(matches!(
            parse(&json!(["managed_identity", "azure_cli"])),
            Ok(Spec::Chain(v)) if v.len() == 2
        ));
        assert!(matches!(
            parse(&json!({"type": "chain", "sources": ["azure_cli"]})),
            Ok(Spec::Chain(v)) if v.len() == 1
        ));
        let e = parse(&json!("azure_clu")).unwrap_err();
        assert_eq!(e.status, Status::InvalidConfig);
        assert!(e.message.contains("'azure_clu'"), "{}", e.message);
        let e = parse(&json!({"type": "managed_identity", "clientid": "x"})).unwrap_err();
        assert_eq!(e.status, Status::InvalidConfig);
        assert!(e.message.contains("'clientid'"), "{}", e.message);
        let e = parse(&json!({"type": "managed_identity", "client_id": "a", "object_id": "b"}))
            .unwrap_err();
        assert!(e.message.contains("at most one"), "{}", e.message);
        let e = parse(&json!([])).unwrap_err();
        assert_eq!(e.status, Status::InvalidConfig);
        let e = parse(&json!({"type": "client_secret", "authority_host": "http://x"})).unwrap_err();
        assert!(e.message.contains("https"), "{}", e.message);
        let e = parse(&json!({"type": "azure_cli", "timeout_ms": 0})).unwrap_err();
        assert!(e.message.contains("timeout_ms"), "{}", e.message);
    }
}
