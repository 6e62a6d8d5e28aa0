//! Review sheets: the rows a sample hands to reviewers (JSON Lines or CSV) and the reading of
//! the same files once reviewers filled in their verdicts.
//!
//! Entry points: [`write_sheet`] and [`read_sheet`]. Writing is deterministic (rows in sample
//! order, features in schema order, floats in their shortest round-tripping form). Reading keeps
//! only the fields a verdict needs, reports every syntax problem with file, line and field, and
//! leaves the checks against recorded samples to the caller. No store, no printing.

use std::io::{BufRead, BufReader, Read, Write};

use serde::Serialize;
use serde_json::Value;

use super::sampling::Selection;
use crate::ingest::{Problem, Problems};
use crate::model::named::NamedValues;

/// One side of a comparison as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetSide {
    pub intervention: Option<String>,
    /// The response, when the dataset stores texts.
    pub text: Option<String>,
    /// φ of this side in raw units; `None` when the dataset stores Δφ only.
    pub features: Option<NamedValues>,
}

/// One row of a review sheet. The label is deliberately absent: reviewers judge whether the
/// comparison is a meaningful, on-policy trade-off, and seeing which side won would anchor them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetRow {
    pub audit_id: String,
    /// `NAME@V` of the version the sample was drawn from.
    pub dataset: String,
    pub comparison_id: String,
    pub bucket: String,
    pub selected_by: Selection,
    /// Rank (top) or draw (weighted, probes) within `selected_by`, from 1.
    pub rank: u64,
    /// |vᵀΔφ̃|/‖Δφ̃‖ with the weakest direction v (standardized units).
    pub alignment: f64,
    /// Why the comparison was selected, in words.
    pub reason: String,
    pub prompt: Option<String>,
    pub a: SheetSide,
    pub b: SheetSide,
    /// Δφ = φ(a) − φ(b) in raw units.
    pub delta: NamedValues,
    pub reviewer: Option<String>,
    pub meaningful: Option<bool>,
    pub on_policy: Option<bool>,
    pub note: Option<String>,
}

/// File formats of review sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Jsonl,
    Csv,
}

impl SheetFormat {
    /// From a file name: `.jsonl`/`.ndjson`/`.json` or `.csv` (case-insensitive).
    pub fn from_path(path: &str) -> Option<SheetFormat> {
        let ext = std::path::Path::new(path)
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(SheetFormat::Jsonl),
            "csv" => Some(SheetFormat::Csv),
            _ => None,
        }
    }
}

/// The verdict columns, in the order both formats write them.
pub const VERDICT_FIELDS: [&str; 4] = ["reviewer", "meaningful", "on_policy", "note"];

fn csv_header(features: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [
        "audit_id",
        "dataset",
        "comparison_id",
        "bucket",
        "selected_by",
        "rank",
        "alignment",
        "reason",
        "a.intervention",
        "b.intervention",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for side in ["a", "b", "delta"] {
        h.extend(features.iter().map(|f| format!("{side}.{f}")));
    }
    h.extend(["prompt", "a.text", "b.text"].iter().map(|s| s.to_string()));
    h.extend(VERDICT_FIELDS.iter().map(|s| s.to_string()));
    h
}

fn csv_row(row: &SheetRow, features: &[String]) -> Vec<String> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let mut out = vec![
        row.audit_id.clone(),
        row.dataset.clone(),
        row.comparison_id.clone(),
        row.bucket.clone(),
        row.selected_by.as_str().to_string(),
        row.rank.to_string(),
        row.alignment.to_string(),
        row.reason.clone(),
        opt(&row.a.intervention),
        opt(&row.b.intervention),
    ];
    let values = |v: Option<&NamedValues>| -> Vec<String> {
        features
            .iter()
            .map(|f| {
                v.and_then(|v| v.get(f))
                    .map_or_else(String::new, f64::to_string)
            })
            .collect()
    };
    out.extend(values(row.a.features.as_ref()));
    out.extend(values(row.b.features.as_ref()));
    out.extend(values(Some(&row.delta)));
    out.extend([opt(&row.prompt), opt(&row.a.text), opt(&row.b.text)]);
    out.extend([
        opt(&row.reviewer),
        row.meaningful.map_or_else(String::new, |b| b.to_string()),
        row.on_policy.map_or_else(String::new, |b| b.to_string()),
        opt(&row.note),
    ]);
    out
}

