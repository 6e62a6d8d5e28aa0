//! Dataset import driven through the real binary: JSONL, CSV, gzip and stdin inputs; one digest for
//! the same content whatever its format; export round trips; unchanged re-imports; versions with
//! parents and frozen scales; `dataset diff`, `show` and `list` in JSON; `--scales`; `--drop-ties`.

use crate::common;

use common::{Env, assert_close, f, is_sha256_hex};
use serde_json::{Value, json};

const FEATURES: [&str; 3] = ["len", "tone", "code"];

/// One comparison, rendered identically as JSONL and as CSV by the helpers below.
#[derive(Debug, Clone)]
struct Rec {
    id: &'static str,
    bucket: Option<&'static str>,
    group: Option<&'static str>,
    prompt_id: Option<&'static str>,
    label: &'static str,
    labeler: Option<&'static str>,
    a_int: Option<&'static str>,
    b_int: Option<&'static str>,
    a: [f64; 3],
    b: [f64; 3],
    prompt: Option<&'static str>,
    a_text: Option<&'static str>,
    b_text: Option<&'static str>,
}

fn rec(
    id: &'static str,
    bucket: Option<&'static str>,
    label: &'static str,
    a: [f64; 3],
    b: [f64; 3],
) -> Rec {
    Rec {
        id,
        bucket,
        group: None,
        prompt_id: None,
        label,
        labeler: None,
        a_int: None,
        b_int: None,
        a,
        b,
        prompt: None,
        a_text: None,
        b_text: None,
    }
}

/// Version 1: four comparisons over three buckets (one implicit `default`), two arms, texts on one
/// row (with a comma, quotes and a newline), and a feature (`code`) that never varies.
fn v1() -> Vec<Rec> {
    vec![
        Rec {
            group: Some("en"),
            prompt_id: Some("p-1"),
            labeler: Some("r-4"),
            a_int: Some("shorten"),
            prompt: Some("Explain, \"briefly\"\nplease"),
            a_text: Some("short"),
            b_text: Some("long, with commas"),
            ..rec(
                "c1",
                Some("b1"),
                "1",
                [120.0, 0.25, 0.0],
                [480.0, 0.75, 0.0],
            )
        },
        rec("c2", Some("b1"), "0", [300.0, 1.0, 0.0], [150.5, 0.0, 0.0]),
        Rec {
            a_int: Some("hedge"),
            b_int: Some("shorten"),
            group: Some("fr"),
            ..rec("c3", Some("b2"), "1", [10.0, 0.1, 0.0], [20.0, 0.3, 0.0])
        },
        rec("c4", None, "0", [1e-3, -2.5, 0.0], [0.0, 2.5, 0.0]),
    ]
}

/// Version 2: c1 and c4 removed, c2 relabeled, c3 unchanged, c5 (new bucket b3) and c6 added.
fn v2() -> Vec<Rec> {
    let old = v1();
    vec![
        Rec {
            label: "1",
            ..old[1].clone()
        },
        old[2].clone(),
        rec("c5", Some("b3"), "1", [50.0, 0.5, 0.0], [55.0, 0.5, 0.0]),
        rec("c6", Some("b1"), "0", [1000.0, 3.0, 0.0], [10.0, -3.0, 0.0]),
    ]
}

fn label_json(label: &str) -> Value {
    match label {
        "tie" => json!("tie"),
        l => serde_json::from_str(l).unwrap_or_else(|_| json!(l)),
    }
}

fn features_json(values: &[f64; 3]) -> Value {
    let mut m = serde_json::Map::new();
    for (name, v) in FEATURES.iter().zip(values) {
        m.insert(name.to_string(), json!(v));
    }
    Value::Object(m)
}

fn to_jsonl(recs: &[Rec]) -> String {
    let mut out = String::new();
    for r in recs {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(r.id));
        if let Some(b) = r.bucket {
            m.insert("bucket".into(), json!(b));
        }
        if let Some(g) = r.group {
            m.insert("group".into(), json!(g));
        }
        if let Some(p) = r.prompt_id {
            m.insert("prompt_id".into(), json!(p));
        }
        let side = |int: Option<&str>, feats: &[f64; 3], text: Option<&str>| {
            let mut s = serde_json::Map::new();
            s.insert("intervention".into(), json!(int));
            s.insert("features".into(), features_json(feats));
            if let Some(t) = text {
                s.insert("text".into(), json!(t));
            }
            Value::Object(s)
        };
        m.insert("a".into(), side(r.a_int, &r.a, r.a_text));
        m.insert("b".into(), side(r.b_int, &r.b, r.b_text));
        m.insert("label".into(), label_json(r.label));
        if let Some(l) = r.labeler {
            m.insert("labeler".into(), json!(l));
        }
        if let Some(p) = r.prompt {
            m.insert("prompt".into(), json!(p));
        }
        out.push_str(&serde_json::to_string(&Value::Object(m)).expect("serialize"));
        out.push('\n');
    }
    out
}

