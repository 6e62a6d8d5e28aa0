//! Boundary tests of `overlap audit`: sampling (reproducible, ordered by independently computed
//! alignments, probes that cover both kinds or name the missing one), verdict import (every
//! validation case, nothing written on error, partly filled sheets), and status figures on a
//! hand-computed fixture, through the binary and through the library functions the gate reads.

use crate::common;

use common::{Env, assert_close, f};
use overlap::audit::{self, SampleRequest, SimulatedReview, Strategy};
use overlap::storage::Store;
use serde_json::{Value, json};

/// Bucket `b`: 40 comparisons whose x and y differences move together except every fifth, which
/// crosses them; bucket `c`: 12 comparisons that never cross. Per-side features, unit scales, so
/// Δφ̃ = Δφ. Returns (id, bucket, Δφ) computed exactly as the store computes a − b.
fn fixture(env: &Env) -> Vec<(String, String, [f64; 3])> {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    let mut push = |id: String, bucket: &str, x: f64, y: f64, z: f64, label: u8, text: bool| {
        let a = [x + 10.0, y + 10.0, z];
        let b = [10.0, 10.0, 0.0];
        let mut rec = json!({
            "id": id, "bucket": bucket, "label": label,
            "a": {"features": {"x": a[0], "y": a[1], "z": a[2]}},
            "b": {"features": {"x": b[0], "y": b[1], "z": b[2]}},
        });
        if text {
            rec["prompt"] = json!(format!("prompt of {id}"));
            rec["a"]["text"] = json!(format!("answer A of {id}"));
            rec["b"]["text"] = json!(format!("answer B of {id}"));
        }
        lines.push(rec.to_string());
        rows.push((
            id,
            bucket.to_string(),
            [a[0] - b[0], a[1] - b[1], a[2] - b[2]],
        ));
    };
    for i in 0..40u32 {
        // Half-integers: x is never zero.
        let x = f64::from((i * 7) % 11) - 5.5;
        let y = if i % 5 == 0 {
            -0.9 * x + 0.3
        } else {
            0.9 * x + 0.2
        };
        let z = f64::from((i * 3) % 7) - 3.0;
        let label = u8::from((i * 13) % 7 < 4);
        push(format!("b-{i:02}"), "b", x, y, z, label, i % 2 == 0);
    }
    for i in 0..12u32 {
        let x = f64::from((i * 5) % 11) - 5.5;
        let z = f64::from(i % 3) - 1.0;
        push(
            format!("c-{i:02}"),
            "c",
            x,
            0.5 * x + 0.1,
            z,
            u8::from(i % 3 != 0),
            false,
        );
    }
    env.write("data.jsonl", &(lines.join("\n") + "\n"));
    env.import("ds", "data.jsonl", &["--scales", "unit"]);
    rows
}

/// Runs `audit sample` into a new JSONL file; returns the JSON summary and the sheet rows.
fn sample(env: &Env, out: &str, extra: &[&str]) -> (Value, Vec<Value>) {
    let mut args = vec!["audit", "sample", "ds", "--output", out, "--format", "json"];
    args.extend_from_slice(extra);
    let summary = env.run(&args).expect_code(0).json();
    let rows = env
        .read(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a sheet row is JSON"))
        .collect();
    (summary, rows)
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r["comparison_id"]
                .as_str()
                .expect("comparison_id")
                .to_string()
        })
        .collect()
}

/// Writes a sheet in which `fill(row)` sets the verdict fields.
fn fill(env: &Env, name: &str, rows: &[Value], mut fill: impl FnMut(usize, &mut Value)) {
    let mut text = String::new();
    for (k, row) in rows.iter().enumerate() {
        let mut r = row.clone();
        fill(k, &mut r);
        text.push_str(&r.to_string());
        text.push('\n');
    }
    env.write(name, &text);
}

fn verdict(r: &mut Value, reviewer: &str, meaningful: bool, on_policy: bool) {
    r["reviewer"] = json!(reviewer);
    r["meaningful"] = json!(meaningful);
    r["on_policy"] = json!(on_policy);
}

