//! The gate on hand-built analyses: a table of policy fixtures with their expected findings,
//! waivers, verdicts, input errors and the planner accessors.

use crate::policy_support as common;

use chrono::NaiveDate;
use common::{
    analysis, bucket, demo_analysis, demo_audits, demo_drift, input, policy, run, summary,
};
use overlap::model::analysis::FitMode;
use overlap::policy::findings::WaiverState;
use overlap::policy::{EvaluateError, FindingKind, GateVerdict, Metric, Outcome, evaluate};

type Expected = Vec<(&'static str, &'static str, &'static str, &'static str)>;

fn owned(expected: &Expected) -> Vec<(String, String, String, &'static str)> {
    expected
        .iter()
        .map(|(r, b, s, o)| ((*r).to_owned(), (*b).to_owned(), (*s).to_owned(), *o))
        .collect()
}

/// Each case: a policy, an analysis and the findings it must produce, in order.
#[test]
fn policy_fixtures_give_expected_findings() {
    let unidentified = analysis(vec![bucket("benign", 500, 0.0)]);
    let mut odd = demo_analysis();
    for b in &mut odd.buckets {
        if b.bucket == "cyber" {
            // No comparison where both features differ; an intervention never accepted; one
            // without observations.
            for p in &mut b.pairs {
                p.discordant_share = None;
                p.min_quadrant_share = None;
            }
            let mut never = b.interventions[0].clone();
            never.name = "hedge".into();
            never.accepted = 0;
            never.acceptance_rate = Some(0.0);
            never.effective_cost = None;
            let mut unobserved = b.interventions[0].clone();
            unobserved.name = "expand".into();
            unobserved.attempts = 0;
            unobserved.accepted = 0;
            unobserved.acceptance_rate = None;
            unobserved.effective_cost = None;
            b.interventions.extend([never, unobserved]);
        }
    }

    let cases: Vec<(&str, String, _, Expected)> = vec![
        (
            "per-bucket thresholds and overrides",
            r#"version: 1
name: t
rules:
  - id: min-overlap
    metric: lambda_min
    op: ">="
    threshold: 0.02
    thresholds: { self-harm: 0.05 }
  - id: precision
    metric: worst_se
    op: "<="
    threshold: 0.25
"#
            .into(),
            demo_analysis(),
            vec![
                ("min-overlap", "benign", "lambda_min", "pass"),
                ("min-overlap", "cyber", "lambda_min", "pass"),
                ("min-overlap", "self-harm", "lambda_min", "fail"),
                ("precision", "benign", "worst_se", "pass"),
                ("precision", "cyber", "worst_se", "fail"),
                ("precision", "self-harm", "worst_se", "fail"),
            ],
        ),
        (
            "unidentified counts as the worst value, not as no data",
            r#"version: 1
name: t
rules:
  - { id: se, metric: worst_se, op: "<=", threshold: 10 }
  - { id: kappa, metric: condition_number, op: "<", threshold: 1000 }
  - { id: kappa-floor, metric: condition_number, op: ">=", threshold: 1 }
  - { id: info, metric: total_information, op: ">=", threshold: 0 }
"#
            .into(),
            unidentified,
            vec![
                ("se", "benign", "worst_se", "fail"),
                ("kappa", "benign", "condition_number", "fail"),
                ("kappa-floor", "benign", "condition_number", "pass"),
                ("info", "benign", "total_information", "pass"),
            ],
        ),
        (
            "bucket metrics, selection lists and warn severity",
            r#"version: 1
name: t
rules:
  - { id: size, metric: n, op: ">=", threshold: 200, buckets: [self-harm, benign] }
  - { id: balance, metric: label_balance, op: "<=", threshold: 0.4, severity: warn, buckets: [cyber] }
  - { id: curvature, metric: mean_curvature, op: ">", threshold: 0.5, buckets: [cyber] }
  - { id: geometry, metric: geometry_lambda_min, op: ">=", threshold: 0.05, buckets: [cyber] }
"#
            .into(),
            demo_analysis(),
            vec![
                ("size", "benign", "n", "pass"),
                ("size", "self-harm", "n", "fail"),
                ("balance", "cyber", "label_balance", "warn"),
                ("curvature", "cyber", "mean_curvature", "pass"),
                ("geometry", "cyber", "geometry_lambda_min", "pass"),
            ],
        ),
        (
            "pair metrics match either order; no shared support is no-data",
            r#"version: 1
name: t
rules:
  - id: crossed
    metric: min_quadrant_share
    features: [refusal, length]
    buckets: [benign, cyber]
    op: ">="
    threshold: 0.15
  - id: discordant
    metric: discordant_share
    features: [list, hedging]
    buckets: [benign]
    op: "<="
    threshold: 0.2
"#
            .into(),
            odd.clone(),
            vec![
                ("crossed", "benign", "min_quadrant_share(refusal, length)", "pass"),
                ("crossed", "cyber", "min_quadrant_share(refusal, length)", "no-data"),
                ("discordant", "benign", "discordant_share(list, hedging)", "fail"),
            ],
        ),
        (
            "intervention metrics: one finding per intervention",
            r#"version: 1
name: t
rules:
  - { id: accept, metric: acceptance_rate, op: ">=", threshold: 0.5, buckets: [cyber] }
  - { id: cost, metric: effective_cost, op: "<=", threshold: 5, buckets: [cyber] }
  - id: listed
    metric: acceptance_rate
    interventions: [shorten, bulletize]
    buckets: [benign]
    op: ">="
    threshold: 0.5
"#
            .into(),
            odd,
            vec![
                ("accept", "cyber", "acceptance_rate(expand)", "no-data"),
                ("accept", "cyber", "acceptance_rate(hedge)", "fail"),
                ("accept", "cyber", "acceptance_rate(shorten)", "pass"),
                ("cost", "cyber", "effective_cost(expand)", "no-data"),
                ("cost", "cyber", "effective_cost(hedge)", "fail"),
                ("cost", "cyber", "effective_cost(shorten)", "pass"),
                ("listed", "benign", "acceptance_rate(bulletize)", "no-data"),
                ("listed", "benign", "acceptance_rate(shorten)", "pass"),
            ],
        ),
        (
            "arm shares, audits and drift",
            r#"version: 1
name: t
baseline: demo@1
rules:
  - { id: shortened, metric: arm_share, arm: baseline/shorten, op: ">=", threshold: 0.05, buckets: [benign] }
  - { id: expanded, metric: arm_share, arm: baseline/expand, op: ">=", threshold: 0.05, buckets: [benign] }
  - { id: audited, metric: audit_pass_rate, op: ">=", threshold: 0.9 }
  - { id: moved, metric: second_moment_shift, op: "<=", threshold: 0.25 }
"#
            .into(),
            demo_analysis(),
            vec![
                ("shortened", "benign", "arm_share(baseline/shorten)", "pass"),
                ("expanded", "benign", "arm_share(baseline/expand)", "fail"),
                ("audited", "benign", "audit_pass_rate", "no-data"),
                ("audited", "cyber", "audit_pass_rate", "no-data"),
                ("audited", "self-harm", "audit_pass_rate", "pass"),
                ("moved", "benign", "second_moment_shift", "pass"),
                ("moved", "cyber", "second_moment_shift", "fail"),
                ("moved", "self-harm", "second_moment_shift", "no-data"),
            ],
        ),
        (
            "declared buckets without data: required fails, optional is no-data",
            r#"version: 1
name: t
buckets:
  medical: { harm: 3 }
  legal: { required: false }
  benign:
rules:
  - { id: min-overlap, metric: lambda_min, op: ">=", threshold: 0.02 }
"#
            .into(),
            demo_analysis(),
            vec![
                ("required-bucket", "medical", "required-bucket", "fail"),
                ("min-overlap", "benign", "lambda_min", "pass"),
                ("min-overlap", "cyber", "lambda_min", "pass"),
                ("min-overlap", "legal", "lambda_min", "no-data"),
                ("min-overlap", "medical", "lambda_min", "no-data"),
                ("min-overlap", "self-harm", "lambda_min", "pass"),
            ],
        ),
    ];

    for (name, yaml, analysis, expected) in cases {
        let eval = run(&yaml, &analysis);
        assert_eq!(summary(&eval), owned(&expected), "case: {name}");
    }
}

