//! The simulation laboratory (issue #9): the collection loop run on environments whose truth is
//! known, to show how many labels (and how much cost) each strategy needs.
//!
//! Entry points: [`simulate`] (every strategy × replicate × sweep point, aggregated into a
//! [`SimReport`]), [`run_replicate`] (one run, with its per-batch allocations), [`predict`] (the
//! asymptotic label ratios from the scenario's exact Fisher information), [`html::render`].
//! Scenarios are YAML ([`scenario`]); the built-ins are `two-factor` and `helpful-harmless`.
//!
//! Every run labels in batches, refits ŵ and re-designs with the same `crate::collection` code as
//! `overlap design next`. Replicates run in parallel (rayon); every run's randomness comes from
//! seeds derived from the master seed and the replicate (never from the thread), and results are
//! gathered in a fixed order, so a report is identical bit for bit whatever the thread count.
//! Pure: no files, no printing, no clock.

pub mod gaussian;
pub mod html;
mod run;
pub mod scenario;
mod summary;

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub use run::{Checkpoint, RunResult, RunSettings, run_replicate};
pub use scenario::{Scenario, ScenarioError, World};
pub use summary::{LabelsToTarget, Method, Stat, labels_to_target};

use crate::collection::{CollectionError, LcbOptions, ThompsonOptions};
use crate::numerics::btl::BtlError;
use crate::numerics::eigen::{EigenError, is_identified, sym_eigen};
use crate::numerics::moment::MomentError;
use crate::numerics::optimal_design::{
    Criterion, DesignError, DesignOutcome, DesignProblem, SolverOptions, solve_design,
};

/// A strategy of the laboratory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimStrategy {
    /// The baseline arm only (passive collection).
    Passive,
    /// Every arm equally.
    Uniform,
    /// `design next --strategy plugin`, within the scenario's budget.
    Plugin,
    /// `design next --strategy lcb`, within the scenario's budget.
    Lcb,
    /// `design next --strategy thompson`, within the scenario's budget.
    Thompson,
    /// `plugin` without the budget (E-optimal ignoring costs).
    CostBlind,
}

impl SimStrategy {
    pub const ALL: [SimStrategy; 6] = [
        SimStrategy::Passive,
        SimStrategy::Uniform,
        SimStrategy::Plugin,
        SimStrategy::Lcb,
        SimStrategy::Thompson,
        SimStrategy::CostBlind,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SimStrategy::Passive => "passive",
            SimStrategy::Uniform => "uniform",
            SimStrategy::Plugin => "plugin",
            SimStrategy::Lcb => "lcb",
            SimStrategy::Thompson => "thompson",
            SimStrategy::CostBlind => "cost-blind",
        }
    }

    pub fn parse(s: &str) -> Option<SimStrategy> {
        SimStrategy::ALL.into_iter().find(|x| x.name() == s)
    }

    /// Designed by the E-optimal engine (the "active" strategies of the sweep).
    pub fn is_designed(self) -> bool {
        !matches!(self, SimStrategy::Passive | SimStrategy::Uniform)
    }
}

#[derive(Debug, Error)]
pub enum SimError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("BTL fit failed in the simulation: {0}")]
    Fit(String),
    #[error(transparent)]
    Collection(#[from] CollectionError),
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error(transparent)]
    Btl(#[from] BtlError),
    #[error(transparent)]
    Moment(#[from] MomentError),
    #[error(transparent)]
    Eigen(#[from] EigenError),
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub strategies: Vec<SimStrategy>,
    pub labels: u64,
    pub batch: u64,
    pub replicates: u64,
    pub seed: u64,
    /// Values of the scenario's `rho`; `None` runs the scenario as written.
    pub sweep: Option<Vec<f64>>,
    /// Overrides the scenario's `target_mse`.
    pub target_mse: Option<f64>,
    pub pilot: u64,
    pub lcb: LcbOptions,
    pub thompson: ThompsonOptions,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            strategies: SimStrategy::ALL.to_vec(),
            labels: 5000,
            batch: 250,
            replicates: 20,
            seed: 1,
            sweep: None,
            target_mse: None,
            pilot: crate::design::PILOT_LABELS,
            lcb: LcbOptions::default(),
            thompson: ThompsonOptions::default(),
        }
    }
}

