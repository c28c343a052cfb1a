//! Microsoft Entra ID authentication, offline: a fake HTTPS authority with a test CA, the
//! emulator's App Service managed-identity endpoint, IMDS through an in-process transport
//! (169.254.169.254 is never contacted), fake `az`/`azd` on PATH, and the host callback
//! through the C ABI. Every test holds the process-environment lock (`TestEnv`), because
//! azure_identity reads IDENTITY_ENDPOINT, AZURE_* and PATH from the process environment.

#![allow(clippy::result_large_err)] // aoai::Error is large by design (see src/lib.rs).

mod common;
#[path = "entra/support.rs"]
mod support;

use aoai::auth::{TokenCache, TokenSource};
use aoai::cancel::CancelToken;
use aoai::config::{Config, ConfigBuilder, Operation};
use aoai::request::{Request, Role};
use aoai::{Client, Status};
use common::Emulator;
use serde_json::{Value, json};
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{FakeAuthority, FakeCli, FakeImds, ImdsMode, TestEnv, test_ca};

const SCOPE: &str = "https://cognitiveservices.azure.com/.default";
const FAKE_SECRET: &str = "fake-client-secret-Zq8";
const IDENTITY_SECRET: &str = "fake-identity-header-5c1";
const ANSWER: &str = "Hello from the aoai emulator! You said: hi";

// ---------------------------------------------------------------- helpers

fn config_json(endpoint: &str, credential: Value, extra: Value) -> aoai::Result<Config> {
    let mut cfg = json!({"endpoint": endpoint, "deployment": "gpt-4o", "environment": false, "credential": credential});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let mut b = ConfigBuilder::new();
    b.load_json(&cfg.to_string())?;
    b.build()
}

fn client(emu: &Emulator, credential: Value, extra: Value) -> aoai::Result<Client> {
    Client::new(config_json(&emu.base, credential, extra)?, None)
}

fn chat(text: &str) -> Request {
    let mut r = Request::new(Operation::Chat);
    r.add_message(Role::User, text).unwrap();
    r
}

fn send(c: &Client) -> aoai::Result<aoai::Response> {
    c.call_blocking(&chat("hi"), false, &mut |_| true, &CancelToken::new())
}

fn answer(c: &Client) -> String {
    let r = send(c).unwrap_or_else(|e| panic!("request failed: {:?} {}", e.status, e.message));
    r.choices[0].text.clone().unwrap_or_default()
}

fn emulator_with_identity(extra: &[&str]) -> Emulator {
    let mut args = vec!["--identity-header", IDENTITY_SECRET];
    args.extend_from_slice(extra);
    Emulator::start_with(&args)
}

fn set_identity_env(env: &mut TestEnv, emu: &Emulator, header: &str) {
    env.set("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.base));
    env.set("IDENTITY_HEADER", header);
}

fn msi_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == "/msi/token")
        .cloned()
        .collect()
}

/// The bearer tokens of the API requests, in order. Asserts each request carried
/// `Authorization: Bearer` and never `api-key`.
fn bearer_tokens(emu: &Emulator) -> Vec<String> {
    emu.requests()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] != "/msi/token")
        .map(|r| {
            assert!(
                r["headers"].get("api-key").is_none(),
                "an Entra ID request carried api-key: {r}"
            );
            let auth = r["headers"]["authorization"]
                .as_str()
                .unwrap_or_else(|| panic!("no authorization header: {r}"));
            auth.strip_prefix("Bearer ")
                .unwrap_or_else(|| panic!("not a bearer header: {auth}"))
                .to_string()
        })
        .collect()
}

