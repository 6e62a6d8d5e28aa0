//! The audit evidence of a stored version: its samples and, per bucket, the figures of
//! [`status::summarize`], as `audit status` shows them and as the gate
//! and reports read them ([`audit_summaries`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::VersionInfo;
use crate::model::analysis::AuditSummary;
use crate::model::named::NamedValues;
use crate::storage::Store;

use super::sampling::Selection;
use super::status::{self, BucketAuditStatus, DEFAULT_MIN_PASS_RATE, PASS_RULE};
use super::{AuditError, AuditId};

/// One recorded sample of a version, as `audit status` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleListing {
    pub audit_id: String,
    pub bucket: String,
    pub strategy: String,
    pub seed: u64,
    pub requested: u64,
    pub items: u64,
    /// Verdicts recorded on its comparisons through this sample.
    pub verdicts: u64,
    pub direction: NamedValues,
    pub pairs: Vec<[String; 2]>,
    pub created_at: String,
    pub created_by: String,
}

/// The audit evidence of a version (`overlap audit status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditStatus {
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub min_pass_rate: f64,
    pub pass_rule: &'static str,
    pub samples: Vec<SampleListing>,
    /// Every bucket of the version, sorted.
    pub buckets: Vec<BucketAuditStatus>,
}

/// Per-bucket audit evidence of a version. `min_pass_rate` ∈ [0, 1] sets the illusory-overlap flag.
pub fn status(
    store: &Store,
    info: &VersionInfo,
    min_pass_rate: f64,
) -> Result<AuditStatus, AuditError> {
    if !(min_pass_rate.is_finite() && (0.0..=1.0).contains(&min_pass_rate)) {
        return Err(AuditError::Input(format!(
            "--min-pass-rate must be between 0 and 1, found {min_pass_rate}"
        )));
    }
    let buckets = store.version_buckets(info)?;
    let items = store.audit_items(info)?;
    let verdicts = store.audit_verdicts(info)?;
    let observations: Vec<status::ItemObservation> = items
        .iter()
        .map(|i| status::ItemObservation {
            comparison: i.comparison,
            bucket: i.bucket.clone(),
            along_direction: i.selected_by == Selection::WeakestDirection.as_str(),
        })
        .collect();
    let judged: Vec<status::VerdictObservation> = verdicts
        .iter()
        .map(|v| status::VerdictObservation {
            comparison: v.comparison,
            reviewer: v.reviewer.clone(),
            meaningful: v.meaningful,
            on_policy: v.on_policy,
        })
        .collect();
    let mut per_sample: BTreeMap<i64, u64> = BTreeMap::new();
    for v in &verdicts {
        *per_sample.entry(v.sample_id).or_default() += 1;
    }
    let samples = store
        .audit_samples(info)?
        .into_iter()
        .map(|s| SampleListing {
            audit_id: AuditId(s.id).to_string(),
            verdicts: per_sample.get(&s.id).copied().unwrap_or(0),
            bucket: s.bucket,
            strategy: s.strategy,
            seed: s.seed,
            requested: s.requested,
            items: s.items,
            direction: s.direction,
            pairs: s.pairs,
            created_at: s.created_at,
            created_by: s.created_by,
        })
        .collect();
    Ok(AuditStatus {
        dataset: info.dataset.clone(),
        version: info.version,
        digest: info.digest.clone(),
        min_pass_rate,
        pass_rule: PASS_RULE,
        samples,
        buckets: status::summarize(&buckets, &observations, &judged, min_pass_rate),
    })
}

/// The audit evidence of every bucket of a version, as the gate and reports read it
/// (`audit_pass_rate` of DESIGN §2 under [`PASS_RULE`]); buckets without verdicts have
/// `audited: 0` and no rate.
pub fn audit_summaries(store: &Store, info: &VersionInfo) -> Result<Vec<AuditSummary>, AuditError> {
    Ok(status(store, info, DEFAULT_MIN_PASS_RATE)?
        .buckets
        .into_iter()
        .map(|b| AuditSummary {
            bucket: b.bucket,
            audited: b.overall.audited,
            pass_rate: b.overall.pass_rate,
            wilson_low: b.overall.wilson_low,
            wilson_high: b.overall.wilson_high,
            along_direction_audited: b.along_direction.audited,
            along_direction_pass_rate: b.along_direction.pass_rate,
            min_pass_rate: DEFAULT_MIN_PASS_RATE,
            illusory_overlap: b.illusory_overlap,
        })
        .collect())
}
