//! The SSE parser and stream assembler on recorded Azure/OpenAI stream shapes: every split of
//! the byte stream (each single offset, and random multi-splits) yields the same events and
//! the same assembled response.

use aoai::config::Operation;
use aoai::sse::SseParser;
use aoai::stream::{Assembler, EventKind, Flow};

/// Azure 2024-10-21 chat: prompt-filter event first, per-chunk filter results, an async
/// annotation after the finish, the include_usage chunk, `[DONE]`.
const AZURE_CHAT: &str = concat!(
    "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},\"jailbreak\":{\"filtered\":false,\"detected\":false}}}]}\n\n",
    "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"\",\"refusal\":null,\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1733358923,\"id\":\"chatcmpl-A\",\"model\":\"gpt-4o-2024-08-06\",\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\",\"usage\":null}\n\n",
    "data: {\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}},\"delta\":{\"content\":\"Caf\u{e9} \u{1F600}\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":1733358923,\"id\":\"chatcmpl-A\",\"model\":\"gpt-4o-2024-08-06\",\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n",
    ": keep-alive\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\" \\\"\u{4e16}\u{754c}\\\"\\n\"},\"finish_reason\":null,\"index\":0}],\"id\":\"chatcmpl-A\",\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n",
    "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],\"id\":\"chatcmpl-A\",\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n",
    "data: {\"choices\":[{\"content_filter_offsets\":{\"check_offset\":0,\"start_offset\":0,\"end_offset\":12},\"content_filter_results\":{\"violence\":{\"filtered\":false,\"severity\":\"safe\"},\"custom_blocklists\":[]},\"finish_reason\":null,\"index\":0}],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\"}\n\n",
    "data: {\"choices\":[],\"id\":\"chatcmpl-A\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":5,\"prompt_tokens\":9,\"total_tokens\":14,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n",
    "data: [DONE]\n\n",
);

/// Tool call deltas accumulated by index; CRLF line endings; multi-line data.
const TOOL_CALLS: &str = concat!(
    "data: {\"choices\":[{\"delta\":{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null,\"index\":0}],\"id\":\"c2\",\"model\":\"gpt-4o\"}\r\n\r\n",
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null,\"index\":0}],\"id\":\"c2\"}\r\n\r\n",
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]},\r\n",
    "data: \"finish_reason\":null,\"index\":0}],\"id\":\"c2\"}\r\n\r\n",
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\",\"index\":0}],\"id\":\"c2\"}\r\n\r\n",
    "data: [DONE]\r\n\r\n",
);

/// Legacy completions with two prompts (one filter event per prompt), 2023 shape ending with
/// `data: [DONE]` and no blank line, `\r` line endings.
const COMPLETIONS: &str = concat!(
    "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_annotations\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\r\r",
    "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_annotations\":[{\"prompt_index\":1,\"content_filter_results\":{}}]}\r\r",
    "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"gpt-35-turbo-instruct\",\"choices\":[{\"text\":\" one\",\"index\":0,\"finish_reason\":null,\"logprobs\":null}]}\r\r",
    "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"gpt-35-turbo-instruct\",\"choices\":[{\"text\":\" two\",\"index\":1,\"finish_reason\":\"length\",\"logprobs\":null}]}\r\r",
    "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"gpt-35-turbo-instruct\",\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"stop\",\"logprobs\":null}]}\r\r",
    "data: [DONE]\r",
);

/// The observable outcome of a stream: events as comparable tuples plus the assembled body.
fn run(op: Operation, chunks: &[&[u8]]) -> (Vec<String>, String) {
    let mut parser = SseParser::new();
    let mut asm = Assembler::new(op);
    let mut sse = Vec::new();
    let mut events = Vec::new();
    let feed =
        |sse: &mut Vec<aoai::sse::SseEvent>, asm: &mut Assembler, events: &mut Vec<String>| {
            for e in sse.drain(..) {
                let mut sink = |ev: aoai::stream::Event| {
                    events.push(format!(
                        "{:?}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
                        ev.kind,
                        ev.choice,
                        ev.text,
                        ev.tool_index,
                        ev.tool_id,
                        ev.tool_name,
                        ev.usage,
                        ev.offsets,
                        ev.filter
                    ));
                    true
                };
                assert_ne!(asm.on_data(&e.data, &mut sink).unwrap(), Flow::Stopped);
            }
        };
    for c in chunks {
        parser.feed(c, &mut sse).unwrap();
        feed(&mut sse, &mut asm, &mut events);
    }
    parser.finish(&mut sse).unwrap();
    feed(&mut sse, &mut asm, &mut events);
    asm.check_complete().unwrap();
    (events, asm.response(200, &[]).raw)
}

