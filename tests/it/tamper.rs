//! Edits made behind the tool's back, the way a tamperer with the sqlite3 shell would (dropping the
//! append-only trigger first): each kind is caught by the check that covers it, and a tampered
//! stored result is never used.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overlap"))
        .current_dir(root)
        .env_remove("OVERLAP_DB")
        .env("OVERLAP_ACTOR", "tester")
        .args(["--db", "d/overlap.db"])
        .args(args)
        .output()
        .expect("run overlap");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn expect(root: &Path, code: i32, args: &[&str]) -> String {
    let (got, out) = run(root, args);
    assert_eq!(got, code, "overlap {args:?}\n{out}");
    out
}

fn tamper(root: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(root.join("d/overlap.db")).expect("open the database");
    conn.execute_batch(sql).expect("tamper");
}

const GATE_DEMO_1: &[&str] = &[
    "gate",
    "demo@1",
    "--policy",
    "d/release-gate.yaml",
    "--today",
    "2026-01-15",
];

#[test]
fn the_untouched_demo_verifies() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    expect(root, 0, &["store", "verify"]);
    expect(root, 0, &["dataset", "verify", "demo"]);
    expect(root, 0, &["registry", "verify"]);
    let v: Value = serde_json::from_str(&expect(root, 0, &["store", "verify", "--format", "json"]))
        .expect("JSON");
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["versions"].as_array().map(Vec::len), Some(2), "{v}");
    assert!(v["analyses"].as_u64() > Some(0), "{v}");
    assert!(v["evaluations"].as_u64() > Some(0), "{v}");
}

/// Copying demo@2's stored analysis over demo@1's must not make demo@1 pass: the copy does not
/// verify, so the gate recomputes, and `store verify` names the row.
#[test]
fn a_stored_analysis_copied_to_another_version_is_never_used() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    expect(root, 1, GATE_DEMO_1);
    tamper(
        root,
        "DROP TRIGGER analyses_no_update;
         UPDATE analyses SET result = (SELECT result FROM analyses WHERE version_id = 2 LIMIT 1)
         WHERE version_id = 1;",
    );
    let out = expect(root, 1, &["store", "verify"]);
    assert!(out.contains("store BROKEN: analysis"), "{out}");
    assert!(out.contains("of demo@1"), "{out}");
    let out = expect(root, 1, GATE_DEMO_1);
    assert!(out.contains("FAIL"), "{out}");
    // The same copy with the binding recomputed by someone who knows the formula: the result
    // still names demo@2, so it is not reused either.
    tamper(
        root,
        "UPDATE analyses SET binding = NULL WHERE version_id = 1;",
    );
    expect(root, 1, GATE_DEMO_1);
}

#[test]
fn an_edited_evaluation_exit_code_is_caught() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    tamper(
        root,
        "DROP TRIGGER evaluations_no_update;
         UPDATE evaluations SET exit_code = 0 WHERE exit_code = 1;",
    );
    let out = expect(root, 1, &["store", "verify"]);
    assert!(out.contains("store BROKEN: evaluation"), "{out}");
}

#[test]
fn registry_state_edited_without_an_event_is_caught() {
    let cases: &[(&str, &str)] = &[
        (
            "UPDATE intervention_versions SET cost = 99 WHERE version = 1",
            "differs from the state its event recorded",
        ),
        (
            "UPDATE acceptance_observations SET accepted = 0",
            "differs from its event",
        ),
        (
            "DELETE FROM acceptance_observations WHERE id = (SELECT max(id) FROM acceptance_observations)",
            "acceptance observations but its events record",
        ),
        (
            "UPDATE interventions SET retired_at = '2026-01-01T00:00:00Z', retired_by = 'mallory',
             retired_reason = 'x' WHERE name = 'shorten'",
            "retired without a retire event",
        ),
    ];
    for (sql, says) in cases {
        let dir = crate::common::demo_copy();
        let root = dir.path();
        tamper(root, sql);
        let out = expect(root, 1, &["registry", "verify"]);
        assert!(
            out.contains("registry BROKEN: intervention"),
            "{sql}\n{out}"
        );
        assert!(out.contains(says), "{sql}\n{out}");
        let out = expect(root, 1, &["store", "verify"]);
        assert!(out.contains("store BROKEN: intervention"), "{sql}\n{out}");
    }
}

#[test]
fn columnar_data_that_no_longer_matches_its_rows_is_caught() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    tamper(
        root,
        "DROP TRIGGER version_chunks_no_update;
         UPDATE version_chunks SET labels = zeroblob(length(labels))
         WHERE version_id = (SELECT id FROM dataset_versions WHERE version = 1);",
    );
    let out = expect(root, 1, &["dataset", "verify", "demo@1"]);
    assert!(out.contains("demo@1 BROKEN"), "{out}");
    assert!(out.contains("columnar label differs"), "{out}");
    expect(root, 0, &["dataset", "verify", "demo@2"]);
    let out = expect(root, 1, &["store", "verify"]);
    assert!(out.contains("store BROKEN: dataset demo@1"), "{out}");
}

#[test]
fn rows_that_no_longer_hash_to_the_digest_are_caught() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    tamper(
        root,
        "DROP TRIGGER comparisons_no_update;
         UPDATE comparisons SET labeler = 'mallory'
         WHERE id = (SELECT min(id) FROM comparisons);",
    );
    let out = expect(root, 1, &["dataset", "verify", "demo@1"]);
    assert!(out.contains("not to its digest"), "{out}");
}

