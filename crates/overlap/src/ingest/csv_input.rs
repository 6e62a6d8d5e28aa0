//! CSV comparison records: the JSONL fields flattened into columns (DESIGN §3).
//!
//! Columns: `id,bucket,group,prompt_id,label,labeler,a.intervention,b.intervention`, then
//! `a.<feature>…,b.<feature>…` or `delta.<feature>…`, optionally `prompt,a.text,b.text`. Feature order
//! is the column order. Empty cells of optional columns mean "absent".

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::{RawFeatures, RawLabel, RawRecord};
use super::{IdSource, ImportError, Validator};

const FIXED: &[&str] = &[
    "id",
    "bucket",
    "group",
    "prompt_id",
    "label",
    "labeler",
    "a.intervention",
    "b.intervention",
    "prompt",
    "a.text",
    "b.text",
];

struct Layout {
    fixed: HashMap<&'static str, usize>,
    /// The column `--id-from FIELD` names, when it is not one of the fixed ones.
    id_column: Option<usize>,
    a: Vec<(String, usize)>,
    b: Vec<(String, usize)>,
    delta: Vec<(String, usize)>,
}

fn layout(v: &mut Validator<'_>, header: &csv::StringRecord) -> Option<Layout> {
    let mut l = Layout {
        fixed: HashMap::new(),
        id_column: None,
        a: Vec::new(),
        b: Vec::new(),
        delta: Vec::new(),
    };
    let before = v.problems.total;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, col) in header.iter().enumerate() {
        let col = col.trim();
        // A feature column given twice would leave the two sides' feature sets "equal" yet one
        // value unreadable; every repeated column is named with both positions.
        if let Some(first) = seen.insert(col, i) {
            if !FIXED.contains(&col) {
                v.problem(
                    1,
                    Some(col),
                    format!("column appears twice (columns {} and {})", first + 1, i + 1),
                );
                continue;
            }
        }
        if v.id_field() != "id" && col == v.id_field() && !FIXED.contains(&col) {
            l.id_column = Some(i);
        } else if let Some(fixed) = FIXED.iter().find(|f| **f == col) {
            if l.fixed.insert(fixed, i).is_some() {
                v.problem(1, Some(col), "column appears twice");
            }
        } else if let Some(f) = col.strip_prefix("a.") {
            l.a.push((f.to_string(), i));
        } else if let Some(f) = col.strip_prefix("b.") {
            l.b.push((f.to_string(), i));
        } else if let Some(f) = col.strip_prefix("delta.") {
            l.delta.push((f.to_string(), i));
        } else {
            v.problem(
                1,
                Some(col),
                "unknown column (expected id, bucket, group, prompt_id, label, labeler, a.intervention, b.intervention, a.<feature>, b.<feature> or delta.<feature>, prompt, a.text, b.text)",
            );
        }
    }
    if !l.fixed.contains_key("label") {
        v.problem(1, Some("label"), "missing required column");
    }
    match &v.id_from {
        None if !l.fixed.contains_key("id") => v.problem(
            1,
            Some("id"),
            "missing required column (or pass --id-from line|content|COLUMN)",
        ),
        Some(IdSource::Field(f))
            if l.id_column.is_none()
                && !FIXED.iter().any(|c| c == f && l.fixed.contains_key(c)) =>
        {
            let f = f.clone();
            v.problem(
                1,
                Some("--id-from"),
                format!("no column '{f}' holds the ids"),
            );
        }
        _ => {}
    }
    let names = |cols: &[(String, usize)]| cols.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    match (l.a.is_empty() && l.b.is_empty(), l.delta.is_empty()) {
        (true, true) => v.problem(
            1,
            None,
            "no feature columns: expected a.<feature> and b.<feature> columns, or delta.<feature>",
        ),
        (false, false) => v.problem(
            1,
            None,
            "give either per-side feature columns (a.*, b.*) or delta.* columns, not both",
        ),
        (false, true) => {
            let (mut a, mut b) = (names(&l.a), names(&l.b));
            a.sort();
            b.sort();
            if a != b {
                let only_a: Vec<&str> = a
                    .iter()
                    .filter(|x| !b.contains(x))
                    .map(String::as_str)
                    .collect();
                let only_b: Vec<&str> = b
                    .iter()
                    .filter(|x| !a.contains(x))
                    .map(String::as_str)
                    .collect();
                v.problem(
                    1,
                    None,
                    format!(
                        "sides a and b must have the same features (only in a: [{}]; only in b: [{}])",
                        only_a.join(", "),
                        only_b.join(", ")
                    ),
                );
            } else {
                v.declare_features(&names(&l.a));
            }
        }
        (true, false) => v.declare_features(&names(&l.delta)),
    }
    (v.problems.total == before).then_some(l)
}

