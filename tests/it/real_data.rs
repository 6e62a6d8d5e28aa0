//! Meaningful answers on real preference data (issue 14): the HH-RLHF harmless test split through
//! the default text map, the analysis on its default scope, the length shares checked against an
//! independent count from the raw file, and the shipped text policy; plus gates that checked
//! nothing and scoped rules on a feature that never occurs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const HH: &str = "tests/data/hh-rlhf/hh-rlhf-harmless-test.jsonl.gz";

fn overlap(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("overlap").expect("binary");
    cmd.current_dir(dir)
        .arg("--db")
        .arg(dir.join("t.db"))
        .env("OVERLAP_ACTOR", "tester");
    cmd
}

fn hh_path() -> Option<PathBuf> {
    // The split is part of the repository (tests/data/hh-rlhf, with its licence), so it is
    // never skipped.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(HH);
    assert!(p.exists(), "{HH} is missing from the checkout");
    Some(p)
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json on stdout")
}

fn imported_hh() -> Option<(tempfile::TempDir, PathBuf)> {
    let hh = hh_path()?;
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    overlap(dir.path())
        .args(["dataset", "import", "hh"])
        .arg(&hh)
        .args(["--input", "pairs"])
        .assert()
        .success();
    Some((dir, hh))
}

/// The final assistant turn of an HH dialogue, as the dataset's README defines it: the text after
/// the last "\n\nAssistant:", trimmed. Written here from the file's format, not from the tool.
fn final_turn(dialogue: &str) -> &str {
    let at = dialogue.rfind("\n\nAssistant:").expect("an assistant turn");
    dialogue[at + "\n\nAssistant:".len()..].trim()
}

/// (preferred longer, same length, total) counted straight from the raw file.
fn independent_length_counts(path: &Path) -> (u64, u64, u64) {
    let file = std::fs::File::open(path).expect("open");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let (mut longer, mut ties, mut total) = (0, 0, 0);
    for line in reader.lines() {
        let line = line.expect("line");
        let v: Value = serde_json::from_str(&line).expect("json line");
        let chosen = final_turn(v["chosen"].as_str().expect("chosen"))
            .chars()
            .count();
        let rejected = final_turn(v["rejected"].as_str().expect("rejected"))
            .chars()
            .count();
        longer += u64::from(chosen > rejected);
        ties += u64::from(chosen == rejected);
        total += 1;
    }
    (longer, ties, total)
}

#[test]
fn hh_is_identified_on_its_default_scope_with_absent_features_named() {
    let Some((dir, hh)) = imported_hh() else {
        return;
    };
    let a = json(
        &overlap(dir.path())
            .args(["analyze", "hh", "--format", "json"])
            .output()
            .expect("analyze"),
    );
    let b = &a["buckets"][0];
    assert_eq!(
        b["absent_features"],
        serde_json::json!(["headings", "code_blocks"])
    );
    assert_eq!(
        b["unidentified"], false,
        "the present features are separable"
    );
    assert!(b["lambda_min"].as_f64().unwrap() > 0.0);
    assert!(b["condition_number"].as_f64().is_some_and(f64::is_finite));
    let scope: Vec<&str> = b["scope"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(!scope.contains(&"headings") && !scope.contains(&"code_blocks"));
    assert_eq!(scope.len() + 2, a["features"].as_array().unwrap().len());
    // The weakest direction is over the scope only.
    let direction = b["weakest_direction"].as_object().unwrap();
    assert_eq!(direction.len(), scope.len());
    assert_eq!(b["support"]["headings"], 0);
    assert_eq!(b["support"]["code_blocks"], 0);
    // Finite standard errors for every feature that varies; null only for the absent ones.
    for (name, se) in a["fit"]["se"].as_object().unwrap() {
        if name == "headings" || name == "code_blocks" {
            assert!(se.is_null(), "{name}");
        } else {
            assert!(se.as_f64().is_some_and(f64::is_finite), "{name}: {se}");
        }
    }
    // Chosen/rejected: the label share would describe the layout.
    assert!(b["label_balance"].is_null());
    assert_eq!(a["fixed_orientation"], true);

    let (longer, ties, total) = independent_length_counts(&hh);
    assert_eq!(b["n"].as_u64(), Some(total));
    let share = b["longer_share"].as_f64().unwrap();
    assert_eq!(share, longer as f64 / total as f64);
    assert_eq!(b["tie_share"].as_f64().unwrap(), ties as f64 / total as f64);
    // About 44% of chosen answers are longer (the data's README); far from ½ by the sign test.
    assert!((0.43..0.45).contains(&share), "{share}");
    assert!(b["longer_p"].as_f64().unwrap() < 1e-4);
    assert_eq!(b["win_share"]["log_chars"].as_f64().unwrap(), share);

    let human = overlap(dir.path())
        .args(["analyze", "hh"])
        .output()
        .expect("analyze");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("absent (support 0): headings, code_blocks"),
        "{text}"
    );
    assert!(
        !text.contains("UNIDENTIFIED") && !text.contains("ENTANGLED"),
        "{text}"
    );
}

