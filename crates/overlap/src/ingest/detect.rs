//! Which layout a file is in, told from its first record (JSONL) or its header (CSV), so that a
//! JSONL or CSV of comparison records or of text pairs never needs `--input`.
//!
//! Entry point: [`detect`]. It reads (from a regular file, opened once more by the import) at most
//! the first non-blank line (or the CSV header) and says
//! which of the layouts it took, in words the import prints; it never decides anything the
//! importer would then contradict: a record that fits no layout gives `None`, and the importer's
//! own problems explain the file.

use std::io::{BufRead, Read};

use serde_json::{Map, Value};

use super::{ImportError, InputFormat, MAX_LINE_BYTES, infer_format, open_input};

const FIRST_RECORD: &str = "its first record";
const HEADER: &str = "its header";

/// A layout told from the start of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: InputFormat,
    /// The layout in words, e.g. "text pairs: TRL standard, explicit prompt (prompt, chosen,
    /// rejected)".
    pub layout: &'static str,
    /// What it was told from: "its first record" or "its header".
    pub evidence: &'static str,
}

/// The layout of the file at `path`: `None` for standard input and pipes, for a name that is neither JSONL
/// nor CSV, and for a first record that fits no layout (the import then reports its problems).
pub fn detect(path: &str, split: Option<&str>) -> Result<Option<Detected>, ImportError> {
    if super::shards::names_parquet(path) {
        return detect_parquet(path, split);
    }
    // Only a regular file can be read twice: a pipe's first record would be consumed here.
    if path == "-" || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let Some(format) = infer_format(path) else {
        return Ok(None);
    };
    let mut input = open_input(path)?;
    let Some(first) = first_line(&mut input).map_err(|cause| ImportError::Io {
        file: path.to_string(),
        cause,
    })?
    else {
        return Ok(None);
    };
    Ok(match format {
        InputFormat::Csv => classify_header(&first),
        _ => match super::strict_json::from_str(&first) {
            Ok(Value::Object(object)) => classify_object(&object),
            _ => None,
        },
    })
}

/// Parquet rows are records or pairs, told from the first row of the first shard.
#[cfg(feature = "parquet")]
fn detect_parquet(path: &str, split: Option<&str>) -> Result<Option<Detected>, ImportError> {
    let shards = super::shards::shards(path, split)?;
    let Some(first) = super::parquet_input::first_row(&shards[0])? else {
        return Ok(None);
    };
    Ok(classify_object(&first).map(|d| Detected {
        evidence: "its first row",
        ..d
    }))
}

/// Without Parquet support the import itself says so.
#[cfg(not(feature = "parquet"))]
fn detect_parquet(_: &str, _: Option<&str>) -> Result<Option<Detected>, ImportError> {
    Ok(None)
}

/// The first non-blank line (without a byte-order mark), read up to the import's line cap.
fn first_line<R: BufRead>(input: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input
            .by_ref()
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_start_matches('\u{feff}').trim();
        if !text.is_empty() {
            return Ok(Some(text.to_string()));
        }
    }
}

/// The layout of one JSON record.
fn classify_object(object: &Map<String, Value>) -> Option<Detected> {
    let has = |k: &str| object.get(k).is_some_and(|v| !v.is_null());
    let is_object = |k: &str| object.get(k).is_some_and(Value::is_object);
    let is_list = |k: &str| object.get(k).is_some_and(Value::is_array);
    let pairs = |layout| {
        Some(Detected {
            format: InputFormat::Pairs,
            layout,
            evidence: FIRST_RECORD,
        })
    };
    if is_object("a") || is_object("b") || is_object("delta") {
        return Some(Detected {
            format: InputFormat::Jsonl,
            layout: "comparison records (features per side or as a difference)",
            evidence: FIRST_RECORD,
        });
    }
    if has("preferred_output") && has("non_preferred_output") {
        return pairs(
            "text pairs: Together AI preference (input.messages, preferred_output, non_preferred_output)",
        );
    }
    if is_list("conversations") && (is_object("chosen") || is_object("rejected")) {
        return pairs(
            "text pairs: ShareGPT ranking (conversations; chosen and rejected as {from, value})",
        );
    }
    let strings = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_string))
    };
    if strings("chosen") && strings("rejected") {
        return pairs(
            "text pairs: lists of candidates (RM-Bench / RewardBench 2: every chosen × rejected pair, positions as the group)",
        );
    }
    if has("chosen") && has("rejected") && ["chosen_rating", "score_chosen"].iter().any(|k| has(k))
    {
        return pairs(
            "text pairs: rated (chosen and rejected with their ratings; the higher rating is preferred)",
        );
    }
    if has("chosen") && has("rejected") && !has("response_a") && !has("response_b") {
        return match (is_list("chosen") || is_list("rejected"), has("prompt")) {
            (true, true) => pairs(
                "text pairs: TRL conversational, explicit prompt (prompt, chosen and rejected as message lists)",
            ),
            (true, false) => pairs(
                "text pairs: TRL conversational, implicit prompt (chosen and rejected as message lists)",
            ),
            (false, true) => {
                pairs("text pairs: TRL standard, explicit prompt (prompt, chosen, rejected)")
            }
            (false, false) => pairs(
                "text pairs: HH-RLHF dialogues (chosen, rejected; the prompt is the dialogue before the last Assistant turn)",
            ),
        };
    }
    if has("response_a") && has("response_b") && !has("chosen") && !has("rejected") {
        return pairs("text pairs: response_a and response_b with a label");
    }
    None
}

