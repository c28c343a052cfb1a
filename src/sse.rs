//! Incremental Server-Sent Events parser (WHATWG rules, as openai-python applies them):
//! correct for any split of the byte stream, `\n` / `\r\n` / `\r` line endings, comments,
//! multi-line `data:`. Bytes are decoded only per complete event, so a UTF-8 sequence split
//! across reads is reassembled before decoding.

use crate::error::{Error, Status};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (chat streams have none).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    /// The previous chunk ended in `\r`: a leading `\n` of the next chunk belongs to it.
    skip_lf: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds bytes; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), Error> {
        if self.skip_lf {
            self.skip_lf = false;
            if let [b'\n', rest @ ..] = bytes {
                bytes = rest;
            }
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = bytes.split_at(pos);
            let is_cr = tail[0] == b'\r';
            if self.line.is_empty() {
                self.process_line(head, out)?;
            } else {
                self.line.extend_from_slice(head);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, out)?;
                self.line = line;
                self.line.clear();
            }
            bytes = &tail[1..];
            if is_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.skip_lf = true,
                    _ => {}
                }
            }
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// End of stream: a pending line ends, and a pending event is dispatched (an Azure
    /// recording ends with `data: [DONE]\n` and no blank line).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), Error> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out)?;
        }
        self.dispatch(out)
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), Error> {
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {} // id, retry and unknown fields carry nothing we use.
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) -> Result<(), Error> {
        let event = self.event.take();
        if !self.has_data {
            return Ok(());
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        let data = String::from_utf8(data).map_err(|e| {
            Error::new(
                Status::Stream,
                format!(
                    "a stream event is not valid UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        out.push(SseEvent { event, data });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).unwrap();
        }
        p.finish(&mut out).unwrap();
        out
    }

    fn data(evs: &[SseEvent]) -> Vec<&str> {
        evs.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn line_endings_and_comments() {
        for sep in ["\n", "\r\n", "\r"] {
            let s = format!(
                ": hi{sep}data: a{sep}{sep}data:b{sep}data: c{sep}{sep}event: x{sep}data: [DONE]{sep}{sep}"
            );
            let evs = parse_all(&[s.as_bytes()]);
            assert_eq!(data(&evs), vec!["a", "b\nc", "[DONE]"], "sep {sep:?}");
            assert_eq!(evs[2].event.as_deref(), Some("x"));
        }
    }

    #[test]
    fn done_without_blank_line_and_field_without_colon() {
        let evs = parse_all(&[b"data: 1\n\ndata: [DONE]\n"]);
        assert_eq!(data(&evs), vec!["1", "[DONE]"]);
        let evs = parse_all(&[b"data\n\n"]);
        assert_eq!(data(&evs), vec![""]);
    }

    #[test]
    fn cr_lf_split_across_chunks_is_one_line_end() {
        let evs = parse_all(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(data(&evs), vec!["a", "b"]);
    }

    #[test]
    fn every_split_of_utf8_gives_the_same_events() {
        let s = "data: {\"t\":\"h\u{e9}llo \u{1F600} \u{4e16}\"}\r\n\r\ndata: x\ny\n\n: c\ndata: [DONE]\n\n";
        let whole = parse_all(&[s.as_bytes()]);
        let b = s.as_bytes();
        for i in 0..=b.len() {
            for j in i..=b.len() {
                assert_eq!(
                    parse_all(&[&b[..i], &b[i..j], &b[j..]]),
                    whole,
                    "split {i} {j}"
                );
            }
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        assert_eq!(
            p.feed(b"data: \xff\n\n", &mut out).unwrap_err().status,
            Status::Stream
        );
    }
}
