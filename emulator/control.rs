//! The `/_emulator/*` control API used by tests (no auth, never recorded).

use serde_json::{Value, json};

use crate::http::Request;
use crate::script::parse_script;
use crate::state::{State, lock};

pub enum Outcome {
    Reply(u16, Value),
    /// Answer 200, then exit the process.
    Shutdown,
}

fn ok() -> Outcome {
    Outcome::Reply(200, json!({"ok": true}))
}

fn error(status: u16, message: &str) -> Outcome {
    Outcome::Reply(
        status,
        json!({"error": {"code": status.to_string(), "message": message}}),
    )
}

pub fn handle(req: &Request, state: &State) -> Outcome {
    let sub = req
        .path
        .trim_start_matches("/_emulator")
        .trim_end_matches('/');
    match (req.method.as_str(), sub) {
        ("GET", "/health") => ok(),
        ("GET", "/requests") => {
            let list: Vec<Value> = lock(&state.requests).iter().map(|r| r.to_json()).collect();
            Outcome::Reply(200, Value::Array(list))
        }
        ("DELETE", "/requests") => {
            lock(&state.requests).clear();
            ok()
        }
        ("POST", "/script") => add_script(req, state),
        ("DELETE", "/script") => {
            lock(&state.scripts).clear();
            ok()
        }
        ("GET", "/stats") => Outcome::Reply(200, state.stats.to_json()),
        ("GET", "/identity") => Outcome::Reply(200, crate::identity::control_json(state)),
        ("POST", "/reset") => {
            state.reset();
            ok()
        }
        ("POST", "/shutdown") => Outcome::Shutdown,
        (
            _,
            "/health" | "/requests" | "/script" | "/stats" | "/reset" | "/shutdown" | "/identity",
        ) => error(405, "Method Not Allowed"),
        _ => error(404, "Unknown control endpoint"),
    }
}

fn add_script(req: &Request, state: &State) -> Outcome {
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return error(400, &format!("script is not valid JSON: {e}")),
    };
    match parse_script(&value) {
        Ok(entries) => {
            let mut queue = lock(&state.scripts);
            queue.extend(entries);
            Outcome::Reply(200, json!({"ok": true, "queued": queue.len()}))
        }
        Err(msg) => error(400, &msg),
    }
}