#[test]
fn same_seed_same_sample() {
    let env = Env::initialized();
    fixture(&env);
    let args = [
        "--bucket",
        "b",
        "--n",
        "6",
        "--strategy",
        "weighted",
        "--seed",
        "11",
        "--pair",
        "x:y",
        "--include-audited",
    ];
    let (s1, r1) = sample(&env, "one.jsonl", &args);
    let (s2, r2) = sample(&env, "two.jsonl", &args);
    assert_eq!(s1["audit_id"], "audit-1");
    assert_eq!(s2["audit_id"], "audit-2");
    let strip = |rows: &[Value]| -> Vec<Value> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone();
                r["audit_id"] = Value::Null;
                r
            })
            .collect()
    };
    assert_eq!(strip(&r1), strip(&r2));
    assert_eq!(r1.len(), 6 + 1 + 1);
    assert_eq!(s1["seed"], 11);
    let (_, other) = sample(
        &env,
        "three.jsonl",
        &[
            "--bucket",
            "b",
            "--n",
            "6",
            "--strategy",
            "weighted",
            "--seed",
            "12",
            "--include-audited",
        ],
    );
    assert_ne!(ids(&other), ids(&r1[..6]));
    // The seed, strategy and direction are recorded with the sample.
    let status = env.json(&["audit", "status", "ds"]);
    let first = &status["samples"][0];
    assert_eq!(first["seed"], 11);
    assert_eq!(first["strategy"], "weighted");
    assert_eq!(first["items"], 8);
    assert_eq!(first["direction"], s1["direction"]);
}

#[test]
fn default_seed_is_recorded() {
    let env = Env::initialized();
    fixture(&env);
    let (s, _) = sample(&env, "s.jsonl", &["--bucket", "b", "--n", "3"]);
    assert_eq!(s["seed"], audit::DEFAULT_SEED);
    assert_eq!(s["strategy"], "top");
    assert_eq!(s["params"]["ridge"], 1e-4);
    assert_eq!(s["params"]["info_ridge"], 0.0);
}

