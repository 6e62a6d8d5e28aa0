//! `design next` as a use case: the next labeling batch for one bucket, designed on the pooled fit
//! (`collection::design_next`), optionally filled with ranked candidate pairs from a file, and
//! recorded as a work order in one transaction.

use std::collections::HashMap;

use nalgebra::DMatrix;
use serde::Serialize;

use super::{AppError, Stamp};
use crate::analysis::{self, service};
use crate::collection::candidates::{Candidate, MarginBand, Selection, select};
use crate::collection::{
    ArmRows, BucketState, CandidateArm, LcbOptions, NextRequest, Strategy, ThompsonOptions,
    WorkOrder, design_next, design_solver_options,
};
use crate::design::{arm_cost, candidate_arms};
use crate::ingest::{self, InputFormat};
use crate::model::analysis::{AnalysisParams, FitMode};
use crate::model::{Arm, DatasetRef};
use crate::storage::{NewWorkOrder, Store, WorkOrderItem, WorkOrderLine};

/// A file of unlabeled candidate pairs to fill the batch's counts from.
#[derive(Debug, Clone)]
pub struct CandidateFile {
    pub path: String,
    /// `None`: from the file name.
    pub format: Option<InputFormat>,
}

/// Everything `design next` is asked (the recorded parameters of the work order).
#[derive(Debug, Clone)]
pub struct NextBatchRequest {
    pub dataset: DatasetRef,
    pub bucket: String,
    pub batch: u64,
    pub strategy: Strategy,
    /// γ: at least this share of the batch on the baseline arm.
    pub explore: f64,
    pub budget: Option<f64>,
    pub label_cost: f64,
    pub seed: u64,
    pub pilot: u64,
    /// Only these arms may be bought, as the user wrote them; empty: every producible arm.
    pub arms: Vec<String>,
    pub lcb: LcbOptions,
    pub thompson: ThompsonOptions,
    /// ρ of the pooled BTL fit.
    pub ridge: f64,
    pub candidates: Option<CandidateFile>,
    /// Keep only candidates with |ŵᵀΔφ̃| within `margin_band` of this margin.
    pub margin_target: Option<f64>,
    pub margin_band: f64,
}

/// The recorded work order: what `design next --format json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct NextBatch {
    pub work_order: i64,
    pub dataset: String,
    pub version: u32,
    pub digest: String,
    pub bucket: String,
    pub features: Vec<String>,
    pub label_cost: f64,
    pub order: WorkOrder,
    pub weakest_after_words: String,
    pub candidates: Option<Selection>,
}