/// Messages must name the cause but never carry a token or a secret.
fn assert_clean(msg: &str, secrets: &[&str]) {
    for s in [FAKE_SECRET, IDENTITY_SECRET].iter().chain(secrets) {
        assert!(!msg.contains(s), "message leaks {s:?}: {msg}");
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A source built with an in-process transport, behind the library's TokenCache.
fn cache_with_transport(spec: Value, imds: Arc<FakeImds>) -> (Arc<dyn TokenSource>, TokenCache) {
    let cfg = config_json("https://example.openai.azure.com", spec.clone(), json!({})).unwrap();
    let src = aoai::credential::source_from_spec_with_transport(&spec, &cfg, &http(), imds)
        .unwrap_or_else(|e| panic!("{:?}: {}", e.status, e.message));
    let cache = TokenCache::new(Some(src.clone()), SCOPE.to_string());
    (src, cache)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

// ---------------------------------------------------------------- spec validation

#[test]
fn unknown_credential_names_and_fields_are_invalid_config_naming_them() {
    let _env = TestEnv::new();
    let ep = "http://127.0.0.1:9";
    let cases = [
        (json!("azure_clu"), "'azure_clu'"),
        (
            json!({"type": "managed_identity", "clientid": "x"}),
            "'clientid'",
        ),
        (json!(["managed_identity", "nope"]), "'nope'"),
        (
            json!({"type": "chain", "sources": ["azure_cli"], "extra": 1}),
            "'extra'",
        ),
        (json!({"type": "mystery"}), "'mystery'"),
        (
            json!({"type": "client_secret", "authority_host": "http://127.0.0.1:1"}),
            "https",
        ),
        (json!([]), "at least one source"),
    ];
    for (spec, needle) in cases {
        let e = Client::new(config_json(ep, spec.clone(), json!({})).unwrap(), None)
            .err()
            .unwrap_or_else(|| panic!("{spec} was accepted"));
        assert_eq!(e.status, Status::InvalidConfig, "{spec}: {}", e.message);
        assert!(e.message.contains(needle), "{spec}: {}", e.message);
    }
}

#[test]
fn unsupported_environments_fail_cleanly_without_panics() {
    let mut env = TestEnv::new();
    let ep = "http://127.0.0.1:9";
    // CloudShell: azure_identity refuses it at construction; no panic, a clear message.
    env.set("MSI_ENDPOINT", "http://127.0.0.1:9/msi");
    let e = Client::new(
        config_json(ep, json!("managed_identity"), json!({})).unwrap(),
        None,
    )
    .err()
    .expect("CloudShell accepted");
    assert_eq!(e.status, Status::Credential, "{}", e.message);
    assert!(e.message.contains("managed_identity"), "{}", e.message);
    assert!(e.message.contains("CloudShell"), "{}", e.message);
    // In a chain the same source is skipped with its reason, and the next one is used.
    let emu = Emulator::start_with(&["--token", "cli-token-1"]);
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600");
    env.with_fake_clis(&cli);
    let c = client(&emu, json!(["managed_identity", "azure_cli"]), json!({})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    env.unset("MSI_ENDPOINT");
    // App Service half-configured.
    env.set("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token");
    let e = Client::new(
        config_json(ep, json!("managed_identity"), json!({})).unwrap(),
        None,
    )
    .err()
    .expect("IDENTITY_ENDPOINT without IDENTITY_HEADER accepted");
    assert_eq!(e.status, Status::InvalidConfig, "{}", e.message);
    assert!(e.message.contains("IDENTITY_HEADER"), "{}", e.message);
    // A client secret with nothing configured names what is missing.
    let e = Client::new(
        config_json(ep, json!("environment"), json!({})).unwrap(),
        None,
    )
    .err()
    .expect("empty environment accepted");
    assert_eq!(e.status, Status::InvalidConfig, "{}", e.message);
    assert!(
        e.message
            .contains("AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set"),
        "{}",
        e.message
    );
}

#[test]
fn credentials_are_built_on_our_transport_even_without_system_ca_roots() {
    let mut env = TestEnv::new();
    // azure_identity's own default transport panics on a host without CA roots; ours is
    // always passed, so nothing builds another HTTP client.
    let http = http();
    env.set("SSL_CERT_FILE", "/dev/null");
    env.set("SSL_CERT_DIR", "/nonexistent-aoai-certs");
    env.set("AZURE_TENANT_ID", "t");
    env.set("AZURE_CLIENT_ID", "c");
    env.set("AZURE_CLIENT_SECRET", FAKE_SECRET);
    let cfg = config_json(
        "https://example.openai.azure.com",
        json!("default"),
        json!({}),
    )
    .unwrap();
    let imds: Arc<FakeImds> = Arc::new(FakeImds::new(ImdsMode::Unreachable));
    for spec in [
        json!("environment"),
        json!("managed_identity"),
        json!("azure_cli"),
        json!("default"),
        json!({"type": "client_secret", "authority_host": "https://login.microsoftonline.us"}),
    ] {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            aoai::credential::source_from_spec_with_transport(&spec, &cfg, &http, imds.clone())
        }));
        let r = r.unwrap_or_else(|_| panic!("{spec} panicked"));
        assert!(r.is_ok(), "{spec}: {:?}", r.err().map(|e| e.message));
    }
}

#[test]
fn emulator_identity_endpoint_contract() {
    let _env = TestEnv::new();
    let emu = emulator_with_identity(&["--identity-token-ttl", "1"]);
    let path = "/msi/token?api-version=2019-08-01&resource=https://cognitiveservices.azure.com";
    let hdr = [("x-identity-header", IDENTITY_SECRET)];
    // Wrong or missing header: App Service's 401 shape.
    let r = emu.request("GET", path, &[], "");
    assert_eq!(r.status, 401);
    let b = r.json();
    assert_eq!(b["statusCode"], 401);
    assert!(b["message"].as_str().unwrap().contains("X-IDENTITY-HEADER"));
    assert!(b["correlationId"].as_str().unwrap().len() >= 32);
    let r = emu.request("GET", path, &[("x-identity-header", "nope")], "");
    assert_eq!(r.status, 401);
    // Bad api-version, missing resource, wrong method.
    let r = emu.request(
        "GET",
        "/msi/token?api-version=2017-09-01&resource=x",
        &hdr,
        "",
    );
    assert_eq!(r.status, 400);
    let r = emu.request("GET", "/msi/token?api-version=2019-08-01", &hdr, "");
    assert_eq!(r.status, 400);
    let r = emu.request("POST", path, &hdr, "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    // Scripts are not consumed by the identity endpoint.
    emu.script(json!([{"status": 503}]));
    let r = emu.request("GET", &format!("{path}&client_id=abc"), &hdr, "");
    assert_eq!(r.status, 200);
    let b = r.json();
    let token = b["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("emu-msi-"), "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["resource"], "https://cognitiveservices.azure.com");
    assert_eq!(b["client_id"], "abc");
    let exp: u64 = b["expires_on"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp >= now && exp <= now + 2, "{exp} vs {now}");
    let listed = emu.request("GET", "/_emulator/identity", &[], "").json();
    assert_eq!(listed["enabled"], true);
    assert_eq!(listed["tokens"][0]["access_token"], token.as_str());
    // The issued token works on Azure routes (the script entry is consumed here) ...
    let chat_path = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
    let body = json!({"messages": [{"role": "user", "content": "hi"}]}).to_string();
    let bearer = format!("Bearer {token}");
    let auth = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    assert_eq!(emu.request("POST", chat_path, &auth, &body).status, 503);
    assert_eq!(emu.request("POST", chat_path, &auth, &body).status, 200);
    // ... not on OpenAI routes ...
    let v1_body =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    assert_eq!(
        emu.request("POST", "/v1/chat/completions", &auth, &v1_body)
            .status,
        401
    );
    // ... and not after it expired.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(emu.request("POST", chat_path, &auth, &body).status, 401);
    // Identity requests are recorded.
    let recorded = msi_requests(&emu);
    assert_eq!(recorded.len(), 6);
    // Without --identity-header the path is unknown.
    let plain = Emulator::start();
    assert_eq!(plain.request("GET", path, &hdr, "").status, 404);
}

// ---------------------------------------------------------------- client secret / authority

#[test]
fn client_secret_gets_a_token_from_the_https_authority_trusted_through_ca_file() {
    let _env = TestEnv::new();
    let auth = FakeAuthority::start(&["--secret", FAKE_SECRET]);
    let emu = Emulator::start_with(&["--token", "aad-token-1"]);
    let spec = json!({"type": "client_secret", "tenant_id": "fake-tenant", "client_id": "fake-client-id",
                      "client_secret": FAKE_SECRET, "authority_host": auth.url});
    let ca = test_ca().ca_pem.to_str().unwrap();
    let c = client(&emu, spec, json!({"ca_file": ca})).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    // One token request for three calls: the library's cache.
    let reqs = auth.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0]["path"], "/fake-tenant/oauth2/v2.0/token");
    let form = &reqs[0]["form"];
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "fake-client-id");
    assert_eq!(form["client_secret"], FAKE_SECRET);
    assert_eq!(form["scope"], SCOPE);
    assert!(
        reqs[0]["content_type"]
            .as_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(bearer_tokens(&emu), vec!["aad-token-1"; 3]);
    // describe: the kind and the source, never the secret or the token.
    let d = c.describe();
    let v: Value = serde_json::from_str(&d).unwrap();
    assert_eq!(v["auth"]["kind"], "entra_id");
    assert_eq!(v["auth"]["credential"]["type"], "client_secret");
    assert_eq!(v["auth"]["credential"]["client_secret"], "<redacted>");
    assert_eq!(v["auth"]["scope"], SCOPE);
    assert!(
        v["auth"]["token_source"]
            .as_str()
            .unwrap()
            .starts_with("client_secret (tenant fake-tenant, client fake-client-id)"),
        "{d}"
    );
    assert_clean(&d, &["aad-token-1"]);
    assert_eq!(c.token_cache().unwrap().fetch_count(), 1);
}

