//! Root certificates: the bundled Mozilla set on request, and as the fallback on a host
//! without a CA store. One test in this binary, because it changes the process environment.

#![allow(clippy::result_large_err)] // aoai::Error is large by design (see src/lib.rs).

mod common;

use aoai::cancel::CancelToken;
use aoai::config::{ConfigBuilder, Operation};
use aoai::request::{Request, Role};
use aoai::{Client, Status};

fn client(base: &str, extra: &str) -> aoai::Result<Client> {
    let mut b = ConfigBuilder::new();
    b.load_json(&format!(
        r#"{{"endpoint":"{base}","api_key":"emulator-key","deployment":"gpt-4o","environment":false{extra}}}"#
    ))?;
    Client::new(b.build()?, None)
}

fn ask(c: &Client) -> String {
    let mut r = Request::new(Operation::Chat);
    r.add_message(Role::User, "roots").unwrap();
    let resp = c
        .call_blocking(&r, false, &mut |_| true, &CancelToken::new())
        .unwrap();
    resp.choices[0].text.clone().unwrap()
}

#[test]
fn bundled_roots_on_request_and_when_the_host_has_no_store() {
    let emu = common::Emulator::start();
    let c = client(&emu.base, r#","tls_roots":"bundled""#).unwrap();
    assert!(c.describe().contains(r#""tls_roots": "bundled""#));
    assert!(ask(&c).ends_with("roots"));
    let e = client(&emu.base, r#","tls_roots":"mozilla""#)
        .err()
        .unwrap();
    assert_eq!(e.status, Status::InvalidConfig);
    assert!(e.message.contains("tls_roots 'mozilla'"), "{}", e.message);

    // A host without CA certificates: the platform verifier cannot start (measured: the plain
    // builder fails with "No CA certificates were loaded"); the client still comes up.
    // SAFETY of set_var: this binary has this one test, and it sets the variables before any
    // other thread of it reads them.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", "/dev/null");
        std::env::set_var("SSL_CERT_DIR", "/nonexistent-aoai-test");
    }
    let c = client(&emu.base, "").expect("falls back to the bundled roots");
    assert!(ask(&c).ends_with("roots"));
}
