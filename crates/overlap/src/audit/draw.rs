//! Drawing a review sample from a stored version: the analysis that gives the bucket's weakest
//! direction, the pure [`sampling::plan`] on its rows, the reasons and
//! findings a reviewer reads, and the sample recorded together with its sheet or not at all.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::analysis::{self, direction_in_words};
use crate::model::Comparison;
use crate::model::VersionInfo;
use crate::model::analysis::{AnalysisParams, FitMode, NoSuchBucket};
use crate::model::named::NamedValues;
use crate::storage::{EmitFailure, NewAuditItem, NewAuditSample, StorageError, Store};

use super::sampling::{
    self, Coverage, DEFAULT_SEED, KindCoverage, Plan, PlanOptions, SamplingError, Selection,
    Strategy,
};
use super::sheet::{SheetRow, SheetSide};
use super::{AuditError, AuditId};

/// What to sample (the library form of `overlap audit sample`).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRequest {
    pub bucket: String,
    /// K: comparisons drawn along the weakest direction.
    pub n: usize,
    pub seed: u64,
    pub strategy: Strategy,
    /// Feature pairs to probe with crossed and concordant comparisons.
    pub pairs: Vec<[String; 2]>,
    pub include_audited: bool,
    /// ρ and λ_I of the analysis that gives the weakest direction (pooled fit).
    pub ridge: f64,
    pub info_ridge: f64,
}

impl SampleRequest {
    /// `top`, the default seed, no probes, the default analysis (ridge 1e-4, info ridge 0).
    pub fn new(bucket: &str, n: usize) -> SampleRequest {
        SampleRequest {
            bucket: bucket.to_string(),
            n,
            seed: DEFAULT_SEED,
            strategy: Strategy::Top,
            pairs: Vec::new(),
            include_audited: false,
            ridge: 1e-4,
            info_ridge: 0.0,
        }
    }
}

/// Coverage of one probed feature pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeSummary {
    pub features: [String; 2],
    /// Asked of each kind: max(1, ⌊K/4⌋).
    pub requested: u64,
    pub crossed: KindCoverage,
    pub concordant: KindCoverage,
}

/// What a sample holds and why, as recorded with it and printed by `audit sample`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSummary {
    /// Set once the sample is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    /// `NAME@V`.
    pub dataset: String,
    pub digest: String,
    pub bucket: String,
    pub strategy: Strategy,
    pub seed: u64,
    pub requested: u64,
    pub include_audited: bool,
    /// The analysis the direction came from.
    pub params: AnalysisParams,
    pub direction: NamedValues,
    pub direction_words: String,
    /// Comparisons in the bucket.
    pub comparisons: u64,
    /// Skipped because an earlier sample of the version holds them.
    pub excluded_audited: u64,
    /// Orthogonal to the weakest direction: they cannot show anything about it.
    pub orthogonal: u64,
    /// Available to the weakest-direction draw.
    pub eligible: u64,
    /// Drawn along the weakest direction.
    pub drawn: u64,
    pub alignment_min: Option<f64>,
    pub alignment_max: Option<f64>,
    pub probes: Vec<ProbeSummary>,
    /// Rows of the review sheet (direction draws plus probes).
    pub rows: u64,
    /// Plain statements of gaps: too few comparisons along the direction, missing or rare kinds.
    pub findings: Vec<String>,
}

/// A sample ready to be recorded: the review sheet without its audit id, and the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSample {
    pub summary: SampleSummary,
    /// Schema feature order (CSV columns).
    pub features: Vec<String>,
    pub rows: Vec<SheetRow>,
    /// Row key of each row's comparison, in row order.
    keys: Vec<i64>,
    pairs: Vec<Option<[String; 2]>>,
    version: VersionInfo,
}

/// A recorded sample with its sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSample {
    pub audit_id: AuditId,
    pub summary: SampleSummary,
    pub rows: Vec<SheetRow>,
}