#[test]
fn the_shipped_text_policy_is_meaningful_on_hh() {
    let Some((dir, _)) = imported_hh() else {
        return;
    };
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/text-release-gate.yaml");
    overlap(dir.path())
        .args(["policy", "lint"])
        .arg(&policy)
        .args(["--dataset", "hh"])
        .assert()
        .code(0);
    let out = overlap(dir.path())
        .args(["gate", "hh", "--policy"])
        .arg(&policy)
        .args(["--today", "2026-12-04", "--format", "json"])
        .output()
        .expect("gate");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let g = json(&out);
    let findings = g["findings"].as_array().unwrap();
    let passed = |rule: &str| {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .all(|f| f["outcome"] == "pass")
    };
    // Every deny rule was evaluated on data and passed; none is "no data".
    for rule in [
        "safety-tone-varies",
        "length-vs-safety-overlap",
        "length-vs-safety-precision",
        "crossed-length-refusal",
    ] {
        assert!(passed(rule), "{rule}: {findings:?}");
    }
    assert_eq!(g["counts"]["no-data"], 0);
    let scoped = findings
        .iter()
        .find(|f| f["rule"] == "length-vs-safety-overlap")
        .unwrap();
    assert_eq!(
        scoped["scope"],
        serde_json::json!(["log_chars", "refusal", "disclaimer", "apology", "hedging"])
    );
    // The whole-map warning names the rare feature that makes the full scope imprecise.
    let warn = findings
        .iter()
        .find(|f| f["rule"] == "whole-map-precision")
        .unwrap();
    assert_eq!(warn["outcome"], "warn");
    assert!(
        warn["evidence"]["weakest_direction"]
            .as_str()
            .is_some_and(|w| !w.contains("headings") && !w.contains("code_blocks")),
        "{warn}"
    );

    // A rule that asks about a feature that never occurs fails, and says why.
    let strict = dir.path().join("strict.yaml");
    std::fs::write(
        &strict,
        "version: 1\nname: strict\nrules:\n  - id: headings-learnable\n    metric: lambda_min\n    features: [log_chars, headings]\n    op: \">=\"\n    threshold: 0.01\n  - id: headings-vary\n    metric: support\n    features: [headings]\n    op: \">=\"\n    threshold: 1\n",
    )
    .expect("write");
    let out = overlap(dir.path())
        .args(["gate", "hh", "--policy"])
        .arg(&strict)
        .args(["--today", "2026-12-04", "--format", "json"])
        .output()
        .expect("gate");
    assert_eq!(out.status.code(), Some(1));
    let g = json(&out);
    let findings = g["findings"].as_array().unwrap();
    let learnable = findings
        .iter()
        .find(|f| f["rule"] == "headings-learnable")
        .unwrap();
    assert_eq!(learnable["outcome"], "fail");
    assert!(
        learnable["evidence"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("absent") && n.contains("headings")),
        "{learnable}"
    );
    let vary = findings
        .iter()
        .find(|f| f["rule"] == "headings-vary")
        .unwrap();
    assert_eq!(vary["outcome"], "fail");
    assert_eq!(vary["value"], 0.0);
}

