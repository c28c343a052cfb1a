//! Entra ID token sources built from a credential spec (filled in by the Entra ID work).

use crate::auth::TokenSource;
use crate::config::Config;
use crate::error::{Error, Result, Status};
use serde_json::Value;
use std::sync::Arc;

pub fn source_from_spec(
    spec: &Value,
    _config: &Config,
    _http: &reqwest::Client,
) -> Result<Arc<dyn TokenSource>> {
    Err(Error::new(
        Status::Credential,
        format!("credential {spec} is not supported yet"),
    ))
}