fn to_csv(recs: &[Rec]) -> String {
    let texts = recs
        .iter()
        .any(|r| r.prompt.is_some() || r.a_text.is_some() || r.b_text.is_some());
    let mut header: Vec<String> = [
        "id",
        "bucket",
        "group",
        "prompt_id",
        "label",
        "labeler",
        "a.intervention",
        "b.intervention",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(FEATURES.iter().map(|f| format!("a.{f}")));
    header.extend(FEATURES.iter().map(|f| format!("b.{f}")));
    if texts {
        header.extend(["prompt", "a.text", "b.text"].map(String::from));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).expect("header");
    for r in recs {
        let o = |s: Option<&str>| s.unwrap_or("").to_string();
        let mut row = vec![
            r.id.to_string(),
            o(r.bucket),
            o(r.group),
            o(r.prompt_id),
            r.label.to_string(),
            o(r.labeler),
            o(r.a_int),
            o(r.b_int),
        ];
        row.extend(r.a.iter().map(|v| v.to_string()));
        row.extend(r.b.iter().map(|v| v.to_string()));
        if texts {
            row.extend([o(r.prompt), o(r.a_text), o(r.b_text)]);
        }
        w.write_record(&row).expect("row");
    }
    String::from_utf8(w.into_inner().expect("flush")).expect("utf-8")
}

/// An initialized database with the interventions the fixtures reference.
fn env() -> Env {
    let env = Env::initialized();
    env.add_intervention("shorten", "0.5");
    env.add_intervention("hedge", "0.2");
    env
}

/// RMS of Δφ_j over the rows, 1 where it is zero (DESIGN §2), computed here independently.
fn rms_scales(recs: &[Rec]) -> Vec<f64> {
    (0..FEATURES.len())
        .map(|j| {
            let ss: f64 = recs.iter().map(|r| (r.a[j] - r.b[j]).powi(2)).sum();
            let rms = (ss / recs.len() as f64).sqrt();
            if rms > 0.0 { rms } else { 1.0 }
        })
        .collect()
}

fn scales(show: &Value) -> Vec<f64> {
    show["schema"]["scales"]
        .as_array()
        .expect("scales")
        .iter()
        .map(f)
        .collect()
}

#[test]
fn jsonl_import_prints_name_at_version_and_digest() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    let out = env.ok(&["dataset", "import", "d", "v1.jsonl"]);
    let mut lines = out.lines();
    let first = lines.next().expect("a first line");
    let (label, digest) = first.split_once(' ').expect("NAME@VERSION DIGEST");
    assert_eq!(label, "d@1");
    assert!(is_sha256_hex(digest), "{first}");
    assert_eq!(lines.next(), Some("imported 4 comparisons"));
    let show = env.json(&["dataset", "show", "d"]);
    assert_eq!(show["digest"], digest);
}

#[test]
fn jsonl_csv_and_gzip_of_the_same_content_have_the_same_digest() {
    let env = env();
    let recs = v1();
    env.write("v1.jsonl", &to_jsonl(&recs));
    env.write("v1.csv", &to_csv(&recs));
    env.write_gz("v1.jsonl.gz", &to_jsonl(&recs));
    env.write_gz("v1.csv.gz", &to_csv(&recs));
    let j = env.import("j", "v1.jsonl", &[]);
    let c = env.import("c", "v1.csv", &[]);
    let jg = env.import("jg", "v1.jsonl.gz", &[]);
    let cg = env.import("cg", "v1.csv.gz", &[]);
    assert!(j.created && c.created && jg.created && cg.created);
    assert_eq!(j.rows, 4);
    assert_eq!(c.rows, 4);
    assert!(is_sha256_hex(&j.digest));
    assert_eq!(c.digest, j.digest, "CSV and JSONL");
    assert_eq!(jg.digest, j.digest, "gzipped JSONL");
    assert_eq!(cg.digest, j.digest, "gzipped CSV");
    let sj = env.json(&["dataset", "show", "j"]);
    let sc = env.json(&["dataset", "show", "c"]);
    assert_eq!(sj["schema"], sc["schema"]);
    assert_eq!(sj["schema"]["features"], json!(FEATURES));
}

/// A byte-order mark is accepted in JSONL as in CSV, and is not content.
#[test]
fn a_byte_order_mark_is_accepted_and_not_hashed() {
    let env = env();
    let recs = v1();
    env.write("plain.jsonl", &to_jsonl(&recs));
    env.write("bom.jsonl", &format!("\u{feff}{}", to_jsonl(&recs)));
    env.write("bom.csv", &format!("\u{feff}{}", to_csv(&recs)));
    let plain = env.import("p", "plain.jsonl", &[]);
    assert_eq!(env.import("j", "bom.jsonl", &[]).digest, plain.digest);
    assert_eq!(env.import("c", "bom.csv", &[]).digest, plain.digest);
}

