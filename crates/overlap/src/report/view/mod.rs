//! The report view-models: everything a nutrition label or a design-adequacy report shows, as plain
//! serializable values.
//!
//! Entry points: [`build_label`] and [`build_adequacy`] turn an analysis, a gate [`Evaluation`],
//! audit summaries and the registry's interventions into a [`LabelView`] or [`AdequacyView`]. The
//! serialized view *is* the `--format json` output (documented in docs/reports.md; its shape is an
//! API, versioned by [`REPORT_SCHEMA_VERSION`]); the Markdown and HTML templates render the same
//! values. Builders are pure: the date and tool version are inputs, every list has a fixed order
//! (buckets, features and interventions sorted by name or schema order), and nothing here reads
//! the store, the clock or files, or formats numbers for people (templates do that).
//!
//! Layout: `types` (the view types: the JSON API), `label` (the nutrition label's badges, alerts
//! and prose), `adequacy` (directions, trade-offs, scoped claims and the answer of the
//! design-adequacy report); this file holds what both builders share.

mod adequacy;
mod label;
mod types;

pub use adequacy::{AdequacyInputs, build_adequacy};
pub use label::build_label;
pub use types::*;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::analysis::{AuditSummary, BucketAnalysis, VersionAnalysis};
use crate::policy::findings::{FindingKind, RuleSummary};
use crate::policy::{Evaluation, Finding, Metric, Outcome};

/// A share as a percentage with one decimal, for sentences.
fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Numbers in sentences use the one number format.
fn short(x: f64) -> String {
    crate::model::number::format_number(x)
}

fn identity(inputs: &ReportInputs<'_>) -> Result<Identity, ViewError> {
    let a = inputs.analysis;
    let e = inputs.evaluation;
    if e.dataset.name != a.dataset || e.dataset.version != a.version || e.dataset.digest != a.digest
    {
        return Err(ViewError::Mismatch {
            evaluated: format!("{}@{}", e.dataset.name, e.dataset.version),
            analysed: format!("{}@{}", a.dataset, a.version),
        });
    }
    Ok(Identity {
        dataset: a.dataset.clone(),
        version: a.version,
        parent: inputs.parent,
        digest: a.digest.clone(),
        comparisons: a.buckets.iter().map(|b| b.n).sum(),
        features: a
            .features
            .iter()
            .map(|f| FeatureView {
                name: f.name.clone(),
                scale: f.scale,
                never_varies: f.never_varies,
            })
            .collect(),
        registry_head: inputs.registry_head.to_owned(),
        policy: PolicyView {
            name: e.policy.name.clone(),
            file: inputs.policy_file.to_owned(),
            digest: e.policy.digest.clone(),
        },
        analysis: AnalysisView {
            ridge: a.params.ridge,
            info_ridge: a.params.info_ridge,
            fit: a.params.fit,
        },
        tool_version: inputs.tool_version.to_owned(),
        date: e.evaluated_on.format("%Y-%m-%d").to_string(),
    })
}

fn loadings(features: &[String], v: &[f64]) -> Vec<Loading> {
    features
        .iter()
        .zip(v)
        .map(|(f, x)| Loading {
            feature: f.clone(),
            value: *x,
        })
        .collect()
}

fn pair_view(p: &crate::model::analysis::PairCoverage) -> PairView {
    let q = p.quadrants;
    PairView {
        features: p.features.clone(),
        both: q.pp + q.pm + q.mp + q.mm,
        concordant_share: p.discordant_share.map(|s| 1.0 - s),
        crossed_share: p.discordant_share,
        min_quadrant_share: p.min_quadrant_share,
        quadrants: q,
        zero: p.zero,
    }
}

fn bucket_metrics(b: &BucketAnalysis) -> BucketMetrics {
    let features: Vec<String> = b
        .weakest_direction
        .iter()
        .map(|(f, _)| f.to_owned())
        .collect();
    let values: Vec<f64> = b.weakest_direction.iter().map(|(_, v)| *v).collect();
    // Ties on the share go to the first pair in analysis order, so the choice is stable.
    let coverage = b
        .pairs
        .iter()
        .filter_map(|p| p.discordant_share.map(|s| (s, p)))
        .fold(
            None::<(f64, &crate::model::analysis::PairCoverage)>,
            |best, (s, p)| match best {
                Some((bs, _)) if bs <= s => best,
                _ => Some((s, p)),
            },
        )
        .map(|(s, p)| CoverageView {
            features: p.features.clone(),
            crossed_share: s,
            min_quadrant_share: p.min_quadrant_share.unwrap_or(0.0),
        });
    BucketMetrics {
        n: b.n,
        metrics: b.metrics.clone(),
        mean_curvature: b.mean_curvature,
        geometry_lambda_min: b.geometry_lambda_min,
        label_balance: b.label_balance,
        scope: b.scope.clone(),
        absent_features: b.absent_features.clone(),
        eigenvalues: b.eigenvalues.clone(),
        weakest_direction: loadings(&features, &values),
        weakest_direction_words: b.weakest_direction_words.clone(),
        coverage,
        pairs: b.pairs.iter().map(pair_view).collect(),
        arms: b.arms.clone(),
    }
}

