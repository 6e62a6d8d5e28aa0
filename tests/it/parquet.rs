//! Parquet in and out (built with `--features parquet`): files written by pyarrow
//! (`tests/data/parquet`, see its `make.py`) in the Hugging Face layout, nested chat columns,
//! splits and globs; records and text pairs give the digests of the same records in JSON lines;
//! exports re-import to the version's digest; damaged files and bad rows are located.

use std::path::PathBuf;

use crate::common::Env;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/parquet")
        .join(name)
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

const HH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz"
);

#[test]
fn a_hugging_face_folder_of_chat_shards_imports_like_its_json_lines() {
    let env = Env::initialized();
    let hf = fixture("hf");
    // Two splits in the folder: the import asks which one, and writes nothing.
    env.run(&["dataset", "import", "chat", &hf])
        .expect_code(2)
        .stderr_has(&["splits test, train: choose one with --split"]);
    let from_folder = env.import(
        "chat",
        &hf,
        &["--split", "train", "--bucket-field", "source"],
    );
    assert_eq!(from_folder.rows, 12, "both train shards, in name order");
    let from_jsonl = env.import(
        "chat-jsonl",
        &fixture("hf-train.jsonl"),
        &["--bucket-field", "source"],
    );
    assert_eq!(from_folder.digest, from_jsonl.digest);
    let glob = fixture("hf/data/train-*.parquet");
    let from_glob = env.import("chat-glob", &glob, &["--bucket-field", "source"]);
    assert_eq!(from_glob.digest, from_jsonl.digest);
    // The dictionary-encoded bucket column is read as its values.
    let show = env.json(&["dataset", "show", "chat"]);
    let buckets: Vec<&str> = show["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(buckets, ["chat", "forum", "manual"]);
    let test = env.import("chat-test", &hf, &["--split", "test"]);
    assert_eq!(test.rows, 4);
}

#[test]
fn the_layout_of_parquet_rows_is_told_from_the_first_row() {
    let env = Env::initialized();
    let run = env
        .run(&[
            "dataset",
            "import",
            "chat",
            &fixture("hf"),
            "--split",
            "train",
        ])
        .expect_code(0);
    run.stderr_has(&[
        "TRL conversational, explicit prompt",
        "told from its first row",
        // A column no layout reads is named once.
        "ignored fields not read by the text-pair layouts: score, source",
    ]);
    env.run(&["dataset", "import", "records", &fixture("records.parquet")])
        .expect_code(0)
        .stderr_has(&["comparison records", "told from its first row"]);
}

#[test]
fn comparison_records_in_parquet_give_the_digest_of_their_json_lines() {
    let env = Env::initialized();
    let parquet = env.import("r", &fixture("records.parquet"), &[]);
    let jsonl = env.import("r-jsonl", &fixture("records.jsonl"), &[]);
    assert_eq!(parquet.rows, 8);
    assert_eq!(parquet.digest, jsonl.digest);
}

#[test]
fn parquet_exports_reimport_to_the_same_digest() {
    let env = Env::initialized();
    let hh = env.import("hh", HH, &[]);
    // TRL Parquet (prompt/chosen/rejected) carries the texts, so the pairs come back whole.
    env.ok(&["dataset", "export", "hh", "--output", "hh.trl.parquet"]);
    let trl = env.import("hh-trl", env.path("hh.trl.parquet").to_str().unwrap(), &[]);
    assert_eq!(trl.digest, hh.digest);
    assert_eq!(trl.rows, 2312);
    // Records Parquet re-imports to the digest of the records' JSONL export.
    env.ok(&["dataset", "export", "hh", "--output", "hh.parquet"]);
    env.ok(&["dataset", "export", "hh", "--output", "hh.jsonl"]);
    let records = env.import("hh-rec", env.path("hh.parquet").to_str().unwrap(), &[]);
    let jsonl = env.import("hh-rec-jsonl", env.path("hh.jsonl").to_str().unwrap(), &[]);
    assert_eq!(records.digest, jsonl.digest);
    // And a records export of that version reproduces its digest exactly (the scales too).
    env.ok(&["dataset", "export", "hh-rec", "--output", "again.parquet"]);
    let again = env.import("hh-again", env.path("again.parquet").to_str().unwrap(), &[]);
    assert_eq!(again.digest, records.digest);
}

#[test]
fn delta_records_and_one_bucket_export_to_parquet() {
    let env = Env::initialized();
    let file = env.write(
        "delta.jsonl",
        r#"{"id":"1","bucket":"x","delta":{"f":1.5,"g":-2},"label":1,"prompt":"P"}
{"id":"2","bucket":"y","a":{"intervention":null,"text":"hi"},"delta":{"f":0.25,"g":1},"label":0}
{"id":"3","bucket":"x","delta":{"f":-1,"g":0.5},"label":0,"labeler":"ann"}
"#,
    );
    let v1 = env.import("d", file.to_str().unwrap(), &[]);
    env.ok(&["dataset", "export", "d", "--output", "d.parquet"]);
    let back = env.import("d2", env.path("d.parquet").to_str().unwrap(), &[]);
    assert_eq!(back.digest, v1.digest);
    env.ok(&[
        "dataset",
        "export",
        "d",
        "--output",
        "x.parquet",
        "--bucket",
        "x",
    ]);
    let x = env.import("dx", env.path("x.parquet").to_str().unwrap(), &[]);
    assert_eq!(x.rows, 2);
    // A TRL export needs texts: a feature-only version is refused and no file is left.
    env.run(&["dataset", "export", "d", "--output", "d.trl.parquet"])
        .expect_code(2)
        .stderr_has(&["no response texts"]);
    assert!(!env.path("d.trl.parquet").exists());
}

#[test]
fn a_bad_row_is_located_and_a_damaged_file_is_named() {
    let env = Env::initialized();
    let before = env.state();
    env.run(&["dataset", "import", "bad", &fixture("bad-row.parquet")])
        .expect_code(2)
        .stderr_has(&[
            "bad-row.parquet:3: rejected: missing field",
            "nothing was written",
        ]);
    // Lenient: the three good rows are imported, row 3 is listed.
    let rejects = env.path("rejects.jsonl");
    let run = env.run(&[
        "dataset",
        "import",
        "bad",
        &fixture("bad-row.parquet"),
        "--skip-invalid",
        "--rejects",
        rejects.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v = run.clone().expect_code(0).json();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["rejected"], 1);
    // The timestamp column has no JSON form: left out, and said so.
    run.stderr_has(&["column of a type overlap does not read, left out: when (Timestamp"]);
    let listed = std::fs::read_to_string(&rejects).unwrap();
    assert!(listed.contains("\"line\":3"), "{listed}");

    let damaged = env.write("damaged.parquet", "PAR1 this is not a parquet file");
    let after_good = env.state();
    env.run(&["dataset", "import", "x", damaged.to_str().unwrap()])
        .expect_code(2)
        .stderr_has(&["damaged.parquet", "not a readable Parquet file"]);
    env.run(&["dataset", "import", "x", &fixture("hf"), "--split", "dev"])
        .expect_code(2)
        .stderr_has(&["no shards of split 'dev' (the splits found: test, train)"]);
    env.run(&[
        "dataset",
        "import",
        "x",
        &fixture("records.parquet"),
        "--split",
        "train",
    ])
    .expect_code(2)
    .stderr_has(&["--split picks a split"]);
    assert_eq!(env.state(), after_good);
    assert_ne!(before, after_good);
}

#[test]
fn parquet_needs_a_file_or_a_redirect_and_keeps_existing_files() {
    let env = Env::initialized();
    env.import("hh", HH, &[]);
    std::fs::write(env.path("taken.parquet"), b"mine").unwrap();
    env.run(&["dataset", "export", "hh", "--output", "taken.parquet"])
        .expect_code(2)
        .stderr_has(&["never replaces a file"]);
    assert_eq!(std::fs::read(env.path("taken.parquet")).unwrap(), b"mine");
    // Not a terminal here: `--output parquet` writes the file to stdout.
    let out = env
        .cmd()
        .args(["dataset", "export", "hh", "--output", "trl-parquet"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.starts_with(b"PAR1") && out.stdout.ends_with(b"PAR1"));
}
