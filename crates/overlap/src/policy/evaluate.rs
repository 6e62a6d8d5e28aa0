//! The gate: evaluates every rule of a policy on every bucket it selects and returns the findings
//! as values.
//!
//! Entry point: [`evaluate`] (pure: the date, tool version and all data are inputs, so the same
//! inputs give the same [`Evaluation`] bit for bit; its types live in `findings`). An input that does not fit the policy (missing
//! drift report, analysis run with other settings, a feature pair that was not analysed) is an
//! [`EvaluateError`], never a passing gate. Nothing here renders or prints.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::model::analysis::{
    AuditSummary, BucketAnalysis, DriftReport, FitMode, InterventionUse, VersionAnalysis,
};
use crate::model::named::NamedValues;
use crate::model::number::format_number;
use crate::policy::findings::{
    Counts, DatasetIdentity, EVALUATION_SCHEMA_VERSION, Evaluation, Evidence, Finding, FindingKind,
    Outcome, PolicyIdentity, RuleSummary, WaiverRef, WaiverState, WaiverStatus, verdict_of,
};
use crate::policy::metric::{Metric, MetricKind};
use crate::policy::spec::{BucketSelection, Policy, Rule, RuleSeverity, Waiver};
use crate::policy::validate::validate;

/// Everything the gate reads besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    pub analysis: &'a VersionAnalysis,
    /// Drift against the policy's baseline; required when a rule uses a drift metric.
    pub drift: Option<&'a DriftReport>,
    pub audits: &'a [AuditSummary],
    /// The date waivers are checked against (never read from the clock here).
    pub today: NaiveDate,
    /// Shown in outputs (SARIF `tool.driver.version`, JSON `tool_version`).
    pub tool_version: &'a str,
    /// `--fail-on warn`: warnings (including unused waivers) fail the gate too.
    pub fail_on_warn: bool,
}

/// Why an evaluation could not be completed (the CLI exits 2: such a gate never passes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluateError {
    #[error("policy '{policy}' has {errors} error(s), first: {first}; run `overlap policy lint`")]
    InvalidPolicy {
        policy: String,
        errors: usize,
        first: String,
    },
    #[error(
        "policy '{policy}' uses drift metrics against {baseline}, but no drift report was given; compute drift against {baseline} first"
    )]
    MissingDrift { policy: String, baseline: String },
    #[error("the drift report is against {report}, but the policy's baseline is {policy}")]
    BaselineMismatch { policy: String, report: String },
    #[error(
        "the policy sets analysis {setting} = {policy}, but the analysis used {analysis}; re-run the analysis with the policy's settings"
    )]
    SettingsMismatch {
        setting: &'static str,
        policy: String,
        analysis: String,
    },
    #[error(
        "rule '{rule}' names feature '{feature}', which {dataset} does not have; run `overlap policy lint --dataset {dataset}`"
    )]
    UnknownFeature {
        rule: String,
        feature: String,
        dataset: String,
    },
    #[error(
        "rule '{rule}': the analysis of bucket '{bucket}' has no coverage for the pair ({first}, {second}); analyse with the policy's feature pairs"
    )]
    PairNotAnalysed {
        rule: String,
        bucket: String,
        first: String,
        second: String,
    },
    #[error(
        "rule '{rule}': the analysis of bucket '{bucket}' has no overlap for the scope [{scope}]; analyse with the policy's scopes"
    )]
    ScopeNotAnalysed {
        rule: String,
        bucket: String,
        scope: String,
    },
    #[error("metric {metric} of bucket '{bucket}' is not a finite number ({value})")]
    NonFiniteMetric {
        metric: Metric,
        bucket: String,
        value: f64,
    },
}