fn slo_view(f: &Finding) -> SloView {
    SloView {
        kind: f.kind,
        rule: f.rule.clone(),
        subject: f.subject(),
        features: f.features.clone(),
        severity: f.severity.name().to_owned(),
        op: f.op.map(|o| o.symbol().to_owned()),
        threshold: f.threshold,
        value: f.value,
        margin: f.margin,
        outcome: f.outcome,
        note: f.evidence.note.clone(),
        waiver: f.waiver.clone(),
        message: f.message.clone(),
    }
}

/// Severity rank of an outcome for a bucket's overall verdict (lower is worse).
fn outcome_rank(o: Outcome) -> u8 {
    match o {
        Outcome::Fail => 0,
        Outcome::Waived => 1,
        Outcome::Warn => 2,
        Outcome::NoData => 3,
        Outcome::Pass => 4,
    }
}

fn rule_selects(rule: &RuleSummary, bucket: &str) -> bool {
    rule.buckets
        .as_ref()
        .is_none_or(|list| list.iter().any(|b| b == bucket))
}

fn rule_threshold(rule: &RuleSummary, bucket: &str) -> f64 {
    rule.thresholds
        .get(bucket)
        .copied()
        .unwrap_or(rule.threshold)
}

/// The strictest `lambda_min >=`/`>` threshold on `bucket` (deny rules first, else warn rules),
/// with the rule that sets it.
fn lambda_min_threshold(rules: &[RuleSummary], bucket: &str) -> Option<(f64, String)> {
    let candidates = |deny: bool| {
        rules
            .iter()
            .filter(move |r| {
                r.metric == Metric::LambdaMin
                    && r.scope.is_none()
                    && r.op.is_lower_bound()
                    && rule_selects(r, bucket)
                    && (r.severity == crate::policy::spec::RuleSeverity::Deny) == deny
            })
            .map(|r| (rule_threshold(r, bucket), r.id.clone()))
            .filter(|(t, _)| t.is_finite())
            .fold(None::<(f64, String)>, |best, (t, id)| match best {
                Some((bt, _)) if bt >= t => best,
                _ => Some((t, id)),
            })
    };
    candidates(true).or_else(|| candidates(false))
}

/// The strictest `worst_se <=`/`<` bound on `bucket` among deny rules.
fn worst_se_target(rules: &[RuleSummary], bucket: &str) -> Option<f64> {
    rules
        .iter()
        .filter(|r| {
            r.metric == Metric::WorstSe
                && r.scope.is_none()
                && !r.op.is_lower_bound()
                && rule_selects(r, bucket)
                && r.severity == crate::policy::spec::RuleSeverity::Deny
        })
        .map(|r| rule_threshold(r, bucket))
        .filter(|t| t.is_finite())
        .fold(None, |best: Option<f64>, t| {
            Some(best.map_or(t, |b| b.min(t)))
        })
}

/// Buckets in name order: those analysed and those the evaluation names (declared buckets
/// without data).
fn bucket_names(analysis: &VersionAnalysis, evaluation: &Evaluation) -> Vec<String> {
    let mut names: Vec<String> = analysis.buckets.iter().map(|b| b.bucket.clone()).collect();
    for f in &evaluation.findings {
        if matches!(f.kind, FindingKind::Rule | FindingKind::RequiredBucket) {
            names.push(f.bucket.clone());
        }
    }
    names.sort();
    names.dedup();
    names
}

fn bucket_findings<'e>(evaluation: &'e Evaluation, bucket: &str) -> Vec<&'e Finding> {
    evaluation
        .findings
        .iter()
        .filter(|f| {
            f.bucket == bucket && matches!(f.kind, FindingKind::Rule | FindingKind::RequiredBucket)
        })
        .collect()
}

fn audit_view(a: &AuditSummary) -> AuditView {
    AuditView {
        bucket: a.bucket.clone(),
        audited: a.audited,
        pass_rate: a.pass_rate,
        wilson_low: a.wilson_low,
        wilson_high: a.wilson_high,
        along_direction_audited: a.along_direction_audited,
        along_direction_pass_rate: a.along_direction_pass_rate,
        min_pass_rate: a.min_pass_rate,
        illusory_overlap: a.illusory_overlap,
    }
}

fn audit_views(audits: &[AuditSummary]) -> Vec<AuditView> {
    let mut out: Vec<AuditView> = audits.iter().map(audit_view).collect();
    out.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    out
}