#[test]
fn gzip_is_detected_from_the_bytes_not_the_name() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write_gz("packed.jsonl", &to_jsonl(&v1()));
    let plain = env.import("a", "v1.jsonl", &[]);
    let packed = env.import("b", "packed.jsonl", &[]);
    assert_eq!(packed.digest, plain.digest);
}

#[test]
fn spelling_differences_in_jsonl_do_not_change_the_digest() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    let base = env.import("base", "v1.jsonl", &[]);
    // Keys in another order, features of later records in another order, integers written as
    // floats and floats as integers, an explicit null intervention, blank lines and CRLF endings.
    let respelled = concat!(
        "{\"label\":1.0,\"id\":\"c1\",\"bucket\":\"b1\",\"group\":\"en\",\"prompt_id\":\"p-1\",\"labeler\":\"r-4\",",
        "\"prompt\":\"Explain, \\\"briefly\\\"\\nplease\",",
        "\"b\":{\"text\":\"long, with commas\",\"features\":{\"len\":480.0,\"tone\":0.75,\"code\":0},\"intervention\":null},",
        "\"a\":{\"features\":{\"len\":120,\"tone\":0.25,\"code\":0.0},\"intervention\":\"shorten\",\"text\":\"short\"}}\r\n",
        "\r\n",
        "{\"id\":\"c2\",\"bucket\":\"b1\",\"a\":{\"features\":{\"code\":0,\"tone\":1,\"len\":300}},\"b\":{\"features\":{\"tone\":0,\"code\":0,\"len\":150.5}},\"label\":0}\r\n",
        "\n",
        "{\"id\":\"c3\",\"bucket\":\"b2\",\"group\":\"fr\",\"a\":{\"intervention\":\"hedge\",\"features\":{\"len\":1e1,\"tone\":0.1,\"code\":0}},\"b\":{\"intervention\":\"shorten\",\"features\":{\"len\":20,\"tone\":0.3,\"code\":0}},\"label\":1}\n",
        "{\"id\":\"c4\",\"a\":{\"features\":{\"len\":0.001,\"tone\":-2.5,\"code\":0}},\"b\":{\"features\":{\"len\":0,\"tone\":2.5,\"code\":0}},\"label\":0}\n",
    );
    env.write("respelled.jsonl", respelled);
    let other = env.import("other", "respelled.jsonl", &[]);
    assert_eq!(other.digest, base.digest);
}

#[test]
fn csv_column_order_of_fixed_columns_does_not_change_the_digest() {
    let env = env();
    let recs = vec![
        rec("x1", Some("b1"), "1", [1.0, 2.0, 0.0], [3.0, 1.0, 0.0]),
        rec("x2", Some("b2"), "0", [2.0, 0.5, 0.0], [1.0, 1.5, 0.0]),
    ];
    env.write("std.csv", &to_csv(&recs));
    env.write(
        "shuffled.csv",
        "label,a.len,b.len,id,a.tone,b.tone,bucket,a.code,b.code\n\
         1,1,3,x1,2,1,b1,0,0\n\
         0,2,1,x2,0.5,1.5,b2,0,0\n",
    );
    let std = env.import("std", "std.csv", &[]);
    let shuffled = env.import("shuffled", "shuffled.csv", &[]);
    assert_eq!(shuffled.digest, std.digest);
}

#[test]
fn feature_order_follows_the_first_record_and_the_csv_columns() {
    let env = env();
    env.write(
        "order.jsonl",
        "{\"id\":\"c1\",\"a\":{\"features\":{\"tone\":1,\"len\":2}},\"b\":{\"features\":{\"len\":1,\"tone\":0}},\"label\":1}\n\
         {\"id\":\"c2\",\"a\":{\"features\":{\"len\":5,\"tone\":1}},\"b\":{\"features\":{\"len\":1,\"tone\":2}},\"label\":0}\n",
    );
    env.import("j", "order.jsonl", &[]);
    let show = env.json(&["dataset", "show", "j"]);
    assert_eq!(show["schema"]["features"], json!(["tone", "len"]));

    env.write(
        "order.csv",
        "id,label,a.tone,a.len,b.tone,b.len\nc1,1,1,2,0,1\nc2,0,1,5,2,1\n",
    );
    let c = env.import("c", "order.csv", &[]);
    let show_c = env.json(&["dataset", "show", "c"]);
    assert_eq!(show_c["schema"]["features"], json!(["tone", "len"]));
    assert_eq!(c.digest, show["digest"].as_str().expect("digest"));

    // The same rows with the features in the other order are different content.
    env.write(
        "swapped.csv",
        "id,label,a.len,a.tone,b.len,b.tone\nc1,1,2,1,1,0\nc2,0,5,1,1,2\n",
    );
    let swapped = env.import("s", "swapped.csv", &[]);
    assert_ne!(swapped.digest, c.digest);
}