#[test]
fn a_tls_failure_to_the_authority_fails_within_seconds_with_the_cause() {
    let _env = TestEnv::new();
    let auth = FakeAuthority::start(&[]);
    let emu = Emulator::start();
    // No ca_file: the test CA is not trusted.
    let spec = json!({"type": "client_secret", "tenant_id": "fake-tenant", "client_id": "c",
                      "client_secret": FAKE_SECRET, "authority_host": auth.url});
    let c = client(&emu, spec, json!({})).unwrap();
    let t0 = Instant::now();
    let e = send(&c).unwrap_err();
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: {}",
        e.message
    );
    assert_eq!(e.status, Status::Credential, "{}", e.message);
    let m = e.message.to_ascii_lowercase();
    assert!(
        m.contains("certificate") || m.contains("unknownissuer"),
        "no TLS cause in: {}",
        e.message
    );
    assert!(e.message.contains("client_secret"), "{}", e.message);
    assert_clean(&e.message, &[]);
    assert!(emu.requests().as_array().unwrap().is_empty());
}

#[test]
fn a_rejected_client_secret_reports_the_aadsts_code_but_not_the_secret() {
    let _env = TestEnv::new();
    let auth = FakeAuthority::start(&["--secret", "the-right-secret"]);
    let emu = Emulator::start();
    let spec = json!({"type": "client_secret", "tenant_id": "fake-tenant", "client_id": "fake-client-id",
                      "client_secret": FAKE_SECRET, "authority_host": auth.url});
    let ca = test_ca().ca_pem.to_str().unwrap();
    let c = client(&emu, spec, json!({"ca_file": ca})).unwrap();
    let e = send(&c).unwrap_err();
    assert_eq!(e.status, Status::Credential);
    assert!(e.message.contains("AADSTS7000215"), "{}", e.message);
    assert!(e.message.contains("Invalid client secret"), "{}", e.message);
    assert!(e.message.contains("HTTP 401"), "{}", e.message);
    assert!(
        e.message
            .starts_with("could not get an Entra ID token from client_secret"),
        "{}",
        e.message
    );
    assert!(!e.message.contains('\n') && !e.message.contains('\r'));
    assert_clean(&e.message, &["the-right-secret"]);
    // Not retried: a 401 from the authority is final.
    assert_eq!(auth.requests().len(), 1);
}

