//! Text-pair records (`{"prompt","chosen","rejected"}` and the other shapes `textmap::pairs`
//! accepts), turned into per-side features by a built-in, versioned feature map, followed by the
//! line's own per-side features (`chosen_features`/`rejected_features`, `a_features`/`b_features`).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::{RawFeatures, RawLabel, RawRecord};
use super::{ImportError, Input, Validator};
use crate::textmap::{FeatureMap, PairOptions, parse_pair};

/// How the pairs are written: one JSON object per line, or CSV columns named like its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairSyntax {
    Jsonl,
    Csv,
}

impl PairSyntax {
    /// CSV columns when the file name says so; JSON Lines otherwise (standard input too).
    pub(crate) fn of(file: &str) -> PairSyntax {
        if super::infer_format(file) == Some(super::InputFormat::Csv) {
            PairSyntax::Csv
        } else {
            PairSyntax::Jsonl
        }
    }
}

/// The keys a text-pair record may carry besides its bucket and group fields.
const PAIR_KEYS: &[&str] = &[
    "id",
    "prompt",
    "chosen",
    "rejected",
    "response_a",
    "response_b",
    "label",
    "chosen_features",
    "rejected_features",
    "a_features",
    "b_features",
    "a_intervention",
    "b_intervention",
    "chosen_rating",
    "rejected_rating",
    "score_chosen",
    "score_rejected",
    "input",
    "preferred_output",
    "non_preferred_output",
    "conversations",
];

/// The bucket and group fields, and whether the user named them (a named field that no record
/// carries is a typo, not a file without buckets).
#[derive(Debug, Clone)]
pub(crate) struct PairFields {
    pub options: PairOptions,
    pub bucket_named: bool,
    pub group_named: bool,
}

/// What the records said about their keys, for the checks made once the file is read.
#[derive(Default)]
struct KeyUse {
    bucket_seen: bool,
    group_seen: bool,
    unknown: BTreeSet<String>,
    first_keys: Option<Vec<String>>,
}

impl KeyUse {
    fn observe(&mut self, object: &Map<String, Value>, options: &PairOptions) {
        let named = |f: &Option<String>| f.as_deref().is_some_and(|f| object.contains_key(f));
        self.bucket_seen |= named(&options.bucket_field);
        self.group_seen |= named(&options.group_field);
        if self.first_keys.is_none() {
            self.first_keys = Some(object.keys().cloned().collect());
        }
        for key in object.keys() {
            let known = PAIR_KEYS.contains(&key.as_str())
                || options.bucket_field.as_deref() == Some(key)
                || options.group_field.as_deref() == Some(key);
            // Bounded: a file with a new key per line gets a list, not unbounded memory.
            if !known && self.unknown.len() < 64 {
                self.unknown.insert(key.clone());
            }
        }
    }

    /// A named field no record has is a problem; unknown keys are one warning.
    fn report(self, fields: &PairFields, v: &mut Validator<'_>) {
        let first = self.first_keys.unwrap_or_default().join(", ");
        for (named, seen, flag, field) in [
            (
                fields.bucket_named,
                self.bucket_seen,
                "--bucket-field",
                &fields.options.bucket_field,
            ),
            (
                fields.group_named,
                self.group_seen,
                "--group-field",
                &fields.options.group_field,
            ),
        ] {
            if let (true, false, Some(field)) = (named, seen, field) {
                v.problem(
                    0,
                    Some(flag),
                    format!(
                        "no record has the field '{field}' (the first record's fields: {first})"
                    ),
                );
            }
        }
        if !self.unknown.is_empty() {
            let keys: Vec<&str> = self.unknown.iter().map(String::as_str).collect();
            v.warn(format!(
                "{}: ignored field{} not read by the text-pair layouts: {} (name a bucket or group field with --bucket-field / --group-field)",
                v.file,
                if keys.len() == 1 { "" } else { "s" },
                keys.join(", ")
            ));
        }
    }
}

