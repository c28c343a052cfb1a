//! Small pure helpers shared by the response builders and the HTTP layer.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The emulator's notion of a "token": a whitespace-separated word. It keeps usage
/// arithmetic predictable for tests written in any language.
pub fn word_count(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// Splits text into stream pieces: each piece is one word plus the whitespace before
/// it, and the last piece also keeps any trailing whitespace, so concatenating the
/// pieces reproduces the text byte for byte (streamed deltas must join to the
/// non-streamed content exactly).
pub fn pieces(text: &str) -> Vec<&str> {
    let mut cuts = Vec::new();
    let mut prev_word = false;
    let mut pending = None;
    for (i, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if prev_word {
                pending = Some(i);
            }
            prev_word = false;
        } else {
            if let Some(c) = pending.take() {
                cuts.push(c);
            }
            prev_word = true;
        }
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for c in cuts {
        out.push(&text[start..c]);
        start = c;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Keeps at most `limit` words; returns the kept text and whether anything was cut.
pub fn truncate_words(text: &str, limit: u64) -> (String, bool) {
    if word_count(text) <= limit {
        return (text.to_string(), false);
    }
    let kept: String = pieces(text).into_iter().take(limit as usize).collect();
    (kept, true)
}

/// Splits a string into fragments of about `max` bytes, cutting only on char boundaries.
pub fn fragments(s: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in s.char_indices() {
        if i - start >= max {
            out.push(&s[start..i]);
            start = i;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        if plus_is_space && b[i] == b'+' {
            out.push(b' ');
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `%XX` decoding for path segments and directive values (invalid escapes stay literal).
pub fn percent_decode(s: &str) -> String {
    decode(s, false)
}

/// Form-style decoding for query string values.
pub fn query_decode(s: &str) -> String {
    decode(s, true)
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// IMF-fixdate for the `date` header, computed by hand to stay dependency-free.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_rejoin() {
        for t in ["Hello world", " This is  it ", "", "   ", "a", "é ü  x"] {
            assert_eq!(pieces(t).concat(), t);
        }
        assert_eq!(pieces("Hello world"), vec!["Hello", " world"]);
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_words("a b c", 2), ("a b".to_string(), true));
        assert_eq!(truncate_words("a b", 2), ("a b".to_string(), false));
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(percent_decode("a%3Bb%e2%82%ac%zz"), "a;b€%zz");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_733_358_923), "Thu, 05 Dec 2024 00:35:23 GMT");
        assert_eq!(fragments("abcdef", 4), vec!["abcd", "ef"]);
    }
}