fn pair_indexes(
    info: &VersionInfo,
    pairs: &[[String; 2]],
) -> Result<Vec<(usize, usize)>, AuditError> {
    let schema = &info.schema;
    pairs
        .iter()
        .map(|[a, b]| {
            let find = |f: &str| {
                schema.index_of(f).ok_or_else(|| {
                    AuditError::Input(format!(
                        "--pair names feature '{f}', which is not in the schema of {} ({})",
                        info.label(),
                        schema.features.join(", ")
                    ))
                })
            };
            let (i, j) = (find(a)?, find(b)?);
            if i == j {
                return Err(AuditError::Input(format!(
                    "--pair {a}:{b} names the same feature twice"
                )));
            }
            Ok((i, j))
        })
        .collect()
}

fn sign(x: f64) -> &'static str {
    if x > 0.0 {
        "+"
    } else if x < 0.0 {
        "−"
    } else {
        "0"
    }
}

fn reason(
    item: &sampling::PlannedItem,
    strategy: Strategy,
    plan: &Plan,
    words: &str,
    features: &[String],
    delta: &[f64],
) -> String {
    match (item.selection, item.pair) {
        (Selection::WeakestDirection, _) => match strategy {
            Strategy::Top => format!(
                "rank {} of {} eligible by alignment {:.3} with the weakest direction ({words})",
                item.rank, plan.eligible, item.alignment
            ),
            Strategy::Weighted => format!(
                "draw {} with probability ∝ alignment² (alignment {:.3} with the weakest direction, {words})",
                item.rank, item.alignment
            ),
        },
        (kind, Some((i, j))) => {
            let (fi, fj) = (&features[i], &features[j]);
            let what = if kind == Selection::CrossedProbe {
                "crossed: a trade-off between the two"
            } else {
                "concordant: better or worse on both"
            };
            format!(
                "probe {} of {fi}:{fj} (Δ{fi} {}, Δ{fj} {}; {what})",
                item.rank,
                sign(delta[i]),
                sign(delta[j])
            )
        }
        (_, None) => String::new(),
    }
}

fn findings(summary: &SampleSummary) -> Vec<String> {
    let mut out = Vec::new();
    let b = &summary.bucket;
    if summary.drawn < summary.requested {
        out.push(format!(
            "only {} of the {} comparisons of {b} could be drawn along the weakest direction ({} already audited, {} orthogonal to it): the sample holds {} instead of {}",
            summary.eligible,
            summary.comparisons,
            summary.excluded_audited,
            summary.orthogonal,
            summary.drawn,
            summary.requested
        ));
    }
    for p in &summary.probes {
        let [fi, fj] = &p.features;
        for (kind, cov, meaning) in [
            (
                "crossed",
                &p.crossed,
                format!("Δ{fi} and Δ{fj} with opposite signs"),
            ),
            (
                "concordant",
                &p.concordant,
                format!("Δ{fi} and Δ{fj} with the same sign"),
            ),
        ] {
            match cov.coverage {
                Coverage::Missing => out.push(format!(
                    "no {kind} {fi}:{fj} comparison in {b}: the data never shows {meaning}, so that part of the trade-off can be neither audited nor learned"
                )),
                Coverage::Rare => out.push(format!(
                    "{kind} {fi}:{fj} comparisons are rare in {b}: {} of the {} that move both ({:.1}%)",
                    cov.in_bucket,
                    p.crossed.in_bucket + p.concordant.in_bucket,
                    100.0 * cov.share.unwrap_or(0.0)
                )),
                Coverage::Covered => {}
            }
            if cov.in_bucket > 0 && cov.drawn < p.requested {
                out.push(format!(
                    "only {} {kind} {fi}:{fj} comparison{} could be drawn of the {} asked ({} in {b}, the rest already audited or drawn)",
                    cov.drawn,
                    if cov.drawn == 1 { "" } else { "s" },
                    p.requested,
                    cov.in_bucket
                ));
            }
        }
    }
    out
}

