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

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::analysis::{Analyzed, direction_in_words};
use crate::model::Intervention;
use crate::model::analysis::{
    ArmShare, AuditSummary, BucketAnalysis, FitMode, Quadrants, VersionAnalysis,
};
use crate::numerics::eigen::{is_identified, sym_eigen};
use crate::numerics::scope::{clean_loadings, scoped_information};
use crate::policy::evaluate::{Counts, FindingKind, RuleSummary, WaiverRef, WaiverStatus};
use crate::policy::{Evaluation, Finding, GateVerdict, Metric, Outcome};
use crate::report::design::{DesignSection, PlanSection};

/// Version of the report JSON shape. Bumped only on breaking changes; adding fields is not one.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Which report a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    NutritionLabel,
    DesignAdequacy,
}

impl ReportKind {
    /// The kebab-case name used in JSON, the store and file names.
    pub const fn name(self) -> &'static str {
        match self {
            ReportKind::NutritionLabel => "nutrition-label",
            ReportKind::DesignAdequacy => "design-adequacy",
        }
    }
}

/// Everything the builders read besides the policy-specific extras of the adequacy report.
#[derive(Debug, Clone, Copy)]
pub struct ReportInputs<'a> {
    /// The analysis the gate evaluated.
    pub analysis: &'a VersionAnalysis,
    /// The gate's evaluation of the policy on `analysis` (its date is the report date).
    pub evaluation: &'a Evaluation,
    /// The policy file's name as shown (a file name, not a machine-specific path).
    pub policy_file: &'a str,
    /// Audit evidence per bucket; empty when no audit was recorded.
    pub audits: &'a [AuditSummary],
    /// The registry's interventions (current versions), for intent, targets and confounds.
    pub interventions: &'a [Intervention],
    /// Hash of the newest registry event when the report was made.
    pub registry_head: &'a str,
    /// The version this one was derived from, if any.
    pub parent: Option<u32>,
    /// Analyses of the dataset's earlier versions with the same parameters, oldest first (the
    /// λ_min history); later versions are never included, so a version's report stays stable.
    pub history: &'a [VersionAnalysis],
    pub tool_version: &'a str,
}

/// Who and what a report is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub dataset: String,
    pub version: u32,
    pub parent: Option<u32>,
    /// The version's content digest (SHA-256, hex).
    pub digest: String,
    pub comparisons: u64,
    /// The feature schema in order, with the frozen scales.
    pub features: Vec<FeatureView>,
    /// Hash of the newest registry event: pins the interventions' definitions.
    pub registry_head: String,
    pub policy: PolicyView,
    pub analysis: AnalysisView,
    pub tool_version: String,
    /// `YYYY-MM-DD`: the report date, also the date waivers were checked against.
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureView {
    pub name: String,
    pub scale: f64,
    pub never_varies: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyView {
    pub name: String,
    pub file: String,
    /// SHA-256 of the policy file's bytes, hex.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisView {
    pub ridge: f64,
    pub info_ridge: f64,
    pub fit: FitMode,
}

/// The gate's result in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateView {
    pub verdict: GateVerdict,
    pub counts: Counts,
}

/// How a badge or alert should read: good news, a caution, a problem, or neutral information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Bad,
    Warn,
    Info,
    Good,
}

/// A one-glance summary of one aspect of the label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Badge {
    /// Stable identifier: `gate`, `overlap`, `coverage`, `waivers`, `audits`.
    pub id: String,
    pub label: String,
    pub value: String,
    pub tone: Tone,
}

/// A finding that needs a reader's attention, in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub tone: Tone,
    pub bucket: Option<String>,
    pub message: String,
}

/// One loading of a direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loading {
    pub feature: String,
    pub value: f64,
}

/// Crossed vs concordant coverage of one feature pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairView {
    pub features: [String; 2],
    /// Comparisons where both differences are non-zero.
    pub both: u64,
    /// Share with equal signs ("better on both").
    pub concordant_share: Option<f64>,
    /// Share with opposite signs ("long & unsafe vs short & safe").
    pub crossed_share: Option<f64>,
    pub min_quadrant_share: Option<f64>,
    pub quadrants: Quadrants,
    pub zero: u64,
}

/// The least crossed pair of a bucket: the pair, among those with comparisons where both
/// features differ, whose crossed share (opposite signs, "long & unsafe vs short & safe") is the
/// smallest. Crossed comparisons are what tell two weights apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageView {
    pub features: [String; 2],
    /// The share of crossed comparisons: the number this pair is named for.
    pub crossed_share: f64,
    pub min_quadrant_share: f64,
}

