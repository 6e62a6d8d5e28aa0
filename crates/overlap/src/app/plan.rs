//! The budget plan as a use case: a policy's deny precision rules become per-bucket targets, the
//! planner spends the budget on the arms that reach them, and the plan is recorded.

use super::policy_file::{PolicyFile, analysis_params};
use super::{AppError, Stamp};
use crate::analysis::service;
use crate::design::budget::{PlanReport, plan};
use crate::model::VersionInfo;
use crate::policy::{DatasetContext, Diagnostic};
use crate::storage::{NewPlan, Store};

/// What to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    pub policy: &'a PolicyFile,
    /// Total to spend; without it, the minimum cost of meeting every reachable target.
    pub budget: Option<f64>,
    /// Cost of labeling one comparison (added to every arm's edit costs).
    pub label_cost: f64,
}

/// A recorded plan and the policy's warnings.
#[derive(Debug)]
pub struct PlanRun {
    pub report: PlanReport,
    pub warnings: Vec<Diagnostic>,
    /// Id of the recorded plan.
    pub plan_id: i64,
}

/// Plans `info` under the request's policy and records the plan. A plan that buys nothing is not
/// recorded: the error says why, rule by rule and bucket by bucket.
pub fn make_plan(
    store: &mut Store,
    stamp: &Stamp,
    info: &VersionInfo,
    req: &PlanRequest<'_>,
) -> Result<PlanRun, AppError> {
    if let Some(b) = req.budget {
        if !(b.is_finite() && b >= 0.0) {
            return Err(AppError::Invalid(format!(
                "--budget must be a number ≥ 0 (got {b})"
            )));
        }
    }
    if !(req.label_cost.is_finite() && req.label_cost >= 0.0) {
        return Err(AppError::Invalid(format!(
            "--label-cost must be a number ≥ 0 (got {})",
            req.label_cost
        )));
    }
    let params = analysis_params(&req.policy.shape()?);
    let analyzed = service::compute(store, info, &params)?;
    let loaded = req
        .policy
        .load(Some(&DatasetContext::from_analysis(&analyzed.analysis)))?;
    let policy = &loaded.policy;
    let registry = service::registry_view(store)?;
    let report = plan(
        &analyzed,
        policy,
        &policy.name.value,
        &registry,
        req.budget,
        req.label_cost,
    )?;
    if let Some(why) = &report.not_planned {
        let mut message = why.clone();
        for r in &report.rules {
            message.push_str(&format!("\n  rule {}: {}", r.rule, r.reason));
        }
        for s in &report.skipped {
            message.push_str(&format!("\n  bucket {}: {}", s.bucket, s.reason));
        }
        return Err(AppError::NothingToPlan(message));
    }
    let plan_id = store.atomically(|store| {
        store
            .record_plan(
                info,
                &NewPlan {
                    policy_name: &policy.name.value,
                    policy_digest: &policy.digest,
                    budget: req.budget,
                    label_cost: req.label_cost,
                    plan: &serde_json::to_value(&report)?,
                    now: &stamp.now(),
                    actor: stamp.actor(),
                },
            )
            .map_err(AppError::from)
    })?;
    Ok(PlanRun {
        report,
        warnings: loaded.warnings,
        plan_id,
    })
}
