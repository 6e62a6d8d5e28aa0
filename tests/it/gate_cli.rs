//! The gate's exit-code contract end to end on the demo database: 0 pass, 1 fail (including an
//! expired waiver and `--fail-on warn`), 2 when the evaluation cannot run; every output format;
//! recorded history; shipped policies lint clean against the demo dataset.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
}

fn demo() -> Demo {
    let dir = crate::common::demo_copy();
    let root = dir.path().to_path_buf();
    let db = root.join("d/overlap.db");
    Demo {
        _dir: dir,
        root,
        db,
    }
}

fn overlap(d: &Demo) -> Command {
    let mut cmd = Command::cargo_bin("overlap").expect("binary");
    cmd.current_dir(&d.root)
        .arg("--db")
        .arg(&d.db)
        .env("OVERLAP_ACTOR", "tester");
    cmd
}

fn shipped(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name)
        .display()
        .to_string()
}

fn write(d: &Demo, name: &str, text: &str) -> String {
    let p = d.root.join(name);
    std::fs::write(&p, text).expect("write policy");
    p.display().to_string()
}

fn gate(d: &Demo, args: &[&str]) -> std::process::Output {
    overlap(d)
        .arg("gate")
        .args(args)
        .output()
        .expect("run gate")
}

const TODAY: &str = "2026-06-01";