/// The metrics of a bucket with data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketMetrics {
    pub n: u64,
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// `None` when unidentified.
    pub condition_number: Option<f64>,
    pub unidentified: bool,
    pub total_information: f64,
    pub worst_se: Option<f64>,
    pub mean_curvature: f64,
    pub geometry_lambda_min: f64,
    /// `None` when the import fixed the orientation (not applicable).
    pub label_balance: Option<f64>,
    /// The default scope (present features) the eigen-metrics are about.
    pub scope: Vec<String>,
    /// Features with support 0 in the bucket.
    pub absent_features: Vec<String>,
    /// Eigenvalues of Î_{S·N} on the scope, ascending (noise is exactly 0).
    pub eigenvalues: Vec<f64>,
    pub weakest_direction: Vec<Loading>,
    pub weakest_direction_words: String,
    /// The least-covered feature pair, when any pair has comparisons on both features.
    pub coverage: Option<CoverageView>,
    pub pairs: Vec<PairView>,
    pub arms: Vec<ArmShare>,
}

/// One SLO finding on a bucket: value, threshold, margin and outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloView {
    pub kind: FindingKind,
    pub rule: Option<String>,
    /// e.g. `lambda_min` or `min_quadrant_share(length, refusal)`.
    pub subject: String,
    /// The feature pair of pair metrics, as written in the rule.
    pub features: Option<[String; 2]>,
    pub severity: String,
    pub op: Option<String>,
    pub threshold: Option<f64>,
    /// `None` for no data and for +∞ (see `note`).
    pub value: Option<f64>,
    pub margin: Option<f64>,
    pub outcome: Outcome,
    pub note: Option<String>,
    pub waiver: Option<WaiverRef>,
    pub message: String,
}

/// One bucket of the nutrition label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketView {
    pub bucket: String,
    /// The worst outcome of its findings (fail, then waived, warn, no-data, pass); `None` when
    /// no rule applies to it.
    pub verdict: Option<Outcome>,
    /// `None` when the bucket has no comparisons (a declared bucket without data).
    pub metrics: Option<BucketMetrics>,
    /// The strictest `lambda_min >=` threshold for the bucket (the spectrum chart's line).
    pub lambda_min_threshold: Option<f64>,
    pub slos: Vec<SloView>,
}

/// Acceptance and cost of one intervention in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterventionBucketView {
    pub bucket: String,
    pub comparisons: u64,
    pub attempts: u64,
    pub accepted: u64,
    pub acceptance_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    pub effective_cost: Option<f64>,
}

/// An intervention the version uses, with its registry definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterventionView {
    pub name: String,
    /// `false` when the registry no longer knows it (then the fields below are empty).
    pub in_registry: bool,
    pub registry_version: Option<u32>,
    pub family: Option<String>,
    pub intent: Option<String>,
    pub targets: Vec<String>,
    pub confounds: Vec<String>,
    pub cost: Option<f64>,
    pub retired: bool,
    pub buckets: Vec<InterventionBucketView>,
}

/// Audit evidence of one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditView {
    pub bucket: String,
    pub audited: u64,
    pub pass_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    /// Audited comparisons drawn along the weakest direction, and their pass rate.
    pub along_direction_audited: u64,
    pub along_direction_pass_rate: Option<f64>,
    pub min_pass_rate: f64,
    /// The ILLUSORY OVERLAP flag (DESIGN §2 audits): the pass rate along the weakest direction
    /// is below `min_pass_rate`; `None` while nothing drawn along it has a verdict.
    pub illusory_overlap: Option<bool>,
}

/// λ_min of every bucket in one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub version: u32,
    pub digest: String,
    pub buckets: Vec<HistoryBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryBucket {
    pub bucket: String,
    pub n: u64,
    pub lambda_min: f64,
}

/// The dataset nutrition label (DESIGN §6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelView {
    pub schema_version: u32,
    pub kind: ReportKind,
    pub identity: Identity,
    pub gate: GateView,
    pub badges: Vec<Badge>,
    /// Most severe first.
    pub alerts: Vec<Alert>,
    pub buckets: Vec<BucketView>,
    pub interventions: Vec<InterventionView>,
    pub audits: Vec<AuditView>,
    /// Every waiver of the policy with its state: never hidden.
    pub waivers: Vec<WaiverStatus>,
    /// λ_min per version up to this one (empty when the dataset has one version).
    pub history: Vec<HistoryPoint>,
}

/// One eigen-direction of a bucket's information.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectionView {
    pub eigenvalue: f64,
    /// `eigenvalue >= threshold` (and numerically identified).
    pub identified: bool,
    pub words: String,
    pub loadings: Vec<Loading>,
}

/// Where a bucket's identification threshold comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdView {
    pub value: f64,
    /// The policy rule that sets it; `None` when no `lambda_min` rule applies and only numerical
    /// identification (λ > 1e-12·λ_max) is required.
    pub rule: Option<String>,
}

