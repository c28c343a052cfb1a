//! Configuration and the state shared by all connections.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};

use crate::script::ScriptEntry;
use crate::util::{splitmix, unix_now};

/// A soak run records every request; the cap keeps memory bounded.
pub const MAX_RECORDED: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Reasoning,
    Completions,
    Embeddings,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "chat" => Some(Kind::Chat),
            "reasoning" => Some(Kind::Reasoning),
            "completions" | "completion" => Some(Kind::Completions),
            "embeddings" | "embedding" => Some(Kind::Embeddings),
            _ => None,
        }
    }

    /// Guesses the kind of a user-declared deployment from its name.
    pub fn infer(name: &str) -> Kind {
        let n = name.to_ascii_lowercase();
        if n.contains("embedding") {
            Kind::Embeddings
        } else if n.contains("instruct") || n.contains("davinci") || n.contains("babbage") {
            Kind::Completions
        } else if ["o1", "o3", "o4"].iter().any(|p| n.starts_with(p)) {
            Kind::Reasoning
        } else {
            Kind::Chat
        }
    }
}

#[derive(Clone, Debug)]
pub struct Deployment {
    pub kind: Kind,
    /// The real model id reported in response bodies.
    pub model: String,
}

pub struct Config {
    pub port: u16,
    pub port_file: Option<String>,
    pub api_key: String,
    pub tokens: Vec<String>,
    pub deployments: HashMap<String, Deployment>,
    pub quiet: bool,
    /// Enables the fake App Service managed-identity endpoint with this secret.
    pub identity_header: Option<String>,
    /// Lifetime of the tokens it issues.
    pub identity_token_ttl: u64,
}

pub fn default_deployments() -> HashMap<String, Deployment> {
    let defaults = [
        ("gpt-4o", Kind::Chat, "gpt-4o-2024-08-06"),
        ("gpt-4o-mini", Kind::Chat, "gpt-4o-mini-2024-07-18"),
        (
            "gpt-35-turbo-instruct",
            Kind::Completions,
            "gpt-35-turbo-instruct",
        ),
        ("o1", Kind::Reasoning, "o1-2024-12-17"),
        (
            "text-embedding-3-small",
            Kind::Embeddings,
            "text-embedding-3-small",
        ),
    ];
    defaults
        .iter()
        .map(|(name, kind, model)| {
            (
                name.to_string(),
                Deployment {
                    kind: *kind,
                    model: model.to_string(),
                },
            )
        })
        .collect()
}

/// A token issued by the identity endpoint.
pub struct Issued {
    pub token: String,
    /// Unix seconds.
    pub expires_on: u64,
    pub resource: String,
}

pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            match headers.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(value);
                }
                _ => {
                    headers.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        json!({
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
        })
    }
}

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub streams_started: AtomicU64,
    pub streams_completed: AtomicU64,
    pub streams_client_closed: AtomicU64,
    pub connections_accepted: AtomicU64,
    pub connections_open: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn to_json(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "requests": get(&self.requests),
            "streams_started": get(&self.streams_started),
            "streams_completed": get(&self.streams_completed),
            "streams_client_closed": get(&self.streams_client_closed),
            "connections_accepted": get(&self.connections_accepted),
            "connections_open": get(&self.connections_open),
        })
    }

    /// `connections_open` is a gauge of live sockets, so it survives a reset.
    pub fn reset(&self) {
        for c in [
            &self.requests,
            &self.streams_started,
            &self.streams_completed,
            &self.streams_client_closed,
            &self.connections_accepted,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

pub struct State {
    pub config: Config,
    pub stats: Stats,
    pub requests: Mutex<VecDeque<Recorded>>,
    pub scripts: Mutex<VecDeque<ScriptEntry>>,
    /// Uses of each distinct `times=` directive string.
    pub times: Mutex<HashMap<String, u64>>,
    /// Tokens issued by the identity endpoint, oldest first.
    pub issued: Mutex<Vec<Issued>>,
    counter: AtomicU64,
    /// Separate from `counter` so that visible ids stay consecutive.
    random: AtomicU64,
    seed: u64,
}

/// A panic while holding a lock must not take the whole emulator down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    pub fn new(config: Config) -> State {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        State {
            config,
            stats: Stats::default(),
            requests: Mutex::new(VecDeque::new()),
            scripts: Mutex::new(VecDeque::new()),
            times: Mutex::new(HashMap::new()),
            issued: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            random: AtomicU64::new(0),
            seed: nanos ^ u64::from(std::process::id()).rotate_left(32) ^ unix_now(),
        }
    }

    /// Monotonic counter used in ids such as `chatcmpl-emu<N>`.
    pub fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn random_pair(&self) -> (u64, u64) {
        let a = splitmix(self.seed ^ self.random.fetch_add(1, Ordering::Relaxed));
        (a, splitmix(a))
    }

    pub fn uuid(&self) -> String {
        let (a, b) = self.random_pair();
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            0x4000 | (a & 0x0fff),
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    pub fn hex32(&self) -> String {
        let (a, b) = self.random_pair();
        format!("{a:016x}{b:016x}")
    }

    pub fn record(&self, rec: Recorded) {
        let mut q = lock(&self.requests);
        if q.len() >= MAX_RECORDED {
            q.pop_front();
        }
        q.push_back(rec);
    }

    pub fn pop_script(&self) -> Option<ScriptEntry> {
        lock(&self.scripts).pop_front()
    }

    pub fn reset(&self) {
        lock(&self.requests).clear();
        lock(&self.scripts).clear();
        lock(&self.times).clear();
        self.stats.reset();
    }
}