#[test]
fn delta_records_from_jsonl_and_csv_have_the_same_digest() {
    let env = env();
    env.write(
        "delta.jsonl",
        "{\"id\":\"d1\",\"bucket\":\"b1\",\"delta\":{\"len\":-360,\"tone\":0.5},\"label\":1}\n\
         {\"id\":\"d2\",\"a\":{\"intervention\":\"shorten\"},\"delta\":{\"len\":12.5,\"tone\":-1},\"label\":0}\n",
    );
    env.write(
        "delta.csv",
        "id,bucket,label,a.intervention,delta.len,delta.tone\n\
         d1,b1,1,,-360,0.5\n\
         d2,,0,shorten,12.5,-1\n",
    );
    let j = env.import("j", "delta.jsonl", &[]);
    let c = env.import("c", "delta.csv", &[]);
    assert_eq!(j.digest, c.digest);
    let show = env.json(&["dataset", "show", "j"]);
    assert_close(
        scales(&show)[0],
        ((360.0f64.powi(2) + 12.5f64.powi(2)) / 2.0).sqrt(),
        1e-12,
    );
    assert_close(scales(&show)[1], ((0.25f64 + 1.0) / 2.0).sqrt(), 1e-12);
    let arms: Vec<&str> = show["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| a["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(arms, ["baseline", "baseline/shorten"]);
}

#[test]
fn export_round_trip_reproduces_the_digest() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    let original = env.import("d", "v1.jsonl", &[]);

    // To stdout.
    let jsonl = env.ok(&["dataset", "export", "d", "--output", "jsonl"]);
    let csv = env.ok(&["dataset", "export", "d@1", "--output", "csv"]);
    assert_eq!(jsonl.lines().count(), 4);
    assert!(csv.starts_with("id,bucket,group,prompt_id,label,labeler,a.intervention,b.intervention,a.len,a.tone,a.code,b.len,b.tone,b.code,prompt,a.text,b.text\n"), "{csv}");
    env.write("out.jsonl", &jsonl);
    env.write("out.csv", &csv);
    let from_jsonl = env.import("from-jsonl", "out.jsonl", &[]);
    let from_csv = env.import("from-csv", "out.csv", &[]);
    assert_eq!(from_jsonl.digest, original.digest, "JSONL export");
    assert_eq!(from_csv.digest, original.digest, "CSV export");

    // To files.
    env.run(&["dataset", "export", "d", "--output", "file.csv"])
        .expect_code(0)
        .stderr_has(&["wrote 4 rows of d@1 to file.csv"]);
    env.ok(&["dataset", "export", "d", "--output", "file.jsonl"]);
    assert_eq!(env.read("file.csv"), csv);
    assert_eq!(env.read("file.jsonl"), jsonl);

    env.run(&["dataset", "export", "d", "--output", "feather"])
        .expect_code(2)
        .stderr_has(&["--output"]);
}

#[test]
fn export_of_a_later_version_round_trips_with_the_printed_scales() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write("v2.jsonl", &to_jsonl(&v2()));
    env.import("d", "v1.jsonl", &[]);
    let v2 = env.import("d", "v2.jsonl", &[]);
    let run = env
        .run(&["dataset", "export", "d@2", "--output", "v2-out.csv"])
        .expect_code(0);
    let note = run
        .stderr
        .lines()
        .find_map(|l| {
            l.split_once("pass --scales with these scales: ")
                .map(|(_, s)| s)
        })
        .unwrap_or_else(|| panic!("no scales note in {}", run.stderr));
    env.write("scales.json", note);
    let again = env.import("again", "v2-out.csv", &["--scales", "scales.json"]);
    assert_eq!(again.digest, v2.digest);
    // Without the frozen scales the re-import computes its own RMS: different content.
    let rms = env.import("rms", "v2-out.csv", &[]);
    assert_ne!(rms.digest, v2.digest);
}

#[test]
fn csv_export_round_trip_keeps_empty_optional_strings() {
    // Empty strings are content in JSONL; an export to CSV must not turn them into "absent".
    let env = env();
    env.write(
        "empty.jsonl",
        "{\"id\":\"c1\",\"group\":\"\",\"labeler\":\"\",\"a\":{\"features\":{\"len\":0},\"text\":\"\"},\"b\":{\"features\":{\"len\":1}},\"label\":1}\n",
    );
    let original = env.import("d", "empty.jsonl", &[]);
    env.ok(&["dataset", "export", "d", "--output", "out.csv"]);
    let from_csv = env.import("from-csv", "out.csv", &[]);
    assert_eq!(
        from_csv.digest,
        original.digest,
        "re-importing a CSV export must reproduce the digest; the export was:\n{}",
        env.read("out.csv")
    );
}