/// A claimed trade-off (a feature pair named by a policy rule) and whether the data covers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeOffView {
    pub rule: String,
    pub subject: String,
    pub features: [String; 2],
    pub crossed_share: Option<f64>,
    pub op: Option<String>,
    pub threshold: Option<f64>,
    pub value: Option<f64>,
    pub outcome: Outcome,
}

/// A claim of the policy about a scope of features (a scoped overlap rule or a `support`
/// rule, DESIGN §5) on one bucket: what it measured and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopedClaimView {
    pub rule: String,
    /// e.g. `worst_se(log_chars, refusal)`.
    pub subject: String,
    pub scope: Vec<String>,
    pub op: Option<String>,
    pub threshold: Option<f64>,
    pub value: Option<f64>,
    pub outcome: Outcome,
    pub note: Option<String>,
}

/// Whether a bucket's data identifies every direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Adequacy {
    /// Every direction clears the threshold and every claimed trade-off is covered.
    Adequate,
    /// Some direction or trade-off falls short.
    Gap,
    /// No comparisons.
    NoData,
}

/// One bucket of the design-adequacy report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdequacyBucket {
    pub bucket: String,
    pub adequacy: Adequacy,
    pub n: u64,
    pub threshold: Option<ThresholdView>,
    /// Every eigen-direction, weakest first.
    pub directions: Vec<DirectionView>,
    pub identified: usize,
    pub missing: usize,
    pub worst_se: Option<f64>,
    /// The policy's worst-SE bound for the bucket, if any.
    pub worst_se_target: Option<f64>,
    /// The bucket's default scope (its non-absent features): what `directions` span.
    pub scope: Vec<String>,
    /// Features with support 0 in the bucket: nothing can be said about their weights.
    pub absent_features: Vec<String>,
    pub trade_offs: Vec<TradeOffView>,
    /// The policy's claims about scopes of features in this bucket.
    pub scoped_claims: Vec<ScopedClaimView>,
    pub audit: Option<AuditView>,
    /// One sentence on this bucket.
    pub summary: String,
}

/// The one-line answer to "could the claimed trade-offs be learned from this data?".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerView {
    pub learnable: bool,
    pub text: String,
}

/// The design-adequacy report (DESIGN §6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdequacyView {
    pub schema_version: u32,
    pub kind: ReportKind,
    pub identity: Identity,
    pub gate: GateView,
    pub answer: AnswerView,
    pub buckets: Vec<AdequacyBucket>,
    pub audits: Vec<AuditView>,
    pub waivers: Vec<WaiverStatus>,
    /// `--budget`, when given.
    pub budget: Option<f64>,
    /// The optimal intervention mixture per bucket; `None` until the solvers are wired in.
    pub design: Option<DesignSection>,
    /// The budget plan that would close the gaps; `None` until the solvers are wired in.
    pub plan: Option<PlanSection>,
}

/// Errors of the view builders: inputs that do not belong together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    #[error(
        "the evaluation is of {evaluated} but the analysis is of {analysed}; evaluate the analysed version"
    )]
    Mismatch { evaluated: String, analysed: String },
    #[error("bucket '{bucket}': {reason}")]
    Information { bucket: String, reason: String },
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
        lambda_min: b.lambda_min,
        lambda_max: b.lambda_max,
        condition_number: b.condition_number,
        unidentified: b.unidentified,
        total_information: b.total_information,
        worst_se: b.worst_se,
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
                lambda_min: b.lambda_min,
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

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Numbers in sentences use the templates' fixed precision.
fn short(x: f64) -> String {
    crate::model::number::format_number(x)
}