/// Computes the weakest direction of the bucket and draws the plan; writes nothing.
pub fn prepare_sample(
    store: &Store,
    info: &VersionInfo,
    req: &SampleRequest,
) -> Result<PreparedSample, AuditError> {
    if req.n == 0 {
        return Err(SamplingError::EmptySample.into());
    }
    let pair_idx = pair_indexes(info, &req.pairs)?;
    let data = store.version_data(info)?;
    let keys = store.comparison_keys(info)?;
    if keys.len() != data.len() {
        return Err(StorageError::Corrupt(format!(
            "{} has {} comparison rows but {} rows of data",
            info.label(),
            keys.len(),
            data.len()
        ))
        .into());
    }
    let Some(b) = data.buckets.iter().position(|x| *x == req.bucket) else {
        return Err(NoSuchBucket::new(
            info.label(),
            &req.bucket,
            data.buckets.iter().map(String::as_str),
        )
        .into());
    };
    let params = AnalysisParams {
        ridge: req.ridge,
        info_ridge: req.info_ridge,
        fit: FitMode::Pooled,
        pairs: Vec::new(),
        scopes: Vec::new(),
    };
    let registry = analysis::service::registry_view(store)?;
    let analyzed = analysis::analyze(info, &data, &registry, &params)?;
    let bucket = analyzed
        .analysis
        .buckets
        .iter()
        .find(|x| x.bucket == req.bucket)
        .ok_or_else(|| {
            StorageError::Corrupt(format!("the analysis lost bucket '{}'", req.bucket))
        })?;
    let features = info.schema.features.clone();
    let direction = bucket.weakest_direction_in(&features);
    let words = direction_in_words(&features, &direction);

    let audited = store.audited_comparisons(info)?;
    let x = analysis::standardize(&data, &info.schema.scales);
    let d = data.d;
    let rows_in: Vec<usize> = (0..data.len())
        .filter(|&t| data.bucket[t] as usize == b)
        .collect();
    let candidates = sampling::Candidates {
        ids: rows_in.iter().map(|&t| keys[t].1.clone()).collect(),
        d,
        rows: rows_in
            .iter()
            .flat_map(|&t| x[t * d..(t + 1) * d].iter().copied())
            .collect(),
        audited: rows_in
            .iter()
            .map(|&t| audited.contains(&keys[t].0))
            .collect(),
    };
    let opts = PlanOptions {
        n: req.n,
        seed: req.seed,
        strategy: req.strategy,
        pairs: pair_idx,
        include_audited: req.include_audited,
    };
    let plan = sampling::plan(&candidates, &direction, &opts)?;

    // The selected rows in full (prompt, texts, sides), read in one pass.
    let wanted: HashSet<&str> = plan
        .items
        .iter()
        .map(|i| candidates.ids[i.candidate].as_str())
        .collect();
    let mut full: HashMap<String, Comparison> = HashMap::new();
    store.for_each_comparison::<StorageError>(info, |c| {
        if wanted.contains(c.id.as_str()) {
            full.insert(c.id.clone(), c);
        }
        Ok(())
    })?;
    let named = |v: &[f64]| NamedValues(features.iter().cloned().zip(v.iter().copied()).collect());
    let label = info.label();
    let mut rows = Vec::with_capacity(plan.items.len());
    let mut row_keys = Vec::with_capacity(plan.items.len());
    let mut row_pairs = Vec::with_capacity(plan.items.len());
    for item in &plan.items {
        let cid = &candidates.ids[item.candidate];
        let c = full.get(cid).ok_or_else(|| {
            StorageError::Corrupt(format!("comparison '{cid}' vanished while sampling"))
        })?;
        let delta = c.values.delta();
        let (fa, fb) = match &c.values {
            crate::model::FeatureValues::Sides { a, b } => (Some(named(a)), Some(named(b))),
            crate::model::FeatureValues::Delta(_) => (None, None),
        };
        rows.push(SheetRow {
            audit_id: String::new(),
            dataset: label.clone(),
            comparison_id: cid.clone(),
            bucket: req.bucket.clone(),
            selected_by: item.selection,
            rank: item.rank as u64,
            alignment: item.alignment,
            reason: reason(item, req.strategy, &plan, &words, &features, &delta),
            prompt: c.prompt.clone(),
            a: SheetSide {
                intervention: c.a_intervention.clone(),
                text: c.a_text.clone(),
                features: fa,
            },
            b: SheetSide {
                intervention: c.b_intervention.clone(),
                text: c.b_text.clone(),
                features: fb,
            },
            delta: named(&delta),
            reviewer: None,
            meaningful: None,
            on_policy: None,
            note: None,
        });
        row_keys.push(keys[rows_in[item.candidate]].0);
        row_pairs.push(
            item.pair
                .map(|(i, j)| [features[i].clone(), features[j].clone()]),
        );
    }
    let along: Vec<f64> = plan
        .items
        .iter()
        .filter(|i| i.selection == Selection::WeakestDirection)
        .map(|i| i.alignment)
        .collect();
    let mut summary = SampleSummary {
        audit_id: None,
        dataset: label,
        digest: info.digest.clone(),
        bucket: req.bucket.clone(),
        strategy: req.strategy,
        seed: req.seed,
        requested: req.n as u64,
        include_audited: req.include_audited,
        params,
        direction: bucket.weakest_direction.clone(),
        direction_words: words,
        comparisons: candidates.len() as u64,
        excluded_audited: plan.excluded_audited as u64,
        orthogonal: plan.orthogonal as u64,
        eligible: plan.eligible as u64,
        drawn: along.len() as u64,
        alignment_min: along.iter().copied().reduce(f64::min),
        alignment_max: along.iter().copied().reduce(f64::max),
        probes: plan
            .probes
            .iter()
            .map(|p| ProbeSummary {
                features: [features[p.pair.0].clone(), features[p.pair.1].clone()],
                requested: p.requested as u64,
                crossed: p.crossed.clone(),
                concordant: p.concordant.clone(),
            })
            .collect(),
        rows: rows.len() as u64,
        findings: Vec::new(),
    };
    summary.findings = findings(&summary);
    Ok(PreparedSample {
        summary,
        features,
        rows,
        keys: row_keys,
        pairs: row_pairs,
        version: info.clone(),
    })
}