#[test]
fn a_version_mixing_sides_and_delta_exports_as_jsonl_only() {
    let env = env();
    env.write(
        "mixed.jsonl",
        "{\"id\":\"c1\",\"a\":{\"features\":{\"len\":2}},\"b\":{\"features\":{\"len\":1}},\"label\":1}\n\
         {\"id\":\"c2\",\"delta\":{\"len\":-3},\"label\":0}\n",
    );
    let original = env.import("m", "mixed.jsonl", &[]);
    env.run(&["dataset", "export", "m", "--output", "csv"])
        .expect_code(2)
        .stderr_has(&["export it as jsonl"]);
    env.ok(&["dataset", "export", "m", "--output", "m.jsonl"]);
    assert_eq!(env.import("again", "m.jsonl", &[]).digest, original.digest);
}

#[test]
fn importing_identical_content_again_creates_no_version() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write("v1.csv", &to_csv(&v1()));
    let first = env.import("d", "v1.jsonl", &[]);
    let before = env.state();
    let out = env.ok(&["dataset", "import", "d", "v1.jsonl"]);
    assert!(
        out.contains("unchanged") && out.contains("d@1") && out.contains(&first.digest),
        "{out}"
    );
    let again = env.import("d", "v1.csv", &["--note", "same rows from CSV"]);
    assert!(!again.created);
    assert_eq!(again.version, 1);
    assert_eq!(again.digest, first.digest);
    assert_eq!(env.state(), before);
    env.run(&["dataset", "show", "d@2"])
        .expect_code(2)
        .stderr_has(&["no version 2", "latest is 1"]);
}

#[test]
fn version_2_has_parent_1_and_frozen_scales() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write("v2.csv", &to_csv(&v2()));
    let one = env.import("d", "v1.jsonl", &["--note", "passive"]);
    let two = env.import("d", "v2.csv", &["--note", "active"]);
    assert!(two.created);
    assert_eq!(two.version, 2);
    assert_ne!(two.digest, one.digest);

    let s1 = env.json(&["dataset", "show", "d@1"]);
    let s2 = env.json(&["dataset", "show", "d@2"]);
    assert!(s1["parent"].is_null());
    assert_eq!(s2["parent"], 1);
    assert_eq!(s1["note"], "passive");
    assert_eq!(s2["note"], "active");
    assert_eq!(s2["source"], "v2.csv");
    let frozen = rms_scales(&v1());
    for (got, want) in scales(&s2).iter().zip(&frozen) {
        assert_close(*got, *want, 1e-12);
    }
    assert_eq!(scales(&s1), scales(&s2), "scales are frozen at version 1");
    assert_ne!(
        rms_scales(&v2())[0],
        frozen[0],
        "the fixture must make freezing observable"
    );
    assert_eq!(s2["schema"]["scale_source"], "rms");

    // NAME alone is the latest version.
    assert_eq!(env.json(&["dataset", "show", "d"]), s2);
    let list = env.json(&["dataset", "list"]);
    assert_eq!(list[0]["versions"], 2);
    assert_eq!(list[0]["latest"]["version"], 2);

    // Scales cannot be changed after version 1.
    env.write("v3.jsonl", &to_jsonl(&v1()[..2]));
    let before = env.state();
    env.run(&["dataset", "import", "d", "v3.jsonl", "--scales", "unit"])
        .expect_code(2)
        .stderr_has(&["--scales", "frozen"]);
    assert_eq!(env.state(), before);

    // A third version's parent is the second.
    let three = env.import("d", "v3.jsonl", &[]);
    assert_eq!(three.version, 3);
    assert_eq!(env.json(&["dataset", "show", "d@3"])["parent"], 2);
}

#[test]
fn diff_reports_added_removed_changed_and_bucket_counts() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write("v2.jsonl", &to_jsonl(&v2()));
    let one = env.import("d", "v1.jsonl", &[]);
    let two = env.import("d", "v2.jsonl", &[]);
    let d = env.json(&["dataset", "diff", "d@1", "d@2"]);
    assert_eq!(d["from"], "d@1");
    assert_eq!(d["to"], "d@2");
    assert_eq!(d["from_digest"], one.digest.as_str());
    assert_eq!(d["to_digest"], two.digest.as_str());
    assert_eq!(d["added"], json!(["c5", "c6"]));
    assert_eq!(d["removed"], json!(["c1", "c4"]));
    assert_eq!(d["changed"], json!(["c2"]));
    assert_eq!(d["unchanged"], 1);
    assert_eq!(
        d["buckets"],
        json!([
            {"bucket": "b1", "from": 2, "to": 2, "change": 0},
            {"bucket": "b2", "from": 1, "to": 1, "change": 0},
            {"bucket": "b3", "from": 0, "to": 1, "change": 1},
            {"bucket": "default", "from": 1, "to": 0, "change": -1},
        ])
    );
    // The other direction swaps added and removed; NAME alone is the latest.
    let back = env.json(&["dataset", "diff", "d", "d@1"]);
    assert_eq!(back["added"], json!(["c1", "c4"]));
    assert_eq!(back["removed"], json!(["c5", "c6"]));
    assert_eq!(back["changed"], json!(["c2"]));
    // A version against itself.
    let same = env.json(&["dataset", "diff", "d@1", "d@1"]);
    assert_eq!(same["added"], json!([]));
    assert_eq!(same["changed"], json!([]));
    assert_eq!(same["unchanged"], 4);

    let human = env.ok(&["dataset", "diff", "d@1", "d@2"]);
    assert!(
        human.contains("added 2, removed 2, changed 1, unchanged 1"),
        "{human}"
    );
    env.run(&["dataset", "diff", "d@1", "d@7"])
        .expect_code(2)
        .stderr_has(&["no version 7"]);
}

