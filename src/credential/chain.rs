//! A chain of token sources: tries them in order, remembers the first that gave a token and
//! uses only that one afterwards (as DefaultAzureCredential does). When every source fails
//! the error names each one and why it failed or was skipped.

use super::credential_error;
use crate::auth::{AccessToken, BoxFuture, TokenSource};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// One source of a chain, or the reason it cannot be used here.
pub(crate) struct Member {
    label: String,
    source: std::result::Result<Arc<dyn TokenSource>, String>,
}

impl Member {
    pub fn ready(label: &str, source: Arc<dyn TokenSource>) -> Member {
        Member {
            label: label.to_string(),
            source: Ok(source),
        }
    }

    pub fn skipped(label: &str, reason: String) -> Member {
        Member {
            label: label.to_string(),
            source: Err(reason),
        }
    }
}

pub(crate) struct ChainSource {
    label: &'static str,
    members: Vec<Member>,
    chosen: Mutex<Option<usize>>,
}

impl ChainSource {
    pub fn new(label: &'static str, members: Vec<Member>) -> ChainSource {
        ChainSource {
            label,
            members,
            chosen: Mutex::new(None),
        }
    }

    fn chosen(&self) -> Option<usize> {
        *self.chosen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn labels(&self) -> String {
        self.members
            .iter()
            .map(|m| m.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl TokenSource for ChainSource {
    fn name(&self) -> String {
        match self.chosen().map(|i| &self.members[i]) {
            Some(Member { source: Ok(s), .. }) => {
                format!("{} ({}) using {}", self.label, self.labels(), s.name())
            }
            _ => format!("{} ({})", self.label, self.labels()),
        }
    }

    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            if let Some(i) = self.chosen() {
                let m = &self.members[i];
                if let Ok(s) = &m.source {
                    return s.fetch(scope).await.map_err(|e| Error {
                        message: format!(
                            "{} (the source this {} settled on): {}",
                            m.label, self.label, e.message
                        ),
                        ..e
                    });
                }
            }
            let mut reasons = Vec::with_capacity(self.members.len());
            for (i, m) in self.members.iter().enumerate() {
                match &m.source {
                    Err(reason) => reasons.push(format!("{}: skipped: {reason}", m.label)),
                    Ok(s) => match s.fetch(scope).await {
                        Ok(t) => {
                            *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(i);
                            let before = if reasons.is_empty() {
                                String::new()
                            } else {
                                format!(" (before it: {})", reasons.join("; "))
                            };
                            crate::log::info(&format!(
                                "{} ({}): using {}{before}",
                                self.label,
                                self.labels(),
                                s.name()
                            ));
                            return Ok(t);
                        }
                        Err(e) => {
                            crate::log::debug(&format!(
                                "{}: {} failed: {}",
                                self.label, m.label, e.message
                            ));
                            reasons.push(format!("{}: {}", m.label, e.message));
                        }
                    },
                }
            }
            Err(credential_error(format!(
                "every source failed: {}",
                reasons.join("; ")
            )))
        })
    }
}
