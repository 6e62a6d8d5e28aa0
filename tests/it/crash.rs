//! Commands killed with SIGKILL part-way: an import, an analysis and a signed report, each at a
//! spread of moments. Afterwards the database passes SQLite's integrity check and `store verify`,
//! no partial version exists (a version is there with all its rows or not at all), and no report
//! file is in place without its record and signatures.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

const ROWS: usize = 30_000;

fn overlap(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_overlap"));
    cmd.current_dir(root)
        .env_remove("OVERLAP_DB")
        .env("OVERLAP_ACTOR", "tester")
        .args(["--db", "d/overlap.db"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

fn kill_after(mut child: Child, delay: Duration) {
    std::thread::sleep(delay);
    // SIGKILL: no destructor, no rollback handler runs.
    let _ = child.kill();
    let _ = child.wait();
}

fn json(root: &Path, args: &[&str]) -> Value {
    let out = overlap(root, args)
        .stdout(std::process::Stdio::piped())
        .output()
        .expect("run overlap");
    assert!(out.status.success(), "overlap {args:?} failed");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn assert_intact(root: &Path, when: &str) {
    let conn = rusqlite::Connection::open(root.join("d/overlap.db")).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok", "{when}");
    let status = overlap(root, &["store", "verify"])
        .status()
        .expect("store verify");
    assert_eq!(status.code(), Some(0), "store verify after {when}");
}

/// Delays spread over the command's run (in a debug build an import of these rows takes about
/// 0.7 s, an analysis 30 ms, a signed report 50 ms): early (opening, validating), middle, late
/// (committing), with a few milliseconds of jitter.
fn delays(n: u64, max_ms: u64) -> impl Iterator<Item = Duration> {
    (0..n).map(move |k| Duration::from_millis(k * max_ms / n + (k * 37) % 11))
}

#[test]
fn killed_commands_leave_no_partial_version_and_no_orphan_report() {
    let dir = crate::common::demo_copy();
    let root = dir.path();
    let mut big = String::new();
    for i in 0..ROWS {
        big.push_str(&format!(
            "{{\"id\":\"k{i}\",\"bucket\":\"b{}\",\"label\":{},\"delta\":{{\"len\":{},\"tone\":{}}}}}\n",
            i % 3,
            i % 2,
            (i % 17) as f64 - 8.0,
            (i % 5) as f64 - 2.0
        ));
    }
    std::fs::write(root.join("d/big.jsonl"), big).expect("write the import");

    let mut kills = 0;
    for delay in delays(8, 900) {
        let child = overlap(root, &["dataset", "import", "big", "d/big.jsonl"])
            .spawn()
            .expect("spawn import");
        kill_after(child, delay);
        kills += 1;
        assert_intact(root, &format!("an import killed at {delay:?}"));
        let list = json(root, &["dataset", "list", "--format", "json"]);
        if let Some(big) = list
            .as_array()
            .expect("list")
            .iter()
            .find(|d| d["name"] == "big")
        {
            assert_eq!(big["versions"], 1, "{big}");
            assert_eq!(big["latest"]["n"], ROWS, "a partial version: {big}");
        }
    }

    for delay in delays(6, 40) {
        let child = overlap(root, &["analyze", "demo@2", "--recompute"])
            .spawn()
            .expect("spawn analyze");
        kill_after(child, delay);
        kills += 1;
        assert_intact(root, &format!("an analysis killed at {delay:?}"));
    }

    for (k, delay) in delays(6, 70).enumerate() {
        let out = format!("d/killed-{k}.md");
        let child = overlap(
            root,
            &[
                "report",
                "label",
                "demo@2",
                "--policy",
                "d/release-gate.yaml",
                "--output",
                &out,
                "--sign",
                "d/demo-signing.key",
                "--recompute",
            ],
        )
        .spawn()
        .expect("spawn report");
        kill_after(child, delay);
        kills += 1;
        assert_intact(root, &format!("a report killed at {delay:?}"));
        if root.join(&out).exists() {
            let history = json(root, &["report", "history", "demo", "--format", "json"]);
            assert!(
                history
                    .as_array()
                    .expect("history")
                    .iter()
                    .any(|r| r["file"] == out.as_str()),
                "{out} is in place without its record"
            );
            assert!(
                root.join(format!("{out}.sig")).exists(),
                "{out} without its signature"
            );
        }
    }
    assert_eq!(kills, 20);
}