#[test]
fn top_ordering_matches_independent_alignments() {
    let env = Env::initialized();
    let rows = fixture(&env);
    let analysis = env.json(&["analyze", "ds"]);
    let bucket = analysis["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .find(|b| b["bucket"] == "b")
        .expect("bucket b");
    let v: Vec<f64> = ["x", "y", "z"]
        .iter()
        .map(|k| f(&bucket["weakest_direction"][k]))
        .collect();
    let mut expected: Vec<(f64, String)> = rows
        .iter()
        .filter(|(_, b, _)| b == "b")
        .map(|(id, _, d)| {
            let dot: f64 = d.iter().zip(&v).map(|(a, b)| a * b).sum();
            let nd = d.iter().map(|a| a * a).sum::<f64>().sqrt();
            let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            (dot.abs() / (nd * nv), id.clone())
        })
        .collect();
    expected.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let (summary, sheet) = sample(&env, "top.jsonl", &["--bucket", "b", "--n", "10"]);
    assert_eq!(summary["direction"], bucket["weakest_direction"]);
    assert_eq!(sheet.len(), 10);
    for (k, row) in sheet.iter().enumerate() {
        assert_eq!(
            row["comparison_id"],
            expected[k].1.as_str(),
            "rank {}",
            k + 1
        );
        assert_close(f(&row["alignment"]), expected[k].0, 1e-12);
        assert_eq!(row["rank"], k + 1);
        assert_eq!(row["selected_by"], "weakest-direction");
        assert_eq!(row["bucket"], "b");
        assert_eq!(row["dataset"], "ds@1");
        assert!(row["meaningful"].is_null() && row["on_policy"].is_null());
        assert!(row["reviewer"].is_null() && row["note"].is_null());
        assert!(
            row.get("label").is_none(),
            "reviewers must not see the label"
        );
    }
    // Features of both sides, Δφ, and the texts when stored.
    let with_text = sheet
        .iter()
        .find(|r| r["prompt"].is_string())
        .expect("a row with texts");
    let id = with_text["comparison_id"].as_str().expect("id");
    assert_eq!(with_text["prompt"], format!("prompt of {id}"));
    assert_eq!(with_text["a"]["text"], format!("answer A of {id}"));
    assert_eq!(with_text["b"]["features"]["x"], 10.0);
    let (_, _, d) = rows.iter().find(|(i, _, _)| i == id).expect("row");
    assert_eq!(f(&with_text["delta"]["y"]), d[1]);
    // A second sample skips what the first holds, and takes the next ones in order.
    let (s2, next) = sample(&env, "next.jsonl", &["--bucket", "b", "--n", "5"]);
    assert_eq!(s2["excluded_audited"], 10);
    let want: Vec<String> = expected[10..15].iter().map(|e| e.1.clone()).collect();
    assert_eq!(ids(&next), want);
    let (_, again) = sample(
        &env,
        "again.jsonl",
        &["--bucket", "b", "--n", "5", "--include-audited"],
    );
    let want: Vec<String> = expected[..5].iter().map(|e| e.1.clone()).collect();
    assert_eq!(ids(&again), want);
}

#[test]
fn probes_cover_both_kinds_or_report_the_missing_one() {
    let env = Env::initialized();
    fixture(&env);
    let (s, rows) = sample(
        &env,
        "b.jsonl",
        &["--bucket", "b", "--n", "8", "--pair", "x:y"],
    );
    let probe = &s["probes"][0];
    assert_eq!(probe["features"], json!(["x", "y"]));
    assert_eq!(probe["requested"], 2);
    assert_eq!(probe["crossed"]["in_bucket"], 8);
    assert_eq!(probe["concordant"]["in_bucket"], 32);
    assert_eq!(probe["crossed"]["coverage"], "covered");
    assert_eq!(probe["crossed"]["drawn"], 2);
    assert_eq!(probe["concordant"]["drawn"], 2);
    let kinds: Vec<&str> = rows[8..]
        .iter()
        .map(|r| r["selected_by"].as_str().expect("selected_by"))
        .collect();
    assert_eq!(
        kinds,
        [
            "crossed-probe",
            "crossed-probe",
            "concordant-probe",
            "concordant-probe"
        ]
    );
    for r in &rows[8..] {
        let (x, y) = (f(&r["delta"]["x"]), f(&r["delta"]["y"]));
        let crossed = r["selected_by"] == "crossed-probe";
        assert_eq!(x * y < 0.0, crossed, "{r}");
    }
    // No probe repeats a comparison drawn along the direction.
    let mut all = ids(&rows);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), rows.len());

    // Bucket c never crosses x and y: the gap is reported plainly, and the summary says so.
    let (s, rows) = sample(
        &env,
        "c.jsonl",
        &["--bucket", "c", "--n", "4", "--pair", "x:y"],
    );
    let probe = &s["probes"][0];
    assert_eq!(probe["crossed"]["coverage"], "missing");
    assert_eq!(probe["crossed"]["drawn"], 0);
    assert_eq!(probe["concordant"]["drawn"], 1);
    assert!(
        rows.iter().all(|r| r["selected_by"] != "crossed-probe"),
        "no crossed row can exist"
    );
    let findings = s["findings"].to_string();
    assert!(
        findings.contains("no crossed x:y comparison in c"),
        "{findings}"
    );
    // The human summary (on stderr while the sheet goes to stdout) says it too.
    let run = env
        .run(&[
            "audit",
            "sample",
            "ds",
            "--bucket",
            "c",
            "--n",
            "4",
            "--pair",
            "x:y",
            "--include-audited",
        ])
        .expect_code(0)
        .stderr_has(&[
            "crossed 0 drawn, 0 in bucket",
            "MISSING",
            "finding: no crossed",
        ]);
    assert_eq!(run.stdout.lines().count(), 5);
}

