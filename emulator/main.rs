//! aoai-emulator: a local, scriptable stand-in for Azure OpenAI and OpenAI used by the
//! Rust, C and C# tests, the demo and the benchmarks. See emulator/README.md.

mod api;
mod azure;
mod chat;
mod completions;
mod control;
mod embeddings;
mod errors;
mod http;
mod identity;
mod router;
mod script;
mod send;
mod server;
mod state;
mod util;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use state::{Config, Deployment, Kind, State, default_deployments};

const USAGE: &str = "usage: aoai-emulator [--port N] [--port-file PATH] [--api-key KEY] \
[--token TOKEN]... [--deployment NAME[=chat|reasoning|completions|embeddings]]... \
[--identity-header SECRET] [--identity-token-ttl SECS] [--quiet]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut config = Config {
        port: 0,
        port_file: None,
        api_key: "emulator-key".into(),
        tokens: Vec::new(),
        deployments: default_deployments(),
        quiet: false,
        identity_header: None,
        identity_token_ttl: identity::DEFAULT_TTL_SECS,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                config.port = v.parse().map_err(|_| format!("invalid port: {v}"))?;
            }
            "--port-file" => config.port_file = Some(value()?),
            "--api-key" => config.api_key = value()?,
            "--token" => config.tokens.push(value()?),
            "--deployment" => {
                let v = value()?;
                let (name, kind) = match v.split_once('=') {
                    Some((n, k)) => (
                        n,
                        Kind::parse(k).ok_or_else(|| format!("unknown deployment kind: {k}"))?,
                    ),
                    None => (v.as_str(), Kind::infer(&v)),
                };
                if name.is_empty() {
                    return Err("empty deployment name".into());
                }
                let model = name.to_string();
                config
                    .deployments
                    .insert(name.to_string(), Deployment { kind, model });
            }
            "--identity-header" => {
                let v = value()?;
                if v.is_empty() {
                    return Err("--identity-header needs a non-empty value".into());
                }
                config.identity_header = Some(v);
            }
            "--identity-token-ttl" => {
                let v = value()?;
                config.identity_token_ttl = v
                    .parse()
                    .map_err(|_| format!("invalid --identity-token-ttl: {v}"))?;
            }
            "--quiet" | "-q" => config.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if config.tokens.is_empty() {
        config.tokens.push("emulator-token".into());
    }
    Ok(config)
}

fn write_port_file(path: &str, port: u16) -> std::io::Result<()> {
    // Write then rename, so a reader polling for the file never sees it half-written.
    let tmp = format!("{path}.tmp{}", std::process::id());
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

fn main() {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) => {
            let mut err = std::io::stderr().lock();
            if msg.is_empty() {
                let _ = writeln!(err, "{USAGE}");
                std::process::exit(0);
            }
            let _ = writeln!(err, "aoai-emulator: {msg}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "aoai-emulator: cannot start runtime: {e}"
            );
            std::process::exit(1);
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "aoai-emulator: cannot bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(config.port);
        if let Some(path) = &config.port_file {
            if let Err(e) = write_port_file(path, port) {
                let _ = writeln!(std::io::stderr(), "aoai-emulator: cannot write {path}: {e}");
                std::process::exit(1);
            }
        }
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "aoai-emulator listening on http://127.0.0.1:{port}");
            let _ = out.flush();
        }
        server::run(listener, Arc::new(State::new(config))).await;
    });
}