/// The settings a report was produced with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsView {
    pub strategies: Vec<String>,
    pub labels: u64,
    pub batch: u64,
    pub replicates: u64,
    pub seed: u64,
    pub sweep: Option<Vec<f64>>,
    pub target_mse: f64,
    pub pilot: u64,
    pub lcb_delta: f64,
    pub lcb_scale: f64,
    pub thompson_draws: usize,
}

/// Mean and spread of the metrics after one batch, over replicates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointSummary {
    pub labels: u64,
    pub mse: Stat,
    pub lambda_min: Stat,
    pub crossed_share: Stat,
    pub ood_sign_error: Stat,
    pub cost: Stat,
}

/// The long-run mixture a strategy is expected to settle on, from the exact information.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Share per arm.
    pub mixture: BTreeMap<String, f64>,
    /// λ_min of the exact information of the mixture.
    pub lambda_min: f64,
    /// tr(I⁻¹) of the exact information: N·MSE → this as N grows. `None` when I is singular.
    pub trace_inverse: Option<f64>,
}

/// One strategy at one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyReport {
    pub strategy: String,
    pub checkpoints: Vec<CheckpointSummary>,
    /// Labels to reach the target MSE, on the mean MSE curve.
    pub labels_to_target: Option<LabelsToTarget>,
    /// Spread of the same quantity computed per replicate.
    pub labels_to_target_replicates: Option<Stat>,
    /// Mean share of all labels per arm at the end.
    pub final_shares: BTreeMap<String, f64>,
    pub predicted: Prediction,
}

/// Everything at one value of `rho` (or the scenario as written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointReport {
    pub rho: Option<f64>,
    pub strategies: Vec<StrategyReport>,
}

/// Passive versus the best active strategy at one value of `rho`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    pub rho: f64,
    pub passive_labels: Option<f64>,
    pub best_active: Option<String>,
    pub best_active_labels: Option<f64>,
    /// passive labels / best active labels, measured.
    pub measured_ratio: Option<f64>,
    /// Whether either label count was extrapolated beyond the run.
    pub extrapolated: bool,
    /// tr(I_passive⁻¹)/tr(I_active⁻¹) from the exact information of the best active strategy's
    /// predicted mixture.
    pub predicted_ratio: Option<f64>,
    /// 1/(1 − ρ²).
    pub inverse_one_minus_rho2: f64,
}

/// A finished simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    pub tool_version: String,
    pub scenario: Scenario,
    pub settings: SettingsView,
    pub points: Vec<PointReport>,
    pub sweep: Option<Vec<SweepRow>>,
}

fn check_options(options: &SimOptions) -> Result<(), SimError> {
    if options.strategies.is_empty() {
        return Err(SimError::Input("--strategies names no strategy".into()));
    }
    for (i, s) in options.strategies.iter().enumerate() {
        if options.strategies[..i].contains(s) {
            return Err(SimError::Input(format!(
                "--strategies names {} twice",
                s.name()
            )));
        }
    }
    if options.batch == 0 || options.labels < options.batch {
        return Err(SimError::Input(format!(
            "--labels ({}) must be at least one --batch ({}), and --batch at least 1",
            options.labels, options.batch
        )));
    }
    if options.replicates == 0 {
        return Err(SimError::Input("--replicates must be at least 1".into()));
    }
    if let Some(t) = options.target_mse {
        if !(t.is_finite() && t > 0.0) {
            return Err(SimError::Input(format!("--target-mse {t} must be > 0")));
        }
    }
    if let Some(values) = &options.sweep {
        if values.is_empty() {
            return Err(SimError::Input("--sweep rho= lists no value".into()));
        }
    }
    Ok(())
}