fn badges(view: &LabelView) -> Vec<Badge> {
    let mut out = Vec::new();
    out.push(Badge {
        id: "gate".into(),
        label: "gate".into(),
        value: match view.gate.verdict {
            GateVerdict::Pass => "pass".into(),
            GateVerdict::Fail => format!("fail ({} failing)", view.gate.counts.fail),
        },
        tone: match view.gate.verdict {
            GateVerdict::Pass => Tone::Good,
            GateVerdict::Fail => Tone::Bad,
        },
    });

    // Overlap: the bucket with the smallest λ_min relative to its threshold.
    let weakest = view
        .buckets
        .iter()
        .filter_map(|b| b.metrics.as_ref().map(|m| (b, m)))
        .min_by(|(ba, ma), (bb, mb)| {
            let ra = ma.lambda_min / ba.lambda_min_threshold.unwrap_or(1.0);
            let rb = mb.lambda_min / bb.lambda_min_threshold.unwrap_or(1.0);
            ra.total_cmp(&rb).then_with(|| ba.bucket.cmp(&bb.bucket))
        });
    if let Some((b, m)) = weakest {
        let below = b.lambda_min_threshold.is_some_and(|t| m.lambda_min < t);
        out.push(Badge {
            id: "overlap".into(),
            label: "weakest overlap".into(),
            value: match b.lambda_min_threshold {
                Some(t) => format!(
                    "{}: λ_min {} ({} {})",
                    b.bucket,
                    short(m.lambda_min),
                    if below { "<" } else { "≥" },
                    short(t)
                ),
                None => format!("{}: λ_min {}", b.bucket, short(m.lambda_min)),
            },
            tone: if m.unidentified || below {
                Tone::Bad
            } else {
                Tone::Good
            },
        });
    }

    let coverage = view
        .buckets
        .iter()
        .filter_map(|b| {
            b.metrics
                .as_ref()
                .and_then(|m| m.coverage.as_ref())
                .map(|c| (b, c))
        })
        .min_by(|(ba, ca), (bb, cb)| {
            ca.crossed_share
                .total_cmp(&cb.crossed_share)
                .then_with(|| ba.bucket.cmp(&bb.bucket))
        });
    if let Some((b, c)) = coverage {
        let pair_failing = b
            .slos
            .iter()
            .any(|s| s.subject.starts_with("min_quadrant_share") && s.outcome == Outcome::Fail);
        out.push(Badge {
            id: "coverage".into(),
            label: "least crossed pair".into(),
            value: format!(
                "{}: {} × {} crossed in {} of comparisons",
                b.bucket,
                c.features[0],
                c.features[1],
                pct(c.crossed_share)
            ),
            tone: if pair_failing || c.crossed_share == 0.0 {
                Tone::Bad
            } else if c.crossed_share < 0.05 {
                Tone::Warn
            } else {
                Tone::Good
            },
        });
    }

    let count = |s: crate::policy::evaluate::WaiverState| {
        view.waivers.iter().filter(|w| w.state == s).count()
    };
    let (active, unused, expired) = (
        count(crate::policy::evaluate::WaiverState::Active),
        count(crate::policy::evaluate::WaiverState::Unused),
        count(crate::policy::evaluate::WaiverState::Expired),
    );
    out.push(Badge {
        id: "waivers".into(),
        label: "waivers".into(),
        value: if view.waivers.is_empty() {
            "none".into()
        } else {
            format!("{active} active, {unused} unused, {expired} expired")
        },
        tone: if expired > 0 {
            Tone::Bad
        } else if active > 0 || unused > 0 {
            Tone::Warn
        } else {
            Tone::Good
        },
    });

    let audited: u64 = view.audits.iter().map(|a| a.audited).sum();
    let illusory: Vec<&str> = view
        .audits
        .iter()
        .filter(|a| a.illusory_overlap == Some(true))
        .map(|a| a.bucket.as_str())
        .collect();
    out.push(Badge {
        id: "audits".into(),
        label: "audits".into(),
        value: if !illusory.is_empty() {
            format!(
                "{audited} audited; ILLUSORY OVERLAP in {}",
                illusory.join(", ")
            )
        } else if audited == 0 {
            "none recorded".into()
        } else {
            let worst = view
                .audits
                .iter()
                .filter_map(|a| a.pass_rate.map(|r| (r, a)))
                .min_by(|(ra, a), (rb, b)| ra.total_cmp(rb).then_with(|| a.bucket.cmp(&b.bucket)));
            match worst {
                Some((r, a)) => format!(
                    "{audited} audited; lowest pass rate {} ({})",
                    pct(r),
                    a.bucket
                ),
                None => format!("{audited} audited"),
            }
        },
        tone: if view.audits.iter().any(|a| a.illusory_overlap == Some(true)) {
            Tone::Bad
        } else if audited == 0 {
            Tone::Info
        } else {
            Tone::Good
        },
    });
    out
}

