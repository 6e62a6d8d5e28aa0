//! Hand-built analysis fixtures for the policy tests (no numerics: values are chosen so that each
//! rule's outcome is obvious from the numbers).

use chrono::NaiveDate;
use overlap::model::analysis::{
    AnalysisParams, ArmShare, AuditSummary, BucketAnalysis, BucketDrift, DriftReport, EigenMetrics,
    FeatureInfo, FitMode, InterventionUse, PairCoverage, Quadrants, VersionAnalysis,
};
use overlap::model::named::NamedValues;
use overlap::policy::{DatasetContext, Evaluation, GateInput, Policy, evaluate, parse};

pub(crate) const FEATURES: [&str; 5] = ["length", "refusal", "list", "disclaimer", "hedging"];
pub(crate) const INTERVENTIONS: [&str; 5] =
    ["shorten", "expand", "add-disclaimer", "bulletize", "hedge"];

pub(crate) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).expect("valid date")
}

/// A bucket whose information has smallest eigenvalue `lambda_min` (largest 1.0).
pub(crate) fn bucket(name: &str, n: u64, lambda_min: f64) -> BucketAnalysis {
    let lambda_max = 1.0;
    let unidentified = lambda_min <= 1e-12 * lambda_max;
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    let mut pairs = Vec::new();
    for (i, a) in FEATURES.iter().enumerate() {
        for b in &FEATURES[i + 1..] {
            pairs.push(PairCoverage {
                features: [(*a).to_owned(), (*b).to_owned()],
                discordant_share: Some(0.3),
                min_quadrant_share: Some(0.3),
                quadrants: Quadrants {
                    pp: 30,
                    pm: 15,
                    mp: 15,
                    mm: 40,
                },
                zero: 0,
            });
        }
    }
    BucketAnalysis {
        bucket: name.to_owned(),
        n,
        support: NamedValues(FEATURES.iter().map(|f| ((*f).to_owned(), n)).collect()),
        absent_features: Vec::new(),
        scope: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        metrics: EigenMetrics {
            lambda_min,
            lambda_max,
            condition_number: (!unidentified).then(|| lambda_max / lambda_min),
            unidentified,
            total_information: nf * lambda_min,
            worst_se: (lambda_min > 0.0).then(|| 1.0 / (nf * lambda_min).sqrt()),
        },
        mean_curvature: 0.8,
        geometry_lambda_min: lambda_min * 1.5,
        eigenvalues: vec![lambda_min, 0.2, 0.4, 0.7, lambda_max],
        weakest_direction: NamedValues(vec![
            ("length".into(), 0.8),
            ("refusal".into(), -0.6),
            ("list".into(), 0.0),
            ("disclaimer".into(), 0.0),
            ("hedging".into(), 0.0),
        ]),
        weakest_direction_words: "mostly +length −refusal".into(),
        label_balance: Some(0.5),
        longer_share: None,
        tie_share: None,
        longer_p: None,
        win_share: NamedValues(FEATURES.iter().map(|f| ((*f).to_owned(), 0.4)).collect()),
        arms: vec![
            ArmShare {
                arm: "baseline".into(),
                n: n * 3 / 4,
                share: 0.75,
            },
            ArmShare {
                arm: "baseline/shorten".into(),
                n: n / 4,
                share: 0.25,
            },
        ],
        pairs,
        interventions: vec![InterventionUse {
            name: "shorten".into(),
            comparisons: n / 4,
            attempts: 40,
            accepted: 30,
            acceptance_rate: Some(0.75),
            wilson_low: Some(0.6),
            wilson_high: Some(0.86),
            cost: 1.0,
            effective_cost: Some(1.0 / 0.75),
        }],
        scoped: Vec::new(),
        fit: None,
    }
}

pub(crate) fn analysis(buckets: Vec<BucketAnalysis>) -> VersionAnalysis {
    let mut buckets = buckets;
    buckets.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    VersionAnalysis {
        dataset: "demo".into(),
        version: 2,
        digest: "5f1c0a9e3b7d2c4a8e6f0b1d3c5a7e9f1b3d5c7a9e0f2b4d6c8a0e1f3b5d7c9a".into(),
        features: FEATURES
            .iter()
            .map(|f| FeatureInfo {
                name: (*f).to_owned(),
                scale: 1.0,
                never_varies: false,
            })
            .collect(),
        params: AnalysisParams {
            ridge: 1e-4,
            info_ridge: 0.0,
            fit: FitMode::Pooled,
            pairs: Vec::new(),
            scopes: Vec::new(),
        },
        fixed_orientation: false,
        fit: None,
        buckets,
    }
}