/// Writes a review sheet. `features` is the schema's feature order (CSV columns).
pub fn write_sheet<W: Write>(
    rows: &[SheetRow],
    features: &[String],
    format: SheetFormat,
    out: W,
) -> std::io::Result<()> {
    match format {
        SheetFormat::Jsonl => {
            let mut out = std::io::BufWriter::new(out);
            for row in rows {
                serde_json::to_writer(&mut out, row)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        }
        SheetFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(csv_header(features))
                .map_err(std::io::Error::other)?;
            for row in rows {
                w.write_record(csv_row(row, features))
                    .map_err(std::io::Error::other)?;
            }
            w.flush()
        }
    }
}

/// The verdict fields of one row of a filled sheet, as typed (validated for syntax only).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilledRow {
    /// 1-based line of the row in its file (the first line of a multi-line CSV record).
    pub line: u64,
    pub audit_id: String,
    pub comparison_id: String,
    pub dataset: Option<String>,
    pub reviewer: Option<String>,
    pub meaningful: Option<bool>,
    pub on_policy: Option<bool>,
    pub note: Option<String>,
}

/// Reads a boolean as a reviewer or a spreadsheet writes it: `true`/`false`, `yes`/`no`, `1`/`0`
/// (any case, surrounding spaces ignored). Empty is `Ok(None)`: not judged yet.
pub fn parse_bool(s: &str) -> Result<Option<bool>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Some(true)),
        "false" | "no" | "0" => Ok(Some(false)),
        _ => Err(format!("expected true or false, found '{t}'")),
    }
}

fn nonempty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

struct RowBuilder<'a> {
    file: &'a str,
    line: u64,
    row: FilledRow,
    ok: bool,
}

impl<'a> RowBuilder<'a> {
    fn new(file: &'a str, line: u64) -> Self {
        RowBuilder {
            file,
            line,
            row: FilledRow {
                line,
                ..FilledRow::default()
            },
            ok: true,
        }
    }

    fn problem(&mut self, problems: &mut Problems, field: &str, message: String) {
        self.ok = false;
        problems.push(Problem {
            file: self.file.to_string(),
            line: self.line,
            field: Some(field.to_string()),
            message,
        });
    }

    fn finish(mut self, problems: &mut Problems) -> Option<FilledRow> {
        if self.row.audit_id.is_empty() {
            self.problem(
                problems,
                "audit_id",
                "missing: every row needs the audit id the sampler wrote".into(),
            );
        }
        if self.row.comparison_id.is_empty() {
            self.problem(
                problems,
                "comparison_id",
                "missing: every row needs the comparison id the sampler wrote".into(),
            );
        }
        self.ok.then_some(self.row)
    }
}

fn read_jsonl<R: BufRead>(file: &str, reader: R, problems: &mut Problems) -> Vec<FilledRow> {
    let mut out = Vec::new();
    for (k, line) in reader.lines().enumerate() {
        let n = k as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                problems.push(Problem {
                    file: file.to_string(),
                    line: n,
                    field: None,
                    message: format!("cannot read the line: {e}"),
                });
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let mut b = RowBuilder::new(file, n);
        let text = if n == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(&line)
        } else {
            &line
        };
        let value: Value = match crate::ingest::strict_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem {
                    file: file.to_string(),
                    line: n,
                    field: None,
                    message: format!("not valid JSON: {e}"),
                });
                continue;
            }
        };
        let Some(obj) = value.as_object() else {
            problems.push(Problem {
                file: file.to_string(),
                line: n,
                field: None,
                message: "expected a JSON object per line".into(),
            });
            continue;
        };
        let text = |b: &mut RowBuilder, problems: &mut Problems, key: &str| -> Option<String> {
            match obj.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => nonempty(s),
                Some(Value::Number(x)) if key != "note" && key != "reviewer" => Some(x.to_string()),
                Some(other) => {
                    b.problem(problems, key, format!("expected a string, found {other}"));
                    None
                }
            }
        };
        let flag = |b: &mut RowBuilder, problems: &mut Problems, key: &str| -> Option<bool> {
            match obj.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::Bool(x)) => Some(*x),
                Some(Value::String(s)) => match parse_bool(s) {
                    Ok(x) => x,
                    Err(m) => {
                        b.problem(problems, key, m);
                        None
                    }
                },
                Some(other) => {
                    b.problem(
                        problems,
                        key,
                        format!("expected true or false, found {other}"),
                    );
                    None
                }
            }
        };
        b.row.audit_id = text(&mut b, problems, "audit_id").unwrap_or_default();
        b.row.comparison_id = text(&mut b, problems, "comparison_id").unwrap_or_default();
        b.row.dataset = text(&mut b, problems, "dataset");
        b.row.reviewer = text(&mut b, problems, "reviewer");
        b.row.meaningful = flag(&mut b, problems, "meaningful");
        b.row.on_policy = flag(&mut b, problems, "on_policy");
        b.row.note = match obj.get("note") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => nonempty(s),
            Some(other) => {
                b.problem(
                    problems,
                    "note",
                    format!("expected a string, found {other}"),
                );
                None
            }
        };
        if let Some(row) = b.finish(problems) {
            out.push(row);
        }
    }
    out
}

