//! Boundary tests of `overlap::textmap`: the public API on small fixtures, the agreement of
//! `docs/features.md` with the code, and the real HH-RLHF harmless-base test file
//! (the split is in `tests/data/hh-rlhf`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;
use overlap::textmap::text_v1::{self, FEATURE_COUNT, FEATURE_NAMES, MAP_NAME};
use overlap::textmap::text_v2;
use overlap::textmap::{FeatureMap, PairOptions, TextPair, parse_pair};
use serde_json::Value;

const HH_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz"
);
const FEATURES_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/features.md");

fn index(name: &str) -> usize {
    FEATURE_NAMES
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("no feature {name}"))
}

fn parse_line(line: &str) -> Result<TextPair, Vec<overlap::textmap::FieldIssue>> {
    let value: Value = serde_json::from_str(line).expect("fixture is valid json");
    let object = value.as_object().expect("fixture is an object");
    parse_pair(object, &PairOptions::default())
}

#[test]
fn map_identity() {
    assert_eq!(MAP_NAME, "text-v1");
    assert_eq!(FEATURE_NAMES.len(), FEATURE_COUNT);
    assert_eq!(text_v2::MAP_NAME, "text-v2");
    assert_eq!(text_v2::FEATURE_NAMES.len(), text_v2::FEATURE_COUNT);
    assert_eq!(FeatureMap::default(), FeatureMap::TextV2);
    assert_eq!(FeatureMap::from_name("text-v1"), Ok(FeatureMap::TextV1));
    let unknown = FeatureMap::from_name("text-v9").expect_err("not a map");
    assert_eq!(
        unknown.to_string(),
        "unknown feature map 'text-v9' (available: text-v1, text-v2)"
    );
}

#[test]
fn a_pair_end_to_end() {
    let pair = parse_line(
        r#"{"id": "c-1", "bucket": "self-harm", "prompt": [{"role": "user", "content": "How?"}],
            "chosen": [{"role": "assistant", "content": "I’m sorry, I can’t help with that. Please seek professional help."}],
            "rejected": [{"role": "assistant", "content": "Sure:\n1. First step\n2. Second step"}]}"#,
    )
    .expect("valid pair");
    assert_eq!(pair.label, Some(1));
    let a = text_v1::features(&pair.prompt, &pair.response_a);
    let b = text_v1::features(&pair.prompt, &pair.response_b);
    let delta: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    assert!(delta[index("refusal")] > 0.0);
    assert!(delta[index("apology")] > 0.0);
    assert!(delta[index("disclaimer")] > 0.0);
    assert!(delta[index("list_items")] < 0.0);
    assert_eq!(delta[index("code_blocks")], 0.0);
}

/// The names in the first table after `### Features` in the section of docs/features.md headed
/// `heading`.
fn documented_features<'d>(doc: &'d str, heading: &str) -> Vec<&'d str> {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/features.md has no section {heading}"));
    let table = section
        .split("### Features")
        .nth(1)
        .unwrap_or_else(|| panic!("section {heading} has no feature table"));
    table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect()
}

/// The feature tables in docs/features.md list exactly each map's features, in order.
#[test]
fn docs_table_matches_feature_names() {
    let doc = std::fs::read_to_string(FEATURES_DOC).expect("docs/features.md exists");
    assert_eq!(documented_features(&doc, "`text-v1`"), FEATURE_NAMES);
    assert_eq!(
        documented_features(&doc, "`text-v2`"),
        text_v2::FEATURE_NAMES
    );
    assert!(
        doc.contains("text-v3"),
        "the doc must state the versioning rule"
    );
}

#[derive(Default)]
struct Totals {
    sum: [f64; FEATURE_COUNT],
    nonzero: [usize; FEATURE_COUNT],
}

impl Totals {
    fn add(&mut self, values: &[f64; FEATURE_COUNT]) {
        for (i, v) in values.iter().enumerate() {
            self.sum[i] += v;
            if *v != 0.0 {
                self.nonzero[i] += 1;
            }
        }
    }
}