#[test]
fn environment_credential_reads_the_azure_variables() {
    let mut env = TestEnv::new();
    let auth = FakeAuthority::start(&["--secret", FAKE_SECRET, "--token-prefix", "env-token"]);
    let emu = Emulator::start_with(&["--token", "env-token-1"]);
    env.set("AZURE_TENANT_ID", "env-tenant");
    env.set("AZURE_CLIENT_ID", "env-client");
    env.set("AZURE_CLIENT_SECRET", FAKE_SECRET);
    env.set("AZURE_AUTHORITY_HOST", &auth.url);
    let ca = test_ca().ca_pem.to_str().unwrap();
    let c = client(&emu, json!("environment"), json!({"ca_file": ca})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    let reqs = auth.requests();
    assert_eq!(reqs[0]["path"], "/env-tenant/oauth2/v2.0/token");
    assert_eq!(reqs[0]["form"]["client_id"], "env-client");
    assert_eq!(bearer_tokens(&emu), vec!["env-token-1"]);
    assert_clean(&c.describe(), &["env-token-1"]);
}

#[test]
fn workload_identity_sends_the_federated_token_as_client_assertion() {
    let _env = TestEnv::new();
    let assertion = "fake.federated.service-account-jwt";
    let auth = FakeAuthority::start(&["--assertion", assertion, "--token-prefix", "wi-token"]);
    let emu = Emulator::start_with(&["--token", "wi-token-1"]);
    let dir = support::TempDir::new("wi");
    let file = dir.path().join("token");
    std::fs::write(&file, assertion).unwrap();
    let spec = json!({"type": "workload_identity", "tenant_id": "wi-tenant", "client_id": "wi-client",
                      "token_file": file.to_str().unwrap(), "authority_host": auth.url});
    let ca = test_ca().ca_pem.to_str().unwrap();
    let c = client(&emu, spec, json!({"ca_file": ca})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    let reqs = auth.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["path"], "/wi-tenant/oauth2/v2.0/token");
    let form = &reqs[0]["form"];
    assert_eq!(form["client_assertion"], assertion);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(form["client_id"], "wi-client");
    assert_eq!(form["scope"], SCOPE);
    assert_eq!(bearer_tokens(&emu), vec!["wi-token-1"]);
    // A missing token file is a clear error at creation.
    let spec = json!({"type": "workload_identity", "tenant_id": "t", "client_id": "c",
                      "token_file": dir.path().join("absent").to_str().unwrap(), "authority_host": auth.url});
    let e = client(&emu, spec, json!({})).err().unwrap();
    assert_eq!(e.status, Status::Credential, "{}", e.message);
    assert!(
        e.message.contains("failed to read federated token"),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------- managed identity

#[test]
fn managed_identity_uses_the_app_service_endpoint_and_sends_its_token() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&[]);
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let c = client(&emu, json!("managed_identity"), json!({})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(answer(&c), ANSWER);
    let msi = msi_requests(&emu);
    assert_eq!(msi.len(), 1, "cached: {msi:?}");
    let q = msi[0]["query"].as_str().unwrap();
    assert!(q.contains("api-version=2019-08-01"), "{q}");
    assert!(q.contains("cognitiveservices.azure.com"), "{q}");
    assert!(
        !q.contains(".default"),
        "scope not turned into a resource: {q}"
    );
    assert_eq!(msi[0]["method"], "GET");
    assert_eq!(msi[0]["headers"]["x-identity-header"], IDENTITY_SECRET);
    assert_eq!(msi[0]["headers"]["metadata"], "true");
    let tokens = bearer_tokens(&emu);
    assert_eq!(tokens.len(), 2);
    assert!(tokens[0].starts_with("emu-msi-"), "{tokens:?}");
    assert_eq!(tokens[0], tokens[1]);
    let d = c.describe();
    assert!(d.contains("managed_identity (App Service endpoint"), "{d}");
    assert_clean(&d, &[&tokens[0]]);

    // A user-assigned identity by client id.
    emu.clear_requests();
    let c = client(
        &emu,
        json!({"type": "managed_identity", "client_id": "11111111-2222-3333-4444-555555555555"}),
        json!({}),
    )
    .unwrap();
    assert_eq!(answer(&c), ANSWER);
    let q = msi_requests(&emu)[0]["query"].as_str().unwrap().to_string();
    assert!(
        q.contains("client_id=11111111-2222-3333-4444-555555555555"),
        "{q}"
    );
}

#[test]
fn managed_identity_with_a_wrong_header_reports_the_401() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&[]);
    set_identity_env(&mut env, &emu, "a-wrong-identity-header");
    let c = client(&emu, json!("managed_identity"), json!({})).unwrap();
    let e = send(&c).unwrap_err();
    assert_eq!(e.status, Status::Credential);
    assert!(e.message.contains("managed_identity"), "{}", e.message);
    assert!(e.message.contains("HTTP 401"), "{}", e.message);
    assert!(e.message.contains("X-IDENTITY-HEADER"), "{}", e.message);
    assert_clean(&e.message, &["a-wrong-identity-header"]);
}

#[test]
fn imds_is_reached_only_through_the_in_process_transport() {
    let _env = TestEnv::new();
    let rt = runtime();
    // System-assigned: a probe, then the token request, then the cache.
    let imds = Arc::new(FakeImds::new(ImdsMode::Token("imds-token-1", 3600)));
    let (src, cache) = cache_with_transport(json!("managed_identity"), imds.clone());
    assert_eq!(src.name(), "managed_identity (IMDS)");
    let t = rt.block_on(cache.token(None)).unwrap();
    assert_eq!(t.expose(), "imds-token-1");
    let t = rt.block_on(cache.token(None)).unwrap();
    assert_eq!(t.expose(), "imds-token-1");
    let seen = imds.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "probe + one token request: {seen:?}");
    assert!(
        seen[0].0.contains("api-version=2018-02-01"),
        "{:?}",
        seen[0]
    );
    assert!(!seen[0].1.iter().any(|(k, _)| k == "metadata"));
    assert!(
        seen[1].0.contains("api-version=2019-08-01"),
        "{:?}",
        seen[1]
    );
    assert!(seen[1].0.contains("resource="), "{:?}", seen[1]);
    assert!(
        seen[1]
            .1
            .iter()
            .any(|(k, v)| k == "metadata" && v == "true")
    );
    // User-assigned by object id and by resource id.
    for (spec, needle) in [
        (
            json!({"type": "managed_identity", "object_id": "oid-123"}),
            "object_id=oid-123",
        ),
        (
            json!({"type": "managed_identity", "resource_id": "/subscriptions/s/rg/uami"}),
            "msi_res_id=",
        ),
    ] {
        let imds = Arc::new(FakeImds::new(ImdsMode::Token("imds-token-2", 3600)));
        let (_, cache) = cache_with_transport(spec, imds.clone());
        assert_eq!(
            rt.block_on(cache.token(None)).unwrap().expose(),
            "imds-token-2"
        );
        let urls = imds.urls();
        assert!(urls[1].contains(needle), "{urls:?}");
    }
    // Nothing answers: a fast, explicit failure instead of 72 s of retries.
    let imds = Arc::new(FakeImds::new(ImdsMode::Unreachable));
    let (_, cache) = cache_with_transport(json!("managed_identity"), imds.clone());
    let t0 = Instant::now();
    let e = rt.block_on(cache.token(None)).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert_eq!(e.status, Status::Credential);
    assert!(
        e.message
            .contains("IMDS (169.254.169.254) is not reachable"),
        "{}",
        e.message
    );
    assert!(e.message.contains("No route to host"), "{}", e.message);
    // IMDS there, identity not assigned.
    let imds = Arc::new(FakeImds::new(ImdsMode::NotAssigned));
    let (_, cache) = cache_with_transport(json!("managed_identity"), imds.clone());
    let e = rt.block_on(cache.token(None)).unwrap_err();
    assert!(
        e.message
            .contains("The requested identity has not been assigned to this resource"),
        "{}",
        e.message
    );
    assert!(e.message.contains("HTTP 400"), "{}", e.message);
}

// ---------------------------------------------------------------- CLI credentials

