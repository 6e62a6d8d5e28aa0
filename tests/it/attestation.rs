//! The gate verdict as a standard attestation: `gate --attest FILE --sign KEY` writes an in-toto
//! Statement v1 with a test-result v0.1 predicate in a DSSE envelope. Checked here without the
//! tool's own code: the DSSE pre-authentication encoding and Ed25519 verification written from the
//! DSSE specification, the key read from its file layout, and JSON schemas written from the in-toto
//! and DSSE specifications (`tests/data/schemas`).

use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use crate::common::Env;

const STANDARD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schemas")
        .join(name);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
}

/// The raw Ed25519 key of an overlap `.pub` file (minisign layout: base64 of "Ed", an 8-byte
/// key id and the 32-byte key, on the second line).
fn public_key(path: &Path) -> ed25519_dalek::VerifyingKey {
    let text = std::fs::read_to_string(path).expect("public key file");
    let line = text.lines().nth(1).expect("a key line");
    let blob = STANDARD.decode(line.trim()).expect("base64");
    assert_eq!(&blob[..2], b"Ed");
    let key: [u8; 32] = blob[10..42].try_into().expect("32 bytes");
    ed25519_dalek::VerifyingKey::from_bytes(&key).expect("a valid key")
}

/// Verifies the envelope as the DSSE specification says, and returns its statement.
fn dsse_verify(envelope: &Value, key: &ed25519_dalek::VerifyingKey) -> Result<Value, String> {
    let payload_type = envelope["payloadType"].as_str().ok_or("no payloadType")?;
    let payload = STANDARD
        .decode(envelope["payload"].as_str().ok_or("no payload")?)
        .map_err(|e| e.to_string())?;
    let sig = STANDARD
        .decode(envelope["signatures"][0]["sig"].as_str().ok_or("no sig")?)
        .map_err(|e| e.to_string())?;
    // PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    let mut pae = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(&payload);
    let sig = ed25519_dalek::Signature::from_slice(&sig).map_err(|e| e.to_string())?;
    key.verify_strict(&pae, &sig).map_err(|e| e.to_string())?;
    serde_json::from_slice(&payload).map_err(|e| e.to_string())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the attestation")).expect("JSON")
}