fn alerts(view: &LabelView, evaluation: &Evaluation) -> Vec<Alert> {
    let mut out = Vec::new();
    for f in &evaluation.findings {
        let bucket = (f.bucket != "*").then(|| f.bucket.clone());
        let (tone, message) = match f.outcome {
            Outcome::Fail => (Tone::Bad, f.message.clone()),
            Outcome::Warn => (Tone::Warn, f.message.clone()),
            Outcome::Waived => {
                let by = f.waiver.as_ref().map_or_else(String::new, |w| {
                    format!(
                        " (waived by {}, {}, until {})",
                        w.owner,
                        w.ticket,
                        w.expires.format("%Y-%m-%d")
                    )
                });
                (Tone::Warn, format!("waived: {}{by}", f.message))
            }
            Outcome::Pass | Outcome::NoData => continue,
        };
        out.push(Alert {
            tone,
            bucket,
            message,
        });
    }
    for b in &view.buckets {
        if let Some(m) = &b.metrics {
            if m.unidentified {
                out.push(Alert {
                    tone: Tone::Bad,
                    bucket: Some(b.bucket.clone()),
                    message: format!(
                        "the information of '{}' is singular: the direction {} is not identified at all",
                        b.bucket, m.weakest_direction_words
                    ),
                });
            }
        }
    }
    for f in &view.identity.features {
        if f.never_varies {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: None,
                message: format!(
                    "feature '{}' never varies in this version: its weight cannot be learned",
                    f.name
                ),
            });
        }
    }
    for i in &view.interventions {
        if !i.in_registry {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: None,
                message: format!("intervention '{}' is not in the registry", i.name),
            });
        }
        for b in &i.buckets {
            if b.attempts == 0 {
                out.push(Alert {
                    tone: Tone::Info,
                    bucket: Some(b.bucket.clone()),
                    message: format!(
                        "intervention '{}' has no acceptance observations in '{}'",
                        i.name, b.bucket
                    ),
                });
            }
        }
    }
    for a in &view.audits {
        if a.illusory_overlap == Some(true) {
            out.push(Alert {
                tone: Tone::Bad,
                bucket: Some(a.bucket.clone()),
                message: format!(
                    "ILLUSORY OVERLAP in '{}': of {} audited comparisons drawn along the weakest \
                     direction only {} were judged meaningful and on-policy (below {}), so the overlap \
                     measured there may not be real",
                    a.bucket,
                    a.along_direction_audited,
                    a.along_direction_pass_rate.map_or_else(|| "—".to_owned(), pct),
                    pct(a.min_pass_rate)
                ),
            });
        }
    }
    // Features absent from a bucket that vary elsewhere: a feature that never varies in the
    // version has its own alert above, so it is not repeated per bucket.
    let never_varies: Vec<&str> = view
        .identity
        .features
        .iter()
        .filter(|f| f.never_varies)
        .map(|f| f.name.as_str())
        .collect();
    for b in &view.buckets {
        let Some(m) = &b.metrics else { continue };
        let absent: Vec<&str> = m
            .absent_features
            .iter()
            .map(String::as_str)
            .filter(|f| !never_varies.contains(f))
            .collect();
        if !absent.is_empty() {
            out.push(Alert {
                tone: Tone::Warn,
                bucket: Some(b.bucket.clone()),
                message: format!(
                    "absent in '{}': {} never differ between the two responses (support 0), so \
                     nothing can be said about their weights there; overlap is measured on the other \
                     {} features",
                    b.bucket,
                    absent.join(", "),
                    m.scope.len()
                ),
            });
        }
    }
    if view.audits.iter().all(|a| a.audited == 0) {
        out.push(Alert {
            tone: Tone::Info,
            bucket: None,
            message:
                "no audits recorded: nobody has reviewed comparisons along the weakest directions"
                    .into(),
        });
    }
    // Most severe first; within a tone, the order above (findings in gate order) is kept.
    out.sort_by_key(|a| a.tone);
    out
}

fn gate_view(evaluation: &Evaluation) -> GateView {
    GateView {
        verdict: evaluation.verdict,
        counts: evaluation.counts,
    }
}

/// Builds the nutrition label.
pub fn build_label(inputs: &ReportInputs<'_>) -> Result<LabelView, ViewError> {
    let identity = identity(inputs)?;
    let analysis = inputs.analysis;
    let evaluation = inputs.evaluation;
    let buckets = bucket_names(analysis, evaluation)
        .into_iter()
        .map(|name| {
            let findings = bucket_findings(evaluation, &name);
            let verdict = findings
                .iter()
                .map(|f| f.outcome)
                .min_by_key(|o| outcome_rank(*o));
            let metrics = analysis
                .buckets
                .iter()
                .find(|b| b.bucket == name && b.n > 0)
                .map(bucket_metrics);
            BucketView {
                lambda_min_threshold: lambda_min_threshold(&evaluation.rules, &name).map(|t| t.0),
                bucket: name,
                verdict,
                metrics,
                slos: findings.into_iter().map(slo_view).collect(),
            }
        })
        .collect();
    let mut view = LabelView {
        schema_version: REPORT_SCHEMA_VERSION,
        kind: ReportKind::NutritionLabel,
        identity,
        gate: gate_view(evaluation),
        badges: Vec::new(),
        alerts: Vec::new(),
        buckets,
        interventions: interventions_used(inputs),
        audits: audit_views(inputs.audits),
        waivers: evaluation.waivers.clone(),
        history: history(inputs),
    };
    view.badges = badges(&view);
    view.alerts = alerts(&view, evaluation);
    Ok(view)
}