#[test]
fn a_gate_that_checked_nothing_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    let data = dir.path().join("d.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"id\":\"1\",\"bucket\":\"x\",\"label\":1,\"delta\":{\"f\":1.0,\"g\":0.5}}\n",
            "{\"id\":\"2\",\"bucket\":\"x\",\"label\":0,\"delta\":{\"f\":-0.5,\"g\":1.0}}\n",
            "{\"id\":\"3\",\"bucket\":\"x\",\"label\":1,\"delta\":{\"f\":0.3,\"g\":-1.0}}\n",
        ),
    )
    .expect("write");
    overlap(dir.path())
        .args(["dataset", "import", "d"])
        .arg(&data)
        .assert()
        .success();
    // The only rule selects a bucket the data does not have: every finding is no-data.
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "version: 1\nname: p\nbuckets:\n  medical: { required: false }\nrules:\n  - id: r\n    metric: lambda_min\n    buckets: [medical]\n    op: \">=\"\n    threshold: 0.01\n",
    )
    .expect("write");
    let out = overlap(dir.path())
        .args(["gate", "d", "--policy"])
        .arg(&policy)
        .args(["--today", "2026-12-04", "--format", "json"])
        .output()
        .expect("gate");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let g = json(&out);
    assert_eq!(g["verdict"], "fail");
    assert!(
        g["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "nothing-checked" && f["outcome"] == "fail")
    );
    let human = overlap(dir.path())
        .args(["gate", "d", "--policy"])
        .arg(&policy)
        .args(["--today", "2026-12-04"])
        .output()
        .expect("gate");
    assert_eq!(human.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&human.stdout).contains("nothing was checked"));
}

#[test]
fn plans_on_hh_use_the_default_scope_and_say_which_rules_they_serve() {
    let Some((dir, _)) = imported_hh() else {
        return;
    };
    // The shipped text policy scopes its overlap rules, which the planner cannot buy: the plan
    // refuses and says why, rule by rule.
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/text-release-gate.yaml");
    let out = overlap(dir.path())
        .args(["plan", "hh", "--policy"])
        .arg(&policy)
        .output()
        .expect("plan");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule length-vs-safety-precision: scoped to"),
        "{err}"
    );
    assert!(
        err.contains("rule whole-map-precision: warn rules set no target"),
        "{err}"
    );

    // A deny rule on the whole map: planned on the default scope (headings and code_blocks are
    // absent, so they are not in the plan and do not make the target unreachable).
    let deny = dir.path().join("deny.yaml");
    std::fs::write(
        &deny,
        "version: 1\nname: deny\nrules:\n  - id: precision\n    metric: worst_se\n    op: \"<=\"\n    threshold: 0.25\n  - id: overlap\n    metric: lambda_min\n    op: \">=\"\n    threshold: 0.001\n  - id: soft\n    metric: worst_se\n    op: \"<=\"\n    threshold: 0.1\n    severity: warn\n",
    )
    .expect("write");
    let v = json(
        &overlap(dir.path())
            .args(["plan", "hh", "--policy"])
            .arg(&deny)
            .args(["--budget", "5000", "--format", "json"])
            .output()
            .expect("plan"),
    );
    let rules = v["rules"].as_array().unwrap();
    let rule = |id: &str| rules.iter().find(|r| r["rule"] == id).unwrap();
    assert_eq!(rule("precision")["planned"], true);
    assert_eq!(
        rule("precision")["sets_target_for"],
        serde_json::json!(["default"])
    );
    assert_eq!(rule("overlap")["planned"], false);
    assert!(
        rule("overlap")["reason"]
            .as_str()
            .is_some_and(|r| r.contains("mixture")),
        "{}",
        rule("overlap")
    );
    assert_eq!(rule("soft")["planned"], false);
    assert!(v["unreachable"].as_array().unwrap().is_empty());
    let b = &v["buckets"][0];
    assert_eq!(b["bucket"], "default");
    assert_eq!(
        b["absent_features"],
        serde_json::json!(["headings", "code_blocks"])
    );
    assert_eq!(b["scope"].as_array().unwrap().len(), 10);
    // The default-scope worst_se the gate reports, and it improves with 5,000 more labels.
    let before = b["worst_se_before"].as_f64().expect("finite worst_se");
    assert!((before - 0.941).abs() < 0.005, "{before}");
    let after = b["worst_se_after"].as_f64().unwrap();
    assert!(after < before);
    assert_eq!(b["n_new"], 5000);
    assert!(v["cost"].as_f64().unwrap() <= 5000.0);

    // The optimal design is on the same scope: not λ_min 0 along a heading no answer has.
    let d = json(
        &overlap(dir.path())
            .args(["design", "hh", "--bucket", "default", "--format", "json"])
            .output()
            .expect("design"),
    );
    assert_eq!(
        d["absent_features"],
        serde_json::json!(["headings", "code_blocks"])
    );
    assert_eq!(d["scope"].as_array().unwrap().len(), 10);
    let current = d["lambda_min_current"].as_f64().unwrap();
    assert!((current - 4.883e-4).abs() < 1e-6, "{current}");
    assert!(
        d["weakest_before"]["words"]
            .as_str()
            .is_some_and(|w| !w.contains("headings") && !w.contains("code_blocks")),
        "{d}"
    );
}

