//! Configuration: environment names and meanings, precedence, normalisation, validation
//! messages, and `describe` redaction. The environment is injected, never the process's.

#![allow(clippy::result_large_err)] // aoai::Error is large by design (see src/lib.rs).

use aoai::config::{ApiType, AuthConfig, ConfigBuilder};
use aoai::{Config, Status};
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn build(json: Option<&str>, e: &[(&str, &str)]) -> aoai::Result<Config> {
    let mut b = ConfigBuilder::new();
    if let Some(j) = json {
        b.load_json(j)?;
    }
    let e = env(e);
    b.build_with_env(&|k| e.get(k).cloned())
}

const AZ: &[(&str, &str)] = &[
    ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
    ("AZURE_OPENAI_API_KEY", "env-key-123"),
    ("AZURE_OPENAI_DEPLOYMENT_NAME", "gpt-4o"),
];

#[test]
fn environment_like_openai_python() {
    let c = build(None, AZ).unwrap();
    assert_eq!(c.api_type, ApiType::Azure);
    assert_eq!(
        c.endpoint, "https://res.openai.azure.com",
        "trailing slash trimmed"
    );
    assert_eq!(c.api_version.as_deref(), Some("2024-10-21"));
    assert!(matches!(&c.auth, AuthConfig::ApiKey(k) if k.expose() == "env-key-123"));
    assert_eq!(
        c.url(aoai::config::Operation::Chat, None).unwrap(),
        "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(c.sources["endpoint"], "env:AZURE_OPENAI_ENDPOINT");
    // LangChain's fallback: OPENAI_API_KEY serves as the Azure key.
    let c = build(
        None,
        &[
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
            ("OPENAI_API_KEY", "k2"),
        ],
    )
    .unwrap();
    assert_eq!(c.sources["auth"], "env:OPENAI_API_KEY");
    // AZURE_OPENAI_AD_TOKEN wins over the key (openai-python).
    let mut e = AZ.to_vec();
    e.push(("AZURE_OPENAI_AD_TOKEN", "tok"));
    assert!(matches!(
        build(None, &e).unwrap().auth,
        AuthConfig::StaticToken(_)
    ));
    // OPENAI_API_VERSION, then AZURE_OPENAI_API_VERSION.
    let mut e = AZ.to_vec();
    e.push(("AZURE_OPENAI_API_VERSION", "2024-06-01"));
    assert_eq!(
        build(None, &e).unwrap().api_version.as_deref(),
        Some("2024-06-01")
    );
    e.push(("OPENAI_API_VERSION", "2025-04-01-preview"));
    assert_eq!(
        build(None, &e).unwrap().api_version.as_deref(),
        Some("2025-04-01-preview")
    );
}

#[test]
fn openai_mode_from_environment() {
    let c = build(
        None,
        &[
            ("OPENAI_API_KEY", "sk-x"),
            ("OPENAI_ORG_ID", "org1"),
            ("OPENAI_PROJECT_ID", "p1"),
        ],
    )
    .unwrap();
    assert_eq!(c.api_type, ApiType::OpenAi);
    assert_eq!(c.endpoint, "https://api.openai.com/v1");
    assert_eq!(
        (c.organization.as_deref(), c.project.as_deref()),
        (Some("org1"), Some("p1"))
    );
    let c = build(
        None,
        &[
            ("OPENAI_API_TYPE", "openai"),
            ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
            ("OPENAI_API_KEY", "ollama"),
            ("AZURE_OPENAI_ENDPOINT", "https://ignored.openai.azure.com"),
        ],
    )
    .unwrap();
    assert_eq!(c.endpoint, "http://localhost:11434/v1");
    assert_eq!(
        c.url(aoai::config::Operation::Completion, None).unwrap(),
        "http://localhost:11434/v1/completions"
    );
}

#[test]
fn precedence_option_over_json_over_environment() {
    let mut b = ConfigBuilder::new();
    b.load_json(r#"{"deployment": "from-json", "api_version": "2024-06-01", "environment": true}"#)
        .unwrap();
    b.explicit.deployment = Some(aoai::config::Sourced {
        value: "from-option".into(),
        source: "option".into(),
    });
    let e = env(AZ);
    let c = b.build_with_env(&|k| e.get(k).cloned()).unwrap();
    assert_eq!(c.deployment.as_deref(), Some("from-option"));
    assert_eq!(c.api_version.as_deref(), Some("2024-06-01"));
    assert_eq!(c.sources["api_version"], "json");
    assert_eq!(c.sources["endpoint"], "env:AZURE_OPENAI_ENDPOINT");
    // A key in JSON is never mixed with a token from the environment.
    let mut e2 = AZ.to_vec();
    e2.push(("AZURE_OPENAI_AD_TOKEN", "env-token"));
    let c = build(Some(r#"{"api_key": "json-key"}"#), &e2).unwrap();
    assert!(matches!(&c.auth, AuthConfig::ApiKey(k) if k.expose() == "json-key"));
    // "environment": false ignores the environment entirely.
    let err = build(Some(r#"{"environment": false}"#), AZ).unwrap_err();
    assert_eq!(err.status, Status::InvalidConfig);
}

#[test]
fn endpoint_normalisation_and_rejection() {
    let ok = |ep: &str| {
        build(
            Some(&format!(
                r#"{{"endpoint": "{ep}", "api_key": "k", "environment": false}}"#
            )),
            &[],
        )
    };
    assert_eq!(
        ok("https://r.openai.azure.com/openai/").unwrap().endpoint,
        "https://r.openai.azure.com"
    );
    let v1 = ok("https://r.openai.azure.com/openai/v1").unwrap();
    assert_eq!(
        (v1.api_type, v1.api_version.clone()),
        (ApiType::AzureV1, None)
    );
    let d = ok("https://r.openai.azure.com/openai/deployments/my%20dep").unwrap();
    assert_eq!(d.deployment.as_deref(), Some("my dep"));
    for (bad, needle) in [
        ("https://r.openai.azure.com/foo", "unexpected path '/foo'"),
        ("r.openai.azure.com", "not a valid URL"),
        ("ftp://r.openai.azure.com", "must start with https://"),
        ("https://r.openai.azure.com/?x=1", "query"),
        ("http://r.openai.azure.com", "clear text"),
    ] {
        let e = ok(bad).unwrap_err();
        assert_eq!(e.status, Status::InvalidConfig, "{bad}");
        assert!(e.message.contains(needle), "{bad}: {}", e.message);
    }
    // Loopback http is fine; non-loopback only when allowed.
    assert!(
        ok("http://127.0.0.1:9").is_ok()
            && ok("http://localhost:9").is_ok()
            && ok("http://[::1]:9").is_ok()
    );
    let c = build(
        Some(
            r#"{"endpoint": "http://10.0.0.5", "api_key": "k", "allow_insecure_http": true, "environment": false}"#,
        ),
        &[],
    );
    assert!(c.is_ok());
    // api-version v1 / preview select the v1 API.
    let c = build(Some(r#"{"endpoint": "https://r.openai.azure.com", "api_key": "k", "api_version": "preview", "environment": false}"#), &[]).unwrap();
    assert_eq!(
        c.url(aoai::config::Operation::Chat, None).unwrap(),
        "https://r.openai.azure.com/openai/v1/chat/completions?api-version=preview"
    );
}

/// (JSON config, environment, expected status, text the message must contain)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Status, &'a str);

#[test]
fn validation_messages_name_the_problem() {
    let cases: &[Case] = &[
        (
            r#"{}"#,
            &[],
            Status::InvalidConfig,
            "no endpoint configured",
        ),
        (
            r#"{"endpoint": "https://r.openai.azure.com"}"#,
            &[],
            Status::InvalidConfig,
            "no credential configured",
        ),
        (
            r#"{"api_type": "azure_magic"}"#,
            AZ,
            Status::InvalidConfig,
            "unknown api type 'azure_magic'",
        ),
        (
            r#"{"endpont": "x"}"#,
            &[],
            Status::InvalidConfig,
            "unknown configuration key 'endpont'",
        ),
        (
            r#"{"max_retries": "3"}"#,
            &[],
            Status::InvalidJson,
            "'max_retries' must be a non-negative integer",
        ),
        (
            r#"{"max_retries": 99}"#,
            &[],
            Status::InvalidArgument,
            "between 0 and 20",
        ),
        (
            r#"{"api_key": "a", "ad_token": "b"}"#,
            AZ,
            Status::InvalidConfig,
            "give only one",
        ),
        (
            r#"{"api_version": "2024 10 21"}"#,
            AZ,
            Status::InvalidConfig,
            "api-version '2024 10 21'",
        ),
        (
            r#"{"headers": {"api-key": "x"}}"#,
            AZ,
            Status::InvalidArgument,
            "set by the library",
        ),
        (r#"[1]"#, &[], Status::InvalidJson, "must be a JSON object"),
        (
            r#"{"endpoint": "https://r.openai.azure.com", "base_url": "https://api.openai.com/v1", "api_key": "k"}"#,
            &[],
            Status::InvalidConfig,
            "both 'endpoint'",
        ),
    ];
    for (json, e, status, needle) in cases {
        let err = build(Some(json), e).unwrap_err();
        assert_eq!(err.status, *status, "{json}: {}", err.message);
        assert!(err.message.contains(needle), "{json}: {}", err.message);
    }
    let err = build(Some("/nonexistent/aoai.json"), &[]).unwrap_err();
    assert!(
        err.message.contains("/nonexistent/aoai.json"),
        "{}",
        err.message
    );
    let err = build(Some("{not json"), &[]).unwrap_err();
    assert_eq!(err.status, Status::InvalidJson);
}

#[test]
fn deployment_needed_only_where_the_url_needs_it() {
    let c = build(
        Some(r#"{"environment": false, "endpoint": "https://r.openai.azure.com", "api_key": "k"}"#),
        &[],
    )
    .unwrap();
    let e = c.url(aoai::config::Operation::Chat, None).unwrap_err();
    assert!(
        e.message.contains("AZURE_OPENAI_DEPLOYMENT_NAME"),
        "{}",
        e.message
    );
    assert!(c.url(aoai::config::Operation::Chat, Some("d")).is_ok());
}

#[test]
fn describe_redacts_every_secret() {
    let mut e = AZ.to_vec();
    e.push(("OPENAI_API_VERSION", "2024-10-21"));
    let c = build(Some(r#"{"headers": {"x-team": "games"}, "defaults": {"temperature": 0.2}, "proxy": "http://user:pw-secret@proxy.local:3128"}"#), &e).unwrap();
    let d = serde_json::to_string(&c.describe()).unwrap();
    assert!(
        !d.contains("env-key-123") && !d.contains("pw-secret"),
        "{d}"
    );
    assert!(
        d.contains("<redacted>")
            && d.contains("gpt-4o")
            && d.contains("x-team")
            && d.contains("0.2"),
        "{d}"
    );
    assert!(!format!("{c:?}").contains("env-key-123"));
    let c = build(Some(r#"{"credential": {"type": "client_secret", "tenant_id": "t", "client_id": "c", "client_secret": "very-secret"}}"#), &[("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com")]).unwrap();
    let d = c.describe().to_string();
    assert!(
        !d.contains("very-secret") && d.contains("client_secret"),
        "{d}"
    );
}

#[test]
fn an_azure_key_alone_never_goes_to_openai() {
    let e = build(None, &[("AZURE_OPENAI_API_KEY", "az-key")]).unwrap_err();
    assert_eq!(e.status, Status::InvalidConfig);
    assert!(
        e.message.contains("no endpoint configured"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("az-key"));
}
