//! Every output format: insta snapshots of one evaluation that holds every kind of finding, SARIF
//! validated against the SARIF 2.1.0 schema, JUnit parsed as XML, and waivers visible everywhere.

use crate::policy_support as common;

use common::{demo_analysis, demo_audits, demo_drift, input, policy};
use overlap::policy::{Evaluation, GateFormat, Outcome, evaluate, render};

/// Pass, fail, waived, warn and no-data findings; a required bucket without data; an active, an
/// expired and an unused waiver; pair, intervention, drift and eigenvalue metrics.
const SHOWCASE: &str = r#"version: 1
name: release-gate
baseline: demo@1
buckets:
  self-harm: { harm: 10 }
  medical: { harm: 3 }
rules:
  - id: min-overlap
    description: Smallest eigenvalue of the per-comparison Fisher information.
    metric: lambda_min
    op: ">="
    threshold: 0.02
    thresholds: { self-harm: 0.05 }
  - id: precision
    metric: worst_se
    op: "<="
    threshold: 0.25
  - id: crossed-length-refusal
    metric: min_quadrant_share
    features: [length, refusal]
    op: ">="
    threshold: 0.15
    buckets: [benign, self-harm]
  - id: edits-succeed
    metric: acceptance_rate
    op: ">="
    threshold: 0.8
    severity: warn
    buckets: [benign]
  - id: design-stable
    metric: second_moment_shift
    op: "<="
    threshold: 0.25
    buckets: [cyber, self-harm]
waivers:
  - rule: min-overlap
    bucket: self-harm
    owner: governance@example.org
    reason: red-team collection scheduled
    ticket: GOV-123
    expires: 2027-01-31
  - rule: precision
    bucket: cyber
    owner: safety-data@example.org
    reason: relabel in progress
    ticket: GOV-99
    expires: 2026-03-01
  - rule: crossed-length-refusal
    bucket: benign
    owner: governance@example.org
    reason: "legacy | data"
    ticket: GOV-7
    expires: 2026-12-31
"#;

fn showcase() -> Evaluation {
    let p = policy(SHOWCASE);
    let analysis = demo_analysis();
    let drift = demo_drift();
    let audits = demo_audits();
    evaluate(&p, &input(&analysis, Some(&drift), &audits)).expect("evaluates")
}

#[test]
fn showcase_has_every_outcome() {
    let eval = showcase();
    for outcome in [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Waived,
        Outcome::Warn,
        Outcome::NoData,
    ] {
        assert!(
            eval.findings.iter().any(|f| f.outcome == outcome),
            "no {outcome:?} finding"
        );
    }
}

#[test]
fn snapshot_human() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Human));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Json));
}

#[test]
fn snapshot_junit() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Junit));
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Sarif));
}

#[test]
fn snapshot_github() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Github));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!(render(&showcase(), GateFormat::Markdown));
}

#[test]
fn snapshot_human_passing_gate() {
    let p = policy(include_str!("../../policies/release-gate.yaml"));
    let mut analysis = demo_analysis();
    for b in &mut analysis.buckets {
        b.metrics.lambda_min = 0.1;
        b.n = 1000;
        b.metrics.worst_se = Some(0.1);
    }
    let eval = evaluate(&p, &input(&analysis, None, &[])).expect("evaluates");
    insta::assert_snapshot!(render(&eval, GateFormat::Human));
    insta::assert_snapshot!("markdown_passing_gate", render(&eval, GateFormat::Markdown));
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0-rtm.5.json"))
            .expect("schema is JSON");
    // rtm.5's pattern for `language` (on `run` and `toolComponent`) has a stray `]` that only
    // JavaScript's lenient (Annex B) regex syntax accepts, so the schema does not compile under a
    // strict engine. Our output never sets `language`; repair the two patterns in memory (the
    // vendored file stays byte-identical).
    let repaired = repair_patterns(
        &mut schema,
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    assert_eq!(repaired, 2, "vendored schema changed: revisit the repair");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let eval = showcase();
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&eval, GateFormat::Sarif)).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    // A wrong document is rejected, so the check above is not vacuous.
    let mut broken = sarif.clone();
    broken["version"] = serde_json::json!("2.0.0");
    assert!(!validator.is_valid(&broken));

    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let failing = eval
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Warn | Outcome::Waived))
        .count();
    assert_eq!(results.len(), failing);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1));
    }
    let suppressed: Vec<_> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), eval.counts.waived);

    // A passing evaluation (no results) is valid too.
    let p = policy(
        "version: 1\nname: ok\nrules:\n  - { id: o, metric: lambda_min, op: \">=\", threshold: 0.001 }\n",
    );
    let analysis = demo_analysis();
    let clean = evaluate(&p, &input(&analysis, None, &[])).unwrap();
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&clean, GateFormat::Sarif)).unwrap();
    assert!(validator.is_valid(&sarif));
}

fn repair_patterns(value: &mut serde_json::Value, bad: &str, good: &str) -> usize {
    match value {
        serde_json::Value::Object(map) => {
            let mut n = 0;
            for (key, v) in map.iter_mut() {
                if key == "pattern" && v == bad {
                    *v = serde_json::json!(good);
                    n += 1;
                } else {
                    n += repair_patterns(v, bad, good);
                }
            }
            n
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .map(|v| repair_patterns(v, bad, good))
            .sum(),
        _ => 0,
    }
}

#[test]
fn junit_is_well_formed_with_one_case_per_rule_and_bucket() {
    let eval = showcase();
    let xml = render(&eval, GateFormat::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert!(names.contains(&"edits-succeed [benign]"));
    assert!(names.contains(&"min-overlap [self-harm]"));
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "test case names repeat");
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("failures"),
        Some(failures.to_string().as_str())
    );
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
}

#[test]
fn github_commands_are_escaped_and_located() {
    let out = render(&showcase(), GateFormat::Github);
    let lines: Vec<&str> = out.lines().collect();
    let (summary, commands) = lines.split_last().expect("output");
    assert!(summary.starts_with("overlap gate: FAIL"));
    for line in commands {
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        assert!(line.contains(",line="), "{line}");
    }
    assert!(out.contains(
        "::error file=gate.yaml,line=14,col=5,title=overlap gate fail%3A precision [cyber]::"
    ));
    assert!(out.contains("::notice file=gate.yaml,line=8,col=5,title=overlap gate waived%3A min-overlap [self-harm]::"));
}

/// A waived finding is never hidden: every format shows owner, reason, ticket and expiry.
#[test]
fn waivers_are_shown_in_every_format() {
    let eval = showcase();
    for format in GateFormat::ALL {
        let out = render(&eval, format);
        for needle in [
            "governance@example.org",
            "red-team collection scheduled",
            "GOV-123",
            "2027-01-31",
        ] {
            assert!(out.contains(needle), "{format} does not show {needle}");
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for format in GateFormat::ALL {
        assert_eq!(
            render(&showcase(), format),
            render(&showcase(), format),
            "{format}"
        );
        assert_eq!(GateFormat::from_name(format.name()), Some(format));
    }
}