#[test]
fn hh_rlhf_harmless_test() {
    let path = Path::new(HH_PATH);
    assert!(path.exists(), "{HH_PATH} is missing from the checkout");
    let reader = BufReader::new(GzDecoder::new(File::open(path).expect("open data")));
    let (refusal, log_chars) = (index("refusal"), index("log_chars"));
    let mut lines = 0;
    let mut failed_lines = Vec::new();
    let mut pairs = 0usize;
    let mut chosen_longer = 0usize;
    let mut refusal_higher_on_chosen = 0usize;
    let mut refusal_higher_on_rejected = 0usize;
    let (mut chosen_totals, mut rejected_totals) = (Totals::default(), Totals::default());
    for (number, line) in reader.lines().enumerate() {
        let line = line.expect("read line");
        lines += 1;
        let pair = match parse_line(&line) {
            Ok(pair) => pair,
            Err(issues) => {
                failed_lines.push((number + 1, issues));
                continue;
            }
        };
        pairs += 1;
        assert_eq!(pair.label, Some(1));
        assert!(pair.prompt.starts_with("Human:"), "line {}", number + 1);
        let a = text_v1::features(&pair.prompt, &pair.response_a);
        let b = text_v1::features(&pair.prompt, &pair.response_b);
        assert!(
            a.iter().chain(&b).all(|v| v.is_finite() && *v >= 0.0),
            "line {}",
            number + 1
        );
        if pair.response_a.chars().count() > pair.response_b.chars().count() {
            chosen_longer += 1;
            assert!(a[log_chars] > b[log_chars]);
        }
        if a[refusal] > b[refusal] {
            refusal_higher_on_chosen += 1;
        } else if a[refusal] < b[refusal] {
            refusal_higher_on_rejected += 1;
        }
        chosen_totals.add(&a);
        rejected_totals.add(&b);
    }
    assert_eq!(lines, 2312);
    // Every line parses, including the four whose final chosen turn is empty (an empty response).
    assert!(failed_lines.is_empty(), "{failed_lines:?}");
    assert_eq!(pairs, 2312);
    let share_longer = chosen_longer as f64 / pairs as f64;
    eprintln!(
        "hh-rlhf harmless test: {lines} lines, {pairs} pairs, failed lines {failed_lines:?}; \
         chosen longer in {:.1}%; refusal higher on chosen {refusal_higher_on_chosen} vs on \
         rejected {refusal_higher_on_rejected}",
        100.0 * share_longer
    );
    eprintln!("feature        mean(chosen) mean(rejected) nonzero(chosen) nonzero(rejected)");
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        eprintln!(
            "{name:<14} {:>12.4} {:>14.4} {:>15} {:>17}",
            chosen_totals.sum[i] / pairs as f64,
            rejected_totals.sum[i] / pairs as f64,
            chosen_totals.nonzero[i],
            rejected_totals.nonzero[i]
        );
    }
    assert!((0.35..=0.55).contains(&share_longer), "{share_longer}");
    assert!(refusal_higher_on_chosen > refusal_higher_on_rejected);
}

/// `text-v1` is frozen: the SHA-256 of every feature value (f64 bits, little-endian; side a then
/// side b, line by line) of the HH-RLHF harmless test file, computed before any later map shared
/// its code. A refactor that changes one bit of one value of `text-v1` fails here.
#[test]
fn text_v1_values_on_hh_are_pinned() {
    use sha2::{Digest, Sha256};
    let path = Path::new(HH_PATH);
    assert!(path.exists(), "{HH_PATH} is missing from the checkout");
    let reader = BufReader::new(GzDecoder::new(File::open(path).expect("open data")));
    let mut hasher = Sha256::new();
    for line in reader.lines() {
        let pair = parse_line(&line.expect("read line")).expect("every HH line parses");
        for response in [&pair.response_a, &pair.response_b] {
            for value in text_v1::features(&pair.prompt, response) {
                hasher.update(value.to_bits().to_le_bytes());
            }
        }
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, TEXT_V1_HH_DIGEST);
}