/// What the adequacy report reads besides [`ReportInputs`].
#[derive(Debug, Clone, Copy)]
pub struct AdequacyInputs<'a> {
    pub base: ReportInputs<'a>,
    /// The full analysis with the per-bucket information matrices (eigenvectors of every
    /// direction come from these).
    pub analyzed: &'a Analyzed,
    pub budget: Option<f64>,
}

/// Every eigen-direction of Î_k = S_k/n_k + λ_I·I, weakest first, with the analysis's sign
/// convention. The eigenvalues shown are the analysis's (the same numbers as the label); the
/// vectors come from this decomposition.
fn directions(
    analyzed: &Analyzed,
    bucket: &BucketAnalysis,
    features: &[String],
    threshold: Option<f64>,
) -> Result<Vec<DirectionView>, ViewError> {
    let fail = |reason: String| ViewError::Information {
        bucket: bucket.bucket.clone(),
        reason,
    };
    // A bucket with comparisons always has summed information; without it nothing could be said
    // about its directions, and an empty list must never read as "nothing missing".
    let info = analyzed
        .information
        .iter()
        .find(|i| i.bucket == bucket.bucket && i.n > 0)
        .ok_or_else(|| fail("the analysis has no information matrix for it".to_owned()))?;
    let mean = info
        .mean_with_ridge(analyzed.analysis.params.info_ridge)
        .ok_or_else(|| fail("the bucket has no comparisons".to_owned()))?;
    // The directions live on the bucket's default scope (its present features), like its
    // eigenvalues; absent features are reported on their own.
    let scope: Vec<usize> = bucket
        .scope
        .iter()
        .filter_map(|f| features.iter().position(|x| x == f))
        .collect();
    if scope.is_empty() {
        return Ok(Vec::new());
    }
    let features: Vec<String> = scope.iter().map(|&j| features[j].clone()).collect();
    let features = features.as_slice();
    let scoped = scoped_information(&mean, &scope).map_err(|e| fail(e.to_string()))?;
    let eig = sym_eigen(&scoped).map_err(|e| fail(e.to_string()))?;
    let lambda_max = bucket.lambda_max;
    (0..eig.dim())
        .map(|k| {
            let vector = clean_loadings(
                &eig.vector(k)
                    .ok_or_else(|| fail(format!("no eigenvector {k}")))?,
            );
            let eigenvalue = bucket
                .eigenvalues
                .get(k)
                .copied()
                .unwrap_or_else(|| eig.values.get(k).copied().unwrap_or(0.0).max(0.0));
            let numerically = is_identified(eigenvalue, lambda_max);
            Ok(DirectionView {
                eigenvalue,
                identified: numerically && threshold.is_none_or(|t| eigenvalue >= t),
                words: direction_in_words(features, &vector),
                loadings: loadings(features, &vector),
            })
        })
        .collect()
}

fn scoped_claims(evaluation: &Evaluation, bucket: &str) -> Vec<ScopedClaimView> {
    evaluation
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Rule && f.bucket == bucket)
        .filter_map(|f| {
            Some(ScopedClaimView {
                rule: f.rule.clone().unwrap_or_default(),
                subject: f.subject(),
                scope: f.scope.clone()?,
                op: f.op.map(|o| o.symbol().to_owned()),
                threshold: f.threshold,
                value: f.value,
                outcome: f.outcome,
                note: f.evidence.note.clone(),
            })
        })
        .collect()
}

fn trade_offs(evaluation: &Evaluation, bucket: &BucketAnalysis) -> Vec<TradeOffView> {
    evaluation
        .findings
        .iter()
        .filter(|f| {
            f.kind == FindingKind::Rule
                && f.bucket == bucket.bucket
                && matches!(
                    f.metric,
                    Some(Metric::MinQuadrantShare | Metric::DiscordantShare)
                )
        })
        .filter_map(|f| {
            let features = f.features.clone()?;
            let crossed = bucket
                .pairs
                .iter()
                .find(|p| {
                    (p.features[0] == features[0] && p.features[1] == features[1])
                        || (p.features[0] == features[1] && p.features[1] == features[0])
                })
                .and_then(|p| p.discordant_share);
            Some(TradeOffView {
                rule: f.rule.clone().unwrap_or_default(),
                subject: f.subject(),
                features,
                crossed_share: crossed,
                op: f.op.map(|o| o.symbol().to_owned()),
                threshold: f.threshold,
                value: f.value,
                outcome: f.outcome,
            })
        })
        .collect()
}

