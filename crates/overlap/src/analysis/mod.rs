//! Turns a dataset version into the per-bucket overlap metrics of DESIGN §2 using `numerics`.
//!
//! Entry points: [`analyze`] (BTL fit, then one streaming pass that accumulates per-bucket and
//! per-arm information, geometry and quadrant counts) and [`drift`] (a version against a baseline).
//! Rows are standardized by the schema's frozen scales first, so every number is in the units of
//! DESIGN §2. Unidentified directions are findings (`unidentified: true`), never NaN. No SQL and no
//! printing: callers load the data and decide what to show.

pub mod service;
mod words;

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use rayon::prelude::*;
use thiserror::Error;

pub use words::direction_in_words;

use crate::model::VersionInfo;
use crate::model::analysis::{
    AnalysisParams, ArmShare, BucketAnalysis, BucketDrift, DriftReport, FeatureInfo, FitMode,
    FitReport, InterventionUse, PairCoverage, Quadrants, VersionAnalysis,
};
use crate::model::analysis::{EigenMetrics, ScopedOverlap};
use crate::model::dataset::VersionData;
use crate::model::intervention::Acceptance;
use crate::model::named::NamedValues;
use crate::model::{AcceptanceObservation, Arm};
use crate::numerics::btl::{BtlError, FitOptions, curvature, fit_btl};
use crate::numerics::eigen::{EigenError, SymEigen, sym_eigen};
use crate::numerics::moment::{MomentError, SecondMoment};
use crate::numerics::scope::{
    ScopeError, clean_loadings, clean_spectrum, pseudo_inverse_diagonal, scoped_information,
    submatrix,
};
use crate::numerics::stats::{
    StatsError, angle_degrees, ks_distance, relative_frobenius, sign_test_p,
};

/// Rows per parallel work unit; partial sums are merged in chunk order so results are
/// bit-identical from run to run whatever the thread count.
const CHUNK_ROWS: usize = 16_384;

