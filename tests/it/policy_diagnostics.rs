//! Every diagnostic code has a fixture that triggers it at the expected line, a heading in
//! `docs/diagnostics.md`, and a snapshot of its rendered text.

use crate::policy_support as common;

use std::collections::BTreeSet;

use overlap::policy::diagnostic::code;
use overlap::policy::{Severity, lint, parse, validate};

/// A valid rule to splice fixtures around.
const HEAD: &str = "version: 1\nname: fixture\n";

struct Fixture {
    code: &'static str,
    /// Evaluated with the demo dataset context.
    with_dataset: bool,
    yaml: String,
    line: usize,
}

fn rule(body: &str) -> String {
    format!("{HEAD}rules:\n  - id: r1\n{body}")
}

fn fixtures() -> Vec<Fixture> {
    let f = |code, with_dataset, yaml: String, line| Fixture {
        code,
        with_dataset,
        yaml,
        line,
    };
    let lambda = "    metric: lambda_min\n    op: \">=\"\n    threshold: 0.02\n";
    let waiver = |rule: &str, bucket: &str| {
        format!(
            "  - rule: {rule}\n    bucket: {bucket}\n    owner: a@example.org\n    reason: r\n    ticket: T-1\n    expires: 2027-01-31\n"
        )
    };
    vec![
        f(
            code::YAML_SYNTAX,
            false,
            rule("    metric: n\n    op: >=\n    threshold: 1\n"),
            6,
        ),
        f(
            code::DUPLICATE_KEY,
            false,
            format!("{HEAD}name: again\nrules:\n  - id: r1\n{lambda}"),
            3,
        ),
        f(
            code::UNKNOWN_KEY,
            false,
            rule("    metric: n\n    op: \">=\"\n    threshold: 1\n    treshold: 2\n"),
            8,
        ),
        f(
            code::MISSING_KEY,
            false,
            rule("    metric: n\n    op: \">=\"\n"),
            4,
        ),
        f(
            code::WRONG_TYPE,
            false,
            rule("    metric: n\n    op: \">=\"\n    threshold: \"100\"\n"),
            7,
        ),
        f(
            code::UNSUPPORTED_VERSION,
            false,
            "version: 2\nname: x\nrules: []\n".into(),
            1,
        ),
        f(
            code::UNKNOWN_METRIC,
            false,
            rule("    metric: lamda_min\n    op: \">=\"\n    threshold: 0.02\n"),
            5,
        ),
        f(
            code::INVALID_OPERATOR,
            false,
            rule("    metric: n\n    op: \"=>\"\n    threshold: 1\n"),
            6,
        ),
        f(
            code::INVALID_SEVERITY,
            false,
            rule(&format!("{lambda}    severity: error\n")),
            8,
        ),
        f(
            code::INVALID_FIT,
            false,
            format!("{HEAD}analysis:\n  fit: per_bucket\nrules:\n  - id: r1\n{lambda}"),
            4,
        ),
        f(
            code::INVALID_DATE,
            false,
            format!(
                "{}waivers:\n{}",
                rule(lambda),
                waiver("r1", "benign").replace("2027-01-31", "2027-02-30")
            ),
            14,
        ),
        f(
            code::INVALID_BASELINE,
            false,
            format!("{HEAD}baseline: demo\nrules:\n  - id: r1\n{lambda}"),
            3,
        ),
        f(
            code::INVALID_RULE_ID,
            false,
            format!("{HEAD}rules:\n  - id: min overlap\n{lambda}"),
            4,
        ),
        f(
            code::NON_FINITE_NUMBER,
            false,
            rule("    metric: n\n    op: \">=\"\n    threshold: .inf\n"),
            7,
        ),
        f(
            code::EMPTY_LIST,
            false,
            rule(&format!("{lambda}    buckets: []\n")),
            8,
        ),
        f(
            code::INVALID_FEATURE_PAIR,
            false,
            rule(
                "    metric: min_quadrant_share\n    features: [length]\n    op: \">=\"\n    threshold: 0.1\n",
            ),
            6,
        ),
        f(
            code::THRESHOLD_OUT_OF_RANGE,
            false,
            rule(
                "    metric: min_quadrant_share\n    features: [length, refusal]\n    op: \">=\"\n    threshold: 0.7\n",
            ),
            8,
        ),
        f(
            code::OUT_OF_RANGE,
            false,
            format!("{HEAD}buckets:\n  cyber: {{ harm: -1 }}\nrules:\n  - id: r1\n{lambda}"),
            4,
        ),
        f(
            code::OP_DIRECTION,
            false,
            rule("    metric: lambda_min\n    op: \"<=\"\n    threshold: 0.5\n"),
            6,
        ),
        f(
            code::MISSING_ARGUMENT,
            false,
            rule("    metric: min_quadrant_share\n    op: \">=\"\n    threshold: 0.1\n"),
            5,
        ),
        f(
            code::IRRELEVANT_KEY,
            false,
            rule(
                "    metric: mean_curvature\n    op: \">=\"\n    threshold: 0.5\n    features: [length, refusal]\n",
            ),
            8,
        ),
        f(
            code::INVALID_SCOPE,
            false,
            rule(&format!(
                "{lambda}    features: [length, refusal, length]\n"
            )),
            8,
        ),
        f(
            code::MISSING_BASELINE,
            false,
            rule("    metric: margin_shift\n    op: \"<=\"\n    threshold: 0.2\n"),
            5,
        ),
        f(
            code::UNUSED_BASELINE,
            false,
            format!("{HEAD}baseline: demo@1\nrules:\n  - id: r1\n{lambda}"),
            3,
        ),
        f(
            code::DUPLICATE_RULE_ID,
            false,
            format!("{}  - id: r1\n{lambda}", rule(lambda)),
            8,
        ),
        f(
            code::DUPLICATE_ENTRY,
            false,
            rule(&format!("{lambda}    buckets: [benign, benign]\n")),
            8,
        ),
        f(
            code::THRESHOLD_BUCKET_NOT_SELECTED,
            false,
            rule(&format!(
                "{lambda}    buckets: [benign]\n    thresholds: {{ cyber: 0.05 }}\n"
            )),
            9,
        ),
        f(
            code::WAIVER_UNKNOWN_RULE,
            false,
            format!("{}waivers:\n{}", rule(lambda), waiver("r2", "benign")),
            9,
        ),
        f(
            code::WAIVER_BUCKET_NOT_SELECTED,
            false,
            format!(
                "{}waivers:\n{}",
                rule(&format!("{lambda}    buckets: [benign]\n")),
                waiver("r1", "cyber")
            ),
            11,
        ),
        f(
            code::DUPLICATE_WAIVER,
            false,
            format!(
                "{}waivers:\n{}{}",
                rule(lambda),
                waiver("r1", "cyber"),
                waiver("r1", "cyber")
            ),
            15,
        ),
        f(
            code::NON_CANONICAL_ARM,
            false,
            rule(
                "    metric: arm_share\n    arm: shorten/baseline\n    op: \">=\"\n    threshold: 0.05\n",
            ),
            6,
        ),
        f(code::NO_RULES, false, format!("{HEAD}rules: []\n"), 2),
        f(
            code::UNKNOWN_FEATURE,
            true,
            rule(
                "    metric: min_quadrant_share\n    features: [length, refusl]\n    op: \">=\"\n    threshold: 0.1\n",
            ),
            6,
        ),
        f(
            code::UNKNOWN_BUCKET,
            true,
            rule(&format!("{lambda}    buckets: [self_harm]\n")),
            8,
        ),
        f(
            code::BUCKET_WITHOUT_DATA,
            true,
            format!("{HEAD}buckets:\n  medical: {{ harm: 3 }}\nrules:\n  - id: r1\n{lambda}"),
            4,
        ),
        f(
            code::UNKNOWN_INTERVENTION,
            true,
            rule(
                "    metric: acceptance_rate\n    interventions: [shortn]\n    op: \">=\"\n    threshold: 0.5\n",
            ),
            6,
        ),
        f(
            code::ARM_WITHOUT_DATA,
            true,
            rule(
                "    metric: arm_share\n    arm: baseline/expand\n    op: \">=\"\n    threshold: 0.05\n",
            ),
            6,
        ),
    ]
}

