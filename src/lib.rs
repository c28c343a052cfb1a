//! aoai: Azure OpenAI and OpenAI-compatible chat and completions for native programs.
//!
//! The crate is a safe Rust core (configuration, HTTP, SSE, retries, operations) and a thin
//! C ABI in [`ffi`] that only converts, checks and delegates. `include/aoai.h` is generated
//! from the `ffi` module by cbindgen.

// Errors carry the whole service detail (code, headers, body) and are the cold path; boxing
// them would complicate every caller for no measurable gain.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod cancel;
pub mod client;
pub mod config;
pub mod credential;
pub mod error;
pub mod log;
pub mod op;
pub mod request;
pub mod response;
pub mod runtime;
pub mod service_error;
pub mod sse;
pub mod stream;

pub mod ffi;

pub use client::Client;
pub use config::{Config, ConfigBuilder};
pub use error::{Error, Result, Status};
pub use request::Request;
pub use response::Response;