/// A one-bucket analysis of text pairs over `features` (a text map's schema), with the default
/// scope and every scope the shipped text policy asks for reported.
pub(crate) fn text_analysis(features: &[String]) -> VersionAnalysis {
    let mut b = bucket("default", 2000, 0.05);
    b.support = NamedValues(features.iter().map(|f| (f.clone(), 500)).collect());
    b.scope = features.to_vec();
    b.label_balance = None;
    b.longer_share = Some(0.44);
    b.tie_share = Some(0.01);
    b.longer_p = Some(1e-6);
    b.win_share = NamedValues(features.iter().map(|f| (f.clone(), 0.3)).collect());
    b.weakest_direction = NamedValues(features.iter().map(|f| (f.clone(), 0.0)).collect());
    let mut pairs = Vec::new();
    for (i, x) in features.iter().enumerate() {
        for y in &features[i + 1..] {
            let mut p = b.pairs[0].clone();
            p.features = [x.clone(), y.clone()];
            pairs.push(p);
        }
    }
    b.pairs = pairs;
    let mut a = analysis(vec![b]);
    a.features = features
        .iter()
        .map(|f| FeatureInfo {
            name: f.clone(),
            scale: 1.0,
            never_varies: false,
        })
        .collect();
    a.fixed_orientation = true;
    let scopes = [vec![
        "log_chars",
        "refusal",
        "disclaimer",
        "apology",
        "hedging",
    ]];
    for scope in scopes {
        let mut o = a.buckets[0].default_overlap();
        o.features = scope.iter().map(|f| (*f).to_owned()).collect();
        o.weakest_direction = NamedValues(o.features.iter().map(|f| (f.clone(), 0.0)).collect());
        a.buckets[0].scoped.push(o);
    }
    a
}

/// benign is healthy, self-harm is thin, cyber is in between.
pub(crate) fn demo_analysis() -> VersionAnalysis {
    analysis(vec![
        bucket("benign", 900, 0.08),
        bucket("self-harm", 120, 0.03),
        bucket("cyber", 300, 0.04),
    ])
}

pub(crate) fn demo_context() -> DatasetContext {
    DatasetContext {
        features: FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        buckets: vec!["benign".into(), "cyber".into(), "self-harm".into()],
        interventions: INTERVENTIONS.iter().map(|s| (*s).to_owned()).collect(),
        arms: vec!["baseline".into(), "baseline/shorten".into()],
    }
}

pub(crate) fn demo_drift() -> DriftReport {
    DriftReport {
        baseline: "demo@1".into(),
        buckets: vec![
            BucketDrift {
                bucket: "benign".into(),
                second_moment_shift: Some(0.05),
                weakest_direction_angle: Some(12.0),
                margin_shift: Some(0.04),
            },
            BucketDrift {
                bucket: "cyber".into(),
                second_moment_shift: Some(0.4),
                weakest_direction_angle: Some(55.0),
                margin_shift: Some(0.1),
            },
            BucketDrift {
                bucket: "self-harm".into(),
                second_moment_shift: None,
                weakest_direction_angle: None,
                margin_shift: None,
            },
        ],
    }
}

pub(crate) fn demo_audits() -> Vec<AuditSummary> {
    vec![AuditSummary {
        bucket: "self-harm".into(),
        audited: 40,
        pass_rate: Some(0.95),
        wilson_low: Some(0.83),
        wilson_high: Some(0.99),
        along_direction_audited: 20,
        along_direction_pass_rate: Some(0.9),
        min_pass_rate: 0.8,
        illusory_overlap: Some(false),
    }]
}

pub(crate) fn policy(yaml: &str) -> Policy {
    match parse("gate.yaml", yaml) {
        Ok(p) => p,
        Err(diags) => {
            let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
            panic!("fixture policy does not parse:\n{}", text.join("\n"))
        }
    }
}

pub(crate) fn input<'a>(
    analysis: &'a VersionAnalysis,
    drift: Option<&'a DriftReport>,
    audits: &'a [AuditSummary],
) -> GateInput<'a> {
    GateInput {
        analysis,
        drift,
        audits,
        today: today(),
        tool_version: "0.1.0-test",
        fail_on_warn: false,
    }
}

pub(crate) fn run(yaml: &str, analysis: &VersionAnalysis) -> Evaluation {
    let p = policy(yaml);
    let audits = demo_audits();
    let drift = demo_drift();
    evaluate(&p, &input(analysis, Some(&drift), &audits)).expect("evaluation completes")
}

/// `(rule or kind, bucket, subject, outcome)` of every finding, for compact assertions.
pub(crate) fn summary(eval: &Evaluation) -> Vec<(String, String, String, &'static str)> {
    eval.findings
        .iter()
        .map(|f| {
            (
                f.rule.clone().unwrap_or_else(|| f.kind.name().to_owned()),
                f.bucket.clone(),
                f.subject(),
                f.outcome.name(),
            )
        })
        .collect()
}