#[test]
fn azure_cli_runs_once_for_many_requests() {
    let mut env = TestEnv::new();
    let emu = Emulator::start_with(&["--token", "cli-token-1", "--token", "azd-token-1"]);
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600")
        .default("azd", "ok azd-token-1 3600");
    env.with_fake_clis(&cli);
    let c = client(
        &emu,
        json!({"type": "azure_cli", "tenant_id": "cli-tenant"}),
        json!({}),
    )
    .unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    assert_eq!(cli.count("az"), 1, "the CLI must not run per request");
    let args = cli.args("az");
    assert!(
        args[0].starts_with(&format!("account get-access-token -o json --scope {SCOPE}")),
        "{args:?}"
    );
    assert!(args[0].contains("--tenant cli-tenant"), "{args:?}");
    assert_eq!(bearer_tokens(&emu), vec!["cli-token-1"; 3]);

    emu.clear_requests();
    let c = client(&emu, json!("azure_developer_cli"), json!({})).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    assert_eq!(cli.count("azd"), 1);
    let args = cli.args("azd");
    assert!(
        args[0].starts_with("auth token -o json --no-prompt --scope"),
        "{args:?}"
    );
    assert_eq!(bearer_tokens(&emu), vec!["azd-token-1"; 3]);
    assert!(c.describe().contains("azure_developer_cli"));
}

#[test]
fn a_missing_az_is_reported_as_not_found_on_path() {
    let mut env = TestEnv::new();
    let emu = Emulator::start();
    env.set("PATH", "/nonexistent-aoai-test-dir");
    let c = client(&emu, json!("azure_cli"), json!({})).unwrap();
    let e = send(&c).unwrap_err();
    assert_eq!(e.status, Status::Credential);
    assert_eq!(
        e.message,
        "could not get an Entra ID token from azure_cli: az not found on PATH"
    );
    // A CLI that fails passes its stderr through.
    let cli = FakeCli::new();
    cli.default(
        "az",
        "fail 1 ERROR: AADSTS70043: The refresh token has expired due to inactivity.",
    );
    env.with_fake_clis(&cli);
    let c = client(&emu, json!("azure_cli"), json!({})).unwrap();
    let e = send(&c).unwrap_err();
    assert!(e.message.contains("AADSTS70043"), "{}", e.message);
    assert!(emu.requests().as_array().unwrap().is_empty());
}

#[test]
fn a_hanging_cli_is_stopped_at_the_source_timeout_and_killed() {
    let mut env = TestEnv::new();
    let emu = Emulator::start();
    let cli = FakeCli::new();
    cli.default("az", "sleep 30");
    env.with_fake_clis(&cli);
    let c = client(
        &emu,
        json!({"type": "azure_cli", "timeout_ms": 300}),
        json!({}),
    )
    .unwrap();
    let t0 = Instant::now();
    let e = send(&c).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(e.status, Status::Credential);
    assert!(
        e.message.contains("no token within 300 ms"),
        "{}",
        e.message
    );
    // The fake az (a grandchild: /bin/sh runs it) was killed with its process group.
    let pid = std::fs::read_to_string(cli.dir.join("az.pid")).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    let dead = || {
        std::fs::read_to_string(&stat)
            .map(|s| s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
            .unwrap_or(true)
    };
    let t1 = Instant::now();
    while !dead() && t1.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dead(), "the fake az (pid {}) is still running", pid.trim());
    assert!(!cli.file_exists("az.finished"));
}

// ---------------------------------------------------------------- chains

