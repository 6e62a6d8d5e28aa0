//! JSON Lines comparison records (DESIGN §3): one object per line, per-side `features` or `delta`.

use std::io::{BufRead, Read as _};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::{RawFeatures, RawLabel, RawRecord};
use super::{ImportError, Input, Validator};

const TOP_FIELDS: &[&str] = &[
    "id",
    "bucket",
    "group",
    "prompt_id",
    "label",
    "labeler",
    "a",
    "b",
    "delta",
    "prompt",
];
const SIDE_FIELDS: &[&str] = &["intervention", "features", "text"];

/// Reads every line, handing parsed records to `emit`; syntax and shape problems go to `v`.
pub(crate) fn read<'a>(
    input: Input,
    v: &mut Validator<'a>,
    emit: &mut dyn FnMut(&mut Validator<'a>, u64, RawRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    #[cfg(feature = "parquet")]
    if let Input::Parquet(shards) = &input {
        return super::parquet_input::read_records(shards, v, parse_record, emit);
    }
    super::for_each_object(input, false, v, |v, line, obj| {
        match parse_record(v, line, &obj) {
            Some(raw) => emit(v, line, raw),
            None => Ok(()),
        }
    })
}

/// Reads JSON Lines: blank lines are skipped and every other line must be one JSON object;
/// invalid UTF-8, invalid JSON and non-objects are problems of their line (reading goes on).
pub(crate) fn for_each_object<'a>(
    mut input: Box<dyn BufRead + Send>,
    v: &mut Validator<'a>,
    mut f: impl FnMut(&mut Validator<'a>, u64, Map<String, Value>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    v.in_records = true;
    loop {
        if v.should_stop() {
            break;
        }
        buf.clear();
        // At most MAX_LINE_BYTES + 1 bytes are buffered: a file that is one endless line cannot
        // exhaust memory.
        let n = (&mut input)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|cause| ImportError::Io {
                file: v.file.clone(),
                cause,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        if buf.len() as u64 > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            skip_rest_of_line(&mut input).map_err(|cause| ImportError::Io {
                file: v.file.clone(),
                cause,
            })?;
            v.problem(
                line,
                None,
                format!(
                    "the line is longer than {} MiB: one record per line, with long texts kept under that size",
                    MAX_LINE_BYTES >> 20
                ),
            );
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            v.problem(line, None, "invalid UTF-8: expected UTF-8 encoded JSON");
            continue;
        };
        // A byte-order mark at the start of the file is accepted, as CSV and YAML accept one.
        let text = if line == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match super::strict_json::from_str(text) {
            Ok(Value::Object(obj)) => f(v, line, obj)?,
            Ok(_) => v.problem(line, None, "expected a JSON object"),
            Err(e) => v.problem(line, None, format!("invalid JSON: {e}")),
        }
    }
    Ok(())
}

use super::MAX_LINE_BYTES;

/// Discards input up to and including the next newline, without buffering it.
fn skip_rest_of_line(input: &mut Box<dyn BufRead + Send>) -> std::io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', chunk) {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let len = chunk.len();
                input.consume(len);
            }
        }
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_string(
    v: &mut Validator<'_>,
    line: u64,
    obj: &Map<String, Value>,
    field: &str,
) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            v.problem(
                line,
                Some(field),
                format!("expected a string, found {}", describe(other)),
            );
            None
        }
    }
}