/// 1-based line of the record starting at `byte`. The csv crate's own line count is one short
/// after CRLF line ends (a record's position is taken before the `\n` of the previous record's
/// `\r\n` is consumed), and spreadsheets write CRLF; counting newlines in the bytes is exact.
fn line_of(bytes: &[u8], byte: u64) -> u64 {
    let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    while bytes.get(at).is_some_and(|b| *b == b'\r' || *b == b'\n') {
        at += 1;
    }
    bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

fn read_csv<R: Read>(file: &str, mut reader: R, problems: &mut Problems) -> Vec<FilledRow> {
    let mut out = Vec::new();
    // A review sheet holds a sample (hundreds of rows), so reading it whole is cheap and gives
    // exact line numbers.
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        problems.push(Problem {
            file: file.to_string(),
            line: 0,
            field: None,
            message: format!("cannot read the file: {e}"),
        });
        return out;
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[..]);
    let header: Vec<String> = match rdr.headers() {
        // A spreadsheet may prepend a byte-order mark to the first column name.
        Ok(h) => h
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
            .collect(),
        Err(e) => {
            problems.push(Problem {
                file: file.to_string(),
                line: 1,
                field: None,
                message: format!("cannot read the CSV header: {e}"),
            });
            return out;
        }
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut missing = Vec::new();
    for name in ["audit_id", "comparison_id", "meaningful", "on_policy"] {
        if col(name).is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        for name in missing {
            problems.push(Problem {
                file: file.to_string(),
                line: 1,
                field: Some(name.to_string()),
                message: "missing column: the header must keep the columns the sampler wrote"
                    .into(),
            });
        }
        return out;
    }
    let (audit, comparison) = (col("audit_id"), col("comparison_id"));
    let (dataset, reviewer, note) = (col("dataset"), col("reviewer"), col("note"));
    let (meaningful, on_policy) = (col("meaningful"), col("on_policy"));
    for record in rdr.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(&bytes, p.byte()));
                problems.push(Problem {
                    file: file.to_string(),
                    line,
                    field: None,
                    message: format!("not a valid CSV record: {e}"),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| line_of(&bytes, p.byte()));
        let mut b = RowBuilder::new(file, line);
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let flag = |b: &mut RowBuilder, problems: &mut Problems, i, key| match parse_bool(get(i)) {
            Ok(x) => x,
            Err(m) => {
                b.problem(problems, key, m);
                None
            }
        };
        b.row.audit_id = nonempty(get(audit)).unwrap_or_default();
        b.row.comparison_id = nonempty(get(comparison)).unwrap_or_default();
        b.row.dataset = nonempty(get(dataset));
        b.row.reviewer = nonempty(get(reviewer));
        b.row.note = nonempty(get(note));
        b.row.meaningful = flag(&mut b, problems, meaningful, "meaningful");
        b.row.on_policy = flag(&mut b, problems, on_policy, "on_policy");
        if let Some(row) = b.finish(problems) {
            out.push(row);
        }
    }
    out
}