#[test]
fn exit_codes_and_formats() {
    let d = demo();
    let policy = shipped("release-gate.yaml");
    let v1 = gate(&d, &["demo@1", "--policy", &policy, "--today", TODAY]);
    assert_eq!(
        v1.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&v1.stderr)
    );
    let text = String::from_utf8_lossy(&v1.stdout);
    assert!(
        text.contains("self-harm") && text.contains("mostly +refusal −length"),
        "{text}"
    );
    let v2 = gate(&d, &["demo@2", "--policy", &policy, "--today", TODAY]);
    assert_eq!(
        v2.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v2.stdout)
    );

    let json = gate(
        &d,
        &[
            "demo@1", "--policy", &policy, "--today", TODAY, "--format", "json",
        ],
    );
    assert_eq!(json.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&json.stdout).expect("json output");
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["dataset"]["name"], "demo");
    assert_eq!(v["evaluated_on"], TODAY);
    let failing: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .collect();
    assert_eq!(failing.len(), 3);
    assert!(failing.iter().all(|f| f["bucket"] == "self-harm"));

    let sarif = gate(
        &d,
        &[
            "demo@1", "--policy", &policy, "--today", TODAY, "--format", "sarif",
        ],
    );
    let s: Value = serde_json::from_slice(&sarif.stdout).expect("sarif json");
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["results"].as_array().map(Vec::len), Some(3));

    let junit = gate(
        &d,
        &[
            "demo@1", "--policy", &policy, "--today", TODAY, "--format", "junit",
        ],
    );
    let xml = String::from_utf8(junit.stdout).expect("utf8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed junit");
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, 15);

    let gh = gate(
        &d,
        &[
            "demo@1", "--policy", &policy, "--today", TODAY, "--format", "github",
        ],
    );
    let gh = String::from_utf8_lossy(&gh.stdout);
    assert_eq!(gh.matches("::error file=").count(), 3, "{gh}");

    let md = gate(
        &d,
        &[
            "demo@1", "--policy", &policy, "--today", TODAY, "--format", "markdown",
        ],
    );
    assert!(String::from_utf8_lossy(&md.stdout).contains("| "));

    let out = d.root.join("gate.json");
    let written = overlap(&d)
        .args([
            "gate", "demo@2", "--policy", &policy, "--today", TODAY, "--format", "json", "--output",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(written.status.code(), Some(0));
    assert!(written.stdout.is_empty());
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(v["verdict"], "pass");

    let history = overlap(&d)
        .args(["gate", "history", "demo", "--format", "json"])
        .output()
        .expect("history");
    assert!(history.status.success());
    let h: Value = serde_json::from_slice(&history.stdout).expect("history json");
    // Four from the demo itself (its two gate runs and the gate behind its two signed labels)
    // plus the eight above.
    assert_eq!(h.as_array().map(Vec::len), Some(12));
    assert!(
        h.as_array()
            .expect("array")
            .iter()
            .any(|r| r["exit_code"] == 1)
    );
}

#[test]
fn errors_exit_2_and_record_nothing() {
    let d = demo();
    let count = |d: &Demo| {
        let out = overlap(d)
            .args(["gate", "history", "demo", "--format", "json"])
            .output()
            .expect("run");
        serde_json::from_slice::<Value>(&out.stdout)
            .expect("json")
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = count(&d);
    let bad = write(
        &d,
        "bad.yaml",
        "version: 1\nname: bad\nrules:\n  - id: x\n    metric: lamda_min\n    op: \">=\"\n    threshold: 0.1\n",
    );
    let out = gate(&d, &["demo@1", "--policy", &bad, "--today", TODAY]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policy/unknown-metric") && err.contains("lambda_min"),
        "{err}"
    );
    assert!(err.contains("bad.yaml:5:"), "{err}");

    let unknown_feature = write(
        &d,
        "feature.yaml",
        "version: 1\nname: f\nrules:\n  - id: q\n    metric: min_quadrant_share\n    features: [length, tone]\n    op: \">=\"\n    threshold: 0.1\n",
    );
    let out = gate(
        &d,
        &["demo@1", "--policy", &unknown_feature, "--today", TODAY],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tone"));

    let out = gate(&d, &["nope@1", "--policy", &shipped("release-gate.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    let out = gate(&d, &["demo@1", "--policy", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = gate(
        &d,
        &[
            "demo@1",
            "--policy",
            &shipped("release-gate.yaml"),
            "--today",
            "June",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = overlap(&d).args(["gate", "demo@1"]).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --policy is a usage error"
    );
    assert_eq!(count(&d), before, "failed evaluations must not be recorded");

    // A command that fails after evaluating (its output cannot be written) records nothing
    // either: the evaluation, the analysis and the report land in one transaction with the files.
    let db_rows = |d: &Demo, table: &str| -> i64 {
        rusqlite::Connection::open(&d.db)
            .expect("db")
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    let (analyses, reports) = (db_rows(&d, "analyses"), db_rows(&d, "reports"));
    let nowhere = d.root.join("no-such-dir/x.md").display().to_string();
    let out = gate(
        &d,
        &[
            "demo@1",
            "--policy",
            &shipped("release-gate.yaml"),
            "--today",
            TODAY,
            "--recompute",
            "--output",
            &nowhere,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = overlap(&d)
        .args(["report", "label", "demo@1", "--policy"])
        .arg(shipped("release-gate.yaml"))
        .args(["--recompute", "--output", &nowhere])
        .output()
        .expect("report");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&d), before, "exit 2 promises nothing was written");
    assert_eq!(db_rows(&d, "analyses"), analyses);
    assert_eq!(db_rows(&d, "reports"), reports);
    assert!(!d.root.join("no-such-dir").exists());
}

#[test]
fn a_policy_is_read_once_and_its_warnings_print_once() {
    let d = demo();
    let empty = write(&d, "empty.yaml", "version: 1\nname: empty\nrules: []\n");
    let out = gate(&d, &["demo@1", "--policy", &empty, "--today", TODAY]);
    // No rule checked anything: the gate fails, and the dataset-independent warning is printed
    // once, not once per parse.
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("policy/no-rules").count(), 1, "{err}");
    let label = d.root.join("label.md");
    let out = overlap(&d)
        .args(["report", "label", "demo@1", "--policy", &empty, "--output"])
        .arg(&label)
        .output()
        .expect("report");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("policy/no-rules").count(), 1, "{err}");
}

#[test]
fn waivers_active_expired_unused_and_fail_on_warn() {
    let d = demo();
    let waived = write(
        &d,
        "waived.yaml",
        "version: 1\nname: waived\nrules:\n  - id: min-overlap\n    metric: lambda_min\n    op: \">=\"\n    threshold: 0.05\nwaivers:\n  - rule: min-overlap\n    bucket: self-harm\n    owner: governance@example.org\n    reason: active collection scheduled\n    ticket: GOV-1\n    expires: 2026-12-31\n",
    );
    let active = gate(
        &d,
        &["demo@1", "--policy", &waived, "--today", "2026-12-31"],
    );
    assert_eq!(
        active.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&active.stdout)
    );
    let text = String::from_utf8_lossy(&active.stdout);
    assert!(text.contains("waived") && text.contains("GOV-1"), "{text}");

    let expired = gate(
        &d,
        &[
            "demo@1",
            "--policy",
            &waived,
            "--today",
            "2027-01-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(expired.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&expired.stdout).expect("json");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["kind"] == "waiver-expired"),
        "{v}"
    );

    // On demo@2 the rule passes, so the waiver is unused: a warning, exit 0 unless --fail-on warn.
    let unused = gate(
        &d,
        &[
            "demo@2",
            "--policy",
            &waived,
            "--today",
            "2026-12-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(unused.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&unused.stdout).expect("json");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["kind"] == "waiver-unused")
    );
    let strict = gate(
        &d,
        &[
            "demo@2",
            "--policy",
            &waived,
            "--today",
            "2026-12-01",
            "--fail-on",
            "warn",
        ],
    );
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn shipped_policies_lint_clean_against_the_demo() {
    let d = demo();
    for name in [
        "release-gate.yaml",
        "high-harm-strict.yaml",
        "drift-monitor.yaml",
    ] {
        let out = overlap(&d)
            .args(["policy", "lint", &shipped(name), "--dataset", "demo@2"])
            .output()
            .expect("lint");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The drift monitor compares against demo@1 and evaluates without error.
    let out = gate(
        &d,
        &[
            "demo@2",
            "--policy",
            &shipped("drift-monitor.yaml"),
            "--today",
            TODAY,
            "--format",
            "json",
        ],
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["baseline"], "demo@1");
}

/// A policy name is user text: a line break in it must not inject a workflow command into a CI
/// log, a backtick must not break the Markdown code span, and ESC must not reach the terminal.
#[test]
fn a_hostile_policy_name_stays_inside_its_line_and_span() {
    let d = demo();
    let text = std::fs::read_to_string(shipped("release-gate.yaml")).expect("read policy");
    let hostile = text.replacen(
        "name: release-gate",
        "name: \"rel`ease\\n::warning::injected\\u001b[2J\"",
        1,
    );
    let policy = write(&d, "hostile.yaml", &hostile);
    let run = |format: &str| {
        let out = gate(
            &d,
            &[
                "demo@1", "--policy", &policy, "--today", TODAY, "--format", format,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let github = run("github");
    assert!(
        !github.lines().any(|l| l.starts_with("::warning::injected")),
        "{github}"
    );
    assert!(!github.contains('\u{1b}'), "{github}");
    let human = run("human");
    assert!(!human.contains('\u{1b}'), "{human}");
    assert!(
        !human.lines().any(|l| l.starts_with("::warning")),
        "{human}"
    );
    let markdown = run("markdown");
    assert!(
        markdown.contains("``rel`ease ::warning::injected"),
        "{markdown}"
    );
    assert!(!markdown.contains('\u{1b}'), "{markdown}");
}
