//! Several processes writing one database at once: registry writes, imports and gates interleave
//! for a few seconds. Every write transaction takes the lock up front, so writers wait their turn:
//! nothing fails, nothing is lost, and the hash chain is intact afterwards.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs `overlap ARGS` against the demo copy in `root`; returns (exit code, stdout, stderr).
fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overlap"))
        .current_dir(root)
        .env_remove("OVERLAP_DB")
        .env_remove("OVERLAP_WAIT")
        .env("OVERLAP_ACTOR", "tester")
        .args(["--db", "d/overlap.db"])
        .args(args)
        .output()
        .expect("run overlap");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn expect(root: &Path, code: i32, args: &[&str]) -> String {
    let (got, stdout, stderr) = run(root, args);
    assert_eq!(got, code, "overlap {args:?}\n{stderr}");
    stdout
}

fn history_len(root: &Path) -> usize {
    let out = expect(root, 0, &["gate", "history", "demo", "--format", "json"]);
    serde_json::from_str::<Value>(&out)
        .expect("history JSON")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn concurrent_writers_all_succeed_and_nothing_is_lost() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    expect(
        root,
        0,
        &["dataset", "export", "demo@1", "--output", "d/demo1.jsonl"],
    );
    let gates_before = history_len(root);
    const ACCEPTANCE_WRITERS: usize = 3;
    const ACCEPTANCE_CALLS: usize = 8;
    const GATES: usize = 4;
    const IMPORTS: usize = 3;

    std::thread::scope(|s| {
        for _ in 0..ACCEPTANCE_WRITERS {
            s.spawn(|| {
                for _ in 0..ACCEPTANCE_CALLS {
                    expect(
                        root,
                        0,
                        &[
                            "intervention",
                            "acceptance",
                            "shorten",
                            "--bucket",
                            "concurrency",
                            "--attempts",
                            "2",
                            "--accepted",
                            "1",
                        ],
                    );
                }
            });
        }
        s.spawn(|| {
            for _ in 0..GATES {
                let args = [
                    "gate",
                    "demo@1",
                    "--policy",
                    "d/release-gate.yaml",
                    "--today",
                    "2026-01-15",
                ];
                expect(root, 1, &args);
            }
        });
        s.spawn(|| {
            for k in 0..IMPORTS {
                let name = format!("copy{k}");
                expect(root, 0, &["dataset", "import", &name, "d/demo1.jsonl"]);
            }
        });
    });

    let show: Value = serde_json::from_str(&expect(
        root,
        0,
        &["intervention", "show", "shorten", "--format", "json"],
    ))
    .expect("show JSON");
    let bucket = show["acceptance"]
        .as_array()
        .expect("acceptance")
        .iter()
        .find(|b| b["bucket"] == "concurrency")
        .expect("the bucket written concurrently");
    let calls = (ACCEPTANCE_WRITERS * ACCEPTANCE_CALLS) as u64;
    assert_eq!(bucket["attempts"], 2 * calls, "{bucket}");
    assert_eq!(bucket["accepted"], calls, "{bucket}");
    assert_eq!(history_len(root), gates_before + GATES);
    let list = expect(root, 0, &["dataset", "list", "--format", "json"]);
    for k in 0..IMPORTS {
        assert!(list.contains(&format!("\"copy{k}\"")), "{list}");
    }
    expect(root, 0, &["registry", "verify"]);
}
