//! Text-pair import end to end: the real HH-RLHF harmless test split (in `tests/data/hh-rlhf`)
//! through import, analysis and the gate, plus the other pair shapes
//! and their validation.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

const HH: &str = "tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz";

fn overlap(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("overlap").expect("binary");
    cmd.current_dir(dir)
        .arg("--db")
        .arg(dir.join("t.db"))
        .env("OVERLAP_ACTOR", "tester");
    cmd
}

fn hh_path() -> Option<PathBuf> {
    // The split is part of the repository (tests/data/hh-rlhf, with its licence), so it is
    // never skipped.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(HH);
    assert!(p.exists(), "{HH} is missing from the checkout");
    Some(p)
}

#[test]
fn hh_rlhf_import_analyze_gate() {
    let Some(hh) = hh_path() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    let out = overlap(dir.path())
        .args(["dataset", "import", "hh"])
        .arg(&hh)
        .args(["--input", "pairs", "--format", "json"])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["rows"], 2312);
    let show = overlap(dir.path())
        .args(["dataset", "show", "hh", "--format", "json"])
        .output()
        .expect("show");
    let s: Value = serde_json::from_slice(&show.stdout).expect("json");
    // text-v2 is the default map: one length feature, no log_words.
    assert_eq!(s["schema"]["feature_map"], "text-v2");
    let schema: Vec<&str> = s["schema"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f.as_str().expect("name"))
        .collect();
    assert_eq!(
        schema,
        [
            "log_chars",
            "list_items",
            "headings",
            "code_blocks",
            "emphasis",
            "refusal",
            "disclaimer",
            "hedging",
            "apology",
            "compliance",
            "questions",
            "links"
        ]
    );
    assert_eq!(s["label_balance"], 1.0, "chosen is always side a");

    let out = overlap(dir.path())
        .args(["analyze", "hh", "--format", "json"])
        .output()
        .expect("analyze");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).expect("json");
    let features: Vec<&str> = a["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert!(features.contains(&"refusal") && features.contains(&"log_chars"));
    // Headings and code blocks never occur in this split: they never vary, so the design
    // cannot identify them — a finding, not an error.
    let never: Vec<&str> = a["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["never_varies"] == true)
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(never, ["headings", "code_blocks"]);
    assert_eq!(
        a["buckets"][0]["absent_features"],
        json!(["headings", "code_blocks"])
    );
    assert_eq!(a["buckets"][0]["unidentified"], false);

    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "version: 1\nname: hh\nrules:\n  - id: overlap\n    metric: lambda_min\n    op: \">=\"\n    threshold: 0.01\n  - id: refusal-vs-length\n    metric: min_quadrant_share\n    features: [log_chars, refusal]\n    op: \">=\"\n    threshold: 0.05\n",
    )
    .expect("policy");
    let out = overlap(dir.path())
        .args(["gate", "hh", "--policy"])
        .arg(&policy)
        .args(["--today", "2026-11-29", "--format", "json"])
        .output()
        .expect("gate");
    // Unidentified directions fail the overlap rule: the gate runs and says no (exit 1).
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let g: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(g["verdict"], "fail");
}

