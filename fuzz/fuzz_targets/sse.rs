//! The SSE parser fed arbitrary bytes in arbitrary splits. Oracle: every split of the same
//! bytes (the first input byte seeds the split points; also one byte at a time) yields exactly
//! the events (and the error, if any) of feeding them whole. Never a panic.
#![no_main]

use aoai::sse::{SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

fn run(chunks: &[&[u8]]) -> (Vec<SseEvent>, bool) {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        if p.feed(c, &mut out).is_err() {
            return (out, true);
        }
    }
    let err = p.finish(&mut out).is_err();
    (out, err)
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let whole = run(&[bytes]);
    let mut x = (seed as u64) << 32 | 0x9E37_79B9;
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = (i + 1 + (x % 23) as usize).min(bytes.len());
        chunks.push(&bytes[i..j]);
        i = j;
    }
    assert_eq!(whole, run(&chunks), "split feed differs from whole feed");
    if bytes.len() <= 4096 {
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(whole, run(&singles), "byte-by-byte feed differs");
    }
});