#[test]
fn gate_verdicts_are_in_toto_test_result_attestations_any_dsse_verifier_accepts() {
    let dir = crate::common::demo_copy();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
            .current_dir(dir.path())
            .env_remove("OVERLAP_DB")
            .env("OVERLAP_ACTOR", "tester")
            .args(["--db", "d/overlap.db"])
            .args(args)
            .output()
            .expect("run overlap")
    };
    assert!(
        run(&["key", "generate", "--output", "gatekey"])
            .status
            .success()
    );
    let failing = run(&[
        "gate",
        "demo@1",
        "--policy",
        "d/release-gate.yaml",
        "--attest",
        "v1.intoto.json",
        "--sign",
        "gatekey.key",
    ]);
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failing.stderr)
    );
    let passing = run(&[
        "gate",
        "demo@2",
        "--policy",
        "d/release-gate.yaml",
        "--attest",
        "v2.intoto.json",
        "--sign",
        "gatekey.key",
    ]);
    assert_eq!(
        passing.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passing.stderr)
    );

    let key = public_key(&dir.path().join("gatekey.pub"));
    let envelopes = schema("dsse-envelope.schema.json");
    let statements = schema("in-toto-test-result-v0.1.schema.json");
    let digest = |v: &str| -> String {
        let out = run(&["dataset", "show", v, "--format", "json"]);
        let show: Value = serde_json::from_slice(&out.stdout).expect("show JSON");
        show["digest"].as_str().expect("digest").to_string()
    };
    for (file, version, result) in [
        ("v1.intoto.json", "demo@1", "FAILED"),
        ("v2.intoto.json", "demo@2", ""),
    ] {
        let envelope = read_json(&dir.path().join(file));
        assert_valid(&envelopes, &envelope);
        assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
        let statement = dsse_verify(&envelope, &key).expect("the signature verifies");
        assert_valid(&statements, &statement);
        assert_eq!(statement["subject"].as_array().unwrap().len(), 1);
        assert_eq!(
            statement["subject"][0]["name"],
            format!("dataset:{version}")
        );
        assert_eq!(statement["subject"][0]["digest"]["sha256"], digest(version));
        let predicate = &statement["predicate"];
        assert_eq!(predicate["configuration"][0]["name"], "release-gate");
        let failed = predicate["failedTests"].as_array().unwrap();
        if result == "FAILED" {
            assert_eq!(predicate["result"], "FAILED");
            assert!(
                failed
                    .iter()
                    .any(|t| t.as_str().unwrap().ends_with("/self-harm")),
                "{predicate}"
            );
        } else {
            assert!(failed.is_empty(), "{predicate}");
            assert_ne!(predicate["result"], "FAILED");
            assert!(!predicate["passedTests"].as_array().unwrap().is_empty());
        }
        // `overlap verify` recognises the attestation on its own.
        let out = run(&[
            "verify",
            file,
            "--public-key",
            "gatekey.pub",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            verdict["predicate_type"],
            "https://in-toto.io/attestation/test-result/v0.1"
        );
        assert_eq!(verdict["dataset_digest"], digest(version));
    }

    // A changed payload fails both verifiers; another key fails too.
    let mut envelope = read_json(&dir.path().join("v1.intoto.json"));
    let statement = dsse_verify(&envelope, &key).unwrap();
    let mut forged = statement.clone();
    forged["predicate"]["result"] = "PASSED".into();
    envelope["payload"] = STANDARD.encode(serde_json::to_vec(&forged).unwrap()).into();
    assert!(dsse_verify(&envelope, &key).is_err());
    std::fs::write(
        dir.path().join("forged.intoto.json"),
        format!("{}\n", serde_json::to_string(&envelope).unwrap()),
    )
    .unwrap();
    let out = run(&[
        "verify",
        "forged.intoto.json",
        "--public-key",
        "gatekey.pub",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT VERIFIED"));
    let out = run(&[
        "verify",
        "v1.intoto.json",
        "--public-key",
        "d/demo-signing.pub",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_attestation_needs_a_key_and_a_bad_key_writes_nothing() {
    let env = Env::initialized();
    let data = env.write(
        "d.jsonl",
        "{\"id\":\"1\",\"label\":1,\"delta\":{\"x\":1}}\n{\"id\":\"2\",\"label\":0,\"delta\":{\"x\":2}}\n",
    );
    env.ok(&["dataset", "import", "d", data.to_str().unwrap()]);
    let policy = env.write(
        "p.yaml",
        "version: 1\nname: p\nrules:\n  - id: enough\n    metric: n\n    op: \">=\"\n    threshold: 1\n",
    );
    env.run(&[
        "gate",
        "d",
        "--policy",
        policy.to_str().unwrap(),
        "--attest",
        "a.json",
    ])
    .expect_code(2)
    .stderr_has(&["--sign"]);
    env.write("bad.key", "not a key");
    env.run(&[
        "gate",
        "d",
        "--policy",
        policy.to_str().unwrap(),
        "--attest",
        "a.json",
        "--sign",
        "bad.key",
    ])
    .expect_code(2);
    assert!(!env.path("a.json").exists());
}

#[test]
fn one_verify_recognises_reports_attestations_and_checkpoints() {
    let env = Env::initialized();
    env.ok(&["key", "generate", "--output", "k"]);
    env.add_intervention("shorten", "1");
    env.ok(&[
        "registry",
        "checkpoint",
        "--sign",
        "k.key",
        "--output",
        "head.txt",
    ]);
    let v = env.json(&["verify", "head.txt", "--public-key", "k.pub"]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["kind"], "registry checkpoint");
    assert_eq!(v["events"], 1);
    // Another key, or a changed line, is a negative verdict.
    env.ok(&["key", "generate", "--output", "other"]);
    env.run(&["verify", "head.txt", "--public-key", "other.pub"])
        .expect_code(1)
        .stdout_has(&["NOT VERIFIED"]);
    let text = env.read("head.txt").replace("events: 1", "events: 2");
    env.write("forged.txt", &text);
    env.run(&["verify", "forged.txt", "--public-key", "k.pub"])
        .expect_code(1);
}