#[test]
fn sample_rejects_bad_requests_and_writes_nothing() {
    let env = Env::initialized();
    fixture(&env);
    let before = env.row_counts();
    env.run(&["audit", "sample", "ds", "--bucket", "nope", "--n", "3"])
        .expect_code(2)
        .stderr_has(&["ds@1 has no bucket 'nope' (buckets: b, c)"]);
    env.run(&["audit", "sample", "ds", "--bucket", "b", "--n", "0"])
        .expect_code(2)
        .stderr_has(&["at least 1"]);
    env.run(&[
        "audit", "sample", "ds", "--bucket", "b", "--n", "3", "--pair", "x:w",
    ])
    .expect_code(2)
    .stderr_has(&["feature 'w'"]);
    env.run(&[
        "audit", "sample", "ds", "--bucket", "b", "--n", "3", "--output", "s.txt",
    ])
    .expect_code(2)
    .stderr_has(&["--output"]);
    // A sheet is never overwritten: it may already hold verdicts.
    env.write("taken.csv", "keep me\n");
    env.run(&[
        "audit",
        "sample",
        "ds",
        "--bucket",
        "b",
        "--n",
        "3",
        "--output",
        "taken.csv",
    ])
    .expect_code(2)
    .stderr_has(&["taken.csv already exists"]);
    assert_eq!(env.read("taken.csv"), "keep me\n");
    assert_eq!(env.row_counts(), before);
}

/// Draws `audit-1` (top 4 along the direction of b, one probe of each kind) as JSONL.
fn hand_fixture(env: &Env) -> Vec<Value> {
    fixture(env);
    let (_, rows) = sample(
        env,
        "sheet.jsonl",
        &["--bucket", "b", "--n", "4", "--pair", "x:y"],
    );
    assert_eq!(rows.len(), 6);
    rows
}

