//! The response parser and the stream assembler on arbitrary data: the input is parsed as a
//! whole body for each operation, and its lines (with or without `data: `) are fed to the
//! stream assembler as event payloads. Oracles: never a panic; the assembled response is a
//! JSON body that parses back to the same choices and texts.
#![no_main]

use aoai::client::events_of;
use aoai::config::Operation;
use aoai::response::Response;
use aoai::stream::{Assembler, Event, Flow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("apim-request-id".to_string(), "fuzz".to_string()),
    ];
    for op in [Operation::Chat, Operation::Completion, Operation::Embedding] {
        if let Ok(r) = Response::parse(op, 200, headers.clone(), text.clone()) {
            let _ = r.request_id();
            let _ = events_of(&r);
            for c in &r.choices {
                let _ = c.tool_calls.len();
            }
        }
    }
    for op in [Operation::Chat, Operation::Completion] {
        let mut asm = Assembler::new(op);
        let mut n = 0u64;
        let mut sink = |_e: Event| {
            n += 1;
            n % 101 != 0 // now and then the caller stops
        };
        for line in text.split(['\n', '\r']) {
            let d = line
                .strip_prefix("data:")
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .unwrap_or(line);
            if d.is_empty() {
                continue;
            }
            match asm.on_data(d, &mut sink) {
                Ok(Flow::Continue) => {}
                Ok(_) | Err(_) => break,
            }
        }
        let _ = asm.check_complete();
        let r = asm.response(200, &headers);
        let back = Response::parse(op, 200, headers.clone(), r.raw.clone())
            .expect("the assembled body is a JSON object");
        assert_eq!(back.choices.len(), r.choices.len());
        for (a, b) in back.choices.iter().zip(&r.choices) {
            assert_eq!(a.text, b.text);
            assert_eq!(a.finish_reason, b.finish_reason);
            assert_eq!(a.tool_calls.len(), b.tool_calls.len());
        }
        assert_eq!(back.usage, r.usage);
    }
});
