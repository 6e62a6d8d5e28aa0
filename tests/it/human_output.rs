//! The human output of every command group on one copy of the demo, as snapshots. Only what varies
//! between runs is masked: the temporary folder and the timestamps the store records. Outputs that
//! carry the demo's random signing key or hashes over its timestamps (`registry verify`, `report
//! history`) are checked field by field in `registry` and `report` instead.

use std::path::Path;
use std::process::Command;

/// Runs `overlap ARGS` in `root` against the demo's database; returns stdout (exit 0 expected
/// unless `code` says otherwise).
fn run(root: &Path, code: i32, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overlap"))
        .current_dir(root)
        .env_remove("OVERLAP_DB")
        .env("OVERLAP_ACTOR", "tester")
        .args(["--db", "d/overlap.db"])
        .args(args)
        .output()
        .expect("run overlap");
    assert_eq!(
        out.status.code(),
        Some(code),
        "overlap {args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mask(&String::from_utf8(out.stdout).expect("UTF-8 output"), root)
}

/// Replaces the temporary folder with `[dir]` and every RFC 3339 UTC timestamp
/// (`YYYY-MM-DDTHH:MM:SSZ`) with `[time]`.
fn mask(text: &str, root: &Path) -> String {
    let text = text.replace(&root.display().to_string(), "[dir]");
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_time = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                other => other == b,
            });
        if is_time {
            out.push_str("[time]");
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().expect("a character");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[test]
fn mask_hides_times_and_the_folder() {
    let root = Path::new("/tmp/x");
    assert_eq!(
        mask("at 2026-12-05T16:06:31Z in /tmp/x/d — λ", root),
        "at [time] in [dir]/d — λ"
    );
}

#[test]
fn every_command_group_prints_what_it_printed() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    let cases: &[(&str, i32, &[&str])] = &[
        ("intervention-list", 0, &["intervention", "list"]),
        ("intervention-show", 0, &["intervention", "show", "shorten"]),
        ("dataset-list", 0, &["dataset", "list"]),
        ("dataset-show", 0, &["dataset", "show", "demo@2"]),
        ("dataset-diff", 0, &["dataset", "diff", "demo@1", "demo@2"]),
        ("analyze", 0, &["analyze", "demo@2"]),
        (
            "gate",
            1,
            &[
                "gate",
                "demo@1",
                "--policy",
                "d/release-gate.yaml",
                "--today",
                "2026-01-15",
            ],
        ),
        ("audit-status", 0, &["audit", "status", "demo@2"]),
        (
            "design-bucket",
            0,
            &["design", "demo@2", "--bucket", "self-harm"],
        ),
        (
            "plan",
            0,
            &[
                "plan",
                "demo@2",
                "--policy",
                "d/precision-targets.yaml",
                "--budget",
                "3000",
            ],
        ),
        (
            "design-next",
            0,
            &[
                "design",
                "next",
                "demo@2",
                "--bucket",
                "self-harm",
                "--batch",
                "40",
            ],
        ),
        (
            "simulate",
            0,
            &[
                "simulate",
                "--scenario",
                "two-factor",
                "--replicates",
                "2",
                "--labels",
                "500",
            ],
        ),
    ];
    for (name, code, args) in cases {
        insta::assert_snapshot!(format!("human-{name}"), run(root, *code, args));
    }
}