#[test]
fn findings_carry_value_threshold_margin_and_evidence() {
    let eval = run(
        r#"version: 1
name: t
rules:
  - { id: min-overlap, metric: lambda_min, op: ">=", threshold: 0.05, buckets: [self-harm] }
  - { id: se, metric: worst_se, op: "<=", threshold: 0.25, buckets: [benign] }
"#,
        &analysis(vec![
            bucket("self-harm", 120, 0.03),
            bucket("benign", 500, 0.0),
        ]),
    );
    let f = &eval.findings[0];
    assert_eq!(f.outcome, Outcome::Fail);
    assert_eq!(f.value, Some(0.03));
    assert_eq!(f.threshold, Some(0.05));
    assert!((f.margin.unwrap() + 0.02).abs() < 1e-12);
    assert_eq!(f.evidence.n, 120);
    assert_eq!(
        f.evidence.weakest_direction.as_deref(),
        Some("mostly +length −refusal")
    );
    assert_eq!((f.line, f.column), (4, 5));

    let se = &eval.findings[1];
    assert_eq!(se.outcome, Outcome::Fail);
    assert_eq!(se.value, None);
    assert_eq!(se.margin, None);
    assert!(se.evidence.unidentified);
    assert_eq!(se.evidence.note.as_deref(), Some("unidentified"));
    assert!(se.message.contains("unidentified"), "{}", se.message);
}

