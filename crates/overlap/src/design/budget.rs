//! The knapsack-with-coverage budget plan across a policy's buckets (DESIGN §2 "Budget plan"):
//! targets from the policy's deny rules (`worst_se ≤ ε` → T = 1/ε², `total_information ≥ τ` →
//! T = τ), harm weights from its `buckets:`, per-arm information and acceptance-aware costs from
//! the analysis and the registry; solved by `numerics::budget`. No SQL, no printing.
//!
//! Each bucket is planned on its default scope (DESIGN §2 "Support, absent features and scope"),
//! the same information the gate checks: the principal submatrices of S_k and M̂_{k,r} on the
//! bucket's non-absent features. That is exact, not an approximation: an absent feature has
//! Δφ = 0 on every comparison of the bucket, so its rows and columns hold nothing but the ridge.
//! A bucket whose target no available arm can reach gets no labels; it is named with the
//! direction no arm moves. Every rule of the policy is listed as planned or not, with why.

use serde::Serialize;

use super::{BucketDesignError, arm_in_words};
use crate::analysis::{Analyzed, RegistryView, direction_in_words};
use crate::model::analysis::BucketAnalysis;
use crate::model::number::format_number;
use crate::numerics::budget::{PlanArm, PlanBucket, PlanMode, PlanOptions, plan_budget};
use crate::numerics::eigen::{UNIDENTIFIED_RATIO, sym_eigen};
use crate::numerics::scope::submatrix;
use crate::policy::spec::{Rule, RuleSeverity};
use crate::policy::{Metric, Policy};

/// One arm of a bucket's plan.
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
    /// The features planned on: the bucket's default scope (its non-absent features).
    pub scope: Vec<String>,
    /// Features with no support in the bucket: nothing any plan buys can say about them.
    pub absent_features: Vec<String>,
    /// Required λ_min of the summed information on the scope, and the rule that sets it.
    pub target: f64,
    pub target_rule: String,
    pub n_before: u64,
    pub n_new: u64,
    pub cost: f64,
    /// λ_min of the summed information n·Î on the scope (= total_information), before and
    /// after the integer plan; values below 1e-12·λ_max are exactly 0.
    pub total_information_before: f64,
    pub total_information_after: f64,
    pub worst_se_before: Option<f64>,
    pub worst_se_after: Option<f64>,
    pub target_worst_se: f64,
    pub target_met: bool,
    pub arms: Vec<PlannedArm>,
    /// Arms with data that could not be bought, and why (e.g. an edit never accepted).
    pub notes: Vec<String>,
}

/// A bucket whose target no number of labels from the available arms reaches.
#[derive(Debug, Clone, Serialize)]
pub struct UnreachableBucket {
    pub bucket: String,
    pub target_rule: String,
    pub target: f64,
    /// The largest λ_min any plan approaches (that of the current data along `direction`).
    pub ceiling: f64,
    /// The unit direction (over the bucket's scope) that no available arm moves.
    pub direction: crate::model::named::NamedValues,
    pub direction_words: String,
    pub reason: String,
}

/// A bucket the plan leaves out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedBucket {
    pub bucket: String,
    pub reason: String,
}

/// One policy rule, and whether the plan aims at it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulePlan {
    pub rule: String,
    pub metric: String,
    pub severity: String,
    pub planned: bool,
    /// Buckets whose target this rule sets (the strictest planned rule of each bucket).
    pub sets_target_for: Vec<String>,
    /// How the plan targets it (in DESIGN terms), or why it cannot.
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
    /// Σ_k h_k·min(1, λ_min/T_k) over the planned buckets, of the integer plan and of the
    /// continuous optimum.
    pub objective: f64,
    pub continuous_objective: f64,
    /// Σ_k h_k over the planned buckets (unreachable ones get no labels and count for nothing).
    pub max_objective: f64,
    pub rules: Vec<RulePlan>,
    pub buckets: Vec<PlannedBucket>,
    pub unreachable: Vec<UnreachableBucket>,
    pub skipped: Vec<SkippedBucket>,
    pub solves: usize,
    /// Why nothing could be planned (no bucket has a target the planner can buy); then
    /// `buckets` is empty and `rules`/`skipped` say why rule by rule and bucket by bucket.
    pub not_planned: Option<String>,
}