#[test]
fn a_bucket_no_arm_can_reach_gets_no_labels_and_names_the_missing_direction() {
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    // Bucket "tied": f and g always move together, so nothing tells their weights apart and no
    // arm moves f − g. Bucket "free": f and g vary independently.
    let mut rows = String::new();
    for i in 0..40 {
        let x = ((i * 7) % 11) as f64 / 5.0 - 1.0;
        let y = ((i * 5) % 13) as f64 / 6.0 - 1.0;
        let label = i % 3 != 0;
        rows.push_str(&format!(
            "{{\"id\":\"t{i}\",\"bucket\":\"tied\",\"label\":{},\"delta\":{{\"f\":{x},\"g\":{x}}}}}\n",
            u8::from(label)
        ));
        rows.push_str(&format!(
            "{{\"id\":\"f{i}\",\"bucket\":\"free\",\"label\":{},\"delta\":{{\"f\":{x},\"g\":{y}}}}}\n",
            u8::from(!label)
        ));
    }
    let data = dir.path().join("d.jsonl");
    std::fs::write(&data, rows).expect("write");
    overlap(dir.path())
        .args(["dataset", "import", "d"])
        .arg(&data)
        .assert()
        .success();
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "version: 1\nname: p\nbuckets:\n  tied: { harm: 100 }\nrules:\n  - id: precision\n    metric: worst_se\n    op: \"<=\"\n    threshold: 0.2\n",
    )
    .expect("write");
    let v = json(
        &overlap(dir.path())
            .args(["plan", "d", "--policy"])
            .arg(&policy)
            .args(["--budget", "300", "--format", "json"])
            .output()
            .expect("plan"),
    );
    // However heavy its harm weight, the unreachable bucket gets nothing: the budget goes where
    // the target can be met.
    let unreachable = v["unreachable"].as_array().unwrap();
    assert_eq!(unreachable.len(), 1, "{v}");
    let u = &unreachable[0];
    assert_eq!(u["bucket"], "tied");
    assert_eq!(u["ceiling"], 0.0, "noise is reported as exactly 0");
    let words = u["direction_words"].as_str().unwrap();
    assert!(words.contains("+f") && words.contains("−g"), "{words}");
    assert!(
        u["reason"]
            .as_str()
            .unwrap()
            .contains("no available arm moves")
    );
    let buckets = v["buckets"].as_array().unwrap();
    assert_eq!(
        buckets.len(),
        1,
        "only the reachable bucket is planned: {v}"
    );
    assert_eq!(buckets[0]["bucket"], "free");
    assert!(buckets[0]["n_new"].as_u64().unwrap() > 0);
    assert_eq!(v["max_objective"], 1.0);
    let human = overlap(dir.path())
        .args(["plan", "d", "--policy"])
        .arg(&policy)
        .args(["--budget", "300"])
        .output()
        .expect("plan");
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("unreachable, no labels: tied"), "{text}");
}