#[test]
fn default_chain_order_and_fallback() {
    let mut env = TestEnv::new();
    let rt = runtime();
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600");
    env.with_fake_clis(&cli);

    // Nothing in the environment, IMDS unreachable: environment and workload identity are
    // skipped, managed identity fails fast, the Azure CLI gives the token.
    let imds = Arc::new(FakeImds::new(ImdsMode::Unreachable));
    let (src, cache) = cache_with_transport(json!("default"), imds.clone());
    assert_eq!(
        src.name(),
        "default chain (environment, workload_identity, managed_identity, azure_cli, azure_developer_cli)"
    );
    assert_eq!(
        rt.block_on(cache.token(None)).unwrap().expose(),
        "cli-token-1"
    );
    assert!(src.name().ends_with("using azure_cli"), "{}", src.name());
    assert_eq!(cli.count("az"), 1);
    assert_eq!(cli.count("azd"), 0);

    // IMDS available: managed identity comes before the CLI; AZURE_CLIENT_ID selects the
    // user-assigned identity, as DefaultAzureCredential does.
    env.set("AZURE_CLIENT_ID", "uami-client-id");
    let imds = Arc::new(FakeImds::new(ImdsMode::Token("imds-token-1", 3600)));
    let (src, cache) = cache_with_transport(json!("default"), imds.clone());
    assert_eq!(
        rt.block_on(cache.token(None)).unwrap().expose(),
        "imds-token-1"
    );
    assert!(
        src.name().contains("using managed_identity (IMDS"),
        "{}",
        src.name()
    );
    assert!(imds.urls()[1].contains("client_id=uami-client-id"));
    assert_eq!(
        cli.count("az"),
        1,
        "the CLI is not tried after managed identity worked"
    );

    // Environment credentials come first of all.
    let auth = FakeAuthority::start(&["--secret", FAKE_SECRET, "--token-prefix", "env-token"]);
    env.set("AZURE_TENANT_ID", "env-tenant");
    env.set("AZURE_CLIENT_SECRET", FAKE_SECRET);
    env.set("AZURE_AUTHORITY_HOST", &auth.url);
    let emu = Emulator::start_with(&["--token", "env-token-1"]);
    let ca = test_ca().ca_pem.to_str().unwrap();
    let c = client(&emu, json!("default"), json!({"ca_file": ca})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(bearer_tokens(&emu), vec!["env-token-1"]);
    assert!(c.describe().contains("using environment"));

    // Workload identity comes next when there is no secret.
    let wi = FakeAuthority::start(&["--token-prefix", "wi-token"]);
    let dir = support::TempDir::new("wi");
    std::fs::write(dir.path().join("token"), "fake.jwt").unwrap();
    env.unset("AZURE_CLIENT_SECRET");
    env.set("AZURE_FEDERATED_TOKEN_FILE", dir.path().join("token"));
    env.set("AZURE_AUTHORITY_HOST", &wi.url);
    let emu = Emulator::start_with(&["--token", "wi-token-1"]);
    let c = client(&emu, json!("default"), json!({"ca_file": ca})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert!(c.describe().contains("using workload_identity"));
    assert_eq!(wi.requests()[0]["form"]["client_assertion"], "fake.jwt");
    assert_eq!(cli.count("az"), 1);
}

#[test]
fn default_chain_failure_lists_every_source_and_why() {
    let mut env = TestEnv::new();
    let rt = runtime();
    env.set("PATH", "/nonexistent-aoai-test-dir");
    let imds = Arc::new(FakeImds::new(ImdsMode::Unreachable));
    let (_, cache) = cache_with_transport(json!("default"), imds);
    let e = rt.block_on(cache.token(None)).unwrap_err();
    assert_eq!(e.status, Status::Credential);
    let m = &e.message;
    let expected = [
        "could not get an Entra ID token from default chain (environment, workload_identity, managed_identity, azure_cli, azure_developer_cli): every source failed: ",
        "environment: skipped: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set; ",
        "workload_identity: skipped: AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, AZURE_CLIENT_ID not set; ",
        "managed_identity: no managed identity endpoint: IDENTITY_ENDPOINT is not set and IMDS (169.254.169.254) is not reachable",
        "; azure_cli: az not found on PATH; azure_developer_cli: azd not found on PATH",
    ];
    let mut at = 0;
    for part in expected {
        let i = m[at..]
            .find(part)
            .unwrap_or_else(|| panic!("missing {part:?} (in order) in: {m}"));
        at += i + part.len();
    }
}

#[test]
fn default_chain_through_the_client_falls_back_from_managed_identity_to_the_cli() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&["--token", "cli-token-1"]);
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600");
    env.with_fake_clis(&cli);
    // App Service endpoint present but rejecting us: the chain moves on to the CLI.
    set_identity_env(&mut env, &emu, "a-wrong-identity-header");
    let c = client(&emu, json!("default"), json!({})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(bearer_tokens(&emu), vec!["cli-token-1"; 2]);
    assert_eq!(msi_requests(&emu).len(), 1);
    assert_eq!(cli.count("az"), 1);
    let d = c.describe();
    assert!(d.contains("using azure_cli"), "{d}");
    assert_clean(&d, &["cli-token-1", "a-wrong-identity-header"]);
    // With the right header managed identity wins and the CLI is not run.
    emu.clear_requests();
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let c = client(&emu, json!("default"), json!({})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert!(bearer_tokens(&emu)[0].starts_with("emu-msi-"));
    assert_eq!(cli.count("az"), 1);
}

#[test]
fn explicit_chain_managed_identity_then_azure_cli() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&["--token", "cli-token-1"]);
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600");
    env.with_fake_clis(&cli);
    let chains = [
        json!(["managed_identity", "azure_cli"]),
        json!({"type": "chain", "sources": ["managed_identity", {"type": "azure_cli"}]}),
    ];
    // Managed identity works: the CLI is never run.
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    for spec in &chains {
        let c = client(&emu, spec.clone(), json!({})).unwrap();
        assert_eq!(answer(&c), ANSWER);
        assert!(
            c.describe()
                .contains("chain (managed_identity, azure_cli) using managed_identity"),
            "{}",
            c.describe()
        );
    }
    assert_eq!(cli.count("az"), 0);
    // Managed identity fails: the CLI is used.
    set_identity_env(&mut env, &emu, "a-wrong-identity-header");
    emu.clear_requests();
    let c = client(&emu, chains[0].clone(), json!({})).unwrap();
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(bearer_tokens(&emu), vec!["cli-token-1"]);
    assert_eq!(cli.count("az"), 1);
    // Both fail: the message lists both, in order, with their causes.
    env.set("PATH", "/nonexistent-aoai-test-dir");
    for spec in &chains {
        let c = client(&emu, spec.clone(), json!({})).unwrap();
        let e = send(&c).unwrap_err();
        assert_eq!(e.status, Status::Credential);
        let m = &e.message;
        assert!(
            m.starts_with("could not get an Entra ID token from chain (managed_identity, azure_cli): every source failed: managed_identity: "),
            "{m}"
        );
        assert!(m.contains("HTTP 401"), "{m}");
        assert!(m.ends_with("; azure_cli: az not found on PATH"), "{m}");
        assert_clean(m, &["a-wrong-identity-header"]);
    }
}

// ---------------------------------------------------------------- cache behaviour

#[test]
fn a_short_lived_token_is_fetched_again_and_a_long_lived_one_is_not() {
    let mut env = TestEnv::new();
    // 60 s is inside the 300 s refresh margin: every request needs a new token.
    let emu = emulator_with_identity(&["--identity-token-ttl", "60"]);
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let c = client(&emu, json!("managed_identity"), json!({})).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    assert_eq!(msi_requests(&emu).len(), 3);
    let mut tokens = bearer_tokens(&emu);
    tokens.dedup();
    assert_eq!(
        tokens.len(),
        3,
        "each request got a fresh token: {tokens:?}"
    );
    assert_eq!(c.token_cache().unwrap().fetch_count(), 3);
    // 3600 s: one fetch.
    let emu = emulator_with_identity(&[]);
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let c = client(&emu, json!("managed_identity"), json!({})).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    assert_eq!(msi_requests(&emu).len(), 1);
}

