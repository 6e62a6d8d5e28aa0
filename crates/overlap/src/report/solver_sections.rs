//! The design-adequacy report's solver sections: the optimal intervention mixture per bucket and
//! the budget plan that would close the gaps, as view-model values.
//!
//! Entry point: [`design_sections`], the one place that runs the optimal-design and budget-plan
//! solvers for a report and turns their results into [`DesignSection`] and [`PlanSection`] (the
//! plan is absent when the policy sets no precision target).
//! The types here are part of the report JSON (docs/reports.md); like the rest of the view-model
//! they hold numbers, not formatted text, and lists in a fixed order (buckets by name, arms by
//! name). This module must not read the store, print, or format numbers for people.

use serde::Serialize;

use crate::analysis::{Analyzed, RegistryView};
use crate::design::budget::plan;
use crate::design::{DesignRequest, design_bucket};
use crate::numerics::optimal_design::{Criterion, SolverOptions};
use crate::policy::Policy;

pub use crate::design::arm_in_words;

/// Cost of labeling one comparison assumed by the report's design and plan sections.
pub const REPORT_LABEL_COST: f64 = 1.0;

/// What the solvers read.
#[derive(Debug, Clone, Copy)]
pub struct DesignInputs<'a> {
    /// The analysis with per-bucket summed information S_k and per-arm matrices M̂_{k,r}.
    pub analyzed: &'a Analyzed,
    /// Targets (worst_se / total_information rules) and harm weights per bucket.
    pub policy: &'a Policy,
    /// Each intervention's cost and acceptance observations (for acceptance-aware arm costs).
    pub registry: &'a RegistryView,
    /// Every arm the registry could produce (arms without data are listed as unexplored).
    pub candidate_arms: &'a [String],
    /// `--budget B`: maximize harm-weighted coverage within B; `None`: minimize the cost of
    /// meeting every target.
    pub budget: Option<f64>,
}

/// One arm's share in a mixture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmMix {
    /// The arm as the analysis names it, e.g. `baseline/shorten`.
    pub arm: String,
    /// The arm in words ([`arm_in_words`]).
    pub arm_words: String,
    /// Share π_r in the optimal mixture.
    pub share: f64,
    /// Share of the bucket's current comparisons in this arm.
    pub current_share: f64,
    /// Cost of one labeled comparison in this arm (label cost + effective edit costs).
    pub cost_per_label: Option<f64>,
}

/// The optimal mixture of one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketDesign {
    pub bucket: String,
    /// `E-optimal`, `A-optimal`, `D-optimal` or `group-robust E-optimal`.
    pub criterion: String,
    /// `false` when the cost cap cannot be met (see `note` for the cheapest feasible cost).
    pub feasible: bool,
    /// Arms with data, by name.
    pub mixture: Vec<ArmMix>,
    /// λ_min of the current empirical mixture.
    pub lambda_min_current: f64,
    /// λ_min at the optimal mixture.
    pub lambda_min_optimal: f64,
    /// λ_min(optimal)/λ_min(current): how many times more labels the current mixture needs for
    /// the same worst-direction error; `None` when the current mixture is unidentified.
    pub label_savings_ratio: Option<f64>,
    /// Arms without data (no M̂): listed, never dropped.
    pub unexplored_arms: Vec<String>,
    /// The optimum's certificate (weakest direction at the optimum) in feature words.
    pub certificate_words: Option<String>,
    pub note: Option<String>,
}

/// The optimal intervention mixtures of every bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignSection {
    pub criterion: String,
    pub buckets: Vec<BucketDesign>,
}

/// New comparisons of one arm in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmCount {
    pub arm: String,
    pub arm_words: String,
    pub count: u64,
    pub cost: f64,
}

/// The plan for one bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketPlan {
    pub bucket: String,
    /// Harm weight h_k from the policy.
    pub harm: f64,
    /// Arms with a positive count, by name.
    pub counts: Vec<ArmCount>,
    pub cost: f64,
    pub worst_se_before: Option<f64>,
    pub worst_se_after: Option<f64>,
    /// The policy's bound ε (T_k = 1/ε²), when it sets one.
    pub worst_se_target: Option<f64>,
    /// Whether the target is met after the plan.
    pub met: bool,
}

/// The budget plan across buckets (DESIGN §2 "Budget plan").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSection {
    pub budget: Option<f64>,
    /// `coverage-within-budget` (with a budget) or `cheapest-to-meet-targets` (without).
    pub objective: String,
    /// The objective of the continuous relaxation.
    pub continuous_objective: f64,
    /// The objective of the integer plan shown (the rounding gap is the difference).
    pub integer_objective: f64,
    pub total_cost: f64,
    pub all_met: bool,
    pub buckets: Vec<BucketPlan>,
    /// Buckets no available arm can bring to target: they get no labels.
    pub unreachable: Vec<UnreachablePlan>,
    /// Every policy rule: planned or not, and why.
    pub rules: Vec<crate::design::budget::RulePlan>,
    /// Why nothing could be planned (then `buckets` is empty), e.g. every target rule is scoped.
    pub not_planned: Option<String>,
}

/// A bucket the plan cannot bring to target, with the direction no arm moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnreachablePlan {
    pub bucket: String,
    pub direction_words: String,
    pub reason: String,
}