/// Records a prepared sample and, in the same transaction, hands its sheet (audit ids filled in)
/// to `emit`; when `emit` fails nothing is recorded.
pub fn record_sample(
    store: &mut Store,
    prepared: PreparedSample,
    now: &str,
    actor: &str,
    emit: impl FnOnce(&[SheetRow]) -> std::io::Result<()>,
) -> Result<RecordedSample, AuditError> {
    let PreparedSample {
        mut summary,
        rows,
        keys,
        pairs,
        version,
        ..
    } = prepared;
    let items: Vec<NewAuditItem<'_>> = rows
        .iter()
        .zip(&keys)
        .zip(&pairs)
        .map(|((row, key), pair)| NewAuditItem {
            comparison: *key,
            selected_by: row.selected_by.as_str(),
            ordinal: row.rank,
            alignment: row.alignment,
            pair: pair.as_ref(),
        })
        .collect();
    let summary_json =
        serde_json::to_value(&summary).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let pair_list: Vec<[String; 2]> = summary.probes.iter().map(|p| p.features.clone()).collect();
    let new = NewAuditSample {
        version: &version,
        bucket: &summary.bucket,
        strategy: summary.strategy.as_str(),
        seed: summary.seed,
        requested: summary.requested,
        include_audited: summary.include_audited,
        direction: &summary.direction,
        params: &summary.params,
        pairs: &pair_list,
        summary: &summary_json,
        items: &items,
        tool_version: crate::TOOL_VERSION,
        now,
        actor,
    };
    let mut filled: Vec<SheetRow> = Vec::new();
    let result = store.record_audit_sample(&new, |id| {
        let audit_id = AuditId(id).to_string();
        filled = rows
            .iter()
            .cloned()
            .map(|mut r| {
                r.audit_id = audit_id.clone();
                r
            })
            .collect();
        emit(&filled)
    });
    let id = match result {
        Ok(id) => AuditId(id),
        Err(EmitFailure::Emit(e)) => return Err(AuditError::Output(e)),
        Err(EmitFailure::Storage(e)) => return Err(e.into()),
    };
    summary.audit_id = Some(id.to_string());
    Ok(RecordedSample {
        audit_id: id,
        summary,
        rows: filled,
    })
}