/// Reads the verdict fields of a filled sheet; syntax problems go to `problems` (the rows with
/// problems are left out of the result).
pub fn read_sheet<R: Read>(
    file: &str,
    format: SheetFormat,
    reader: R,
    problems: &mut Problems,
) -> Vec<FilledRow> {
    match format {
        SheetFormat::Jsonl => read_jsonl(file, BufReader::new(reader), problems),
        SheetFormat::Csv => read_csv(file, reader, problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> SheetRow {
        let named = |v: &[f64]| {
            NamedValues(
                ["length", "refusal"]
                    .iter()
                    .map(|s| s.to_string())
                    .zip(v.iter().copied())
                    .collect(),
            )
        };
        SheetRow {
            audit_id: "audit-1".into(),
            dataset: "d@1".into(),
            comparison_id: "c-1".into(),
            bucket: "b".into(),
            selected_by: Selection::WeakestDirection,
            rank: 1,
            alignment: 0.5,
            reason: "rank 1".into(),
            prompt: Some("line one\nline two, \"quoted\"".into()),
            a: SheetSide {
                intervention: Some("shorten".into()),
                text: Some("A".into()),
                features: Some(named(&[1.0, 0.0])),
            },
            b: SheetSide {
                intervention: None,
                text: None,
                features: Some(named(&[0.5, 1.0])),
            },
            delta: named(&[0.5, -1.0]),
            reviewer: None,
            meaningful: None,
            on_policy: None,
            note: None,
        }
    }

    #[test]
    fn csv_round_trip_keeps_lines_of_multiline_records() {
        let features = vec!["length".to_string(), "refusal".to_string()];
        let mut filled = row();
        filled.comparison_id = "c-2".into();
        filled.reviewer = Some("ann".into());
        filled.meaningful = Some(true);
        filled.on_policy = Some(false);
        let mut buf = Vec::new();
        write_sheet(&[row(), filled], &features, SheetFormat::Csv, &mut buf).unwrap();
        let mut problems = Problems::default();
        let rows = read_sheet("s.csv", SheetFormat::Csv, &buf[..], &mut problems);
        assert!(problems.is_empty(), "{problems}");
        assert_eq!(rows.len(), 2);
        // The header is line 1 and the first record spans lines 2–3 (its prompt has a newline).
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[0].meaningful, None);
        assert_eq!(rows[1].reviewer.as_deref(), Some("ann"));
        assert_eq!(rows[1].meaningful, Some(true));
        assert_eq!(rows[1].on_policy, Some(false));
    }

    #[test]
    fn csv_lines_are_exact_with_crlf() {
        let text = "audit_id,comparison_id,meaningful,on_policy\r\na,x,true,\r\n\r\na,\"y\r\nz\",maybe,true\r\n";
        let mut problems = Problems::default();
        let rows = read_sheet("s.csv", SheetFormat::Csv, text.as_bytes(), &mut problems);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        let shown: Vec<String> = problems.shown.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            vec!["s.csv:4: meaningful: expected true or false, found 'maybe'"]
        );
    }

    #[test]
    fn jsonl_problems_name_line_and_field() {
        let text = "{\"audit_id\":\"audit-1\",\"comparison_id\":\"c\",\"meaningful\":\"maybe\"}\n\n[1]\n{\"comparison_id\":\"c\",\"on_policy\":3}\n";
        let mut problems = Problems::default();
        let rows = read_sheet(
            "v.jsonl",
            SheetFormat::Jsonl,
            text.as_bytes(),
            &mut problems,
        );
        assert!(rows.is_empty());
        let shown: Vec<String> = problems.shown.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "v.jsonl:1: meaningful: expected true or false, found 'maybe'",
                "v.jsonl:3: expected a JSON object per line",
                "v.jsonl:4: on_policy: expected true or false, found 3",
                "v.jsonl:4: audit_id: missing: every row needs the audit id the sampler wrote",
            ]
        );
    }

    #[test]
    fn booleans_as_people_type_them() {
        assert_eq!(parse_bool(" TRUE "), Ok(Some(true)));
        assert_eq!(parse_bool("no"), Ok(Some(false)));
        assert_eq!(parse_bool("0"), Ok(Some(false)));
        assert_eq!(parse_bool(""), Ok(None));
        assert!(parse_bool("y").is_err());
    }
}
