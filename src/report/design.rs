//! The design-adequacy report's solver sections: the optimal intervention mixture per bucket and
//! the budget plan that would close the gaps, as view-model values.
//!
//! Entry point: [`design_sections`], the one place that runs the optimal-design and budget-plan
//! solvers for a report and turns their results into [`DesignSection`] and [`PlanSection`]. Until
//! the solvers are wired in it returns `(None, None)` and the templates say "not yet available".
//! The types here are part of the report JSON (docs/reports.md); like the rest of the view-model
//! they hold numbers, not formatted text, and lists in a fixed order (buckets by name, arms by
//! name). This module must not read the store, print, or format numbers for people.

use serde::Serialize;

use crate::analysis::Analyzed;
use crate::model::{Arm, Intervention};
use crate::policy::Policy;

/// What the solvers read.
#[derive(Debug, Clone, Copy)]
pub struct DesignInputs<'a> {
    /// The analysis with per-bucket summed information S_k and per-arm matrices M̂_{k,r}.
    pub analyzed: &'a Analyzed,
    /// Targets (worst_se / total_information rules) and harm weights per bucket.
    pub policy: &'a Policy,
    /// The registry's interventions (cost; acceptance is in the analysis).
    pub interventions: &'a [Intervention],
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
}

/// Runs the design and budget solvers for the adequacy report.
///
/// Returns `(None, None)` until the optimal-design and budget-plan solvers are integrated; the
/// report then says "not yet available" for both sections. Filling them must keep the report
/// deterministic: same inputs, same numbers, arms and buckets in name order.
pub fn design_sections(inputs: &DesignInputs<'_>) -> (Option<DesignSection>, Option<PlanSection>) {
    let _ = inputs;
    (None, None)
}

/// An arm in words: `baseline` → "both sides unedited"; `baseline/shorten` → "shorten one side,
/// the other unedited"; `hedge/shorten` → "hedge one side, shorten the other"; `shorten/shorten`
/// → "shorten both sides".
pub fn arm_in_words(arm: &str) -> String {
    let Some(parsed) = Arm::parse(arm) else {
        return arm.to_owned();
    };
    match parsed.interventions().as_slice() {
        [] => "both sides unedited".to_owned(),
        [one] => format!("{one} one side, the other unedited"),
        [a, b] if a == b => format!("{a} both sides"),
        [a, b] => format!("{a} one side, {b} the other"),
        _ => arm.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_read_as_words() {
        assert_eq!(arm_in_words("baseline"), "both sides unedited");
        assert_eq!(
            arm_in_words("baseline/shorten"),
            "shorten one side, the other unedited"
        );
        assert_eq!(
            arm_in_words("hedge/shorten"),
            "hedge one side, shorten the other"
        );
    }
}