#[test]
fn show_json_reports_counts_balance_features_scales_and_lineage() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.import("d", "v1.jsonl", &["--note", "first"]);
    let s = env.json(&["dataset", "show", "d"]);
    assert_eq!(s["dataset"], "d");
    assert_eq!(s["version"], 1);
    assert!(s["parent"].is_null());
    assert_eq!(s["n"], 4);
    assert_eq!(s["dropped_ties"], 0);
    assert_eq!(s["note"], "first");
    assert_eq!(s["source"], "v1.jsonl");
    assert_eq!(s["created_by"], common::ACTOR);
    assert!(s["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_close(f(&s["label_balance"]), 0.5, 1e-12);
    assert_eq!(
        s["buckets"],
        json!([
            {"name": "b1", "n": 2, "label_balance": 0.5},
            {"name": "b2", "n": 1, "label_balance": 1.0},
            {"name": "default", "n": 1, "label_balance": 0.0},
        ])
    );
    assert_eq!(
        s["arms"],
        json!([
            {"name": "baseline", "n": 2, "label_balance": 0.0},
            {"name": "baseline/shorten", "n": 1, "label_balance": 1.0},
            {"name": "hedge/shorten", "n": 1, "label_balance": 1.0},
        ])
    );
    assert_eq!(s["schema"]["features"], json!(FEATURES));
    assert_eq!(s["schema"]["scale_source"], "rms");
    let want = rms_scales(&v1());
    for (got, want) in scales(&s).iter().zip(&want) {
        assert_close(*got, *want, 1e-12);
    }
    // len: Δ = −360, 149.5, −10, 0.001 → sqrt(mean of squares).
    let len = ((360.0f64.powi(2) + 149.5f64.powi(2) + 100.0 + 1e-6) / 4.0).sqrt();
    assert_close(scales(&s)[0], len, 1e-12);
    assert_eq!(
        scales(&s)[2],
        1.0,
        "a feature that never varies gets scale 1"
    );
    assert_eq!(s["never_varies"], json!(["code"]));

    let human = env.ok(&["dataset", "show", "d"]);
    assert!(human.contains("never varies"), "{human}");
    assert!(human.contains("hedge/shorten"), "{human}");
}

#[test]
fn dataset_list_json_shape() {
    let env = env();
    assert_eq!(env.json(&["dataset", "list"]), json!([]));
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.import("zeta", "v1.jsonl", &[]);
    env.import("alpha", "v1.jsonl", &[]);
    let list = env.json(&["dataset", "list"]);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "alpha");
    assert_eq!(list[1]["name"], "zeta");
    for d in list {
        assert_eq!(d["versions"], 1);
        assert_eq!(d["latest"]["n"], 4);
        assert_eq!(d["latest"]["dataset"], d["name"]);
        assert!(is_sha256_hex(d["latest"]["digest"].as_str().unwrap_or("")));
        assert_eq!(d["latest"]["schema"]["features"], json!(FEATURES));
    }
}

#[test]
fn scales_unit_sets_every_scale_to_one() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    let unit = env.import("u", "v1.jsonl", &["--scales", "unit"]);
    let rms = env.import("r", "v1.jsonl", &[]);
    assert_ne!(unit.digest, rms.digest, "scales are part of the content");
    let s = env.json(&["dataset", "show", "u"]);
    assert_eq!(scales(&s), [1.0, 1.0, 1.0]);
    assert_eq!(s["schema"]["scale_source"], "unit");
}

