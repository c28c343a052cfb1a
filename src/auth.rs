//! Request authentication: API keys, fixed tokens, and a token cache in front of every token
//! source (Entra ID credentials, a host callback, tokens pushed by the host). The cache
//! refreshes ahead of expiry, fetches once for many concurrent callers, and keeps using a
//! still-valid token when a refresh fails.

use crate::config::Secret;
use crate::error::{Error, Result, Status};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Refresh this long before expiry (azure_identity's own margin).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    /// `None`: unknown lifetime, used until replaced or rejected with 401.
    pub expires_on: Option<SystemTime>,
}

impl AccessToken {
    fn usable(&self, now: SystemTime) -> bool {
        self.expires_on.is_none_or(|e| e > now)
    }
    fn fresh(&self, now: SystemTime) -> bool {
        self.expires_on.is_none_or(|e| e > now + REFRESH_MARGIN)
    }
}

/// Anything that can produce a token for a scope.
pub trait TokenSource: Send + Sync {
    /// Short name for messages and `describe` ("managed_identity", "azure_cli", "host").
    fn name(&self) -> String;
    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>>;
}

/// Token cache in front of one source. Also accepts tokens pushed by the host.
pub struct TokenCache {
    source: Option<Arc<dyn TokenSource>>,
    scope: String,
    current: Mutex<Option<AccessToken>>,
    /// Serialises fetches: 100 concurrent requests cause one fetch.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    reported_stale: AtomicBool,
}

impl TokenCache {
    pub fn new(source: Option<Arc<dyn TokenSource>>, scope: String) -> TokenCache {
        TokenCache {
            source,
            scope,
            current: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            reported_stale: AtomicBool::new(false),
        }
    }

    pub fn source_name(&self) -> String {
        self.source
            .as_ref()
            .map(|s| s.name())
            .unwrap_or_else(|| "host (pushed tokens)".into())
    }

    /// How many times the source was asked (tests check single flight with it).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Replaces the current token (the host pushes a new one into a live client).
    pub fn push(&self, token: AccessToken) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        self.reported_stale.store(false, Ordering::SeqCst);
    }

    fn snapshot(&self) -> Option<AccessToken> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A token to send. `rejected` is the token the service just refused (401): it is
    /// dropped and a new one fetched, once.
    pub async fn token(&self, rejected: Option<&Secret>) -> Result<Secret> {
        let now = SystemTime::now();
        if let Some(t) = self.snapshot() {
            if t.fresh(now) && rejected != Some(&t.token) {
                return Ok(t.token);
            }
        }
        let _guard = self.fetch_lock.lock().await;
        // Another caller may have refreshed while we waited for the lock.
        let now = SystemTime::now();
        let cached = self.snapshot();
        if let Some(t) = &cached {
            if t.fresh(now) && rejected != Some(&t.token) {
                return Ok(t.token.clone());
            }
        }
        let Some(source) = &self.source else {
            return match cached {
                Some(t) if t.usable(now) && rejected != Some(&t.token) => Ok(t.token),
                Some(_) => Err(Error::new(
                    Status::Credential,
                    "the host-supplied token expired or was rejected, and no token source is configured: push a new token with aoai_client_set_token",
                )),
                None => Err(Error::new(
                    Status::Credential,
                    "no token yet: push one with aoai_client_set_token or configure a token callback",
                )),
            };
        };
        self.fetches.fetch_add(1, Ordering::SeqCst);
        match source.fetch(&self.scope).await {
            Ok(t) => {
                let tok = t.token.clone();
                self.push(t);
                Ok(tok)
            }
            Err(e) => match cached {
                // The old token still works: keep it and say so once.
                Some(t) if t.usable(now) && rejected != Some(&t.token) => {
                    if !self.reported_stale.swap(true, Ordering::SeqCst) {
                        crate::log::warn(&format!(
                            "token refresh from {} failed, using the current token until it expires: {}",
                            source.name(),
                            e.message
                        ));
                    }
                    Ok(t.token)
                }
                _ => Err(Error {
                    status: Status::Credential,
                    message: format!(
                        "could not get an Entra ID token from {}: {}",
                        source.name(),
                        e.message
                    ),
                    ..e
                }),
            },
        }
    }
}

/// How one client authenticates its requests.
#[derive(Clone)]
pub enum Authorizer {
    /// A fixed header (`api-key: KEY` or `authorization: Bearer KEY`).
    Fixed { header: &'static str, value: Secret },
    /// Bearer tokens from a cache.
    Tokens(Arc<TokenCache>),
}

impl Authorizer {
    pub fn describe(&self) -> String {
        match self {
            Authorizer::Fixed { header, .. } => format!("fixed {header} header"),
            Authorizer::Tokens(c) => format!("bearer tokens from {}", c.source_name()),
        }
    }
}
