//! The view types: what a report shows, serialized as its `--format json` (an API versioned by
//! [`REPORT_SCHEMA_VERSION`]).

use serde::Serialize;

use crate::model::Intervention;
use crate::model::analysis::{
    ArmShare, AuditSummary, EigenMetrics, FitMode, Quadrants, VersionAnalysis,
};
use crate::policy::findings::{Counts, FindingKind, WaiverRef, WaiverStatus};
use crate::policy::{Evaluation, GateVerdict, Outcome};
use crate::report::solver_sections::{DesignSection, PlanSection};

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
    /// The default scope's eigen-metrics (inline in the JSON).
    #[serde(flatten)]
    pub metrics: EigenMetrics,
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
