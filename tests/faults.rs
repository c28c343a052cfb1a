mod common;
use aoai::cancel::CancelToken;
use aoai::config::{ConfigBuilder, Operation};
use aoai::op::Operation as Op;
use aoai::request::{Request, Role};
use common::Emulator;
use serde_json::json;
use std::time::Duration;

#[test]
fn probe() {
    let emu = Emulator::start();
    let cfg = json!({"endpoint": emu.base, "api_key": common::API_KEY, "deployment": "gpt-4o", "environment": false, "max_retry_after_ms": u64::MAX});
    let mut b = ConfigBuilder::new();
    b.load_json(&cfg.to_string()).unwrap();
    let c = aoai::Client::new(b.build().unwrap(), None).unwrap();
    let mut r = Request::new(Operation::Chat);
    r.add_message(Role::User, "x").unwrap();
    emu.script(json!({"status": 429, "headers": {"retry-after": "1e30"}}));
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.call_blocking(&r, false, &mut |_| true, &CancelToken::new())
    }));
    eprintln!(
        "blocking: {:?}",
        res.as_ref().map(|r| r
            .as_ref()
            .map_err(|e| (e.status, e.message.clone()))
            .map(|_| ()))
    );
    emu.script(json!({"status": 429, "headers": {"retry-after": "1e30"}}));
    let op = Op::start(&c, r.clone(), false, None).unwrap();
    eprintln!(
        "op waited: {} phase {:?}",
        op.wait(Some(Duration::from_secs(3))),
        op.phase()
    );
    // huge total timeout
    let cfg = json!({"endpoint": emu.base, "api_key": common::API_KEY, "deployment": "gpt-4o", "environment": false, "total_timeout_ms": u64::MAX, "idle_timeout_ms": u64::MAX, "first_byte_timeout_ms": u64::MAX, "connect_timeout_ms": u64::MAX});
    let mut b = ConfigBuilder::new();
    b.load_json(&cfg.to_string()).unwrap();
    let c = aoai::Client::new(b.build().unwrap(), None).unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.call_blocking(&r, false, &mut |_| true, &CancelToken::new())
    }));
    eprintln!(
        "huge timeouts: {:?}",
        res.as_ref().map(|r| r
            .as_ref()
            .map_err(|e| (e.status, e.message.clone()))
            .map(|_| ()))
    );
}
