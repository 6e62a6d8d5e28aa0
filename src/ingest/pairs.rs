//! Text-pair records (`{"prompt","chosen","rejected"}` and the other shapes `textmap::pairs`
//! accepts), turned into per-side features by a built-in, versioned feature map.

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
    let names: Vec<String> = map.feature_names().iter().map(|s| s.to_string()).collect();
    v.declare_features(&names);
    let names_len = names.len();
    let shared: Arc<[String]> = names.into();
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
        let mut a = Vec::with_capacity(names_len);
        map.features_into(&pair.prompt, &pair.response_a, &mut a);
        let mut b = Vec::with_capacity(names_len);
        map.features_into(&pair.prompt, &pair.response_b, &mut b);
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
                names: shared.clone(),
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