/// Evaluates `policy` on `input`.
pub fn evaluate(policy: &Policy, input: &GateInput<'_>) -> Result<Evaluation, EvaluateError> {
    check_inputs(policy, input)?;
    let analysis = input.analysis;
    let dataset = format!("{}@{}", analysis.dataset, analysis.version);

    // Buckets with data; a bucket listed with n = 0 has no data either.
    let with_data: Vec<&BucketAnalysis> = analysis.buckets.iter().filter(|b| b.n > 0).collect();
    let data_for = |name: &str| with_data.iter().copied().find(|b| b.bucket == name);
    let every_bucket: BTreeSet<&str> = with_data
        .iter()
        .map(|b| b.bucket.as_str())
        .chain(policy.buckets.iter().map(|b| b.name.value.as_str()))
        .collect();

    let mut findings = Vec::new();

    let mut missing_required: Vec<_> = policy
        .buckets
        .iter()
        .filter(|b| b.required && data_for(&b.name.value).is_none())
        .collect();
    missing_required.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    for spec in missing_required {
        findings.push(Finding {
            kind: FindingKind::RequiredBucket,
            rule: None,
            bucket: spec.name.value.clone(),
            metric: None,
            features: None,
            scope: None,
            intervention: None,
            arm: None,
            outcome: Outcome::Fail,
            severity: RuleSeverity::Deny,
            op: None,
            threshold: None,
            value: None,
            margin: None,
            evidence: Evidence::default(),
            waiver: None,
            message: format!(
                "required bucket '{}' has no comparisons in {dataset}",
                spec.name.value
            ),
            line: spec.name.loc.line,
            column: spec.name.loc.column,
        });
    }

    let mut waived_something = vec![false; policy.waivers.len()];
    for rule in &policy.rules {
        let buckets: Vec<&str> = match &rule.buckets {
            BucketSelection::All => every_bucket.iter().copied().collect(),
            BucketSelection::Listed(list) => list
                .iter()
                .map(|b| b.value.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        if buckets.is_empty() {
            findings.push(no_bucket_finding(rule, &dataset));
        }
        for bucket in buckets {
            let measurements = measure(rule, bucket, data_for(bucket), input)?;
            for m in measurements {
                let waiver = active_waiver(policy, rule, bucket, input.today);
                let finding = judge(rule, bucket, m, waiver.map(|(_, w)| w));
                if let (Outcome::Waived, Some((index, _))) = (finding.outcome, waiver) {
                    if let Some(flag) = waived_something.get_mut(index) {
                        *flag = true;
                    }
                }
                findings.push(finding);
            }
        }
    }

    let checked = findings
        .iter()
        .any(|f| f.kind == FindingKind::Rule && f.outcome != Outcome::NoData);
    if !checked {
        findings.push(nothing_checked_finding(policy, &dataset));
    }

    let mut waivers = Vec::new();
    for (index, waiver) in policy.waivers.iter().enumerate() {
        let state = if waiver.is_expired(input.today) {
            WaiverState::Expired
        } else if waived_something.get(index).copied().unwrap_or(false) {
            WaiverState::Active
        } else {
            WaiverState::Unused
        };
        if let Some(finding) = waiver_finding(policy, waiver, state) {
            findings.push(finding);
        }
        waivers.push(WaiverStatus {
            rule: waiver.rule.value.clone(),
            bucket: waiver.bucket.value.clone(),
            owner: waiver.owner.value.clone(),
            reason: waiver.reason.value.clone(),
            ticket: waiver.ticket.value.clone(),
            expires: waiver.expires.value,
            state,
            line: waiver.loc.line,
            column: waiver.loc.column,
        });
    }

    let mut counts = Counts::default();
    for f in &findings {
        match f.outcome {
            Outcome::Pass => counts.pass += 1,
            Outcome::Fail => counts.fail += 1,
            Outcome::Waived => counts.waived += 1,
            Outcome::Warn => counts.warn += 1,
            Outcome::NoData => counts.no_data += 1,
        }
    }

    Ok(Evaluation {
        schema_version: EVALUATION_SCHEMA_VERSION,
        tool_version: input.tool_version.to_owned(),
        policy: PolicyIdentity {
            name: policy.name.value.clone(),
            file: policy.file.clone(),
            digest: policy.digest.clone(),
        },
        dataset: DatasetIdentity {
            name: analysis.dataset.clone(),
            version: analysis.version,
            digest: analysis.digest.clone(),
        },
        baseline: policy.baseline().map(ToString::to_string),
        evaluated_on: input.today,
        fail_on_warn: input.fail_on_warn,
        verdict: verdict_of(&findings, input.fail_on_warn),
        counts,
        rules: policy.rules.iter().map(rule_summary).collect(),
        waivers,
        findings,
    })
}

fn check_inputs(policy: &Policy, input: &GateInput<'_>) -> Result<(), EvaluateError> {
    let errors: Vec<_> = validate(policy, None)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if let Some(first) = errors.first() {
        return Err(EvaluateError::InvalidPolicy {
            policy: policy.name.value.clone(),
            errors: errors.len(),
            first: format!(
                "{} at {}:{}:{}",
                first.message, first.file, first.line, first.column
            ),
        });
    }

    if let (true, Some(baseline)) = (policy.needs_drift(), policy.baseline()) {
        let Some(drift) = input.drift else {
            return Err(EvaluateError::MissingDrift {
                policy: policy.name.value.clone(),
                baseline: baseline.to_string(),
            });
        };
        if drift.baseline != baseline.to_string() {
            return Err(EvaluateError::BaselineMismatch {
                policy: baseline.to_string(),
                report: drift.baseline.clone(),
            });
        }
    }

    let params = &input.analysis.params;
    let settings = &policy.analysis;
    // Exact comparison on purpose: the analysis must have been run with the very value the
    // policy states, not a nearby one.
    #[allow(clippy::float_cmp)]
    let numeric = [
        ("ridge", settings.ridge.as_ref(), params.ridge),
        (
            "info_ridge",
            settings.info_ridge.as_ref(),
            params.info_ridge,
        ),
    ];
    for (setting, wanted, used) in numeric {
        if let Some(wanted) = wanted.filter(|w| w.value != used) {
            return Err(EvaluateError::SettingsMismatch {
                setting,
                policy: wanted.value.to_string(),
                analysis: used.to_string(),
            });
        }
    }
    if let Some(fit) = settings.fit.as_ref().filter(|f| f.value != params.fit) {
        let name = |f: FitMode| match f {
            FitMode::Pooled => "pooled",
            FitMode::PerBucket => "per-bucket",
        };
        return Err(EvaluateError::SettingsMismatch {
            setting: "fit",
            policy: name(fit.value).into(),
            analysis: name(params.fit).into(),
        });
    }

    let dataset = format!("{}@{}", input.analysis.dataset, input.analysis.version);
    for rule in &policy.rules {
        for feature in rule.feature_names().into_iter().flatten() {
            if !input.analysis.features.iter().any(|f| f.name == feature) {
                return Err(EvaluateError::UnknownFeature {
                    rule: rule.id.value.clone(),
                    feature,
                    dataset,
                });
            }
        }
    }
    Ok(())
}

/// A metric value as measured.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Known(f64),
    /// The metric is +∞ (unidentified information, an intervention never accepted): the worst
    /// possible value, so it fails upper bounds instead of being skipped.
    Worst(&'static str),
    Missing(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Measurement {
    features: Option<[String; 2]>,
    scope: Option<Vec<String>>,
    intervention: Option<String>,
    arm: Option<String>,
    value: Value,
    evidence: Evidence,
}

impl Measurement {
    fn of(value: Value, evidence: Evidence) -> Self {
        Self {
            features: None,
            scope: None,
            intervention: None,
            arm: None,
            value,
            evidence,
        }
    }
}

fn measure(
    rule: &Rule,
    bucket: &str,
    data: Option<&BucketAnalysis>,
    input: &GateInput<'_>,
) -> Result<Vec<Measurement>, EvaluateError> {
    let metric = rule.metric.value;
    let features = rule
        .feature_pair()
        .map(|[a, b]| [a.to_owned(), b.to_owned()]);
    let scope = rule.scope();
    let Some(b) = data else {
        let missing = || {
            Measurement::of(
                Value::Missing("no comparisons in this bucket".into()),
                Evidence::default(),
            )
        };
        if metric.kind() == MetricKind::Feature {
            return Ok(rule
                .feature_names()
                .unwrap_or_default()
                .into_iter()
                .map(|f| Measurement {
                    scope: Some(vec![f]),
                    ..missing()
                })
                .collect());
        }
        let mut m = missing();
        m.features = features;
        m.scope = scope;
        m.arm = rule.arm.as_ref().map(|a| a.value.clone());
        return Ok(vec![m]);
    };
    let mut evidence = Evidence {
        n: b.n,
        ..Evidence::default()
    };
    // Overlap metrics read the rule's scope, or the bucket's default scope (its present features).
    let overlap = match &scope {
        Some(scope) => {
            b.scoped_overlap(scope)
                .cloned()
                .ok_or_else(|| EvaluateError::ScopeNotAnalysed {
                    rule: rule.id.value.clone(),
                    bucket: bucket.to_owned(),
                    scope: scope.join(", "),
                })?
        }
        None => b.default_overlap(),
    };
    if metric.shows_weakest_direction() {
        evidence.weakest_direction = Some(overlap.weakest_direction_words.clone());
        evidence.unidentified = overlap.metrics.unidentified;
    }
    if metric.accepts_scope() {
        evidence.scope = Some(overlap.features.clone());
        if !overlap.absent.is_empty() {
            evidence.note = Some(format!(
                "absent in this bucket (support 0): {}",
                overlap.absent.join(", ")
            ));
        }
    }
    let unidentified_or = |v: Option<f64>| v.map_or(Value::Worst("unidentified"), Value::Known);

    let mut out = match metric.kind() {
        MetricKind::Bucket => {
            #[allow(clippy::cast_precision_loss)]
            let value = match metric {
                Metric::N => Value::Known(b.n as f64),
                Metric::LambdaMin => Value::Known(overlap.metrics.lambda_min),
                Metric::ConditionNumber => unidentified_or(overlap.metrics.condition_number),
                Metric::TotalInformation => Value::Known(overlap.metrics.total_information),
                Metric::WorstSe => unidentified_or(overlap.metrics.worst_se),
                Metric::MeanCurvature => Value::Known(b.mean_curvature),
                Metric::GeometryLambdaMin => Value::Known(overlap.geometry_lambda_min),
                _ => b.label_balance.map_or_else(
                    || {
                        Value::Missing(
                            "not applicable: the import fixed the orientation (every pair is chosen/rejected, L = 1)"
                                .into(),
                        )
                    },
                    Value::Known,
                ),
            };
            let mut m = Measurement::of(value, evidence);
            m.scope = scope;
            vec![m]
        }
        MetricKind::Feature => rule
            .feature_names()
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                #[allow(clippy::cast_precision_loss)]
                let value = b.support.get(&f).map_or_else(
                    || Value::Missing(format!("feature '{f}' is not in the analysis")),
                    |&c| Value::Known(c as f64),
                );
                Measurement {
                    scope: Some(vec![f]),
                    ..Measurement::of(value, evidence.clone())
                }
            })
            .collect(),
        MetricKind::FeaturePair => {
            let [first, second] = features.clone().unwrap_or_default();
            let coverage = b.pairs.iter().find(|p| {
                let [x, y] = &p.features;
                (*x == first && *y == second) || (*x == second && *y == first)
            });
            let Some(coverage) = coverage else {
                return Err(EvaluateError::PairNotAnalysed {
                    rule: rule.id.value.clone(),
                    bucket: bucket.to_owned(),
                    first,
                    second,
                });
            };
            let value = if metric == Metric::MinQuadrantShare {
                coverage.min_quadrant_share
            } else {
                coverage.discordant_share
            };
            evidence.quadrants = Some(coverage.quadrants);
            let value = value.map_or_else(
                || Value::Missing("no comparison where both features differ".into()),
                Value::Known,
            );
            let mut m = Measurement::of(value, evidence);
            m.features = features;
            vec![m]
        }
        MetricKind::Intervention => interventions(rule, b, &evidence),
        MetricKind::Arm => {
            let arm = rule
                .arm
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default();
            let share = b.arms.iter().find(|a| a.arm == arm).map(|a| a.share);
            if share.is_none() {
                evidence.note = Some("no comparison of the bucket is in this arm".into());
            }
            let mut m = Measurement::of(Value::Known(share.unwrap_or(0.0)), evidence);
            m.arm = Some(arm);
            vec![m]
        }
        MetricKind::Audit => {
            let audit = input.audits.iter().find(|a| a.bucket == bucket);
            evidence.audited = Some(audit.map_or(0, |a| a.audited));
            evidence.interval = audit.and_then(|a| Some([a.wilson_low?, a.wilson_high?]));
            let value = audit.and_then(|a| a.pass_rate).map_or_else(
                || Value::Missing("no audited comparisons in this bucket".into()),
                Value::Known,
            );
            vec![Measurement::of(value, evidence)]
        }
        MetricKind::Drift => {
            let drift = input.drift.and_then(|d| {
                evidence.baseline = Some(d.baseline.clone());
                d.buckets.iter().find(|x| x.bucket == bucket)
            });
            let value = drift.and_then(|d| match metric {
                Metric::SecondMomentShift => d.second_moment_shift,
                Metric::WeakestDirectionAngle => d.weakest_direction_angle,
                _ => d.margin_shift,
            });
            let value = value.map_or_else(
                || Value::Missing("bucket is missing from the baseline or this version".into()),
                Value::Known,
            );
            vec![Measurement::of(value, evidence)]
        }
    };

    for m in &mut out {
        if let Value::Known(v) = m.value {
            if v.is_finite() {
                continue;
            }
            return Err(EvaluateError::NonFiniteMetric {
                metric,
                bucket: bucket.to_owned(),
                value: v,
            });
        }
        if let Value::Worst(reason) = m.value {
            m.evidence.note.get_or_insert_with(|| reason.to_owned());
        }
    }
    out.sort_by(|a, b| {
        (&a.features, &a.scope, &a.intervention, &a.arm).cmp(&(
            &b.features,
            &b.scope,
            &b.intervention,
            &b.arm,
        ))
    });
    Ok(out)
}

/// One measurement per intervention: the rule's list, else every intervention used in the bucket.
fn interventions(rule: &Rule, b: &BucketAnalysis, base: &Evidence) -> Vec<Measurement> {
    let metric = rule.metric.value;
    let names: Vec<String> = match &rule.interventions {
        Some(list) => list.value.iter().map(|i| i.value.clone()).collect(),
        None => b.interventions.iter().map(|i| i.name.clone()).collect(),
    };
    let names: BTreeSet<String> = names.into_iter().collect();
    if names.is_empty() {
        return vec![Measurement::of(
            Value::Missing("no intervention is used in this bucket".into()),
            base.clone(),
        )];
    }
    names
        .into_iter()
        .map(|name| {
            let used: Option<&InterventionUse> = b.interventions.iter().find(|i| i.name == name);
            let mut evidence = base.clone();
            let value = match used {
                None => Value::Missing("intervention is not used in this bucket".into()),
                Some(u) => {
                    evidence.attempts = Some(u.attempts);
                    evidence.accepted = Some(u.accepted);
                    evidence.interval = u.wilson_low.zip(u.wilson_high).map(|(l, h)| [l, h]);
                    match (metric, u.attempts, u.acceptance_rate, u.effective_cost) {
                        (_, 0, _, _) | (Metric::AcceptanceRate, _, None, _) => {
                            Value::Missing("no acceptance observations".into())
                        }
                        (Metric::AcceptanceRate, _, Some(rate), _) => Value::Known(rate),
                        (_, _, _, Some(cost)) => Value::Known(cost),
                        (_, _, _, None) => Value::Worst("never accepted: infinite effective cost"),
                    }
                }
            };
            let mut m = Measurement::of(value, evidence);
            m.intervention = Some(name);
            m
        })
        .collect()
}

/// The unexpired waiver for (rule, bucket), with its index.
fn active_waiver<'p>(
    policy: &'p Policy,
    rule: &Rule,
    bucket: &str,
    today: NaiveDate,
) -> Option<(usize, &'p Waiver)> {
    policy.waivers.iter().enumerate().find(|(_, w)| {
        w.rule.value == rule.id.value && w.bucket.value == bucket && !w.is_expired(today)
    })
}

fn waiver_ref(w: &Waiver) -> WaiverRef {
    WaiverRef {
        owner: w.owner.value.clone(),
        reason: w.reason.value.clone(),
        ticket: w.ticket.value.clone(),
        expires: w.expires.value,
        line: w.loc.line,
    }
}

fn judge(rule: &Rule, bucket: &str, m: Measurement, waiver: Option<&Waiver>) -> Finding {
    let op = rule.op.value;
    let threshold = rule.threshold_for(bucket);
    let mut finding = Finding {
        kind: FindingKind::Rule,
        rule: Some(rule.id.value.clone()),
        bucket: bucket.to_owned(),
        metric: Some(rule.metric.value),
        features: m.features,
        scope: m.scope,
        intervention: m.intervention,
        arm: m.arm,
        outcome: Outcome::NoData,
        severity: rule.severity.value,
        op: Some(op),
        threshold: Some(threshold),
        value: None,
        margin: None,
        evidence: m.evidence,
        waiver: None,
        message: String::new(),
        line: rule.loc.line,
        column: rule.loc.column,
    };
    let subject = finding.subject();
    let bound = format!("{op} {}", format_number(threshold));
    let passes = match &m.value {
        Value::Known(v) => {
            finding.value = Some(*v);
            finding.margin = Some(op.margin(*v, threshold));
            finding.message = format!("{subject} = {} (needs {bound})", format_number(*v));
            op.holds(*v, threshold)
        }
        Value::Worst(reason) => {
            finding.message = format!("{subject} is +∞: {reason} (needs {bound})");
            op.holds(f64::INFINITY, threshold)
        }
        Value::Missing(note) => {
            finding.evidence.note = Some(note.clone());
            finding.message = format!("{subject}: no data ({note})");
            return finding;
        }
    };
    finding.outcome = if passes {
        Outcome::Pass
    } else if let Some(w) = waiver {
        finding.waiver = Some(waiver_ref(w));
        Outcome::Waived
    } else {
        match rule.severity.value {
            RuleSeverity::Deny => Outcome::Fail,
            RuleSeverity::Warn => Outcome::Warn,
        }
    };
    finding
}

fn no_bucket_finding(rule: &Rule, dataset: &str) -> Finding {
    Finding {
        kind: FindingKind::Rule,
        rule: Some(rule.id.value.clone()),
        bucket: "*".into(),
        metric: Some(rule.metric.value),
        features: None,
        scope: None,
        intervention: None,
        arm: None,
        outcome: Outcome::NoData,
        severity: rule.severity.value,
        op: Some(rule.op.value),
        threshold: Some(rule.threshold.value),
        value: None,
        margin: None,
        evidence: Evidence {
            note: Some(format!("{dataset} has no buckets with data")),
            ..Evidence::default()
        },
        waiver: None,
        message: format!(
            "{}: no data ({dataset} has no buckets with data)",
            rule.metric.value
        ),
        line: rule.loc.line,
        column: rule.loc.column,
    }
}

/// The gate evaluated no rule on any bucket (every finding "no data", or no rules): it checked
/// nothing, which must never read as a pass (DESIGN §5).
fn nothing_checked_finding(policy: &Policy, dataset: &str) -> Finding {
    let message = if policy.rules.is_empty() {
        format!("the policy has no rules: nothing was checked on {dataset}")
    } else {
        format!(
            "no rule could be evaluated on any bucket of {dataset} (every finding is no-data): nothing was checked"
        )
    };
    Finding {
        kind: FindingKind::NothingChecked,
        rule: None,
        bucket: "*".into(),
        metric: None,
        features: None,
        scope: None,
        intervention: None,
        arm: None,
        outcome: Outcome::Fail,
        severity: RuleSeverity::Deny,
        op: None,
        threshold: None,
        value: None,
        margin: None,
        evidence: Evidence::default(),
        waiver: None,
        message,
        line: policy.name.loc.line,
        column: policy.name.loc.column,
    }
}

fn waiver_finding(policy: &Policy, w: &Waiver, state: WaiverState) -> Option<Finding> {
    let (kind, outcome, severity, message) = match state {
        WaiverState::Active => return None,
        WaiverState::Expired => (
            FindingKind::WaiverExpired,
            Outcome::Fail,
            RuleSeverity::Deny,
            format!(
                "waiver for rule '{}' on bucket '{}' expired on {} (owner {}, ticket {}, reason: {}); renew or remove it",
                w.rule.value,
                w.bucket.value,
                w.expires.value.format("%Y-%m-%d"),
                w.owner.value,
                w.ticket.value,
                w.reason.value
            ),
        ),
        WaiverState::Unused => (
            FindingKind::WaiverUnused,
            Outcome::Warn,
            RuleSeverity::Warn,
            format!(
                "waiver for rule '{}' on bucket '{}' waived nothing; remove it",
                w.rule.value, w.bucket.value
            ),
        ),
    };
    Some(Finding {
        kind,
        rule: Some(w.rule.value.clone()),
        bucket: w.bucket.value.clone(),
        metric: policy.rule(&w.rule.value).map(|r| r.metric.value),
        features: None,
        scope: None,
        intervention: None,
        arm: None,
        outcome,
        severity,
        op: None,
        threshold: None,
        value: None,
        margin: None,
        evidence: Evidence::default(),
        waiver: Some(waiver_ref(w)),
        message,
        line: w.loc.line,
        column: w.loc.column,
    })
}

fn rule_summary(rule: &Rule) -> RuleSummary {
    RuleSummary {
        id: rule.id.value.clone(),
        description: rule.description.as_ref().map(|d| d.value.clone()),
        metric: rule.metric.value,
        op: rule.op.value,
        threshold: rule.threshold.value,
        thresholds: NamedValues(
            rule.thresholds
                .iter()
                .map(|t| (t.bucket.value.clone(), t.threshold.value))
                .collect(),
        ),
        buckets: match &rule.buckets {
            BucketSelection::All => None,
            BucketSelection::Listed(l) => Some(l.iter().map(|b| b.value.clone()).collect()),
        },
        severity: rule.severity.value,
        scope: rule.scope(),
        line: rule.loc.line,
        column: rule.loc.column,
    }
}