pub(crate) fn read<'a>(
    input: Input,
    fields: &PairFields,
    map: FeatureMap,
    v: &mut Validator<'a>,
    emit: &mut dyn FnMut(&mut Validator<'a>, u64, RawRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let options = &fields.options;
    let mut keys = KeyUse::default();
    v.set_feature_map(map.name());
    let map_names = map.feature_names();
    // The schema's names for the last user-feature layout seen: the map's features, then the
    // line's own. Shared between lines with the same layout so validation maps it once.
    let mut layout: (Vec<String>, Arc<[String]>) = (Vec::new(), schema_names(map_names, &[]));
    // One pair of one line; `position` is set for a pair expanded from candidate lists.
    let mut record = |v: &mut Validator<'a>,
                      line: u64,
                      obj: &Map<String, Value>,
                      position: Option<&str>|
     -> Result<(), ImportError> {
        let id_field = v.id_field() != "id";
        let pair = match parse_pair(obj, options) {
            Ok(pair) => pair,
            Err(issues) => {
                for i in issues {
                    v.problem(line, Some(&i.field), i.message);
                }
                return Ok(());
            }
        };
        v.pairs += 1;
        v.conversational_pairs += u64::from(pair.conversational);
        let user = pair.user_features;
        let clashes: Vec<&String> = user
            .names
            .iter()
            .filter(|n| map_names.contains(&n.as_str()))
            .collect();
        if !clashes.is_empty() {
            for name in clashes {
                v.problem(
                    line,
                    Some(&format!("{}.{name}", user.keys[0])),
                    format!(
                        "'{name}' is a feature of the map {}: rename your feature",
                        map.name()
                    ),
                );
            }
            return Ok(());
        }
        if layout.0 != user.names {
            layout = (user.names.clone(), schema_names(map_names, &user.names));
        }
        let width = layout.1.len();
        let mut a = Vec::with_capacity(width);
        map.features_into(&pair.prompt, &pair.response_a, &mut a);
        a.extend_from_slice(&user.a);
        let mut b = Vec::with_capacity(width);
        map.features_into(&pair.prompt, &pair.response_b, &mut b);
        b.extend_from_slice(&user.b);
        // The layout's keys even when the line has no features of its own, so that a feature
        // missing here is reported under the key it belongs in.
        let fields = user.keys;
        let raw = RawRecord {
            // Public pair files often carry no id: the line number is stable for a given file.
            // A field named by --id-from must be there; `line`/`content` ids are set by the
            // validator. An expanded pair's id and group carry its list positions.
            id: match (id_field, pair.id, position) {
                (true, None, _) => None,
                (_, id, None) => Some(id.unwrap_or_else(|| format!("line-{line}"))),
                (_, id, Some(p)) => Some(format!(
                    "{}-{p}",
                    id.unwrap_or_else(|| format!("line-{line}"))
                )),
            },
            bucket: pair.bucket,
            group: pair.group.or_else(|| position.map(str::to_string)),
            prompt_id: None,
            label: match pair.label {
                Some(1) => RawLabel::One,
                Some(_) => RawLabel::Zero,
                // Equal ratings: dropped and counted with --drop-ties, refused otherwise.
                None => RawLabel::Tie,
            },
            labeler: None,
            a_intervention: pair.a_intervention,
            b_intervention: pair.b_intervention,
            features: RawFeatures::Sides {
                names: layout.1.clone(),
                fields,
                a,
                b,
            },
            prompt: Some(pair.prompt),
            a_text: Some(pair.response_a),
            b_text: Some(pair.response_b),
        };
        emit(v, line, raw)
    };
    let handle = |v: &mut Validator<'a>, line: u64, mut obj: Map<String, Value>| {
        if v.id_field() != "id" {
            // `--id-from FIELD`: that field is the id (and a record without it has none).
            let field = v.id_field().to_string();
            match obj.remove(&field) {
                Some(value) => obj.insert("id".into(), value),
                None => obj.remove("id"),
            };
        }
        keys.observe(&obj, options);
        match candidate_lists(&obj) {
            None => record(v, line, &obj, None),
            Some((chosen, rejected)) if chosen.len() * rejected.len() > MAX_EXPANDED => {
                v.problem(
                    line,
                    Some("chosen"),
                    format!(
                        "{} chosen × {} rejected candidates: at most {MAX_EXPANDED} pairs per record",
                        chosen.len(),
                        rejected.len()
                    ),
                );
                Ok(())
            }
            Some((chosen, rejected)) => {
                let mut one = obj.clone();
                for (i, c) in chosen.iter().enumerate() {
                    for (j, r) in rejected.iter().enumerate() {
                        one.insert("chosen".into(), c.clone());
                        one.insert("rejected".into(), r.clone());
                        record(v, line, &one, Some(&format!("c{i}-r{j}")))?;
                    }
                }
                Ok(())
            }
        }
    };
    let csv = PairSyntax::of(&v.file) == PairSyntax::Csv;
    super::for_each_object(input, csv, v, handle)?;
    keys.report(fields, v);
    Ok(())
}

/// The most pairs one record's candidate lists may expand into.
const MAX_EXPANDED: usize = 1024;

/// List-of-candidates layouts (RM-Bench, RewardBench 2): `chosen` and `rejected` as non-empty
/// lists of response strings, expanded into every chosen × rejected pair. (Lists of messages are
/// conversational sides, not candidates.)
fn candidate_lists(obj: &Map<String, Value>) -> Option<(Vec<Value>, Vec<Value>)> {
    let strings = |key: &str| match obj.get(key) {
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
            Some(items.clone())
        }
        _ => None,
    };
    Some((strings("chosen")?, strings("rejected")?))
}

fn schema_names(map_names: &[&str], user_names: &[String]) -> Arc<[String]> {
    map_names
        .iter()
        .map(|s| s.to_string())
        .chain(user_names.iter().cloned())
        .collect()
}
