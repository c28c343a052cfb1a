//! `/embeddings`: deterministic unit vectors derived from a hash of the input text.

use serde_json::{Map, Value, json};

use crate::azure::{Gen, Payload};
use crate::errors::invalid_request;
use crate::script::strip;
use crate::util::{base64, fnv1a, splitmix, word_count};

const DEFAULT_DIMENSIONS: u64 = 8;
const MAX_DIMENSIONS: u64 = 8192;

fn token_text(v: &Value) -> Option<String> {
    v.as_array()?
        .iter()
        .map(|t| t.as_i64().map(|t| t.to_string()))
        .collect::<Option<Vec<_>>>()
        .map(|t| t.join(" "))
}

fn inputs(body: &Map<String, Value>) -> Result<Vec<String>, Value> {
    let invalid = || invalid_request("Invalid type for 'input'.", Some("input"));
    match body.get("input") {
        None | Some(Value::Null) => Err(invalid_request(
            "Missing required parameter: 'input'.",
            Some("input"),
        )),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.is_empty() => Err(invalid_request(
            "Invalid 'input': empty array. Expected an array with minimum length 1.",
            Some("input"),
        )),
        Some(v @ Value::Array(items)) => {
            if items.iter().all(Value::is_number) {
                return token_text(v).map(|t| vec![t]).ok_or_else(invalid);
            }
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    other => token_text(other),
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

/// The text scanned for directives: the first input string.
pub fn directive_text(body: &Map<String, Value>) -> Option<String> {
    match body.get("input")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first()?.as_str().map(str::to_string),
        _ => None,
    }
}

/// A unit vector seeded by the text. Values go through their shortest f32 decimal
/// form so the JSON numbers and the base64 bytes describe the same f32s.
pub fn vector(text: &str, dims: usize) -> Vec<f32> {
    let seed = fnv1a(text.as_bytes());
    let raw: Vec<f64> = (0..dims as u64)
        .map(|j| {
            let r = splitmix(seed ^ splitmix(j));
            (r >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

fn json_number(x: f32) -> Value {
    let shortest: f64 = x.to_string().parse().unwrap_or(0.0);
    json!(shortest)
}

pub fn answer(g: &Gen) -> Result<Payload, Value> {
    let texts = inputs(g.body)?;
    let dims = match g.body.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(v) => match v.as_u64() {
            Some(d) if (1..=MAX_DIMENSIONS).contains(&d) => d,
            _ => {
                return Err(invalid_request(
                    "Invalid 'dimensions': expected an integer between 1 and 8192.",
                    Some("dimensions"),
                ));
            }
        },
    } as usize;
    let base64_format = match g.body.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(invalid_request(
                "Invalid 'encoding_format': expected 'float' or 'base64'.",
                Some("encoding_format"),
            ));
        }
    };
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let v = vector(&strip(t), dims);
            let embedding = if base64_format {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64(&bytes))
            } else {
                Value::Array(v.into_iter().map(json_number).collect())
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens = texts.iter().map(|t| word_count(t)).sum::<u64>().max(1);
    Ok(Payload::Json(json!({
        "object": "list", "data": data, "model": g.model(),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
