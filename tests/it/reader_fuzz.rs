//! Property tests over every reader a user can feed: arbitrary bytes and arbitrary structured
//! records for JSONL, CSV, text pairs and gzip imports, candidate files, review sheets, instance
//! files, keys, signatures, attestations and registry checkpoints. Each must return a value or a
//! clear error (never panic), and a failed import or recording must write nothing. (Policies have
//! their own in `policy_fuzz`.)

use std::collections::HashMap;
use std::io::{Cursor, Write as _};

use overlap::ingest::{self, ImportOptions, InputFormat};
use overlap::report::signing::{self, PredicateType};
use overlap::storage::{NewVersion, Store};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const META: NewVersion<'static> = NewVersion {
    note: None,
    source: None,
    actor: "fuzz",
    now: "2026-01-01T00:00:00Z",
};

/// Imports `bytes` into a fresh in-memory store; on failure the store must hold nothing.
fn import_bytes(bytes: Vec<u8>, format: InputFormat) {
    let mut store = Store::in_memory().expect("store");
    let input: Box<dyn std::io::BufRead + Send> = Box::new(Cursor::new(bytes));
    let opts = ImportOptions::new(format);
    let result = ingest::import(
        &mut store,
        "fuzz",
        "fuzz.input",
        ingest::Input::Stream(input),
        &opts,
        &HashMap::new(),
        &META,
        None,
        &|_| {},
    );
    let datasets = store.datasets().expect("list");
    match result {
        Ok(report) => {
            assert_eq!(datasets.len(), 1);
            assert_eq!(datasets[0].latest.n, report.rows);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(datasets.is_empty(), "a failed import wrote a version: {e}");
        }
    }
}

/// JSON values of every type, nested a little, with the numbers and strings that break readers
/// (huge, tiny, negative zero, control characters, bidi overrides).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            any::<f64>().prop_filter("finite", |x| x.is_finite()),
            Just(1.7e308),
            Just(-1.7e308),
            Just(5e-324),
            Just(-0.0),
        ]
        .prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        Just(Value::from("b\u{1b}[2J\u{202e}\n")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
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
            "features",
            "intervention",
            "text",
            "len",
            "tone",
            "chosen",
            "rejected",
        ])
        .prop_map(str::to_owned),
        "[a-z.]{1,6}",
    ]
}

/// A record shaped like a comparison with any field replaced by any value, or dropped.
fn comparison_record() -> impl Strategy<Value = Value> {
    let base = json!({
        "id": "r", "bucket": "b", "label": 1,
        "a": {"features": {"len": 1.0, "tone": 0.0}},
        "b": {"features": {"len": 2.0, "tone": 1.0}},
    });
    (
        prop::collection::vec((field_name(), prop::option::of(json_value())), 0..4),
        0u32..1000,
    )
        .prop_map(move |(edits, n)| {
            let mut record = base.clone();
            record["id"] = Value::from(format!("r{n}"));
            let obj = record.as_object_mut().expect("object");
            for (k, v) in edits {
                match v {
                    Some(v) => {
                        obj.insert(k, v);
                    }
                    None => {
                        obj.remove(&k);
                    }
                }
            }
            record
        })
}