const WAIVED: &str = r#"version: 1
name: t
rules:
  - { id: min-overlap, metric: lambda_min, op: ">=", threshold: 0.05 }
  - { id: balance, metric: label_balance, op: ">=", threshold: 0.9, severity: warn, buckets: [benign] }
waivers:
  - rule: min-overlap
    bucket: self-harm
    owner: governance@example.org
    reason: red-team collection scheduled
    ticket: GOV-123
    expires: EXPIRES
"#;

fn waiver_eval(expires: &str, today: NaiveDate, fail_on_warn: bool) -> overlap::policy::Evaluation {
    let p = policy(&WAIVED.replace("EXPIRES", expires));
    let analysis = demo_analysis();
    let audits = demo_audits();
    let mut gate = input(&analysis, None, &audits);
    gate.today = today;
    gate.fail_on_warn = fail_on_warn;
    evaluate(&p, &gate).expect("evaluates")
}

fn outcome_of(eval: &overlap::policy::Evaluation, kind: FindingKind, bucket: &str) -> Vec<Outcome> {
    eval.findings
        .iter()
        .filter(|f| f.kind == kind && f.bucket == bucket && f.rule.as_deref() != Some("balance"))
        .map(|f| f.outcome)
        .collect()
}

#[test]
fn active_waiver_turns_failure_into_waived_and_shows_it() {
    let today = common::today();
    let eval = waiver_eval("2027-01-31", today, false);
    assert_eq!(
        outcome_of(&eval, FindingKind::Rule, "self-harm"),
        vec![Outcome::Waived]
    );
    let waived = eval
        .findings
        .iter()
        .find(|f| f.outcome == Outcome::Waived)
        .unwrap();
    let w = waived.waiver.as_ref().expect("waiver shown on the finding");
    assert_eq!(
        (w.owner.as_str(), w.ticket.as_str()),
        ("governance@example.org", "GOV-123")
    );
    assert_eq!(w.expires, NaiveDate::from_ymd_opt(2027, 1, 31).unwrap());
    assert_eq!(eval.waivers[0].state, WaiverState::Active);
    // cyber (0.04) still fails: the waiver covers self-harm only.
    assert_eq!(
        outcome_of(&eval, FindingKind::Rule, "cyber"),
        vec![Outcome::Fail]
    );
    assert_eq!(eval.verdict, GateVerdict::Fail);

    // A waiver is valid through its expiry date.
    let on_the_day = waiver_eval("2026-05-01", today, false);
    assert_eq!(on_the_day.waivers[0].state, WaiverState::Active);
}

#[test]
fn expired_waiver_waives_nothing_and_is_a_deny_finding() {
    let eval = waiver_eval("2026-04-30", common::today(), false);
    assert_eq!(
        outcome_of(&eval, FindingKind::Rule, "self-harm"),
        vec![Outcome::Fail]
    );
    assert_eq!(
        outcome_of(&eval, FindingKind::WaiverExpired, "self-harm"),
        vec![Outcome::Fail]
    );
    assert_eq!(eval.waivers[0].state, WaiverState::Expired);
    let expired = eval.findings.last().unwrap();
    assert_eq!(expired.kind, FindingKind::WaiverExpired);
    assert_eq!(expired.line, 7, "located at the waiver");
    assert_eq!(eval.verdict(false), GateVerdict::Fail);
}