fn features(
    v: &mut Validator<'_>,
    line: u64,
    field: &str,
    value: &Value,
) -> Option<Vec<(String, f64)>> {
    let Value::Object(map) = value else {
        v.problem(
            line,
            Some(field),
            format!(
                "expected an object of feature values, found {}",
                describe(value)
            ),
        );
        return None;
    };
    if map.is_empty() {
        v.problem(line, Some(field), "expected at least one feature");
        return None;
    }
    let mut out = Vec::with_capacity(map.len());
    let mut ok = true;
    for (name, x) in map {
        match x.as_f64() {
            Some(x) => out.push((name.clone(), x)),
            None => {
                v.problem(
                    line,
                    Some(&format!("{field}.{name}")),
                    format!("expected a finite number, found {}", describe(x)),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Per-side features in side a's order; b's values are reordered to match when the two sides list
/// the same features in different orders.
fn sides(
    v: &mut Validator<'_>,
    line: u64,
    a: &[(String, f64)],
    b: &[(String, f64)],
) -> Option<RawFeatures> {
    let names: Vec<String> = a.iter().map(|(n, _)| n.clone()).collect();
    let mut b_values = Vec::with_capacity(names.len());
    let same_order = b.len() == a.len() && b.iter().zip(&names).all(|((m, _), n)| m == n);
    if same_order {
        b_values.extend(b.iter().map(|(_, x)| *x));
    } else {
        // Linear in the number of features whatever the order (a search per name would be
        // quadratic: minutes for a few hundred rows of 10k features).
        let by_name: std::collections::HashMap<&str, f64> =
            b.iter().map(|(m, x)| (m.as_str(), *x)).collect();
        for name in &names {
            match by_name.get(name.as_str()) {
                Some(x) => b_values.push(*x),
                None => break,
            }
        }
    }
    if b_values.len() != names.len() || b.len() != a.len() {
        let in_a: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let in_b: std::collections::HashSet<&str> = b.iter().map(|(m, _)| m.as_str()).collect();
        let only_a: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !in_b.contains(n))
            .collect();
        let only_b: Vec<&str> = b
            .iter()
            .map(|(m, _)| m.as_str())
            .filter(|m| !in_a.contains(m))
            .collect();
        v.problem(
            line,
            Some("b.features"),
            format!(
                "sides a and b must have the same features (only in a: [{}]; only in b: [{}])",
                only_a.join(", "),
                only_b.join(", ")
            ),
        );
        return None;
    }
    Some(RawFeatures::Sides {
        names: Arc::from(names),
        fields: ["a.features", "b.features"],
        a: a.iter().map(|(_, x)| *x).collect(),
        b: b_values,
    })
}

struct ParsedSide {
    intervention: Option<String>,
    features: Option<Vec<(String, f64)>>,
    text: Option<String>,
}

fn side(v: &mut Validator<'_>, line: u64, name: &str, value: &Value) -> Option<ParsedSide> {
    let Value::Object(obj) = value else {
        v.problem(
            line,
            Some(name),
            format!(
                "expected an object with intervention, features and text, found {}",
                describe(value)
            ),
        );
        return None;
    };
    for key in obj.keys() {
        if !SIDE_FIELDS.contains(&key.as_str()) {
            v.problem(
                line,
                Some(&format!("{name}.{key}")),
                format!(
                    "unknown field (expected one of: {})",
                    SIDE_FIELDS.join(", ")
                ),
            );
        }
    }
    let field = |k: &str| format!("{name}.{k}");
    let intervention = match obj.get("intervention") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            v.problem(
                line,
                Some(&field("intervention")),
                format!(
                    "expected an intervention name or null, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let text = match obj.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            v.problem(
                line,
                Some(&field("text")),
                format!("expected a string, found {}", describe(other)),
            );
            None
        }
    };
    let features = obj
        .get("features")
        .and_then(|f| features(v, line, &field("features"), f));
    Some(ParsedSide {
        intervention,
        features,
        text,
    })
}

fn parse_record(v: &mut Validator<'_>, line: u64, obj: &Map<String, Value>) -> Option<RawRecord> {
    let before = v.problems.total;
    let id_field = v.id_field().to_string();
    for key in obj.keys() {
        if !TOP_FIELDS.contains(&key.as_str()) && *key != id_field {
            let hint = if ["chosen", "rejected", "response_a", "response_b"].contains(&key.as_str())
            {
                "; this looks like a text-pair file: pass --input pairs"
            } else {
                ""
            };
            v.problem(
                line,
                Some(key),
                format!(
                    "unknown field (expected one of: {}){hint}",
                    TOP_FIELDS.join(", ")
                ),
            );
        }
    }
    let id = match obj.get(&id_field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Some(other) => {
            v.problem(
                line,
                Some(&id_field),
                format!("expected a string id, found {}", describe(other)),
            );
            return None;
        }
        None => None,
    };
    let bucket = opt_string(v, line, obj, "bucket");
    if bucket.as_deref() == Some("") {
        v.problem(line, Some("bucket"), "expected a non-empty bucket name");
    }
    let label = match obj.get("label") {
        None => RawLabel::Missing,
        Some(Value::Number(n)) => n
            .as_f64()
            .map_or(RawLabel::Invalid(n.to_string()), RawLabel::from_number),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("tie") => RawLabel::Tie,
        Some(other) => RawLabel::Invalid(match other {
            Value::String(s) => format!("'{s}'"),
            _ => describe(other).to_string(),
        }),
    };
    let a = obj.get("a").and_then(|x| side(v, line, "a", x));
    let b = obj.get("b").and_then(|x| side(v, line, "b", x));
    let delta = obj.get("delta");
    let has_side_features = a.as_ref().is_some_and(|s| s.features.is_some())
        || b.as_ref().is_some_and(|s| s.features.is_some());
    let raw_features = match (delta, has_side_features) {
        (Some(_), true) => {
            v.problem(
                line,
                Some("delta"),
                "give either per-side features or delta, not both",
            );
            None
        }
        (Some(d), false) => features(v, line, "delta", d).map(|f| RawFeatures::Delta {
            names: Arc::from(f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
            values: f.iter().map(|(_, x)| *x).collect(),
        }),
        (None, _) => match (&a, &b) {
            (
                Some(ParsedSide {
                    features: Some(fa), ..
                }),
                Some(ParsedSide {
                    features: Some(fb), ..
                }),
            ) => sides(v, line, fa, fb),
            _ => {
                if v.problems.total == before {
                    let field = match (&a, &b) {
                        (None, _) => "a",
                        (_, None) => "b",
                        (Some(sa), _) if sa.features.is_none() => "a.features",
                        _ => "b.features",
                    };
                    v.problem(
                        line,
                        Some(field),
                        "missing: expected per-side features (a.features and b.features) or delta",
                    );
                }
                None
            }
        },
    };
    let group = opt_string(v, line, obj, "group");
    let prompt_id = opt_string(v, line, obj, "prompt_id");
    let labeler = opt_string(v, line, obj, "labeler");
    let prompt = opt_string(v, line, obj, "prompt");
    let malformed = v.problems.total > before;
    let (a_intervention, a_text) = a.map_or((None, None), |s| (s.intervention, s.text));
    let (b_intervention, b_text) = b.map_or((None, None), |s| (s.intervention, s.text));
    Some(RawRecord {
        id,
        bucket,
        group,
        prompt_id,
        label,
        labeler,
        a_intervention,
        b_intervention,
        // Pass the record on even when malformed so that its id and label are checked too; the
        // import fails anyway because a problem was recorded.
        features: match raw_features {
            Some(f) if !malformed => f,
            _ => RawFeatures::Invalid,
        },
        prompt,
        a_text,
        b_text,
    })
}