#[test]
fn a_failed_refresh_keeps_the_still_valid_token_and_warns_once() {
    let mut env = TestEnv::new();
    let emu = Emulator::start_with(&["--token", "cli-old-token"]);
    let cli = FakeCli::new();
    // The first token is valid for 200 s (inside the refresh margin); refreshing then fails.
    cli.nth("az", 1, "ok cli-old-token 200").default(
        "az",
        "fail 1 ERROR: AADSTS700082: The refresh token has expired due to inactivity.",
    );
    env.with_fake_clis(&cli);
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let w = warnings.clone();
    aoai::log::set_sink(
        Some(Arc::new(move |level, msg: &str| {
            if level == aoai::log::Level::Warn {
                w.lock().unwrap().push(msg.to_string());
            }
        })),
        2,
    );
    let c = client(&emu, json!("azure_cli"), json!({})).unwrap();
    for _ in 0..3 {
        assert_eq!(answer(&c), ANSWER);
    }
    aoai::log::set_sink(None, 0);
    assert_eq!(bearer_tokens(&emu), vec!["cli-old-token"; 3]);
    assert_eq!(cli.count("az"), 3, "each request tried to refresh");
    let warnings = warnings.lock().unwrap().clone();
    let stale: Vec<_> = warnings
        .iter()
        .filter(|m| m.contains("token refresh from azure_cli failed"))
        .collect();
    assert_eq!(stale.len(), 1, "reported once: {warnings:?}");
    assert!(stale[0].contains("AADSTS700082"), "{}", stale[0]);
    assert_clean(stale[0], &["cli-old-token"]);
}

#[test]
fn one_hundred_concurrent_requests_cause_one_token_fetch() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&["--token", "cli-token-1"]);
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let cli = FakeCli::new();
    cli.default("az", "ok cli-token-1 3600");
    env.with_fake_clis(&cli);
    for (spec, fetches) in [
        (json!("managed_identity"), "msi"),
        (json!("azure_cli"), "az"),
    ] {
        emu.clear_requests();
        let c = client(&emu, spec, json!({})).unwrap();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..100).map(|_| s.spawn(|| send(&c))).collect();
            for h in handles {
                let r = h.join().unwrap();
                assert!(r.is_ok(), "{:?}", r.err().map(|e| e.message));
            }
        });
        assert_eq!(bearer_tokens(&emu).len(), 100);
        match fetches {
            "msi" => assert_eq!(msi_requests(&emu).len(), 1),
            _ => assert_eq!(cli.count("az"), 1),
        }
        assert_eq!(c.token_cache().unwrap().fetch_count(), 1);
    }
}

#[test]
fn a_401_refreshes_the_token_once_and_retries() {
    let mut env = TestEnv::new();
    // The service accepts only token B; the CLI hands out A, then B.
    let emu = Emulator::start_with(&["--token", "cli-token-B"]);
    let cli = FakeCli::new();
    cli.nth("az", 1, "ok cli-token-A 3600")
        .nth("az", 2, "ok cli-token-B 3600")
        .default("az", "ok cli-token-C 3600");
    env.with_fake_clis(&cli);
    let c = client(&emu, json!("azure_cli"), json!({})).unwrap();
    let r = send(&c).unwrap();
    assert_eq!(r.choices[0].text.as_deref(), Some(ANSWER));
    assert_eq!(r.attempts, 2);
    assert_eq!(bearer_tokens(&emu), vec!["cli-token-A", "cli-token-B"]);
    assert_eq!(cli.count("az"), 2);
    // B is kept.
    assert_eq!(answer(&c), ANSWER);
    assert_eq!(cli.count("az"), 2);
    // A token the service keeps rejecting: one refresh, one retry, then the 401.
    let emu = Emulator::start_with(&["--token", "something-else"]);
    let c = client(&emu, json!("azure_cli"), json!({})).unwrap();
    let e = send(&c).unwrap_err();
    assert_eq!(e.status, Status::Authentication);
    assert_eq!(e.http_status, 401);
    assert_eq!(bearer_tokens(&emu).len(), 2);
    assert_eq!(cli.count("az"), 4);
    assert_clean(&e.message, &["cli-token-C"]);
}

#[test]
fn requests_carry_a_bearer_token_and_never_the_api_key_from_the_environment() {
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&[]);
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    env.set("AZURE_OPENAI_API_KEY", common::API_KEY);
    // Environment on: the key is in it, but the JSON config's credential wins whole.
    let c = client(
        &emu,
        json!("managed_identity"),
        json!({"environment": true}),
    )
    .unwrap();
    assert_eq!(answer(&c), ANSWER);
    let tokens = bearer_tokens(&emu);
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].starts_with("emu-msi-"));
}

// ---------------------------------------------------------------- the C ABI

mod c_abi {
    use super::*;
    use aoai::ffi::call::aoai_chat_simple;
    use aoai::ffi::client::*;
    use aoai::ffi::error::aoai_last_error_message;
    use aoai::ffi::strings::aoai_string_free;

    pub struct Calls {
        pub count: AtomicUsize,
        pub scope: Mutex<String>,
    }

    /// A host token provider: writes "host-token-1", valid for an hour.
    pub unsafe extern "C" fn good_callback(
        user_data: *mut c_void,
        scope: *const c_char,
        token_buf: *mut c_char,
        token_buf_len: usize,
        expires_on_out: *mut i64,
    ) -> i32 {
        let calls = unsafe { &*(user_data as *const Calls) };
        calls.count.fetch_add(1, Ordering::SeqCst);
        *calls.scope.lock().unwrap() = unsafe { CStr::from_ptr(scope) }
            .to_string_lossy()
            .into_owned();
        let token = b"host-token-1\0";
        assert!(token_buf_len >= token.len());
        unsafe {
            std::ptr::copy_nonoverlapping(token.as_ptr() as *const c_char, token_buf, token.len());
            *expires_on_out = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                + 3600;
        }
        0
    }

    /// A host token provider whose sign-in failed.
    pub unsafe extern "C" fn failing_callback(
        _user_data: *mut c_void,
        _scope: *const c_char,
        _token_buf: *mut c_char,
        _token_buf_len: usize,
        _expires_on_out: *mut i64,
    ) -> i32 {
        7
    }

    pub fn options(emu: &Emulator) -> *mut AoaiOptions {
        let mut opts = std::ptr::null_mut();
        unsafe {
            assert_eq!(aoai_options_new(&mut opts), Status::Ok);
            let ep = CString::new(emu.base.clone()).unwrap();
            assert_eq!(aoai_options_set_endpoint(opts, ep.as_ptr()), Status::Ok);
            assert_eq!(
                aoai_options_set_deployment(opts, c"gpt-4o".as_ptr()),
                Status::Ok
            );
            assert_eq!(aoai_options_set_use_environment(opts, 0), Status::Ok);
        }
        opts
    }