#[test]
fn verdicts_are_validated_with_file_line_and_field() {
    let env = Env::initialized();
    let rows = hand_fixture(&env);
    let before = env.row_counts();
    let check = |name: &str, needles: &[&str]| {
        env.run(&["audit", "record", name])
            .expect_code(2)
            .stderr_has(needles)
            .stderr_has(&["nothing recorded"]);
        assert_eq!(env.row_counts(), before, "{name} wrote something");
    };
    fill(&env, "unknown-audit.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, true);
        if k == 2 {
            r["audit_id"] = json!("audit-99");
        }
    });
    check(
        "unknown-audit.jsonl",
        &["unknown-audit.jsonl:3: audit_id: no audit-99 in this database"],
    );
    fill(&env, "bad-id.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, true);
        if k == 0 {
            r["audit_id"] = json!("sample-1");
        }
    });
    check(
        "bad-id.jsonl",
        &["bad-id.jsonl:1: audit_id: 'sample-1' is not an audit id"],
    );
    fill(&env, "unknown-comparison.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, true);
        if k == 1 {
            r["comparison_id"] = json!("c-00");
        }
    });
    check(
        "unknown-comparison.jsonl",
        &[
            "unknown-comparison.jsonl:2: comparison_id: 'c-00' is not in audit-1 (it holds 6 comparisons)",
        ],
    );
    fill(&env, "not-bool.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, true);
        if k == 4 {
            r["on_policy"] = json!("sometimes");
        }
        if k == 5 {
            r["meaningful"] = json!(1);
        }
    });
    check(
        "not-bool.jsonl",
        &[
            "not-bool.jsonl:5: on_policy: expected true or false, found 'sometimes'",
            "not-bool.jsonl:6: meaningful: expected true or false, found 1",
        ],
    );
    fill(&env, "half.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, true);
        if k == 3 {
            r["on_policy"] = Value::Null;
        }
    });
    check(
        "half.jsonl",
        &["half.jsonl:4: on_policy: empty while meaningful is filled"],
    );
    fill(&env, "no-reviewer.jsonl", &rows, |_, r| {
        r["meaningful"] = json!(true);
        r["on_policy"] = json!(true);
    });
    check(
        "no-reviewer.jsonl",
        &["no-reviewer.jsonl:1: reviewer: empty: fill in the reviewer column or pass --reviewer"],
    );
    // The same reviewer twice on one comparison within a file.
    let mut doubled = rows.clone();
    doubled.push(rows[0].clone());
    fill(&env, "twice.jsonl", &doubled, |_, r| {
        verdict(r, "ann", true, true)
    });
    check(
        "twice.jsonl",
        &[
            "twice.jsonl:7: reviewer: 'ann' judges",
            "a second time (first at line 1)",
        ],
    );
    // Another version's sheet cannot be passed off as this one's.
    fill(&env, "other-version.jsonl", &rows, |_, r| {
        verdict(r, "ann", true, true);
        r["dataset"] = json!("ds@2");
    });
    check(
        "other-version.jsonl",
        &["other-version.jsonl:1: dataset: audit-1 was drawn from ds@1, not 'ds@2'"],
    );
    env.write("not-json.jsonl", "{\"audit_id\": \n");
    check("not-json.jsonl", &["not-json.jsonl:1: not valid JSON"]);
    env.write("no-columns.csv", "audit_id,comparison_id\naudit-1,b-00\n");
    check(
        "no-columns.csv",
        &["no-columns.csv:1: meaningful: missing column"],
    );
    env.run(&["audit", "record", "sheet.txt"])
        .expect_code(2)
        .stderr_has(&["cannot tell the format"]);

    // A valid sheet records; the same sheet again is recognized as already recorded; a second,
    // different verdict by the same reviewer is refused (append-only).
    fill(&env, "ann.jsonl", &rows, |_, r| {
        verdict(r, "ann", true, true)
    });
    let report = env.json(&["audit", "record", "ann.jsonl"]);
    assert_eq!(report["recorded"], 6);
    let report = env.json(&["audit", "record", "ann.jsonl"]);
    assert_eq!(report["recorded"], 0);
    assert_eq!(report["already_recorded"], 6);
    let after_ann = env.row_counts();
    fill(&env, "ann-again.jsonl", &rows, |k, r| {
        verdict(r, "ann", true, k != 2);
    });
    env.run(&["audit", "record", "ann-again.jsonl"])
        .expect_code(2)
        .stderr_has(&[
            "ann-again.jsonl:3: reviewer: 'ann' already has a verdict on",
            "verdicts are append-only",
        ]);
    assert_eq!(env.row_counts(), after_ann);
    // --reviewer fills empty reviewer fields and must not contradict a filled one.
    fill(&env, "bob.jsonl", &rows, |k, r| {
        r["meaningful"] = json!(true);
        r["on_policy"] = json!(true);
        if k == 0 {
            r["reviewer"] = json!("carol");
        }
    });
    env.run(&["audit", "record", "bob.jsonl", "--reviewer", "bob"])
        .expect_code(2)
        .stderr_has(&["bob.jsonl:1: reviewer: the row names 'carol' but --reviewer is 'bob'"]);
    assert_eq!(env.row_counts(), after_ann);
}

