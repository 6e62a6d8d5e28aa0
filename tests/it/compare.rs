//! `overlap compare A B` (per-bucket overlap side by side, refused with the remedy when the scales
//! differ) and `dataset diff --by content` (the same pairs under other ids are unchanged).

use crate::common::Env;

const HH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz"
);

fn records(rows: &[(f64, f64, u8)]) -> String {
    rows.iter()
        .enumerate()
        .map(|(i, (x, y, l))| {
            format!("{{\"id\":\"r{i}\",\"bucket\":\"b\",\"label\":{l},\"delta\":{{\"x\":{x},\"y\":{y}}}}}\n")
        })
        .collect()
}

#[test]
fn versions_compare_bucket_by_bucket_on_shared_scales() {
    let dir = crate::common::demo_copy();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
        .current_dir(dir.path())
        .env_remove("OVERLAP_DB")
        .env("OVERLAP_ACTOR", "tester")
        .args([
            "--db",
            "d/overlap.db",
            "compare",
            "demo@1",
            "demo@2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let harm = v["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bucket"] == "self-harm")
        .expect("self-harm");
    // The designed collection of version 2 crosses length and refusal in self-harm.
    let (a, b) = (
        harm["from"]["lambda_min"].as_f64().unwrap(),
        harm["to"]["lambda_min"].as_f64().unwrap(),
    );
    assert!(a < 0.01 && b > 0.05, "{harm}");
    assert_eq!(harm["from"]["n"], 1200);
    assert_eq!(v["scales"].as_array().unwrap().len(), 5);
}

#[test]
fn different_scales_are_refused_with_the_remedy_and_unit_scales_compare() {
    let env = Env::initialized();
    let a = env.write(
        "a.jsonl",
        &records(&[(1.0, 0.0, 1), (0.0, 2.0, 0), (1.0, 1.0, 1), (2.0, -1.0, 0)]),
    );
    let b = env.write(
        "b.jsonl",
        &records(&[(3.0, 0.5, 1), (0.5, 2.0, 0), (1.0, 4.0, 1), (2.0, -1.0, 0)]),
    );
    env.import("a", a.to_str().unwrap(), &[]);
    env.import("b", b.to_str().unwrap(), &[]);
    env.run(&["compare", "a", "b"]).expect_code(2).stderr_has(&[
        "different scales",
        "x: ",
        "--scales unit",
    ]);
    env.import("au", a.to_str().unwrap(), &["--scales", "unit"]);
    env.import("bu", b.to_str().unwrap(), &["--scales", "unit"]);
    let v = env.json(&["compare", "au", "bu"]);
    assert_eq!(v["buckets"][0]["bucket"], "b");
    assert_eq!(v["buckets"][0]["from"]["n"], 4);
    let c = env.write("c.jsonl", "{\"id\":\"1\",\"label\":1,\"delta\":{\"z\":1}}\n{\"id\":\"2\",\"label\":0,\"delta\":{\"z\":2}}\n");
    env.import("c", c.to_str().unwrap(), &["--scales", "unit"]);
    env.run(&["compare", "au", "c"])
        .expect_code(2)
        .stderr_has(&["different features"]);
}

#[test]
fn diff_by_content_matches_the_same_pairs_under_other_ids() {
    let env = Env::initialized();
    env.import("hh", HH, &[]);
    env.import("hh-content", HH, &["--id-from", "content"]);
    let by_id = env.json(&["dataset", "diff", "hh", "hh-content"]);
    assert_eq!(by_id["added"].as_array().unwrap().len(), 2312);
    assert_eq!(by_id["unchanged"], 0);
    let by_content = env.json(&["dataset", "diff", "hh", "hh-content", "--by", "content"]);
    assert_eq!(by_content["unchanged"], 2312);
    assert!(by_content["added"].as_array().unwrap().is_empty());
    assert!(by_content["removed"].as_array().unwrap().is_empty());

    // Multiplicity counts: one more copy of a record is one added comparison.
    let x = env.write("x.jsonl", &records(&[(1.0, 0.0, 1), (0.0, 2.0, 0)]));
    let y = env.write(
        "y.jsonl",
        "{\"id\":\"q0\",\"bucket\":\"b\",\"label\":1,\"delta\":{\"x\":1.0,\"y\":0.0}}\n{\"id\":\"q1\",\"bucket\":\"b\",\"label\":1,\"delta\":{\"x\":1.0,\"y\":0.0}}\n",
    );
    env.import("x", x.to_str().unwrap(), &["--scales", "unit"]);
    env.import("y", y.to_str().unwrap(), &["--scales", "unit"]);
    let d = env.json(&["dataset", "diff", "x", "y", "--by", "content"]);
    assert_eq!(d["unchanged"], 1);
    assert_eq!(d["added"], serde_json::json!(["q1"]));
    assert_eq!(d["removed"], serde_json::json!(["r1"]));
}
