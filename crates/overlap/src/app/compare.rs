//! `overlap compare A B`: two versions' per-bucket overlap side by side. Their metrics are on the
//! same units only when both standardize the same features with the same scales (versions of one
//! dataset always do: scales are frozen at version 1); otherwise the comparison is refused with the
//! reason and the remedy (import both with `--scales unit` or one `--scales FILE`). A bucket whose
//! default scope differs between the two (a feature absent in one) is flagged, since its λ_min is
//! then taken over other directions.

use serde::Serialize;

use super::{AppError, Session};
use crate::analysis::service;
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, BucketAnalysis};

/// The two sides of a comparison.
#[derive(Debug, Serialize)]
pub struct VersionComparison {
    pub from: String,
    pub to: String,
    pub from_digest: String,
    pub to_digest: String,
    /// The shared feature scales, in schema order.
    pub scales: Vec<(String, f64)>,
    /// Every bucket of either version, sorted by name.
    pub buckets: Vec<BucketPair>,
}

#[derive(Debug, Serialize)]
pub struct BucketPair {
    pub bucket: String,
    /// `None` where the version has no such bucket.
    pub from: Option<Side>,
    pub to: Option<Side>,
    /// Both sides exist and their default scopes differ: their overlap metrics are over other
    /// feature sets.
    pub scope_differs: bool,
}

/// One version's overlap of one bucket (its default scope).
#[derive(Debug, Serialize)]
pub struct Side {
    pub n: u64,
    pub lambda_min: f64,
    pub condition_number: Option<f64>,
    pub worst_se: Option<f64>,
    pub total_information: f64,
    pub absent_features: Vec<String>,
    pub weakest_direction: String,
}

impl From<&BucketAnalysis> for Side {
    fn from(b: &BucketAnalysis) -> Side {
        Side {
            n: b.n,
            lambda_min: b.metrics.lambda_min,
            condition_number: b.metrics.condition_number,
            worst_se: b.metrics.worst_se,
            total_information: b.metrics.total_information,
            absent_features: b.absent_features.clone(),
            weakest_direction: b.weakest_direction_words.clone(),
        }
    }
}

/// Compares `a` and `b` with the default analysis parameters (recorded analyses are reused, new
/// ones recorded, as `analyze` does).
pub fn compare(
    session: &mut Session,
    a: &VersionInfo,
    b: &VersionInfo,
) -> Result<VersionComparison, AppError> {
    comparable(a, b)?;
    let params = AnalysisParams::default();
    let (store, stamp) = session.parts();
    let now = stamp.now();
    let (left, _) = service::cached(store, a, &params, false, &now, stamp.actor())?;
    let (right, _) = service::cached(store, b, &params, false, &now, stamp.actor())?;
    let mut names: Vec<&str> = left
        .buckets
        .iter()
        .chain(&right.buckets)
        .map(|x| x.bucket.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let find = |buckets: &'_ [BucketAnalysis], name: &str| {
        buckets.iter().find(|x| x.bucket == name).cloned()
    };
    let buckets = names
        .into_iter()
        .map(|name| {
            let (l, r) = (find(&left.buckets, name), find(&right.buckets, name));
            BucketPair {
                bucket: name.to_string(),
                scope_differs: matches!((&l, &r), (Some(l), Some(r)) if l.scope != r.scope),
                from: l.as_ref().map(Side::from),
                to: r.as_ref().map(Side::from),
            }
        })
        .collect();
    Ok(VersionComparison {
        from: a.label(),
        to: b.label(),
        from_digest: a.digest.clone(),
        to_digest: b.digest.clone(),
        scales: a
            .schema
            .features
            .iter()
            .cloned()
            .zip(a.schema.scales.iter().copied())
            .collect(),
        buckets,
    })
}

/// The same features with the same scales, or why not and what to do.
fn comparable(a: &VersionInfo, b: &VersionInfo) -> Result<(), AppError> {
    if a.schema.features != b.schema.features {
        return Err(AppError::Invalid(format!(
            "{} and {} have different features ([{}] vs [{}]): overlap metrics of different feature spaces cannot be compared; import both with the same feature map and --features",
            a.label(),
            b.label(),
            a.schema.features.join(", "),
            b.schema.features.join(", ")
        )));
    }
    let differing: Vec<String> = a
        .schema
        .features
        .iter()
        .zip(a.schema.scales.iter().zip(&b.schema.scales))
        .filter(|(_, (x, y))| x != y)
        .map(|(f, (x, y))| format!("{f}: {x} vs {y}"))
        .collect();
    if !differing.is_empty() {
        let shown = differing
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        return Err(AppError::Invalid(format!(
            "{} and {} standardize their features with different scales ({shown}{}): their λ_min, κ and standard errors are in different units. Import both with the same scales to compare them: --scales unit (every scale 1) or --scales FILE.json with one set",
            a.label(),
            b.label(),
            if differing.len() > 4 { ", …" } else { "" }
        )));
    }
    Ok(())
}
