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
    /// Scopes (feature lists, e.g. a policy rule's `features:`) whose overlap is reported besides
    /// the default scope, each on the scoped information Î_{S·N}.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Vec<String>>,
}

impl Default for AnalysisParams {
    /// `analyze`'s defaults: ρ = 1e-4, λ_I = 0, the pooled fit, no extra pairs or scopes.
    fn default() -> Self {
        AnalysisParams {
            ridge: 1e-4,
            info_ridge: 0.0,
            fit: FitMode::default(),
            pairs: Vec::new(),
            scopes: Vec::new(),
        }
    }
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
    /// Standard errors of the standardized weights, sqrt([Î_V⁺]_jj / n) over the features V that
    /// vary; `None` for a feature that never varies or lies in an unidentified direction.
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

/// The eigenvalue metrics of DESIGN §2 of one information matrix Î averaged over `n` comparisons:
/// the one definition every analysis, scope, report and simulation shares (built by
/// `analysis::eigen_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenMetrics {
    /// λ_min(Î); exactly 0 when unidentified.
    pub lambda_min: f64,
    pub lambda_max: f64,
    /// λ_max/λ_min; `None` when unidentified (λ_min ≤ 1e-12·λ_max).
    pub condition_number: Option<f64>,
    pub unidentified: bool,
    /// n·λ_min.
    pub total_information: f64,
    /// 1/sqrt(n·λ_min); `None` when λ_min is zero.
    pub worst_se: Option<f64>,
}

/// The overlap of one scope of a bucket: every eigen-metric of DESIGN §2 computed on the scoped
/// information Î_{S·N} (the scope's weights, every other feature a nuisance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedOverlap {
    /// The scope S, in schema order.
    pub features: Vec<String>,
    /// Features of the scope with support 0 in the bucket: nothing can be said about their weights.
    pub absent: Vec<String>,
    #[serde(flatten)]
    pub metrics: EigenMetrics,
    pub geometry_lambda_min: f64,
    pub eigenvalues: Vec<f64>,
    pub weakest_direction: NamedValues,
    pub weakest_direction_words: String,
}

/// The metrics of one risk bucket (DESIGN §2 "Per-bucket metrics").
///
/// The eigen-metrics (`lambda_min` … `weakest_direction_words`) are those of the default scope
/// (`scope`: the features that vary in the bucket), computed on Î_{S·N}.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketAnalysis {
    pub bucket: String,
    pub n: u64,
    /// Comparisons with Δφ_j ≠ 0, per feature (schema order).
    pub support: NamedValues<u64>,
    /// Features with support 0 in the bucket (schema order): their own finding, never dropped.
    pub absent_features: Vec<String>,
    /// The default scope: every feature that is not absent (schema order).
    pub scope: Vec<String>,
    /// The eigen-metrics of the default scope (serialized inline: `lambda_min`, … `worst_se`).
    #[serde(flatten)]
    pub metrics: EigenMetrics,
    pub mean_curvature: f64,
    pub geometry_lambda_min: f64,
    /// Eigenvalues of Î_{S·N} on the default scope, ascending; values at or below the
    /// unidentified floor (1e-12·λ_max) are exactly 0.
    pub eigenvalues: Vec<f64>,
    /// Unit eigenvector of λ_min with DESIGN §2's sign convention, by feature name (scope only).
    pub weakest_direction: NamedValues,
    /// The weakest direction in words, e.g. "mostly +length −refusal".
    pub weakest_direction_words: String,
    /// Share of comparisons with L = 1; `None` when the import fixed the orientation (every
    /// chosen/rejected pair has L = 1, so the share would describe the file layout).
    pub label_balance: Option<f64>,
    /// Text imports: share of comparisons whose preferred response has strictly more characters.
    pub longer_share: Option<f64>,
    /// Text imports: share of comparisons whose two responses have the same number of characters.
    pub tie_share: Option<f64>,
    /// Text imports: two-sided exact sign-test p-value of `longer_share` among untied pairs.
    pub longer_p: Option<f64>,
    /// Share of comparisons whose preferred side has the strictly larger φ_j, per feature.
    pub win_share: NamedValues,
    pub arms: Vec<ArmShare>,
    pub pairs: Vec<PairCoverage>,
    pub interventions: Vec<InterventionUse>,
    /// The overlap of each requested scope (`AnalysisParams::scopes`), in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<ScopedOverlap>,
    /// Present with `--fit per-bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitReport>,
}