fn se(lambda: f64) -> Option<f64> {
    (lambda > 0.0 && lambda.is_finite()).then(|| 1.0 / lambda.sqrt())
}

/// `value` with noise removed: at or below `floor` (1e-12 of the information's scale) it is
/// exactly 0, so a plan never prints "-9.1e-15 → 1.7e-14".
fn clean(value: f64, floor: f64) -> f64 {
    if value <= floor { 0.0 } else { value }
}

/// What a rule is to the planner: planned, with how, or not, with why.
fn classify(rule: &Rule) -> (bool, String) {
    let metric = rule.metric.value;
    let lower = rule.op.value.is_lower_bound();
    if rule.severity.value == RuleSeverity::Warn {
        return (
            false,
            "warn rules set no target: the plan buys what the gate enforces (deny rules)".into(),
        );
    }
    if matches!(
        metric,
        Metric::LambdaMin | Metric::GeometryLambdaMin | Metric::ConditionNumber
    ) {
        return (
            false,
            format!(
                "not plannable by counts: {} is a property of the per-comparison mean Î_k, so it \
                 depends on the mixture of comparisons, not their number; new labels raise λ_min(Î_k) \
                 only if their own mixture's λ_min exceeds the threshold. That is the E-optimal design \
                 (`overlap design NAME --bucket B`), which gives the best mixture and its λ_min",
                metric.name()
            ),
        );
    }
    if let Some(scope) = rule.scope() {
        return (
            false,
            format!(
                "scoped to [{}]: it bounds λ_min of the Schur complement Î_{{S·N}}, which is not \
                 linear in the counts, so the planner does not aim at it; Î_{{S·N}}'s λ_min is at \
                 least the default scope's, so a plan meeting a default-scope target of the same \
                 size meets it too",
                scope.join(", ")
            ),
        );
    }
    match (metric, lower) {
        (Metric::WorstSe, false) => (
            true,
            "worst_se ≤ ε: target T_k = 1/ε² on λ_min(S_k + Σ_r n_{k,r} M̂_{k,r}), the summed \
             information on the bucket's default scope"
                .into(),
        ),
        (Metric::TotalInformation, true) => (
            true,
            "total_information ≥ τ: target T_k = τ on λ_min(S_k + Σ_r n_{k,r} M̂_{k,r}), the summed \
             information on the bucket's default scope"
                .into(),
        ),
        (Metric::WorstSe | Metric::TotalInformation, _) => (
            false,
            format!(
                "{} bounded from the {} side: more labels only move it away from the threshold",
                metric.name(),
                if lower { "lower" } else { "upper" }
            ),
        ),
        _ => (
            false,
            format!(
                "{} is not an information target: labels bought by this plan do not aim at it",
                metric.name()
            ),
        ),
    }
}