fn plan_section(p: &crate::design::budget::PlanReport) -> PlanSection {
    PlanSection {
        budget: p.budget,
        objective: if p.budget.is_some() {
            "coverage-within-budget".into()
        } else {
            "cheapest-to-meet-targets".into()
        },
        continuous_objective: p.continuous_objective,
        integer_objective: p.objective,
        total_cost: p.cost,
        all_met: p.not_planned.is_none()
            && p.buckets.iter().all(|b| b.target_met)
            && p.unreachable.is_empty(),
        buckets: p
            .buckets
            .iter()
            .map(|b| BucketPlan {
                bucket: b.bucket.clone(),
                harm: b.harm,
                counts: b
                    .arms
                    .iter()
                    .filter(|arm| arm.count > 0)
                    .map(|arm| ArmCount {
                        arm: arm.arm.clone(),
                        arm_words: arm.words.clone(),
                        count: arm.count,
                        cost: arm.cost_per_label * arm.count as f64,
                    })
                    .collect(),
                cost: b.cost,
                worst_se_before: b.worst_se_before,
                worst_se_after: b.worst_se_after,
                worst_se_target: Some(b.target_worst_se),
                met: b.target_met,
            })
            .collect(),
        unreachable: p
            .unreachable
            .iter()
            .map(|u| UnreachablePlan {
                bucket: u.bucket.clone(),
                direction_words: u.direction_words.clone(),
                reason: u.reason.clone(),
            })
            .collect(),
        rules: p.rules.clone(),
        not_planned: p.not_planned.clone(),
    }
}

/// Runs the design and budget solvers for the adequacy report: the E-optimal mixture of every
/// bucket (no cost cap, label cost [`REPORT_LABEL_COST`]) and the budget plan of the policy's
/// targets. A bucket whose design fails is reported infeasible with the reason as its note; the
/// plan is `None` when the policy sets no worst_se / total_information target. Deterministic:
/// buckets and arms in name order, as the analysis gives them.
pub fn design_sections(inputs: &DesignInputs<'_>) -> (Option<DesignSection>, Option<PlanSection>) {
    let a = &inputs.analyzed.analysis;
    let mut buckets = Vec::with_capacity(a.buckets.len());
    for b in &a.buckets {
        let request = DesignRequest {
            bucket: b.bucket.clone(),
            criterion: Criterion::E,
            budget: None,
            label_cost: REPORT_LABEL_COST,
            min_mass: Vec::new(),
            groups: None,
        };
        let unexplored_default: Vec<String> = Vec::new();
        buckets.push(
            match design_bucket(
                inputs.analyzed,
                inputs.registry,
                inputs.candidate_arms,
                &request,
                &SolverOptions::default(),
            ) {
                Ok(d) => BucketDesign {
                    bucket: b.bucket.clone(),
                    criterion: "E-optimal".into(),
                    feasible: d.status == "optimal",
                    mixture: d
                        .arms
                        .iter()
                        .map(|arm| ArmMix {
                            arm: arm.arm.clone(),
                            arm_words: arm.words.clone(),
                            share: arm.pi,
                            current_share: arm.current_share,
                            cost_per_label: Some(arm.cost),
                        })
                        .collect(),
                    lambda_min_current: d.lambda_min_current,
                    lambda_min_optimal: d.lambda_min_optimal.unwrap_or(d.lambda_min_current),
                    label_savings_ratio: d.savings_ratio,
                    unexplored_arms: d
                        .unexplored
                        .iter()
                        .filter(|u| u.pilot > 0)
                        .map(|u| u.arm.clone())
                        .collect(),
                    certificate_words: d.weakest_after.map(|w| w.words),
                    note: d
                        .infeasible_reason
                        .or_else(|| (!d.notes.is_empty()).then(|| d.notes.join("; "))),
                },
                Err(e) => BucketDesign {
                    bucket: b.bucket.clone(),
                    criterion: "E-optimal".into(),
                    feasible: false,
                    mixture: Vec::new(),
                    lambda_min_current: b.metrics.lambda_min,
                    lambda_min_optimal: b.metrics.lambda_min,
                    label_savings_ratio: None,
                    unexplored_arms: unexplored_default,
                    certificate_words: None,
                    note: Some(e.to_string()),
                },
            },
        );
    }
    let design = DesignSection {
        criterion: "E-optimal".into(),
        buckets,
    };
    let plan = match plan(
        inputs.analyzed,
        inputs.policy,
        &inputs.policy.name.value,
        inputs.registry,
        inputs.budget,
        REPORT_LABEL_COST,
    ) {
        Ok(p) => Some(plan_section(&p)),
        // A solver failure is reported in the section rather than hiding it.
        Err(e) => Some(PlanSection {
            budget: inputs.budget,
            objective: if inputs.budget.is_some() {
                "coverage-within-budget".into()
            } else {
                "cheapest-to-meet-targets".into()
            },
            continuous_objective: 0.0,
            integer_objective: 0.0,
            total_cost: 0.0,
            all_met: false,
            buckets: Vec::new(),
            unreachable: Vec::new(),
            rules: Vec::new(),
            not_planned: Some(format!("the planner failed: {e}")),
        }),
    };
    (Some(design), plan)
}
