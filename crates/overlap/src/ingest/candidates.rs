//! Unlabeled candidate pairs for `design next --candidates`: the import format (JSONL, CSV or text
//! pairs, gzip transparently) read and validated exactly as an import would, except that labels are
//! neither required nor kept.
//!
//! Entry point: [`read_candidates`]. Records are checked against a version's frozen schema and the
//! registry (features, interventions, duplicate ids) by the import's own `Validator`, and every
//! problem is collected with file, line and field. Nothing is written anywhere.

use std::collections::HashMap;
use std::io::{BufRead, Cursor, Read};

use super::record::{RawLabel, RawRecord};
use super::{
    ImportError, Input, InputFormat, InterventionState, Problems, Validator, check_schema_match,
    csv_input, jsonl, pairs,
};
use crate::model::{Comparison, FeatureSchema};
use crate::textmap::FeatureMap;

/// Reads every candidate of `input` in file order. The `label` of a returned comparison carries no
/// meaning (candidates are unlabeled); a label in the file is ignored.
pub fn read_candidates(
    file_label: &str,
    input: Box<dyn BufRead + Send>,
    format: InputFormat,
    schema: &FeatureSchema,
    interventions: &HashMap<String, InterventionState>,
) -> Result<Vec<Comparison>, ImportError> {
    let mut v = Validator::new(file_label, interventions, Some(schema.clone()), false);
    let mut out = Vec::new();
    let mut emit =
        |v: &mut Validator<'_>, line: u64, mut raw: RawRecord| -> Result<(), ImportError> {
            // The validator insists on a preference label; a candidate has none yet.
            raw.label = RawLabel::One;
            if let Some(c) = v.check(line, raw) {
                out.push(c);
            }
            Ok(())
        };
    match format {
        InputFormat::Jsonl => jsonl::read(Input::Stream(input), &mut v, &mut emit)?,
        InputFormat::Csv => {
            csv_input::read(with_label_column(file_label, input)?, &mut v, &mut emit)?
        }
        InputFormat::Pairs => {
            let fields = pairs::PairFields {
                options: crate::textmap::PairOptions::default(),
                bucket_named: false,
                group_named: false,
            };
            // Candidates are featurized by the version's own map; a version whose features do not
            // come from a built-in map gets the default, and `check_schema_match` says why not.
            let map = schema
                .feature_map
                .as_deref()
                .and_then(|name| FeatureMap::from_name(name).ok())
                .unwrap_or_default();
            pairs::read(Input::Stream(input), &fields, map, &mut v, &mut emit)?
        }
    }
    check_schema_match(&mut v, schema);
    if v.problems.is_empty() && out.is_empty() {
        return Err(ImportError::Invalid(Problems::single(
            file_label,
            "the candidate file holds no records",
        )));
    }
    if !v.problems.is_empty() {
        return Err(ImportError::Invalid(v.problems));
    }
    Ok(out)
}

/// The CSV reader requires a `label` column; an unlabeled candidate file gets an empty one
/// appended (rewritten through the csv crate, so quoting is preserved).
fn with_label_column(
    file_label: &str,
    mut input: Box<dyn BufRead + Send>,
) -> Result<Box<dyn BufRead + Send>, ImportError> {
    let io = |cause: std::io::Error| ImportError::Io {
        file: file_label.to_string(),
        cause,
    };
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(io)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let has_label = match reader.headers() {
        Ok(h) => h.iter().any(|c| c.trim() == "label"),
        // Let the import's reader report the malformed header with its usual message.
        Err(_) => true,
    };
    if has_label {
        return Ok(Box::new(Cursor::new(bytes)));
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error =
        |e: csv::Error| ImportError::Invalid(Problems::single(file_label, &e.to_string()));
    let mut header = reader.headers().map_err(csv_error)?.clone();
    header.push_field("label");
    out.write_record(&header).map_err(csv_error)?;
    for record in reader.records() {
        let mut record = record.map_err(csv_error)?;
        record.push_field("");
        out.write_record(&record).map_err(csv_error)?;
    }
    let rewritten = out
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    Ok(Box::new(Cursor::new(rewritten)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScaleSource;

    fn schema() -> FeatureSchema {
        FeatureSchema {
            features: vec!["length".into(), "refusal".into()],
            scales: vec![100.0, 1.0],
            scale_source: ScaleSource::Rms,
            feature_map: None,
        }
    }

    fn read(text: &str, format: InputFormat) -> Result<Vec<Comparison>, ImportError> {
        let registry: HashMap<String, InterventionState> = [
            ("shorten".to_string(), InterventionState::Active),
            ("old".to_string(), InterventionState::Retired),
        ]
        .into_iter()
        .collect();
        read_candidates(
            "cands",
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            format,
            &schema(),
            &registry,
        )
    }

    #[test]
    fn csv_candidates_need_no_label_column() {
        let text = "id,bucket,a.intervention,b.intervention,a.refusal,a.length,b.refusal,b.length\n\
                    c1,self-harm,shorten,,1,50,0,120\n\
                    c2,benign,,,0,80,1,60\n";
        let got = read(text, InputFormat::Csv).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].arm().as_str(), "baseline/shorten");
        // Values come back in schema order (length, refusal) whatever the column order.
        assert_eq!(got[0].values.delta(), vec![-70.0, 1.0]);
    }

    #[test]
    fn jsonl_candidates_are_validated_like_an_import() {
        let text = r#"{"id":"a","delta":{"length":1,"refusal":2}}
{"id":"a","delta":{"length":1,"refusal":2}}
{"id":"b","a":{"intervention":"old","features":{"length":1,"refusal":0}},"b":{"features":{"length":0,"refusal":0}}}
{"id":"c","delta":{"length":1}}
"#;
        let Err(ImportError::Invalid(problems)) = read(text, InputFormat::Jsonl) else {
            panic!("expected problems");
        };
        let all = problems.to_string();
        for needle in ["duplicate id 'a'", "retired", "missing feature(s): refusal"] {
            assert!(all.contains(needle), "{needle} not in {all}");
        }
        assert!(read("", InputFormat::Jsonl).is_err());
    }
}
