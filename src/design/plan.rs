//! The knapsack-with-coverage budget plan across a policy's buckets (DESIGN §2 "Budget plan"):
//! targets from the policy's deny rules (`worst_se ≤ ε` → T = 1/ε², `total_information ≥ τ` →
//! T = τ), harm weights from its `buckets:`, per-arm information and acceptance-aware costs from
//! the analysis and the registry; solved by `numerics::plan`. No SQL, no printing.

use serde::Serialize;

use super::{BucketDesignError, arm_in_words};
use crate::analysis::{Analyzed, RegistryView, direction_in_words};
use crate::numerics::plan::{PlanArm, PlanBucket, PlanMode, PlanOptions, plan_budget};
use crate::policy::Policy;

/// One arm's share of a bucket's plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedArm {
    pub arm: String,
    pub words: String,
    pub cost_per_label: f64,
    pub count: u64,
    pub continuous_count: f64,
}

/// One bucket of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBucket {
    pub bucket: String,
    pub harm: f64,
    /// Required λ_min of the summed information, and the rule that sets it.
    pub target: f64,
    pub target_rule: String,
    pub n_before: u64,
    pub n_new: u64,
    pub cost: f64,
    pub total_information_before: f64,
    pub total_information_after: f64,
    pub worst_se_before: Option<f64>,
    pub worst_se_after: Option<f64>,
    pub target_worst_se: f64,
    pub target_met: bool,
    pub arms: Vec<PlannedArm>,
}

/// A bucket the plan leaves out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedBucket {
    pub bucket: String,
    pub reason: String,
}

/// The plan as `overlap plan` reports and records it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub dataset: String,
    pub version: u32,
    pub policy: String,
    pub budget: Option<f64>,
    pub label_cost: f64,
    /// `budget` (maximize harm-weighted coverage) or `meet-targets` (minimum cost).
    pub mode: String,
    pub cost: f64,
    pub continuous_cost: f64,
    /// Σ_k h_k·min(1, λ_min/T_k) of the integer plan and of the continuous optimum.
    pub objective: f64,
    pub continuous_objective: f64,
    pub max_objective: f64,
    pub buckets: Vec<PlannedBucket>,
    pub unreachable: Vec<SkippedBucket>,
    pub skipped: Vec<SkippedBucket>,
    pub solves: usize,
}

fn se(lambda: f64) -> Option<f64> {
    (lambda > 0.0 && lambda.is_finite()).then(|| 1.0 / lambda.sqrt())
}

/// Plans new labels across the policy's buckets. `budget` is the total to spend; `None` asks for
/// the cheapest plan that meets every reachable target.
pub fn plan(
    analyzed: &Analyzed,
    policy: &Policy,
    policy_name: &str,
    registry: &RegistryView,
    budget: Option<f64>,
    label_cost: f64,
) -> Result<PlanReport, BucketDesignError> {
    let a = &analyzed.analysis;
    let features: Vec<String> = a.features.iter().map(|f| f.name.clone()).collect();
    let mut buckets = Vec::new();
    let mut meta = Vec::new();
    let mut skipped = Vec::new();
    for (k, b) in a.buckets.iter().enumerate() {
        let Some(target) = policy.information_target(&b.bucket) else {
            skipped.push(SkippedBucket {
                bucket: b.bucket.clone(),
                reason: "no worst_se or total_information deny rule selects it".into(),
            });
            continue;
        };
        let info = &analyzed.information[k];
        let mut notes = Vec::new();
        let mut arms = Vec::new();
        let mut arm_meta = Vec::new();
        for arm in &info.arms {
            if let Ok(cost) = super::arm_cost(registry, &b.bucket, &arm.arm, label_cost, &mut notes)
            {
                if cost > 0.0 {
                    arms.push(PlanArm {
                        info: arm.matrix.clone(),
                        cost,
                    });
                    arm_meta.push((arm.arm.clone(), cost));
                }
            }
        }
        if arms.is_empty() {
            skipped.push(SkippedBucket {
                bucket: b.bucket.clone(),
                reason: "no arm with data can be bought".into(),
            });
            continue;
        }
        let mut summed = info.summed.clone();
        for i in 0..summed.nrows() {
            summed[(i, i)] += info.n as f64 * a.params.info_ridge;
        }
        buckets.push(PlanBucket {
            summed_info: summed,
            target: target.target,
            harm: policy.harm_weight(&b.bucket),
            arms,
        });
        meta.push((b.bucket.clone(), info.n, target.rule.clone(), arm_meta));
    }
    if buckets.is_empty() {
        return Err(BucketDesignError::Input(
            "no bucket has a target: the policy needs a worst_se (≤) or total_information (≥) deny rule"
                .into(),
        ));
    }
    let result = plan_budget(&buckets, budget, &PlanOptions::default())
        .map_err(|e| BucketDesignError::Input(e.to_string()))?;
    let mut unreachable_idx = Vec::new();
    let unreachable = result
        .unreachable
        .iter()
        .map(|u| {
            unreachable_idx.push(u.bucket);
            SkippedBucket {
                bucket: meta[u.bucket].0.clone(),
                reason: format!(
                    "{}; at most λ_min = {:.4} is reachable; no arm moves {}",
                    u.reason,
                    u.ceiling,
                    direction_in_words(&features, &u.direction)
                ),
            }
        })
        .collect();
    let planned = result
        .buckets
        .iter()
        .zip(&meta)
        .zip(&buckets)
        .map(|((p, (name, n, rule, arms)), input)| PlannedBucket {
            bucket: name.clone(),
            harm: input.harm,
            target: p.target,
            target_rule: rule.clone(),
            n_before: *n,
            n_new: p.counts.iter().sum(),
            cost: p.cost,
            total_information_before: p.lambda_min_before,
            total_information_after: p.lambda_min_after,
            worst_se_before: se(p.lambda_min_before),
            worst_se_after: se(p.lambda_min_after),
            target_worst_se: 1.0 / p.target.sqrt(),
            target_met: p.target_met,
            arms: arms
                .iter()
                .zip(p.counts.iter().zip(&p.continuous_counts))
                .map(|((arm, cost), (count, cont))| PlannedArm {
                    arm: arm.clone(),
                    words: arm_in_words(arm),
                    cost_per_label: *cost,
                    count: *count,
                    continuous_count: *cont,
                })
                .collect(),
        })
        .collect();
    Ok(PlanReport {
        dataset: a.dataset.clone(),
        version: a.version,
        policy: policy_name.to_string(),
        budget,
        label_cost,
        mode: match result.mode {
            PlanMode::Budget(_) => "budget".into(),
            PlanMode::MeetTargets => "meet-targets".into(),
        },
        cost: result.cost,
        continuous_cost: result.continuous_cost,
        objective: result.objective,
        continuous_objective: result.continuous_objective,
        max_objective: buckets.iter().map(|b| b.harm).sum(),
        buckets: planned,
        unreachable,
        skipped,
        solves: result.solves,
    })
}