#[test]
fn every_code_has_a_fixture() {
    let covered: BTreeSet<&str> = fixtures().iter().map(|f| f.code).collect();
    let all: BTreeSet<&str> = code::ALL.iter().copied().collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn each_fixture_triggers_its_code_at_its_line() {
    let ctx = common::demo_context();
    for fixture in fixtures() {
        let diagnostics = lint(
            "gate.yaml",
            &fixture.yaml,
            fixture.with_dataset.then_some(&ctx),
        );
        let hit = diagnostics
            .iter()
            .find(|d| d.code == fixture.code)
            .unwrap_or_else(|| {
                panic!(
                    "{} not reported for:\n{}\ngot: {:#?}",
                    fixture.code, fixture.yaml, diagnostics
                )
            });
        assert_eq!(
            hit.line, fixture.line,
            "{}:\n{}",
            fixture.code, fixture.yaml
        );
        assert!(hit.column >= 1);
        assert!(hit.help.is_some(), "{} has no help line", fixture.code);
        // A fixture shows its own problem, not a cascade of others.
        let others: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.code != fixture.code)
            .map(|d| d.code)
            .collect();
        assert!(
            others.is_empty(),
            "{}: also reported {others:?}",
            fixture.code
        );
    }
}

#[test]
fn rendered_diagnostics_snapshot() {
    let ctx = common::demo_context();
    let mut out = String::new();
    for fixture in fixtures() {
        for d in lint(
            "gate.yaml",
            &fixture.yaml,
            fixture.with_dataset.then_some(&ctx),
        ) {
            out.push_str(&d.to_string());
            out.push_str("\n\n");
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn parse_fails_on_errors_and_validate_reports_semantics() {
    for fixture in fixtures() {
        let diagnostics = lint("gate.yaml", &fixture.yaml, None);
        let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
        match parse("gate.yaml", &fixture.yaml) {
            Ok(policy) => {
                // Shape is fine: the remaining problems are validate's.
                let semantic = validate(&policy, None);
                assert_eq!(semantic, diagnostics, "{}", fixture.code);
            }
            Err(shape) => {
                assert!(errors, "{}", fixture.code);
                assert!(shape.iter().all(|d| d.severity == Severity::Error));
            }
        }
    }
}

/// Every problem is reported at once, sorted by position, with JSON a stable shape.
#[test]
fn reports_every_problem_at_once() {
    let yaml = r#"version: 1
name: many-problems
colour: blue
buckets:
  self-harm: { harm: ten }
rules:
  - id: min-overlap
    metric: lamda_min
    op: ">="
    threshold: 0.02
  - id: crossed
    metric: min_quadrant_share
    features: [length, refusl]
    op: ">="
    threshold: 0.9
  - id: crossed
    metric: worst_se
    op: ">="
    threshold: 0.25
waivers:
  - rule: min-overlap
    bucket: cyber
    owner: governance@example.org
    reason: red-team collection scheduled
    ticket: GOV-123
    expires: 2027-13-01
  - rule: precision
    bucket: cyber
    owner: governance@example.org
    reason: none
    ticket: GOV-124
    expires: 2027-01-31
"#;
    let diagnostics = lint("policies/gate.yaml", yaml, Some(&common::demo_context()));
    let codes: Vec<(&str, usize)> = diagnostics.iter().map(|d| (d.code, d.line)).collect();
    assert_eq!(
        codes,
        vec![
            (code::UNKNOWN_KEY, 3),
            (code::WRONG_TYPE, 5),
            (code::UNKNOWN_METRIC, 8),
            (code::UNKNOWN_FEATURE, 13),
            (code::THRESHOLD_OUT_OF_RANGE, 15),
            (code::DUPLICATE_RULE_ID, 16),
            (code::OP_DIRECTION, 18),
            (code::INVALID_DATE, 26),
            (code::WAIVER_UNKNOWN_RULE, 27),
        ]
    );
    insta::assert_json_snapshot!(diagnostics);
}

#[test]
fn suggestions_for_misspelt_keys_and_metrics() {
    let yaml = rule("    metrc: lambda_min\n    op: \">=\"\n    threshold: 0.02\n");
    let d = lint("gate.yaml", &yaml, None);
    let unknown = d
        .iter()
        .find(|d| d.code == code::UNKNOWN_KEY)
        .expect("unknown key");
    assert_eq!(unknown.help.as_deref(), Some("did you mean 'metric'?"));
    assert_eq!((unknown.line, unknown.column), (5, 5));

    let yaml = rule("    metric: lamda_min\n    op: \">=\"\n    threshold: 0.02\n");
    let d = lint("gate.yaml", &yaml, None);
    assert_eq!(
        d[0].to_string(),
        "error[policy/unknown-metric]: metric 'lamda_min' does not exist\n  --> gate.yaml:5:13\n  = help: did you mean 'lambda_min'?"
    );
}

#[test]
fn docs_have_one_heading_per_code() {
    let docs = include_str!("../../docs/diagnostics.md");
    let headings: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|h| h.starts_with("policy/"))
        .collect();
    let documented: BTreeSet<&str> = headings.iter().copied().collect();
    assert_eq!(
        documented.len(),
        headings.len(),
        "a code is documented twice"
    );
    let all: BTreeSet<&str> = code::ALL.iter().copied().collect();
    assert_eq!(documented, all, "docs/diagnostics.md and code::ALL differ");
}

/// `op: >=` unquoted is a YAML error and `op: >` an empty folded string: both say to quote.
#[test]
fn unquoted_operators_are_explained() {
    let d = lint(
        "gate.yaml",
        &rule("    metric: n\n    op: >=\n    threshold: 1\n"),
        None,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, code::YAML_SYNTAX);
    assert!(
        d[0].help.as_deref().unwrap_or("").contains("op: \">=\""),
        "{}",
        d[0]
    );

    let d = lint(
        "gate.yaml",
        &rule("    metric: n\n    op: >\n    threshold: 1\n"),
        None,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, code::INVALID_OPERATOR);
    assert!(
        d[0].help.as_deref().unwrap_or("").contains("quote"),
        "{}",
        d[0]
    );
}

/// A file past the parser's node budget gets a sentence about the file, not the parser's type.
#[test]
fn an_oversized_file_is_explained_in_words() {
    let mut yaml = String::from(HEAD);
    yaml.push_str("padding: [");
    yaml.push_str(&"1, ".repeat(300_000));
    yaml.push_str("1]\n");
    let diagnostics = lint("big.yaml", &yaml, None);
    let text: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        text.iter()
            .any(|m| m.contains("too large or too deeply nested")),
        "{text:?}"
    );
    assert!(!text.iter().any(|m| m.contains("Nodes {")), "{text:?}");
}

/// Tags mean nothing in a policy: an application tag is an error, not a value silently taken as
/// its plain scalar.
#[test]
fn application_tags_are_refused() {
    let yaml = "version: 1\nname: !custom fixture\nrules: []\n";
    let diagnostics = lint("tags.yaml", yaml, None);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.iter().any(|m| m.contains("custom")), "{errors:?}");
}
