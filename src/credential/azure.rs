//! azure_identity credentials as token sources: our transport and a bounded retry policy,
//! construction behind `catch_unwind`, a time limit per fetch, an IMDS probe, and error
//! messages that keep the cause chain (AADSTS codes, TLS causes) but never a secret.

use super::process::CliExecutor;
use super::{DEFAULT_SOURCE_TIMEOUT, Fields, Kind, check_authority, credential_error, env_var};
use crate::auth::{AccessToken, BoxFuture, TokenSource};
use crate::config::Secret;
use crate::error::{Error, Result};
use azure_core::cloud::CustomConfiguration;
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Method, Request,
    RetryOptions, Transport, Url,
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// The Azure Instance Metadata Service token endpoint (fixed in azure_identity).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// How long the IMDS probe waits inside a chain (DefaultAzureCredential uses about 1 s) and
/// for a managed identity used alone.
const IMDS_PROBE_IN_CHAIN: Duration = Duration::from_secs(1);
const IMDS_PROBE_ALONE: Duration = Duration::from_secs(5);

/// What the credentials share.
pub(crate) struct BuildCtx {
    pub transport: Arc<dyn HttpClient>,
}

/// The transport of the credentials that talk to the Entra authority (client secret,
/// workload identity). azure_identity 1.0.0 parses `error_description` as a borrowed string,
/// which fails on every real Entra error (they contain `\r\n` escapes) and turns an
/// "AADSTS7000215: Invalid client secret" into a JSON type error without the HTTP status.
/// Error bodies are rewritten so they parse: control characters, quotes and backslashes of
/// `error_description` become plain characters; a body that is not Entra's JSON (a proxy's
/// HTML page) becomes an `error_description` naming the status and a snippet.
#[derive(Debug)]
struct AuthorityTransport {
    inner: Arc<dyn HttpClient>,
}

// `HttpClient` is an `async_trait`; this is its expanded form.
impl HttpClient for AuthorityTransport {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 Request,
    ) -> Pin<Box<dyn Future<Output = azure_core::Result<AsyncRawResponse>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let resp = self.inner.execute_request(request).await?;
            if resp.status().is_success() {
                return Ok(resp);
            }
            let (status, headers, body) = resp.deconstruct();
            let bytes = body.collect().await?;
            let fixed = borrowable_entra_error(u16::from(status), &bytes);
            Ok(AsyncRawResponse::from_bytes(status, headers, fixed))
        })
    }
}

/// Text that serde_json can hand out as `&str` (no escape sequences needed), on one line.
fn borrowable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn borrowable_entra_error(status: u16, body: &[u8]) -> Vec<u8> {
    let mut obj = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = borrowable(&text).chars().take(200).collect();
            let mut m = serde_json::Map::new();
            m.insert(
                "error_description".into(),
                format!("HTTP {status} from the authority, not an Entra ID error: {snippet}")
                    .into(),
            );
            return serde_json::to_vec(&m).unwrap_or_default();
        }
    };
    let desc = match obj.get("error_description").and_then(|d| d.as_str()) {
        Some(d) => borrowable(d),
        None => {
            let e = obj
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("unknown error");
            format!("HTTP {status} from the authority: {}", borrowable(e))
        }
    };
    obj.insert("error_description".into(), desc.into());
    serde_json::to_vec(&obj).unwrap_or_default()
}

/// Where a source is used: alone (build errors fail client creation) or in a chain (build
/// errors make the member skipped; the IMDS probe is short).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Alone,
    InChain,
    InDefaultChain,
}

type Make = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// One azure_identity credential behind our time limit and error mapping.
pub(crate) struct AzureSource {
    label: &'static str,
    detail: String,
    /// Builds a fresh credential. azure_identity's credentials cache tokens internally with
    /// no way to bypass it, so every fetch after the first uses a new instance: a 401 must
    /// get a new token, and the library's TokenCache already caches.
    make: Make,
    first: Mutex<Option<Arc<dyn TokenCredential>>>,
    timeout: Duration,
    /// Values that must never appear in a message (client secret, identity header).
    redact: Vec<String>,
    probe: Option<ImdsProbe>,
}

/// Managed identity without IDENTITY_ENDPOINT talks to IMDS, which azure_identity retries for
/// up to 72 s. Off Azure nothing answers there, so a short probe (any HTTP answer counts)
/// decides first, as DefaultAzureCredential does.
struct ImdsProbe {
    transport: Arc<dyn HttpClient>,
    timeout: Duration,
    answered: AtomicBool,
}