#[test]
fn partly_filled_sheets_record_what_is_filled_and_say_what_was_skipped() {
    let env = Env::initialized();
    fixture(&env);
    env.run(&[
        "audit",
        "sample",
        "ds",
        "--bucket",
        "b",
        "--n",
        "4",
        "--output",
        "sheet.csv",
    ])
    .expect_code(0)
    .stdout_has(&["audit-1: 4 comparisons of ds@1 / b for review → sheet.csv"]);
    // Fill the first two rows the way a spreadsheet writes them (CRLF, TRUE/FALSE, yes).
    let mut reader = csv::Reader::from_path(env.path("sheet.csv")).expect("read the sheet");
    let header = reader.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(env.path("filled.csv"))
        .expect("write the filled sheet");
    writer.write_record(&header).expect("header");
    for (k, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.expect("record").iter().map(String::from).collect();
        let filled = match k {
            0 => Some(("TRUE", "FALSE", "too long")),
            1 => Some(("yes", "yes", "")),
            _ => None,
        };
        if let Some((m, p, note)) = filled {
            fields[col("meaningful")] = m.into();
            fields[col("on_policy")] = p.into();
            fields[col("note")] = note.into();
        }
        writer.write_record(&fields).expect("record");
    }
    writer.flush().expect("flush");
    env.run(&["audit", "record", "filled.csv", "--reviewer", "dee"])
        .expect_code(0)
        .stdout_has(&[
            "recorded 2 verdicts from filled.csv (audit-1: 2)",
            "skipped 2 rows whose verdict fields are empty (lines 4, 5)",
        ]);
    let status = env.json(&["audit", "status", "ds"]);
    let b = &status["buckets"][0];
    assert_eq!(b["bucket"], "b");
    assert_eq!(b["sampled"], 4);
    assert_eq!(b["audited"], 2);
    assert_eq!(b["passed"], 1);
}

/// An empty or unfilled sheet is an error, not "recorded 0 verdicts"; a sheet whose verdict says a
/// field twice is refused (the last value would silently win).
#[test]
fn empty_unfilled_and_ambiguous_sheets_record_nothing() {
    let env = Env::initialized();
    let rows = hand_fixture(&env);
    let before = env.row_counts();
    env.write("empty.jsonl", "");
    env.run(&["audit", "record", "empty.jsonl"])
        .expect_code(2)
        .stderr_has(&["empty.jsonl holds no review rows: nothing recorded"]);
    fill(&env, "unfilled.jsonl", &rows, |_, _| {});
    env.run(&["audit", "record", "unfilled.jsonl", "--reviewer", "ann"])
        .expect_code(2)
        .stderr_has(&[
            "unfilled.jsonl has no filled verdicts (6 rows",
            "nothing recorded",
        ]);
    fill(&env, "twice.jsonl", &rows, |_, r| {
        verdict(r, "ann", true, true)
    });
    let text = env.read("twice.jsonl");
    let first = text.lines().next().expect("a row");
    let doubled = format!(
        "{},\"meaningful\":false}}\n{}",
        first.trim_end_matches('}'),
        text.lines().skip(1).collect::<Vec<_>>().join("\n")
    );
    env.write("twice.jsonl", &doubled);
    env.run(&["audit", "record", "twice.jsonl"])
        .expect_code(2)
        .stderr_has(&["twice.jsonl:1:", "duplicate key 'meaningful'"]);
    assert_eq!(env.row_counts(), before);
}

/// Wilson 95% score interval, written out independently of the library.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let z = 1.959963984540054_f64;
    let p = k / n;
    let c = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let h = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (c - h, c + h)
}

