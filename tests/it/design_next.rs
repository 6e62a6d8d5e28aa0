//! `overlap design next` end to end on the demo database: whole-number work orders that respect
//! the exploration floor and the budget, reproducible Thompson orders, lcb pilots, candidate files
//! (ranking, margin band, arms that run short), CSV output, and the recorded work orders.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

/// A demo database in a fresh temporary directory.
struct Demo {
    dir: TempDir,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Demo {
    fn new() -> Demo {
        Demo {
            dir: crate::common::demo_copy(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("d").join("overlap.db")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn raw(&self, args: &[&str]) -> Out {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_overlap"))
            .current_dir(self.dir.path())
            .env_remove("OVERLAP_DB")
            .env("OVERLAP_ACTOR", "tester")
            .args(args)
            .output()
            .expect("run overlap");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `overlap --db d/overlap.db design next demo@2 --bucket self-harm ARGS…`
    fn next(&self, args: &[&str]) -> Out {
        let db = self.db();
        let mut all: Vec<&str> = vec![
            "--db",
            db.to_str().expect("utf-8 path"),
            "design",
            "next",
            "demo@2",
            "--bucket",
            "self-harm",
        ];
        all.extend(args);
        self.raw(&all)
    }

    fn next_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.next(&all);
        assert_eq!(out.code, 0, "design next {args:?} failed:\n{}", out.stderr);
        serde_json::from_str(&out.stdout).expect("JSON work order")
    }
}

fn lines(order: &Value) -> &Vec<Value> {
    order["order"]["arms"].as_array().expect("arms")
}

fn count(order: &Value, arm: &str) -> u64 {
    lines(order)
        .iter()
        .find(|a| a["arm"] == arm)
        .and_then(|a| a["count"].as_u64())
        .unwrap_or_else(|| panic!("no whole-number count for {arm}"))
}

/// Counts are whole numbers summing to the batch, and the order's cost is their priced sum.
fn check_whole(order: &Value, batch: u64) {
    let mut total = 0;
    let mut cost = 0.0;
    for a in lines(order) {
        let n = a["count"].as_u64().expect("a whole-number count");
        let parts: u64 = ["floor", "pilot", "designed"]
            .iter()
            .map(|k| a[*k].as_u64().expect("whole parts"))
            .sum();
        assert_eq!(n, parts, "{a}");
        total += n;
        cost += n as f64 * a["cost_per_label"].as_f64().expect("cost per label");
    }
    assert_eq!(total, batch);
    let stated = order["order"]["cost"].as_f64().expect("cost");
    assert!(
        (stated - cost).abs() < 1e-9 * cost.max(1.0),
        "{stated} vs {cost}"
    );
}

#[test]
fn the_issue_example_gives_a_whole_number_order_with_a_prediction() {
    let demo = Demo::new();
    let out = demo.next(&["--batch", "100"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("next batch of 100 labels (plugin)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(predicted)"), "{}", out.stdout);
    assert!(out.stdout.contains("unexplored arms"), "{}", out.stdout);
    let order = demo.next_json(&["--batch", "100"]);
    check_whole(&order, 100);
    let before = order["order"]["before"]["labels"]
        .as_u64()
        .expect("labels before");
    let after = &order["order"]["after"];
    assert_eq!(after["labels"].as_u64(), Some(before + 100));
    assert!(after["lambda_min"].as_f64().is_some_and(|l| l > 0.0));
    assert!(after["worst_se"].as_f64().is_some_and(|s| s > 0.0));
    // Arms without data are named, each with a pilot (15 of the 21 the registry can produce).
    let unexplored = order["order"]["unexplored"].as_array().expect("unexplored");
    assert_eq!(unexplored.len(), 15);
    for arm in unexplored {
        let line = lines(&order)
            .iter()
            .find(|a| &a["arm"] == arm)
            .expect("line");
        assert!(line["pilot"].as_u64().is_some_and(|p| p > 0), "{line}");
    }
}

#[test]
fn the_exploration_floor_the_budget_and_whole_numbers_hold_for_every_strategy() {
    let demo = Demo::new();
    let arms = "baseline,baseline/expand,baseline/shorten,hedge/shorten,baseline/hedge";
    for strategy in ["plugin", "lcb", "thompson"] {
        for (batch, explore) in [(100u64, "0.25"), (37, "0.5"), (250, "0")] {
            let b = batch.to_string();
            let order = demo.next_json(&[
                "--batch",
                &b,
                "--strategy",
                strategy,
                "--explore",
                explore,
                "--arms",
                arms,
                "--seed",
                "5",
            ]);
            check_whole(&order, batch);
            let gamma: f64 = explore.parse().expect("γ");
            let floor = (gamma * batch as f64).ceil() as u64;
            assert!(
                count(&order, "baseline") >= floor,
                "{strategy} {batch} {explore}"
            );
            // Within a budget a little above the cheapest batch, the cost stays under it.
            let cheapest = batch as f64 * 1.03;
            let capped = demo.next_json(&[
                "--batch",
                &b,
                "--strategy",
                strategy,
                "--explore",
                explore,
                "--arms",
                arms,
                "--budget",
                &format!("{cheapest}"),
            ]);
            check_whole(&capped, batch);
            let cost = capped["order"]["cost"].as_f64().expect("cost");
            assert!(cost <= cheapest + 1e-9, "{strategy}: {cost} > {cheapest}");
        }
    }
}

#[test]
fn an_unaffordable_budget_is_refused_with_the_cheapest_cost() {
    let demo = Demo::new();
    let out = demo.next(&["--batch", "100", "--budget", "50"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot buy this batch"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("raise --budget"), "{}", out.stderr);
    let out = demo.next(&["--batch", "100", "--explore", "1.5"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--explore"), "{}", out.stderr);
    let db = demo.db();
    let out = demo.raw(&[
        "--db",
        db.to_str().expect("utf-8"),
        "design",
        "next",
        "demo@2",
        "--bucket",
        "nope",
        "--batch",
        "10",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no bucket 'nope'"), "{}", out.stderr);
}

#[test]
fn thompson_orders_are_reproducible_for_a_seed() {
    let demo = Demo::new();
    let args = [
        "--batch",
        "120",
        "--strategy",
        "thompson",
        "--arms",
        "baseline,baseline/expand,baseline/shorten,hedge/shorten",
    ];
    let run = |seed: &str| {
        let mut all = args.to_vec();
        all.extend(["--seed", seed]);
        demo.next_json(&all)["order"].clone()
    };
    assert_eq!(run("9"), run("9"));
}

#[test]
fn candidates_fill_each_arm_and_report_shortfalls() {
    let demo = Demo::new();
    // Unlabeled candidates in the import format: the demo's own active file without labels,
    // ids renamed; only 3 pairs in baseline/shorten, so that arm may run short.
    let active = std::fs::read_to_string(demo.path("d/active.jsonl")).expect("active.jsonl");
    let mut shorten = 0;
    let mut out = String::new();
    for (i, line) in active.lines().enumerate() {
        let mut v: Value = serde_json::from_str(line).expect("a JSON record");
        let obj = v.as_object_mut().expect("an object");
        obj.remove("label");
        obj.insert("id".into(), Value::from(format!("cand-{i}")));
        let arm_is_shorten = obj["bucket"] == "self-harm"
            && (obj["a"]["intervention"] == "shorten" || obj["b"]["intervention"] == "shorten")
            && (obj["a"]["intervention"].is_null() || obj["b"]["intervention"].is_null());
        if arm_is_shorten {
            shorten += 1;
            if shorten > 3 {
                continue;
            }
        }
        out.push_str(&serde_json::to_string(&v).expect("json"));
        out.push('\n');
    }
    std::fs::write(demo.path("cands.jsonl"), out).expect("write candidates");
    let order = demo.next_json(&[
        "--batch",
        "60",
        "--arms",
        "baseline/expand,baseline/shorten",
        "--candidates",
        "cands.jsonl",
    ]);
    check_whole(&order, 60);
    let supply = order["candidates"]["arms"].as_array().expect("supply");
    for s in supply {
        let requested = s["requested"].as_u64().expect("requested");
        let selected = s["selected"].as_u64().expect("selected");
        assert_eq!(s["short"].as_u64(), Some(requested - selected), "{s}");
        assert!(selected <= s["in_band"].as_u64().expect("in band"));
    }
    let short = supply
        .iter()
        .find(|s| s["arm"] == "baseline/shorten")
        .expect("line");
    assert_eq!(short["candidates"], 3);
    let picks = order["candidates"]["picks"].as_array().expect("picks");
    let chosen: u64 = supply
        .iter()
        .map(|s| s["selected"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(picks.len() as u64, chosen);
    // Best first within an arm.
    for pair in picks.windows(2) {
        if pair[0]["arm"] == pair[1]["arm"] {
            assert!(pair[0]["score"].as_f64() >= pair[1]["score"].as_f64());
        }
    }
    // A margin band keeps only candidates whose |margin| is within the band.
    let banded = demo.next_json(&[
        "--batch",
        "60",
        "--arms",
        "baseline/expand,baseline/shorten",
        "--candidates",
        "cands.jsonl",
        "--margin-target",
        "1.0",
        "--margin-band",
        "0.25",
    ]);
    for p in banded["candidates"]["picks"].as_array().expect("picks") {
        let m = p["margin"].as_f64().expect("margin").abs();
        assert!((0.75..=1.25).contains(&m), "{p}");
    }
    // The human form says which arm ran short when one did.
    let human = demo.next(&[
        "--batch",
        "60",
        "--arms",
        "baseline/shorten",
        "--candidates",
        "cands.jsonl",
    ]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(human.stdout.contains("SHORT by"), "{}", human.stdout);
    assert!(human.stdout.contains("ran short"), "{}", human.stdout);
}

#[test]
fn csv_output_has_one_line_per_arm() {
    let demo = Demo::new();
    let out = demo.next(&[
        "--batch",
        "50",
        "--arms",
        "baseline,baseline/expand",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert!(rows[0].starts_with("arm,count,floor,pilot,designed,share"));
    assert_eq!(rows.len(), 3);
    let total: u64 = rows[1..]
        .iter()
        .map(|r| {
            r.split(',')
                .nth(1)
                .and_then(|c| c.parse::<u64>().ok())
                .expect("count")
        })
        .sum();
    assert_eq!(total, 50);
}

#[test]
fn every_work_order_is_recorded_with_its_lines() {
    let demo = Demo::new();
    let first = demo.next_json(&["--batch", "40", "--arms", "baseline,baseline/expand"]);
    let second = demo.next_json(&["--batch", "30", "--strategy", "lcb"]);
    let store = overlap::storage::Store::open(Path::new(&demo.db())).expect("open the demo db");
    let orders = store.work_orders("demo").expect("work orders");
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].id, first["work_order"].as_i64().expect("id"));
    assert_eq!(orders[1].id, second["work_order"].as_i64().expect("id"));
    assert_eq!(orders[0].batch, 40);
    assert_eq!(orders[1].strategy, "lcb");
    let planned: u64 = orders[0].lines.iter().map(|l| l.count).sum();
    assert_eq!(planned, 40);
    assert_eq!(orders[0].lines.len(), 2);
    assert_eq!(orders[1].lines.len(), 21);
}
