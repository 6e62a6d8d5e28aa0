//! `report card`: Croissant 1.0 JSON-LD with the Responsible-AI fields, a Hugging Face dataset
//! card and the records they describe, in one new folder (mlcroissant validates the JSON-LD in
//! `tests/interop/test_card.py`).

use serde_json::Value;

fn overlap(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
        .current_dir(dir)
        .env_remove("OVERLAP_DB")
        .env("OVERLAP_ACTOR", "tester")
        .args(["--db", "d/overlap.db"])
        .args(args)
        .output()
        .expect("run overlap")
}

#[test]
fn the_card_describes_the_version_its_findings_and_its_records() {
    let dir = crate::common::demo_copy();
    let d = dir.path();
    let out = overlap(
        d,
        &[
            "report",
            "card",
            "demo@1",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "card",
            "--license",
            "cc-by-4.0",
            "--date",
            "2026-12-01",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jsonld: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("card/croissant.json")).unwrap())
            .unwrap();
    assert_eq!(jsonld["@type"], "sc:Dataset");
    assert_eq!(jsonld["conformsTo"], "http://mlcommons.org/croissant/1.0");
    assert_eq!(
        jsonld["@context"]["rai"],
        "http://mlcommons.org/croissant/RAI/"
    );
    assert_eq!(jsonld["name"], "demo@1");
    assert_eq!(jsonld["license"], "cc-by-4.0");
    assert_eq!(jsonld["datePublished"], "2026-12-01");
    // The findings: self-harm's weakest direction, the failing rule, the interventions used.
    let biases = jsonld["rai:dataBiases"].as_str().unwrap();
    assert!(
        biases.contains("Bucket self-harm") && biases.contains("weakest direction"),
        "{biases}"
    );
    let limits = jsonld["rai:dataLimitations"].as_str().unwrap();
    assert!(
        limits.contains("failed") && limits.contains("fails on bucket self-harm"),
        "{limits}"
    );
    assert!(
        jsonld["rai:dataCollection"]
            .as_str()
            .unwrap()
            .contains("Imported by tester")
    );
    // The distribution is the records file beside it, with its digest.
    let file = &jsonld["distribution"][0];
    let path = d.join("card").join(file["contentUrl"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(file["sha256"], digest);
    // The records re-import to the version's digest.
    let show: Value = serde_json::from_slice(
        &overlap(d, &["dataset", "show", "demo@1", "--format", "json"]).stdout,
    )
    .unwrap();
    let again = overlap(
        d,
        &[
            "dataset",
            "import",
            "copy",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["digest"], show["digest"]);

    let readme = std::fs::read_to_string(d.join("card/README.md")).unwrap();
    assert!(
        readme.starts_with("---\nlicense: \"cc-by-4.0\"\n"),
        "{readme}"
    );
    assert!(readme.contains("path: \"data/demo-v1.jsonl\"\n---\n"));
    assert!(readme.contains("# Dataset nutrition label: demo@1"));

    // A second card into the same folder is refused and changes nothing.
    let before = std::fs::read(d.join("card/croissant.json")).unwrap();
    let out = overlap(
        d,
        &[
            "report",
            "card",
            "demo@2",
            "--policy",
            "d/release-gate.yaml",
            "--output",
            "card",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exist"));
    assert_eq!(
        std::fs::read(d.join("card/croissant.json")).unwrap(),
        before
    );
}