#[test]
fn reports_on_hh_name_the_scope_absent_features_and_fixed_orientation() {
    let Some((dir, _)) = imported_hh() else {
        return;
    };
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/text-release-gate.yaml");
    for (kind, file) in [
        ("label", "label.md"),
        ("label", "label.html"),
        ("adequacy", "adequacy.md"),
        ("adequacy", "adequacy.html"),
    ] {
        overlap(dir.path())
            .args(["report", kind, "hh", "--policy"])
            .arg(&policy)
            .arg("--output")
            .arg(dir.path().join(file))
            .assert()
            .success();
    }
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("report");
    let label = read("label.md");
    assert!(
        label.contains("10 of 12; absent: headings, code\\_blocks"),
        "{label}"
    );
    assert!(label.contains("n/a (fixed orientation)"), "{label}");
    // HH's one bucket lacks what the whole version lacks: one alert per feature, not two.
    assert_eq!(
        label
            .matches("feature 'code\\_blocks' never varies")
            .count(),
        1,
        "{label}"
    );
    assert!(!label.contains("absent in 'default'"), "{label}");
    assert!(
        !label.contains("UNIDENTIFIED") && !label.contains("unidentified"),
        "{label}"
    );
    // The least crossed pair states the crossed share it is named for.
    assert!(label.contains("% crossed |"), "{label}");
    let html = read("label.html");
    assert!(html.contains("n/a (fixed orientation)"));
    assert!(html.contains("absent: headings, code_blocks"));
    // The spectrum is drawn on the 10 scoped eigenvalues, none of them noise at 1e-15.
    assert!(!html.contains("1e-15"));

    let adequacy = read("adequacy.md");
    assert!(
        adequacy.contains("| default | adequate | 2312 | 10 | headings, code\\_blocks |"),
        "{adequacy}"
    );
    assert!(
        adequacy.contains("claim on [log\\_chars, refusal, disclaimer, apology, hedging] (rule length-vs-safety-precision)"),
        "{adequacy}"
    );
    assert!(adequacy.contains("Nothing can be planned"), "{adequacy}");
}

#[test]
fn a_feature_absent_from_one_bucket_is_named_in_the_label_and_the_adequacy_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    overlap(dir.path()).arg("init").assert().success();
    let mut rows = String::new();
    for i in 0..30 {
        let x = ((i * 7) % 11) as f64 / 5.0 - 1.0;
        let y = ((i * 5) % 13) as f64 / 6.0 - 1.0;
        let label = u8::from(i % 3 != 0);
        rows.push_str(&format!(
            "{{\"id\":\"a{i}\",\"bucket\":\"varied\",\"label\":{label},\"delta\":{{\"f\":{x},\"g\":{y}}}}}\n"
        ));
        rows.push_str(&format!(
            "{{\"id\":\"b{i}\",\"bucket\":\"plain\",\"label\":{label},\"delta\":{{\"f\":{y},\"g\":0}}}}\n"
        ));
    }
    let data = dir.path().join("d.jsonl");
    std::fs::write(&data, rows).expect("write");
    overlap(dir.path())
        .args(["dataset", "import", "d"])
        .arg(&data)
        .assert()
        .success();
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "version: 1\nname: p\nrules:\n  - id: precision\n    metric: worst_se\n    op: \"<=\"\n    threshold: 0.01\n",
    )
    .expect("write");
    for (kind, file) in [("label", "label.md"), ("adequacy", "adequacy.md")] {
        overlap(dir.path())
            .args(["report", kind, "d", "--policy"])
            .arg(&policy)
            .arg("--output")
            .arg(dir.path().join(file))
            .assert()
            .success();
    }
    let label = std::fs::read_to_string(dir.path().join("label.md")).expect("label");
    assert!(
        label.contains("absent in 'plain': g never differ"),
        "{label}"
    );
    assert!(
        label.contains("| plain | fail | 30 | 1 of 2; absent: g |"),
        "{label}"
    );
    assert!(label.contains("| varied | fail | 30 | all 2 |"), "{label}");
    let adequacy = std::fs::read_to_string(dir.path().join("adequacy.md")).expect("adequacy");
    assert!(
        adequacy.contains("| plain | gap | 30 | 1 | g |"),
        "{adequacy}"
    );
    // Both buckets fall short of worst_se ≤ 0.01 and the answer names both.
    let answer = adequacy
        .lines()
        .find(|l| l.starts_with("**Could the claimed"))
        .expect("answer");
    assert!(answer.contains("2 of 2 buckets fall short"), "{answer}");
    assert!(
        answer.contains("'plain'") && answer.contains("'varied'"),
        "{answer}"
    );
}