fn interventions_used(inputs: &ReportInputs<'_>) -> Vec<InterventionView> {
    let mut used: BTreeMap<&str, Vec<InterventionBucketView>> = BTreeMap::new();
    for b in &inputs.analysis.buckets {
        for u in &b.interventions {
            used.entry(u.name.as_str())
                .or_default()
                .push(InterventionBucketView {
                    bucket: b.bucket.clone(),
                    comparisons: u.comparisons,
                    attempts: u.attempts,
                    accepted: u.accepted,
                    acceptance_rate: u.acceptance_rate,
                    wilson_low: u.wilson_low,
                    wilson_high: u.wilson_high,
                    effective_cost: u.effective_cost,
                });
        }
    }
    used.into_iter()
        .map(|(name, buckets)| {
            let reg = inputs.interventions.iter().find(|i| i.name == name);
            InterventionView {
                name: name.to_owned(),
                in_registry: reg.is_some(),
                registry_version: reg.map(|i| i.version),
                family: reg.map(|i| i.spec.family.clone()),
                intent: reg.map(|i| i.spec.intent.clone()),
                targets: reg.map(|i| i.spec.targets.clone()).unwrap_or_default(),
                confounds: reg.map(|i| i.spec.confounds.clone()).unwrap_or_default(),
                cost: reg.map(|i| i.spec.cost),
                retired: reg.is_some_and(|i| i.retired.is_some()),
                buckets,
            }
        })
        .collect()
}

fn history(inputs: &ReportInputs<'_>) -> Vec<HistoryPoint> {
    let point = |a: &VersionAnalysis| HistoryPoint {
        version: a.version,
        digest: a.digest.clone(),
        buckets: a
            .buckets
            .iter()
            .map(|b| HistoryBucket {
                bucket: b.bucket.clone(),
                n: b.n,
                lambda_min: b.metrics.lambda_min,
            })
            .collect(),
    };
    let mut points: Vec<HistoryPoint> = inputs
        .history
        .iter()
        .filter(|a| a.dataset == inputs.analysis.dataset && a.version < inputs.analysis.version)
        .map(point)
        .collect();
    if points.is_empty() {
        return Vec::new();
    }
    points.push(point(inputs.analysis));
    points.sort_by_key(|p| p.version);
    points.dedup_by_key(|p| p.version);
    points
}

fn gate_view(evaluation: &Evaluation) -> GateView {
    GateView {
        verdict: evaluation.verdict,
        counts: evaluation.counts,
    }
}

/// A rendered-report view of either kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    Label(Box<LabelView>),
    Adequacy(Box<AdequacyView>),
}

impl Report {
    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Label(_) => ReportKind::NutritionLabel,
            Report::Adequacy(_) => ReportKind::DesignAdequacy,
        }
    }

    pub fn identity(&self) -> &Identity {
        match self {
            Report::Label(v) => &v.identity,
            Report::Adequacy(v) => &v.identity,
        }
    }

    pub fn gate(&self) -> &GateView {
        match self {
            Report::Label(v) => &v.gate,
            Report::Adequacy(v) => &v.gate,
        }
    }

    /// The verdict summary signed into the attestation's predicate: identity digests, the gate's
    /// verdict and counts, and per bucket its size, λ_min and verdict (the adequacy report adds
    /// its answer). Key order is fixed, so equal reports give equal predicates.
    pub fn verdict_summary(&self, format: &str) -> Value {
        let id = self.identity();
        let gate = self.gate();
        let buckets: Vec<Value> = match self {
            Report::Label(v) => v
                .buckets
                .iter()
                .map(|b| {
                    json!({
                        "bucket": b.bucket,
                        "n": b.metrics.as_ref().map_or(0, |m| m.n),
                        "lambda_min": b.metrics.as_ref().map(|m| m.metrics.lambda_min),
                        "verdict": b.verdict.map(Outcome::name),
                    })
                })
                .collect(),
            Report::Adequacy(v) => v
                .buckets
                .iter()
                .map(|b| {
                    json!({
                        "bucket": b.bucket,
                        "n": b.n,
                        "identified": b.identified,
                        "missing": b.missing,
                        "adequacy": b.adequacy,
                    })
                })
                .collect(),
        };
        let mut summary = json!({
            "report": self.kind().name(),
            "format": format,
            "date": id.date,
            "tool_version": id.tool_version,
            "dataset": {"name": id.dataset, "version": id.version, "digest": id.digest},
            "policy": {"name": id.policy.name, "digest": id.policy.digest},
            "registry_head": id.registry_head,
            "verdict": gate.verdict,
            "counts": gate.counts,
            "buckets": buckets,
        });
        if let (Report::Adequacy(v), Some(map)) = (self, summary.as_object_mut()) {
            map.insert("learnable".into(), Value::Bool(v.answer.learnable));
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_have_four_significant_digits() {
        assert_eq!(short(0.007578), "0.007578");
        assert_eq!(short(0.05), "0.05");
        assert_eq!(short(12.3456), "12.35");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1e-5), "1.000e-5");
        assert_eq!(short(f64::INFINITY), "∞");
        assert_eq!(short(1600.0), "1600");
    }

    #[test]
    fn tones_sort_most_severe_first() {
        let mut t = vec![Tone::Good, Tone::Info, Tone::Bad, Tone::Warn];
        t.sort();
        assert_eq!(t, vec![Tone::Bad, Tone::Warn, Tone::Info, Tone::Good]);
    }
}
