//! Analysis results: the per-bucket overlap metrics of DESIGN §2 as plain, serializable values.
//!
//! These types are the contract between `analysis` (which computes them), `storage` (which keeps them
//! as JSON), and `policy`, `audit`, `report` (which read them). Their JSON form is the documented
//! `overlap analyze --format json` API, so field names and order are stable. No I/O here.

use serde::{Deserialize, Serialize};

use crate::model::named::NamedValues;

/// How the BTL weights are fitted: one ŵ for the version (pooled) or one per bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FitMode {
    #[default]
    Pooled,
    PerBucket,
}

/// Parameters that determine an analysis; equal parameters on the same version give equal results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisParams {
    /// ρ: ridge on the mean logistic loss.
    pub ridge: f64,
    /// λ_I: ridge added to the information matrix.
    pub info_ridge: f64,
    pub fit: FitMode,
    /// Feature pairs whose quadrant coverage is reported (all pairs when d ≤ 6, plus these).
    pub pairs: Vec<[String; 2]>,
}

/// One feature of the schema with its frozen scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    pub name: String,
    pub scale: f64,
    /// Δφ_j is zero on every comparison of the version: an overlap finding, not an error.
    pub never_varies: bool,
}

/// A BTL fit summary: weights in standardized and raw units, standard errors from (N·Î)⁻¹.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub w: NamedValues,
    pub w_raw: NamedValues,
    /// Standard errors of the standardized weights; `None` values when Î is singular.
    pub se: NamedValues<Option<f64>>,
    pub ridge: f64,
    pub iterations: usize,
    pub grad_norm: f64,
    pub objective: f64,
    pub n: u64,
}

/// Share of a bucket's comparisons in one arm (unordered pair of interventions on the two sides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmShare {
    /// `baseline` when neither side was edited, else the two side names sorted and joined by `/`
    /// (an unedited side is `baseline`), e.g. `baseline/shorten`.
    pub arm: String,
    pub n: u64,
    pub share: f64,
}

/// Raw four-quadrant counts of (sign Δφ_i, sign Δφ_j) over comparisons where both are non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Quadrants {
    #[serde(rename = "++")]
    pub pp: u64,
    #[serde(rename = "+-")]
    pub pm: u64,
    #[serde(rename = "-+")]
    pub mp: u64,
    #[serde(rename = "--")]
    pub mm: u64,
}

/// Crossed vs concordant coverage of one feature pair in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairCoverage {
    pub features: [String; 2],
    /// Share of opposite signs among comparisons where both differences are non-zero; `None` when
    /// there is no such comparison.
    pub discordant_share: Option<f64>,
    pub min_quadrant_share: Option<f64>,
    pub quadrants: Quadrants,
    /// Comparisons where either difference is zero (not counted in any quadrant).
    pub zero: u64,
}

/// Acceptance and cost of one intervention used in a bucket (from registry observations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionUse {
    pub name: String,
    /// Comparisons of the bucket with this intervention on at least one side.
    pub comparisons: u64,
    pub attempts: u64,
    pub accepted: u64,
    /// accepted/attempted in this bucket; `None` without observations.
    pub acceptance_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
    pub cost: f64,
    /// cost/acceptance_rate; `None` without observations or with zero acceptance.
    pub effective_cost: Option<f64>,
}

/// The metrics of one risk bucket (DESIGN §2 "Per-bucket metrics").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketAnalysis {
    pub bucket: String,
    pub n: u64,
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// λ_max/λ_min; `None` when unidentified (λ_min ≤ 1e-12·λ_max).
    pub condition_number: Option<f64>,
    pub unidentified: bool,
    pub total_information: f64,
    /// 1/sqrt(n·λ_min); `None` when λ_min is zero.
    pub worst_se: Option<f64>,
    pub mean_curvature: f64,
    pub geometry_lambda_min: f64,
    /// Eigenvalues of Î_k, ascending.
    pub eigenvalues: Vec<f64>,
    /// Unit eigenvector of λ_min with DESIGN §2's sign convention, by feature name.
    pub weakest_direction: NamedValues,
    /// The weakest direction in words, e.g. "mostly +length −refusal".
    pub weakest_direction_words: String,
    pub label_balance: f64,
    pub arms: Vec<ArmShare>,
    pub pairs: Vec<PairCoverage>,
    pub interventions: Vec<InterventionUse>,
    /// Present with `--fit per-bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitReport>,
}

/// The analysis of one dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionAnalysis {
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub features: Vec<FeatureInfo>,
    pub params: AnalysisParams,
    /// Pooled fit; `None` with `--fit per-bucket` (each bucket carries its own).
    pub fit: Option<FitReport>,
    /// Sorted by bucket name.
    pub buckets: Vec<BucketAnalysis>,
}

/// Drift of one bucket between a version and a baseline version (DESIGN §2 "Drift").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketDrift {
    pub bucket: String,
    /// ‖S₁ − S₀‖_F/‖S₀‖_F; `None` when the bucket is missing from either version.
    pub second_moment_shift: Option<f64>,
    /// Degrees in [0, 90] between the weakest directions.
    pub weakest_direction_angle: Option<f64>,
    /// Two-sample Kolmogorov–Smirnov distance between the margins ŵᵀΔφ̃ (ŵ of the newer version).
    pub margin_shift: Option<f64>,
}

/// Drift of a version against a baseline, per bucket (sorted by bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// `NAME@V` of the baseline.
    pub baseline: String,
    pub buckets: Vec<BucketDrift>,
}

/// Audit evidence for one bucket, as the gate and reports see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub bucket: String,
    /// Comparisons with at least one verdict.
    pub audited: u64,
    /// Share judged meaningful and on-policy; `None` when nothing was audited.
    pub pass_rate: Option<f64>,
    pub wilson_low: Option<f64>,
    pub wilson_high: Option<f64>,
}