impl ImdsProbe {
    async fn check(&self) -> Result<()> {
        if self.answered.load(Ordering::SeqCst) {
            return Ok(());
        }
        let url = Url::parse(&format!("{IMDS_ENDPOINT}?api-version=2018-02-01"))
            .map_err(|e| credential_error(format!("bad IMDS URL: {e}")))?;
        // No `Metadata: true` header: IMDS answers 400, which is enough to know it is there.
        let req = Request::new(url, Method::Get);
        let ms = self.timeout.as_millis();
        let hint = "not on an Azure VM? On App Service and Functions IDENTITY_ENDPOINT and IDENTITY_HEADER must be set";
        match tokio::time::timeout(
            self.timeout,
            CatchUnwind::new(Box::pin(self.transport.execute_request(&req))),
        )
        .await
        {
            Ok(Ok(Ok(_))) => {
                self.answered.store(true, Ordering::SeqCst);
                Ok(())
            }
            Ok(Ok(Err(e))) => Err(credential_error(format!(
                "no managed identity endpoint: IDENTITY_ENDPOINT is not set and IMDS (169.254.169.254) is not reachable: {} ({hint})",
                tidy(&crate::error::chain_message(&e), &[])
            ))),
            Ok(Err(panic)) => Err(credential_error(format!(
                "the IMDS probe panicked: {panic}"
            ))),
            Err(_) => Err(credential_error(format!(
                "no managed identity endpoint: IDENTITY_ENDPOINT is not set and IMDS (169.254.169.254) did not answer within {ms} ms ({hint})"
            ))),
        }
    }
}

impl AzureSource {
    fn new(
        label: &'static str,
        detail: String,
        make: Make,
        timeout: Option<Duration>,
        redact: Vec<String>,
        probe: Option<ImdsProbe>,
    ) -> Result<AzureSource> {
        let mut s = AzureSource {
            label,
            detail,
            make,
            first: Mutex::new(None),
            timeout: timeout.unwrap_or(DEFAULT_SOURCE_TIMEOUT),
            redact,
            probe,
        };
        // Construct once now so a bad setup fails at client creation, not at the first call.
        let cred = s.construct()?;
        s.first = Mutex::new(Some(cred));
        Ok(s)
    }

    fn construct(&self) -> Result<Arc<dyn TokenCredential>> {
        match catch_unwind(AssertUnwindSafe(|| (self.make)())) {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(credential_error(azure_message(&e, &self.redact))),
            Err(p) => Err(credential_error(format!(
                "the {} credential panicked while being set up: {}",
                self.label,
                panic_text(&*p)
            ))),
        }
    }

    async fn fetch_inner(&self, scope: &str) -> Result<AccessToken> {
        if let Some(p) = &self.probe {
            p.check().await?;
        }
        let cred = match self.first.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(c) => c,
            None => self.construct()?,
        };
        let scopes = [scope];
        let got = CatchUnwind::new(cred.get_token(&scopes, None)).await;
        let t = match got {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return Err(credential_error(azure_message(&e, &self.redact))),
            Err(p) => {
                return Err(credential_error(format!(
                    "the {} credential panicked: {p}",
                    self.label
                )));
            }
        };
        let token = t.token.secret();
        if token.is_empty() {
            return Err(credential_error("the credential returned an empty token"));
        }
        let secs = t.expires_on.unix_timestamp();
        Ok(AccessToken {
            token: Secret::new(token),
            expires_on: (secs > 0)
                .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)),
        })
    }
}

impl TokenSource for AzureSource {
    fn name(&self) -> String {
        if self.detail.is_empty() {
            self.label.to_string()
        } else {
            format!("{} ({})", self.label, self.detail)
        }
    }

    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.fetch_inner(scope)).await {
                Ok(r) => r,
                Err(_) => Err(credential_error(format!(
                    "no token within {} ms (raise the source's timeout_ms if it is just slow)",
                    self.timeout.as_millis()
                ))),
            }
        })
    }
}

/// Polls a future behind `catch_unwind`: a panic inside a credential becomes an error.
struct CatchUnwind<'a, T> {
    inner: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
}

impl<'a, T> CatchUnwind<'a, T> {
    fn new(inner: Pin<Box<dyn Future<Output = T> + Send + 'a>>) -> Self {
        CatchUnwind { inner }
    }
}