/// Runs the whole simulation (see the module docs).
pub fn simulate(scenario: &Scenario, options: &SimOptions) -> Result<SimReport, SimError> {
    check_options(options)?;
    let rhos: Vec<Option<f64>> = match &options.sweep {
        Some(values) => values.iter().map(|v| Some(*v)).collect(),
        None => vec![None],
    };
    let worlds: Vec<World> = rhos
        .iter()
        .map(|r| scenario.world(*r))
        .collect::<Result<_, _>>()?;
    let target = options.target_mse.unwrap_or(scenario.target_mse);
    let settings = RunSettings {
        labels: options.labels,
        batch: options.batch,
        seed: options.seed,
        pilot: options.pilot,
        lcb: options.lcb,
        thompson: options.thompson,
    };
    let jobs: Vec<(usize, usize, u64)> = (0..worlds.len())
        .flat_map(|p| {
            (0..options.strategies.len())
                .flat_map(move |s| (0..options.replicates).map(move |r| (p, s, r)))
        })
        .collect();
    let results: Vec<Result<RunResult, SimError>> = jobs
        .par_iter()
        .map(|&(p, s, r)| run_replicate(&worlds[p], options.strategies[s], &settings, r))
        .collect();
    let mut runs = Vec::with_capacity(results.len());
    for r in results {
        runs.push(r?);
    }
    let per_point = options.strategies.len() * options.replicates as usize;
    let mut points = Vec::with_capacity(worlds.len());
    for (p, world) in worlds.iter().enumerate() {
        let exact = exact_information(world);
        let mut strategies = Vec::with_capacity(options.strategies.len());
        for (s, &strategy) in options.strategies.iter().enumerate() {
            let start = p * per_point + s * options.replicates as usize;
            let reps = &runs[start..start + options.replicates as usize];
            strategies.push(summarize(
                world,
                strategy,
                reps,
                target,
                predict(world, &exact, strategy)?,
            ));
        }
        points.push(PointReport {
            rho: world.rho,
            strategies,
        });
    }
    let sweep = options.sweep.as_ref().map(|_| sweep_rows(&points));
    Ok(SimReport {
        tool_version: crate::TOOL_VERSION.to_string(),
        scenario: scenario.clone(),
        settings: SettingsView {
            strategies: options
                .strategies
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            labels: options.labels,
            batch: options.batch,
            replicates: options.replicates,
            seed: options.seed,
            sweep: options.sweep.clone(),
            target_mse: target,
            pilot: options.pilot,
            lcb_delta: options.lcb.delta,
            lcb_scale: options.lcb.scale,
            thompson_draws: options.thompson.draws,
        },
        points,
        sweep,
    })
}

fn summarize(
    world: &World,
    strategy: SimStrategy,
    reps: &[RunResult],
    target: f64,
    predicted: Prediction,
) -> StrategyReport {
    let n_checkpoints = reps.first().map_or(0, |r| r.checkpoints.len());
    let stat = |f: &dyn Fn(&Checkpoint) -> f64, c: usize| -> Stat {
        Stat::of(reps.iter().filter_map(|r| r.checkpoints.get(c)).map(f))
    };
    let checkpoints: Vec<CheckpointSummary> = (0..n_checkpoints)
        .map(|c| CheckpointSummary {
            labels: reps
                .first()
                .and_then(|r| r.checkpoints.get(c))
                .map_or(0, |x| x.labels),
            mse: stat(&|x| x.mse, c),
            lambda_min: stat(&|x| x.lambda_min, c),
            crossed_share: stat(&|x| x.crossed_share, c),
            ood_sign_error: stat(&|x| x.ood_sign_error, c),
            cost: stat(&|x| x.cost, c),
        })
        .collect();
    let labels: Vec<f64> = checkpoints.iter().map(|c| c.labels as f64).collect();
    let mean_mse: Vec<f64> = checkpoints.iter().map(|c| c.mse.mean).collect();
    let per_rep: Vec<f64> = reps
        .iter()
        .filter_map(|r| {
            let m: Vec<f64> = r.checkpoints.iter().map(|c| c.mse).collect();
            labels_to_target(&labels, &m, target).map(|l| l.labels)
        })
        .collect();
    let total: f64 = reps
        .iter()
        .map(|r| r.batches.iter().flatten().sum::<u64>() as f64)
        .sum();
    let final_shares = world
        .arms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let n: f64 = reps
                .iter()
                .map(|r| r.batches.iter().map(|b| b[i]).sum::<u64>() as f64)
                .sum();
            (a.arm.clone(), if total > 0.0 { n / total } else { 0.0 })
        })
        .collect();
    StrategyReport {
        strategy: strategy.name().to_string(),
        checkpoints,
        labels_to_target: labels_to_target(&labels, &mean_mse, target),
        labels_to_target_replicates: (!per_rep.is_empty())
            .then(|| Stat::of(per_rep.iter().copied())),
        final_shares,
        predicted,
    }
}