fn adequacy_bucket(
    inputs: &AdequacyInputs<'_>,
    name: &str,
    features: &[String],
) -> Result<AdequacyBucket, ViewError> {
    let evaluation = inputs.base.evaluation;
    let threshold = lambda_min_threshold(&evaluation.rules, name);
    let audit = inputs
        .base
        .audits
        .iter()
        .find(|a| a.bucket == name)
        .map(audit_view);
    let worst_se_target = worst_se_target(&evaluation.rules, name);
    let Some(bucket) = inputs
        .base
        .analysis
        .buckets
        .iter()
        .find(|b| b.bucket == name && b.n > 0)
    else {
        return Ok(AdequacyBucket {
            bucket: name.to_owned(),
            adequacy: Adequacy::NoData,
            n: 0,
            threshold: threshold.map(|(value, rule)| ThresholdView {
                value,
                rule: Some(rule),
            }),
            directions: Vec::new(),
            identified: 0,
            missing: features.len(),
            worst_se: None,
            worst_se_target,
            scope: Vec::new(),
            absent_features: Vec::new(),
            trade_offs: Vec::new(),
            scoped_claims: Vec::new(),
            audit,
            summary: format!("'{name}' has no comparisons: nothing about it can be learned"),
        });
    };
    let directions = directions(
        inputs.analyzed,
        bucket,
        features,
        threshold.as_ref().map(|t| t.0),
    )?;
    let identified = directions.iter().filter(|d| d.identified).count();
    let missing = directions.len() - identified;
    let trade_offs = trade_offs(evaluation, bucket);
    let uncovered: Vec<&TradeOffView> = trade_offs
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Fail | Outcome::Waived | Outcome::Warn))
        .collect();
    let scoped_claims = scoped_claims(evaluation, &bucket.bucket);
    let unmet_claims: Vec<&ScopedClaimView> = scoped_claims
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                Outcome::Fail | Outcome::Waived | Outcome::Warn | Outcome::NoData
            )
        })
        .collect();
    // Identified but too imprecise for the policy's bound is short of the policy too.
    let imprecise = worst_se_target.is_some_and(|t| bucket.worst_se.is_none_or(|se| se > t));
    let adequacy = if missing == 0 && uncovered.is_empty() && unmet_claims.is_empty() && !imprecise
    {
        Adequacy::Adequate
    } else {
        Adequacy::Gap
    };
    let bound = threshold.as_ref().map_or_else(
        || "numerical identification".to_owned(),
        |(t, rule)| format!("λ ≥ {} ({rule})", short(*t)),
    );
    let mut parts = Vec::new();
    let scope_words = if bucket.absent_features.is_empty() {
        String::new()
    } else {
        format!(" of its scope ({} features)", bucket.scope.len())
    };
    if missing == 0 {
        parts.push(format!(
            "all {} directions{scope_words} clear {bound}",
            directions.len()
        ));
    } else {
        let weak: Vec<String> = directions
            .iter()
            .filter(|d| !d.identified)
            .map(|d| format!("{} (λ {})", d.words, short(d.eigenvalue)))
            .collect();
        parts.push(format!(
            "{identified} of {} directions{scope_words} clear {bound}; not identified: {}",
            directions.len(),
            weak.join("; ")
        ));
    }
    if imprecise {
        parts.push(format!(
            "worst-direction standard error {} exceeds the policy bound {}",
            bucket.worst_se.map_or_else(|| "∞".to_owned(), short),
            worst_se_target.map_or_else(String::new, short)
        ));
    }
    if !bucket.absent_features.is_empty() {
        parts.push(format!(
            "absent (support 0), so nothing can be said about their weights: {}",
            bucket.absent_features.join(", ")
        ));
    }
    for c in &unmet_claims {
        parts.push(format!(
            "{} is {}{} ({}: {})",
            c.subject,
            c.value.map_or_else(|| "not measured".to_owned(), short),
            match (c.op.as_deref(), c.threshold) {
                (Some(op), Some(th)) => format!(", needs {op} {}", short(th)),
                _ => String::new(),
            },
            c.rule,
            c.outcome.name()
        ));
    }
    for t in &uncovered {
        parts.push(format!(
            "{} × {} crossed in {} of comparisons{}",
            t.features[0],
            t.features[1],
            t.crossed_share.map_or_else(|| "none".to_owned(), pct),
            match (t.op.as_deref(), t.threshold) {
                (Some(op), Some(th)) =>
                    format!(" (rule {} needs {} {op} {})", t.rule, t.subject, short(th)),
                _ => String::new(),
            }
        ));
    }
    Ok(AdequacyBucket {
        bucket: name.to_owned(),
        adequacy,
        n: bucket.n,
        threshold: Some(match threshold {
            Some((value, rule)) => ThresholdView {
                value,
                rule: Some(rule),
            },
            None => ThresholdView {
                value: bucket.lambda_max * crate::numerics::eigen::UNIDENTIFIED_RATIO,
                rule: None,
            },
        }),
        directions,
        identified,
        missing,
        worst_se: bucket.worst_se,
        worst_se_target,
        scope: bucket.scope.clone(),
        absent_features: bucket.absent_features.clone(),
        trade_offs,
        scoped_claims,
        audit,
        summary: parts.join("; "),
    })
}