fn to_jsonl(records: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend(serde_json::to_vec(r).expect("encode"));
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("compress");
    gz.finish().expect("finish")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic_any_import_reader(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        format in prop::sample::select(vec![InputFormat::Jsonl, InputFormat::Csv, InputFormat::Pairs]),
    ) {
        import_bytes(bytes, format);
    }

    #[test]
    fn arbitrary_structured_records_never_panic_and_failures_write_nothing(
        records in prop::collection::vec(comparison_record(), 1..6),
    ) {
        import_bytes(to_jsonl(&records), InputFormat::Jsonl);
        import_bytes(to_jsonl(&records), InputFormat::Pairs);
    }

    #[test]
    fn arbitrary_csv_cells_never_panic(
        cells in prop::collection::vec(prop::collection::vec("[^\n]{0,6}|1|0|-1e308|1.7e308", 6), 1..5),
    ) {
        let mut text = String::from("id,label,a.len,a.tone,b.len,b.tone\n");
        for row in cells {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        import_bytes(text.into_bytes(), InputFormat::Csv);
    }

    /// Truncated or corrupted gzip of a valid file: read errors are errors, never panics.
    #[test]
    fn damaged_gzip_never_panics(cut in 0usize..200, flip in any::<prop::sample::Index>()) {
        let records: Vec<Value> = (0..20)
            .map(|i| json!({"id": format!("g{i}"), "label": i % 2, "delta": {"x": i as f64}}))
            .collect();
        let mut packed = gzip(&to_jsonl(&records));
        let at = flip.index(packed.len());
        packed[at] ^= 0x5a;
        packed.truncate(packed.len().saturating_sub(cut));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.jsonl.gz");
        std::fs::write(&path, &packed).expect("write");
        if let Ok(input) = ingest::open_input(path.to_str().expect("utf-8 path")) {
            let mut store = Store::in_memory().expect("store");
            let opts = ImportOptions::new(InputFormat::Jsonl);
            let r = ingest::import(&mut store, "gz", "in.jsonl.gz", ingest::Input::Stream(input), &opts, &HashMap::new(), &META, None, &|_| {});
            if r.is_err() {
                prop_assert!(store.datasets().expect("list").is_empty());
            }
        }
    }

    /// Damaged Parquet files (a byte flipped, the end cut): detection and both readers give
    /// errors, never panics (the import's parser thread would turn one into "panicked").
    #[cfg(feature = "parquet")]
    #[test]
    fn damaged_parquet_never_panics(
        which in 0usize..2,
        cut in 0usize..64,
        flip in any::<prop::sample::Index>(),
        byte in 1u8..,
    ) {
        let fixture = ["records.parquet", "hf/data/train-00000-of-00002.parquet"][which];
        let original = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parquet").join(fixture),
        )
        .expect("read the fixture");
        let mut bytes = original.clone();
        let at = flip.index(bytes.len());
        bytes[at] ^= byte;
        bytes.truncate(bytes.len().saturating_sub(cut));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.parquet");
        std::fs::write(&path, &bytes).expect("write");
        let path = path.to_str().expect("utf-8 path");
        let _ = ingest::detect(path, None);
        for format in [InputFormat::Jsonl, InputFormat::Pairs] {
            let Ok(input) = ingest::Input::open(path, None) else { continue };
            let mut store = Store::in_memory().expect("store");
            let opts = ImportOptions::new(format);
            let r = ingest::import(&mut store, "pq", path, input, &opts, &HashMap::new(), &META, None, &|_| {});
            if let Err(e) = r {
                prop_assert!(!e.to_string().contains("panicked"), "{e}");
                prop_assert!(store.datasets().expect("list").is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_candidates_never_panic(records in prop::collection::vec(comparison_record(), 1..5)) {
        let schema = overlap::model::FeatureSchema {
            features: vec!["len".into(), "tone".into()],
            scales: vec![1.0, 1.0],
            scale_source: overlap::model::ScaleSource::Unit,
            feature_map: None,
        };
        let input: Box<dyn std::io::BufRead + Send> = Box::new(Cursor::new(to_jsonl(&records)));
        let _ = ingest::read_candidates("c.jsonl", input, InputFormat::Jsonl, &schema, &HashMap::new());
    }

    /// Review sheets (JSONL and CSV) on a store without the audits they name: always a clear
    /// error, never a verdict written.
    #[test]
    fn arbitrary_review_sheets_never_panic_and_record_nothing(
        records in prop::collection::vec(prop::collection::vec((field_name(), json_value()), 0..6), 0..4),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        csv in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::in_memory().expect("store");
        let structured: Vec<Value> = records
            .into_iter()
            .map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
            .collect();
        for (name, content) in [("s.jsonl", to_jsonl(&structured)), (if csv { "b.csv" } else { "b.jsonl" }, bytes.clone())] {
            let path = dir.path().join(name);
            std::fs::write(&path, &content).expect("write");
            let r = overlap::audit::record_sheet(&mut store, path.to_str().expect("utf-8"), Some("rev"), META.now, "fuzz");
            prop_assert!(r.is_err(), "recorded verdicts against no audit");
        }
    }

    #[test]
    fn arbitrary_instance_files_never_panic(value in json_value(), bytes in "\\PC{0,64}") {
        let _ = overlap::design::instance::parse_instance(&value.to_string());
        let _ = overlap::design::instance::parse_instance(&bytes);
    }

    /// Keys, signatures, attestations and checkpoints: arbitrary text never verifies and never
    /// panics; a changed byte of a valid one never verifies.
    #[test]
    fn signing_readers_fail_closed(text in "\\PC{0,200}", at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        prop_assert!(signing::parse_public_key(&text).is_err());
        prop_assert!(signing::parse_secret_key(&text).is_err());
        let pair = fixed_pair();
        let report = b"# report\n".to_vec();
        let sig = signing::sign_report(&report, &pair.secret, &signing::SignedMeta {
            dataset_digest: "ab".repeat(32),
            policy_digest: None,
            tool_version: "0.1.0".into(),
        }).expect("sign");
        let att = signing::attest("r.md", &report, ("dataset:d@1", &"ab".repeat(32)), PredicateType::NutritionLabel, json!({}), &pair.secret).expect("attest");
        let checkpoint = signing::sign_checkpoint(3, &"cd".repeat(32), &pair.secret);
        let public = pair.public.to_text();
        prop_assert!(signing::verify(&report, &public, Some(&text), None).is_err());
        prop_assert!(signing::verify(&report, &public, None, Some(&text)).is_err());
        prop_assert!(signing::verify_checkpoint(&text, &pair.public).is_err());
        for original in [&sig, &att, &checkpoint] {
            let mut changed = original.as_bytes().to_vec();
            let i = at.index(changed.len());
            if changed[i] == byte {
                continue;
            }
            changed[i] = byte;
            let Ok(changed) = String::from_utf8(changed) else { continue };
            prop_assert!(signing::verify(&report, &public, Some(&changed), None).is_err());
            prop_assert!(signing::verify(&report, &public, None, Some(&changed)).is_err());
            prop_assert!(signing::verify_checkpoint(&changed, &pair.public).is_err());
        }
    }
}

/// One key pair for every case (generating is the slow part of signing).
fn fixed_pair() -> &'static signing::KeyPair {
    static PAIR: std::sync::OnceLock<signing::KeyPair> = std::sync::OnceLock::new();
    PAIR.get_or_init(|| signing::generate_key_pair().expect("key pair"))
}