#[test]
fn status_figures_on_a_hand_computed_fixture() {
    let env = Env::initialized();
    let rows = hand_fixture(&env);
    // Rows 0–3 along the direction, 4 crossed probe, 5 concordant probe.
    // ann: T/T, T/F, T/T, F/T, T/T, T/T;  bob (first three): T/T, T/T, F/T.
    let ann = [
        (true, true),
        (true, false),
        (true, true),
        (false, true),
        (true, true),
        (true, true),
    ];
    fill(&env, "ann.jsonl", &rows, |k, r| {
        verdict(r, "ann", ann[k].0, ann[k].1)
    });
    let bob = [(true, true), (true, true), (false, true)];
    fill(&env, "bob.jsonl", &rows, |k, r| {
        if let Some(&(m, p)) = bob.get(k) {
            verdict(r, "bob", m, p);
        }
    });
    env.ok(&["audit", "record", "ann.jsonl"]);
    env.run(&["audit", "record", "bob.jsonl"])
        .expect_code(0)
        .stdout_has(&["recorded 3 verdicts", "skipped 3 rows"]);

    // Per comparison (pass = meaningful ∧ on-policy, strict majority, ties fail):
    // r0 pass+pass → pass; r1 fail+pass → tie; r2 pass+fail → tie; r3 fail; p1 pass; p2 pass.
    let s = env.json(&["audit", "status", "ds"]);
    assert_eq!(s["min_pass_rate"], 0.8);
    assert_eq!(s["pass_rule"], audit::PASS_RULE);
    let b = &s["buckets"][0];
    assert_eq!(b["bucket"], "b");
    assert_eq!(b["sampled"], 6);
    assert_eq!(b["audited"], 6);
    assert_eq!(b["passed"], 3);
    assert_eq!(f(&b["pass_rate"]), 0.5);
    let (lo, hi) = wilson(3.0, 6.0);
    assert_close(f(&b["wilson_low"]), lo, 1e-14);
    assert_close(f(&b["wilson_high"]), hi, 1e-14);
    assert_eq!(b["split"], 2);
    assert_eq!(b["meaningful"], 4);
    assert_eq!(b["on_policy"], 5);
    assert_eq!(b["verdicts"], 9);
    assert_eq!(b["reviewers"], 2);
    let along = &b["along_direction"];
    assert_eq!(along["audited"], 4);
    assert_eq!(along["passed"], 1);
    assert_eq!(f(&along["pass_rate"]), 0.25);
    let (lo, hi) = wilson(1.0, 4.0);
    assert_close(f(&along["wilson_low"]), lo, 1e-14);
    assert_close(f(&along["wilson_high"]), hi, 1e-14);
    assert_eq!(b["illusory_overlap"], true);
    // ann/bob share r0–r2 with pass verdicts (T,T), (F,T), (T,F): p_o = 1/3,
    // p_e = (2/3)(2/3) + (1/3)(1/3) = 5/9, κ = (1/3 − 5/9)/(1 − 5/9) = −1/2.
    let agreement = &b["agreement"][0];
    assert_eq!(agreement["reviewers"], json!(["ann", "bob"]));
    assert_eq!(agreement["shared"], 3);
    assert_close(f(&agreement["agreement"]), 1.0 / 3.0, 1e-15);
    assert_close(f(&agreement["kappa"]), -0.5, 1e-15);
    let c = &s["buckets"][1];
    assert_eq!(c["bucket"], "c");
    assert_eq!(c["audited"], 0);
    assert!(c["pass_rate"].is_null() && c["illusory_overlap"].is_null());
    assert_eq!(s["samples"][0]["verdicts"], 9);

    // The threshold moves the flag.
    let s = env.json(&["audit", "status", "ds", "--min-pass-rate", "0.25"]);
    assert_eq!(s["buckets"][0]["illusory_overlap"], false);
    env.run(&["audit", "status", "ds", "--min-pass-rate", "1.5"])
        .expect_code(2)
        .stderr_has(&["--min-pass-rate must be between 0 and 1"]);
    env.run(&["audit", "status", "ds"])
        .expect_code(0)
        .stdout_has(&[
            "ILLUSORY OVERLAP",
            "0.25 (1/4)",
            "agreement ann/bob on 3 comparisons: 0.3333 agree, κ -0.5",
            "2 comparisons split evenly",
            "unaudited",
        ]);

    // The library function the gate and reports read gives the same figures.
    let store = Store::open(env.db()).expect("open the database");
    let info = store.resolve(&"ds@1".parse().expect("ref")).expect("ds@1");
    let summaries = audit::audit_summaries(&store, &info).expect("summaries");
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].bucket, "b");
    assert_eq!(summaries[0].audited, 6);
    assert_eq!(summaries[0].pass_rate, Some(0.5));
    assert_close(
        summaries[0].wilson_low.expect("low"),
        wilson(3.0, 6.0).0,
        1e-14,
    );
    assert_eq!(summaries[1].bucket, "c");
    assert_eq!(summaries[1].audited, 0);
    assert_eq!(summaries[1].pass_rate, None);
    assert_eq!(summaries[0].along_direction_audited, 4);
    assert_eq!(summaries[0].along_direction_pass_rate, Some(0.25));
    assert_eq!(summaries[0].illusory_overlap, Some(true));
    assert_eq!(summaries[1].illusory_overlap, None);

    // The nutrition label carries the flag: in its audits table, its alerts and its badge.
    std::fs::write(
        env.path("p.yaml"),
        "version: 1\nname: p\nrules:\n  - id: enough\n    metric: n\n    op: \">=\"\n    threshold: 1\n",
    )
    .expect("policy");
    let policy = env.path("p.yaml").display().to_string();
    let label = env.path("label.md").display().to_string();
    env.ok(&[
        "report", "label", "ds", "--policy", &policy, "--output", &label,
    ]);
    let md = std::fs::read_to_string(&label).expect("label");
    assert!(
        md.contains(
            "| b | 6 | 50.0% (18.8%–81.2%) | 25.0% of 4 | **ILLUSORY OVERLAP** (below 80.0%) |"
        ),
        "{md}"
    );
    assert!(md.contains("ILLUSORY OVERLAP in 'b'"), "{md}");
    assert!(
        md.contains("**audits**: 6 audited; ILLUSORY OVERLAP in b ⛔"),
        "{md}"
    );
}