fn answer(buckets: &[AdequacyBucket], evaluation: &Evaluation) -> AnswerView {
    let claimed: Vec<String> = {
        let mut pairs: Vec<String> = evaluation
            .findings
            .iter()
            .filter_map(|f| f.features.as_ref())
            .map(|[a, b]| format!("{a} vs {b}"))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    };
    let gaps: Vec<&AdequacyBucket> = buckets
        .iter()
        .filter(|b| b.adequacy != Adequacy::Adequate)
        .collect();
    let claims = if claimed.is_empty() {
        "every direction".to_owned()
    } else {
        format!("every direction, including {}", claimed.join(", "))
    };
    if buckets.is_empty() {
        return AnswerView {
            learnable: false,
            text: "No: the version has no comparisons.".to_owned(),
        };
    }
    if gaps.is_empty() {
        return AnswerView {
            learnable: true,
            text: format!(
                "Yes: in all {} buckets the data identifies {claims} at the policy's thresholds.",
                buckets.len()
            ),
        };
    }
    // Every bucket that falls short is named: a reviewer must not have to open the details to
    // learn which buckets are the problem.
    let first = gaps
        .iter()
        .map(|b| match b.adequacy {
            Adequacy::NoData => format!("'{}' has no comparisons", b.bucket),
            _ => {
                let weakest = b.directions.iter().find(|d| !d.identified);
                let pair = b
                    .trade_offs
                    .iter()
                    .find(|t| matches!(t.outcome, Outcome::Fail | Outcome::Waived | Outcome::Warn));
                match (weakest, pair) {
                    (Some(d), _) => format!(
                        "in '{}' the direction {} is not identified (λ {}{})",
                        b.bucket,
                        d.words,
                        short(d.eigenvalue),
                        b.threshold
                            .as_ref()
                            .and_then(|t| t.rule.as_ref().map(|_| format!(" < {}", short(t.value))))
                            .unwrap_or_default()
                    ),
                    (None, Some(t)) => format!(
                        "in '{}' {} and {} are crossed in only {} of comparisons",
                        b.bucket,
                        t.features[0],
                        t.features[1],
                        t.crossed_share.map_or_else(|| "none".to_owned(), pct)
                    ),
                    (None, None) => match b.scoped_claims.iter().find(|c| {
                        matches!(
                            c.outcome,
                            Outcome::Fail | Outcome::Waived | Outcome::Warn | Outcome::NoData
                        )
                    }) {
                        Some(c) => format!(
                            "in '{}' {} is {}{}",
                            b.bucket,
                            c.subject,
                            c.value.map_or_else(|| "not measured".to_owned(), short),
                            match (c.op.as_deref(), c.threshold) {
                                (Some(op), Some(th)) => format!(" (needs {op} {})", short(th)),
                                _ => String::new(),
                            }
                        ),
                        None => match (b.worst_se, b.worst_se_target) {
                            (se, Some(t)) if se.is_none_or(|se| se > t) => format!(
                                "in '{}' the worst-direction standard error is {} (bound {})",
                                b.bucket,
                                se.map_or_else(|| "∞".to_owned(), short),
                                short(t)
                            ),
                            _ => format!("'{}' falls short", b.bucket),
                        },
                    },
                }
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    AnswerView {
        learnable: false,
        text: format!(
            "No ({} of {} buckets fall short): {first}.",
            gaps.len(),
            buckets.len()
        ),
    }
}

/// Builds the design-adequacy report; `design` and `plan` come from
/// [`crate::report::design::design_sections`].
pub fn build_adequacy(
    inputs: &AdequacyInputs<'_>,
    design: Option<DesignSection>,
    plan: Option<PlanSection>,
) -> Result<AdequacyView, ViewError> {
    let identity = identity(&inputs.base)?;
    let features: Vec<String> = inputs
        .base
        .analysis
        .features
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let buckets = bucket_names(inputs.base.analysis, inputs.base.evaluation)
        .iter()
        .map(|name| adequacy_bucket(inputs, name, &features))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AdequacyView {
        schema_version: REPORT_SCHEMA_VERSION,
        kind: ReportKind::DesignAdequacy,
        answer: answer(&buckets, inputs.base.evaluation),
        identity,
        gate: gate_view(inputs.base.evaluation),
        buckets,
        audits: audit_views(inputs.base.audits),
        waivers: inputs.base.evaluation.waivers.clone(),
        budget: inputs.budget,
        design,
        plan,
    })
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
                        "lambda_min": b.metrics.as_ref().map(|m| m.lambda_min),
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