#[test]
fn scales_file_sets_scales_explicitly() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.write("scales.json", "{\"tone\": 0.5, \"len\": 250, \"code\": 2}");
    let explicit = env.import("e", "v1.jsonl", &["--scales", "scales.json"]);
    assert!(explicit.created);
    let s = env.json(&["dataset", "show", "e"]);
    assert_eq!(
        scales(&s),
        [250.0, 0.5, 2.0],
        "in schema order, not file order"
    );
    assert_eq!(s["schema"]["scale_source"], "file");

    // Scales that equal the RMS give the RMS import's digest: provenance is not content.
    let rms = env.import("r", "v1.jsonl", &[]);
    let r = env.json(&["dataset", "show", "r"]);
    let map: serde_json::Map<String, Value> = FEATURES
        .iter()
        .zip(scales(&r))
        .map(|(n, s)| (n.to_string(), json!(s)))
        .collect();
    env.write("rms.json", &Value::Object(map).to_string());
    let same = env.import("same", "v1.jsonl", &["--scales", "rms.json"]);
    assert_eq!(same.digest, rms.digest);

    let before = env.state();
    for (content, needle) in [
        ("{\"len\": 1, \"tone\": 0, \"code\": 1}", "positive"),
        ("{\"len\": 1, \"tone\": -2, \"code\": 1}", "positive"),
        (
            "{\"len\": 1, \"tone\": 1, \"code\": 1, \"extra\": 1}",
            "extra",
        ),
        ("[1, 2, 3]", "expected a JSON object"),
        ("{\"len\": \"big\"}", "expected a JSON object"),
    ] {
        env.write("bad-scales.json", content);
        env.run(&[
            "dataset",
            "import",
            "x",
            "v1.jsonl",
            "--scales",
            "bad-scales.json",
        ])
        .expect_code(2)
        .stderr_has(&[needle]);
    }
    env.run(&[
        "dataset",
        "import",
        "x",
        "v1.jsonl",
        "--scales",
        "missing.json",
    ])
    .expect_code(2)
    .stderr_has(&["missing.json"]);
    assert_eq!(env.state(), before);
}

#[test]
fn drop_ties_drops_and_counts_ties() {
    let env = env();
    let recs = v1();
    let with_ties = {
        let mut all = recs.clone();
        all.insert(
            1,
            rec("t1", Some("b1"), "0.5", [1.0, 1.0, 0.0], [2.0, 1.0, 0.0]),
        );
        all.push(rec(
            "t2",
            Some("b2"),
            "tie",
            [3.0, 1.0, 0.0],
            [2.0, 1.0, 0.0],
        ));
        all
    };
    env.write("ties.jsonl", &to_jsonl(&with_ties));
    env.write("ties.csv", &to_csv(&with_ties));
    env.write("clean.jsonl", &to_jsonl(&recs));

    let j = env.import("j", "ties.jsonl", &["--drop-ties"]);
    assert_eq!(j.rows, 4);
    assert_eq!(j.dropped_ties, 2);
    let c = env.import("c", "ties.csv", &["--drop-ties"]);
    assert_eq!(c.dropped_ties, 2);
    assert_eq!(c.digest, j.digest);
    // The rows are the content: dropping ties gives the digest of the file without them.
    let clean = env.import("clean", "clean.jsonl", &[]);
    assert_eq!(clean.digest, j.digest);

    let s = env.json(&["dataset", "show", "j"]);
    assert_eq!(s["n"], 4);
    assert_eq!(s["dropped_ties"], 2);
    let human = env.ok(&["dataset", "import", "h", "ties.csv", "--drop-ties"]);
    assert!(
        human.contains("imported 4 comparisons (2 ties dropped)"),
        "{human}"
    );

    // Every record a tie: nothing to import.
    env.write(
        "all-ties.jsonl",
        &to_jsonl(&[rec("t", None, "0.5", [1.0, 1.0, 0.0], [1.0, 1.0, 0.0])]),
    );
    env.run(&[
        "dataset",
        "import",
        "all-ties",
        "all-ties.jsonl",
        "--drop-ties",
    ])
    .expect_code(2)
    .stderr_has(&["every record was a tie (1 dropped)"]);
}

#[test]
fn stdin_dash_reads_standard_input() {
    let env = env();
    let jsonl = to_jsonl(&v1());
    let csv = to_csv(&v1());
    env.write("v1.jsonl", &jsonl);
    let file = env.import("file", "v1.jsonl", &[]);

    let out = env
        .run_stdin(
            &[
                "dataset", "import", "sj", "-", "--input", "jsonl", "--format", "json",
            ],
            jsonl.as_bytes(),
        )
        .expect_code(0)
        .json();
    assert_eq!(out["digest"], file.digest.as_str());
    let out = env
        .run_stdin(
            &[
                "dataset", "import", "sc", "-", "--input", "csv", "--format", "json",
            ],
            csv.as_bytes(),
        )
        .expect_code(0)
        .json();
    assert_eq!(out["digest"], file.digest.as_str());

    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(csv.as_bytes()).expect("compress");
        e.finish().expect("finish")
    };
    let out = env
        .run_stdin(
            &[
                "dataset", "import", "sg", "-", "--input", "csv", "--format", "json",
            ],
            &gz,
        )
        .expect_code(0)
        .json();
    assert_eq!(out["digest"], file.digest.as_str());

    let before = env.state();
    env.run_stdin(&["dataset", "import", "sx", "-"], jsonl.as_bytes())
        .expect_code(2)
        .stderr_has(&["--input"]);
    assert_eq!(env.state(), before);
}