#[test]
fn expired_waiver_fails_the_gate_even_when_the_rule_passes() {
    let p = policy(
        &WAIVED
            .replace("EXPIRES", "2026-01-01")
            .replace("0.05", "0.01"),
    );
    let analysis = demo_analysis();
    let eval = evaluate(&p, &input(&analysis, None, &[])).unwrap();
    assert_eq!(eval.counts.fail, 1);
    assert_eq!(
        eval.findings
            .iter()
            .filter(|f| f.kind == FindingKind::WaiverExpired)
            .count(),
        1
    );
    assert_eq!(eval.verdict, GateVerdict::Fail);
}

#[test]
fn unused_waiver_warns_and_fails_only_with_fail_on_warn() {
    // Threshold 0.01: every bucket passes, so the waiver waives nothing.
    let yaml = WAIVED.replace("EXPIRES", "2027-01-31").replace("0.05", "0.01").replace(
        "  - { id: balance, metric: label_balance, op: \">=\", threshold: 0.9, severity: warn, buckets: [benign] }\n",
        "",
    );
    let p = policy(&yaml);
    let analysis = demo_analysis();
    let mut gate = input(&analysis, None, &[]);
    let eval = evaluate(&p, &gate).unwrap();
    assert_eq!(eval.waivers[0].state, WaiverState::Unused);
    let unused: Vec<_> = eval
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::WaiverUnused)
        .collect();
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0].outcome, Outcome::Warn);
    assert_eq!(eval.verdict, GateVerdict::Pass);
    assert_eq!(eval.verdict(true), GateVerdict::Fail);

    gate.fail_on_warn = true;
    let strict = evaluate(&p, &gate).unwrap();
    assert_eq!(strict.verdict, GateVerdict::Fail);
    assert!(strict.fail_on_warn);
}

#[test]
fn verdict_with_and_without_fail_on_warn() {
    let yaml = r#"version: 1
name: t
rules:
  - { id: overlap, metric: lambda_min, op: ">=", threshold: 0.01 }
  - { id: balance, metric: label_balance, op: ">=", threshold: 0.9, severity: warn }
"#;
    let eval = run(yaml, &demo_analysis());
    assert_eq!(eval.counts.warn, 3);
    assert_eq!(eval.counts.fail, 0);
    assert_eq!(eval.verdict(false), GateVerdict::Pass);
    assert_eq!(eval.verdict(true), GateVerdict::Fail);

    let failing = run(&yaml.replace("0.01", "0.05"), &demo_analysis());
    assert_eq!(failing.verdict(false), GateVerdict::Fail);
    assert_eq!(failing.verdict(true), GateVerdict::Fail);

    let clean = run(
        &yaml.replace("0.9, severity", "0.1, severity"),
        &demo_analysis(),
    );
    assert_eq!(clean.verdict(true), GateVerdict::Pass);
}