/// The exact information E[g(w*ᵀx) xxᵀ] of every arm of a world.
pub fn exact_information(world: &World) -> Vec<DMatrix<f64>> {
    world
        .arms
        .iter()
        .map(|a| gaussian::information(&a.mean, &a.covariance, &world.weights))
        .collect()
}

/// The mixture `strategy` settles on in the long run, from the exact per-arm information
/// `exact` (in `world.arms` order): the baseline for passive, equal shares for uniform, and for
/// the designed strategies the E-optimal mixture under the scenario's floor and (except
/// cost-blind) its budget — computed by the same design engine.
pub fn predict(
    world: &World,
    exact: &[DMatrix<f64>],
    strategy: SimStrategy,
) -> Result<Prediction, SimError> {
    let k = world.arms.len();
    let pi: Vec<f64> = match strategy {
        SimStrategy::Passive => (0..k)
            .map(|i| if i == world.baseline { 1.0 } else { 0.0 })
            .collect(),
        SimStrategy::Uniform => vec![1.0 / k as f64; k],
        _ => {
            let min_mass = (world.explore > 0.0).then(|| {
                (0..k)
                    .map(|i| {
                        if i == world.baseline {
                            world.explore
                        } else {
                            0.0
                        }
                    })
                    .collect()
            });
            let problem = DesignProblem {
                matrices: vec![exact.to_vec()],
                costs: world.arms.iter().map(|a| a.cost).collect(),
                budget: if strategy == SimStrategy::CostBlind {
                    None
                } else {
                    world.budget
                },
                min_mass,
                criterion: Criterion::E,
            };
            match solve_design(&problem, &SolverOptions::default())? {
                DesignOutcome::Optimal(s) => s.pi,
                DesignOutcome::Infeasible { reason, .. } => {
                    return Err(SimError::Input(format!(
                        "the scenario's budget admits no design: {reason}"
                    )));
                }
            }
        }
    };
    let d = world.d;
    let mut x = DMatrix::zeros(d, d);
    for (m, p) in exact.iter().zip(&pi) {
        x += m * *p;
    }
    let x = (&x + x.transpose()) * 0.5;
    let eig = sym_eigen(&x)?;
    let trace_inverse = is_identified(eig.lambda_min(), eig.lambda_max())
        .then(|| eig.values.iter().map(|v| 1.0 / v).sum::<f64>());
    Ok(Prediction {
        mixture: world
            .arms
            .iter()
            .zip(&pi)
            .map(|(a, p)| (a.arm.clone(), *p))
            .collect(),
        lambda_min: eig.psd_lambda_min(),
        trace_inverse,
    })
}

fn sweep_rows(points: &[PointReport]) -> Vec<SweepRow> {
    points
        .iter()
        .filter_map(|p| p.rho.map(|rho| (rho, p)))
        .map(|(rho, p)| {
            let passive = p.strategies.iter().find(|s| s.strategy == "passive");
            let best = p
                .strategies
                .iter()
                .filter(|s| SimStrategy::parse(&s.strategy).is_some_and(|x| x.is_designed()))
                .filter_map(|s| s.labels_to_target.as_ref().map(|l| (s, l)))
                .min_by(|a, b| {
                    a.1.labels
                        .total_cmp(&b.1.labels)
                        .then(a.0.strategy.cmp(&b.0.strategy))
                });
            let passive_labels = passive.and_then(|s| s.labels_to_target.as_ref());
            let measured = match (passive_labels, best) {
                (Some(p), Some((_, b))) if b.labels > 0.0 => Some(p.labels / b.labels),
                _ => None,
            };
            let predicted = match (passive, best) {
                (Some(p), Some((b, _))) => {
                    match (p.predicted.trace_inverse, b.predicted.trace_inverse) {
                        (Some(tp), Some(tb)) if tb > 0.0 => Some(tp / tb),
                        _ => None,
                    }
                }
                _ => None,
            };
            SweepRow {
                rho,
                passive_labels: passive_labels.map(|l| l.labels),
                best_active: best.map(|(s, _)| s.strategy.clone()),
                best_active_labels: best.map(|(_, l)| l.labels),
                measured_ratio: measured,
                extrapolated: passive_labels.is_some_and(|l| l.method == Method::Extrapolated)
                    || best.is_some_and(|(_, l)| l.method == Method::Extrapolated),
                predicted_ratio: predicted,
                inverse_one_minus_rho2: 1.0 / (1.0 - rho * rho),
            }
        })
        .collect()
}
