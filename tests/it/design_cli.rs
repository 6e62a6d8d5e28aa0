//! `overlap design` and `overlap plan` end to end on the demo database: feasible mixtures,
//! infeasible budgets with the cheapest cost, min masses, unexplored arms, whole-number plans
//! within budget, and input errors (exit 2).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Demo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let dir = crate::common::demo_copy();
        let root = dir.path().to_path_buf();
        Demo { _dir: dir, root }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("overlap")
            .expect("binary")
            .current_dir(&self.root)
            .args(["--db", "d/overlap.db"])
            .args(args)
            .output()
            .expect("run")
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }
}

fn policy(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn bucket_designs() {
    let d = Demo::new();
    let v = d.json(&[
        "design",
        "demo@2",
        "--bucket",
        "self-harm",
        "--max-cost-per-label",
        "1.03",
        "--format",
        "json",
    ]);
    assert_eq!(v["status"], "optimal");
    let arms = v["arms"].as_array().expect("arms");
    let pi: Vec<f64> = arms.iter().map(|a| a["pi"].as_f64().expect("pi")).collect();
    let cost: f64 = arms
        .iter()
        .map(|a| a["pi"].as_f64().expect("pi") * a["cost"].as_f64().expect("cost"))
        .sum();
    assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(pi.iter().all(|p| *p >= -1e-12));
    assert!(cost <= 1.03 + 1e-7, "cost {cost}");
    let opt = v["lambda_min_optimal"].as_f64().expect("optimal");
    let cur = v["lambda_min_current"].as_f64().expect("current");
    assert!(
        opt >= cur - 1e-9,
        "the optimum is at least the current mixture"
    );
    assert!((v["savings_ratio"].as_f64().expect("ratio") - opt / cur).abs() < 1e-9);
    // Arms the registry could produce but the data never saw are listed, not dropped.
    let unexplored: Vec<&str> = v["unexplored"]
        .as_array()
        .expect("unexplored")
        .iter()
        .map(|u| u["arm"].as_str().expect("arm"))
        .collect();
    assert!(unexplored.contains(&"baseline/hedge") && !unexplored.contains(&"baseline/shorten"));

    // Every other criterion solves too, and a min mass is respected.
    for c in ["a", "d"] {
        let v = d.json(&[
            "design",
            "demo@2",
            "--bucket",
            "self-harm",
            "--criterion",
            c,
            "--format",
            "json",
        ]);
        assert_eq!(v["status"], "optimal", "{c}");
    }
    let v = d.json(&[
        "design",
        "demo@2",
        "--bucket",
        "self-harm",
        "--min-mass",
        "baseline/shorten=0.3",
        "--format",
        "json",
    ]);
    let short = v["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .find(|a| a["arm"] == "baseline/shorten")
        .expect("arm");
    assert!(short["pi"].as_f64().expect("pi") >= 0.3 - 1e-9);

    // A budget below the cheapest arm is infeasible, with the cheapest feasible cost named.
    let v = d.json(&[
        "design",
        "demo@2",
        "--bucket",
        "self-harm",
        "--max-cost-per-label",
        "0.5",
        "--format",
        "json",
    ]);
    assert_eq!(v["status"], "infeasible");
    assert!((v["cheapest_cost"].as_f64().expect("cheapest") - 1.0).abs() < 1e-9);

    // The group-robust design uses the records' groups.
    let v = d.json(&[
        "design",
        "demo@2",
        "--bucket",
        "self-harm",
        "--robust-over-groups",
        "--format",
        "json",
    ]);
    assert_eq!(v["criterion"], "e_robust");
    assert_eq!(v["status"], "optimal");
}

#[test]
fn design_input_errors_exit_2() {
    let d = Demo::new();
    for args in [
        &["design", "demo@2", "--bucket", "nope"][..],
        &["design", "demo@2"][..],
        &[
            "design",
            "demo@2",
            "--bucket",
            "self-harm",
            "--min-mass",
            "baseline/hedge=0.2",
        ][..],
        &[
            "design",
            "demo@2",
            "--bucket",
            "self-harm",
            "--min-mass",
            "shorten",
        ][..],
        &[
            "design",
            "demo@2",
            "--bucket",
            "self-harm",
            "--max-cost-per-label",
            "-1",
        ][..],
        &["design", "--instance", "missing.json"][..],
    ] {
        let out = d.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn plans_are_whole_numbers_within_budget_and_recorded() {
    let d = Demo::new();
    let targets = policy("precision-targets.yaml");
    let v = d.json(&[
        "plan", "demo@2", "--policy", &targets, "--budget", "1000", "--format", "json",
    ]);
    assert!(v["cost"].as_f64().expect("cost") <= 1000.0 + 1e-9);
    assert!(
        v["objective"].as_f64().expect("objective")
            <= v["continuous_objective"].as_f64().expect("c") + 1e-9
    );
    let mut total = 0.0;
    for b in v["buckets"].as_array().expect("buckets") {
        for a in b["arms"].as_array().expect("arms") {
            let count = a["count"].as_u64().expect("whole number");
            total += count as f64 * a["cost_per_label"].as_f64().expect("cost");
        }
    }
    assert!((total - v["cost"].as_f64().expect("cost")).abs() < 1e-6);

    // Without a budget: the cheapest plan that meets every target.
    let v = d.json(&["plan", "demo@2", "--policy", &targets, "--format", "json"]);
    assert_eq!(v["mode"], "meet-targets");
    assert!(
        v["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .all(|b| b["target_met"] == true)
    );

    // A policy without worst_se / total_information targets cannot be planned.
    let bad = d.root.join("no-targets.yaml");
    std::fs::write(
        &bad,
        "version: 1\nname: none\nrules:\n  - id: n\n    metric: n\n    op: \">=\"\n    threshold: 1\n",
    )
    .expect("write");
    let out = d.run(&["plan", "demo@2", "--policy", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bucket has a target"));

    let conn = rusqlite::Connection::open(d.root.join("d/overlap.db")).expect("db");
    let plans: i64 = conn
        .query_row("SELECT count(*) FROM plans", [], |r| r.get(0))
        .expect("count");
    // One from the demo, two above.
    assert_eq!(plans, 3);
}

#[test]
fn design_budget_is_renamed_to_max_cost_per_label_with_a_pointer() {
    let d = Demo::new();
    let out = d.run(&[
        "design",
        "demo@2",
        "--bucket",
        "self-harm",
        "--budget",
        "1.03",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("now `--max-cost-per-label`") && err.contains("is a total"),
        "{err}"
    );
}
