//! Text-pair records (`{"prompt","chosen","rejected"}` and the other shapes `textmap::pairs`
//! accepts), turned into per-side features by a built-in, versioned feature map, followed by the
//! line's own per-side features (`chosen_features`/`rejected_features`, `a_features`/`b_features`).

use std::io::BufRead;
use std::sync::Arc;

use super::jsonl::for_each_object;
use super::record::{RawFeatures, RawLabel, RawRecord};
use super::{ImportError, Validator};
use crate::textmap::{FeatureMap, PairOptions, parse_pair};

pub(crate) fn read<'a>(
    input: Box<dyn BufRead + Send>,
    options: &PairOptions,
    map: FeatureMap,
    v: &mut Validator<'a>,
    emit: &mut dyn FnMut(&mut Validator<'a>, u64, RawRecord) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    v.set_feature_map(map.name());
    let map_names = map.feature_names();
    // The schema's names for the last user-feature layout seen: the map's features, then the
    // line's own. Shared between lines with the same layout so validation maps it once.
    let mut layout: (Vec<String>, Arc<[String]>) = (Vec::new(), schema_names(map_names, &[]));
    for_each_object(input, v, |v, line, obj| {
        let pair = match parse_pair(&obj, options) {
            Ok(pair) => pair,
            Err(issues) => {
                for i in issues {
                    v.problem(line, Some(&i.field), i.message);
                }
                return Ok(());
            }
        };
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
            id: Some(pair.id.unwrap_or_else(|| format!("line-{line}"))),
            bucket: pair.bucket,
            group: pair.group,
            prompt_id: None,
            label: if pair.label == 1 {
                RawLabel::One
            } else {
                RawLabel::Zero
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
    })
}

fn schema_names(map_names: &[&str], user_names: &[String]) -> Arc<[String]> {
    map_names
        .iter()
        .map(|s| s.to_string())
        .chain(user_names.iter().cloned())
        .collect()
}
