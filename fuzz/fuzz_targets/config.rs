//! The configuration parser: JSON config text through ConfigBuilder::load_json and
//! build_with_env with an empty environment, then describe() and the URLs of a valid config.
//! Only text that starts like JSON is loaded (anything else is a file path, and a fuzzer must
//! not read files). Oracles: never a panic; describe() never shows the key or token.
#![no_main]

use aoai::config::{AuthConfig, ConfigBuilder, Operation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !text.trim_start().starts_with(['{', '[']) {
        return;
    }
    let mut b = ConfigBuilder::new();
    if b.load_json(text).is_err() {
        return;
    }
    let Ok(cfg) = b.build_with_env(&|_| None) else {
        return;
    };
    let d = cfg.describe();
    if matches!(cfg.auth, AuthConfig::ApiKey(_) | AuthConfig::StaticToken(_)) {
        assert_eq!(d["auth"]["value"], "<redacted>");
    }
    for op in [Operation::Chat, Operation::Completion, Operation::Embedding] {
        let _ = cfg.url(op, None);
        let _ = cfg.url(op, Some("dep/../x y%"));
    }
    let _ = serde_json::to_string(&d).unwrap();
});
