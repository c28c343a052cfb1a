//! Library logging: a host callback with a level filter, or stderr when `AOAI_LOG` is set
//! (`error`, `warn`, `info`, `debug`). Messages never contain keys or tokens: they are built
//! only from configuration that `describe` would also show.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

pub type LogFn = Arc<dyn Fn(Level, &str) + Send + Sync>;

static SINK: RwLock<Option<LogFn>> = RwLock::new(None);
/// 0 = off. Initialised from `AOAI_LOG` on first use.
static MAX_LEVEL: LazyLock<AtomicI32> = LazyLock::new(|| {
    let lvl = match std::env::var("AOAI_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => 1,
        "warn" | "warning" => 2,
        "info" => 3,
        "debug" | "trace" | "1" | "true" => 4,
        _ => 0,
    };
    AtomicI32::new(lvl)
});

/// Installs (or with `None` removes) the host's log sink; `max_level` 0 silences logging.
/// Returns once no call to the previous sink is running. Must not be called from the sink.
pub fn set_sink(sink: Option<LogFn>, max_level: i32) {
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = sink;
    MAX_LEVEL.store(max_level.clamp(0, 4), Ordering::SeqCst);
}

pub fn enabled(level: Level) -> bool {
    (level as i32) <= MAX_LEVEL.load(Ordering::Relaxed)
}

pub fn log(level: Level, msg: &str) {
    if !enabled(level) {
        return;
    }
    // The read guard is held while the host's callback runs, so replacing or removing the
    // sink waits for running calls: no call to an old callback after set_sink returns.
    let sink = SINK.read().unwrap_or_else(|p| p.into_inner());
    match sink.as_ref() {
        Some(f) => f(level, msg),
        None => eprintln!("aoai[{}]: {msg}", level.as_str()),
    }
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

pub fn info(msg: &str) {
    log(Level::Info, msg)
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}