fn check_all_splits(op: Operation, s: &str) -> (Vec<String>, String) {
    let b = s.as_bytes();
    let whole = run(op, &[b]);
    for i in 0..=b.len() {
        assert_eq!(run(op, &[&b[..i], &b[i..]]), whole, "split at byte {i}");
    }
    // Random multi-splits from a fixed-seed generator (reproducible).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..300 {
        let mut cuts = vec![0, b.len()];
        for _ in 0..(x % 12) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cuts.push((x % (b.len() as u64 + 1)) as usize);
        }
        cuts.sort();
        let parts: Vec<&[u8]> = cuts.windows(2).map(|w| &b[w[0]..w[1]]).collect();
        assert_eq!(run(op, &parts), whole, "cuts {cuts:?}");
        x = x.wrapping_add(0x9E37_79B9);
    }
    // One byte at a time.
    let bytes: Vec<&[u8]> = b.chunks(1).collect();
    assert_eq!(run(op, &bytes), whole);
    whole
}

#[test]
fn azure_chat_stream_every_split() {
    let (events, body) = check_all_splits(Operation::Chat, AZURE_CHAT);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.split('|').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ContentFilter",
            "TextDelta",
            "TextDelta",
            "Finish",
            "ContentFilter",
            "Usage"
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Caf\u{e9} \u{1F600} \"\u{4e16}\u{754c}\"\n"
    );
    assert_eq!(v["id"], "chatcmpl-A");
    assert_eq!(v["model"], "gpt-4o-2024-08-06");
    assert_eq!(v["usage"]["total_tokens"], 14);
    assert_eq!(
        v["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]["detected"],
        false
    );
    assert!(
        events[4].contains("Some((0, 0, 12))"),
        "annotation offsets: {}",
        events[4]
    );
}

#[test]
fn tool_call_stream_every_split() {
    let (events, body) = check_all_splits(Operation::Chat, TOOL_CALLS);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_1");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        serde_json::Value::Null
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with("ToolCallDelta"))
            .count(),
        3
    );
}

#[test]
fn legacy_completion_stream_every_split() {
    let (events, body) = check_all_splits(Operation::Completion, COMPLETIONS);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["text"], " one");
    assert_eq!(v["choices"][1]["text"], " two");
    assert_eq!(v["choices"][1]["finish_reason"], "length");
    assert_eq!(v["prompt_filter_results"].as_array().unwrap().len(), 2);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with(&format!("{:?}", EventKind::ContentFilter)))
            .count(),
        2
    );
}

#[test]
fn in_band_error_and_truncation_are_errors() {
    let mut asm = Assembler::new(Operation::Chat);
    let e = asm
        .on_data(
            r#"{"error":{"code":"server_error","message":"boom"}}"#,
            &mut |_| true,
        )
        .unwrap_err();
    assert_eq!(
        (e.status, e.code.as_deref()),
        (aoai::Status::Stream, Some("server_error"))
    );
    assert!(e.message.contains("boom"));
    let mut asm = Assembler::new(Operation::Chat);
    asm.on_data(
        r#"{"choices":[{"delta":{"content":"partial"},"index":0}]}"#,
        &mut |_| true,
    )
    .unwrap();
    assert_eq!(
        asm.check_complete().unwrap_err().status,
        aoai::Status::Stream
    );
    assert_eq!(
        asm.response(200, &[]).choices[0].text.as_deref(),
        Some("partial")
    );
    let mut asm = Assembler::new(Operation::Chat);
    assert_eq!(
        asm.on_data("not json", &mut |_| true).unwrap_err().status,
        aoai::Status::Stream
    );
}