#[test]
fn inputs_that_do_not_fit_the_policy_are_errors_not_passes() {
    let analysis = demo_analysis();
    let drift = demo_drift();
    let drift_policy = policy(
        "version: 1\nname: d\nbaseline: demo@1\nrules:\n  - { id: m, metric: margin_shift, op: \"<=\", threshold: 0.2 }\n",
    );
    assert!(matches!(
        evaluate(&drift_policy, &input(&analysis, None, &[])),
        Err(EvaluateError::MissingDrift { .. })
    ));
    let mut other = drift.clone();
    other.baseline = "demo@3".into();
    assert_eq!(
        evaluate(&drift_policy, &input(&analysis, Some(&other), &[])),
        Err(EvaluateError::BaselineMismatch {
            policy: "demo@1".into(),
            report: "demo@3".into()
        })
    );

    let settings = policy(
        "version: 1\nname: s\nanalysis: { ridge: 0.001, fit: per-bucket }\nrules:\n  - { id: o, metric: lambda_min, op: \">=\", threshold: 0.01 }\n",
    );
    let err = evaluate(&settings, &input(&analysis, None, &[])).unwrap_err();
    assert!(
        matches!(
            err,
            EvaluateError::SettingsMismatch {
                setting: "ridge",
                ..
            }
        ),
        "{err}"
    );
    let mut per_bucket = analysis.clone();
    per_bucket.params.ridge = 0.001;
    let err = evaluate(&settings, &input(&per_bucket, None, &[])).unwrap_err();
    assert!(
        matches!(err, EvaluateError::SettingsMismatch { setting: "fit", .. }),
        "{err}"
    );
    per_bucket.params.fit = FitMode::PerBucket;
    assert!(evaluate(&settings, &input(&per_bucket, None, &[])).is_ok());

    let unknown = policy(
        "version: 1\nname: u\nrules:\n  - { id: c, metric: min_quadrant_share, features: [length, tone], op: \">=\", threshold: 0.1 }\n",
    );
    assert!(matches!(
        evaluate(&unknown, &input(&analysis, None, &[])),
        Err(EvaluateError::UnknownFeature { .. })
    ));

    let mut no_pairs = analysis.clone();
    no_pairs.buckets[0].pairs.clear();
    let pair = policy(
        "version: 1\nname: p\nrules:\n  - { id: c, metric: min_quadrant_share, features: [length, refusal], op: \">=\", threshold: 0.1 }\n",
    );
    assert!(matches!(
        evaluate(&pair, &input(&no_pairs, None, &[])),
        Err(EvaluateError::PairNotAnalysed { .. })
    ));

    let mut nan = analysis.clone();
    nan.buckets[0].metrics.lambda_min = f64::NAN;
    let plain = policy(
        "version: 1\nname: n\nrules:\n  - { id: o, metric: lambda_min, op: \">=\", threshold: 0.01 }\n",
    );
    assert!(matches!(
        evaluate(&plain, &input(&nan, None, &[])),
        Err(EvaluateError::NonFiniteMetric {
            metric: Metric::LambdaMin,
            ..
        })
    ));

    // Parses, but is semantically invalid (drift metric without a baseline): never evaluated.
    let invalid = policy(
        "version: 1\nname: i\nrules:\n  - { id: m, metric: margin_shift, op: \"<=\", threshold: 0.2 }\n",
    );
    let err = evaluate(&invalid, &input(&analysis, Some(&drift), &[])).unwrap_err();
    assert!(
        matches!(err, EvaluateError::InvalidPolicy { errors: 1, .. }),
        "{err}"
    );
}

#[test]
fn evaluation_is_deterministic_and_identifies_its_inputs() {
    let yaml = include_str!("../../policies/release-gate.yaml");
    let a = run(yaml, &demo_analysis());
    let b = run(yaml, &demo_analysis());
    assert_eq!(a, b);
    assert_eq!(a.policy.name, "release-gate");
    assert_eq!(a.policy.digest.len(), 64);
    assert_eq!(a.dataset.version, 2);
    let total = a.counts.pass + a.counts.fail + a.counts.waived + a.counts.warn + a.counts.no_data;
    assert_eq!(total, a.findings.len());
}

#[test]
fn planner_accessors() {
    let p = policy(
        r#"version: 1
name: plan
analysis: { ridge: 0.001, info_ridge: 0.01, fit: per-bucket }
buckets:
  self-harm: { harm: 10 }
  cyber: {}
rules:
  - { id: se, metric: worst_se, op: "<=", threshold: 0.25, thresholds: { self-harm: 0.1 } }
  - { id: info, metric: total_information, op: ">=", threshold: 20, buckets: [cyber, benign] }
  - { id: soft, metric: total_information, op: ">=", threshold: 1000, severity: warn }
  - { id: pair, metric: min_quadrant_share, features: [refusal, length], op: ">=", threshold: 0.1 }
  - { id: pair2, metric: discordant_share, features: [length, refusal], op: ">=", threshold: 0.1 }
"#,
    );
    let target = |b: &str| p.information_target(b).map(|t| (t.target, t.rule));
    // 1/0.1² = 100 beats nothing else; 1/0.25² = 16 loses to τ = 20; warn rules set no target.
    let (t, rule) = target("self-harm").unwrap();
    assert!((t - 100.0).abs() < 1e-9);
    assert_eq!(rule, "se");
    assert_eq!(target("cyber"), Some((20.0, "info".into())));
    assert_eq!(target("default").map(|t| t.1), Some("se".into()));
    assert_eq!(p.harm_weight("self-harm"), 10.0);
    assert_eq!(p.harm_weight("cyber"), 1.0);
    assert_eq!(p.harm_weight("undeclared"), 1.0);
    assert_eq!(
        p.feature_pairs(),
        vec![["length".to_owned(), "refusal".to_owned()]]
    );
    let s = p.analysis_settings();
    assert_eq!(s.ridge.as_ref().map(|r| r.value), Some(0.001));
    assert_eq!(s.info_ridge.as_ref().map(|r| r.value), Some(0.01));
    assert_eq!(s.fit.as_ref().map(|f| f.value), Some(FitMode::PerBucket));
    assert!(!p.needs_drift());
}