/// An unkeyed chain can be rewritten or truncated whole; a head kept elsewhere catches it.
#[test]
fn a_truncated_history_is_caught_by_the_expected_head() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    let v: Value = serde_json::from_str(&expect(
        root,
        0,
        &["registry", "verify", "--format", "json"],
    ))
    .expect("JSON");
    let head = v["head"].as_str().expect("head").to_owned();
    expect(root, 0, &["registry", "verify", "--expect-head", &head]);
    let out = expect(
        root,
        1,
        &["registry", "verify", "--expect-head", &"0".repeat(64)],
    );
    assert!(out.contains("not at the expected head"), "{out}");
}

/// A checkpoint signed with the project key and kept outside the database: appending is fine;
/// truncating the chain (with the head in `meta` "fixed up") or editing the checkpoint is caught.
#[test]
fn a_signed_checkpoint_catches_a_truncated_history_and_its_own_tampering() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    expect(root, 0, &["key", "generate", "--output", "k"]);
    expect(
        root,
        0,
        &[
            "registry",
            "checkpoint",
            "--sign",
            "k.key",
            "--output",
            "cp.txt",
        ],
    );
    let verify = [
        "registry",
        "verify",
        "--checkpoint",
        "cp.txt",
        "--public-key",
        "k.pub",
    ];
    expect(root, 0, &verify);
    // The registry moves on: the checkpoint still verifies.
    expect(
        root,
        0,
        &[
            "intervention",
            "acceptance",
            "shorten",
            "--bucket",
            "late",
            "--attempts",
            "3",
            "--accepted",
            "2",
        ],
    );
    expect(root, 0, &verify);
    // Someone drops the newest events and rewrites the recorded head to match.
    tamper(
        root,
        "DROP TRIGGER registry_events_no_delete;
         DELETE FROM registry_events WHERE seq >= (SELECT max(seq) - 2 FROM registry_events);
         UPDATE meta SET value = (SELECT seq || ':' || hash FROM registry_events
                                  ORDER BY seq DESC LIMIT 1) WHERE key = 'registry_head';",
    );
    let mut json_args = verify.to_vec();
    json_args.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&expect(root, 1, &json_args)).expect("verify JSON");
    assert_eq!(
        v["first_broken"],
        Value::Null,
        "the chain itself verifies: {v}"
    );
    let mismatch = v["head_mismatch"].as_str().unwrap_or_default();
    assert!(mismatch.contains("history was truncated"), "{v}");
    // New events written on top of the truncated chain: as long as the checkpoint's, but another
    // history.
    for _ in 0..3 {
        expect(
            root,
            0,
            &[
                "intervention",
                "acceptance",
                "hedge",
                "--bucket",
                "rewritten",
                "--attempts",
                "1",
                "--accepted",
                "1",
            ],
        );
    }
    let v: Value = serde_json::from_str(&expect(root, 1, &json_args)).expect("verify JSON");
    let mismatch = v["head_mismatch"].as_str().unwrap_or_default();
    assert!(mismatch.contains("history was rewritten"), "{v}");

    // An edited checkpoint does not verify.
    let text = std::fs::read_to_string(root.join("cp.txt")).expect("read");
    let edited = text.replacen("events: ", "events: 1", 1);
    std::fs::write(root.join("cp2.txt"), edited).expect("write");
    let out = expect(
        root,
        1,
        &[
            "registry",
            "verify",
            "--checkpoint",
            "cp2.txt",
            "--public-key",
            "k.pub",
            "--format",
            "json",
        ],
    );
    assert!(out.contains("checkpoint signature check failed"), "{out}");
}

/// Audit verdicts, plans and report records are bound like evaluations: a plain-SQL edit of any
/// is named by `store verify`.
#[test]
fn edited_verdicts_plans_and_report_records_are_caught() {
    let cases: &[(&str, &str)] = &[
        (
            "DROP TRIGGER audit_verdicts_no_update;
             UPDATE audit_verdicts SET meaningful = 1 - meaningful WHERE id = 1;",
            "store BROKEN: verdict 1 of demo@",
        ),
        (
            "DROP TRIGGER plans_no_update; UPDATE plans SET budget = 1;",
            "store BROKEN: plan 1 of demo@",
        ),
        (
            "DROP TRIGGER reports_no_update; UPDATE reports SET verdict = 'fail' WHERE id = 1;",
            "store BROKEN: report 1 of demo@2",
        ),
    ];
    for (sql, says) in cases {
        let dir = crate::common::demo_copy();
        let root = dir.path();
        tamper(root, sql);
        let out = expect(root, 1, &["store", "verify"]);
        assert!(out.contains(says), "{sql}\n{out}");
    }
}

/// History listings mark an altered row instead of showing its edited verdict as evidence, and
/// an altered audit verdict is never read as audit evidence (status and the gate refuse).
#[test]
fn histories_mark_altered_rows_and_altered_verdicts_are_not_evidence() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    tamper(
        root,
        "DROP TRIGGER evaluations_no_update;
         UPDATE evaluations SET exit_code = 0 WHERE id = 1;
         DROP TRIGGER reports_no_update;
         UPDATE reports SET verdict = 'fail' WHERE id = 1;
         DROP TRIGGER audit_verdicts_no_update;
         UPDATE audit_verdicts SET meaningful = 1 - meaningful WHERE id = 1;",
    );
    let gates: Value = serde_json::from_str(&expect(
        root,
        0,
        &["gate", "history", "demo", "--format", "json"],
    ))
    .expect("JSON");
    assert_eq!(gates[0]["verified"], false, "{gates}");
    assert_eq!(gates[1]["verified"], true, "{gates}");
    let out = expect(root, 0, &["gate", "history", "demo"]);
    assert!(out.contains("ALTERED (see store verify)"), "{out}");
    let out = expect(root, 0, &["report", "history", "demo"]);
    assert!(out.contains("ALTERED (see store verify)"), "{out}");
    let (code, out) = run(root, &["audit", "status", "demo"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("audit verdict 1 does not match its binding"),
        "{out}"
    );
}