#[test]
fn pair_shapes_and_validation() {
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    let good = dir.path().join("pairs.jsonl");
    std::fs::write(
        &good,
        concat!(
            "{\"id\":\"p1\",\"prompt\":\"How do I bake bread?\",\"chosen\":\"Mix flour, water and yeast.\\n\\n- knead\\n- rest\",\"rejected\":\"I can't help with that.\",\"bucket\":\"cooking\"}\n",
            "{\"id\":\"p2\",\"prompt\":\"Hi\",\"response_a\":\"Hello!\",\"response_b\":\"Sorry, I might not know.\",\"label\":0}\n",
            "{\"id\":\"p3\",\"chosen\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello, how can I help?\"}],\"rejected\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"What?\"}]}\n",
        ),
    )
    .expect("write");
    let out = overlap(dir.path())
        .args(["dataset", "import", "pairs"])
        .arg(&good)
        .args(["--input", "pairs", "--scales", "unit", "--format", "json"])
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = overlap(dir.path())
        .args(["dataset", "export", "pairs", "--output", "jsonl"])
        .output()
        .expect("export");
    let rows: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["bucket"], "cooking");
    assert_eq!(
        rows[0]["a"]["text"],
        "Mix flour, water and yeast.\n\n- knead\n- rest"
    );
    assert_eq!(rows[1]["label"], 0);
    assert_eq!(rows[2]["prompt"], "Human: Hi");
    assert_eq!(rows[2]["b"]["text"], "What?");

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"prompt\":\"x\",\"chosen\":\"a\"}\n{\"prompt\":\"x\",\"response_a\":\"a\",\"response_b\":\"b\",\"label\":0.5}\n",
    )
    .expect("write");
    let out = overlap(dir.path())
        .args(["dataset", "import", "bad"])
        .arg(&bad)
        .args(["--input", "pairs"])
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:1: rejected"), "{err}");
    assert!(err.contains("bad.jsonl:2: label"), "{err}");
    // A pair file imported without --input pairs is told from its first record, and says so.
    let out = overlap(dir.path())
        .args(["dataset", "import", "hint"])
        .arg(&good)
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("text pairs: TRL standard"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Runs `dataset import NAME FILE --input pairs ARGS --format json`.
fn import_pairs(dir: &Path, name: &str, file: &str, args: &[&str]) -> std::process::Output {
    overlap(dir)
        .args([
            "dataset", "import", name, file, "--input", "pairs", "--format", "json",
        ])
        .args(args)
        .output()
        .expect("import")
}

fn schema_of(dir: &Path, dataset: &str) -> (Value, Vec<String>) {
    let show = overlap(dir)
        .args(["dataset", "show", dataset, "--format", "json"])
        .output()
        .expect("show");
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    let s: Value = serde_json::from_slice(&show.stdout).expect("json");
    let features = s["schema"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f.as_str().expect("name").to_string())
        .collect();
    (s["schema"]["feature_map"].clone(), features)
}

/// The datasets that exist (by `dataset list --format json`).
fn dataset_count(dir: &Path) -> usize {
    let out = overlap(dir)
        .args(["dataset", "list", "--format", "json"])
        .output()
        .expect("list");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v.as_array().map_or(0, Vec::len)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const TWO_PAIRS: &str = concat!(
    "{\"prompt\":\"q\",\"chosen\":\"Sure, **here** it is: https://x.org\",\"rejected\":\"I can't, sorry.\"}\n",
    "{\"prompt\":\"q\",\"chosen\":\"I might not know. Why?\",\"rejected\":\"Yes.\\n- a\\n- b\"}\n",
);

#[test]
fn feature_map_choice_and_its_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    overlap(d).arg("init").assert().success();
    write(d, "two.jsonl", TWO_PAIRS);

    let out = import_pairs(d, "v2", "two.jsonl", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (map, features) = schema_of(d, "v2");
    assert_eq!(map, "text-v2");
    assert_eq!(features.len(), 12);
    assert!(features.contains(&"emphasis".to_string()));
    assert!(!features.contains(&"log_words".to_string()));

    let out = import_pairs(d, "v1", "two.jsonl", &["--feature-map", "text-v1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (map, features) = schema_of(d, "v1");
    assert_eq!(map, "text-v1");
    assert_eq!(
        features,
        [
            "log_chars",
            "log_words",
            "list_items",
            "headings",
            "code_blocks",
            "refusal",
            "disclaimer",
            "hedging",
            "apology",
            "questions",
            "links"
        ]
    );

    // An unknown map names the available ones; nothing is written.
    let out = import_pairs(d, "v9", "two.jsonl", &["--feature-map", "text-v9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown feature map 'text-v9' (available: text-v1, text-v2)"),
        "{}",
        stderr(&out)
    );
    // --feature-map means nothing for explicit feature records.
    write(
        d,
        "rec.jsonl",
        "{\"id\":\"r1\",\"a\":{\"features\":{\"x\":1}},\"b\":{\"features\":{\"x\":0}},\"label\":1}\n",
    );
    let out = overlap(d)
        .args([
            "dataset",
            "import",
            "rec",
            "rec.jsonl",
            "--feature-map",
            "text-v1",
        ])
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--feature-map applies to text pairs only"),
        "{}",
        stderr(&out)
    );
    assert_eq!(dataset_count(d), 2);

    // The schema is frozen at version 1: a later version through another map is refused, in
    // either direction, and the dataset keeps one version.
    write(
        d,
        "more.jsonl",
        "{\"prompt\":\"q\",\"chosen\":\"Okay.\",\"rejected\":\"No?\"}\n",
    );
    let out = import_pairs(d, "v1", "more.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("this dataset's features come from feature map 'text-v1', the input uses feature map 'text-v2'"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    let out = import_pairs(d, "v2", "more.jsonl", &["--feature-map", "text-v1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("feature map 'text-v2', the input uses feature map 'text-v1'"));
    // The same map is accepted as version 2.
    let out = import_pairs(d, "v1", "more.jsonl", &["--feature-map", "text-v1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["version"], 2);
}

#[test]
fn user_features_join_the_schema_after_the_map() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    overlap(d).arg("init").assert().success();
    write(
        d,
        "own.jsonl",
        concat!(
            "{\"prompt\":\"q\",\"chosen\":\"Sure.\",\"rejected\":\"No.\",\"chosen_features\":{\"toxicity\":0.02,\"rm_score\":1.3},\"rejected_features\":{\"rm_score\":-0.5,\"toxicity\":0.4}}\n",
            "{\"chosen\":\"\\n\\nHuman: Hi\\n\\nAssistant: Hello!\",\"rejected\":\"\\n\\nHuman: Hi\\n\\nAssistant: Go away.\",\"chosen_features\":{\"toxicity\":0,\"rm_score\":2},\"rejected_features\":{\"toxicity\":0.9,\"rm_score\":-2}}\n",
            "{\"chosen\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hey\"}],\"rejected\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"What?\"}],\"chosen_features\":{\"rm_score\":1,\"toxicity\":0.1},\"rejected_features\":{\"toxicity\":0.2,\"rm_score\":0}}\n",
        ),
    );
    let out = import_pairs(d, "own", "own.jsonl", &["--scales", "unit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (map, features) = schema_of(d, "own");
    assert_eq!(map, "text-v2");
    assert_eq!(features.len(), 14);
    assert_eq!(features[..12], text_v2_names());
    assert_eq!(features[12..], ["toxicity", "rm_score"]);
    let export = overlap(d)
        .args(["dataset", "export", "own", "--output", "jsonl"])
        .output()
        .expect("export");
    let rows: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows[0]["a"]["features"]["rm_score"], 1.3);
    assert_eq!(rows[0]["b"]["features"]["toxicity"], 0.4);
    assert_eq!(rows[2]["a"]["features"]["rm_score"], 1.0);

    // The response_a/response_b layout carries a_features/b_features.
    write(
        d,
        "ab.jsonl",
        "{\"prompt\":\"q\",\"response_a\":\"A\",\"response_b\":\"B\",\"label\":0,\"a_features\":{\"s\":1},\"b_features\":{\"s\":3}}\n",
    );
    let out = import_pairs(d, "ab", "ab.jsonl", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(schema_of(d, "ab").1.last().map(String::as_str), Some("s"));
}

fn text_v2_names() -> Vec<String> {
    overlap::textmap::text_v2::FEATURE_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Imports `text` as dataset `bad` and returns stderr after checking that the import failed with
/// exit code 2 and wrote nothing.
fn rejected(d: &Path, text: &str, args: &[&str]) -> String {
    write(d, "bad.jsonl", text);
    let out = import_pairs(d, "bad", "bad.jsonl", args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("nothing was written"), "{err}");
    let show = overlap(d)
        .args(["dataset", "show", "bad"])
        .output()
        .expect("show");
    assert!(!show.status.success(), "dataset bad must not exist");
    err
}

#[test]
fn bad_user_features_are_reported_by_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    overlap(d).arg("init").assert().success();
    let good = "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"t\":1},\"rejected_features\":{\"t\":0}}\n";

    // Missing on a later record (both sides), and on one side only.
    let err = rejected(
        d,
        &format!(
            "{good}{}{}",
            "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\"}\n",
            "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"t\":1}}\n"
        ),
        &[],
    );
    assert!(
        err.contains("bad.jsonl:2: chosen_features: missing feature(s): t"),
        "{err}"
    );
    assert!(
        err.contains("bad.jsonl:3: rejected_features: missing field"),
        "{err}"
    );

    // Not a finite number; the sides disagree; a layout's keys on the other layout.
    let err = rejected(
        d,
        &format!(
            "{good}{}{}{}",
            "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"t\":\"NaN\"},\"rejected_features\":{\"t\":null}}\n",
            "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"t\":1},\"rejected_features\":{\"u\":0}}\n",
            "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"a_features\":{\"t\":1},\"b_features\":{\"t\":0}}\n"
        ),
        &[],
    );
    assert!(
        err.contains("bad.jsonl:2: chosen_features.t: expected a finite number, found a string"),
        "{err}"
    );
    assert!(
        err.contains("bad.jsonl:2: rejected_features.t: expected a finite number, found null"),
        "{err}"
    );
    assert!(
        err.contains("bad.jsonl:3: rejected_features: both sides must have the same features (only in chosen_features: [t]; only in rejected_features: [u])"),
        "{err}"
    );
    assert!(err.contains("bad.jsonl:4: a_features:"), "{err}");

    // A name of the map's own features is refused.
    let err = rejected(
        d,
        "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"log_chars\":1},\"rejected_features\":{\"log_chars\":0}}\n",
        &[],
    );
    assert!(
        err.contains("bad.jsonl:1: chosen_features.log_chars: 'log_chars' is a feature of the map text-v2: rename your feature"),
        "{err}"
    );
    // … under either map.
    let err = rejected(
        d,
        "{\"prompt\":\"q\",\"chosen\":\"A\",\"rejected\":\"B\",\"chosen_features\":{\"log_words\":1},\"rejected_features\":{\"log_words\":0}}\n",
        &["--feature-map", "text-v1"],
    );
    assert!(err.contains("is a feature of the map text-v1"), "{err}");
}

#[test]
fn features_and_exclude_features_choose_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    overlap(d).arg("init").assert().success();
    let own = "{\"prompt\":\"q\",\"chosen\":\"Sure.\",\"rejected\":\"No?\",\"chosen_features\":{\"rm\":1,\"tox\":0},\"rejected_features\":{\"rm\":0,\"tox\":1}}\n";
    write(d, "own.jsonl", own);

    // --features keeps exactly those, in schema order (not the list's).
    let out = import_pairs(
        d,
        "kept",
        "own.jsonl",
        &["--features", "rm,refusal,log_chars"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(schema_of(d, "kept").1, ["log_chars", "refusal", "rm"]);

    // --exclude-features drops those.
    let out = import_pairs(
        d,
        "dropped",
        "own.jsonl",
        &["--exclude-features", "headings,code_blocks,tox"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let features = schema_of(d, "dropped").1;
    assert_eq!(features.len(), 11);
    assert!(
        !features
            .iter()
            .any(|f| f == "headings" || f == "code_blocks" || f == "tox")
    );
    assert_eq!(features.last().map(String::as_str), Some("rm"));

    // A later version must end up with the same features: the same selection passes, none fails.
    let out = import_pairs(
        d,
        "dropped",
        "own.jsonl",
        &[
            "--exclude-features",
            "tox,headings,code_blocks",
            "--note",
            "again",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = import_pairs(d, "dropped", "own.jsonl", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "own.jsonl:1: chosen_features.tox: feature 'tox' is not in the dataset's schema"
        ),
        "{}",
        stderr(&out)
    );

    // Unknown names list the available features; excluding everything is an error.
    let err = rejected(d, own, &["--features", "log_chars,lenght"]);
    assert!(
        err.contains("bad.jsonl: --features: unknown feature 'lenght' (the input's features: log_chars, list_items,"),
        "{err}"
    );
    assert!(err.contains("questions, links, rm, tox)"), "{err}");
    let all = text_v2_names().join(",") + ",rm,tox";
    let err = rejected(d, own, &["--exclude-features", &all]);
    assert!(
        err.contains("bad.jsonl: --exclude-features: no feature is left to import"),
        "{err}"
    );

    // Both at once is a usage error (clap: exit 2, before anything is read).
    let out = import_pairs(
        d,
        "both",
        "own.jsonl",
        &["--features", "rm", "--exclude-features", "tox"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}