#[test]
fn simulated_verdicts_are_deterministic_and_recordable() {
    let env = Env::initialized();
    fixture(&env);
    let mut store = Store::open(env.db()).expect("open the database");
    let info = store.resolve(&"ds".parse().expect("ref")).expect("ds");
    let request = SampleRequest {
        strategy: Strategy::Weighted,
        pairs: vec![["x".into(), "y".into()]],
        seed: 5,
        ..SampleRequest::new("b", 8)
    };
    let prepared = audit::prepare_sample(&store, &info, &request).expect("prepare");
    assert_eq!(
        prepared,
        audit::prepare_sample(&store, &info, &request).expect("prepare again")
    );
    let recorded =
        audit::record_sample(
            &mut store,
            prepared,
            "2026-01-01T00:00:00Z",
            "t",
            |_| Ok(()),
        )
        .expect("record");
    assert_eq!(recorded.audit_id.to_string(), "audit-1");
    let review = SimulatedReview {
        reviewers: vec!["sim-a".into(), "sim-b".into()],
        meaningful_along: 0.6,
        on_policy_along: 0.9,
        meaningful_probe: 0.95,
        on_policy_probe: 0.95,
        accuracy: 0.9,
        second_opinion: 0.5,
        seed: 3,
    };
    let verdicts = audit::simulate_verdicts(&recorded.rows, &review).expect("simulate");
    assert_eq!(
        verdicts,
        audit::simulate_verdicts(&recorded.rows, &review).expect("again")
    );
    assert!(verdicts.len() >= recorded.rows.len());
    let report = audit::record_verdicts(
        &mut store,
        "simulated",
        verdicts.clone(),
        None,
        "2026-01-01T00:00:00Z",
        "t",
    )
    .expect("recordable");
    assert_eq!(report.recorded, verdicts.len() as u64);
    let status = audit::status(&store, &info, 0.8).expect("status");
    assert_eq!(
        status.buckets[0].overall.audited,
        recorded.rows.len() as u64
    );
    let bad = SimulatedReview {
        accuracy: 1.5,
        ..review
    };
    assert!(audit::simulate_verdicts(&recorded.rows, &bad).is_err());
}

#[test]
fn audit_tables_are_append_only() {
    let env = Env::initialized();
    let rows = hand_fixture(&env);
    fill(&env, "ann.jsonl", &rows, |_, r| {
        verdict(r, "ann", true, true)
    });
    env.ok(&["audit", "record", "ann.jsonl"]);
    let conn = env.sqlite();
    for sql in [
        "UPDATE audit_verdicts SET meaningful = 0",
        "DELETE FROM audit_verdicts",
        "DELETE FROM audit_items",
        "UPDATE audit_samples SET seed = '1'",
    ] {
        let err = conn.execute(sql, []).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