#[test]
fn format_is_inferred_from_the_extension_or_given_with_input() {
    let env = env();
    let jsonl = to_jsonl(&v1());
    env.write("v1.jsonl", &jsonl);
    env.write("v1.ndjson", &jsonl);
    env.write("v1.txt", &jsonl);
    env.write("v1.CSV", &to_csv(&v1()));
    let base = env.import("a", "v1.jsonl", &[]);
    assert_eq!(env.import("b", "v1.ndjson", &[]).digest, base.digest);
    assert_eq!(
        env.import("c", "v1.txt", &["--input", "jsonl"]).digest,
        base.digest
    );
    assert_eq!(env.import("d", "v1.CSV", &[]).digest, base.digest);
    env.run(&["dataset", "import", "e", "v1.txt"])
        .expect_code(2)
        .stderr_has(&["v1.txt", "--input"]);
    env.run(&["dataset", "import", "e", "nosuch.jsonl"])
        .expect_code(2)
        .stderr_has(&["nosuch.jsonl"]);
    env.run(&["dataset", "import", "Bad Name", "v1.jsonl"])
        .expect_code(2)
        .stderr_has(&["invalid dataset name"]);
}

#[test]
fn texts_prompt_and_metadata_are_kept() {
    let env = env();
    env.write("v1.csv", &to_csv(&v1()));
    env.import("d", "v1.csv", &[]);
    let exported = env.ok(&["dataset", "export", "d", "--output", "jsonl"]);
    let first: Value =
        serde_json::from_str(exported.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["id"], "c1");
    assert_eq!(first["group"], "en");
    assert_eq!(first["prompt_id"], "p-1");
    assert_eq!(first["labeler"], "r-4");
    assert_eq!(first["prompt"], "Explain, \"briefly\"\nplease");
    assert_eq!(first["a"]["text"], "short");
    assert_eq!(first["b"]["text"], "long, with commas");
    assert_eq!(first["a"]["intervention"], "shorten");
    assert_eq!(
        first["a"]["features"],
        json!({"len": 120.0, "tone": 0.25, "code": 0.0})
    );
    assert_eq!(first["label"], 1);
    let last: Value = serde_json::from_str(exported.lines().last().expect("a line")).expect("JSON");
    assert_eq!(last["bucket"], "default", "a missing bucket is `default`");
    assert_eq!(last["a"]["features"]["len"], json!(0.001));
}

#[test]
fn stored_rows_are_compact_blobs() {
    let env = env();
    env.write("v1.jsonl", &to_jsonl(&v1()));
    env.import("d", "v1.jsonl", &[]);
    let conn = env.sqlite();
    let (a, delta): (Vec<u8>, Option<Vec<u8>>) = conn
        .query_row(
            "SELECT a_features, delta FROM comparisons WHERE cid = 'c4'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row c4");
    assert!(delta.is_none());
    let want: Vec<u8> = [1e-3f64, -2.5, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(a, want, "little-endian f64 in schema order");
}

/// `--features` / `--exclude-features` choose the schema of explicit feature records too, in JSONL
/// and CSV alike (the same content gives the same digest).
#[test]
fn feature_selection_for_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("overlap")
            .expect("binary")
            .current_dir(d)
            .arg("--db")
            .arg(d.join("t.db"))
            .env("OVERLAP_ACTOR", "tester")
            .args(args)
            .output()
            .expect("run")
    };
    assert!(run(&["init"]).status.success());
    std::fs::write(
        d.join("r.jsonl"),
        "{\"id\":\"c1\",\"a\":{\"features\":{\"len\":2,\"tone\":1,\"code\":0}},\"b\":{\"features\":{\"len\":1,\"tone\":0,\"code\":0}},\"label\":1}\n\
         {\"id\":\"c2\",\"a\":{\"features\":{\"len\":1,\"tone\":0,\"code\":0}},\"b\":{\"features\":{\"len\":3,\"tone\":1,\"code\":1}},\"label\":0}\n",
    )
    .expect("write");
    std::fs::write(
        d.join("r.csv"),
        "id,label,a.len,a.tone,a.code,b.len,b.tone,b.code\nc1,1,2,1,0,1,0,0\nc2,0,1,0,0,3,1,1\n",
    )
    .expect("write");
    let digest = |name: &str, file: &str, args: &[&str]| -> (Value, Value) {
        let mut all = vec!["dataset", "import", name, file, "--format", "json"];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        let show = run(&["dataset", "show", name, "--format", "json"]);
        let s: Value = serde_json::from_slice(&show.stdout).expect("json");
        (v["digest"].clone(), s["schema"]["features"].clone())
    };
    let (jd, jf) = digest("j", "r.jsonl", &["--features", "tone,len"]);
    let (cd, cf) = digest("c", "r.csv", &["--exclude-features", "code"]);
    assert_eq!(jf, json!(["len", "tone"]));
    assert_eq!(cf, json!(["len", "tone"]));
    assert_eq!(jd, cd, "same content, same digest");
    // A CSV selection naming a column that does not exist lists the header's features.
    let out = run(&["dataset", "import", "x", "r.csv", "--features", "size"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "r.csv: --features: unknown feature 'size' (the input's features: len, tone, code)"
        ),
        "{err}"
    );
}