/// Designs, fills and records the next batch (one transaction).
pub fn next_batch(
    store: &mut Store,
    stamp: &Stamp,
    req: &NextBatchRequest,
) -> Result<NextBatch, AppError> {
    if !(req.label_cost.is_finite() && req.label_cost >= 0.0) {
        return Err(AppError::Invalid(format!(
            "--label-cost {} must be a finite cost ≥ 0",
            req.label_cost
        )));
    }
    if req.candidates.is_none() && req.margin_target.is_some() {
        return Err(AppError::Invalid(
            "--margin-target filters candidate pairs: pass --candidates FILE".into(),
        ));
    }
    let info = store.resolve(&req.dataset)?;
    let data = store.version_data(&info)?;
    let registry = service::registry_view(store)?;
    let params = AnalysisParams {
        ridge: req.ridge,
        info_ridge: 0.0,
        fit: FitMode::Pooled,
        pairs: Vec::new(),
        scopes: Vec::new(),
    };
    let analyzed = analysis::analyze(&info, &data, &registry, &params)?;
    let pos = analyzed.analysis.bucket_position(&req.bucket)?;
    let d = data.d;
    let w = analyzed.weights[pos].clone();
    let x = analysis::standardize(&data, &info.schema.scales);

    // Every arm with data in the bucket, with its standardized rows (history, candidate or not).
    let bucket_index = data
        .buckets
        .iter()
        .position(|b| *b == req.bucket)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "bucket '{}' is missing from the version's data",
                req.bucket
            ))
        })?;
    let mut rows_by_arm: Vec<Vec<f64>> = vec![Vec::new(); data.arms.len()];
    for t in 0..data.len() {
        if data.bucket[t] as usize == bucket_index
            && let Some(rows) = rows_by_arm.get_mut(data.arm[t] as usize)
        {
            rows.extend_from_slice(&x[t * d..(t + 1) * d]);
        }
    }
    let views: Vec<ArmRows<'_>> = data
        .arms
        .iter()
        .zip(&rows_by_arm)
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(arm, rows)| ArmRows { arm, rows })
        .collect();
    // P = Σ_k S_k + N·ρ·I, the Hessian of the pooled penalized summed loss at ŵ.
    let mut precision = DMatrix::<f64>::identity(d, d) * (data.len() as f64 * req.ridge);
    for b in &analyzed.information {
        precision += &b.summed;
    }

    let mut notes = Vec::new();
    let mut candidate_arms_priced = Vec::new();
    for arm in wanted_arms(store, &req.arms)? {
        match arm_cost(&registry, &req.bucket, &arm, req.label_cost, &mut notes) {
            Ok(cost) => candidate_arms_priced.push(CandidateArm { arm, cost }),
            Err(reason) => notes.push(format!("{arm} cannot be bought: {reason}")),
        }
    }
    let request = NextRequest {
        strategy: req.strategy,
        batch: req.batch,
        explore: req.explore,
        budget: req.budget,
        pilot: req.pilot,
        seed: req.seed,
        lcb: req.lcb,
        thompson: req.thompson,
        solver: design_solver_options(),
    };
    let state = BucketState {
        d,
        w: &w,
        arms: &views,
        precision: Some(&precision),
    };
    let mut order = design_next(&state, &candidate_arms_priced, &request).map_err(|source| {
        AppError::Collection {
            context: format!("{} bucket {}", info.label(), req.bucket),
            source,
        }
    })?;
    order.notes.extend(notes);

    let selection = match &req.candidates {
        Some(file) => {
            let (pool, elsewhere) = read_pool(store, file, &info, &req.bucket)?;
            if elsewhere > 0 {
                order.notes.push(format!(
                    "{elsewhere} candidates belong to other buckets and were ignored"
                ));
            }
            let band = req.margin_target.map(|target| MarginBand {
                target,
                half_width: req.margin_band,
            });
            Some(
                select(&order, &pool, &w, band).map_err(|source| AppError::Collection {
                    context: format!("{} candidates", file.path),
                    source,
                })?,
            )
        }
        None => None,
    };

    let features = info.schema.features.clone();
    let weakest_after_words = analysis::direction_in_words(&features, &order.weakest_after);
    let mut batch = NextBatch {
        work_order: 0,
        dataset: info.dataset.clone(),
        version: info.version,
        digest: info.digest.clone(),
        bucket: req.bucket.clone(),
        features,
        label_cost: req.label_cost,
        order,
        weakest_after_words,
        candidates: selection,
    };
    let params_json = serde_json::json!({
        "strategy": batch.order.strategy,
        "batch": req.batch,
        "explore": req.explore,
        "budget": req.budget,
        "label_cost": req.label_cost,
        "seed": req.seed,
        "pilot": req.pilot,
        "arms": req.arms,
        "draws": req.thompson.draws,
        "lcb_delta": req.lcb.delta,
        "lcb_scale": req.lcb.scale,
        "ridge": req.ridge,
        "candidates": req.candidates.as_ref().map(|c| &c.path),
        "margin_target": req.margin_target,
        "margin_band": req.margin_band,
    });
    let result_json = serde_json::to_value(&batch)?;
    let order = &batch.order;
    let lines: Vec<WorkOrderLine> = order
        .arms
        .iter()
        .map(|a| WorkOrderLine {
            arm: a.arm.clone(),
            count: a.count,
            floor: a.floor,
            pilot: a.pilot,
            designed: a.designed,
            cost_per_label: a.cost_per_label,
            n_before: a.n_before,
        })
        .collect();
    let items = batch
        .candidates
        .as_ref()
        .map(work_order_items)
        .unwrap_or_default();
    let id = store.record_work_order(
        &info,
        &NewWorkOrder {
            bucket: &req.bucket,
            strategy: &order.strategy,
            batch: order.batch,
            explore: order.explore,
            budget: order.budget,
            seed: order.seed,
            cost: order.cost,
            lambda_min_before: order.before.lambda_min,
            lambda_min_after: order.after.lambda_min,
            worst_se_after: order.after.worst_se,
            params: &params_json,
            result: &result_json,
            lines: &lines,
            items: &items,
            now: &stamp.now(),
            actor: stamp.actor(),
        },
    )?;
    batch.work_order = id;
    Ok(batch)
}