    pub fn new_client(opts: *mut AoaiOptions) -> *mut AoaiClient {
        let mut c = std::ptr::null_mut();
        unsafe {
            let st = aoai_client_new(opts, &mut c);
            assert_eq!(st, Status::Ok, "{}", last_error());
            aoai_options_free(opts);
        }
        c
    }

    pub fn last_error() -> String {
        unsafe { CStr::from_ptr(aoai_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    /// aoai_chat_simple("hi"): the status and the text (or the error message).
    pub fn chat(c: *mut AoaiClient) -> (Status, String) {
        let mut text = std::ptr::null_mut();
        unsafe {
            let st = aoai_chat_simple(c, c"hi".as_ptr(), &mut text);
            if st != Status::Ok {
                return (st, last_error());
            }
            let s = CStr::from_ptr(text).to_string_lossy().into_owned();
            aoai_string_free(text);
            (st, s)
        }
    }

    pub fn describe(c: *mut AoaiClient) -> String {
        let mut out = std::ptr::null_mut();
        unsafe {
            assert_eq!(aoai_client_describe(c, &mut out), Status::Ok);
            let s = CStr::from_ptr(out).to_string_lossy().into_owned();
            aoai_string_free(out);
            s
        }
    }
}

#[test]
fn host_token_callback_and_pushed_tokens_through_the_c_abi() {
    use aoai::ffi::client::*;
    let _env = TestEnv::new();
    let emu = Emulator::start_with(&["--token", "host-token-1", "--token", "pushed-token-2"]);

    // A callback that works: asked once, for the default scope.
    let calls = c_abi::Calls {
        count: AtomicUsize::new(0),
        scope: Mutex::new(String::new()),
    };
    let opts = c_abi::options(&emu);
    unsafe {
        assert_eq!(
            aoai_options_set_token_callback(
                opts,
                Some(c_abi::good_callback),
                &calls as *const c_abi::Calls as *mut c_void
            ),
            Status::Ok
        );
    }
    let c = c_abi::new_client(opts);
    assert_eq!(c_abi::chat(c), (Status::Ok, ANSWER.to_string()));
    assert_eq!(c_abi::chat(c), (Status::Ok, ANSWER.to_string()));
    assert_eq!(calls.count.load(Ordering::SeqCst), 1);
    assert_eq!(*calls.scope.lock().unwrap(), SCOPE);
    let d = c_abi::describe(c);
    assert!(d.contains("host token callback"), "{d}");
    assert_clean(&d, &["host-token-1"]);
    // The host pushes a new token into the live client.
    unsafe {
        assert_eq!(
            aoai_client_set_token(c, c"pushed-token-2".as_ptr(), 0),
            Status::Ok
        );
    }
    assert_eq!(c_abi::chat(c), (Status::Ok, ANSWER.to_string()));
    assert_eq!(calls.count.load(Ordering::SeqCst), 1);
    assert_eq!(
        bearer_tokens(&emu),
        vec!["host-token-1", "host-token-1", "pushed-token-2"]
    );
    unsafe { aoai_client_free(c) };

    // A callback that fails: AOAI_STATUS_CREDENTIAL with its return code.
    let opts = c_abi::options(&emu);
    unsafe {
        assert_eq!(
            aoai_options_set_token_callback(
                opts,
                Some(c_abi::failing_callback),
                std::ptr::null_mut()
            ),
            Status::Ok
        );
    }
    let c = c_abi::new_client(opts);
    let (st, msg) = c_abi::chat(c);
    assert_eq!(st, Status::Credential, "{msg}");
    assert!(
        msg.contains("host token callback failed (returned 7)"),
        "{msg}"
    );
    unsafe { aoai_client_free(c) };

    // No callback at all: tokens come only from aoai_client_set_token.
    let opts = c_abi::options(&emu);
    unsafe {
        assert_eq!(
            aoai_options_set_token_callback(opts, None, std::ptr::null_mut()),
            Status::Ok
        );
    }
    let c = c_abi::new_client(opts);
    let (st, msg) = c_abi::chat(c);
    assert_eq!(st, Status::Credential, "{msg}");
    assert!(msg.contains("aoai_client_set_token"), "{msg}");
    unsafe {
        assert_eq!(
            aoai_client_set_token(c, c"pushed-token-2".as_ptr(), 0),
            Status::Ok
        );
    }
    assert_eq!(c_abi::chat(c), (Status::Ok, ANSWER.to_string()));
    unsafe { aoai_client_free(c) };
}

#[test]
fn openai_api_type_azure_ad_without_a_key_uses_the_default_chain_via_the_c_abi() {
    use aoai::ffi::client::*;
    let mut env = TestEnv::new();
    let emu = emulator_with_identity(&[]);
    env.set("OPENAI_API_TYPE", "azure_ad");
    env.set("AZURE_OPENAI_ENDPOINT", &emu.base);
    env.set("AZURE_OPENAI_DEPLOYMENT_NAME", "gpt-4o");
    set_identity_env(&mut env, &emu, IDENTITY_SECRET);
    let mut c = std::ptr::null_mut();
    unsafe {
        let st = aoai_client_from_env(&mut c);
        assert_eq!(st, Status::Ok, "{}", c_abi::last_error());
    }
    assert_eq!(c_abi::chat(c), (Status::Ok, ANSWER.to_string()));
    let d = c_abi::describe(c);
    let v: Value = serde_json::from_str(&d).unwrap();
    assert_eq!(v["auth"]["kind"], "entra_id");
    assert_eq!(v["auth"]["credential"], "default");
    assert!(
        v["auth"]["token_source"]
            .as_str()
            .unwrap()
            .contains("using managed_identity (App Service endpoint"),
        "{d}"
    );
    unsafe { aoai_client_free(c) };
    let tokens = bearer_tokens(&emu);
    let msi = msi_requests(&emu);
    assert_eq!(msi.len(), 1);
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].starts_with("emu-msi-"));
    assert_clean(&d, &[&tokens[0]]);
}