impl BucketAnalysis {
    /// The default scope's overlap as a [`ScopedOverlap`] (absent: none, by definition).
    pub fn default_overlap(&self) -> ScopedOverlap {
        ScopedOverlap {
            features: self.scope.clone(),
            absent: Vec::new(),
            metrics: self.metrics.clone(),
            geometry_lambda_min: self.geometry_lambda_min,
            eigenvalues: self.eigenvalues.clone(),
            weakest_direction: self.weakest_direction.clone(),
            weakest_direction_words: self.weakest_direction_words.clone(),
        }
    }

    /// The weakest direction as a vector over `features` (the full schema): a feature outside the
    /// default scope has loading 0.
    pub fn weakest_direction_in(&self, features: &[String]) -> Vec<f64> {
        features
            .iter()
            .map(|f| self.weakest_direction.get(f).copied().unwrap_or(0.0))
            .collect()
    }

    /// The overlap of a requested scope (the same features in any order).
    pub fn scoped_overlap(&self, features: &[String]) -> Option<&ScopedOverlap> {
        let mut wanted: Vec<&String> = features.iter().collect();
        wanted.sort();
        self.scoped.iter().find(|s| {
            let mut have: Vec<&String> = s.features.iter().collect();
            have.sort();
            have == wanted
        })
    }
}

/// The analysis of one dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionAnalysis {
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub features: Vec<FeatureInfo>,
    pub params: AnalysisParams,
    /// Every comparison has L = 1 because the import oriented each pair as chosen/rejected: label
    /// balance is not applicable.
    pub fixed_orientation: bool,
    /// Pooled fit; `None` with `--fit per-bucket` (each bucket carries its own).
    pub fit: Option<FitReport>,
    /// Sorted by bucket name.
    pub buckets: Vec<BucketAnalysis>,
}

impl VersionAnalysis {
    /// The position of `bucket` in [`VersionAnalysis::buckets`].
    pub fn bucket_position(&self, bucket: &str) -> Result<usize, NoSuchBucket> {
        self.buckets
            .iter()
            .position(|b| b.bucket == bucket)
            .ok_or_else(|| {
                NoSuchBucket::new(
                    format!("{}@{}", self.dataset, self.version),
                    bucket,
                    self.buckets.iter().map(|b| b.bucket.as_str()),
                )
            })
    }
}

/// A bucket the dataset version does not have; the message lists the ones it has, sorted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{dataset} has no bucket '{bucket}' (buckets: {})", .known.join(", "))]
pub struct NoSuchBucket {
    /// The version as `name@V`.
    pub dataset: String,
    pub bucket: String,
    pub known: Vec<String>,
}

impl NoSuchBucket {
    pub fn new<'a>(
        dataset: String,
        bucket: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> NoSuchBucket {
        let mut known: Vec<String> = known.into_iter().map(str::to_owned).collect();
        known.sort();
        NoSuchBucket {
            dataset,
            bucket: bucket.to_owned(),
            known,
        }
    }
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
    /// Comparisons drawn along the weakest direction (probes excluded) with a verdict, and
    /// their pass rate: where measured overlap is most likely to be illusory.
    #[serde(default)]
    pub along_direction_audited: u64,
    #[serde(default)]
    pub along_direction_pass_rate: Option<f64>,
    /// The pass rate below which the overlap along the weakest direction is called illusory.
    #[serde(default)]
    pub min_pass_rate: f64,
    /// ILLUSORY OVERLAP: the pass rate along the weakest direction is below `min_pass_rate`;
    /// `None` while nothing drawn along it has a verdict.
    #[serde(default)]
    pub illusory_overlap: Option<bool>,
}