/// The arms the batch may buy: every pair the active interventions can produce, or the requested
/// ones (each checked, duplicates dropped, written canonically).
fn wanted_arms(store: &Store, requested: &[String]) -> Result<Vec<String>, AppError> {
    let active: Vec<String> = store
        .interventions()?
        .into_iter()
        .filter(|i| i.retired.is_none())
        .map(|i| i.name)
        .collect();
    let producible = candidate_arms(&active);
    if requested.is_empty() {
        return Ok(producible);
    }
    let mut out: Vec<String> = Vec::new();
    for a in requested {
        let arm = Arm::parse(a.trim()).ok_or_else(|| {
            AppError::Invalid(format!(
                "--arms: '{a}' is not an arm (e.g. baseline, baseline/shorten)"
            ))
        })?;
        if !producible.iter().any(|p| p == arm.as_str()) {
            return Err(AppError::Invalid(format!(
                "--arms: '{arm}' cannot be produced by the active interventions (arms: {})",
                producible.join(", ")
            )));
        }
        if !out.iter().any(|o| o == arm.as_str()) {
            out.push(arm.as_str().to_string());
        }
    }
    Ok(out)
}

/// The candidates of `bucket` standardized like the analysis, and how many belong elsewhere.
fn read_pool(
    store: &Store,
    file: &CandidateFile,
    info: &crate::model::VersionInfo,
    bucket: &str,
) -> Result<(Vec<Candidate>, usize), AppError> {
    let path = file.path.as_str();
    let format = match file.format {
        Some(f) => f,
        None => ingest::infer_format(path).ok_or_else(|| {
            AppError::Invalid(format!(
                "cannot tell the format of '{path}' from its name: pass --candidates-input jsonl|csv|pairs"
            ))
        })?,
    };
    let input = ingest::open_input(path)?;
    let registered = super::intervention_states(store)?;
    let read = ingest::read_candidates(path, input, format, &info.schema, &registered)?;
    let mut pool = Vec::new();
    let mut delta = Vec::with_capacity(info.schema.features.len());
    for c in read.iter().filter(|c| c.bucket == bucket) {
        c.values.delta_into(&mut delta);
        pool.push(Candidate {
            id: c.id.clone(),
            arm: c.arm().as_str().to_string(),
            x: delta
                .iter()
                .zip(&info.schema.scales)
                .map(|(v, s)| v / s)
                .collect(),
        });
    }
    let elsewhere = read.len() - pool.len();
    Ok((pool, elsewhere))
}

/// The selected candidates as work-order items, ranked within their arm.
fn work_order_items(selection: &Selection) -> Vec<WorkOrderItem> {
    let mut rank: HashMap<&str, u64> = HashMap::new();
    selection
        .picks
        .iter()
        .map(|p| {
            let r = rank.entry(p.arm.as_str()).or_insert(0);
            *r += 1;
            WorkOrderItem {
                candidate_id: p.id.clone(),
                arm: p.arm.clone(),
                rank: *r,
                margin: p.margin,
                score: p.score,
            }
        })
        .collect()
}
