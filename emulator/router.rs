//! Maps request paths to API flavours and operations, and checks credentials.

use crate::http::Request;
use crate::state::Config;
use crate::util::percent_decode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `/openai/deployments/{d}/...?api-version=`
    Azure,
    /// `/openai/v1/...`
    AzureV1,
    /// `/v1/...`
    OpenAi,
}

impl Flavor {
    pub fn is_azure(self) -> bool {
        self != Flavor::OpenAi
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Chat,
    Completions,
    Embeddings,
}

impl Op {
    fn from_suffix(s: &str) -> Option<Op> {
        match s {
            "chat/completions" => Some(Op::Chat),
            "completions" => Some(Op::Completions),
            "embeddings" => Some(Op::Embeddings),
            _ => None,
        }
    }

    /// Name used in Azure's 429 message.
    pub fn azure_operation(self) -> &'static str {
        match self {
            Op::Chat => "ChatCompletions_Create",
            Op::Completions => "Completions_Create",
            Op::Embeddings => "Embeddings_Create",
        }
    }

    /// Name used in Azure's OperationNotSupported message.
    pub fn azure_name(self) -> &'static str {
        match self {
            Op::Chat => "chatCompletion",
            Op::Completions => "completion",
            Op::Embeddings => "embeddings",
        }
    }
}

pub enum Route {
    Control,
    Api {
        flavor: Flavor,
        op: Op,
        /// Percent-decoded deployment segment (classic Azure form only).
        deployment: Option<String>,
    },
    /// Unknown path; the flavour decides the shape of the 404 body.
    NotFound(Flavor),
}

pub fn route(path: &str) -> Route {
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return Route::Control;
    }
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (dep, suffix) = rest.split_once('/').unwrap_or((rest, ""));
        return match Op::from_suffix(suffix) {
            Some(op) if !dep.is_empty() => Route::Api {
                flavor: Flavor::Azure,
                op,
                deployment: Some(percent_decode(dep)),
            },
            _ => Route::NotFound(Flavor::Azure),
        };
    }
    if let Some(rest) = path.strip_prefix("/openai/v1/") {
        return Op::from_suffix(rest).map_or(Route::NotFound(Flavor::AzureV1), |op| Route::Api {
            flavor: Flavor::AzureV1,
            op,
            deployment: None,
        });
    }
    if let Some(rest) = path.strip_prefix("/v1/") {
        return Op::from_suffix(rest).map_or(Route::NotFound(Flavor::OpenAi), |op| Route::Api {
            flavor: Flavor::OpenAi,
            op,
            deployment: None,
        });
    }
    Route::NotFound(Flavor::Azure)
}

pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn authorized(flavor: Flavor, req: &Request, config: &Config) -> bool {
    let key_ok = req.header("api-key") == Some(config.api_key.as_str());
    let bearer = bearer(req);
    let token_ok = bearer.is_some_and(|t| config.tokens.iter().any(|a| a == t));
    let bearer_key_ok = bearer == Some(config.api_key.as_str());
    match flavor {
        Flavor::Azure => key_ok || token_ok,
        Flavor::AzureV1 => key_ok || token_ok || bearer_key_ok,
        Flavor::OpenAi => bearer_key_ok,
    }
}