impl<T> Future for CatchUnwind<'_, T> {
    type Output = std::result::Result<T, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(panic_text(&*p))),
        }
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// An azure error as one line: the whole cause chain, the HTTP status and AADSTS code when
/// there was a response, without azure_identity's troubleshooting links, secrets redacted.
pub(crate) fn azure_message(e: &azure_core::Error, redact: &[String]) -> String {
    let mut http: Option<(u16, Option<String>)> = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = cur {
        if let Some(ae) = x.downcast_ref::<azure_core::Error>() {
            if let ErrorKind::HttpResponse {
                status, error_code, ..
            } = ae.kind()
            {
                http = Some((u16::from(*status), error_code.clone()));
            }
        }
        cur = x.source();
    }
    let mut m = tidy(&crate::error::chain_message(e), redact);
    if let Some((status, code)) = http {
        let mut extra = vec![format!("HTTP {status}")];
        if let Some(c) = code {
            if c.bytes().all(|b| b.is_ascii_digit() || b == b',') && !m.contains("AADSTS") {
                extra.push(format!("AADSTS{}", c.replace(',', ", AADSTS")));
            }
        }
        m.push_str(&format!(" ({})", extra.join(", ")));
    }
    m
}

/// One line: drops "XCredential authentication failed." prefixes (the source is named by the
/// caller) and the troubleshooting links, collapses whitespace, redacts secrets.
pub(crate) fn tidy(msg: &str, redact: &[String]) -> String {
    let mut m = msg.to_string();
    const TSG: &str = "To troubleshoot, visit ";
    while let Some(i) = m.find(TSG) {
        let after = i + TSG.len();
        let end = m[after..]
            .find(char::is_whitespace)
            .map(|j| after + j)
            .unwrap_or(m.len());
        // chain_message joins causes with ": "; keep that separator.
        let end = if m[..end].ends_with(':') {
            end - 1
        } else {
            end
        };
        m.replace_range(i..end, "");
    }
    const FAILED: &str = "Credential authentication failed.";
    while let Some(i) = m.find(FAILED) {
        let start = m[..i]
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map(|j| j + 1)
            .unwrap_or(0);
        m.replace_range(start..i + FAILED.len(), "");
    }
    let m = m.replace(
        "retry policy expired and the request will no longer be retried",
        "gave up after retrying",
    );
    let mut m = m.split_whitespace().collect::<Vec<_>>().join(" ");
    while m.contains(" :") {
        m = m.replace(" :", ":");
    }
    let mut m = m.trim_start_matches([':', ' ']).trim().to_string();
    for s in redact {
        if s.len() >= 3 {
            m = m.replace(s.as_str(), "<redacted>");
        }
    }
    m
}

/// Client options every credential gets: our transport, a short bounded retry (a TLS or
/// connect failure fails in about a second, with its cause), and the authority.
fn client_options(ctx: &BuildCtx, authority: Option<&str>) -> ClientOptions {
    let mut co = ClientOptions {
        transport: Some(Transport::new(ctx.transport.clone())),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(100),
            max_retries: 2,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..Default::default()
    };
    if let Some(a) = authority {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = a.trim_end_matches('/').to_string();
        co.cloud = Some(Arc::new(custom.into()));
    }
    co
}

/// The authority host: the spec's, else AZURE_AUTHORITY_HOST, else the public cloud.
fn authority(f: &Fields) -> Result<Option<String>> {
    match &f.authority_host {
        Some(a) => Ok(Some(a.clone())),
        None => match env_var("AZURE_AUTHORITY_HOST") {
            Some(a) => {
                check_authority(&a)
                    .map_err(|m| Error::config(format!("AZURE_AUTHORITY_HOST: {m}")))?;
                Ok(Some(a))
            }
            None => Ok(None),
        },
    }
}