/// The layout of a CSV file from its header line.
fn classify_header(header: &str) -> Option<Detected> {
    let columns: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header.as_bytes())
        .records()
        .next()?
        .ok()?
        .iter()
        .map(str::to_string)
        .collect();
    let has = |c: &str| columns.iter().any(|n| n == c);
    if columns
        .iter()
        .any(|c| c.starts_with("a.") || c.starts_with("delta."))
    {
        return Some(Detected {
            format: InputFormat::Csv,
            layout: "comparison records in CSV columns",
            evidence: HEADER,
        });
    }
    let layout = if has("chosen") && has("rejected") {
        "text pairs in CSV columns (prompt, chosen, rejected)"
    } else if has("response_a") && has("response_b") {
        "text pairs in CSV columns (prompt, response_a, response_b, label)"
    } else {
        return None;
    };
    Some(Detected {
        format: InputFormat::Pairs,
        layout,
        evidence: HEADER,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(o)) => o,
            _ => panic!("not an object: {text}"),
        }
    }

    fn format_of(text: &str) -> Option<InputFormat> {
        classify_object(&object(text)).map(|d| d.format)
    }

    #[test]
    fn records_and_every_pair_layout_are_told_apart() {
        assert_eq!(
            format_of(r#"{"id":"1","label":1,"a":{"features":{"x":1}},"b":{"features":{"x":0}}}"#),
            Some(InputFormat::Jsonl)
        );
        assert_eq!(
            format_of(r#"{"id":"1","label":1,"delta":{"x":1}}"#),
            Some(InputFormat::Jsonl)
        );
        for pair in [
            r#"{"prompt":"Q","chosen":"A","rejected":"B"}"#,
            r#"{"chosen":"\n\nHuman: Q\n\nAssistant: A","rejected":"\n\nHuman: Q\n\nAssistant: B"}"#,
            r#"{"chosen":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"B"}]}"#,
            r#"{"prompt":[{"role":"user","content":"Q"}],"chosen":[{"role":"assistant","content":"A"}],"rejected":[{"role":"assistant","content":"B"}]}"#,
            r#"{"prompt":"Q","response_a":"A","response_b":"B","label":0}"#,
            r#"{"input":{"messages":[{"role":"user","content":"Q"}]},"preferred_output":[{"role":"assistant","content":"A"}],"non_preferred_output":[{"role":"assistant","content":"B"}]}"#,
            r#"{"conversations":[{"from":"human","value":"Q"}],"chosen":{"from":"gpt","value":"A"},"rejected":{"from":"gpt","value":"B"}}"#,
            r#"{"prompt":"Q","chosen":"A","rejected":"B","chosen_rating":5,"rejected_rating":3}"#,
            r#"{"prompt":"Q","chosen":["A1","A2"],"rejected":["B1","B2"]}"#,
        ] {
            assert_eq!(format_of(pair), Some(InputFormat::Pairs), "{pair}");
        }
        // Neither: the importer's own problems explain the record.
        assert_eq!(format_of(r#"{"id":"1","text":"x"}"#), None);
        assert_eq!(
            format_of(r#"{"chosen":"A","rejected":"B","response_a":"A","response_b":"B"}"#),
            None
        );
    }

    #[test]
    fn csv_headers_are_told_apart() {
        let f = |h: &str| classify_header(h).map(|d| d.format);
        assert_eq!(f("id,label,a.length,b.length"), Some(InputFormat::Csv));
        assert_eq!(f("id,label,delta.length"), Some(InputFormat::Csv));
        assert_eq!(f("prompt,chosen,rejected"), Some(InputFormat::Pairs));
        assert_eq!(
            f("id,prompt,response_a,response_b,label"),
            Some(InputFormat::Pairs)
        );
        assert_eq!(f("id,whatever"), None);
    }

    #[test]
    fn the_first_non_blank_line_is_read() {
        let mut input: &[u8] = b"\n  \n\xef\xbb\xbf{\"a\":1}\n{\"b\":2}\n";
        assert_eq!(
            first_line(&mut input).unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        let mut empty: &[u8] = b"\n\n";
        assert_eq!(first_line(&mut empty).unwrap(), None);
    }
}
