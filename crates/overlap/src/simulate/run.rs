//! One replicate of one strategy: label in batches, refit ŵ, re-design, measure.
//!
//! Entry point: [`run_replicate`]. Each batch is chosen by `crate::collection` exactly as
//! `overlap design next` chooses it (the designed strategies call [`design_next`], passive and
//! uniform are fixed allocations), the comparisons are drawn from the scenario's arms, ŵ is refitted
//! on everything collected (`numerics::btl::fit_btl`), and the metrics are taken after every
//! batch. Randomness: every arm has its own stream per replicate (common random numbers: the k-th
//! comparison drawn from an arm is the same whatever the strategy), and `thompson` gets its own
//! stream per batch, all derived from the master seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use super::gaussian::sign_error;
use super::scenario::World;
use super::{SimError, SimStrategy};
use crate::collection::{
    ArmRows, BucketState, CandidateArm, LcbOptions, NextRequest, Strategy, ThompsonOptions,
    design_next, design_solver_options, uniform_counts,
};
use crate::numerics::btl::{FitOptions, fisher_moment, fit_btl};
use crate::numerics::eigen::sym_eigen;

/// Settings shared by every run of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub labels: u64,
    pub batch: u64,
    pub seed: u64,
    pub pilot: u64,
    pub lcb: LcbOptions,
    pub thompson: ThompsonOptions,
}

/// The metrics after one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    pub labels: u64,
    /// ‖ŵ − w*‖².
    pub mse: f64,
    /// λ_min of the plug-in information (1/N) Σ g(ŵᵀx) xxᵀ of the data collected.
    pub lambda_min: f64,
    /// The smallest, over the scenario's pairs, share of comparisons whose two features differ
    /// in opposite directions.
    pub crossed_share: f64,
    /// P[sign(ŵᵀx) ≠ sign(w*ᵀx)] on the test distribution.
    pub ood_sign_error: f64,
    /// Cost spent so far.
    pub cost: f64,
}

/// A finished replicate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub checkpoints: Vec<Checkpoint>,
    /// Labels per arm (scenario order) in each batch.
    pub batches: Vec<Vec<u64>>,
    pub final_w: Vec<f64>,
}

/// SplitMix64 finalizer: decorrelates seeds derived from small integers.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for (master, replicate, stream): streams 0..arms are the arms, the rest are tagged.
pub(crate) fn derive_seed(master: u64, replicate: u64, stream: u64) -> u64 {
    mix(mix(mix(master) ^ replicate) ^ stream)
}

/// Stream tag of `thompson` draws (far from any arm index).
const THOMPSON_STREAM: u64 = 1 << 40;

/// Draws one comparison of an arm: x = ±(b + F z), label ~ Bernoulli(σ(w*ᵀx)).
fn draw(world: &World, arm: usize, rng: &mut ChaCha8Rng, x: &mut Vec<f64>, z: &mut Vec<f64>) -> u8 {
    let d = world.d;
    let a = &world.arms[arm];
    z.clear();
    z.extend((0..d).map(|_| -> f64 { StandardNormal.sample(&mut *rng) }));
    let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
    x.clear();
    for i in 0..d {
        let v: f64 = a.mean[i] + (0..d).map(|k| a.factor[(i, k)] * z[k]).sum::<f64>();
        x.push(sign * v);
    }
    let u: f64 = x.iter().zip(&world.weights).map(|(a, b)| a * b).sum();
    let p = 1.0 / (1.0 + (-u).exp());
    u8::from(rng.random::<f64>() < p)
}