/// Every shipped policy lints clean against the dataset it is written for (the demo, or text-pair
/// data under the default `text-v2` map for `text-*.yaml`) and evaluates on it.
#[test]
fn shipped_policies_validate_and_evaluate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("policies/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    let text_features: Vec<String> = overlap::textmap::FeatureMap::default()
        .feature_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("readable policy");
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let shown = format!("policies/{file}");
        let for_text = file.starts_with("text-");
        let mut ctx = common::demo_context();
        let mut analysis = demo_analysis();
        if for_text {
            ctx.features = text_features.clone();
            ctx.buckets = vec!["default".into()];
            analysis = common::text_analysis(&text_features);
        }
        let diagnostics = overlap::policy::lint(&shown, &text, Some(&ctx));
        assert!(
            diagnostics.is_empty(),
            "{shown}:\n{}",
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        let p = overlap::policy::parse(&shown, &text).expect("parses");
        let eval = run(&text, &analysis);
        assert!(!eval.findings.is_empty(), "{shown}");
        assert_eq!(eval.policy.name, p.name());
    }
}

#[test]
fn support_scopes_and_checked_nothing() {
    let mut a = demo_analysis();
    for b in &mut a.buckets {
        if b.bucket == "cyber" {
            b.support.0[2].1 = 0; // `list` never varies in cyber
            b.absent_features = vec!["list".into()];
        }
        let mut scoped = b.default_overlap();
        scoped.features = vec!["length".into(), "refusal".into()];
        scoped.metrics.lambda_min = 0.3;
        scoped.absent = Vec::new();
        b.scoped.push(scoped);
    }
    let eval = run(
        r#"version: 1
name: t
rules:
  - id: vary
    metric: support
    features: [list, length]
    op: ">="
    threshold: 1
  - id: scoped
    metric: lambda_min
    features: [refusal, length]
    op: ">="
    threshold: 0.2
"#,
        &a,
    );
    let s = summary(&eval);
    assert!(s.contains(&(
        "vary".into(),
        "cyber".into(),
        "support(list)".into(),
        "fail"
    )));
    assert!(s.contains(&(
        "vary".into(),
        "cyber".into(),
        "support(length)".into(),
        "pass"
    )));
    // The scoped rule reads the scope's value (0.3), not the bucket's default λ_min.
    for bucket in ["benign", "cyber", "self-harm"] {
        assert!(
            s.contains(&(
                "scoped".into(),
                bucket.into(),
                "lambda_min[refusal, length]".into(),
                "pass"
            )),
            "{s:?}"
        );
    }

    // A scope the analysis did not report is an input error, never a pass.
    let p = policy(
        "version: 1\nname: t\nrules:\n  - { id: r, metric: worst_se, features: [list], op: \"<=\", threshold: 1 }\n",
    );
    let audits = demo_audits();
    let drift = demo_drift();
    assert!(matches!(
        evaluate(&p, &input(&a, Some(&drift), &audits)),
        Err(EvaluateError::ScopeNotAnalysed { .. })
    ));

    // No rules: nothing was checked, and the gate fails.
    let eval = run("version: 1\nname: t\nrules: []\n", &demo_analysis());
    assert_eq!(eval.verdict, GateVerdict::Fail);
    assert!(
        eval.findings
            .iter()
            .any(|f| f.kind == FindingKind::NothingChecked)
    );

    // Label balance of a fixed-orientation import is not applicable: no data, not a value.
    let mut fixed = demo_analysis();
    fixed.fixed_orientation = true;
    for b in &mut fixed.buckets {
        b.label_balance = None;
    }
    let eval = run(
        "version: 1\nname: t\nrules:\n  - { id: lb, metric: label_balance, op: \">=\", threshold: 0.3 }\n",
        &fixed,
    );
    assert!(eval.findings.iter().all(|f| {
        f.kind == FindingKind::NothingChecked
            || (f.outcome == Outcome::NoData
                && f.evidence
                    .note
                    .as_deref()
                    .is_some_and(|n| n.contains("not applicable")))
    }));
    assert_eq!(eval.verdict, GateVerdict::Fail, "nothing was checked");
}