const TEXT_V1_HH_DIGEST: &str = "d8b546d94f68f83ac5f9bb7d8d24556ce4302508efef549a9cfc91b025877c9f";

/// Δφ = φ(chosen) − φ(rejected) of `text-v2` on every HH-RLHF pair (always `Some`: the split is
/// in the repository).
fn hh_text_v2_deltas() -> Option<Vec<[f64; text_v2::FEATURE_COUNT]>> {
    let path = Path::new(HH_PATH);
    assert!(path.exists(), "{HH_PATH} is missing from the checkout");
    let reader = BufReader::new(GzDecoder::new(File::open(path).expect("open data")));
    let deltas = reader
        .lines()
        .map(|line| {
            let pair = parse_line(&line.expect("read line")).expect("every HH line parses");
            let a = text_v2::features(&pair.prompt, &pair.response_a);
            let b = text_v2::features(&pair.prompt, &pair.response_b);
            std::array::from_fn(|j| a[j] - b[j])
        })
        .collect();
    Some(deltas)
}

/// Pearson correlation of columns i and j; `None` when either column is constant.
fn pearson(rows: &[[f64; text_v2::FEATURE_COUNT]], i: usize, j: usize) -> Option<f64> {
    let n = rows.len() as f64;
    let mean = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>() / n;
    let (mi, mj) = (mean(i), mean(j));
    let (mut sij, mut sii, mut sjj) = (0.0, 0.0, 0.0);
    for r in rows {
        let (x, y) = (r[i] - mi, r[j] - mj);
        sij += x * y;
        sii += x * x;
        sjj += y * y;
    }
    (sii > 0.0 && sjj > 0.0).then(|| sij / (sii * sjj).sqrt())
}

/// The measurement behind the support and correlation tables of docs/features.md (print them with
/// `cargo test --test textmap text_v2_on_hh -- --nocapture`): `text-v2` has no built-in
/// collinearity on real data, and HH-RLHF harmless never varies `headings` or `code_blocks`.
#[test]
fn text_v2_on_hh_has_no_pair_above_0_9() {
    let Some(deltas) = hh_text_v2_deltas() else {
        return;
    };
    assert_eq!(deltas.len(), 2312);
    let names = text_v2::FEATURE_NAMES;
    let support: Vec<usize> = (0..names.len())
        .map(|j| deltas.iter().filter(|d| d[j] != 0.0).count())
        .collect();
    eprintln!("| feature | support |\n|---|---:|");
    for (name, s) in names.iter().zip(&support) {
        eprintln!("| `{name}` | {s} |");
    }
    eprintln!(
        "\n| Δφ | {} |\n|---|{}",
        names.join(" | "),
        "---:|".repeat(names.len())
    );
    let mut worst = (0.0f64, "", "");
    for i in 0..names.len() {
        let row: Vec<String> = (0..names.len())
            .map(|j| pearson(&deltas, i, j).map_or("—".to_string(), |r| format!("{r:.3}")))
            .collect();
        eprintln!("| `{}` | {} |", names[i], row.join(" | "));
        for j in 0..i {
            if let Some(r) = pearson(&deltas, i, j) {
                if r.abs() > worst.0 {
                    worst = (r.abs(), names[j], names[i]);
                }
            }
        }
    }
    eprintln!("\nmax |r| = {:.3} ({}, {})", worst.0, worst.1, worst.2);
    assert!(
        worst.0 <= 0.9,
        "{} and {} correlate at |r| = {:.3} in Δφ",
        worst.1,
        worst.2,
        worst.0
    );
    for absent in ["headings", "code_blocks"] {
        let j = names.iter().position(|n| *n == absent).expect("feature");
        assert_eq!(support[j], 0, "{absent}");
    }
    // Every other feature varies somewhere in this file.
    let varying = support.iter().filter(|s| **s > 0).count();
    assert_eq!(varying, names.len() - 2);
}