/// Runs one replicate of `strategy` (see the module docs).
pub fn run_replicate(
    world: &World,
    strategy: SimStrategy,
    settings: &RunSettings,
    replicate: u64,
) -> Result<RunResult, SimError> {
    let d = world.d;
    let k = world.arms.len();
    if settings.batch == 0 || settings.labels < settings.batch {
        return Err(SimError::Input(format!(
            "--labels ({}) must be at least one --batch ({})",
            settings.labels, settings.batch
        )));
    }
    let mut streams: Vec<ChaCha8Rng> = (0..k)
        .map(|a| ChaCha8Rng::seed_from_u64(derive_seed(settings.seed, replicate, a as u64)))
        .collect();
    let candidates: Vec<CandidateArm> = world
        .arms
        .iter()
        .map(|a| CandidateArm {
            arm: a.arm.clone(),
            cost: a.cost,
        })
        .collect();
    let mut arm_rows: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut rows: Vec<f64> = Vec::new();
    let mut labels: Vec<u8> = Vec::new();
    let mut w = vec![0.0; d];
    let mut cost = 0.0;
    let mut crossed = vec![(0u64, 0u64); world.pairs.len()];
    let mut checkpoints = Vec::new();
    let mut batches = Vec::new();
    let fit = FitOptions {
        ridge: world.ridge,
        ..FitOptions::default()
    };
    let mut x = Vec::with_capacity(d);
    let mut z = Vec::with_capacity(d);
    let n_batches = settings.labels / settings.batch;
    for b in 0..n_batches {
        let counts = allocate(
            world,
            strategy,
            settings,
            replicate,
            b,
            &candidates,
            &arm_rows,
            &w,
            labels.len() as u64,
        )?;
        for (arm, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                let label = draw(world, arm, &mut streams[arm], &mut x, &mut z);
                for (slot, &(i, j)) in world.pairs.iter().enumerate() {
                    if x[i] != 0.0 && x[j] != 0.0 {
                        crossed[slot].1 += 1;
                        if (x[i] > 0.0) != (x[j] > 0.0) {
                            crossed[slot].0 += 1;
                        }
                    }
                }
                arm_rows[arm].extend_from_slice(&x);
                rows.extend_from_slice(&x);
                labels.push(label);
            }
            cost += count as f64 * world.arms[arm].cost;
        }
        batches.push(counts);
        let fitted = fit_btl(&rows, d, &labels, &fit).map_err(|e| {
            SimError::Fit(format!(
                "{} replicate {replicate}, after {} labels: {e}",
                strategy.name(),
                labels.len()
            ))
        })?;
        w = fitted.w;
        let info = fisher_moment(&rows, d, &w)?.mean_matrix(0.0)?;
        let lambda_min = sym_eigen(&info)?.psd_lambda_min();
        let mse: f64 = w
            .iter()
            .zip(&world.weights)
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        let crossed_share = crossed
            .iter()
            .map(|&(c, n)| if n > 0 { c as f64 / n as f64 } else { 0.0 })
            .fold(f64::INFINITY, f64::min);
        checkpoints.push(Checkpoint {
            labels: labels.len() as u64,
            mse,
            lambda_min,
            crossed_share: if crossed_share.is_finite() {
                crossed_share
            } else {
                0.0
            },
            ood_sign_error: sign_error(&w, &world.weights, &world.test_covariance),
            cost,
        });
    }
    Ok(RunResult {
        checkpoints,
        batches,
        final_w: w,
    })
}

/// The counts per arm of batch `b` under `strategy`.
#[allow(clippy::too_many_arguments)]
fn allocate(
    world: &World,
    strategy: SimStrategy,
    settings: &RunSettings,
    replicate: u64,
    b: u64,
    candidates: &[CandidateArm],
    arm_rows: &[Vec<f64>],
    w: &[f64],
    n: u64,
) -> Result<Vec<u64>, SimError> {
    let k = world.arms.len();
    // Passive and uniform allocations do not depend on the data: no need to price a work order.
    match strategy {
        SimStrategy::Passive => {
            let mut counts = vec![0; k];
            counts[world.baseline] = settings.batch;
            return Ok(counts);
        }
        SimStrategy::Uniform => return Ok(uniform_counts(settings.batch, k)),
        _ => {}
    }
    let views: Vec<ArmRows<'_>> = world
        .arms
        .iter()
        .zip(arm_rows)
        .map(|(a, r)| ArmRows {
            arm: &a.arm,
            rows: r,
        })
        .collect();
    // P = Σ g xxᵀ + n·ρ·I: the Hessian of the penalized summed loss at ŵ.
    let precision = if n > 0 && strategy == SimStrategy::Thompson {
        let rows_all: Vec<f64> = arm_rows.iter().flatten().copied().collect();
        let mut p = fisher_moment(&rows_all, world.d, w)?.mean_matrix(world.ridge)?;
        p *= n as f64;
        Some(p)
    } else {
        None
    };
    let state = BucketState {
        d: world.d,
        w,
        arms: &views,
        precision: precision.as_ref(),
    };
    let design = match strategy {
        SimStrategy::Lcb => Strategy::Lcb,
        SimStrategy::Thompson => Strategy::Thompson,
        _ => Strategy::Plugin,
    };
    let budget = match strategy {
        SimStrategy::CostBlind => None,
        _ => world.budget.map(|c| c * settings.batch as f64),
    };
    let req = NextRequest {
        strategy: design,
        batch: settings.batch,
        explore: world.explore,
        budget,
        pilot: settings.pilot,
        seed: derive_seed(settings.seed, replicate, THOMPSON_STREAM + b),
        lcb: settings.lcb,
        thompson: settings.thompson,
        solver: design_solver_options(),
    };
    let order = design_next(&state, candidates, &req)?;
    // Work-order lines are sorted by arm name; map them back to scenario order.
    let mut counts = vec![0u64; k];
    for line in &order.arms {
        if let Some(i) = world.arms.iter().position(|a| a.arm == line.arm) {
            counts[i] = line.count;
        }
    }
    Ok(counts)
}