/// Builds one source. Errors do not name the source (the caller does).
pub(crate) fn build_source(
    kind: Kind,
    f: &Fields,
    ctx: &BuildCtx,
    role: Role,
) -> Result<Arc<dyn TokenSource>> {
    let label = kind.name();
    match kind {
        Kind::Environment | Kind::ClientSecret => {
            let from_env = kind == Kind::Environment;
            let pick = |field: &Option<String>, var: &str| field.clone().or_else(|| env_var(var));
            let tenant = pick(&f.tenant_id, "AZURE_TENANT_ID");
            let client = pick(&f.client_id, "AZURE_CLIENT_ID");
            let secret = f
                .client_secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .or_else(|| env_var("AZURE_CLIENT_SECRET"));
            let mut missing = Vec::new();
            for (v, field, var) in [
                (tenant.is_none(), "tenant_id", "AZURE_TENANT_ID"),
                (client.is_none(), "client_id", "AZURE_CLIENT_ID"),
                (secret.is_none(), "client_secret", "AZURE_CLIENT_SECRET"),
            ] {
                if v {
                    missing.push(if from_env {
                        var.to_string()
                    } else {
                        format!("{field} (or {var})")
                    });
                }
            }
            if !missing.is_empty() {
                let mut msg = format!("{} not set", missing.join(", "));
                if secret.is_none()
                    && (env_var("AZURE_CLIENT_CERTIFICATE_PATH").is_some()
                        || env_var("AZURE_USERNAME").is_some())
                {
                    msg.push_str(
                        " (client certificates and username/password are not supported: use a client secret, workload identity or managed identity)",
                    );
                }
                return Err(Error::config(msg));
            }
            let (tenant, client, secret) = (
                tenant.unwrap_or_default(),
                client.unwrap_or_default(),
                secret.unwrap_or_default(),
            );
            let auth = authority(f)?;
            let detail = format!("tenant {tenant}, client {client}");
            let transport = BuildCtx {
                transport: Arc::new(AuthorityTransport {
                    inner: ctx.transport.clone(),
                }),
            };
            let redact = vec![secret.clone()];
            let make: Make = Box::new(move || {
                let opts = ClientSecretCredentialOptions {
                    client_options: client_options(&transport, auth.as_deref()),
                };
                let c: Arc<dyn TokenCredential> = ClientSecretCredential::new(
                    &tenant,
                    client.clone(),
                    azure_core::credentials::Secret::new(secret.clone()),
                    Some(opts),
                )?;
                Ok(c)
            });
            Ok(Arc::new(AzureSource::new(
                label, detail, make, f.timeout, redact, None,
            )?))
        }
        Kind::WorkloadIdentity => {
            let pick = |field: &Option<String>, var: &str| field.clone().or_else(|| env_var(var));
            let file = pick(&f.token_file, "AZURE_FEDERATED_TOKEN_FILE");
            let tenant = pick(&f.tenant_id, "AZURE_TENANT_ID");
            let client = pick(&f.client_id, "AZURE_CLIENT_ID");
            let mut missing = Vec::new();
            for (v, field, var) in [
                (file.is_none(), "token_file", "AZURE_FEDERATED_TOKEN_FILE"),
                (tenant.is_none(), "tenant_id", "AZURE_TENANT_ID"),
                (client.is_none(), "client_id", "AZURE_CLIENT_ID"),
            ] {
                if v {
                    missing.push(if role == Role::InDefaultChain {
                        var.to_string()
                    } else {
                        format!("{field} (or {var})")
                    });
                }
            }
            if !missing.is_empty() {
                return Err(Error::config(format!("{} not set", missing.join(", "))));
            }
            let (file, tenant, client) = (
                file.unwrap_or_default(),
                tenant.unwrap_or_default(),
                client.unwrap_or_default(),
            );
            let auth = authority(f)?;
            let detail = format!("tenant {tenant}, client {client}, token file {file}");
            let transport = BuildCtx {
                transport: Arc::new(AuthorityTransport {
                    inner: ctx.transport.clone(),
                }),
            };
            let make: Make = Box::new(move || {
                let opts = WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client_options(&transport, auth.as_deref()),
                    },
                    client_id: Some(client.clone()),
                    tenant_id: Some(tenant.clone()),
                    token_file_path: Some(file.clone().into()),
                };
                let c: Arc<dyn TokenCredential> = WorkloadIdentityCredential::new(Some(opts))?;
                Ok(c)
            });
            Ok(Arc::new(AzureSource::new(
                label,
                detail,
                make,
                f.timeout,
                Vec::new(),
                None,
            )?))
        }
        Kind::ManagedIdentity => {
            let has = |n: &str| std::env::var_os(n).is_some();
            let app_service = has("IDENTITY_ENDPOINT") && has("IDENTITY_HEADER");
            if has("IDENTITY_ENDPOINT") && !has("IDENTITY_HEADER") && !has("IMDS_ENDPOINT") {
                return Err(Error::config(
                    "IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not (App Service managed identity needs both)",
                ));
            }
            let imds = !has("IDENTITY_ENDPOINT") && !has("MSI_ENDPOINT");
            let id = if let Some(c) = &f.client_id {
                Some(UserAssignedId::ClientId(c.clone()))
            } else if let Some(o) = &f.object_id {
                Some(UserAssignedId::ObjectId(o.clone()))
            } else {
                f.resource_id.clone().map(UserAssignedId::ResourceId)
            };
            let mut detail = if app_service {
                format!(
                    "App Service endpoint {}",
                    crate::config::redact_url(&env_var("IDENTITY_ENDPOINT").unwrap_or_default())
                )
            } else if imds {
                "IMDS".to_string()
            } else {
                "unsupported environment".to_string()
            };
            match &id {
                Some(UserAssignedId::ClientId(c)) => detail.push_str(&format!(", client_id {c}")),
                Some(UserAssignedId::ObjectId(o)) => detail.push_str(&format!(", object_id {o}")),
                Some(UserAssignedId::ResourceId(r)) => {
                    detail.push_str(&format!(", resource_id {r}"))
                }
                _ => {}
            }
            let redact: Vec<String> = env_var("IDENTITY_HEADER").into_iter().collect();
            let probe = imds.then(|| ImdsProbe {
                transport: ctx.transport.clone(),
                timeout: if role == Role::Alone {
                    IMDS_PROBE_ALONE
                } else {
                    IMDS_PROBE_IN_CHAIN
                },
                answered: AtomicBool::new(false),
            });
            let transport = BuildCtx {
                transport: ctx.transport.clone(),
            };
            let make: Make = Box::new(move || {
                let opts = ManagedIdentityCredentialOptions {
                    user_assigned_id: id.clone(),
                    client_options: client_options(&transport, None),
                };
                let c: Arc<dyn TokenCredential> = ManagedIdentityCredential::new(Some(opts))?;
                Ok(c)
            });
            Ok(Arc::new(AzureSource::new(
                label, detail, make, f.timeout, redact, probe,
            )?))
        }
        Kind::AzureCli => {
            let tenant = f.tenant_id.clone();
            let subscription = f.subscription.clone();
            let mut detail = Vec::new();
            if let Some(t) = &tenant {
                detail.push(format!("tenant {t}"));
            }
            if let Some(s) = &subscription {
                detail.push(format!("subscription {s}"));
            }
            let make: Make = Box::new(move || {
                let opts = AzureCliCredentialOptions {
                    subscription: subscription.clone(),
                    tenant_id: tenant.clone(),
                    executor: Some(Arc::new(CliExecutor)),
                };
                let c: Arc<dyn TokenCredential> = AzureCliCredential::new(Some(opts))?;
                Ok(c)
            });
            Ok(Arc::new(AzureSource::new(
                label,
                detail.join(", "),
                make,
                f.timeout,
                Vec::new(),
                None,
            )?))
        }
        Kind::AzureDeveloperCli => {
            let tenant = f.tenant_id.clone();
            let detail = tenant
                .as_ref()
                .map(|t| format!("tenant {t}"))
                .unwrap_or_default();
            let make: Make = Box::new(move || {
                let opts = AzureDeveloperCliCredentialOptions {
                    tenant_id: tenant.clone(),
                    executor: Some(Arc::new(CliExecutor)),
                };
                let c: Arc<dyn TokenCredential> = AzureDeveloperCliCredential::new(Some(opts))?;
                Ok(c)
            });
            Ok(Arc::new(AzureSource::new(
                label,
                detail,
                make,
                f.timeout,
                Vec::new(),
                None,
            )?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_error_bodies_become_borrowable() {
        // azure_identity borrows error_description: it must need no JSON escapes.
        let desc = |fixed: &[u8]| {
            assert!(
                !fixed.contains(&b'\\'),
                "{}",
                String::from_utf8_lossy(fixed)
            );
            let v: serde_json::Value = serde_json::from_slice(fixed).unwrap();
            v["error_description"].as_str().unwrap().to_string()
        };
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x \"q\"","error_codes":[7000215]}"#;
        let fixed = borrowable_entra_error(401, body);
        assert_eq!(
            desc(&fixed),
            "AADSTS7000215: Invalid client secret provided. Trace ID: x 'q'"
        );
        let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(v["error_codes"][0], 7000215);
        let fixed = borrowable_entra_error(502, b"<html>\n<h1>502 Bad Gateway</h1></html>");
        assert_eq!(
            desc(&fixed),
            "HTTP 502 from the authority, not an Entra ID error: <html> <h1>502 Bad Gateway</h1></html>"
        );
    }

    #[test]
    fn tidy_drops_links_and_prefixes_and_redacts() {
        let m = "AzureCliCredential authentication failed. az not found on PATH\nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#azure-cli";
        assert_eq!(tidy(m, &[]), "az not found on PATH");
        let m = "ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\nTo troubleshoot, visit https://aka.ms/x#client-secret: more hunter2";
        assert_eq!(
            tidy(m, &["hunter2".into()]),
            "AADSTS7000215: Invalid client secret provided. Trace ID: x: more <redacted>"
        );
    }
}