#[derive(Debug, Error)]
pub enum AnalysisError {
    // The fit error is part of the message and not a `#[source]`, so chains print it once.
    #[error("{dataset}: {cause}")]
    Fit { dataset: String, cause: BtlError },
    #[error("bucket '{bucket}': {cause}")]
    BucketFit { bucket: String, cause: BtlError },
    #[error(transparent)]
    Eigen(#[from] EigenError),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error(transparent)]
    Moment(#[from] MomentError),
    #[error(transparent)]
    Stats(#[from] StatsError),
    #[error("{0}")]
    Input(String),
}

/// What analysis needs from the registry: each intervention's current cost and its acceptance
/// observations.
#[derive(Debug, Clone, Default)]
pub struct RegistryView {
    pub interventions: BTreeMap<String, (f64, Vec<AcceptanceObservation>)>,
}

/// The per-arm information of a bucket: M̂_{k,r} = (1/n_{k,r}) Σ g(ŵᵀΔφ̃) Δφ̃Δφ̃ᵀ.
#[derive(Debug, Clone)]
pub struct ArmInformation {
    pub arm: String,
    pub n: u64,
    pub matrix: DMatrix<f64>,
}

/// Summed information of a bucket and its arms, for the design and planning solvers.
#[derive(Debug, Clone)]
pub struct BucketInformation {
    pub bucket: String,
    pub n: u64,
    /// S_k = Σ g Δφ̃Δφ̃ᵀ (no ridge) = n_k·Î_k without λ_I.
    pub summed: DMatrix<f64>,
    /// Arms with data, sorted by name.
    pub arms: Vec<ArmInformation>,
}

impl BucketInformation {
    /// n_k·Î_k = S_k + n_k·λ_I·I: the summed information with the analysis's ridge, the one
    /// definition the planner and the report directions use (the analysis itself accumulates
    /// Î_k = S_k/n_k + λ_I·I directly).
    pub fn summed_with_ridge(&self, info_ridge: f64) -> DMatrix<f64> {
        let mut m = self.summed.clone();
        for j in 0..m.nrows() {
            m[(j, j)] += self.n as f64 * info_ridge;
        }
        m
    }

    /// Î_k = S_k/n_k + λ_I·I (DESIGN §2); `None` for a bucket without comparisons.
    pub fn mean_with_ridge(&self, info_ridge: f64) -> Option<DMatrix<f64>> {
        (self.n > 0).then(|| self.summed_with_ridge(info_ridge) / self.n as f64)
    }
}

/// An analysis with the matrices the solvers need and the weights used per bucket.
#[derive(Debug, Clone)]
pub struct Analyzed {
    pub analysis: VersionAnalysis,
    pub information: Vec<BucketInformation>,
    /// Standardized ŵ used for each bucket (same vector for every bucket when pooled), sorted like
    /// `analysis.buckets`.
    pub weights: Vec<Vec<f64>>,
}

/// Δφ̃ = Δφ / s, row-major.
pub fn standardize(data: &VersionData, scales: &[f64]) -> Vec<f64> {
    let d = data.d;
    let mut out = data.delta.clone();
    for row in out.chunks_exact_mut(d.max(1)) {
        for (x, s) in row.iter_mut().zip(scales) {
            *x /= s;
        }
    }
    out
}

/// Per-chunk partial sums.
struct Partial {
    info: Vec<SecondMoment>,
    geometry: Vec<SecondMoment>,
    /// bucket × arm, row-major.
    arm_info: Vec<SecondMoment>,
    labels: Vec<u64>,
    /// bucket × pair × [++, +-, -+, --, zero].
    quadrants: Vec<[u64; 5]>,
    /// bucket × feature: comparisons with Δφ_j ≠ 0.
    support: Vec<u64>,
    /// bucket × feature: comparisons whose preferred side has the strictly larger φ_j.
    wins: Vec<u64>,
    /// bucket: [preferred response longer, same length] (text imports only).
    lengths: Vec<[u64; 2]>,
}

impl Partial {
    fn new(d: usize, buckets: usize, arms: usize, pairs: usize) -> Self {
        Partial {
            info: (0..buckets).map(|_| SecondMoment::new(d)).collect(),
            geometry: (0..buckets).map(|_| SecondMoment::new(d)).collect(),
            arm_info: (0..buckets * arms).map(|_| SecondMoment::new(d)).collect(),
            labels: vec![0; buckets],
            quadrants: vec![[0; 5]; buckets * pairs],
            support: vec![0; buckets * d],
            wins: vec![0; buckets * d],
            lengths: vec![[0; 2]; buckets],
        }
    }

    fn merge(&mut self, other: &Partial) -> Result<(), MomentError> {
        for (a, b) in self.info.iter_mut().zip(&other.info) {
            a.merge(b)?;
        }
        for (a, b) in self.geometry.iter_mut().zip(&other.geometry) {
            a.merge(b)?;
        }
        for (a, b) in self.arm_info.iter_mut().zip(&other.arm_info) {
            a.merge(b)?;
        }
        for (a, b) in self.labels.iter_mut().zip(&other.labels) {
            *a += b;
        }
        for (a, b) in self.quadrants.iter_mut().zip(&other.quadrants) {
            for k in 0..5 {
                a[k] += b[k];
            }
        }
        for (a, b) in self.support.iter_mut().zip(&other.support) {
            *a += b;
        }
        for (a, b) in self.wins.iter_mut().zip(&other.wins) {
            *a += b;
        }
        for (a, b) in self.lengths.iter_mut().zip(&other.lengths) {
            a[0] += b[0];
            a[1] += b[1];
        }
        Ok(())
    }
}

fn fit_report(
    w: &[f64],
    features: &[String],
    scales: &[f64],
    fit: &crate::numerics::btl::BtlFit,
    se: Vec<Option<f64>>,
    ridge: f64,
    n: u64,
) -> FitReport {
    let named = |v: &[f64]| NamedValues(features.iter().cloned().zip(v.iter().copied()).collect());
    let raw: Vec<f64> = w.iter().zip(scales).map(|(w, s)| w / s).collect();
    FitReport {
        w: named(w),
        w_raw: named(&raw),
        se: NamedValues(
            features
                .iter()
                .enumerate()
                .map(|(j, f)| (f.clone(), se.get(j).copied().flatten()))
                .collect(),
        ),
        ridge,
        iterations: fit.iterations,
        grad_norm: fit.grad_norm,
        objective: fit.objective,
        n,
    }
}

/// Per-feature standard errors sqrt([Î_V⁺]_jj / n) over the features V that vary (DESIGN §2), with
/// Î = (1/n)Σ g xxᵀ + λ_I I. `None` for a feature outside V or in an unidentified direction of Î_V,
/// so one feature that never varies no longer blanks the others.
fn standard_errors(
    moment: &SecondMoment,
    info_ridge: f64,
    varies: &[bool],
) -> Result<Vec<Option<f64>>, AnalysisError> {
    let d = moment.dim();
    let n = moment.count();
    let mut out = vec![None; d];
    let present: Vec<usize> = (0..d).filter(|&j| varies[j]).collect();
    if n == 0 || present.is_empty() {
        return Ok(out);
    }
    let information = moment.mean_matrix(info_ridge)?;
    let block = submatrix(&information, &present)?;
    let diagonal = pseudo_inverse_diagonal(&block)?;
    for (&j, value) in present.iter().zip(diagonal) {
        out[j] = value.map(|v| (v.max(0.0) / n as f64).sqrt());
    }
    Ok(out)
}

fn fit_subset(
    rows: &[f64],
    d: usize,
    labels: &[u8],
    ridge: f64,
) -> Result<crate::numerics::btl::BtlFit, BtlError> {
    fit_btl(
        rows,
        d,
        labels,
        &FitOptions {
            ridge,
            ..FitOptions::default()
        },
    )
}

/// The pairs whose quadrant coverage is reported: every pair when d ≤ 6, plus those requested.
fn selected_pairs(
    features: &[String],
    requested: &[[String; 2]],
) -> Result<Vec<(usize, usize)>, AnalysisError> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    if features.len() <= 6 {
        for i in 0..features.len() {
            for j in i + 1..features.len() {
                out.push((i, j));
            }
        }
    }
    for [a, b] in requested {
        let find = |f: &str| {
            features.iter().position(|x| x == f).ok_or_else(|| {
                AnalysisError::Input(format!(
                    "--pair names feature '{f}', which is not in the schema ({})",
                    features.join(", ")
                ))
            })
        };
        let (i, j) = (find(a)?, find(b)?);
        if i == j {
            return Err(AnalysisError::Input(format!(
                "--pair {a}:{b} names the same feature twice"
            )));
        }
        if !out.contains(&(i, j)) && !out.contains(&(j, i)) {
            out.push((i, j));
        }
    }
    Ok(out)
}

/// Analyzes one version.
pub fn analyze(
    info: &VersionInfo,
    data: &VersionData,
    registry: &RegistryView,
    params: &AnalysisParams,
) -> Result<Analyzed, AnalysisError> {
    let schema = &info.schema;
    let d = data.d;
    if d == 0 || data.is_empty() {
        return Err(AnalysisError::Input(format!(
            "{} has no comparisons to analyze",
            info.label()
        )));
    }
    if !(params.ridge.is_finite() && params.ridge >= 0.0) {
        return Err(AnalysisError::Input(format!(
            "--ridge must be ≥ 0, found {}",
            params.ridge
        )));
    }
    if !(params.info_ridge.is_finite() && params.info_ridge >= 0.0) {
        return Err(AnalysisError::Input(format!(
            "--info-ridge must be ≥ 0, found {}",
            params.info_ridge
        )));
    }
    let x = standardize(data, &schema.scales);
    let n_buckets = data.buckets.len();
    let n_arms = data.arms.len();
    let pairs = selected_pairs(&schema.features, &params.pairs)?;

    // Weights per bucket index: pooled, or one fit per bucket.
    let (pooled, bucket_fits) = match params.fit {
        FitMode::Pooled => {
            let fit = fit_subset(&x, d, &data.labels, params.ridge).map_err(|cause| {
                AnalysisError::Fit {
                    dataset: info.label(),
                    cause,
                }
            })?;
            (Some(fit), Vec::new())
        }
        FitMode::PerBucket => {
            let mut fits = Vec::with_capacity(n_buckets);
            for (b, name) in data.buckets.iter().enumerate() {
                let (rows, labels): (Vec<&[f64]>, Vec<u8>) = (0..data.len())
                    .filter(|&t| data.bucket[t] as usize == b)
                    .map(|t| (&x[t * d..(t + 1) * d], data.labels[t]))
                    .unzip();
                let flat: Vec<f64> = rows.concat();
                let fit = fit_subset(&flat, d, &labels, params.ridge).map_err(|cause| {
                    AnalysisError::BucketFit {
                        bucket: name.clone(),
                        cause,
                    }
                })?;
                fits.push(fit);
            }
            (None, fits)
        }
    };
    let weights_of = |b: usize| -> &[f64] {
        match &pooled {
            Some(f) => &f.w,
            None => &bucket_fits[b].w,
        }
    };

    // The text maps' `log_chars` is ln(1 + characters), strictly increasing in the character count,
    // so the sign of its difference is the sign of the length difference (exact below 2^50 chars).
    let length_feature = schema
        .feature_map
        .as_ref()
        .and_then(|_| schema.features.iter().position(|f| f == LENGTH_FEATURE));
    let scopes = resolve_scopes(&schema.features, &params.scopes)?;
    // Chosen/rejected imports store every pair as L = 1: the label share is the layout's.
    let fixed_orientation =
        schema.feature_map.is_some() && data.labels.iter().all(|&label| label == 1);

    // One pass: per-bucket information and geometry, per-arm information, labels, quadrants,
    // support, wins and lengths.
    let chunk_starts: Vec<usize> = (0..data.len()).step_by(CHUNK_ROWS).collect();
    let partials: Vec<Result<Partial, MomentError>> = chunk_starts
        .par_iter()
        .map(|&start| {
            let end = (start + CHUNK_ROWS).min(data.len());
            let mut p = Partial::new(d, n_buckets, n_arms, pairs.len());
            for t in start..end {
                let b = data.bucket[t] as usize;
                let r = data.arm[t] as usize;
                let row = &x[t * d..(t + 1) * d];
                let w = weights_of(b);
                let margin: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
                let g = curvature(margin);
                p.info[b].add(row, g)?;
                p.geometry[b].add(row, 1.0)?;
                p.arm_info[b * n_arms + r].add(row, g)?;
                let label = data.labels[t];
                p.labels[b] += u64::from(label);
                let raw = data.row(t);
                for (j, &x) in raw.iter().enumerate() {
                    // The preferred side has the larger φ_j when Δφ_j = φ_a − φ_b agrees with L.
                    let wins = if label == 1 { x > 0.0 } else { x < 0.0 };
                    p.support[b * d + j] += u64::from(x != 0.0);
                    p.wins[b * d + j] += u64::from(wins);
                }
                if let Some(j) = length_feature {
                    let x = raw[j];
                    let longer = if label == 1 { x > 0.0 } else { x < 0.0 };
                    p.lengths[b][0] += u64::from(longer);
                    p.lengths[b][1] += u64::from(x == 0.0);
                }
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    let q = &mut p.quadrants[b * pairs.len() + k];
                    let (a, c) = (raw[i], raw[j]);
                    let slot = if a == 0.0 || c == 0.0 {
                        4
                    } else {
                        match (a > 0.0, c > 0.0) {
                            (true, true) => 0,
                            (true, false) => 1,
                            (false, true) => 2,
                            (false, false) => 3,
                        }
                    };
                    q[slot] += 1;
                }
            }
            Ok(p)
        })
        .collect();
    let mut total = Partial::new(d, n_buckets, n_arms, pairs.len());
    for p in partials {
        total.merge(&p?)?;
    }

    // Sorted bucket order for output.
    let mut order: Vec<usize> = (0..n_buckets).collect();
    order.sort_by(|&a, &b| data.buckets[a].cmp(&data.buckets[b]));

    let features = &schema.features;
    let mut buckets = Vec::with_capacity(n_buckets);
    let mut information = Vec::with_capacity(n_buckets);
    let mut weights = Vec::with_capacity(n_buckets);
    for &b in &order {
        let name = &data.buckets[b];
        let info_acc = &total.info[b];
        let n = info_acc.count();
        let info_matrix = info_acc.mean_matrix(params.info_ridge)?;
        let geometry_matrix = total.geometry[b].mean_matrix(0.0)?;
        let support = &total.support[b * d..(b + 1) * d];
        let default_scope: Vec<usize> = (0..d).filter(|&j| support[j] > 0).collect();
        let overlap = scoped_overlap(
            &info_matrix,
            &geometry_matrix,
            n,
            features,
            &default_scope,
            support,
        )?;
        let scoped = scopes
            .iter()
            .map(|scope| {
                scoped_overlap(&info_matrix, &geometry_matrix, n, features, scope, support)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut arms: Vec<ArmShare> = Vec::new();
        let mut arm_information = Vec::new();
        for r in 0..n_arms {
            let acc = &total.arm_info[b * n_arms + r];
            if acc.count() == 0 {
                continue;
            }
            arms.push(ArmShare {
                arm: data.arms[r].clone(),
                n: acc.count(),
                share: acc.count() as f64 / n as f64,
            });
            arm_information.push(ArmInformation {
                arm: data.arms[r].clone(),
                n: acc.count(),
                matrix: acc.mean_matrix(0.0)?,
            });
        }
        arms.sort_by(|a, b| a.arm.cmp(&b.arm));
        arm_information.sort_by(|a, b| a.arm.cmp(&b.arm));
        let pair_cov = pairs
            .iter()
            .enumerate()
            .map(|(k, &(i, j))| {
                pair_coverage(
                    &features[i],
                    &features[j],
                    &total.quadrants[b * pairs.len() + k],
                )
            })
            .collect();
        let interventions = intervention_uses(name, &arms, registry);
        let fit = match params.fit {
            FitMode::Pooled => None,
            FitMode::PerBucket => Some(fit_report(
                &bucket_fits[b].w,
                features,
                &schema.scales,
                &bucket_fits[b],
                standard_errors(
                    info_acc,
                    params.info_ridge,
                    &support.iter().map(|&c| c > 0).collect::<Vec<_>>(),
                )?,
                params.ridge,
                n,
            )),
        };
        let share = |count: u64| count as f64 / n as f64;
        let [longer, ties] = total.lengths[b];
        let has_lengths = length_feature.is_some() && n > 0;
        buckets.push(BucketAnalysis {
            bucket: name.clone(),
            n,
            support: NamedValues(
                features
                    .iter()
                    .cloned()
                    .zip(support.iter().copied())
                    .collect(),
            ),
            absent_features: (0..d)
                .filter(|&j| support[j] == 0)
                .map(|j| features[j].clone())
                .collect(),
            scope: overlap.features.clone(),
            metrics: overlap.metrics,
            mean_curvature: 4.0 * info_acc.mean_weight().unwrap_or(0.0),
            geometry_lambda_min: overlap.geometry_lambda_min,
            eigenvalues: overlap.eigenvalues,
            weakest_direction: overlap.weakest_direction,
            weakest_direction_words: overlap.weakest_direction_words,
            label_balance: (!fixed_orientation).then(|| share(total.labels[b])),
            longer_share: has_lengths.then(|| share(longer)),
            tie_share: has_lengths.then(|| share(ties)),
            longer_p: if has_lengths {
                sign_test_p(longer, n - ties)
            } else {
                None
            },
            win_share: NamedValues(
                features
                    .iter()
                    .cloned()
                    .zip(total.wins[b * d..(b + 1) * d].iter().map(|&w| share(w)))
                    .collect(),
            ),
            arms,
            pairs: pair_cov,
            interventions,
            scoped,
            fit,
        });
        information.push(BucketInformation {
            bucket: name.clone(),
            n,
            summed: info_acc.mean_matrix(0.0)? * n as f64,
            arms: arm_information,
        });
        weights.push(weights_of(b).to_vec());
    }

    let never_varies: Vec<bool> = (0..d)
        .map(|j| (0..n_buckets).all(|b| total.support[b * d + j] == 0))
        .collect();
    let fit = match &pooled {
        Some(f) => {
            let mut all = SecondMoment::new(d);
            for acc in &total.info {
                all.merge(acc)?;
            }
            let varies: Vec<bool> = never_varies.iter().map(|nv| !nv).collect();
            Some(fit_report(
                &f.w,
                features,
                &schema.scales,
                f,
                standard_errors(&all, params.info_ridge, &varies)?,
                params.ridge,
                data.len() as u64,
            ))
        }
        None => None,
    };
    let analysis = VersionAnalysis {
        dataset: info.dataset.clone(),
        version: info.version,
        digest: info.digest.clone(),
        features: features
            .iter()
            .zip(&schema.scales)
            .zip(&never_varies)
            .map(|((name, scale), nv)| FeatureInfo {
                name: name.clone(),
                scale: *scale,
                never_varies: *nv,
            })
            .collect(),
        params: params.clone(),
        fixed_orientation,
        fit,
        buckets,
    };
    Ok(Analyzed {
        analysis,
        information,
        weights,
    })
}

/// The feature whose sign of Δφ is the sign of the character-count difference in the text maps.
const LENGTH_FEATURE: &str = "log_chars";

/// Requested scopes as schema indices (schema order, no repeats); unknown names are input errors.
fn resolve_scopes(
    features: &[String],
    scopes: &[Vec<String>],
) -> Result<Vec<Vec<usize>>, AnalysisError> {
    scopes
        .iter()
        .map(|scope| {
            let mut idx = Vec::with_capacity(scope.len());
            for f in scope {
                let j = features.iter().position(|x| x == f).ok_or_else(|| {
                    AnalysisError::Input(format!(
                        "scope names feature '{f}', which is not in the schema ({})",
                        features.join(", ")
                    ))
                })?;
                if !idx.contains(&j) {
                    idx.push(j);
                }
            }
            if idx.is_empty() {
                return Err(AnalysisError::Input(
                    "a scope needs at least one feature".into(),
                ));
            }
            idx.sort_unstable();
            Ok(idx)
        })
        .collect()
}

/// Every eigen-metric of DESIGN §2 on the scoped information Î_{S·N} (and the scoped geometry) of
/// one bucket. An empty scope (nothing varies) is unidentified with no direction.
fn scoped_overlap(
    information: &DMatrix<f64>,
    geometry: &DMatrix<f64>,
    n: u64,
    features: &[String],
    scope: &[usize],
    support: &[u64],
) -> Result<ScopedOverlap, AnalysisError> {
    let names: Vec<String> = scope.iter().map(|&j| features[j].clone()).collect();
    let absent: Vec<String> = scope
        .iter()
        .filter(|&&j| support[j] == 0)
        .map(|&j| features[j].clone())
        .collect();
    if scope.is_empty() {
        return Ok(ScopedOverlap {
            features: names,
            absent,
            metrics: EigenMetrics {
                lambda_min: 0.0,
                lambda_max: 0.0,
                condition_number: None,
                unidentified: true,
                total_information: 0.0,
                worst_se: None,
            },
            geometry_lambda_min: 0.0,
            eigenvalues: Vec::new(),
            weakest_direction: NamedValues::default(),
            weakest_direction_words: "no feature varies in this bucket".into(),
        });
    }
    let eig = sym_eigen(&scoped_information(information, scope)?)?;
    let geometry = sym_eigen(&scoped_information(geometry, scope)?)?;
    let weakest = clean_loadings(&eig.min_vector());
    Ok(ScopedOverlap {
        weakest_direction_words: direction_in_words(&names, &weakest),
        weakest_direction: NamedValues(names.iter().cloned().zip(weakest).collect()),
        features: names,
        absent,
        metrics: eigen_metrics(&eig, n),
        geometry_lambda_min: clean_spectrum(&geometry).first().copied().unwrap_or(0.0),
        eigenvalues: clean_spectrum(&eig),
    })
}

/// The [`EigenMetrics`] of an information matrix averaged over `n` rows.
///
/// λ_min at or below the unidentified floor (1e-12·λ_max) is rounding residue, reported as exactly
/// 0; so is its total information.
pub fn eigen_metrics(eig: &SymEigen, n: u64) -> EigenMetrics {
    let unidentified = !eig.is_identified();
    let lambda_min = if unidentified {
        0.0
    } else {
        eig.psd_lambda_min()
    };
    let lambda_max = eig.lambda_max().max(0.0);
    let total = n as f64 * lambda_min;
    EigenMetrics {
        lambda_min,
        lambda_max,
        condition_number: if unidentified {
            None
        } else {
            eig.condition_number()
        },
        unidentified,
        total_information: total,
        worst_se: (!unidentified && total > 0.0).then(|| 1.0 / total.sqrt()),
    }
}

fn pair_coverage(a: &str, b: &str, q: &[u64; 5]) -> PairCoverage {
    let quadrants = Quadrants {
        pp: q[0],
        pm: q[1],
        mp: q[2],
        mm: q[3],
    };
    let both = q[0] + q[1] + q[2] + q[3];
    let discordant = (both > 0).then(|| (q[1] + q[2]) as f64 / both as f64);
    PairCoverage {
        features: [a.to_string(), b.to_string()],
        discordant_share: discordant,
        min_quadrant_share: discordant.map(|s| s.min(1.0 - s)),
        quadrants,
        zero: q[4],
    }
}

fn intervention_uses(
    bucket: &str,
    arms: &[ArmShare],
    registry: &RegistryView,
) -> Vec<InterventionUse> {
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    for a in arms {
        let arm = Arm::parse(&a.arm);
        if let Some(arm) = arm {
            let mut names = arm.interventions();
            names.dedup();
            for name in names {
                *used.entry(name.to_string()).or_default() += a.n;
            }
        }
    }
    used.into_iter()
        .map(|(name, comparisons)| {
            let registered = registry.interventions.get(&name);
            let acceptance = registered.map_or_else(Acceptance::default, |(_, obs)| {
                Acceptance::in_bucket(obs, bucket)
            });
            let wilson = acceptance.wilson();
            InterventionUse {
                name,
                comparisons,
                attempts: acceptance.attempts,
                accepted: acceptance.accepted,
                acceptance_rate: acceptance.rate(),
                wilson_low: wilson.map(|w| w.lower),
                wilson_high: wilson.map(|w| w.upper),
                cost: registered.map_or(0.0, |(c, _)| *c),
                effective_cost: registered.and_then(|(c, _)| acceptance.effective_cost(*c).value()),
            }
        })
        .collect()
}

/// Drift of `newer` against `baseline` per bucket (DESIGN §2 "Drift"). Both must share the
/// feature schema and scales.
pub fn drift(
    newer: (&VersionInfo, &VersionData, &Analyzed),
    baseline: (&VersionInfo, &VersionData, &Analyzed),
) -> Result<DriftReport, AnalysisError> {
    let (ni, nd, na) = newer;
    let (bi, bd, ba) = baseline;
    if ni.schema.features != bi.schema.features || ni.schema.scales != bi.schema.scales {
        return Err(AnalysisError::Input(format!(
            "drift needs the same feature schema and scales: {} and {} differ",
            ni.label(),
            bi.label()
        )));
    }
    let d = nd.d;
    let xn = standardize(nd, &ni.schema.scales);
    let xb = standardize(bd, &bi.schema.scales);
    let mut names: Vec<&String> = na
        .analysis
        .buckets
        .iter()
        .map(|b| &b.bucket)
        .chain(ba.analysis.buckets.iter().map(|b| &b.bucket))
        .collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let pos_n = na.analysis.buckets.iter().position(|b| &b.bucket == name);
        let pos_b = ba.analysis.buckets.iter().position(|b| &b.bucket == name);
        let (Some(pn), Some(pb)) = (pos_n, pos_b) else {
            out.push(BucketDrift {
                bucket: name.clone(),
                second_moment_shift: None,
                weakest_direction_angle: None,
                margin_shift: None,
            });
            continue;
        };
        let w = &na.weights[pn];
        let rows = |data: &VersionData, x: &[f64]| -> (SecondMoment, Vec<f64>) {
            let idx = data
                .buckets
                .iter()
                .position(|b| b == name)
                .unwrap_or(usize::MAX);
            let mut m = SecondMoment::new(d);
            let mut margins = Vec::new();
            for t in 0..data.len() {
                if data.bucket[t] as usize == idx {
                    let row = &x[t * d..(t + 1) * d];
                    // Rows were validated finite at import; `add` cannot fail on them.
                    let _ = m.add(row, 1.0);
                    margins.push(row.iter().zip(w).map(|(a, b)| a * b).sum());
                }
            }
            (m, margins)
        };
        let (sn, mn) = rows(nd, &xn);
        let (sb, mb) = rows(bd, &xb);
        let s1 = sn.mean_matrix(0.0)?;
        let s0 = sb.mean_matrix(0.0)?;
        let shift = relative_frobenius(&s1, &s0).ok();
        // Each version's direction lives on its own default scope: compare them in the full
        // feature space (a feature outside a scope has loading 0 there).
        let vn = na.analysis.buckets[pn].weakest_direction_in(&ni.schema.features);
        let vb = ba.analysis.buckets[pb].weakest_direction_in(&ni.schema.features);
        out.push(BucketDrift {
            bucket: name.clone(),
            second_moment_shift: shift,
            weakest_direction_angle: Some(angle_degrees(&vn, &vb)?),
            margin_shift: Some(ks_distance(&mn, &mb)?),
        });
    }
    Ok(DriftReport {
        baseline: bi.label(),
        buckets: out,
    })
}

/// Per-group matrices of a bucket's arms: (group, one matrix per arm).
pub type GroupMatrices = Vec<(String, Vec<DMatrix<f64>>)>;

/// Per-group, per-arm information of one bucket, M̂^g_{k,r} (for the group-robust design): arms
/// in `arms` order; an arm a group never saw gets a zero matrix (it tells that group nothing).
/// Rows without a group are left out. Groups are sorted by name.
pub fn group_arm_information(
    data: &VersionData,
    scales: &[f64],
    bucket: &str,
    w: &[f64],
    arms: &[String],
) -> Result<GroupMatrices, AnalysisError> {
    let d = data.d;
    let Some(b) = data.buckets.iter().position(|x| x == bucket) else {
        return Err(AnalysisError::Input(format!("no bucket '{bucket}'")));
    };
    let arm_pos: Vec<Option<usize>> = data
        .arms
        .iter()
        .map(|a| arms.iter().position(|x| x == a))
        .collect();
    let mut acc: BTreeMap<&str, Vec<SecondMoment>> = BTreeMap::new();
    let mut row = vec![0.0; d];
    for t in 0..data.len() {
        if data.bucket[t] as usize != b || data.group[t] == crate::model::dataset::NO_GROUP {
            continue;
        }
        let Some(Some(r)) = arm_pos.get(data.arm[t] as usize) else {
            continue;
        };
        let Some(group) = data.groups.get(data.group[t] as usize) else {
            continue;
        };
        for (j, x) in row.iter_mut().enumerate() {
            *x = data.delta[t * d + j] / scales[j];
        }
        let margin: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
        let entry = acc
            .entry(group.as_str())
            .or_insert_with(|| (0..arms.len()).map(|_| SecondMoment::new(d)).collect());
        entry[*r].add(&row, curvature(margin))?;
    }
    acc.into_iter()
        .map(|(g, moments)| {
            let matrices = moments
                .iter()
                .map(|m| {
                    if m.count() == 0 {
                        Ok(DMatrix::zeros(d, d))
                    } else {
                        m.mean_matrix(0.0)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((g.to_string(), matrices))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FeatureSchema, ScaleSource};

    fn info(d: usize) -> VersionInfo {
        VersionInfo {
            id: 1,
            dataset: "t".into(),
            version: 1,
            parent: None,
            digest: "0".repeat(64),
            schema: FeatureSchema {
                features: (0..d).map(|j| format!("f{j}")).collect(),
                scales: vec![1.5; d],
                scale_source: ScaleSource::File,
                feature_map: None,
            },
            n: 0,
            dropped_ties: 0,
            source: None,
            note: None,
            created_at: String::new(),
            created_by: String::new(),
            rejected: 0,
            rejects_sha256: None,
            text_layout: None,
        }
    }

    /// Deterministic data with two buckets, two arms and correlated features.
    fn data(n: usize) -> VersionData {
        let d = 3;
        let mut s = 12345u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let mut v = VersionData {
            d,
            buckets: vec!["a".into(), "b".into()],
            arms: vec!["baseline".into(), "baseline/x".into()],
            ..VersionData::default()
        };
        for t in 0..n {
            let z = next();
            let row = [z + 0.3 * next(), z + 0.2 * next(), next()];
            let margin = 1.2 * row[0] - 0.7 * row[1] + 0.4 * row[2];
            let label = u8::from(next() + 0.5 < 1.0 / (1.0 + (-margin).exp()));
            v.delta.extend_from_slice(&row);
            v.labels.push(label);
            v.bucket.push((t % 2) as u32);
            v.arm.push((t % 3 == 0) as u32);
            v.group.push(crate::model::dataset::NO_GROUP);
        }
        v
    }

    fn params() -> AnalysisParams {
        AnalysisParams {
            ridge: 1e-4,
            info_ridge: 0.0,
            fit: FitMode::Pooled,
            pairs: Vec::new(),
            scopes: Vec::new(),
        }
    }

    #[test]
    fn swapping_sides_changes_no_overlap_metric() {
        let d = data(600);
        let mut swapped = d.clone();
        for x in &mut swapped.delta {
            *x = -*x;
        }
        for l in &mut swapped.labels {
            *l = 1 - *l;
        }
        let a = analyze(&info(3), &d, &RegistryView::default(), &params()).expect("analyze");
        let b = analyze(&info(3), &swapped, &RegistryView::default(), &params()).expect("analyze");
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
        let (fa, fb) = (
            a.analysis.fit.as_ref().unwrap(),
            b.analysis.fit.as_ref().unwrap(),
        );
        for ((_, x), (_, y)) in fa.w.iter().zip(fb.w.iter()) {
            assert!(close(*x, *y), "w {x} vs {y}");
        }
        for (x, y) in a.analysis.buckets.iter().zip(&b.analysis.buckets) {
            assert!(close(x.metrics.lambda_min, y.metrics.lambda_min));
            assert!(close(x.metrics.lambda_max, y.metrics.lambda_max));
            assert!(close(x.mean_curvature, y.mean_curvature));
            assert!(close(x.geometry_lambda_min, y.geometry_lambda_min));
            assert_eq!(x.weakest_direction_words, y.weakest_direction_words);
            for (p, q) in x.pairs.iter().zip(&y.pairs) {
                assert_eq!(p.discordant_share, q.discordant_share);
                assert_eq!(p.quadrants.pp, q.quadrants.mm);
                assert_eq!(p.quadrants.pm, q.quadrants.mp);
            }
            assert!(close(
                x.label_balance.unwrap(),
                1.0 - y.label_balance.unwrap()
            ));
        }
    }

    #[test]
    fn a_duplicated_feature_is_unidentified_not_nan() {
        let mut d = data(400);
        for t in 0..d.len() {
            d.delta[t * 3 + 2] = d.delta[t * 3];
        }
        let a = analyze(&info(3), &d, &RegistryView::default(), &params()).expect("analyze");
        for b in &a.analysis.buckets {
            assert!(b.metrics.unidentified, "{}", b.bucket);
            assert!(b.metrics.condition_number.is_none() && b.metrics.worst_se.is_none());
            assert!(b.metrics.lambda_min.is_finite() && b.metrics.lambda_min >= 0.0);
            assert!(
                b.weakest_direction_words.contains("f0")
                    && b.weakest_direction_words.contains("f2")
            );
        }
    }

    #[test]
    fn per_arm_information_averages_to_the_bucket() {
        let d = data(900);
        let a = analyze(&info(3), &d, &RegistryView::default(), &params()).expect("analyze");
        for info in &a.information {
            let mut sum = DMatrix::zeros(3, 3);
            for arm in &info.arms {
                sum += &arm.matrix * arm.n as f64;
            }
            assert!((sum - &info.summed).abs().max() < 1e-9);
        }
    }
    fn analyze_plain(info: &VersionInfo, d: &VersionData) -> Analyzed {
        analyze(info, d, &RegistryView::default(), &params()).expect("analyze")
    }

    #[test]
    fn absent_features_leave_the_default_scope_and_the_standard_errors_finite() {
        let mut d = data(800);
        // f1 never varies in bucket "a" (index 0) but does in "b".
        for t in 0..d.len() {
            if d.bucket[t] == 0 {
                d.delta[t * 3 + 1] = 0.0;
            }
        }
        let a = analyze_plain(&info(3), &d);
        let (ba, bb) = (&a.analysis.buckets[0], &a.analysis.buckets[1]);
        assert_eq!(ba.bucket, "a");
        assert_eq!(ba.absent_features, ["f1"]);
        assert_eq!(ba.scope, ["f0", "f2"]);
        assert_eq!(ba.support.get("f1"), Some(&0));
        assert_eq!(*ba.support.get("f0").unwrap(), ba.n);
        assert!(!ba.metrics.unidentified, "present features are separable");
        assert_eq!(ba.eigenvalues.len(), 2);
        assert!(ba.weakest_direction.get("f1").is_none());
        // On the default scope with an absent (zero) nuisance, Î_{S·N} is Î_SS: its λ_min is
        // that of the 2×2 submatrix.
        let info_a = &a.information[0];
        let mean = &info_a.summed / info_a.n as f64;
        let sub = submatrix(&mean, &[0, 2]).unwrap();
        let reference = sym_eigen(&sub).unwrap().lambda_min();
        assert!((ba.metrics.lambda_min - reference).abs() < 1e-12 * reference.max(1.0));
        assert!(bb.absent_features.is_empty() && bb.scope.len() == 3);
        // The pooled fit's standard errors are all finite: f1 varies in bucket b.
        let fit = a.analysis.fit.as_ref().unwrap();
        assert!(fit.se.iter().all(|(_, s)| s.is_some_and(f64::is_finite)));
    }

    #[test]
    fn a_feature_that_never_varies_blanks_only_its_own_standard_error() {
        let mut d = data(600);
        for t in 0..d.len() {
            d.delta[t * 3 + 2] = 0.0;
        }
        let a = analyze_plain(&info(3), &d);
        let fit = a.analysis.fit.as_ref().unwrap();
        assert_eq!(fit.se.get("f2"), Some(&None));
        assert!(fit.se.get("f0").unwrap().is_some() && fit.se.get("f1").unwrap().is_some());
        assert!(a.analysis.features[2].never_varies);
    }

    #[test]
    fn a_requested_scope_treats_the_other_features_as_nuisances() {
        let d = data(900);
        let mut p = params();
        p.scopes = vec![vec!["f2".into(), "f0".into()]];
        let a = analyze(&info(3), &d, &RegistryView::default(), &p).expect("analyze");
        for (b, info) in a.analysis.buckets.iter().zip(&a.information) {
            let scoped = b
                .scoped_overlap(&["f0".to_string(), "f2".to_string()])
                .expect("scope reported");
            assert_eq!(scoped.features, ["f0", "f2"]);
            // Dense reference: (Î_{S·N})⁻¹ = [Î⁻¹]_SS for an invertible Î.
            let mean = &info.summed / info.n as f64;
            let inverse = mean.clone().try_inverse().unwrap();
            let reference = submatrix(&inverse, &[0, 2]).unwrap().try_inverse().unwrap();
            let lambda = sym_eigen(&reference).unwrap().lambda_min();
            assert!((scoped.metrics.lambda_min - lambda).abs() < 1e-9 * lambda);
            // A scope never has more information than its weights have alone.
            let alone = sym_eigen(&submatrix(&mean, &[0, 2]).unwrap())
                .unwrap()
                .lambda_min();
            assert!(scoped.metrics.lambda_min <= alone + 1e-12);
        }
        let mut bad = params();
        bad.scopes = vec![vec!["nope".into()]];
        assert!(analyze(&info(3), &d, &RegistryView::default(), &bad).is_err());
    }

    #[test]
    fn an_unidentified_direction_reports_exact_zeros() {
        let mut d = data(400);
        for t in 0..d.len() {
            d.delta[t * 3 + 2] = 2.0 * d.delta[t * 3];
        }
        let a = analyze_plain(&info(3), &d);
        for b in &a.analysis.buckets {
            assert!(b.metrics.unidentified);
            assert_eq!(b.metrics.lambda_min, 0.0);
            assert_eq!(b.metrics.total_information, 0.0);
            assert_eq!(b.eigenvalues[0], 0.0);
        }
    }

    #[test]
    fn length_and_win_shares_count_the_preferred_side() {
        // Two features: log_chars (a text map's length) and f1; labels alternate.
        let mut i = info(2);
        i.schema.features = vec!["log_chars".into(), "f1".into()];
        i.schema.feature_map = Some("text-v1".into());
        let rows = [
            ([1.0, 1.0], 1),  // preferred longer, preferred larger f1
            ([-1.0, 0.0], 0), // b preferred and b longer
            ([0.0, -1.0], 1), // tie in length; preferred smaller f1
            ([1.0, 1.0], 0),  // b preferred and b shorter
            ([0.5, 2.0], 1),
        ];
        let mut d = VersionData {
            d: 2,
            buckets: vec!["x".into()],
            arms: vec!["baseline".into()],
            ..VersionData::default()
        };
        for (row, label) in rows {
            d.delta.extend_from_slice(&row);
            d.labels.push(label);
            d.bucket.push(0);
            d.arm.push(0);
            d.group.push(crate::model::dataset::NO_GROUP);
        }
        let a = analyze_plain(&i, &d);
        let b = &a.analysis.buckets[0];
        assert_eq!(b.longer_share, Some(3.0 / 5.0));
        assert_eq!(b.tie_share, Some(1.0 / 5.0));
        assert_eq!(b.longer_p, sign_test_p(3, 4));
        assert_eq!(b.win_share.get("log_chars"), Some(&(3.0 / 5.0)));
        assert_eq!(b.win_share.get("f1"), Some(&(2.0 / 5.0)));
        assert!(
            b.label_balance.is_some(),
            "labels vary: the orientation is not fixed"
        );
        assert!(!a.analysis.fixed_orientation);

        // Every label 1 from a text import: the orientation was fixed by the layout.
        d.labels = vec![1; 5];
        let a = analyze_plain(&i, &d);
        assert!(a.analysis.fixed_orientation);
        assert_eq!(a.analysis.buckets[0].label_balance, None);
        // Not a text import: no length shares.
        let mut plain = i.clone();
        plain.schema.feature_map = None;
        let a = analyze_plain(&plain, &d);
        assert_eq!(a.analysis.buckets[0].longer_share, None);
        assert!(a.analysis.buckets[0].label_balance.is_some());
    }
}