/// The indices of `b.scope` in the schema order of `features`.
fn scope_indices(features: &[String], b: &BucketAnalysis) -> Vec<usize> {
    features
        .iter()
        .enumerate()
        .filter(|(_, f)| b.scope.contains(f))
        .map(|(i, _)| i)
        .collect()
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
    let mut target_rules: Vec<(String, String)> = Vec::new();
    for (k, b) in a.buckets.iter().enumerate() {
        let Some(target) = policy.information_target(&b.bucket) else {
            skipped.push(SkippedBucket {
                bucket: b.bucket.clone(),
                reason: "no unscoped worst_se (≤) or total_information (≥) deny rule selects it"
                    .into(),
            });
            continue;
        };
        let scope = scope_indices(&features, b);
        if scope.is_empty() {
            skipped.push(SkippedBucket {
                bucket: b.bucket.clone(),
                reason: "every feature is absent from the bucket: there is no scope to plan on"
                    .into(),
            });
            continue;
        }
        let info = &analyzed.information[k];
        let scoped = |m| submatrix(m, &scope).map_err(|e| BucketDesignError::Input(e.to_string()));
        let mut notes = Vec::new();
        let mut arms = Vec::new();
        let mut arm_meta = Vec::new();
        for arm in &info.arms {
            match super::arm_cost(registry, &b.bucket, &arm.arm, label_cost, &mut notes) {
                Ok(cost) if cost > 0.0 => {
                    arms.push(PlanArm {
                        info: scoped(&arm.matrix)?,
                        cost,
                    });
                    arm_meta.push((arm.arm.clone(), cost));
                }
                Ok(_) => notes.push(format!(
                    "arm {} costs nothing per label (label cost 0, no edit costs): it cannot be priced",
                    arm.arm
                )),
                Err(why) => notes.push(format!("arm {} cannot be bought: {why}", arm.arm)),
            }
        }
        if arms.is_empty() {
            skipped.push(SkippedBucket {
                bucket: b.bucket.clone(),
                reason: if notes.is_empty() {
                    "no arm with data can be bought".into()
                } else {
                    format!("no arm with data can be bought: {}", notes.join("; "))
                },
            });
            continue;
        }
        let summed = scoped(&info.summed_with_ridge(a.params.info_ridge))?;
        let floor = UNIDENTIFIED_RATIO * sym_eigen(&summed)?.lambda_max().max(0.0);
        target_rules.push((target.rule.clone(), b.bucket.clone()));
        buckets.push(PlanBucket {
            summed_info: summed,
            target: target.target,
            harm: policy.harm_weight(&b.bucket),
            arms,
        });
        meta.push(Meta {
            bucket: b,
            n: info.n,
            rule: target.rule.clone(),
            arms: arm_meta,
            notes,
            floor,
        });
    }
    let rules: Vec<RulePlan> = policy
        .rules
        .iter()
        .map(|rule| {
            let (planned, reason) = classify(rule);
            RulePlan {
                rule: rule.id.value.clone(),
                metric: rule.metric.value.name().into(),
                severity: rule.severity.value.name().into(),
                planned,
                sets_target_for: target_rules
                    .iter()
                    .filter(|(r, _)| *r == rule.id.value)
                    .map(|(_, b)| b.clone())
                    .collect(),
                reason,
            }
        })
        .collect();
    let mode = if budget.is_some() {
        "budget"
    } else {
        "meet-targets"
    };
    if buckets.is_empty() {
        // Nothing to buy: the caller decides whether that is an error; `rules` and `skipped`
        // say why, rule by rule and bucket by bucket.
        return Ok(PlanReport {
            dataset: a.dataset.clone(),
            version: a.version,
            policy: policy_name.to_string(),
            budget,
            label_cost,
            mode: mode.into(),
            cost: 0.0,
            continuous_cost: 0.0,
            objective: 0.0,
            continuous_objective: 0.0,
            max_objective: 0.0,
            rules,
            buckets: Vec::new(),
            unreachable: Vec::new(),
            skipped,
            solves: 0,
            not_planned: Some(
                "no bucket has a target the planner can buy: the policy needs an unscoped \
                 worst_se (≤) or total_information (≥) deny rule on a bucket with data"
                    .into(),
            ),
        });
    }
    let result = plan_budget(&buckets, budget, &PlanOptions::default())
        .map_err(|e| BucketDesignError::Input(e.to_string()))?;
    let unreachable: Vec<UnreachableBucket> = result
        .unreachable
        .iter()
        .map(|u| {
            let m = &meta[u.bucket];
            let target = buckets[u.bucket].target;
            let ceiling = clean(u.ceiling, m.floor);
            let words = direction_in_words(&m.bucket.scope, &u.direction);
            let se_note = match se(ceiling) {
                Some(s) => format!("worst_se ≥ {}", format_number(s)),
                None => "worst_se unbounded".into(),
            };
            UnreachableBucket {
                bucket: m.bucket.bucket.clone(),
                target_rule: m.rule.clone(),
                target,
                ceiling,
                direction: crate::model::named::NamedValues(
                    m.bucket
                        .scope
                        .iter()
                        .cloned()
                        .zip(u.direction.iter().copied())
                        .collect(),
                ),
                direction_words: words.clone(),
                reason: format!(
                    "no available arm moves {words}: with any number of labels λ_min stays at most {} \
                     ({se_note}), short of the target {} set by rule {}; it gets no labels. Register \
                     an intervention that varies this direction",
                    format_number(ceiling),
                    format_number(target),
                    m.rule
                ),
            }
        })
        .collect();
    let planned = result
        .buckets
        .iter()
        .zip(&meta)
        .zip(&buckets)
        .filter(|((_, m), _)| !unreachable.iter().any(|u| u.bucket == m.bucket.bucket))
        .map(|((p, m), input)| {
            let before = clean(p.lambda_min_before, m.floor);
            let after = clean(p.lambda_min_after, m.floor);
            PlannedBucket {
                bucket: m.bucket.bucket.clone(),
                harm: input.harm,
                scope: m.bucket.scope.clone(),
                absent_features: m.bucket.absent_features.clone(),
                target: p.target,
                target_rule: m.rule.clone(),
                n_before: m.n,
                n_new: p.counts.iter().sum(),
                cost: p.cost,
                total_information_before: before,
                total_information_after: after,
                worst_se_before: se(before),
                worst_se_after: se(after),
                target_worst_se: 1.0 / p.target.sqrt(),
                target_met: p.target_met,
                arms: m
                    .arms
                    .iter()
                    .zip(p.counts.iter().zip(&p.continuous_counts))
                    .map(|((arm, cost), (count, cont))| PlannedArm {
                        arm: arm.clone(),
                        words: arm_in_words(arm),
                        cost_per_label: *cost,
                        count: *count,
                        continuous_count: if cont.abs() <= 1e-9 { 0.0 } else { *cont },
                    })
                    .collect(),
                notes: m.notes.clone(),
            }
        })
        .collect();
    let blocked = |k: usize| result.unreachable.iter().any(|u| u.bucket == k);
    // Coverage counts only where a target can be met: an unreachable bucket gets no labels and
    // its partial coverage of the current data is not something the plan bought.
    let (objective, continuous_objective) = result
        .buckets
        .iter()
        .zip(&buckets)
        .enumerate()
        .filter(|(k, _)| !blocked(*k))
        .fold((0.0, 0.0), |(o, c), (_, (p, b))| {
            let value = |lambda: f64| b.harm * (lambda / b.target).clamp(0.0, 1.0);
            (o + p.value, c + value(p.lambda_min_continuous))
        });
    Ok(PlanReport {
        dataset: a.dataset.clone(),
        version: a.version,
        policy: policy_name.to_string(),
        budget,
        label_cost,
        mode: match result.mode {
            PlanMode::Budget(_) => "budget",
            PlanMode::MeetTargets => "meet-targets",
        }
        .into(),
        cost: result.cost,
        continuous_cost: result.continuous_cost,
        objective,
        continuous_objective,
        max_objective: buckets
            .iter()
            .enumerate()
            .filter(|(k, _)| !blocked(*k))
            .map(|(_, b)| b.harm)
            .sum(),
        rules,
        buckets: planned,
        unreachable,
        skipped,
        solves: result.solves,
        not_planned: None,
    })
}

/// What the report needs of a planned bucket besides the solver's input.
struct Meta<'a> {
    bucket: &'a BucketAnalysis,
    n: u64,
    rule: String,
    arms: Vec<(String, f64)>,
    notes: Vec<String>,
    floor: f64,
}