fn cell<'r>(rec: &'r csv::StringRecord, l: &Layout, col: &str) -> Option<&'r str> {
    let i = *l.fixed.get(col)?;
    rec.get(i).filter(|s| !s.is_empty())
}

fn values(
    v: &mut Validator<'_>,
    line: u64,
    rec: &csv::StringRecord,
    cols: &[(String, usize)],
    prefix: &str,
) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(cols.len());
    let mut ok = true;
    for (name, i) in cols {
        let raw = rec.get(*i).unwrap_or("").trim();
        match raw.parse::<f64>() {
            Ok(x) if x.is_finite() => out.push(x),
            Ok(_) => {
                v.problem(
                    line,
                    Some(&format!("{prefix}.{name}")),
                    format!("expected a finite number, found '{raw}'"),
                );
                ok = false;
            }
            Err(_) if raw.is_empty() => {
                v.problem(
                    line,
                    Some(&format!("{prefix}.{name}")),
                    "missing value: every feature must be present",
                );
                ok = false;
            }
            Err(_) => {
                v.problem(
                    line,
                    Some(&format!("{prefix}.{name}")),
                    format!("expected a number, found '{raw}'"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Reads a CSV file with a header: `header` sees the header once (and returns the state rows
/// need, or `None` after reporting why the file cannot be read), `row` every record with its
/// 1-based line. Syntax problems are problems of their line; reading goes on after them.
fn each_record<'a, H>(
    input: Box<dyn BufRead + Send>,
    v: &mut Validator<'a>,
    header: impl FnOnce(&mut Validator<'a>, &csv::StringRecord) -> Option<H>,
    mut row: impl FnMut(&mut Validator<'a>, &H, u64, &csv::StringRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let mut lines = LineNumbers {
        newlines: newlines.clone(),
        passed: 0,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(NewlineTracker {
            inner: input,
            offset: 0,
            newlines,
            line_start: 0,
            lines: 0,
        });
    let columns = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            v.problem(1, None, format!("cannot read the CSV header: {e}"));
            return Ok(());
        }
    };
    if columns.is_empty() || (columns.len() == 1 && columns.get(0) == Some("")) {
        v.problem(0, None, "the input holds no records");
        return Ok(());
    }
    let Some(state) = header(v, &columns) else {
        return Ok(());
    };
    v.in_records = true;
    let mut rec = csv::StringRecord::new();
    loop {
        if v.should_stop() {
            break;
        }
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("expected {expected_len} columns like the header, found {len}"),
                    csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
                    _ => format!("invalid CSV: {e}"),
                };
                v.problem(line, None, msg);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
        row(v, &state, line, &rec)?;
    }
    Ok(())
}

/// Reads text pairs from CSV columns: each record becomes the JSON object a JSONL line would be,
/// one string per non-empty cell (an empty cell is an absent key), except `label`, which is a
/// number when it reads as one, and `*_features`, whose cells hold JSON objects.
pub(crate) fn for_each_object<'a>(
    input: Box<dyn BufRead + Send>,
    v: &mut Validator<'a>,
    mut f: impl FnMut(&mut Validator<'a>, u64, Map<String, Value>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    each_record(
        input,
        v,
        |v, header| {
            let names: Vec<String> = header.iter().map(str::to_string).collect();
            let mut seen = HashMap::new();
            for (i, name) in names.iter().enumerate() {
                if let Some(first) = seen.insert(name.as_str(), i) {
                    v.problem(
                        1,
                        Some(name),
                        format!(
                            "column '{name}' appears twice (columns {} and {})",
                            first + 1,
                            i + 1
                        ),
                    );
                }
            }
            (seen.len() == names.len()).then_some(names)
        },
        |v, names, line, rec| {
            let mut object = Map::new();
            for (name, cell) in names.iter().zip(rec.iter()) {
                if cell.is_empty() {
                    continue;
                }
                let value = if name == "label" {
                    cell.trim()
                        .parse::<serde_json::Number>()
                        .map_or_else(|_| Value::String(cell.to_string()), Value::Number)
                } else if name.ends_with("_features") {
                    match super::strict_json::from_str(cell) {
                        Ok(value) => value,
                        Err(e) => {
                            v.problem(
                                line,
                                Some(name),
                                format!("expected a JSON object of feature values: {e}"),
                            );
                            return Ok(());
                        }
                    }
                } else {
                    Value::String(cell.to_string())
                };
                object.insert(name.clone(), value);
            }
            f(v, line, object)
        },
    )
}

/// Reads CSV comparison records (columns as in the module documentation).
pub(crate) fn read<'a>(
    input: Box<dyn BufRead + Send>,
    v: &mut Validator<'a>,
    emit: &mut dyn FnMut(&mut Validator<'a>, u64, RawRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    each_record(
        input,
        v,
        |v, header| {
            let l = layout(v, header)?;
            // Every row shares the header's feature layout; b's columns are read in a's order.
            let names: Arc<[String]> = if l.delta.is_empty() {
                l.a.iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
                    .into()
            } else {
                l.delta
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
                    .into()
            };
            let b_cols: Vec<(String, usize)> =
                l.a.iter()
                    .filter_map(|(n, _)| l.b.iter().find(|(m, _)| m == n).cloned())
                    .collect();
            Some((l, names, b_cols))
        },
        |v, (l, names, b_cols), line, rec| {
            let before = v.problems.total;
            let features = if l.delta.is_empty() {
                let a = values(v, line, rec, &l.a, "a");
                let b = values(v, line, rec, b_cols, "b");
                match (a, b) {
                    (Some(a), Some(b)) => RawFeatures::Sides {
                        names: names.clone(),
                        fields: ["a.features", "b.features"],
                        a,
                        b,
                    },
                    _ => RawFeatures::Invalid,
                }
            } else {
                values(v, line, rec, &l.delta, "delta").map_or(RawFeatures::Invalid, |values| {
                    RawFeatures::Delta {
                        names: names.clone(),
                        values,
                    }
                })
            };
            let label = cell(rec, l, "label").map_or(RawLabel::Missing, RawLabel::from_text);
            let owned = |c: Option<&str>| c.map(str::to_string);
            let raw = RawRecord {
                id: owned(match (l.id_column, v.id_field()) {
                    (Some(i), _) => rec.get(i).filter(|s| !s.is_empty()),
                    (None, field) => {
                        let field = FIXED.iter().find(|c| **c == field).copied().unwrap_or("id");
                        cell(rec, l, field)
                    }
                }),
                bucket: owned(cell(rec, l, "bucket")),
                group: owned(cell(rec, l, "group")),
                prompt_id: owned(cell(rec, l, "prompt_id")),
                label,
                labeler: owned(cell(rec, l, "labeler")),
                a_intervention: owned(cell(rec, l, "a.intervention")),
                b_intervention: owned(cell(rec, l, "b.intervention")),
                features: if v.problems.total > before {
                    RawFeatures::Invalid
                } else {
                    features
                },
                prompt: owned(cell(rec, l, "prompt")),
                a_text: owned(cell(rec, l, "a.text")),
                b_text: owned(cell(rec, l, "b.text")),
            };
            emit(v, line, raw)
        },
    )
}

/// Records the byte offset of every `\n` as the CSV reader pulls bytes, so that a record's line
/// is computed from its byte offset. (The csv crate's own line count is one short after CRLF
/// line ends, which spreadsheets write.)
struct NewlineTracker<R> {
    inner: R,
    offset: u64,
    newlines: Rc<RefCell<VecDeque<u64>>>,
    /// Offset just after the last newline and how many newlines were read: a physical line
    /// longer than [`super::MAX_LINE_BYTES`] stops the read (the csv crate would buffer it all).
    line_start: u64,
    lines: u64,
}

impl<R: Read> Read for NewlineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        let mut too_long = false;
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            let at = self.offset + i as u64;
            too_long |= at - self.line_start > super::MAX_LINE_BYTES;
            if too_long {
                break;
            }
            newlines.push_back(at);
            self.line_start = at + 1;
            self.lines += 1;
        }
        self.offset += n as u64;
        if too_long || self.offset - self.line_start > super::MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {} MiB: one record per line, with long texts kept under that size",
                    self.lines + 1,
                    super::MAX_LINE_BYTES >> 20
                ),
            ));
        }
        Ok(n)
    }
}

/// Turns byte offsets (non-decreasing) into 1-based line numbers, forgetting newlines it passed.
struct LineNumbers {
    newlines: Rc<RefCell<VecDeque<u64>>>,
    passed: u64,
}

impl LineNumbers {
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut newlines = self.newlines.borrow_mut();
        // `<=`: after a CRLF the reader reports a record as starting at the `\n` it skips.
        while newlines.front().is_some_and(|&at| at <= byte) {
            newlines.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}
